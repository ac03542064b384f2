//! The checkout as a till run from across the counter (issue 20): two sales in a row with the keyboard only, the
//! banner naming the wallet, Esc cancelling a payment that waits for the customer, a function key remapped in
//! Settings, the refund form submitted with Enter, the first-run wizard advanced with Enter. The sound goes to a
//! stand-in player, so no test needs an audio device.

mod ui_common;

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use egui_kittest::kittest::{NodeT, Queryable};
use tilldesk::checkout::CheckoutSettings;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{OrderStatus, Role};
use tilldesk::money::Amount;
use tilldesk::sound::{Announced, Clip, Player, Sound, SoundError, SoundSettings, speech, wav};
use tilldesk::store::Store;
use tilldesk::ui::{SandboxStatus, TillDeskApp};
use ui_common::{AppHarness, harness, type_and_enter, wait_for};

/// Hands every WAV it is asked to play to the test.
struct Recorder(Mutex<Sender<Vec<u8>>>);

impl Player for Recorder {
    fn play(&self, wav: &[u8]) -> Result<(), SoundError> {
        if let Ok(tx) = self.0.lock() {
            let _ = tx.send(wav.to_vec());
        }
        Ok(())
    }
}

struct Till {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    h: AppHarness,
    played: Receiver<Vec<u8>>,
}

fn till(lang: Lang, setup: impl FnOnce(&mut TillDeskApp)) -> Till {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    let (tx, played) = channel();
    app.ctx.sound =
        Sound::new(Arc::new(Recorder(Mutex::new(tx))), SoundSettings { sound: true, voice: true, volume: 100 });
    setup(&mut app);
    let h = harness(app, [1280.0, 800.0]);
    Till { dir, rt, h, played }
}

fn db(t: &Till) -> Store {
    Store::open(&t.dir.path().join(tilldesk::config::DATABASE_FILE)).unwrap()
}

/// The amount field: (has the focus, its text).
fn amount_field(h: &AppHarness, label: &str) -> (bool, String) {
    let node = h.get_by_label(label);
    let a = node.accesskit_node();
    (a.is_focused(), a.value().unwrap_or_default())
}

/// What the chime and announcement of a payment sound like, as the player receives them.
fn announcement(wallet: Announced, amount: &str) -> Vec<u8> {
    let mut clips = vec![Clip::Chime];
    clips.extend(speech::announcement(wallet, Amount::parse(amount).unwrap()));
    let bytes: Vec<&[u8]> = clips.iter().map(|c| c.wav()).collect();
    wav::join(&bytes, 100, tilldesk::sound::GAP_MS).unwrap()
}

#[test]
fn two_sales_in_a_row_with_the_keyboard_only() {
    let mut t = till(Lang::En, |_| {});
    let h = &mut t.h;
    wait_for(h, "Ready to take payments");
    // Sale 1: the amount, Enter, the scanner types an Alipay code and Enter.
    type_and_enter(h, "12.34");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received · Alipay");
    // In the very frame the result shows, the amount field is empty and has the focus.
    assert_eq!(amount_field(h, "Amount (CNY)"), (true, String::new()));
    assert_eq!(t.played.recv().unwrap(), announcement(Announced::Alipay, "12.34"));
    // Sale 2 straight away: a WeChat code this time.
    let h = &mut t.h;
    type_and_enter(h, "5.60");
    type_and_enter(h, "130000000000000000");
    wait_for(h, "Payment received · WeChat Pay");
    assert_eq!(amount_field(h, "Amount (CNY)"), (true, String::new()));
    assert!(h.query_all_by_label("¥5.60").count() >= 1, "the banner shows the amount");
    assert!(h.query_all_by_label_contains("Order TD20").count() == 1, "the banner shows the order number");
    assert_eq!(t.played.recv().unwrap(), announcement(Announced::WechatPay, "5.60"));
    let orders = db(&t).orders().recent_orders(10).unwrap();
    let mut got: Vec<(i64, OrderStatus)> = orders.iter().map(|o| (o.total_amount.fen(), o.status)).collect();
    got.sort_by_key(|(fen, _)| *fen);
    assert_eq!(got, [(560, OrderStatus::Paid), (1234, OrderStatus::Paid)]);
    assert!(orders.iter().all(|o| o.operator_id.is_none()), "nobody signed in: recorded without an operator");
    drop(t.rt);
}

#[test]
fn the_banner_names_the_wallet_in_chinese_and_esc_cancels_a_payment_waiting_for_the_password() {
    let mut t = till(Lang::ZhCn, |_| {});
    let h = &mut t.h;
    wait_for(h, "可以收款");
    type_and_enter(h, "8.80");
    type_and_enter(h, "130000000000000000");
    wait_for(h, "微信支付 收款成功");
    type_and_enter(h, "3.00");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "支付宝 收款成功");
    // 02 00: the customer never enters the password; Esc cancels (the engine cancels at the acquirer).
    type_and_enter(h, "9.99");
    type_and_enter(h, "2800000000000200");
    wait_for(h, "等待顾客输入密码");
    h.key_press(egui::Key::Escape);
    wait_for(h, "已撤销");
    assert_eq!(amount_field(h, "金额（元）"), (true, String::new()));
    let order = db(&t).orders().recent_orders(1).unwrap().remove(0);
    assert_eq!((order.total_amount.fen(), order.status), (999, OrderStatus::Cancelled));
    drop(t.rt);
}

#[test]
fn a_function_key_remapped_in_settings_works() {
    let mut t = till(Lang::En, |_| {});
    let h = &mut t.h;
    wait_for(h, "Ready to take payments");
    type_and_enter(h, "1.00");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received");
    // Settings: 查单 from F4 to F8.
    h.get_by_label("Settings").click_accesskit();
    h.run_steps(2);
    h.get_by_label("Check order").click_accesskit();
    h.run_steps(2);
    h.get_by_label("F8").click_accesskit();
    h.run_steps(2);
    // The key map is the shell's at once; the setting is written through the queue.
    let file = t.dir.path().join(tilldesk::config::DATABASE_FILE);
    ui_common::wait_until(h, "the new key to be saved", |_| {
        Store::open(&file).unwrap().setting("keys.query").unwrap().as_deref() == Some("F8")
    });
    // F1 from any screen is back at the counter; F4 does nothing now, F8 checks the order.
    let h = &mut t.h;
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    wait_for(h, "Ready to take payments");
    h.key_press(egui::Key::F4);
    h.run_steps(3);
    assert_eq!(h.query_all_by_label_contains("Order check:").count(), 0);
    h.key_press(egui::Key::F8);
    wait_for(h, "¥1.00 · paid");
    h.get_by_label_contains("Order check:");
    // A key another function has is refused.
    h.get_by_label("Settings").click_accesskit();
    h.run_steps(2);
    h.get_by_label("Refund").click_accesskit();
    h.run_steps(2);
    h.get_by_label("F1").click_accesskit();
    wait_for(h, "F1 is already the key for “Charge”");
    assert_eq!(db(&t).setting("keys.refund").unwrap(), None);
}

#[test]
fn f3_opens_the_refund_form_and_enter_submits_it() {
    let mut t = till(Lang::En, |app| {
        app.ctx.home.store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
        app.ctx.operator = Some("boss".into());
    });
    let h = &mut t.h;
    wait_for(h, "Ready to take payments");
    type_and_enter(h, "20.00");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received");
    h.key_press(egui::Key::F3);
    wait_for(h, "Order detail");
    // The focus is in the refund amount: type it, Tab to the reason, Tab past the operator to the PIN, Enter.
    h.run_steps(2);
    h.event(egui::Event::Text("1.50".into()));
    h.step();
    h.key_press(egui::Key::Tab);
    h.step();
    h.event(egui::Event::Text("broken cup".into()));
    h.step();
    h.key_press(egui::Key::Tab);
    h.step();
    h.key_press(egui::Key::Tab);
    h.step();
    h.event(egui::Event::Text("246810".into()));
    h.step();
    h.key_press(egui::Key::Enter);
    wait_for(h, "-R1 ¥1.50 refunded");
    let store = db(&t);
    let order = store.orders().recent_orders(1).unwrap().remove(0);
    let refunds = store.refunds().refunds_of(order.id).unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!((refunds[0].refund_amount.fen(), refunds[0].reason.as_str()), (150, "broken cup"));
}

#[test]
fn enter_advances_the_first_run_wizard() {
    let dir = tempfile::tempdir().unwrap();
    let home = DataHome::open(dir.path()).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.lang = Lang::En;
    app.offer_first_run().unwrap();
    let mut h = harness(app, [1100.0, 800.0]);
    h.get_by_label("Step 1/6 · Language");
    // Nothing focused: Enter is Next.
    h.key_press(egui::Key::Enter);
    // Each step is saved through the command queue before the wizard moves on.
    ui_common::wait_for(&mut h, "Step 2/6 · Merchant profile");
    for (label, text) in [
        ("Legal name", "Shanghai Lin Noodles Co., Ltd."),
        ("Latin name (≤25)", "LIN NOODLES"),
        ("Chinese name", "林记面馆"),
        ("City (Latin)", "SHANGHAI"),
        ("City (Chinese)", "上海"),
        ("Postal code", "200001"),
    ] {
        ui_common::type_into(&mut h, label, text);
    }
    // Enter in a text field is Next too: the profile is saved and the wizard moves on.
    h.get_by_label("Postal code").focus();
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    ui_common::wait_for(&mut h, "Step 3/6 · First store");
}

#[test]
fn a_paid_sale_prints_its_receipt_without_taking_the_next_scan_and_f9_reprints_it() {
    use std::io::Read as _;
    use tilldesk::receipt::{Mode, ReceiptSettings, Target, Width};

    // A network receipt printer (raw TCP, as on port 9100) that keeps what it gets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, printed) = channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut conn, _)) = listener.accept() else { return };
            let mut bytes = Vec::new();
            let _ = conn.read_to_end(&mut bytes);
            let _ = tx.send(bytes);
        }
    });
    let mut t = till(Lang::En, |app| {
        let printer = Some(Target::Tcp { host: "127.0.0.1".into(), port });
        ReceiptSettings { mode: Mode::Always, printer, width: Width::Mm58 }
            .save(&mut app.ctx.home.store, None)
            .unwrap();
    });
    let h = &mut t.h;
    wait_for(h, "Ready to take payments");
    type_and_enter(h, "12.34");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received · Alipay");
    // The receipt goes to the printer by itself; the amount field keeps the focus for the next sale.
    assert_eq!(amount_field(h, "Amount (CNY)"), (true, String::new()));
    let out_trade_no = db(&t).orders().recent_orders(1).unwrap().remove(0).out_trade_no;
    let first = printed.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(first.starts_with(b"\x1b@"), "ESC/POS");
    assert!(contains(&first, out_trade_no.as_bytes()), "the receipt carries the order number");
    assert!(!contains(&first, b"REPRINT"), "the first receipt is no reprint");
    // F9: the same sale's receipt again, marked as a reprint.
    let h = &mut t.h;
    h.key_press(egui::Key::F9);
    h.run_steps(2);
    let again = printed.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert!(contains(&again, out_trade_no.as_bytes()) && contains(&again, b"REPRINT"));
    assert_eq!(amount_field(&t.h, "Amount (CNY)"), (true, String::new()), "F9 took no focus");
    drop(t.rt);
}

/// The real window draws a frame only when something asks for one: an input event or a repaint request. Driven that
/// way — no input after the scan's Enter, a frame only for each immediate repaint request (delayed ones, like a
/// 500 ms tick, are not honoured, so they cannot stand in for a missing request) — the result shows and the focus is
/// back in a cleared amount field: the payment's result asks for its frames itself.
#[test]
fn the_window_repaints_by_itself_when_the_result_arrives() {
    let mut t = till(Lang::En, |_| {});
    let h = &mut t.h;
    wait_for(h, "Ready to take payments");
    let (tx, asked) = channel::<()>();
    let tx = Mutex::new(tx);
    h.ctx.set_repaint_observer(move |info| {
        if info.delay.is_zero()
            && let Ok(tx) = tx.lock()
        {
            let _ = tx.send(());
        }
    });
    type_and_enter(h, "8.80");
    type_and_enter(h, "2800000000000000");
    let deadline = std::time::Instant::now() + ui_common::PATIENCE;
    let mut frames = 0;
    loop {
        let done = h.query_by_label_contains("Payment received · Alipay").is_some()
            && amount_field(h, "Amount (CNY)") == (true, String::new());
        if done {
            break;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if asked.recv_timeout(left).is_err() {
            panic!(
                "the window stopped asking for frames after {frames} before the result and the focus were back; \
                 the screen shows: {:#?}",
                ui_common::screen_text(h)
            );
        }
        while asked.try_recv().is_ok() {}
        h.step();
        frames += 1;
    }
    let orders = db(&t).orders().recent_orders(1).unwrap();
    assert_eq!(orders[0].total_amount, Amount::from_fen(880));
    drop(t.rt);
}
