//! `tilldesk bills import|fetch` and `tilldesk reconcile`: the same core as the 对账 screen, headless.

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
    if let Some(a) = store.acquirer_by_onboarding_code(arg)? {
        return Ok(a.acquirer);
    }
    let kind = match arg.to_ascii_lowercase().as_str() {
        "alipay" => Some(AcquirerKind::Alipay),
        "wechat" | "wechatpay" => Some(AcquirerKind::WechatPay),
        _ => None,
    };
    let all = store.acquirers()?;
    if let Some(a) = kind.and_then(|k| all.iter().find(|a| a.kind == k)) {
        return Ok(a.clone());
    }
    let codes: Vec<String> = store.onboarding_acquirers()?.into_iter().map(|a| a.onboarding_code).collect();
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
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: crate::cli_checkout::SandboxTarget,
    },
}

fn parse_date(text: &str) -> anyhow::Result<time::Date> {
    recon::parse_date(text).with_context(|| format!("--date {text:?} is not a date like 2026-11-24"))
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
            let outcome = recon::import_file(&mut home.store, &file, &options, &ImportControl::new())?;
            print_outcome(&outcome, json)
        }
        BillsCommand::Fetch { acquirer, date, json, target } => {
            let date = parse_date(&date)?;
            let rt = crate::runtime()?;
            let (router, _sandbox) = rt.block_on(crate::cli_checkout::router(home, &target))?;
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

fn print_outcome(outcome: &recon::ImportOutcome, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcome)?);
    } else {
        println!("{}", outcome.message(Lang::En));
    }
    Ok(())
}

pub struct ReconcileArgs {
    pub date: String,
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
                .acquirers()?
                .into_iter()
                .filter(|a| home.store.bills_of_day(a.id, &day).map(|b| !b.is_empty()).unwrap_or(false))
                .map(|a| a.id)
                .collect();
            anyhow::ensure!(
                !with_bill.is_empty(),
                "no bill for {day} has been imported: run `tilldesk bills fetch` or `tilldesk bills import` first"
            );
            with_bill
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
