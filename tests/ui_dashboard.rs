//! The 概览 Dashboard as the owner reads it: today's and this week's figures, by acquirer and by hour, and "Show in
//! Orders" landing on the same totals.

mod ui_common;

use egui_kittest::kittest::Queryable;
use tilldesk::config::{DataHome, SETTING_LANGUAGE};
use tilldesk::dashboard::{Period, dashboard};
use tilldesk::i18n::Lang;
use tilldesk::store::Store;
use tilldesk::ui::{Screen, TillDeskApp};
use ui_common::wait_for;

#[test]
fn todays_figures_match_the_orders_screen_and_the_week_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut home = DataHome::open(dir.path()).unwrap();
    home.store.set_setting(SETTING_LANGUAGE, Lang::En.tag(), None).unwrap();
    home.store.seed_demo_orders(3000, 21, &mut |_| {}).unwrap();
    let db_path = home.store.path().to_owned();
    {
        // Whatever the hour, some of the orders are from this very minute.
        let db = rusqlite::Connection::open(&db_path).unwrap();
        db.execute("UPDATE orders SET created_at = ?1 WHERE id % 40 = 0", [tilldesk::time::now_utc()]).unwrap();
    }
    let offset = tilldesk::time::local_offset();
    let store = Store::open(&db_path).unwrap();
    let today = dashboard(&store, Period::Today, time::OffsetDateTime::now_utc(), offset).unwrap();
    let week = dashboard(&store, Period::ThisWeek, time::OffsetDateTime::now_utc(), offset).unwrap();
    assert!(today.paid_count() >= 75 && week.paid_count() >= today.paid_count());

    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Dashboard;
    let mut h = ui_common::harness(app, [1280.0, 900.0]);
    wait_for(&mut h, "as of ");
    h.get_by_label("Sales at a glance");
    for text in [
        format!("¥{}", today.gross()),
        format!("¥{}", today.refunds()),
        format!("¥{}", today.net()),
        today.paid_count().to_string(),
        format!("¥{}", today.average_ticket().unwrap()),
    ] {
        assert!(h.query_all_by_label(&text).next().is_some(), "the card {text:?} is shown");
    }
    // The by-acquirer table lists every acquirer's gross.
    for a in &today.by_acquirer {
        h.get_by_label(&a.name);
        assert!(h.query_all_by_label(&format!("¥{}", a.gross)).next().is_some());
    }
    h.get_by_label_contains("Busiest hour");

    // This week.
    h.get_by_label("This week").click();
    wait_for(&mut h, &format!("¥{}", week.gross()));
    assert!(h.query_all_by_label(&week.paid_count().to_string()).next().is_some());

    // Show in Orders: the same days, the same totals.
    h.get_by_label("Show in Orders").click();
    wait_for(&mut h, "Paid ¥");
    assert_eq!(h.state().screen, Screen::Orders);
    let line = format!(
        "Paid ¥{} ({})   ·   Refunded ¥{}   ·   Net ¥{}",
        week.gross(),
        week.paid_count(),
        week.refunds(),
        week.net()
    );
    assert!(h.query_by_label_contains(&line).is_some(), "the Orders screen shows {line:?}");
    let (first, last) = week.days;
    assert_eq!(
        store.order_totals(&week.filter).unwrap(),
        week.totals,
        "the week {first}…{last} counted the same either way"
    );
}
