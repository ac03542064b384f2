//! 交接班 in the window (issue 20): a cashier signs in (their shift opens), takes an Alipay and a WeChat Pay sale
//! with the keyboard, the back office refunds part of one, and F10 then Enter closes the shift: the screen shows the
//! per-wallet counts, amounts and net, frozen in the database. A sale with nobody signed in is in the day close but
//! in no shift.

mod ui_common;

use std::sync::Arc;

use egui_kittest::kittest::Queryable;

use tilldesk::checkout::{CheckoutSettings, SystemClock};
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::i18n::Lang;
use tilldesk::model::{Operator, Role};
use tilldesk::money::Amount;
use tilldesk::refund::{RefundDesk, RefundSettings};
use tilldesk::store::Store;
use tilldesk::ui::{SandboxStatus, TillDeskApp};
use ui_common::{AppHarness, harness, screen_text, type_and_enter, wait_for};

struct Till {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    h: AppHarness,
    boss: Operator,
    amy: Operator,
}

/// A till on the sandbox with an owner (boss) and a cashier (amy); `amy_signed_in`: amy signs in first.
fn till(lang: Lang, amy_signed_in: bool) -> Till {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, lang.tag(), None).unwrap();
    home.store.set_setting(CheckoutSettings::POLL_INTERVAL_KEY, "1", None).unwrap();
    let boss = home.store.staff_mut().add_operator("boss", Role::Owner, "246810", None).unwrap();
    let amy = home.store.staff_mut().add_operator("amy", Role::Cashier, "1357", Some(boss.id)).unwrap();
    let sandbox = rt
        .block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.ctx.runtime = Some(rt.handle().clone());
    app.ctx.sandbox = SandboxStatus::Running(sandbox);
    if amy_signed_in {
        app.ctx.sign_in(Some(&amy));
    }
    let h = harness(app, [1280.0, 800.0]);
    Till { dir, rt, h, boss, amy }
}

fn db(t: &Till) -> Store {
    Store::open(&t.dir.path().join(tilldesk::config::DATABASE_FILE)).unwrap()
}

/// Whether `row` appears on screen as consecutive labels (a table row read in order; each label's node and its
/// text run both carry the text, so every cell comes twice).
fn has_row(h: &AppHarness, row: &[&str]) -> bool {
    let text = screen_text(h);
    let doubled: Vec<&str> = row.iter().flat_map(|c| [*c, *c]).collect();
    text.windows(doubled.len()).any(|w| w.iter().zip(&doubled).all(|(a, b)| a == b))
}

fn refund(t: &Till, out_trade_no: &str, fen: i64) {
    let ctx = &t.h.state().ctx;
    let router = ctx.queue.submit_routed(ctx.channels().unwrap(), |_, router| router).wait().unwrap().unwrap();
    let desk = RefundDesk::new(db(t), router, Arc::new(SystemClock), RefundSettings::default());
    let r = t.rt.block_on(desk.refund(&t.boss, out_trade_no, Amount::from_fen(fen), "broken cup")).unwrap();
    assert_eq!(r.status, tilldesk::model::RefundStatus::Success);
}

#[test]
fn a_cashier_closes_the_shift_with_the_keyboard_and_sees_the_figures_per_wallet() {
    let mut t = till(Lang::En, true);
    let store = db(&t);
    let till = tilldesk::config::this_till(&mut db(&t)).unwrap();
    let open =
        tilldesk::shifts::open_shift_of(&store, &till, t.amy.id).unwrap().expect("signing in opened amy's shift");
    let h = &mut t.h;
    wait_for(h, "Ready to take payments");
    type_and_enter(h, "12.34");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received · Alipay");
    type_and_enter(h, "5.60");
    type_and_enter(h, "130000000000000000");
    wait_for(h, "Payment received · WeChat Pay");
    let orders = store.orders().recent_orders(5).unwrap();
    assert!(orders.iter().all(|o| o.operator_id == Some(t.amy.id)), "recorded for amy");
    let wechat = orders.iter().find(|o| o.total_amount.fen() == 560).unwrap().out_trade_no.clone();
    // The back office gives ¥2.00 of the WeChat sale back.
    refund(&t, &wechat, 200);

    // F10: the shift screen asks to confirm; Enter closes the shift.
    let h = &mut t.h;
    h.key_press(egui::Key::F10);
    wait_for(h, "Close the shift? (Enter closes");
    h.key_press(egui::Key::Enter);
    wait_for(h, "Handover summary");
    wait_for(h, &format!("Shift {} closed", open.id));
    for row in [
        ["WeChat Pay", "1", "¥5.60", "1", "¥2.00", "¥3.60"],
        ["Alipay", "1", "¥12.34", "0", "¥0.00", "¥12.34"],
        ["Total", "2", "¥17.94", "1", "¥2.00", "¥15.94"],
    ] {
        assert!(has_row(h, &row), "{row:?} not on screen: {:#?}", screen_text(h));
    }
    assert!(h.query_by_label("Print").is_some() && h.query_by_label("Export").is_some());
    // Frozen in the database: the figures the screen shows.
    let frozen = tilldesk::shifts::summary_of(&store, open.id, &tilldesk::time::now_utc()).unwrap();
    assert!(frozen.closed);
    assert_eq!((frozen.figures.paid_fen, frozen.figures.refund_fen, frozen.figures.net_fen), (1794, 200, 1594));
    assert!(tilldesk::shifts::open_shift_of(&store, &till, t.amy.id).unwrap().is_none());
    drop(t.rt);
}

#[test]
fn a_sale_with_nobody_signed_in_is_in_the_day_close_but_in_no_shift() {
    let mut t = till(Lang::En, true);
    let h = &mut t.h;
    wait_for(h, "Ready to take payments");
    type_and_enter(h, "12.34");
    type_and_enter(h, "2800000000000000");
    wait_for(h, "Payment received · Alipay");
    // amy signs out; a sale is taken with nobody signed in.
    h.state_mut().ctx.sign_in(None);
    type_and_enter(h, "3.00");
    type_and_enter(h, "130000000000000000");
    wait_for(h, "Payment received · WeChat Pay");
    let store = db(&t);
    assert_eq!(store.orders().recent_orders(5).unwrap().iter().filter(|o| o.operator_id.is_none()).count(), 1);
    // The owner closes the day: amy's shift is still open, so it is named and closed first.
    let boss = t.boss.clone();
    let h = &mut t.h;
    h.state_mut().ctx.sign_in(Some(&boss));
    ui_common::click(h, "Shifts");
    wait_for(h, "Past shifts");
    wait_for(h, "amy");
    ui_common::click(h, "Close the day");
    wait_for(h, "These shifts are still open");
    ui_common::click(h, "Close them and the day");
    wait_for(h, "Sales with nobody signed in: 1 · net ¥3.00");
    assert!(has_row(h, &["Total", "2", "¥15.34", "0", "¥0.00", "¥15.34"]), "{:#?}", screen_text(h));
    assert!(h.query_all_by_label_contains("amy · net ¥12.34").count() >= 1, "{:#?}", screen_text(h));
    // amy's shift holds her sale only.
    let shifts = tilldesk::shifts::list(&store, None, None, &tilldesk::time::now_utc()).unwrap();
    assert_eq!(shifts.len(), 1);
    assert!(shifts[0].closed_at.is_some());
    assert_eq!(
        (shifts[0].operator.as_str(), shifts[0].figures.paid_count, shifts[0].figures.paid_fen),
        ("amy", 1, 1234)
    );
    // The day is closed once; the owner may reopen it.
    let day = tilldesk::shifts::day_text(tilldesk::shifts::today());
    let till = tilldesk::config::this_till(&mut db(&t)).unwrap();
    assert!(store.shifts().day_close_of(till.store_id, &day).unwrap().is_some());
    let h = &mut t.h;
    wait_for(h, "This day was closed at");
    ui_common::click(h, "Reopen the day (owner)");
    wait_for(h, &format!("{day} reopened: it can be closed again"));
    assert!(store.shifts().day_close_of(till.store_id, &day).unwrap().is_none());
    let _ = &t.amy;
    drop(t.rt);
}
