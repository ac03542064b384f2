//! Head office's reconciliation through the till API, end to end on loopback: a backend on SQLite with the sandbox's
//! accounts and two stores, a till at each, payments taken yesterday (the sandbox's clock set a day back), the
//! backend's sync worker downloading and reconciling the day's bills; then the runs, a run's report and the bill
//! days as an owner at a till of store 1 (every store), a back-office clerk there (store 1 only:
//! `not_your_store` for store 2), a cashier (`not_allowed`), nobody (`sign_in_required`). On PostgreSQL the same
//! calls answer `not_on_this_engine` (`TILLDESK_TEST_DATABASE_URL`; skipped without it).

mod till_common;

use tilldesk::channel::backend::BackendClient;
use tilldesk::channel::backend::api::{ApiError, BillDayQuery, ReconRunQuery, SignInRequest};
use tilldesk::checkout::Outcome;
use tilldesk::model::{OrderSource, OrderStatus, Role, StoreId};
use tilldesk::money::Amount;
use tilldesk::routing::Router;
use tilldesk::routing::backend;
use tilldesk::sandbox::{self, RunningSandbox};
use tilldesk::secrets::Secret;
use tilldesk::serve::{Backend, RunningBackend, StartOptions};
use tilldesk::store::Store;
use tilldesk::store::pulled::PulledOrder;
use tilldesk::sync::{SyncSettings, SyncWorker};

/// Alipay payment codes the sandbox pays at once (last four digits 0000).
const CODE_A: &str = "286000123456780000";
const CODE_B: &str = "286000987654320000";

struct World {
    dir: tempfile::TempDir,
    sandbox: RunningSandbox,
    backend: RunningBackend,
    router: Router,
}

/// The sandbox, and a backend on SQLite whose catalogue has a second store, S002, routed like S001.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let accounts = sandbox.state.accounts();
    let home = dir.path().join("backend");
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join(tilldesk::serve::DATABASE_FILE);
    let mut store = Store::open(&db).unwrap();
    sandbox::till::prepare(&mut store).unwrap();
    add_second_store(&mut store);
    let router = sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
    let notify = sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
    drop(store);
    let backend = Backend::open(&db, &home).unwrap().serving(router.clone());
    let options = StartOptions { sync: None, recover: false, tls: None };
    let backend = tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options).await.unwrap();
    World { dir, sandbox, backend, router }
}

fn add_second_store(store: &mut Store) {
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
    let s002 = store.setup_mut().add_store(&s002, None).unwrap();
    let s001 = store.setup().store_by_code("S001").unwrap().unwrap().id;
    for mut route in store.setup().routes().unwrap().into_iter().filter(|r| r.store_id == s001) {
        route.store_id = s002;
        store.setup_mut().set_route(&route, None).unwrap();
    }
}

impl World {
    fn backend_store(&self) -> Store {
        Store::open(&self.backend.backend.db_path()).unwrap()
    }

    /// One pass of the backend's sync worker, fetching yesterday's bills (China time) and reconciling them.
    async fn fetch_and_reconcile(&self) {
        let settings = SyncSettings { bill_time: time::Time::from_hms(0, 0, 0).ok(), ..SyncSettings::default() };
        let home = self.dir.path().join("backend");
        let worker = SyncWorker::new(&self.backend.backend.db_path(), &home, self.router.clone(), None, settings);
        let run = worker.run_once("test").await.unwrap();
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        assert!(run.bills_fetched >= 1, "{run:?}");
    }

    /// A paid order the backend has and no bill lists (of yesterday, China noon), at `store_code`.
    fn local_only(&self, store_code: &str, out_trade_no: &str, fen: i64) {
        let mut store = self.backend_store();
        let shop = store.setup().store_by_code(store_code).unwrap().unwrap().id;
        let alipay = store.setup().acquirer_by_onboarding_code("ALIPAY").unwrap().unwrap().acquirer.id;
        let day = tilldesk::time::china_business_day(time::OffsetDateTime::now_utc());
        let noon = day.with_hms(4, 0, 0).unwrap().assume_utc();
        let at = tilldesk::time::format_utc(noon);
        let order = PulledOrder {
            out_trade_no: out_trade_no.into(),
            trade_no: Some(format!("2026{out_trade_no}")),
            store_id: shop,
            acquirer_id: alipay,
            source: OrderSource::Barcode,
            subject: "连锁门店".into(),
            total_amount: Amount::from_fen(fen),
            status: OrderStatus::Paid,
            auth_code_masked: None,
            created_at: at.clone(),
            paid_at: Some(at),
            acquirer_merchant_id: None,
            terminal_id: None,
            refunds: Vec::new(),
        };
        store.orders_mut().apply_pulled_order(&order).unwrap();
    }
}

/// `client` speaking for `name` (signed in with `pin` at the backend).
async fn as_operator(client: &BackendClient, name: &str, pin: &str) -> BackendClient {
    let signed = client.sign_in(&SignInRequest { name: name.into(), pin: pin.into() }).await.unwrap();
    client.clone().with_session(Secret::from(signed.session))
}

fn kind_of(e: tilldesk::channel::backend::BackendError) -> ApiError {
    e.api().cloned().unwrap_or_else(|| panic!("not an error kind: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_bills_reach_the_tills_scoped_by_role() {
    let w = world().await;
    let till1 = till_common::join(&w.backend, w.dir.path(), "till 1").await;
    let till2 = till_common::join_store(&w.backend, w.dir.path(), "till of S002", "S002").await;
    let client = backend::client(&till1.store(), &till1.vault).unwrap().unwrap();
    {
        let mut s = till1.store();
        backend::add_operator(&mut s, &client, None, "老板", Role::Owner, "246810").await.unwrap();
        let by = Some(("老板", "246810"));
        backend::add_operator(&mut s, &client, by, "会计 Li", Role::BackOffice, "135790").await.unwrap();
        backend::add_operator(&mut s, &client, by, "收银 Wang", Role::Cashier, "1357").await.unwrap();
    }

    // Yesterday at the acquirer: one payment at each store, through the backend.
    w.sandbox.state.config.lock().unwrap().clock_offset_secs = -86_400;
    let (paid1, outcome) = till1.pay(CODE_A, 1000).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let (paid2, outcome) = till2.pay(CODE_B, 2000).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    w.sandbox.state.config.lock().unwrap().clock_offset_secs = 0;
    // And at each store a payment the backend recorded that the bill lacks: a difference per store.
    w.local_only("S001", "TDLOCAL0001", 1111);
    w.local_only("S002", "TDLOCAL0002", 2222);
    w.fetch_and_reconcile().await;

    // Nobody signed in, and a cashier: refused.
    let nobody = client.recon_runs(&ReconRunQuery::default()).await.unwrap_err();
    assert_eq!(kind_of(nobody), ApiError::SignInRequired);
    let wang = as_operator(&client, "收银 Wang", "1357").await;
    let refused = kind_of(wang.recon_runs(&ReconRunQuery::default()).await.unwrap_err());
    assert_eq!(refused, ApiError::NotAllowed { role: Role::Cashier, permission: "reconcile_bills".into() });
    assert_eq!(kind_of(wang.bill_days(&BillDayQuery::default()).await.unwrap_err()).kind(), "not_allowed");

    // The owner at a till of S001 sees both stores: the Alipay run lists them, its report both differences.
    let owner = as_operator(&client, "老板", "246810").await;
    let alipay = ReconRunQuery { acquirer: Some("ALIPAY".into()), ..ReconRunQuery::default() };
    let runs = owner.recon_runs(&alipay).await.unwrap();
    assert_eq!(runs.runs.len(), 1, "{runs:?}");
    let run = &runs.runs[0];
    assert_eq!(run.stores, ["S001", "S002"]);
    assert_eq!(run.acquirer.code.as_deref(), Some("ALIPAY"));
    let day = tilldesk::recon::date_text(tilldesk::time::china_business_day(time::OffsetDateTime::now_utc()));
    assert_eq!(run.bill_date, day);
    let report = owner.recon_report(run.run_id, None).await.unwrap();
    assert_eq!(report.store, None);
    let missing: Vec<(Option<&str>, Option<&str>)> = report
        .discrepancies
        .iter()
        .filter(|d| d.reason == "missing_from_bill")
        .map(|d| (d.store_code.as_deref(), d.out_trade_no.as_deref()))
        .collect();
    assert!(missing.contains(&(Some("S001"), Some("TDLOCAL0001"))), "{report:#?}");
    assert!(missing.contains(&(Some("S002"), Some("TDLOCAL0002"))), "{report:#?}");
    assert_eq!(report.totals.payments.count, 2, "{:?}", report.totals);
    assert_eq!(report.totals.payments.amount, "30.00");
    assert!(report.totals.matched.is_some() && report.totals.net.is_some());
    // Store 2's share only: its payment, its difference.
    let s2 = owner.recon_report(run.run_id, Some("S002")).await.unwrap();
    assert_eq!(s2.store.as_deref(), Some("S002"));
    assert_eq!((s2.totals.payments.count, s2.totals.payments.amount.as_str()), (1, "20.00"));
    assert!(s2.discrepancies.iter().all(|d| d.store_code.as_deref() == Some("S002")), "{s2:#?}");
    assert!(s2.discrepancies.iter().any(|d| d.out_trade_no.as_deref() == Some("TDLOCAL0002")));
    assert!(s2.totals.matched.is_none(), "matching is per account: no store's share of it");
    let only_s2 = owner.recon_runs(&ReconRunQuery { store: Some("S002".into()), ..alipay.clone() }).await.unwrap();
    assert_eq!(only_s2.runs.iter().map(|r| r.run_id).collect::<Vec<_>>(), [run.run_id]);
    // The bill days: each store's share of the Alipay bill.
    let days = owner.bill_days(&BillDayQuery { acquirer: Some("ALIPAY".into()), ..BillDayQuery::default() }).await;
    let days = days.unwrap();
    let share = |code: &str| days.days.iter().find(|d| d.store_code.as_deref() == Some(code)).cloned();
    let (d1, d2) = (share("S001").expect("S001's share"), share("S002").expect("S002's share"));
    assert_eq!((d1.payments.count, d1.payments.amount.as_str(), d1.bill_date.as_str()), (1, "10.00", day.as_str()));
    assert_eq!((d2.payments.count, d2.payments.amount.as_str()), (1, "20.00"));
    assert!(!d1.bills.is_empty() && d1.rows >= 1);
    // Filters and pages: a date range without the day is empty; one run per page walks to the end.
    let before = ReconRunQuery { to: Some("2000-01-01".into()), ..ReconRunQuery::default() };
    assert!(owner.recon_runs(&before).await.unwrap().runs.is_empty());
    let all = owner.recon_runs(&ReconRunQuery::default()).await.unwrap();
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = owner.recon_runs(&ReconRunQuery { limit: Some(1), after, ..ReconRunQuery::default() }).await;
        let page = page.unwrap();
        paged.extend(page.runs.iter().map(|r| r.run_id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(paged, all.runs.iter().map(|r| r.run_id).collect::<Vec<_>>());
    let bad = owner.recon_runs(&ReconRunQuery { from: Some("yesterday".into()), ..ReconRunQuery::default() }).await;
    assert_eq!(kind_of(bad.unwrap_err()).kind(), "bad_request");
    let unknown = kind_of(owner.recon_report(999_999, None).await.unwrap_err());
    assert_eq!(unknown.kind(), "not_found");

    // Back office at the till of S001: store 1's share only; store 2 is not theirs.
    let li = as_operator(&client, "会计 Li", "135790").await;
    let runs = li.recon_runs(&alipay).await.unwrap();
    assert_eq!(runs.runs.len(), 1);
    assert_eq!(runs.runs[0].stores, ["S001"]);
    let mine = li.recon_report(run.run_id, None).await.unwrap();
    assert_eq!(mine.store.as_deref(), Some("S001"));
    assert_eq!((mine.totals.payments.count, mine.totals.payments.amount.as_str()), (1, "10.00"));
    assert!(mine.discrepancies.iter().all(|d| d.store_code.as_deref() == Some("S001")), "{mine:#?}");
    assert!(mine.discrepancies.iter().any(|d| d.out_trade_no.as_deref() == Some("TDLOCAL0001")));
    let other = li.recon_report(run.run_id, Some("S002")).await.unwrap_err();
    assert_eq!(kind_of(other), ApiError::NotYourStore);
    let other = li.recon_runs(&ReconRunQuery { store: Some("S002".into()), ..ReconRunQuery::default() }).await;
    assert_eq!(kind_of(other.unwrap_err()), ApiError::NotYourStore);
    let days = li.bill_days(&BillDayQuery::default()).await.unwrap();
    assert!(!days.days.is_empty());
    assert!(days.days.iter().all(|d| d.store_code.as_deref() == Some("S001")), "{days:#?}");
    // The orders paid through the backend are in the bill: matched, not differences.
    for d in mine.discrepancies.iter().chain(&s2.discrepancies) {
        assert_ne!(d.out_trade_no.as_deref(), Some(paid1.out_trade_no.as_str()));
        assert_ne!(d.out_trade_no.as_deref(), Some(paid2.out_trade_no.as_str()));
    }
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_on_postgresql_says_reconciliation_is_not_done_there() {
    let Ok(url) = std::env::var("TILLDESK_TEST_DATABASE_URL") else {
        println!("skipped: TILLDESK_TEST_DATABASE_URL is not set");
        return;
    };
    let schema = format!("tilldesk_test_{}", hex::encode(rand::random::<[u8; 8]>()));
    let (pg, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    pg.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let outcome = async {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let accounts = sandbox.state.accounts();
        let home = dir.path().join("backend");
        std::fs::create_dir_all(&home).unwrap();
        let catalogue = home.join(tilldesk::serve::DATABASE_FILE);
        let mut store = Store::open(&catalogue).unwrap();
        sandbox::till::prepare(&mut store).unwrap();
        let router = sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
        let notify = sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
        drop(store);
        let backend = Backend::open_postgres(&url, Some(&schema), &catalogue, &home).await.unwrap().serving(router);
        let options = StartOptions { sync: None, recover: false, tls: None };
        let running = tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options).await.unwrap();
        let till = till_common::join(&running, dir.path(), "till 1").await;
        let client = backend::client(&till.store(), &till.vault).unwrap().unwrap();
        let mut s = till.store();
        backend::add_operator(&mut s, &client, None, "老板", Role::Owner, "246810").await.unwrap();
        let by = Some(("老板", "246810"));
        backend::add_operator(&mut s, &client, by, "收银 Wang", Role::Cashier, "1357").await.unwrap();
        let owner = as_operator(&client, "老板", "246810").await;
        let said = kind_of(owner.recon_runs(&ReconRunQuery::default()).await.unwrap_err());
        assert_eq!(said, ApiError::NotOnThisEngine { what: "reconciliation".into() });
        assert_eq!(kind_of(owner.recon_report(1, None).await.unwrap_err()).kind(), "not_on_this_engine");
        assert_eq!(kind_of(owner.bill_days(&BillDayQuery::default()).await.unwrap_err()).kind(), "not_on_this_engine");
        // The role is still checked first: a cashier hears `not_allowed`, not what the engine lacks.
        let wang = as_operator(&client, "收银 Wang", "1357").await;
        assert_eq!(kind_of(wang.recon_runs(&ReconRunQuery::default()).await.unwrap_err()).kind(), "not_allowed");
        running.stop().await;
        sandbox.stop().await;
    };
    outcome.await;
    pg.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.unwrap();
}
