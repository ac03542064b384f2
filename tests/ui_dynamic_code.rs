//! 动态码 on the 收银 screen, keyboard only, against the embedded sandbox: type the amount, F2, the code is shown,
//! the customer's wallet pays it (the sandbox's `/simulate/scan`), the result is shown and the order is PAID; Esc
//! on a shown code closes it.

mod ui_common;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::OrderStatus;
use tilldesk::ui::{SandboxStatus, TillDeskApp, fonts};
use ui_common::{wait_for, wait_for_n, wait_until};

struct Till {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    url: String,
    harness: Harness<'static, TillDeskApp>,
}

fn till(lang: Lang) -> Till {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let url = sandbox.base_url();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    let harness = Harness::builder()
        .with_size([1100.0, 760.0])
        .with_context_setup(|ctx| {
            fonts::install_cjk_font(ctx);
            // The customer display is a viewport of its own; here it is drawn as a window inside the harness.
            ctx.set_embed_viewports(true);
        })
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    Till { dir, rt, url, harness }
}

impl Till {
    /// The code on screen (shown in small type under the QR code).
    fn code_on_screen(&self, prefix: &str) -> String {
        // The QR image's alt text and the small line under it both carry it.
        let node = self.harness.query_all_by_label_contains(prefix).next().expect("the code is on screen");
        node.accesskit_node().label().unwrap_or_default().to_string()
    }

    /// The customer's wallet scans and pays.
    fn wallet_pays(&self, code: &str) {
        let status = self.rt.block_on(async {
            let r = reqwest::Client::new()
                .post(format!("{}/simulate/scan", self.url))
                .json(&serde_json::json!({ "payload": code }))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        });
        assert_eq!(status, 200);
    }

    fn store(&self) -> tilldesk::store::Store {
        tilldesk::store::Store::open(&self.dir.path().join(tilldesk::config::DATABASE_FILE)).unwrap()
    }

    fn order_status(&self, out_trade_no: &str) -> OrderStatus {
        self.store().orders().order_by_out_trade_no(out_trade_no).unwrap().unwrap().status
    }

    fn latest_order(&self) -> tilldesk::model::Order {
        self.store().orders().recent_orders(1).unwrap().remove(0)
    }
}

fn type_amount(h: &mut Harness<'static, TillDeskApp>, text: &str) {
    h.event(egui::Event::Text(text.into()));
    h.step();
}

#[test]
fn f2_shows_a_code_the_wallet_pays_and_the_order_is_paid() {
    let mut t = till(Lang::En);
    wait_for(&mut t.harness, "Ready to take payments");
    assert!(t.harness.query_by_label("Show code F2").is_some(), "the button names its key");
    // Keyboard only: the amount field has the focus; type it, F2.
    type_amount(&mut t.harness, "12.34");
    t.harness.key_press(egui::Key::F2);
    t.harness.step();
    wait_for(&mut t.harness, "https://qr.alipay.com/");
    assert!(t.harness.query_by_label("¥12.34").is_some(), "the amount is on the panel");
    wait_for(&mut t.harness, "time left");
    let code = t.code_on_screen("https://qr.alipay.com/");
    let order = t.latest_order();
    assert_eq!(order.status, OrderStatus::Paying, "written ahead while the code is shown");
    t.wallet_pays(&code);
    wait_for(&mut t.harness, "Payment received");
    assert!(t.harness.query_by_label("Alipay").is_some(), "the result names the wallet that paid");
    assert_eq!(t.order_status(&order.out_trade_no), OrderStatus::Paid);
    // Enter: back to the till, the amount cleared for the next sale.
    t.harness.key_press(egui::Key::Enter);
    t.harness.step();
    wait_for(&mut t.harness, "Ready to take payments");
    assert!(t.harness.query_by_label("¥12.34").is_some(), "in the recent payments list only");
}

#[test]
fn esc_cancels_a_shown_code_and_the_order_is_closed() {
    let mut t = till(Lang::ZhCn);
    wait_for(&mut t.harness, "可以收款");
    type_amount(&mut t.harness, "3.21");
    t.harness.key_press(egui::Key::F2);
    t.harness.step();
    wait_for(&mut t.harness, "https://qr.alipay.com/");
    let order = t.latest_order();
    t.harness.key_press(egui::Key::Escape);
    t.harness.step();
    wait_for(&mut t.harness, "已取消");
    assert_eq!(t.order_status(&order.out_trade_no), OrderStatus::Closed);
    t.harness.key_press(egui::Key::Escape);
    t.harness.step();
    wait_until(&mut t.harness, "the till again", |h| h.query_by_label("动态码 F2").is_some());
}

#[test]
fn the_customer_display_is_off_by_default_and_has_its_own_window() {
    let mut t = till(Lang::ZhCn);
    wait_for(&mut t.harness, "可以收款");
    type_amount(&mut t.harness, "1.00");
    t.harness.key_press(egui::Key::F2);
    t.harness.step();
    wait_for(&mut t.harness, "https://qr.alipay.com/");
    assert!(t.harness.query_by_label_contains("TillDesk 顾客显示").is_none(), "off by default");
    t.harness.key_press(egui::Key::Escape);
    t.harness.step();
    wait_for(&mut t.harness, "已取消");
    t.harness.key_press(egui::Key::Enter);
    t.harness.step();
    wait_until(&mut t.harness, "the till again", |h| h.query_by_label("动态码 F2").is_some());

    // Settings → 顾客显示屏: the next code also opens the customer's window, with the amount and the code.
    t.store().set_setting(tilldesk::ui::dynamic_code::CUSTOMER_DISPLAY_KEY, "on", None).unwrap();
    // (The cancelled sale's amount stays in the field for another try.)
    t.harness.key_press(egui::Key::F2);
    t.harness.step();
    wait_for(&mut t.harness, "TillDesk 顾客显示");
    wait_for_n(&mut t.harness, "¥1.00", 2);
    wait_for_n(&mut t.harness, "请用支付宝扫码付款", 2);
}
