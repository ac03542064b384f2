//! The counter speaks one language at a time (issue 20): the checkout screen, a failed sale's banner and reason, the
//! dynamic-code panel and the 交接班 screen, each in Chinese and in English, show no text of the other language
//! (ids, amounts, the brand and the sandbox's address aside). Switching the language re-words the failed sale's
//! message already on screen.

mod ui_common;

use tilldesk::checkout::CheckoutSettings;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::Role;
use tilldesk::ui::{SandboxStatus, TillDeskApp};
use ui_common::{AppHarness, assert_one_language, harness, screen_text, type_and_enter, wait_for};

struct Till {
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    h: AppHarness,
    /// Texts every screen may show in either language: the data folder and the sandbox's address.
    allow: Vec<String>,
}

fn till(lang: Lang, size: [f32; 2]) -> Till {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
    let boss = home.store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
    let amy = home.store.staff_mut().add_operator("amy", Role::Cashier, "1357", Some(boss.id)).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    // The data folder, the sandbox's address, the cashier's name, and key caps as printed on the keyboard.
    let allow = ["amy", "Esc", "Enter"].map(str::to_owned);
    let allow = [vec![dir.path().display().to_string(), sandbox.base_url()], allow.to_vec()].concat();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    app.ctx.sign_in(Some(&amy));
    let h = harness(app, size);
    Till { _dir: dir, rt, h, allow }
}

fn check(t: &Till, lang: Lang, extra: &[String], what: &str) {
    let allow: Vec<&str> = t.allow.iter().chain(extra).map(String::as_str).collect();
    assert_one_language(&t.h, lang, &allow, what);
}

fn the_counter_in(lang: Lang) {
    let w = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let mut t = till(lang, [1024.0, 600.0]);
    wait_for(&mut t.h, w("可以收款", "Ready to take payments"));
    check(&t, lang, &[], "the counter");

    // A refused sale (sandbox code ending 0300: not enough balance): the banner and the reason.
    type_and_enter(&mut t.h, "1.00");
    type_and_enter(&mut t.h, "2800000000000300");
    wait_for(&mut t.h, w("收款失败", "Payment failed"));
    wait_for(&mut t.h, w("顾客余额不足", "balance is too low"));
    check(&t, lang, &[], "a failed sale");

    // A scan that is not a payment code: the message is in the current language…
    type_and_enter(&mut t.h, "2.00");
    type_and_enter(&mut t.h, "6901234567892");
    wait_for(&mut t.h, w("这不是付款码", "This is not a payment code"));
    check(&t, lang, &[], "a scan that is not a payment code");
    // …and switching the language re-words it on screen.
    let other = if lang == Lang::ZhCn { Lang::En } else { Lang::ZhCn };
    t.h.state_mut().ctx.set_language(other);
    wait_for(&mut t.h, other.pick("这不是付款码", "This is not a payment code"));
    t.h.state_mut().ctx.set_language(lang);
    wait_for(&mut t.h, w("这不是付款码", "This is not a payment code"));
    t.h.key_press(egui::Key::Escape);
    t.h.run_steps(2);

    // The dynamic code (F2) for 2.00: the code panel, then cancelled with Esc.
    type_and_enter(&mut t.h, "2.00");
    t.h.key_press(egui::Key::F2);
    wait_for(&mut t.h, w("等待顾客扫码付款", "Waiting for the customer"));
    // The code's own text (a URL the wallet reads) is data, not words.
    let codes: Vec<String> = screen_text(&t.h).into_iter().filter(|s| s.contains("://")).collect();
    check(&t, lang, &codes, "the dynamic code panel");
    t.h.key_press(egui::Key::Escape);
    wait_for(&mut t.h, w("已取消", "Cancelled"));
    check(&t, lang, &[], "a cancelled dynamic code");
    t.h.key_press(egui::Key::Enter);
    t.h.run_steps(3);

    // 交接班 (F10): amy's open shift with its running figures and the confirmation.
    t.h.key_press(egui::Key::F10);
    wait_for(&mut t.h, w("确认交班？", "Close the shift?"));
    wait_for(&mut t.h, w("当班小计", "Shift so far"));
    check(&t, lang, &[], "the shifts screen");
    // Enter: the handover summary, frozen, with print and export.
    t.h.key_press(egui::Key::Enter);
    wait_for(&mut t.h, w("交接班汇总", "Handover summary"));
    wait_for(&mut t.h, w("导出", "Export"));
    // The export field holds a file path (data, like the data folder in the status bar).
    let paths: Vec<String> = screen_text(&t.h).into_iter().filter(|s| s.starts_with(&t.allow[0])).collect();
    check(&t, lang, &paths, "the handover summary");
    drop(t.rt);
}

#[test]
fn the_counter_dynamic_code_failed_sale_and_shifts_in_chinese() {
    the_counter_in(Lang::ZhCn);
}

#[test]
fn the_counter_dynamic_code_failed_sale_and_shifts_in_english() {
    the_counter_in(Lang::En);
}
