//! 重打小票 in the order detail: F9 with no printer configured saves a PDF of the receipt; the button with a network
//! printer configured sends it the ESC/POS bytes; Settings → Receipts stores mode, printer and width.

mod ui_common;

use std::io::Read as _;
use std::sync::{Arc, Mutex};

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::receipt::{Mode, ReceiptSettings, Target, Width, escpos};
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, click, harness, type_into, wait_for, wait_until};

/// The app on the Orders screen with a few paid orders, one of them open in the detail; its out_trade_no.
fn open_an_order(dir: &std::path::Path, printer: Option<Target>) -> (AppHarness, String) {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.orders_mut().seed_demo_orders(5, 1, &mut |_| {}).unwrap();
    let settings = ReceiptSettings { mode: Mode::Never, printer, width: Width::Mm80 };
    settings.save(&mut home.store, None).unwrap();
    let order = home.store.orders().recent_orders(1).unwrap().remove(0);
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = tilldesk::ui::Screen::Orders;
    let mut h = harness(app, [1280.0, 800.0]);
    wait_for(&mut h, "Orders 5");
    type_into(&mut h, "Search", &order.out_trade_no);
    click(&mut h, "Apply");
    wait_for(&mut h, "Orders 1 ");
    wait_for(&mut h, &order.out_trade_no);
    h.get_by_label(&order.out_trade_no).click();
    wait_for(&mut h, "Order detail");
    (h, order.out_trade_no)
}

#[test]
fn f9_without_a_printer_saves_the_receipt_as_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let (mut h, out) = open_an_order(dir.path(), None);
    let pdf = dir.path().join("receipts").join(format!("receipt-{out}.pdf"));
    assert!(!pdf.exists());
    h.key_press(egui::Key::F9);
    wait_for(&mut h, "saved as PDF");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "a PDF at {}", pdf.display());
}

#[test]
fn the_reprint_button_sends_escpos_to_the_network_printer() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        conn.read_to_end(&mut bytes).unwrap();
        *sink.lock().unwrap() = Some(bytes);
    });
    let (mut h, out) = open_an_order(dir.path(), Some(Target::Tcp { host: "127.0.0.1".into(), port }));
    click(&mut h, "Reprint receipt F9");
    wait_until(&mut h, "the printer got the receipt", |_| got.lock().unwrap().is_some());
    wait_for(&mut h, "Receipt printed on tcp://127.0.0.1");
    let bytes = got.lock().unwrap().take().unwrap();
    assert!(bytes.starts_with(&escpos::INIT) && bytes.ends_with(&escpos::CUT));
    assert!(escpos::find(&bytes, out.as_bytes()).is_some(), "the order number (and its QR)");
    assert!(escpos::find(&bytes, &escpos::gbk("重打 REPRINT")).is_some());
    assert!(!dir.path().join("receipts").exists(), "no PDF when a printer is set");
}

#[test]
fn settings_store_the_receipt_printer() {
    let dir = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    let db = home.store.path().to_owned();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = tilldesk::ui::Screen::Settings;
    let mut h = harness(app, [1280.0, 2400.0]);
    wait_for(&mut h, "Receipt printer");
    type_into(&mut h, "Receipt printer", "tcp://printer.local");
    click(&mut h, "Always");
    click(&mut h, "80 mm");
    click(&mut h, "Save receipt settings");
    wait_for(&mut h, "Receipt settings saved");
    let store = tilldesk::store::Store::open(&db).unwrap();
    let saved = ReceiptSettings::load(&store).unwrap();
    assert_eq!(
        saved,
        ReceiptSettings {
            mode: Mode::Always,
            printer: Some(Target::Tcp { host: "printer.local".into(), port: 9100 }),
            width: Width::Mm80
        }
    );
}

#[test]
fn a_refund_prints_its_receipt_when_the_mode_is_always() {
    use std::sync::atomic::AtomicBool;
    use tilldesk::checkout::{CheckoutSettings, PaymentInput, SystemClock};
    use tilldesk::ui::SandboxStatus;

    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let sink = got.clone();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        conn.read_to_end(&mut bytes).unwrap();
        *sink.lock().unwrap() = Some(bytes);
    });
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.staff_mut().add_operator("clerk", tilldesk::model::Role::BackOffice, "135790", None).unwrap();
    let printer = Some(Target::Tcp { host: "127.0.0.1".into(), port });
    ReceiptSettings { mode: Mode::Always, printer, width: Width::Mm58 }.save(&mut home.store, None).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let engine = tilldesk::sandbox::till::checkout(
        home.store.path(),
        &sandbox.state.accounts(),
        &sandbox.base_url(),
        None,
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )
    .unwrap();
    let input = PaymentInput {
        amount: tilldesk::money::Amount::from_fen(8800),
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
    let mut h = harness(app, [1280.0, 900.0]);
    wait_for(&mut h, "Orders 1");
    // The rows are read through the command queue.
    wait_for(&mut h, &order.out_trade_no);
    h.get_by_label(&order.out_trade_no).click();
    wait_for(&mut h, "Order detail");
    type_into(&mut h, "Refund amount", "30.00");
    type_into(&mut h, "Reason", "cake damaged");
    type_into(&mut h, "Operator", "clerk");
    type_into(&mut h, "PIN", "135790");
    h.get_by_label("Confirm refund").click();
    wait_until(&mut h, "the printer got the refund receipt", |_| got.lock().unwrap().is_some());
    wait_for(&mut h, "Receipt printed on");
    let bytes = got.lock().unwrap().take().unwrap();
    assert!(escpos::find(&bytes, &escpos::gbk("退款小票 REFUND RECEIPT")).is_some());
    assert!(escpos::find(&bytes, &escpos::gbk("￥30.00")).is_some());
    assert!(escpos::find(&bytes, &escpos::gbk("重打")).is_none(), "the first print is no reprint");
}
