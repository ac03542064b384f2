//! Routing with two stores and three acquirers: each payment reaches the acquirer its store is onboarded with, as
//! the merchant id onboarding returned; a wallet with no route is refused before anything is written.

use std::sync::{Arc, Mutex};

use super::*;
use crate::channel::{
    BillResult, BoxFuture, CancelResult, PayRequest, PayResult, QueryResult, RefundQueryResult, RefundRequest,
    RefundResult, TradeInfo,
};
use crate::checkout::{Checkout, CheckoutError, CheckoutSettings, ManualClock, PaymentInput};
use crate::model::{AcquirerKind, Route, RouteSource};
use crate::money::Amount;

/// A channel that names itself (and the merchant it acts for) in every trade number, and records what it took.
struct Named {
    name: &'static str,
    kind: AcquirerKind,
    merchant: Option<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Named {
    fn tag(&self) -> String {
        format!("{}/{}", self.name, self.merchant.as_deref().unwrap_or("-"))
    }
}

impl Channel for Named {
    fn kind(&self) -> AcquirerKind {
        self.kind
    }
    fn pay<'a>(&'a self, req: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        self.log.lock().unwrap().push(format!("pay {} {}", self.tag(), req.out_trade_no));
        let info = TradeInfo { trade_no: Some(self.tag()), ..TradeInfo::default() };
        Box::pin(async move { PayResult::Paid(info) })
    }
    fn query<'a>(&'a self, _: &'a str) -> BoxFuture<'a, QueryResult> {
        self.log.lock().unwrap().push(format!("query {}", self.tag()));
        Box::pin(async { QueryResult::NotFound })
    }
    fn cancel<'a>(&'a self, _: &'a str) -> BoxFuture<'a, CancelResult> {
        Box::pin(async { CancelResult::Done { refunded: false } })
    }
    fn refund<'a>(&'a self, _: &'a RefundRequest) -> BoxFuture<'a, RefundResult> {
        Box::pin(async { RefundResult::Unknown("not used".into()) })
    }
    fn refund_query<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, RefundQueryResult> {
        Box::pin(async { RefundQueryResult::NotFound })
    }
    fn bill<'a>(&'a self, _: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(async { BillResult::NoBill })
    }
    fn for_merchant(&self, merchant_id: &str) -> Option<Arc<dyn Channel>> {
        Some(Arc::new(Named {
            name: self.name,
            kind: self.kind,
            merchant: Some(merchant_id.to_owned()),
            log: self.log.clone(),
        }))
    }
}

struct Factory {
    log: Arc<Mutex<Vec<String>>>,
}

impl ChannelFactory for Factory {
    fn profile(&self) -> ChannelMode {
        ChannelMode::Sandbox
    }
    fn channel(&self, account: &Acquirer, code: Option<&str>) -> Result<Arc<dyn Channel>, NoChannel> {
        let name = match code {
            Some("ALIPAY") => "ALIPAY",
            Some("WECHATPAY") => "WECHATPAY",
            Some("PARTNER1") => "PARTNER1",
            _ => return Err(NoChannel::Missing { what: "the keys of this account" }),
        };
        let kind = if account.kind == AcquirerKind::WechatPay { AcquirerKind::WechatPay } else { AcquirerKind::Alipay };
        Ok(Arc::new(Named { name, kind, merchant: None, log: self.log.clone() }))
    }
}

struct World {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Store,
    s001: StoreId,
    s002: StoreId,
    alipay: AcquirerId,
    wechat: AcquirerId,
    partner1: AcquirerId,
}

/// S001 takes Alipay through ALIPAY (direct) and WeChat Pay through WECHATPAY (merchant WXM1); S002 takes Alipay
/// through PARTNER1 (merchant P1M7) and no WeChat Pay at all.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let s001 = store.setup_mut().default_store().unwrap();
    let merchant = store.setup_mut().merchant().unwrap();
    let s002 = store
        .setup_mut()
        .add_store(
            &crate::model::Store {
                id: StoreId(0),
                merchant_id: merchant.id,
                store_code: "S002".into(),
                name: "Second".into(),
                name_zh: "二店".into(),
                address: String::new(),
                contact: String::new(),
            },
            None,
        )
        .unwrap();
    let alipay = store
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::Alipay, "Alipay", "ALIPAY", ChannelMode::Sandbox)
        .unwrap();
    let wechat = store
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::WechatPay, "WeChat Pay", "WECHATPAY", ChannelMode::Sandbox)
        .unwrap();
    let partner1 = store
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::AlipayPlus, "Partner 1", "PARTNER1", ChannelMode::Sandbox)
        .unwrap();
    for (store_id, wallet, acquirer_id, merchant_id) in [
        (s001, Wallet::Alipay, alipay, None),
        (s001, Wallet::WechatPay, wechat, Some("WXM1")),
        (s002, Wallet::Alipay, partner1, Some("P1M7")),
    ] {
        let route = Route {
            store_id,
            wallet,
            acquirer_id,
            merchant_id: merchant_id.map(str::to_owned),
            source: RouteSource::Onboarding,
        };
        store.setup_mut().set_route(&route, None).unwrap();
    }
    World { _dir: dir, path, store, s001, s002, alipay, wechat, partner1 }
}

#[test]
fn each_store_and_wallet_reaches_its_own_acquirer_as_its_merchant() {
    let w = world();
    let log = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new(&w.store, &Factory { log: log.clone() }).unwrap();
    let r = router.route(&w.store, w.s001, Wallet::Alipay).unwrap();
    assert_eq!((r.acquirer.id, r.merchant_id.as_deref()), (w.alipay, None));
    let r = router.route(&w.store, w.s001, Wallet::WechatPay).unwrap();
    assert_eq!((r.acquirer.id, r.merchant_id.as_deref()), (w.wechat, Some("WXM1")));
    let r = router.route(&w.store, w.s002, Wallet::Alipay).unwrap();
    assert_eq!((r.acquirer.id, r.merchant_id.as_deref()), (w.partner1, Some("P1M7")));
    assert_eq!(r.channel.kind(), AcquirerKind::Alipay, "PARTNER1 speaks the Alipay protocol");
}

#[test]
fn a_wallet_without_a_route_is_refused_with_what_to_do() {
    let w = world();
    let router = Router::new(&w.store, &Factory { log: Arc::default() }).unwrap();
    let err = router.route(&w.store, w.s002, Wallet::WechatPay).unwrap_err();
    assert!(
        matches!(&err, RouteError::NoRoute { store_code, wallet } if store_code == "S002" && *wallet == Wallet::WechatPay)
    );
    assert_eq!(
        err.to_string(),
        "S002 takes no WeChat Pay codes: onboard it with an acquirer for WeChat Pay (收单机构)"
    );
}

#[test]
fn an_account_without_keys_in_this_profile_says_so() {
    let mut w = world();
    let other = w
        .store
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::Alipay, "Bank", "BANK9", ChannelMode::Sandbox)
        .unwrap();
    let route = Route {
        store_id: w.s002,
        wallet: Wallet::Alipay,
        acquirer_id: other,
        merchant_id: None,
        source: RouteSource::Chosen,
    };
    w.store.setup_mut().set_route(&route, None).unwrap();
    let router = Router::new(&w.store, &Factory { log: Arc::default() }).unwrap();
    let err = router.route(&w.store, w.s002, Wallet::Alipay).unwrap_err();
    assert!(
        matches!(
            &err,
            RouteError::Unavailable { acquirer, reason: NoChannel::Missing { what: "the keys of this account" }, .. }
                if acquirer == "BANK9"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("the keys of this account is not configured yet"), "{err}");
    assert_eq!(router.accounts().len(), 3, "accounts without a client are left out of bills and probes");
}

#[tokio::test]
async fn checkout_charges_through_the_route_and_refuses_an_unrouted_wallet_before_writing() {
    let w = world();
    let (s001, s002, partner1, path) = (w.s001, w.s002, w.partner1, w.path.clone());
    let log = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new(&w.store, &Factory { log: log.clone() }).unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let checkout = Checkout::new(w.store, router.clone(), clock, CheckoutSettings::default());
    let input = |store_id, auth_code: &str| PaymentInput {
        amount: Amount::from_fen(500),
        auth_code: auth_code.into(),
        subject: "咖啡".into(),
        store_id,
        operator_id: None,
        terminal_id: Some("T9".into()),
    };
    let never = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (order, _) = checkout.pay(input(s002, "2800000000000000"), never.clone(), &|_| {}).await.unwrap();
    assert_eq!((order.store_id, order.acquirer_id), (s002, partner1));
    assert_eq!(order.acquirer_merchant_id.as_deref(), Some("P1M7"));
    assert_eq!(order.terminal_id.as_deref(), Some("T9"));
    assert_eq!(order.trade_no.as_deref(), Some("PARTNER1/P1M7"));
    let (order, _) = checkout.pay(input(s001, "130000000000000000"), never.clone(), &|_| {}).await.unwrap();
    assert_eq!(order.trade_no.as_deref(), Some("WECHATPAY/WXM1"));

    let before = log.lock().unwrap().len();
    let err = checkout.pay(input(s002, "130000000000000000"), never, &|_| {}).await.unwrap_err();
    assert!(matches!(err, CheckoutError::Route(RouteError::NoRoute { .. })), "{err}");
    assert_eq!(log.lock().unwrap().len(), before, "nothing was sent");
    assert_eq!(Store::open(&path).unwrap().orders().recent_orders(10).unwrap().len(), 2, "nothing was written");
    // Recovery and refunds go back to the acquirer that took the order, as its merchant.
    let paid = checkout.order(&order.out_trade_no).unwrap().unwrap();
    let channel = router.for_order(&paid).unwrap();
    let _ = channel.query(&paid.out_trade_no).await;
    assert_eq!(log.lock().unwrap().last().map(String::as_str), Some("query WECHATPAY/WXM1"));
}

#[tokio::test]
async fn amounts_beyond_what_the_protocol_carries_are_refused_before_anything_is_written() {
    let w = world();
    let (s001, path) = (w.s001, w.path.clone());
    let log = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new(&w.store, &Factory { log: log.clone() }).unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let checkout = Checkout::new(w.store, router, clock, CheckoutSettings::default());
    let never = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pay = |fen: i64, code: &str| PaymentInput {
        amount: Amount::from_fen(fen),
        auth_code: code.into(),
        subject: String::new(),
        store_id: s001,
        operator_id: None,
        terminal_id: None,
    };
    // WeChat Pay's total_fee is an Int: 21,474,836.47 at most; Alipay takes up to 100,000,000.00.
    let err = checkout.pay(pay(9_999_999_999_900, "130000000000000000"), never.clone(), &|_| {}).await.unwrap_err();
    assert_eq!(err.to_string(), "99999999999.00 is more than WeChat Pay takes in one payment (at most 21474836.47)");
    let err = checkout.pay(pay(10_000_000_001, "2800000000000000"), never.clone(), &|_| {}).await.unwrap_err();
    assert!(matches!(err, CheckoutError::AmountTooLarge { .. }), "{err}");
    assert!(log.lock().unwrap().is_empty(), "nothing was sent");
    assert!(Store::open(&path).unwrap().orders().recent_orders(10).unwrap().is_empty(), "nothing was written");
    // The largest allowed amounts go through.
    let (order, _) = checkout.pay(pay(2_147_483_647, "130000000000000000"), never.clone(), &|_| {}).await.unwrap();
    assert_eq!(order.total_amount.fen(), 2_147_483_647);
    let (order, _) = checkout.pay(pay(10_000_000_000, "2800000000000000"), never, &|_| {}).await.unwrap();
    assert_eq!(order.total_amount.fen(), 10_000_000_000);
}
