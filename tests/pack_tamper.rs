//! Flipping any single byte of a built sample pack makes `tidbit pack verify` and
//! `tidbit install` fail with a clear message and a non-zero exit, and installs nothing.

mod common;

use common::*;
use tidbit_core::keys::{PublicKey, TrustedKeys};
use tidbit_core::pack::{verify_pack, DiscardSink, PackLimits};

/// Deterministic positions spread over the whole file, always including the header, the
/// manifest's first and last bytes and the signature.
fn sample_positions(len: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut positions: Vec<usize> = (0..16.min(len)).collect();
    let mut state = seed;
    while positions.len() < count.min(len) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        positions.push((state % len as u64) as usize);
    }
    positions.push(len - 1);
    positions
}

#[test]
fn every_sampled_single_byte_flip_fails_verification_in_the_library() {
    let dir = workdir_with_key();
    let key =
        PublicKey::from_file_text(&std::fs::read_to_string(dir.path().join("author.pub")).unwrap())
            .unwrap();
    let trusted = TrustedKeys::from_keys([key]);
    for name in SAMPLE_COURSES {
        let pack = std::fs::read(build_sample(dir.path(), name)).unwrap();
        let verify = |bytes: &[u8]| {
            verify_pack(
                bytes,
                bytes.len() as u64,
                &trusted,
                &PackLimits::default(),
                &mut DiscardSink,
                &mut |_, _| {},
            )
        };
        verify(&pack).unwrap_or_else(|e| panic!("{name}: the untouched pack must verify: {e}"));
        for position in sample_positions(pack.len(), 3000, 0x5eed_0001) {
            for mask in [0x01u8, 0x80] {
                let mut flipped = pack.clone();
                flipped[position] ^= mask;
                let result = verify(&flipped);
                assert!(
                    result.is_err(),
                    "{name}: flipping byte {position} with {mask:#x} went unnoticed"
                );
            }
        }
    }
}

#[test]
fn flipped_packs_fail_verify_and_install_on_the_command_line_and_install_nothing() {
    let dir = workdir_with_key();
    let data = dir.path().join("data");
    for name in SAMPLE_COURSES {
        let pack = std::fs::read(build_sample(dir.path(), name)).unwrap();
        let flipped_path = dir.path().join("flipped.tidbit");
        let flipped_arg = flipped_path.to_str().unwrap();
        for position in sample_positions(pack.len(), 40, 0x5eed_0002) {
            let mut flipped = pack.clone();
            flipped[position] ^= 0x20;
            std::fs::write(&flipped_path, &flipped).unwrap();
            for args in [
                vec!["pack", "verify", flipped_arg, "--trust", "author.pub"],
                vec![
                    "install",
                    flipped_arg,
                    "--data",
                    data.to_str().unwrap(),
                    "--trust",
                    "author.pub",
                ],
            ] {
                let out = run(dir.path(), &args);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{name} byte {position}: {args:?} must fail\n{stderr}"
                );
                assert!(
                    stderr.starts_with("error: ") && stderr.contains("flipped.tidbit"),
                    "{stderr}"
                );
            }
        }
    }
    let catalog = run_ok(
        dir.path(),
        &["catalog", "--data", data.to_str().unwrap(), "--json"],
    );
    assert_eq!(
        catalog.trim(),
        "[]",
        "nothing may be installed from a tampered pack"
    );
}

#[test]
fn a_truncated_pack_names_the_problem() {
    let dir = workdir_with_key();
    let pack = std::fs::read(build_sample(dir.path(), "customer-objections")).unwrap();
    let cut = dir.path().join("cut.tidbit");
    std::fs::write(&cut, &pack[..pack.len() / 2]).unwrap();
    let out = run(
        dir.path(),
        &[
            "pack",
            "verify",
            cut.to_str().unwrap(),
            "--trust",
            "author.pub",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}

#[test]
fn a_pack_signed_by_another_key_is_refused_by_name() {
    let dir = workdir_with_key();
    run_ok(dir.path(), &["keygen", "stranger"]);
    let pack = build_sample(dir.path(), "field-safety");
    let out = run(
        dir.path(),
        &[
            "pack",
            "verify",
            pack.to_str().unwrap(),
            "--trust",
            "stranger.pub",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not trust"));
}
