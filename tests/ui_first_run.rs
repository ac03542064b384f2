//! The first-run wizard as a new merchant uses it: language, merchant profile, first store, owner PIN, sandbox or
//! live; skipping it; opening it again from Settings.

mod ui_common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tilldesk::config::{self, DataHome, SETTING_FIRST_RUN, SETTING_LANGUAGE, SETTING_MODE};
use tilldesk::i18n::Lang;
use tilldesk::model::{ChannelMode, Role};
use tilldesk::store::Store;
use tilldesk::ui::{Screen, TillDeskApp, fonts};
use ui_common::{click, type_into};

fn harness(app: TillDeskApp) -> Harness<'static, TillDeskApp> {
    let mut h = Harness::builder()
        .with_size([1100.0, 800.0])
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    h.run_steps(2);
    h
}

/// A fresh data folder whose OS language is Chinese, opened the way main.rs opens it.
fn fresh_app(dir: &std::path::Path) -> TillDeskApp {
    let home = DataHome::open(dir).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.lang = Lang::ZhCn;
    app.offer_first_run().unwrap();
    app
}

fn db(dir: &std::path::Path) -> Store {
    Store::open(&dir.join(config::DATABASE_FILE)).unwrap()
}

#[test]
fn walking_the_wizard_creates_the_merchant_store_and_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(fresh_app(tmp.path()));
    assert!(h.state().first_run_open());

    // 1. Language: the OS said Chinese; the merchant picks English and the wizard switches at once.
    h.get_by_label("欢迎使用 TillDesk");
    h.get_by_label("步骤 1/6 · 界面语言");
    click(&mut h, "English");
    h.get_by_label("Welcome to TillDesk");
    click(&mut h, "Next");

    // 2. Merchant profile: the demo merchant's details are not offered; a Latin name that is too long is refused.
    h.get_by_label("Step 2/6 · Merchant profile");
    // What the database holds is read through the command queue: the form appears once it has answered.
    ui_common::wait_for(&mut h, "Legal name");
    type_into(&mut h, "Legal name", "Shanghai Lin Noodles Co., Ltd.");
    type_into(&mut h, "Latin name (≤25)", "LIN NOODLES OF PEOPLES SQUARE");
    type_into(&mut h, "Chinese name", "林记面馆");
    type_into(&mut h, "City (Latin)", "SHANGHAI");
    type_into(&mut h, "City (Chinese)", "上海");
    type_into(&mut h, "Postal code", "200001");
    click(&mut h, "Next");
    h.get_by_label("Fix the fields marked in red");
    h.get_by_label_contains("shorten it by 4");
    h.get_by_label("Step 2/6 · Merchant profile");
    // Shorten it: select everything in the field and type the new name over it.
    h.get_by_label("Latin name (≤25)").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("Latin name (≤25)").type_text("LIN NOODLES");
    h.run_steps(1);
    click(&mut h, "Next");

    // 3. First store (once the merchant profile is saved through the queue).
    ui_common::wait_for(&mut h, "Step 3/6 · First store");
    type_into(&mut h, "Store number", "PS01");
    type_into(&mut h, "Store name (Latin)", "People's Square");
    type_into(&mut h, "Chinese name", "人民广场店");
    type_into(&mut h, "Address", "1 Nanjing Rd (E), Shanghai");
    click(&mut h, "Next");

    // 4. Owner: the PINs must match; then the owner exists and is signed in.
    ui_common::wait_for(&mut h, "Step 4/6 · Owner and PIN");
    type_into(&mut h, "Owner name", "Lin");
    type_into(&mut h, "Owner PIN", "246810");
    type_into(&mut h, "PIN again", "2469");
    click(&mut h, "Next");
    h.get_by_label("The two PINs differ");
    type_into(&mut h, "PIN again", "246810");
    click(&mut h, "Next");

    // 5. Sandbox or live: stay in the sandbox (once the owner's PIN is hashed, off the UI thread).
    ui_common::wait_for(&mut h, "Step 5/6 · Sandbox or live acquirers");
    h.get_by_label("Step 5/6 · Sandbox or live acquirers");
    click(&mut h, "Start in sandbox (embedded gateways, no real money)");
    click(&mut h, "Next");

    // 6. The summary, then Finish opens the normal screens.
    ui_common::wait_for(&mut h, "Step 6/6 · Done");
    h.get_by_label("LIN NOODLES 林记面馆");
    h.get_by_label("PS01 People's Square 人民广场店");
    h.get_by_label("Lin");
    click(&mut h, "Finish");
    ui_common::wait_until(&mut h, "the wizard to close", |h| !h.state().first_run_open());
    ui_common::wait_for(&mut h, "Checkout counter");
    h.get_by_label("Operator: Lin");
    assert_eq!(h.state().screen, Screen::Checkout);
    // The owner is signed in: Settings → Staff offers to add operators straight away.
    click(&mut h, "Settings");
    h.get_by_label("Add an operator");

    // Reopened from Settings, the wizard shows what was saved; going through it unchanged writes nothing.
    let updates = |dir: &std::path::Path| {
        db(dir).staff().audit_page(None, 500).unwrap().iter().filter(|e| e.action.ends_with(".update")).count()
    };
    let before = updates(tmp.path());
    click(&mut h, "Run the setup wizard again");
    click(&mut h, "Next");
    h.get_by_label("Step 2/6 · Merchant profile");
    ui_common::wait_for(&mut h, "Legal name");
    click(&mut h, "Next");
    h.get_by_label("Step 3/6 · First store");
    click(&mut h, "Next");
    h.get_by_label("Step 4/6 · Owner and PIN");
    h.get_by_label("The owner already exists: Lin");
    click(&mut h, "Skip setup");
    ui_common::wait_until(&mut h, "the wizard to close", |h| !h.state().first_run_open());
    assert_eq!(updates(tmp.path()), before, "no merchant or store update was audited");
    drop(h);

    // Everything was written to the database.
    let mut db = db(tmp.path());
    let m = db.setup_mut().merchant().unwrap();
    assert_eq!(m.legal_name, "Shanghai Lin Noodles Co., Ltd.");
    assert_eq!(m.display_name, "LIN NOODLES");
    assert_eq!(m.display_name_zh, "林记面馆");
    assert_eq!(m.postal_code, "200001");
    let stores = db.setup().stores().unwrap();
    assert_eq!(stores.len(), 1, "the demo store became the first store: {stores:?}");
    assert_eq!(stores[0].store_code, "PS01");
    assert_eq!(stores[0].name_zh, "人民广场店");
    assert!(db.staff().has_owner().unwrap());
    let owner = db.staff().operator_by_name("Lin").unwrap().unwrap();
    assert_eq!(owner.role, Role::Owner);
    assert!(db.staff_mut().verify_pin("Lin", "246810").is_ok(), "the owner's PIN works");
    assert_eq!(db.setting(SETTING_LANGUAGE).unwrap().as_deref(), Some("en"));
    assert_eq!(db.setting(SETTING_MODE).unwrap().as_deref(), Some("sandbox"));
    assert_eq!(db.setting(SETTING_FIRST_RUN).unwrap().as_deref(), Some("completed"));

    // The next launch goes straight to the screens.
    let mut app = TillDeskApp::new(DataHome::open(tmp.path()).unwrap()).unwrap();
    app.offer_first_run().unwrap();
    assert!(!app.first_run_open());
}

#[test]
fn skipping_the_wizard_is_remembered_and_settings_opens_it_again() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = harness(fresh_app(tmp.path()));
    h.get_by_label("欢迎使用 TillDesk");
    click(&mut h, "下一步");
    h.get_by_label("步骤 2/6 · 商户资料");
    click(&mut h, "跳过设置");
    ui_common::wait_until(&mut h, "the wizard to close", |h| !h.state().first_run_open());
    ui_common::wait_for(&mut h, "收银台");
    h.get_by_label("操作员：未登录");
    {
        let db = db(tmp.path());
        assert_eq!(db.setting(SETTING_FIRST_RUN).unwrap().as_deref(), Some("skipped"));
        assert_eq!(db.setting(SETTING_LANGUAGE).unwrap().as_deref(), Some("zh-CN"), "step 1 was saved");
        assert!(!db.staff().has_owner().unwrap());
    }
    let mut again = TillDeskApp::new(DataHome::open(tmp.path()).unwrap()).unwrap();
    again.offer_first_run().unwrap();
    assert!(!again.first_run_open(), "a skipped wizard does not come back by itself");

    // Settings → run it again; this time choose live acquirers with an onboarding server.
    click(&mut h, "设置");
    click(&mut h, "重新运行首次设置向导");
    assert!(h.state().first_run_open());
    h.get_by_label("步骤 1/6 · 界面语言");
    click(&mut h, "下一步");
    ui_common::wait_for(&mut h, "法定名称");
    type_into(&mut h, "法定名称", "Lin Noodles Ltd");
    type_into(&mut h, "英文名称（≤25）", "LIN NOODLES");
    type_into(&mut h, "城市（英文）", "SHANGHAI");
    click(&mut h, "下一步");
    ui_common::wait_for(&mut h, "步骤 3/6 · 第一家门店");
    type_into(&mut h, "门店编号", "S001");
    type_into(&mut h, "英文门店名", "Main");
    click(&mut h, "下一步");
    ui_common::wait_for(&mut h, "步骤 4/6 · 店主账号与 PIN");
    type_into(&mut h, "店主姓名", "林");
    type_into(&mut h, "店主 PIN", "12");
    type_into(&mut h, "再次输入 PIN", "12");
    click(&mut h, "下一步");
    h.get_by_label("PIN 须为 6 到 12 位数字");
    type_into(&mut h, "店主 PIN", "135790");
    type_into(&mut h, "再次输入 PIN", "135790");
    click(&mut h, "下一步");
    ui_common::wait_for(&mut h, "步骤 5/6 · 沙箱或正式收单");
    click(&mut h, "连接正式收单机构");
    type_into(&mut h, "入驻服务地址", "not a url");
    click(&mut h, "下一步");
    h.get_by_label_contains("不是可用的 http(s) 地址");
    h.get_by_label("入驻服务地址").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("入驻服务地址").type_text("https://onboarding.acquirer.example");
    h.run_steps(1);
    click(&mut h, "下一步");
    ui_common::wait_for(&mut h, "步骤 6/6 · 完成");
    click(&mut h, "完成");
    ui_common::wait_until(&mut h, "the wizard to close", |h| !h.state().first_run_open());
    assert_eq!(h.state().screen, Screen::Acquirers, "live acquirers: onboarding comes next");
    assert_eq!(h.state().ctx.mode, ChannelMode::Live);
    ui_common::wait_for(&mut h, "模式：正式");
    drop(h);

    let mut db = db(tmp.path());
    assert_eq!(db.setting(SETTING_FIRST_RUN).unwrap().as_deref(), Some("completed"));
    assert_eq!(db.setting(SETTING_MODE).unwrap().as_deref(), Some("live"));
    assert_eq!(db.setting("onboarding.url").unwrap().as_deref(), Some("https://onboarding.acquirer.example"));
    assert_eq!(db.setup_mut().merchant().unwrap().display_name, "LIN NOODLES");
    assert_eq!(db.setup().stores().unwrap()[0].name, "Main");
    assert_eq!(db.staff().operator_by_name("林").unwrap().unwrap().role, Role::Owner);
}

#[test]
fn a_till_set_up_before_the_wizard_existed_opens_on_the_screens() {
    let tmp = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(tmp.path()).unwrap();
    home.store.staff_mut().add_operator("Owner", Role::Owner, "123456", None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.offer_first_run().unwrap();
    assert!(!app.first_run_open());
}
