//! The engine side of `benches/payment_vs_sdk.sh`: N instant Alipay payments through the checkout engine (route,
//! durable write-ahead order, RSA2-signed `alipay.trade.pay`, verified answer, durable PAID with its events)
//! against a running stand-alone sandbox, timed one by one; and where the time goes.
//!
//! ```sh
//! cargo run --release --example payment_engine -- --sandbox http://127.0.0.1:PORT --data SANDBOX_DIR \
//!     --db /var/tmp/till.sqlite3 --count 300 [--breakdown]
//! ```
//!
//! The database is an ordinary file (`synchronous = FULL`: every commit syncs the WAL) on the disk it is given;
//! put it on the disk a till would use, not on a tmpfs.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tilldesk::checkout::{CheckoutSettings, PaymentInput, SystemClock};
use tilldesk::model::StoreId;
use tilldesk::money::Amount;
use tilldesk::sandbox::accounts::SandboxAccounts;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn summary(label: &str, samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    format!("{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms", samples.len(), at(0.5), at(0.99), at(1.0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let base_url = arg(&args, "--sandbox").ok_or("--sandbox URL is required")?;
    let data = PathBuf::from(arg(&args, "--data").ok_or("--data SANDBOX_DIR is required")?);
    let db = PathBuf::from(arg(&args, "--db").ok_or("--db PATH is required")?);
    let count: usize = arg(&args, "--count").map(|c| c.parse()).transpose()?.unwrap_or(300);
    let warmup: usize = arg(&args, "--warmup").map(|c| c.parse()).transpose()?.unwrap_or(10);
    let accounts = SandboxAccounts::load_or_create(&data)?;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
    let engine = Arc::new(tilldesk::sandbox::till::checkout(
        &db,
        &accounts,
        &base_url,
        Some(http),
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )?);
    let no_cancel = Arc::new(AtomicBool::new(false));
    let pay = || {
        let input = PaymentInput {
            amount: Amount::from_fen(1234),
            auth_code: "2800000000000000".into(),
            subject: "bench".into(),
            store_id: StoreId(1),
            operator_id: None,
            terminal_id: None,
        };
        // As the checkout window runs it: a task on the network runtime, the result sent back.
        let (engine, no_cancel) = (engine.clone(), no_cancel.clone());
        let started = Instant::now();
        let (order, outcome) = rt.block_on(
            rt.spawn(async move { engine.pay(input, no_cancel, &|_| {}).await.map_err(|e| e.to_string()) }),
        )??;
        if order.status != tilldesk::model::OrderStatus::Paid {
            return Err(format!("not paid: {outcome:?}").into());
        }
        Ok::<_, Box<dyn std::error::Error>>(started.elapsed())
    };
    for _ in 0..warmup {
        pay()?;
    }
    let mut samples = (0..count).map(|_| pay()).collect::<Result<Vec<_>, _>>()?;
    println!("{}", summary("tilldesk engine", &mut samples));

    if args.iter().any(|a| a == "--breakdown") {
        breakdown(&accounts, &db)?;
    }
    Ok(())
}

/// The parts of a payment measured alone: the RSA2 signature (AWS-LC, and the `rsa` crate it replaced), the
/// verification, and the two durable transactions of the money path on this disk.
fn breakdown(accounts: &SandboxAccounts, db: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use tilldesk::channel::alipay::sign;
    let account = accounts.acquirer("ALIPAY").and_then(|a| a.alipay_account()).ok_or("no ALIPAY account")?;
    let key = sign::parse_private_key(&account.app_private_key_pkcs8_pem)?;
    let public = key.public_key();
    let content = "app_id=2021000000000001&biz_content={\"out_trade_no\":\"TD20261204000000ABCDEFGH\",\"scene\":\"bar_code\",\"auth_code\":\"2800000000000000\",\"subject\":\"bench\",\"total_amount\":\"12.34\"}&charset=utf-8&method=alipay.trade.pay&sign_type=RSA2&timestamp=2026-12-04 12:00:00&version=1.0";
    let n = 200;
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..n {
            f();
        }
        started.elapsed().as_secs_f64() * 1e3 / f64::from(n)
    };
    let mut signature = String::new();
    let fast = time(&mut || signature = sign::sign_rsa2(&key, content).unwrap_or_default());
    let slow_key = sign::PrivateKey::without_aws_lc(key.as_rsa().clone());
    let slow = time(&mut || {
        let _ = sign::sign_rsa2(&slow_key, content);
    });
    let verify = time(&mut || {
        let _ = sign::verify_rsa2(&public, content, &signature);
    });
    println!("  RSA2 sign (AWS-LC): {fast:.3} ms; the rsa crate: {slow:.3} ms; verify: {verify:.3} ms");

    // Two durable transactions per payment: the write-ahead order, and PAID with its event.
    let mut store = tilldesk::store::Store::open(db)?;
    let store_id = store.setup_mut().default_store()?;
    let acquirer_id = store.setup_mut().acquirer_for(tilldesk::model::AcquirerKind::Alipay)?;
    let mut k = 0u32;
    let writes = time(&mut || {
        k += 1;
        let new = tilldesk::store::orders::NewOrder {
            out_trade_no: format!("BD{}{k:08}", std::process::id()),
            store_id,
            acquirer_id,
            operator_id: None,
            subject: "bench".into(),
            total_amount: Amount::from_fen(1234),
            auth_code_masked: "280000******0000".into(),
            acquirer_merchant_id: None,
            terminal_id: None,
        };
        if let Ok(order) = store.orders_mut().create_order(&new) {
            use tilldesk::store::transitions::{OrderMove, PaidFacts};
            let facts = PaidFacts { amount: Some(order.total_amount), ..Default::default() };
            let paid = OrderMove::paid("paid", "", Some("2026"), Some("2026-12-04T00:00:00Z"), facts);
            let _ = store.orders_mut().move_order(order.id, &paid);
        }
    });
    println!("  write-ahead order + PAID, durable (2 commits, synchronous=FULL): {writes:.3} ms");
    Ok(())
}
