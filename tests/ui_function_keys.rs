//! Settings → Function keys beside its screen (issue 22): a function's key is chosen from its list, the choice is
//! written through the command queue (the settings row changes), a key another function has is refused in words and
//! nothing is written, and the counter's button shows the new key.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::store::Store;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::{click, wait_for, wait_until};

fn setting(dir: &std::path::Path, key: &str) -> Option<String> {
    Store::open(&dir.join(tilldesk::config::DATABASE_FILE)).unwrap().setting(key).unwrap()
}

#[test]
fn a_function_key_is_changed_saved_and_a_taken_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(tmp.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Settings;
    let mut h = ui_common::harness(app, [1280.0, 3200.0]);
    wait_for(&mut h, "Function keys at the counter");

    // Check order (F4) → F8: open its list and choose.
    click(&mut h, "Check order");
    click(&mut h, "F8");
    wait_until(&mut h, "keys.query written", |_| setting(tmp.path(), "keys.query").as_deref() == Some("F8"));
    assert_eq!(h.state().ctx.keys.key(tilldesk::ui::hotkeys::Action::Query), egui::Key::F8);

    // Refund cannot have F1: Charge has it. Nothing is written.
    click(&mut h, "Refund");
    click(&mut h, "F1");
    wait_for(&mut h, "F1 is already the key for “Charge”: give that another key first");
    assert_eq!(setting(tmp.path(), "keys.refund"), None);
    assert_eq!(h.state().ctx.keys.key(tilldesk::ui::hotkeys::Action::Refund), egui::Key::F3);

    // The counter shows the new key on its button.
    click(&mut h, "Checkout");
    wait_until(&mut h, "the counter's Check order button", |h| {
        h.query_all_by_label_contains("Check order F8").next().is_some()
    });
}
