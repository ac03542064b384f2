//! `tilldesk pay`, `tilldesk recover` and `tilldesk orders show`: the checkout engine headless, for scripts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail};
use serde::Serialize;
use tilldesk::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, SystemClock};
use tilldesk::config::DataHome;
use tilldesk::model::{Order, StoreId};
use tilldesk::money::Amount;
use tilldesk::routing::Router;
use tilldesk::sandbox::accounts::SandboxAccounts;
use tilldesk::store::orders::OrderEvent;

/// Which sandbox the command talks to.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxTarget {
    /// A running sandbox (`tilldesk sandbox`) instead of an embedded one.
    #[arg(long, value_name = "URL", requires = "sandbox_data")]
    pub sandbox_url: Option<String>,
    /// That sandbox's folder, to read its sandbox.json.
    #[arg(long, value_name = "DIR")]
    pub sandbox_data: Option<PathBuf>,
}

/// The router over the till's acquirer accounts for this command — the live profile in live mode, else the
/// sandbox's — and the embedded sandbox it started (kept alive while the command runs). Every command that moves
/// money or talks to the acquirers (pay, recover, refund, sync, bills) gets its channels here.
pub async fn router(
    home: &DataHome,
    target: &SandboxTarget,
) -> anyhow::Result<(Router, Option<tilldesk::sandbox::RunningSandbox>)> {
    // A till enrolled with a merchant backend reaches every acquirer through it.
    if let Some(router) = crate::cli::backend::router(home)? {
        return Ok((router, None));
    }
    let db = home.store.path().to_owned();
    let live = tilldesk::config::channel_mode(&home.store)? == tilldesk::model::ChannelMode::Live;
    match (&target.sandbox_url, &target.sandbox_data) {
        (Some(_), Some(_)) if live => {
            anyhow::bail!("this till is in live mode: --sandbox-url is for sandbox mode (tilldesk keys mode sandbox)")
        }
        (Some(url), Some(dir)) => {
            let mut store = tilldesk::store::Store::open(&db)?;
            tilldesk::sandbox::till::prepare(&mut store)?;
            let router = tilldesk::sandbox::till::router(&store, &read_accounts(dir)?, url)?;
            Ok((router, None))
        }
        _ if live => {
            let vault = crate::cli::keys::open_vault(home)?;
            Ok((tilldesk::keys::live_router(&db, &vault)?, None))
        }
        _ => {
            let dir = home.dir.join("sandbox");
            let running = tilldesk::sandbox::start(&dir, "127.0.0.1:0".parse()?, false).await?;
            let mut store = tilldesk::store::Store::open(&db)?;
            tilldesk::sandbox::till::prepare(&mut store)?;
            let router = tilldesk::sandbox::till::router(&store, &running.state.accounts(), &running.base_url())?;
            Ok((router, Some(running)))
        }
    }
}

/// The engine for this command, and the embedded sandbox it started (kept alive while the command runs).
pub async fn engine(
    home: &DataHome,
    target: &SandboxTarget,
) -> anyhow::Result<(Checkout, Option<tilldesk::sandbox::RunningSandbox>)> {
    let settings = CheckoutSettings::load(&home.store)?;
    let (router, running) = router(home, target).await?;
    let store = tilldesk::store::Store::open(home.store.path())?;
    Ok((Checkout::new(store, router, Arc::new(SystemClock), settings), running))
}

/// Takes the data folder's money path for this command (see `tilldesk::ownership`): waits while another command
/// holds it (saying so once), refuses plainly when a window has it. `TILLDESK_LOCK_WAIT_SECS` sets the wait (60 s).
pub fn claim_money_path(home: &DataHome, what: &str) -> anyhow::Result<tilldesk::ownership::MoneyPath> {
    claim_money_path_in(&home.dir, what)
}

pub fn claim_money_path_in(dir: &Path, what: &str) -> anyhow::Result<tilldesk::ownership::MoneyPath> {
    let wait = std::env::var("TILLDESK_LOCK_WAIT_SECS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(60);
    let mut say = |owner: Option<&tilldesk::ownership::Owner>| match owner {
        Some(o) => {
            eprintln!(
                "waiting: this till is busy with `tilldesk {}` (process {}); going on when it is done",
                o.what, o.pid
            )
        }
        None => eprintln!("waiting: another TillDesk is busy with this till; going on when it is done"),
    };
    let held = tilldesk::ownership::MoneyPath::claim(dir, what, std::time::Duration::from_secs(wait), &mut say)?;
    Ok(held)
}

pub fn read_accounts(dir: &Path) -> anyhow::Result<SandboxAccounts> {
    let path = dir.join(tilldesk::sandbox::accounts::ACCOUNTS_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a sandbox.json", path.display()))
}

#[derive(Debug, Serialize)]
struct OrderReport {
    #[serde(flatten)]
    order: Order,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    events: Vec<EventReport>,
}

#[derive(Debug, Serialize)]
struct EventReport {
    at: String,
    kind: String,
    detail: String,
}

fn report(order: Order, events: Vec<OrderEvent>, outcome: Option<&Outcome>) -> OrderReport {
    let (outcome, reason) = match outcome {
        None => (None, None),
        Some(Outcome::Paid { .. }) => (Some("paid"), None),
        Some(Outcome::Failed(f)) => (Some("failed"), Some(format!("{}: {}", f.code, f.message))),
        Some(Outcome::Cancelled { refunded: true }) => (Some("cancelled"), Some("the money went back".into())),
        Some(Outcome::Cancelled { refunded: false }) => (Some("cancelled"), None),
        Some(Outcome::Closed) => (Some("closed"), None),
        Some(Outcome::NeedsAttention { reason }) => (Some("needs_attention"), Some(reason.clone())),
        Some(Outcome::Mismatch(m)) => (Some("mismatch"), Some(m.to_string())),
    };
    OrderReport {
        order,
        outcome: outcome.map(str::to_owned),
        reason,
        events: events.into_iter().map(|e| EventReport { at: e.at, kind: e.kind, detail: e.detail }).collect(),
    }
}

fn print_report(r: &OrderReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let o = &r.order;
    println!("{} ¥{} {}", o.status, o.total_amount, o.out_trade_no);
    if let Some(t) = &o.trade_no {
        println!("trade_no: {t}");
    }
    if let Some(reason) = &r.reason {
        println!("reason: {reason}");
    }
    for e in &r.events {
        println!("  {}  {:<20} {}", tilldesk::time::to_china_display(&e.at), e.kind, e.detail);
    }
    Ok(())
}

/// What `tilldesk pay` was asked to do.
pub struct PayArgs {
    pub amount: String,
    pub auth_code: String,
    pub subject: String,
    /// The store number (S001…); default: this till's store.
    pub store: Option<String>,
    pub json: bool,
    /// The operator signed in with --operator (None: recorded without one).
    pub operator: Option<tilldesk::model::OperatorId>,
}

/// The store a command acts for: the one named by its number, else this till's (Settings → This till).
pub fn resolve_store(home: &mut DataHome, store: Option<&str>) -> anyhow::Result<(StoreId, Option<String>)> {
    let till = tilldesk::config::this_till(&mut home.store)?;
    let Some(code) = store.map(str::trim) else { return Ok((till.store_id, till.terminal_id)) };
    match home.store.setup().store_by_code(code)? {
        Some(s) => Ok((s.id, till.terminal_id)),
        None => {
            let known: Vec<String> = home.store.setup().stores()?.into_iter().map(|s| s.store_code).collect();
            bail!("there is no store {code:?}; the stores are: {}", known.join(", "))
        }
    }
}

/// Runs one payment to its end and prints the final order. Returns whether it was paid.
pub fn pay(
    rt: &tokio::runtime::Runtime,
    mut home: DataHome,
    args: PayArgs,
    target: &SandboxTarget,
) -> anyhow::Result<bool> {
    let PayArgs { amount, auth_code, subject, store, json, operator } = args;
    let amount = Amount::parse(&amount).context("--amount")?;
    tilldesk::channel::auth_code::route_auth_code(&auth_code)?;
    let (store_id, terminal_id) = resolve_store(&mut home, store.as_deref())?;
    let _money_path = claim_money_path(&home, "pay")?;
    rt.block_on(async {
        let (engine, _sandbox) = engine(&home, target).await?;
        // This command does its own payment only: orders an earlier run left open are the sync worker's and
        // `tilldesk recover`'s work.
        let open = home.store.orders().unfinished_orders()?.len();
        if open > 0 {
            eprintln!(
                "note: {open} unfinished order(s) from an earlier run: `tilldesk recover` or the sync settles them"
            );
        }
        let input =
            PaymentInput { amount, auth_code: auth_code.into(), subject, store_id, operator_id: operator, terminal_id };
        let (order, outcome) =
            engine.pay(input, Arc::new(AtomicBool::new(false)), &|p| tracing::info!(?p, "progress")).await?;
        let events = home.store.orders().order_events(order.id)?;
        let paid = matches!(outcome, Outcome::Paid { .. });
        print_report(&report(order, events, Some(&outcome)), json)?;
        Ok(paid)
    })
}

/// What `tilldesk pay --dynamic` was asked to do.
pub struct DynamicArgs {
    pub amount: String,
    /// alipay | wechat; default: the store's first.
    pub wallet: Option<String>,
    pub png: Option<PathBuf>,
    pub timeout: Option<u64>,
    pub subject: String,
    pub store: Option<String>,
    pub json: bool,
    /// The operator signed in with --operator (None: recorded without one).
    pub operator: Option<tilldesk::model::OperatorId>,
}

fn parse_wallet(text: &str) -> anyhow::Result<tilldesk::model::Wallet> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "alipay" | "支付宝" => tilldesk::model::Wallet::Alipay,
        "wechat" | "wechatpay" | "weixin" | "微信" => tilldesk::model::Wallet::WechatPay,
        other => bail!("--wallet must be alipay or wechat, not {other:?}"),
    })
}

#[derive(Debug, Serialize)]
struct CodeLine<'a> {
    out_trade_no: &'a str,
    code: &'a str,
    wallet: &'a str,
    acquirer: &'a str,
    amount: String,
    expires_at: String,
}

/// Shows one dynamic code, waits for the customer and prints the final order. Returns whether it was paid.
pub fn pay_dynamic(
    rt: &tokio::runtime::Runtime,
    mut home: DataHome,
    args: DynamicArgs,
    target: &SandboxTarget,
) -> anyhow::Result<bool> {
    use std::io::Write as _;
    let DynamicArgs { amount, wallet, png, timeout, subject, store, json, operator } = args;
    let amount = Amount::parse(&amount).context("--amount")?;
    let wallet = wallet.as_deref().map(parse_wallet).transpose()?;
    let (store_id, terminal_id) = resolve_store(&mut home, store.as_deref())?;
    let _money_path = claim_money_path(&home, "pay")?;
    rt.block_on(async {
        let (engine, _sandbox) = engine(&home, target).await?;
        let input =
            tilldesk::checkout::DynamicInput { amount, subject, store_id, wallet, operator_id: operator, terminal_id };
        let sale = match engine.start_dynamic(input).await? {
            tilldesk::checkout::DynamicStart::Shown(sale) => sale,
            tilldesk::checkout::DynamicStart::Ended(order, outcome) => {
                let events = home.store.orders().order_events(order.id)?;
                print_report(&report(order, events, Some(&outcome)), json)?;
                return Ok(false);
            }
        };
        let expires_at = tilldesk::time::format_utc(sale.expires_at);
        if json {
            let line = CodeLine {
                out_trade_no: &sale.order.out_trade_no,
                code: &sale.code,
                wallet: sale.wallet.as_str(),
                acquirer: &sale.acquirer,
                amount: sale.order.total_amount.to_string(),
                expires_at: expires_at.clone(),
            };
            // The trade is open: a reader that closed the pipe after the code must not stop the wait (the payment
            // is followed to its end whatever happens to stdout).
            let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string(&line)?);
        } else {
            let _ = writeln!(std::io::stdout(), "{}", sale.code);
            let _ = writeln!(
                std::io::stdout(),
                "{} ¥{} {} via {}; valid until {}",
                sale.wallet.as_str(),
                sale.order.total_amount,
                sale.order.out_trade_no,
                sale.acquirer,
                tilldesk::time::to_china_display(&expires_at)
            );
        }
        let _ = std::io::stdout().flush();
        if let Some(path) = &png {
            let bytes = tilldesk::mpm::render_png(&sale.code, 8, 4)?;
            std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let timer = timeout.map(|secs| {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            })
        });
        let (order, outcome) = engine.wait_dynamic(&sale, &cancel, &|p| tracing::debug!(?p, "progress")).await?;
        if let Some(t) = timer {
            t.abort();
        }
        let events = home.store.orders().order_events(order.id)?;
        let paid = matches!(outcome, Outcome::Paid { .. });
        print_report(&report(order, events, Some(&outcome)), json)?;
        Ok(paid)
    })
}

/// Settles unfinished orders (after a crash) and prints what happened to each.
pub fn recover(rt: &tokio::runtime::Runtime, home: DataHome, json: bool, target: &SandboxTarget) -> anyhow::Result<()> {
    let _money_path = claim_money_path(&home, "recover")?;
    rt.block_on(async {
        let (engine, _sandbox) = engine(&home, target).await?;
        let resolved = engine.recover().await?;
        // Refunds left open (a crash mid-refund, the acquirer down): looked up by out_request_no, then sent again.
        let desk = tilldesk::refund::RefundDesk::new(
            tilldesk::store::Store::open(home.store.path())?,
            engine.router(),
            Arc::new(SystemClock),
            tilldesk::refund::RefundSettings::default(),
        );
        for r in desk.follow_up().await? {
            eprintln!("refund {}: {}", r.out_request_no, r.status.as_str());
        }
        let mut reports = Vec::new();
        for (out_trade_no, outcome) in &resolved {
            if let Some(order) = home.store.orders().order_by_out_trade_no(out_trade_no)? {
                let events = home.store.orders().order_events(order.id)?;
                reports.push(report(order, events, Some(outcome)));
            }
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        } else if reports.is_empty() {
            println!("nothing to recover");
        } else {
            for r in &reports {
                print_report(r, false)?;
            }
        }
        Ok(())
    })
}

pub fn show(home: &DataHome, out_trade_no: &str, json: bool) -> anyhow::Result<()> {
    let Some(order) = home.store.orders().order_by_out_trade_no(out_trade_no)? else {
        bail!("no order with out_trade_no {out_trade_no:?} in {}", home.store.path().display());
    };
    let events = home.store.orders().order_events(order.id)?;
    print_report(&report(order, events, None), json)
}
