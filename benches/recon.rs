//! Reconciliation at scale: a generated WeChat Pay bill of N rows (default 1,000,000) and N local orders.
//!
//! Measured side by side in one run:
//! - **TillDesk**: `recon::import_file` (stream-parse, one transaction, indexes) + `recon::reconcile` (matching,
//!   report, run recorded) on a copy of a database already holding the N orders;
//! - **raw load**: the `sqlite3` shell's `.import` of the same rows (as CSV) into an empty database.
//!
//! Then criterion samples both (10 samples). Peak memory: VmHWM of this process during the import + reconcile
//! (reset through /proc/self/clear_refs), and `/usr/bin/time`'s maximum RSS for `sqlite3`.
//!
//! `cargo bench --bench recon` (1M rows); `RECON_BENCH_ROWS=100000 cargo bench --bench recon` for a quick run.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::recon::{ImportControl, ImportOptions, ReconOptions, import_file, reconcile};
use tilldesk::store::Store;
use tilldesk::store::recon::SeedOrder;

const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Row i of the day: a payment between 1.00 and 500.99 at a time spread over 2026-11-24 (China time).
fn row(i: u64) -> (String, String, i64, String) {
    let secs = 60 + (i * 86_000 / 1_000_000) % 86_000;
    let time = format!("2026-11-24 {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let fen = 100 + (i as i64 * 7919) % 50_000;
    (format!("T{i:010}"), format!("42000020261124{i:014}"), fen, time)
}

/// Writes the bill (backticked text) and the same rows as CSV for sqlite3; returns nothing, streams to disk.
fn write_bill(n: u64, bill: &Path, csv: &Path) {
    let mut b = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(bill).unwrap());
    let mut c = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(csv).unwrap());
    write!(b, "{HEADER}\r\n").unwrap();
    writeln!(c, "{HEADER}").unwrap();
    let (mut total, mut fee) = (0i64, 0i64);
    for i in 0..n {
        let (out_trade_no, trade_no, fen, time) = row(i);
        let milli = fen * 6;
        total += fen;
        fee += milli;
        let fields = [
            time.as_str(),
            "wx2421b1c4370ec43b",
            "10000100",
            "0",
            "POS-01",
            &trade_no,
            &out_trade_no,
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "MICROPAY",
            "SUCCESS",
            "CMB_DEBIT",
            "CNY",
            &yuan(fen),
            "0.00",
            "0",
            "0",
            "0.00",
            "0.00",
            "",
            "",
            "拿铁咖啡（大杯）",
            "",
            &format!("{}.{:05}", milli / 100_000, milli % 100_000),
            "0.60%",
            &yuan(fen),
            "0.00",
            "",
        ];
        let mut first = true;
        for f in fields {
            if !first {
                b.write_all(b",").unwrap();
                c.write_all(b",").unwrap();
            }
            first = false;
            b.write_all(b"`").unwrap();
            b.write_all(f.as_bytes()).unwrap();
            c.write_all(f.as_bytes()).unwrap();
        }
        b.write_all(b"\r\n").unwrap();
        c.write_all(b"\n").unwrap();
    }
    write!(
        b,
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`{n},`{},`0.00,`0.00,`{}.{:05},`{},`0.00\r\n",
        yuan(total),
        fee / 100_000,
        fee % 100_000,
        yuan(total)
    )
    .unwrap();
    b.flush().unwrap();
    c.flush().unwrap();
}

/// A database with the N local orders: every 10,000th row of the bill has no local order (store-code payments),
/// every 5,000th local order has another amount, and 0.1% more paid orders are missing from the bill.
fn write_orders(n: u64, db: &Path) {
    let mut store = Store::open(db).unwrap();
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay).unwrap();
    let utc = |china: &str| {
        let (d, t) = china.split_once(' ').unwrap();
        let h: i64 = t[..2].parse().unwrap();
        // China is UTC+8; the generated times are all after 08:00 or wrap to the previous UTC day.
        let (day, hour) = if h >= 8 { (d.to_owned(), h - 8) } else { ("2026-11-23".to_owned(), h + 16) };
        format!("{day}T{hour:02}{}Z", &t[2..])
    };
    let orders = (0..n).filter(|i| i % 10_000 != 7).map(|i| {
        let (out_trade_no, trade_no, fen, time) = row(i);
        let at = utc(&time);
        SeedOrder {
            out_trade_no,
            trade_no: Some(trade_no),
            acquirer_id,
            subject: "拿铁咖啡（大杯）".into(),
            total_amount: if i % 5_000 == 3 { fen + 1 } else { fen },
            refunded_amount: 0,
            status: "PAID".into(),
            created_at: at.clone(),
            paid_at: Some(at),
        }
    });
    store.recon_mut().seed_orders(orders).unwrap();
    let extra = (0..n / 1000).map(|i| SeedOrder {
        out_trade_no: format!("LOCAL{i:08}"),
        trade_no: None,
        acquirer_id,
        subject: "现金券".into(),
        total_amount: 500,
        refunded_amount: 0,
        status: "PAID".into(),
        created_at: "2026-11-24T04:00:00Z".into(),
        paid_at: Some("2026-11-24T04:00:01Z".into()),
    });
    store.recon_mut().seed_orders(extra).unwrap();
    drop(store);
    // One file, no WAL beside it, so a plain copy is a complete database.
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;").unwrap();
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Setup {
    dir: tempfile::TempDir,
    bill: PathBuf,
    csv: PathBuf,
    template: PathBuf,
}

/// TillDesk: import + reconcile on a fresh copy of the order database. Returns (time, discrepancies).
fn tilldesk_run(s: &Setup, k: u32) -> (Duration, usize) {
    let db = s.dir.path().join(format!("work{k}.sqlite3"));
    std::fs::copy(&s.template, &db).unwrap();
    let mut store = Store::open(&db).unwrap();
    let start = Instant::now();
    let outcome = import_file(&mut store, &s.bill, &ImportOptions::default(), &ImportControl::new()).unwrap();
    assert!(!outcome.already_imported);
    let imported = start.elapsed();
    let report = reconcile(
        &mut store,
        AcquirerKind::WechatPay,
        time::macros::date!(2026 - 11 - 24),
        &ReconOptions::default(),
        Lang::En,
    )
    .unwrap();
    let elapsed = start.elapsed();
    if k == 0 {
        println!("  (import {:.2} s, reconcile {:.2} s)", imported.as_secs_f64(), (elapsed - imported).as_secs_f64());
    }
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    (elapsed, report.discrepancies.len())
}

/// The raw load: `sqlite3 .import` of the same rows into an empty database. Returns (time, max RSS KB).
fn sqlite3_run(s: &Setup, k: u32) -> (Duration, Option<u64>) {
    let db = s.dir.path().join(format!("raw{k}.sqlite3"));
    let rss_file = s.dir.path().join("rss.txt");
    let start = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&rss_file)
        .args(["-f", "%M", "sqlite3"])
        .arg(&db)
        .args([".mode csv", &format!(".import {} bill_rows", s.csv.display())])
        .status()
        .or_else(|_| {
            Command::new("sqlite3")
                .arg(&db)
                .args([".mode csv", &format!(".import {} bill_rows", s.csv.display())])
                .status()
        })
        .expect("the sqlite3 shell must be installed for this benchmark");
    let elapsed = start.elapsed();
    assert!(status.success());
    let rss = std::fs::read_to_string(&rss_file).ok().and_then(|t| t.trim().lines().last()?.trim().parse().ok());
    let _ = std::fs::remove_file(&db);
    (elapsed, rss)
}

fn main() {
    let n: u64 = std::env::var("RECON_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(std::env::var_os("RECON_BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()))
        .unwrap();
    let s = Setup {
        bill: dir.path().join("wechat_bill.txt"),
        csv: dir.path().join("rows.csv"),
        template: dir.path().join("orders.sqlite3"),
        dir,
    };
    let t = Instant::now();
    write_bill(n, &s.bill, &s.csv);
    write_orders(n, &s.template);
    let bill_mb = std::fs::metadata(&s.bill).unwrap().len() as f64 / 1e6;
    eprintln!(
        "setup: {n} bill rows ({bill_mb:.0} MB) and {} local orders in {:.1?}",
        n + n / 1000 - n / 10_000,
        t.elapsed()
    );

    // Side by side, once, with peak memory.
    let (raw, raw_rss) = sqlite3_run(&s, 0);
    reset_peak();
    let before = vm_hwm_kb();
    let (ours, differences) = tilldesk_run(&s, 0);
    let peak = vm_hwm_kb();
    println!("recon side by side, {n} rows:");
    println!(
        "  sqlite3 .import (raw load):       {:>8.2} s, max RSS {} MB",
        raw.as_secs_f64(),
        raw_rss.map_or("?".into(), |k| (k / 1024).to_string())
    );
    println!(
        "  TillDesk import + reconcile:      {:>8.2} s, peak RSS {} MB (before: {} MB), {differences} discrepancies",
        ours.as_secs_f64(),
        peak.map_or("?".into(), |k| (k / 1024).to_string()),
        before.map_or("?".into(), |k| (k / 1024).to_string())
    );
    println!("  ratio TillDesk / raw load:        {:>8.2}", ours.as_secs_f64() / raw.as_secs_f64());

    let mut c = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(1)).configure_from_args();
    let mut group = c.benchmark_group(format!("recon_{n}_rows"));
    group.measurement_time(Duration::from_secs(1));
    let mut k = 1;
    group.bench_function("sqlite3_import_raw_load", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    k += 1;
                    sqlite3_run(&s, k).0
                })
                .sum()
        })
    });
    group.bench_function("tilldesk_import_and_reconcile", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    k += 1;
                    tilldesk_run(&s, k).0
                })
                .sum()
        })
    });
    group.finish();
    c.final_summary();
}
