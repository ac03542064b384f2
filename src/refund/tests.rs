//! The refund desk against a scripted acquirer: every answer the protocols can give, and the rule that the money
//! moves once — every send of one refund carries the same out_request_no, and a refund found at the acquirer is
//! never sent again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::*;
use crate::channel::{
    BillResult, BoxFuture, CancelResult, Channel, Failure, PayRequest, PayResult, QueryResult, TradeInfo,
};
use crate::checkout::{Checkout, CheckoutSettings, ManualClock, PaymentInput};
use crate::model::{Acquirer, AcquirerKind, ChannelMode, Role};
use crate::routing::ChannelFactory;

/// An acquirer that pays every code and answers refunds and refund queries from two scripts (then the last
/// answer again), logging every refund call's out_request_no.
#[derive(Default)]
struct Script {
    refunds: Mutex<VecDeque<RefundResult>>,
    queries: Mutex<VecDeque<RefundQueryResult>>,
    sent: Mutex<Vec<String>>,
    asked: Mutex<u32>,
}

struct Scripted(Arc<Script>);

fn next<T: Clone>(queue: &Mutex<VecDeque<T>>, otherwise: T) -> T {
    let mut q = queue.lock().unwrap();
    if q.len() > 1 { q.pop_front().unwrap() } else { q.front().cloned().unwrap_or(otherwise) }
}

impl Channel for Scripted {
    fn kind(&self) -> AcquirerKind {
        AcquirerKind::WechatPay
    }
    fn pay<'a>(&'a self, req: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        let info = TradeInfo {
            trade_no: Some("4200000001".into()),
            amount: Some(req.amount),
            merchant_id: Some("1900000188".into()),
            ..TradeInfo::default()
        };
        Box::pin(async move { PayResult::Paid(info) })
    }
    fn query<'a>(&'a self, _: &'a str) -> BoxFuture<'a, QueryResult> {
        Box::pin(async { QueryResult::NotFound })
    }
    fn cancel<'a>(&'a self, _: &'a str) -> BoxFuture<'a, CancelResult> {
        Box::pin(async { CancelResult::Done { refunded: false } })
    }
    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, RefundResult> {
        self.0.sent.lock().unwrap().push(req.out_request_no.clone());
        let answer = next(&self.0.refunds, RefundResult::Unknown("no script".into()));
        Box::pin(async move { answer })
    }
    fn refund_query<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, RefundQueryResult> {
        *self.0.asked.lock().unwrap() += 1;
        let answer = next(&self.0.queries, RefundQueryResult::NotFound);
        Box::pin(async move { answer })
    }
    fn bill<'a>(&'a self, _: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(async { BillResult::NoBill })
    }
    fn for_merchant(&self, _: &str) -> Option<Arc<dyn Channel>> {
        Some(Arc::new(Scripted(self.0.clone())))
    }
}

struct Factory(Arc<Script>);

impl ChannelFactory for Factory {
    fn profile(&self) -> ChannelMode {
        ChannelMode::Sandbox
    }
    fn channel(&self, _: &Acquirer, _: Option<&str>) -> Result<Arc<dyn Channel>, crate::routing::NoChannel> {
        Ok(Arc::new(Scripted(self.0.clone())))
    }
}

struct Desk {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    desk: RefundDesk,
    script: Arc<Script>,
    clerk: Operator,
    cashier: Operator,
    out_trade_no: String,
}

/// A till with one paid WeChat Pay order of 100.00, a back-office clerk and a cashier.
async fn desk(refunds: Vec<RefundResult>, queries: Vec<RefundQueryResult>) -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let clerk = store.staff_mut().add_operator("王芳", Role::BackOffice, "246810", None).unwrap();
    let cashier = store.staff_mut().add_operator("李雷", Role::Cashier, "1357", None).unwrap();
    let store_id = store.setup_mut().default_store().unwrap();
    let wechat = store
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::WechatPay, "WeChat Pay", "WECHATPAY", ChannelMode::Sandbox)
        .unwrap();
    let route = crate::model::Route {
        store_id,
        wallet: crate::model::Wallet::WechatPay,
        acquirer_id: wechat,
        merchant_id: Some("1900000188".into()),
        source: crate::model::RouteSource::Onboarding,
    };
    store.setup_mut().set_route(&route, None).unwrap();
    let script = Arc::new(Script {
        refunds: Mutex::new(refunds.into()),
        queries: Mutex::new(queries.into()),
        ..Script::default()
    });
    let router = Router::new(&store, &Factory(script.clone())).unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let checkout = Checkout::new(store, router.clone(), clock.clone(), CheckoutSettings::default());
    let input = PaymentInput {
        amount: Amount::from_fen(10_000),
        auth_code: "130000000000000000".into(),
        subject: "咖啡".into(),
        store_id,
        operator_id: None,
        terminal_id: None,
    };
    let never = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (order, _) = checkout.pay(input, never, &|_| {}).await.unwrap();
    assert_eq!(order.status, crate::model::OrderStatus::Paid);
    drop(checkout);
    let desk = RefundDesk::new(Store::open(&path).unwrap(), router, clock, RefundSettings::default());
    Desk { _dir: dir, path, desk, script, clerk, cashier, out_trade_no: order.out_trade_no }
}

fn accepted(state: RefundState) -> RefundResult {
    RefundResult::Accepted { state, refund_no: Some("50000001".into()) }
}

fn outbox_keys(path: &std::path::Path) -> Vec<String> {
    Store::open(path).unwrap().sync().outbox_entries(10).unwrap().into_iter().map(|e| e.idempotency_key).collect()
}

#[tokio::test]
async fn an_accepted_refund_is_done_at_once() {
    let d = desk(vec![accepted(RefundState::Success)], vec![]).await;
    let r = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(2_500), "少找零").await.unwrap();
    assert_eq!(r.status, RefundStatus::Success);
    assert_eq!(*d.script.sent.lock().unwrap(), vec![r.out_request_no.clone()]);
    assert_eq!(*d.script.asked.lock().unwrap(), 0, "nothing to ask");
}

#[tokio::test]
async fn unknown_answers_are_retried_under_one_number_then_left_to_the_outbox() {
    let unknown = || RefundResult::Unknown("no answer came in time".into());
    let d = desk(vec![unknown(), unknown(), unknown()], vec![RefundQueryResult::NotFound]).await;
    let r = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(2_500), "退货").await.unwrap();
    assert_eq!(r.status, RefundStatus::Submitted, "not known to be refunded, not known to be refused");
    let sent = d.script.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 3, "the settings' attempts");
    assert!(sent.iter().all(|n| *n == r.out_request_no), "one out_request_no for every send: {sent:?}");
    assert_eq!(*d.script.asked.lock().unwrap(), 1, "asked once before leaving it");
    assert_eq!(outbox_keys(&d.path), [format!("refund:{}", r.out_request_no)]);
}

#[tokio::test]
async fn a_processing_refund_is_followed_until_it_succeeds() {
    let processing = RefundQueryResult::Found(RefundState::Processing);
    let d = desk(
        vec![accepted(RefundState::Processing)],
        vec![processing.clone(), processing, RefundQueryResult::Found(RefundState::Success)],
    )
    .await;
    let r = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(10_000), "整单退").await.unwrap();
    assert_eq!(r.status, RefundStatus::Success);
    assert_eq!(*d.script.asked.lock().unwrap(), 3);
    assert_eq!(d.script.sent.lock().unwrap().len(), 1, "followed, not sent again");
}

#[tokio::test]
async fn a_refusal_is_an_error_and_the_refund_failed() {
    let refused = RefundResult::Failed(Failure { code: "NOTENOUGH".into(), message: "余额不足".into() });
    let d = desk(vec![refused], vec![]).await;
    let err = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(500), "退货").await.unwrap_err();
    assert!(matches!(&err, RefundError::AcquirerRefused(m) if m == "余额不足"), "{err}");
    let order = Store::open(&d.path).unwrap().orders().order_by_out_trade_no(&d.out_trade_no).unwrap().unwrap();
    let refunds = Store::open(&d.path).unwrap().refunds().refunds_of(order.id).unwrap();
    assert_eq!(refunds.iter().map(|r| r.status).collect::<Vec<_>>(), [RefundStatus::Failed]);
}

#[tokio::test]
async fn a_refund_left_submitted_is_found_at_the_acquirer_and_not_sent_again() {
    let unknown = || RefundResult::Unknown("the gateway could not be reached".into());
    // The first try never learns the outcome; the acquirer did refund it.
    let d = desk(
        vec![unknown(), unknown(), unknown()],
        vec![RefundQueryResult::NotFound, RefundQueryResult::Found(RefundState::Success)],
    )
    .await;
    let r = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(1_000), "退货").await.unwrap();
    assert_eq!(r.status, RefundStatus::Submitted);
    let settled = d.desk.follow_up().await.unwrap();
    assert_eq!(settled.iter().map(|r| r.status).collect::<Vec<_>>(), [RefundStatus::Success]);
    assert_eq!(d.script.sent.lock().unwrap().len(), 3, "no fourth send: it was found refunded");
    let outbox = Store::open(&d.path).unwrap().sync().outbox_entries(10).unwrap();
    assert!(outbox.iter().all(|e| e.delivered_at.is_some()), "the outbox entry is done: {outbox:?}");
}

#[tokio::test]
async fn a_refund_the_acquirer_never_got_is_sent_again_under_the_same_number() {
    let unknown = || RefundResult::Unknown("the gateway could not be reached".into());
    let d =
        desk(vec![unknown(), unknown(), unknown(), accepted(RefundState::Success)], vec![RefundQueryResult::NotFound])
            .await;
    let r = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(1_000), "退货").await.unwrap();
    let again = d.desk.resend(&r.out_request_no).await.unwrap();
    assert_eq!(again.status, RefundStatus::Success);
    let sent = d.script.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|n| *n == r.out_request_no), "{sent:?}");
}

#[tokio::test]
async fn a_cashier_and_too_much_are_refused_before_anything_is_sent() {
    let d = desk(vec![accepted(RefundState::Success)], vec![]).await;
    let err = d.desk.refund(&d.cashier, &d.out_trade_no, Amount::from_fen(100), "退货").await.unwrap_err();
    assert!(matches!(err, RefundError::NotAllowed(_)), "{err}");
    let err = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(10_001), "退货").await.unwrap_err();
    assert!(matches!(err, RefundError::Refused(_)), "{err}");
    assert!(d.script.sent.lock().unwrap().is_empty(), "nothing reached the acquirer");
    // What is left can still be refunded, once.
    d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(10_000), "整单退").await.unwrap();
    let err = d.desk.refund(&d.clerk, &d.out_trade_no, Amount::from_fen(1), "退货").await.unwrap_err();
    assert!(matches!(err, RefundError::Refused(_)), "nothing left: {err}");
}
