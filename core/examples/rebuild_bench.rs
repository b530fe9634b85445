//! Target 3: a full projection rebuild from the log of 20,000 items and 200,000 reviews, its wall
//! time and the process's peak memory (target: ≤ 2 s, ≤ 60 MB).
//!
//! ```text
//! cargo run --release -p tidbit-core --example rebuild_bench              # cached history, 3 runs
//! cargo run --release -p tidbit-core --example rebuild_bench -- <store dir> [--expect-digest D]
//! cargo run --release -p tidbit-core --example rebuild_bench -- --sealed   # under an at-rest key
//! ```
//!
//! With `--sealed` the store is opened with an at-rest key: the first open seals the whole
//! history (its time is printed), and the rebuild then opens every sealed event.
//!
//! With a store directory, this process opens it, rebuilds its projections once, and prints the
//! wall time of `rebuild_projections`, the time its thread spent on a CPU (from
//! `/proc/thread-self/schedstat`: on a machine shared with other work, the wall time includes
//! waiting for a core, this does not), and the peak resident set (`VmHWM` from
//! `/proc/self/status`), read right after the rebuild; the process does nothing else first, so
//! the peak is the rebuild's. Without one, it takes the cached benchmark history (generating it
//! the first time, about 40 s), and runs itself three times, each in a fresh process on
//! a fresh copy.

#[path = "../benches/support/history.rs"]
mod history;

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use tidbit_core::events::SystemClock;
use tidbit_core::privacy::at_rest::AtRestKey;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const RUNS: usize = 3;

/// A field of `/proc/self/status` in megabytes (`VmHWM`, `VmRSS`), if the platform has one.
fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Seconds this thread has spent running on a CPU, if the platform says.
fn thread_cpu_seconds() -> Option<f64> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanoseconds: f64 = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(nanoseconds / 1e9)
}

fn mb(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:.1} MB"))
}

fn measure(store: &std::path::Path, expected_digest: Option<&str>, sealed: bool) -> ExitCode {
    let before_open = status_mb("VmHWM:");
    let mut config = history::config(store);
    if sealed {
        match AtRestKey::from_bytes(&[7; 32]) {
            Ok(key) => {
                config = TidbitConfig {
                    at_rest_key: Some(Arc::new(key)),
                    ..config
                }
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let opening = Instant::now();
    let mut tidbit = match Tidbit::open(config, Arc::new(SystemClock)) {
        Ok(tidbit) => tidbit,
        Err(e) => {
            eprintln!("cannot open the store in {}: {e}", store.display());
            return ExitCode::FAILURE;
        }
    };
    let after_open = status_mb("VmHWM:");
    if sealed {
        println!(
            "  open with the key, sealing the history: {:.3} s",
            opening.elapsed().as_secs_f64()
        );
    }
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    let events = match tidbit.rebuild_projections() {
        Ok(events) => events,
        Err(e) => {
            eprintln!("the rebuild failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, thread_cpu_seconds()) {
        (Some(before), Some(after)) => format!("{:.3} s", after - before),
        _ => "n/a".into(),
    };
    let peak = status_mb("VmHWM:");
    println!(
        "rebuild_projections: {events} events in {seconds:.3} s ({:.1} µs/event; on a CPU {cpu}); \
         peak RSS (VmHWM) {} [before open {}, after open {}]",
        seconds * 1e6 / events.max(1) as f64,
        mb(peak),
        mb(before_open),
        mb(after_open),
    );
    if let Some(expected) = expected_digest {
        match tidbit.projection_digest() {
            Ok(digest) if digest == expected => {
                println!(
                    "  projections after the rebuild equal the live ones (digest {digest:.16}…)"
                )
            }
            Ok(digest) => {
                eprintln!("  the rebuilt projections differ: {digest} != {expected}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("  cannot digest the projections: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let sealed = args.iter().any(|a| a == "--sealed");
    args.retain(|a| a != "--sealed");
    if let Some(store) = args.first() {
        let expected = args
            .iter()
            .position(|a| a == "--expect-digest")
            .and_then(|i| args.get(i + 1));
        return measure(
            std::path::Path::new(store),
            expected.map(String::as_str),
            sealed,
        );
    }
    let cached = history::cached(&history::LARGE);
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("cannot find this program's path to run it again");
        return ExitCode::FAILURE;
    };
    for run in 1..=RUNS {
        let scratch = tempfile::tempdir_in(history::cache_root()).expect("a scratch directory");
        let store = cached.copy_store_to(scratch.path());
        println!("run {run}/{RUNS} (a fresh process on a fresh copy):");
        let mut child = Command::new(&exe);
        child.arg(&store).arg("--expect-digest").arg(&cached.digest);
        if sealed {
            child.arg("--sealed");
        }
        let status = child.status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("run {run} failed: {status:?}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
