//! Money-state integrity with real processes (issue 17): a refund killed mid-flight is finished by the sync exactly
//! once; a second process never cancels a payment another one is taking; `pay` ends when its own payment is final.

mod cli_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tilldesk::checkout::CheckoutSettings;
use tilldesk::model::{OrderStatus, RefundStatus};
use tilldesk::money::Amount;
use tilldesk::store::Store;

const PIN: &str = "246810";

/// A `tilldesk sandbox` process on a free port and a till data folder pointed at it.
struct Till {
    dir: tempfile::TempDir,
    sandbox: std::process::Child,
    url: String,
    rt: tokio::runtime::Runtime,
}

impl Till {
    fn start() -> Till {
        let dir = tempfile::tempdir().unwrap();
        let (sandbox, url) = cli_common::spawn_sandbox(&dir.path().join("sandbox"));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let till = Till { dir, sandbox, url, rt };
        {
            let mut home = tilldesk::config::DataHome::open(&till.data()).unwrap();
            home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
        }
        till
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("till")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tilldesk"));
        cmd.arg("--data-dir").arg(self.data()).args(args);
        cmd.args(["--sandbox-url", &self.url, "--sandbox-data"]).arg(self.dir.path().join("sandbox"));
        cmd.env_remove("TILLDESK_CRASH_AT").env("TILLDESK_PIN", PIN);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        cli_common::ok(self.run(args))
    }

    fn owner(&self) {
        let out = Command::new(env!("CARGO_BIN_EXE_tilldesk"))
            .arg("--data-dir")
            .arg(self.data())
            .args(["operators", "add", "Boss", "--role", "owner"])
            .env("TILLDESK_NEW_PIN", PIN)
            .output()
            .unwrap();
        cli_common::ok(out);
    }

    fn admin(&self, path: &str, body: Value) {
        let url = format!("{}{path}", self.url);
        self.rt.block_on(async { reqwest::Client::new().post(url).json(&body).send().await.unwrap() });
    }

    fn advance_sandbox_clock(&self, secs: i64) {
        let url = format!("{}/admin/config", self.url);
        let mut config: Value =
            self.rt.block_on(async { reqwest::Client::new().get(&url).send().await.unwrap().json().await.unwrap() });
        config["clock_offset_secs"] = json!(config["clock_offset_secs"].as_i64().unwrap_or(0) + secs);
        self.admin("/admin/config", config);
    }

    fn ledger(&self) -> Value {
        let url = format!("{}/admin/ledger", self.url);
        self.rt.block_on(async { reqwest::Client::new().get(url).send().await.unwrap().json().await.unwrap() })
    }

    fn store(&self) -> Store {
        Store::open(&self.data().join("tilldesk.sqlite3")).unwrap()
    }

    /// Pays `amount` at once (an instant Alipay code) and returns the out_trade_no.
    fn paid(&self, amount: &str) -> String {
        let out = self.ok(&["pay", "--amount", amount, "--auth-code", "2800000000000000", "--json"]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["status"], "PAID");
        v["out_trade_no"].as_str().unwrap().to_owned()
    }

    fn refunds_at_acquirer(&self, out_trade_no: &str) -> Vec<Value> {
        let ledger = self.ledger();
        let trade = ledger["trades"].as_array().unwrap().iter().find(|t| t["out_trade_no"] == out_trade_no).cloned();
        let Some(trade) = trade else { return Vec::new() };
        ledger["refunds"].as_array().unwrap().iter().filter(|r| r["trade_id"] == trade["id"]).cloned().collect()
    }
}

impl Drop for Till {
    fn drop(&mut self) {
        let _ = self.sandbox.kill();
        let _ = self.sandbox.wait();
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::yield_now();
    }
}

fn order_status(db: &Path, out_trade_no: &str) -> Option<OrderStatus> {
    Store::open(db).ok()?.orders().order_by_out_trade_no(out_trade_no).ok()?.map(|o| o.status)
}

/// Item 1: `tilldesk refund` dies after the acquirer committed the refund but before the answer came back (the
/// answer is lost, then the process is killed). `sync --once` finds it by its out_request_no and finishes it:
/// the till shows 3.00 refunded, the acquirer refunded 3.00 once, the rest can still be refunded. Before, the
/// refund stayed SUBMITTED forever and blocked further refunds.
#[test]
fn a_refund_killed_after_the_acquirer_committed_is_finished_by_sync_exactly_once() {
    let till = Till::start();
    till.owner();
    let out = till.paid("10.00");
    till.admin("/admin/faults", json!({"target": "alipay.trade.refund", "kind": "drop_after_commit", "count": 1}));
    let crashed = till
        .command(&["refund", &out, "--amount", "3.00", "--reason", "broken cup", "--operator", "Boss"])
        .env("TILLDESK_CRASH_AT", "refund_after_send")
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "the refund process should have died");
    let store = till.store();
    let refund =
        store.refunds().refunds_of(store.orders().order_by_out_trade_no(&out).unwrap().unwrap().id).unwrap().remove(0);
    assert_eq!(refund.status, RefundStatus::Submitted);
    assert_eq!(till.refunds_at_acquirer(&out).len(), 1, "the acquirer has it");

    till.ok(&["sync", "--once"]);
    till.ok(&["sync", "--once"]);
    let order = till.store().orders().order_by_out_trade_no(&out).unwrap().unwrap();
    assert_eq!((order.status, order.refunded_amount), (OrderStatus::PartiallyRefunded, Amount::from_fen(300)));
    let refund = till.store().refunds().refund(refund.id).unwrap().unwrap();
    assert_eq!(refund.status, RefundStatus::Success);
    assert_eq!(till.refunds_at_acquirer(&out).len(), 1, "refunded once");
    // The rest is refundable again.
    till.ok(&["refund", &out, "--amount", "7.00", "--reason", "the rest", "--operator", "Boss"]);
    let order = till.store().orders().order_by_out_trade_no(&out).unwrap().unwrap();
    assert_eq!((order.status, order.refunded_amount), (OrderStatus::Refunded, Amount::from_fen(1000)));
}

/// Item 1, the other half: the refund process dies before anything reached the acquirer (or the acquirer was
/// down). `recover` looks it up by out_request_no, finds nothing, and sends it under the same number: once.
#[test]
fn a_refund_that_never_reached_the_acquirer_is_sent_by_recover_exactly_once() {
    let till = Till::start();
    till.owner();
    let out = till.paid("10.00");
    let crashed = till
        .command(&["refund", &out, "--amount", "4.00", "--reason", "cold", "--operator", "Boss"])
        .env("TILLDESK_CRASH_AT", "refund_after_write_ahead")
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    assert!(till.refunds_at_acquirer(&out).is_empty(), "nothing was sent");
    till.ok(&["recover"]);
    till.ok(&["recover"]);
    till.ok(&["sync", "--once"]);
    let order = till.store().orders().order_by_out_trade_no(&out).unwrap().unwrap();
    assert_eq!(order.refunded_amount, Amount::from_fen(400));
    assert_eq!(till.refunds_at_acquirer(&out).len(), 1, "sent once under the same out_request_no");
}

/// Items 2 and 11: while `tilldesk pay` waits for a customer's password, a second process (`recover`, then another
/// `pay`) does not touch that payment: it waits for the till, and the first payment ends PAID. Before, the second
/// "recovered" the first's PAYING order and cancelled it while the customer was typing the password.
#[test]
fn a_second_process_never_cancels_a_payment_another_is_taking() {
    let till = Till::start();
    let db = till.data().join("tilldesk.sqlite3");
    // The customer types the password for 20 s (sandbox time).
    let mut first = till.command(&["pay", "--amount", "5.00", "--auth-code", "2800000000110120", "--json"]);
    let first = first.stdout(std::process::Stdio::piped()).spawn().unwrap();
    wait_for("the first payment's write-ahead row", || {
        Store::open(&db).ok().and_then(|s| s.orders().recent_orders(1).ok()).is_some_and(|o| !o.is_empty())
    });
    let out_trade_no = till.store().orders().recent_orders(1).unwrap().remove(0).out_trade_no;
    assert_eq!(order_status(&db, &out_trade_no), Some(OrderStatus::Paying));
    // A second process comes along while the customer is still typing.
    let second = till.command(&["recover", "--json"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let third = till
        .command(&["pay", "--amount", "1.00", "--auth-code", "2800000000000000", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The customer finishes typing.
    till.advance_sandbox_clock(30);
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "the first payment: {}", String::from_utf8_lossy(&first.stdout));
    let v: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(v["status"], "PAID", "{v}");
    let second = second.wait_with_output().unwrap();
    assert!(second.status.success());
    let recovered: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(recovered, json!([]), "nothing was left to recover");
    let third = third.wait_with_output().unwrap();
    assert!(third.status.success(), "{}", String::from_utf8_lossy(&third.stderr));
    assert!(String::from_utf8_lossy(&third.stderr).contains("waiting: "), "the second pay said it waited");
    let ledger = till.ledger();
    let trade = ledger["trades"].as_array().unwrap().iter().find(|t| t["out_trade_no"] == out_trade_no.as_str());
    let status = trade.and_then(|t| t["status"].as_str()).map(str::to_uppercase);
    assert_eq!(status.as_deref(), Some("PAID"), "{ledger}");
    assert_eq!(order_status(&db, &out_trade_no), Some(OrderStatus::Paid));
}

/// Item 11: `pay` ends as soon as its own payment is final; an older order whose reverse is stuck belongs to the
/// sync worker. Before, `pay` printed PAID and then kept retrying the other order's reverse.
#[test]
fn pay_does_only_its_own_work() {
    let till = Till::start();
    {
        let mut home = tilldesk::config::DataHome::open(&till.data()).unwrap();
        home.store.set_setting(CheckoutSettings::POLL_WINDOW_KEY, "2", None).unwrap();
    }
    // An order left NEEDS_ATTENTION with its cancel in the outbox (the acquirer never confirms cancels now).
    till.admin("/admin/faults", json!({"target": "alipay.trade.cancel", "kind": "http_500"}));
    let stuck = till.run(&["pay", "--amount", "2.00", "--auth-code", "2800000000000200", "--json"]);
    let v: Value = serde_json::from_slice(&stuck.stdout).unwrap();
    assert_eq!(v["status"], "NEEDS_ATTENTION", "{v}");
    let stuck = v["out_trade_no"].as_str().unwrap().to_owned();
    let trail = |till: &Till| {
        let store = till.store();
        let order = store.orders().order_by_out_trade_no(&stuck).unwrap().unwrap();
        (store.orders().order_events(order.id).unwrap().len(), store.sync().outbox_entries(10).unwrap())
    };
    let before = trail(&till);
    let out = till.run(&["pay", "--amount", "1.00", "--auth-code", "2800000000000000", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "PAID");
    assert_eq!(trail(&till), before, "pay touched no other order and no outbox entry");
}
