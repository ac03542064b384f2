//! `tilldesk codes …` and `tilldesk onboard …`: the store-code and onboarding core, headless, for scripts.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use tilldesk::channel::cds::CdsClient;
use tilldesk::config::{self, DataHome};
use tilldesk::model::{AcquirerBinding, CodeFormatChoice, Store as StoreRow, StoreId};
use tilldesk::mpm::{CodeFormat, DecodedStoreCode, decode_store_code};
use tilldesk::onboarding::{
    self, CancelFlag, CodeCheck, Onboarder, PollPolicy, Progress, build_for_store, check_code, read_code_file,
    validate_merchant, validate_store,
};
use tilldesk::store::Store;

#[derive(Debug, Args)]
pub struct CodesArgs {
    #[command(subcommand)]
    command: CodesCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Auto,
    Alipayplus,
    Emvco,
}

impl From<FormatArg> for CodeFormatChoice {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Auto => CodeFormatChoice::Auto,
            FormatArg::Alipayplus => CodeFormatChoice::AlipayPlus,
            FormatArg::Emvco => CodeFormatChoice::Emvco,
        }
    }
}

#[derive(Debug, Subcommand)]
enum CodesCommand {
    /// Stands, stickers or posters with the stores' codes: one PDF (page per store per template), PNGs, the printer.
    Print(crate::cli::print::PrintArgs),
    /// Print a store's code payload, built from its bindings.
    Payload {
        /// The store number (e.g. S001).
        #[arg(long)]
        store: String,
        /// Override the store's chosen format for this output (not saved).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Also write the QR code as a PNG file.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
    /// Decode a code from a picture (PNG/JPEG) or text file, or from --payload.
    Decode {
        /// A PNG or JPEG picture of the code, or a text file holding its payload.
        #[arg(required_unless_present = "payload", conflicts_with = "payload")]
        file: Option<PathBuf>,
        /// The code's text.
        #[arg(long)]
        payload: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Look the CDS index up on the platform and list the acquirers the code reaches.
        #[arg(long, requires = "url")]
        resolve: bool,
        /// The onboarding/CDS server (the sandbox's address).
        #[arg(long, env = "TILLDESK_ONBOARDING_URL")]
        url: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct OnboardArgs {
    #[command(subcommand)]
    command: OnboardCommand,
    /// Onboard a merchant backend's stores (its `serve --database`) instead of this till's.
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
}

#[derive(Debug, Args)]
struct Remote {
    /// The onboarding/CDS server (the sandbox's address, e.g. http://127.0.0.1:40123).
    #[arg(long, env = "TILLDESK_ONBOARDING_URL")]
    url: String,
    /// How long to wait while the acquirer verifies the merchant.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Print the binding as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum OnboardCommand {
    /// List the acquirers stores can be onboarded with.
    Acquirers,
    /// List the stores with their bindings.
    Stores {
        #[arg(long)]
        json: bool,
    },
    /// Show the merchant profile, or change the fields given.
    Merchant {
        #[arg(long)]
        legal_name: Option<String>,
        /// Latin letters, at most 25 characters.
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        display_name_zh: Option<String>,
        #[arg(long)]
        mcc: Option<String>,
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        city: Option<String>,
        #[arg(long)]
        city_zh: Option<String>,
        #[arg(long)]
        postal_code: Option<String>,
        #[arg(long)]
        currency: Option<String>,
    },
    /// Add a store, or change the fields given of an existing one.
    Store {
        /// The store number (e.g. S002).
        #[arg(long)]
        store: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        name_zh: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        contact: Option<String>,
        /// The code format this store prints.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
    },
    /// Flow 1: onboard a store with an acquirer without CDS.
    Direct {
        #[arg(long)]
        store: String,
        /// The acquirer's onboarding id (ALIPAY, WECHATPAY, PARTNER1).
        #[arg(long)]
        acquirer: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Flow 2: onboard a store with an acquirer and register it on the CDS platform.
    Cds {
        #[arg(long)]
        store: String,
        #[arg(long)]
        acquirer: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Flow 3: bind a further acquirer to the CDS index of the store's existing code.
    Bind {
        #[arg(long)]
        store: String,
        #[arg(long)]
        acquirer: String,
        /// The existing code: a PNG/JPEG picture or a text file with its payload.
        #[arg(required_unless_present = "payload", conflicts_with = "payload")]
        file: Option<PathBuf>,
        /// The existing code's text.
        #[arg(long)]
        payload: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Show each binding's status and steps; with --url, ask the acquirers about pending ones first.
    Status {
        #[arg(long)]
        store: Option<String>,
        #[arg(long, env = "TILLDESK_ONBOARDING_URL")]
        url: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

impl OnboardCommand {
    /// The subcommand's name, for the record of a published catalogue.
    pub fn name(&self) -> &'static str {
        match self {
            OnboardCommand::Acquirers => "acquirers",
            OnboardCommand::Stores { .. } => "stores",
            OnboardCommand::Merchant { .. } => "merchant",
            OnboardCommand::Store { .. } => "store",
            OnboardCommand::Direct { .. } => "direct",
            OnboardCommand::Cds { .. } => "cds",
            OnboardCommand::Bind { .. } => "bind",
            OnboardCommand::Status { .. } => "status",
        }
    }
}

fn open_home(
    data_dir: Option<&Path>,
    database: Option<&str>,
    what: &str,
) -> anyhow::Result<(DataHome, Option<crate::cli::serve::Working>)> {
    let dir = config::resolve_data_dir(data_dir)?;
    let (mut home, working) = match database {
        Some(url) => crate::cli::serve::backend_home(&dir, url, Some(format!("onboard {what}")))?,
        None => (DataHome::open(&dir)?, None),
    };
    onboarding::ensure_sandbox_acquirers(&mut home.store)?;
    home.store.setup_mut().default_store()?;
    Ok((home, working))
}

fn find_store(db: &Store, code: &str) -> anyhow::Result<StoreRow> {
    if let Some(s) = db.setup().store_by_code(code)? {
        return Ok(s);
    }
    let known: Vec<String> = db.setup().stores()?.into_iter().map(|s| s.store_code).collect();
    bail!("there is no store {code:?}; the stores are: {}", known.join(", "))
}

pub fn run_codes(args: &CodesArgs, data_dir: Option<&Path>) -> anyhow::Result<()> {
    match &args.command {
        CodesCommand::Print(print) => crate::cli::print::run(open_home(data_dir, None, "")?.0, print.clone()),
        CodesCommand::Payload { store, format, png } => {
            let (home, _) = open_home(data_dir, None, "")?;
            let s = find_store(&home.store, store)?;
            let built = build_for_store(&home.store, s.id, format.map(Into::into))?;
            if let Some(path) = png {
                let bytes = tilldesk::mpm::render_png(&built.payload, 8, 4)?;
                std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("{}", built.payload);
            Ok(())
        }
        CodesCommand::Decode { file, payload, json, resolve, url } => {
            let text = match (file, payload) {
                (_, Some(p)) => p.clone(),
                (Some(f), None) => read_code_file(f)?,
                (None, None) => bail!("give a FILE or --payload TEXT"),
            };
            let check = if *resolve {
                let client = CdsClient::new(url.as_deref().unwrap_or_default())?;
                let rt = runtime()?;
                rt.block_on(check_code(&text, Some(&client)))?
            } else {
                CodeCheck { decoded: decode_store_code(&text)?, listing: None }
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&decoded_json(&check))?);
            } else {
                print!("{}", decoded_text(&check, *resolve));
            }
            Ok(())
        }
    }
}

fn format_name(f: CodeFormat) -> &'static str {
    match f {
        CodeFormat::AlipayPlusMpm => "alipayplus",
        CodeFormat::Emvco => "emvco",
    }
}

fn decoded_json(check: &CodeCheck) -> serde_json::Value {
    let d: &DecodedStoreCode = &check.decoded;
    let mut v = serde_json::json!({
        "format": format_name(d.format),
        "payload": d.raw,
        "references": d.references.iter().map(|r| serde_json::json!({"guid": r.guid, "merchant_id": r.merchant_id})).collect::<Vec<_>>(),
        "cds": d.cds.as_ref().map(|c| serde_json::json!({"platform_id": c.platform_id, "cds_index": c.cds_index})),
        "merchant_name": d.merchant_name,
        "merchant_name_alt": d.merchant_name_alt,
        "merchant_city": d.merchant_city,
        "mcc": d.mcc,
        "currency": d.currency_numeric,
        "store_label": d.store_label,
        "amount": d.amount.map(|a| a.to_string()),
    });
    if let Some(listing) = &check.listing {
        v["acquirers"] = match listing {
            Ok(l) => serde_json::Value::Array(
                l.acquirers
                    .iter()
                    .map(|a| {
                        serde_json::json!({"acquirer_id": a.acquirer_code, "name": a.name, "protocol": a.protocol,
                            "merchant_id": a.merchant_id, "bound_at": a.bound_at})
                    })
                    .collect(),
            ),
            Err(e) => serde_json::json!({"error": e.to_string()}),
        };
    }
    v
}

fn decoded_text(check: &CodeCheck, resolved: bool) -> String {
    let d = &check.decoded;
    let mut out = String::new();
    let mut line = |k: &str, v: &str| {
        if !v.is_empty() {
            out.push_str(&format!("{k:<16}{v}\n"));
        }
    };
    line("format:", format_name(d.format));
    line("merchant name:", &d.merchant_name);
    line("name (ZH):", d.merchant_name_alt.as_deref().unwrap_or_default());
    line("city:", &d.merchant_city);
    line("MCC:", &d.mcc);
    line("currency:", &d.currency_numeric);
    line("store label:", d.store_label.as_deref().unwrap_or_default());
    for r in &d.references {
        line("reference:", &format!("{} / {}", r.guid, r.merchant_id));
    }
    if let Some(c) = &d.cds {
        line("CDS platform:", &c.platform_id);
        line("CDS index:", &c.cds_index);
    }
    if resolved {
        for l in check.wallet_summary() {
            line("wallet:", &l);
        }
    }
    out
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the network runtime")
}

pub fn run_onboard(args: &OnboardArgs, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let (home, working) = open_home(data_dir, args.database.as_deref(), args.command.name())?;
    let result = onboard(args, home);
    crate::cli::serve::publish_after(working, result)
}

fn onboard(args: &OnboardArgs, mut home: DataHome) -> anyhow::Result<()> {
    let db = &mut home.store;
    match &args.command {
        OnboardCommand::Acquirers => {
            for a in db.setup().onboarding_acquirers()? {
                println!("{:<10} {:<10} {}", a.onboarding_code, a.acquirer.kind, a.acquirer.name);
            }
            Ok(())
        }
        OnboardCommand::Stores { json } => {
            let stores = db.setup().stores()?;
            if *json {
                let list: Vec<_> = stores
                    .iter()
                    .map(|s| {
                        let bindings = db.setup().bindings_for_store(s.id).unwrap_or_default();
                        serde_json::json!({"store": s, "code_format": db.setup().store_code_format(s.id).map(|f| f.as_str()).unwrap_or("auto"), "bindings": bindings})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for s in stores {
                    println!("{:<8} {} {}", s.store_code, s.name, s.name_zh);
                }
            }
            Ok(())
        }
        OnboardCommand::Merchant {
            legal_name,
            display_name,
            display_name_zh,
            mcc,
            country,
            city,
            city_zh,
            postal_code,
            currency,
        } => {
            let mut m = db.setup_mut().merchant()?;
            let before = m.clone();
            let set = |field: &mut String, v: &Option<String>| {
                if let Some(v) = v {
                    *field = v.clone();
                }
            };
            set(&mut m.legal_name, legal_name);
            set(&mut m.display_name, display_name);
            set(&mut m.display_name_zh, display_name_zh);
            set(&mut m.mcc, mcc);
            set(&mut m.country, country);
            set(&mut m.city, city);
            set(&mut m.city_zh, city_zh);
            set(&mut m.postal_code, postal_code);
            if let Some(c) = currency {
                m.currency = tilldesk::money::Currency::from_code(c)
                    .with_context(|| format!("currency {c:?} is not one TillDesk knows (e.g. CNY, HKD)"))?;
            }
            if m != before {
                for (flag, text) in [("--display-name", &m.display_name), ("--display-name-zh", &m.display_name_zh)] {
                    if let Some(chars) = unprintable(text) {
                        bail!(
                            "the merchant profile was not saved: no font on this computer can print {chars} in {flag} \
                             {text:?}; change the name, or install a font that has them (or name its file in \
                             TILLDESK_CJK_FONT)"
                        );
                    }
                }
                let issues = validate_merchant(&m);
                if !issues.is_empty() {
                    bail!(
                        "the merchant profile was not saved: {}",
                        issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; ")
                    );
                }
                db.setup_mut().update_merchant(&m, None)?;
            }
            println!("{}", serde_json::to_string_pretty(&m)?);
            Ok(())
        }
        OnboardCommand::Store { store, name, name_zh, address, contact, format } => {
            let existing = db.setup().store_by_code(store)?;
            let merchant = db.setup_mut().merchant()?;
            let mut s = existing.clone().unwrap_or(StoreRow {
                id: StoreId(0),
                merchant_id: merchant.id,
                store_code: store.clone(),
                name: String::new(),
                name_zh: String::new(),
                address: String::new(),
                contact: String::new(),
            });
            for (field, v) in
                [(&mut s.name, name), (&mut s.name_zh, name_zh), (&mut s.address, address), (&mut s.contact, contact)]
            {
                if let Some(v) = v {
                    *field = v.clone();
                }
            }
            let issues = validate_store(&s, &db.setup().stores()?);
            if !issues.is_empty() {
                bail!(
                    "store {store} was not saved: {}",
                    issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; ")
                );
            }
            // The names go on every printed stand: a name no font here can draw would fail every print later.
            for (flag, text) in [("--name", &s.name), ("--name-zh", &s.name_zh)] {
                if let Some(chars) = unprintable(text) {
                    bail!(
                        "store {store} was not saved: no font on this computer can print {chars} in {flag} {text:?}; \
                         change the name, or install a font that has them (or name its file in TILLDESK_CJK_FONT)"
                    );
                }
            }
            let id = match existing {
                Some(e) if e == s => e.id,
                Some(_) => {
                    db.setup_mut().update_store(&s, None)?;
                    s.id
                }
                None => db.setup_mut().add_store(&s, None)?,
            };
            if let Some(f) = format {
                db.setup_mut().set_store_code_format(id, (*f).into())?;
            }
            println!("{store}");
            Ok(())
        }
        OnboardCommand::Direct { store, acquirer, remote } => flow(db, store, acquirer, remote, Flow::Direct),
        OnboardCommand::Cds { store, acquirer, remote } => flow(db, store, acquirer, remote, Flow::Cds),
        OnboardCommand::Bind { store, acquirer, file, payload, remote } => {
            let text = match (file, payload) {
                (_, Some(p)) => p.clone(),
                (Some(f), None) => read_code_file(f)?,
                (None, None) => bail!("give the existing code as FILE or --payload TEXT"),
            };
            flow(db, store, acquirer, remote, Flow::Bind(text))
        }
        OnboardCommand::Status { store, url, json } => {
            let stores = match store {
                Some(code) => vec![find_store(db, code)?],
                None => db.setup().stores()?,
            };
            if let Some(url) = url {
                let client = CdsClient::new(url)?;
                let rt = runtime()?;
                let quiet = |_: Progress| {};
                for s in &stores {
                    for b in db.setup().bindings_for_store(s.id)? {
                        let mut o = Onboarder {
                            db: &mut *db,
                            client: &client,
                            poll: PollPolicy::default(),
                            cancel: CancelFlag::default(),
                            progress: &quiet,
                        };
                        if let Err(e) = rt.block_on(o.refresh(s.id, b.acquirer_id)) {
                            eprintln!("{}: {e}", s.store_code);
                        }
                    }
                }
            }
            let names = acquirer_names(db)?;
            let mut out = Vec::new();
            for s in &stores {
                for b in db.setup().bindings_for_store(s.id)? {
                    let steps = db.setup().binding_events(b.id)?;
                    if *json {
                        out.push(serde_json::json!({
                            "store": s.store_code,
                            "acquirer": names.iter().find(|(id, _)| *id == b.acquirer_id.0).map(|(_, n)| n.clone()),
                            "binding": b,
                            "steps": steps.iter().map(|e| serde_json::json!({"at": e.at, "step": e.step, "detail": tilldesk::onboarding::Step::from_stored(&e.detail).to_string()})).collect::<Vec<_>>(),
                        }));
                    } else {
                        println!("{}", binding_line(s, &b, &names));
                        for e in steps {
                            println!(
                                "    {}  {:<20} {}",
                                tilldesk::time::to_china_display(&e.at),
                                e.step,
                                tilldesk::onboarding::Step::from_stored(&e.detail)
                            );
                        }
                    }
                }
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            Ok(())
        }
    }
}

fn acquirer_names(db: &Store) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(db.setup().onboarding_acquirers()?.into_iter().map(|a| (a.acquirer.id.0, a.onboarding_code)).collect())
}

fn binding_line(s: &StoreRow, b: &AcquirerBinding, names: &[(i64, String)]) -> String {
    let acquirer = names.iter().find(|(id, _)| *id == b.acquirer_id.0).map(|(_, n)| n.as_str()).unwrap_or("?");
    let mut line = format!(
        "{:<8} {:<10} {:<21} merchant {}",
        s.store_code,
        acquirer,
        b.status.as_str(),
        b.merchant_id_at_acquirer.as_deref().unwrap_or("-")
    );
    if let (Some(p), Some(i)) = (&b.cds_platform_id, &b.cds_index) {
        line.push_str(&format!("  cds {p}/{i}"));
    }
    if let Some(r) = &b.failure_reason {
        line.push_str(&format!("  reason: {r}"));
    }
    line
}

enum Flow {
    Direct,
    Cds,
    Bind(String),
}

fn flow(db: &mut Store, store: &str, acquirer: &str, remote: &Remote, which: Flow) -> anyhow::Result<()> {
    let s = find_store(db, store)?;
    let a = db.setup().acquirer_by_onboarding_code(acquirer)?.with_context(|| {
        let known: Vec<String> =
            db.setup().onboarding_acquirers().unwrap_or_default().into_iter().map(|a| a.onboarding_code).collect();
        format!("there is no acquirer {acquirer:?}; the acquirers are: {}", known.join(", "))
    })?;
    let client = CdsClient::new(&remote.url)?;
    let rt = runtime()?;
    let progress = |p: Progress| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{store}: {} {}", p.step, p.detail);
    };
    let mut o = Onboarder {
        db: &mut *db,
        client: &client,
        poll: PollPolicy { interval: Duration::from_millis(250), timeout: Duration::from_secs(remote.timeout_secs) },
        cancel: CancelFlag::default(),
        progress: &progress,
    };
    let (binding, listing) = match which {
        Flow::Direct => (rt.block_on(o.onboard(s.id, a.acquirer.id, false))?, None),
        Flow::Cds => (rt.block_on(o.onboard(s.id, a.acquirer.id, true))?, None),
        Flow::Bind(text) => {
            let outcome = rt.block_on(o.bind_code(s.id, a.acquirer.id, &text))?;
            (outcome.binding, Some(outcome.listing))
        }
    };
    if remote.json {
        let mut v = serde_json::json!({"store": s.store_code, "acquirer": a.onboarding_code, "binding": binding});
        if let Some(l) = &listing {
            v["reaches"] = l
                .acquirers
                .iter()
                .map(|b| serde_json::json!({"acquirer_id": b.acquirer_code, "merchant_id": b.merchant_id}))
                .collect();
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}", binding_line(&s, &binding, &acquirer_names(db)?));
        if let Some(l) = listing {
            for b in l.acquirers {
                println!("  the code reaches {} ({}) as merchant {}", b.name, b.acquirer_code, b.merchant_id);
            }
        }
    }
    Ok(())
}

/// The characters of a name (printed on every stand) that no font on this machine can draw, if any
/// ([`tilldesk::print::fonts::unprintable_chars`]).
fn unprintable(text: &str) -> Option<String> {
    let chars = tilldesk::print::fonts::unprintable_chars(text);
    (!chars.is_empty()).then(|| chars.into_iter().collect())
}
