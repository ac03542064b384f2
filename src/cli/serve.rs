//! `tilldesk serve`: the merchant backend headless — serve the till API until killed (`--listen`), or administer
//! its tills (`add-till`, `tills`, `revoke`). Chooses the backend's acquirer accounts as `pay` does: the live
//! profile when its database is in live mode, a stand-alone sandbox (`--sandbox-url/--sandbox-data`), else an
//! embedded sandbox in `DATA/sandbox`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use tilldesk::routing::Router;
use tilldesk::serve::catalogue::{Materialized, WorkingCopy};
use tilldesk::serve::{Backend, Database, StartOptions};
use tilldesk::store::Store;
use tilldesk::sync::notify::{NotifyKeys, NotifyVerify};

use crate::cli::checkout::SandboxTarget;
use tilldesk::serve::tls::TlsFiles;

#[derive(Debug, clap::Args)]
#[command(subcommand_negates_reqs = true)]
pub struct ServeCli {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// Where to serve the till API and the acquirers' notifications, like 0.0.0.0:8080 or 127.0.0.1:0 (port 0
    /// picks a free one). The first line on stdout says `listening on http://HOST:PORT` (https with --tls-cert).
    #[arg(long, value_name = "ADDR", required = true)]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with this certificate chain (PEM: the certificate first, then its intermediates).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The backend's database: a SQLite file (a path or sqlite:PATH; default: serve.sqlite3 in the data folder), or
    /// PostgreSQL (postgres://user@host:5432/db), which several `serve` instances can share.
    #[arg(long, global = true, env = "TILLDESK_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// With a PostgreSQL --database: the SQLite file holding the catalogue (stores, acquirer accounts, routes, live
    /// settings), as `keys`, `onboard` and `acquirers` write it (default: serve.sqlite3 in the data folder; a live
    /// backend names its folder's tilldesk.sqlite3).
    #[arg(long, global = true, env = "TILLDESK_CATALOGUE", value_name = "PATH")]
    pub catalogue: Option<PathBuf>,
    /// How often (milliseconds) an instance on PostgreSQL looks for a newer published catalogue.
    #[arg(long, env = "TILLDESK_CATALOGUE_POLL_MS", default_value_t = 5000, hide = true)]
    pub catalogue_poll_ms: u64,
    /// From what time of day (China time, HH:MM) a serving instance downloads and reconciles yesterday's bills by
    /// itself, or `off` (only `serve bills` does). Default: the backend's `sync.bill_time` setting (10:00).
    #[arg(long, env = "TILLDESK_BILL_TIME", value_name = "HH:MM|off", value_parser = bill_time)]
    pub bill_time: Option<BillTime>,
    #[command(flatten)]
    pub target: SandboxTarget,
}

/// `--bill-time`: a time of day, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillTime(pub Option<time::Time>);

fn bill_time(text: &str) -> Result<BillTime, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(BillTime(None));
    }
    tilldesk::sync::parse_bill_time(text)
        .map(|t| BillTime(Some(t)))
        .ok_or_else(|| format!("{text:?}: expected a time of day like 10:00 (China time), or off"))
}

#[derive(Debug, clap::Subcommand)]
pub enum ServeCommand {
    /// Add a till of a store and print its one-time enrolment code, alone on one line (valid 24 hours).
    AddTill {
        /// The store number (S001…).
        #[arg(long)]
        store: String,
        /// A name for the till, like "till 1".
        #[arg(long)]
        name: String,
    },
    /// List the tills: store, name, when enrolled, last contact.
    Tills {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a till (by its number or name): its token stops working at once.
    Revoke { till: String },
    /// On PostgreSQL: publish this folder's catalogue (serve.sqlite3, or --catalogue) and key vault as the one every
    /// instance serves (`keys`, `onboard` and `acquirers` given --database publish their changes themselves).
    Publish,
    /// On PostgreSQL: download and reconcile a day's bills now (each acquirer account's day by whichever instance
    /// claims it first; a day done before is left alone unless --again), then list the days' state. Serving
    /// instances do yesterday's by themselves after the bill time.
    Bills {
        /// The bill day, YYYY-MM-DD (China date; default: yesterday).
        #[arg(long)]
        date: Option<String>,
        /// Download and reconcile the day again although it was done (a new run; the earlier one stays listed).
        #[arg(long)]
        again: bool,
        #[arg(long)]
        json: bool,
    },
    /// The backend's database: its path, schema version and the rows of every table (tills, sessions, orders…).
    Doctor {
        #[arg(long)]
        json: bool,
    },
}

/// The file holding the catalogue (stores, acquirer accounts, routes, settings): the database itself on SQLite;
/// on PostgreSQL `--catalogue`, else the data folder's `serve.sqlite3` (when nothing is published in the database).
fn catalogue(dir: &Path, database: &Database, given: Option<&Path>) -> PathBuf {
    match (database, given) {
        (Database::Sqlite(path), _) => path.clone(),
        (Database::Postgres(_), Some(path)) => path.to_path_buf(),
        (Database::Postgres(_), None) => dir.join(tilldesk::serve::DATABASE_FILE),
    }
}

/// A backend's catalogue being changed by `keys`, `onboard` or `acquirers` on PostgreSQL, published after.
#[derive(Debug)]
pub struct Working {
    copy: WorkingCopy,
    /// What the command does ("keys set"); None: it only reads.
    what: Option<String>,
    dir: PathBuf,
}

/// The data folder as `keys`, `onboard` and `acquirers` see it when given `--database URL`: the backend's catalogue
/// (its SQLite file; on PostgreSQL the published catalogue, brought into the folder's `serve.sqlite3` and vault
/// first), with the folder's key vault — what `serve` on that database uses. `what` names a command that changes
/// the catalogue (None: it only reads); [`publish_after`] publishes what it changed.
pub fn backend_home(
    dir: &Path,
    url: &str,
    what: Option<String>,
) -> anyhow::Result<(tilldesk::config::DataHome, Option<Working>)> {
    tilldesk::private_files::private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let database = Database::parse(Some(url), dir)?;
    let working = match &database {
        Database::Sqlite(_) => None,
        Database::Postgres(url) => {
            let copy = crate::runtime()?
                .block_on(WorkingCopy::begin(url, None, dir))
                .with_context(|| format!("cannot read the backend's catalogue from {}", database.describe()))?;
            Some(Working { copy, what, dir: dir.to_owned() })
        }
    };
    let db = catalogue(dir, &database, None);
    let home = tilldesk::config::DataHome::open_at(dir, &db)
        .with_context(|| format!("cannot open the backend's catalogue {}", db.display()))?;
    Ok((home, working))
}

/// After a command of [`backend_home`]: on PostgreSQL, publishes what it changed (only when it succeeded) and says
/// which version on stderr.
pub fn publish_after(working: Option<Working>, result: anyhow::Result<()>) -> anyhow::Result<()> {
    let Some(Working { copy, what, dir }) = working else { return result };
    result?;
    let by = format!("{} ({})", what.as_deref().unwrap_or("a command that reads"), dir.display());
    let published = crate::runtime()?
        .block_on(copy.finish(&by))
        .context("the change was made in this folder but could not be published to the backend's database")?;
    if let Some(version) = published {
        eprintln!("published the backend's catalogue as version {version}: every instance serves it within seconds");
    }
    Ok(())
}

pub fn run(args: &ServeCli, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let dir = tilldesk::config::resolve_data_dir(data_dir)?;
    tilldesk::private_files::private_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let database = Database::parse(args.database.as_deref(), &dir)?;
    let given = args.catalogue.as_deref();
    let open = || -> anyhow::Result<(tokio::runtime::Runtime, Backend)> {
        let rt = crate::runtime()?;
        let backend = rt
            .block_on(open_backend(&database, &dir, given))
            .with_context(|| format!("cannot open the backend's database {}", database.describe()))?
            .0;
        Ok((rt, backend))
    };
    match &args.command {
        Some(ServeCommand::Publish) => {
            let Database::Postgres(url) = &database else {
                bail!("`serve publish` shares the catalogue of a backend on PostgreSQL: give --database postgres://…")
            };
            let rt = crate::runtime()?;
            let pg = rt.block_on(tilldesk::store::pg::PgStore::open(url, None))?;
            let db = catalogue(&dir, &database, given);
            if !db.is_file() {
                bail!("there is no catalogue {} to publish", db.display());
            }
            let vault_dir = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(&dir);
            let image = tilldesk::serve::catalogue::image(&db, vault_dir)?;
            let base = rt.block_on(pg.catalogue_version())?;
            let by = format!("serve publish ({})", db.display());
            let version = rt.block_on(pg.publish_catalogue(base, &image, &by))?;
            println!(
                "published {} as catalogue version {version} ({} stores, {} acquirer accounts, {}): every instance \
                 serves it within seconds",
                db.display(),
                image.stores,
                image.acquirers,
                if image.vault.is_some() { "with its key vault" } else { "no key vault" }
            );
            Ok(())
        }
        Some(ServeCommand::AddTill { store, name }) => {
            let (rt, backend) = open()?;
            let new = rt.block_on(backend.add_till(store, name))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", new.code.expose())?;
            out.flush()?;
            let until = tilldesk::time::to_china_display(new.till.code_expires_at.as_deref().unwrap_or_default());
            eprintln!(
                "till #{} \"{}\" of store {}: enrol it before {until} (China time) with `tilldesk backend join URL \
                 --code CODE`; the code works once",
                new.till.id, new.till.name, new.till.store_code
            );
            Ok(())
        }
        Some(ServeCommand::Tills { json }) => {
            let (rt, backend) = open()?;
            let tills = rt.block_on(backend.tills())?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&tills)?);
                return Ok(());
            }
            if tills.is_empty() {
                println!("no tills yet: `tilldesk serve add-till --store S001 --name \"till 1\"`");
            }
            let when = |t: &Option<String>| t.as_deref().map(tilldesk::time::to_china_display);
            for t in &tills {
                let state = match (&t.revoked_at, &t.enrolled_at) {
                    (Some(at), _) => format!("revoked {}", tilldesk::time::to_china_display(at)),
                    (None, Some(at)) => format!("enrolled {}", tilldesk::time::to_china_display(at)),
                    (None, None) => match when(&t.code_expires_at) {
                        Some(until) => format!("waiting for enrolment (code valid until {until})"),
                        None => "not enrolled".to_owned(),
                    },
                };
                let contact = when(&t.last_contact_at).unwrap_or_else(|| "never".into());
                println!("#{}\t{}\t{}\t{state}\tlast contact {contact}", t.id, t.store_code, t.name);
            }
            Ok(())
        }
        Some(ServeCommand::Revoke { till }) => {
            let (rt, backend) = open()?;
            let t = rt.block_on(backend.revoke(till))?;
            println!("revoked till #{} \"{}\" of store {}", t.id, t.name, t.store_code);
            Ok(())
        }
        Some(ServeCommand::Bills { date, again, json }) => {
            let date = match date.as_deref() {
                None => tilldesk::time::china_business_day(time::OffsetDateTime::now_utc()),
                Some(text) => tilldesk::recon::parse_date(text)
                    .with_context(|| format!("--date {text:?}: give the bill day as YYYY-MM-DD"))?,
            };
            bills(&dir, &database, given, &args.target, date, *again, *json)
        }
        Some(ServeCommand::Doctor { json }) => {
            let (rt, backend) = open()?;
            let (version, tables) = rt.block_on(backend.doctor())?;
            let engine = if backend.on_postgres() { "postgresql" } else { "sqlite" };
            let published = match backend.postgres() {
                Some(pg) => rt.block_on(pg.catalogue_versions(1))?.into_iter().next(),
                None => None,
            };
            if *json {
                let tables: serde_json::Map<String, serde_json::Value> =
                    tables.into_iter().map(|(t, n)| (t.to_owned(), n.into())).collect();
                let report = serde_json::json!({
                    "database": database.describe(),
                    "engine": engine,
                    "schema_version": version,
                    "catalogue": published,
                    "tables": tables,
                });
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            println!("merchant backend database: {} ({engine})", database.describe());
            println!("schema version: {version}");
            match &published {
                Some(c) => println!(
                    "catalogue: version {} published {} (China time) by {}: {} stores, {} acquirer accounts, {}",
                    c.version,
                    tilldesk::time::to_china_display(&c.published_at),
                    c.published_by,
                    c.stores,
                    c.acquirers,
                    if c.has_vault { "key vault" } else { "no key vault" }
                ),
                None if backend.on_postgres() => {
                    println!("catalogue: not published in the database (each instance reads its folder's)")
                }
                None => println!("catalogue: {}", backend.db_path().display()),
            }
            println!("tables:");
            for (table, rows) in tables {
                println!("  {table:<26} {rows:>10}");
            }
            Ok(())
        }
        None => {
            let listen = args.listen.context("--listen ADDR is needed to serve")?;
            let tls = args.tls_cert.clone().zip(args.tls_key.clone()).map(|(cert, key)| TlsFiles { cert, key });
            let every = std::time::Duration::from_millis(args.catalogue_poll_ms.max(50));
            serve(&dir, &database, given, Listening { listen, tls, bill_time: args.bill_time }, &args.target, every)
        }
    }
}

/// The backend on `database` with its catalogue: on PostgreSQL the newest published version (written into the
/// folder's `catalogue/v<N>/`), unless `--catalogue` names a file or nothing is published yet (the folder's own).
async fn open_backend(
    database: &Database,
    dir: &Path,
    given: Option<&Path>,
) -> anyhow::Result<(Backend, Option<Materialized>)> {
    match database {
        Database::Sqlite(path) => Ok((Backend::open(path, dir)?, None)),
        Database::Postgres(url) => {
            let pg = tilldesk::store::pg::PgStore::open(url, None).await?;
            let published = match given {
                Some(_) => None,
                None => tilldesk::serve::catalogue::materialize(&pg, dir).await?,
            };
            let db = published.as_ref().map_or_else(|| catalogue(dir, database, given), |m| m.db.clone());
            let version = published.as_ref().map(|m| m.version.version);
            Ok((Backend::from_postgres(pg, &db, dir)?.with_catalogue_version(version), published))
        }
    }
}

/// How the backend's acquirer accounts are made from a catalogue — at start and for every newer version: the live
/// profile (keys from the catalogue's vault, unlocked with `TILLDESK_PASSPHRASE`), a stand-alone sandbox
/// (`--sandbox-url/--sandbox-data`), or an embedded one (kept alive while serving).
enum Accounts {
    Live {
        passphrase: zeroize::Zeroizing<String>,
    },
    Sandbox {
        accounts: tilldesk::sandbox::accounts::SandboxAccounts,
        url: String,
        _embedded: Option<Box<tilldesk::sandbox::RunningSandbox>>,
    },
}

impl Accounts {
    /// Chosen by the catalogue `db`'s channel mode and the command line.
    async fn choose(dir: &Path, db: &Path, target: &SandboxTarget) -> anyhow::Result<Accounts> {
        let live = mode(db)? == tilldesk::model::ChannelMode::Live;
        match (&target.sandbox_url, &target.sandbox_data) {
            (Some(_), Some(_)) if live => bail!("this backend is in live mode: --sandbox-url is for sandbox mode"),
            (Some(url), Some(data)) => Ok(Accounts::Sandbox {
                accounts: crate::cli::checkout::read_accounts(data)?,
                url: url.clone(),
                _embedded: None,
            }),
            _ if live => {
                let passphrase = tilldesk::secrets::passphrase_from_env("TILLDESK_PASSPHRASE")
                    .context("set TILLDESK_PASSPHRASE to the passphrase of the backend's key vault")?;
                Ok(Accounts::Live { passphrase })
            }
            _ => {
                let running = tilldesk::sandbox::start(&dir.join("sandbox"), "127.0.0.1:0".parse()?, false).await?;
                let (accounts, url) = (running.state.accounts(), running.base_url());
                Ok(Accounts::Sandbox { accounts, url, _embedded: Some(Box::new(running)) })
            }
        }
    }

    fn live(&self) -> bool {
        matches!(self, Accounts::Live { .. })
    }

    fn sandbox_url(&self) -> Option<&str> {
        match self {
            Accounts::Sandbox { url, .. } => Some(url),
            Accounts::Live { .. } => None,
        }
    }

    /// The router and the notification keys of the catalogue `db`, its vault in `vault_dir`. Blocking (SQLite,
    /// Argon2).
    fn build(&self, db: &Path, vault_dir: &Path) -> anyhow::Result<(Router, NotifyKeys)> {
        let mut store = Store::open(db)?;
        match self {
            Accounts::Live { passphrase } => {
                if !tilldesk::secrets::Vault::exists(vault_dir) {
                    bail!(
                        "the backend's catalogue has no key vault: set its keys with `tilldesk keys … --database URL`"
                    );
                }
                let vault = tilldesk::secrets::Vault::unlock(vault_dir, passphrase)?;
                let router = tilldesk::keys::live_router(db, &vault)?;
                let notify = tilldesk::serve::live::notify_keys(&store, &vault)?;
                Ok((router, notify))
            }
            Accounts::Sandbox { accounts, url, .. } => {
                tilldesk::sandbox::till::prepare(&mut store)?;
                let router = tilldesk::sandbox::till::router(&store, accounts, url)?;
                let notify = tilldesk::sandbox::till::notify_keys(&store, accounts, url).map_err(anyhow::Error::msg)?;
                Ok((router, notify))
            }
        }
    }

    /// Tells the sandbox where its accounts' notifications go (the embedded or stand-alone sandbox only).
    async fn register(&self, http: &reqwest::Client, notify: &NotifyKeys, notify_url: &str) -> anyhow::Result<()> {
        if let Some(url) = self.sandbox_url() {
            for id in account_ids(notify) {
                tilldesk::sandbox::till::register_notify_url(http, url, &id, notify_url)
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
        }
        Ok(())
    }
}

/// `tilldesk serve bills`: the day's bills of every account reconciled now at this process (as an instance would),
/// then the day's jobs as the shared database has them.
fn bills(
    dir: &Path,
    database: &Database,
    given: Option<&Path>,
    target: &SandboxTarget,
    date: time::Date,
    again: bool,
    json: bool,
) -> anyhow::Result<()> {
    let Database::Postgres(_) = database else { bail!(tilldesk::serve::ServeError::NotOnPostgres) };
    let rt = crate::runtime()?;
    rt.block_on(async {
        let (backend, _, _) = engine(database, dir, given, target).await?;
        let names: std::collections::HashMap<i64, String> =
            backend.accounts().into_iter().map(|a| (a.id.0, a.name)).collect();
        let pass = backend.reconcile_bill_day(date, again).await?;
        let day = tilldesk::recon::date_text(date);
        let pg = backend.postgres().context("the backend is on PostgreSQL")?;
        let jobs: Vec<_> = pg.recon_jobs(&day).await?.into_iter().filter(|j| j.bill_date == day).collect();
        let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("acquirer #{id}"));
        // The days closed at a till (their reports frozen): `--again` leaves them.
        let mut closings = std::collections::HashMap::new();
        for j in &jobs {
            if let Some(c) = pg.recon_closed_day(j.acquirer_id, &j.bill_date).await? {
                closings.insert(j.acquirer_id.0, c);
            }
        }
        if json {
            let list: Vec<serde_json::Value> = jobs
                .iter()
                .map(|j| {
                    let done_here = pass.reconciled.iter().find(|r| r.acquirer_id == j.acquirer_id);
                    serde_json::json!({
                        "acquirer_id": j.acquirer_id.0,
                        "acquirer": name(j.acquirer_id.0),
                        "bill_date": j.bill_date,
                        "state": j.state,
                        "attempts": j.attempts,
                        "run_id": j.run_id,
                        "last_error": j.last_error,
                        "working": j.working,
                        "differences": done_here.map(|r| r.differences),
                        "open": done_here.map(|r| r.open),
                        "store_code_orders": done_here.map(|r| r.store_code_orders),
                        "closed": closings.contains_key(&j.acquirer_id.0),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(());
        }
        for j in &jobs {
            let acquirer = name(j.acquirer_id.0);
            let redone = pass.reconciled.iter().any(|r| r.acquirer_id == j.acquirer_id);
            let closed = closings.get(&j.acquirer_id.0).filter(|_| !redone);
            let line = match (j.state.as_str(), j.run_id, &j.working) {
                (_, _, _) if let Some(c) = closed => {
                    format!(
                        "closed by {} at {} (China time), from run {}: reopen the day to reconcile it again",
                        c.closed_by_name,
                        tilldesk::time::to_china_display(&c.closed_at),
                        c.run_id
                    )
                }
                ("done", Some(run), _) => match pass.reconciled.iter().find(|r| r.acquirer_id == j.acquirer_id) {
                    Some(r) => format!(
                        "reconciled now: run {run}, {} differences ({} open){}",
                        r.differences,
                        r.open,
                        if r.store_code_orders > 0 {
                            format!(", {} store-code payments recorded from the bill", r.store_code_orders)
                        } else {
                            String::new()
                        }
                    ),
                    None => format!("reconciled before: run {run} (--again to download it anew)"),
                },
                ("no_bill", _, _) => "no bill at the acquirer (nothing traded that day)".to_owned(),
                (_, _, Some(instance)) => format!("being reconciled by instance {instance}"),
                _ => format!(
                    "not reconciled yet ({} tries): {}",
                    j.attempts,
                    j.last_error.as_deref().unwrap_or("waiting for its turn")
                ),
            };
            println!("{day}\t{acquirer}\t{line}");
        }
        if !pass.failed.is_empty() {
            bail!("{} of the day's bills could not be reconciled; every instance tries again later", pass.failed.len());
        }
        Ok(())
    })
}

/// The channel mode a catalogue file is in.
fn mode(db: &Path) -> anyhow::Result<tilldesk::model::ChannelMode> {
    Ok(tilldesk::config::channel_mode(&Store::open(db)?)?)
}

/// Where and how an instance serves.
struct Listening {
    listen: SocketAddr,
    tls: Option<TlsFiles>,
    /// `--bill-time`, over the backend's setting.
    bill_time: Option<BillTime>,
}

fn serve(
    dir: &Path,
    database: &Database,
    given: Option<&Path>,
    Listening { listen, tls, bill_time }: Listening,
    target: &SandboxTarget,
    every: std::time::Duration,
) -> anyhow::Result<()> {
    let rt = crate::runtime()?;
    rt.block_on(async {
        // On SQLite one process works on a backend's folder: two would both recover and deliver the same work. On
        // PostgreSQL several instances share the database and claim work with leases.
        let _money_path = match database {
            Database::Sqlite(db) => {
                let folder = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(dir);
                match tilldesk::ownership::MoneyPath::try_claim(folder, "serve")? {
                    Some(claim) => Some(claim),
                    None => bail!(
                        "another TillDesk is working on {} (on SQLite one backend runs per database; several \
                         instances share a postgres:// database)",
                        folder.display()
                    ),
                }
            }
            Database::Postgres(_) => None,
        };
        let (backend, accounts, notify) = engine(database, dir, given, target).await?;
        let mut settings = tilldesk::sync::SyncSettings::load(&Store::open(&backend.db_path())?)?;
        if let Some(BillTime(at)) = bill_time {
            settings.bill_time = at;
        }
        // On SQLite the sync worker runs with these settings; on PostgreSQL the bill loop reads its bill time.
        let options = StartOptions { sync: Some(settings), recover: true, tls };
        let http = reqwest::Client::new();
        let running = tilldesk::serve::start(backend, listen, notify.clone(), options).await?;
        accounts.register(&http, &notify, &running.notify_url()).await?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", running.base_url())?;
            out.flush()?;
        }
        if given.is_none() && running.backend.on_postgres() {
            follow_catalogue(dir, &running, &accounts, &http, every).await;
        }
        std::future::pending::<()>().await;
        Ok(())
    })
}

/// The backend on `database` taking payments and fetching bills through its acquirer accounts (see [`Accounts`]),
/// with those accounts and the keys that verify their notifications.
async fn engine(
    database: &Database,
    dir: &Path,
    given: Option<&Path>,
    target: &SandboxTarget,
) -> anyhow::Result<(Backend, Accounts, NotifyKeys)> {
    let (backend, published) = open_backend(database, dir, given)
        .await
        .with_context(|| format!("cannot open the backend's database {}", database.describe()))?;
    let db = backend.db_path();
    // The published catalogue's vault is beside it; a folder's own is the folder's.
    let vault_dir = published.as_ref().map_or_else(|| dir.to_path_buf(), |m| m.dir.clone());
    let accounts = Accounts::choose(dir, &db, target).await?;
    let (router, notify) = accounts.build(&db, &vault_dir)?;
    Ok((backend.serving(router), accounts, notify))
}

/// Serves every newer published catalogue version as it appears, without a restart (see `serve::catalogue`). A
/// version that cannot be served (damaged, another channel mode, a vault the passphrase does not open) is logged and
/// the instance goes on with the one it has.
async fn follow_catalogue(
    dir: &Path,
    running: &tilldesk::serve::RunningBackend,
    accounts: &Accounts,
    http: &reqwest::Client,
    every: std::time::Duration,
) {
    let backend = &running.backend;
    let Some(pg) = backend.postgres().cloned() else { return };
    let mut refused: Option<i64> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = backend.catalogue_wanted() => {}
        }
        let newest = match pg.catalogue_version().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for a newer catalogue");
                continue;
            }
        };
        if newest.is_none() || newest == backend.catalogue_version() || newest == refused {
            continue;
        }
        let next = async {
            let Some(m) = tilldesk::serve::catalogue::materialize(&pg, dir).await? else { return Ok(None) };
            if mode(&m.db)?.eq(&tilldesk::model::ChannelMode::Live) != accounts.live() {
                bail!(
                    "version {} is in another channel mode (sandbox or live): restart this instance",
                    m.version.version
                );
            }
            let (router, notify) = tokio::task::block_in_place(|| accounts.build(&m.db, &m.dir))?;
            anyhow::Ok(Some((m, router, notify)))
        };
        match next.await {
            Ok(Some((m, router, notify))) => {
                let version = m.version.version;
                backend.replace_catalogue(m.db, Some(version), router, notify.clone());
                if let Err(e) = accounts.register(http, &notify, &running.notify_url()).await {
                    tracing::warn!(error = %e, "cannot register the notify address with the sandbox");
                }
                eprintln!("serving catalogue version {version}");
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), version = newest, "cannot serve the newer catalogue");
                refused = newest;
            }
        }
    }
}

/// The account ids (app_id / mch_id) whose notifications come to the backend.
fn account_ids(keys: &NotifyKeys) -> Vec<String> {
    keys.accounts
        .iter()
        .map(|a| match &a.verify {
            NotifyVerify::Alipay { app_id, .. } => app_id.clone(),
            NotifyVerify::Wechat { mch_id, .. } => mch_id.clone(),
        })
        .collect()
}
