//! Issue 17's acceptance at full scale: while the reconciliation of a 1,000,000-row day re-runs, 20 payments in a
//! row all succeed.
//!
//! ```sh
//! cargo run --release --example recon_rerun_payments                       # 1,000,000 rows, 20,000 differences
//! cargo run --release --example recon_rerun_payments -- --rows 100000      # quicker
//! ```
//!
//! Generates a WeChat Pay bill of N rows and N local orders on one database (every 10,000th bill row has no local
//! order; every `--diff-every`-th local order another amount, 20,000 open differences at 1M by default), imports
//! and reconciles the day once, then re-runs the reconciliation on its own thread and connection while 20 instant
//! Alipay payments go through the checkout engine against the in-process sandbox on the same database. Prints the
//! first run's and the re-run's times and every payment's time; fails if a payment fails.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tilldesk::checkout::{CheckoutSettings, PaymentInput, SystemClock};
use tilldesk::i18n::Lang;
use tilldesk::model::{AcquirerKind, OrderStatus, StoreId};
use tilldesk::money::Amount;
use tilldesk::recon::{ImportControl, ImportOptions, ReconOptions, import_file, reconcile};
use tilldesk::store::Store;
use tilldesk::store::recon::SeedOrder;

const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Row i: (out_trade_no, trade_no, fen, China time). Order numbers start with TD, as the till's own do, so the
/// rows without a local order stay differences (not store-code sales).
fn row(i: u64) -> (String, String, i64, u64) {
    let secs = 60 + (i * 86_000 / 1_000_000) % 86_000;
    let fen = 100 + (i as i64 * 7919) % 50_000;
    (format!("TDB{i:010}"), format!("42000020261124{i:014}"), fen, secs)
}

fn write_bill(n: u64, bill: &Path) -> std::io::Result<()> {
    let mut b = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(bill)?);
    write!(b, "{HEADER}\r\n")?;
    let (mut total, mut fee) = (0i64, 0i64);
    for i in 0..n {
        let (out_trade_no, trade_no, fen, secs) = row(i);
        let milli = fen * 6;
        total += fen;
        fee += milli;
        write!(
            b,
            "`2026-11-24 {:02}:{:02}:{:02},`wx2421b1c4370ec43b,`10000100,`0,`POS-01,`{trade_no},`{out_trade_no},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`SUCCESS,`CMB_DEBIT,`CNY,`{},`0.00,`0,`0,`0.00,`0.00,`,`,`拿铁,`,`{}.{:05},`0.60%,`{},`0.00,`\r\n",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            yuan(fen),
            milli / 100_000,
            milli % 100_000,
            yuan(fen)
        )?;
    }
    write!(
        b,
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`{n},`{},`0.00,`0.00,`{}.{:05},`{},`0.00\r\n",
        yuan(total),
        fee / 100_000,
        fee % 100_000,
        yuan(total)
    )?;
    b.flush()
}

fn seed_orders(store: &mut Store, n: u64, diff_every: u64) -> Result<(), Box<dyn std::error::Error>> {
    let acquirer_id = store.setup_mut().acquirer_for(AcquirerKind::WechatPay)?;
    let orders = (0..n).filter(|i| i % 10_000 != 7).map(|i| {
        let (out_trade_no, trade_no, fen, secs) = row(i);
        // China time 2026-11-24 = UTC 2026-11-23T16:00 + secs.
        let utc = 16 * 3600 + secs;
        let (day, s) = if utc >= 86_400 { ("2026-11-24", utc - 86_400) } else { ("2026-11-23", utc) };
        let at = format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60);
        SeedOrder {
            out_trade_no,
            trade_no: Some(trade_no),
            acquirer_id,
            subject: "拿铁".into(),
            total_amount: if i % diff_every == 3 { fen + 1 } else { fen },
            refunded_amount: 0,
            status: "PAID".into(),
            created_at: at.clone(),
            paid_at: Some(at),
        }
    });
    store.recon_mut().seed_orders(orders)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = arg(&args, "--rows").map(|v| v.parse()).transpose()?.unwrap_or(1_000_000);
    let diff_every: u64 = arg(&args, "--diff-every").map(|v| v.parse()).transpose()?.unwrap_or(50);
    let parent = arg(&args, "--dir").unwrap_or_else(|| "/var/tmp".into());
    let dir = tempfile::tempdir_in(parent)?;
    let db = dir.path().join("tilldesk.sqlite3");
    let bill = dir.path().join("wechat_bill.txt");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let sandbox = rt.block_on(tilldesk::sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse()?, false))?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
    let engine = tilldesk::sandbox::till::checkout(
        &db,
        &sandbox.state.accounts(),
        &sandbox.base_url(),
        Some(http),
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )?;

    let t = Instant::now();
    write_bill(n, &bill)?;
    let mut store = Store::open(&db)?;
    seed_orders(&mut store, n, diff_every)?;
    println!("setup: {n} bill rows, {} local orders, in {:.1?}", n - n / 10_000, t.elapsed());
    let date = time::macros::date!(2026 - 11 - 24);
    let t = Instant::now();
    import_file(&mut store, &bill, &ImportOptions::default(), &ImportControl::new())?;
    let import = t.elapsed();
    let t = Instant::now();
    let first = reconcile(&mut store, AcquirerKind::WechatPay, date, &ReconOptions::default(), Lang::En)?;
    let first_run = t.elapsed();
    println!(
        "import {:.2} s; first reconciliation {:.2} s ({} differences)",
        import.as_secs_f64(),
        first_run.as_secs_f64(),
        first.discrepancies.len()
    );
    drop(store);

    // The re-run, on its own thread and connection, while the till takes 20 payments.
    let running = Arc::new(AtomicBool::new(true));
    let rerun = {
        let (db, running) = (db.clone(), running.clone());
        std::thread::spawn(move || -> Result<(Duration, usize), String> {
            let mut store = Store::open(&db).map_err(|e| e.to_string())?;
            let t = Instant::now();
            let report = reconcile(&mut store, AcquirerKind::WechatPay, date, &ReconOptions::default(), Lang::En)
                .map_err(|e| e.to_string());
            running.store(false, Ordering::SeqCst);
            Ok((t.elapsed(), report?.discrepancies.len()))
        })
    };
    let no_cancel = Arc::new(AtomicBool::new(false));
    let mut times = Vec::new();
    let mut during = 0;
    // Payments one after another for as long as the re-run takes (and at least 20).
    let mut i = 0;
    while i < 20 || running.load(Ordering::SeqCst) {
        i += 1;
        let input = PaymentInput {
            amount: Amount::from_fen(1000 + i),
            auth_code: "2800000000000000".into(),
            subject: "咖啡".into(),
            store_id: StoreId(1),
            operator_id: None,
            terminal_id: None,
        };
        let t = Instant::now();
        let (order, outcome) = rt
            .block_on(engine.pay(input, no_cancel.clone(), &|_| {}))
            .map_err(|e| format!("payment {i} failed during the re-run: {e}"))?;
        times.push(t.elapsed());
        if running.load(Ordering::SeqCst) {
            during += 1;
        }
        if order.status != OrderStatus::Paid {
            return Err(format!("payment {i} ended {:?}: {outcome:?}", order.status).into());
        }
    }
    let (rerun_time, differences) = rerun.join().map_err(|_| "the re-run panicked")??;
    println!(
        "re-run {:.2} s ({differences} differences; {:.2}× the first run); {} of {} payments PAID, {during} of them \
         finished while the re-run was going",
        rerun_time.as_secs_f64(),
        rerun_time.as_secs_f64() / first_run.as_secs_f64(),
        times.len(),
        times.len()
    );
    times.sort();
    let at = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    println!("payment times: p50 {:.1} ms, p99 {:.1} ms, slowest {:.1} ms", at(0.5), at(0.99), at(1.0));
    Ok(())
}
