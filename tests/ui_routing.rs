//! Routing in the GUI: the Acquirers screen's routing table (two stores, three acquirers; the owner chooses which
//! acquirer takes a wallet), Settings → This till (store and terminal id, shown in the status bar), and a payment
//! taken at the checkout recorded for this till's store and the signed-in operator.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::checkout::CheckoutSettings;
use tilldesk::config::{self, DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerId, AcquirerKind, ChannelMode, Role, Route, RouteSource, StoreId, Wallet};
use tilldesk::store::Store;
use tilldesk::ui::{SandboxStatus, TillDeskApp};
use ui_common::{AppHarness, click, harness, type_and_enter, type_into, wait_for};

/// The second store, S002 二店.
fn add_second_store(db: &mut Store) -> StoreId {
    let merchant = db.setup_mut().merchant().unwrap();
    let s = tilldesk::model::Store {
        id: StoreId(0),
        merchant_id: merchant.id,
        store_code: "S002".into(),
        name: "Second".into(),
        name_zh: "二店".into(),
        address: "2 Second Road".into(),
        contact: "021-0000".into(),
    };
    db.setup_mut().add_store(&s, None).unwrap()
}

struct Setup {
    s1: StoreId,
    s2: StoreId,
    alipay: AcquirerId,
    wechat: AcquirerId,
    partner: AcquirerId,
}

/// S001 onboarded with ALIPAY and WECHATPAY; S002 with ALIPAY, then PARTNER1 (ALIPAY keeps its Alipay codes), and
/// with WECHATPAY whose route the owner removed.
fn two_stores_three_acquirers(db: &mut Store) -> Setup {
    let s1 = db.setup_mut().default_store().unwrap();
    let s2 = add_second_store(db);
    let alipay = db
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::Alipay, "Alipay", "ALIPAY", ChannelMode::Sandbox)
        .unwrap();
    let wechat = db
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::WechatPay, "WeChat Pay", "WECHATPAY", ChannelMode::Sandbox)
        .unwrap();
    let partner = db
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::AlipayPlus, "Partner", "PARTNER1", ChannelMode::Sandbox)
        .unwrap();
    ui_common::activate(db, s1, alipay, None, "2088S001A");
    ui_common::activate(db, s1, wechat, None, "1900S001W");
    ui_common::activate(db, s2, alipay, None, "2088S002A");
    ui_common::activate(db, s2, partner, None, "P1S002");
    ui_common::activate(db, s2, wechat, None, "1900S002W");
    assert!(db.setup_mut().remove_route(s2, Wallet::WechatPay, None).unwrap());
    Setup { s1, s2, alipay, wechat, partner }
}

fn app_in(dir: &std::path::Path, lang: Lang) -> (TillDeskApp, Setup) {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let setup = two_stores_three_acquirers(&mut home.store);
    (TillDeskApp::new(home).unwrap(), setup)
}

fn db(dir: &std::path::Path) -> Store {
    Store::open(&dir.join(config::DATABASE_FILE)).unwrap()
}

fn labels_containing(h: &AppHarness, text: &str) -> usize {
    h.query_all_by_label_contains(text).count()
}

#[test]
fn the_acquirers_screen_lists_the_routes_and_the_owner_chooses_an_acquirer() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, setup) = app_in(tmp.path(), Lang::En);
    let mut h = harness(app, [1280.0, 1400.0]);
    click(&mut h, "Acquirers");
    h.get_by_label("Routing — who takes each wallet");
    // Read through the command queue: the stores, then their routes.
    ui_common::wait_for(&mut h, "2088S002A");
    // Every route with its merchant id at the acquirer.
    for merchant in ["2088S001A", "1900S001W", "2088S002A"] {
        assert!(labels_containing(&h, merchant) >= 1, "{merchant} is listed: {:#?}", ui_common::screen_text(&h));
    }
    assert_eq!(h.query_all_by_label("not taken").count(), 1, "S002 takes no WeChat Pay codes");
    assert!(h.query_by_label("Acquirer for S001 Alipay").is_none(), "S001 has one acquirer per wallet: no choice");

    // S002's Alipay codes: PARTNER1 instead of ALIPAY.
    ui_common::wait_for(&mut h, "Acquirer for S002 Alipay");
    click(&mut h, "Acquirer for S002 Alipay");
    click(&mut h, "PARTNER1 · merchant P1S002");
    ui_common::wait_until(&mut h, "the chosen route", |_| {
        db(tmp.path()).setup().route(setup.s2, Wallet::Alipay).unwrap().is_some_and(|r| r.acquirer_id == setup.partner)
    });
    let route = db(tmp.path()).setup().route(setup.s2, Wallet::Alipay).unwrap().unwrap();
    assert_eq!(route.acquirer_id, setup.partner);
    assert_eq!(route.merchant_id.as_deref(), Some("P1S002"));
    assert_eq!(route.source, RouteSource::Chosen);
    ui_common::wait_for(&mut h, "S002 now takes Alipay codes through PARTNER1");
    assert!(labels_containing(&h, "P1S002") >= 1);

    // S002's WeChat Pay codes: nobody takes them; its active WECHATPAY onboarding can.
    click(&mut h, "Route to WECHATPAY");
    // Written through the command queue.
    ui_common::wait_until(&mut h, "the WeChat Pay route", |_| {
        db(tmp.path()).setup().route(setup.s2, Wallet::WechatPay).unwrap().is_some()
    });
    let route = db(tmp.path()).setup().route(setup.s2, Wallet::WechatPay).unwrap().unwrap();
    assert_eq!((route.acquirer_id, route.merchant_id.as_deref()), (setup.wechat, Some("1900S002W")));
    ui_common::wait_until(&mut h, "the table read again", |h| h.query_all_by_label("not taken").count() == 0);

    // Stopping asks once more.
    click(&mut h, "S001: stop taking WeChat Pay");
    assert!(
        db(tmp.path()).setup().route(setup.s1, Wallet::WechatPay).unwrap().is_some(),
        "not before the confirmation"
    );
    click(&mut h, "Confirm: S001 stops taking WeChat Pay");
    ui_common::wait_until(&mut h, "the route removed", |_| {
        db(tmp.path()).setup().route(setup.s1, Wallet::WechatPay).unwrap().is_none()
    });
    assert_eq!(db(tmp.path()).setup().route(setup.s1, Wallet::Alipay).unwrap().unwrap().acquirer_id, setup.alipay);
}

#[test]
fn the_routing_table_speaks_chinese_and_a_cashier_may_not_change_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut app, setup) = app_in(tmp.path(), Lang::ZhCn);
    app.ctx.home.store.staff_mut().add_operator("Boss", Role::Owner, "246810", None).unwrap();
    app.ctx.home.store.staff_mut().add_operator("Amy", Role::Cashier, "1357", None).unwrap();
    app.ctx.operator = Some("Amy".into());
    let mut h = harness(app, [1280.0, 1400.0]);
    click(&mut h, "收单机构");
    h.get_by_label("收款路由 — 各门店的钱包由哪家收单机构收取");
    ui_common::wait_for(&mut h, "S002 支付宝 收单机构");
    ui_common::wait_for(&mut h, "不收此钱包");
    assert!(h.query_all_by_label("已生效").count() >= 5, "{:#?}", ui_common::screen_text(&h));
    assert!(h.query_all_by_label("支付宝").count() >= 2);
    click(&mut h, "S002 支付宝 收单机构");
    click(&mut h, "PARTNER1 · 商户号 P1S002");
    h.get_by_label("Amy（收银员）无权更改设置，请以店主身份登录");
    assert_eq!(db(tmp.path()).setup().route(setup.s2, Wallet::Alipay).unwrap().unwrap().acquirer_id, setup.alipay);
    let _ = setup.s1;
}

#[test]
fn this_till_is_chosen_in_settings_and_shown_in_the_status_bar() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut app, _setup) = app_in(tmp.path(), Lang::En);
    let boss = app.ctx.home.store.staff_mut().add_operator("Boss", Role::Owner, "246810", None).unwrap();
    app.ctx.operator = Some("Boss".into());
    let mut h = harness(app, [1280.0, 1400.0]);
    h.get_by_label("Store S001 · Terminal not set");
    click(&mut h, "Settings");
    h.get_by_label("This till");

    // The stores are read, and the choice saved, through the command queue.
    click(&mut h, "Store of this till");
    wait_for(&mut h, "S002 Second");
    click(&mut h, "S002 Second");
    type_into(&mut h, "Terminal id", "T01");
    click(&mut h, "Save this till");
    wait_for(&mut h, "Store S002 · Terminal T01");
    let till = config::this_till(&mut db(tmp.path())).unwrap();
    assert_eq!((till.store_code.as_str(), till.terminal_id.as_deref()), ("S002", Some("T01")));
    assert_eq!(h.state().ctx.till, till);
    let audit = db(tmp.path()).recent_audit(10).unwrap();
    assert!(
        audit.iter().any(|e| e.subject.contains(config::SETTING_TILL_TERMINAL) && e.operator_id == Some(boss.id)),
        "audited as the signed-in owner: {audit:#?}"
    );

    // A bad terminal id is refused in words and nothing is saved.
    h.get_by_label("Terminal id").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("Terminal id").type_text("T 01!");
    h.run_steps(1);
    click(&mut h, "Save this till");
    wait_for(&mut h, "the terminal id \"T 01!\" cannot be used");
    let till = config::this_till(&mut db(tmp.path())).unwrap();
    assert_eq!(till.terminal_id.as_deref(), Some("T01"), "nothing saved");
    h.get_by_label("Store S002 · Terminal T01");

    // In Chinese.
    click(&mut h, "中文");
    h.get_by_label("门店 S002 · 终端 T01");
    click(&mut h, "保存本机设置");
    wait_for(&mut h, "终端号“T 01!”不可用");
}

#[test]
fn a_payment_at_the_checkout_is_recorded_for_this_tills_store_and_operator() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let data = tmp.path().join("data");
    let mut home = DataHome::open(&data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
    // As the composition root does: the sandbox's acquirers, the demo store's routes.
    tilldesk::sandbox::till::prepare(&mut home.store).unwrap();
    let s2 = add_second_store(&mut home.store);
    let alipay = home.store.setup().acquirer_by_onboarding_code("ALIPAY").unwrap().unwrap().acquirer.id;
    let route = Route {
        store_id: s2,
        wallet: Wallet::Alipay,
        acquirer_id: alipay,
        merchant_id: None,
        source: RouteSource::Direct,
    };
    home.store.setup_mut().set_route(&route, None).unwrap();
    let amy = home.store.staff_mut().add_operator("Amy", Role::Cashier, "1357", None).unwrap();
    config::set_this_till(&mut home.store, "S002", "T01", None).unwrap();

    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&tmp.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    app.ctx.operator = Some("Amy".into());
    let mut h = harness(app, [1100.0, 720.0]);
    h.get_by_label("Store S002 · Terminal T01");
    wait_for(&mut h, "Ready to take payments");
    type_and_enter(&mut h, "6.60");
    type_and_enter(&mut h, "2800000000000000");
    wait_for(&mut h, "Payment received");

    let orders = db(&data).orders().recent_orders(5).unwrap();
    assert_eq!(orders.len(), 1, "{orders:#?}");
    let order = &orders[0];
    assert_eq!(order.store_id, s2);
    assert_eq!(order.operator_id, Some(amy.id));
    assert_eq!(order.terminal_id.as_deref(), Some("T01"));
    assert_eq!(order.acquirer_id, alipay);
    drop(h);
    drop(rt);
}
