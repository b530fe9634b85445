//! Building: what a built pack contains and looks like byte for byte, and what the builder
//! refuses before writing anything.

use super::*;

#[test]
fn pack_round_trips_course_and_assets() {
    let key = SigningKey::generate().unwrap();
    let bytes = build(&key, files(4096, 4000)).unwrap();
    let mut sink = MemorySink::new();
    let manifest = verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink).unwrap();
    assert_eq!(sink.files.len(), 3);
    assert_eq!(sink.files["course.json"], COURSE_JSON);
    assert_eq!(sink.files["assets/notes.txt"], text(4000));
    assert_eq!(sink.files["assets/photo.jpg"], noise(4096));
    assert_eq!(manifest.schema_version, 1);
    assert_eq!(manifest.course_id, "objections");
    assert_eq!(manifest.version, semver::Version::new(1, 2, 3));
    assert_eq!(manifest.created_at, "2025-01-02T03:04:05Z");
    assert_eq!(manifest.signer_key_id, key.key_id());
    let paths: Vec<_> = manifest.assets.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(
        paths,
        ["course.json", "assets/notes.txt", "assets/photo.jpg"]
    );
}

#[test]
fn build_returns_the_manifest_that_verify_reads() {
    let key = SigningKey::generate().unwrap();
    let mut out = Vec::new();
    let built = build_pack(&mut out, meta(), files(64, 400), &key, &mut |_, _| {}).unwrap();
    let read = verify_with(&out, &trust(&key), &PackLimits::default(), &mut DiscardSink);
    assert_eq!(read.unwrap(), built);
}

#[test]
fn compressible_asset_is_deflated_and_random_asset_is_stored() {
    let key = SigningKey::generate().unwrap();
    let mut out = Vec::new();
    let manifest = build_pack(&mut out, meta(), files(4096, 4000), &key, &mut |_, _| {}).unwrap();
    let notes = manifest.asset("assets/notes.txt").unwrap();
    assert_eq!(notes.encoding, Encoding::Deflate);
    assert_eq!(notes.size, 4000);
    assert!(notes.packed_size < 400, "packed {}", notes.packed_size);
    let photo = manifest.asset("assets/photo.jpg").unwrap();
    assert_eq!(photo.encoding, Encoding::Stored);
    assert_eq!(photo.packed_size, 4096);
    assert_eq!(photo.packed_sha256, photo.sha256);
    assert_eq!(photo.sha256, sha256_hex(&noise(4096)));
}

#[test]
fn pack_layout_is_magic_version_length_canonical_manifest_signature_payload() {
    let key = SigningKey::generate().unwrap();
    let mut out = Vec::new();
    let manifest = build_pack(&mut out, meta(), files(64, 400), &key, &mut |_, _| {}).unwrap();
    let json = manifest.to_canonical_json().unwrap();
    assert_eq!(&out[..8], b"TIDBITPK");
    assert_eq!(&out[8..10], &[1, 0]);
    assert_eq!(&out[10..14], &(json.len() as u32).to_le_bytes());
    assert_eq!(&out[14..14 + json.len()], &json[..]);
    assert!(json.starts_with(br#"{"assets":[{"encoding":"stored","packed_sha256":""#));
    let tail = format!(
        r#","schema_version":1,"signer_key_id":"{}","title":"Handling objections","version":"1.2.3"}}"#,
        key.key_id()
    );
    assert!(json.ends_with(tail.as_bytes()));
    let signature: [u8; 64] = out[14 + json.len()..14 + json.len() + 64]
        .try_into()
        .unwrap();
    assert!(key
        .public_key()
        .verify(b"tidbit-pack-manifest-v1\0", &json, &signature));
    let packed_total: u64 = manifest.assets.iter().map(|a| a.packed_size).sum();
    assert_eq!(out.len() as u64, 14 + json.len() as u64 + 64 + packed_total);
}

#[test]
fn build_refuses_unsafe_paths_before_writing() {
    let key = SigningKey::generate().unwrap();
    for path in UNSAFE_PATHS {
        let mut out = Vec::new();
        let files = vec![
            ("course.json".to_string(), COURSE_JSON.to_vec()),
            (path.to_string(), b"x".to_vec()),
        ];
        let result = build_pack(&mut out, meta(), files, &key, &mut |_, _| {});
        assert!(
            matches!(result, Err(PackError::UnsafePath { .. })),
            "{path:?}: {result:?}"
        );
        assert!(out.is_empty(), "{path:?}: wrote {} bytes", out.len());
    }
}

#[test]
fn build_refuses_duplicate_and_case_duplicate_paths() {
    let key = SigningKey::generate().unwrap();
    for (first, second) in [
        ("assets/a.png", "assets/a.png"),
        ("assets/a.png", "assets/A.PNG"),
        ("assets/caf\u{e9}.png", "assets/cafe\u{301}.png"),
    ] {
        let files = vec![
            (first.to_string(), b"1".to_vec()),
            (second.to_string(), b"2".to_vec()),
        ];
        let result = build(&key, files);
        assert!(
            matches!(result, Err(PackError::DuplicateEntry { ref path, .. }) if path == second),
            "{second:?}: {result:?}"
        );
    }
}

#[test]
fn build_stores_content_that_would_exceed_the_ratio_limit() {
    let key = SigningKey::generate().unwrap();
    let mut out = Vec::new();
    let files = vec![("assets/blank.bmp".to_string(), vec![0u8; 1024 * 1024])];
    let manifest = build_pack(&mut out, meta(), files, &key, &mut |_, _| {}).unwrap();
    assert_eq!(manifest.assets[0].encoding, Encoding::Stored);
    assert!(verify(&out, &key).is_ok());
}

#[test]
fn build_refuses_invalid_course_id() {
    let key = SigningKey::generate().unwrap();
    let mut out = Vec::new();
    let mut meta = meta();
    meta.course_id = "../Objections".to_string();
    let result = build_pack(&mut out, meta, files(1, 1), &key, &mut |_, _| {});
    assert!(matches!(result, Err(PackError::InvalidCourseId { .. })));
    assert!(out.is_empty());
}
