//! The app shell as a person uses it: click every navigation entry, switch the language.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::ui::{Screen, TillDeskApp, fonts};

fn app_in(dir: &std::path::Path, lang: Lang) -> TillDeskApp {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    TillDeskApp::new(home).unwrap()
}

fn harness(app: TillDeskApp) -> Harness<'static, TillDeskApp> {
    // The harness panics on any glyph no font can draw, so these tests also prove Chinese is not tofu.
    let mut h = Harness::builder()
        .with_size([1100.0, 720.0])
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    h.run();
    h
}

#[test]
fn every_navigation_entry_opens_its_screen() {
    for lang in [Lang::ZhCn, Lang::En] {
        let tmp = tempfile::tempdir().unwrap();
        let mut h = harness(app_in(tmp.path(), lang));
        for screen in Screen::ALL {
            h.get_by_label(screen.nav_label(lang)).click();
            // Some screens work in the background as they open (the print preview, the dashboard's figures).
            h.run_steps(2);
            h.get_by_label(screen.heading(lang));
            assert_eq!(h.state().screen, screen);
        }
    }
}

#[test]
fn the_status_bar_shows_mode_data_folder_operator_and_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(app_in(tmp.path(), Lang::ZhCn));
    h.get_by_label("模式：沙箱");
    h.get_by_label(&format!("数据：{}", tmp.path().display()));
    h.get_by_label("操作员：未登录");
    h.get_by_label("同步：未开始");
    // Signing in (or switching operator) is one click from any screen.
    h.get_by_label("登录").click();
    h.run_steps(2);
    assert_eq!(h.state().screen, Screen::Settings);
    h.get_by_label("员工");
}

#[test]
fn switching_the_language_shows_english_labels_and_is_remembered() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(app_in(tmp.path(), Lang::ZhCn));
    h.get_by_label("设置").click();
    h.run();
    h.get_by_label("系统设置");
    h.get_by_label("English").click();
    // The choice is written through the command queue; the window changes language at once and settles after.
    for _ in 0..100 {
        h.step();
        if h.query_by_label("Application settings").is_some() && h.query_by_label("收银").is_none() {
            break;
        }
    }
    h.run_steps(2);
    for label in ["Checkout", "Orders", "Refunds", "Store codes", "Acquirers", "Reconciliation", "Settings"] {
        h.get_by_label(label);
    }
    h.get_by_label("Application settings");
    h.get_by_label("Mode: sandbox");
    assert!(h.query_by_label("收银").is_none(), "the Chinese labels are gone");
    // Remembered once the queue has written it (frames go on meanwhile; never a sleep).
    let db = tilldesk::store::Store::open(&tmp.path().join(tilldesk::config::DATABASE_FILE)).unwrap();
    let mut written = false;
    for _ in 0..10_000 {
        if db.setting(SETTING_LANGUAGE).unwrap().as_deref() == Some(Lang::En.tag()) {
            written = true;
            break;
        }
        h.step();
        std::thread::yield_now();
    }
    assert!(written, "the language was written");
    drop(db);
    drop(h);

    // Opening the same data folder again comes back in English.
    let home = DataHome::open(tmp.path()).unwrap();
    let app = TillDeskApp::new(home).unwrap();
    assert_eq!(app.ctx.lang, Lang::En);
    let mut h = harness(app);
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label("中文").click();
    // Written through the command queue; the window switches at once and settles after.
    for _ in 0..100 {
        h.step();
        if h.query_by_label("收银").is_some() {
            break;
        }
    }
    h.get_by_label("收银");
}
