//! How long a till API call waited for the acquirer, reported back in the answer's `Server-Timing` header
//! (`acquirer;dur=41.2, backend;dur=3.5`, milliseconds): an operator, a load balancer's logs and the load benchmark
//! (`benches/serve_load.rs`) tell the backend's own time from the acquirer's.
//!
//! Each request runs in a task-local tally ([`measured`]); the gateway wraps its calls to a `Channel` in [`timed`].
//! Calls made through the refund desk are not split out (they count as the backend's own time). May import nothing
//! of ours.

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static ACQUIRER: Cell<Duration>;
}

/// Runs `f` (a call to the acquirer) and adds its time to the current request's tally, if there is one.
pub(crate) async fn timed<F: Future>(f: F) -> F::Output {
    let started = Instant::now();
    let out = f.await;
    let _ = ACQUIRER.try_with(|t| t.set(t.get() + started.elapsed()));
    out
}

/// Runs `f` (a whole request) with a fresh tally: its output and the time it spent in [`timed`] calls.
pub async fn measured<F: Future>(f: F) -> (F::Output, Duration) {
    ACQUIRER
        .scope(Cell::new(Duration::ZERO), async {
            let out = f.await;
            let acquirer = ACQUIRER.try_with(Cell::get).unwrap_or_default();
            (out, acquirer)
        })
        .await
}

/// The header's value: the acquirer's time and the rest of `total`, in milliseconds.
pub fn server_timing(total: Duration, acquirer: Duration) -> String {
    let own = total.saturating_sub(acquirer);
    format!("acquirer;dur={:.1}, backend;dur={:.1}", acquirer.as_secs_f64() * 1e3, own.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_timed_calls_count_as_the_acquirers() {
        let (out, acquirer) = measured(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            timed(tokio::time::sleep(Duration::from_millis(30))).await;
            timed(async { 7 }).await
        })
        .await;
        assert_eq!(out, 7);
        assert!(acquirer >= Duration::from_millis(30), "{acquirer:?}");
        assert!(acquirer < Duration::from_millis(30) + Duration::from_secs(5), "{acquirer:?}");
        // Outside a request nothing is tallied, and nothing fails.
        assert_eq!(timed(async { 1 }).await, 1);
        assert_eq!(
            server_timing(Duration::from_millis(50), Duration::from_millis(41)),
            "acquirer;dur=41.0, backend;dur=9.0"
        );
    }
}
