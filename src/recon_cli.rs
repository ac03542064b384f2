//! `tilldesk bills import|fetch` and `tilldesk reconcile`: the same core as the 对账 screen, headless.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use tilldesk::config::DataHome;
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::recon::{self, ImportControl, ImportOptions, ReconOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AcquirerArg {
    Alipay,
    #[value(alias = "wechatpay")]
    Wechat,
}

impl From<AcquirerArg> for AcquirerKind {
    fn from(a: AcquirerArg) -> Self {
        match a {
            AcquirerArg::Alipay => AcquirerKind::Alipay,
            AcquirerArg::Wechat => AcquirerKind::WechatPay,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum BillsCommand {
    /// Import a bill file (Alipay .csv.zip or WeChat Pay text; the format is read from the content).
    Import {
        file: PathBuf,
        /// Refuse the file unless it is this acquirer's bill.
        #[arg(long)]
        acquirer: Option<AcquirerArg>,
        /// The bill's day, when the file cannot tell (a WeChat bill without rows).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// Import a bill whose own totals do not match its rows (it is flagged) instead of refusing it.
        #[arg(long)]
        accept_mismatched_totals: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download a day's bill from an acquirer, keep it under <data>/bills/, and import it.
    Fetch {
        #[arg(long)]
        acquirer: AcquirerArg,
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
            let options = ImportOptions {
                acquirer: acquirer.map(Into::into),
                bill_date: date.as_deref().map(parse_date).transpose()?,
                accept_mismatched_totals,
            };
            let outcome = recon::import_file(&mut home.store, &file, &options, &ImportControl::new())?;
            print_outcome(&outcome, json)
        }
        BillsCommand::Fetch { acquirer, date, json, target } => {
            let date = parse_date(&date)?;
            let kind: AcquirerKind = acquirer.into();
            let rt = crate::runtime()?;
            let (channels, _sandbox) = rt.block_on(crate::cli_checkout::channels(home, &target))?;
            let channel = channels
                .for_kind(kind)
                .with_context(|| format!("{} has no bill download", recon::acquirer_name(kind)))?;
            let outcome = recon::fetch::fetch_and_import(
                rt.handle(),
                &mut home.store,
                &home.dir,
                channel.as_ref(),
                date,
                &ImportControl::new(),
            )?;
            print_outcome(&outcome, json)
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
    let kinds: Vec<AcquirerKind> = match args.acquirer {
        Some(a) => vec![a.into()],
        None => {
            let day = recon::date_text(date);
            let with_bill: Vec<AcquirerKind> = home
                .store
                .acquirers()?
                .into_iter()
                .filter(|a| home.store.bills_of_day(a.id, &day).map(|b| !b.is_empty()).unwrap_or(false))
                .map(|a| a.kind)
                .collect();
            anyhow::ensure!(
                !with_bill.is_empty(),
                "no bill for {day} has been imported: run `tilldesk bills fetch` or `tilldesk bills import` first"
            );
            with_bill
        }
    };
    anyhow::ensure!(args.export.is_none() || kinds.len() == 1, "--export needs --acquirer (one report per file)");
    let mut reports = Vec::new();
    for kind in kinds {
        reports.push(recon::reconcile(&mut home.store, kind, date, &options, Lang::En)?);
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
