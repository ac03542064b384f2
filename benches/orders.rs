//! The Orders screen and its queries over 1,000,000 orders.
//!
//! - `frame/*`: one frame of the real app on the Orders screen in a headless egui context (1280 × 800): a steady
//!   frame (the visible page cached), and the first frame after the list was invalidated (the recount of the
//!   filter's totals started on its own thread), as after a refund or coming back to the screen.
//! - `totals/*` and `first_page/*`: each filter of the filter bar on its own, and all of them together: the count
//!   and sums shown on top, and the first 200 rows of the list.
//! - `page/*`: the next page by keyset, and a jump to row 500,000 (by offset).
//! - `dashboard/*`: today's and this week's figures.
//!
//! `cargo bench --bench orders`; `ORDERS_BENCH_ROWS=100000` for a quicker run. The generated database is kept in
//! `target/bench-data/` and reused.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use tilldesk::config::DataHome;
use tilldesk::dashboard::{Period, dashboard};
use tilldesk::model::{AcquirerKind, OperatorId, OrderStatus};
use tilldesk::money::Amount;
use tilldesk::store::Store;
use tilldesk::store::order_query::{OrderFilter, OrderSort};
use tilldesk::ui::{Screen, TillDeskApp, fonts};

fn rows() -> u64 {
    std::env::var("ORDERS_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// A data folder with `rows()` orders over the last 90 days, generated once.
fn data_dir() -> PathBuf {
    let n = rows();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join(format!("orders-{n}"));
    let db = dir.join("tilldesk.sqlite3");
    let ready = Store::open(&db).ok().and_then(|s| s.order_totals(&OrderFilter::default()).ok()).map(|t| t.count);
    if ready != Some(n as i64) {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let started = std::time::Instant::now();
        let mut store = Store::open(&db).unwrap();
        store.seed_demo_orders(n, 90, &mut |_| {}).unwrap();
        eprintln!("seeded {n} orders in {:.1} s", started.elapsed().as_secs_f64());
    }
    dir
}

fn raw_input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0))),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let dir = data_dir();
    let mut store = Store::open(&dir.join("tilldesk.sqlite3")).unwrap();
    let alipay = store.acquirer_for(AcquirerKind::Alipay).unwrap();
    let shop = store.default_store().unwrap();
    let offset = tilldesk::time::local_offset();
    let now = time::OffsetDateTime::now_utc();
    let some_order = store.orders_page(&OrderFilter::default(), OrderSort::NewestFirst, None, 1).unwrap().0;
    let prefix: String = some_order[0].out_trade_no.chars().take(14).collect();
    let today = Period::Today.filter(now, offset);
    let week = Period::ThisWeek.filter(now, offset);

    // One frame of the app on the Orders screen.
    let home = DataHome::open(&dir).unwrap();
    let mut app = TillDeskApp::new(home).unwrap();
    app.screen = Screen::Orders;
    let ctx = egui::Context::default();
    fonts::install_cjk_font(&ctx);
    for _ in 0..3 {
        let _ = ctx.run_ui(raw_input(), |ui| app.show(ui));
    }
    let mut g = c.benchmark_group("frame");
    g.sample_size(20);
    g.bench_function("orders_screen_steady", |b| b.iter(|| ctx.run_ui(raw_input(), |ui| app.show(ui))));
    // The frame that starts a recount (after a refund, or coming back to the screen), timed alone; the count runs
    // on its own thread and is awaited, untimed, before the next iteration.
    g.bench_function("orders_screen_after_invalidate", |b| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iters {
                app.orders.invalidate();
                let started = std::time::Instant::now();
                let _ = ctx.run_ui(raw_input(), |ui| app.show(ui));
                spent += started.elapsed();
                while app.orders.is_counting() {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    let _ = ctx.run_ui(raw_input(), |ui| app.show(ui));
                }
            }
            spent
        })
    });
    g.finish();

    let filters: Vec<(&str, OrderFilter)> = vec![
        ("none", OrderFilter::default()),
        ("date_today", today.clone()),
        ("date_this_week", week.clone()),
        ("store", OrderFilter { store: Some(shop), ..Default::default() }),
        ("acquirer", OrderFilter { acquirer: Some(alipay), ..Default::default() }),
        ("status_paid", OrderFilter { statuses: vec![OrderStatus::Paid], ..Default::default() }),
        (
            "amount_100_to_200",
            OrderFilter {
                min_amount: Some(Amount::from_fen(10_000)),
                max_amount: Some(Amount::from_fen(20_000)),
                ..Default::default()
            },
        ),
        ("operator", OrderFilter { operator: Some(OperatorId(1)), ..Default::default() }),
        ("search_out_trade_no", OrderFilter { search: Some(prefix), ..Default::default() }),
        ("search_subject", OrderFilter { search: Some("拿铁".into()), ..Default::default() }),
        (
            "week_acquirer_amount",
            OrderFilter {
                acquirer: Some(alipay),
                min_amount: Some(Amount::from_fen(10_000)),
                max_amount: Some(Amount::from_fen(20_000)),
                ..week.clone()
            },
        ),
    ];
    let mut g = c.benchmark_group("totals");
    g.sample_size(10);
    for (name, f) in &filters {
        g.bench_function(*name, |b| b.iter(|| store.order_totals(f).unwrap()));
    }
    g.finish();
    let mut g = c.benchmark_group("first_page");
    g.sample_size(10);
    for (name, f) in &filters {
        g.bench_function(*name, |b| b.iter(|| store.orders_page(f, OrderSort::NewestFirst, None, 200).unwrap()));
    }
    g.bench_function("none_largest_first", |b| {
        b.iter(|| store.orders_page(&OrderFilter::default(), OrderSort::LargestFirst, None, 200).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("page");
    g.sample_size(10);
    let none = OrderFilter::default();
    let (_, key) = store.orders_page(&none, OrderSort::NewestFirst, None, 200).unwrap();
    let key = key.unwrap();
    g.bench_function("next_by_keyset", |b| {
        b.iter(|| store.orders_page(&none, OrderSort::NewestFirst, Some(&key), 200).unwrap())
    });
    let middle = rows() / 2;
    g.bench_function("jump_to_middle_by_offset", |b| {
        b.iter(|| store.orders_page_at(&none, OrderSort::NewestFirst, middle, 200).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("dashboard");
    g.sample_size(10);
    for p in Period::ALL {
        let name = match p {
            Period::Today => "today",
            Period::ThisWeek => "this_week",
        };
        g.bench_function(name, |b| b.iter(|| dashboard(&store, p, now, offset).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
