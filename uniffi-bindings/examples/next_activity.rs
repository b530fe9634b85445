//! Times `next_activity()` called directly on the core, and through this crate's Rust API (lock,
//! panic guard, conversion), for comparison with the same call from Kotlin and Python
//! (tests/bindings/measure.sh). A figure, not a test. Prints wall time and the calling thread's
//! CPU time per call (from /proc/thread-self/schedstat): on a busy machine the CPU time is the
//! figure that compares.
//!
//!     cargo run --release -p tidbit-ffi --example next_activity -- PACK AUTHOR_PUB [CALLS]

use std::sync::Arc;
use std::time::Instant;

use tidbit_core::events::SystemClock;
use tidbit_core::keys::{PublicKey, TrustedKeys};
use tidbit_core::learn::assess::Response;
use tidbit_core::tidbit::{Tidbit as CoreTidbit, TidbitConfig as CoreConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, pack, author_pub, rest @ ..] = args.as_slice() else {
        return Err("usage: next_activity PACK AUTHOR_PUB [CALLS]".into());
    };
    let calls: u32 = rest.first().map_or(Ok(2_000), |n| n.parse())?;
    let author = std::fs::read_to_string(author_pub)?;
    let work = std::env::temp_dir().join(format!("tidbit-next-activity-{}", std::process::id()));

    // The core, called directly.
    let config = CoreConfig {
        data_dir: work.join("direct"),
        learner_id: "bench".into(),
        device_id: "bench-direct".into(),
        time_zone: "Europe/Berlin".into(),
        trusted_keys: TrustedKeys::from_keys([PublicKey::from_file_text(&author)?]),
        at_rest_key: None,
    };
    let mut core = CoreTidbit::open(config, Arc::new(SystemClock))?;
    core.install_pack(std::path::Path::new(pack), &mut |_, _| {})?;
    core.enroll("binding-tour", "tourist")?;
    core.start_module("binding-tour", "tour")?;
    core.answer(
        "binding-tour",
        "tour-single",
        Response::SingleChoice { choice: 0 },
        5_000,
    )?;
    for _ in 0..2_000 {
        core.next_activity()?;
    }
    let started = (Instant::now(), thread_cpu_ns());
    for _ in 0..calls {
        std::hint::black_box(core.next_activity()?);
    }
    let direct = per_call(started, calls);
    drop(core);

    // The same call through tidbit-ffi's Rust API (no foreign language).
    struct NoKeys;
    impl tidbit_ffi::KeyStore for NoKeys {
        fn certificate_signing_key(&self) -> Result<Option<String>, tidbit_ffi::KeyStoreError> {
            Ok(None)
        }

        fn at_rest_key(&self) -> Result<Option<Vec<u8>>, tidbit_ffi::KeyStoreError> {
            Ok(None)
        }

        fn destroy_at_rest_key(&self) -> Result<(), tidbit_ffi::KeyStoreError> {
            Ok(())
        }
    }
    let tidbit = tidbit_ffi::Tidbit::open(
        tidbit_ffi::TidbitConfig {
            data_dir: work.join("ffi").to_string_lossy().into_owned(),
            learner_id: "bench".into(),
            device_id: "bench-ffi".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: vec![author],
        },
        Arc::new(NoKeys),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(tidbit.install_pack(pack.clone(), None))?;
    tidbit.enroll("binding-tour".into(), "tourist".into())?;
    tidbit.start_module("binding-tour".into(), "tour".into())?;
    tidbit.answer(
        "binding-tour".into(),
        "tour-single".into(),
        tidbit_ffi::Response::SingleChoice { choice: 0 },
        5_000,
    )?;
    for _ in 0..2_000 {
        tidbit.next_activity()?;
    }
    let started = (Instant::now(), thread_cpu_ns());
    for _ in 0..calls {
        std::hint::black_box(tidbit.next_activity()?);
    }
    let wrapped = per_call(started, calls);
    drop(tidbit);
    let _ = std::fs::remove_dir_all(&work);

    println!(
        "rust direct (core):      {:8.1} us/call wall, {:8.1} us/call thread CPU ({calls} calls)",
        direct.0, direct.1
    );
    println!(
        "rust via tidbit-ffi API: {:8.1} us/call wall, {:8.1} us/call thread CPU",
        wrapped.0, wrapped.1
    );
    Ok(())
}

/// Nanoseconds this thread has run on a CPU (Linux).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// (wall, thread CPU) microseconds per call since `started`.
fn per_call(started: (Instant, u64), calls: u32) -> (f64, f64) {
    let wall = started.0.elapsed().as_secs_f64() * 1e6 / f64::from(calls);
    let cpu = (thread_cpu_ns() - started.1) as f64 / 1e3 / f64::from(calls);
    (wall, cpu)
}
