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

#[path = "common/recon_data.rs"]
mod recon_data;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::Criterion;
use recon_data::{write_bill, write_orders};
use tilldesk::i18n::Lang;
use tilldesk::model::AcquirerKind;
use tilldesk::recon::{ImportControl, ImportOptions, ReconOptions, import_file, reconcile};
use tilldesk::store::Store;

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
