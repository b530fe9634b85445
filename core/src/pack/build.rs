//! Building a pack: checks the author's files against the format's rules and the default
//! limits, deflates what is worth deflating, signs the canonical manifest and writes the
//! container. It must never write a byte before every check has passed, and never produce a pack
//! that [`super::verify_pack`] would refuse under [`PackLimits::default`].

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::SecondsFormat;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use super::{
    check_asset_path, check_asset_size, check_course_id, check_unique, sha256_hex, total_too_large,
    AssetEntry, Encoding, PackError, PackLimits, PackManifest, PackMeta, CONTAINER_VERSION, MAGIC,
    MANIFEST_SIGNATURE_DOMAIN, SCHEMA_VERSION,
};
use crate::keys::SigningKey;

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

    // On-demand assets come last (see `AssetEntry::on_demand`); the order is otherwise kept.
    let mut files = files;
    if meta.media_on_demand {
        files.sort_by_key(|(path, _)| path != super::COURSE_PATH);
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
        let on_demand = meta.media_on_demand && path != super::COURSE_PATH;
        assets.push(AssetEntry {
            on_demand,
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

pub(super) fn deflate(content: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(content)?;
    encoder.finish()
}
