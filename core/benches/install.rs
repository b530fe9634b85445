//! Pack build and install times: the two sample courses and a generated 1,000-item pack.
//!
//! `cargo bench -p tidbit-core --bench install` prints the figures; the pack sizes are printed
//! once before the timings.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use tidbit_core::content::synthetic::synthetic_course;
use tidbit_core::content::{compile_course, write_course_pack, CompiledCourse};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::store::Store;

fn created() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("a valid time")
}

fn pack_bytes(compiled: &CompiledCourse, key: &SigningKey) -> Vec<u8> {
    let mut out = Vec::new();
    write_course_pack(compiled, key, created(), &mut out, &mut |_, _| {}).expect("pack builds");
    out
}

fn sample_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../content")
        .join(name)
}

fn benches(c: &mut Criterion) {
    let key = SigningKey::generate().expect("key");
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut packs = Vec::new();
    for name in ["customer-objections", "field-safety"] {
        let source = sample_dir(name);
        c.bench_function(&format!("build/{name}"), |b| {
            b.iter(|| {
                let compiled = compile_course(&source).expect("sample compiles");
                black_box(pack_bytes(&compiled, &key))
            })
        });
        let compiled = compile_course(&source).expect("sample compiles");
        packs.push((name.to_string(), pack_bytes(&compiled, &key)));
    }
    let generated = synthetic_course("generated", "1.0.0", 1000, 4096);
    packs.push((
        "generated-1000-items".to_string(),
        pack_bytes(&generated, &key),
    ));
    for (name, bytes) in &packs {
        let path = scratch.path().join(format!("{name}.tidbit"));
        std::fs::write(&path, bytes).expect("write pack");
        println!("pack size {name}: {} bytes", bytes.len());
        c.bench_function(&format!("install/{name}"), |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("tempdir"),
                |data| {
                    let mut store = Store::open(data.path()).expect("store opens");
                    black_box(
                        store
                            .install_pack(&path, &trusted, &mut |_, _| {})
                            .expect("pack installs"),
                    );
                    data
                },
                BatchSize::PerIteration,
            )
        });
    }
}

criterion_group! {
    name = install;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(install);
