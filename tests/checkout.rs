//! The checkout engine against the sandbox: every test-code behaviour on both channels, every fault, crashes at
//! each step. After each, the till's orders and the sandbox ledger agree.

mod cli_common;

use cli_common::spawn_sandbox;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Value, json};
use tilldesk::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, SystemClock};
use tilldesk::model::OrderStatus;
use tilldesk::money::Amount;
use tilldesk::sandbox::{self, RunningSandbox};
use tilldesk::store::Store;

const FAST: CheckoutSettings = CheckoutSettings {
    poll_interval: Duration::from_millis(200),
    poll_window: Duration::from_millis(1500),
    cancel_retry_interval: Duration::from_millis(100),
    max_cancel_attempts: 5,
    query_retries: 1,
    query_backoff: Duration::from_millis(50),
    cashier_deadline: Duration::from_secs(3),
};

struct Rig {
    _dir: tempfile::TempDir,
    sandbox: RunningSandbox,
    engine: Checkout,
    db: std::path::PathBuf,
    http: reqwest::Client,
}

async fn rig_with_timeout(timeout: Duration) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let db = dir.path().join("tilldesk.sqlite3");
    let http = reqwest::Client::builder().timeout(timeout).build().unwrap();
    let accounts = sandbox.state.accounts();
    let engine =
        sandbox::till::checkout(&db, &accounts, &sandbox.base_url(), Some(http), Arc::new(SystemClock), FAST).unwrap();
    Rig { _dir: dir, sandbox, engine, db, http: reqwest::Client::new() }
}

async fn rig() -> Rig {
    rig_with_timeout(Duration::from_secs(5)).await
}

impl Rig {
    async fn pay(&self, code: &str, fen: i64) -> (tilldesk::model::Order, Outcome) {
        let input = PaymentInput {
            amount: Amount::from_fen(fen),
            auth_code: code.into(),
            subject: "测试商品".into(),
            store_id: tilldesk::model::StoreId(1),
            operator_id: None,
            terminal_id: None,
        };
        self.engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap()
    }

    async fn fault(&self, rule: Value) {
        let r = self.http.post(format!("{}/admin/faults", self.sandbox.base_url())).json(&rule).send().await.unwrap();
        assert!(r.status().is_success());
    }

    async fn ledger(&self) -> Value {
        ledger(&self.http, &self.sandbox.base_url()).await
    }
}

async fn ledger(http: &reqwest::Client, base: &str) -> Value {
    http.get(format!("{base}/admin/ledger")).send().await.unwrap().json().await.unwrap()
}

/// The till and the acquirer agree on every order: paid ↔ PAID; cancelled/closed ↔ CLOSED/REVERSED (or never
/// charged); failed ↔ no charge.
fn assert_agree(db: &Path, ledger: &Value) {
    let store = Store::open(db).unwrap();
    let trades = ledger["trades"].as_array().unwrap();
    for order in store.orders().recent_orders(1000).unwrap() {
        let trade = trades.iter().find(|t| t["out_trade_no"] == order.out_trade_no.as_str());
        let charged = trade.is_some_and(|t| t["status"] == "PAID");
        let expected = match order.status {
            OrderStatus::Paid => true,
            OrderStatus::Cancelled | OrderStatus::Closed | OrderStatus::Failed => false,
            other => panic!("order {} left {other:?}", order.out_trade_no),
        };
        assert_eq!(
            charged, expected,
            "order {} is {:?} locally but the ledger says {trade:?}",
            order.out_trade_no, order.status
        );
        if let Some(t) = trade
            && order.status == OrderStatus::Paid
        {
            assert_eq!(t["total_amount"].as_i64(), Some(order.total_amount.fen()));
            assert_eq!(t["trade_no"].as_str(), order.trade_no.as_deref());
        }
    }
}

fn alipay(suffix: &str) -> String {
    format!("28{:0>14}", suffix)
}

fn wechat(suffix: &str) -> String {
    format!("13{:0>16}", suffix)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_test_code_through_the_engine_on_both_channels() {
    let r = rig().await;
    for code in [alipay as fn(&str) -> String, wechat] {
        let (o, out) = r.pay(&code("0000"), 1234).await;
        assert!(matches!(out, Outcome::Paid { .. }), "{out:?}");
        assert_eq!(o.status, OrderStatus::Paid);
        let (o, out) = r.pay(&code("0101"), 500).await;
        assert!(matches!(out, Outcome::Paid { .. }), "password then paid: {out:?}");
        assert!(r.engine.order(&o.out_trade_no).unwrap().is_some());
        let (_, out) = r.pay(&code("0200"), 500).await;
        assert_eq!(out, Outcome::Cancelled { refunded: false }, "never paid → cancelled/reversed");
        for suffix in ["0300", "0400", "0600"] {
            let (o, out) = r.pay(&code(suffix), 500).await;
            assert!(matches!(out, Outcome::Failed(_)), "{suffix}: {out:?}");
            assert_eq!(o.status, OrderStatus::Failed);
        }
        let (_, out) = r.pay(&code("0500"), 700).await;
        assert!(matches!(out, Outcome::Paid { .. }), "system error, then paid on query: {out:?}");
    }
    assert_agree(&r.db, &r.ledger().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_never_charge_twice_and_never_lose_a_payment() {
    let r = rig_with_timeout(Duration::from_millis(800)).await;
    for (target, code) in [("alipay.trade.pay", alipay("0000")), ("/pay/micropay", wechat("0000"))] {
        for kind in ["drop_after_commit", "malformed", "bad_sign"] {
            r.fault(json!({"target": target, "kind": kind, "count": 1})).await;
            let (o, out) = r.pay(&code, 1000).await;
            assert!(
                matches!(out, Outcome::Paid { .. }),
                "{target} {kind}: the charge went through; the query finds it: {out:?}"
            );
            assert_eq!(o.status, OrderStatus::Paid);
        }
        // Not handled at all: nothing charged, the number is closed for good.
        r.fault(json!({"target": target, "kind": "http_500", "count": 1})).await;
        let (_, out) = r.pay(&code, 1000).await;
        assert_eq!(out, Outcome::Cancelled { refunded: false }, "{target} http_500: {out:?}");
        // A response slower than the client's timeout: unknown, then settled by query.
        r.fault(json!({"target": target, "kind": "latency", "latency_ms": 1200, "count": 1})).await;
        let (_, out) = r.pay(&code, 1000).await;
        assert!(matches!(out, Outcome::Paid { .. } | Outcome::Cancelled { .. }), "{target} latency: {out:?}");
        // Every query lost: the window closes and the (paid) trade is reversed.
        let query = if target.starts_with("alipay") { "alipay.trade.query" } else { "/pay/orderquery" };
        r.fault(json!({"target": target, "kind": "drop_after_commit", "count": 1})).await;
        r.fault(json!({"target": query, "kind": "http_500", "count": 100})).await;
        let (_, out) = r.pay(&code, 1000).await;
        if target.starts_with("alipay") {
            // Alipay's cancel says action=refund when money had been taken.
            assert_eq!(out, Outcome::Cancelled { refunded: true }, "{target}: cancelled after the window: {out:?}");
        } else {
            // WeChat's reverse reply does not say whether money had been taken.
            assert!(matches!(out, Outcome::Cancelled { .. }), "{target}: reversed after the window: {out:?}");
        }
        r.http.delete(format!("{}/admin/faults", r.sandbox.base_url())).send().await.unwrap();
        // A cancel that keeps asking to retry is retried until confirmed.
        let cancel = if target.starts_with("alipay") { "alipay.trade.cancel" } else { "/secapi/pay/reverse" };
        r.fault(json!({"target": cancel, "kind": "system_error", "count": 2})).await;
        let never = if target.starts_with("alipay") { alipay("0200") } else { wechat("0200") };
        let (_, out) = r.pay(&never, 1000).await;
        assert_eq!(out, Outcome::Cancelled { refunded: false });
    }
    assert_agree(&r.db, &r.ledger().await);
    let trades = r.ledger().await["trades"].as_array().unwrap().len();
    let orders = Store::open(&r.db).unwrap().orders().recent_orders(1000).unwrap().len();
    assert!(trades <= orders, "never more acquirer trades than till orders");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmable_cancel_needs_attention_then_recovery_finishes_it() {
    let r = rig().await;
    r.fault(json!({"target": "alipay.trade.cancel", "kind": "http_500"})).await;
    let (o, out) = r.pay(&alipay("0200"), 900).await;
    assert!(matches!(out, Outcome::NeedsAttention { .. }), "{out:?}");
    assert_eq!(o.status, OrderStatus::NeedsAttention);
    assert_eq!(Store::open(&r.db).unwrap().sync().pending_outbox().unwrap().len(), 1);
    r.http.delete(format!("{}/admin/faults", r.sandbox.base_url())).send().await.unwrap();
    let resolved = r.engine.recover().await.unwrap();
    assert_eq!(resolved.len(), 1);
    assert!(matches!(resolved[0].1, Outcome::Cancelled { .. }));
    assert_agree(&r.db, &r.ledger().await);
}

/// The real process, killed at each step of a payment, then restarted: recovery ends every order in the sandbox's state.
#[test]
fn a_crash_at_each_step_is_recovered_to_the_ledger_state() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sandbox");
    let (mut sandbox, url) = spawn_sandbox(&sandbox_dir);
    let till = dir.path().join("till");
    {
        let mut home = tilldesk::config::DataHome::open(&till).unwrap();
        home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
        home.store.set_setting(CheckoutSettings::POLL_WINDOW_KEY, "2", None).unwrap();
    }
    let run = |args: &[&str], crash: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"));
        cmd.arg("--data-dir").arg(&till).args(args).args(["--sandbox-url", &url, "--sandbox-data"]).arg(&sandbox_dir);
        cmd.env_remove("TILLDESK_CRASH_AT");
        if let Some(step) = crash {
            cmd.env("TILLDESK_CRASH_AT", step);
        }
        cmd.output().unwrap()
    };
    let cases = [
        ("after_write_ahead", alipay("0000")),
        ("after_pay_sent", alipay("0000")),
        ("after_pay_sent", wechat("0200")),
        ("after_first_poll", alipay("0200")),
        ("before_cancel", wechat("0200")),
        ("after_cancel", alipay("0200")),
    ];
    for (step, code) in &cases {
        let out = run(&["pay", "--amount", "3.21", "--auth-code", code], Some(step));
        assert!(!out.status.success(), "{step}: the process should have died");
        // Restart: recovery settles the dead payment before anything else.
        let out = run(&["recover", "--json"], None);
        assert!(out.status.success(), "{step}: {}", String::from_utf8_lossy(&out.stderr));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let l = rt.block_on(ledger(&reqwest::Client::new(), &url));
        assert_agree(&till.join("tilldesk.sqlite3"), &l);
    }
    // And a real SIGKILL while the pay request is in flight.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/admin/faults"))
            .json(&json!({"target": "alipay.trade.pay", "kind": "latency", "latency_ms": 1500, "count": 1}))
            .send()
            .await
            .unwrap()
    });
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"));
    cmd.arg("--data-dir").arg(&till).args(["pay", "--amount", "4.56", "--auth-code", &alipay("0000")]);
    cmd.args(["--sandbox-url", &url, "--sandbox-data"]).arg(&sandbox_dir).env_remove("TILLDESK_CRASH_AT");
    let mut child = cmd.spawn().unwrap();
    // Killed once the pay request is at the acquirer (the latency fault has fired: the sandbox holds the request).
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let faults: Value =
            rt.block_on(async { http.get(format!("{url}/admin/faults")).send().await.unwrap().json().await.unwrap() });
        if faults.as_array().is_some_and(Vec::is_empty) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the pay request never reached the sandbox");
        assert!(child.try_wait().unwrap().is_none(), "the payment ended before it could be killed");
        std::thread::yield_now();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Whichever comes first, the held pay request or the recovery's cancel, they agree: a cancel before the pay
    // closes the number, so the late pay is refused.
    let out = run(&["recover", "--json"], None);
    assert!(out.status.success());
    let l = rt.block_on(ledger(&reqwest::Client::new(), &url));
    assert_agree(&till.join("tilldesk.sqlite3"), &l);
    // The CLI shows the order with its timeline.
    let store = Store::open(&till.join("tilldesk.sqlite3")).unwrap();
    let last = store.orders().recent_orders(1).unwrap().remove(0);
    let show = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .arg("--data-dir")
        .arg(&till)
        .args(["orders", "show", &last.out_trade_no, "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["out_trade_no"], last.out_trade_no.as_str());
    assert!(v["events"].as_array().unwrap().iter().any(|e| e["kind"] == "recovery"));
    sandbox.kill().unwrap();
    sandbox.wait().unwrap();
}

#[test]
fn the_pay_command_prints_the_final_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["pay", "--amount", "12.34", "--auth-code", &wechat("0000"), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["status"].as_str(), v["total_amount"].as_i64()), (Some("PAID"), Some(1234)));
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["pay", "--amount", "1.00", "--auth-code", "6901234567892"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a payment code"));
}

/// Every sandbox test code, on both channels, through `tilldesk pay` against a stand-alone sandbox process: the exit
/// status, the printed order and the sandbox ledger agree.
#[test]
fn every_test_code_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sandbox");
    let (mut sandbox, url) = spawn_sandbox(&sandbox_dir);
    let till = dir.path().join("till");
    {
        let mut home = tilldesk::config::DataHome::open(&till).unwrap();
        home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
        home.store.set_setting(CheckoutSettings::POLL_WINDOW_KEY, "3", None).unwrap();
    }
    let cases: [(&str, bool, &str); 7] = [
        ("0000", true, "PAID"),
        ("0101", true, "PAID"),
        ("0200", false, "CANCELLED"),
        ("0300", false, "FAILED"),
        ("0400", false, "FAILED"),
        ("0500", true, "PAID"),
        ("0600", false, "FAILED"),
    ];
    for code in [alipay as fn(&str) -> String, wechat] {
        for (suffix, paid, status) in cases {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
                .arg("--data-dir")
                .arg(&till)
                .args(["pay", "--amount", "6.60", "--auth-code", &code(suffix), "--json", "--sandbox-url", &url])
                .arg("--sandbox-data")
                .arg(&sandbox_dir)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(if paid { 0 } else { 2 }), "{suffix}: {stderr}");
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{suffix}: {e}: {stderr}"));
            assert_eq!(v["status"].as_str(), Some(status), "{suffix}: {v}");
            if status == "FAILED" {
                assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()), "{suffix}: the reason is printed: {v}");
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let l = rt.block_on(ledger(&reqwest::Client::new(), &url));
    assert_agree(&till.join("tilldesk.sqlite3"), &l);
    sandbox.kill().unwrap();
    sandbox.wait().unwrap();
}
