//! `tilldesk receipts print` and `tilldesk receipts settings`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use tilldesk::config::DataHome;
use tilldesk::receipt::{Mode, Receipt, ReceiptSettings, Target, Width, escpos, output, pdf};
use tilldesk::store::operators::Permission;

#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Print (or save) the receipt of an order, or of one of its refunds. Without a destination: the configured
    /// printer. Marked 重打 REPRINT unless --original.
    Print {
        out_trade_no: String,
        /// The refund's out_request_no: a refund receipt.
        #[arg(long, value_name = "OUT_REQUEST_NO")]
        refund: Option<String>,
        /// Paper width, 58 or 80 (default: the configured width).
        #[arg(long, value_name = "58|80")]
        width: Option<String>,
        /// Save a PDF of the receipt to FILE.
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
        /// Send ESC/POS to a network printer, tcp://HOST:PORT (port 9100 by default).
        #[arg(long, value_name = "tcp://HOST:PORT", conflicts_with = "cups")]
        printer: Option<String>,
        /// Send ESC/POS to a raw CUPS queue (lp -d QUEUE -o raw).
        #[arg(long, value_name = "QUEUE")]
        cups: Option<String>,
        /// Write the ESC/POS bytes to FILE.
        #[arg(long, value_name = "FILE")]
        escpos_out: Option<PathBuf>,
        /// Print the receipt as a first print (no REPRINT mark).
        #[arg(long)]
        original: bool,
    },
    /// Show or change when and where receipts are printed.
    Settings {
        /// always, ask or never (after each payment and refund). Stays never in effect until a printer is set.
        #[arg(long, value_name = "always|ask|never")]
        mode: Option<String>,
        /// tcp://HOST:PORT or cups:QUEUE; "none" removes it.
        #[arg(long, value_name = "tcp://HOST:PORT|cups:QUEUE")]
        printer: Option<String>,
        /// Paper width, 58 or 80.
        #[arg(long, value_name = "58|80")]
        width: Option<String>,
    },
}

impl ReceiptsCommand {
    /// What a settings change is called in the audit log (None: it changes nothing).
    pub fn changes(&self) -> Option<&'static str> {
        match self {
            ReceiptsCommand::Settings { mode, printer, width }
                if mode.is_some() || printer.is_some() || width.is_some() =>
            {
                Some("tilldesk receipts settings")
            }
            _ => None,
        }
    }
}

pub fn receipts(home: &mut DataHome, operator: Option<&str>, command: ReceiptsCommand) -> anyhow::Result<()> {
    if let Some(what) = command.changes() {
        crate::cli::staff::authorize(home, operator, Permission::ChangeSettings, what)?;
    }
    match command {
        ReceiptsCommand::Print { out_trade_no, refund, width, pdf, printer, cups, escpos_out, original } => {
            let settings = ReceiptSettings::load(&home.store)?;
            let width = match width {
                Some(w) => Width::parse(&w)?,
                None => settings.width,
            };
            let receipt = Receipt::from_store(
                &home.store,
                &out_trade_no,
                refund.as_deref(),
                !original,
                &tilldesk::time::now_utc(),
            )?;
            let bytes = escpos::encode(&receipt, width);
            let mut done = false;
            if let Some(path) = &escpos_out {
                output::write_file(path, &bytes)?;
                println!("ESC/POS ({} bytes) written to {}", bytes.len(), path.display());
                done = true;
            }
            if let Some(path) = &pdf {
                output::write_file(path, &pdf::render(&receipt, width)?)?;
                println!("PDF written to {}", path.display());
                done = true;
            }
            let target = match (printer, cups) {
                (Some(p), _) => Some(Target::parse(&p)?),
                (None, Some(q)) => Some(Target::parse(&format!("cups:{q}"))?),
                (None, None) if !done => Some(settings.printer.context(
                    "no receipt printer is configured: pass --printer tcp://HOST:9100, --cups QUEUE, --pdf FILE or \
                     --escpos-out FILE, or set one with `tilldesk receipts settings --printer …`",
                )?),
                (None, None) => None,
            };
            if let Some(target) = target {
                output::send(&target, &bytes, output::DEFAULT_TIMEOUT)?;
                println!("printed on {target}");
            }
            Ok(())
        }
        ReceiptsCommand::Settings { mode, printer, width } => {
            let mut settings = ReceiptSettings::load(&home.store)?;
            let changed = mode.is_some() || printer.is_some() || width.is_some();
            if let Some(m) = mode {
                settings.mode = Mode::parse(&m)?;
            }
            if let Some(p) = printer {
                settings.printer = match p.trim() {
                    "" | "none" => None,
                    p => Some(Target::parse(p)?),
                };
            }
            if let Some(w) = width {
                settings.width = Width::parse(&w)?;
            }
            if changed {
                let by = match operator {
                    Some(name) => home.store.staff().operator_by_name(name)?.map(|o| o.id),
                    None => None,
                };
                settings.save(&mut home.store, by)?;
            }
            let printer = settings.printer.as_ref().map_or_else(|| "none".to_owned(), Target::to_string);
            println!("mode: {}", settings.mode.as_str());
            println!("printer: {printer}");
            println!("width: {} mm", settings.width.as_str());
            if settings.effective_mode() != settings.mode {
                println!("(receipts stay off until a printer is set)");
            }
            Ok(())
        }
    }
}
