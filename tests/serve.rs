//! The merchant backend end to end, on loopback: a backend on a temporary SQLite with the sandbox's accounts, tills
//! enrolled with it (each its own data folder and vault), the tills' own engines paying and refunding through it,
//! the order pull, idempotency by the tills' numbers, tokens, stores and enrolment codes.

mod till_common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use till_common::Till;
use tilldesk::channel::backend::BackendClient;
use tilldesk::channel::backend::api::{self, ApiError, PayAnswer, RefundAnswer, RefundState};
use tilldesk::checkout::{ManualClock, Outcome};
use tilldesk::model::{OrderSource, OrderStatus, RefundStatus, Role};
use tilldesk::money::Amount;
use tilldesk::sandbox::{self, RunningSandbox};
use tilldesk::secrets::Secret;
use tilldesk::serve::{Backend, RunningBackend, StartOptions};
use tilldesk::store::Store;

/// Alipay payment codes the sandbox pays at once (last four digits 0000).
const CODE_A: &str = "286000123456780000";
const CODE_B: &str = "286000987654320000";

struct World {
    dir: tempfile::TempDir,
    sandbox: RunningSandbox,
    backend: RunningBackend,
    http: reqwest::Client,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let accounts = sandbox.state.accounts();
    let home = dir.path().join("backend");
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join(tilldesk::serve::DATABASE_FILE);
    let mut store = Store::open(&db).unwrap();
    sandbox::till::prepare(&mut store).unwrap();
    let router = sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
    let notify = sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
    drop(store);
    let backend = Backend::open(&db, &home).unwrap().serving(router);
    let options = StartOptions { sync: None, recover: false, tls: None };
    let backend = tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options).await.unwrap();
    World { dir, sandbox, backend, http: reqwest::Client::new() }
}

impl World {
    fn url(&self) -> String {
        self.backend.base_url()
    }

    /// A till added at the backend and enrolled from its own folder.
    async fn join(&self, name: &str) -> Till {
        till_common::join(&self.backend, self.dir.path(), name).await
    }

    /// A till's token straight from the API (for calls made by hand).
    async fn client(&self, store_code: &str, name: &str) -> BackendClient {
        let code = self.backend.backend.add_till(store_code, name).await.unwrap().code;
        let enrolled = BackendClient::enrol(&self.url(), code.expose()).await.unwrap();
        BackendClient::new(&self.url(), Secret::from(enrolled.token)).unwrap()
    }

    async fn ledger(&self) -> Value {
        let url = format!("{}/admin/ledger", self.sandbox.base_url());
        self.http.get(url).send().await.unwrap().json().await.unwrap()
    }

    async fn acquirer_trades(&self, out_trade_no: &str) -> usize {
        let ledger = self.ledger().await;
        ledger["trades"].as_array().unwrap().iter().filter(|t| t["out_trade_no"] == out_trade_no).count()
    }

    async fn acquirer_refunds(&self, out_request_no: &str) -> usize {
        let ledger = self.ledger().await;
        ledger["refunds"].as_array().unwrap().iter().filter(|r| r["out_request_no"] == out_request_no).count()
    }

    fn backend_store(&self) -> Store {
        Store::open(&self.backend.backend.db_path()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tills_of_one_store_pay_at_one_and_refund_at_the_other() {
    let w = world().await;
    let till1 = w.join("till 1").await;
    let till2 = w.join("till 2").await;
    // The tills hold no acquirer keys: their vaults keep the backend's token only.
    assert_eq!(till1.vault.names(), ["backend.till_token"]);

    // Till 1's own engine, through the backend, to the sandbox; the number is the till's.
    let (order, outcome) = till1.pay(CODE_A, 1234).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    assert_eq!(order.status, OrderStatus::Paid);
    let no = order.out_trade_no.clone();
    assert_eq!(w.acquirer_trades(&no).await, 1, "the till's out_trade_no goes to the acquirer unchanged");
    let at_backend = w.backend_store().orders().order_by_out_trade_no(&no).unwrap().expect("the backend has the order");
    assert_eq!((at_backend.status, at_backend.total_amount.fen()), (OrderStatus::Paid, 1234));
    assert_eq!(at_backend.trade_no, order.trade_no);

    // Till 2 sees it after one sync.
    assert!(till2.store().orders().order_by_out_trade_no(&no).unwrap().is_none());
    let run = till2.sync().await;
    assert!(run.online && run.errors.is_empty(), "{run:?}");
    let seen = till2.store().orders().order_by_out_trade_no(&no).unwrap().expect("pulled");
    assert_eq!(
        (seen.status, seen.total_amount.fen(), seen.trade_no.clone()),
        (OrderStatus::Paid, 1234, order.trade_no)
    );

    // Back office refunds part of it at till 2, with till 2's own desk and number.
    let clerk = till2.store().staff_mut().add_operator("会计 Li", Role::BackOffice, "135790", None).unwrap();
    let refund = till2.desk().refund(&clerk, &no, Amount::from_fen(500), "退货").await.unwrap();
    assert_eq!(refund.status, RefundStatus::Success);
    let at_till2 = till2.store().orders().order_by_out_trade_no(&no).unwrap().unwrap();
    assert_eq!((at_till2.status, at_till2.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 500));

    // The acquirer charged once and refunded once; the backend and, after its next sync, till 1 agree.
    assert_eq!(w.acquirer_trades(&no).await, 1);
    assert_eq!(w.acquirer_refunds(&refund.out_request_no).await, 1);
    let ledger = w.ledger().await;
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1, "{ledger}");
    let at_backend = w.backend_store().orders().order_by_out_trade_no(&no).unwrap().unwrap();
    assert_eq!((at_backend.status, at_backend.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 500));
    let run = till1.sync().await;
    assert!(run.online && run.errors.is_empty(), "{run:?}");
    let at_till1 = till1.store().orders().order_by_out_trade_no(&no).unwrap().unwrap();
    assert_eq!((at_till1.status, at_till1.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 500));
    let refunds = till1.store().refunds().refunds_of(at_till1.id).unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].out_request_no.as_str(), refunds[0].status),
        (refund.out_request_no.as_str(), RefundStatus::Success)
    );

    // A second sync changes nothing.
    let again = till1.sync().await;
    assert!(again.errors.is_empty(), "{again:?}");
    assert_eq!(till1.store().refunds().refunds_of(at_till1.id).unwrap().len(), 1);
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_or_refunding_twice_with_the_same_number_charges_and_refunds_once() {
    let w = world().await;
    let till = w.client("S001", "till 1").await;
    let pay = api::PayRequest {
        out_trade_no: "TDCHAIN0001".into(),
        auth_code: CODE_B.into(),
        amount: "8.80".into(),
        subject: "x".into(),
        terminal_id: None,
        operator_id: None,
    };
    let first = till.pay(&pay).await.unwrap();
    let PayAnswer::Paid { trade } = &first.answer else { panic!("{first:?}") };
    assert!(!first.replayed && first.order_status == OrderStatus::Paid);
    let again = till.pay(&pay).await.unwrap();
    let PayAnswer::Paid { trade: same } = &again.answer else { panic!("{again:?}") };
    assert!(again.replayed);
    assert_eq!((same.trade_no.as_ref(), same.amount.as_deref()), (trade.trade_no.as_ref(), Some("8.80")));
    assert_eq!(w.acquirer_trades("TDCHAIN0001").await, 1, "charged once");
    // The same number with another amount is another order: refused.
    let other = api::PayRequest { amount: "9.90".into(), ..pay.clone() };
    let e = till.pay(&other).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::OutTradeNoTaken { .. })), "{e}");

    let refund = api::RefundRequest {
        out_trade_no: "TDCHAIN0001".into(),
        out_request_no: "TDCHAIN0001-R1".into(),
        refund_amount: "3.00".into(),
        reason: "退货".into(),
    };
    for replayed in [false, true] {
        let r = till.refund(&refund).await.unwrap();
        assert_eq!(r.answer, RefundAnswer::Accepted { state: RefundState::Success, refund_no: None }, "{r:?}");
        assert_eq!((r.replayed, r.refund_status), (replayed, Some(RefundStatus::Success)));
    }
    assert_eq!(w.acquirer_refunds("TDCHAIN0001-R1").await, 1, "refunded once");
    // Another till of the store using the same refund number: a different refund, refused.
    let other_till = w.client("S001", "till 2").await;
    let e = other_till.refund(&refund).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::OutRequestNoTaken { .. })), "{e}");
    // More than what is left: refused with the amount that is.
    let too_much =
        api::RefundRequest { out_request_no: "TDCHAIN0001-R2".into(), refund_amount: "6.00".into(), ..refund };
    let e = till.refund(&too_much).await.unwrap_err();
    assert_eq!(
        e.api(),
        Some(&ApiError::RefundRefused { reason: "too_much".into(), refundable: Some("5.80".into()) }),
        "{e}"
    );
    let q = till.refund_query("TDCHAIN0001", "TDCHAIN0001-R1").await.unwrap();
    assert_eq!(q.answer, api::RefundQueryAnswer::Found { state: RefundState::Success });
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_before_the_payment_arrives_closes_the_number_for_good() {
    let w = world().await;
    let till = w.client("S001", "till 1").await;
    let q = till.query("TDLATE0001").await.unwrap();
    assert_eq!(q.answer, api::QueryAnswer::NotFound);
    let c = till.cancel("TDLATE0001").await.unwrap();
    assert_eq!(c.answer, api::CancelAnswer::Done { refunded: false });
    let late = api::PayRequest {
        out_trade_no: "TDLATE0001".into(),
        auth_code: CODE_A.into(),
        amount: "1.00".into(),
        subject: "x".into(),
        terminal_id: None,
        operator_id: None,
    };
    let e = till.pay(&late).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::OrderClosed { .. })), "{e}");
    assert_eq!(w.acquirer_trades("TDLATE0001").await, 0, "never charged");
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_revocation_and_stores_are_checked_with_kinds() {
    let w = world().await;
    let kind = |v: &Value| v["kind"].as_str().unwrap_or_default().to_owned();
    // No token, or a made-up one.
    let r = w.http.get(format!("{}/v1/till", w.url())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(kind(&r.json().await.unwrap()), "unauthorized");
    let r = w.http.get(format!("{}/v1/orders", w.url())).bearer_auth("tdt_00").send().await.unwrap();
    assert_eq!((r.status().as_u16(), kind(&r.json().await.unwrap())), (401, "unauthorized".into()));
    // A body that is not the API's: a kind with the field, not a sentence.
    let till = w.client("S001", "till 1").await;
    let pay = api::PayRequest {
        out_trade_no: "TDSTORE0001".into(),
        auth_code: CODE_A.into(),
        amount: "2.00".into(),
        subject: "x".into(),
        terminal_id: None,
        operator_id: None,
    };
    let paid = till.pay(&pay).await.unwrap();
    assert!(matches!(paid.answer, PayAnswer::Paid { .. }), "{paid:?}");
    let bad = api::PayRequest { amount: "-1".into(), out_trade_no: "TDSTORE0002".into(), ..pay.clone() };
    let e = till.pay(&bad).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::BadRequest { field, .. }) if field == "amount"), "{e}");

    // Another store's till may not touch S001's order.
    {
        let mut store = w.backend_store();
        till_common::add_second_store(&mut store);
    }
    let other = w.client("S002", "till of S002").await;
    let not_yours = |e: tilldesk::channel::backend::BackendError| matches!(e.api(), Some(ApiError::NotYourStore));
    assert!(not_yours(other.query("TDSTORE0001").await.unwrap_err()));
    assert!(not_yours(other.cancel("TDSTORE0001").await.unwrap_err()));
    assert!(not_yours(other.pay(&pay).await.unwrap_err()));
    let refund = api::RefundRequest {
        out_trade_no: "TDSTORE0001".into(),
        out_request_no: "TDSTORE0001-R1".into(),
        refund_amount: "1.00".into(),
        reason: "x".into(),
    };
    assert!(not_yours(other.refund(&refund).await.unwrap_err()));
    // Nor see it in its feed.
    let page = other.orders_since(0, 100).await.unwrap();
    assert!(page.orders.iter().all(|o| o.out_trade_no != "TDSTORE0001"), "{page:?}");
    let page = till.orders_since(0, 100).await.unwrap();
    assert!(page.orders.iter().any(|o| o.out_trade_no == "TDSTORE0001"));

    // Revoked: the token stops working at once, with its own kind.
    let tills = w.backend.backend.tills().await.unwrap();
    let t = tills.iter().find(|t| t.name == "till 1").unwrap();
    assert!(t.enrolled_at.is_some() && t.last_contact_at.is_some());
    w.backend.backend.revoke("till 1").await.unwrap();
    let e = till.query("TDSTORE0001").await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::Revoked), "{e}");
    let e = till.pay(&api::PayRequest { out_trade_no: "TDSTORE0003".into(), ..pay }).await.unwrap_err();
    assert_eq!(e.api(), Some(&ApiError::Revoked), "{e}");
    assert_eq!(w.acquirer_trades("TDSTORE0003").await, 0);
    w.backend.stop().await;
}

#[tokio::test]
async fn an_enrolment_code_works_once_and_expires_after_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite3");
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let backend = Backend::open(&db, dir.path()).unwrap().with_clock(clock.clone());
    let first = backend.add_till("S001", "till 1").await.unwrap();
    let code = first.code.expose().to_owned();
    assert!(code.chars().filter(|c| c.is_ascii_alphanumeric()).count() >= 26, "≥ 128 bits: {}", code.len());
    // Only its hash is kept (in the database and its write-ahead log).
    for file in [db.clone(), dir.path().join("serve.sqlite3-wal")] {
        let raw = std::fs::read(&file).unwrap_or_default();
        assert!(!raw.windows(code.len()).any(|w| w == code.as_bytes()), "{}", file.display());
    }

    let enrolled = backend.enrol(&code.to_lowercase()).await.unwrap();
    assert_eq!((enrolled.till_id, enrolled.till.store.store_code.as_str()), (first.till.id.0, "S001"));
    assert!(enrolled.token.starts_with("tdt_"));
    assert_eq!(backend.enrol(&code).await.unwrap_err(), ApiError::EnrolmentCodeUsed);
    assert_eq!(backend.enrol("NOPE-NOPE").await.unwrap_err(), ApiError::EnrolmentCodeUnknown);
    assert!(backend.authenticate(&enrolled.token).await.is_ok());

    let late = backend.add_till("S001", "till 2").await.unwrap();
    clock.advance(Duration::from_secs(24 * 3600 - 1));
    let almost = backend.add_till("S001", "till 3").await.unwrap();
    clock.advance(Duration::from_secs(2));
    assert_eq!(backend.enrol(late.code.expose()).await.unwrap_err(), ApiError::EnrolmentCodeExpired);
    assert!(backend.enrol(almost.code.expose()).await.is_ok(), "made later, still valid");
    let tills = backend.tills().await.unwrap();
    assert_eq!(tills.len(), 3);
    assert!(tills[1].enrolled_at.is_none() && tills[1].code_expires_at.is_some());
    assert!(matches!(backend.add_till("S404", "x").await, Err(tilldesk::serve::ServeError::UnknownStore { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_code_payment_notified_to_the_backend_reaches_the_till_on_its_next_sync() {
    let w = world().await;
    let till = w.join("till 1").await;
    let acc = w.sandbox.state.accounts();
    let mut p = till_common::store_code_notice(
        &acc,
        "2026112500222100005abcdef",
        "2026112522001400777",
        "SCCHAIN0001",
        "18.00",
    );
    let reply = w
        .http
        .post(w.backend.notify_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&p).unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(reply, "success", "verified and recorded at the backend");
    // A forged one is refused there.
    p.insert("total_amount".into(), "1800.00".into());
    let forged = w.http.post(w.backend.notify_url()).body(serde_urlencoded::to_string(&p).unwrap());
    assert_eq!(forged.send().await.unwrap().text().await.unwrap(), "failure");

    let run = till.sync().await;
    assert!(run.errors.is_empty(), "{run:?}");
    let order = till.store().orders().order_by_out_trade_no("SCCHAIN0001").unwrap().expect("pulled");
    assert_eq!(
        (order.status, order.source, order.total_amount.fen()),
        (OrderStatus::Paid, OrderSource::StoreCode, 1800)
    );
    assert_eq!(order.store_id, till.store_id);
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_live_in_the_backend_and_sign_in_at_any_till() {
    use tilldesk::routing::backend::{self, StaffError};
    use tilldesk::store::operators::AuthError;
    let w = world().await;
    let till1 = w.join("till 1").await;
    let till2 = w.join("till 2").await;
    let client1 = backend::client(&till1.store(), &till1.vault).unwrap().expect("enrolled");
    let client2 = backend::client(&till2.store(), &till2.vault).unwrap().expect("enrolled");

    // A backend without staff takes its first owner without `by`; every other operator needs an owner's PIN.
    let mut s1 = till1.store();
    let owner = backend::add_operator(&mut s1, &client1, None, "老板", Role::Owner, "246810").await.unwrap();
    assert_eq!((owner.name.as_str(), owner.role), ("老板", Role::Owner));
    let again = backend::add_operator(&mut s1, &client1, None, "老板娘", Role::Owner, "135790").await.unwrap_err();
    assert!(matches!(again, StaffError::Refused(ApiError::SignInRequired)), "{again:?}");
    let by = Some(("老板", "246810"));
    let cashier = backend::add_operator(&mut s1, &client1, by, "收银 Wang", Role::Cashier, "1357").await.unwrap();
    assert_eq!(cashier.role, Role::Cashier);
    let short = backend::add_operator(&mut s1, &client1, by, "会计 Li", Role::BackOffice, "1357").await.unwrap_err();
    assert!(matches!(short, StaffError::Auth(AuthError::PinFormat { min: 6, .. })), "{short:?}");
    let taken = backend::add_operator(&mut s1, &client1, by, "收银 Wang", Role::Cashier, "2468").await.unwrap_err();
    assert!(matches!(taken, StaffError::Taken(_)), "{taken:?}");
    // The operators live at the backend, PIN hashes and all; till 1 keeps names and roles only.
    let at_backend = w.backend_store().staff().operator_by_name("收银 Wang").unwrap().expect("at the backend");
    assert_eq!(at_backend.role, Role::Cashier);
    assert!(w.backend_store().staff_mut().verify_pin("收银 Wang", "1357").is_ok());
    assert!(s1.staff_mut().verify_pin("收银 Wang", "1357").is_err(), "the till keeps no PIN hash");

    // The cashier added at till 1 signs in at till 2, checked by the backend; till 2 then lists the staff.
    let mut s2 = till2.store();
    assert!(s2.staff().operator_by_name("收银 Wang").unwrap().is_none());
    let signed = backend::sign_in(&mut s2, &till2.vault, "收银 Wang", "1357").await.unwrap();
    assert_eq!((signed.name.as_str(), signed.role), ("收银 Wang", Role::Cashier));
    let names: Vec<(String, Role)> = s2.staff().operators().unwrap().into_iter().map(|o| (o.name, o.role)).collect();
    assert_eq!(names, [("老板".to_owned(), Role::Owner), ("收银 Wang".to_owned(), Role::Cashier)]);
    assert!(s2.setting(backend::SETTING_SESSION).unwrap().is_some_and(|s| s.starts_with("tdt_")));
    assert!(!till2.vault.names().iter().any(|n| n.contains("session")), "the vault keeps the till's token only");
    assert!(s2.staff_mut().verify_pin("收银 Wang", "1357").is_err(), "never a PIN hash on the till");

    // A wrong PIN is refused (and a name nobody has alike).
    let wrong = backend::sign_in(&mut s2, &till2.vault, "收银 Wang", "9999").await.unwrap_err();
    assert!(matches!(wrong, StaffError::Auth(AuthError::NameOrPin)), "{wrong:?}");
    let nobody = backend::sign_in(&mut s2, &till2.vault, "nobody", "1357").await.unwrap_err();
    assert!(matches!(nobody, StaffError::Auth(AuthError::NameOrPin)), "{nobody:?}");

    // A cashier cannot add staff.
    let as_cashier = Some(("收银 Wang", "1357"));
    let refused = backend::add_operator(&mut s2, &client2, as_cashier, "x", Role::Cashier, "2468").await.unwrap_err();
    assert!(matches!(refused, StaffError::Auth(AuthError::NotAllowed { .. })), "{refused:?}");
    assert!(w.backend_store().staff().operator_by_name("x").unwrap().is_none());

    // Till 1's sync refreshes its list from the backend.
    drop(s1);
    let run = till1.sync().await;
    assert!(run.errors.is_empty(), "{run:?}");
    assert_eq!(till1.store().staff().operators().unwrap().len(), 2);

    // While the backend cannot be reached, sign-in says so.
    let dead = BackendClient::new("http://127.0.0.1:9", Secret::from("tdt_x".to_owned())).unwrap();
    let down = backend::sign_in_with(&mut s2, &dead, "收银 Wang", "1357").await.unwrap_err();
    assert!(matches!(down, StaffError::Unreachable(_)), "{down:?}");
    // The window says so in both languages.
    use tilldesk::i18n::{Lang, Phrase as _};
    assert!(down.phrase(Lang::ZhCn).contains("无法连接商户后台"), "{}", down.phrase(Lang::ZhCn));
    assert!(down.phrase(Lang::En).contains("cannot be reached"), "{}", down.phrase(Lang::En));
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tills_refunding_one_order_before_syncing_make_different_numbers() {
    let w = world().await;
    let till1 = w.join("till 1").await;
    let till2 = w.join("till 2").await;
    let (order, outcome) = till1.pay(CODE_B, 1000).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let no = order.out_trade_no.clone();
    assert!(till2.sync().await.errors.is_empty());

    // Both refund before either syncs again: each names its till in the number.
    let clerk1 = till1.store().staff_mut().add_operator("会计 Li", Role::BackOffice, "135790", None).unwrap();
    let clerk2 = till2.store().staff_mut().add_operator("会计 Li", Role::BackOffice, "135790", None).unwrap();
    let r1 = till1.desk().refund(&clerk1, &no, Amount::from_fen(200), "退货").await.unwrap();
    let r2 = till2.desk().refund(&clerk2, &no, Amount::from_fen(300), "退货").await.unwrap();
    let id = |t: &Till| t.store().setting("backend.till_id").unwrap().unwrap();
    assert_eq!(r1.out_request_no, format!("{no}-T{}R1", id(&till1)));
    assert_eq!(r2.out_request_no, format!("{no}-T{}R1", id(&till2)));
    assert_ne!(r1.out_request_no, r2.out_request_no);
    assert_eq!((r1.status, r2.status), (RefundStatus::Success, RefundStatus::Success));
    // The numbers went to the acquirer unchanged, once each.
    assert_eq!(w.acquirer_refunds(&r1.out_request_no).await, 1);
    assert_eq!(w.acquirer_refunds(&r2.out_request_no).await, 1);
    let at_backend = w.backend_store().orders().order_by_out_trade_no(&no).unwrap().unwrap();
    assert_eq!(at_backend.refunded_amount.fen(), 500);
    w.backend.stop().await;
}

/// Signing out at an enrolled till ends the operator session at the backend too: the till forgets it at once, and
/// the session (wherever it was copied) opens no list after; a payment after it records nobody; signing out again
/// answers the same; with the backend unreachable the till still forgets it, and says the backend could not be told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_operator_session_at_the_backend() {
    use tilldesk::channel::backend::api::FeedQuery;
    use tilldesk::routing::backend::{self, StaffError};
    let w = world().await;
    let mut till = w.join("till 1").await;
    let first = backend::client(&till.store(), &till.vault).unwrap().expect("enrolled");
    backend::add_operator(&mut till.store(), &first, None, "老板", Role::Owner, "246810").await.unwrap();
    let (_, owner) = sign_in_at(&mut till, "老板", "246810").await;
    assert!(owner.order_list(&FeedQuery::default()).await.is_ok(), "signed in, the list opens");

    backend::sign_out(&mut till.store(), Some(&owner)).await.unwrap();
    assert_eq!(till.store().setting(backend::SETTING_SESSION).unwrap().as_deref(), Some(""), "the till forgot it");
    let after = owner.order_list(&FeedQuery::default()).await.unwrap_err();
    assert!(matches!(after.api(), Some(ApiError::SignInRequired)), "the old session opens nothing: {after:?}");
    backend::sign_out(&mut till.store(), Some(&owner)).await.unwrap();
    // A payment through a client built while the owner was signed in (its calls still carry the session) is
    // recorded with nobody: the backend ended the session.
    let (order, outcome) = till.pay(CODE_A, 100).await;
    assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
    let at_backend = w.backend_store().orders().order_by_out_trade_no(&order.out_trade_no).unwrap().unwrap();
    assert_eq!(at_backend.operator_id, None, "recorded with no operator");

    // The backend down: the till forgets the session anyway, and says the backend was not told.
    let (_, again) = sign_in_at(&mut till, "老板", "246810").await;
    let dead = BackendClient::new("http://127.0.0.1:9", Secret::from("tdt_x".to_owned())).unwrap();
    let down = backend::sign_out(&mut till.store(), Some(&dead)).await.unwrap_err();
    assert!(matches!(down, StaffError::Unreachable(_)), "{down:?}");
    assert_eq!(till.store().setting(backend::SETTING_SESSION).unwrap().as_deref(), Some(""));
    assert!(again.order_list(&FeedQuery::default()).await.is_ok(), "it expires at the backend by itself");
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_change_pins_and_are_deactivated_at_the_backend_from_any_till() {
    use tilldesk::channel::backend::api::FeedQuery;
    use tilldesk::routing::backend::{self, StaffError};
    use tilldesk::store::operators::{AuthError, SetActiveError};
    let w = world().await;
    let (mut till1, mut till2) = (w.join("till 1").await, w.join("till 2").await);
    let c1 = backend::client(&till1.store(), &till1.vault).unwrap().expect("enrolled");
    backend::add_operator(&mut till1.store(), &c1, None, "老板", Role::Owner, "246810").await.unwrap();
    let owner = ("老板", "246810");
    backend::add_operator(&mut till1.store(), &c1, Some(owner), "小王", Role::Cashier, "1357").await.unwrap();

    // 小王 changes their PIN at till 2: the old one is refused everywhere, the new one signs in at till 1.
    let (_, wang2) = sign_in_at(&mut till2, "小王", "1357").await;
    backend::change_pin(&mut till2.store(), &wang2, ("小王", "1357"), "小王", "8642").await.unwrap();
    let refused = backend::sign_in(&mut till1.store(), &till1.vault, "小王", "1357").await.unwrap_err();
    assert!(matches!(refused, StaffError::Auth(AuthError::NameOrPin)), "{refused:?}");
    let (_, wang1) = sign_in_at(&mut till1, "小王", "8642").await;
    assert!(wang1.order_list(&FeedQuery::default()).await.is_ok());
    // The till keeps no PIN of theirs.
    let kept = till1.store().staff_mut().verify_pin("小王", "8642");
    assert!(kept.is_err(), "the till checks no PIN itself");
    // A cashier deactivates nobody; a wrong current PIN changes nothing.
    let e = backend::set_operator_active(&mut till2.store(), &wang2, ("小王", "8642"), "老板", false).await;
    assert!(matches!(e, Err(StaffError::Auth(AuthError::NotAllowed { .. }))), "{e:?}");
    let e = backend::change_pin(&mut till2.store(), &wang2, ("小王", "0000"), "小王", "1111").await;
    assert!(matches!(e, Err(StaffError::Auth(AuthError::NameOrPin))), "{e:?}");
    // The only owner stays.
    let e = backend::set_operator_active(&mut till1.store(), &c1, owner, "老板", false).await;
    assert!(matches!(e, Err(StaffError::Active(SetActiveError::LastOwner(ref n))) if n == "老板"), "{e:?}");

    // The owner deactivates 小王 at till 1: their session at till 2 opens nothing, they cannot sign in, and both
    // tills' lists say inactive (till 2's at its next refresh, which every sync pass does).
    let off = backend::set_operator_active(&mut till1.store(), &c1, owner, "小王", false).await.unwrap();
    assert!(!off.active);
    let e = wang2.order_list(&FeedQuery::default()).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::SignInRequired)), "{e:?}");
    let e = backend::sign_in(&mut till2.store(), &till2.vault, "小王", "8642").await.unwrap_err();
    assert!(matches!(e, StaffError::Auth(AuthError::NameOrPin)), "{e:?}");
    let c2 = backend::client(&till2.store(), &till2.vault).unwrap().expect("enrolled");
    backend::refresh_operators(&c2, &mut till2.store()).await.unwrap();
    for till in [&till1, &till2] {
        let wang = till.store().staff().operator_by_name("小王").unwrap().unwrap();
        assert!(!wang.active, "inactive at every till");
    }
    let audit = w.backend_store().staff().audit_page(None, 20).unwrap();
    assert!(audit.iter().any(|a| a.action == "operator.deactivate" && a.subject == "小王"));

    // Reactivated with a new PIN from the owner (a forgotten one): signs in again.
    backend::set_operator_active(&mut till1.store(), &c1, owner, "小王", true).await.unwrap();
    backend::change_pin(&mut till1.store(), &c1, owner, "小王", "9753").await.unwrap();
    let (back, _) = sign_in_at(&mut till2, "小王", "9753").await;
    assert!(back.active);
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_codes_are_made_paid_and_closed_through_the_backend() {
    use std::sync::atomic::AtomicBool;
    use tilldesk::model::Wallet;
    let w = world().await;
    let till = w.join("till 1").await;
    let scan = |code: String| {
        let http = w.http.clone();
        let url = format!("{}/simulate/scan", w.sandbox.base_url());
        async move { http.post(url).json(&serde_json::json!({ "payload": code })).send().await.unwrap().status() }
    };
    for (wallet, prefix) in [(Wallet::Alipay, "https://qr.alipay.com/"), (Wallet::WechatPay, "weixin://wxpay/")] {
        // The till shows the code the backend had the store's acquirer make; both keep it.
        let (engine, sale) = till.show_code(wallet, 1234).await;
        assert!(sale.code.starts_with(prefix), "{wallet:?}: {}", sale.code);
        let no = sale.order.out_trade_no.clone();
        let at_backend = w.backend_store().orders().order_by_out_trade_no(&no).unwrap().expect("written ahead");
        assert_eq!((at_backend.status, at_backend.total_amount.fen()), (OrderStatus::Paying, 1234));
        let row = w.backend_store().orders().dynamic_code(at_backend.id).unwrap().expect("a dynamic order");
        assert_eq!((row.wallet, row.code_text.as_deref()), (wallet, Some(sale.code.as_str())));
        // The backend's own sync leaves a code a till still shows alone, however stale it calls open orders.
        let accounts = w.sandbox.state.accounts();
        let router = sandbox::till::router(&w.backend_store(), &accounts, &w.sandbox.base_url()).unwrap();
        let settings = tilldesk::sync::SyncSettings {
            stale_after: std::time::Duration::ZERO,
            bill_time: None,
            ..tilldesk::sync::SyncSettings::default()
        };
        let db = w.backend.backend.db_path();
        let home = db.parent().unwrap().to_owned();
        tilldesk::sync::SyncWorker::new(&db, &home, router, None, settings).run_once("test").await.unwrap();
        assert_eq!(w.backend_store().orders().order(at_backend.id).unwrap().unwrap().status, OrderStatus::Paying);
        // The customer scans and pays; the till's next poll (through the backend) sees it.
        assert_eq!(scan(sale.code.clone()).await.as_u16(), 200);
        let (order, outcome) = engine.wait_dynamic(&sale, &AtomicBool::new(false), &|_| {}).await.unwrap();
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        assert_eq!(order.status, OrderStatus::Paid);
        let at_backend = w.backend_store().orders().order_by_out_trade_no(&no).unwrap().unwrap();
        assert_eq!(at_backend.status, OrderStatus::Paid);
        assert_eq!(at_backend.trade_no, order.trade_no);
        assert_eq!(w.acquirer_trades(&no).await, 1, "one sale, one trade");

        // A code the cashier cancels is closed at the acquirer through the backend: nobody can pay it after.
        let (engine, sale) = till.show_code(wallet, 880).await;
        let (order, outcome) = engine.wait_dynamic(&sale, &AtomicBool::new(true), &|_| {}).await.unwrap();
        assert_eq!((outcome, order.status), (Outcome::Closed, OrderStatus::Closed));
        let no = order.out_trade_no;
        assert_eq!(w.backend_store().orders().order_by_out_trade_no(&no).unwrap().unwrap().status, OrderStatus::Closed);
        assert_eq!(scan(sale.code.clone()).await.as_u16(), 409, "the closed code cannot be paid");
    }

    // A second store, whose Alipay codes go through the partner acquirer PARTNER1: its till's codes come from the
    // acquirer its own store is routed to (two stores, three acquirers).
    {
        let mut store = w.backend_store();
        let s002 = till_common::add_second_store(&mut store);
        for (code, wallet) in [("PARTNER1", Wallet::Alipay), ("WECHATPAY", Wallet::WechatPay)] {
            let a = store.setup().acquirer_by_onboarding_code(code).unwrap().unwrap();
            let route = tilldesk::model::Route {
                store_id: s002,
                wallet,
                acquirer_id: a.acquirer.id,
                merchant_id: None,
                source: tilldesk::model::RouteSource::Direct,
            };
            store.setup_mut().set_route(&route, None).unwrap();
        }
    }
    let till2 = till_common::join_store(&w.backend, w.dir.path(), "till of S002", "S002").await;
    for (wallet, acquirer) in [(Wallet::Alipay, "PARTNER1"), (Wallet::WechatPay, "WECHATPAY")] {
        let (engine, sale) = till2.show_code(wallet, 2222).await;
        let url = format!("{}/simulate/scan", w.sandbox.base_url());
        let scanned = w.http.post(url).json(&serde_json::json!({ "payload": sale.code })).send().await.unwrap();
        let scanned: Value = scanned.json().await.unwrap();
        assert_eq!(scanned["acquirer_id"], acquirer, "{wallet:?}: the code came from S002's acquirer: {scanned}");
        let (order, outcome) = engine.wait_dynamic(&sale, &AtomicBool::new(false), &|_| {}).await.unwrap();
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        let at_backend = w.backend_store().orders().order_by_out_trade_no(&order.out_trade_no).unwrap().unwrap();
        let routed = w.backend_store().setup().acquirer_by_onboarding_code(acquirer).unwrap().unwrap();
        assert_eq!((at_backend.status, at_backend.acquirer_id), (OrderStatus::Paid, routed.acquirer.id));
    }

    // Asked again with the same number (a lost answer), the backend answers with the code it recorded; another
    // amount under it is refused; a close before any code closes the number for good.
    let client = w.client("S001", "till 2").await;
    let expires_at = (time::OffsetDateTime::now_utc() + time::Duration::minutes(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let req = api::PrecreateRequest {
        out_trade_no: "TDDYNAGAIN1".into(),
        wallet: Wallet::WechatPay,
        amount: "5.00".into(),
        subject: "连锁门店".into(),
        expires_at,
        terminal_id: None,
        operator_id: None,
    };
    let first = client.precreate(&req).await.unwrap();
    let again = client.precreate(&req).await.unwrap();
    assert!(again.replayed && !first.replayed);
    assert!(matches!(&first.answer, api::PrecreateAnswer::Created { .. }), "{first:?}");
    assert_eq!(first.answer, again.answer, "the same code");
    assert_eq!(w.acquirer_trades("TDDYNAGAIN1").await, 1);
    let other = api::PrecreateRequest { amount: "6.00".into(), ..req.clone() };
    let e = client.precreate(&other).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::OutTradeNoTaken { .. })), "{e:?}");
    let closed = client.close("TDDYNAGAIN2").await.unwrap();
    assert_eq!((closed.answer, closed.order_status), (api::CloseAnswer::Closed, None));
    let late = api::PrecreateRequest { out_trade_no: "TDDYNAGAIN2".into(), ..req.clone() };
    let e = client.precreate(&late).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::OrderClosed { .. })), "{e:?}");
    assert_eq!(w.acquirer_trades("TDDYNAGAIN2").await, 0, "never sent");
    // Closing a paid order says so (nothing is sent); an expiry in the past is refused.
    let (paid, _) = till.pay(CODE_A, 100).await;
    let closed = client.close(&paid.out_trade_no).await.unwrap();
    assert!(matches!(closed.answer, api::CloseAnswer::AlreadyPaid { .. }), "{closed:?}");
    let past = api::PrecreateRequest {
        out_trade_no: "TDDYNPAST".into(),
        expires_at: "2020-01-01T00:00:00Z".into(),
        ..req.clone()
    };
    let e = client.precreate(&past).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::BadRequest { field, .. }) if field == "expires_at"), "{e:?}");
    w.backend.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_till_sends_its_shifts_and_day_closes_and_head_office_lists_them() {
    use tilldesk::channel::backend::api::{ShiftKind, ShiftQuery};
    use tilldesk::routing::backend;
    let w = world().await;
    let (mut till1, mut till2) = (w.join("till 1").await, w.join("till 2").await);
    let c1 = backend::client(&till1.store(), &till1.vault).unwrap().expect("enrolled");
    backend::add_operator(&mut till1.store(), &c1, None, "老板", Role::Owner, "246810").await.unwrap();
    backend::add_operator(&mut till1.store(), &c1, Some(("老板", "246810")), "小王", Role::Cashier, "1357")
        .await
        .unwrap();
    backend::add_operator(&mut till1.store(), &c1, Some(("老板", "246810")), "小李", Role::Cashier, "2468")
        .await
        .unwrap();

    // 小王 works a shift at till 1 and takes a payment; 小李 one at till 2, which then closes the day.
    let now = || tilldesk::time::now_utc();
    let (wang, _) = sign_in_at(&mut till1, "小王", "1357").await;
    let this1 = tilldesk::config::this_till(&mut till1.store()).unwrap();
    tilldesk::shifts::open(&mut till1.store(), &this1, &wang, &now()).unwrap();
    let (paid, _) = till1.pay_as(CODE_A, 1500, Some(wang.id)).await;
    assert_eq!(paid.status, OrderStatus::Paid);
    let wang_shift = tilldesk::shifts::close_mine(&mut till1.store(), &this1, &wang, &now()).unwrap();
    assert_eq!(wang_shift.figures.paid_fen, 1500);
    let (li, _) = sign_in_at(&mut till2, "小李", "2468").await;
    let this2 = tilldesk::config::this_till(&mut till2.store()).unwrap();
    tilldesk::shifts::open(&mut till2.store(), &this2, &li, &now()).unwrap();
    let (boss, _) = sign_in_at(&mut till2, "老板", "246810").await;
    let today = tilldesk::shifts::today();
    let (_, day) = tilldesk::shifts::close_day(&mut till2.store(), this2.store_id, today, Some(&boss), &now()).unwrap();
    assert_eq!(day.closed_shifts.len(), 1, "小李's shift closed by the day close");

    // Each till's next sync sends what it closed; a second pass sends nothing again.
    till1.sync().await;
    till2.sync().await;
    till2.sync().await;
    let rows = w.backend_store().table_counts().unwrap();
    let reports = rows.iter().find(|(t, _)| *t == "backend_shift_reports").map(|(_, n)| *n);
    assert_eq!(reports, Some(3), "two shifts and a day close, once each");

    // The owner lists every till's; a cashier only their own; the figures are the till's.
    let (_, owner) = sign_in_at(&mut till1, "老板", "246810").await;
    let all = owner.shift_reports(&ShiftQuery::default()).await.unwrap();
    let mut seen: Vec<(ShiftKind, String, String)> =
        all.reports.iter().map(|r| (r.kind, r.till_name.clone(), r.operator.clone())).collect();
    seen.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)));
    assert_eq!(
        seen,
        [
            (ShiftKind::Shift, "till 1".to_owned(), "小王".to_owned()),
            (ShiftKind::Shift, "till 2".to_owned(), "小李".to_owned()),
            (ShiftKind::DayClose, "till 2".to_owned(), "老板".to_owned()),
        ]
    );
    let wang_line = all.reports.iter().find(|r| r.operator == "小王").unwrap();
    assert_eq!((wang_line.figures.paid_count, wang_line.figures.paid.as_str()), (1, "15.00"));
    assert_eq!(wang_line.store_code, "S001");
    let only_days = ShiftQuery { kind: Some(ShiftKind::DayClose), ..ShiftQuery::default() };
    let days = owner.shift_reports(&only_days).await.unwrap();
    assert_eq!(days.reports.len(), 1);
    assert_eq!(days.reports[0].business_day.as_deref(), Some(tilldesk::shifts::day_text(today).as_str()));
    let (_, wang_client) = sign_in_at(&mut till1, "小王", "1357").await;
    let own = wang_client.shift_reports(&ShiftQuery::default()).await.unwrap();
    assert_eq!(own.reports.iter().map(|r| r.operator.as_str()).collect::<Vec<_>>(), ["小王"]);
    // Paged: one a page, the next page goes on below.
    let first = owner.shift_reports(&ShiftQuery { limit: Some(1), ..ShiftQuery::default() }).await.unwrap();
    let next = first.next.expect("more");
    let below = ShiftQuery { after: Some(next), limit: Some(1), ..ShiftQuery::default() };
    let second = owner.shift_reports(&below).await.unwrap();
    assert!(second.reports[0].id < first.reports[0].id);
    // Without a session, nothing.
    let bare = w.client("S001", "till 3").await;
    let e = bare.shift_reports(&ShiftQuery::default()).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::SignInRequired)), "{e:?}");
    w.backend.stop().await;
}

/// Signs `name` in at `till` through the backend and rebuilds its router, so its calls carry their session.
async fn sign_in_at(till: &mut Till, name: &str, pin: &str) -> (tilldesk::model::Operator, BackendClient) {
    use tilldesk::routing::backend;
    let op = backend::sign_in(&mut till.store(), &till.vault, name, pin).await.unwrap();
    till.router = backend::router(&till.store(), &till.vault).unwrap().expect("enrolled");
    (op, backend::client(&till.store(), &till.vault).unwrap().expect("enrolled"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_office_lists_are_scoped_by_the_signed_in_role() {
    use tilldesk::channel::backend::api::{FeedQuery, RefundListQuery};
    use tilldesk::routing::backend;
    use tilldesk::store::pulled::PulledOrder;
    let w = world().await;
    let mut till = w.join("till 1").await;
    // A second store with one paid order, at the backend.
    {
        let mut store = w.backend_store();
        let s002 = till_common::add_second_store(&mut store);
        let acquirer = store.setup().acquirers().unwrap()[0].id;
        let now = tilldesk::time::now_utc();
        let other = PulledOrder {
            out_trade_no: "TDS002000001".into(),
            trade_no: Some("2026S002".into()),
            store_id: s002,
            acquirer_id: acquirer,
            source: OrderSource::Barcode,
            subject: "二店".into(),
            total_amount: Amount::from_fen(3000),
            status: OrderStatus::Paid,
            auth_code_masked: None,
            created_at: now.clone(),
            paid_at: Some(now),
            acquirer_merchant_id: None,
            terminal_id: None,
            refunds: Vec::new(),
        };
        store.orders_mut().apply_pulled_order(&other).unwrap();
    }
    // Staff at the backend, added from the till.
    let client = backend::client(&till.store(), &till.vault).unwrap().unwrap();
    let mut s = till.store();
    backend::add_operator(&mut s, &client, None, "老板", Role::Owner, "246810").await.unwrap();
    let by = Some(("老板", "246810"));
    backend::add_operator(&mut s, &client, by, "会计 Li", Role::BackOffice, "135790").await.unwrap();
    backend::add_operator(&mut s, &client, by, "收银 Wang", Role::Cashier, "1357").await.unwrap();
    backend::add_operator(&mut s, &client, by, "收银 Zhao", Role::Cashier, "2468").await.unwrap();
    drop(s);

    // Each cashier takes a payment while signed in: the backend records who.
    sign_in_at(&mut till, "收银 Wang", "1357").await;
    let (wang_order, _) = till.pay(CODE_A, 1000).await;
    let (_, zhao) = sign_in_at(&mut till, "收银 Zhao", "2468").await;
    let (zhao_order, _) = till.pay(CODE_B, 2000).await;
    let at_backend = w.backend_store().orders().order_by_out_trade_no(&zhao_order.out_trade_no).unwrap().unwrap();
    let zhao_id = w.backend_store().staff().operator_by_name("收银 Zhao").unwrap().unwrap().id;
    assert_eq!(at_backend.operator_id, Some(zhao_id));
    let numbers = |l: &api::OrderList| l.orders.iter().map(|o| o.out_trade_no.clone()).collect::<Vec<_>>();

    // A cashier sees only their own orders, and no other order's detail.
    let list = zhao.order_list(&FeedQuery::default()).await.unwrap();
    assert_eq!(numbers(&list), [zhao_order.out_trade_no.as_str()]);
    let q = zhao.query(&wang_order.out_trade_no).await.unwrap();
    assert!(q.order.is_none(), "{q:?}");
    let q = zhao.query(&zhao_order.out_trade_no).await.unwrap();
    assert_eq!(q.order.expect("detail").order.out_trade_no, zhao_order.out_trade_no);

    // Back office at this till: the store's orders, not another store's.
    let (li_op, li) = sign_in_at(&mut till, "会计 Li", "135790").await;
    let list = li.order_list(&FeedQuery::default()).await.unwrap();
    assert_eq!(numbers(&list), [zhao_order.out_trade_no.clone(), wang_order.out_trade_no.clone()]);
    let s002 = FeedQuery { store: Some("S002".into()), ..FeedQuery::default() };
    assert!(matches!(li.order_list(&s002).await.unwrap_err().api(), Some(ApiError::NotYourStore)));
    let q = li.query("TDS002000001").await.unwrap_err();
    assert!(matches!(q.api(), Some(ApiError::NotYourStore)), "{q:?}");
    // A refund by back office, listed for them, not for the cashier whose order it is not.
    let refund = till.desk().refund(&li_op, &wang_order.out_trade_no, Amount::from_fen(100), "退货").await.unwrap();
    let refunds = li.refund_list(&RefundListQuery::default()).await.unwrap();
    assert_eq!(refunds.refunds.len(), 1);
    assert_eq!(
        (refunds.refunds[0].out_request_no.as_str(), refunds.refunds[0].store_code.as_str()),
        (refund.out_request_no.as_str(), "S001")
    );
    assert!(zhao.refund_list(&RefundListQuery::default()).await.unwrap().refunds.is_empty());

    // The owner sees every store: filters, keyset pages, another store's detail from the record.
    let (_, owner) = sign_in_at(&mut till, "老板", "246810").await;
    let all = owner.order_list(&FeedQuery::default()).await.unwrap();
    assert_eq!(all.orders.len(), 3, "{all:?}");
    let only = owner.order_list(&s002).await.unwrap();
    assert_eq!(numbers(&only), ["TDS002000001"]);
    assert_eq!(only.orders[0].store_code.as_deref(), Some("S002"));
    let paid = FeedQuery { status: Some("PAID".into()), ..FeedQuery::default() };
    assert_eq!(owner.order_list(&paid).await.unwrap().orders.len(), 2, "one is partly refunded");
    let search = FeedQuery { search: Some(wang_order.out_trade_no.clone()), ..FeedQuery::default() };
    assert_eq!(numbers(&owner.order_list(&search).await.unwrap()), [wang_order.out_trade_no.as_str()]);
    let first = owner.order_list(&FeedQuery { limit: Some(2), ..FeedQuery::default() }).await.unwrap();
    assert_eq!(first.orders.len(), 2);
    let after = FeedQuery { limit: Some(2), after: first.next.clone(), ..FeedQuery::default() };
    let second = owner.order_list(&after).await.unwrap();
    assert_eq!(second.orders.len(), 1);
    assert!(second.next.is_none());
    assert!(!numbers(&first).contains(&second.orders[0].out_trade_no));
    let detail = owner.query("TDS002000001").await.unwrap();
    assert!(matches!(detail.answer, api::QueryAnswer::Paid { .. }), "{detail:?}");
    assert_eq!(detail.order.expect("detail").order.store_code.as_deref(), Some("S002"));
    let detail = owner.query(&wang_order.out_trade_no).await.unwrap().order.expect("detail");
    assert_eq!(detail.order.refunds.len(), 1);
    assert!(detail.timeline.iter().any(|e| e.kind == "refund_requested"), "{detail:?}");
    assert_eq!(owner.refund_list(&RefundListQuery::default()).await.unwrap().refunds.len(), 1);

    // Without a signed-in operator the lists are refused.
    let nobody = w.client("S001", "till 9").await;
    let e = nobody.order_list(&FeedQuery::default()).await.unwrap_err();
    assert!(matches!(e.api(), Some(ApiError::SignInRequired)), "{e:?}");

    // With the owner signed in, the till's sync pulls every store's orders down.
    assert!(till.store().orders().order_by_out_trade_no("TDS002000001").unwrap().is_none());
    let run = till.sync().await;
    assert!(run.errors.is_empty(), "{run:?}");
    let pulled = till.store().orders().order_by_out_trade_no("TDS002000001").unwrap().expect("pulled for the owner");
    let local_s002 = till.store().setup().store_by_code("S002").unwrap().expect("the store mirrored");
    assert_eq!((pulled.store_id, pulled.status), (local_s002.id, OrderStatus::Paid));
    assert_eq!(
        (local_s002.name.as_str(), local_s002.name_zh.as_str()),
        ("Second", "二店"),
        "named as the backend names it"
    );
    // Renamed at the backend: the till's next sync names it so.
    let mut renamed = w.backend_store().setup().store_by_code("S002").unwrap().unwrap();
    renamed.name_zh = "二号店".into();
    w.backend_store().setup_mut().update_store(&renamed, None).unwrap();
    let run = till.sync().await;
    assert!(run.errors.is_empty(), "{run:?}");
    assert_eq!(till.store().setup().store_by_code("S002").unwrap().unwrap().name_zh, "二号店");
    w.backend.stop().await;
}

/// Every answer says how long the call waited for the acquirer (`Server-Timing`): a payment sent on waits for it, the
/// same payment asked again does not (nothing is sent), and an error answer carries the header too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_split_the_acquirers_time_from_the_backends_in_server_timing() {
    let w = world().await;
    let code = w.backend.backend.add_till("S001", "timed till").await.unwrap().code;
    let token = BackendClient::enrol(&w.url(), code.expose()).await.unwrap().token;
    let timing = |r: &reqwest::Response| -> (f64, f64) {
        let value = r.headers().get("server-timing").expect("a Server-Timing header").to_str().unwrap().to_owned();
        let dur = |name: &str| -> f64 {
            let metric = value.split(", ").find(|m| m.starts_with(name)).unwrap_or_else(|| panic!("{name} in {value}"));
            metric.split("dur=").nth(1).unwrap().parse().unwrap()
        };
        (dur("acquirer;"), dur("backend;"))
    };
    let body =
        serde_json::json!({ "out_trade_no": "TDTIMED0001", "auth_code": CODE_A, "amount": "3.00", "subject": "x" });
    let first = w.http.post(format!("{}/v1/pay", w.url())).bearer_auth(&token).json(&body).send().await.unwrap();
    let (acquirer, backend) = timing(&first);
    let answer: Value = first.json().await.unwrap();
    assert_eq!(answer["order_status"], "PAID", "{answer}");
    assert!(acquirer > 0.0 && backend >= 0.0, "acquirer {acquirer} ms, backend {backend} ms");
    let again = w.http.post(format!("{}/v1/pay", w.url())).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(timing(&again).0, 0.0, "a replayed payment sends nothing to the acquirer");
    assert_eq!(again.json::<Value>().await.unwrap()["replayed"], true);
    let refused = w.http.get(format!("{}/v1/till", w.url())).send().await.unwrap();
    assert_eq!((refused.status().as_u16(), timing(&refused).0), (401, 0.0));
    w.backend.stop().await;
}

/// A till's order from before it joined, taken with an account the backend holds too, is refunded through the
/// backend, once, at the acquirer (see `till_common::history_with_the_backends_account_is_refunded_through_it`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_from_before_joining_is_refunded_through_the_backend_that_holds_its_account() {
    let w = world().await;
    let (no, refund) = till_common::history_with_the_backends_account_is_refunded_through_it(
        &w.backend,
        w.dir.path(),
        &w.sandbox,
        CODE_A,
    )
    .await;
    assert_eq!(w.acquirer_trades(&no).await, 1, "paid once, store-direct");
    assert_eq!(w.acquirer_refunds(&refund).await, 1, "refunded once, at the acquirer");
    w.backend.stop().await;
}

/// A till that leaves and joins again keeps refunding its own orders through the backend (see
/// `till_common::joining_again_keeps_its_own_orders_refundable`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_that_joins_again_refunds_its_own_orders_through_the_backend() {
    let w = world().await;
    till_common::joining_again_keeps_its_own_orders_refundable(&w.backend, w.dir.path(), CODE_A, CODE_B).await;
    w.backend.stop().await;
}

/// A till's orders from before it joined go up once as its history (see `till_common::history_goes_up_once`), and
/// the sandbox never hears of them from the backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tills_orders_from_before_it_joined_go_up_once_as_history() {
    let w = world().await;
    let till = till_common::history_goes_up_once(&w.backend, w.dir.path()).await;
    assert_eq!(w.acquirer_trades("TDHIST0001").await, 0, "nothing was sent to an acquirer");
    assert_eq!(w.acquirer_refunds("TDHIST0001-T9R1").await, 0);
    // Head office's list has them, as the till's.
    let s = w.backend_store();
    let order = s.orders().order_by_out_trade_no("TDHIST0001").unwrap().unwrap();
    assert!(s.orders().is_history_order(order.id).unwrap());
    let till_id = tilldesk::routing::backend::link(&till.store()).unwrap().unwrap().till_id;
    assert_eq!(s.backend().order_till(order.id).unwrap().map(|t| t.0), Some(till_id));
    w.backend.stop().await;
}
