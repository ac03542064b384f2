//! The dynamic-code rules with a scripted channel and a manual clock.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::channel::{
    BillResult, BoxFuture, CancelResult, PayRequest, PayResult, RefundQueryResult, RefundRequest, RefundResult,
    TradeInfo,
};
use crate::checkout::{CheckoutSettings, ManualClock};
use crate::model::{AcquirerKind, ChannelMode, Route, RouteSource};
use crate::routing::Router;
use crate::store::Store;

/// Answers precreate, query and close from scripts; records every call with its order number.
#[derive(Default)]
struct Scripted {
    precreates: Mutex<VecDeque<PrecreateResult>>,
    queries: Mutex<VecDeque<QueryResult>>,
    closes: Mutex<VecDeque<CloseResult>>,
    calls: Mutex<Vec<String>>,
}

impl Scripted {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Channel for Scripted {
    fn kind(&self) -> AcquirerKind {
        AcquirerKind::WechatPay
    }
    fn pay<'a>(&'a self, _: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        self.calls.lock().unwrap().push("pay".into());
        Box::pin(async { PayResult::Unknown("not scripted".into()) })
    }
    fn query<'a>(&'a self, _: &'a str) -> BoxFuture<'a, QueryResult> {
        self.calls.lock().unwrap().push("query".into());
        let r = self.queries.lock().unwrap().pop_front().unwrap_or(QueryResult::Waiting(TradeInfo::default()));
        Box::pin(async move { r })
    }
    fn cancel<'a>(&'a self, _: &'a str) -> BoxFuture<'a, CancelResult> {
        self.calls.lock().unwrap().push("cancel".into());
        Box::pin(async { CancelResult::Unknown("not scripted".into()) })
    }
    fn refund<'a>(&'a self, _: &'a RefundRequest) -> BoxFuture<'a, RefundResult> {
        Box::pin(async { RefundResult::Unknown("not scripted".into()) })
    }
    fn refund_query<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, RefundQueryResult> {
        Box::pin(async { RefundQueryResult::NotFound })
    }
    fn bill<'a>(&'a self, _: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(async { BillResult::NoBill })
    }
    fn precreate<'a>(&'a self, req: &'a PrecreateRequest) -> BoxFuture<'a, PrecreateResult> {
        self.calls.lock().unwrap().push(format!("precreate {}", req.out_trade_no));
        let r = self.precreates.lock().unwrap().pop_front().unwrap_or(PrecreateResult::Unknown("no script".into()));
        Box::pin(async move { r })
    }
    fn close<'a>(&'a self, out_trade_no: &'a str) -> BoxFuture<'a, CloseResult> {
        self.calls.lock().unwrap().push(format!("close {out_trade_no}"));
        let r = self.closes.lock().unwrap().pop_front().unwrap_or(CloseResult::Unknown("no answer".into()));
        Box::pin(async move { r })
    }
}

fn engine(channel: Arc<Scripted>) -> (Checkout, StoreId) {
    let mut store = Store::open_in_memory().unwrap();
    let wechat = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let store_id = store.setup_mut().default_store().unwrap();
    let route = Route {
        store_id,
        wallet: Wallet::WechatPay,
        acquirer_id: wechat,
        merchant_id: None,
        source: RouteSource::Direct,
    };
    store.setup_mut().set_route(&route, None).unwrap();
    let accounts: Vec<(crate::model::Acquirer, Arc<dyn Channel>)> =
        store.setup().acquirers().unwrap().into_iter().map(|a| (a, channel.clone() as Arc<dyn Channel>)).collect();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let router = Router::from_channels(ChannelMode::Sandbox, accounts);
    (Checkout::new(store, router, clock, CheckoutSettings::default()), store_id)
}

fn input(store_id: StoreId) -> DynamicInput {
    DynamicInput {
        amount: Amount::from_fen(1234),
        subject: "咖啡".into(),
        store_id,
        wallet: Some(Wallet::WechatPay),
        operator_id: None,
        terminal_id: None,
    }
}

fn paid() -> TradeInfo {
    TradeInfo { trade_no: Some("4200".into()), amount: Some(Amount::from_fen(1234)), ..TradeInfo::default() }
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn a_refused_code_fails_the_order_and_closes_nothing() {
    let channel = Arc::new(Scripted::default());
    let failure = Failure { code: "NOAUTH".into(), message: "no NATIVE".into() };
    channel.precreates.lock().unwrap().push_back(PrecreateResult::Failed(failure.clone()));
    let (engine, store_id) = engine(channel.clone());
    let DynamicStart::Ended(order, outcome) = run(engine.start_dynamic(input(store_id))).unwrap() else {
        panic!("no code to show")
    };
    assert_eq!((order.status, outcome), (OrderStatus::Failed, Outcome::Failed(failure)));
    assert_eq!(channel.calls().len(), 1, "{:?}", channel.calls());
}

#[test]
fn no_answer_asks_again_with_the_same_number_then_closes_it() {
    let channel = Arc::new(Scripted::default());
    channel.closes.lock().unwrap().push_back(CloseResult::Closed);
    let (engine, store_id) = engine(channel.clone());
    let DynamicStart::Ended(order, outcome) = run(engine.start_dynamic(input(store_id))).unwrap() else {
        panic!("no code to show")
    };
    assert_eq!((order.status, outcome), (OrderStatus::Closed, Outcome::Closed));
    let no = &order.out_trade_no;
    let expect: Vec<String> =
        vec![format!("precreate {no}"), format!("precreate {no}"), format!("precreate {no}"), format!("close {no}")];
    assert_eq!(channel.calls(), expect, "one order number, never a second trade");
}

#[test]
fn an_unconfirmed_close_keeps_the_order_open_so_a_later_payment_still_counts() {
    let channel = Arc::new(Scripted::default());
    channel.precreates.lock().unwrap().push_back(PrecreateResult::Created { code: "weixin://x".into() });
    let (engine, store_id) = engine(channel.clone());
    let DynamicStart::Shown(sale) = run(engine.start_dynamic(input(store_id))).unwrap() else { panic!("shown") };
    let (order, outcome) = run(engine.wait_dynamic(&sale, &AtomicBool::new(true), &|_| {})).unwrap();
    assert!(matches!(outcome, Outcome::NeedsAttention { .. }), "{outcome:?}");
    assert_eq!(order.status, OrderStatus::Paying, "never closed locally without the acquirer's word");
    assert_eq!(channel.calls().iter().filter(|c| c.starts_with("close")).count(), 5);
    drop(sale);
    // The customer paid after all: recovery finds it, and PAYING can still become PAID.
    channel.queries.lock().unwrap().push_back(QueryResult::Paid(paid()));
    let resolved = run(engine.recover()).unwrap();
    assert!(matches!(resolved.as_slice(), [(_, Outcome::Paid { .. })]), "{resolved:?}");
    assert_eq!(engine.order(&order.out_trade_no).unwrap().unwrap().status, OrderStatus::Paid);
    assert!(!channel.calls().contains(&"cancel".to_owned()), "a dynamic order is closed, never cancelled");
}

#[test]
fn expiry_follows_the_injected_clock() {
    let channel = Arc::new(Scripted::default());
    channel.precreates.lock().unwrap().push_back(PrecreateResult::Created { code: "weixin://x".into() });
    channel.closes.lock().unwrap().push_back(CloseResult::Closed);
    let (engine, store_id) = engine(channel.clone());
    let DynamicStart::Shown(sale) = run(engine.start_dynamic(input(store_id))).unwrap() else { panic!("shown") };
    let (order, outcome) = run(engine.wait_dynamic(&sale, &AtomicBool::new(false), &|_| {})).unwrap();
    assert_eq!((order.status, outcome), (OrderStatus::Closed, Outcome::Closed));
    // 5 minutes at one query every 2 s.
    assert_eq!(channel.calls().iter().filter(|c| *c == "query").count(), 150);
}
