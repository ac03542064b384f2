//! The 对账 screen's resolution workflow as a back-office clerk uses it: the resolve dialog (kind, note with Enter,
//! the bill row for "matched", the refund for "refunded", Escape to close), the day bar (Close day disabled with the
//! reason while differences are open), closing, the frozen export, the refused re-run, reopening the day and a
//! difference; and who may do it.

mod recon_common;
mod ui_common;

use egui::accesskit::Role as A11y;
use egui_kittest::kittest::{NodeT, Queryable};
use recon_common::{fixture, seed_local};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerKind, Role};
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, click, harness, type_into, wait_for, wait_until};

fn app(dir: &std::path::Path, lang: Lang, staff: bool) -> AppHarness {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    seed_local(&mut home.store, AcquirerKind::WechatPay);
    if staff {
        let owner = home.store.staff_mut().add_operator("李娜", Role::Owner, "246810", None).unwrap();
        home.store.staff_mut().add_operator("王芳", Role::BackOffice, "135790", Some(owner.id)).unwrap();
    }
    let acquirer = home.store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let options = tilldesk::recon::ImportOptions {
        acquirer: Some(AcquirerKind::WechatPay),
        account: Some(acquirer),
        ..Default::default()
    };
    let control = tilldesk::recon::ImportControl::new();
    tilldesk::recon::import_file(&mut home.store, &fixture("wechat_20261124.txt"), &options, &control).unwrap();
    harness(TillDeskApp::new(home).unwrap(), [1400.0, 1000.0])
}

fn reconcile(h: &mut AppHarness, nav: &str, button: &str, done: &str) {
    click(h, nav);
    h.get_by_role_and_label(A11y::TextInput, if nav == "对账" { "账单日期" } else { "Bill date" }).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(A11y::TextInput, if nav == "对账" { "账单日期" } else { "Bill date" })
        .type_text("2026-11-24");
    h.run_steps(1);
    click(h, button);
    wait_for(h, done);
}

fn resolve_buttons(h: &AppHarness) -> usize {
    h.query_all_by_label("标记已处理").count()
}

fn disabled(h: &AppHarness, label: &str) -> bool {
    h.get_by_role_and_label(A11y::Button, label).accesskit_node().is_disabled()
}

/// Types where the focus is (the dialog focuses its note) and presses Enter.
fn note_and_enter(h: &mut AppHarness, text: &str) {
    h.run_steps(2);
    ui_common::type_and_enter(h, text);
}

#[test]
fn a_clerk_resolves_every_difference_closes_the_day_exports_it_and_reopens_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(tmp.path(), Lang::ZhCn, false);
    reconcile(&mut h, "对账", "开始对账", "对账完成，差异 6");
    wait_for(&mut h, "当日 2026-11-24 未结账 · 未处理差异 6");
    assert!(disabled(&h, "结账"), "nothing closes while differences are open");
    h.get_by_label("还有 6 条差异未处理，处理完才能结账");

    // W005 (amount): the dialog suggests "adjusted"; the note is typed and Enter saves.
    h.get_by_role_and_label(A11y::Button, "金额不符").click();
    h.run();
    click(&mut h, "标记已处理");
    wait_for(&mut h, "处理差异");
    let suggested = h.get_by_role_and_label(A11y::RadioButton, "已更正本地记录").accesskit_node().toggled();
    assert_eq!(suggested, Some(egui::accesskit::Toggled::True), "the dialog starts with the kind that fits");
    note_and_enter(&mut h, "收银员少输了2元，已更正");
    wait_for(&mut h, "已标记为已处理");
    wait_for(&mut h, "未处理差异 5");

    // Escape closes the dialog without a change.
    h.get_by_role_and_label(A11y::Button, "仅本地有").click();
    h.run();
    click(&mut h, "标记已处理");
    wait_for(&mut h, "处理差异");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.query_by_label("处理差异").is_none(), "Escape closes the dialog");

    // W008 (only local) matched by hand to W004's bill row, picked from the list.
    click(&mut h, "标记已处理");
    wait_for(&mut h, "行 6 · 4200002026112400000004 · 32.00");
    click(&mut h, "行 6 · 4200002026112400000004 · 32.00");
    h.get_by_role_and_label(A11y::TextInput, "处理说明").focus();
    note_and_enter(&mut h, "W004 的付款被记成了 W008");
    wait_for(&mut h, "已与账单第 6 行手工匹配");
    wait_for(&mut h, "未处理差异 3");

    // W003: adopted from the bill.
    h.get_by_role_and_label(A11y::Button, "仅账单有").click();
    h.run();
    click(&mut h, "补录为本地订单");
    wait_for(&mut h, "已补录本地订单 #");
    wait_for(&mut h, "未处理差异 2");

    // W007: refunded, its refund number filled in; W001's refund WR010: written off.
    h.get_by_role_and_label(A11y::Button, "状态不符").click();
    h.run();
    assert_eq!(resolve_buttons(&h), 2);
    h.get_all_by_label("标记已处理").next().unwrap().click();
    wait_for(&mut h, "退款单号（可选）");
    assert_eq!(
        h.get_by_role_and_label(A11y::TextInput, "退款单号（可选）").accesskit_node().value().as_deref(),
        Some("WR007")
    );
    h.get_by_role_and_label(A11y::TextInput, "处理说明").focus();
    note_and_enter(&mut h, "已在商户平台退款");
    wait_for(&mut h, "未处理差异 1");
    // The count and the list are read apart: under load the count can be on screen a frame before the list, whose
    // row for W007 then still offers "mark resolved". Wait for the list too.
    ui_common::wait_until(&mut h, "one difference left to mark", |h| h.query_all_by_label("标记已处理").count() == 1);
    click(&mut h, "标记已处理");
    wait_for(&mut h, "核销（接受损益）");
    click(&mut h, "核销（接受损益）");
    type_into(&mut h, "处理说明", "线下结清");
    click(&mut h, "保存");
    wait_for(&mut h, "未处理差异 0");

    // Nothing open: close the day.
    assert!(!disabled(&h, "结账"));
    click(&mut h, "结账");
    wait_for(&mut h, "已结账，报表已冻结");
    wait_for(&mut h, "当日 2026-11-24 已结账 · 结账人 window");

    // The closed day's export is its frozen report, byte for byte.
    click(&mut h, "导出结账报表 Excel");
    wait_for(&mut h, "已导出到 ");
    let file = tmp.path().join("exports/recon-wechatpay-2026-11-24-closed.xlsx");
    let store = &h.state().ctx.home.store;
    let acquirer = store.setup().acquirers().unwrap()[0].id;
    let day = tilldesk::recon::resolve::day_report(store, acquirer, time::macros::date!(2026 - 11 - 24)).unwrap();
    let again = tmp.path().join("again.xlsx");
    tilldesk::recon::export::write_day(&day, &again, Lang::ZhCn).unwrap();
    assert!(std::fs::read(&file).unwrap() == std::fs::read(&again).unwrap(), "the export is the frozen report");

    // A closed day is not reconciled again; the message is in Chinese.
    click(&mut h, "开始对账");
    wait_for(&mut h, "已由 window 于 ");
    assert!(h.query_all_by_label_contains("请先重新开账").next().is_some());

    // Reopened with a reason: Close day is back.
    type_into(&mut h, "重新开账原因", "微信补发了账单");
    click(&mut h, "重新开账");
    wait_for(&mut h, "已重新开账");
    wait_for(&mut h, "当日 2026-11-24 未结账 · 未处理差异 0");

    // A resolution is taken back (the day is open again): W005 is open once more.
    click(&mut h, "显示已处理");
    h.get_by_role_and_label(A11y::Button, "金额不符").click();
    h.run();
    click(&mut h, "重新打开");
    wait_for(&mut h, "重新打开差异");
    h.get_by_role_and_label(A11y::TextInput, "处理说明").focus();
    note_and_enter(&mut h, "金额还要再核对");
    wait_for(&mut h, "已重新打开");
    wait_for(&mut h, "未处理差异 1");
    let audit = h.state().ctx.home.store.recent_audit(30).unwrap();
    for action in
        ["discrepancy.resolve", "discrepancy.reopen", "order.adopt_from_bill", "recon.day_close", "recon.day_reopen"]
    {
        assert!(audit.iter().any(|a| a.action == action), "{action} is not audited");
    }
}

#[test]
fn only_a_signed_in_owner_or_back_office_clerk_resolves_and_it_is_recorded_as_theirs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(tmp.path(), Lang::En, true);
    h.state_mut().ctx.operator = Some("王芳".into());
    ui_common::wait_for_sign_in(&mut h);
    reconcile(&mut h, "Reconciliation", "Reconcile", "Reconciled: differences 6");
    wait_for(&mut h, "Day 2026-11-24 open · open differences 6");
    h.get_by_role_and_label(A11y::Button, "Amount mismatch").click();
    h.run();

    // Signed out: refused, with what to do.
    h.state_mut().ctx.operator = None;
    click(&mut h, "Mark resolved");
    wait_for(&mut h, "Resolve a difference");
    note_and_enter(&mut h, "checked the receipt");
    wait_for(&mut h, "Sign in as owner or back office to reconcile bills");
    assert!(h.query_all_by_label_contains("open differences 6").next().is_some());

    // Signed in as the back-office clerk: done, and recorded as theirs.
    h.state_mut().ctx.operator = Some("王芳".into());
    ui_common::wait_for_sign_in(&mut h);
    click(&mut h, "Save");
    wait_for(&mut h, "Marked resolved");
    wait_until(&mut h, "the resolution recorded", |h| {
        let store = &h.state().ctx.home.store;
        store.recent_audit(5).unwrap().iter().any(|a| a.action == "discrepancy.resolve")
    });
    let store = &h.state().ctx.home.store;
    let d = store.recon().discrepancy(tilldesk::model::DiscrepancyId(3)).unwrap().unwrap();
    assert_eq!((d.resolution.as_deref(), d.resolved_by_name.as_deref()), (Some("adjusted"), Some("王芳")));
    assert_eq!(d.note.as_deref(), Some("checked the receipt"));
}
