//! The dashboard (概览) of a merchant backend on PostgreSQL, at scale: N orders (default 1,000,000) spread over the
//! last 30 China days across three stores, three acquirer accounts and ten cashiers, most paid, some refunded; then
//! `Backend::dashboard` for today, the last 7 days and the last 30 days as head office asks it (`GET /v1/dashboard`
//! without the HTTP): one grouped scan of the span's orders and the two spans it is compared with. Best of five.
//!
//! `SERVE_DASHBOARD_DATABASE=postgres://postgres@127.0.0.1:5432/test cargo bench --bench serve_dashboard_pg`
//! (`DASHBOARD_BENCH_ROWS=100000` for a quick run; a schema of its own, dropped at the end). Without the variable it
//! says so and stops.

use std::time::{Duration, Instant};

use tilldesk::channel::backend::dashboard::DashboardQuery;
use tilldesk::model::{AcquirerKind, ChannelMode};
use tilldesk::routing::Router;
use tilldesk::serve::Backend;
use tilldesk::serve::office::Scope;
use tilldesk::store::Store;

fn main() {
    let Ok(url) = std::env::var("SERVE_DASHBOARD_DATABASE") else {
        println!("skipped: set SERVE_DASHBOARD_DATABASE=postgres://… to time the backend's dashboard on PostgreSQL");
        return;
    };
    let n: i64 = std::env::var("DASHBOARD_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let schema = format!("tilldesk_bench_{}", hex::encode(rand::random::<[u8; 6]>()));
    let (pg, conn) = rt.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls)).unwrap();
    rt.spawn(conn);
    rt.block_on(pg.batch_execute(&format!("CREATE SCHEMA {schema}"))).unwrap();

    // The catalogue: three stores, the three wallets' accounts.
    let catalogue = dir.path().join("catalogue.sqlite3");
    {
        let mut store = Store::open(&catalogue).unwrap();
        store.orders_mut().seed_varied_orders(1, 1, 1, &mut |_| {}).unwrap();
        for kind in [AcquirerKind::Alipay, AcquirerKind::WechatPay, AcquirerKind::AlipayPlus] {
            store.setup_mut().acquirer_for(kind).unwrap();
        }
    }
    let shared = rt.block_on(tilldesk::store::pg::PgStore::open(&url, Some(&schema))).unwrap();
    rt.block_on(pg.batch_execute(&format!("SET search_path = {schema}"))).unwrap();
    let t = Instant::now();
    let inserted = rt
        .block_on(pg.execute(
            "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, operator_id, subject, total_amount,
                refunded_amount, status, created_at, paid_at, updated_at)
             SELECT 'TDB' || g, '2026' || g, 1 + g % 3, 1 + g % 3, NULLIF(g % 11, 0), 'bench', 100 + (g * 7919) % 50000,
                    CASE WHEN g % 23 = 0 THEN 100 ELSE 0 END,
                    CASE WHEN g % 23 = 0 THEN 'PARTIALLY_REFUNDED' WHEN g % 17 = 0 THEN 'FAILED' ELSE 'PAID' END,
                    now() - (g * 2592000 / $1::bigint) * INTERVAL '1 second',
                    now() - (g * 2592000 / $1::bigint) * INTERVAL '1 second', now()
             FROM generate_series(1, $1::bigint) AS g",
            &[&n],
        ))
        .unwrap();
    rt.block_on(pg.batch_execute("ANALYZE orders")).unwrap();
    eprintln!("setup: {inserted} orders over 30 days in PostgreSQL, in {:.1?}", t.elapsed());

    let router = Router::from_channels(ChannelMode::Sandbox, Vec::new());
    let backend = Backend::from_postgres(shared, &catalogue, dir.path()).unwrap().serving(router);
    let today = tilldesk::time::china_date(time::OffsetDateTime::now_utc());
    println!("backend dashboard on PostgreSQL, {n} orders over 30 days (best of 5):");
    for (label, days) in [("today", 0), ("last 7 days", 6), ("last 30 days", 29)] {
        let q = DashboardQuery {
            from: (today - time::Duration::days(days)).to_string(),
            to: today.to_string(),
            store: None,
        };
        let mut best = Duration::MAX;
        let mut figures = None;
        for _ in 0..5 {
            let start = Instant::now();
            let f = rt.block_on(backend.dashboard(Scope::AllStores, &q)).unwrap();
            best = best.min(start.elapsed());
            figures = Some(f);
        }
        let f = figures.unwrap();
        println!(
            "  {label:<13} {:>8.1} ms  ({} orders, {} paid, ¥{}; {} stores, {} cashiers)",
            best.as_secs_f64() * 1000.0,
            f.totals.count,
            f.totals.paid_count,
            f.totals.paid_amount,
            f.by_store.len(),
            f.by_cashier.len()
        );
    }
    drop(backend);
    rt.block_on(pg.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))).unwrap();
}
