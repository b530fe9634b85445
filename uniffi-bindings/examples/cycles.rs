//! Open / use / close cycles through tidbit-ffi's Rust API, printing resident memory: the native
//! side of the Kotlin cycles figure (tests/bindings/measure.sh), without a JVM. A figure, not a
//! test.
//!
//!     cargo run --release -p tidbit-ffi --example cycles -- PACK AUTHOR_PUB [CYCLES]

use std::sync::Arc;

use tidbit_ffi::{KeyStore, KeyStoreError, Tidbit, TidbitConfig};

struct NoKeys;

impl KeyStore for NoKeys {
    fn certificate_signing_key(&self) -> Result<Option<String>, KeyStoreError> {
        Ok(None)
    }

    fn at_rest_key(&self) -> Result<Option<Vec<u8>>, KeyStoreError> {
        Ok(None)
    }

    fn destroy_at_rest_key(&self) -> Result<(), KeyStoreError> {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, pack, author_pub, rest @ ..] = args.as_slice() else {
        return Err("usage: cycles PACK AUTHOR_PUB [CYCLES]".into());
    };
    let cycles: u32 = rest.first().map_or(Ok(10_000), |n| n.parse())?;
    let work = std::env::temp_dir().join(format!("tidbit-cycles-{}", std::process::id()));
    let config = TidbitConfig {
        data_dir: work.to_string_lossy().into_owned(),
        learner_id: "bench".into(),
        device_id: "cycles".into(),
        time_zone: "Europe/Berlin".into(),
        trusted_keys: vec![std::fs::read_to_string(author_pub)?],
    };
    let tidbit = Tidbit::open(config.clone(), Arc::new(NoKeys))?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(tidbit.install_pack(pack.clone(), None))?;
    tidbit.enroll("binding-tour".into(), "tourist".into())?;
    tidbit.close_store();
    drop(tidbit);

    let mut start = 0;
    for cycle in 1..=cycles {
        let tidbit = Tidbit::open(config.clone(), Arc::new(NoKeys))?;
        std::hint::black_box(tidbit.next_activity()?);
        std::hint::black_box(tidbit.due_counts()?);
        tidbit.close_store();
        drop(tidbit);
        if cycle == 100 {
            start = resident_kib();
        }
        if cycle % 2_000 == 0 {
            println!("  after {cycle:5} cycles: RSS {} KiB", resident_kib());
        }
    }
    let end = resident_kib();
    println!(
        "rust open/use/close: RSS after 100 cycles {start} KiB, after {cycles} cycles {end} KiB ({:+} KiB)",
        end as i64 - start as i64
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// This process's resident set (Linux `VmRSS`), KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}
