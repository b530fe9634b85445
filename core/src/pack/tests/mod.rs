//! Tests of the pack format, as specifications: the shared fixtures that build honest packs and
//! craft hostile ones, and the rules of this module (paths, canonical JSON, sinks, messages).
//! `build.rs` covers what a built pack looks like; `verify.rs` what the verifier refuses.

use super::build::deflate;
use super::*;
use crate::keys::{PublicKey, SigningKey, TrustedKeys};

mod build;
mod on_demand;
mod verify;

const COURSE_JSON: &[u8] = br#"{"id":"objections","modules":["acknowledge-first"]}"#;

fn meta() -> PackMeta {
    PackMeta {
        course_id: "objections".to_string(),
        version: semver::Version::new(1, 2, 3),
        locale: "en".to_string(),
        title: "Handling objections".to_string(),
        created_at: DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc),
        media_on_demand: false,
    }
}

/// Deterministic bytes that deflate cannot shrink (xorshift64).
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn text(len: usize) -> Vec<u8> {
    b"Acknowledge the concern before you answer it. "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn files(noise_len: usize, text_len: usize) -> Vec<(String, Vec<u8>)> {
    vec![
        ("course.json".to_string(), COURSE_JSON.to_vec()),
        ("assets/notes.txt".to_string(), text(text_len)),
        ("assets/photo.jpg".to_string(), noise(noise_len)),
    ]
}

fn build(key: &SigningKey, files: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, PackError> {
    let mut out = Vec::new();
    build_pack(&mut out, meta(), files, key, &mut |_, _| {})?;
    Ok(out)
}

fn small_pack(key: &SigningKey) -> Vec<u8> {
    build(key, files(64, 400)).unwrap()
}

fn trust(key: &SigningKey) -> TrustedKeys {
    TrustedKeys::from_keys([key.public_key()])
}

fn verify_with(
    bytes: &[u8],
    trusted: &TrustedKeys,
    limits: &PackLimits,
    sink: &mut dyn AssetSink,
) -> Result<PackManifest, PackError> {
    verify_pack(
        bytes,
        bytes.len() as u64,
        trusted,
        limits,
        sink,
        &mut |_, _| {},
    )
}

fn verify(bytes: &[u8], key: &SigningKey) -> Result<MemorySink, PackError> {
    let mut sink = MemorySink::new();
    verify_with(bytes, &trust(key), &PackLimits::default(), &mut sink)?;
    Ok(sink)
}

/// A manifest entry and its packed bytes, as an honest builder would make them.
fn entry(path: &str, content: &[u8], encoding: Encoding) -> (AssetEntry, Vec<u8>) {
    let packed = match encoding {
        Encoding::Stored => content.to_vec(),
        Encoding::Deflate => deflate(content).unwrap(),
    };
    let entry = AssetEntry {
        path: path.to_string(),
        size: content.len() as u64,
        sha256: sha256_hex(content),
        encoding,
        packed_size: packed.len() as u64,
        packed_sha256: sha256_hex(&packed),
        on_demand: false,
    };
    (entry, packed)
}

fn manifest(key: &SigningKey, assets: Vec<AssetEntry>) -> PackManifest {
    PackManifest {
        schema_version: SCHEMA_VERSION,
        course_id: "objections".to_string(),
        version: semver::Version::new(1, 0, 0),
        locale: "en".to_string(),
        title: "Hostile".to_string(),
        created_at: "2025-01-02T03:04:05Z".to_string(),
        signer_key_id: key.key_id(),
        assets,
    }
}

/// A pack from hand-made entries, signed by `key`, bypassing every builder check.
fn craft(key: &SigningKey, entries: Vec<(AssetEntry, Vec<u8>)>) -> Vec<u8> {
    let payload: Vec<u8> = entries.iter().flat_map(|(_, p)| p.clone()).collect();
    let manifest = manifest(key, entries.into_iter().map(|(e, _)| e).collect());
    craft_raw(key, &manifest.to_canonical_json().unwrap(), &payload)
}

fn craft_raw(key: &SigningKey, manifest_json: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_pack_unchecked(&mut out, manifest_json, payload, key).unwrap();
    out
}

fn course_entry() -> (AssetEntry, Vec<u8>) {
    entry("course.json", COURSE_JSON, Encoding::Stored)
}

const UNSAFE_PATHS: &[&str] = &[
    "../x",
    "/etc/passwd",
    "assets/../../x",
    "assets\\x",
    "C:/x",
    "assets//x",
    "assets/./x",
    "assets/",
    "",
    "assets/a\0b",
    "assets/line\nbreak",
    "other/x.png",
    "course.json/x",
];
#[test]
fn unsafe_paths_are_refused() {
    for path in UNSAFE_PATHS {
        assert!(
            matches!(check_asset_path(path), Err(PackError::UnsafePath { .. })),
            "{path:?} was accepted"
        );
    }
}

#[test]
fn safe_paths_are_accepted() {
    for path in [
        "course.json",
        "assets/x.png",
        "assets/video/intro.mp4",
        "assets/é.png",
        "assets/.hidden",
        "assets/a..b",
    ] {
        assert!(check_asset_path(path).is_ok(), "{path:?} was refused");
    }
}

#[test]
fn memory_sink_only_keeps_the_chosen_assets() {
    let key = SigningKey::generate().unwrap();
    let bytes = small_pack(&key);
    let mut sink = MemorySink::only(["course.json"]);
    verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink).unwrap();
    assert_eq!(sink.files.keys().collect::<Vec<_>>(), ["course.json"]);
    assert_eq!(sink.files["course.json"], COURSE_JSON);
}

#[test]
fn canonical_json_sorts_keys_and_drops_whitespace() {
    let value: Value =
        serde_json::from_str(r#"{ "b": [1, {"d": "é", "c": null}], "a": "x\"y" }"#).unwrap();
    assert_eq!(
        canonical_json(&value).unwrap(),
        r#"{"a":"x\"y","b":[1,{"c":null,"d":"é"}]}"#.as_bytes()
    );
}

#[test]
fn hash_mismatch_message_names_the_asset_and_what_to_do() {
    let message = PackError::HashMismatch {
        path: "assets/x.png".to_string(),
    }
    .to_string();
    assert_eq!(
        message,
        "asset 'assets/x.png' does not match its SHA-256 in the manifest: the pack was \
         altered or damaged in transit; download it again"
    );
}

#[test]
fn public_key_is_usable_from_a_trusted_set() {
    let key = SigningKey::generate().unwrap();
    let public: PublicKey = key.public_key();
    assert_eq!(trust(&key).find(&key.key_id()), Some(&public));
}
