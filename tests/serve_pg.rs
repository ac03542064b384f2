//! The merchant backend on PostgreSQL (issue 23 phase 2), end to end on loopback: backends on a PostgreSQL schema of
//! their own (random name, dropped at the end) with the sandbox's accounts, tills calling the till API, two instances
//! on one database. Reads `TILLDESK_TEST_DATABASE_URL` (`.ci/run` sets it to the machine's PostgreSQL); without it
//! every test says it was skipped and passes.

mod till_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use tilldesk::channel::backend::BackendClient;
use tilldesk::channel::backend::api::{self, ApiError, PayAnswer, RefundAnswer, RefundState};
use tilldesk::checkout::{Checkout, CheckoutSettings, ManualClock, Outcome, PaymentInput, SystemClock};
use tilldesk::model::{AcquirerKind, OrderStatus, RefundStatus, Role, StoreId};
use tilldesk::money::Amount;
use tilldesk::routing::Router;
use tilldesk::sandbox::{self, RunningSandbox};
use tilldesk::secrets::{Secret, Vault};
use tilldesk::serve::{Backend, RunningBackend, StartOptions};
use tilldesk::store::Store;
use tilldesk::store::orders::NewOrder;
use tilldesk::store::pg::{PgStore, SCHEMA_VERSION};

/// Alipay payment codes the sandbox pays at once (last four digits 0000).
const CODE_A: &str = "286000123456780000";
const CODE_B: &str = "286000987654320000";

/// The test database's URL, or None (and a line saying so) when it is not set.
fn database_url() -> Option<String> {
    match std::env::var("TILLDESK_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!("skipped: TILLDESK_TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// A schema of the test's own, dropped when the test ends (even when it fails).
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    async fn new(url: &str) -> Schema {
        let bytes: [u8; 8] = rand::random();
        let name = format!("tilldesk_test_{}", hex::encode(bytes));
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
        Schema { url: url.to_owned(), name }
    }

    async fn open(&self) -> PgStore {
        PgStore::open(&self.url, Some(&self.name)).await.unwrap()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A runtime of its own on a thread of its own: the test's may be shutting down.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(conn);
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// A sandbox and one data folder whose catalogue (stores, accounts, routes) is the sandbox's.
struct World {
    dir: tempfile::TempDir,
    sandbox: RunningSandbox,
    schema: Schema,
    router: Router,
    http: reqwest::Client,
}

async fn world(url: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let accounts = sandbox.state.accounts();
    let home = dir.path().join("backend");
    std::fs::create_dir_all(&home).unwrap();
    let mut store = Store::open(&home.join(tilldesk::serve::DATABASE_FILE)).unwrap();
    sandbox::till::prepare(&mut store).unwrap();
    let router = sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
    let schema = Schema::new(url).await;
    World { dir, sandbox, schema, router, http: reqwest::Client::new() }
}

impl World {
    fn home(&self) -> std::path::PathBuf {
        self.dir.path().join("backend")
    }

    /// A backend instance on the world's schema (not yet serving HTTP).
    async fn backend(&self) -> Backend {
        let home = self.home();
        let catalogue = home.join(tilldesk::serve::DATABASE_FILE);
        Backend::open_postgres(&self.schema.url, Some(&self.schema.name), &catalogue, &home)
            .await
            .unwrap()
            .serving(self.router.clone())
    }

    /// An instance serving the till API on 127.0.0.1:0 (no recovery loop: the tests run passes themselves).
    async fn instance(&self) -> RunningBackend {
        self.serve(self.backend().await).await
    }

    async fn serve(&self, backend: Backend) -> RunningBackend {
        let options = StartOptions { sync: None, recover: false, tls: None };
        let store = Store::open(&self.home().join(tilldesk::serve::DATABASE_FILE)).unwrap();
        let accounts = self.sandbox.state.accounts();
        let notify = sandbox::till::notify_keys(&store, &accounts, &self.sandbox.base_url()).unwrap();
        tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options).await.unwrap()
    }

    async fn trades(&self, out_trade_no: &str) -> usize {
        self.ledger_count("trades", "out_trade_no", out_trade_no).await
    }

    /// Trades of `out_trade_no` the acquirer holds as paid.
    async fn paid_trades(&self, out_trade_no: &str) -> usize {
        let url = format!("{}/admin/ledger", self.sandbox.base_url());
        let ledger: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        let trades = ledger["trades"].as_array().unwrap().iter();
        trades.filter(|t| t["out_trade_no"] == out_trade_no && t["status"] == "PAID").count()
    }

    async fn refunds(&self, out_request_no: &str) -> usize {
        self.ledger_count("refunds", "out_request_no", out_request_no).await
    }

    async fn ledger_count(&self, list: &str, field: &str, value: &str) -> usize {
        let url = format!("{}/admin/ledger", self.sandbox.base_url());
        let ledger: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        ledger[list].as_array().unwrap().iter().filter(|t| t[field] == value).count()
    }
}

/// A till enrolled with `backend` (by the API), as a client.
async fn till(backend: &RunningBackend, name: &str) -> BackendClient {
    let code = backend.backend.add_till("S001", name).await.unwrap().code;
    let enrolled = BackendClient::enrol(&backend.base_url(), code.expose()).await.unwrap();
    BackendClient::new(&backend.base_url(), Secret::from(enrolled.token)).unwrap()
}

/// The same till's token against another instance.
fn same_till_at(other: &RunningBackend, token: &str) -> BackendClient {
    BackendClient::new(&other.base_url(), Secret::from(token.to_owned())).unwrap()
}

/// Two instances on the world's schema, one till enrolled (a client of it at each), and the chain's first owner.
struct Pair {
    a: RunningBackend,
    b: RunningBackend,
    token: String,
    at_a: BackendClient,
    at_b: BackendClient,
    owner: api::SignInRequest,
}

async fn pair_with_owner(w: &World) -> Pair {
    let (a, b) = tokio::join!(w.instance(), w.instance());
    let code = a.backend.add_till("S001", "till 1").await.unwrap().code;
    let token = BackendClient::enrol(&a.base_url(), code.expose()).await.unwrap().token;
    let (at_a, at_b) = (same_till_at(&a, &token), same_till_at(&b, &token));
    let owner = api::SignInRequest { name: "老板 Li".into(), pin: "246810".into() };
    let first =
        api::AddOperatorRequest { by: None, name: owner.name.clone(), role: Role::Owner, pin: owner.pin.clone() };
    at_a.add_operator(&first).await.unwrap();
    Pair { a, b, token, at_a, at_b, owner }
}

fn pay_request(no: &str, code: &str, amount: &str) -> api::PayRequest {
    api::PayRequest {
        out_trade_no: no.into(),
        auth_code: code.into(),
        amount: amount.into(),
        subject: "连锁门店".into(),
        terminal_id: None,
        operator_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_safe_with_two_openers_at_once() {
    let Some(url) = database_url() else { return };
    let schema = Schema::new(&url).await;
    let (a, b) = tokio::join!(schema.open(), schema.open());
    assert_eq!(a.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(b.schema_version().await.unwrap(), SCHEMA_VERSION);
    let again = schema.open().await;
    assert_eq!(again.schema_version().await.unwrap(), SCHEMA_VERSION);
    let tables = again.table_counts().await.unwrap();
    assert!(tables.iter().any(|(t, n)| *t == "orders" && *n == 0), "{tables:?}");
    // Applied once: one row per migration.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let rows: i64 =
        client.query_one(&format!("SELECT COUNT(*) FROM {}.schema_migrations", schema.name), &[]).await.unwrap().get(0);
    assert_eq!(rows, i64::from(SCHEMA_VERSION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_enrols_pays_queries_and_refunds_through_the_api_on_postgres() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let backend = w.instance().await;
    assert!(backend.backend.on_postgres());
    let till = till(&backend, "till 1").await;

    let paid = till.pay(&pay_request("TDPG0001", CODE_A, "12.34")).await.unwrap();
    assert!(matches!(paid.answer, PayAnswer::Paid { .. }), "{paid:?}");
    assert_eq!((paid.order_status, paid.replayed), (OrderStatus::Paid, false));
    // Asked again (a till that lost the answer): the original result, nothing sent.
    let again = till.pay(&pay_request("TDPG0001", CODE_A, "12.34")).await.unwrap();
    assert_eq!((again.order_status, again.replayed), (OrderStatus::Paid, true));
    let taken = till.pay(&pay_request("TDPG0001", CODE_A, "99.00")).await.unwrap_err();
    assert!(matches!(taken.api(), Some(ApiError::OutTradeNoTaken { .. })), "{taken}");
    assert_eq!(w.trades("TDPG0001").await, 1);

    let queried = till.query("TDPG0001").await.unwrap();
    assert_eq!(queried.order_status, Some(OrderStatus::Paid));

    let refund = api::RefundRequest {
        out_trade_no: "TDPG0001".into(),
        out_request_no: "TDPG0001-R1".into(),
        refund_amount: "2.34".into(),
        reason: "退货".into(),
    };
    let refunded = till.refund(&refund).await.unwrap();
    assert!(matches!(refunded.answer, RefundAnswer::Accepted { state: RefundState::Success, .. }), "{refunded:?}");
    assert_eq!((refunded.refund_status, refunded.replayed), (Some(RefundStatus::Success), false));
    let replay = till.refund(&refund).await.unwrap();
    assert_eq!((replay.refund_status, replay.replayed), (Some(RefundStatus::Success), true));
    assert_eq!(w.refunds("TDPG0001-R1").await, 1);
    let status = till.refund_query("TDPG0001", "TDPG0001-R1").await.unwrap();
    assert_eq!(status.refund_status, Some(RefundStatus::Success));
    // More than what is left is refused with the amount that is left.
    let too_much = api::RefundRequest { out_request_no: "TDPG0001-R2".into(), refund_amount: "10.01".into(), ..refund };
    let e = till.refund(&too_much).await.unwrap_err();
    assert!(
        matches!(e.api(), Some(ApiError::RefundRefused { reason, refundable: Some(left) }) if reason == "too_much" && left == "10.00"),
        "{e}"
    );

    // The feed carries the order with its refund, as PARTIALLY_REFUNDED, with fen as money.
    let feed = till.orders_since(0, 50).await.unwrap();
    let order = feed.orders.iter().find(|o| o.out_trade_no == "TDPG0001").expect("in the feed");
    assert_eq!(
        (order.status, order.total_amount.as_str(), order.refunded_amount.as_str()),
        (OrderStatus::PartiallyRefunded, "12.34", "2.34")
    );
    assert_eq!(order.refunds.len(), 1);
    assert_eq!(order.store_code.as_deref(), Some("S001"));
    assert!(till.orders_since(feed.next, 50).await.unwrap().orders.is_empty(), "nothing after the head");

    // A cancel before the payment arrives closes the number for good.
    let cancelled = till.cancel("TDPG0002").await.unwrap();
    assert_eq!(cancelled.order_status, None);
    let late = till.pay(&pay_request("TDPG0002", CODE_B, "1.00")).await.unwrap_err();
    assert!(matches!(late.api(), Some(ApiError::OrderClosed { .. })), "{late}");
    assert_eq!(w.trades("TDPG0002").await, 0);
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tills_own_engine_pays_through_a_backend_on_postgres() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let backend = w.instance().await;
    let code = backend.backend.add_till("S001", "front till").await.unwrap().code;
    let dir = w.dir.path().join("front-till");
    let db = dir.join(tilldesk::config::DATABASE_FILE);
    drop(tilldesk::config::DataHome::open(&dir).unwrap());
    let mut vault = Vault::unlock(&dir, "till passphrase").unwrap();
    tilldesk::routing::backend::join(&db, &mut vault, &backend.base_url(), code.expose(), None).await.unwrap();
    let mut store = Store::open(&db).unwrap();
    let router = tilldesk::routing::backend::router(&store, &vault).unwrap().expect("enrolled");
    let store_id: StoreId = tilldesk::config::this_till(&mut store).unwrap().store_id;
    let engine = Checkout::new(store, router, Arc::new(SystemClock), CheckoutSettings::default());
    let input = PaymentInput {
        amount: Amount::from_fen(880),
        auth_code: CODE_B.into(),
        subject: "连锁门店".into(),
        store_id,
        operator_id: None,
        terminal_id: None,
    };
    let (order, outcome) = engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap();
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let at_backend = backend.backend.tills().await.unwrap();
    assert!(at_backend[0].last_contact_at.is_some());
    assert_eq!(w.trades(&order.out_trade_no).await, 1);
    backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_out_trade_no_sent_to_two_instances_at_once_is_charged_once() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let (a, b) = tokio::join!(w.instance(), w.instance());
    assert_ne!(a.backend.instance(), b.backend.instance());
    let code = a.backend.add_till("S001", "till 1").await.unwrap().code;
    let enrolled = BackendClient::enrol(&a.base_url(), code.expose()).await.unwrap();
    let at_a = same_till_at(&a, &enrolled.token);
    let at_b = same_till_at(&b, &enrolled.token);
    for n in 0..5 {
        let no = format!("TDPGRACE{n:04}");
        let req = pay_request(&no, CODE_A, "5.00");
        let (x, y) = tokio::join!(at_a.pay(&req), at_b.pay(&req));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(u8::from(!x.replayed) + u8::from(!y.replayed), 1, "one instance sent it: {x:?} {y:?}");
        assert_eq!(w.trades(&no).await, 1, "charged once");
        // Whichever answered first, asking again at either instance says PAID.
        let settled = at_b.query(&no).await.unwrap();
        assert_eq!(settled.order_status, Some(OrderStatus::Paid));
        // The same refund number at both instances at once: refunded once, the order refunded in full once.
        let refund = api::RefundRequest {
            out_trade_no: no.clone(),
            out_request_no: format!("{no}-R1"),
            refund_amount: "5.00".into(),
            reason: "退货".into(),
        };
        let (x, y) = tokio::join!(at_a.refund(&refund), at_b.refund(&refund));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(u8::from(!x.replayed) + u8::from(!y.replayed), 1, "one wrote it: {x:?} {y:?}");
        assert_eq!(w.refunds(&refund.out_request_no).await, 1, "refunded once");
        let done = at_a.refund(&refund).await.unwrap();
        assert_eq!(done.refund_status, Some(RefundStatus::Success));
        assert_eq!(at_b.query(&no).await.unwrap().order_status, Some(OrderStatus::Refunded));
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_work_is_recovered_by_exactly_one_of_two_instances() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let (a, b) = tokio::join!(w.backend(), w.backend());
    let pg = w.schema.open().await;
    let till = a.add_till("S001", "till 1").await.unwrap().till;
    let store = Store::open(&w.home().join(tilldesk::serve::DATABASE_FILE)).unwrap();
    let alipay = store.setup().acquirers().unwrap().into_iter().find(|x| x.kind == AcquirerKind::Alipay).unwrap();
    let shop = store.setup().store_by_code("S001").unwrap().unwrap();
    let channel = w.router.route(&store, shop.id, tilldesk::routing::wallet_of(CODE_A).unwrap()).unwrap().channel;
    // An instance that died mid-payment: orders written ahead, leased to it until a minute ago; half of them reached
    // the acquirer (and were paid), half never did.
    let dead_until = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let mut numbers = Vec::new();
    for n in 0..8 {
        let no = format!("TDPGDEAD{n:04}");
        let new = NewOrder {
            out_trade_no: no.clone(),
            store_id: shop.id,
            acquirer_id: alipay.id,
            operator_id: None,
            subject: "x".into(),
            total_amount: Amount::from_fen(300 + n),
            auth_code_masked: "286000******0000".into(),
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        pg.begin_till_order(till.id, &new, "dead-instance", dead_until).await.unwrap();
        if n % 2 == 0 {
            let request = tilldesk::channel::PayRequest {
                out_trade_no: no.clone(),
                auth_code: CODE_A.into(),
                amount: new.total_amount,
                subject: "x".into(),
                store_id: Some("S001".into()),
                terminal_id: None,
                operator_id: None,
            };
            assert!(matches!(channel.pay(&request).await, tilldesk::channel::PayResult::Paid(_)));
        }
        numbers.push(no);
    }
    // One still leased to a live instance: neither touches it.
    let alive = NewOrder { out_trade_no: "TDPGALIVE".into(), ..new_order(shop.id, alipay.id) };
    let live_until = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    pg.begin_till_order(till.id, &alive, "live-instance", live_until).await.unwrap();

    // Refunds of a paid order the dead instance wrote ahead: one it sent before dying, one it never sent.
    let till_api = {
        let running_a = tilldesk::serve::start(
            w.backend().await,
            "127.0.0.1:0".parse().unwrap(),
            tilldesk::sync::notify::NotifyKeys::default(),
            StartOptions::default(),
        )
        .await
        .unwrap();
        let client = self::till(&running_a, "till 2").await;
        let paid = client.pay(&pay_request("TDPGPAID", CODE_B, "20.00")).await.unwrap();
        assert_eq!(paid.order_status, OrderStatus::Paid);
        running_a.stop().await;
        client
    };
    drop(till_api);
    let paid = pg.order_by_out_trade_no("TDPGPAID").await.unwrap().unwrap();
    let mut refund_numbers = Vec::new();
    for (n, sent) in [(1, true), (2, false)] {
        let no = format!("TDPGPAID-R{n}");
        let begun = pg
            .begin_till_refund(till.id, "TDPGPAID", &no, Amount::from_fen(500), "退货", ("dead-instance", dead_until))
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(begun, tilldesk::store::serve::BegunRefund::Created { .. }));
        if sent {
            let request = tilldesk::channel::RefundRequest {
                out_trade_no: "TDPGPAID".into(),
                out_request_no: no.clone(),
                refund_amount: Amount::from_fen(500),
                total_amount: paid.total_amount,
                reason: "退货".into(),
            };
            let refunds = w.router.for_order(&paid).unwrap();
            assert!(matches!(refunds.refund(&request).await, tilldesk::channel::RefundResult::Accepted { .. }));
        }
        refund_numbers.push(no);
    }

    let (x, y) = tokio::join!(a.recover_once(), b.recover_once());
    let (x, y) = (x.unwrap(), y.unwrap());
    let mut refunds_claimed: Vec<&str> = x.refunds.iter().chain(&y.refunds).map(|(no, _)| no.as_str()).collect();
    refunds_claimed.sort_unstable();
    assert_eq!(refunds_claimed, ["TDPGPAID-R1", "TDPGPAID-R2"], "each claimed once: {x:?} {y:?}");
    for no in &refund_numbers {
        let refund = pg.refund_by_out_request_no(no).await.unwrap().unwrap();
        assert_eq!(refund.status, RefundStatus::Success, "{no}");
        assert_eq!(w.refunds(no).await, 1, "{no} refunded once");
    }
    let paid = pg.order_by_out_trade_no("TDPGPAID").await.unwrap().unwrap();
    assert_eq!((paid.status, paid.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 1000));
    let mut claimed: Vec<&str> = x.orders.iter().chain(&y.orders).map(|(no, _)| no.as_str()).collect();
    claimed.sort_unstable();
    assert_eq!(claimed, numbers.iter().map(String::as_str).collect::<Vec<_>>(), "each claimed once: {x:?} {y:?}");
    for (n, no) in numbers.iter().enumerate() {
        let order = pg.order_by_out_trade_no(no).await.unwrap().unwrap();
        let expected = if n % 2 == 0 { OrderStatus::Paid } else { OrderStatus::Cancelled };
        assert_eq!(order.status, expected, "{no}");
        // Paid ones once; the others were never charged (the cancel of nothing leaves a closed placeholder).
        assert_eq!(w.paid_trades(no).await, usize::from(n % 2 == 0), "{no}");
    }
    let alive = pg.order_by_out_trade_no("TDPGALIVE").await.unwrap().unwrap();
    assert_eq!(alive.status, OrderStatus::Paying, "leased to a live instance");
    // Nothing left: a second pass claims nothing.
    let (x, y) = tokio::join!(a.recover_once(), b.recover_once());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(x.orders.is_empty() && y.orders.is_empty() && x.refunds.is_empty() && y.refunds.is_empty());
}

fn new_order(store_id: StoreId, acquirer_id: tilldesk::model::AcquirerId) -> NewOrder {
    NewOrder {
        out_trade_no: String::new(),
        store_id,
        acquirer_id,
        operator_id: None,
        subject: "x".into(),
        total_amount: Amount::from_fen(100),
        auth_code_masked: "286000******0000".into(),
        acquirer_merchant_id: None,
        terminal_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_revoked_at_one_instance_is_refused_at_the_other() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let (a, b) = tokio::join!(w.instance(), w.instance());
    let code = a.backend.add_till("S001", "till 1").await.unwrap().code;
    let enrolled = BackendClient::enrol(&a.base_url(), code.expose()).await.unwrap();
    // The code works once, on any instance.
    let again = BackendClient::enrol(&b.base_url(), code.expose()).await.unwrap_err();
    assert_eq!(again.api(), Some(&ApiError::EnrolmentCodeUsed));
    let at_b = same_till_at(&b, &enrolled.token);
    assert_eq!(at_b.till().await.unwrap().till_name, "till 1");
    let revoked = a.backend.revoke("till 1").await.unwrap();
    assert!(revoked.is_revoked());
    let e = at_b.pay(&pay_request("TDPGREV1", CODE_A, "1.00")).await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::Revoked));
    assert_eq!(w.trades("TDPGREV1").await, 0);
    let tills = b.backend.tills().await.unwrap();
    assert!(tills[0].revoked_at.is_some() && tills[0].enrolled_at.is_some());
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_at_any_instance_and_lists_are_scoped_by_role() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let Pair { a, b, token, at_a, at_b, owner } = pair_with_owner(&w).await;
    // Only the first owner comes without `by`.
    let first =
        api::AddOperatorRequest { by: None, name: owner.name.clone(), role: Role::Owner, pin: owner.pin.clone() };
    let e = at_b.add_operator(&first).await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::SignInRequired));
    let cashier = api::AddOperatorRequest {
        by: Some(owner.clone()),
        name: "收银 Wang".into(),
        role: Role::Cashier,
        pin: "1357".into(),
    };
    let added = at_b.add_operator(&cashier).await.unwrap();
    assert_eq!(added.operators.len(), 2);
    let taken = at_a.add_operator(&cashier).await.unwrap_err();
    assert!(matches!(taken.api(), Some(ApiError::OperatorTaken { .. })), "{taken}");

    // The cashier signs in at one instance; the session works at the other.
    let signed = at_a.sign_in(&api::SignInRequest { name: "收银 Wang".into(), pin: "1357".into() }).await.unwrap();
    let cashier_at_b = same_till_at(&b, &token).with_session(Secret::from(signed.session.clone()));
    cashier_at_b.pay(&pay_request("TDPGSTAFF1", CODE_A, "3.00")).await.unwrap();
    at_a.pay(&pay_request("TDPGSTAFF2", CODE_B, "4.00")).await.unwrap();
    let own = cashier_at_b.order_list(&api::FeedQuery::default()).await.unwrap();
    assert_eq!(own.orders.iter().map(|o| o.out_trade_no.as_str()).collect::<Vec<_>>(), ["TDPGSTAFF1"]);
    let boss = at_b.sign_in(&owner).await.unwrap();
    let owner_at_a = same_till_at(&a, &token).with_session(Secret::from(boss.session));
    let all = owner_at_a.order_list(&api::FeedQuery { limit: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(all.orders[0].out_trade_no, "TDPGSTAFF2", "newest first");
    let next = all.next.clone().expect("a second page");
    let page = owner_at_a.order_list(&api::FeedQuery { after: Some(next), ..Default::default() }).await.unwrap();
    assert_eq!(page.orders.iter().map(|o| o.out_trade_no.as_str()).collect::<Vec<_>>(), ["TDPGSTAFF1"]);
    let refund = api::RefundRequest {
        out_trade_no: "TDPGSTAFF1".into(),
        out_request_no: "TDPGSTAFF1-R1".into(),
        refund_amount: "1.00".into(),
        reason: "退货".into(),
    };
    owner_at_a.refund(&refund).await.unwrap();
    let refunds = owner_at_a.refund_list(&api::RefundListQuery::default()).await.unwrap();
    assert_eq!(refunds.refunds.len(), 1);
    assert_eq!((refunds.refunds[0].store_code.as_str(), refunds.refunds[0].refund_amount.as_str()), ("S001", "1.00"));
    // Without a session the lists are refused.
    let e = at_a.order_list(&api::FeedQuery::default()).await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::SignInRequired));

    // Wrong PINs lock the operator out, whichever instance they are tried at.
    let wrong = api::SignInRequest { name: "收银 Wang".into(), pin: "0000".into() };
    for n in 0..5 {
        let client = if n % 2 == 0 { &at_a } else { &at_b };
        let e = client.sign_in(&wrong).await.unwrap_err();
        let expected_lock = n == 4;
        assert_eq!(matches!(e.api(), Some(ApiError::LockedOut { .. })), expected_lock, "try {n}: {e}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_stopped_mid_payment_is_taken_over_by_the_other_once_its_lease_ends() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let a = w.serve(w.backend().await.with_clock(clock.clone())).await;
    let b = w.serve(w.backend().await.with_clock(clock.clone())).await;
    let code = a.backend.add_till("S001", "till 1").await.unwrap().code;
    let enrolled = BackendClient::enrol(&a.base_url(), code.expose()).await.unwrap();
    let at_a = same_till_at(&a, &enrolled.token);
    // The customers must enter a password: one pays at once after, one never does. Instance A answers "waiting"
    // and is gone before it learns more.
    let pays = at_a.pay(&pay_request("TDPGMID1", "2860001234560100", "7.00")).await.unwrap();
    let never = at_a.pay(&pay_request("TDPGMID2", "2860001234560200", "8.00")).await.unwrap();
    assert!(matches!(pays.answer, PayAnswer::Waiting { .. }) && matches!(never.answer, PayAnswer::Waiting { .. }));
    a.stop().await;

    // While A's lease runs, B leaves its payments alone; after it, B finishes each once.
    let early = b.backend.recover_once().await.unwrap();
    assert!(early.orders.is_empty(), "{early:?}");
    clock.advance(std::time::Duration::from_secs(3 * 60));
    let done = b.backend.recover_once().await.unwrap();
    let mut done = done.orders;
    done.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(done, [("TDPGMID1".to_owned(), OrderStatus::Paid), ("TDPGMID2".to_owned(), OrderStatus::Cancelled)]);
    assert_eq!((w.paid_trades("TDPGMID1").await, w.paid_trades("TDPGMID2").await), (1, 0));

    // The till, asking B with the same numbers, gets the outcome; nothing is sent again.
    let at_b = same_till_at(&b, &enrolled.token);
    let again = at_b.pay(&pay_request("TDPGMID1", "2860001234560100", "7.00")).await.unwrap();
    assert_eq!((again.order_status, again.replayed), (OrderStatus::Paid, true));
    assert!(matches!(again.answer, PayAnswer::Paid { .. }));
    let closed = at_b.query("TDPGMID2").await.unwrap();
    assert_eq!(closed.order_status, Some(OrderStatus::Cancelled));
    assert_eq!(w.trades("TDPGMID1").await, 1);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_moves_on_postgresql_follow_the_same_tables_as_on_sqlite() {
    use tilldesk::store::transitions::{OrderMove, OrderMoved, PaidFacts};
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let backend = w.backend().await;
    let pg = w.schema.open().await;
    let till = backend.add_till("S001", "till 1").await.unwrap().till;
    let lease = time::OffsetDateTime::now_utc();
    let write = |no: &str| NewOrder {
        out_trade_no: no.into(),
        total_amount: Amount::from_fen(500),
        ..new_order(till.store_id, tilldesk::model::AcquirerId(1))
    };
    let begun = |b: tilldesk::store::serve::Begun| match b {
        tilldesk::store::serve::Begun::Created(o) => o,
        other => panic!("{other:?}"),
    };

    // A cancel on its way: the order never becomes PAID (the cancel returns the money).
    let order = begun(pg.begin_till_order(till.id, &write("TDPGMOVE1"), "t", lease).await.unwrap());
    let cancelling = OrderMove::to(OrderStatus::Cancelling, "cancel", "x");
    assert!(matches!(pg.move_order(order.id, &cancelling).await.unwrap(), OrderMoved::Moved { .. }));
    let facts = PaidFacts { amount: Some(Amount::from_fen(500)), ..Default::default() };
    let paid = OrderMove::paid("paid", "late", Some("T1"), None, facts);
    let refused = pg.move_order(order.id, &paid).await.unwrap();
    assert_eq!(refused, OrderMoved::Refused { from: OrderStatus::Cancelling, to: OrderStatus::Paid });
    assert_eq!(pg.order(order.id).await.unwrap().unwrap().status, OrderStatus::Cancelling);
    let events = pg.order_events(order.id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "paid_refused"), "the refusal is on the timeline: {events:?}");

    // The acquirer's figures differ: NEEDS_ATTENTION with both, never PAID.
    let order = begun(pg.begin_till_order(till.id, &write("TDPGMOVE2"), "t", lease).await.unwrap());
    let short = PaidFacts { amount: Some(Amount::from_fen(499)), ..Default::default() };
    let moved = pg.move_order(order.id, &OrderMove::paid("paid", "x", Some("T2"), None, short)).await.unwrap();
    assert!(matches!(moved, OrderMoved::Mismatch { .. }), "{moved:?}");
    assert_eq!(pg.order(order.id).await.unwrap().unwrap().status, OrderStatus::NeedsAttention);

    // A refund confirmed twice counts once; the order follows.
    let order = begun(pg.begin_till_order(till.id, &write("TDPGMOVE3"), "t", lease).await.unwrap());
    let paid_at = tilldesk::time::now_utc();
    let paid = OrderMove::paid("paid", "x", Some("T3"), Some(&paid_at), facts);
    pg.move_order(order.id, &paid).await.unwrap();
    let refund = match pg
        .begin_till_refund(till.id, "TDPGMOVE3", "TDPGMOVE3-R1", Amount::from_fen(500), "退货", ("t", lease))
        .await
        .unwrap()
        .unwrap()
    {
        tilldesk::store::serve::BegunRefund::Created { refund, .. } => refund,
        other => panic!("{other:?}"),
    };
    for _ in 0..2 {
        pg.move_refund(refund.id, RefundStatus::Success, "refunded").await.unwrap();
    }
    let after = pg.order(order.id).await.unwrap().unwrap();
    assert_eq!((after.status, after.refunded_amount.fen()), (OrderStatus::Refunded, 500));
    assert!(after.paid_at.is_some());
    // A final refund does not move back.
    let back = pg.move_refund(refund.id, RefundStatus::Processing, "late").await.unwrap();
    assert!(matches!(back, tilldesk::store::transitions::RefundMoved::Refused { .. }), "{back:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_code_notification_at_either_instance_is_recorded_once_and_reaches_the_feed() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let (a, b) = tokio::join!(w.instance(), w.instance());
    let till = till(&a, "till 1").await;
    let acc = w.sandbox.state.accounts();
    let mut p =
        till_common::store_code_notice(&acc, "2026112500222100005abcdef", "2026112522001400777", "SCPG0001", "18.00");
    let form = serde_urlencoded::to_string(&p).unwrap();
    let post = |url: String, body: String| {
        let http = w.http.clone();
        async move {
            let request = http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body);
            request.send().await.unwrap().text().await.unwrap()
        }
    };
    // The platform retries at both instances at once: acknowledged by both, recorded once.
    let (x, y) = tokio::join!(post(a.notify_url(), form.clone()), post(b.notify_url(), form.clone()));
    assert_eq!((x.as_str(), y.as_str()), ("success", "success"));
    // A forged one is refused at either.
    p.insert("total_amount".into(), "1800.00".into());
    let forged = post(format!("{}/alipay", b.notify_url()), serde_urlencoded::to_string(&p).unwrap()).await;
    assert_eq!(forged, "failure");

    let pg = w.schema.open().await;
    let order = pg.order_by_out_trade_no("SCPG0001").await.unwrap().expect("recorded");
    assert_eq!(
        (order.status, order.source, order.total_amount.fen()),
        (OrderStatus::Paid, tilldesk::model::OrderSource::StoreCode, 1800)
    );
    let tables = pg.table_counts().await.unwrap();
    let count = |t: &str| tables.iter().find(|(n, _)| *n == t).map(|(_, n)| *n);
    // One verified entry (seen twice) and the forged one.
    assert_eq!((count("orders"), count("notifications")), (Some(1), Some(2)), "{tables:?}");
    // The store's till finds it in its feed.
    let feed = till.orders_since(0, 50).await.unwrap();
    assert!(feed.orders.iter().any(|o| o.out_trade_no == "SCPG0001" && o.status == OrderStatus::Paid), "{feed:?}");
    a.stop().await;
    b.stop().await;
}

/// Two tills, each a data folder of its own enrolled at a different instance of one PostgreSQL backend: a payment
/// at till 1 reaches till 2 in one sync and is refunded there by back office (charged and refunded once at the
/// acquirer), till 1 sees the refund at its next sync; a store-code payment notified to the other instance reaches
/// till 1 in one sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tills_on_two_instances_pay_at_one_refund_at_the_other_and_see_store_code_payments() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let (a, b) = tokio::join!(w.instance(), w.instance());
    let till1 = till_common::join(&a, w.dir.path(), "till 1").await;
    let till2 = till_common::join(&b, w.dir.path(), "till 2").await;
    assert_eq!(till1.vault.names(), ["backend.till_token"], "no acquirer key at a till");

    let (order, outcome) = till1.pay(CODE_A, 2345).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let no = order.out_trade_no.clone();
    assert_eq!(w.trades(&no).await, 1, "the till's out_trade_no goes to the acquirer unchanged");
    let pg = w.schema.open().await;
    assert_eq!(pg.order_by_out_trade_no(&no).await.unwrap().map(|o| o.status), Some(OrderStatus::Paid));

    // Till 2 (at the other instance) sees it after one sync; back office refunds part of it there.
    assert!(till2.store().orders().order_by_out_trade_no(&no).unwrap().is_none());
    let run = till2.sync().await;
    assert!(run.online && run.errors.is_empty(), "{run:?}");
    let seen = till2.store().orders().order_by_out_trade_no(&no).unwrap().expect("pulled");
    assert_eq!((seen.status, seen.total_amount.fen()), (OrderStatus::Paid, 2345));
    let clerk = till2.store().staff_mut().add_operator("会计 Li", Role::BackOffice, "135790", None).unwrap();
    let refund = till2.desk().refund(&clerk, &no, Amount::from_fen(345), "退货").await.unwrap();
    assert_eq!(refund.status, RefundStatus::Success);
    assert_eq!((w.trades(&no).await, w.refunds(&refund.out_request_no).await), (1, 1));
    let at_backend = pg.order_by_out_trade_no(&no).await.unwrap().unwrap();
    assert_eq!((at_backend.status, at_backend.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 345));
    let run = till1.sync().await;
    assert!(run.online && run.errors.is_empty(), "{run:?}");
    let at_till1 = till1.store().orders().order_by_out_trade_no(&no).unwrap().unwrap();
    assert_eq!((at_till1.status, at_till1.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 345));

    // A store-code payment notified to instance b reaches till 1 (enrolled at a) in one sync.
    let acc = w.sandbox.state.accounts();
    let p =
        till_common::store_code_notice(&acc, "2026112600222100009abcdef", "2026112622001400999", "SCPG0009", "26.00");
    let answer = w
        .http
        .post(b.notify_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&p).unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(answer, "success");
    assert!(till1.store().orders().order_by_out_trade_no("SCPG0009").unwrap().is_none());
    let run = till1.sync().await;
    assert!(run.online && run.errors.is_empty(), "{run:?}");
    let seen = till1.store().orders().order_by_out_trade_no("SCPG0009").unwrap().expect("pulled in one sync");
    assert_eq!(
        (seen.status, seen.source, seen.total_amount.fen()),
        (OrderStatus::Paid, tilldesk::model::OrderSource::StoreCode, 2600)
    );
    a.stop().await;
    b.stop().await;
}

/// Adds store `code` (a copy of the default store) to the catalogue file `db`.
fn add_store(db: &std::path::Path, code: &str) {
    let mut store = Store::open(db).unwrap();
    let id = store.setup_mut().default_store().unwrap();
    let mut shop = store.setup().store(id).unwrap().unwrap();
    shop.store_code = code.into();
    shop.name = format!("Store {code}");
    store.setup_mut().add_store(&shop, None).unwrap();
}

fn store_codes(db: &std::path::Path) -> Vec<String> {
    Store::open(db).unwrap().setup().stores().unwrap().into_iter().map(|s| s.store_code).collect()
}

/// The catalogue and the key vault published in the database: two administrators changing it at once never lose a
/// change silently (the second is refused, and its folder starts from the newest version at its next command);
/// many publishers racing from one version make exactly one new version; an instance writes the newest version,
/// vault included, into its folder and its vault opens with the passphrase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_is_published_in_versions_and_a_change_made_meanwhile_is_refused() {
    use tilldesk::serve::DATABASE_FILE;
    use tilldesk::serve::catalogue::{CatalogueError, WorkingCopy, materialize};
    use tilldesk::store::pg::PgError;
    let Some(url) = database_url() else { return };
    let schema = Schema::new(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let begin = |folder: std::path::PathBuf| {
        let schema = (schema.url.clone(), schema.name.clone());
        async move { WorkingCopy::begin(&schema.0, Some(&schema.1), &folder).await.unwrap() }
    };

    // The first change publishes version 1, with the vault.
    let first = begin(one.clone()).await;
    assert_eq!(first.base(), None);
    add_store(&one.join(DATABASE_FILE), "S101");
    Vault::unlock(&one, "correct horse battery").unwrap().put("alipay.app_private_key", "k1").unwrap();
    assert_eq!(first.finish("one").await.unwrap(), Some(1));

    // Both start from version 1 (two's folder is brought to it) and change it.
    let (a, b) = (begin(one.clone()).await, begin(two.clone()).await);
    assert_eq!((a.base(), b.base()), (Some(1), Some(1)));
    assert!(store_codes(&two.join(DATABASE_FILE)).contains(&"S101".to_owned()), "two got version 1");
    assert_eq!(Vault::unlock(&two, "correct horse battery").unwrap().get("alipay.app_private_key"), Some("k1"));
    add_store(&one.join(DATABASE_FILE), "S102");
    add_store(&two.join(DATABASE_FILE), "S201");
    assert_eq!(a.finish("one").await.unwrap(), Some(2));
    let refused = b.finish("two").await.unwrap_err();
    assert!(matches!(refused, CatalogueError::Pg(PgError::CatalogueMoved { found: 2, .. })), "{refused}");
    assert!(refused.to_string().contains("run the command again"), "{refused}");
    // A command that changes nothing publishes nothing.
    assert_eq!(begin(one.clone()).await.finish("one").await.unwrap(), None);
    // Two's next command starts from version 2: one's store is there, its own refused change is not.
    let again = begin(two.clone()).await;
    assert_eq!(again.base(), Some(2));
    let codes = store_codes(&two.join(DATABASE_FILE));
    assert!(codes.contains(&"S102".to_owned()) && !codes.contains(&"S201".to_owned()), "{codes:?}");

    // Eight publishers racing from version 2: one new version.
    let pg = schema.open().await;
    let (_, image) = pg.newest_catalogue().await.unwrap().unwrap();
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let (pg, image) = (pg.clone(), image.clone());
            tokio::spawn(async move { pg.publish_catalogue(Some(2), &image, &format!("racer {n}")).await })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        match r.await.unwrap() {
            Ok(v) => {
                assert_eq!(v, 3);
                won += 1;
            }
            Err(PgError::CatalogueMoved { found: 3, .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(pg.catalogue_versions(10).await.unwrap().len(), 3);

    // An instance's folder: version 3 written once into catalogue/v3, its vault opened with the passphrase.
    let host = dir.path().join("host");
    let m = materialize(&pg, &host).await.unwrap().unwrap();
    assert_eq!(m.version.version, 3);
    assert_eq!(m.dir, host.join("catalogue").join("v3"));
    assert!(store_codes(&m.db).contains(&"S102".to_owned()));
    assert_eq!(Vault::unlock(&m.dir, "correct horse battery").unwrap().get("alipay.app_private_key"), Some("k1"));
    assert!(Vault::unlock(&m.dir, "wrong passphrase").is_err());
    assert_eq!(materialize(&pg, &host).await.unwrap().unwrap().db, m.db, "the same folder again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_change_their_pins_and_are_deactivated_at_any_instance() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let Pair { a, b, token, at_a, at_b, owner } = pair_with_owner(&w).await;
    let add = |by: Option<&api::SignInRequest>, name: &str, role, pin: &str| api::AddOperatorRequest {
        by: by.cloned(),
        name: name.into(),
        role,
        pin: pin.into(),
    };
    at_b.add_operator(&add(Some(&owner), "收银 Wang", Role::Cashier, "1357")).await.unwrap();
    let wang = |pin: &str| api::SignInRequest { name: "收银 Wang".into(), pin: pin.into() };

    // The cashier changes their own PIN at one instance and signs in with it at the other.
    let change = api::ChangePinRequest { by: wang("1357"), name: "收银 Wang".into(), new_pin: "8642".into() };
    let changed = at_a.change_pin(&change).await.unwrap();
    assert_eq!(changed.changed.map(|o| o.name).as_deref(), Some("收银 Wang"));
    assert_eq!(at_b.sign_in(&wang("1357")).await.unwrap_err().api(), Some(&ApiError::NameOrPin));
    let session = at_b.sign_in(&wang("8642")).await.unwrap().session;
    let wang_at_a = same_till_at(&a, &token).with_session(Secret::from(session));
    assert!(wang_at_a.order_list(&api::FeedQuery::default()).await.is_ok());
    // A cashier may neither give someone else a PIN nor deactivate anyone; a bad PIN is refused with the rule.
    let theirs = api::ChangePinRequest { by: wang("8642"), name: "老板 Li".into(), new_pin: "111111".into() };
    assert!(matches!(at_a.change_pin(&theirs).await.unwrap_err().api(), Some(ApiError::NotAllowed { .. })));
    let off = |by: &api::SignInRequest, name: &str, active| api::SetActiveRequest {
        by: by.clone(),
        name: name.into(),
        active,
    };
    let e = at_a.set_operator_active(&off(&wang("8642"), "老板 Li", false)).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::NotAllowed { .. })), "{e}");
    let short = api::ChangePinRequest { by: wang("8642"), name: "收银 Wang".into(), new_pin: "12".into() };
    assert_eq!(at_a.change_pin(&short).await.unwrap_err().api(), Some(&ApiError::PinFormat { min: 4 }));
    // The last owner stays; an unknown name is said so.
    let e = at_b.set_operator_active(&off(&owner, "老板 Li", false)).await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::LastOwner { name: "老板 Li".into() }));
    let e = at_b.set_operator_active(&off(&owner, "nobody", false)).await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::NoSuchOperator { name: "nobody".into() }));

    // Deactivated at one instance: their session opens nothing at the other, they cannot sign in, the list drops
    // them; asked again, the same answer.
    let answer = at_b.set_operator_active(&off(&owner, "收银 Wang", false)).await.unwrap();
    assert_eq!(answer.operators.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["老板 Li"]);
    at_a.set_operator_active(&off(&owner, "收银 Wang", false)).await.unwrap();
    let e = wang_at_a.order_list(&api::FeedQuery::default()).await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::SignInRequired));
    assert_eq!(at_a.sign_in(&wang("8642")).await.unwrap_err().api(), Some(&ApiError::NameOrPin));
    // Reactivated, with a new PIN from the owner (forgotten): signs in again.
    at_a.set_operator_active(&off(&owner, "收银 Wang", true)).await.unwrap();
    let reset = api::ChangePinRequest { by: owner.clone(), name: "收银 Wang".into(), new_pin: "9753".into() };
    at_b.change_pin(&reset).await.unwrap();
    at_a.sign_in(&wang("9753")).await.unwrap();

    // Two owners deactivating each other at the same moment at two instances: one of them stays.
    at_a.add_operator(&add(Some(&owner), "老板 Zhou", Role::Owner, "135790")).await.unwrap();
    let zhou = api::SignInRequest { name: "老板 Zhou".into(), pin: "135790".into() };
    let (li_asks, zhou_asks) = (off(&owner, "老板 Zhou", false), off(&zhou, "老板 Li", false));
    let (one, two) = tokio::join!(at_a.set_operator_active(&li_asks), at_b.set_operator_active(&zhou_asks));
    assert_eq!(usize::from(one.is_ok()) + usize::from(two.is_ok()), 1, "{one:?} {two:?}");
    let owners = at_a.operators().await.unwrap().operators.into_iter().filter(|o| o.role == Role::Owner).count();
    assert_eq!(owners, 1);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_code_is_the_same_at_both_instances_and_closed_by_recovery_only_after_it_expired() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let a = w.serve(w.backend().await.with_clock(clock.clone())).await;
    let b = w.serve(w.backend().await.with_clock(clock.clone())).await;
    let code = a.backend.add_till("S001", "till 1").await.unwrap().code;
    let enrolled = BackendClient::enrol(&a.base_url(), code.expose()).await.unwrap();
    let (at_a, at_b) = (same_till_at(&a, &enrolled.token), same_till_at(&b, &enrolled.token));
    let expires_at = (time::OffsetDateTime::now_utc() + time::Duration::minutes(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let req = |no: &str, wallet| api::PrecreateRequest {
        out_trade_no: no.into(),
        wallet,
        amount: "9.90".into(),
        subject: "连锁门店".into(),
        expires_at: expires_at.clone(),
        terminal_id: None,
        operator_id: None,
    };
    // Made at A; the till, having lost the answer, asks B: the same code, one trade.
    let made = at_a.precreate(&req("TDPGDYN1", tilldesk::model::Wallet::Alipay)).await.unwrap();
    let api::PrecreateAnswer::Created { code: shown } = &made.answer else { panic!("{made:?}") };
    let again = at_b.precreate(&req("TDPGDYN1", tilldesk::model::Wallet::Alipay)).await.unwrap();
    assert_eq!((&again.answer, again.replayed), (&made.answer, true));
    assert_eq!(w.trades("TDPGDYN1").await, 1);
    let unpaid = at_a.precreate(&req("TDPGDYN2", tilldesk::model::Wallet::WechatPay)).await.unwrap();
    assert!(matches!(unpaid.answer, api::PrecreateAnswer::Created { .. }), "{unpaid:?}");
    a.stop().await;

    // The customer pays the first; B's query records it. Recovery leaves the open code alone while it can still
    // be paid (its lease lasts until the code expires), and closes it after — never cancels or reverses it.
    let scanned = w.http.post(format!("{}/simulate/scan", w.sandbox.base_url()));
    let scanned = scanned.json(&serde_json::json!({ "payload": shown })).send().await.unwrap();
    assert_eq!(scanned.status().as_u16(), 200);
    let paid = at_b.query("TDPGDYN1").await.unwrap();
    assert!(matches!(paid.answer, api::QueryAnswer::Paid { .. }), "{paid:?}");
    clock.advance(std::time::Duration::from_secs(3 * 60));
    let early = b.backend.recover_once().await.unwrap();
    assert!(early.orders.is_empty(), "the code is still payable: {early:?}");
    clock.advance(std::time::Duration::from_secs(5 * 60));
    let done = b.backend.recover_once().await.unwrap();
    assert_eq!(done.orders, [("TDPGDYN2".to_owned(), OrderStatus::Closed)]);
    let closed = at_b.query("TDPGDYN2").await.unwrap();
    assert_eq!(closed.order_status, Some(OrderStatus::Closed));
    assert_eq!((w.paid_trades("TDPGDYN1").await, w.paid_trades("TDPGDYN2").await), (1, 0));
    // The till's own close (its code expired too), asked now, answers the same.
    let close = at_b.close("TDPGDYN2").await.unwrap();
    assert_eq!(close.answer, api::CloseAnswer::Closed);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shift_reports_are_kept_once_and_listed_at_either_instance() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let Pair { a, b, token, at_a, at_b, owner } = pair_with_owner(&w).await;
    let report = api::ShiftReport {
        kind: api::ShiftKind::Shift,
        till_ref: 7,
        operator: "收银 Wang".into(),
        opened_at: Some("2026-12-07T01:00:00Z".into()),
        closed_at: "2026-12-07T09:00:00.000000Z".into(),
        business_day: None,
        figures: api::ShiftFigures {
            paid_count: 3,
            paid: "30.00".into(),
            refund_count: 1,
            refunded: "5.00".into(),
            net: "25.00".into(),
        },
        summary: serde_json::json!({ "shift_id": 7 }),
    };
    let sent = at_a.report_shift(&report).await.unwrap();
    let again = at_b.report_shift(&report).await.unwrap();
    assert!(sent.new && !again.new, "kept once");
    assert_eq!(sent.id, again.id);
    let bad = api::ShiftReport { kind: api::ShiftKind::DayClose, till_ref: 8, ..report.clone() };
    let e = at_a.report_shift(&bad).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::BadRequest { field, .. }) if field == "business_day"), "{e}");
    let session = at_b.sign_in(&owner).await.unwrap().session;
    let boss = same_till_at(&b, &token).with_session(Secret::from(session));
    let day = api::ShiftQuery { from: Some("2026-12-07".into()), to: Some("2026-12-07".into()), ..Default::default() };
    let list = boss.shift_reports(&day).await.unwrap();
    assert_eq!(list.reports.len(), 1);
    let line = &list.reports[0];
    assert_eq!(
        (line.till_name.as_str(), line.store_code.as_str(), line.figures.net.as_str()),
        ("till 1", "S001", "25.00")
    );
    let other_day = api::ShiftQuery { from: Some("2026-12-08".into()), ..Default::default() };
    assert!(boss.shift_reports(&other_day).await.unwrap().reports.is_empty());
    a.stop().await;
    b.stop().await;
}

/// On PostgreSQL, a till's orders from before it joined go up once as its history, at either instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_from_before_joining_is_refunded_through_the_backend_that_holds_its_account_on_postgres() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let a = w.instance().await;
    let (no, refund) =
        till_common::history_with_the_backends_account_is_refunded_through_it(&a, w.dir.path(), &w.sandbox, CODE_A)
            .await;
    assert_eq!(w.trades(&no).await, 1, "paid once, store-direct");
    assert_eq!(w.ledger_count("refunds", "out_request_no", &refund).await, 1, "refunded once, at the acquirer");
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_that_joins_again_refunds_its_own_orders_through_the_backend_on_postgres() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let a = w.instance().await;
    till_common::joining_again_keeps_its_own_orders_refundable(&a, w.dir.path(), CODE_A, CODE_B).await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tills_orders_from_before_it_joined_go_up_once_as_history_on_postgres() {
    let Some(url) = database_url() else { return };
    let w = world(&url).await;
    let (a, b) = (w.instance().await, w.instance().await);
    let till = till_common::history_goes_up_once(&a, w.dir.path()).await;
    // The other instance has them too: one database.
    let order = till_common::backend_order(&b, "TDHIST0001").await.expect("at b");
    let pg = b.backend.postgres().unwrap();
    assert!(pg.is_history_order(order.id).await.unwrap());
    let till_id = tilldesk::routing::backend::link(&till.store()).unwrap().unwrap().till_id;
    assert_eq!(pg.order_till(order.id).await.unwrap().map(|t| t.0), Some(till_id));
    assert_eq!(w.trades("TDHIST0001").await, 0, "nothing was sent to an acquirer");
    a.stop().await;
    b.stop().await;
}
