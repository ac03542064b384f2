//! Issue 21 (accessibility): a screen with several path fields has as many browse buttons, and a screen reader or UI
//! automation tells them apart by their accessible names, which carry the field's caption ("浏览… 标志（可选）").

mod ui_common;

use egui_kittest::kittest::{NodeT, Queryable};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::ui::{Screen, TillDeskApp};

#[test]
fn every_browse_button_is_named_after_its_field_in_both_languages() {
    for (lang, browse, captions) in [
        (Lang::ZhCn, "浏览…", ["标志（可选）", "PDF 文件", "待检查的图片"]),
        (Lang::En, "Browse…", ["Logo (optional)", "PDF file", "Picture to check"]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut home = DataHome::open(tmp.path()).unwrap();
        home.store.setup_mut().default_store().unwrap();
        home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
        let mut app = TillDeskApp::new(home).unwrap();
        app.screen = Screen::StoreCodes;
        let mut h = ui_common::harness(app, [1280.0, 2000.0]);
        ui_common::wait_until(&mut h, "the print form", |h| h.query_all_by_label_contains(captions[2]).count() > 0);
        let names: Vec<String> = h
            .query_all_by_label_contains(browse)
            .filter_map(|n| n.accesskit_node().label())
            .filter(|l| l.starts_with(browse))
            .collect();
        assert!(names.len() >= 3, "{lang:?}: the store-code screen's browse buttons: {names:?}");
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{lang:?}: no two browse buttons share a name: {names:?}");
        for caption in captions {
            assert!(
                names.iter().any(|n| n == &format!("{browse} {caption}")),
                "{lang:?}: a browse button named after {caption:?}: {names:?}"
            );
        }
    }
}
