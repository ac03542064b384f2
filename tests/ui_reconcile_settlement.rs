//! The 对账 screen's settlement card: with the Alipay trade bill and account bill of the fixture day imported, the
//! clerk checks the settlement and reads the differences, in either language; the check runs off the UI thread.

mod recon_common;
mod ui_common;

use egui_kittest::kittest::Queryable;
use recon_common::fixture;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, click, harness, type_into, wait_for};

fn app(dir: &std::path::Path, lang: Lang) -> AppHarness {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    harness(TillDeskApp::new(home).unwrap(), [1280.0, 900.0])
}

/// Imports the account bill through the screen's import (told apart from a trade bill by its content).
fn import_account(h: &mut AppHarness, field: &str, button: &str, imported: &str) {
    type_into(h, field, &fixture("alipay_account_20261124.csv.zip").display().to_string());
    click(h, button);
    wait_for(h, imported);
    // Empty the path field for the next import.
    h.get_by_label(field).focus();
    h.run_steps(1);
    for _ in 0..fixture("alipay_account_20261124.csv.zip").display().to_string().chars().count() {
        h.key_press(egui::Key::Backspace);
    }
    h.run_steps(1);
}

/// Imports the Alipay trade bill through the screen (which picks the acquirer and the day from it), then checks.
fn import_and_check(h: &mut AppHarness, imported: &str, button: &str) {
    type_into(
        h,
        if imported.starts_with("已") { "账单文件" } else { "Bill file" },
        &fixture("alipay_20261124.csv.zip").display().to_string(),
    );
    click(h, if imported.starts_with("已") { "导入" } else { "Import" });
    wait_for(h, imported);
    // The next frame shows the card (the import chose Alipay).
    h.run_steps(2);
    click(h, button);
}

#[test]
fn the_settlement_card_shows_what_did_not_arrive_in_chinese() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(tmp.path(), Lang::ZhCn);
    click(&mut h, "对账");
    import_account(&mut h, "账单文件", "导入", "已导入 23 行：2026-11-24 的支付宝账务明细");
    import_and_check(&mut h, "已导入 11 行", "核对结算");
    wait_for(&mut h, "业务账单净额 317.05");
    for text in [
        "已到账 268.05",
        "结算有差异",
        "账务明细缺少",
        "金额或订单号不同",
        "账务明细订单号不同（A006X）",
        "账务明细多出",
        "A099",
    ] {
        assert!(h.query_all_by_label_contains(text).next().is_some(), "{text} is not shown");
    }
    assert!(h.query_all_by_label_contains("missing").next().is_none(), "no English in the Chinese window");
}

#[test]
fn the_settlement_card_speaks_english_too() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(tmp.path(), Lang::En);
    click(&mut h, "Reconciliation");
    import_account(&mut h, "Bill file", "Import", "Imported 23 rows: Alipay account bill of 2026-11-24");
    import_and_check(&mut h, "Imported 11 rows", "Check settlement");
    wait_for(&mut h, "Trade bill net 317.05");
    for text in ["arrived 268.05", "missing from the account bill", "only in the account bill", "A004"] {
        assert!(h.query_all_by_label_contains(text).next().is_some(), "{text} is not shown");
    }
}
