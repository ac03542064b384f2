//! A till enrolled with a merchant backend, as the backend tests drive it: its own data folder and vault (holding
//! the backend's token), its router through the backend, its own checkout engine, refund desk and sync worker. Used
//! by the SQLite (`tests/serve.rs`) and PostgreSQL (`tests/serve_pg.rs`) backends' end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tilldesk::checkout::{
    Checkout, CheckoutSettings, DynamicInput, DynamicSale, DynamicStart, Outcome, PaymentInput, SystemClock,
};
use tilldesk::model::StoreId;
use tilldesk::money::Amount;
use tilldesk::refund::{RefundDesk, RefundSettings};
use tilldesk::routing::Router;
use tilldesk::secrets::Vault;
use tilldesk::serve::RunningBackend;
use tilldesk::store::Store;
use tilldesk::sync::{SyncSettings, SyncWorker};

/// One till: its data folder, its vault (with the token), and its router through the backend.
pub struct Till {
    pub dir: PathBuf,
    pub db: PathBuf,
    pub vault: Vault,
    pub router: Router,
    pub store_id: StoreId,
}

/// A till named `name` added at `backend` for store S001 and enrolled from its own folder under `parent` with
/// `tilldesk backend join`'s library call.
pub async fn join(backend: &RunningBackend, parent: &Path, name: &str) -> Till {
    join_store(backend, parent, name, "S001").await
}

/// [`join`] for a till of the store `store_code`.
pub async fn join_store(backend: &RunningBackend, parent: &Path, name: &str, store_code: &str) -> Till {
    let code = backend.backend.add_till(store_code, name).await.unwrap().code;
    let url = backend.base_url();
    let dir = parent.join(name.replace(' ', "-"));
    let db = dir.join(tilldesk::config::DATABASE_FILE);
    let home = tilldesk::config::DataHome::open(&dir).unwrap();
    drop(home);
    let mut vault = Vault::unlock(&dir, "till passphrase").unwrap();
    let joined = tilldesk::routing::backend::join(&db, &mut vault, &url, code.expose(), None).await.unwrap();
    assert_eq!((joined.store_code.as_str(), joined.link.till_name.as_str()), (store_code, name));
    let mut store = Store::open(&db).unwrap();
    let router = tilldesk::routing::backend::router(&store, &vault).unwrap().expect("enrolled");
    assert!(router.backend().is_some());
    let store_id = tilldesk::config::this_till(&mut store).unwrap().store_id;
    Till { dir, db, vault, router, store_id }
}

impl Till {
    pub fn store(&self) -> Store {
        Store::open(&self.db).unwrap()
    }

    pub async fn pay(&self, code: &str, fen: i64) -> (tilldesk::model::Order, Outcome) {
        self.pay_as(code, fen, None).await
    }

    /// [`Till::pay`] taken by `operator` (the till's row of them).
    pub async fn pay_as(
        &self,
        code: &str,
        fen: i64,
        operator: Option<tilldesk::model::OperatorId>,
    ) -> (tilldesk::model::Order, Outcome) {
        let engine =
            Checkout::new(self.store(), self.router.clone(), Arc::new(SystemClock), CheckoutSettings::default());
        let input = PaymentInput {
            amount: Amount::from_fen(fen),
            auth_code: code.into(),
            subject: "连锁门店".into(),
            store_id: self.store_id,
            operator_id: operator,
            terminal_id: None,
        };
        engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap()
    }

    /// The till's engine shows a dynamic code (主扫) of `wallet` for `fen`: written ahead at the till, made through
    /// the backend.
    pub async fn show_code(&self, wallet: tilldesk::model::Wallet, fen: i64) -> (Checkout, DynamicSale) {
        let engine =
            Checkout::new(self.store(), self.router.clone(), Arc::new(SystemClock), CheckoutSettings::default());
        let input = DynamicInput {
            amount: Amount::from_fen(fen),
            subject: "连锁门店".into(),
            store_id: self.store_id,
            wallet: Some(wallet),
            operator_id: None,
            terminal_id: None,
        };
        match engine.start_dynamic(input).await.unwrap() {
            DynamicStart::Shown(sale) => (engine, sale),
            DynamicStart::Ended(order, outcome) => panic!("no code: {order:?} {outcome:?}"),
        }
    }

    /// One pass of the till's sync worker (the bills are the backend's).
    pub async fn sync(&self) -> tilldesk::store::sync::SyncRun {
        let settings = SyncSettings { bill_time: None, ..SyncSettings::default() };
        let worker = SyncWorker::new(&self.db, &self.dir, self.router.clone(), None, settings);
        worker.run_once("test").await.unwrap()
    }

    pub fn desk(&self) -> RefundDesk {
        let settings = RefundSettings {
            attempts: 3,
            retry_interval: Duration::from_millis(50),
            follow_window: Duration::from_secs(5),
            follow_interval: Duration::from_millis(100),
        };
        RefundDesk::new(self.store(), self.router.clone(), Arc::new(SystemClock), settings)
    }
}

/// An Alipay store-code payment notice (`trade_status_sync`, TRADE_SUCCESS) for the sandbox's first merchant, signed
/// as the platform signs it; change a field afterwards to forge one.
pub fn store_code_notice(
    accounts: &tilldesk::sandbox::accounts::SandboxAccounts,
    notify_id: &str,
    trade_no: &str,
    out_trade_no: &str,
    total_amount: &str,
) -> std::collections::BTreeMap<String, String> {
    use tilldesk::channel::alipay::sign as alipay_sign;
    let mut p = std::collections::BTreeMap::new();
    for (k, v) in [
        ("notify_time", "2026-11-25 10:00:05"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", notify_id),
        ("app_id", accounts.merchants[0].alipay.app_id.as_str()),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("trade_no", trade_no),
        ("out_trade_no", out_trade_no),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", total_amount),
        ("subject", "店铺码付款"),
        ("gmt_payment", "2026-11-25 10:00:04"),
    ] {
        p.insert(k.to_owned(), v.to_owned());
    }
    let key = alipay_sign::parse_private_key(&accounts.platform.alipay_private_key_pkcs8_pem).unwrap();
    let sign = alipay_sign::sign_rsa2(&key, &alipay_sign::notify_sign_content(&p)).unwrap();
    p.insert("sign".into(), sign);
    p
}

/// Adds the second store, S002 "Second" (二店), of the merchant to `store` (a backend's catalogue); its id.
pub fn add_second_store(store: &mut Store) -> StoreId {
    let merchant = store.setup_mut().merchant().unwrap();
    let s002 = tilldesk::model::Store {
        id: StoreId(0),
        merchant_id: merchant.id,
        store_code: "S002".into(),
        name: "Second".into(),
        name_zh: "二店".into(),
        address: String::new(),
        contact: String::new(),
    };
    store.setup_mut().add_store(&s002, None).unwrap()
}

/// A till's orders from before it joined, end to end against `backend` (either engine): a store-direct till of S001
/// (its own folder under `parent`) holds a paid order refunded in part, a failed one and one still PAYING. Joining is
/// refused while the payment is in flight (the code stays good); once it failed, the till joins and sends the rest
/// up as its history — recorded once (sent again: `known`), filed under the backend's Alipay account, with the
/// refund counted once; head office lists them; a refund of one is refused at the till and at the backend alike
/// (`taken_before_joining`). Returns the joined till.
pub async fn history_goes_up_once(backend: &RunningBackend, parent: &Path) -> Till {
    use tilldesk::channel::backend::api::{HistoryOutcome, HistoryRequest, RefundRequest};
    use tilldesk::model::{AcquirerKind, OrderSource, OrderStatus, RefundStatus};
    use tilldesk::routing::backend::LinkError;
    use tilldesk::store::pulled::{PulledOrder, PulledRefund};
    use tilldesk::store::transitions::OrderMove;

    let dir = parent.join("till-before");
    let db = dir.join(tilldesk::config::DATABASE_FILE);
    let home = tilldesk::config::DataHome::open(&dir).unwrap();
    drop(home);
    let mut store = Store::open(&db).unwrap();
    let shop = store.setup_mut().default_store().unwrap();
    let alipay = store.setup_mut().acquirer_for(AcquirerKind::Alipay).unwrap();
    let at = "2026-12-01T02:00:00.000000Z".to_owned();
    let order = |no: &str, fen: i64, status: OrderStatus, refunds: Vec<PulledRefund>| PulledOrder {
        out_trade_no: no.into(),
        trade_no: Some(format!("2026{no}")),
        store_id: shop,
        acquirer_id: alipay,
        source: OrderSource::Barcode,
        subject: "加入前".into(),
        total_amount: Amount::from_fen(fen),
        status,
        auth_code_masked: Some("2860…0000".into()),
        created_at: at.clone(),
        paid_at: (status != OrderStatus::Failed).then(|| at.clone()),
        acquirer_merchant_id: None,
        terminal_id: None,
        refunds,
    };
    let refund = PulledRefund {
        out_request_no: "TDHIST0001-R1".into(),
        refund_amount: Amount::from_fen(300),
        reason: "少收".into(),
        status: RefundStatus::Success,
        created_at: at.clone(),
    };
    own_order(&mut store, &order("TDHIST0001", 1000, OrderStatus::PartiallyRefunded, vec![refund]));
    own_order(&mut store, &order("TDHIST0002", 500, OrderStatus::Failed, Vec::new()));
    // One the till copied from a backend it was enrolled with before (another till's): not its history.
    store.orders_mut().apply_pulled_order(&order("TDHIST-OTHER", 900, OrderStatus::Paid, Vec::new())).unwrap();
    let paying = tilldesk::store::orders::NewOrder {
        out_trade_no: "TDHIST0003".into(),
        store_id: shop,
        acquirer_id: alipay,
        operator_id: None,
        subject: "加入前".into(),
        total_amount: Amount::from_fen(700),
        auth_code_masked: "2860…0000".into(),
        acquirer_merchant_id: None,
        terminal_id: None,
    };
    let paying = store.orders_mut().create_order(&paying).unwrap();

    // In flight: refused before the code is spent.
    let code = backend.backend.add_till("S001", "till before").await.unwrap().code;
    let url = backend.base_url();
    let mut vault = Vault::unlock(&dir, "till passphrase").unwrap();
    let refused = tilldesk::routing::backend::join(&db, &mut vault, &url, code.expose(), None).await.unwrap_err();
    assert!(matches!(refused, LinkError::Unfinished { orders: 1, refunds: 0, outbox: 0 }), "{refused:?}");
    store.orders_mut().move_order(paying.id, &OrderMove::to(OrderStatus::Failed, "test", "declined")).unwrap();
    tilldesk::routing::backend::join(&db, &mut vault, &url, code.expose(), None).await.unwrap();
    assert_eq!(tilldesk::routing::history::unsent(&store).unwrap(), 3);

    // Sent up: recorded once, asked again known.
    let client = tilldesk::routing::backend::client(&store, &vault).unwrap().unwrap();
    let sent = tilldesk::routing::history::send(&mut store, &client).await.unwrap();
    assert_eq!((sent.recorded, sent.known, sent.no_account, sent.not_settled), (3, 0, 0, 0), "{sent:?}");
    assert_eq!(tilldesk::routing::history::unsent(&store).unwrap(), 0);
    assert!(backend_order(backend, "TDHIST-OTHER").await.is_none(), "another till's order is not this till's history");
    let again = tilldesk::routing::history::send(&mut store, &client).await.unwrap();
    assert_eq!(again, tilldesk::routing::history::HistorySent::default(), "nothing left to send");
    let mine = store.orders().order_by_out_trade_no("TDHIST0001").unwrap().unwrap();
    let refunds = store.refunds().refunds_of(mine.id).unwrap();
    let acquirers = tilldesk::routing::history::acquirer_refs(&store).unwrap();
    let feed = tilldesk::channel::backend::api::FeedOrder::of(
        mine.clone(),
        refunds,
        acquirers[&mine.acquirer_id].clone(),
        Some("S001".into()),
        None,
        0,
    );
    let twice = client.send_history(&HistoryRequest { orders: vec![feed] }).await.unwrap();
    assert_eq!(twice.results[0].outcome, HistoryOutcome::Known);
    let at_backend = backend_order(backend, "TDHIST0001").await.expect("recorded");
    assert_eq!(
        (at_backend.status, at_backend.refunded_amount.fen(), at_backend.total_amount.fen()),
        (OrderStatus::PartiallyRefunded, 300, 1000),
        "the refund counted once"
    );
    let failed = backend_order(backend, "TDHIST0003").await.expect("recorded");
    assert_eq!(failed.status, OrderStatus::Failed);

    // A refund of one: refused at the till (nothing written) and at the backend.
    let router = tilldesk::routing::backend::router(&store, &vault).unwrap().expect("enrolled");
    let store_id = tilldesk::config::this_till(&mut store).unwrap().store_id;
    let till = Till { dir, db, vault, router, store_id };
    let owner =
        till.store().staff_mut().add_operator("会计 Ma", tilldesk::model::Role::BackOffice, "246802", None).unwrap();
    let e = till.desk().refund(&owner, "TDHIST0001", Amount::from_fen(100), "退一点").await.unwrap_err();
    assert!(
        matches!(&e, tilldesk::refund::RefundError::Refused(tilldesk::store::refunds::RefundRefused::TakenBeforeJoining { out_trade_no }) if out_trade_no == "TDHIST0001"),
        "{e:?}"
    );
    // The backend asked its account, which does not hold the trade: the till's refund is FAILED, saying why.
    let refunds = till.store().refunds().refunds_of(mine.id).unwrap();
    assert_eq!(refunds.len(), 2);
    assert_eq!(refunds[1].status, RefundStatus::Failed);
    let at_backend = backend_order(backend, "TDHIST0001").await.unwrap();
    assert_eq!(at_backend.refunded_amount.fen(), 300, "nothing refunded at the backend");
    let asked = RefundRequest {
        out_trade_no: "TDHIST0001".into(),
        out_request_no: "TDHIST0001-T9R1".into(),
        refund_amount: "1.00".into(),
        reason: "退一点".into(),
    };
    let e = client.refund(&asked).await.unwrap_err();
    let kind = e.api().cloned().unwrap_or_else(|| panic!("{e}"));
    assert!(
        matches!(&kind, tilldesk::channel::backend::api::ApiError::RefundRefused { reason, .. } if reason == "taken_before_joining"),
        "{kind:?}"
    );
    till
}

/// Writes `p` (settled) into a till's database as an order the till took itself: written as a pulled order is, then
/// no longer marked as copied from a backend.
pub fn own_order(store: &mut Store, p: &tilldesk::store::pulled::PulledOrder) {
    store.orders_mut().apply_pulled_order(p).unwrap();
    let id = store.orders().order_by_out_trade_no(&p.out_trade_no).unwrap().unwrap().id;
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.execute("DELETE FROM pulled_orders WHERE order_id = ?1", [id.0]).unwrap();
    assert!(!store.orders().is_pulled(id).unwrap());
}

/// A till that leaves the backend and joins it again (a new code, the same folder): its own orders taken through
/// the backend are `held` there (ordinary orders, refunded through it as before); another till's orders it copied
/// are not sent up at all; and a malformed order of a history page is `invalid` on its own (with the field), the
/// rest of the page recorded. `code_a`/`code_b`: payment codes the backend's acquirer accepts.
pub async fn joining_again_keeps_its_own_orders_refundable(
    backend: &RunningBackend,
    parent: &Path,
    code_a: &str,
    code_b: &str,
) {
    use tilldesk::channel::backend::api::{HistoryOutcome, HistoryRequest};
    use tilldesk::model::{OrderStatus, RefundStatus};

    let mut till = join(backend, parent, "till again").await;
    let other = join(backend, parent, "till beside").await;
    let (mine, outcome) = till.pay(code_a, 1000).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let (theirs, outcome) = other.pay(code_b, 800).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let run = till.sync().await;
    assert!(run.online && run.errors.is_empty(), "{run:?}");
    let copied = till.store().orders().order_by_out_trade_no(&theirs.out_trade_no).unwrap().expect("pulled");
    assert!(till.store().orders().is_pulled(copied.id).unwrap());
    assert!(!till.store().orders().is_pulled(mine.id).unwrap());

    // One of its own orders from long ago, its time written in a form the API does not take (as a till's first
    // version wrote it).
    let mut store = till.store();
    let mut old = tilldesk::store::pulled::PulledOrder {
        out_trade_no: "TDAGAIN-OLD".into(),
        trade_no: Some("2026TDAGAIN".into()),
        store_id: till.store_id,
        acquirer_id: mine.acquirer_id,
        source: tilldesk::model::OrderSource::Barcode,
        subject: "旧订单".into(),
        total_amount: Amount::from_fen(300),
        status: OrderStatus::Paid,
        auth_code_masked: None,
        created_at: "2026-11-01T02:00:00.000000Z".into(),
        paid_at: None,
        acquirer_merchant_id: None,
        terminal_id: None,
        refunds: Vec::new(),
    };
    own_order(&mut store, &old);
    rusqlite::Connection::open(&till.db)
        .unwrap()
        .execute("UPDATE orders SET created_at = '2026-11-01 10:00:00' WHERE out_trade_no = 'TDAGAIN-OLD'", [])
        .unwrap();
    old.created_at = "2026-11-01 10:00:00".into();

    // Leaves, and joins again with a new code.
    tilldesk::routing::backend::leave(&mut store, &mut till.vault, None).unwrap();
    let code = backend.backend.add_till("S001", "till again").await.unwrap().code;
    tilldesk::routing::backend::join(&till.db, &mut till.vault, &backend.base_url(), code.expose(), None)
        .await
        .unwrap();
    assert_eq!(tilldesk::routing::history::unsent(&store).unwrap(), 2, "its own orders only");
    let client = tilldesk::routing::backend::client(&store, &till.vault).unwrap().unwrap();
    let sent = tilldesk::routing::history::send(&mut store, &client).await.unwrap();
    assert_eq!((sent.recorded, sent.known, sent.held, sent.kept()), (0, 0, 1, 1), "{sent:?}");
    assert_eq!(store.orders().history_answer(mine.id).unwrap().as_deref(), Some("held"));
    // The malformed one: refused on its own, with its field; kept here, not sent again.
    assert_eq!(sent.invalid.len(), 1);
    assert_eq!(sent.invalid[0].0, "TDAGAIN-OLD");
    assert!(sent.invalid[0].1.contains("created_at") && sent.invalid[0].1.contains("UTC time"), "{:?}", sent.invalid);
    assert!(backend_order(backend, "TDAGAIN-OLD").await.is_none(), "nothing written of it");
    assert_eq!(store.orders().history_kept().unwrap(), 1);
    assert_eq!(tilldesk::routing::history::unsent(&store).unwrap(), 0);
    let old_here = store.orders().order_by_out_trade_no(&old.out_trade_no).unwrap().unwrap();
    assert!(tilldesk::routing::history::taken_before_joining(&store, &old_here).unwrap());
    assert!(!tilldesk::routing::history::taken_before_joining(&store, &mine).unwrap());
    assert!(!tilldesk::routing::history::taken_before_joining(&store, &copied).unwrap());

    // Refunded through the backend as before (the till's new link).
    till.router = tilldesk::routing::backend::router(&store, &till.vault).unwrap().expect("enrolled");
    let owner = store.staff_mut().add_operator("会计 Wu", tilldesk::model::Role::BackOffice, "246801", None).unwrap();
    let refund = till.desk().refund(&owner, &mine.out_trade_no, Amount::from_fen(200), "退一点").await.unwrap();
    assert_eq!(refund.status, RefundStatus::Success);
    let at_backend = backend_order(backend, &mine.out_trade_no).await.unwrap();
    assert_eq!((at_backend.status, at_backend.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 200));

    // A page with a malformed order: that one `invalid`, with its field; the other recorded, in the same page.
    let acquirers = tilldesk::routing::history::acquirer_refs(&store).unwrap();
    let feed = |no: &str, created_at: &str| {
        let mut o = tilldesk::channel::backend::api::FeedOrder::of(
            mine.clone(),
            Vec::new(),
            acquirers[&mine.acquirer_id].clone(),
            Some("S001".into()),
            None,
            0,
        );
        o.out_trade_no = no.into();
        o.created_at = created_at.into();
        o
    };
    let page =
        HistoryRequest { orders: vec![feed("TDAGAIN0001", "2026-12-01T02:00:00Z"), feed("TDAGAIN0002", "yesterday")] };
    let answer = client.send_history(&page).await.unwrap();
    assert_eq!(answer.results[0].outcome, HistoryOutcome::Recorded);
    assert_eq!(answer.results[1].outcome, HistoryOutcome::Invalid);
    let detail = answer.results[1].detail.as_deref().unwrap_or_default();
    assert!(detail.contains("orders[1].created_at") && detail.contains("UTC time"), "{detail}");
    assert!(backend_order(backend, "TDAGAIN0002").await.is_none(), "nothing written of it");
    assert!(backend_order(backend, "TDAGAIN0001").await.is_some());
}

/// A till that took a payment store-direct with an account the backend holds too (the same sandbox merchant), then
/// joined, its history not sent yet: the refund desk sends it first, and the refund goes through the backend, which
/// asks the acquirer whether its account holds the trade and, as it does, refunds it there. A history order the
/// acquirer does not know is refused (the till says why and keeps a FAILED refund). Returns the payment's
/// out_trade_no and the refund's out_request_no.
pub async fn history_with_the_backends_account_is_refunded_through_it(
    backend: &RunningBackend,
    parent: &Path,
    sandbox: &tilldesk::sandbox::RunningSandbox,
    code: &str,
) -> (String, String) {
    use tilldesk::model::{OrderStatus, RefundStatus};
    use tilldesk::refund::RefundError;
    use tilldesk::store::refunds::RefundRefused;

    let dir = parent.join("till-same-account");
    let db = dir.join(tilldesk::config::DATABASE_FILE);
    drop(tilldesk::config::DataHome::open(&dir).unwrap());
    let mut store = Store::open(&db).unwrap();
    tilldesk::sandbox::till::prepare(&mut store).unwrap();
    let direct = tilldesk::sandbox::till::router(&store, &sandbox.state.accounts(), &sandbox.base_url()).unwrap();
    let store_id = tilldesk::config::this_till(&mut store).unwrap().store_id;
    let mut vault = Vault::unlock(&dir, "till passphrase").unwrap();
    let till = Till {
        dir: dir.clone(),
        db: db.clone(),
        vault: Vault::unlock(&dir, "till passphrase").unwrap(),
        router: direct,
        store_id,
    };
    let (paid, outcome) = till.pay(code, 2500).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let stranger = tilldesk::store::pulled::PulledOrder {
        out_trade_no: "TDSTRANGER01".into(),
        trade_no: Some("2026STRANGER".into()),
        store_id,
        acquirer_id: paid.acquirer_id,
        source: tilldesk::model::OrderSource::Barcode,
        subject: "别的账户".into(),
        total_amount: Amount::from_fen(900),
        status: OrderStatus::Paid,
        auth_code_masked: None,
        created_at: "2026-12-01T02:00:00.000000Z".into(),
        paid_at: Some("2026-12-01T02:00:01.000000Z".into()),
        acquirer_merchant_id: None,
        terminal_id: None,
        refunds: Vec::new(),
    };
    own_order(&mut store, &stranger);

    let code = backend.backend.add_till("S001", "till same account").await.unwrap().code;
    tilldesk::routing::backend::join(&db, &mut vault, &backend.base_url(), code.expose(), None).await.unwrap();
    // The history has not gone up yet (as when the backend could not be reached at joining): the refund desk sends
    // it first, so the refund is decided by what the backend holds.
    assert_eq!(tilldesk::routing::history::unsent(&store).unwrap(), 2);
    let till =
        Till { router: tilldesk::routing::backend::router(&store, &vault).unwrap().expect("enrolled"), vault, ..till };
    let clerk = store.staff_mut().add_operator("会计 Qi", tilldesk::model::Role::BackOffice, "246803", None).unwrap();

    // The backend's account holds the payment: refunded through it.
    let refund = till.desk().refund(&clerk, &paid.out_trade_no, Amount::from_fen(1000), "退一半").await.unwrap();
    assert_eq!(refund.status, RefundStatus::Success);
    assert_eq!(tilldesk::routing::history::unsent(&store).unwrap(), 0, "sent up before the refund");
    assert_eq!(store.orders().history_answer(paid.id).unwrap().as_deref(), Some("recorded"));
    assert_eq!(store.orders().history_kept().unwrap(), 0);
    let here = store.orders().order_by_out_trade_no(&paid.out_trade_no).unwrap().unwrap();
    assert_eq!((here.status, here.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 1000));
    let there = backend_order(backend, &paid.out_trade_no).await.unwrap();
    assert_eq!((there.status, there.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 1000));

    // One the acquirer does not know: refused, said as the till says it.
    let e = till.desk().refund(&clerk, "TDSTRANGER01", Amount::from_fen(100), "退一点").await.unwrap_err();
    assert!(matches!(&e, RefundError::Refused(RefundRefused::TakenBeforeJoining { .. })), "{e:?}");
    let stranger = store.orders().order_by_out_trade_no("TDSTRANGER01").unwrap().unwrap();
    let refunds = store.refunds().refunds_of(stranger.id).unwrap();
    assert_eq!(refunds.iter().map(|r| r.status).collect::<Vec<_>>(), [RefundStatus::Failed]);
    assert_eq!(backend_order(backend, "TDSTRANGER01").await.unwrap().refunded_amount.fen(), 0);
    (paid.out_trade_no, refund.out_request_no)
}

/// The backend's order `out_trade_no`, from whichever engine it runs on.
pub async fn backend_order(backend: &RunningBackend, out_trade_no: &str) -> Option<tilldesk::model::Order> {
    match backend.backend.postgres() {
        Some(pg) => pg.order_by_out_trade_no(out_trade_no).await.unwrap(),
        None => Store::open(&backend.backend.db_path()).unwrap().orders().order_by_out_trade_no(out_trade_no).unwrap(),
    }
}
