//! Head office's reconciliation through the till API, end to end on loopback: a backend on SQLite with the sandbox's
//! accounts and two stores, a till at each, payments taken yesterday (the sandbox's clock set a day back), the
//! backend's sync worker downloading and reconciling the day's bills; then the runs, a run's report and the bill
//! days as an owner at a till of store 1 (every store), a back-office clerk there (store 1 only:
//! `not_your_store` for store 2), a cashier (`not_allowed`), nobody (`sign_in_required`). On PostgreSQL the same,
//! with two instances on one database: each account's day is reconciled by one of them, a store-code payment only
//! the bill lists becomes an order once, and either instance serves the reports (`TILLDESK_TEST_DATABASE_URL`;
//! skipped without it).

mod till_common;

use tilldesk::channel::backend::BackendClient;
use tilldesk::channel::backend::api::{
    ApiError, BillDayQuery, DayRequest, ReconRefusal, ReconReport, ReconRunQuery, ReopenRequest, ResolveRequest,
    SignInRequest,
};
use tilldesk::channel::backend::api::{FeedOrder, FeedQuery, RefundRequest};
use tilldesk::channel::backend::dashboard::{DashboardFigures, DashboardQuery, Figures};
use tilldesk::checkout::Outcome;
use tilldesk::model::{OrderSource, OrderStatus, ResolutionKind, Role};
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
    add_second_store_routed_like_s001(&mut store);
    let router = sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
    let notify = sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
    drop(store);
    let backend = Backend::open(&db, &home).unwrap().serving(router.clone());
    let options = StartOptions { sync: None, recover: false, tls: None };
    let backend = tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options).await.unwrap();
    World { dir, sandbox, backend, router }
}

/// S002, routed as S001 is.
fn add_second_store_routed_like_s001(store: &mut Store) {
    let s002 = till_common::add_second_store(store);
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
        self.local_order(store_code, out_trade_no, fen, OrderStatus::Paid);
    }

    /// An order of yesterday (China noon) at `store_code`, as the backend recorded it.
    fn local_order(&self, store_code: &str, out_trade_no: &str, fen: i64, status: OrderStatus) {
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
            status,
            auth_code_masked: None,
            created_at: at.clone(),
            paid_at: (status == OrderStatus::Paid).then_some(at),
            acquirer_merchant_id: None,
            terminal_id: None,
            refunds: Vec::new(),
        };
        store.orders_mut().apply_pulled_order(&order).unwrap();
    }
}

/// A payment of yesterday the acquirer took for `out_trade_no` (at the account and merchant of the trade `like`), as
/// a barcode payment would be.
fn paid_at_the_acquirer(sandbox: &RunningSandbox, like: &str, out_trade_no: &str, fen: i64) {
    use tilldesk::sandbox::ledger::{NewTrade, Protocol, Scope, TradeStatus};
    let yesterday_now = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let like = sandbox.state.ledger.trade_by_trade_no(like, yesterday_now).unwrap().expect("the trade");
    let protocol = if like.protocol == Protocol::Wechatpay.as_str() { Protocol::Wechatpay } else { Protocol::Alipay };
    let scope = Scope { protocol, acquirer_id: &like.acquirer_id, account: &like.account, strict: false };
    let new = NewTrade {
        out_trade_no: out_trade_no.into(),
        merchant_id: like.merchant_id.clone(),
        subject: "连锁门店".into(),
        total_amount: fen,
        status: Some(TradeStatus::Paid),
        source: "barcode",
        ..Default::default()
    };
    sandbox.state.ledger.insert_trade(scope, new, yesterday_now).unwrap();
}

/// The chain's staff, added from `till`: 老板 (owner), 会计 Li (back office), 收银 Wang (cashier).
async fn add_staff(till: &till_common::Till, client: &BackendClient) {
    let mut s = till.store();
    backend::add_operator(&mut s, client, None, "老板", Role::Owner, "246810").await.unwrap();
    let by = Some(("老板", "246810"));
    backend::add_operator(&mut s, client, by, "会计 Li", Role::BackOffice, "135790").await.unwrap();
    backend::add_operator(&mut s, client, by, "收银 Wang", Role::Cashier, "1357").await.unwrap();
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
    add_staff(&till1, &client).await;

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
    reports_reach_the_tills_scoped_by_role(&client, [paid1.out_trade_no.as_str(), paid2.out_trade_no.as_str()]).await;
    differences_are_resolved_and_the_day_closed_through_the_api(&client).await;
    the_dashboard_is_added_up_at_the_backend(&client, &paid1.out_trade_no).await;
    w.backend.stop().await;
}

/// The counts and sums of `orders` by store code: (orders, paid, paid fen, refunded fen).
fn sums_by_store(orders: &[FeedOrder]) -> std::collections::BTreeMap<String, (i64, i64, i64, i64)> {
    let fen = |t: &str| Amount::parse(t).unwrap().fen();
    let mut by = std::collections::BTreeMap::new();
    for o in orders {
        let e: &mut (i64, i64, i64, i64) = by.entry(o.store_code.clone().unwrap_or_default()).or_default();
        e.0 += 1;
        if matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded) {
            e.1 += 1;
            e.2 += fen(&o.total_amount);
        }
        e.3 += fen(&o.refunded_amount);
    }
    by
}

fn figures_of(f: &Figures) -> (i64, i64, i64, i64) {
    let fen = |t: &str| Amount::parse(t).unwrap().fen();
    (f.count, f.paid_count, fen(&f.paid_amount), fen(&f.refunded_amount))
}

/// Every order of the China days `first`..=`last` the operator of `client` may list, page by page.
async fn listed(client: &BackendClient, first: time::Date, last: time::Date) -> Vec<FeedOrder> {
    let (from, to) = tilldesk::dashboard::china_days_bounds(first, last);
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let q = FeedQuery {
            from: Some(from.clone()),
            to: Some(to.clone()),
            limit: Some(200),
            after,
            ..FeedQuery::default()
        };
        let page = client.order_list(&q).await.unwrap();
        all.extend(page.orders);
        match page.next {
            Some(n) => after = Some(n),
            None => return all,
        }
    }
}

/// The 概览 figures of the last seven China days, added up at the backend (`GET /v1/dashboard`) as the owner, back
/// office and a cashier at a till of S001 (the staff of [`add_staff`]), checked against the order list of the same
/// days (another query of the same orders); then `refund` (an order of S001) refunded in part, which the figures
/// show at once.
async fn the_dashboard_is_added_up_at_the_backend(client: &BackendClient, refund: &str) {
    let owner = as_operator(client, "老板", "246810").await;
    let li = as_operator(client, "会计 Li", "135790").await;
    let wang = as_operator(client, "收银 Wang", "1357").await;
    let today = tilldesk::time::china_date(time::OffsetDateTime::now_utc());
    let first = today - time::Duration::days(6);
    let week = DashboardQuery { from: first.to_string(), to: today.to_string(), store: None };

    let check = |figures: &DashboardFigures, orders: &[FeedOrder]| {
        let by = sums_by_store(orders);
        let total = by.values().fold((0, 0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3));
        assert_eq!(figures_of(&figures.totals), total, "{figures:#?}");
        let shares: std::collections::BTreeMap<String, (i64, i64, i64, i64)> = figures
            .by_store
            .iter()
            .map(|s| (s.name.split(' ').next().unwrap().to_owned(), figures_of(&s.figures)))
            .collect();
        assert_eq!(shares, by, "by store, as the order list adds them up");
        let hours: i64 = figures.by_hour.iter().map(|h| Amount::parse(&h.gross).unwrap().fen()).sum();
        let accounts: i64 = figures.by_acquirer.iter().map(|a| Amount::parse(&a.gross).unwrap().fen()).sum();
        assert_eq!((hours, accounts), (total.2, total.2), "by hour and by account: the paid amount");
        let wallets: i64 = figures.by_wallet.iter().map(|w| w.figures.count).sum();
        assert_eq!(wallets, total.0);
    };
    let all = owner.dashboard(&week).await.unwrap();
    check(&all, &listed(&owner, first, today).await);
    let codes: Vec<&str> = all.by_store.iter().map(|s| s.name.split(' ').next().unwrap()).collect();
    assert_eq!(codes, ["S001", "S002"], "head office sees both stores");
    assert_eq!((all.from.as_str(), all.to.as_str(), all.previous_days), (week.from.as_str(), week.to.as_str(), 7));
    // One store, as the owner asks for it: the same as its share of the whole.
    let s2 = owner.dashboard(&DashboardQuery { store: Some("S002".into()), ..week.clone() }).await.unwrap();
    assert_eq!(s2.totals, all.by_store[1].figures);
    assert_eq!(s2.by_store.len(), 1);

    // Back office at the till of S001: their store's; another store's is refused. A cashier: the orders they took
    // (none: these were taken with nobody signed in). Nobody signed in: refused.
    let mine = li.dashboard(&week).await.unwrap();
    check(&mine, &listed(&li, first, today).await);
    assert_eq!(mine.totals, all.by_store[0].figures);
    let other = li.dashboard(&DashboardQuery { store: Some("S002".into()), ..week.clone() }).await.unwrap_err();
    assert_eq!(kind_of(other), ApiError::NotYourStore);
    let own = wang.dashboard(&week).await.unwrap();
    assert_eq!((own.totals.count, own.by_store.len()), (0, 0), "{own:#?}");
    assert_eq!(kind_of(client.dashboard(&week).await.unwrap_err()), ApiError::SignInRequired);
    for (from, to) in [("yesterday", "2026-12-01"), ("2026-12-02", "2026-12-01"), ("2024-01-01", "2026-12-01")] {
        let bad = DashboardQuery { from: from.into(), to: to.into(), store: None };
        assert_eq!(kind_of(owner.dashboard(&bad).await.unwrap_err()).kind(), "bad_request", "{from} {to}");
    }

    // A partial refund of S001's payment, from the till: the refunds and the net move at once.
    let request = RefundRequest {
        out_trade_no: refund.into(),
        out_request_no: format!("{refund}-D1"),
        refund_amount: "3.00".into(),
        reason: "看板测试".into(),
    };
    let done = li.refund(&request).await.unwrap();
    assert_eq!(done.refund_status, Some(tilldesk::model::RefundStatus::Success), "{done:?}");
    let after = owner.dashboard(&week).await.unwrap();
    check(&after, &listed(&owner, first, today).await);
    let (before, now) = (figures_of(&all.totals), figures_of(&after.totals));
    assert_eq!((now.0, now.2, now.3), (before.0, before.2, before.3 + 300), "{after:#?}");
}

/// What head office and a store's back office read of the Alipay run of yesterday (two stores, a payment at each
/// through the backend, `paid`, and at each store a recorded payment the bill lacks), through `client`, a till of
/// S001 whose staff are 老板 (owner), 会计 Li (back office) and 收银 Wang (cashier).
async fn reports_reach_the_tills_scoped_by_role(client: &BackendClient, paid: [&str; 2]) {
    // Nobody signed in, and a cashier: refused.
    let nobody = client.recon_runs(&ReconRunQuery::default()).await.unwrap_err();
    assert_eq!(kind_of(nobody), ApiError::SignInRequired);
    let wang = as_operator(client, "收银 Wang", "1357").await;
    let refused = kind_of(wang.recon_runs(&ReconRunQuery::default()).await.unwrap_err());
    assert_eq!(refused, ApiError::NotAllowed { role: Role::Cashier, permission: "reconcile_bills".into() });
    assert_eq!(kind_of(wang.bill_days(&BillDayQuery::default()).await.unwrap_err()).kind(), "not_allowed");

    // The owner at a till of S001 sees both stores: the Alipay run lists them, its report both differences.
    let owner = as_operator(client, "老板", "246810").await;
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
    let li = as_operator(client, "会计 Li", "135790").await;
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
        assert_ne!(d.out_trade_no.as_deref(), Some(paid[0]));
        assert_ne!(d.out_trade_no.as_deref(), Some(paid[1]));
    }
}

fn refusal(e: tilldesk::channel::backend::BackendError) -> ReconRefusal {
    match kind_of(e) {
        ApiError::ReconRefused { refusal } => refusal,
        other => panic!("not a reconciliation refusal: {other:?}"),
    }
}

fn resolve_as(kind: ResolutionKind, note: &str) -> ResolveRequest {
    ResolveRequest { kind, note: note.into(), out_request_no: None, bill_line: None, trade_no: None }
}

/// The difference of `report` for `out_trade_no`.
fn difference_of(report: &ReconReport, out_trade_no: &str) -> i64 {
    let found = report.discrepancies.iter().find(|d| d.out_trade_no.as_deref() == Some(out_trade_no));
    found.unwrap_or_else(|| panic!("no difference for {out_trade_no}: {report:#?}")).id
}

/// Head office and a store's back office work through the Alipay day of [`reports_reach_the_tills_scoped_by_role`]
/// at the backend: resolving (scoped by store and role, refused as the data says), reopening, closing the day (owner:
/// the bill lists both stores) and reopening it. Leaves the day closed; returns its run.
async fn differences_are_resolved_and_the_day_closed_through_the_api(client: &BackendClient) -> i64 {
    let owner = as_operator(client, "老板", "246810").await;
    let li = as_operator(client, "会计 Li", "135790").await;
    let wang = as_operator(client, "收银 Wang", "1357").await;
    let alipay = ReconRunQuery { acquirer: Some("ALIPAY".into()), ..ReconRunQuery::default() };
    let run = owner.recon_runs(&alipay).await.unwrap().runs[0].clone();
    assert!(run.latest && !run.closed, "{run:?}");
    let report = owner.recon_report(run.run_id, None).await.unwrap();
    let (mine, theirs) = (difference_of(&report, "TDLOCAL0001"), difference_of(&report, "TDLOCAL0002"));
    let day = DayRequest { acquirer: "ALIPAY".into(), bill_date: run.bill_date.clone(), note: None };

    // A cashier may not; back office not another store's difference.
    let no = kind_of(wang.resolve_difference(mine, &resolve_as(ResolutionKind::WrittenOff, "x")).await.unwrap_err());
    assert_eq!(no.kind(), "not_allowed");
    let no = li.resolve_difference(theirs, &resolve_as(ResolutionKind::WrittenOff, "S002's")).await.unwrap_err();
    assert_eq!(kind_of(no), ApiError::NotYourStore);
    // Back office resolves their store's: written off, with a note; once.
    let done = li.resolve_difference(mine, &resolve_as(ResolutionKind::WrittenOff, "测试单，未收款")).await.unwrap();
    assert!(done.difference.resolved, "{done:?}");
    assert_eq!(done.difference.resolution.as_deref(), Some("written_off"));
    assert_eq!(done.difference.note.as_deref(), Some("测试单，未收款"));
    assert_eq!((done.run_id, done.open), (run.run_id, 0), "nothing of S001 is open now");
    let retried = li.resolve_difference(mine, &resolve_as(ResolutionKind::WrittenOff, "测试单，未收款")).await;
    assert_eq!(retried.unwrap().difference, done.difference, "asked again (a lost answer): the same resolution");
    let again = li.resolve_difference(mine, &resolve_as(ResolutionKind::Adjusted, "again")).await.unwrap_err();
    assert_eq!(refusal(again), ReconRefusal::AlreadyResolved { id: mine, resolution: "written_off".into() });
    // The day's bill lists S002's money too: back office may not close it; the owner may not while S002's is open.
    let other = refusal(li.close_recon_day(&day).await.unwrap_err());
    assert_eq!(other, ReconRefusal::OtherStores { bill_date: run.bill_date.clone(), stores: vec!["S002".into()] });
    match refusal(owner.close_recon_day(&day).await.unwrap_err()) {
        ReconRefusal::OpenDifferences { count, run: r, .. } => assert!(count >= 1 && r == run.run_id),
        other => panic!("{other:?}"),
    }
    // What the data refuses comes back as kinds: no note, no such bill row, nothing to adopt, a bad refund number.
    let empty = owner.resolve_difference(theirs, &resolve_as(ResolutionKind::Adjusted, "  ")).await.unwrap_err();
    assert_eq!(refusal(empty), ReconRefusal::NoteRequired);
    let nowhere = ResolveRequest { bill_line: Some(99_999), ..resolve_as(ResolutionKind::Matched, "对上了") };
    let nowhere = refusal(owner.resolve_difference(theirs, &nowhere).await.unwrap_err());
    assert!(matches!(nowhere, ReconRefusal::BillRowNotFound { .. }), "{nowhere:?}");
    let adopt = owner.resolve_difference(theirs, &resolve_as(ResolutionKind::Adopted, "补录")).await.unwrap_err();
    assert_eq!(refusal(adopt), ReconRefusal::CannotAdopt { id: theirs });
    let bad = ResolveRequest {
        out_request_no: Some("不是单号".into()),
        ..resolve_as(ResolutionKind::Refunded, "退了")
    };
    let bad = refusal(owner.resolve_difference(theirs, &bad).await.unwrap_err());
    assert!(matches!(bad, ReconRefusal::BadOutRequestNo { .. }), "{bad:?}");
    let unknown = owner.resolve_difference(999_999, &resolve_as(ResolutionKind::Adjusted, "x")).await.unwrap_err();
    assert_eq!(kind_of(unknown).kind(), "not_found");
    // The owner resolves the rest (every store), takes one back and resolves it again.
    for d in owner.recon_report(run.run_id, None).await.unwrap().discrepancies.iter().filter(|d| !d.resolved) {
        owner.resolve_difference(d.id, &resolve_as(ResolutionKind::Adjusted, "已更正")).await.unwrap();
    }
    let reopened = owner.reopen_difference(mine, &ReopenRequest { note: "再核对".into() }).await.unwrap();
    assert!(!reopened.difference.resolved && reopened.open == 1, "{reopened:?}");
    let nothing = owner.reopen_difference(mine, &ReopenRequest { note: "再核对".into() }).await.unwrap_err();
    assert_eq!(refusal(nothing), ReconRefusal::NotResolved { id: mine });
    let done = owner.resolve_difference(mine, &resolve_as(ResolutionKind::WrittenOff, "确认未收款")).await.unwrap();
    assert_eq!(done.open, 0);

    // Closed by the owner: frozen; the list says who and when; asked again, the same closing.
    let closed = owner.close_recon_day(&day).await.unwrap();
    assert_eq!(
        (closed.closed_by.as_str(), closed.run_id, closed.bill_date.as_str()),
        ("老板", run.run_id, day.bill_date.as_str())
    );
    assert_eq!(owner.close_recon_day(&day).await.unwrap(), closed, "a till asking again gets the same closing");
    let listed = owner.recon_runs(&alipay).await.unwrap().runs[0].clone();
    assert!(listed.closed && listed.closed_by.as_deref() == Some("老板"), "{listed:?}");
    assert_eq!(listed.closed_at.as_deref(), Some(closed.closed_at.as_str()));
    let frozen = refusal(owner.reopen_difference(mine, &ReopenRequest { note: "改".into() }).await.unwrap_err());
    assert!(matches!(frozen, ReconRefusal::DayClosed { ref closed_by, .. } if closed_by == "老板"), "{frozen:?}");
    // Reopened with a reason (not without one, not by back office: other stores' money), then closed again.
    let no_note = refusal(owner.reopen_recon_day(&day).await.unwrap_err());
    assert_eq!(no_note, ReconRefusal::NoteRequired);
    let with_note = DayRequest { note: Some("补录一笔".into()), ..day.clone() };
    assert!(matches!(refusal(li.reopen_recon_day(&with_note).await.unwrap_err()), ReconRefusal::OtherStores { .. }));
    let was = owner.reopen_recon_day(&with_note).await.unwrap();
    assert_eq!(was.closed_at, closed.closed_at);
    assert!(!owner.recon_runs(&alipay).await.unwrap().runs[0].closed);
    let not_closed = refusal(owner.reopen_recon_day(&with_note).await.unwrap_err());
    assert_eq!(not_closed, ReconRefusal::NotClosed { bill_date: day.bill_date.clone() });
    owner.close_recon_day(&day).await.unwrap();
    run.run_id
}

/// A PostgreSQL schema of the test's own (None, said on stdout, without `TILLDESK_TEST_DATABASE_URL`).
struct PgSchema {
    url: String,
    name: String,
    client: tokio_postgres::Client,
}

impl PgSchema {
    async fn new() -> Option<PgSchema> {
        let Ok(url) = std::env::var("TILLDESK_TEST_DATABASE_URL") else {
            println!("skipped: TILLDESK_TEST_DATABASE_URL is not set");
            return None;
        };
        let name = format!("tilldesk_test_{}", hex::encode(rand::random::<[u8; 8]>()));
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
        Some(PgSchema { url, name, client })
    }

    async fn drop(self) {
        self.client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)).await.unwrap();
    }
}

/// The sandbox's WeChat Pay payment code that pays at once.
const CODE_W: &str = "134567890123450000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_one_of_two_instances_reconciles_each_day_and_either_serves_the_reports() {
    let Some(pg) = PgSchema::new().await else { return };
    let (url, schema) = (pg.url.clone(), pg.name.clone());
    let outcome = async {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let accounts = sandbox.state.accounts();
        let home = dir.path().join("backend");
        std::fs::create_dir_all(&home).unwrap();
        let catalogue = home.join(tilldesk::serve::DATABASE_FILE);
        let mut store = Store::open(&catalogue).unwrap();
        sandbox::till::prepare(&mut store).unwrap();
        add_second_store_routed_like_s001(&mut store);
        let router = sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
        let s001 = store.setup().store_by_code("S001").unwrap().unwrap().id;
        let alipay = store.setup().acquirer_by_onboarding_code("ALIPAY").unwrap().unwrap().acquirer.id;
        let wechat = store.setup().acquirer_by_onboarding_code("WECHATPAY").unwrap().unwrap().acquirer.id;
        let s002 = store.setup().store_by_code("S002").unwrap().unwrap().id;
        let mut instances = Vec::new();
        for _ in 0..2 {
            let notify = sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
            let backend =
                Backend::open_postgres(&url, Some(&schema), &catalogue, &home).await.unwrap().serving(router.clone());
            let options = StartOptions { sync: None, recover: false, tls: None };
            instances
                .push(tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options).await.unwrap());
        }
        drop(store);
        let (a, b) = (&instances[0], &instances[1]);
        let shared = a.backend.postgres().unwrap().clone();

        // A till of S001 at instance a, one of S002 at instance b; the staff made from till 1.
        let till1 = till_common::join(a, dir.path(), "till 1").await;
        let till2 = till_common::join_store(b, dir.path(), "till of S002", "S002").await;
        let client = backend::client(&till1.store(), &till1.vault).unwrap().unwrap();
        add_staff(&till1, &client).await;

        // Yesterday at the acquirers: an Alipay payment at each store and a WeChat Pay one at S001, through the
        // backend; and a wallet paid a store code at WeChat Pay whose notification never came: only the bill has it.
        sandbox.state.config.lock().unwrap().clock_offset_secs = -86_400;
        let (paid1, outcome) = till1.pay(CODE_A, 1000).await;
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        let (paid2, outcome) = till2.pay(CODE_B, 2000).await;
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        let (paid_w, outcome) = till1.pay(CODE_W, 500).await;
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        sandbox.state.config.lock().unwrap().clock_offset_secs = 0;
        let yesterday_now = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        let trade_w = sandbox
            .state
            .ledger
            .trade_by_trade_no(paid_w.trade_no.as_deref().unwrap(), yesterday_now)
            .unwrap()
            .expect("the WeChat Pay trade");
        let scope = tilldesk::sandbox::ledger::Scope {
            protocol: tilldesk::sandbox::ledger::Protocol::Wechatpay,
            acquirer_id: &trade_w.acquirer_id,
            account: &trade_w.account,
            strict: false,
        };
        let unheard = tilldesk::sandbox::ledger::NewTrade {
            out_trade_no: "SCBILL00000001".into(),
            merchant_id: trade_w.merchant_id.clone(),
            subject: "店铺码付款".into(),
            total_amount: 888,
            status: Some(tilldesk::sandbox::ledger::TradeStatus::Paid),
            source: "store_code",
            ..Default::default()
        };
        sandbox.state.ledger.insert_trade(scope, unheard, yesterday_now).unwrap();
        // At each store a payment the backend recorded that no bill lists: a difference per store.
        let noon = tilldesk::time::china_business_day(time::OffsetDateTime::now_utc()).with_hms(4, 0, 0).unwrap();
        let noon = tilldesk::time::format_utc(noon.assume_utc());
        for (no, shop, fen) in [("TDLOCAL0001", s001, 1111), ("TDLOCAL0002", s002, 2222)] {
            let notice = tilldesk::store::sync::PaidNotice {
                protocol: "alipay",
                out_trade_no: no,
                trade_no: &format!("2026{no}"),
                amount: Amount::from_fen(fen),
                paid_at_utc: &noon,
                subject: "连锁门店",
                acquirer_id: alipay,
                store_id: shop,
                acquirer_merchant_id: None,
                currency: None,
                compare_merchant: false,
            };
            shared.record_paid_notice(&notice).await.unwrap();
        }

        // Both instances' bill loops at once: each account's day is reconciled once, by one of them.
        let at = time::Time::MIDNIGHT;
        let (pa, pb) = tokio::join!(a.backend.bill_pass(at), b.backend.bill_pass(at));
        let (pa, pb) = (pa.unwrap(), pb.unwrap());
        assert!(pa.failed.is_empty() && pb.failed.is_empty(), "{pa:?} {pb:?}");
        let reconciled: Vec<_> = pa.reconciled.iter().chain(&pb.reconciled).collect();
        let mut done: Vec<i64> = reconciled.iter().map(|r| r.acquirer_id.0).collect();
        done.extend(pa.no_bill.iter().chain(&pb.no_bill).map(|(acq, _)| acq.0));
        done.sort_unstable();
        let accounts_served = router.accounts().len();
        assert_eq!(done.len(), accounts_served, "every account's day once: {pa:?} {pb:?}");
        done.dedup();
        assert_eq!(done.len(), accounts_served, "no day twice: {pa:?} {pb:?}");
        let wx = reconciled.iter().find(|r| r.acquirer_id == wechat).expect("the WeChat Pay day");
        assert_eq!(wx.store_code_orders, 1, "{wx:?}");
        let adopted = shared.order_by_out_trade_no("SCBILL00000001").await.unwrap().expect("recorded from the bill");
        assert_eq!(
            (adopted.source, adopted.status, adopted.total_amount.fen()),
            (OrderSource::StoreCode, OrderStatus::Paid, 888)
        );
        // Instance b serves what instance a may have published, and the other way round.
        reports_reach_the_tills_scoped_by_role(&client, [paid1.out_trade_no.as_str(), paid2.out_trade_no.as_str()])
            .await;
        let owner = as_operator(&client, "老板", "246810").await;
        let wx_report = owner.recon_report(wx.run_id, None).await.unwrap();
        assert!(
            wx_report.discrepancies.iter().all(|d| d.out_trade_no.as_deref() != Some("SCBILL00000001")),
            "a store-code payment recorded from the bill is a sale, not a difference: {wx_report:#?}"
        );
        assert_eq!(wx_report.totals.payments.count, 2, "{:?}", wx_report.totals);
        let at_b = {
            let c2 = backend::client(&till2.store(), &till2.vault).unwrap().unwrap();
            as_operator(&c2, "老板", "246810").await.recon_report(wx.run_id, None).await.unwrap()
        };
        assert_eq!(at_b.discrepancies, wx_report.discrepancies);

        // Done once: another pass finds nothing due. Asked again (a bill downloaded anew), the day gets a new run
        // and the store-code payment is not recorded twice.
        let again = b.backend.bill_pass(at).await.unwrap();
        assert!(again.reconciled.is_empty() && again.no_bill.is_empty(), "{again:?}");
        let day = tilldesk::time::china_business_day(time::OffsetDateTime::now_utc());
        let redo = a.backend.reconcile_bill_day(day, true).await.unwrap();
        let wx2 = redo.reconciled.iter().find(|r| r.acquirer_id == wechat).expect("done again");
        assert_eq!(wx2.store_code_orders, 0);
        assert!(wx2.run_id > wx.run_id);
        let runs = owner.recon_runs(&ReconRunQuery { acquirer: Some("WECHATPAY".into()), ..Default::default() }).await;
        assert_eq!(runs.unwrap().runs.iter().map(|r| r.run_id).collect::<Vec<_>>(), [wx2.run_id, wx.run_id]);
        let orders = shared.order_by_out_trade_no("SCBILL00000001").await.unwrap();
        assert!(orders.is_some());

        // Resolved and closed through the API (the calls reach either instance).
        let alipay_run = differences_are_resolved_and_the_day_closed_through_the_api(&client).await;
        // A closed day is not reconciled again, even when asked.
        let redo = a.backend.reconcile_bill_day(day, true).await.unwrap();
        assert!(redo.reconciled.iter().all(|r| r.acquirer_id != alipay), "{redo:?}");
        // Reopened and reconciled anew: the new run carries the resolutions over; the old run is not worked on.
        let bill_date = tilldesk::recon::date_text(day);
        let day_req = DayRequest { acquirer: "ALIPAY".into(), bill_date, note: Some("重新下载账单".into()) };
        owner.reopen_recon_day(&day_req).await.unwrap();
        let redo = b.backend.reconcile_bill_day(day, true).await.unwrap();
        let ali = redo.reconciled.iter().find(|r| r.acquirer_id == alipay).expect("reconciled again");
        assert!(ali.run_id > alipay_run);
        let fresh = owner.recon_report(ali.run_id, None).await.unwrap();
        assert!(fresh.run.latest && fresh.discrepancies.iter().all(|d| d.resolved), "{fresh:#?}");
        let carried = &fresh.discrepancies.iter().find(|d| d.out_trade_no.as_deref() == Some("TDLOCAL0001")).unwrap();
        assert_eq!((carried.resolution.as_deref(), carried.note.as_deref()), (Some("written_off"), Some("确认未收款")));
        let old = owner.recon_report(alipay_run, None).await.unwrap();
        assert!(!old.run.latest);
        let old_id = difference_of(&old, "TDLOCAL0001");
        let stale = refusal(owner.reopen_difference(old_id, &ReopenRequest { note: "旧的".into() }).await.unwrap_err());
        assert_eq!(stale, ReconRefusal::NotLatestRun { id: old_id, run: alipay_run, latest: ali.run_id });
        owner.close_recon_day(&DayRequest { note: None, ..day_req.clone() }).await.unwrap();

        // Adopted at the backend: a WeChat Pay payment the backend recorded as failed that the bill shows paid,
        // adopted by S001's back office; the order becomes PAID, once, through the transition function.
        let notice = tilldesk::store::sync::PaidNotice {
            protocol: "wechatpay",
            out_trade_no: "TDFAIL0001",
            trade_no: "4200TDFAIL0001",
            amount: Amount::from_fen(666),
            paid_at_utc: &noon,
            subject: "连锁门店",
            acquirer_id: wechat,
            store_id: s001,
            acquirer_merchant_id: None,
            currency: None,
            compare_merchant: false,
        };
        shared.record_paid_notice(&notice).await.unwrap();
        let failed = format!(
            "SET search_path = {schema}; UPDATE orders SET status = 'FAILED', paid_at = NULL WHERE out_trade_no = 'TDFAIL0001'"
        );
        pg.client.batch_execute(&failed).await.unwrap();
        paid_at_the_acquirer(&sandbox, paid_w.trade_no.as_deref().unwrap(), "TDFAIL0001", 666);
        let redo = a.backend.reconcile_bill_day(day, true).await.unwrap();
        let wx3 = redo.reconciled.iter().find(|r| r.acquirer_id == wechat).expect("the WeChat Pay day again");
        let li = as_operator(&client, "会计 Li", "135790").await;
        let report = li.recon_report(wx3.run_id, None).await.unwrap();
        let failed = report.discrepancies.iter().find(|d| d.out_trade_no.as_deref() == Some("TDFAIL0001"));
        let failed = failed.unwrap_or_else(|| panic!("{report:#?}"));
        assert_eq!((failed.reason.as_str(), failed.store_code.as_deref()), ("local_failed", Some("S001")));
        let adopt = ResolveRequest { ..resolve_as(ResolutionKind::Adopted, "顾客已付款，账单为准") };
        let done = li.resolve_difference(failed.id, &adopt).await.unwrap();
        assert_eq!(done.adopted.as_deref(), Some("TDFAIL0001"));
        assert_eq!(done.difference.resolution.as_deref(), Some("adopted"));
        let order = shared.order_by_out_trade_no("TDFAIL0001").await.unwrap().unwrap();
        assert_eq!((order.status, order.store_id, order.total_amount.fen()), (OrderStatus::Paid, s001, 666));
        // Asked again (a lost answer): the same answer, nothing recorded twice.
        let twice = li.resolve_difference(failed.id, &adopt).await.unwrap();
        assert_eq!(twice.difference.resolution.as_deref(), Some("adopted"));
        let again = shared.order_by_out_trade_no("TDFAIL0001").await.unwrap().unwrap();
        assert_eq!((again.id, again.status), (order.id, OrderStatus::Paid));
        the_dashboard_is_added_up_at_the_backend(&client, &paid1.out_trade_no).await;
        for i in instances {
            i.stop().await;
        }
        sandbox.stop().await;
    };
    outcome.await;
    pg.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_day_whose_lease_passed_to_another_instance_is_not_published_twice() {
    let Some(pg) = PgSchema::new().await else { return };
    let (url, schema) = (pg.url.clone(), pg.name.clone());
    let outcome = async {
        use tilldesk::store::pg::recon::{PublishedRun, ReconBillFile};
        let store = tilldesk::store::pg::PgStore::open(&url, Some(&schema)).await.unwrap();
        let account = tilldesk::model::AcquirerId(7);
        assert_eq!(store.ensure_recon_jobs(&[account], "2026-12-05").await.unwrap(), 1);
        assert_eq!(store.ensure_recon_jobs(&[account], "2026-12-05").await.unwrap(), 0, "made once");
        // Instance a claims the day with a lease that ends at once (it stalls, or was killed).
        let job_a = store.claim_recon_job("a", 0.0).await.unwrap().expect("due");
        assert_eq!((job_a.bill_date.as_str(), job_a.attempts), ("2026-12-05", 1));
        // Instance b takes it over; while b holds it, nobody else can claim it.
        let job_b = store.claim_recon_job("b", 600.0).await.unwrap().expect("taken over");
        assert_eq!(job_b.attempts, 2);
        assert!(store.claim_recon_job("c", 600.0).await.unwrap().is_none());
        let file = ReconBillFile {
            bill_type: "ALL".into(),
            source_name: "wx.csv".into(),
            row_count: 1,
            imported_at: "2026-12-06T02:00:00.000000Z".into(),
            content: b"bill".to_vec(),
        };
        let keys = std::collections::HashMap::new();
        let run = |instance| PublishedRun {
            instance,
            started_at: "2026-12-06T02:00:00.000000Z",
            differences: &[],
            keys: &keys,
            shares: &[],
            bills: std::slice::from_ref(&file),
        };
        // a finishes late: nothing of it is published. b publishes once.
        let late = store.publish_recon_run(&job_a, &run("a"), |_, _| "{}".into()).await.unwrap();
        assert_eq!(late, None);
        assert!(!store.recon_job_failed(&job_a, "a", "late", 0.0).await.unwrap(), "not a's to give back");
        let published = store.publish_recon_run(&job_b, &run("b"), |_, _| "{}".into()).await.unwrap();
        assert!(published.is_some());
        let jobs = store.recon_jobs("2026-12-01").await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].state.as_str(), jobs[0].run_id), ("done", published));
        assert!(store.claim_recon_job("a", 600.0).await.unwrap().is_none(), "done: not due again");
        let files = store.recon_bill_files(account, "2026-12-05").await.unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].content, b"bill");
    };
    outcome.await;
    pg.drop().await;
}
