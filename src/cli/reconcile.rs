//! `tilldesk bills import|fetch` and `tilldesk reconcile` (with `resolve`, `reopen`, `close`, `reopen-day` and
//! `show`): the same core as the 对账 screen, headless.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use tilldesk::config::DataHome;
use tilldesk::i18n::Lang;
use tilldesk::model::{Acquirer, AcquirerKind};
use tilldesk::recon::{self, ImportControl, ImportOptions, ReconOptions};
use tilldesk::store::Store;

/// An acquirer account on the command line: its onboarding id (ALIPAY, WECHATPAY, PARTNER1…), or `alipay` /
/// `wechat` for the first account of that protocol.
pub type AcquirerArg = String;

/// The account `arg` names; the error lists the accounts there are.
pub fn resolve_acquirer(store: &Store, arg: &str) -> anyhow::Result<Acquirer> {
    let arg = arg.trim();
    if let Some(a) = store.setup().acquirer_by_onboarding_code(arg)? {
        return Ok(a.acquirer);
    }
    let kind = match arg.to_ascii_lowercase().as_str() {
        "alipay" => Some(AcquirerKind::Alipay),
        "wechat" | "wechatpay" => Some(AcquirerKind::WechatPay),
        _ => None,
    };
    let all = store.setup().acquirers()?;
    if let Some(a) = kind.and_then(|k| all.iter().find(|a| a.kind == k)) {
        return Ok(a.clone());
    }
    if let Some(kind) = kind {
        anyhow::bail!(
            "this till has no {} account yet: set one up first (the first-run wizard, or `tilldesk acquirers`)",
            recon::acquirer_name(kind)
        );
    }
    let codes: Vec<String> = store.setup().onboarding_acquirers()?.into_iter().map(|a| a.onboarding_code).collect();
    anyhow::bail!(
        "there is no acquirer {arg:?}; use alipay, wechat{}{}",
        if codes.is_empty() { "" } else { " or one of " },
        codes.join(", ")
    )
}

#[derive(Debug, Subcommand)]
pub enum BillsCommand {
    /// Import a bill file (Alipay .csv.zip or WeChat Pay text; the format is read from the content). A day's
    /// WeChat Pay SUCCESS and REFUND bills combine; its ALL bill takes their place; a bill downloaded again replaces
    /// the one of its type.
    Import {
        file: PathBuf,
        /// The acquirer account the bill is from (alipay, wechat, or an onboarding id such as PARTNER1); the
        /// file must be of its protocol. Default: the first account of the bill's protocol.
        #[arg(long)]
        acquirer: Option<AcquirerArg>,
        /// The bill's day, when the file cannot tell (a bill without rows).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// Import a bill whose own totals do not match its rows (it is flagged) instead of refusing it.
        #[arg(long)]
        accept_mismatched_totals: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download a day's bill from an acquirer account (each one sends its own), keep it under <data>/bills/, and
    /// import it.
    Fetch {
        /// alipay, wechat, or an onboarding id such as PARTNER1; default: every account set up in this mode.
        #[arg(long)]
        acquirer: Option<AcquirerArg>,
        /// The China business day (default: yesterday in China, the day whose bills are out).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// `signcustomer`: Alipay's account bill (账务明细) for the settlement check, instead of the trade bill.
        #[arg(long = "type", value_name = "TYPE")]
        bill_type: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: crate::cli::checkout::SandboxTarget,
    },
    /// List the bill files kept in the archive (<data>/bills/archive/), of one day when given.
    Archive {
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Import again the archived bill files of a day (each file's hash is checked first), e.g. after the acquirer
    /// stopped serving them.
    Reimport {
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        /// Only this acquirer account's files.
        #[arg(long)]
        acquirer: Option<AcquirerArg>,
        #[arg(long)]
        json: bool,
    },
}

/// `tilldesk reconcile <what>`: checks beyond the day's report.
#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// Check that the day's trade net arrived in the Alipay balance: the account bill (账务明细, fetched with
    /// `bills fetch --type signcustomer` or imported) against the day's trade bill.
    Settlement {
        /// The China business day (default: yesterday in China).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// The Alipay account (default: the first).
        #[arg(long)]
        acquirer: Option<AcquirerArg>,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn parse_date(text: &str) -> anyhow::Result<time::Date> {
    recon::parse_date(text).with_context(|| format!("--date {text:?} is not a date like 2026-11-24"))
}

/// `--date` when given, else the China business day whose bills are out now (yesterday in China): bills are cut at
/// China midnight, so a till on UTC or in Europe still means the acquirers' day.
pub(crate) fn day_or_business_day(text: Option<&str>) -> anyhow::Result<time::Date> {
    match text {
        Some(text) => parse_date(text),
        None => Ok(tilldesk::time::china_business_day(time::OffsetDateTime::now_utc())),
    }
}

pub fn bills(home: &mut DataHome, command: BillsCommand) -> anyhow::Result<()> {
    match command {
        BillsCommand::Import { file, acquirer, date, accept_mismatched_totals, json } => {
            let account = acquirer.as_deref().map(|a| resolve_acquirer(&home.store, a)).transpose()?;
            let options = ImportOptions {
                acquirer: account.as_ref().map(|a| match a.kind.protocol() {
                    tilldesk::model::Protocol::Alipay => AcquirerKind::Alipay,
                    tilldesk::model::Protocol::WechatPay => AcquirerKind::WechatPay,
                }),
                account: account.map(|a| a.id),
                bill_date: date.as_deref().map(parse_date).transpose()?,
                bill_type: None,
                accept_mismatched_totals,
            };
            if recon::settlement::is_account_file(&file) {
                let name = file.display().to_string();
                let keep = Some(tilldesk::store::archive::ArchiveSource::Imported);
                let outcome = recon::settlement::import_account_file(
                    &mut home.store,
                    &file,
                    &name,
                    options.account,
                    options.bill_date,
                    keep,
                )?;
                return print_json_or(&outcome, json, |o| o.message(Lang::En));
            }
            let outcome = recon::import_file(&mut home.store, &file, &options, &ImportControl::new())?;
            print_outcome(&outcome, json)
        }
        BillsCommand::Archive { date, json } => {
            let date = date.as_deref().map(parse_date).transpose()?.map(recon::date_text);
            let archived = home.store.recon().archived_bills(date.as_deref(), None)?;
            print_json_or(&archived, json, |list| {
                if list.is_empty() {
                    return "no bill file is archived".to_owned();
                }
                list.iter()
                    .map(|a| {
                        format!(
                            "{} acquirer #{} {} {} {} bytes {} {} ({}) sha256 {}",
                            a.bill_date,
                            a.acquirer_id.0,
                            a.format,
                            a.bill_type,
                            a.size,
                            a.source.as_str(),
                            a.original_name,
                            a.archived_at,
                            a.sha256
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        BillsCommand::Reimport { date, acquirer, json } => {
            let date = parse_date(&date)?;
            let account = acquirer.as_deref().map(|a| resolve_acquirer(&home.store, a)).transpose()?.map(|a| a.id);
            let done = recon::archive::reimport(&mut home.store, date, account, &ImportControl::new())?;
            print_json_or(&done, json, |done| {
                done.iter()
                    .map(|r| match (&r.trade, &r.account) {
                        (Some(o), _) => o.message(Lang::En),
                        (_, Some(a)) => a.message(Lang::En),
                        _ => String::new(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        BillsCommand::Fetch { acquirer, date, bill_type, json, target } => {
            let date = day_or_business_day(date.as_deref())?;
            match bill_type.as_deref() {
                None | Some("trade") => {}
                Some("signcustomer") => {
                    let rt = crate::runtime()?;
                    let (router, _sandbox) = rt.block_on(crate::cli::checkout::router(home, &target))?;
                    let account = resolve_acquirer(&home.store, acquirer.as_deref().unwrap_or("alipay"))?;
                    anyhow::ensure!(
                        account.kind == AcquirerKind::Alipay,
                        "{} is not an Alipay account: only Alipay has the account bill (signcustomer)",
                        account.name
                    );
                    let (id, channel) =
                        router.account(account.id).with_context(|| format!("{} has no bill download", account.name))?;
                    let bill = rt.block_on(recon::settlement::fetch_account(channel.as_ref(), date))?;
                    let outcome =
                        recon::settlement::save_and_import_account(&mut home.store, &home.dir, id.id, date, &bill)?;
                    return print_json_or(&outcome, json, |o| o.message(Lang::En));
                }
                Some(other) => anyhow::bail!("--type {other:?}: use trade or signcustomer"),
            }
            let rt = crate::runtime()?;
            let (router, _sandbox) = rt.block_on(crate::cli::checkout::router(home, &target))?;
            let accounts = match acquirer.as_deref() {
                Some(a) => {
                    let account = resolve_acquirer(&home.store, a)?;
                    vec![router.account(account.id).with_context(|| format!("{} has no bill download", account.name))?]
                }
                None => router.accounts(),
            };
            let mut outcomes = Vec::new();
            for (account, channel) in accounts {
                let outcome = recon::fetch::fetch_and_import(
                    rt.handle(),
                    &mut home.store,
                    &home.dir,
                    account.id,
                    channel.as_ref(),
                    date,
                    &ImportControl::new(),
                );
                match outcome {
                    Ok(o) => outcomes.push(o),
                    // Nothing happened at that acquirer that day: say so and go on with the others.
                    Err(recon::ReconError::NoBillAtAcquirer { .. }) if acquirer.is_none() => {
                        eprintln!("{}: no bill for {}", account.name, recon::date_text(date));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&outcomes)?);
            } else {
                for o in &outcomes {
                    print_outcome(o, false)?;
                }
            }
            Ok(())
        }
    }
}

/// JSON, or the text `text` makes of it.
fn print_json_or<T: serde::Serialize>(value: &T, json: bool, text: impl FnOnce(&T) -> String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text(value));
    }
    Ok(())
}

/// `tilldesk reconcile settlement …`.
pub fn reconcile_command(home: &mut DataHome, command: ReconcileCommand) -> anyhow::Result<()> {
    match command {
        ReconcileCommand::Settlement { date, acquirer, json } => {
            let date = day_or_business_day(date.as_deref())?;
            let account = resolve_acquirer(&home.store, acquirer.as_deref().unwrap_or("alipay"))?;
            let check = recon::settlement::check(&home.store, account.id, date)?;
            if json {
                let mut value = serde_json::to_value(&check)?;
                value["ok"] = check.ok().into();
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", check.to_text(Lang::En));
            }
            Ok(())
        }
    }
}

fn print_outcome(outcome: &recon::ImportOutcome, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcome)?);
    } else {
        println!("{}", outcome.message(Lang::En));
    }
    Ok(())
}

/// `tilldesk reconcile --date D [--acquirer A] [--json] [--export F]`, or one of its subcommands.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReconcileCli {
    #[command(subcommand)]
    pub action: Option<ReconcileAction>,
    /// The China business day whose bills to reconcile (default: yesterday in China, the day whose bills are out,
    /// whatever this machine's time zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Only this acquirer (default: every acquirer with a bill for the day).
    #[arg(long)]
    pub acquirer: Option<AcquirerArg>,
    /// Orders this close to midnight wait for the neighbouring day's bill (default: setting, else 10).
    #[arg(long, value_name = "MINUTES")]
    pub window_minutes: Option<i64>,
    /// Also write the report to FILE.csv or FILE.xlsx.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Working through a day's differences (owner or back office: --operator NAME with the PIN in TILLDESK_PIN).
#[derive(Debug, Subcommand)]
pub enum ReconcileAction {
    /// Resolve a difference (its #ID from `tilldesk reconcile show`) of the day's latest run, with a note.
    Resolve {
        /// The difference's id, as `reconcile show` lists it (#12 or 12).
        id: String,
        /// adjusted (the local record was corrected), refunded (the customer was refunded), written-off (an
        /// accepted loss or gain), matched (by hand to a bill row: --bill-line or --trade-no), adopted (the bill's
        /// payment recorded as the local order).
        #[arg(long = "as", value_name = "KIND")]
        kind: String,
        /// What was done, in a few words (kept in the audit log).
        #[arg(long)]
        note: String,
        /// matched: the bill row's line number.
        #[arg(long, value_name = "N")]
        bill_line: Option<i64>,
        /// matched: the bill row's trade_no.
        #[arg(long, value_name = "TRADE_NO")]
        trade_no: Option<String>,
        /// refunded: the refund's out_request_no, when there is one.
        #[arg(long, value_name = "OUT_REQUEST_NO")]
        out_request_no: Option<String>,
    },
    /// Take a resolution back (until the day is closed).
    Reopen {
        id: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        note: String,
    },
    /// Close an acquirer's day: its latest run must have nothing open. Freezes the day's report.
    Close {
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long)]
        acquirer: AcquirerArg,
    },
    /// Reopen a closed day so that it can be resolved and reconciled again.
    ReopenDay {
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long)]
        acquirer: AcquirerArg,
        /// Why (kept in the audit log).
        #[arg(long)]
        note: String,
    },
    /// Print a day's report: the frozen one of a closed day (exactly as closed), else the latest run's. On a till
    /// enrolled with a merchant backend, the backend's report (--operator NAME, owner or back office, with the PIN
    /// in TILLDESK_PIN).
    Show {
        /// The China business day (default: yesterday in China).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        #[arg(long)]
        acquirer: AcquirerArg,
        /// On a till enrolled with a merchant backend: one store's share (back office: their till's store only).
        #[arg(long, value_name = "CODE")]
        store: Option<String>,
        #[arg(long)]
        json: bool,
        /// Also write it to FILE.csv, FILE.xlsx or FILE.txt.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
    },
    /// List the reconciliation runs, newest first: this till's, or on a till enrolled with a merchant backend the
    /// backend's (--operator NAME, owner or back office, with the PIN in TILLDESK_PIN).
    Runs {
        #[command(flatten)]
        filter: ReportFilter,
    },
    /// List the days with downloaded bills, newest first: on a till enrolled with a merchant backend each store's
    /// share of the backend's bills (--operator NAME, owner or back office); else this till's imported bills.
    Bills {
        #[command(flatten)]
        filter: ReportFilter,
    },
    #[command(flatten)]
    Check(ReconcileCommand),
}

/// Which runs or bill days `reconcile runs` and `reconcile bills` list.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportFilter {
    /// On a till enrolled with a merchant backend: only this store (by code; back office: their till's store).
    #[arg(long, value_name = "CODE")]
    pub store: Option<String>,
    /// Only this acquirer account: alipay, wechat, or an onboarding id such as ALIPAY or PARTNER1.
    #[arg(long)]
    pub acquirer: Option<AcquirerArg>,
    /// From this bill day (inclusive).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<String>,
    /// To this bill day (inclusive).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<String>,
    /// At most this many (default 50).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    #[arg(long)]
    pub json: bool,
}

/// `tilldesk reconcile …`: a run, or one of the resolution subcommands.
pub fn reconcile_cli(home: &mut DataHome, operator: Option<&str>, cli: ReconcileCli) -> anyhow::Result<()> {
    let Some(action) = cli.action else {
        let args = ReconcileArgs {
            date: recon::date_text(day_or_business_day(cli.date.as_deref())?),
            date_given: cli.date.is_some(),
            acquirer: cli.acquirer,
            window_minutes: cli.window_minutes,
            export: cli.export,
            json: cli.json,
        };
        return reconcile(home, args);
    };
    crate::cli::reconcile_resolve::run(home, operator, action)
}

pub struct ReconcileArgs {
    pub date: String,
    /// False when the day is the default (the China business day).
    pub date_given: bool,
    pub acquirer: Option<AcquirerArg>,
    pub window_minutes: Option<i64>,
    pub export: Option<PathBuf>,
    pub json: bool,
}

pub fn reconcile(home: &mut DataHome, args: ReconcileArgs) -> anyhow::Result<()> {
    let date = parse_date(&args.date)?;
    let mut options = ReconOptions::from_settings(&home.store)?;
    if let Some(minutes) = args.window_minutes {
        anyhow::ensure!((0..=720).contains(&minutes), "--window-minutes must be between 0 and 720");
        options.window = time::Duration::minutes(minutes);
    }
    let accounts: Vec<tilldesk::model::AcquirerId> = match args.acquirer.as_deref() {
        Some(a) => vec![resolve_acquirer(&home.store, a)?.id],
        None => {
            let day = recon::date_text(date);
            let with_bill: Vec<tilldesk::model::AcquirerId> = home
                .store
                .setup()
                .acquirers()?
                .into_iter()
                .filter(|a| home.store.recon().bills_of_day(a.id, &day).map(|b| !b.is_empty()).unwrap_or(false))
                .map(|a| a.id)
                .collect();
            anyhow::ensure!(
                !with_bill.is_empty(),
                "no bill for {day}{} has been imported: run `tilldesk bills fetch` or `tilldesk bills import` first",
                if args.date_given { "" } else { " (yesterday in China; give --date YYYY-MM-DD for another day)" }
            );
            // A closed day keeps its frozen report: say so and reconcile the others.
            let mut open = Vec::new();
            for account in with_bill {
                match home.store.recon().closed_day(account, &day)? {
                    Some(c) => eprintln!(
                        "{}: {day} was closed by {} at {} (China time): `tilldesk reconcile show` prints its report",
                        home.store
                            .setup()
                            .acquirers()?
                            .into_iter()
                            .find(|a| a.id == account)
                            .map(|a| a.name)
                            .unwrap_or_default(),
                        c.closed_by_name,
                        recon::resolve::china_display(&c.closed_at)
                    ),
                    None => open.push(account),
                }
            }
            anyhow::ensure!(!open.is_empty(), "every bill of {day} belongs to a closed day: nothing to reconcile");
            open
        }
    };
    anyhow::ensure!(args.export.is_none() || accounts.len() == 1, "--export needs --acquirer (one report per file)");
    let mut reports = Vec::new();
    for account in accounts {
        reports.push(recon::reconcile_account(&mut home.store, account, date, &options, Lang::En)?);
    }
    if let (Some(path), Some(report)) = (&args.export, reports.first()) {
        export(report, path)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            print!("{}", report.to_text());
        }
        if let Some(path) = &args.export {
            println!("exported to {}", path.display());
        }
        let open: usize = reports.iter().map(|r| r.open_count()).sum();
        if open > 0 {
            println!(
                "{open} difference(s) open: `tilldesk reconcile show --date {} --acquirer …` lists their ids for \
                 `tilldesk reconcile resolve ID --as KIND --note TEXT`",
                args.date.trim()
            );
        }
    }
    Ok(())
}

fn export(report: &recon::Report, path: &Path) -> anyhow::Result<()> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("xlsx") => recon::export::write_xlsx(report, path, Lang::En)?,
        Some("csv") => recon::export::write_csv(report, path, Lang::En)?,
        _ => anyhow::bail!("--export {} must end in .csv or .xlsx", path.display()),
    }
    Ok(())
}
