//! The `.tidbit` pack container: one signed file carrying a compiled course and its assets, and
//! the streaming verifier that reads it.
//!
//! Layout (integers little-endian): the magic `TIDBITPK`, the container version (`u16`, 1), the
//! manifest length (`u32`, at most 4 MiB), the manifest as canonical JSON (UTF-8, object keys
//! sorted by byte order, no whitespace), a 64-byte Ed25519 signature over
//! `b"tidbit-pack-manifest-v1\0" || manifest`, then each asset's packed bytes in manifest order,
//! and nothing after them. The manifest records, for every asset, the SHA-256 of its packed bytes
//! and of its content, so every byte of the file is covered by the signature: changing any one of
//! them makes verification fail. By convention the first asset is `course.json` (the compiled
//! course) and the others live under `assets/`; the container does not interpret them.
//!
//! The format has no directories, links, permissions or other entry kinds: only named byte
//! strings. Asset paths are still checked as if they were going to be used on a file system
//! (relative, no `..`, no case-insensitive duplicates), but the installer stores assets by content
//! hash and never creates a file at an author-chosen path.
//!
//! Verification streams: a video asset is never held in memory, a declared size is never trusted
//! for allocation, and decompression stops as soon as an asset produces more bytes than its
//! manifest entry declares. This module must never hand an [`AssetSink`] a byte before the
//! manifest's signature has been checked against a trusted key, and never report success for a
//! pack whose bytes were not all read and checked. Until [`verify_pack`] returns `Ok`, whatever a
//! sink wrote is unverified and must be thrown away on error.
//!
//! This file holds the format: its constants, errors, manifest types, sinks, and the rules both
//! sides enforce (asset paths, course ids, duplicates, sizes, canonical JSON). `build.rs` writes
//! packs; `verify.rs` reads them back and checks every byte.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::SIGNATURE_LEN;
use unicode_normalization::UnicodeNormalization;

mod build;
#[cfg(test)]
mod tests;
mod verify;

pub use build::build_pack;
#[doc(hidden)]
pub use build::write_pack_unchecked;
pub use verify::{read_manifest_unverified, verify_asset, verify_pack, verify_pack_file};

/// Bytes before the manifest: the magic, the container version and the manifest's length.
pub const HEAD_LEN: u64 = 8 + 2 + 4;
/// First 8 bytes of every pack.
pub const MAGIC: &[u8; 8] = b"TIDBITPK";
/// The container layout this code reads and writes.
pub const CONTAINER_VERSION: u16 = 1;
/// The manifest schema this code reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
/// Signature domain of a pack manifest.
pub const MANIFEST_SIGNATURE_DOMAIN: &[u8] = b"tidbit-pack-manifest-v1\0";
/// The format's cap on the manifest length.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Longest asset path, in bytes.
pub const MAX_PATH_BYTES: usize = 255;
/// Path of the compiled course inside a pack.
pub const COURSE_PATH: &str = "course.json";
/// Folder every other asset lives under.
pub const ASSETS_PREFIX: &str = "assets/";
/// Why a pack could not be built, read or verified. Every message names what is wrong, where,
/// and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(
        "not a Tidbit pack: the file does not start with 'TIDBITPK'; \
         check that you chose a .tidbit file built with `tidbit pack build`"
    )]
    NotAPack,
    #[error(
        "this pack uses container version {found}, but this app reads version {supported}: \
         update the app, or ask the author for a pack built for this version"
    )]
    UnsupportedContainer { found: u16, supported: u16 },
    #[error(
        "the pack is truncated: it ends inside {what}; the download or copy was interrupted; \
         get the pack again"
    )]
    Truncated { what: String },
    #[error(
        "the pack has {bytes} unexpected byte(s) after its last asset: the file was altered or \
         two files were joined; get the pack again"
    )]
    TrailingData { bytes: u64 },
    #[error(
        "{what} is larger than this app accepts (limit {limit}): the pack may be hostile; \
         ask its author to split the course or shrink its assets"
    )]
    TooLarge { what: String, limit: u64 },
    #[error(
        "the pack manifest is malformed: {0}; the pack is damaged or was not built by \
         `tidbit pack build`; get a fresh copy or rebuild it"
    )]
    ManifestMalformed(String),
    #[error(
        "the pack manifest is not in canonical form (sorted keys, no whitespace, no escapes \
         that are not needed): it was edited after building; rebuild it with `tidbit pack build`"
    )]
    ManifestNotCanonical,
    #[error(
        "the pack manifest uses schema version {found}, but this app reads version {supported}: \
         update the app, or ask the author for a pack built for this version"
    )]
    UnknownSchemaVersion { found: u64, supported: u32 },
    #[error(
        "the pack is signed by key {key_id}, which this device does not trust: \
         if you trust its author, add their public key (e.g. `--trust AUTHOR.pub`), \
         otherwise get the pack from its official source"
    )]
    UntrustedSigner { key_id: String },
    #[error(
        "the pack's signature is not valid for its manifest: the pack was altered or damaged \
         in transit; download it again"
    )]
    SignatureInvalid,
    #[error(
        "unsafe asset path '{path}': {reason}; paths are relative, '/'-separated, and either \
         'course.json' or under 'assets/'; rename the file"
    )]
    UnsafePath { path: String, reason: String },
    #[error(
        "asset path '{path}' appears twice in the pack (or differs from '{other}' only by \
         letter case or Unicode normalization, which collide on many file systems); \
         rename one of them"
    )]
    DuplicateEntry { path: String, other: String },
    #[error(
        "compression ratio of {path} is {ratio}:1, above the limit of {limit}:1: this looks \
         like a decompression bomb; refuse the pack and tell its source"
    )]
    CompressionRatio {
        path: String,
        ratio: u64,
        limit: u64,
    },
    #[error(
        "asset '{path}' does not match its SHA-256 in the manifest: the pack was altered or \
         damaged in transit; download it again"
    )]
    HashMismatch { path: String },
    #[error(
        "asset '{path}' does not decompress to the {declared} bytes its manifest entry declares: \
         the pack was altered, damaged, or built wrongly; download it again or ask its author \
         to rebuild it"
    )]
    SizeMismatch { path: String, declared: u64 },
    #[error(
        "asset '{path}' cannot be decompressed ({reason}) although its bytes match the \
         manifest: the pack was built wrongly; ask its author to rebuild it"
    )]
    AssetCorrupt { path: String, reason: String },
    #[error(
        "course id '{id}' is not allowed: use 1 to 128 lowercase letters, digits and '-'; \
         fix `id` in course.toml"
    )]
    InvalidCourseId { id: String },
    #[error(
        "could not store asset '{path}' while installing the pack: {source}; check free space \
         and permissions, then try again"
    )]
    SinkFailed { path: String, source: io::Error },
    #[error(
        "cannot read pack file '{}': {source}; check the path and its permissions",
        path.display()
    )]
    File { path: PathBuf, source: io::Error },
    #[error("reading or writing the pack failed: {0}; check the file and the storage, then retry")]
    Io(#[from] io::Error),
}

/// How an asset's bytes are stored in the pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// As is.
    Stored,
    /// Raw deflate (RFC 1951), no zlib or gzip header.
    Deflate,
}

/// One asset in a pack manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetEntry {
    /// `course.json` or a path under `assets/`.
    pub path: String,
    /// Content length, after decompression.
    pub size: u64,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    pub encoding: Encoding,
    /// Length of the bytes stored in the pack.
    pub packed_size: u64,
    /// Lowercase hex SHA-256 of the bytes stored in the pack. Needed besides `sha256` because a
    /// deflate stream has bits a decoder ignores.
    pub packed_sha256: String,
    /// Fetched when first needed rather than with the course: such assets come after every other
    /// in the pack, so a device may download the pack without them (a prefix of the file ending
    /// at [`PackManifest::eager_len`]) and fetch each later by its byte range. Absent from the
    /// manifest when false, so packs without on-demand assets keep their form.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_demand: bool,
}

/// The signed description of a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    pub schema_version: u32,
    pub course_id: String,
    pub version: semver::Version,
    pub locale: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub signer_key_id: String,
    pub assets: Vec<AssetEntry>,
}

impl PackManifest {
    /// The manifest's canonical JSON: the exact bytes a pack stores and signs.
    pub fn to_canonical_json(&self) -> Result<Vec<u8>, PackError> {
        let value =
            serde_json::to_value(self).map_err(|e| PackError::ManifestMalformed(e.to_string()))?;
        canonical_json(&value)
    }

    /// SHA-256 (hex) of the canonical JSON: identifies exactly this signed content.
    pub fn fingerprint(&self) -> Result<String, PackError> {
        Ok(sha256_hex(&self.to_canonical_json()?))
    }

    /// The length of the pack file up to the end of the assets a device installs with the
    /// course: everything but the on-demand assets.
    pub fn eager_len(&self) -> Result<u64, PackError> {
        let manifest = self.to_canonical_json()?.len() as u64;
        let eager: u64 = self
            .assets
            .iter()
            .filter(|a| !a.on_demand)
            .map(|a| a.packed_size)
            .sum();
        Ok(HEAD_LEN + manifest + SIGNATURE_LEN as u64 + eager)
    }

    /// Where on-demand asset `path` lies in the pack file: (offset, packed length).
    pub fn on_demand_range(&self, path: &str) -> Result<Option<(u64, u64)>, PackError> {
        let mut offset = self.eager_len()?;
        for asset in self.assets.iter().filter(|a| a.on_demand) {
            if asset.path == path {
                return Ok(Some((offset, asset.packed_size)));
            }
            offset += asset.packed_size;
        }
        Ok(None)
    }

    /// The length of the whole pack file, on-demand assets included.
    pub fn full_len(&self) -> Result<u64, PackError> {
        let on_demand: u64 = self
            .assets
            .iter()
            .filter(|a| a.on_demand)
            .map(|a| a.packed_size)
            .sum();
        Ok(self.eager_len()? + on_demand)
    }

    /// The entry for `path`, if the pack has one.
    pub fn asset(&self, path: &str) -> Option<&AssetEntry> {
        self.assets.iter().find(|entry| entry.path == path)
    }
}

/// What the author says about a pack; the rest of the manifest is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackMeta {
    pub course_id: String,
    pub version: semver::Version,
    pub locale: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
    /// Every asset but `course.json` is fetched on demand (see [`AssetEntry::on_demand`]).
    pub media_on_demand: bool,
}

/// What a verifier accepts. Building always checks against the defaults, so every built pack
/// verifies under them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    pub max_manifest_bytes: u64,
    pub max_assets: usize,
    /// Per asset, content and packed.
    pub max_asset_bytes: u64,
    /// Sum of all content sizes.
    pub max_total_bytes: u64,
    /// Highest allowed content size / packed size, per deflated asset and for the whole pack.
    pub max_ratio: u64,
}

impl Default for PackLimits {
    fn default() -> Self {
        Self {
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            max_assets: 10_000,
            max_asset_bytes: 1024 * 1024 * 1024,
            max_total_bytes: 4 * 1024 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Receives a pack's assets while it is verified.
pub trait AssetSink {
    /// Called once per asset, in manifest order. `content` yields the decompressed content and
    /// fails (kind `InvalidData`, wrapping a [`PackError`]) at its end if the content or its
    /// packed bytes do not match `entry`, or as soon as it produces more than `entry.size`
    /// bytes. A sink that does not read to the end leaves the rest to the verifier, which checks
    /// it anyway.
    fn write_asset(&mut self, entry: &AssetEntry, content: &mut dyn Read) -> io::Result<()>;
}

/// Checks every asset and keeps nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSink;

impl AssetSink for DiscardSink {
    fn write_asset(&mut self, _entry: &AssetEntry, content: &mut dyn Read) -> io::Result<()> {
        io::copy(content, &mut io::sink()).map(|_| ())
    }
}

/// Keeps assets in memory: all of them ([`MemorySink::new`]) or only some
/// ([`MemorySink::only`], e.g. `course.json`). For tests and small files only.
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    pub files: BTreeMap<String, Vec<u8>>,
    only: Option<BTreeSet<String>>,
}

impl MemorySink {
    /// Keeps every asset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps only the assets at `paths`; the others are checked and dropped.
    pub fn only<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            files: BTreeMap::new(),
            only: Some(paths.into_iter().map(Into::into).collect()),
        }
    }
}

impl AssetSink for MemorySink {
    fn write_asset(&mut self, entry: &AssetEntry, content: &mut dyn Read) -> io::Result<()> {
        if let Some(only) = &self.only {
            if !only.contains(&entry.path) {
                return Ok(());
            }
        }
        // The declared size is checked by `content`, but never trusted for a large allocation.
        let capacity = usize::try_from(entry.size.min(16 * 1024 * 1024)).unwrap_or(0);
        let mut bytes = Vec::with_capacity(capacity);
        content.read_to_end(&mut bytes)?;
        self.files.insert(entry.path.clone(), bytes);
        Ok(())
    }
}

/// Checks an asset path: relative, `/`-separated, no empty, `.` or `..` components, no
/// backslash, `:`, NUL or control characters, at most 255 bytes, and either `course.json` or
/// under `assets/`.
pub fn check_asset_path(path: &str) -> Result<(), PackError> {
    let refuse = |reason: &str| {
        Err(PackError::UnsafePath {
            path: path.escape_debug().to_string(),
            reason: reason.to_string(),
        })
    };
    if path.is_empty() {
        return refuse("it is empty");
    }
    if path.len() > MAX_PATH_BYTES {
        return refuse("it is longer than 255 bytes");
    }
    if path.chars().any(char::is_control) {
        return refuse("it contains a NUL or control character");
    }
    if path.contains('\\') {
        return refuse("it contains a backslash; separate folders with '/'");
    }
    if path.starts_with('/') {
        return refuse("it is absolute (starts with '/')");
    }
    if path.contains(':') {
        return refuse("it contains ':' (a drive letter or stream name on Windows)");
    }
    for component in path.split('/') {
        match component {
            "" => return refuse("it has an empty component ('//' or a trailing '/')"),
            "." | ".." => return refuse("it has a '.' or '..' component"),
            _ => {}
        }
    }
    if path != COURSE_PATH && !path.starts_with(ASSETS_PREFIX) {
        return refuse("it is neither 'course.json' nor under 'assets/'");
    }
    Ok(())
}

fn check_course_id(id: &str) -> Result<(), PackError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if id.is_empty() || id.len() > 128 || !id.bytes().all(allowed) {
        return Err(PackError::InvalidCourseId {
            id: id.escape_debug().to_string(),
        });
    }
    Ok(())
}

/// Refuses a path equal to one already seen, also after case folding and NFC normalization
/// (such paths collide on case-insensitive or normalizing file systems).
pub(crate) fn check_unique(
    seen: &mut HashMap<String, String>,
    path: &str,
) -> Result<(), PackError> {
    let folded: String = path.nfc().collect::<String>().to_lowercase();
    if let Some(other) = seen.get(&folded) {
        return Err(PackError::DuplicateEntry {
            path: path.to_string(),
            other: other.clone(),
        });
    }
    seen.insert(folded, path.to_string());
    Ok(())
}

fn check_asset_size(path: &str, size: u64, limits: &PackLimits) -> Result<(), PackError> {
    if size > limits.max_asset_bytes {
        return Err(PackError::TooLarge {
            what: format!("asset '{path}' ({size} bytes)"),
            limit: limits.max_asset_bytes,
        });
    }
    Ok(())
}

fn total_too_large(limits: &PackLimits) -> PackError {
    PackError::TooLarge {
        what: "the pack's total content".to_string(),
        limit: limits.max_total_bytes,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// Canonical JSON: object keys sorted by byte order, no whitespace, serde_json's minimal string
/// escaping. Sorts explicitly so it does not depend on serde_json's `preserve_order` feature.
fn canonical_json(value: &Value) -> Result<Vec<u8>, PackError> {
    let mut out = Vec::new();
    write_canonical(value, &mut out).map_err(|e| PackError::ManifestMalformed(e.to_string()))?;
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) -> serde_json::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write_canonical(item, out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}
