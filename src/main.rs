//! `tilldesk`: no arguments opens the window; subcommands run the same core headless.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tilldesk::config::{self, DataHome};
use tilldesk::doctor::DoctorReport;
use tilldesk::store::operators::Permission;
use tilldesk::ui::{TillDeskApp, fonts};

mod cli;

#[derive(Debug, Parser)]
#[command(name = "tilldesk", version, about = "QR-code payments at the till: Alipay, WeChat Pay, Alipay+ store codes")]
struct Cli {
    /// Where TillDesk keeps its database and files (default: the platform data folder).
    #[arg(long, global = true, env = "TILLDESK_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// The operator making a refund, a key or mode change or a staff change (their PIN in TILLDESK_PIN, or asked on
    /// a terminal). Needed once the first owner exists; other commands are audited as "command line".
    #[arg(long, global = true, value_name = "NAME")]
    operator: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Take one barcode payment headless (the same engine as the 收银 screen) and print the final order.
    /// Exits 0 when paid, 2 when the payment ended unpaid (failed, cancelled, needs attention).
    /// With --dynamic: show a code the customer scans (动态码), print it, wait for the payment and print the order.
    Pay {
        /// The amount, like 12.34 (a negative one is refused by TillDesk with its reason, not by the parser).
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// The customer's payment code (what the scanner reads).
        #[arg(long, required_unless_present = "dynamic", conflicts_with = "dynamic")]
        auth_code: Option<String>,
        /// A dynamic code (主扫): print the code text (first line; with --json a one-line JSON object) for the
        /// customer to scan, then wait until paid, expired or --timeout (which closes the trade).
        #[arg(long)]
        dynamic: bool,
        /// With --dynamic: whose code, alipay or wechat (default: alipay when the store takes it).
        #[arg(long, requires = "dynamic", value_name = "WALLET")]
        wallet: Option<String>,
        /// With --dynamic: also write the code as a QR image (PNG) to FILE.
        #[arg(long, requires = "dynamic", value_name = "FILE")]
        png: Option<PathBuf>,
        /// With --dynamic: stop waiting after SECS seconds and close the trade (a payment made meanwhile counts).
        #[arg(long, requires = "dynamic", value_name = "SECS")]
        timeout: Option<u64>,
        #[arg(long, default_value = "TillDesk")]
        subject: String,
        /// The store number (S001…), as `onboard` and `codes` take it; default: this till's store (Settings → This
        /// till, `tilldesk till`).
        #[arg(long, value_name = "STORE")]
        store: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: cli::checkout::SandboxTarget,
    },
    /// Settle payments left unfinished by a crash or power cut (query, then cancel/reverse as needed).
    Recover {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: cli::checkout::SandboxTarget,
    },
    /// Keep in step with the acquirers: deliver the outbox (cancel/reverse, refunds made offline), refresh open
    /// orders, refunds and bindings, fetch yesterday's bills after the configured time; without --once, also
    /// listen for the acquirers' notifications, until killed.
    Sync {
        /// One pass, printed; then exit.
        #[arg(long, conflicts_with = "history")]
        once: bool,
        /// The recent passes (and, with --json, the outbox and received notifications).
        #[arg(long)]
        history: bool,
        #[arg(long)]
        json: bool,
        /// Where to listen for notifications (default: the setting notify.listen, else 127.0.0.1:0).
        #[arg(long, value_name = "ADDR")]
        notify_listen: Option<std::net::SocketAddr>,
        /// Allow the notify listener on a non-loopback address (0.0.0.0, a LAN address); also the setting
        /// notify.allow_remote = true. Without it such an address is refused.
        #[arg(long)]
        notify_allow_remote: bool,
        #[command(flatten)]
        target: cli::checkout::SandboxTarget,
    },
    /// The routing table: which acquirer takes which wallet's codes at which store (list, choose, remove).
    Acquirers {
        #[command(subcommand)]
        command: cli::acquirers::AcquirersCommand,
        /// Work on a merchant backend's catalogue instead of this till's (its `serve --database`).
        #[arg(long, global = true, value_name = "URL")]
        database: Option<String>,
    },
    /// This till: the store its payments are taken for and its terminal id (shown with no options).
    Till {
        /// The store number (S001…).
        #[arg(long)]
        store: Option<String>,
        /// The terminal id sent to the acquirers (letters, digits, - and _; at most 32).
        #[arg(long)]
        terminal: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Live channels and keys: gateway URLs, ids, key pairs, the WeChat API key, access mode, connection test.
    Keys {
        #[command(subcommand)]
        command: cli::keys::KeysCommand,
        /// Configure a merchant backend (its `serve --database`) instead of this till: its live settings and keys
        /// (the keys in the backend folder's vault).
        #[arg(long, global = true, value_name = "URL")]
        database: Option<String>,
    },
    /// Receipts (小票): print or save an order's or a refund's receipt; when and where receipts print.
    Receipts {
        #[command(subcommand)]
        command: cli::receipts::ReceiptsCommand,
    },
    /// Look at orders.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
    },
    /// Refund (part of) a paid order as --operator (owner or back office). Asks for the operator's PIN on a
    /// terminal, or reads TILLDESK_PIN.
    Refund {
        out_trade_no: String,
        /// The amount to give back, like 3.50.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why (required; it is on the receipt and in the audit log).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: cli::checkout::SandboxTarget,
    },
    /// Staff: operators with a role and a PIN.
    Operators {
        #[command(subcommand)]
        command: OperatorsCommand,
    },
    /// Developer tools.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
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
    /// Store codes: print a store's payload, decode any code (and resolve its CDS index).
    Codes(cli::onboard::CodesArgs),
    /// Onboard stores with acquirers, with or without CDS, and bind further acquirers to a code.
    Onboard(cli::onboard::OnboardArgs),
    /// Print the data folder, database, schema version, row counts and configured channels.
    Doctor {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Bills (对账单): import a bill file, or fetch a day's bill from an acquirer.
    Bills {
        #[command(subcommand)]
        command: cli::reconcile::BillsCommand,
    },
    /// Shifts (交接班) and the day close (日结): open, list, close (the handover summary), show, day-close.
    Shifts {
        #[command(subcommand)]
        command: cli::shifts::ShiftsCommand,
    },
    /// Reconcile (对账) a day's bills against the till and print the report; resolve its differences and close
    /// the day (subcommands).
    Reconcile(cli::reconcile::ReconcileCli),
    /// The merchant backend (商户后台) for several tills: serve the till API (`--listen ADDR`), or add, list and
    /// revoke tills (subcommands). The tills then hold no acquirer keys.
    Serve(cli::serve::ServeCli),
    /// This till and a merchant backend: join (enrol with a one-time code), status, leave.
    Backend {
        #[command(subcommand)]
        command: cli::backend::BackendCommand,
    },
}

#[derive(Debug, Subcommand)]
enum OperatorsCommand {
    /// Add an operator; the PIN is read from TILLDESK_NEW_PIN (6 to 12 digits for owner and back office, 4 to 12
    /// for cashiers). The first operator must be the owner; later ones need the owner's name (--operator, or --by)
    /// and PIN (TILLDESK_PIN).
    Add {
        name: String,
        /// owner, back_office or cashier.
        #[arg(long)]
        role: String,
        /// The owner adding them (the same as --operator).
        #[arg(long)]
        by: Option<String>,
    },
    /// Give NAME a new PIN, read from TILLDESK_NEW_PIN (the rule of their role). --operator is NAME themselves
    /// (with their current PIN in TILLDESK_PIN) or an owner.
    SetPin { name: String },
    /// Take NAME off the staff: they can no longer sign in (their orders and audit entries stay theirs); an owner
    /// (--operator, PIN in TILLDESK_PIN). The last active owner stays. On a till enrolled with a merchant backend
    /// it happens there, for every till.
    Deactivate { name: String },
    /// Take a deactivated NAME back on the staff (an owner, as for deactivate).
    Reactivate { name: String },
    /// List the operators.
    List,
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Insert synthetic orders the way a busy merchant has them (three stores, the three wallets, most paid, some
    /// refunded, failed or closed), for trying the screens and the benchmarks.
    SeedOrders {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// Spread over this many days back from now.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Makes the orders reproducible (0–9999; each seed numbers its orders TD<seed>…). Default: from the clock.
        #[arg(long)]
        seed: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum OrdersCommand {
    /// Orders matching a filter, newest first, with the count and totals.
    List {
        /// First local day, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last local day (inclusive), YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        /// Status or comma-separated statuses (PAID, REFUNDED, …).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, conflicts_with_all = ["csv", "out"])]
        json: bool,
        /// Print CSV to standard output.
        #[arg(long, conflicts_with = "out")]
        csv: bool,
        /// Write the orders to a file instead: FILE.csv or FILE.xlsx (with a progress line on stderr).
        #[arg(long, value_name = "FILE.csv|FILE.xlsx")]
        out: Option<std::path::PathBuf>,
    },
    /// Every refund (or those in one status), newest first, to FILE.csv or FILE.xlsx.
    Refunds {
        /// SUBMITTED, PROCESSING, SUCCESS or FAILED.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_name = "FILE.csv|FILE.xlsx")]
        out: std::path::PathBuf,
    },
    /// One order with its timeline.
    Show {
        out_trade_no: String,
        #[arg(long)]
        json: bool,
    },
    /// The 概览 figures of China days: gross, refunds, net, count, average ticket, compared with the days before and
    /// a week before, by store, cashier and wallet. On a till enrolled with a merchant backend they are added up
    /// there over every till's orders, as --operator NAME (PIN in TILLDESK_PIN) may see them.
    Summary {
        /// today, yesterday, 7d (today and the six days before) or month (this month). Default: today.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// First China day, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last China day (inclusive), YYYY-MM-DD (default: --from).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// One store's figures, by its code (S001).
        #[arg(long)]
        store: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// The error and its causes, each said once: library errors often already include their source's text in their
/// own message, which anyhow's `{:#}` would then repeat.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn main() -> ExitCode {
    init_logging();
    quiet_when_stdout_closes();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<NotPaid>().is_some() => ExitCode::from(2),
        Err(e) => {
            eprintln!("tilldesk: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// `tilldesk orders list | head`: the reader stops early and closes the pipe; printing to it then ends the command
/// quietly with the status a shell gives a command stopped by SIGPIPE (141), instead of a panic's message. Only the
/// main thread's printing (a command's output) does this; what a command changes is committed before it prints, and
/// the long-running commands (`serve`, `sandbox`, `sync --watch`) write their lines without panicking.
fn quiet_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        let main = std::thread::current().name() == Some("main");
        if main && message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Every audit entry names how it was made: the window, or the command line.
    tilldesk::store::set_process_actor(match cli.command {
        None => tilldesk::ui::AUDIT_ACTOR_WINDOW,
        Some(_) => cli::staff::ACTOR,
    });
    if let Some(Command::Sandbox { listen, data, allow_remote }) = &cli.command {
        return run_sandbox(*listen, data, *allow_remote);
    }
    if let Some(Command::Codes(args)) = &cli.command {
        return cli::onboard::run_codes(args, cli.data_dir.as_deref());
    }
    if let Some(Command::Onboard(args)) = &cli.command {
        return cli::onboard::run_onboard(args, cli.data_dir.as_deref());
    }
    if let Some(Command::Serve(args)) = &cli.command {
        return cli::serve::run(args, cli.data_dir.as_deref());
    }
    let data_dir = config::resolve_data_dir(cli.data_dir.as_deref())?;
    // `keys` and `acquirers` given --database work on a merchant backend's catalogue.
    // On PostgreSQL they change the published catalogue: the folder is brought to it first, published again after.
    let (mut home, working) = match &cli.command {
        Some(Command::Keys { database: Some(url), command }) => {
            cli::serve::backend_home(&data_dir, url, command.changes().map(|c| format!("keys {c}")))?
        }
        Some(Command::Acquirers { database: Some(url), command }) => {
            cli::serve::backend_home(&data_dir, url, Some(format!("acquirers {}", command.name())))?
        }
        _ => (DataHome::open(&data_dir)?, None),
    };
    let result = match cli.command {
        None => run_gui(home),
        Some(Command::Sandbox { .. } | Command::Codes(_) | Command::Onboard(_) | Command::Serve(_)) => Ok(()),
        Some(Command::Backend { command }) => {
            let operator = match command.changes() {
                Some(what) => {
                    cli::staff::authorize(&mut home, cli.operator.as_deref(), Permission::ChangeSettings, what)?
                        .map(|o| o.id)
                }
                None => None,
            };
            cli::backend::run(&runtime()?, &mut home, operator, command)
        }
        Some(Command::Pay { amount, auth_code, dynamic, wallet, png, timeout, subject, store, json, target }) => {
            let rt = runtime()?;
            // --operator signs in for the payment (a cashier's shift opens); without it the sale has no operator.
            let operator = match cli.operator.as_deref() {
                Some(name) => Some(cli::shifts::sign_in_for_payment(&mut home, name)?),
                None => None,
            };
            let paid = match auth_code {
                Some(auth_code) if !dynamic => cli::checkout::pay(
                    &rt,
                    home,
                    cli::checkout::PayArgs { amount, auth_code, subject, store, json, operator },
                    &target,
                )?,
                _ => cli::checkout::pay_dynamic(
                    &rt,
                    home,
                    cli::checkout::DynamicArgs { amount, wallet, png, timeout, subject, store, json, operator },
                    &target,
                )?,
            };
            if paid { Ok(()) } else { Err(NotPaid.into()) }
        }
        Some(Command::Recover { json, target }) => cli::checkout::recover(&runtime()?, home, json, &target),
        Some(Command::Keys { command, .. }) => {
            if let Some(what) = command.changes() {
                let what = format!("tilldesk keys {what}");
                cli::staff::authorize(&mut home, cli.operator.as_deref(), Permission::ChangeSettings, &what)?;
            }
            cli::keys::keys(&runtime()?, &mut home, command)
        }
        Some(Command::Acquirers { command, .. }) => cli::acquirers::acquirers(&mut home, command),
        Some(Command::Till { store, terminal, json }) => cli::acquirers::till(&mut home, store, terminal, json),
        Some(Command::Sync { once, history, json, notify_listen, notify_allow_remote, target }) => {
            let args = cli::sync::SyncArgs { once, history, json, notify_listen, notify_allow_remote };
            cli::sync::sync(&runtime()?, home, args, &target)
        }
        Some(Command::Receipts { command }) => cli::receipts::receipts(&mut home, cli.operator.as_deref(), command),
        Some(Command::Orders { command: OrdersCommand::Show { out_trade_no, json } }) => {
            cli::checkout::show(&home, &out_trade_no, json)
        }
        Some(Command::Orders { command: OrdersCommand::List { from, to, status, json, csv, out } }) => {
            cli::orders::list(&home, cli::orders::ListArgs { from, to, status, json, csv, out })
        }
        Some(Command::Orders { command: OrdersCommand::Summary { period, from, to, store, json } }) => {
            let mut home = home;
            let args = cli::summary::SummaryArgs { period, from, to, store, json };
            cli::summary::summary(&mut home, cli.operator.as_deref(), &args)
        }
        Some(Command::Orders { command: OrdersCommand::Refunds { status, out } }) => {
            cli::orders::export_refunds(&home, status.as_deref(), &out)
        }
        Some(Command::Refund { out_trade_no, amount, reason, json, target }) => {
            let Some(operator) = cli.operator else {
                anyhow::bail!(
                    "a refund needs an operator: pass --operator NAME (owner or back office) and the PIN in TILLDESK_PIN"
                )
            };
            cli::orders::refund(
                &runtime()?,
                home,
                cli::orders::RefundArgs { out_trade_no, amount, reason, operator, json },
                &target,
            )
        }
        Some(Command::Operators { command: OperatorsCommand::Add { name, role, by } }) => {
            let mut home = home;
            cli::orders::add_operator(&mut home, &name, &role, by.or(cli.operator))
        }
        Some(Command::Operators { command: OperatorsCommand::SetPin { name } }) => {
            cli::orders::set_pin(&mut home, &name, cli.operator.as_deref())
        }
        Some(Command::Operators { command: OperatorsCommand::Deactivate { name } }) => {
            cli::staff::set_active(&mut home, &name, false, cli.operator.as_deref())
        }
        Some(Command::Operators { command: OperatorsCommand::Reactivate { name } }) => {
            cli::staff::set_active(&mut home, &name, true, cli.operator.as_deref())
        }
        Some(Command::Operators { command: OperatorsCommand::List }) => {
            for op in home.store.staff().operators()? {
                println!("{}\t{}\t{}", op.name, op.role.as_str(), if op.active { "active" } else { "inactive" });
            }
            Ok(())
        }
        Some(Command::Dev { command: DevCommand::SeedOrders { count, days, seed } }) => {
            let mut home = home;
            cli::orders::seed_orders(&mut home, count, days, seed)
        }
        Some(Command::Doctor { json }) => {
            let report = DoctorReport::collect(&home)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
        Some(Command::Bills { command }) => cli::reconcile::bills(&mut home, command),
        Some(Command::Shifts { command }) => cli::shifts::run(&mut home, cli.operator.as_deref(), command),
        Some(Command::Reconcile(args)) => cli::reconcile::reconcile_cli(&mut home, cli.operator.as_deref(), args),
    };
    cli::serve::publish_after(working, result)
}

/// `tilldesk pay` ended without payment: exit status 2 (the order was printed already).
#[derive(Debug)]
struct NotPaid;

impl std::fmt::Display for NotPaid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the payment did not go through")
    }
}

impl std::error::Error for NotPaid {}

/// One tokio runtime for all network work, shared by the app: a worker per core the machine offers (at least 2, so
/// a slow call never holds up the rest), never more than 8 (the work is waiting on acquirers, not computing).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(2, 8))
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
    // The window owns the data folder's money path for its whole life; a second window shows the data but takes no
    // payments and says where the till is open.
    let money_path = match tilldesk::ownership::MoneyPath::try_claim(&home.dir, "window")? {
        Some(held) => tilldesk::ui::MoneyPathState::Held(held),
        None => tilldesk::ui::MoneyPathState::Elsewhere(tilldesk::ownership::current_owner(&home.dir)),
    };
    let elsewhere = matches!(money_path, tilldesk::ui::MoneyPathState::Elsewhere(_));
    let mut app = TillDeskApp::new(home)?;
    app.ctx.money_path = money_path;
    // A till that was never set up opens on the first-run wizard.
    app.offer_first_run()?;
    // The embedded sandbox starts off the UI thread; the status bar shows it once it listens.
    let (tx, rx) = std::sync::mpsc::channel();
    let (services_tx, services_rx) = std::sync::mpsc::channel();
    let data_dir = app.ctx.home.dir.clone();
    let sync_settings = tilldesk::sync::SyncSettings::load(&app.ctx.home.store)?;
    // In live mode the sandbox's worker must not touch live orders: the live worker starts once the keys are
    // unlocked (Ctx::manage_sync).
    // A till enrolled with a merchant backend syncs with it instead (once its keys are unlocked).
    let joined = tilldesk::routing::backend::link(&app.ctx.home.store)?.is_some();
    let sandbox_mode = app.ctx.mode == tilldesk::model::ChannelMode::Sandbox && !elsewhere && !joined;
    app.ctx.sync_for = Some((app.ctx.mode, false));
    rt.spawn(async move {
        let localhost = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let result = tilldesk::sandbox::start(&sandbox_dir, localhost, false).await;
        // The sync worker and the notify listener follow the sandbox (registered with it automatically).
        let services: Result<_, tilldesk::queue::SandboxError> = match &result {
            Ok(_) if !sandbox_mode => Err("live mode: the background sync starts once the keys are unlocked".into()),
            Ok(running) => {
                let accounts = running.state.accounts();
                let url = running.base_url();
                let started = tilldesk::sandbox::till::start_services(&data_dir, &accounts, &url, sync_settings).await;
                started.map_err(tilldesk::queue::SandboxError::from)
            }
            Err(e) => Err(e.to_string().into()),
        };
        let _ = tx.send(result.map_err(tilldesk::queue::SandboxError::from));
        let _ = services_tx.send(services);
    });
    app.ctx.sandbox = tilldesk::ui::SandboxStatus::Starting(rx);
    app.ctx.services_starting = sandbox_mode.then_some(services_rx);
    app.ctx.runtime = Some(rt.handle().clone());
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("TillDesk")
        .with_app_id("tilldesk")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([800.0, 500.0]);
    match eframe::icon_data::from_png_bytes(tilldesk::ui::icon::APP_ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => tracing::warn!("the window icon cannot be read: {e}"),
    }
    let options = eframe::NativeOptions { viewport, ..Default::default() };
    eframe::run_native(
        "TillDesk",
        options,
        Box::new(|cc| {
            fonts::install_cjk_font(&cc.egui_ctx);
            // The stored theme and scale from the first frame (light on a new till); the shell keeps them applied.
            app.apply_look(&cc.egui_ctx);
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
    // TILLDESK_LOG_FILE appends the log to a file instead (never keys, signatures or full payment codes).
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        // Owner only, like the database: the log names orders and merchants.
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    if let Some(path) = std::env::var_os("TILLDESK_LOG_FILE")
        && let Ok(file) = options.open(&path)
    {
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
        return;
    }
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).init();
}
