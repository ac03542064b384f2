//! The 对账 screen as a back-office clerk uses it: import the day's bill by path, reconcile, read the cards and the
//! table, mark a difference resolved with a note, adopt a store-code payment, export.

mod recon_common;
mod ui_common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use recon_common::{fixture, seed_local_from};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::ui::{TillDeskApp, fonts};
use ui_common::{wait_for, wait_until};

fn harness(dir: &std::path::Path) -> Harness<'static, TillDeskApp> {
    harness_with(dir, Lang::ZhCn, "local_20261124.csv")
}

fn harness_with(dir: &std::path::Path, lang: Lang, local: &str) -> Harness<'static, TillDeskApp> {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    seed_local_from(&mut home.store, AcquirerKind::WechatPay, local);
    window(home)
}

/// The window on the data folder `home`, after its first frames.
fn window(home: DataHome) -> Harness<'static, TillDeskApp> {
    let app = TillDeskApp::new(home).unwrap();
    let mut h = Harness::builder()
        .with_size([1280.0, 900.0])
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    h.run();
    h
}

/// Opens the 对账 screen (`nav`) and waits until its history of runs, read through the queue, is shown.
fn open_screen<S>(h: &mut Harness<'_, S>, nav: &str) {
    h.get_by_label(nav).click_accesskit();
    wait_until(h, "the history of runs", |h| {
        (h.query_by_label("对账历史").is_some() || h.query_by_label("History of runs").is_some())
            && h.query_all_by_label_contains("正在读取对账历史").next().is_none()
            && h.query_all_by_label_contains("Reading the history").next().is_none()
    });
}

fn type_into<S>(h: &mut Harness<'_, S>, field: &str, text: &str) {
    let node = h.get_by_role_and_label(egui::accesskit::Role::TextInput, field);
    node.focus();
    node.type_text(text);
    h.run();
}

#[test]
fn import_reconcile_resolve_adopt_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(tmp.path());
    open_screen(&mut h, "对账");
    h.get_by_label("对账中心");
    h.get_by_label("导入或下载当日账单后点击“开始对账”。");

    type_into(&mut h, "账单文件", &fixture("wechat_20261124.txt").display().to_string());
    h.get_by_label("导入").click();
    wait_for(&mut h, "已导入 10 行：2026-11-24 的微信支付全部订单账单");

    // The import set the acquirer and the day from the bill.
    h.get_by_label("开始对账").click();
    wait_for(&mut h, "对账完成，差异 6");
    for label in ["已匹配", "132.00", "仅账单有", "仅本地有", "金额不符", "状态不符", "跨日待核", "净额 164.51"]
    {
        assert!(h.query_all_by_label_contains(label).next().is_some(), "{label} is not shown");
    }
    h.get_by_label("W003");
    h.get_by_label("W005");
    assert!(h.query_by_label("W009").is_none(), "the order near midnight waits for the next day's bill");

    // Filter to amount mismatches: only W005 stays.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "金额不符").click();
    h.run();
    assert!(h.query_by_label("W003").is_none());
    h.get_by_label("标记已处理").click();
    h.run();
    type_into(&mut h, "处理说明", "收银员少输了2元");
    h.get_by_label("保存").click();
    wait_for(&mut h, "已标记为已处理");
    assert!(h.query_by_label("W005").is_none(), "resolved rows are hidden unless asked for");
    h.get_by_label("显示已处理").click();
    h.run();
    h.get_by_label("W005");
    h.get_by_label("已处理：收银员少输了2元");

    // Back to all: adopt the store-code payment W003.
    h.get_by_label("全部").click();
    h.run();
    h.get_all_by_label("补录为本地订单").next().unwrap().click();
    wait_for(&mut h, "已补录本地订单 #");
    let order = h.state().ctx.home.store.orders().order_by_out_trade_no("W003").unwrap().unwrap();
    assert_eq!(order.status, tilldesk::model::OrderStatus::Paid);

    h.get_by_label("导出 Excel").click();
    wait_for(&mut h, "已导出到 ");
    let exports: Vec<_> = std::fs::read_dir(tmp.path().join("exports")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(exports.len(), 1);
    assert!(exports[0].to_string_lossy().ends_with(".xlsx"));

    // The history lists the run.
    h.get_by_label("对账历史");
    assert!(h.query_all_by_label_contains("#1 2026-11-24 微信支付").next().is_some());
}

#[test]
fn a_bad_file_shows_the_precise_error_and_fetch_without_a_client_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("坏账单.txt");
    let text = std::fs::read_to_string(fixture("wechat_20261124.txt")).unwrap().replacen("`22.00,", "`22.0x,", 1);
    std::fs::write(&bad, text).unwrap();
    let mut h = harness(tmp.path());
    open_screen(&mut h, "对账");
    type_into(&mut h, "账单文件", &bad.display().to_string());
    h.get_by_label("导入").click();
    wait_for(&mut h, "第 7 行“应结订单金额”列：“22.0x”不是金额");
    assert_eq!(h.state().ctx.home.store.recon().recent_bills(5).unwrap().len(), 0);
    h.get_by_label("下载账单").click();
    h.run();
    assert!(h.query_all_by_label_contains("接口尚未配置").next().is_some());
}

/// Imports the field-level day (2026-11-26) in the screen, with the account's fee rate set, and reconciles it.
fn reconcile_field_day(dir: &std::path::Path, lang: Lang) -> Harness<'static, TillDeskApp> {
    let mut h = harness_with(dir, lang, "local_20261126.csv");
    let store = &mut h.state_mut().ctx.home.store;
    let wechat = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    store.set_setting(&format!("recon.fee_rate.{}", wechat.0), "0.60%", None).unwrap();
    let zh = lang == Lang::ZhCn;
    open_screen(&mut h, if zh { "对账" } else { "Reconciliation" });
    type_into(&mut h, if zh { "账单文件" } else { "Bill file" }, &fixture("wechat_20261126.txt").display().to_string());
    h.get_by_label(if zh { "导入" } else { "Import" }).click();
    wait_for(&mut h, if zh { "已导入 13 行" } else { "Imported 13 rows" });
    h.get_by_label(if zh { "开始对账" } else { "Reconcile" }).click();
    wait_for(&mut h, if zh { "对账完成，差异 9" } else { "Reconciled: differences 9" });
    h
}

#[test]
fn the_detail_names_each_differing_field_with_both_values_in_chinese() {
    let tmp = tempfile::tempdir().unwrap();
    let h = reconcile_field_day(tmp.path(), Lang::ZhCn);
    for label in [
        "字段不符",
        "时间：账单 2026-11-26 11:20:00，本地 2026-11-26 11:00:05",
        "商户号：账单 1900000188，本地 1900000109",
        // Fees by the one rule: fen on screen (the exact values on hover).
        "手续费：账单 0.50，本地 0.30",
        "订单金额：账单 25.00，本地 20.00",
        "退款金额：账单 15.00，本地 10.00",
        "状态：账单 SUCCESS，本地 PROCESSING",
        "退款金额：账单 12.00，本地 -",
        "单边账",
        "手续费：按账户费率 0.60%",
        "自前日顺延",
        "跨日顺延，截止时间 00:00",
    ] {
        assert!(h.query_all_by_label_contains(label).next().is_some(), "{label} is not shown");
    }
    assert!(h.query_all_by_label_contains("bill").next().is_none(), "no English in the Chinese screen");
}

#[test]
fn the_detail_names_each_differing_field_with_both_values_in_english() {
    let tmp = tempfile::tempdir().unwrap();
    let h = reconcile_field_day(tmp.path(), Lang::En);
    for label in [
        "Field mismatch",
        "time: bill 2026-11-26 11:20:00, till 2026-11-26 11:00:05",
        "merchant id: bill 1900000188, till 1900000109",
        "check the routes",
        "Carried in",
        "Carry-over, cut-off 00:00",
    ] {
        assert!(h.query_all_by_label_contains(label).next().is_some(), "{label} is not shown");
    }
}

/// The clerk imports the day's SUCCESS bill, then its REFUND bill: the window says they make the day together, and
/// the report is the one of the ALL bill.
#[test]
fn a_success_and_a_refund_bill_make_the_day_together() {
    use tilldesk::channel::wechatpay::bill::{BillReader, BillType, WechatBillRow};
    use tilldesk::sandbox::bills::wechatpay::write_bill;
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("wechat_20261124.txt")).unwrap();
    let rows: Vec<WechatBillRow> = BillReader::new(text.as_bytes()).unwrap().map(Result::unwrap).collect();
    let (refunds, payments): (Vec<WechatBillRow>, Vec<WechatBillRow>) =
        rows.into_iter().partition(|r| r.trade_state == "REFUND");
    let refunds: Vec<WechatBillRow> =
        refunds.into_iter().map(|r| WechatBillRow { refund_success_time: Some(r.trade_time), ..r }).collect();
    let success = tmp.path().join("成功.txt");
    let refund = tmp.path().join("退款.txt");
    std::fs::write(&success, write_bill(BillType::Success, &payments)).unwrap();
    std::fs::write(&refund, write_bill(BillType::Refund, &refunds)).unwrap();

    let mut h = harness(tmp.path());
    open_screen(&mut h, "对账");
    type_into(&mut h, "账单文件", &success.display().to_string());
    h.get_by_label("导入").click();
    wait_for(&mut h, "已导入 8 行：2026-11-24 的微信支付成功订单账单");
    // Type the second path over the first.
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "账单文件").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "账单文件").type_text(&refund.display().to_string());
    h.run();
    h.get_by_label("导入").click();
    wait_for(&mut h, "已导入 2 行：2026-11-24 的微信支付退款订单账单");
    h.get_by_label_contains("它与当日之前导入的微信支付成功订单账单");
    h.get_by_label_contains("合起来构成当天的账单");
    h.get_by_label("开始对账").click();
    wait_for(&mut h, "对账完成，差异 6");
    assert!(h.query_all_by_label_contains("净额 164.51").next().is_some(), "the day's net, fees counted once");
}

/// A new window on a folder reconciled before: the history (read through the command queue) lists the run, Open
/// brings its report back, a trade query without a client says why, and the report exports to CSV.
#[test]
fn a_run_opens_again_from_the_history_and_exports_to_csv() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let mut h = harness(tmp.path());
        open_screen(&mut h, "对账");
        type_into(&mut h, "账单文件", &fixture("wechat_20261124.txt").display().to_string());
        h.get_by_label("导入").click();
        wait_for(&mut h, "已导入 10 行");
        h.get_by_label("开始对账").click();
        wait_for(&mut h, "对账完成，差异 6");
        wait_for(&mut h, "#1 2026-11-24 微信支付");
    }
    let mut h = window(DataHome::open(tmp.path()).unwrap());
    open_screen(&mut h, "对账");
    h.get_by_label("导入或下载当日账单后点击“开始对账”。");
    wait_for(&mut h, "#1 2026-11-24 微信支付");
    assert!(h.query_by_label("W005").is_none(), "no report before one is opened");
    h.get_by_label("查看").click();
    ui_common::wait_until(&mut h, "the report of run #1", |h| h.query_by_label("W005").is_some());
    assert!(h.query_all_by_label_contains("净额 164.51").next().is_some(), "the run's figures");
    assert!(h.query_by_label("导入或下载当日账单后点击“开始对账”。").is_none());

    h.get_all_by_label("查询收单机构").next().unwrap().click();
    wait_for(&mut h, "该收单机构的接口尚未配置，无法查询。");

    h.get_by_label("导出 CSV").click();
    wait_for(&mut h, "已导出到 ");
    let exports: Vec<_> = std::fs::read_dir(tmp.path().join("exports")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(exports.len(), 1);
    assert!(exports[0].to_string_lossy().ends_with(".csv"));
    let csv = std::fs::read_to_string(&exports[0]).unwrap();
    assert!(csv.contains("W005"), "the export lists the differences");
}

/// The 对账 screen alone, drawn as the window's UI thread (`thread_role::ui_frame`, as the shell draws the screens on
/// the queue): SQL, a file write or signing left in the screen, its report, history, resolve panel or settlement card
/// fails this debug build. Import, run, resolve, open from the history, export and check the settlement.
#[test]
fn the_screen_does_its_database_and_file_work_through_the_queue() {
    use tilldesk::ui::Ctx;
    use tilldesk::ui::reconcile::ReconcileScreen;
    let tmp = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(tmp.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::ZhCn.tag(), None).unwrap();
    seed_local_from(&mut home.store, AcquirerKind::WechatPay, "local_20261124.csv");
    let state = (ReconcileScreen::default(), Ctx::new(home).unwrap());
    let mut h =
        Harness::builder().with_size([1280.0, 900.0]).with_context_setup(fonts::install_cjk_font).build_ui_state(
            |ui, (screen, ctx): &mut (ReconcileScreen, Ctx)| {
                // What the shell does between frames (it reads who is signed in), then the screen as the UI thread.
                ctx.attach_queue(ui.ctx());
                ctx.sync_audit_session();
                let _ui = tilldesk::thread_role::ui_frame();
                screen.ui(ui, ctx);
            },
            state,
        );
    wait_until(&mut h, "the history of runs", |h| h.query_by_label("还没有对账记录").is_some());
    type_into(&mut h, "账单文件", &fixture("wechat_20261124.txt").display().to_string());
    h.get_by_label("导入").click_accesskit();
    wait_for(&mut h, "已导入 10 行");
    h.get_by_label("开始对账").click_accesskit();
    wait_for(&mut h, "对账完成，差异 6");
    wait_for(&mut h, "当日 2026-11-24 未结账");

    // W005's amount differs: resolving it marks it resolved (the first row, W004, would suggest adopting it).
    h.get_by_role_and_label(egui::accesskit::Role::Button, "金额不符").click();
    h.run_steps(3);
    assert!(h.query_by_label("W003").is_none(), "filtered to amount mismatches");
    h.get_by_label("标记已处理").click();
    h.run_steps(3);
    type_into(&mut h, "处理说明", "已核实");
    h.get_by_label("保存").click_accesskit();
    wait_for(&mut h, "已标记为已处理");

    wait_for(&mut h, "#1 2026-11-24 微信支付");
    h.get_by_label("查看").click_accesskit();
    h.run_steps(2);
    h.get_by_label("导出 CSV").click_accesskit();
    wait_for(&mut h, "已导出到 ");

    // The settlement card (Alipay): its check reads the accounts and the bills on the queue.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "支付宝").click_accesskit();
    h.run_steps(2);
    h.get_by_label("核对结算").click_accesskit();
    ui_common::wait_until(&mut h, "the settlement check's answer", |h| {
        h.query_all_by_label_contains("支付宝业务账单").next().is_some()
            || h.query_all_by_label_contains("没有支付宝收单账户").next().is_some()
    });
}
