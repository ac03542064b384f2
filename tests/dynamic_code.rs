//! Dynamic codes (主扫) end to end against the sandbox: two stores, three acquirers (S001: ALIPAY + WECHATPAY;
//! S002: PARTNER1 for Alipay + WECHATPAY). The customer's wallet is the sandbox's `POST /simulate/scan`.
//! Paid, cancelled (closed), a cancel racing a payment (the close says paid: PAID), expiry on the injected clock,
//! a lost precreate answer (asked again with the same order number: one trade), recovery after a crash, and the
//! command line (`tilldesk pay --dynamic`).

mod cli_common;

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Value, json};
use tilldesk::checkout::{
    Checkout, CheckoutSettings, DynamicInput, DynamicSale, DynamicSettings, DynamicStart, ManualClock, Outcome,
    SystemClock,
};
use tilldesk::model::{Order, OrderStatus, Route, RouteSource, StoreId, Wallet};
use tilldesk::money::Amount;
use tilldesk::sandbox::{self, RunningSandbox};
use tilldesk::store::Store;

const FAST: CheckoutSettings = CheckoutSettings {
    poll_interval: Duration::from_millis(200),
    poll_window: Duration::from_secs(5),
    cancel_retry_interval: Duration::from_millis(100),
    max_cancel_attempts: 5,
    query_retries: 1,
    query_backoff: Duration::from_millis(20),
    cashier_deadline: Duration::from_secs(6),
};

const DYN: DynamicSettings = DynamicSettings {
    poll_interval: Duration::from_millis(30),
    validity: Duration::from_secs(300),
    close_attempts: 3,
    close_retry_interval: Duration::from_millis(20),
    precreate_attempts: 3,
};

struct Rig {
    _dir: tempfile::TempDir,
    sandbox: RunningSandbox,
    db: PathBuf,
    http: reqwest::Client,
    s001: StoreId,
    s002: StoreId,
}

/// A till with S001 (demo routes: ALIPAY, WECHATPAY) and S002 (PARTNER1 for Alipay, WECHATPAY for WeChat).
async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let db = dir.path().join("tilldesk.sqlite3");
    let mut store = Store::open(&db).unwrap();
    sandbox::till::prepare(&mut store).unwrap();
    let s001 = store.setup_mut().default_store().unwrap();
    let merchant = store.setup_mut().merchant().unwrap();
    let s002 = store
        .setup_mut()
        .add_store(
            &tilldesk::model::Store {
                id: StoreId(0),
                merchant_id: merchant.id,
                store_code: "S002".into(),
                name: "Second Street".into(),
                name_zh: "二店".into(),
                address: String::new(),
                contact: String::new(),
            },
            None,
        )
        .unwrap();
    for (code, wallet) in [("PARTNER1", Wallet::Alipay), ("WECHATPAY", Wallet::WechatPay)] {
        let a = store.setup().acquirer_by_onboarding_code(code).unwrap().unwrap();
        let route = Route {
            store_id: s002,
            wallet,
            acquirer_id: a.acquirer.id,
            merchant_id: None,
            source: RouteSource::Direct,
        };
        store.setup_mut().set_route(&route, None).unwrap();
    }
    Rig { _dir: dir, sandbox, db, http: reqwest::Client::new(), s001, s002 }
}

impl Rig {
    fn engine(&self, clock: Arc<dyn tilldesk::checkout::Clock>) -> Checkout {
        let accounts = self.sandbox.state.accounts();
        sandbox::till::checkout(&self.db, &accounts, &self.sandbox.base_url(), None, clock, FAST)
            .unwrap()
            .with_dynamic_settings(DYN)
    }

    async fn show(&self, engine: &Checkout, store: StoreId, wallet: Wallet, fen: i64) -> DynamicSale {
        let input = DynamicInput {
            amount: Amount::from_fen(fen),
            subject: "动态码测试".into(),
            store_id: store,
            wallet: Some(wallet),
            operator_id: None,
            terminal_id: None,
        };
        match engine.start_dynamic(input).await.unwrap() {
            DynamicStart::Shown(sale) => sale,
            DynamicStart::Ended(order, outcome) => panic!("no code: {order:?} {outcome:?}"),
        }
    }

    /// The customer's wallet scans `code` and pays (or does as `extra` says).
    async fn scan(&self, code: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({ "payload": code });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.http.post(format!("{}/simulate/scan", self.sandbox.base_url())).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn ledger(&self) -> Value {
        self.http.get(format!("{}/admin/ledger", self.sandbox.base_url())).send().await.unwrap().json().await.unwrap()
    }

    async fn trades_of(&self, out_trade_no: &str) -> Vec<Value> {
        let ledger = self.ledger().await;
        ledger["trades"].as_array().unwrap().iter().filter(|t| t["out_trade_no"] == out_trade_no).cloned().collect()
    }

    async fn fault(&self, rule: Value) {
        let url = format!("{}/admin/faults", self.sandbox.base_url());
        assert!(self.http.post(url).json(&rule).send().await.unwrap().status().is_success());
    }

    fn order(&self, out_trade_no: &str) -> Order {
        Store::open(&self.db).unwrap().orders().order_by_out_trade_no(out_trade_no).unwrap().unwrap()
    }
}

async fn wait(engine: &Checkout, sale: &DynamicSale, cancel: bool) -> (Order, Outcome) {
    engine.wait_dynamic(sale, &AtomicBool::new(cancel), &|_| {}).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_through_the_wallet_at_each_stores_own_acquirer() {
    let r = rig().await;
    let engine = r.engine(Arc::new(SystemClock));
    let cases = [
        (r.s001, Wallet::Alipay, "ALIPAY", "https://qr.alipay.com/"),
        (r.s002, Wallet::Alipay, "PARTNER1", "https://qr.alipay.com/"),
        (r.s001, Wallet::WechatPay, "WECHATPAY", "weixin://wxpay/bizpayurl?pr="),
        (r.s002, Wallet::WechatPay, "WECHATPAY", "weixin://wxpay/bizpayurl?pr="),
    ];
    for (i, (store, wallet, acquirer, prefix)) in cases.into_iter().enumerate() {
        let fen = 1234 + i as i64;
        let sale = r.show(&engine, store, wallet, fen).await;
        assert!(sale.code.starts_with(prefix), "{acquirer}: {}", sale.code);
        assert_eq!(sale.acquirer, acquirer);
        // Written ahead, still open while the code is shown, with the code on record.
        let order = r.order(&sale.order.out_trade_no);
        assert_eq!((order.status, order.store_id), (OrderStatus::Paying, store));
        let row = Store::open(&r.db).unwrap().orders().dynamic_code(order.id).unwrap().unwrap();
        assert_eq!((row.wallet, row.code_text.as_deref()), (wallet, Some(sale.code.as_str())));
        // The wallet scans and pays; the till sees it on its next poll.
        let (status, scan) = r.scan(&sale.code, json!({})).await;
        assert_eq!(status, 200, "{scan}");
        assert_eq!(scan["acquirer_id"], acquirer, "the code came from the store's own acquirer: {scan}");
        let (order, outcome) = wait(&engine, &sale, false).await;
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        assert_eq!(order.status, OrderStatus::Paid);
        let trades = r.trades_of(&order.out_trade_no).await;
        assert_eq!(trades.len(), 1, "one sale, one trade: {trades:?}");
        assert_eq!(trades[0]["acquirer_id"], acquirer);
        assert_eq!(trades[0]["status"], "PAID");
        assert_eq!(trades[0]["total_amount"], fen);
        assert_eq!(order.trade_no.as_deref(), trades[0]["trade_no"].as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_codes_are_closed_and_can_no_longer_be_paid() {
    let r = rig().await;
    let engine = r.engine(Arc::new(SystemClock));
    for wallet in [Wallet::Alipay, Wallet::WechatPay] {
        let sale = r.show(&engine, r.s002, wallet, 880).await;
        let (order, outcome) = wait(&engine, &sale, true).await;
        assert_eq!(outcome, Outcome::Closed, "{wallet:?}");
        assert_eq!(order.status, OrderStatus::Closed);
        let trades = r.trades_of(&order.out_trade_no).await;
        assert_eq!(trades.len(), 1);
        assert_eq!(trades[0]["status"], "CLOSED", "{wallet:?}: closed at the acquirer");
        // A customer scanning the closed code cannot pay it.
        let (status, answer) = r.scan(&sale.code, json!({})).await;
        assert_eq!(status, 409, "{answer}");
        assert_eq!(r.trades_of(&order.out_trade_no).await[0]["status"], "CLOSED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_racing_a_payment_keeps_the_payment() {
    let r = rig().await;
    let engine = r.engine(Arc::new(SystemClock));
    for wallet in [Wallet::Alipay, Wallet::WechatPay] {
        let sale = r.show(&engine, r.s001, wallet, 4321).await;
        // The customer pays just as the cashier presses Esc: the close finds the trade paid.
        let (status, _) = r.scan(&sale.code, json!({})).await;
        assert_eq!(status, 200);
        let (order, outcome) = wait(&engine, &sale, true).await;
        assert!(matches!(outcome, Outcome::Paid { .. }), "{wallet:?}: {outcome:?}");
        assert_eq!(order.status, OrderStatus::Paid);
        let events = Store::open(&r.db).unwrap().orders().order_events(order.id).unwrap();
        assert!(events.iter().any(|e| e.kind == "close_refused"), "{events:?}");
        assert_eq!(r.trades_of(&order.out_trade_no).await[0]["status"], "PAID");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_nobody_pays_expires_on_the_injected_clock_and_is_closed() {
    let r = rig().await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let engine = r
        .engine(clock.clone())
        .with_dynamic_settings(DynamicSettings { poll_interval: Duration::from_secs(60), ..DYN });
    for wallet in [Wallet::Alipay, Wallet::WechatPay] {
        let sale = r.show(&engine, r.s001, wallet, 100).await;
        let (order, outcome) = wait(&engine, &sale, false).await;
        assert_eq!(outcome, Outcome::Closed, "{wallet:?}");
        let events = Store::open(&r.db).unwrap().orders().order_events(order.id).unwrap();
        assert!(events.iter().any(|e| e.kind == "expired"), "{events:?}");
        assert_eq!(r.trades_of(&order.out_trade_no).await[0]["status"], "CLOSED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_that_pays_late_is_waited_for() {
    let r = rig().await;
    let engine = r.engine(Arc::new(SystemClock));
    let sale = r.show(&engine, r.s001, Wallet::WechatPay, 777).await;
    // A refusal in the wallet leaves the code payable; a delayed confirmation is seen on a later poll.
    let (status, _) = r.scan(&sale.code, json!({ "fail": "insufficient_balance" })).await;
    assert_eq!(status, 402);
    let (status, answer) = r.scan(&sale.code, json!({ "delay_secs": 1 })).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(r.trades_of(&sale.order.out_trade_no).await[0]["status"], "WAITING");
    let (order, outcome) = wait(&engine, &sale, false).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    assert_eq!(order.status, OrderStatus::Paid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_precreate_answer_is_asked_again_with_the_same_order_number() {
    let r = rig().await;
    let engine = r.engine(Arc::new(SystemClock));
    for (target, wallet) in [("alipay.trade.precreate", Wallet::Alipay), ("/pay/unifiedorder", Wallet::WechatPay)] {
        r.fault(json!({"target": target, "kind": "drop_after_commit", "count": 1})).await;
        let sale = r.show(&engine, r.s001, wallet, 999).await;
        let trades = r.trades_of(&sale.order.out_trade_no).await;
        assert_eq!(trades.len(), 1, "{target}: never two trades for one sale");
        assert_eq!(trades[0]["qr_code"].as_str(), Some(sale.code.as_str()), "{target}: the same code");
        let events = Store::open(&r.db).unwrap().orders().order_events(sale.order.id).unwrap();
        assert!(events.iter().any(|e| e.kind == "precreate_again"), "{events:?}");
        r.scan(&sale.code, json!({})).await;
        let (_, outcome) = wait(&engine, &sale, false).await;
        assert!(matches!(outcome, Outcome::Paid { .. }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_settles_open_dynamic_orders_after_a_crash() {
    let r = rig().await;
    let (paid_code, unpaid_code, paid_no, unpaid_no) = {
        // The till "crashes" with two codes on screen: the sales are dropped, their orders stay PAYING.
        let engine = r.engine(Arc::new(SystemClock));
        let paid = r.show(&engine, r.s002, Wallet::Alipay, 1500).await;
        let unpaid = r.show(&engine, r.s001, Wallet::WechatPay, 1600).await;
        (paid.code.clone(), unpaid.code.clone(), paid.order.out_trade_no.clone(), unpaid.order.out_trade_no.clone())
    };
    // One customer paid meanwhile.
    assert_eq!(r.scan(&paid_code, json!({})).await.0, 200);
    assert_eq!(r.order(&paid_no).status, OrderStatus::Paying);
    // The next start: recovery settles both, by query and close, never by cancel/reverse.
    let engine = r.engine(Arc::new(SystemClock));
    let resolved = engine.recover().await.unwrap();
    assert_eq!(resolved.len(), 2, "{resolved:?}");
    assert_eq!(r.order(&paid_no).status, OrderStatus::Paid);
    assert_eq!(r.order(&unpaid_no).status, OrderStatus::Closed);
    assert_eq!(r.trades_of(&paid_no).await[0]["acquirer_id"], "PARTNER1");
    assert_eq!(r.trades_of(&unpaid_no).await[0]["status"], "CLOSED", "closed, not reversed");
    assert_eq!(r.scan(&unpaid_code, json!({})).await.0, 409, "the recovered code can no longer be paid");
    assert!(engine.recover().await.unwrap().is_empty(), "nothing left open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_sync_closes_a_dynamic_code_left_open_and_never_reverses_it() {
    let r = rig().await;
    let (wechat_no, alipay_no, wechat_code) = {
        // The checkout that showed the codes is gone (no restart yet): only the background sync sees them.
        let engine = r.engine(Arc::new(SystemClock));
        let wechat = r.show(&engine, r.s001, Wallet::WechatPay, 1700).await;
        let alipay = r.show(&engine, r.s002, Wallet::Alipay, 1800).await;
        (wechat.order.out_trade_no.clone(), alipay.order.out_trade_no.clone(), wechat.code.clone())
    };
    let settings = tilldesk::sync::SyncSettings {
        stale_after: Duration::ZERO,
        bill_time: None,
        ..tilldesk::sync::SyncSettings::default()
    };
    let accounts = r.sandbox.state.accounts();
    let worker = sandbox::till::worker(r._dir.path(), &accounts, &r.sandbox.base_url(), settings).unwrap();
    let run = worker.run_once("test").await.unwrap();
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    for no in [&wechat_no, &alipay_no] {
        assert_eq!(r.order(no).status, OrderStatus::Closed, "{no}");
        let trades = r.trades_of(no).await;
        assert_eq!(trades.len(), 1, "{no}: one trade");
        assert_eq!(trades[0]["status"], "CLOSED", "{no}: closed, not reversed or cancelled: {trades:?}");
    }
    assert_eq!(r.scan(&wechat_code, json!({})).await.0, 409, "the closed code can no longer be paid");
}

// ---------------------------------------------------------------------------------------------------------------
// The command line

/// A child process stopped however the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tilldesk(data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.env_remove("TILLDESK_DATA_DIR").arg("--data-dir").arg(data);
    cmd
}

/// Starts `tilldesk pay --dynamic --json …` against the sandbox; returns it, the code line (its first line, JSON)
/// and the reader of the rest (the final order, once the command ends).
fn start_pay(
    data: &std::path::Path,
    sandbox: (&str, &std::path::Path),
    args: &[&str],
) -> (Running, Value, std::io::BufReader<std::process::ChildStdout>) {
    let mut cmd = tilldesk(data);
    cmd.args(["pay", "--dynamic", "--json"]).args(args);
    cmd.arg("--sandbox-url").arg(sandbox.0).arg("--sandbox-data").arg(sandbox.1);
    let mut child = Running(cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let mut reader = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let code: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, code, reader)
}

/// Waits for the command to end; its exit code and the final order it printed.
fn finish(mut child: Running, mut reader: std::io::BufReader<std::process::ChildStdout>) -> (Option<i32>, Value) {
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let status = child.0.wait().unwrap();
    (status.code(), serde_json::from_str(&rest).unwrap_or_else(|e| panic!("{e}: {rest}")))
}

#[test]
fn the_command_line_shows_a_code_waits_for_the_wallet_and_closes_on_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let sandbox_dir = tmp.path().join("sandbox");
    let (sandbox, url) = cli_common::spawn_sandbox(&sandbox_dir);
    let _sandbox = Running(sandbox);
    let data = tmp.path().join("data");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let scan = |payload: &str| -> u16 {
        rt.block_on(async {
            let r = http.post(format!("{url}/simulate/scan")).json(&json!({ "payload": payload })).send().await;
            r.unwrap().status().as_u16()
        })
    };

    // Paid: the wallet pays the printed code while the command waits.
    let png = tmp.path().join("code.png");
    let png_arg = png.to_str().unwrap();
    let (child, code, reader) = start_pay(
        &data,
        (&url, &sandbox_dir),
        &["--store", "S001", "--amount", "12.34", "--wallet", "wechat", "--png", png_arg],
    );
    assert_eq!((code["wallet"].as_str(), code["amount"].as_str()), (Some("wechatpay"), Some("12.34")), "{code}");
    assert_eq!(code["acquirer"], "WECHATPAY");
    let text = code["code"].as_str().unwrap().to_owned();
    assert!(text.starts_with("weixin://wxpay/bizpayurl?pr="), "{text}");
    assert_eq!(scan(&text), 200);
    let (exit, order) = finish(child, reader);
    assert_eq!(exit, Some(0), "paid: exit 0: {order}");
    assert_eq!((order["status"].as_str(), order["outcome"].as_str()), (Some("PAID"), Some("paid")), "{order}");
    assert_eq!(order["out_trade_no"], code["out_trade_no"]);
    // The PNG is the same code, readable by a scanner.
    assert_eq!(tilldesk::mpm::decode_image(&std::fs::read(&png).unwrap()).unwrap(), text);

    // Timeout: nobody pays; the command closes the trade and exits 2; the code is dead.
    let (child, code, reader) = start_pay(
        &data,
        (&url, &sandbox_dir),
        &["--store", "S001", "--amount", "5.00", "--wallet", "alipay", "--timeout", "1"],
    );
    assert_eq!(code["acquirer"], "ALIPAY");
    let (exit, order) = finish(child, reader);
    assert_eq!(exit, Some(2), "unpaid: exit 2: {order}");
    assert_eq!((order["status"].as_str(), order["outcome"].as_str()), (Some("CLOSED"), Some("closed")), "{order}");
    let ledger: Value =
        rt.block_on(async { http.get(format!("{url}/admin/ledger")).send().await.unwrap().json().await.unwrap() });
    let trade = ledger["trades"].as_array().unwrap().iter().find(|t| t["out_trade_no"] == code["out_trade_no"]);
    assert_eq!(trade.unwrap()["status"], "CLOSED");
    assert_eq!(scan(code["code"].as_str().unwrap()), 409, "a timed-out code cannot be paid");
}

#[test]
fn live_mode_takes_the_code_from_the_configured_gateway_without_the_api_certificate() {
    // Live keys pointing at a gateway that is not the till's sandbox profile: the sandbox's shared WeChat Pay and
    // Alipay gateways, as merchant 0 (plain HTTP on loopback). NATIVE needs no API certificate.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let sandbox =
        rt.block_on(sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false)).unwrap();
    let m = sandbox.state.accounts().merchants[0].clone();
    let base = sandbox.base_url();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = tilldesk(&home);
        cmd.args(args).env("TILLDESK_PASSPHRASE", "till passphrase 2026");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cli_common::ok(cmd.output().unwrap())
    };
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let alipay_gateway = format!("{base}/gateway.do");
    run(&["keys", "set", "--acquirer", "alipay", "--gateway-url", &alipay_gateway, "--app-id", &m.alipay.app_id], &[]);
    run(&["keys", "import-platform-key", &file("alipay_public.pem", &m.alipay.alipay_public_key_pem)], &[]);
    run(&["keys", "import-private-key", &file("app_private.pem", &m.alipay.app_private_key_pkcs8_pem)], &[]);
    run(
        &[
            "keys",
            "set",
            "--acquirer",
            "WECHATPAY",
            "--gateway-url",
            &base,
            "--app-id",
            &m.wechatpay.appid,
            "--mch-id",
            &m.wechatpay.mch_id,
        ],
        &[],
    );
    run(&["keys", "set-api-key"], &[("TILLDESK_WECHAT_API_KEY", &m.wechatpay.api_key)]);
    run(&["keys", "mode", "live"], &[]);

    let mut cmd = tilldesk(&home);
    cmd.args(["pay", "--dynamic", "--json", "--amount", "6.66", "--wallet", "wechat"])
        .env("TILLDESK_PASSPHRASE", "till passphrase 2026");
    let mut child = Running(cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let mut reader = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let code: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let text = code["code"].as_str().unwrap().to_owned();
    assert!(text.starts_with("weixin://wxpay/bizpayurl?pr="), "{code}");
    let http = reqwest::Client::new();
    let status = rt.block_on(async {
        let r = http.post(format!("{base}/simulate/scan")).json(&json!({ "payload": text })).send().await.unwrap();
        r.status().as_u16()
    });
    assert_eq!(status, 200);
    let (exit, order) = finish(child, reader);
    assert_eq!((exit, order["status"].as_str()), (Some(0), Some("PAID")), "{order}");
    let ledger: Value =
        rt.block_on(async { http.get(format!("{base}/admin/ledger")).send().await.unwrap().json().await.unwrap() });
    let trade = ledger["trades"].as_array().unwrap().iter().find(|t| t["out_trade_no"] == order["out_trade_no"]);
    let trade = trade.expect("the trade is at the configured gateway");
    assert_eq!(
        (trade["account"].as_str(), trade["status"].as_str()),
        (Some(m.wechatpay.mch_id.as_str()), Some("PAID"))
    );
}
