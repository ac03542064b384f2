//! `tilldesk`: no arguments opens the window; subcommands run the same core headless.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tilldesk::config::{self, DataHome};
use tilldesk::doctor::DoctorReport;
use tilldesk::ui::{TillDeskApp, fonts};

mod recon_cli;

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
    /// Run the sandbox acquirers (Alipay, WeChat Pay, CDS) on loopback until killed.
    Sandbox {
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// The sandbox's own folder (sandbox.json, ledger.sqlite3).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Allow listening on a non-loopback address.
        #[arg(long)]
        allow_remote: bool,
    },
    /// Print the data folder, database, schema version, row counts and configured channels.
    Doctor {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Bills (对账单): import a bill file, or fetch a day's bill from an acquirer.
    Bills {
        #[command(subcommand)]
        command: recon_cli::BillsCommand,
    },
    /// Reconcile (对账) a day's bills against the till and print the report.
    Reconcile {
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        /// Only this acquirer (default: every acquirer with a bill for the day).
        #[arg(long)]
        acquirer: Option<recon_cli::AcquirerArg>,
        /// Orders this close to midnight wait for the neighbouring day's bill (default: setting, else 10).
        #[arg(long, value_name = "MINUTES")]
        window_minutes: Option<i64>,
        /// Also write the report to FILE.csv or FILE.xlsx.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
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
    if let Some(Command::Sandbox { listen, data, allow_remote }) = &cli.command {
        return run_sandbox(*listen, data, *allow_remote);
    }
    let data_dir = config::resolve_data_dir(cli.data_dir.as_deref())?;
    let mut home = DataHome::open(&data_dir)?;
    match cli.command {
        None => run_gui(home),
        Some(Command::Sandbox { .. }) => Ok(()),
        Some(Command::Doctor { json }) => {
            let report = DoctorReport::collect(&home)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
        Some(Command::Bills { command }) => recon_cli::bills(&mut home, command),
        Some(Command::Reconcile { date, acquirer, window_minutes, export, json }) => {
            recon_cli::reconcile(&mut home, recon_cli::ReconcileArgs { date, acquirer, window_minutes, export, json })
        }
    }
}

/// One tokio runtime for all network work, shared by the app (2 workers: the machine has 2 cores).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the network runtime")
}

fn run_sandbox(listen: std::net::SocketAddr, data: &std::path::Path, allow_remote: bool) -> anyhow::Result<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let running = tilldesk::sandbox::start(data, listen, allow_remote).await?;
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", running.base_url())?;
            out.flush()?;
        }
        std::future::pending::<()>().await;
        Ok(())
    })
}

fn run_gui(home: DataHome) -> anyhow::Result<()> {
    let rt = runtime()?;
    let sandbox_dir = home.dir.join("sandbox");
    let mut app = TillDeskApp::new(home)?;
    // The embedded sandbox starts off the UI thread; the status bar shows it once it listens.
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let localhost = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let result = tilldesk::sandbox::start(&sandbox_dir, localhost, false).await;
        let _ = tx.send(result.map_err(|e| e.to_string()));
    });
    app.ctx.sandbox = tilldesk::ui::SandboxStatus::Starting(rx);
    app.ctx.runtime = Some(rt.handle().clone());
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
