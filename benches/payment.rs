//! One barcode payment round trip through the checkout engine against the loopback sandbox:
//! write-ahead order, signed alipay.trade.pay / WeChat micropay, verified response, PAID.
//!
//! `cargo bench --bench payment` prints criterion's estimate and, after it, p50/p99 over 300 payments.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tilldesk::checkout::{Checkout, CheckoutSettings, PaymentInput, SystemClock};
use tilldesk::money::Amount;

fn setup(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> (Checkout, tilldesk::sandbox::RunningSandbox) {
    let sandbox =
        rt.block_on(tilldesk::sandbox::start(&dir.join("sandbox"), "127.0.0.1:0".parse().unwrap(), false)).unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let engine = tilldesk::sandbox::till::checkout(
        &dir.join("tilldesk.sqlite3"),
        &sandbox.state.accounts(),
        &sandbox.base_url(),
        Some(http),
        Arc::new(SystemClock),
        CheckoutSettings::default(),
    )
    .unwrap();
    (engine, sandbox)
}

fn input(code: &str) -> PaymentInput {
    PaymentInput {
        amount: Amount::from_fen(1234),
        auth_code: code.into(),
        subject: "bench".into(),
        store_id: tilldesk::model::StoreId(1),
        operator_id: None,
        terminal_id: None,
    }
}

fn percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (engine, _sandbox) = setup(&rt, dir.path());
    let no_cancel = Arc::new(AtomicBool::new(false));
    for (name, code) in
        [("alipay_pay_round_trip", "2800000000000000"), ("wechat_micropay_round_trip", "130000000000000000")]
    {
        c.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async { engine.pay(input(code), no_cancel.clone(), &|_| {}).await.unwrap() })
        });
        let mut samples = Vec::with_capacity(300);
        for _ in 0..300 {
            let t = Instant::now();
            rt.block_on(engine.pay(input(code), no_cancel.clone(), &|_| {})).unwrap();
            samples.push(t.elapsed());
        }
        percentiles(name, samples);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(10));
    targets = bench
}
criterion_main!(benches);
