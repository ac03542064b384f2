//! The 概览 Dashboard as the owner reads it: today's figures compared with the day before and a week before, by
//! store, cashier, wallet and hour (the chart's figures also as a table), the presets, and "Show in Orders" landing
//! on the same totals.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::dashboard::{Period, dashboard};
use tilldesk::i18n::Lang;
use tilldesk::model::Role;
use tilldesk::store::Store;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::{click, wait_for};

#[test]
fn todays_figures_compare_break_down_and_match_the_orders_screen() {
    let dir = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.staff_mut().add_operator("amy", Role::Cashier, "1357", None).unwrap();
    home.store.orders_mut().seed_varied_orders(3000, 21, 4, &mut |_| {}).unwrap();
    let db_path = home.store.path().to_owned();
    let store = Store::open(&db_path).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let today = dashboard(&store, Period::Today, now).unwrap();
    let yesterday = dashboard(&store, Period::Yesterday, now).unwrap();
    assert!(yesterday.paid_count() > 50);

    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Dashboard;
    let mut h = ui_common::harness(app, [1280.0, 900.0]);
    wait_for(&mut h, "as of ");
    h.get_by_label("Sales at a glance");
    if today.paid_count() > 0 {
        for text in [format!("¥{}", today.gross()), format!("¥{}", today.net()), today.paid_count().to_string()] {
            assert!(h.query_all_by_label(&text).next().is_some(), "the card {text:?} is shown");
        }
    }

    // Yesterday: the cards, the comparison with the day before and a week before, the breakdowns.
    click(&mut h, "Yesterday");
    wait_for(&mut h, &format!("¥{}", yesterday.gross()));
    let c = &yesterday.compare;
    assert!(c.previous.paid_count > 0 && c.last_week.paid_count > 0);
    let change = |now: i64, before: i64| {
        let p = tilldesk::dashboard::change_permille(now, before).unwrap();
        format!("{}{}.{}%", if p < 0 { "−" } else { "+" }, p.abs() / 10, p.abs() % 10)
    };
    let line = format!(
        "vs the day before {} · vs a week before {}",
        change(yesterday.gross().fen(), c.previous.paid_amount.fen()),
        change(yesterday.gross().fen(), c.last_week.paid_amount.fen())
    );
    assert!(h.query_by_label(&line).is_some(), "the compare line {line:?}");
    h.get_by_label("By store");
    h.get_by_label("By cashier");
    h.get_by_label("By wallet");
    for s in &yesterday.by_store {
        assert!(h.query_all_by_label(&format!("¥{}", s.totals.paid_amount)).next().is_some(), "{s:?}");
    }
    h.get_by_label("amy");
    h.get_by_label("No one signed in");
    // The charts' figures, as their accessible descriptions and as tables.
    let (peak, sales) = yesterday.peak_hour().unwrap();
    h.get_by_label_contains("Gross by hour: ");
    h.get_by_label_contains("Gross by wallet: ");
    click(&mut h, "Show the charts as tables");
    h.get_by_label("WeChat Pay");
    wait_for(&mut h, &format!("{peak:02}:00–{:02}:00", (peak + 1) % 24));
    assert!(h.query_all_by_label(&format!("¥{}", sales.gross)).next().is_some());

    // Show in Orders: the same days, the same totals.
    click(&mut h, "Show in Orders");
    wait_for(&mut h, "Paid ¥");
    assert_eq!(h.state().screen, Screen::Orders);
    let line = format!(
        "Paid ¥{} ({})   ·   Refunded ¥{}   ·   Net ¥{}",
        yesterday.gross(),
        yesterday.paid_count(),
        yesterday.refunds(),
        yesterday.net()
    );
    wait_for(&mut h, &line);
    assert_eq!(store.orders().order_totals(&yesterday.filter).unwrap(), yesterday.totals);
}

#[test]
fn at_1024_by_600_the_cards_wrap_and_a_custom_span_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::ZhCn.tag(), None).unwrap();
    home.store.orders_mut().seed_varied_orders(1500, 10, 6, &mut |_| {}).unwrap();
    let store = Store::open(home.store.path()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let first = tilldesk::time::china_date(now) - time::Duration::days(4);
    let last = first + time::Duration::days(2);
    let span = dashboard(&store, Period::Custom(first, last), now).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Dashboard;
    let mut h = ui_common::harness(app, [1024.0, 600.0]);
    wait_for(&mut h, "更新于 ");
    ui_common::type_into(&mut h, "从", &first.to_string());
    ui_common::type_into(&mut h, "到", &last.to_string());
    click(&mut h, "查看自定义日期");
    wait_for(&mut h, &format!("营业日（北京时间） {first} – {last}"));
    wait_for(&mut h, &format!("¥{}", span.gross()));
    // Every card and both charts are inside the window (the cards wrap instead of running off the right edge,
    // which used to widen the page and push the wallet chart out of sight).
    for title in ["营业额", "退款", "净收入", "笔数", "客单价"] {
        let node = h.get_all_by_label(title).next().unwrap();
        let r = node.rect();
        assert!(r.max.x <= 1024.0 + 0.5, "{title} at {r:?}");
    }
    for chart in ["按小时营业额", "按钱包营业额"] {
        let r = h.get_by_label_contains(chart).rect();
        assert!(r.max.x <= 1024.0 + 0.5 && r.width() > 200.0, "the chart {chart} at {r:?}");
    }
}

/// An order at `store_code` recorded at the backend (as a till's payment through it would be), now.
fn backend_order(store: &mut Store, store_code: &str, out_trade_no: &str, fen: i64) {
    let shop = store.setup().store_by_code(store_code).unwrap().unwrap().id;
    let alipay = store.setup().acquirer_by_onboarding_code("ALIPAY").unwrap().unwrap().acquirer.id;
    let at = tilldesk::time::now_utc();
    let order = tilldesk::store::pulled::PulledOrder {
        out_trade_no: out_trade_no.into(),
        trade_no: Some(format!("2026{out_trade_no}")),
        store_id: shop,
        acquirer_id: alipay,
        source: tilldesk::model::OrderSource::Barcode,
        subject: "连锁门店".into(),
        total_amount: tilldesk::money::Amount::from_fen(fen),
        status: tilldesk::model::OrderStatus::Paid,
        auth_code_masked: None,
        created_at: at.clone(),
        paid_at: Some(at),
        acquirer_merchant_id: None,
        terminal_id: None,
        refunds: Vec::new(),
    };
    store.orders_mut().apply_pulled_order(&order).unwrap();
}

/// On a till enrolled with a merchant backend the dashboard is added up there: the owner signed in at a till of S001
/// sees S002's sales too (which this till never took); with nobody signed in, or the backend stopped, the screen shows
/// the till's own orders and says why.
fn an_enrolled_tills_dashboard_in(lang: Lang) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let options = tilldesk::serve::StartOptions { sync: None, recover: false, tls: None };
    let (sandbox, running) = ui_common::backend_on_sandbox(&rt, tmp.path(), options, |store| {
        let merchant = store.setup_mut().merchant().unwrap();
        let s002 = tilldesk::model::Store {
            id: tilldesk::model::StoreId(0),
            merchant_id: merchant.id,
            store_code: "S002".into(),
            name: "Second Street".into(),
            name_zh: "二店".into(),
            address: String::new(),
            contact: String::new(),
        };
        store.setup_mut().add_store(&s002, None).unwrap();
        backend_order(store, "S001", "TDDASH0001", 1234);
        backend_order(store, "S002", "TDDASH0002", 5678);
    });
    let data = tmp.path().join("till");
    let vault = ui_common::join_as_owner(&rt, &running, &data, lang);

    // Nobody signed in at the window: the till's own figures (it took nothing), and why.
    let home = DataHome::open(&data).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.queue.set_vault(Some(vault));
    app.screen = Screen::Dashboard;
    let mut h = ui_common::harness(app, [1280.0, 1000.0]);
    wait_for(&mut h, lang.pick("登录后显示商户后台的统计", "Sign in to see the merchant backend's figures"));
    assert!(h.query_by_label_contains("二店").is_none() && h.query_by_label_contains("Second Street").is_none());

    // The owner signs in: the backend's figures, both stores.
    h.state_mut().ctx.operator = Some("老板".into());
    wait_for(&mut h, lang.pick("商户后台统计", "Added up at the merchant backend"));
    wait_for(&mut h, lang.pick("S002 二店", "S002 Second Street"));
    assert!(h.query_all_by_label("¥69.12").next().is_some(), "the gross of both stores' orders");
    assert!(h.query_all_by_label("¥56.78").next().is_some(), "S002's share");

    // The backend stops: Refresh shows the till's own copy and says the backend cannot be reached.
    rt.block_on(running.stop());
    click(&mut h, lang.pick("刷新", "Refresh"));
    wait_for(&mut h, lang.pick("无法连接商户后台", "The merchant backend cannot be reached"));
    h.get_by_label_contains(lang.pick("以下仅为本收银台已同步的订单", "These are only the orders this till holds"));
    rt.block_on(sandbox.stop());
}

#[test]
fn an_enrolled_tills_dashboard_is_the_backends_in_english() {
    an_enrolled_tills_dashboard_in(Lang::En);
}

#[test]
fn an_enrolled_tills_dashboard_is_the_backends_in_chinese() {
    an_enrolled_tills_dashboard_in(Lang::ZhCn);
}
