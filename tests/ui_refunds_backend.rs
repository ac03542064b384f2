//! The Orders screen's refund form at a till enrolled with a merchant backend (issue 23): the staff live in the
//! backend, so the PIN asked for a refund is checked there (the till keeps names and roles, no PIN hashes). A
//! back-office clerk the backend knows refunds an order taken through it; a wrong PIN is refused and nothing is sent;
//! checking the PIN makes no operator session (the till's stays as it was).

mod ui_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use egui_kittest::kittest::Queryable;
use tilldesk::checkout::{Checkout, CheckoutSettings, Outcome, PaymentInput, SystemClock};
use tilldesk::config::DataHome;
use tilldesk::i18n::Lang;
use tilldesk::model::{OrderStatus, Role};
use tilldesk::money::Amount;
use tilldesk::routing::backend;
use tilldesk::store::Store;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::{type_into, wait_for};

fn a_clerk_refunds_at_an_enrolled_till_in(lang: Lang) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let options = tilldesk::serve::StartOptions { sync: None, recover: false, tls: None };
    let (sandbox, running) = ui_common::backend_on_sandbox(&rt, tmp.path(), options, |_| {});
    let data = tmp.path().join("till");
    let vault = ui_common::join_as_owner(&rt, &running, &data, lang);
    let db = data.join(tilldesk::config::DATABASE_FILE);
    let order = rt.block_on(async {
        let mut store = Store::open(&db).unwrap();
        let client = backend::client(&store, &vault).unwrap().unwrap();
        backend::add_operator(&mut store, &client, Some(("老板", "246810")), "会计 Li", Role::BackOffice, "135790")
            .await
            .unwrap();
        let router = backend::router(&store, &vault).unwrap().expect("enrolled");
        let store_id = tilldesk::config::this_till(&mut store).unwrap().store_id;
        let engine = Checkout::new(store, router, Arc::new(SystemClock), CheckoutSettings::default());
        let input = PaymentInput {
            amount: Amount::from_fen(8800),
            auth_code: "286000123456780000".into(),
            subject: "蛋糕".into(),
            store_id,
            operator_id: None,
            terminal_id: None,
        };
        let (order, outcome) = engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {}).await.unwrap();
        assert!(matches!(outcome, Outcome::Paid { .. }), "{outcome:?}");
        order
    });
    // The backend's list made the till's: names and roles, no PIN hashes.
    let hashes: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM operators WHERE pin_hash <> ''", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hashes, 0);

    let home = DataHome::open(&data).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.queue.set_vault(Some(vault));
    // The clerk is signed in at the window; the till's backend session is the owner's (from joining).
    app.ctx.operator = Some("会计 Li".into());
    app.screen = Screen::Orders;
    let mut h = ui_common::harness(app, [1280.0, 900.0]);
    wait_for(&mut h, &order.out_trade_no);
    h.get_by_label(&order.out_trade_no).click();
    wait_for(&mut h, lang.pick("订单详情", "Order detail"));

    // A wrong PIN: refused by the backend, nothing sent.
    type_into(&mut h, lang.pick("退款金额", "Refund amount"), "30.00");
    type_into(&mut h, lang.pick("退款原因", "Reason"), lang.pick("蛋糕压坏", "cake damaged"));
    // The form starts with whoever is signed in at the window: the clerk.
    ui_common::wait_until(&mut h, "the clerk's name in the form", |h| h.query_all_by_value("会计 Li").next().is_some());
    type_into(&mut h, "PIN", "000000");
    h.get_by_label(lang.pick("确认退款", "Confirm refund")).click_accesskit();
    wait_for(&mut h, lang.pick("姓名或 PIN 不正确", "the name or the PIN is wrong"));
    let store = Store::open(&db).unwrap();
    assert!(store.refunds().refunds_of(order.id).unwrap().is_empty(), "nothing sent");

    // The clerk's PIN, checked at the backend: refunded through it.
    type_into(&mut h, "PIN", "135790");
    h.get_by_label(lang.pick("确认退款", "Confirm refund")).click_accesskit();
    wait_for(&mut h, &format!("R1 ¥30.00 {}", lang.pick("退款成功", "refunded")));
    let here = store.orders().order_by_out_trade_no(&order.out_trade_no).unwrap().unwrap();
    assert_eq!((here.status, here.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 3000));
    let refunds = store.refunds().refunds_of(order.id).unwrap();
    let clerk = store.staff().operator_by_name("会计 Li").unwrap().unwrap();
    assert_eq!(refunds[0].operator_id, Some(clerk.id), "made by the clerk");
    let at_backend = Store::open(&running.backend.db_path()).unwrap();
    let there = at_backend.orders().order_by_out_trade_no(&order.out_trade_no).unwrap().unwrap();
    assert_eq!((there.status, there.refunded_amount.fen()), (OrderStatus::PartiallyRefunded, 3000));
    // The PIN check made no session: the till's backend session is still the owner's.
    assert_eq!(h.state().ctx.operator.as_deref(), Some("会计 Li"));
    assert_eq!(
        store.setting(backend::SETTING_SESSION_ROLE).unwrap().as_deref(),
        Some("owner"),
        "the till's backend session is still the owner's"
    );
    rt.block_on(running.stop());
    rt.block_on(sandbox.stop());
}

#[test]
fn a_back_office_clerk_refunds_at_an_enrolled_till_in_english() {
    a_clerk_refunds_at_an_enrolled_till_in(Lang::En);
}

#[test]
fn a_back_office_clerk_refunds_at_an_enrolled_till_in_chinese() {
    a_clerk_refunds_at_an_enrolled_till_in(Lang::ZhCn);
}
