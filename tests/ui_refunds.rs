//! The Refunds screen (退款管理) on its own: the list read through the command queue with its count and the sum of
//! the successful refunds, the status filter, a search typed and sent with Enter (as a clerk does), and an order
//! number that opens its order on the Orders screen.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{OrderStatus, RefundStatus};
use tilldesk::money::Amount;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::{click, harness, type_into, wait_for, wait_until};

/// A till with varied orders and three refunds of paid ones: one successful (¥1.50), one failed, one still submitted.
/// Returns the app and the refunds' (out_request_no, out_trade_no), in that order.
fn till_with_refunds(dir: &std::path::Path) -> (TillDeskApp, Vec<(String, String)>) {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.orders_mut().seed_varied_orders(60, 2, 7, &mut |_| {}).unwrap();
    let paid: Vec<_> = home
        .store
        .orders()
        .recent_orders(60)
        .unwrap()
        .into_iter()
        .filter(|o| o.status == OrderStatus::Paid)
        .take(3)
        .collect();
    assert_eq!(paid.len(), 3, "the seed has paid orders");
    let mut made = Vec::new();
    for (order, (fen, status)) in
        paid.iter().zip([(150, Some(RefundStatus::Success)), (200, Some(RefundStatus::Failed)), (300, None)])
    {
        let (_, refund) = home
            .store
            .refunds_mut()
            .create_refund(&order.out_trade_no, Amount::from_fen(fen), "wrong size", None)
            .unwrap();
        if let Some(status) = status {
            home.store.refunds_mut().set_refund_status(refund.id, status, "test").unwrap();
        }
        made.push((refund.out_request_no, order.out_trade_no.clone()));
    }
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Refunds;
    (app, made)
}

#[test]
fn the_list_filters_by_status_and_search_and_an_order_number_opens_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let (app, refunds) = till_with_refunds(dir.path());
    let mut h = harness(app, [1280.0, 800.0]);
    // The list comes through the queue: three refunds, ¥1.50 of them successful.
    wait_for(&mut h, "Refunds 3");
    wait_for(&mut h, "Refunded (success) ¥1.50");
    for (out_request_no, _) in &refunds {
        assert!(h.query_by_label(out_request_no).is_some(), "{out_request_no} is listed");
    }

    // The status filter: only the failed one.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Status").click_accesskit();
    h.run_steps(2);
    wait_for(&mut h, "processing"); // a status only the open drop-down names
    // The drop-down's choice (the list's own "failed" is a label, not a button).
    h.get_by_role_and_label(egui::accesskit::Role::Button, "failed").click();
    h.run_steps(2);
    click(&mut h, "Apply");
    wait_for(&mut h, "Refunds 1");
    assert!(h.query_by_label(&refunds[1].0).is_some(), "the failed refund");
    assert!(h.query_by_label(&refunds[0].0).is_none() && h.query_by_label(&refunds[2].0).is_none());

    // Back to every status, then a search typed and sent with Enter: the submitted refund's number.
    click(&mut h, "Reset");
    wait_for(&mut h, "Refunds 3");
    type_into(&mut h, "Search", &refunds[2].0);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "only the searched refund", |h| {
        h.query_by_label_contains("Refunds 1").is_some() && h.query_by_label(&refunds[2].0).is_some()
    });
    assert!(h.query_by_label(&refunds[0].0).is_none());

    // Its order number opens the order on the Orders screen.
    click(&mut h, &refunds[2].1);
    wait_for(&mut h, "Order detail");
    assert_eq!(h.state().screen, Screen::Orders);
    assert_eq!(h.state().orders.selected_out_trade_no().as_deref(), Some(refunds[2].1.as_str()));
}

#[test]
fn an_empty_till_says_there_are_no_refunds_in_both_languages() {
    for (lang, words) in [(Lang::En, "No refunds yet"), (Lang::ZhCn, "暂无退款")] {
        let dir = tempfile::tempdir().unwrap();
        let mut home = DataHome::open(dir.path()).unwrap();
        home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
        let mut app = TillDeskApp::new(home).unwrap();
        app.screen = Screen::Refunds;
        let mut h = harness(app, [1024.0, 600.0]);
        wait_for(&mut h, words);
        ui_common::assert_one_language(&h, lang, &[], "the empty Refunds screen");
    }
}
