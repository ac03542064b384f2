//! Issue 21: the Orders screen (with an order's detail and its timeline open), Refunds, 概览 and the export, each in
//! one language — no English in the Chinese UI, no Chinese in the English UI — outside brand names, ids, paths and the
//! merchant's own data; and a message on screen is re-worded when the language is switched.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::Role;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::{AppHarness, assert_one_language, click, type_into, wait_for};

/// The merchant's data in the seeded orders: the subjects are bilingual ("三明治 Sandwich"), the stores have both names.
const SUBJECTS_EN: &[&str] = &["Sandwich", "Latte", "Americano", "Cake", "Water", "Bento"];
const SUBJECTS_ZH: &[&str] = &["三明治", "拿铁", "美式咖啡", "蛋糕", "矿泉水", "便当"];

fn app(dir: &std::path::Path, lang: Lang) -> (TillDeskApp, String, String) {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.staff_mut().add_operator("amy", Role::BackOffice, "135790", None).unwrap();
    home.store.orders_mut().seed_varied_orders(400, 5, 2, &mut |_| {}).unwrap();
    let db = rusqlite::Connection::open(home.store.path()).unwrap();
    let failed: String = db
        .query_row(
            "SELECT o.out_trade_no FROM orders o JOIN order_events e ON e.order_id = o.id
             WHERE e.kind = 'failed' AND e.detail LIKE 'ACQ.BUYER_BALANCE%' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // A refunded order with a whole timeline and its refund (by amy).
    let (id, out, total, at): (i64, String, i64, String) = db
        .query_row(
            "SELECT id, out_trade_no, total_amount, created_at FROM orders WHERE status = 'REFUNDED' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let yuan = format!("{}.{:02}", total / 100, total % 100);
    for (kind, detail) in [
        ("created", format!("{yuan} 280000******0000")),
        ("waiting", "waiting for the customer's password".to_owned()),
        ("poll", "#1: still waiting".to_owned()),
        ("paid", String::new()),
        ("refund_submitted", format!("{out}-R1 {yuan}: sent")),
        ("refund_success", format!("{out}-R1 {yuan}: SUCCESS")),
    ] {
        db.execute(
            "INSERT INTO order_events (order_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, at, kind, detail],
        )
        .unwrap();
    }
    db.execute(
        "INSERT INTO refunds (order_id, out_request_no, refund_amount, reason, status, operator_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, '#12', 'SUCCESS', 1, ?4, ?4)",
        rusqlite::params![id, format!("{out}-R1"), total, at],
    )
    .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Orders;
    (app, failed, out)
}

fn allow(lang: Lang, dir: &std::path::Path) -> Vec<String> {
    let mut allow: Vec<String> = match lang {
        Lang::ZhCn => SUBJECTS_EN.iter().map(|s| (*s).to_owned()).collect(),
        Lang::En => SUBJECTS_ZH.iter().map(|s| (*s).to_owned()).collect(),
    };
    // Paths are the computer's, ids are ids, Excel is a brand, amy is a cashier's name.
    allow.extend([dir.display().to_string(), "exports".into(), "Excel".into(), "amy".into()]);
    allow
}

fn check(h: &AppHarness, lang: Lang, dir: &std::path::Path, where_: &str) {
    let allow = allow(lang, dir);
    let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
    assert_one_language(h, lang, &allow, where_);
}

fn walk(lang: Lang) {
    let dir = tempfile::tempdir().unwrap();
    let (app, failed, refunded) = app(dir.path(), lang);
    let mut h = ui_common::harness(app, [1280.0, 800.0]);
    let orders = lang.pick("订单数 400 ", "Orders 400 ");
    wait_for(&mut h, orders);
    check(&h, lang, dir.path(), "the orders list");

    // A failed order: the acquirer's reason phrased.
    {
        let app = h.state_mut();
        app.orders.open(&mut app.ctx, &failed);
    }
    h.run_steps(3);
    wait_for(&mut h, lang.pick("顾客余额不足", "The customer's balance is too low"));
    check(&h, lang, dir.path(), "a failed order's detail");

    // A refunded order: its timeline, its refund and who made it.
    {
        let app = h.state_mut();
        app.orders.open(&mut app.ctx, &refunded);
    }
    h.run_steps(3);
    wait_for(&mut h, lang.pick("等待顾客输入密码", "Waiting for the customer's password"));
    h.get_by_label_contains(lang.pick("退款成功：", "Refund succeeded: "));
    check(&h, lang, dir.path(), "a refunded order's detail and timeline");

    // The export: where it goes and what it wrote.
    click(&mut h, lang.pick("导出位置", "Export folder"));
    click(&mut h, lang.pick("导出 CSV", "Export CSV"));
    wait_for(&mut h, lang.pick("已导出 400 行", "Exported 400 rows"));
    h.get_by_label(lang.pick("保存到", "Save to"));
    check(&h, lang, dir.path(), "the export");

    // Refunds.
    h.state_mut().screen = Screen::Refunds;
    h.run_steps(3);
    wait_for(&mut h, &format!("{refunded}-R1"));
    check(&h, lang, dir.path(), "the refunds list");

    // 概览.
    h.state_mut().screen = Screen::Dashboard;
    wait_for(&mut h, lang.pick("更新于 ", "as of "));
    check(&h, lang, dir.path(), "the dashboard");
    click(&mut h, lang.pick("图表数据以表格显示", "Show the charts as tables"));
    check(&h, lang, dir.path(), "the dashboard's tables");

    // A message on screen is re-worded when the language is switched.
    h.state_mut().screen = Screen::Orders;
    h.run_steps(2);
    type_into(&mut h, lang.pick("最小金额", "Min"), "x");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    let other = if lang == Lang::ZhCn { Lang::En } else { Lang::ZhCn };
    let (before, after) = match lang {
        Lang::ZhCn => ("最小金额：x 不是金额", "Min: \"x\" is not an amount"),
        Lang::En => ("Min: \"x\" is not an amount", "最小金额：x 不是金额"),
    };
    wait_for(&mut h, before);
    h.state_mut().ctx.set_language(other);
    h.run_steps(3);
    wait_for(&mut h, after);
    assert!(h.query_by_label_contains(before).is_none(), "the old wording is gone");
    wait_for(&mut h, other.pick("已导出 400 行", "Exported 400 rows"));
    check(&h, other, dir.path(), "the orders screen after switching");
}

#[test]
fn orders_refunds_overview_and_export_in_chinese_only() {
    walk(Lang::ZhCn);
}

#[test]
fn orders_refunds_overview_and_export_in_english_only() {
    walk(Lang::En);
}
