//! Staff checks in the window (issue 17, item 8): signed out, the till still takes payments, but refunds, settings
//! changes and reconciliation are refused with words that say whom to sign in as; signing in checks the PIN on a
//! background thread while the window keeps drawing.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::checkout::CheckoutSettings;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{ChannelMode, Role};
use tilldesk::store::Store;
use tilldesk::ui::{SandboxStatus, Screen, TillDeskApp};
use ui_common::{AppHarness, click, harness, type_and_enter, type_into, wait_for};

struct Till {
    dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
    h: AppHarness,
}

/// A till whose owner ("boss", PIN 246810) exists, on the embedded sandbox, nobody signed in.
fn till(lang: Lang) -> Till {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
    home.store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    let h = harness(app, [1280.0, 2400.0]);
    Till { dir, _rt: rt, h }
}

fn db(t: &Till) -> Store {
    Store::open(&t.dir.path().join("tilldesk.sqlite3")).unwrap()
}

fn go(h: &mut AppHarness, screen: Screen) {
    let label = screen.nav_label(h.state().ctx.lang);
    click(h, label);
}

#[test]
fn signed_out_a_payment_is_taken_but_refund_settings_and_reconcile_are_refused() {
    let mut t = till(Lang::En);
    let h = &mut t.h;
    // A payment, recorded without an operator.
    wait_for(h, "Ready to take payments");
    type_and_enter(h, "12.34");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received");
    let conn = rusqlite::Connection::open(t.dir.path().join("tilldesk.sqlite3")).unwrap();
    let (out_trade_no, operator): (String, Option<i64>) = conn
        .query_row("SELECT out_trade_no, operator_id FROM orders WHERE status = 'PAID'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(operator, None);

    // The order shows, but its refund form says whom to sign in as.
    go(h, Screen::Orders);
    wait_for(h, &out_trade_no);
    click(h, &out_trade_no);
    wait_for(h, "Sign in as owner or back office to refund (Settings → Staff)");
    assert!(h.query_by_label("Confirm refund").is_none());

    // Settings: the mode stays.
    go(h, Screen::Settings);
    click(h, "Live (real acquirer gateways)");
    wait_for(h, "Sign in as owner to change settings (Settings → Staff)");
    assert_eq!(h.state().ctx.mode, ChannelMode::Sandbox);
    assert_eq!(tilldesk::config::channel_mode(&db(&t)).unwrap(), ChannelMode::Sandbox);
    let h = &mut t.h;
    click(h, "Run the setup wizard again");
    assert!(!h.state().first_run_open());

    // Reconciliation: nothing starts.
    go(h, Screen::Reconciliation);
    click(h, "Reconcile");
    wait_for(h, "Sign in as owner or back office to reconcile bills (Settings → Staff)");
    let runs: i64 = rusqlite::Connection::open(t.dir.path().join("tilldesk.sqlite3"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM recon_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 0);
}

#[test]
fn the_refusals_read_in_chinese_too() {
    let mut t = till(Lang::ZhCn);
    let h = &mut t.h;
    go(h, Screen::Settings);
    click(h, "正式（真实收单网关）");
    wait_for(h, "请以店主身份登录后再更改设置（设置 → 员工）");
    go(h, Screen::Reconciliation);
    click(h, "开始对账");
    wait_for(h, "请以店主或财务身份登录后再对账（设置 → 员工）");
}

#[test]
fn signing_in_checks_the_pin_in_the_background_and_then_the_owner_may_switch_the_mode() {
    let mut t = till(Lang::En);
    let h = &mut t.h;
    go(h, Screen::Settings);
    type_into(h, "Operator", "boss");
    type_into(h, "PIN", "000000");
    click(h, "Sign in / switch");
    wait_for(h, "the name or the PIN is wrong");
    type_into(h, "PIN", "246810");
    // The click starts the check on its own thread: the same frame already shows the spinner, nobody is signed in yet.
    h.get_by_label("Sign in / switch").click_accesskit();
    h.step();
    assert!(h.query_by_label_contains("Checking the PIN").is_some());
    // Driving frames completes it.
    wait_for(h, "Operator: boss");
    assert_eq!(h.state().ctx.operator.as_deref(), Some("boss"));
    assert!(h.query_by_label_contains("Checking the PIN").is_none());

    // Now the mode switch goes through, recorded for the owner, made in the window.
    click(h, "Live (real acquirer gateways)");
    assert_eq!(h.state().ctx.mode, ChannelMode::Live);
    let store = db(&t);
    let boss = store.staff().operator_by_name("boss").unwrap().unwrap();
    let entry = store.staff().audit_page(None, 20).unwrap().into_iter().find(|e| e.subject == "channel.mode").unwrap();
    assert_eq!((entry.operator_id, entry.actor.as_deref()), (Some(boss.id), Some("window")));
    let refused = store.staff().audit_page(None, 20).unwrap().into_iter().find(|e| e.action == "operator.pin_refused");
    assert_eq!(refused.map(|e| (e.subject, e.actor)), Some(("boss".to_owned(), Some("window".to_owned()))));

    // The owner changes their own PIN (a 4-digit one is refused), then signs out: refunds are refused again.
    let h = &mut t.h;
    type_into(h, "Current PIN", "246810");
    type_into(h, "New PIN for me", "1234");
    click(h, "Change PIN");
    wait_for(h, "owner PINs must be 6 to 12 digits");
    type_into(h, "Current PIN", "246810");
    type_into(h, "New PIN for me", "135791");
    click(h, "Change PIN");
    wait_for(h, "PIN changed");
    assert_eq!(db(&t).staff_mut().verify_pin("boss", "135791").unwrap().name, "boss");
    let h = &mut t.h;
    click(h, "Sign out");
    wait_for(h, "Operator: not signed in");
    click(h, "Sandbox (embedded gateways, no real money moves)");
    wait_for(h, "Sign in as owner to change settings (Settings → Staff)");
    assert_eq!(h.state().ctx.mode, ChannelMode::Live);
}

#[test]
fn the_owner_deactivates_a_leaver_who_then_cannot_sign_in_and_takes_them_back() {
    let mut t = till(Lang::En);
    db(&t).staff_mut().add_operator("amy", Role::Cashier, "1357", None).unwrap();
    let h = &mut t.h;
    go(h, Screen::Settings);
    type_into(h, "Operator", "boss");
    type_into(h, "PIN", "246810");
    click(h, "Sign in / switch");
    wait_for(h, "Operator: boss");
    // The staff list: amy with Deactivate; the owner signed in has no button of their own.
    wait_for(h, "amy");
    assert_eq!(h.query_all_by_label("Deactivate").count(), 1);
    click(h, "Deactivate");
    wait_for(h, "Deactivated amy");
    assert!(!db(&t).staff().operator_by_name("amy").unwrap().unwrap().active);
    let h = &mut t.h;
    wait_for(h, "deactivated");
    click(h, "Sign out");
    wait_for(h, "Operator: not signed in");
    type_into(h, "Operator", "amy");
    type_into(h, "PIN", "1357");
    click(h, "Sign in / switch");
    wait_for(h, "the name or the PIN is wrong");
    // The owner takes amy back; she signs in.
    ui_common::replace_text(h, "Operator", "boss");
    type_into(h, "PIN", "246810");
    click(h, "Sign in / switch");
    wait_for(h, "Operator: boss");
    wait_for(h, "Reactivate");
    click(h, "Reactivate");
    wait_for(h, "Reactivated amy");
    let entry = db(&t).staff().audit_page(None, 20).unwrap().into_iter().find(|e| e.action == "operator.reactivate");
    assert_eq!(entry.map(|e| e.subject), Some("amy".to_owned()));
    let h = &mut t.h;
    ui_common::replace_text(h, "Operator", "amy");
    type_into(h, "PIN", "1357");
    click(h, "Sign in / switch");
    wait_for(h, "Operator: amy");
}
