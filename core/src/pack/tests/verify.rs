//! Verifying: every way a pack can be damaged, truncated, forged or hostile, and what the
//! verifier reports for each, including sinks that misbehave.

use std::path::Path;

use super::*;

#[test]
fn flipping_any_single_byte_makes_verification_fail() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    assert!(verify(&bytes, &key).is_ok());
    for mask in [0x01u8, 0x80] {
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= mask;
            assert!(
                verify(&damaged, &key).is_err(),
                "flipping byte {i} of {} with {mask:#04x} went unnoticed",
                bytes.len()
            );
        }
    }
}

#[test]
fn truncating_the_pack_anywhere_reports_truncated() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    for len in 0..bytes.len() {
        match verify(&bytes[..len], &key) {
            Err(PackError::Truncated { .. }) => {}
            other => panic!("truncated to {len} bytes: {other:?}"),
        }
    }
}

#[test]
fn reader_ending_before_declared_file_length_reports_truncated() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let short = &bytes[..bytes.len() - 10];
    let result = verify_pack(
        short,
        bytes.len() as u64,
        &trust(&key),
        &PackLimits::default(),
        &mut MemorySink::new(),
        &mut |_, _| {},
    );
    assert!(
        matches!(result, Err(PackError::Truncated { .. })),
        "{result:?}"
    );
}

#[test]
fn trailing_byte_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let mut bytes = small_pack(&key);
    bytes.push(0);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::TrailingData { bytes: 1 })
    ));
}

#[test]
fn reader_longer_than_declared_file_length_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let mut bytes = small_pack(&key);
    let file_len = bytes.len() as u64;
    bytes.extend_from_slice(b"junk");
    let result = verify_pack(
        &bytes[..],
        file_len,
        &trust(&key),
        &PackLimits::default(),
        &mut DiscardSink,
        &mut |_, _| {},
    );
    assert!(
        matches!(result, Err(PackError::TrailingData { .. })),
        "{result:?}"
    );
}

#[test]
fn pack_signed_by_untrusted_key_is_rejected_before_any_asset_is_written() {
    let key = SigningKey::generate().unwrap();
    let stranger = SigningKey::generate().unwrap();
    let bytes = small_pack(&stranger);
    let mut sink = MemorySink::new();
    let result = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink);
    match result {
        Err(PackError::UntrustedSigner { key_id }) => assert_eq!(key_id, stranger.key_id()),
        other => panic!("{other:?}"),
    }
    assert!(sink.files.is_empty());
}

#[test]
fn pack_signed_by_wrong_key_under_trusted_key_id_is_rejected() {
    let trusted = SigningKey::generate().unwrap();
    let forger = SigningKey::generate().unwrap();
    let (course, packed) = course_entry();
    let mut manifest = manifest(&forger, vec![course]);
    manifest.signer_key_id = trusted.key_id();
    let bytes = craft_raw(&forger, &manifest.to_canonical_json().unwrap(), &packed);
    let mut sink = MemorySink::new();
    let result = verify_with(&bytes, &trust(&trusted), &PackLimits::default(), &mut sink);
    assert!(
        matches!(result, Err(PackError::SignatureInvalid)),
        "{result:?}"
    );
    assert!(sink.files.is_empty());
}

#[test]
fn file_without_magic_is_not_a_pack() {
    let key = SigningKey::generate().unwrap();
    let result = verify(b"PK\x03\x04 this is a zip file, not a pack", &key);
    assert!(matches!(result, Err(PackError::NotAPack)), "{result:?}");
}

#[test]
fn unknown_container_version_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let mut bytes = small_pack(&key);
    bytes[8] = 2;
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::UnsupportedContainer {
            found: 2,
            supported: 1
        })
    ));
}

#[test]
fn manifest_length_over_cap_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let mut bytes = small_pack(&key);
    bytes[10..14].copy_from_slice(&(4 * 1024 * 1024 + 1u32).to_le_bytes());
    bytes.resize(5 * 1024 * 1024, 0);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::TooLarge { limit: 4194304, .. })
    ));
}

#[test]
fn non_canonical_manifest_is_rejected_even_when_signed() {
    let key = SigningKey::generate().unwrap();
    let (course, packed) = course_entry();
    let json = manifest(&key, vec![course]).to_canonical_json().unwrap();
    let spaced = String::from_utf8(json).unwrap().replacen(",", ", ", 1);
    let bytes = craft_raw(&key, spaced.as_bytes(), &packed);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::ManifestNotCanonical)
    ));
}

#[test]
fn manifest_with_unknown_field_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let (course, packed) = course_entry();
    let mut value = serde_json::to_value(manifest(&key, vec![course])).unwrap();
    value["zz_extra"] = Value::Bool(true);
    let bytes = craft_raw(&key, &canonical_json(&value).unwrap(), &packed);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::ManifestMalformed(_))
    ));
}

#[test]
fn unknown_schema_version_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let (course, packed) = course_entry();
    let mut manifest = manifest(&key, vec![course]);
    manifest.schema_version = 2;
    let bytes = craft_raw(&key, &manifest.to_canonical_json().unwrap(), &packed);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::UnknownSchemaVersion {
            found: 2,
            supported: 1
        })
    ));
}

#[test]
fn verify_refuses_signed_packs_with_unsafe_paths() {
    let key = SigningKey::generate().unwrap();
    for path in UNSAFE_PATHS {
        let bytes = craft(
            &key,
            vec![course_entry(), entry(path, b"owned", Encoding::Stored)],
        );
        let mut sink = MemorySink::new();
        let result = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink);
        assert!(
            matches!(result, Err(PackError::UnsafePath { .. })),
            "{path:?}: {result:?}"
        );
        assert!(sink.files.is_empty());
    }
}

#[test]
fn verify_refuses_duplicate_and_case_duplicate_paths() {
    let key = SigningKey::generate().unwrap();
    for (first, second) in [
        ("assets/a.png", "assets/a.png"),
        ("assets/a.png", "assets/A.png"),
        ("assets/Intro.MP4", "assets/intro.mp4"),
    ] {
        let bytes = craft(
            &key,
            vec![
                entry(first, b"1", Encoding::Stored),
                entry(second, b"2", Encoding::Stored),
            ],
        );
        let mut sink = MemorySink::new();
        let result = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink);
        assert!(
            matches!(result, Err(PackError::DuplicateEntry { ref path, ref other })
                if path == second && other == first),
            "{second:?}: {result:?}"
        );
        assert!(sink.files.is_empty());
    }
}

#[test]
fn declared_decompression_bomb_is_refused_by_ratio() {
    let key = SigningKey::generate().unwrap();
    let zeros = vec![0u8; 50 * 1024 * 1024];
    let (bomb, packed) = entry("assets/bomb.bin", &zeros, Encoding::Deflate);
    assert!(bomb.packed_size < 100_000, "packed {}", bomb.packed_size);
    let bytes = craft(&key, vec![course_entry(), (bomb, packed)]);
    let mut sink = MemorySink::new();
    let result = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink);
    match result {
        Err(PackError::CompressionRatio { path, ratio, limit }) => {
            assert_eq!(path, "assets/bomb.bin");
            assert!(ratio > 1000, "ratio {ratio}");
            assert_eq!(limit, 200);
        }
        other => panic!("{other:?}"),
    }
    assert!(sink.files.is_empty());
}

/// Reads an asset to its end (or first error) and remembers how much it got.
#[derive(Default)]
struct CountingSink {
    produced: u64,
    error: Option<io::Error>,
}

impl AssetSink for CountingSink {
    fn write_asset(&mut self, _entry: &AssetEntry, content: &mut dyn Read) -> io::Result<()> {
        let mut buf = [0u8; 8192];
        loop {
            match content.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => self.produced += n as u64,
                Err(e) => {
                    let kind = e.kind();
                    self.error = Some(e);
                    return Err(io::Error::new(kind, "sink gave up"));
                }
            }
        }
    }
}

#[test]
fn asset_inflating_past_its_declared_size_stops_at_the_declared_size() {
    let key = SigningKey::generate().unwrap();
    let content = text(100_000);
    let (mut lying, packed) = entry("assets/notes.txt", &content, Encoding::Deflate);
    lying.size = 50_000;
    lying.sha256 = sha256_hex(&content[..50_000]);
    let bytes = craft(&key, vec![(lying, packed)]);
    let mut sink = CountingSink::default();
    let result = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink);
    assert!(
        matches!(result, Err(PackError::SizeMismatch { ref path, declared: 50_000 }) if path == "assets/notes.txt"),
        "{result:?}"
    );
    assert_eq!(sink.produced, 50_000);
    assert_eq!(sink.error.unwrap().kind(), io::ErrorKind::InvalidData);
}

#[test]
fn asset_inflating_short_of_its_declared_size_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let content = text(10_000);
    let (mut lying, packed) = entry("assets/notes.txt", &content, Encoding::Deflate);
    lying.size = 10_001;
    let bytes = craft(&key, vec![(lying, packed)]);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::SizeMismatch {
            declared: 10_001,
            ..
        })
    ));
}

#[test]
fn asset_with_wrong_content_hash_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let (mut wrong, packed) = entry("assets/notes.txt", &text(1000), Encoding::Deflate);
    wrong.sha256 = sha256_hex(b"something else");
    let bytes = craft(&key, vec![(wrong, packed)]);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::HashMismatch { path }) if path == "assets/notes.txt"
    ));
}

#[test]
fn garbage_after_deflate_stream_is_caught_by_packed_hash() {
    // A decoder stops at the end of the deflate stream; bytes after it must still match.
    let key = SigningKey::generate().unwrap();
    let bytes = craft(
        &key,
        vec![entry("assets/notes.txt", &text(1000), Encoding::Deflate)],
    );
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    assert!(verify(&bytes, &key).is_ok());
    assert!(matches!(
        verify(&damaged, &key),
        Err(PackError::HashMismatch { .. })
    ));
}

#[test]
fn signed_but_undecodable_deflate_is_reported_as_corrupt() {
    let key = SigningKey::generate().unwrap();
    let garbage = vec![0xffu8; 64];
    let entry = AssetEntry {
        path: "assets/x.bin".to_string(),
        size: 100,
        sha256: sha256_hex(&[0u8; 100]),
        encoding: Encoding::Deflate,
        packed_size: 64,
        packed_sha256: sha256_hex(&garbage),
        on_demand: false,
    };
    let bytes = craft(&key, vec![(entry, garbage)]);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::AssetCorrupt { .. })
    ));
}

#[test]
fn stored_entry_with_packed_size_unlike_its_size_is_malformed() {
    let key = SigningKey::generate().unwrap();
    let (mut odd, packed) = entry("assets/x.bin", b"12345", Encoding::Stored);
    odd.size = 4;
    let bytes = craft(&key, vec![(odd, packed)]);
    assert!(matches!(
        verify(&bytes, &key),
        Err(PackError::ManifestMalformed(_))
    ));
}

#[test]
fn asset_over_the_size_limit_is_refused_before_streaming() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let limits = PackLimits {
        max_asset_bytes: 100,
        ..PackLimits::default()
    };
    let mut sink = MemorySink::new();
    let result = verify_with(&bytes, &trust(&key), &limits, &mut sink);
    assert!(
        matches!(result, Err(PackError::TooLarge { limit: 100, ref what }) if what.contains("assets/notes.txt")),
        "{result:?}"
    );
    assert!(sink.files.is_empty());
}

#[test]
fn too_many_assets_are_refused() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let limits = PackLimits {
        max_assets: 2,
        ..PackLimits::default()
    };
    let result = verify_with(&bytes, &trust(&key), &limits, &mut DiscardSink);
    assert!(matches!(result, Err(PackError::TooLarge { limit: 2, .. })));
}

#[test]
fn total_content_over_the_limit_is_refused() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let limits = PackLimits {
        max_total_bytes: 300,
        ..PackLimits::default()
    };
    let result = verify_with(&bytes, &trust(&key), &limits, &mut DiscardSink);
    assert!(matches!(
        result,
        Err(PackError::TooLarge { limit: 300, .. })
    ));
}

/// Reads one byte of each asset and claims success.
struct LazySink;

impl AssetSink for LazySink {
    fn write_asset(&mut self, _entry: &AssetEntry, content: &mut dyn Read) -> io::Result<()> {
        let _ = content.read(&mut [0u8; 1]);
        Ok(())
    }
}

#[test]
fn assets_a_sink_leaves_unread_are_still_checked() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let verified = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut LazySink);
    assert!(verified.is_ok());
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let result = verify_with(
        &damaged,
        &trust(&key),
        &PackLimits::default(),
        &mut LazySink,
    );
    assert!(
        matches!(result, Err(PackError::HashMismatch { .. })),
        "{result:?}"
    );
}

/// Swallows every error of the content reader.
struct CarelessSink;

impl AssetSink for CarelessSink {
    fn write_asset(&mut self, _entry: &AssetEntry, content: &mut dyn Read) -> io::Result<()> {
        let _ = io::copy(content, &mut io::sink());
        Ok(())
    }
}

#[test]
fn asset_errors_a_sink_swallows_still_fail_verification() {
    let key = SigningKey::generate().unwrap();
    let mut bytes = small_pack(&key);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let result = verify_with(
        &bytes,
        &trust(&key),
        &PackLimits::default(),
        &mut CarelessSink,
    );
    assert!(
        matches!(result, Err(PackError::HashMismatch { .. })),
        "{result:?}"
    );
}

#[test]
fn sink_failure_is_reported_with_the_asset_path() {
    struct FullDisk;
    impl AssetSink for FullDisk {
        fn write_asset(&mut self, _: &AssetEntry, _: &mut dyn Read) -> io::Result<()> {
            Err(io::Error::other("no space left on device"))
        }
    }
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let result = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut FullDisk);
    assert!(matches!(result, Err(PackError::SinkFailed { ref path, .. }) if path == "course.json"));
}

#[test]
fn progress_ends_at_the_file_length() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let mut seen = Vec::new();
    verify_pack(
        &bytes[..],
        bytes.len() as u64,
        &trust(&key),
        &PackLimits::default(),
        &mut DiscardSink,
        &mut |done, total| seen.push((done, total)),
    )
    .unwrap();
    let n = bytes.len() as u64;
    assert_eq!(seen.last(), Some(&(n, n)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn pack_files_verify_and_inspect_from_disk() {
    let key = SigningKey::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("objections.tidbit");
    std::fs::write(&path, small_pack(&key)).unwrap();
    let (unverified, signature) = read_manifest_unverified(&path).unwrap();
    let json = unverified.to_canonical_json().unwrap();
    assert!(key
        .public_key()
        .verify(MANIFEST_SIGNATURE_DOMAIN, &json, &signature));
    let verified = verify_pack_file(
        &path,
        &trust(&key),
        &PackLimits::default(),
        &mut DiscardSink,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(verified, unverified);
}

#[test]
fn missing_pack_file_error_names_the_file() {
    let err = read_manifest_unverified(Path::new("/nonexistent/objections.tidbit")).unwrap_err();
    assert!(matches!(err, PackError::File { .. }));
    assert!(err.to_string().contains("/nonexistent/objections.tidbit"));
}
