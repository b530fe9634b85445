//! Reading and verifying a pack: the header, the signed manifest, then every asset streamed
//! through hashing, size-capped decompression and the caller's [`AssetSink`]. It must never hand
//! the sink a byte before the signature is checked against a trusted key, never allocate by a
//! declared size, and never report success for a pack whose bytes were not all read and checked
//! (a pack may end before its on-demand assets, which come last: then every byte it has was read
//! and checked, and each on-demand asset is checked alone when it is fetched, [`verify_asset`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use chrono::DateTime;
use flate2::read::DeflateDecoder;
use ring::digest;
use serde_json::Value;

use super::{
    canonical_json, check_asset_path, check_asset_size, check_course_id, check_unique,
    total_too_large, AssetEntry, AssetSink, Encoding, PackError, PackLimits, PackManifest,
    CONTAINER_VERSION, HEAD_LEN, MAGIC, MANIFEST_SIGNATURE_DOMAIN, MAX_MANIFEST_BYTES,
    SCHEMA_VERSION,
};
use crate::keys::{TrustedKeys, SIGNATURE_LEN};

/// Progress is reported at least every this many bytes while streaming.
const PROGRESS_STEP: u64 = 1024 * 1024;

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
    let on_demand_present = check_asset_list(&manifest, limits, file_len - payload_start)?;

    let mut done = payload_start;
    progress(done, file_len);
    for entry in &manifest.assets {
        if entry.on_demand && !on_demand_present {
            // A pack downloaded without its on-demand assets, which come last.
            break;
        }
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

/// Verifies the packed bytes of one asset of an installed course, fetched on demand, against its
/// entry in the course's manifest (verified when the course was installed), and streams its
/// content to `sink`. Like [`verify_pack`], whatever the sink wrote is unverified until this
/// returns `Ok`.
pub fn verify_asset(
    entry: &AssetEntry,
    mut packed: impl Read,
    sink: &mut dyn AssetSink,
) -> Result<(), PackError> {
    let mut progress = |_: u64, _: u64| {};
    let reader = PackedReader {
        inner: (&mut packed).take(entry.packed_size),
        hasher: digest::Context::new(&digest::SHA256),
        count: 0,
        io_failure: None,
        base: 0,
        total: entry.packed_size,
        last_reported: 0,
        progress: &mut progress,
    };
    let mut content = AssetReader::new(entry, reader);
    let written = sink.write_asset(entry, &mut content);
    content.finish(written)
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
    let mut header = [0u8; HEAD_LEN as usize];
    let available = usize::try_from(file_len.min(HEAD_LEN)).unwrap_or(0);
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
    if HEAD_LEN + manifest_len > file_len {
        return Err(truncated("the manifest"));
    }
    let payload_start = HEAD_LEN + manifest_len + SIGNATURE_LEN as u64;
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

/// Checks a signed manifest's contents before any payload byte is read: the asset list against
/// the limits and the payload's length. Returns whether the payload holds the on-demand assets
/// (a pack downloaded without them ends before them).
fn check_asset_list(
    manifest: &PackManifest,
    limits: &PackLimits,
    payload_len: u64,
) -> Result<bool, PackError> {
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
    let mut eager_packed: u64 = 0;
    let mut seen_on_demand = false;
    for entry in &manifest.assets {
        let path = &entry.path;
        if entry.on_demand && path == super::COURSE_PATH {
            return Err(PackError::ManifestMalformed(
                "course.json cannot be fetched on demand".to_string(),
            ));
        }
        if seen_on_demand && !entry.on_demand {
            return Err(PackError::ManifestMalformed(format!(
                "asset '{path}' comes after an on-demand asset: on-demand assets come last"
            )));
        }
        seen_on_demand |= entry.on_demand;
        if !entry.on_demand {
            eager_packed = eager_packed.saturating_add(entry.packed_size);
        }
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
    if payload_len == eager_packed && eager_packed < total_packed {
        return Ok(false);
    }
    if total_packed > payload_len {
        return Err(truncated(if payload_len > eager_packed {
            "the on-demand assets"
        } else {
            "the assets"
        }));
    }
    if total_packed < payload_len {
        return Err(PackError::TrailingData {
            bytes: payload_len - total_packed,
        });
    }
    Ok(true)
}

fn truncated(what: &str) -> PackError {
    PackError::Truncated {
        what: what.to_string(),
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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
