//! Refund rules end to end against the sandbox: partial, several partials, over-refund refused before any network
//! call, idempotent retry after a lost answer, WeChat's asynchronous completion, roles and PINs.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Value, json};
use tilldesk::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, SystemClock};
use tilldesk::model::{Operator, OrderStatus, RefundStatus, Role};
use tilldesk::money::Amount;
use tilldesk::refund::{RefundDesk, RefundError, RefundSettings};
use tilldesk::sandbox::{self, RunningSandbox};
use tilldesk::store::Store;
use tilldesk::store::operators::AuthError;
use tilldesk::store::refunds::RefundRefused;

struct Rig {
    _dir: tempfile::TempDir,
    sandbox: RunningSandbox,
    engine: Checkout,
    desk: RefundDesk,
    db: std::path::PathBuf,
    clerk: Operator,
    cashier: Operator,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    sandbox.state.config.lock().unwrap().wechat_refund_delay_ms = 300;
    let db = dir.path().join("tilldesk.sqlite3");
    let mut store = Store::open(&db).unwrap();
    let clerk = store.staff_mut().add_operator("会计 Li", Role::BackOffice, "135790", None).unwrap();
    let cashier = store.staff_mut().add_operator("收银 Wang", Role::Cashier, "2468", None).unwrap();
    drop(store);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let accounts = sandbox.state.accounts();
    let engine = sandbox::till::checkout(
        &db,
        &accounts,
        &sandbox.base_url(),
        Some(http),
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )
    .unwrap();
    let router = engine.router();
    let settings = RefundSettings {
        attempts: 3,
        retry_interval: Duration::from_millis(50),
        follow_window: Duration::from_secs(5),
        follow_interval: Duration::from_millis(100),
    };
    let desk = RefundDesk::new(Store::open(&db).unwrap(), router, Arc::new(SystemClock), settings);
    Rig { _dir: dir, sandbox, engine, desk, db, clerk, cashier }
}

impl Rig {
    async fn paid(&self, code: &str, fen: i64) -> String {
        let input = PaymentInput {
            amount: Amount::from_fen(fen),
            auth_code: code.into(),
            subject: "退款测试".into(),
            store_id: tilldesk::model::StoreId(1),
            operator_id: None,
            terminal_id: None,
        };
        let (order, outcome) = self.engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap();
        assert!(matches!(outcome, Outcome::Paid { .. }));
        order.out_trade_no
    }

    async fn ledger(&self) -> Value {
        reqwest::get(format!("{}/admin/ledger", self.sandbox.base_url())).await.unwrap().json().await.unwrap()
    }

    async fn acquirer_refunds(&self) -> usize {
        self.ledger().await["refunds"].as_array().unwrap().len()
    }

    fn order(&self, out_trade_no: &str) -> tilldesk::model::Order {
        Store::open(&self.db).unwrap().orders().order_by_out_trade_no(out_trade_no).unwrap().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_refunds_until_full_on_both_channels() {
    let r = rig().await;
    for code in ["2800000000000000", "130000000000000000"] {
        let out = r.paid(code, 1000).await;
        let first = r.desk.refund(&r.clerk, &out, Amount::from_fen(300), "少找零").await.unwrap();
        assert_eq!(first.status, RefundStatus::Success, "{code}: {first:?}");
        assert_eq!(r.order(&out).status, OrderStatus::PartiallyRefunded);
        let second = r.desk.refund(&r.clerk, &out, Amount::from_fen(200), "退一杯").await.unwrap();
        assert_eq!(second.status, RefundStatus::Success);
        assert_ne!(first.out_request_no, second.out_request_no);
        // Over-refund: refused locally, nothing sent.
        let before = r.acquirer_refunds().await;
        let e = r.desk.refund(&r.clerk, &out, Amount::from_fen(501), "too much").await.unwrap_err();
        assert!(matches!(e, RefundError::Refused(RefundRefused::TooMuch { .. })), "{e}");
        assert!(e.to_string().contains("at most 5.00"), "{e}");
        assert_eq!(r.acquirer_refunds().await, before, "no request reached the acquirer");
        let last = r.desk.refund(&r.clerk, &out, Amount::from_fen(500), "全部退").await.unwrap();
        assert_eq!(last.status, RefundStatus::Success);
        let order = r.order(&out);
        assert_eq!((order.status, order.refunded_amount), (OrderStatus::Refunded, Amount::from_fen(1000)));
        let e = r.desk.refund(&r.clerk, &out, Amount::from_fen(1), "again").await.unwrap_err();
        assert!(matches!(e, RefundError::Refused(RefundRefused::NotPaid { .. })), "{e}");
    }
    // The acquirer's ledger holds exactly the refunds the till made.
    let ledger = r.ledger().await;
    let total: i64 = ledger["refunds"].as_array().unwrap().iter().map(|x| x["amount"].as_i64().unwrap()).sum();
    assert_eq!(total, 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_retried_with_the_same_number_and_refunds_once() {
    let r = rig().await;
    for (code, target) in [("2800000000000000", "alipay.trade.refund"), ("130000000000000000", "/secapi/pay/refund")] {
        let out = r.paid(code, 800).await;
        reqwest::Client::new()
            .post(format!("{}/admin/faults", r.sandbox.base_url()))
            .json(&json!({"target": target, "kind": "drop_after_commit", "count": 1}))
            .send()
            .await
            .unwrap();
        let before = r.acquirer_refunds().await;
        let refund = r.desk.refund(&r.clerk, &out, Amount::from_fen(800), "整单退").await.unwrap();
        assert_eq!(refund.status, RefundStatus::Success, "{target}");
        assert_eq!(r.acquirer_refunds().await, before + 1, "{target}: one refund at the acquirer");
        let events = Store::open(&r.db).unwrap().orders().order_events(r.order(&out).id).unwrap();
        assert!(events.iter().any(|e| e.kind == "refund_retry"), "{target}: the retry is on the timeline");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_processing_refunds_complete_by_query_and_follow_up() {
    let r = rig().await;
    r.sandbox.state.config.lock().unwrap().wechat_refund_delay_ms = 1500;
    let out = r.paid("130000000000000000", 600).await;
    // A short follow window: the refund is left PROCESSING, then the follow-up settles it.
    let impatient = RefundDesk::new(
        Store::open(&r.db).unwrap(),
        channels_for(&r).await,
        Arc::new(SystemClock),
        RefundSettings {
            attempts: 1,
            retry_interval: Duration::from_millis(10),
            follow_window: Duration::from_millis(200),
            follow_interval: Duration::from_millis(100),
        },
    );
    let refund = impatient.refund(&r.clerk, &out, Amount::from_fen(600), "顾客不要了").await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!(r.order(&out).status, OrderStatus::Paid, "not refunded until WeChat says SUCCESS");
    // The acquirer finishes the refund (its clock moves on 2 s).
    r.sandbox.state.advance_clock(2);
    let settled = r.desk.follow_up().await.unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].status, RefundStatus::Success);
    assert_eq!(r.order(&out).status, OrderStatus::Refunded);
}

async fn channels_for(r: &Rig) -> tilldesk::routing::Router {
    let store = Store::open(&r.db).unwrap();
    sandbox::till::router(&store, &r.sandbox.state.accounts(), &r.sandbox.base_url()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_pins_are_enforced() {
    let r = rig().await;
    let out = r.paid("2800000000000000", 500).await;
    let before = r.acquirer_refunds().await;
    let e = r.desk.refund(&r.cashier, &out, Amount::from_fen(100), "x").await.unwrap_err();
    assert!(matches!(e, RefundError::NotAllowed(AuthError::NotAllowed { .. })), "{e}");
    let e = r.desk.refund(&r.clerk, &out, Amount::from_fen(100), "   ").await.unwrap_err();
    assert!(matches!(e, RefundError::Refused(RefundRefused::NoReason)), "{e}");
    assert_eq!(r.acquirer_refunds().await, before);
    let mut store = Store::open(&r.db).unwrap();
    assert!(store.staff_mut().verify_pin("会计 Li", "000000").is_err());
    let clerk = store.staff_mut().verify_pin("会计 Li", "135790").unwrap();
    assert_eq!(r.desk.refund(&clerk, &out, Amount::from_fen(100), "ok").await.unwrap().status, RefundStatus::Success);
    let audit = store.staff().audit_page(None, 50).unwrap();
    assert!(audit.iter().any(|a| a.action == "refund.request" && a.operator_id == Some(clerk.id)));
    assert!(audit.iter().any(|a| a.action == "operator.pin_refused"));
}
