//! `tilldesk`: no arguments opens the window; subcommands run the same core headless.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tilldesk::config::{self, DataHome};
use tilldesk::doctor::DoctorReport;
use tilldesk::ui::{TillDeskApp, fonts};

#[derive(Debug, Parser)]
#[command(name = "tilldesk", version, about = "QR-code payments at the till: Alipay, WeChat Pay, Alipay+ store codes")]
struct Cli {
    /// Where TillDesk keeps its database and files (default: the platform data folder).
    #[arg(long, global = true, env = "TILLDESK_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the data folder, database, schema version, row counts and configured channels.
    Doctor {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    init_logging();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tilldesk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = config::resolve_data_dir(cli.data_dir.as_deref())?;
    let home = DataHome::open(&data_dir)?;
    match cli.command {
        None => run_gui(home),
        Some(Command::Doctor { json }) => {
            let report = DoctorReport::collect(&home)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
    }
}

fn run_gui(home: DataHome) -> anyhow::Result<()> {
    let app = TillDeskApp::new(home)?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("TillDesk")
            .with_inner_size([1100.0, 720.0])
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    };
    eframe::run_native(
        "TillDesk",
        options,
        Box::new(|cc| {
            fonts::install_cjk_font(&cc.egui_ctx);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
    .context("could not open the TillDesk window")
}

/// Logs go to stderr; `TILLDESK_LOG=debug` (or info, warn, error, trace) sets the level.
fn init_logging() {
    let level = std::env::var("TILLDESK_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::WARN);
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).init();
}
