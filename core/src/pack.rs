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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::keys::{SigningKey, TrustedKeys, SIGNATURE_LEN};

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

/// magic + container version + manifest length.
const HEADER_LEN: u64 = 8 + 2 + 4;
/// Progress is reported at least every this many bytes while streaming.
const PROGRESS_STEP: u64 = 1024 * 1024;

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

/// Writes a signed pack of `files` (path, content) to `out` and returns its manifest. Each file
/// is deflated when that saves at least 10% and stays within the default compression-ratio
/// limit, else stored. Every path is checked, and the pack is checked against
/// [`PackLimits::default`], before anything is written. `progress` gets (bytes done, total)
/// over the files' content.
pub fn build_pack(
    out: &mut impl Write,
    meta: PackMeta,
    files: Vec<(String, Vec<u8>)>,
    key: &SigningKey,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PackManifest, PackError> {
    let limits = PackLimits::default();
    check_course_id(&meta.course_id)?;
    if files.len() > limits.max_assets {
        return Err(PackError::TooLarge {
            what: format!("the number of assets ({})", files.len()),
            limit: limits.max_assets as u64,
        });
    }
    let mut seen = HashMap::new();
    let mut total: u64 = 0;
    for (path, content) in &files {
        check_asset_path(path)?;
        check_unique(&mut seen, path)?;
        let size = content.len() as u64;
        check_asset_size(path, size, &limits)?;
        total = total.saturating_add(size);
    }
    if total > limits.max_total_bytes {
        return Err(total_too_large(&limits));
    }

    let mut done: u64 = 0;
    progress(done, total);
    let mut assets = Vec::with_capacity(files.len());
    let mut payloads = Vec::with_capacity(files.len());
    for (path, content) in files {
        let size = content.len() as u64;
        let sha256 = sha256_hex(&content);
        let deflated = deflate(&content)?;
        let deflated_len = deflated.len() as u64;
        let saves_enough = deflated_len.saturating_mul(10) < size.saturating_mul(9);
        let ratio_ok = size / deflated_len.max(1) <= limits.max_ratio;
        let (encoding, packed) = if saves_enough && ratio_ok {
            (Encoding::Deflate, deflated)
        } else {
            (Encoding::Stored, content)
        };
        assets.push(AssetEntry {
            path,
            size,
            sha256,
            encoding,
            packed_size: packed.len() as u64,
            packed_sha256: sha256_hex(&packed),
        });
        payloads.push(packed);
        done += size;
        progress(done, total);
    }

    let manifest = PackManifest {
        schema_version: SCHEMA_VERSION,
        course_id: meta.course_id,
        version: meta.version,
        locale: meta.locale,
        title: meta.title,
        created_at: meta.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        signer_key_id: key.key_id(),
        assets,
    };
    let manifest_json = manifest.to_canonical_json()?;
    if manifest_json.len() as u64 > limits.max_manifest_bytes {
        return Err(PackError::TooLarge {
            what: format!("the manifest ({} bytes)", manifest_json.len()),
            limit: limits.max_manifest_bytes,
        });
    }
    write_header_and_manifest(out, &manifest_json, key)?;
    for packed in &payloads {
        out.write_all(packed)?;
    }
    out.flush()?;
    Ok(manifest)
}

/// Writes a pack from a raw manifest and payload without any check: the manifest bytes are
/// signed as given, whatever they say. Only for tests that need hostile or malformed packs;
/// never use it to publish a pack.
#[doc(hidden)]
pub fn write_pack_unchecked(
    out: &mut impl Write,
    manifest_json: &[u8],
    payload: &[u8],
    key: &SigningKey,
) -> io::Result<()> {
    write_header_and_manifest(out, manifest_json, key)?;
    out.write_all(payload)?;
    out.flush()
}

fn write_header_and_manifest(
    out: &mut impl Write,
    manifest_json: &[u8],
    key: &SigningKey,
) -> io::Result<()> {
    let manifest_len = u32::try_from(manifest_json.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "manifest over 4 GiB"))?;
    out.write_all(MAGIC)?;
    out.write_all(&CONTAINER_VERSION.to_le_bytes())?;
    out.write_all(&manifest_len.to_le_bytes())?;
    out.write_all(manifest_json)?;
    out.write_all(&key.sign(MANIFEST_SIGNATURE_DOMAIN, manifest_json))
}

/// Verifies the pack read from `reader` (whose length is `file_len`) and streams its assets,
/// decompressed, to `sink`. Checks, in order: magic, container version, manifest length,
/// manifest JSON, canonical form, schema version, trusted signer, signature, the asset list
/// (paths, duplicates, limits, compression ratios, total length), then every asset's bytes.
/// `progress` gets (bytes read, `file_len`).
pub fn verify_pack(
    reader: impl Read,
    file_len: u64,
    trusted: &TrustedKeys,
    limits: &PackLimits,
    sink: &mut dyn AssetSink,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PackManifest, PackError> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let head = read_head(&mut reader, file_len, limits.max_manifest_bytes)?;
    let manifest = head.manifest;

    let signer =
        trusted
            .find(&manifest.signer_key_id)
            .ok_or_else(|| PackError::UntrustedSigner {
                key_id: manifest.signer_key_id.escape_debug().to_string(),
            })?;
    if !signer.verify(
        MANIFEST_SIGNATURE_DOMAIN,
        &head.manifest_json,
        &head.signature,
    ) {
        return Err(PackError::SignatureInvalid);
    }

    let payload_start = head.payload_start;
    check_asset_list(&manifest, limits, file_len - payload_start)?;

    let mut done = payload_start;
    progress(done, file_len);
    for entry in &manifest.assets {
        let packed = PackedReader {
            inner: (&mut reader).take(entry.packed_size),
            hasher: digest::Context::new(&digest::SHA256),
            count: 0,
            io_failure: None,
            base: done,
            total: file_len,
            last_reported: done,
            progress: &mut *progress,
        };
        let mut content = AssetReader::new(entry, packed);
        let written = sink.write_asset(entry, &mut content);
        content.finish(written)?;
        done += entry.packed_size;
        progress(done, file_len);
    }

    let mut extra = [0u8; 1];
    if read_fully(&mut reader, &mut extra)? != 0 {
        return Err(PackError::TrailingData { bytes: 1 });
    }
    Ok(manifest)
}

/// [`verify_pack`] on a file.
pub fn verify_pack_file(
    path: &Path,
    trusted: &TrustedKeys,
    limits: &PackLimits,
    sink: &mut dyn AssetSink,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PackManifest, PackError> {
    let (file, file_len) = open_pack(path)?;
    verify_pack(file, file_len, trusted, limits, sink, progress)
}

/// The manifest and signature of the pack at `path`, for `inspect`. Checks the header, the
/// manifest's form and schema, but NOT the signature or the assets: never install from this.
pub fn read_manifest_unverified(
    path: &Path,
) -> Result<(PackManifest, [u8; SIGNATURE_LEN]), PackError> {
    let (file, file_len) = open_pack(path)?;
    let mut reader = BufReader::new(file);
    let head = read_head(&mut reader, file_len, MAX_MANIFEST_BYTES)?;
    Ok((head.manifest, head.signature))
}

fn open_pack(path: &Path) -> Result<(File, u64), PackError> {
    let file_error = |source| PackError::File {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(file_error)?;
    let file_len = file.metadata().map_err(file_error)?.len();
    Ok((file, file_len))
}

/// Everything before the payload.
struct PackHead {
    manifest: PackManifest,
    manifest_json: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
    payload_start: u64,
}

fn read_head(
    reader: &mut impl Read,
    file_len: u64,
    max_manifest_bytes: u64,
) -> Result<PackHead, PackError> {
    let mut header = [0u8; HEADER_LEN as usize];
    let available = usize::try_from(file_len.min(HEADER_LEN)).unwrap_or(0);
    read_exact_or_truncated(reader, &mut header[..available], "the header")?;
    let magic_len = available.min(MAGIC.len());
    if header[..magic_len] != MAGIC[..magic_len] {
        return Err(PackError::NotAPack);
    }
    if available >= 10 {
        let container = u16::from_le_bytes([header[8], header[9]]);
        if container != CONTAINER_VERSION {
            return Err(PackError::UnsupportedContainer {
                found: container,
                supported: CONTAINER_VERSION,
            });
        }
    }
    if available < header.len() {
        return Err(truncated("the header"));
    }

    let manifest_len = u64::from(u32::from_le_bytes([
        header[10], header[11], header[12], header[13],
    ]));
    let cap = max_manifest_bytes.min(MAX_MANIFEST_BYTES);
    if manifest_len > cap {
        return Err(PackError::TooLarge {
            what: format!("the manifest ({manifest_len} bytes)"),
            limit: cap,
        });
    }
    if HEADER_LEN + manifest_len > file_len {
        return Err(truncated("the manifest"));
    }
    let payload_start = HEADER_LEN + manifest_len + SIGNATURE_LEN as u64;
    if payload_start > file_len {
        return Err(truncated("the signature"));
    }
    // Bounded by the cap and by the file's real length, checked just above.
    let mut manifest_json = vec![0u8; manifest_len as usize];
    read_exact_or_truncated(reader, &mut manifest_json, "the manifest")?;
    let mut signature = [0u8; SIGNATURE_LEN];
    read_exact_or_truncated(reader, &mut signature, "the signature")?;

    let manifest = parse_manifest(&manifest_json)?;
    Ok(PackHead {
        manifest,
        manifest_json,
        signature,
        payload_start,
    })
}

/// Parses manifest bytes, requiring canonical form and the supported schema.
fn parse_manifest(bytes: &[u8]) -> Result<PackManifest, PackError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| PackError::ManifestMalformed(format!("not valid JSON ({e})")))?;
    if !value.is_object() {
        return Err(PackError::ManifestMalformed(
            "it is not a JSON object".to_string(),
        ));
    }
    if canonical_json(&value)? != bytes {
        return Err(PackError::ManifestNotCanonical);
    }
    let found = value
        .get("schema_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            PackError::ManifestMalformed("'schema_version' is missing or not a number".to_string())
        })?;
    if found != u64::from(SCHEMA_VERSION) {
        return Err(PackError::UnknownSchemaVersion {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let manifest: PackManifest =
        serde_json::from_value(value).map_err(|e| PackError::ManifestMalformed(e.to_string()))?;
    // Catches anything serde normalizes, e.g. a version string with a different spelling.
    if manifest.to_canonical_json()? != bytes {
        return Err(PackError::ManifestNotCanonical);
    }
    Ok(manifest)
}

/// Checks a signed manifest's contents before any payload byte is read.
fn check_asset_list(
    manifest: &PackManifest,
    limits: &PackLimits,
    payload_len: u64,
) -> Result<(), PackError> {
    check_course_id(&manifest.course_id)?;
    let created_at = DateTime::parse_from_rfc3339(&manifest.created_at).map_err(|e| {
        PackError::ManifestMalformed(format!("'created_at' is not an RFC 3339 time ({e})"))
    })?;
    if created_at.offset().local_minus_utc() != 0 {
        return Err(PackError::ManifestMalformed(
            "'created_at' is not in UTC".to_string(),
        ));
    }
    if manifest.assets.len() > limits.max_assets {
        return Err(PackError::TooLarge {
            what: format!("the number of assets ({})", manifest.assets.len()),
            limit: limits.max_assets as u64,
        });
    }

    let mut seen = HashMap::new();
    let mut total_size: u64 = 0;
    let mut total_packed: u64 = 0;
    for entry in &manifest.assets {
        let path = &entry.path;
        check_asset_path(path)?;
        check_unique(&mut seen, path)?;
        for (field, hash) in [
            ("sha256", &entry.sha256),
            ("packed_sha256", &entry.packed_sha256),
        ] {
            if !is_sha256_hex(hash) {
                return Err(PackError::ManifestMalformed(format!(
                    "'{field}' of asset '{path}' is not 64 lowercase hex digits"
                )));
            }
        }
        check_asset_size(path, entry.size, limits)?;
        check_asset_size(path, entry.packed_size, limits)?;
        match entry.encoding {
            Encoding::Stored => {
                if entry.packed_size != entry.size || entry.packed_sha256 != entry.sha256 {
                    return Err(PackError::ManifestMalformed(format!(
                        "asset '{path}' is stored uncompressed but its packed size or hash \
                         differs from its content's"
                    )));
                }
            }
            Encoding::Deflate => {
                let ratio = entry.size / entry.packed_size.max(1);
                if ratio > limits.max_ratio {
                    return Err(PackError::CompressionRatio {
                        path: path.clone(),
                        ratio,
                        limit: limits.max_ratio,
                    });
                }
            }
        }
        total_size = total_size.saturating_add(entry.size);
        total_packed = total_packed.saturating_add(entry.packed_size);
    }
    if total_size > limits.max_total_bytes {
        return Err(total_too_large(limits));
    }
    let ratio = total_size / total_packed.max(1);
    if ratio > limits.max_ratio {
        return Err(PackError::CompressionRatio {
            path: "all assets together".to_string(),
            ratio,
            limit: limits.max_ratio,
        });
    }
    if total_packed > payload_len {
        return Err(truncated("the assets"));
    }
    if total_packed < payload_len {
        return Err(PackError::TrailingData {
            bytes: payload_len - total_packed,
        });
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
fn check_unique(seen: &mut HashMap<String, String>, path: &str) -> Result<(), PackError> {
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

fn truncated(what: &str) -> PackError {
    PackError::Truncated {
        what: what.to_string(),
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn deflate(content: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(content)?;
    encoder.finish()
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

fn read_exact_or_truncated(
    reader: &mut impl Read,
    buf: &mut [u8],
    what: &str,
) -> Result<(), PackError> {
    reader.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            truncated(what)
        } else {
            PackError::Io(e)
        }
    })
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
fn read_fully(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Why an asset failed, kept so the verifier reports it even if the sink swallowed the error.
#[derive(Debug, Clone)]
enum AssetFailure {
    Truncated,
    HashMismatch,
    SizeMismatch,
    Corrupt(String),
    Io(io::ErrorKind, String),
}

impl AssetFailure {
    fn to_pack_error(&self, entry: &AssetEntry) -> PackError {
        let path = entry.path.clone();
        match self {
            Self::Truncated => truncated(&format!("asset '{path}'")),
            Self::HashMismatch => PackError::HashMismatch { path },
            Self::SizeMismatch => PackError::SizeMismatch {
                path,
                declared: entry.size,
            },
            Self::Corrupt(reason) => PackError::AssetCorrupt {
                path,
                reason: reason.clone(),
            },
            Self::Io(kind, message) => PackError::Io(io::Error::new(*kind, message.clone())),
        }
    }

    fn to_io_error(&self, entry: &AssetEntry) -> io::Error {
        let kind = match self {
            Self::Io(kind, _) => *kind,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self.to_pack_error(entry))
    }
}

/// The packed bytes of one asset: counts and hashes them, reports progress.
struct PackedReader<'a, R: Read> {
    inner: io::Take<&'a mut R>,
    hasher: digest::Context,
    count: u64,
    io_failure: Option<AssetFailure>,
    base: u64,
    total: u64,
    last_reported: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl<R: Read> Read for PackedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.count += n as u64;
                let position = self.base + self.count;
                if position - self.last_reported >= PROGRESS_STEP {
                    self.last_reported = position;
                    (self.progress)(position, self.total);
                }
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.io_failure = Some(AssetFailure::Io(e.kind(), e.to_string()));
                }
                Err(e)
            }
        }
    }
}

enum Decoded<'a, R: Read> {
    Stored(PackedReader<'a, R>),
    Deflate(DeflateDecoder<PackedReader<'a, R>>),
}

impl<'a, R: Read> Decoded<'a, R> {
    fn packed(&mut self) -> &mut PackedReader<'a, R> {
        match self {
            Self::Stored(packed) => packed,
            Self::Deflate(decoder) => decoder.get_mut(),
        }
    }
}

impl<R: Read> Read for Decoded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Stored(packed) => packed.read(buf),
            Self::Deflate(decoder) => decoder.read(buf),
        }
    }
}

/// The decompressed content of one asset, checked against its manifest entry.
struct AssetReader<'a, R: Read> {
    entry: &'a AssetEntry,
    source: Decoded<'a, R>,
    produced: u64,
    hasher: digest::Context,
    outcome: Option<Result<(), AssetFailure>>,
}

impl<'a, R: Read> AssetReader<'a, R> {
    fn new(entry: &'a AssetEntry, packed: PackedReader<'a, R>) -> Self {
        let source = match entry.encoding {
            Encoding::Stored => Decoded::Stored(packed),
            Encoding::Deflate => Decoded::Deflate(DeflateDecoder::new(packed)),
        };
        Self {
            entry,
            source,
            produced: 0,
            hasher: digest::Context::new(&digest::SHA256),
            outcome: None,
        }
    }

    /// Ends this asset once the sink has returned: drains and checks whatever the sink left.
    fn finish(mut self, written: io::Result<()>) -> Result<(), PackError> {
        if let Some(Err(failure)) = &self.outcome {
            return Err(failure.to_pack_error(self.entry));
        }
        if let Err(source) = written {
            return Err(PackError::SinkFailed {
                path: self.entry.path.clone(),
                source,
            });
        }
        match io::copy(&mut self, &mut io::sink()) {
            Ok(_) => Ok(()),
            Err(e) => match &self.outcome {
                Some(Err(failure)) => Err(failure.to_pack_error(self.entry)),
                _ => Err(PackError::Io(e)),
            },
        }
    }

    /// Records and returns the verdict on this asset. Packed-byte problems come first: they are
    /// the cause whenever the content is also wrong.
    fn conclude(&mut self, content_failure: Option<AssetFailure>) -> Result<(), AssetFailure> {
        let verdict = self.judge(content_failure);
        self.outcome = Some(verdict.clone());
        verdict
    }

    fn judge(&mut self, content_failure: Option<AssetFailure>) -> Result<(), AssetFailure> {
        let packed = self.source.packed();
        if let Some(failure) = packed.io_failure.take() {
            return Err(failure);
        }
        if let Err(e) = io::copy(packed, &mut io::sink()) {
            return Err(AssetFailure::Io(e.kind(), e.to_string()));
        }
        if packed.count != self.entry.packed_size {
            return Err(AssetFailure::Truncated);
        }
        if hex::encode(packed.hasher.clone().finish().as_ref()) != self.entry.packed_sha256 {
            return Err(AssetFailure::HashMismatch);
        }
        if let Some(failure) = content_failure {
            return Err(failure);
        }
        if self.produced != self.entry.size {
            return Err(AssetFailure::SizeMismatch);
        }
        if hex::encode(self.hasher.clone().finish().as_ref()) != self.entry.sha256 {
            return Err(AssetFailure::HashMismatch);
        }
        Ok(())
    }
}

impl<R: Read> Read for AssetReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.outcome {
            Some(Ok(())) => return Ok(0),
            Some(Err(failure)) => return Err(failure.to_io_error(self.entry)),
            None => {}
        }
        if buf.is_empty() {
            return Ok(0);
        }
        // Never ask for more than the declared size; once it is reached, probe for one more byte
        // so an overlong asset is caught without inflating any further.
        let remaining = self.entry.size - self.produced;
        let want = if remaining == 0 {
            1
        } else {
            usize::try_from(remaining).map_or(buf.len(), |limit| limit.min(buf.len()))
        };
        match self.source.read(&mut buf[..want]) {
            Ok(0) => match self.conclude(None) {
                Ok(()) => Ok(0),
                Err(failure) => Err(failure.to_io_error(self.entry)),
            },
            Ok(n) if n as u64 > remaining => {
                let failure = self
                    .conclude(Some(AssetFailure::SizeMismatch))
                    .err()
                    .unwrap_or(AssetFailure::SizeMismatch);
                Err(failure.to_io_error(self.entry))
            }
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.produced += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let failure = self
                    .conclude(Some(AssetFailure::Corrupt(e.to_string())))
                    .err()
                    .unwrap_or_else(|| AssetFailure::Corrupt(e.to_string()));
                Err(failure.to_io_error(self.entry))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PublicKey;

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
    fn pack_round_trips_course_and_assets() {
        let key = SigningKey::generate().unwrap();
        let bytes = build(&key, files(4096, 4000)).unwrap();
        let mut sink = MemorySink::new();
        let manifest =
            verify_with(&bytes, &trust(&key), &PackLimits::default(), &mut sink).unwrap();
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
        let manifest =
            build_pack(&mut out, meta(), files(4096, 4000), &key, &mut |_, _| {}).unwrap();
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

    #[test]
    fn build_stores_content_that_would_exceed_the_ratio_limit() {
        let key = SigningKey::generate().unwrap();
        let mut out = Vec::new();
        let files = vec![("assets/blank.bmp".to_string(), vec![0u8; 1024 * 1024])];
        let manifest = build_pack(&mut out, meta(), files, &key, &mut |_, _| {}).unwrap();
        assert_eq!(manifest.assets[0].encoding, Encoding::Stored);
        assert!(verify(&out, &key).is_ok());
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
        assert!(
            matches!(result, Err(PackError::SinkFailed { ref path, .. }) if path == "course.json")
        );
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
        let err =
            read_manifest_unverified(Path::new("/nonexistent/objections.tidbit")).unwrap_err();
        assert!(matches!(err, PackError::File { .. }));
        assert!(err.to_string().contains("/nonexistent/objections.tidbit"));
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
}
