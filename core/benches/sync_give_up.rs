//! How long the sync client takes to give up on a server that fails at the socket, and how long a
//! sync dropped in flight takes to let go of its connection. Figures, never assertions:
//! `tests/sync_client.rs` asserts what each of these ends with.
//!
//! ```text
//! cargo bench -p tidbit-core --bench sync_give_up          # TIDBIT_BENCH_RUNS=N, default 5
//! ```
//!
//! 1. refused: nothing listens on the port; the default options (5 attempts, backoff from
//!    250 ms, doubled with jitter) until `Unreachable`, beside the range of the backoff waits.
//! 2. silent: the server accepts and never answers; 3 attempts at a 1 s request timeout (the
//!    defaults' 5 × 30 s would take minutes a run) until `Unreachable`, beside the range those
//!    options set (3 × 1 s of timeouts plus the jittered backoff waits).
//! 3. dropped in flight: a sync with the default options waits on the silent server and is
//!    dropped (what a cancelled Kotlin coroutine or Python task does to it through UniFFI); the
//!    time the drop takes, and until the server sees the connection closed.
//!
//! The same through tidbit-ffi's `Cancellation`: `cargo bench -p tidbit-ffi --bench cancel_sync`.

#[path = "../tests/sync_support/mod.rs"]
mod sync_support;

use std::time::{Duration, Instant};

use sync_support::*;
use tidbit_core::tidbit::sync_client::{sync, SyncError, SyncOptions};

/// A bound on every wait, so a broken client stops the bench instead of hanging it.
const GUARD: Duration = Duration::from_secs(120);

fn main() {
    let runs: usize = std::env::var("TIDBIT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(5)
        .max(1);
    println!("sync_give_up: {runs} runs each (min / median / max)");
    refused(runs);
    silent(runs);
    dropped_in_flight(runs * 4);
}

fn refused(runs: usize) {
    let (tidbit, _dir) = enrolled_learner();
    let options = SyncOptions::new(&refusing_server(), "token");
    let took = measure(runs, || {
        let started = Instant::now();
        let result = run(sync(&tidbit, &options));
        let took = started.elapsed();
        expect_unreachable(result, options.max_attempts);
        took
    });
    let (low, high) = backoff_waits(&options);
    report(
        &format!(
            "refused, default options ({} attempts, backoff waits {} to {})",
            options.max_attempts,
            format_duration(low),
            format_duration(high)
        ),
        &took,
    );
}

fn silent(runs: usize) {
    let (tidbit, _dir) = enrolled_learner();
    let server = SilentServer::start();
    let mut options = SyncOptions::new(&server.url, "token");
    options.max_attempts = 3;
    options.request_timeout = Duration::from_secs(1);
    let took = measure(runs, || {
        let started = Instant::now();
        let result = run(sync(&tidbit, &options));
        let took = started.elapsed();
        expect_unreachable(result, options.max_attempts);
        took
    });
    let timeouts = options.request_timeout * options.max_attempts;
    let (low, high) = backoff_waits(&options);
    report(
        &format!(
            "silent, {} attempts at a {} s request timeout (timeouts and backoff: {} to {})",
            options.max_attempts,
            options.request_timeout.as_secs(),
            format_duration(timeouts + low),
            format_duration(timeouts + high)
        ),
        &took,
    );
}

fn dropped_in_flight(runs: usize) {
    let (tidbit, _dir) = enrolled_learner();
    let mut server = SilentServer::start();
    let options = SyncOptions::new(&server.url, "token");
    let mut drops = Vec::with_capacity(runs);
    let mut closes = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = run(async {
            let mut call = Box::pin(sync(&tidbit, &options));
            let waited = tokio::time::timeout(GUARD, async {
                tokio::select! {
                    result = &mut call => panic!("the sync ended against a silent server: {result:?}"),
                    _ = server.opened.recv() => {}
                }
            })
            .await;
            assert!(waited.is_ok(), "the server never saw the sync's connection");
            let started = Instant::now();
            drop(call);
            drops.push(started.elapsed());
            started
        });
        server
            .closed
            .recv_timeout(GUARD)
            .expect("the dropped sync kept its connection open");
        closes.push(started.elapsed());
    }
    drops.sort();
    closes.sort();
    report("dropped in flight: the drop itself", &drops);
    report(
        "dropped in flight: until the server sees the close",
        &closes,
    );
}

/// The least and most the backoff waits between the attempts add up to: the client waits a
/// random time in [base/2, base] after each failure but the last, base doubling from
/// `initial_backoff` up to `max_backoff`.
fn backoff_waits(options: &SyncOptions) -> (Duration, Duration) {
    let high: Duration = (0..options.max_attempts.saturating_sub(1))
        .map(|failure| {
            (options.initial_backoff * 2u32.saturating_pow(failure)).min(options.max_backoff)
        })
        .sum();
    (high / 2, high)
}

fn expect_unreachable<T: std::fmt::Debug>(result: Result<T, SyncError>, expected: u32) {
    match result {
        Err(SyncError::Unreachable { attempts, .. }) if attempts == expected => {}
        other => panic!("expected Unreachable after {expected} attempts, got {other:?}"),
    }
}

fn measure(runs: usize, mut once: impl FnMut() -> Duration) -> Vec<Duration> {
    let mut took: Vec<Duration> = (0..runs).map(|_| once()).collect();
    took.sort();
    took
}

fn report(what: &str, sorted: &[Duration]) {
    println!(
        "  {what}: {} / {} / {}",
        format_duration(sorted[0]),
        format_duration(sorted[sorted.len() / 2]),
        format_duration(sorted[sorted.len() - 1])
    );
}

fn format_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    }
}
