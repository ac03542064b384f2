//! The sync worker against a real sandbox process: queued actions survive the sandbox going away, a restart of the
//! till, and a failing first retry; each is delivered exactly once when the sandbox is back.

mod cli_common;

use cli_common::spawn_sandbox;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Value, json};
use tilldesk::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, SystemClock};
use tilldesk::model::{OrderStatus, RefundStatus, Role};
use tilldesk::money::Amount;
use tilldesk::refund::{RefundDesk, RefundSettings};
use tilldesk::sandbox::accounts::SandboxAccounts;
use tilldesk::sandbox::till::worker as sandbox_worker;
use tilldesk::store::Store;
use tilldesk::sync::SyncSettings;

const FAST: CheckoutSettings = CheckoutSettings {
    poll_interval: Duration::from_millis(100),
    poll_window: Duration::from_millis(400),
    cancel_retry_interval: Duration::from_millis(50),
    max_cancel_attempts: 2,
    query_retries: 1,
    query_backoff: Duration::from_millis(50),
    cashier_deadline: Duration::from_secs(3),
};

fn accounts(data: &Path) -> SandboxAccounts {
    serde_json::from_str(&std::fs::read_to_string(data.join("sandbox.json")).unwrap()).unwrap()
}

async fn fault(base: &str, rule: Value) {
    let r = reqwest::Client::new().post(format!("{base}/admin/faults")).json(&rule).send().await.unwrap();
    assert!(r.status().is_success());
}

async fn ledger(base: &str) -> Value {
    reqwest::Client::new().get(format!("{base}/admin/ledger")).send().await.unwrap().json().await.unwrap()
}

async fn pay(engine: &Checkout, code: &str, fen: i64) -> (tilldesk::model::Order, Outcome) {
    let input = PaymentInput {
        amount: Amount::from_fen(fen),
        auth_code: code.into(),
        subject: "同步测试".into(),
        store_id: tilldesk::model::StoreId(1),
        operator_id: None,
        terminal_id: None,
    };
    engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap()
}

fn settings() -> SyncSettings {
    SyncSettings {
        backoff_base: Duration::from_millis(300),
        backoff_max: Duration::from_secs(2),
        bill_time: None,
        ..SyncSettings::default()
    }
}

#[test]
fn queued_actions_survive_an_outage_and_a_restart_and_are_delivered_exactly_once() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let sb_data = dir.path().join("sandbox");
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join(tilldesk::config::DATABASE_FILE);
    let (mut sandbox, url) = spawn_sandbox(&sb_data);
    let acc = accounts(&sb_data);

    let (alipay_out, wechat_out, paid_out) = rt.block_on(async {
        let engine = tilldesk::sandbox::till::checkout(&db, &acc, &url, None, Arc::new(SystemClock), FAST).unwrap();
        // Two payments whose cancel / reverse cannot be confirmed now: both NEEDS_ATTENTION, queued.
        fault(&url, json!([{"target": "alipay.trade.cancel", "kind": "http_500"}, {"target": "/secapi/pay/reverse", "kind": "http_500"}])).await;
        let (a, out) = pay(&engine, "2800000000000200", 900).await;
        assert!(matches!(out, Outcome::NeedsAttention { .. }), "{out:?}");
        let (w, out) = pay(&engine, "130000000000000200", 800).await;
        assert!(matches!(out, Outcome::NeedsAttention { .. }), "{out:?}");
        reqwest::Client::new().delete(format!("{url}/admin/faults")).send().await.unwrap();
        let (p, out) = pay(&engine, "2800000000000000", 1000).await;
        assert!(matches!(out, Outcome::Paid { .. }), "{out:?}");
        (a.out_trade_no, w.out_trade_no, p.out_trade_no)
    });

    // The sandbox goes away.
    sandbox.kill().unwrap();
    sandbox.wait().unwrap();

    // A refund made while offline is kept SUBMITTED and queued.
    let out_request_no = rt.block_on(async {
        let mut store = Store::open(&db).unwrap();
        let clerk = store.staff_mut().add_operator("会计 Li", Role::BackOffice, "135790", None).unwrap();
        let engine = tilldesk::sandbox::till::checkout(&db, &acc, &url, None, Arc::new(SystemClock), FAST).unwrap();
        let settings = RefundSettings {
            attempts: 2,
            retry_interval: Duration::from_millis(20),
            follow_window: Duration::from_millis(100),
            follow_interval: Duration::from_millis(50),
        };
        let desk = RefundDesk::new(Store::open(&db).unwrap(), engine.router(), Arc::new(SystemClock), settings);
        let refund = desk.refund(&clerk, &paid_out, Amount::from_fen(300), "顾客退货").await.unwrap();
        assert_eq!(refund.status, RefundStatus::Submitted);
        refund.out_request_no
    });
    let store = Store::open(&db).unwrap();
    assert_eq!(store.sync().outbox_len().unwrap(), 3, "{:?}", store.sync().outbox_entries(10).unwrap());
    drop(store);

    // A pass while offline delivers nothing, says so, and counts no attempt.
    rt.block_on(async {
        let worker = sandbox_worker(&home, &acc, &url, settings()).unwrap();
        let run = worker.run_once("test").await.unwrap();
        assert!(!run.online);
        assert_eq!(run.outbox_delivered, 0);
        assert_eq!(run.outbox_pending, 3);
        assert!(run.errors[0].starts_with("offline"), "{:?}", run.errors);
        assert_eq!(worker.handle().status().online, Some(false));
    });
    let store = Store::open(&db).unwrap();
    assert!(store.sync().outbox_entries(10).unwrap().iter().all(|e| e.attempts == 0 && e.delivered_at.is_none()));
    drop(store);

    // The till restarts (everything above dropped); the sandbox comes back on its own data at a new address.
    let (mut sandbox, url) = spawn_sandbox(&sb_data);
    rt.block_on(async {
        // The first retry of the Alipay cancel still fails, and the refund's answer is lost after it committed.
        fault(&url, json!([{"target": "alipay.trade.cancel", "kind": "http_500", "count": 1}, {"target": "alipay.trade.refund", "kind": "drop_after_commit", "count": 1}])).await;
        let worker = sandbox_worker(&home, &acc, &url, settings()).unwrap();
        let run = worker.run_once("test").await.unwrap();
        assert!(run.online, "{:?}", run.errors);
        assert_eq!(run.outbox_delivered, 2, "the reverse and the refund: {:?}", run.errors);
        assert_eq!(run.outbox_pending, 1);
        let store = Store::open(&db).unwrap();
        let cancel = store.sync().outbox_entry(&format!("cancel:{alipay_out}")).unwrap().unwrap();
        assert_eq!(cancel.attempts, 1);
        assert!(cancel.delivered_at.is_none());
        assert!(cancel.next_attempt_at > tilldesk::time::now_utc(), "backoff: the next attempt is later");
        assert!(cancel.last_error.is_some());
        // Not due yet: a pass right away leaves it alone.
        let run = worker.run_once("test").await.unwrap();
        assert_eq!(run.outbox_delivered, 0);
        // "Retry now" in the Sync panel makes it due.
        Store::open(&db).unwrap().sync_mut().outbox_retry_now().unwrap();
        let run = worker.run_once("test").await.unwrap();
        assert_eq!(run.outbox_delivered, 1, "{:?}", run.errors);
        assert_eq!(run.outbox_pending, 0);
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        // Nothing is delivered twice.
        let run = worker.run_once("test").await.unwrap();
        assert_eq!(run.outbox_delivered, 0);
        assert!(store.sync().last_successful_sync().unwrap().is_some());
        let status = worker.handle().status();
        assert_eq!((status.online, status.outbox_len), (Some(true), 0));

        // The acquirer's side: each action happened exactly once.
        let l = ledger(&url).await;
        let trade = |out: &str| l["trades"].as_array().unwrap().iter().find(|t| t["out_trade_no"] == out).cloned();
        for out in [&alipay_out, &wechat_out] {
            let status = trade(out).map(|t| t["status"].as_str().unwrap().to_owned());
            assert!(matches!(status.as_deref(), None | Some("CLOSED" | "REVERSED")), "{out}: {status:?}");
        }
        let refunds: Vec<&Value> =
            l["refunds"].as_array().unwrap().iter().filter(|r| r["out_request_no"] == out_request_no.as_str()).collect();
        assert_eq!(refunds.len(), 1, "one refund for the out_request_no: {refunds:?}");

        // The till's side agrees.
        for out in [&alipay_out, &wechat_out] {
            assert_eq!(store.orders().order_by_out_trade_no(out).unwrap().unwrap().status, OrderStatus::Cancelled);
        }
        let refund = store.refunds().refund_by_out_request_no(&out_request_no).unwrap().unwrap();
        assert_eq!(refund.status, RefundStatus::Success);
        let entries = store.sync().outbox_entries(10).unwrap();
        assert_eq!(entries.len(), 3);
        assert!(entries.iter().all(|e| e.delivered_at.is_some()), "{entries:?}");
        let runs = store.sync().recent_sync_runs(10).unwrap();
        assert_eq!(runs.len(), 5);
        assert!(!runs[4].online && runs[0].online);
    });
    sandbox.kill().unwrap();
    sandbox.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yesterdays_bills_are_fetched_and_reconciled_once_and_pending_bindings_are_refreshed() {
    use tilldesk::channel::cds::CdsClient;
    use tilldesk::model::BindingStatus;
    use tilldesk::onboarding::{CancelFlag, Onboarder, PollPolicy, ensure_sandbox_acquirers};

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join(tilldesk::config::DATABASE_FILE);
    let sandbox =
        tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let url = sandbox.base_url();
    let acc = sandbox.state.accounts();
    {
        let mut c = sandbox.state.config.lock().unwrap();
        c.clock_offset_secs = -86_400;
        c.verification_delay_ms = 1500;
    }
    // Yesterday (at the acquirers) the till took one payment on each.
    let engine = tilldesk::sandbox::till::checkout(&db, &acc, &url, None, Arc::new(SystemClock), FAST).unwrap();
    assert!(matches!(pay(&engine, "2800000000000000", 1234).await.1, Outcome::Paid { .. }));
    assert!(matches!(pay(&engine, "130000000000000000", 567).await.1, Outcome::Paid { .. }));
    sandbox.state.config.lock().unwrap().clock_offset_secs = 0;

    // A binding left pending verification (the onboarding screen was closed before the acquirer decided).
    let mut store = Store::open(&db).unwrap();
    ensure_sandbox_acquirers(&mut store).unwrap();
    let store_id = store.setup_mut().default_store().unwrap();
    let alipay = store.setup().acquirer_by_onboarding_code("ALIPAY").unwrap().unwrap().acquirer.id;
    let client = CdsClient::new(&url).unwrap();
    let quiet = |_| {};
    let mut onboarder = Onboarder {
        db: &mut store,
        client: &client,
        poll: PollPolicy { interval: Duration::from_millis(50), timeout: Duration::from_millis(100) },
        cancel: CancelFlag::default(),
        progress: &quiet,
    };
    let _ = onboarder.onboard(store_id, alipay, false).await;
    assert_eq!(store.setup().binding(store_id, alipay).unwrap().unwrap().status, BindingStatus::PendingVerification);
    // The acquirer verifies the merchant (its clock moves on 2 s).
    sandbox.state.advance_clock(2);

    let settings = SyncSettings { bill_time: time::Time::from_hms(0, 0, 0).ok(), ..settings() };
    let worker = sandbox_worker(&home, &acc, &url, settings).unwrap();
    let run = worker.run_once("test").await.unwrap();
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    // One bill per acquirer account: ALIPAY, WECHATPAY and PARTNER1 each send their own.
    assert_eq!(run.bills_fetched, 3, "{run:?}");
    assert_eq!(run.bindings_refreshed, 1);
    assert_eq!(store.setup().binding(store_id, alipay).unwrap().unwrap().status, BindingStatus::Active);
    let recon = store.recon().recon_runs(10).unwrap();
    assert_eq!(recon.len(), 3, "every account reconciled");
    // Once a day: the next pass fetches nothing.
    let run = worker.run_once("test").await.unwrap();
    assert_eq!((run.bills_fetched, run.bindings_refreshed), (0, 0));
    assert_eq!(store.recon().recon_runs(10).unwrap().len(), 3);
    sandbox.stop().await;
}

#[test]
fn the_sync_command_runs_one_pass_and_shows_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let sb = dir.path().join("sandbox");
    let (mut sandbox, url) = spawn_sandbox(&sb);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tilldesk"))
            .arg("--data-dir")
            .arg(&home)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let once = run(&["sync", "--once", "--json", "--sandbox-url", &url, "--sandbox-data", sb.to_str().unwrap()]);
    let pass: Value = serde_json::from_str(&once).unwrap();
    assert_eq!(pass["online"], true, "{pass}");
    assert_eq!(pass["errors"], json!([]));
    sandbox.kill().unwrap();
    sandbox.wait().unwrap();
    let offline = run(&["sync", "--once", "--sandbox-url", &url, "--sandbox-data", sb.to_str().unwrap()]);
    assert!(offline.contains("offline") && offline.contains("error: offline:"), "{offline}");
    let history: Value = serde_json::from_str(&run(&["sync", "--history", "--json"])).unwrap();
    assert_eq!(history["runs"].as_array().unwrap().len(), 2);
    let text = run(&["sync", "--history"]);
    assert!(text.contains("outbox: 0 waiting") && text.contains("last successful sync: "), "{text}");
}

/// Binding a second acquirer to the store's code while the CDS platform's answer is lost: the request is queued,
/// the sync worker sends it again, the platform says it already has it, and the binding is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cds_binding_without_an_answer_is_queued_and_delivered_by_the_sync() {
    use tilldesk::channel::cds::CdsClient;
    use tilldesk::onboarding::{
        CancelFlag, Onboarder, OnboardingError, PollPolicy, build_for_store, ensure_sandbox_acquirers,
    };

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join(tilldesk::config::DATABASE_FILE);
    let sandbox =
        tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    sandbox.state.config.lock().unwrap().verification_delay_ms = 0;
    let url = sandbox.base_url();
    let mut store = Store::open(&db).unwrap();
    ensure_sandbox_acquirers(&mut store).unwrap();
    let store_id = store.setup_mut().default_store().unwrap();
    let partner = store.setup().acquirer_by_onboarding_code("PARTNER1").unwrap().unwrap().acquirer.id;
    let wechat = store.setup().acquirer_by_onboarding_code("WECHATPAY").unwrap().unwrap().acquirer.id;
    let client = CdsClient::new(&url).unwrap();
    let quiet = |_| {};
    let mut onboarder = Onboarder {
        db: &mut store,
        client: &client,
        poll: PollPolicy { interval: Duration::from_millis(20), timeout: Duration::from_secs(5) },
        cancel: CancelFlag::default(),
        progress: &quiet,
    };
    onboarder.onboard(store_id, partner, true).await.unwrap();
    let code = build_for_store(onboarder.db, store_id, None).unwrap();
    let cds_index = code.cds.clone().unwrap().cds_index;

    fault(&url, json!({"target": "cds-bindings", "kind": "drop_after_commit", "count": 1})).await;
    let err = onboarder.bind_code(store_id, wechat, &code.payload).await.unwrap_err();
    assert!(matches!(err, OnboardingError::BindQueued { .. }), "{err}");
    assert_eq!(store.setup().binding(store_id, wechat).unwrap().unwrap().cds_index, None, "not recorded as bound yet");

    let worker = sandbox_worker(&home, &sandbox.state.accounts(), &url, settings()).unwrap();
    let run = worker.run_once("test").await.unwrap();
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert_eq!(run.outbox_delivered, 1, "{run:?}");
    let bound = store.setup().binding(store_id, wechat).unwrap().unwrap();
    assert_eq!(bound.cds_index.as_deref(), Some(cds_index.as_str()));
    let listing = client.lookup_index(&cds_index).await.unwrap();
    assert_eq!(listing.acquirers.len(), 2, "both acquirers reach the code, each once");
    // Nothing left to send.
    let run = worker.run_once("test").await.unwrap();
    assert_eq!(run.outbox_delivered, 0);
    sandbox.stop().await;
}
