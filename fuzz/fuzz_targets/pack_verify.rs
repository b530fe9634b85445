//! The pack verifier behind `tidbit pack verify` and install, on arbitrary bytes with the
//! fuzzing key trusted: the bytes as they are, then re-signed so the asset list, decompression
//! and hashing behind the signature are reached. It must never panic, and a pack it accepts
//! must hold exactly the assets its manifest lists, each of the size and hash stated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ring::digest;
use tidbit_core::pack::{verify_pack, MemorySink, PackLimits};
use tidbit_fuzz::resign::resign_pack;
use tidbit_fuzz::trusted_keys;

fuzz_target!(|data: &[u8]| {
    verify_and_check(data);
    if let Some(resigned) = resign_pack(data) {
        verify_and_check(&resigned);
    }
});

fn verify_and_check(pack: &[u8]) {
    let len = pack.len() as u64;
    let mut sink = MemorySink::new();
    let mut reported = 0;
    let verified = verify_pack(
        pack,
        len,
        trusted_keys(),
        &PackLimits::default(),
        &mut sink,
        &mut |done, total| {
            assert!(
                done >= reported && done <= total && total == len,
                "progress {done}/{total} after {reported} for a {len}-byte pack"
            );
            reported = done;
        },
    );
    let Ok(manifest) = verified else {
        return;
    };
    assert_eq!(sink.files.len(), manifest.assets.len());
    for entry in &manifest.assets {
        let content = &sink.files[&entry.path];
        assert_eq!(content.len() as u64, entry.size, "size of {}", entry.path);
        let hash = hex::encode(digest::digest(&digest::SHA256, content));
        assert_eq!(hash, entry.sha256, "hash of {}", entry.path);
    }
}
