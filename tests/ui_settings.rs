//! The Settings screen's panels that read and write through the command queue: the Sync panel (the outbox, the
//! last sync, the notify listener's address and "Retry now") and its permission check.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::Role;
use tilldesk::store::Store;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::{AppHarness, click, harness, wait_for};

fn setting(dir: &std::path::Path, key: &str) -> Option<String> {
    Store::open(&dir.join(tilldesk::config::DATABASE_FILE)).unwrap().setting(key).unwrap()
}

/// Replaces the text of the field labelled `label` (select all, then type), as a clerk does with the keyboard.
fn retype(h: &mut AppHarness, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(1);
}

#[test]
fn the_sync_panel_saves_the_listen_address_and_retries_the_outbox_for_the_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.staff_mut().add_operator("Boss", Role::Owner, "246810", None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.operator = Some("Boss".into());
    app.screen = Screen::Settings;
    let mut h = harness(app, [1280.0, 2400.0]);
    // Read through the queue: no outbox, never synced.
    wait_for(&mut h, "Last successful sync: never");
    wait_for(&mut h, "Outbox: 0");

    // Not an address: refused before anything is written.
    retype(&mut h, "Listen address", "nonsense");
    click(&mut h, "Save (applies at next start)");
    wait_for(&mut h, "not an address:port like 127.0.0.1:8090");
    assert_eq!(setting(dir.path(), tilldesk::sync::notify::SETTING_LISTEN), None);

    // Another machine's address is saved, with a word that the listener waits for the tick box.
    retype(&mut h, "Listen address", "0.0.0.0:8090");
    click(&mut h, "Save (applies at next start)");
    wait_for(&mut h, "Saved; this is not a loopback address");
    assert_eq!(setting(dir.path(), tilldesk::sync::notify::SETTING_LISTEN).as_deref(), Some("0.0.0.0:8090"));

    // Retry now, with no background sync running.
    click(&mut h, "Retry now");
    wait_for(&mut h, "The background sync is not running; due at its next start: 0");

    // Signed out: the address is not changed.
    h.state_mut().ctx.operator = None;
    h.run_steps(2);
    retype(&mut h, "Listen address", "127.0.0.1:9000");
    click(&mut h, "Save (applies at next start)");
    wait_for(&mut h, "to change settings");
    assert_eq!(setting(dir.path(), tilldesk::sync::notify::SETTING_LISTEN).as_deref(), Some("0.0.0.0:8090"));
    assert!(h.query_by_label_contains("Saved; this is not a loopback address").is_none(), "the refusal replaced it");
}
