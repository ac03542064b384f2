//! The merchant profile and stores (Acquirers → "Merchant profile and stores"), as a merchant edits them: a profile
//! with a bad category code and Chinese in the Latin name is refused field by field and nothing is saved, then the
//! corrected profile is saved; a second store is typed in with the keyboard (Tab from field to field), refused for
//! Chinese characters in its Latin name, then saved; a third store with the same number is refused and discarded;
//! the first store's address is edited. Every save is read back from the database, and the new store is offered
//! on the Acquirers and Store codes screens. Also: a cashier may not change the profile, and the panel in Chinese
//! and in English at 1024×600.

mod ui_common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tilldesk::config::{self, DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::Role;
use tilldesk::store::Store;
use tilldesk::ui::merchant::MerchantPanel;
use tilldesk::ui::{Ctx, TillDeskApp, fonts};
use ui_common::{AppHarness, assert_one_language, click, replace_text, type_into, wait_for, wait_until};

fn db(dir: &std::path::Path) -> Store {
    Store::open(&dir.join(config::DATABASE_FILE)).unwrap()
}

fn home(dir: &std::path::Path, lang: Lang) -> DataHome {
    let mut home = DataHome::open(dir).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.setup_mut().default_store().unwrap();
    home
}

/// Types where the keyboard focus is, then presses Tab to go to the next field.
fn type_then_tab(h: &mut AppHarness, text: &str) {
    h.event(egui::Event::Text(text.into()));
    h.step();
    h.key_press(egui::Key::Tab);
    h.step();
}

/// Opens Acquirers → Merchant profile and stores, once the merchant and stores have been read.
fn open_panel(h: &mut AppHarness) {
    click(h, "Acquirers");
    click(h, "Merchant profile and stores");
    wait_until(h, "the merchant and its stores", |h| {
        h.query_by_label("Add store").is_some() && h.query_by_label("Edit S001").is_some()
    });
}

#[test]
fn a_merchant_corrects_the_profile_and_adds_and_edits_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = ui_common::harness(TillDeskApp::new(home(tmp.path(), Lang::En)).unwrap(), [1280.0, 2000.0]);
    let before = db(tmp.path()).setup_mut().merchant().unwrap();
    open_panel(&mut h);

    // A bad category code and Chinese in the Latin name: each field says what is wrong; nothing is saved.
    replace_text(&mut h, "Latin name (≤25)", "幸运 NOODLES");
    replace_text(&mut h, "MCC", "58A2");
    click(&mut h, "Save merchant profile");
    wait_for(&mut h, "Fix the fields marked in red");
    h.get_by_label("the merchant category code must be 4 digits (ISO 18245, e.g. 5812), got \"58A2\"");
    h.get_by_label_contains("the Latin display name may only use Latin letters, digits, space and ASCII punctuation");
    h.get_by_label_contains("found '幸' at character 1");
    assert_eq!(db(tmp.path()).setup_mut().merchant().unwrap(), before, "nothing was saved");

    // Corrected: saved, and read back.
    replace_text(&mut h, "Latin name (≤25)", "LUCKY NOODLES");
    replace_text(&mut h, "MCC", "5814");
    replace_text(&mut h, "Chinese name", "幸运面馆");
    click(&mut h, "Save merchant profile");
    wait_for(&mut h, "Merchant profile saved");
    assert!(h.query_by_label("Fix the fields marked in red").is_none());
    let m = db(tmp.path()).setup_mut().merchant().unwrap();
    assert_eq!(
        (m.display_name.as_str(), m.display_name_zh.as_str(), m.mcc.as_str()),
        ("LUCKY NOODLES", "幸运面馆", "5814")
    );
    assert_eq!(m.legal_name, before.legal_name, "untouched fields kept");

    // A second store, typed from field to field with Tab; Chinese in the Latin name is refused.
    click(&mut h, "Add store");
    wait_for(&mut h, "Save store");
    h.get_by_label("Store number").focus();
    h.step();
    type_then_tab(&mut h, "S002");
    type_then_tab(&mut h, "Lucky 幸运");
    type_then_tab(&mut h, "幸运面馆（人民广场店）");
    type_then_tab(&mut h, "1 People's Square");
    type_then_tab(&mut h, "021-6000 0000");
    click(&mut h, "Save store");
    wait_for(&mut h, "found '幸' at character 7");
    h.get_by_label_contains("the Latin store name may only use Latin letters");
    assert!(db(tmp.path()).setup().store_by_code("S002").unwrap().is_none(), "nothing was saved");
    replace_text(&mut h, "Store name (Latin)", "Lucky People's Square");
    click(&mut h, "Save store");
    wait_for(&mut h, "Saved store S002");
    // The list is read again through the command queue.
    wait_for(&mut h, "Lucky People's Square 幸运面馆（人民广场店）");
    h.get_by_label("Edit S002");
    let s2 = db(tmp.path()).setup().store_by_code("S002").unwrap().unwrap();
    assert_eq!(
        (s2.name.as_str(), s2.name_zh.as_str(), s2.address.as_str(), s2.contact.as_str()),
        ("Lucky People's Square", "幸运面馆（人民广场店）", "1 People's Square", "021-6000 0000")
    );

    // A third store with the same number: refused, naming the store that has it; discarded.
    click(&mut h, "Add store");
    type_into(&mut h, "Store number", "S002");
    type_into(&mut h, "Store name (Latin)", "Another");
    click(&mut h, "Save store");
    wait_for(&mut h, "the store number \"S002\" is already used by the store \"Lucky People's Square\"");
    click(&mut h, "Discard");
    wait_until(&mut h, "the form closed", |h| h.query_by_label("Save store").is_none());
    assert_eq!(db(tmp.path()).setup().stores().unwrap().len(), 2);

    // The first store's address.
    click(&mut h, "Edit S001");
    type_into(&mut h, "Address", "8 Demo Road");
    click(&mut h, "Save store");
    wait_for(&mut h, "Saved store S001");
    assert_eq!(db(tmp.path()).setup().store_by_code("S001").unwrap().unwrap().address, "8 Demo Road");
    assert_eq!(db(tmp.path()).setup().stores().unwrap().len(), 2);

    // The new store is offered for onboarding, and on the Store codes screen.
    wait_for(&mut h, "S002 Lucky People's Square");
    click(&mut h, "S002 Lucky People's Square");
    wait_for(&mut h, "Bindings — store S002");
    click(&mut h, "Store codes");
    wait_for(&mut h, "S002 Lucky People's Square");
    assert!(h.state().ctx.error.is_none(), "{:?}", h.state().ctx.error);
}

#[test]
fn a_cashier_may_not_change_the_merchant_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let mut home = home(tmp.path(), Lang::En);
    home.store.staff_mut().add_operator("Boss", Role::Owner, "246810", None).unwrap();
    home.store.staff_mut().add_operator("Amy", Role::Cashier, "1357", None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.operator = Some("Amy".into());
    let mut h = ui_common::harness(app, [1280.0, 2000.0]);
    ui_common::wait_for_sign_in(&mut h);
    let before = db(tmp.path()).setup_mut().merchant().unwrap();
    open_panel(&mut h);
    replace_text(&mut h, "Latin name (≤25)", "AMY WAS HERE");
    click(&mut h, "Save merchant profile");
    wait_for(&mut h, "Amy is a cashier and may not change settings");
    click(&mut h, "Add store");
    type_into(&mut h, "Store number", "S009");
    type_into(&mut h, "Store name (Latin)", "Nine");
    click(&mut h, "Save store");
    assert!(h.query_by_label_contains("Saved store").is_none());
    assert_eq!(db(tmp.path()).setup_mut().merchant().unwrap(), before, "nothing was saved");
    assert!(db(tmp.path()).setup().store_by_code("S009").unwrap().is_none());
}

type State = (MerchantPanel, Ctx);

#[test]
fn the_merchant_panel_speaks_one_language_at_1024x600() {
    // The demo merchant's and store's names, in whichever language they are.
    const ALLOW: &[&str] = &["TillDesk 演示商户", "演示商户", "演示门店", "Demo Store"];
    for lang in [Lang::ZhCn, Lang::En] {
        let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let tmp = tempfile::tempdir().unwrap();
        let ctx = Ctx::new(home(tmp.path(), lang)).unwrap();
        let mut h = Harness::builder()
            .with_size([1024.0, 600.0])
            .with_context_setup(fonts::install_cjk_font)
            .build_ui_state(|ui, s: &mut State| _ = s.0.ui(ui, &mut s.1), (MerchantPanel::default(), ctx));
        wait_for(&mut h, t("新增门店", "Add store"));
        assert_one_language(&h, lang, ALLOW, "the merchant panel");

        // An empty store refused field by field, in the panel's language.
        click(&mut h, t("新增门店", "Add store"));
        click(&mut h, t("保存门店", "Save store"));
        wait_for(&mut h, t("必须填写门店编号", "the store number is required"));
        h.get_by_label(t("必须填写英文门店名", "the Latin store name is required"));
        assert_one_language(&h, lang, ALLOW, "the merchant panel, refusing a store");

        // Saved, in the panel's language.
        type_into(&mut h, t("门店编号", "Store number"), "S002");
        type_into(&mut h, t("英文门店名", "Store name (Latin)"), "Harbour");
        type_into(&mut h, t("中文门店名", "Chinese store name"), "港口店");
        click(&mut h, t("保存门店", "Save store"));
        wait_for(&mut h, t("已保存门店 S002", "Saved store S002"));
        wait_for(&mut h, "Harbour 港口店");
        assert_one_language(&h, lang, &[ALLOW, &["Harbour", "港口店"]].concat(), "the merchant panel, saved");
        assert_eq!(db(tmp.path()).setup().store_by_code("S002").unwrap().unwrap().name_zh, "港口店");
    }
}
