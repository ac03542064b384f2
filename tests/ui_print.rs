//! Printing store codes from the Store codes screen, as a merchant does, with two stores and two acquirers: look at
//! the preview of all stores on table tents, choose one store on a sticker and save its PDF by typing the path and
//! pressing Enter, save both stores' tents with Save PDF…, be refused when no store is ticked and when the logo is
//! not a picture (nothing written), then Print… to a printer that does not exist and to one that does (the system's
//! lp is a stand-in that records what it was given). Every PDF written is rasterised and its codes read back; they
//! are the codes the database builds for each store. Also: the print panel in Chinese and in English at 1024×600.

mod scan_common;
mod ui_common;

use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use scan_common::{decode_all, rasterise};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::onboarding::build_for_store;
use tilldesk::print::Template;
use tilldesk::ui::print::PrintPanel;
use tilldesk::ui::{Ctx, TillDeskApp, fonts};
use ui_common::{assert_one_language, click, replace_text, type_into, wait_for, wait_until};

/// S001 (the demo store) onboarded with ALIPAY and WECHATPAY, S002 Harbour 港口店 with ALIPAY; their payloads.
fn data_home(data: &Path, lang: Lang) -> (DataHome, [String; 2]) {
    let mut home = DataHome::open(data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    let s1 = home.store.setup_mut().default_store().unwrap();
    let s2 = ui_common::add_harbour_store(&mut home.store);
    let (alipay, wechat) = ui_common::sandbox_acquirers(&mut home.store);
    ui_common::activate(&mut home.store, s1, alipay, Some("com.alipay.sandbox"), "2088S001A");
    ui_common::activate(&mut home.store, s1, wechat, Some("com.tenpay.sandbox"), "1900S001W");
    ui_common::activate(&mut home.store, s2, alipay, Some("com.alipay.sandbox"), "2088S002A");
    let payloads = [s1, s2].map(|s| build_for_store(&home.store, s, None).unwrap().payload);
    (home, payloads)
}

/// A stand-in for the system's lp: refuses the printer "Nowhere" as CUPS does, else records its arguments in
/// `record` and answers with a request id.
fn stand_in_lp(dir: &Path, record: &Path) -> PathBuf {
    let lp = dir.join("lp");
    std::fs::write(
        &lp,
        format!(
            "#!/bin/sh\ncase \"$*\" in *\"-d Nowhere\"*) echo 'lp: The printer or class does not exist.' >&2; exit 1;; \
             esac\necho \"$@\" > {}\necho 'request id is Counter-7 (1 file(s))'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&lp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    lp
}

#[test]
fn a_merchant_previews_saves_and_prints_the_codes_of_one_store_or_both() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let record = tmp.path().join("lp-args");
    // Written before anything else runs, so that no process started meanwhile holds it open for writing.
    let lp = stand_in_lp(tmp.path(), &record);
    let (home, [s001, s002]) = data_home(&data, Lang::En);
    let mut h = ui_common::harness(TillDeskApp::new(home).unwrap(), [1280.0, 2000.0]);
    h.state_mut().store_codes.print.print_command = lp.into_os_string();

    // All stores on table tents: the preview shows the first. (Once the screen has built S001's code it has told
    // the panel to read the stores again: the ticks below are made on that list.)
    click(&mut h, "Store codes");
    wait_for(&mut h, &s001);
    wait_for(&mut h, "All stores (2)");
    wait_until(&mut h, "the tent preview", |h| {
        h.state().store_codes.print.previewed() == Some((Template::Tent, "S001"))
    });
    h.get_by_label("Print store codes");
    h.get_by_label("Preview: S001 · A6 table tent");
    h.get_by_label("Store code preview image");

    // Only S002, as a sticker; its PDF saved to a typed path (no extension) with Enter.
    click(&mut h, "Selected stores");
    click(&mut h, "S002 港口店 Harbour");
    click(&mut h, "60×60 mm sticker");
    wait_until(&mut h, "the sticker preview", |h| {
        h.state().store_codes.print.previewed() == Some((Template::Sticker, "S002"))
    });
    h.get_by_label("Preview: S002 · 60×60 mm sticker");
    let typed = tmp.path().join("out").join("s002-sticker");
    replace_text(&mut h, "PDF file", &typed.display().to_string());
    h.key_press(egui::Key::Enter);
    let sticker = typed.with_extension("pdf");
    wait_for(&mut h, &format!("Saved 1 page → {}", sticker.display()));
    let pages = rasterise(&sticker, 300);
    assert_eq!(pages.len(), 1);
    assert_eq!(decode_all(&pages[0]), std::slice::from_ref(&s002), "S002's code, as the database builds it");

    // Both stores on tents, with Save PDF…: a page each, the code on both faces.
    click(&mut h, "All stores (2)");
    click(&mut h, "A6 table tent");
    let both = tmp.path().join("out").join("both.pdf");
    replace_text(&mut h, "PDF file", &both.display().to_string());
    click(&mut h, "Save PDF…");
    wait_for(&mut h, &format!("Saved 2 pages → {}", both.display()));
    assert!(!h.state().store_codes.print.is_busy());
    let pages = rasterise(&both, 200);
    assert_eq!(pages.len(), 2);
    assert_eq!(decode_all(&pages[0]), [s001.clone(), s001.clone()], "S001 on both faces");
    assert_eq!(decode_all(&pages[1]), [s002.clone(), s002.clone()], "S002 on both faces");

    // Refused: no store ticked. Nothing is written.
    click(&mut h, "Selected stores");
    click(&mut h, "S002 港口店 Harbour");
    let nothing = tmp.path().join("out").join("nothing.pdf");
    replace_text(&mut h, "PDF file", &nothing.display().to_string());
    click(&mut h, "Save PDF…");
    wait_for(&mut h, "nothing to print: no store is selected");
    assert!(!nothing.exists());

    // Refused: a logo that is not a picture, in the preview and when saving. Nothing is written.
    click(&mut h, "All stores (2)");
    let logo = tmp.path().join("logo.png");
    std::fs::write(&logo, "not a picture").unwrap();
    type_into(&mut h, "Logo (optional)", &logo.display().to_string());
    let bad_logo = format!("cannot use {} as a logo", logo.display());
    wait_for(&mut h, &bad_logo);
    click(&mut h, "Save PDF…");
    ui_common::wait_for_n(&mut h, &bad_logo, 2);
    assert!(!nothing.exists());
    click(&mut h, "Clear");
    // The preview comes back; the failed save's message stays until the next one.
    wait_until(&mut h, "the preview without the logo", |h| h.state().store_codes.print.previewed().is_some());
    assert_eq!(h.query_all_by_label_contains(&bad_logo).count(), 1, "{:#?}", ui_common::screen_text(&h));

    // Print… to a printer that does not exist: said plainly, nothing reached lp.
    type_into(&mut h, "Printer (empty = default)", "Nowhere");
    click(&mut h, "Print…");
    wait_for(&mut h, "no printer is available: lp: The printer or class does not exist.");
    h.get_by_label_contains("Add a printer (or set a default one), or save the PDF instead.");
    assert!(!record.exists());

    // Print… to the counter's printer: both stores' tents, the PDF handed to lp.
    replace_text(&mut h, "Printer (empty = default)", "Counter");
    click(&mut h, "Print…");
    wait_for(&mut h, "Sent 2 pages to the printer: request id is Counter-7");
    let printed = data.join("print").join("tilldesk-store-codes.pdf");
    let args = std::fs::read_to_string(&record).unwrap();
    assert_eq!(args.trim(), format!("-d Counter -t TillDesk store codes -- {}", printed.display()));
    let pages = rasterise(&printed, 200);
    assert_eq!(pages.len(), 2);
    assert_eq!(decode_all(&pages[0]), [s001.clone(), s001]);
    assert_eq!(decode_all(&pages[1]), [s002.clone(), s002]);
}

type State = (PrintPanel, Ctx);

#[test]
fn the_print_panel_speaks_one_language_at_1024x600() {
    // Names that read the same in both languages (the demo store's, the test's), and millimetres.
    const ALLOW: &[&str] = &["演示门店", "Demo Store", "港口店", "Harbour", "mm"];
    for lang in [Lang::ZhCn, Lang::En] {
        let t = |zh: &'static str, en: &'static str| lang.pick(zh, en);
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let (home, [_, s002]) = data_home(&data, lang);
        let ctx = Ctx::new(home).unwrap();
        let mut h = Harness::builder()
            .with_size([1024.0, 600.0])
            .with_context_setup(fonts::install_cjk_font)
            .build_ui_state(|ui, s: &mut State| s.0.ui(ui, &mut s.1), (PrintPanel::default(), ctx));
        wait_until(&mut h, "the preview", |h| h.state().0.previewed() == Some((Template::Tent, "S001")));
        assert_one_language(&h, lang, ALLOW, "the print panel");

        // Refused, then saved: both messages in the panel's language.
        click(&mut h, t("选择门店", "Selected stores"));
        let pdf = tmp.path().join("s002.pdf");
        type_into(&mut h, t("PDF 文件", "PDF file"), &pdf.display().to_string());
        click(&mut h, t("保存 PDF…", "Save PDF…"));
        wait_for(&mut h, t("没有可打印的内容：请选择门店", "nothing to print: no store is selected"));
        assert_one_language(&h, lang, ALLOW, "the print panel, refusing");
        click(&mut h, "S002 港口店 Harbour");
        click(&mut h, t("60×60 mm 贴纸", "60×60 mm sticker"));
        click(&mut h, t("保存 PDF…", "Save PDF…"));
        wait_for(&mut h, &format!("{} → {}", t("已保存 1 页", "Saved 1 page"), pdf.display()));
        assert_one_language(&h, lang, ALLOW, "the print panel, saved");
        assert_eq!(decode_all(&rasterise(&pdf, 300)[0]), [s002]);
    }
}
