//! `tilldesk serve`: the merchant backend headless — serve the till API until killed (`--listen`), or administer
//! its tills (`add-till`, `tills`, `revoke`). Chooses the backend's acquirer accounts as `pay` does: the live
//! profile when its database is in live mode, a stand-alone sandbox (`--sandbox-url/--sandbox-data`), else an
//! embedded sandbox in `DATA/sandbox`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use tilldesk::routing::Router;
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
    #[command(flatten)]
    pub target: SandboxTarget,
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
    /// The backend's database: its path, schema version and the rows of every table (tills, sessions, orders…).
    Doctor {
        #[arg(long)]
        json: bool,
    },
}

/// The file holding the catalogue (stores, acquirer accounts, routes, settings): the database itself on SQLite;
/// on PostgreSQL `--catalogue`, else the data folder's `serve.sqlite3`.
fn catalogue(dir: &Path, database: &Database, given: Option<&Path>) -> PathBuf {
    match (database, given) {
        (Database::Sqlite(path), _) => path.clone(),
        (Database::Postgres(_), Some(path)) => path.to_path_buf(),
        (Database::Postgres(_), None) => dir.join(tilldesk::serve::DATABASE_FILE),
    }
}

/// The data folder as `keys`, `onboard` and `acquirers` see it when given `--database URL`: the backend's catalogue
/// (its SQLite file; on PostgreSQL the folder's `serve.sqlite3`, which `serve` reads unless given `--catalogue`),
/// with the folder's key vault — what `serve` on that database uses.
pub fn backend_home(dir: &Path, url: &str) -> anyhow::Result<tilldesk::config::DataHome> {
    tilldesk::private_files::private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let database = Database::parse(Some(url), dir)?;
    let db = catalogue(dir, &database, None);
    tilldesk::config::DataHome::open_at(dir, &db)
        .with_context(|| format!("cannot open the backend's catalogue {}", db.display()))
}

pub fn run(args: &ServeCli, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let dir = tilldesk::config::resolve_data_dir(data_dir)?;
    tilldesk::private_files::private_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let database = Database::parse(args.database.as_deref(), &dir)?;
    let db = catalogue(&dir, &database, args.catalogue.as_deref());
    let open = || -> anyhow::Result<(tokio::runtime::Runtime, Backend)> {
        let rt = crate::runtime()?;
        let backend = rt
            .block_on(Backend::open_database(&database, Some(&db), &dir))
            .with_context(|| format!("cannot open the backend's database {}", database.describe()))?;
        Ok((rt, backend))
    };
    match &args.command {
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
        Some(ServeCommand::Doctor { json }) => {
            let (rt, backend) = open()?;
            let (version, tables) = rt.block_on(backend.doctor())?;
            let engine = if backend.on_postgres() { "postgresql" } else { "sqlite" };
            if *json {
                let tables: serde_json::Map<String, serde_json::Value> =
                    tables.into_iter().map(|(t, n)| (t.to_owned(), n.into())).collect();
                let report = serde_json::json!({
                    "database": database.describe(),
                    "engine": engine,
                    "schema_version": version,
                    "tables": tables,
                });
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            println!("merchant backend database: {} ({engine})", database.describe());
            println!("schema version: {version}");
            println!("tables:");
            for (table, rows) in tables {
                println!("  {table:<26} {rows:>10}");
            }
            Ok(())
        }
        None => {
            let listen = args.listen.context("--listen ADDR is needed to serve")?;
            let tls = args.tls_cert.clone().zip(args.tls_key.clone()).map(|(cert, key)| TlsFiles { cert, key });
            serve(&dir, &database, &db, listen, tls, &args.target)
        }
    }
}

/// The backend's acquirer accounts and what verifies their notifications, and the sandbox that holds them when
/// one was started (kept alive while serving) or named.
struct Accounts {
    router: Router,
    notify: NotifyKeys,
    sandbox_url: Option<String>,
    _embedded: Option<tilldesk::sandbox::RunningSandbox>,
}

async fn accounts(dir: &Path, db: &Path, target: &SandboxTarget) -> anyhow::Result<Accounts> {
    let mut store = Store::open(db)?;
    let live = tilldesk::config::channel_mode(&store)? == tilldesk::model::ChannelMode::Live;
    let sandbox = |store: &mut Store, accounts: &tilldesk::sandbox::accounts::SandboxAccounts, url: &str| {
        tilldesk::sandbox::till::prepare(store)?;
        let router = tilldesk::sandbox::till::router(store, accounts, url)?;
        let notify = tilldesk::sandbox::till::notify_keys(store, accounts, url).map_err(anyhow::Error::msg)?;
        anyhow::Ok((router, notify))
    };
    match (&target.sandbox_url, &target.sandbox_data) {
        (Some(_), Some(_)) if live => bail!("this backend is in live mode: --sandbox-url is for sandbox mode"),
        (Some(url), Some(data)) => {
            let (router, notify) = sandbox(&mut store, &crate::cli::checkout::read_accounts(data)?, url)?;
            Ok(Accounts { router, notify, sandbox_url: Some(url.clone()), _embedded: None })
        }
        _ if live => {
            let passphrase = tilldesk::secrets::passphrase_from_env("TILLDESK_PASSPHRASE")
                .context("set TILLDESK_PASSPHRASE to the passphrase of the backend's key vault")?;
            let vault = tilldesk::secrets::Vault::unlock(dir, &passphrase)?;
            let router = tilldesk::keys::live_router(db, &vault)?;
            let notify = tilldesk::serve::live::notify_keys(&store, &vault)?;
            Ok(Accounts { router, notify, sandbox_url: None, _embedded: None })
        }
        _ => {
            let running = tilldesk::sandbox::start(&dir.join("sandbox"), "127.0.0.1:0".parse()?, false).await?;
            let url = running.base_url();
            let (router, notify) = sandbox(&mut store, &running.state.accounts(), &url)?;
            Ok(Accounts { router, notify, sandbox_url: Some(url), _embedded: Some(running) })
        }
    }
}

fn serve(
    dir: &Path,
    database: &Database,
    db: &Path,
    listen: SocketAddr,
    tls: Option<TlsFiles>,
    target: &SandboxTarget,
) -> anyhow::Result<()> {
    let rt = crate::runtime()?;
    rt.block_on(async {
        // On SQLite one process works on a backend's folder: two would both recover and deliver the same work. On
        // PostgreSQL several instances share the database and claim work with leases.
        let folder = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(dir);
        let _money_path = match database {
            Database::Sqlite(_) => match tilldesk::ownership::MoneyPath::try_claim(folder, "serve")? {
                Some(claim) => Some(claim),
                None => bail!(
                    "another TillDesk is working on {} (on SQLite one backend runs per database; several instances \
                     share a postgres:// database)",
                    folder.display()
                ),
            },
            Database::Postgres(_) => None,
        };
        let accounts = accounts(dir, db, target).await?;
        let settings = tilldesk::sync::SyncSettings::load(&Store::open(db)?)?;
        let backend = Backend::open_database(database, Some(db), dir)
            .await
            .with_context(|| format!("cannot open the backend's database {}", database.describe()))?
            .serving(accounts.router.clone());
        let ids = account_ids(&accounts.notify);
        let options = StartOptions { sync: Some(settings), recover: true, tls };
        let running = tilldesk::serve::start(backend, listen, accounts.notify, options).await?;
        if let Some(url) = &accounts.sandbox_url {
            let http = reqwest::Client::new();
            for id in ids {
                tilldesk::sandbox::till::register_notify_url(&http, url, &id, &running.notify_url())
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
        }
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", running.base_url())?;
            out.flush()?;
        }
        std::future::pending::<()>().await;
        Ok(())
    })
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
