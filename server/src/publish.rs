//! Publishing a course version: `tidbit serve publish PACK --trust KEY`.
//!
//! The pack is copied into a hidden file in `packs/`, the copy verified (its signature by a
//! trusted author key, every asset against the signed manifest, on-demand media included) and
//! linked in as `<course>-<version>.tidbit`, so a catalog read at any moment sees the whole pack
//! or none of it. A published version never changes: the same pack again is a no-op, another pack under a
//! published version is refused, and so is a version older than the latest published one.
//! Earlier versions stay in `packs/` (a device halfway through one finishes it); learners'
//! catalogs offer only the latest.

use std::io::{Read, Write};
use std::path::Path;

use serde::Serialize;
use tidbit_core::keys::TrustedKeys;
use tidbit_core::pack::{verify_pack_file, DiscardSink, PackLimits};

use crate::content::{catalog, etag, PackTags};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the pack does not verify: {0}")]
    Unverified(String),
    #[error("no author key is trusted: pass --trust with the public key the pack was signed with")]
    NoTrustedKeys,
    #[error("{course} {version} is already published with other bytes ({file}): a published version never changes, publish a new version")]
    VersionTaken {
        course: String,
        version: String,
        file: String,
    },
    #[error("{course} {published} is published; {offered} is older")]
    Older {
        course: String,
        published: String,
        offered: String,
    },
    #[error("the packs directory could not be written: {0}")]
    Io(#[from] std::io::Error),
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub course_id: String,
    pub version: String,
    pub file: String,
    pub bytes: u64,
    pub etag: String,
    /// False when exactly this pack was published before.
    pub new: bool,
}

/// Verifies `pack` against `trusted` and publishes it into `packs_dir`. The pack is copied first,
/// and the copy is what is verified, hashed and put in place (by a link that never replaces a
/// file): a source that changes meanwhile, or another publish of the same version at the same
/// moment, can never put unverified bytes or a second pack under one version.
pub fn publish(
    pack: &Path,
    packs_dir: &Path,
    trusted: &TrustedKeys,
) -> Result<Published, PublishError> {
    if trusted.is_empty() {
        return Err(PublishError::NoTrustedKeys);
    }
    std::fs::create_dir_all(packs_dir)?;
    let temporary = packs_dir.join(format!(".publishing-{}", random_suffix()?));
    let result = publish_copy(pack, &temporary, packs_dir, trusted);
    let _ = std::fs::remove_file(&temporary);
    result
}

fn publish_copy(
    pack: &Path,
    copy: &Path,
    packs_dir: &Path,
    trusted: &TrustedKeys,
) -> Result<Published, PublishError> {
    let bytes = copy_synced(pack, copy)?;
    let manifest = verify_pack_file(
        copy,
        trusted,
        &PackLimits::default(),
        &mut DiscardSink,
        &mut |_, _| {},
    )
    .map_err(|e| PublishError::Unverified(e.to_string()))?;
    let full_len = manifest
        .full_len()
        .map_err(|e| PublishError::Unverified(e.to_string()))?;
    if bytes != full_len {
        return Err(PublishError::Unverified(format!(
            "it ends before its on-demand media ({bytes} of {full_len} bytes): publish the whole pack"
        )));
    }
    let tag = etag(copy)?;
    let course = manifest.course_id.clone();
    let version = manifest.version.to_string();
    let file = format!("{course}-{version}.tidbit");
    for published in catalog(packs_dir, &PackTags::default())? {
        if published.course_id != course {
            continue;
        }
        if published.version != version
            && semver::Version::parse(&published.version).is_ok_and(|v| v > manifest.version)
        {
            return Err(PublishError::Older {
                course,
                published: published.version,
                offered: version,
            });
        }
    }
    let target = packs_dir.join(&file);
    let new = match std::fs::hard_link(copy, &target) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if etag(&target)? != tag {
                return Err(PublishError::VersionTaken {
                    course,
                    version,
                    file,
                });
            }
            false
        }
        Err(e) => return Err(e.into()),
    };
    if let Ok(directory) = std::fs::File::open(packs_dir) {
        directory.sync_all()?;
    }
    Ok(Published {
        course_id: course,
        version,
        file,
        bytes,
        etag: tag,
        new,
    })
}

/// Copies `from` to `to` (a new file), flushed to disk; returns the bytes copied.
fn copy_synced(from: &Path, to: &Path) -> std::io::Result<u64> {
    let mut source = std::fs::File::open(from)?;
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let n = source.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        target.write_all(&buffer[..n])?;
        copied += n as u64;
    }
    target.sync_all()?;
    Ok(copied)
}

fn random_suffix() -> std::io::Result<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    Ok(hex::encode(bytes))
}
