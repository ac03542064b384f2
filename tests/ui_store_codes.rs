//! The Store codes screen as a merchant uses it, with two stores and two acquirers, against the embedded sandbox:
//! open a store's code (an EMVCo code naming Alipay and WeChat Pay), pick a store that is not onboarded yet and be
//! told to onboard it, try the Alipay+ MPM format (refused for two direct acquirers, the choice saved) and go back
//! to Automatic, save the code as a PNG by typing its path and pressing Enter, check the saved picture and a bad
//! payload in the code checker, then see the second store's own code once it is onboarded. Also: the screen in
//! Chinese and in English at 1024×600.

mod scan_common;
mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{self, DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerId, CodeFormatChoice, StoreId};
use tilldesk::onboarding::build_for_store;
use tilldesk::store::Store;
use tilldesk::ui::TillDeskApp;
use ui_common::{AppHarness, assert_one_language, click, replace_text, type_into, wait_for, wait_until};

struct Setup {
    s1: StoreId,
    s2: StoreId,
    alipay: AcquirerId,
}

fn db(data: &std::path::Path) -> Store {
    Store::open(&data.join(config::DATABASE_FILE)).unwrap()
}

/// An active binding with the acquirer's reference data (what a direct onboarding leaves).
/// S001 (the demo store) onboarded with ALIPAY and WECHATPAY; S002 Harbour 港口店 with nobody yet.
fn data_home(data: &std::path::Path, lang: Lang) -> (DataHome, Setup) {
    let mut home = DataHome::open(data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let s1 = home.store.setup_mut().default_store().unwrap();
    let s2 = ui_common::add_harbour_store(&mut home.store);
    let (alipay, wechat) = ui_common::sandbox_acquirers(&mut home.store);
    ui_common::activate(&mut home.store, s1, alipay, Some("com.alipay.sandbox"), "2088S001A");
    ui_common::activate(&mut home.store, s1, wechat, Some("com.tenpay.sandbox"), "1900S001W");
    (home, Setup { s1, s2, alipay })
}

/// The app on the sandbox (the code checker asks its CDS platform, and reads pictures on its runtime).
fn app_with_sandbox(dir: &std::path::Path, rt: &tokio::runtime::Runtime, lang: Lang) -> (TillDeskApp, Setup) {
    let (home, setup) = data_home(&dir.join("data"), lang);
    let mut app = TillDeskApp::new(home).unwrap();
    ui_common::run_on_sandbox(&mut app, dir, rt, None);
    (app, setup)
}

/// Fails at once if the status bar shows an error.
fn no_error(h: &AppHarness) {
    if let Some(e) = &h.state().ctx.error {
        panic!("the status bar shows an error: {e:?}");
    }
}

#[test]
fn a_merchant_opens_each_stores_code_saves_it_as_a_png_and_checks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (app, setup) = app_with_sandbox(tmp.path(), &rt, Lang::En);
    let mut h = ui_common::harness(app, [1280.0, 2000.0]);

    // S001's code, as the database builds it: EMVCo (no CDS yet) naming both acquirers.
    let s001 = build_for_store(&db(&data), setup.s1, None).unwrap().payload;
    click(&mut h, "Store codes");
    h.get_by_label("Store payment codes");
    wait_for(&mut h, &s001);
    assert!(h.query_all_by_label("EMVCo code").count() >= 2, "the heading and the Format row");
    h.get_by_label("com.alipay.sandbox / 2088S001A");
    h.get_by_label("com.tenpay.sandbox / 1900S001W");
    h.get_by_label("Store code QR");
    no_error(&h);

    // S002 is not onboarded: no code, and the screen says where to go.
    click(&mut h, "S002 Harbour");
    wait_for(&mut h, "store S002 has no active acquirer and no CDS index yet: onboard it first");
    h.get_by_label("Onboard this store with an acquirer on the Acquirers screen first.");
    assert!(h.query_by_label("Save as PNG").is_none(), "nothing to save");

    // Back to S001; the Alipay+ MPM format names one acquirer only: refused, saying why; the choice is kept.
    click(&mut h, "S001 Demo Store");
    wait_for(&mut h, &s001);
    click(&mut h, "Alipay+ MPM");
    wait_for(&mut h, "an Alipay+ MPM code names only the acquirer that issues it, but 2 references were given");
    assert_eq!(db(&data).setup().store_code_format(setup.s1).unwrap(), CodeFormatChoice::AlipayPlus);
    assert!(h.query_by_label(&s001).is_none(), "no code is shown for a format that cannot be built");
    assert!(
        h.query_by_label("Onboard this store with an acquirer on the Acquirers screen first.").is_none(),
        "the store is onboarded: the refusal is the format's"
    );
    click(&mut h, "Automatic (Alipay+ once CDS exists)");
    wait_for(&mut h, &s001);
    assert_eq!(db(&data).setup().store_code_format(setup.s1).unwrap(), CodeFormatChoice::Auto);

    // Save as PNG: a typed path without extension, Enter.
    let typed = tmp.path().join("codes").join("s001");
    replace_text(&mut h, "PNG file", &typed.display().to_string());
    h.key_press(egui::Key::Enter);
    let png = typed.with_extension("png");
    wait_for(&mut h, &format!("Saved to {}", png.display()));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(scan_common::decode_all(&bytes), std::slice::from_ref(&s001), "the saved picture is the code on screen");

    // The code checker reads the saved picture: a wallet would pay either acquirer's merchant.
    type_into(&mut h, "Picture to check", &png.display().to_string());
    click(&mut h, "Check this code");
    wait_for(&mut h, "A wallet would:");
    h.get_by_label("· reference data: a wallet that knows acquirer com.alipay.sandbox pays its merchant 2088S001A");
    h.get_by_label("· reference data: a wallet that knows acquirer com.tenpay.sandbox pays its merchant 1900S001W");

    // A pasted payload that is not a code is refused in words.
    type_into(&mut h, "Payload to check", "HELLO");
    click(&mut h, "Check this code");
    wait_for(&mut h, "the code cannot be used:");
    assert!(h.query_by_label("A wallet would:").is_none());

    // S002 onboarded with ALIPAY (on the Acquirers screen): choosing it shows its own code.
    ui_common::activate(&mut db(&data), setup.s2, setup.alipay, Some("com.alipay.sandbox"), "2088S002A");
    let s002 = build_for_store(&db(&data), setup.s2, None).unwrap().payload;
    assert_ne!(s002, s001);
    click(&mut h, "S002 Harbour");
    wait_for(&mut h, &s002);
    h.get_by_label("com.alipay.sandbox / 2088S002A");
    assert!(h.query_by_label("com.tenpay.sandbox / 1900S001W").is_none(), "S001's acquirers are not on it");
    let png2 = tmp.path().join("codes").join("s002.png");
    replace_text(&mut h, "PNG file", &png2.display().to_string());
    click(&mut h, "Save as PNG");
    wait_for(&mut h, &format!("Saved to {}", png2.display()));
    assert_eq!(scan_common::decode_all(&std::fs::read(&png2).unwrap()), [s002]);
    no_error(&h);
    drop(h);
    drop(rt);
}

/// What reads the same in both languages: the demo merchant's and the test's names, the acquirers' GUIDs (ids in
/// the code), millimetres, format names.
const ALLOW: &[&str] = &[
    "TillDesk 演示商户",
    "演示商户",
    "演示门店",
    "Demo Store",
    "港口店",
    "Harbour",
    "com.alipay.sandbox",
    "com.tenpay.sandbox",
    "mm",
    "Alipay+ MPM",
    "EMVCo",
];

#[test]
fn the_store_codes_screen_speaks_one_language_at_1024x600() {
    for lang in [Lang::ZhCn, Lang::En] {
        let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let (home, setup) = data_home(&data, lang);
        let mut h = ui_common::harness(TillDeskApp::new(home).unwrap(), [1024.0, 600.0]);
        let s001 = build_for_store(&db(&data), setup.s1, None).unwrap().payload;
        click(&mut h, t("店铺码", "Store codes"));
        wait_for(&mut h, &s001);
        wait_until(&mut h, "the print preview", |h| h.state().store_codes.print.previewed().is_some());
        let mut allow = ALLOW.to_vec();
        let saves = tilldesk::ui::words_setup::default_save_dir(&data).display().to_string();
        allow.push(&saves);
        assert_one_language(&h, lang, &allow, "the Store codes screen");

        // A refusal, in the same language.
        click(&mut h, "Alipay+ MPM");
        wait_for(&mut h, t("Alipay+ MPM 码只能写明发码的一家收单机构", "an Alipay+ MPM code names only"));
        assert_one_language(&h, lang, &allow, "the Store codes screen, refusing a format");
        assert_eq!(db(&data).setup().store_code_format(setup.s1).unwrap(), CodeFormatChoice::AlipayPlus);
    }
}
