//! Issue 19, item 6 (the window's half): a store or merchant name no font on this computer can print is refused when
//! the form saves it, naming the characters in the window's language, and nothing is saved. The font check runs off
//! the UI thread; the test waits for it frame by frame.
//!
//! The fonts are fixed for this test binary, whatever the machine has: only the bundled Noto Sans SC (GB2312), no
//! system font, no fontconfig. 𠀀 (U+20000) and 𪚥 (U+2A6A5) are CJK extension B, outside GB2312; 店 is in it.

mod ui_common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tilldesk::config::{self, DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::print::fonts::FontBook;
use tilldesk::store::Store;
use tilldesk::ui::merchant::MerchantPanel;
use tilldesk::ui::{Ctx, TillDeskApp, fonts};
use ui_common::{click, type_into, wait_for};

fn only_the_bundled_font() {
    let _ = FontBook::install_global(FontBook::with_candidates(Vec::new(), false));
    assert_eq!(FontBook::global().unprintable_chars("𠀀𪚥店"), ['𠀀', '𪚥'], "the fonts this test expects");
}

type State = (MerchantPanel, Ctx);

fn panel(dir: &std::path::Path, lang: Lang) -> Harness<'static, State> {
    let mut home = DataHome::open(dir).unwrap();
    home.store.setup_mut().default_store().unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let ctx = Ctx::new(home).unwrap();
    // The window has no font for 𠀀𪚥 either: it shows them as boxes, as it would on such a computer.
    let mut h = Harness::builder()
        .with_size([900.0, 900.0])
        .allow_missing_glyphs()
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, s: &mut State| _ = s.0.ui(ui, &mut s.1), (MerchantPanel::default(), ctx));
    // The merchant and its stores come from the command queue before the panel offers anything.
    wait_for(&mut h, lang.pick("新增门店", "Add store"));
    h
}

fn db(dir: &std::path::Path) -> Store {
    Store::open(&dir.join(config::DATABASE_FILE)).unwrap()
}

#[test]
fn a_store_name_no_font_prints_is_refused_naming_the_characters_and_nothing_is_saved() {
    only_the_bundled_font();
    let tmp = tempfile::tempdir().unwrap();
    let mut h = panel(tmp.path(), Lang::ZhCn);

    click(&mut h, "新增门店");
    type_into(&mut h, "门店编号", "S002");
    type_into(&mut h, "英文门店名", "Lucky");
    type_into(&mut h, "中文门店名", "𠀀𪚥店");
    click(&mut h, "保存门店");
    wait_for(&mut h, "本机没有字体能打印“𠀀𪚥”");
    h.get_by_label("请修正标红的字段");
    assert!(h.query_by_label_contains("已保存门店").is_none());
    assert!(db(tmp.path()).setup().store_by_code("S002").unwrap().is_none(), "nothing was saved");

    // A name the fonts print is saved at once.
    h.get_by_label("中文门店名").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("中文门店名").type_text("幸运店");
    h.run_steps(1);
    click(&mut h, "保存门店");
    wait_for(&mut h, "已保存门店 S002");
    assert_eq!(db(tmp.path()).setup().store_by_code("S002").unwrap().unwrap().name_zh, "幸运店");
}

#[test]
fn a_merchant_name_no_font_prints_is_refused_in_english_too() {
    only_the_bundled_font();
    let tmp = tempfile::tempdir().unwrap();
    let mut h = panel(tmp.path(), Lang::En);
    let before = db(tmp.path()).setup_mut().merchant().unwrap();

    h.get_by_label("Chinese name").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("Chinese name").type_text("𠀀𪚥店");
    h.run_steps(1);
    click(&mut h, "Save merchant profile");
    wait_for(&mut h, "no font on this computer can print 𠀀𪚥, so store codes could not show this name");
    assert!(h.query_by_label_contains("Merchant profile saved").is_none());
    assert_eq!(db(tmp.path()).setup_mut().merchant().unwrap(), before, "nothing was saved");
}

#[test]
fn the_first_run_wizard_refuses_such_a_store_name_too() {
    only_the_bundled_font();
    let tmp = tempfile::tempdir().unwrap();
    let home = DataHome::open(tmp.path()).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.lang = Lang::ZhCn;
    app.offer_first_run().unwrap();
    let mut h = Harness::builder()
        .with_size([1100.0, 800.0])
        .allow_missing_glyphs()
        .with_context_setup(fonts::install_cjk_font)
        .build_ui_state(|ui, app: &mut TillDeskApp| app.show(ui), app);
    h.run_steps(2);
    click(&mut h, "下一步");
    type_into(&mut h, "法定名称", "上海幸运餐饮有限公司");
    type_into(&mut h, "英文名称（≤25）", "LUCKY NOODLES");
    type_into(&mut h, "中文名称", "幸运面馆");
    type_into(&mut h, "城市（英文）", "SHANGHAI");
    type_into(&mut h, "城市（中文）", "上海");
    type_into(&mut h, "邮政编码", "200001");
    click(&mut h, "下一步");
    wait_for(&mut h, "步骤 3/6 · 第一家门店");
    type_into(&mut h, "门店编号", "S001");
    type_into(&mut h, "英文门店名", "Lucky");
    type_into(&mut h, "中文门店名", "𠀀𪚥店");
    click(&mut h, "下一步");
    wait_for(&mut h, "本机没有字体能打印“𠀀𪚥”");
    h.get_by_label("步骤 3/6 · 第一家门店");
    let stores = db(tmp.path()).setup().stores().unwrap();
    assert!(stores.iter().all(|s| !s.name_zh.contains('𠀀')), "nothing was saved: {stores:?}");
}
