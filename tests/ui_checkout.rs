//! The 收银 Checkout screen as a cashier uses it: keyboard only, against the embedded sandbox.

mod ui_common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tilldesk::checkout::CheckoutSettings;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::ui::{SandboxStatus, TillDeskApp, fonts};
use ui_common::{type_and_enter, wait_for};

struct Till {
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    harness: Harness<'static, TillDeskApp>,
}

fn till(lang: Lang) -> Till {
    till_with(lang, |_| {})
}

fn till_with(lang: Lang, setup: impl FnOnce(&mut TillDeskApp)) -> Till {
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
    setup(&mut app);
    let harness = Harness::builder()
        .with_size([1100.0, 720.0])
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    Till { _dir: dir, rt, harness }
}

#[test]
fn a_cashier_takes_a_payment_with_the_keyboard_only() {
    let mut t = till(Lang::En);
    let h = &mut t.harness;
    wait_for(h, "Ready to take payments");
    // The amount field has the focus: type, Enter moves to the scan field, the scanner types digits and Enter.
    type_and_enter(h, "12.34");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received");
    assert_eq!(h.query_all_by_label("¥12.34").count(), 2, "in the result panel and in the recent payments list");
    assert!(h.query_all_by_label_contains("TD20").count() >= 1, "the out_trade_no is shown");
    drop(t);
}

#[test]
fn the_waiting_state_shows_elapsed_seconds_then_the_result() {
    let mut t = till(Lang::ZhCn);
    let h = &mut t.harness;
    wait_for(h, "可以收款");
    type_and_enter(h, "8.00");
    // 01 02: the customer enters the password and pays 2 s later.
    type_and_enter(h, "2800000000000102");
    wait_for(h, "等待顾客输入密码");
    wait_for(h, "收款成功");
    drop(t);
}

#[test]
fn not_a_payment_code_is_refused_on_screen() {
    let mut t = till(Lang::En);
    let h = &mut t.harness;
    wait_for(h, "Ready to take payments");
    type_and_enter(h, "5.00");
    type_and_enter(h, "6901234567892");
    wait_for(h, "This is not a payment code");
    let _ = &t.rt;
}

/// Issue 17, item 2: a second window on a data folder whose money path another TillDesk holds takes no payments and
/// says where the till is open, in the window's language.
#[test]
fn a_second_window_takes_no_payments_and_says_where_the_till_is_open() {
    for (lang, words) in [
        (Lang::En, "This till is open in another TillDesk window (process 4242)"),
        (Lang::ZhCn, "这台收银机已在另一个 TillDesk 窗口（进程 4242）中打开"),
    ] {
        let mut t = till_with(lang, |app| {
            let owner = tilldesk::ownership::Owner { pid: 4242, what: "window".into(), since: "2026-12-04".into() };
            app.ctx.money_path = tilldesk::ui::MoneyPathState::Elsewhere(Some(owner));
        });
        let h = &mut t.harness;
        wait_for(h, words);
        for _ in 0..20 {
            h.step();
        }
        assert_eq!(h.query_all_by_label_contains("Ready to take payments").count(), 0);
        assert_eq!(h.query_all_by_label_contains("可以收款").count(), 0);
        drop(t);
    }
}

/// Issue 17, item 6: when the acquirer never confirms the cancel, the cashier is freed with one line saying the
/// cancel goes on in the background (and the next sale can start), in the window's language.
#[test]
fn an_unconfirmed_cancel_frees_the_cashier_with_one_line() {
    let mut t = till_with(Lang::ZhCn, |app| {
        app.ctx.home.store.set_setting(CheckoutSettings::POLL_WINDOW_KEY, "1", None).unwrap();
    });
    let url = match &t.harness.state().ctx.sandbox {
        SandboxStatus::Running(s) => s.base_url(),
        _ => panic!("the sandbox is not running"),
    };
    t.rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/admin/faults"))
            .json(&serde_json::json!({"target": "alipay.trade.cancel", "kind": "http_500"}))
            .send()
            .await
            .unwrap()
    });
    let h = &mut t.harness;
    wait_for(h, "可以收款");
    type_and_enter(h, "5.00");
    // 02 00: the customer never enters the password.
    type_and_enter(h, "2800000000000200");
    wait_for(h, "撤销尚未获支付机构确认：TillDesk 会在后台继续撤销，收银可以继续。");
    wait_for(h, "需要处理");
    drop(t);
}

/// A cashier at a touch screen taps the amount on the keypad: a third decimal or a second point does nothing (as on
/// a calculator), so the sale is for ¥1.50, not refused.
#[test]
fn the_touch_keypad_stops_at_two_decimals() {
    use egui_kittest::kittest::NodeT as _;
    let mut t = till(Lang::En);
    let h = &mut t.harness;
    wait_for(h, "Ready to take payments");
    for key in ["1", ".", "5", "0", "0", "."] {
        let button = h
            .query_all_by_label(key)
            .find(|n| n.accesskit_node().role() == egui::accesskit::Role::Button)
            .unwrap_or_else(|| panic!("the keypad has {key}"));
        button.click_accesskit();
        h.run_steps(2);
    }
    // The amount field has the focus again: Enter moves on to the scan field.
    type_and_enter(h, "");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received");
    assert!(h.query_all_by_label("¥1.50").count() >= 1, "charged ¥1.50");
    drop(t);
}
