//! The Orders screen and its queries over 1,000,000 orders (issue 21).
//!
//! The database: `Orders::seed_varied_orders` — 1,000,000 orders over 90 days, three stores, three wallets, two
//! cashiers and none, subjects like "三明治 Sandwich" (one in six), most paid, some refunded, failed (with an
//! acquirer's code) or closed — kept in `target/bench-data/` and reused. Every write went through the triggers of
//! migration 0017 (the trigram index and the running totals).
//!
//! - `search/*`: a word of letters ("Sandwich": count and first page), an order-number prefix.
//! - `preset/*`: each date preset (China days) with and without a status: totals and the first page.
//! - `scroll/*`: a window of rows in the middle and at the end (what a scrollbar drag or End reads), unfiltered,
//!   filtered by status, and searched.
//! - `detail/open`: what opening an order reads (order, timeline, refunds, refundable, fee and failure).
//! - `dashboard/*`: the 概览 of each preset.
//! - `frame/*`: the real app on the Orders screen in a headless egui context (1280 × 800): a steady frame, and the
//!   frame that handles End / Home with the rows not yet read (input to the new frame).
//!
//! `cargo bench --bench orders`; `ORDERS_BENCH_ROWS=100000` for a quicker run.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tilldesk::config::DataHome;
use tilldesk::dashboard::{Period, dashboard};
use tilldesk::model::OrderStatus;
use tilldesk::store::Store;
use tilldesk::store::order_query::{OrderFilter, OrderSort};
use tilldesk::ui::{Screen, TillDeskApp, fonts};

fn rows() -> u64 {
    std::env::var("ORDERS_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// A data folder with `rows()` varied orders over the last 90 days, generated once.
fn data_dir() -> PathBuf {
    let n = rows();
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join(format!("orders21c-{n}"));
    let db = dir.join("tilldesk.sqlite3");
    let ready =
        Store::open(&db).ok().and_then(|s| s.orders().order_totals(&OrderFilter::default()).ok()).map(|t| t.count);
    if ready != Some(n as i64) {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let started = std::time::Instant::now();
        let mut store = Store::open(&db).unwrap();
        store.staff_mut().add_operator("amy", tilldesk::model::Role::Cashier, "1357", None).unwrap();
        store.staff_mut().add_operator("bo", tilldesk::model::Role::Cashier, "2468", None).unwrap();
        store.orders_mut().seed_varied_orders(n, 90, 21, &mut |_| {}).unwrap();
        eprintln!(
            "seeded {n} orders (with the indexes and running totals of migrations 0017, 0018 and 0021) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    dir
}

fn raw_input(events: Vec<egui::Event>) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0))),
        events,
        ..Default::default()
    }
}

fn key(k: egui::Key) -> egui::Event {
    egui::Event::Key { key: k, physical_key: None, pressed: true, repeat: false, modifiers: egui::Modifiers::NONE }
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    let store = Store::open(&dir.join("tilldesk.sqlite3")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let sandwich = OrderFilter { search: Some("Sandwich".into()), ..Default::default() };
    eprintln!("\"Sandwich\" matches {} orders", store.orders().order_totals(&sandwich).unwrap().count);
    let newest = store.orders().orders_page(&OrderFilter::default(), OrderSort::NewestFirst, None, 1).unwrap().0;
    let prefix: String = newest[0].out_trade_no.chars().take(14).collect();
    let number = OrderFilter { search: Some(prefix), ..Default::default() };

    let mut g = c.benchmark_group("search");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    g.bench_function("sandwich_count", |b| b.iter(|| store.orders().order_totals(&sandwich).unwrap()));
    g.bench_function("sandwich_first_page", |b| {
        b.iter(|| store.orders().orders_page(&sandwich, OrderSort::NewestFirst, None, 100).unwrap())
    });
    let week = Period::Last7Days.filter(now);
    let searches = [
        ("sandwich_7_days", OrderFilter { search: Some("Sandwich".into()), ..week.clone() }),
        (
            "sandwich_paid",
            OrderFilter { search: Some("sandwich".into()), statuses: vec![OrderStatus::Paid], ..Default::default() },
        ),
        ("latte_chinese_2_chars", OrderFilter { search: Some("拿铁".into()), ..Default::default() }),
        ("an_two_subjects", OrderFilter { search: Some("an".into()), ..Default::default() }),
        // An amount range is not in the running totals: counted over the orders of the subject.
        (
            "sandwich_over_100_yuan",
            OrderFilter {
                search: Some("Sandwich".into()),
                min_amount: Some(tilldesk::money::Amount::from_fen(10_000)),
                ..Default::default()
            },
        ),
    ];
    let amount = |min: i64, max: Option<i64>, f: &OrderFilter| OrderFilter {
        min_amount: Some(tilldesk::money::Amount::from_fen(min)),
        max_amount: max.map(tilldesk::money::Amount::from_fen),
        ..f.clone()
    };
    let all = OrderFilter::default();
    let one_store = OrderFilter { store: Some(store.setup().stores().unwrap()[0].id), ..Default::default() };
    let wallet = store.setup().acquirers().unwrap()[0].id;
    let one_wallet = OrderFilter { acquirer: Some(wallet), ..Default::default() };
    let one_wallet_week = OrderFilter { acquirer: Some(wallet), ..week.clone() };
    let amounts = [
        ("amount_from_1_yuan", amount(100, None, &all)),
        ("amount_from_100_yuan", amount(10_000, None, &all)),
        ("amount_50_to_150_yuan", amount(5_000, Some(15_000), &all)),
        ("amount_from_100_yuan_7_days", amount(10_000, None, &week)),
        ("amount_19_99_to_22_yuan", amount(1_999, Some(2_200), &all)),
        // With a store (in the band totals) and with a wallet or a cashier (not: walked).
        ("amount_from_100_yuan_one_store", amount(10_000, None, &one_store)),
        ("amount_from_100_yuan_one_wallet", amount(10_000, None, &one_wallet)),
        ("amount_from_100_yuan_one_wallet_7_days", amount(10_000, None, &one_wallet_week)),
    ];
    for (name, f) in searches.iter().chain(amounts.iter()) {
        eprintln!("{name} matches {} orders", store.orders().order_totals(f).unwrap().count);
        g.bench_function(format!("{name}_count"), |b| b.iter(|| store.orders().order_totals(f).unwrap()));
        g.bench_function(format!("{name}_first_page"), |b| {
            b.iter(|| store.orders().orders_page(f, OrderSort::NewestFirst, None, 100).unwrap())
        });
    }
    g.bench_function("number_prefix_count", |b| b.iter(|| store.orders().order_totals(&number).unwrap()));
    g.bench_function("number_prefix_first_page", |b| {
        b.iter(|| store.orders().orders_page(&number, OrderSort::NewestFirst, None, 100).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("preset");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for p in Period::PRESETS {
        let name = match p {
            Period::Today => "today",
            Period::Yesterday => "yesterday",
            Period::Last7Days => "last_7_days",
            Period::ThisMonth => "this_month",
            Period::Custom(..) => "custom",
        };
        let days = p.filter(now);
        let failed = OrderFilter { statuses: vec![OrderStatus::Failed], ..days.clone() };
        for (what, f) in [("", &days), ("_failed", &failed)] {
            g.bench_function(format!("{name}{what}_totals"), |b| b.iter(|| store.orders().order_totals(f).unwrap()));
            g.bench_function(format!("{name}{what}_first_page"), |b| {
                b.iter(|| store.orders().orders_page(f, OrderSort::NewestFirst, None, 100).unwrap())
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("scroll");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    let paid = OrderFilter { statuses: vec![OrderStatus::Paid], ..Default::default() };
    let two = OrderFilter { search: Some("an".into()), ..Default::default() };
    for (name, f) in
        [("all", OrderFilter::default()), ("paid", paid), ("sandwich", sandwich.clone()), ("an_two_subjects", two)]
    {
        let total = store.orders().order_totals(&f).unwrap().count as u64;
        g.bench_function(format!("{name}_middle"), |b| {
            b.iter(|| store.orders().orders_window(&f, OrderSort::NewestFirst, total / 2, 100, total).unwrap())
        });
        g.bench_function(format!("{name}_end"), |b| {
            b.iter(|| {
                store.orders().orders_window(&f, OrderSort::NewestFirst, total.saturating_sub(30), 100, total).unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("detail");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    let failed = store
        .orders()
        .orders_page(
            &OrderFilter { statuses: vec![OrderStatus::Failed], ..Default::default() },
            OrderSort::OldestFirst,
            None,
            1,
        )
        .unwrap()
        .0
        .remove(0);
    g.bench_function("open", |b| {
        b.iter(|| {
            let o = store.orders().order_by_out_trade_no(&failed.out_trade_no).unwrap().unwrap();
            let events = store.orders().order_events(o.id).unwrap();
            let refunds = store.refunds().refunds_of(o.id).unwrap();
            let refundable = store.refunds().refundable(&o).unwrap();
            let extras = store.orders().order_list_extras(&[o.id]).unwrap();
            (events, refunds, refundable.remaining(), extras)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("dashboard");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for p in [Period::Today, Period::Yesterday, Period::Last7Days] {
        g.bench_function(p.label(tilldesk::i18n::Lang::En), |b| b.iter(|| dashboard(&store, p, now).unwrap()));
    }
    g.finish();

    // The real app, one frame at a time.
    let home = DataHome::open(&dir).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Orders;
    let ctx = egui::Context::default();
    fonts::install_cjk_font(&ctx);
    while {
        let _ = ctx.run_ui(raw_input(Vec::new()), |ui| app.show(ui));
        app.orders.is_counting() || app.orders.is_reading()
    } {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = ctx.run_ui(raw_input(Vec::new()), |ui| app.show(ui));
    let mut g = c.benchmark_group("frame");
    g.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    g.bench_function("orders_screen_steady", |b| b.iter(|| ctx.run_ui(raw_input(Vec::new()), |ui| app.show(ui))));
    // End (or Home) pressed with the rows there not read yet: the frame that takes the key and sends the window's
    // read to the command queue, then frames until the rows are drawn. Every iteration forgets the rows read before.
    let mut to_end = true;
    g.bench_function("end_or_home_key_to_rows_drawn", |b| {
        b.iter(|| {
            app.orders.forget_rows();
            let k = if to_end { egui::Key::End } else { egui::Key::Home };
            to_end = !to_end;
            let mut out = ctx.run_ui(raw_input(vec![key(k)]), |ui| app.show(ui));
            while app.orders.is_reading() {
                std::thread::yield_now();
                out = ctx.run_ui(raw_input(Vec::new()), |ui| app.show(ui));
            }
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
