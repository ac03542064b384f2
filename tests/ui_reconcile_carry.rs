//! Carry-over on the 对账 screen (issue 18): what crosses midnight waits for the next day's bill, and the next day's
//! reconciliation shows it carried in, matched or missing from both bills.

mod recon_common;
mod ui_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use recon_common::{fixture, seed_local_from};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, wait_for};

fn import_and_reconcile(h: &mut AppHarness, file: &str, rows: &str, differences: &str) {
    let field = h.get_by_role_and_label(Role::TextInput, "账单文件");
    field.click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role_and_label(Role::TextInput, "账单文件").type_text(&fixture(file).display().to_string());
    h.run_steps(1);
    h.get_by_label("导入").click();
    wait_for(h, rows);
    h.get_by_label("开始对账").click();
    wait_for(h, differences);
}

fn shown(h: &AppHarness, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn what_crosses_midnight_waits_and_the_next_days_bill_carries_it_in() {
    let tmp = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(tmp.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::ZhCn.tag(), None).unwrap();
    seed_local_from(&mut home.store, AcquirerKind::WechatPay, "local_20261127.csv");
    let mut h = ui_common::harness(TillDeskApp::new(home).unwrap(), [1280.0, 900.0]);
    h.get_by_label("对账").click_accesskit();
    // The history of runs is read through the queue: wait for it, so that its answer does not land mid-run.
    ui_common::wait_until(&mut h, "the history of runs", |h| h.query_by_label("还没有对账记录").is_some());

    // The 27th alone: two payments and a refund made just before midnight wait for the 28th's bill (54.00 in all);
    // none of them is a difference.
    import_and_reconcile(&mut h, "wechat_20261127.txt", "2026-11-27", "对账完成，差异 0");
    assert!(shown(&h, "转出 待次日账单 3 (54.00)"), "{:#?}", ui_common::screen_text(&h));

    // The 28th's bill lists C003 and the refund CR002: carried in and matched (45.00); C004 is in neither bill, the
    // one difference of the 28th.
    import_and_reconcile(&mut h, "wechat_20261128.txt", "2026-11-28", "对账完成，差异 1");
    for text in ["已匹配 2 (45.00)", "两日账单均无 1 (9.00)", "C004"] {
        assert!(shown(&h, text), "{text} is not shown: {:#?}", ui_common::screen_text(&h));
    }
}
