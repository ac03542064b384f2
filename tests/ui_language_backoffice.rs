//! Issue 21, the back office: the shell and its status bar, Settings (every section, the audit log with entries),
//! the keys, staff (a refused sign-in shown), the sync panel and 对账 (a bill with differences imported, the resolve
//! dialog open, the settlement view) read in one language — Chinese or English — with nothing of the other outside
//! brand names, ids and merchant data; a message shown in Chinese is re-worded in English after switching; the
//! theme and the interface scale apply at once and survive a restart.

mod recon_common;
mod ui_common;

use egui_kittest::kittest::Queryable;
use recon_common::{fixture, seed_local_from};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerKind, Role};
use tilldesk::store::sync::SyncRun;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::{AppHarness, assert_one_language, click, harness, type_into, wait_for, wait_until};

/// Brand names, ids and merchant data the screens show as they are.
const ALLOW: &[&str] = &[
    // Protocol ids and field names the acquirers' consoles use.
    "app_id",
    "appid",
    "mch_id",
    "app_auth_token",
    "sys_service_provider_id",
    "apiclient_cert.p12",
    "out_trade_no",
    "trade_no",
    "sha256",
    "tcp://",
    "cups:",
    "pw-play",
    "paplay",
    "aplay",
    "afplay",
    "macOS",
    "Linux",
    "Windows",
    "PowerShell",
    "Ctrl",
    "TillDesk",
    "Excel",
    "mm",
    // Merchant data: the staff's names, the acquirer accounts' names.
    "WeChat Pay (sandbox)",
    "Alipay (sandbox)",
    "林",
    "王芳",
];

/// [`ALLOW`] and the paths of this test (merchant data: where the data and the bills are).
fn allow(paths: &[&std::path::Path]) -> Vec<String> {
    let mut all: Vec<String> = ALLOW.iter().map(|a| (*a).to_owned()).collect();
    for p in paths {
        let full = p.display().to_string();
        all.push(tilldesk::ui::elide_middle(&full, 36));
        all.push(full);
    }
    all.push(fixture("wechat_20261124.txt").display().to_string());
    all
}

fn one_language(h: &AppHarness, lang: Lang, allowed: &[String], where_: &str) {
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    assert_one_language(h, lang, &allowed, where_);
}

/// A till with an owner (林) and a back-office clerk (王芳), the owner signed in, a day of local orders, a sync run
/// and a refused PIN in the audit log.
fn till(dir: &std::path::Path, lang: Lang) -> TillDeskApp {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    seed_local_from(&mut home.store, AcquirerKind::WechatPay, "local_20261124.csv");
    let owner = home.store.staff_mut().add_operator("林", Role::Owner, "246810", None).unwrap();
    home.store.staff_mut().add_operator("王芳", Role::BackOffice, "135790", Some(owner.id)).unwrap();
    assert!(home.store.staff_mut().verify_pin("林", "000000").is_err());
    let id = home.store.sync_mut().begin_sync_run("timer").unwrap();
    home.store
        .sync_mut()
        .finish_sync_run(&SyncRun {
            id,
            trigger: "timer".into(),
            finished_at: Some(tilldesk::time::now_utc()),
            online: true,
            bills_fetched: 1,
            summary: "1 bills fetched".into(),
            ..Default::default()
        })
        .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    let owner = app.ctx.home.store.staff().operator_by_name("林").unwrap().unwrap();
    app.ctx.sign_in(Some(&owner));
    app
}

/// Whether some label contains `text` (it may show more than once: the audit log in two places).
fn shown<S>(h: &egui_kittest::Harness<'_, S>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

fn go(h: &mut AppHarness, screen: Screen) {
    let label = screen.nav_label(h.state().ctx.lang);
    click(h, label);
    h.run_steps(2);
}

/// Imports the 2026-11-24 WeChat Pay bill (six differences) and reconciles it.
fn import_and_reconcile(h: &mut AppHarness, lang: Lang) {
    go(h, Screen::Reconciliation);
    let zh = lang == Lang::ZhCn;
    type_into(h, lang.pick("账单文件", "Bill file"), &fixture("wechat_20261124.txt").display().to_string());
    click(h, lang.pick("导入", "Import"));
    wait_for(h, if zh { "已导入 10 行" } else { "Imported 10 rows" });
    click(h, lang.pick("开始对账", "Reconcile"));
    wait_for(h, if zh { "对账完成，差异 6" } else { "Reconciled: differences 6" });
}

#[test]
fn every_back_office_screen_reads_in_one_language() {
    for lang in [Lang::ZhCn, Lang::En] {
        let tmp = tempfile::tempdir().unwrap();
        let allowed = allow(&[tmp.path()]);
        let mut h = harness(till(tmp.path(), lang), [1024.0, 2600.0]);
        // 对账 first, so that the audit log has a bill import in it.
        import_and_reconcile(&mut h, lang);
        one_language(&h, lang, &allowed, "对账 with differences");
        // The resolve dialog.
        h.get_all_by_label(lang.pick("标记已处理", "Mark resolved")).next().unwrap().click();
        wait_until(&mut h, "the resolve dialog", |h| shown(h, lang.pick("处理说明", "Note")));
        one_language(&h, lang, &allowed, "the resolve dialog");
        click(&mut h, lang.pick("取消", "Cancel"));
        assert!(!shown(&h, lang.pick("处理说明", "Note")), "the resolve dialog closed");
        // The settlement view (Alipay).
        click(&mut h, lang.pick("支付宝", "Alipay"));
        h.get_by_label(lang.pick("结算核对（支付宝账务明细）", "Settlement (Alipay account bill)"));
        click(&mut h, lang.pick("核对结算", "Check settlement"));
        let answers =
            [lang.pick("还没有 2026-", "There is no Alipay"), lang.pick("没有支付宝收单账户", "There is no Alipay")];
        wait_until(&mut h, "the settlement check's answer", |h| answers.iter().any(|a| shown(h, a)));
        one_language(&h, lang, &allowed, "the settlement view");

        // Settings: every section, the audit log with entries, the keys, staff, sync and the status bar.
        go(&mut h, Screen::Settings);
        for text in [
            lang.pick("外观主题", "Theme"),
            lang.pick("界面缩放", "Interface scale"),
            lang.pick("收单通道与密钥", "Live channels and keys"),
            lang.pick("下载账单 1 份", "1 bill fetched"),
            lang.pick("导入账单", "Bill imported"),
            lang.pick("PIN 错误，拒绝登录", "Sign-in refused: wrong PIN"),
            lang.pick("王芳（财务）", "王芳 (back office)"),
        ] {
            assert!(shown(&h, text), "{text:?} is not shown; the screen: {:#?}", ui_common::screen_text(&h));
        }
        one_language(&h, lang, &allowed, "Settings");

        // Staff: a refused sign-in.
        type_into(&mut h, lang.pick("操作员", "Operator"), "王芳");
        type_into(&mut h, "PIN", "000000");
        click(&mut h, lang.pick("登录 / 切换", "Sign in / switch"));
        wait_for(&mut h, lang.pick("姓名或 PIN 不正确", "the name or the PIN is wrong"));
        one_language(&h, lang, &allowed, "Settings after a refused sign-in");
    }
}

#[test]
fn a_message_shown_in_chinese_is_reworded_after_switching_to_english() {
    let tmp = tempfile::tempdir().unwrap();
    let allowed = allow(&[tmp.path()]);
    let mut h = harness(till(tmp.path(), Lang::ZhCn), [1024.0, 2600.0]);
    import_and_reconcile(&mut h, Lang::ZhCn);
    go(&mut h, Screen::Settings);
    type_into(&mut h, "操作员", "王芳");
    type_into(&mut h, "PIN", "000000");
    click(&mut h, "登录 / 切换");
    wait_for(&mut h, "姓名或 PIN 不正确");
    click(&mut h, "English");
    h.run_steps(2);
    assert_eq!(h.state().ctx.lang, Lang::En);
    h.get_by_label("the name or the PIN is wrong");
    assert!(h.query_by_label("姓名或 PIN 不正确").is_none());
    one_language(&h, Lang::En, &allowed, "Settings after switching");
    // The 对账 screen's result too.
    go(&mut h, Screen::Reconciliation);
    h.get_by_label("Reconciled: differences 6");
    one_language(&h, Lang::En, &allowed, "对账 after switching");
}

#[test]
fn the_status_bar_holds_at_1024_by_600_in_both_languages() {
    for lang in [Lang::ZhCn, Lang::En] {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a-rather-long-folder-name").join("tilldesk-data-of-the-shop");
        std::fs::create_dir_all(&deep).unwrap();
        let allowed = allow(&[&deep]);
        let mut app = till(&deep, lang);
        app.ctx.error = Some(tilldesk::i18n::Text::new(
            "这是一条很长的错误信息，用来检查状态栏在窄窗口里会换行而不是被截断，整句话都要能看到。",
            "This is a long error message that checks that the status bar wraps on a narrow window instead of cutting \
             the words off: the whole sentence must be readable.",
        ));
        let mut h = harness(app, [1024.0, 600.0]);
        go(&mut h, Screen::Settings);
        let width = 1024.0;
        // The other screens' words are theirs: the status bar is checked on Settings.
        for text in [lang.pick("同步：未开始", "Sync: not started"), lang.pick("操作员：林", "Operator: 林")]
        {
            let node = h.get_by_label(text);
            let r = node.rect();
            assert!(r.max.x <= width + 0.5, "{text:?} runs off the window: {r:?}");
        }
        // The data folder is elided with the whole path on hover; the error wraps inside the window.
        let data = h.get_by_label_contains(lang.pick("数据：", "Data: "));
        assert!(data.rect().max.x <= width + 0.5);
        let error = h.get_by_label_contains(lang.pick("这是一条很长的错误信息", "This is a long error message"));
        assert!(error.rect().max.x <= width + 0.5, "the error runs off the window: {:?}", error.rect());
        one_language(&h, lang, &allowed, "the status bar at 1024×600");
    }
}

#[test]
fn theme_and_scale_apply_at_once_and_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(till(tmp.path(), Lang::ZhCn), [1280.0, 2400.0]);
    // A new till is light.
    assert!(!h.ctx.global_style().visuals.dark_mode, "a new till starts light");
    go(&mut h, Screen::Settings);
    click(&mut h, "深色");
    h.run_steps(2);
    assert!(h.ctx.global_style().visuals.dark_mode, "choosing dark applies at once");
    let before = h.ctx.pixels_per_point();
    // Ctrl+= twice: 120 %.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Equals);
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Equals);
    h.run_steps(2);
    assert_eq!(h.state().ctx.scale, 120);
    assert!((h.ctx.zoom_factor() - 1.2).abs() < 1e-4, "zoom {}", h.ctx.zoom_factor());
    assert!((h.ctx.pixels_per_point() - before * 1.2).abs() < 1e-3, "ppp {}", h.ctx.pixels_per_point());
    // Ctrl+- once: 110 %.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Minus);
    h.run_steps(2);
    assert_eq!(h.state().ctx.scale, 110);
    drop(h);

    // A new window on the same data folder: dark, at 110 %.
    let home = DataHome::open(tmp.path()).unwrap();
    let h = harness(TillDeskApp::new(home).unwrap(), [1280.0, 800.0]);
    assert!(h.ctx.global_style().visuals.dark_mode, "the theme survives a restart");
    assert!((h.ctx.zoom_factor() - 1.1).abs() < 1e-4, "the scale survives a restart: {}", h.ctx.zoom_factor());

    // Ctrl+0 resets the scale; choosing light goes back.
    let mut h = h;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num0);
    h.run_steps(2);
    assert!((h.ctx.zoom_factor() - 1.0).abs() < 1e-4);
    assert_eq!(tilldesk::config::scale(&h.state().ctx.home.store).unwrap(), 100);
    go(&mut h, Screen::Settings);
    click(&mut h, "浅色");
    h.run_steps(2);
    assert!(!h.ctx.global_style().visuals.dark_mode);
    assert_eq!(tilldesk::config::theme(&h.state().ctx.home.store).unwrap(), tilldesk::config::Theme::Light);
}
