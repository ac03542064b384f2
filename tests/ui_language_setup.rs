//! The set-up screens in one language (issue 21): the Acquirers screen (merchant profile, routing, onboarding with
//! its steps, binding, the timeline), Store codes (the code, the print panel, the code checker), Settings → This
//! till, and every step of the first-run wizard, each walked in Chinese and in English, failing on any text of the
//! other language outside the allow-list (brand names, ids, merchant data). Also: switching the language re-words
//! the messages already on screen; a typed path is used when there is no file dialog, and a dialog that chooses
//! nothing says so; "Copied" shows for a moment; the print preview follows a second acquirer; a Chinese name in the
//! Latin store-name field is refused naming the field and the character.

mod ui_common;

use egui_kittest::kittest::{NodeT, Queryable};
use tilldesk::config::{self, DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerBinding, AcquirerId, AcquirerKind, BindingId, BindingStatus, ChannelMode, StoreId};
use tilldesk::onboarding::build_for_store;
use tilldesk::store::Store;
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, assert_one_language, click, replace_text, type_into, wait_for_ok, wait_until};

/// What may read the same in both languages: brand and format names, the demo merchant's data.
const ALLOW: &[&str] = &[
    "EMVCo",
    "Alipay+ MPM",
    // Millimetres, in the templates' sizes ("60×60 mm 贴纸").
    "mm",
    // The demo merchant and store, and what the tests type.
    "TillDesk 演示商户",
    "演示商户",
    "演示门店",
    "Demo Store",
    "People's Square",
    "人民广场店",
    "林记面馆",
    "上海",
    "Lucky",
];

fn app_with_sandbox(dir: &std::path::Path, rt: &tokio::runtime::Runtime, lang: Lang) -> TillDeskApp {
    let mut home = DataHome::open(&dir.join("data")).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    ui_common::run_on_sandbox(&mut app, dir, rt, Some(800));
    app
}

/// Paths and addresses on screen read the same in both languages: the data folder (the status bar) and the
/// sandbox's address.
fn allow_with(h: &AppHarness, dir: &std::path::Path, more: &[&str]) -> Vec<String> {
    let mut allow: Vec<String> = ALLOW.iter().chain(more).map(|s| (*s).to_owned()).collect();
    allow.push(tilldesk::ui::words_setup::default_save_dir(&dir.join("data")).display().to_string());
    allow.push(dir.join("data").display().to_string());
    allow.push(dir.display().to_string());
    if let Some(url) = h.state().ctx.sandbox_url() {
        allow.push(url);
    }
    allow
}

fn one_language(h: &AppHarness, lang: Lang, dir: &std::path::Path, where_: &str) {
    one_language_with_ids(h, lang, dir, &[], where_);
}

/// As [`one_language`], also allowing any piece of `ids` (a code's payload, wrapped over several lines).
fn one_language_with_ids(h: &AppHarness, lang: Lang, dir: &std::path::Path, ids: &[&str], where_: &str) {
    let allow = allow_with(h, dir, &[]);
    let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
    let found: Vec<String> = ui_common::other_language_text(h, lang, &allow)
        .into_iter()
        .filter(|text| !ids.iter().any(|id| id.contains(text.trim())))
        .collect();
    assert!(found.is_empty(), "{where_} in {lang:?} shows text of the other language: {found:#?}");
}

fn db_at(dir: &std::path::Path) -> Store {
    Store::open(&dir.join(config::DATABASE_FILE)).unwrap()
}

/// Acquirers (onboarding with its steps, binding a second acquirer, the timeline), Store codes (code, print panel,
/// checker) and Settings → This till, in `lang`.
fn walk_setup_screens(lang: Lang) {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut h = ui_common::harness(app_with_sandbox(tmp.path(), &rt, lang), [1280.0, 3200.0]);

    click(&mut h, t("收单机构", "Acquirers"));
    click(&mut h, t("商户与门店资料", "Merchant profile and stores"));
    one_language(&h, lang, tmp.path(), "the Acquirers screen");

    // Onboarding PARTNER1 with CDS: the steps while the acquirer verifies, then the result.
    click(
        &mut h,
        &format!("PARTNER1 · {}", t("Alipay+ 合作机构 PARTNER1（沙箱）", "Alipay+ partner PARTNER1 (sandbox)")),
    );
    click(&mut h, t("入驻并注册 CDS", "Onboard with CDS"));
    wait_for_ok(&mut h, t("正在审核商户", "is verifying merchant"));
    one_language(&h, lang, tmp.path(), "onboarding steps");
    wait_for_ok(
        &mut h,
        t("已入驻 Alipay+ 合作机构 PARTNER1（沙箱）", "Onboarded with Alipay+ partner PARTNER1 (sandbox)"),
    );
    ui_common::wait_for_ok(&mut h, &format!("{} PARTNER1", t("步骤记录", "Steps")));
    click(&mut h, &format!("{} PARTNER1", t("步骤记录", "Steps")));
    wait_for_ok(&mut h, t("审核通过：商户", "verified: merchant"));
    h.get_by_label_contains(t("分配了商户号", "assigned merchant id"));
    one_language(&h, lang, tmp.path(), "the binding's timeline");

    // Binding WECHATPAY to the printed code, pasted.
    let payload = {
        let db = db_at(&tmp.path().join("data"));
        let s = db.setup().store_by_code("S001").unwrap().unwrap();
        build_for_store(&db, s.id, None).unwrap().payload
    };
    click(&mut h, &format!("WECHATPAY · {}", t("微信支付（沙箱）", "WeChat Pay (sandbox)")));
    type_into(&mut h, t("码内容", "Payload"), &payload);
    click(&mut h, t("绑定此收单机构到该码", "Bind this acquirer to the code"));
    wait_for_ok(&mut h, t("已绑定到店铺码", "Bound to the code"));
    ui_common::wait_for_ok(&mut h, &format!("{} WECHATPAY", t("步骤记录", "Steps")));
    click(&mut h, &format!("{} WECHATPAY", t("步骤记录", "Steps")));
    wait_for_ok(&mut h, t("这张码现在可到达", "the code now reaches"));
    one_language_with_ids(&h, lang, tmp.path(), &[&payload], "the Acquirers screen after binding");
    // Refused: the same acquirer again, in the UI's language.
    click(&mut h, t("绑定此收单机构到该码", "Bind this acquirer to the code"));
    wait_for_ok(&mut h, t("不能重复绑定", "cannot be bound twice"));
    one_language_with_ids(&h, lang, tmp.path(), &[&payload], "a refused binding");

    // Store codes: the code, the print panel with its preview, the checker.
    click(&mut h, t("店铺码", "Store codes"));
    wait_for_ok(&mut h, t("预览：S001", "Preview: S001"));
    ui_common::wait_for_ok(&mut h, t("复制码内容", "Copy payload"));
    click(&mut h, t("复制码内容", "Copy payload"));
    type_into(&mut h, t("待检查的码内容", "Payload to check"), &payload);
    click(&mut h, t("检查此码", "Check this code"));
    wait_for_ok(&mut h, t("可到达微信支付（沙箱）", "reaches WeChat Pay (sandbox)"));
    one_language_with_ids(&h, lang, tmp.path(), &[&payload], "the Store codes screen");

    // Settings → This till (the panel alone is checked in `this_till_is_in_one_language`: the Settings screen holds
    // other panels).
    click(&mut h, t("设置", "Settings"));
    h.get_by_label(t("本机", "This till"));
    click(&mut h, t("保存本机设置", "Save this till"));
    wait_for_ok(&mut h, t("已保存：门店 S001", "Saved: Store S001"));
}

#[test]
fn this_till_is_in_one_language() {
    for lang in [Lang::ZhCn, Lang::En] {
        let tmp = tempfile::tempdir().unwrap();
        let mut app = TillDeskApp::new(DataHome::open(tmp.path()).unwrap()).unwrap();
        app.ctx.lang = lang;
        let state = (app, tilldesk::ui::this_till::ThisTillPanel::default());
        let mut h = egui_kittest::Harness::builder()
            .with_size([1024.0, 600.0])
            .with_context_setup(tilldesk::ui::fonts::install_cjk_font)
            .build_ui_state(
                |ui, (app, panel): &mut (TillDeskApp, tilldesk::ui::this_till::ThisTillPanel)| {
                    panel.ui(ui, &mut app.ctx)
                },
                state,
            );
        h.run_steps(2);
        h.get_by_label(lang.pick("保存本机设置", "Save this till")).click();
        // Saved through the command queue: frames run until the answer is shown.
        ui_common::wait_for(&mut h, lang.pick("已保存：门店 S001", "Saved: Store S001"));
        assert_one_language(&h, lang, ALLOW, "This till");
        // Switching re-words the message.
        let other = if lang == Lang::ZhCn { Lang::En } else { Lang::ZhCn };
        h.state_mut().0.ctx.lang = other;
        h.run_steps(2);
        h.get_by_label_contains(other.pick("已保存：门店 S001", "Saved: Store S001"));
    }
}

#[test]
fn the_setup_screens_are_all_chinese() {
    walk_setup_screens(Lang::ZhCn);
}

#[test]
fn the_setup_screens_are_all_english() {
    walk_setup_screens(Lang::En);
}

/// Every step of the first-run wizard in `lang`, including its refusals.
fn walk_first_run(lang: Lang) {
    let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let tmp = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(tmp.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.lang = lang;
    app.offer_first_run().unwrap();
    let mut h = ui_common::harness(app, [1280.0, 1400.0]);
    let step = |n: usize, zh: &str, en: &str| format!("{} {n}/6 · {}", t("步骤", "Step"), lang.pick(zh, en));

    h.get_by_label(&step(1, "界面语言", "Language"));
    assert_one_language(&h, lang, ALLOW, "first run: language");
    click(&mut h, t("下一步", "Next"));

    h.get_by_label(&step(2, "商户资料", "Merchant profile"));
    // The form appears once the queue has read what the database holds.
    ui_common::wait_for_ok(&mut h, t("法定名称", "Legal name"));
    click(&mut h, t("下一步", "Next"));
    h.get_by_label(t("请修正标红的字段", "Fix the fields marked in red"));
    assert_one_language(&h, lang, ALLOW, "first run: merchant, refused");
    type_into(&mut h, t("法定名称", "Legal name"), "Shanghai Lin Noodles Co., Ltd.");
    type_into(&mut h, t("英文名称（≤25）", "Latin name (≤25)"), "LIN NOODLES");
    type_into(&mut h, t("中文名称", "Chinese name"), "林记面馆");
    type_into(&mut h, t("城市（英文）", "City (Latin)"), "SHANGHAI");
    type_into(&mut h, t("城市（中文）", "City (Chinese)"), "上海");
    type_into(&mut h, t("邮政编码", "Postal code"), "200001");
    click(&mut h, t("下一步", "Next"));

    wait_until(&mut h, "the store step", |h| h.query_by_label(&step(3, "第一家门店", "First store")).is_some());
    // A Chinese name in the Latin field is refused, naming the field and the character.
    type_into(&mut h, t("门店编号", "Store number"), "PS01");
    type_into(&mut h, t("英文门店名", "Store name (Latin)"), "人民广场");
    click(&mut h, t("下一步", "Next"));
    h.get_by_label_contains(t(
        "英文门店名只能用英文字母、数字、空格和英文标点，第 1 个字符是“人”",
        "the Latin store name may only use Latin letters, digits, space and ASCII punctuation; found '人' at character 1",
    ));
    assert_one_language(&h, lang, &[ALLOW, &["人民广场", "人"]].concat(), "first run: store, refused");
    replace_text(&mut h, t("英文门店名", "Store name (Latin)"), "People's Square");
    type_into(&mut h, t("中文门店名", "Chinese name"), "人民广场店");
    click(&mut h, t("下一步", "Next"));

    wait_until(&mut h, "the owner step", |h| h.query_by_label(&step(4, "店主账号与 PIN", "Owner and PIN")).is_some());
    type_into(&mut h, t("店主姓名", "Owner name"), "Lin");
    type_into(&mut h, t("店主 PIN", "Owner PIN"), "246810");
    type_into(&mut h, t("再次输入 PIN", "PIN again"), "135790");
    click(&mut h, t("下一步", "Next"));
    h.get_by_label(t("两次输入的 PIN 不一致", "The two PINs differ"));
    assert_one_language(&h, lang, &[ALLOW, &["Lin"]].concat(), "first run: owner, refused");
    replace_text(&mut h, t("店主 PIN", "Owner PIN"), "246810");
    replace_text(&mut h, t("再次输入 PIN", "PIN again"), "246810");
    click(&mut h, t("下一步", "Next"));

    wait_until(&mut h, "the mode step", |h| {
        h.query_by_label(&step(5, "沙箱或正式收单", "Sandbox or live acquirers")).is_some()
    });
    assert_one_language(&h, lang, ALLOW, "first run: mode");
    click(&mut h, t("连接正式收单机构", "Connect live acquirers"));
    type_into(&mut h, t("入驻服务地址", "Onboarding server"), "not a url");
    click(&mut h, t("下一步", "Next"));
    h.get_by_label_contains(t("不是可用的 http(s) 地址", "is not a usable http(s) URL"));
    assert_one_language(&h, lang, &[ALLOW, &["not a url", "http(s)"]].concat(), "first run: mode, refused");
    click(
        &mut h,
        t("在沙箱中开始（内置模拟网关，不会真实扣款）", "Start in sandbox (embedded gateways, no real money)"),
    );
    click(&mut h, t("下一步", "Next"));

    ui_common::wait_for_ok(&mut h, &step(6, "完成", "Done"));
    assert_one_language(&h, lang, &[ALLOW, &["LIN NOODLES", "Lin"]].concat(), "first run: done");
}

#[test]
fn every_first_run_step_is_chinese() {
    walk_first_run(Lang::ZhCn);
}

#[test]
fn every_first_run_step_is_english() {
    walk_first_run(Lang::En);
}

#[test]
fn switching_the_language_rewords_the_messages_on_screen() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut h = ui_common::harness(app_with_sandbox(tmp.path(), &rt, Lang::ZhCn), [1280.0, 2400.0]);
    click(&mut h, "收单机构");
    // An onboarding result from the core, its timeline, and a refusal kept by the screen.
    click(&mut h, "PARTNER1 · Alipay+ 合作机构 PARTNER1（沙箱）");
    click(&mut h, "入驻（不使用 CDS）");
    wait_for_ok(&mut h, "已入驻 Alipay+ 合作机构 PARTNER1（沙箱）");
    ui_common::wait_for_ok(&mut h, "步骤记录 PARTNER1");
    click(&mut h, "步骤记录 PARTNER1");
    wait_for_ok(&mut h, "审核通过：商户");
    click(&mut h, "绑定此收单机构到该码");
    h.get_by_label_contains("请先打开店铺码图片");

    h.state_mut().ctx.set_language(Lang::En);
    h.run_steps(3);
    h.get_by_label_contains("Open the code's picture first");
    assert!(h.query_all_by_label_contains("Alipay+ partner PARTNER1 (sandbox)").next().is_some());
    h.get_by_label_contains("verified: merchant");
    assert!(h.query_by_label_contains("请先打开店铺码图片").is_none(), "the refusal was re-worded");
    one_language(&h, Lang::En, tmp.path(), "the Acquirers screen after switching to English");
}

/// S001 with PARTNER1 active and registered on CDS (index IDX…); `more` adds WECHATPAY bound to the same index.
fn bind(db: &mut Store, store: StoreId, acquirer: AcquirerId, merchant_id: &str) {
    let binding = AcquirerBinding {
        id: BindingId(0),
        store_id: store,
        acquirer_id: acquirer,
        status: BindingStatus::Active,
        merchant_id_at_acquirer: Some(merchant_id.into()),
        cds_platform_id: Some("SANDBOXCDS".into()),
        cds_index: Some("IDX000000042".into()),
        failure_reason: None,
        issuer_guid: Some("com.alipayplus.sandbox".into()),
    };
    db.setup_mut().save_binding(&binding, "cds_registered", "set up by the test").unwrap();
}

fn store_codes_app(dir: &std::path::Path, lang: Lang) -> (TillDeskApp, StoreId, AcquirerId) {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let s1 = home.store.setup_mut().default_store().unwrap();
    let partner = home
        .store
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::AlipayPlus, "Partner", "PARTNER1", ChannelMode::Sandbox)
        .unwrap();
    let wechat = home
        .store
        .setup_mut()
        .ensure_onboarding_acquirer(AcquirerKind::WechatPay, "WeChat Pay", "WECHATPAY", ChannelMode::Sandbox)
        .unwrap();
    bind(&mut home.store, s1, partner, "P1S001");
    (TillDeskApp::new(home).unwrap(), s1, wechat)
}

#[test]
fn the_print_preview_follows_a_second_acquirer() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, s1, wechat) = store_codes_app(tmp.path(), Lang::ZhCn);
    let mut h = ui_common::harness(app, [1280.0, 2400.0]);
    click(&mut h, "店铺码");
    wait_until(&mut h, "the first preview", |h| h.state().store_codes.print.previewed_badges().is_some());
    let before = h.state().store_codes.print.previewed_badges().unwrap().to_vec();
    assert!(!before.iter().any(|b| b.contains("微信支付")), "{before:?}");

    // WECHATPAY binds to the same CDS index: the payload stays, the stand gains a badge.
    let payload_before = build_for_store(&db_at(tmp.path()), s1, None).unwrap().payload;
    bind(&mut db_at(tmp.path()), s1, wechat, "1900S001W");
    assert_eq!(build_for_store(&db_at(tmp.path()), s1, None).unwrap().payload, payload_before);
    click(&mut h, "收单机构");
    click(&mut h, "店铺码");
    wait_until(&mut h, "the preview with both acquirers", |h| {
        h.state().store_codes.print.previewed_badges().is_some_and(|b| b.iter().any(|b| b.contains("微信支付")))
    });
    let after = h.state().store_codes.print.previewed_badges().unwrap().to_vec();
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
}

#[test]
fn copying_the_payload_says_copied_for_a_moment() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, _, _) = store_codes_app(tmp.path(), Lang::ZhCn);
    let mut h = ui_common::harness(app, [1280.0, 2400.0]);
    click(&mut h, "店铺码");
    assert!(h.query_by_label("已复制").is_none());
    ui_common::wait_for_ok(&mut h, "复制码内容");
    click(&mut h, "复制码内容");
    h.get_by_label("已复制");
    // egui's clock moves a quarter of a second a frame in the harness: after 3 s the note is gone.
    h.run_steps(12);
    assert!(h.query_by_label("已复制").is_none(), "the note is short-lived");
    h.state_mut().ctx.set_language(Lang::En);
    h.run_steps(2);
    click(&mut h, "Copy payload");
    h.get_by_label("Copied");
}

#[test]
fn the_store_code_png_goes_to_a_typed_path_and_defaults_outside_the_temporary_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, _, _) = store_codes_app(tmp.path(), Lang::ZhCn);
    let mut h = ui_common::harness(app, [1280.0, 2400.0]);
    click(&mut h, "店铺码");
    // The code is built through the command queue; its PNG field comes with it.
    ui_common::wait_for_ok(&mut h, "PNG 文件");
    let default = h.get_by_label("PNG 文件").accesskit_node().value().unwrap_or_default();
    let expected = tilldesk::ui::words_setup::default_save_dir(tmp.path()).join("store-code-S001.png");
    assert_eq!(default, expected.display().to_string(), "Pictures, Documents or the data folder's exports/");
    assert!(!default.starts_with(&std::env::temp_dir().join("store-code").display().to_string()));

    // A typed path, Enter: saved there, and the screen says where.
    let typed = tmp.path().join("codes").join("s001");
    h.get_by_label("PNG 文件").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("PNG 文件").type_text(&typed.display().to_string());
    h.run_steps(1);
    click(&mut h, "保存为 PNG");
    let saved = typed.with_extension("png");
    ui_common::wait_for_ok(&mut h, &format!("已保存到 {}", saved.display()));
    let bytes = std::fs::read(&saved).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    // The folder is offered next time.
    assert_eq!(
        tilldesk::ui::path_field::recent_folders(&h.state().ctx).first(),
        Some(&tmp.path().join("codes")),
        "the folder is remembered"
    );
}

#[test]
fn a_file_dialog_that_chooses_nothing_says_so_and_the_typed_path_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut h = ui_common::harness(app_with_sandbox(tmp.path(), &rt, Lang::ZhCn), [1280.0, 2400.0]);
    click(&mut h, "收单机构");
    // No file-dialog portal here (a bare test process): the dialog answers "nothing chosen" and the field says so.
    click(&mut h, "浏览… 图片文件");
    wait_for_ok(&mut h, "没有选择文件");
    // The typed path is what the binding reads (a text file holding a code that carries no CDS data).
    let file = tmp.path().join("code.txt");
    let input = tilldesk::mpm::StoreCodeInput::example_for_tests("LUCKY", "");
    let reference = tilldesk::mpm::AcquirerReference { guid: "com.alipay.sandbox".into(), merchant_id: "M1".into() };
    let no_cds = tilldesk::mpm::build_store_code(tilldesk::mpm::CodeFormat::Emvco, &input, &[reference], None).unwrap();
    std::fs::write(&file, no_cds).unwrap();
    type_into(&mut h, "图片文件", &file.display().to_string());
    click(&mut h, "绑定此收单机构到该码");
    wait_for_ok(&mut h, "这张码不带 CDS 数据");
}

#[test]
fn a_chinese_name_in_the_latin_store_name_field_is_refused_on_the_acquirers_screen() {
    let tmp = tempfile::tempdir().unwrap();
    for lang in [Lang::ZhCn, Lang::En] {
        let mut home = DataHome::open(&tmp.path().join(lang.tag())).unwrap();
        home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
        let mut h = ui_common::harness(TillDeskApp::new(home).unwrap(), [1280.0, 2400.0]);
        let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        click(&mut h, t("收单机构", "Acquirers"));
        click(&mut h, t("商户与门店资料", "Merchant profile and stores"));
        // The merchant and its stores come from the command queue before Add store is offered.
        ui_common::wait_for_ok(&mut h, t("新增门店", "Add store"));
        click(&mut h, t("新增门店", "Add store"));
        type_into(&mut h, t("门店编号", "Store number"), "S002");
        type_into(&mut h, t("英文门店名", "Store name (Latin)"), "Lucky 幸运");
        click(&mut h, t("保存门店", "Save store"));
        h.get_by_label_contains(t("第 7 个字符是“幸”", "found '幸' at character 7"));
        h.get_by_label_contains(t("英文门店名只能用", "the Latin store name may only use"));
        let db = db_at(&tmp.path().join(lang.tag()));
        assert!(db.setup().store_by_code("S002").unwrap().is_none(), "nothing was saved");
    }
}
