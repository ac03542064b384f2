//! A day's reconciliation at a merchant backend on PostgreSQL, at scale: the generated WeChat Pay bill of N rows
//! (default 1,000,000; see `benches/recon.rs`) served by the account's channel, and the N local orders in the shared
//! database. Times `Backend::reconcile_bill_day` — claim the day, download the bill, build the scratch database
//! (catalogue copy, bill import, the day's orders fetched from PostgreSQL and copied in), reconcile, publish the run
//! with the bill gzipped — and reports the peak memory of the process (VmHWM, reset before) and the differences.
//!
//! `SERVE_RECON_DATABASE=postgres://postgres@127.0.0.1:5432/test cargo bench --bench serve_recon_pg`
//! (`RECON_BENCH_ROWS=100000` for a quick run; a schema of its own, dropped at the end). Without the variable it
//! says so and stops.

#[path = "common/recon_data.rs"]
mod recon_data;

use std::sync::Arc;
use std::time::Instant;

use tilldesk::channel::{
    BillResult, BoxFuture, CancelResult, Channel, PayRequest, PayResult, QueryResult, RefundQueryResult, RefundRequest,
    RefundResult,
};
use tilldesk::model::{AcquirerKind, ChannelMode};
use tilldesk::routing::Router;
use tilldesk::serve::Backend;
use tilldesk::store::Store;

/// An account that only serves the day's bill (read from its file when asked, as a download would arrive).
struct BillOnly(std::path::PathBuf);

impl Channel for BillOnly {
    fn kind(&self) -> AcquirerKind {
        AcquirerKind::WechatPay
    }
    fn pay<'a>(&'a self, _req: &'a PayRequest) -> BoxFuture<'a, PayResult> {
        Box::pin(async { PayResult::Unknown("bill only".into()) })
    }
    fn query<'a>(&'a self, _out_trade_no: &'a str) -> BoxFuture<'a, QueryResult> {
        Box::pin(async { QueryResult::Unknown("bill only".into()) })
    }
    fn cancel<'a>(&'a self, _out_trade_no: &'a str) -> BoxFuture<'a, CancelResult> {
        Box::pin(async { CancelResult::Unknown("bill only".into()) })
    }
    fn refund<'a>(&'a self, _req: &'a RefundRequest) -> BoxFuture<'a, RefundResult> {
        Box::pin(async { RefundResult::Unknown("bill only".into()) })
    }
    fn refund_query<'a>(&'a self, _o: &'a str, _r: &'a str) -> BoxFuture<'a, RefundQueryResult> {
        Box::pin(async { RefundQueryResult::Unknown("bill only".into()) })
    }
    fn bill<'a>(&'a self, _bill_date: time::Date) -> BoxFuture<'a, BillResult> {
        Box::pin(async {
            match std::fs::read(&self.0) {
                Ok(bytes) => BillResult::Bill { file_name: "wechat_20261124_all.txt".into(), bytes },
                Err(e) => BillResult::Failed(e.to_string()),
            }
        })
    }
}

fn vm_hwm_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    kb / 1024
}

/// One statement's orders, column by column (for `unnest`).
#[derive(Default)]
struct Columns {
    out_trade_no: Vec<String>,
    trade_no: Vec<Option<String>>,
    store_id: Vec<i64>,
    acquirer_id: Vec<i64>,
    subject: Vec<String>,
    total_amount: Vec<i64>,
    status: Vec<String>,
    created_at: Vec<String>,
    paid_at: Vec<Option<String>>,
}

/// The template's orders into PostgreSQL, 20,000 a statement.
async fn copy_orders(template: &std::path::Path, pg: &tokio_postgres::Client) -> u64 {
    let conn = rusqlite::Connection::open(template).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT out_trade_no, trade_no, store_id, acquirer_id, subject, total_amount, status, created_at, paid_at
             FROM orders ORDER BY id",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut n = 0;
    loop {
        let mut c = Columns::default();
        while c.out_trade_no.len() < 20_000 {
            let Some(r) = rows.next().unwrap() else { break };
            c.out_trade_no.push(r.get(0).unwrap());
            c.trade_no.push(r.get(1).unwrap());
            c.store_id.push(r.get(2).unwrap());
            c.acquirer_id.push(r.get(3).unwrap());
            c.subject.push(r.get(4).unwrap());
            c.total_amount.push(r.get(5).unwrap());
            c.status.push(r.get(6).unwrap());
            c.created_at.push(r.get(7).unwrap());
            c.paid_at.push(r.get(8).unwrap());
        }
        if c.out_trade_no.is_empty() {
            return n;
        }
        n += pg
            .execute(
                "INSERT INTO orders (out_trade_no, trade_no, store_id, acquirer_id, subject, total_amount, status,
                    created_at, paid_at, updated_at)
                 SELECT o, t, s, a, sub, amt, st, c::timestamptz, p::timestamptz, c::timestamptz
                 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::text[],
                             $8::text[], $9::text[]) AS x(o, t, s, a, sub, amt, st, c, p)",
                &[
                    &c.out_trade_no,
                    &c.trade_no,
                    &c.store_id,
                    &c.acquirer_id,
                    &c.subject,
                    &c.total_amount,
                    &c.status,
                    &c.created_at,
                    &c.paid_at,
                ],
            )
            .await
            .unwrap();
    }
}

fn main() {
    let Ok(url) = std::env::var("SERVE_RECON_DATABASE") else {
        println!("skipped: set SERVE_RECON_DATABASE=postgres://… to run the backend's reconciliation on PostgreSQL");
        return;
    };
    let n: u64 = std::env::var("RECON_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(std::env::var_os("RECON_BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()))
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let schema = format!("tilldesk_bench_{}", hex::encode(rand::random::<[u8; 6]>()));
    let (pg, conn) = rt.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls)).unwrap();
    rt.spawn(conn);
    rt.block_on(pg.batch_execute(&format!("CREATE SCHEMA {schema}"))).unwrap();

    // The catalogue (the account and the default store), and a copy of it holding the N orders.
    let catalogue = dir.path().join("catalogue.sqlite3");
    let account = {
        let mut store = Store::open(&catalogue).unwrap();
        store.setup_mut().default_store().unwrap();
        let id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
        store.setup().acquirers().unwrap().into_iter().find(|a| a.id == id).unwrap()
    };
    let template = dir.path().join("orders.sqlite3");
    Store::open(&catalogue).unwrap().copy_into(&template).unwrap();
    let t = Instant::now();
    let bill = dir.path().join("wechat_bill.txt");
    recon_data::write_bill(n, &bill, &dir.path().join("rows.csv"));
    recon_data::write_orders(n, &template);
    let shared = rt.block_on(tilldesk::store::pg::PgStore::open(&url, Some(&schema))).unwrap();
    rt.block_on(pg.batch_execute(&format!("SET search_path = {schema}"))).unwrap();
    let copied = rt.block_on(copy_orders(&template, &pg));
    let bill_mb = std::fs::metadata(&bill).unwrap().len() as f64 / 1e6;
    eprintln!("setup: {n} bill rows ({bill_mb:.0} MB), {copied} orders in PostgreSQL, in {:.1?}", t.elapsed());

    let router = Router::from_channels(ChannelMode::Sandbox, vec![(account, Arc::new(BillOnly(bill.clone())))]);
    let backend = Backend::from_postgres(shared, &catalogue, dir.path()).unwrap().serving(router);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = vm_hwm_mb();
    let start = Instant::now();
    let pass = rt.block_on(backend.reconcile_bill_day(time::macros::date!(2026 - 11 - 24), false)).unwrap();
    let elapsed = start.elapsed();
    let peak = vm_hwm_mb();
    assert!(pass.failed.is_empty(), "{:?}", pass.failed);
    let run = pass.reconciled.first().expect("the day reconciled");
    let kept: i64 = rt
        .block_on(pg.query_one("SELECT COALESCE(SUM(length(content)), 0)::bigint FROM recon_bills", &[]))
        .unwrap()
        .get(0);
    println!("backend reconciliation on PostgreSQL, {n} rows:");
    println!(
        "  claim + download + scratch + reconcile + publish: {:>8.2} s, peak RSS {peak} MB (before: {before} MB)",
        elapsed.as_secs_f64()
    );
    println!(
        "  run {}: {} differences ({} open); the bill kept gzipped: {:.1} MB of {bill_mb:.0} MB",
        run.run_id,
        run.differences,
        run.open,
        kept as f64 / 1e6
    );
    drop(backend);
    rt.block_on(pg.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))).unwrap();
}
