//! Issue 23's load target: many tills paying through one merchant backend (`tilldesk serve`) at a fixed rate.
//!
//! Started in this process, each on its own tokio runtime as if on its own machine: the sandbox (the acquirer), the
//! backend (the same `serve::start` the command line runs) and the tills (a load generator that sends each payment
//! on time whether or not the previous ones have finished: an open loop, so a slow backend shows as latency, not as
//! a lower rate). Every payment is a new out_trade_no with an Alipay payment code the sandbox pays at once.
//!
//! Reported: payments sent and answered, errors, the achieved rate, and latency percentiles of (a) the whole call as
//! the till sees it and (b) the backend's own time — the call less the time the backend spent waiting for the
//! acquirer, which the backend reports in each answer's `Server-Timing: acquirer;dur=…` header.
//!
//! ```sh
//! cargo bench --bench serve_load                                    # 50 tills, 200 payments/s, 60 s, SQLite
//! SERVE_LOAD_DATABASE=postgres://postgres@127.0.0.1:5432/test cargo bench --bench serve_load
//! SERVE_LOAD_TILLS=10 SERVE_LOAD_RATE=50 SERVE_LOAD_SECS=10 cargo bench --bench serve_load   # quick
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use tilldesk::sandbox;
use tilldesk::serve::{Backend, StartOptions};
use tilldesk::store::Store;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().unwrap()
}

/// One answered payment: the whole call, and the acquirer's part of it as the backend reported it.
struct Sample {
    total: Duration,
    acquirer: Option<Duration>,
    ok: bool,
}

/// `acquirer;dur=12.5` in a Server-Timing header → 12.5 ms.
fn acquirer_time(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get("server-timing")?.to_str().ok()?;
    value.split(',').find_map(|metric| {
        let mut parts = metric.trim().split(';');
        (parts.next()? == "acquirer").then_some(())?;
        let ms: f64 = parts.find_map(|p| p.trim().strip_prefix("dur="))?.parse().ok()?;
        Some(Duration::from_secs_f64(ms / 1000.0))
    })
}

/// Runs one statement on its own connection (the run's schema: created before, dropped after).
async fn pg_execute(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and `cargo test --benches` ask what is here: nothing criterion runs.
    }
    let tills = env_number("SERVE_LOAD_TILLS", 50) as usize;
    let rate = env_number("SERVE_LOAD_RATE", 200).max(1);
    let secs = env_number("SERVE_LOAD_SECS", 60).max(1);
    let database = std::env::var("SERVE_LOAD_DATABASE").ok();

    let dir = tempfile::tempdir().unwrap();
    let sandbox_rt = runtime(1);
    let backend_rt = runtime(2);
    let load_rt = runtime(1);

    let sandbox = sandbox_rt
        .block_on(sandbox::start(&dir.path().join("sandbox"), "127.0.0.1:0".parse().unwrap(), false))
        .unwrap();
    let accounts = sandbox.state.accounts();
    let home = dir.path().join("backend");
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join(tilldesk::serve::DATABASE_FILE);
    let mut store = Store::open(&db).unwrap();
    sandbox::till::prepare(&mut store).unwrap();
    let router = sandbox::till::router(&store, &accounts, &sandbox.base_url()).unwrap();
    let notify = sandbox::till::notify_keys(&store, &accounts, &sandbox.base_url()).unwrap();
    drop(store);
    // On PostgreSQL: a schema of the run's own (dropped at the end), the data folder's SQLite file as the catalogue
    // (stores, accounts, routes), as `serve --database postgres://… --catalogue …` runs it.
    let schema = database.as_ref().map(|url| {
        let name = format!("serve_load_{}", hex::encode(rand::random::<[u8; 6]>()));
        backend_rt.block_on(pg_execute(url, &format!("CREATE SCHEMA {name}")));
        (url.clone(), name)
    });
    let backend = match &schema {
        Some((url, name)) => {
            backend_rt.block_on(Backend::open_postgres(url, Some(name), &db, &home)).unwrap().serving(router)
        }
        None => Backend::open(&db, &home).unwrap().serving(router),
    };
    let engine = if schema.is_some() { "PostgreSQL" } else { "SQLite" };
    let options = StartOptions { sync: None, recover: false, tls: None };
    let running =
        backend_rt.block_on(tilldesk::serve::start(backend, "127.0.0.1:0".parse().unwrap(), notify, options)).unwrap();
    let url = running.base_url();

    // Enrol the tills as `tilldesk backend join` does: a one-time code each, exchanged for a token.
    let tokens: Vec<String> = load_rt.block_on(async {
        let mut tokens = Vec::with_capacity(tills);
        for n in 0..tills {
            let code = running.backend.add_till("S001", &format!("till {n}")).await.unwrap().code;
            let enrolled = tilldesk::channel::backend::BackendClient::enrol(&url, code.expose()).await.unwrap();
            tokens.push(enrolled.token);
        }
        tokens
    });
    eprintln!("{tills} tills enrolled at {url}; {rate} payments/s for {secs} s …");

    let samples = load_rt.block_on(async {
        let http = reqwest::Client::builder().pool_max_idle_per_host(tills).build().unwrap();
        let tokens = Arc::new(tokens);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sample>();
        let total = rate * secs;
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for i in 0..total {
            tick.tick().await;
            let (http, tokens, tx, url) = (http.clone(), tokens.clone(), tx.clone(), url.clone());
            tokio::spawn(async move {
                let till = (i as usize) % tokens.len();
                let body = serde_json::json!({
                    "out_trade_no": format!("LOAD{till:03}T{i:09}"),
                    // An Alipay code (28…) ending 0000: the sandbox pays it at once.
                    "auth_code": format!("28{i:012}0000"),
                    "amount": "1.00",
                    "subject": "load",
                });
                let started = Instant::now();
                let answer = http.post(format!("{url}/v1/pay")).bearer_auth(&tokens[till]).json(&body).send().await;
                let sample = match answer {
                    Ok(response) => {
                        let acquirer = acquirer_time(response.headers());
                        let ok = response.status().is_success()
                            && response.json::<serde_json::Value>().await.is_ok_and(|v| v["order_status"] == "PAID");
                        Sample { total: started.elapsed(), acquirer, ok }
                    }
                    Err(_) => Sample { total: started.elapsed(), acquirer: None, ok: false },
                };
                let _ = tx.send(sample);
            });
        }
        drop(tx);
        let started = Instant::now();
        let mut samples = Vec::with_capacity(total as usize);
        while let Some(s) = rx.recv().await {
            samples.push(s);
        }
        eprintln!(
            "(the last answers arrived {:.1} s after the last payment was sent)",
            started.elapsed().as_secs_f64()
        );
        samples
    });

    let sent = rate * secs;
    let ok = samples.iter().filter(|s| s.ok).count();
    let mut totals: Vec<Duration> = samples.iter().map(|s| s.total).collect();
    totals.sort();
    let mut own: Vec<Duration> = samples.iter().filter_map(|s| s.acquirer.map(|a| s.total.saturating_sub(a))).collect();
    own.sort();
    println!("serve_load: {tills} tills, {rate} payments/s for {secs} s, database {engine}");
    println!("  sent {sent}, paid {ok}, failed or refused {}", samples.len() - ok);
    for (what, sorted) in [("whole call (till's view)", &totals), ("backend's own time (less the acquirer)", &own)] {
        if sorted.is_empty() {
            println!("  {what}: not reported (this backend sends no Server-Timing header)");
            continue;
        }
        println!(
            "  {what}: p50 {}  p95 {}  p99 {}  max {}",
            ms(percentile(sorted, 50.0)),
            ms(percentile(sorted, 95.0)),
            ms(percentile(sorted, 99.0)),
            ms(*sorted.last().unwrap_or(&Duration::ZERO)),
        );
    }
    drop(running);
    drop(sandbox);
    if let Some((url, name)) = &schema {
        backend_rt.block_on(pg_execute(url, &format!("DROP SCHEMA IF EXISTS {name} CASCADE")));
    }
    backend_rt.shutdown_background();
    sandbox_rt.shutdown_background();
}
