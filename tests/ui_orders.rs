//! The 订单 Orders and 退款 Refunds screens as the back office uses them: filter, open an order, refund part of
//! it with the PIN (asked again), and see the refund listed.

mod ui_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tilldesk::checkout::{CheckoutSettings, PaymentInput, SystemClock};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{OrderStatus, Role};
use tilldesk::money::Amount;
use tilldesk::store::Store;
use tilldesk::ui::{SandboxStatus, TillDeskApp, fonts};
use ui_common::wait_for;

fn type_into(h: &mut Harness<'static, TillDeskApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(2);
    h.event(egui::Event::Text(text.into()));
    h.run_steps(2);
}

#[test]
fn filter_open_and_refund_part_of_an_order_with_the_pin() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.staff_mut().add_operator("clerk", Role::BackOffice, "135790", None).unwrap();
    home.store.orders_mut().seed_demo_orders(500, 3, &mut |_| {}).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    // One real payment at the sandbox, so the refund really goes to the acquirer.
    let db = home.store.path().to_owned();
    let engine = tilldesk::sandbox::till::checkout(
        &db,
        &sandbox.state.accounts(),
        &sandbox.base_url(),
        None,
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )
    .unwrap();
    let input = PaymentInput {
        amount: Amount::from_fen(8800),
        auth_code: "2800000000000000".into(),
        subject: "Birthday cake".into(),
        store_id: tilldesk::model::StoreId(1),
        operator_id: None,
        terminal_id: None,
    };
    let (order, _) = rt.block_on(engine.pay(input, Arc::new(AtomicBool::new(false)), &|_| {})).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    app.screen = tilldesk::ui::Screen::Orders;
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    wait_for(&mut h, "Orders 501");

    // Filter: search the cake's order number.
    type_into(&mut h, "Search", &order.out_trade_no);
    h.get_by_label("Apply").click();
    wait_for(&mut h, "Orders 1 ");
    // Rows and the detail are read through the command queue: frames run until they are on screen.
    wait_for(&mut h, &order.out_trade_no);
    h.get_by_label(&order.out_trade_no).click();
    wait_for(&mut h, "Order detail");
    assert!(h.query_all_by_label("¥88.00").count() >= 3, "table row, total, paid and refundable");

    // Refund 30.00 with a wrong PIN first: refused, nothing sent.
    type_into(&mut h, "Refund amount", "30.00");
    type_into(&mut h, "Reason", "cake damaged");
    type_into(&mut h, "Operator", "clerk");
    type_into(&mut h, "PIN", "000000");
    // By its id: the detail panel scrolls, and the button may be below its fold.
    h.get_by_label("Confirm refund").click_accesskit();
    wait_for(&mut h, "the name or the PIN is wrong");
    type_into(&mut h, "PIN", "135790");
    // By its id: the detail panel scrolls, and the button may be below its fold.
    h.get_by_label("Confirm refund").click_accesskit();
    wait_for(&mut h, "-R1 ¥30.00 refunded");
    let store = Store::open(&db).unwrap();
    let after = store.orders().order_by_out_trade_no(&order.out_trade_no).unwrap().unwrap();
    assert_eq!((after.status, after.refunded_amount), (OrderStatus::PartiallyRefunded, Amount::from_fen(3000)));
    // The detail is read again through the queue: refundable ¥58.00 once it is back.
    ui_common::wait_until(&mut h, "refundable ¥58.00", |h| h.query_all_by_label("¥58.00").count() == 1);

    // Export the filtered list: one order, off the UI thread, to the data folder's exports/.
    h.get_by_label("Export CSV").click();
    wait_for(&mut h, "Exported 1 rows");
    let exports = dir.path().join("exports");
    let csv_file = std::fs::read_dir(&exports).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(&csv_file).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(&order.out_trade_no) && text.contains(",88.00,30.00,8800,3000,"), "{text}");

    // The refunds screen lists it.
    h.get_by_label("Close").click();
    h.run_steps(2);
    h.get_by_label("Refunds").click();
    // The list is read through the command queue: frames run until it is there.
    wait_for(&mut h, &format!("{}-R1", order.out_trade_no));
    assert!(h.query_by_label("cake damaged").is_some());
    h.get_by_label("Export Excel").click();
    wait_for(&mut h, "Exported 1 rows");
    let xlsx = std::fs::read_dir(&exports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .expect("the refunds workbook");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let mut strings = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut strings).unwrap();
    assert!(strings.contains("cake damaged") && strings.contains("-R1"), "{strings}");
    // Filter the list: a search that matches nothing, then the reason's words, then today's date.
    type_into(&mut h, "Search", "no such refund");
    h.get_by_label("Apply").click();
    wait_for(&mut h, "No refunds match the filter");
    h.get_by_label("Search").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.event(egui::Event::Text("damaged".into()));
    h.run_steps(1);
    let today = tilldesk::time::china_date(time::OffsetDateTime::now_utc()).to_string();
    type_into(&mut h, "From", &today);
    h.get_by_label("Apply").click();
    wait_for(&mut h, "cake damaged"); // found by its reason, made today
    // Days typed backwards are put right: 2020-01-01 to today.
    type_into(&mut h, "To", "2020-01-01");
    h.get_by_label("Apply").click();
    wait_for(&mut h, "cake damaged"); // from 2020-01-01 to today
    ui_common::click(&mut h, "Yesterday");
    wait_for(&mut h, "No refunds match the filter");
    type_into(&mut h, "From", &today);
    type_into(&mut h, "To", "x");
    h.get_by_label("Apply").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("is not a date like 2026-11-25").is_some());
    drop(h);
    drop(rt);
}

#[test]
fn the_first_run_creates_the_owner_who_adds_staff_and_reads_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    let db = home.store.path().to_owned();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = tilldesk::ui::Screen::Settings;
    let mut h = Harness::builder()
        .with_size([1280.0, 2400.0])
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    h.run_steps(2);
    type_into(&mut h, "Owner name", "老板");
    type_into(&mut h, "Owner PIN", "2468");
    h.get_by_label("Create owner").click();
    wait_for(&mut h, "owner PINs must be 6 to 12 digits");
    type_into(&mut h, "Owner PIN", "246810");
    h.get_by_label("Create owner").click();
    wait_for(&mut h, "Operator: 老板");
    type_into(&mut h, "Name", "clerk");
    type_into(&mut h, "New PIN", "135790");
    h.get_by_label("Role").click();
    h.run_steps(2);
    h.get_by_label("back office").click();
    h.run_steps(2);
    h.get_by_label("Add").click();
    wait_for(&mut h, "Added clerk");
    // The audit log phrases its actions ("operator.add" → "Operator added"; the raw action is on hover); it is
    // read again through the queue after the addition.
    ui_common::wait_until(&mut h, "both additions in the audit log", |h| {
        h.query_all_by_label_contains("Operator added").count() >= 2
    });
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.staff_mut().verify_pin("clerk", "135790").unwrap().role, Role::BackOffice);
}

#[test]
fn a_cashier_sees_only_their_own_orders_and_the_back_office_filters_by_operator_and_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
    let amy = home.store.staff_mut().add_operator("amy", Role::Cashier, "1357", None).unwrap();
    home.store.orders_mut().seed_demo_orders(300, 3, &mut |_| {}).unwrap();
    let db = home.store.path().to_owned();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE orders SET operator_id = ?1 WHERE id <= 7", [amy.id.0])
        .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.operator = Some("amy".into());
    app.screen = tilldesk::ui::Screen::Orders;
    let mut h = Harness::builder()
        .with_size([1400.0, 800.0])
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    wait_for(&mut h, "Orders 7 ");
    h.get_by_label("(your own payments only)");

    // The owner signs in: everything, then filtered to amy's payments with the Operator filter.
    h.state_mut().ctx.operator = Some("boss".into());
    h.get_by_label("Refunds").click();
    h.run_steps(2);
    h.get_by_label("Orders").click();
    wait_for(&mut h, "Orders 300 ");
    h.get_by_label("Taken by").click();
    h.run_steps(2);
    h.get_by_label("amy").click();
    wait_for(&mut h, "Orders 7 ");
    h.get_by_label("Store").click();
    h.run_steps(2);
    h.get_by_label("S001 Demo Store").click();
    wait_for(&mut h, "Orders 7 ");
}

/// A data folder with `n` varied orders over `days` days (three stores, three wallets, paid, refunded, failed).
fn varied_app(dir: &std::path::Path, n: u64, days: i64, lang: Lang) -> TillDeskApp {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.orders_mut().seed_varied_orders(n, days, 1, &mut |_| {}).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = tilldesk::ui::Screen::Orders;
    app
}

/// The first `n` orders of the till in `dir`, newest first (the list's default order).
fn newest_first(dir: &std::path::Path, n: u32) -> Vec<tilldesk::model::Order> {
    let store = Store::open(&dir.join(tilldesk::config::DATABASE_FILE)).unwrap();
    let newest = tilldesk::store::order_query::OrderSort::NewestFirst;
    store.orders().orders_page(&tilldesk::store::order_query::OrderFilter::default(), newest, None, n).unwrap().0
}

#[test]
fn the_keyboard_walks_the_list_end_home_pagedown_and_enter_opens_the_detail() {
    let dir = tempfile::tempdir().unwrap();
    let app = varied_app(dir.path(), 500, 5, Lang::En);
    let newest_first = newest_first(dir.path(), 500);
    let mut h = ui_common::harness(app, [1280.0, 800.0]);
    wait_for(&mut h, "Orders 500 ");
    // End: the last row (the oldest order) is on screen and is the keyboard's row.
    h.key_press(egui::Key::End);
    h.run_steps(3);
    assert_eq!(h.state().orders.cursor(), Some(499));
    // The last row is scrolled into view (its page read through the queue).
    wait_for(&mut h, &newest_first[499].out_trade_no);
    // Home, then PageDown: a page of rows further; ArrowDown one more; Enter opens that order.
    h.key_press(egui::Key::Home);
    h.run_steps(3);
    wait_for(&mut h, &newest_first[0].out_trade_no);
    h.key_press(egui::Key::PageDown);
    h.run_steps(2);
    let page = h.state().orders.rows_per_page();
    assert!(page >= 10, "a page is the rows that fit: {page}");
    assert_eq!(h.state().orders.cursor(), Some(page));
    h.key_press(egui::Key::ArrowDown);
    h.key_press(egui::Key::ArrowUp);
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(h.state().orders.cursor(), Some(page + 1));
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "Order detail");
    let opened = &newest_first[(page + 1) as usize];
    assert_eq!(h.state().orders.selected_out_trade_no().as_deref(), Some(opened.out_trade_no.as_str()));
    assert!(h.query_all_by_label(&opened.out_trade_no).next().is_some(), "the detail shows {}", opened.out_trade_no);
    h.get_by_label("Timeline");
}

#[test]
fn presets_filter_china_days_search_finds_subjects_and_a_row_opens_its_refund_form() {
    let dir = tempfile::tempdir().unwrap();
    let app = varied_app(dir.path(), 600, 6, Lang::En);
    let store = Store::open(&dir.path().join(tilldesk::config::DATABASE_FILE)).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let yesterday = store.orders().order_totals(&tilldesk::dashboard::Period::Yesterday.filter(now)).unwrap();
    assert!(yesterday.count > 0);
    let mut h = ui_common::harness(app, [1280.0, 800.0]);
    wait_for(&mut h, "Orders 600 ");
    ui_common::click(&mut h, "Yesterday");
    wait_for(&mut h, &format!("Orders {} ", yesterday.count));
    // Reset: every order again.
    ui_common::click(&mut h, "Reset");
    wait_for(&mut h, "Orders 600 ");
    // A word of letters searches the subjects (it was once taken for an order number and found nothing).
    let sandwiches = store
        .orders()
        .order_totals(&tilldesk::store::order_query::OrderFilter {
            search: Some("Sandwich".into()),
            ..Default::default()
        })
        .unwrap()
        .count;
    assert!(sandwiches > 50);
    ui_common::type_into(&mut h, "Search", "Sandwich");
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, &format!("Orders {sandwiches} "));
    // A row's "Refund…" opens that order with its refund form.
    wait_for(&mut h, "Refund…");
    h.get_all_by_label("Refund…").next().unwrap().click();
    wait_for(&mut h, "Order detail");
    h.get_by_label("Refund amount");
    h.get_by_label("Confirm refund");
    let detail_no = h.state().orders.selected_out_trade_no().unwrap();
    let order = store.orders().order_by_out_trade_no(&detail_no).unwrap().unwrap();
    assert!(order.subject.contains("Sandwich"), "{order:?}");
    assert!(matches!(order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded), "{order:?}");
}

#[test]
fn at_1024_by_600_with_the_detail_open_status_and_amount_stay() {
    let dir = tempfile::tempdir().unwrap();
    let app = varied_app(dir.path(), 200, 3, Lang::ZhCn);
    let mut h = ui_common::harness(app, [1024.0, 600.0]);
    wait_for(&mut h, "订单数 200 ");
    h.key_press(egui::Key::Home);
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "订单详情");
    // The table's header beside the detail's own lines: 金额 is the table's alone; 状态 and 商品 are in both.
    for (header, n) in [("金额", 1), ("状态", 2), ("商品", 2)] {
        assert!(h.query_all_by_label(header).count() >= n, "the column {header} stays");
    }
    assert!(
        h.query_all_by_label("已支付").count() + h.query_all_by_label("失败").count() >= 2,
        "status tags are shown in the table"
    );
}

/// With an order's detail open, clicking another row (anywhere on it, not only its number) opens that row: the
/// highlighted row and the order a refund would go to are never two different orders.
#[test]
fn with_a_detail_open_a_click_on_another_row_opens_that_row() {
    let dir = tempfile::tempdir().unwrap();
    let app = varied_app(dir.path(), 30, 1, Lang::En);
    let newest_first = newest_first(dir.path(), 30);
    let mut h = ui_common::harness(app, [1280.0, 800.0]);
    wait_for(&mut h, "Orders 30 ");
    let first = &newest_first[0];
    wait_for(&mut h, &first.out_trade_no);
    h.get_by_label(&first.out_trade_no).click();
    wait_for(&mut h, "Order detail");
    ui_common::wait_until(&mut h, "the first order's detail", |h| {
        h.state().orders.selected_out_trade_no().as_deref() == Some(first.out_trade_no.as_str())
    });
    // Another row on screen whose amount no other row shows: a click on its amount (not on its number).
    let other = newest_first[1..10]
        .iter()
        .find(|o| {
            let label = format!("¥{}", o.total_amount);
            newest_first[..10].iter().filter(|p| p.total_amount == o.total_amount).count() == 1
                && h.query_all_by_label(&label).count() == 1
        })
        .expect("a row with an amount of its own");
    h.get_by_label(&format!("¥{}", other.total_amount)).click();
    ui_common::wait_until(&mut h, "the clicked row's detail", |h| {
        h.state().orders.selected_out_trade_no().as_deref() == Some(other.out_trade_no.as_str())
    });
    let row = newest_first.iter().position(|o| o.out_trade_no == other.out_trade_no).unwrap() as u64;
    assert_eq!(h.state().orders.cursor(), Some(row), "the highlight is on the same row");
}
