//! The Sync panel (Settings) and the status bar as a person sees them: recent runs with their errors, the outbox,
//! "Retry now"; online → offline (checkout says payments need the network) → back online by itself.

mod ui_common;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::store::sync::SyncRun;
use tilldesk::sync::SyncSettings;
use tilldesk::ui::{SandboxStatus, TillDeskApp};
use ui_common::{AppHarness, wait_for};

fn harness(app: TillDeskApp) -> AppHarness {
    ui_common::harness(app, [1300.0, 900.0])
}

#[test]
fn the_sync_panel_lists_runs_with_errors_and_retry_makes_the_outbox_due() {
    let tmp = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(tmp.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.sync_mut().enqueue_outbox("cancel", "cancel:TD1", r#"{"out_trade_no":"TD1"}"#).unwrap();
    home.store
        .sync_mut()
        .outbox_retry_later("cancel:TD1", "the gateway could not be reached", "2999-01-01T00:00:00.000000Z")
        .unwrap();
    let id = home.store.sync_mut().begin_sync_run("timer").unwrap();
    home.store
        .sync_mut()
        .finish_sync_run(&SyncRun {
            id,
            trigger: "timer".into(),
            online: true,
            outbox_pending: 1,
            summary: "1 waiting in the outbox".into(),
            errors: vec!["cancel:TD1: not delivered (HTTP 500); attempt 2 again in 5 s".into()],
            ..Default::default()
        })
        .unwrap();
    let mut h = harness(TillDeskApp::new(home).unwrap());
    h.get_by_label("Settings").click();
    // The panel is read through the command queue.
    wait_for(&mut h, "Recent sync runs:");
    h.get_by_label("Outbox: 1");
    // The run is phrased from its counts (the stored English summary is on hover, for support).
    wait_for(&mut h, "nothing to do, 1 waiting in the outbox");
    h.get_by_label("cancel:TD1: not delivered (HTTP 500); attempt 2 again in 5 s");
    h.get_by_label_contains("cancel:TD1  attempts 1");
    h.get_by_label_contains("Notifications received at: not running");
    h.get_by_label("Listen address").click();
    h.run_steps(1);
    h.key_press(egui::Key::End);
    for _ in 0..12 {
        h.key_press(egui::Key::Backspace);
    }
    h.get_by_label("Listen address").type_text("0.0.0.0:8090");
    h.run_steps(1);
    h.get_by_label("Save (applies at next start)").click();
    // Saved through the command queue: frames run until the answer is shown.
    // Not a loopback address: saved, but the listener refuses it until remote access is allowed.
    ui_common::wait_for(&mut h, "not a loopback address");
    assert_eq!(
        h.state().ctx.home.store.setting(tilldesk::sync::notify::SETTING_LISTEN).unwrap().as_deref(),
        Some("0.0.0.0:8090")
    );
    h.get_by_label("Accept notifications from other machines (a non-loopback address; applies at next start)").click();
    ui_common::wait_until(&mut h, "remote notifications allowed", |h| {
        tilldesk::sync::notify::remote_allowed(&h.state().ctx.home.store).unwrap()
    });
    wait_for(&mut h, "Saved");
    ui_common::click(&mut h, "Retry now");
    ui_common::wait_for(&mut h, "due at its next start: 1");
    let due = h.state().ctx.home.store.sync().due_outbox(&tilldesk::time::now_utc()).unwrap();
    assert_eq!(due.len(), 1, "Retry now makes the waiting entry due at once");
}

#[test]
fn offline_is_shown_and_checkout_refuses_then_reconnecting_catches_up() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut home = DataHome::open(&data).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    let sb_dir = tmp.path().join("sandbox");
    let sandbox = rt.block_on(tilldesk::sandbox::start(&sb_dir, "127.0.0.1:0".parse().unwrap(), false)).unwrap();
    let addr = sandbox.addr;
    let settings = SyncSettings {
        interval: Duration::from_millis(300),
        offline_interval: Duration::from_millis(300),
        bill_time: None,
        ..SyncSettings::default()
    };
    let services = rt
        .block_on(tilldesk::sandbox::till::start_services(
            &data,
            &sandbox.state.accounts(),
            &sandbox.base_url(),
            settings,
        ))
        .unwrap();
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.services = Some(services);
    let mut h = harness(app);
    h.get_by_label("Access: store-direct");
    wait_for(&mut h, "Sync: up to date");
    h.get_by_label("outbox: 0");
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label_contains("Notifications received at: http://127.0.0.1:");
    h.get_by_label_contains("last successful sync: ");

    // The network goes: the sandbox stops.
    let SandboxStatus::Running(sandbox) = std::mem::take(&mut h.state_mut().ctx.sandbox) else { panic!() };
    rt.block_on(sandbox.stop());
    wait_for(&mut h, "Sync: offline (payments need the network)");
    h.get_by_label("Checkout").click();
    h.run_steps(2);
    h.get_by_label_contains("Offline: payments need the network.");
    h.get_by_label("Settings").click();
    wait_for(&mut h, "Status: offline");

    // It comes back at the same address: the worker notices by itself.
    let sandbox = rt.block_on(tilldesk::sandbox::start(&sb_dir, addr, false)).unwrap();
    h.state_mut().ctx.sandbox = SandboxStatus::Running(sandbox);
    wait_for(&mut h, "Sync: up to date");
    wait_for(&mut h, "Status: online");
    let runs = h.state().ctx.home.store.sync().recent_sync_runs(100).unwrap();
    assert!(runs.iter().any(|r| !r.online) && runs[0].online, "{runs:?}");
    if let Some(services) = h.state_mut().ctx.services.take() {
        rt.block_on(services.stop());
    }
}
