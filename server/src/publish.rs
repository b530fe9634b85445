//! Publishing a course version: `tidbit serve publish PACK --trust KEY`.
//!
//! The pack is verified first (its signature by a trusted author key, every asset against the
//! signed manifest), then copied into `packs/` as `<course>-<version>.tidbit` through a hidden
//! temporary file and a rename, so a catalog read at any moment sees the whole pack or none of
//! it. A published version never changes: the same pack again is a no-op, another pack under a
//! published version is refused, and so is a version older than the latest published one.
//! Earlier versions stay in `packs/` (a device halfway through one finishes it); learners'
//! catalogs offer only the latest.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

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

/// Verifies `pack` against `trusted` and publishes it into `packs_dir`.
pub fn publish(
    pack: &Path,
    packs_dir: &Path,
    trusted: &TrustedKeys,
) -> Result<Published, PublishError> {
    if trusted.is_empty() {
        return Err(PublishError::NoTrustedKeys);
    }
    let manifest = verify_pack_file(
        pack,
        trusted,
        &PackLimits::default(),
        &mut DiscardSink,
        &mut |_, _| {},
    )
    .map_err(|e| PublishError::Unverified(e.to_string()))?;
    let tag = etag(pack)?;
    let course = manifest.course_id.clone();
    let version = manifest.version.to_string();
    let file = format!("{course}-{version}.tidbit");
    std::fs::create_dir_all(packs_dir)?;
    for published in catalog(packs_dir, &PackTags::default())? {
        if published.course_id != course {
            continue;
        }
        let published_version = semver::Version::parse(&published.version).ok();
        if published.version == version {
            if published.etag == tag {
                return Ok(Published {
                    bytes: published.bytes,
                    course_id: course,
                    version,
                    file: published.file,
                    etag: tag,
                    new: false,
                });
            }
            return Err(PublishError::VersionTaken {
                course,
                version,
                file: published.file,
            });
        }
        if published_version.is_some_and(|v| v > manifest.version) {
            return Err(PublishError::Older {
                course,
                published: published.version,
                offered: version,
            });
        }
    }
    let target = packs_dir.join(&file);
    let bytes = copy_atomically(pack, &target)?;
    Ok(Published {
        course_id: course,
        version,
        file,
        bytes,
        etag: tag,
        new: true,
    })
}

/// Copies `from` to `to` through a hidden file beside it, flushed before the rename.
fn copy_atomically(from: &Path, to: &Path) -> std::io::Result<u64> {
    let dir = to.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary: PathBuf = dir.join(format!(".{name}.publishing"));
    let mut source = std::fs::File::open(from)?;
    let mut target = std::fs::File::create(&temporary)?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    let result = (|| {
        loop {
            let n = source.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            target.write_all(&buffer[..n])?;
            copied += n as u64;
        }
        target.sync_all()?;
        std::fs::rename(&temporary, to)?;
        if let Ok(directory) = std::fs::File::open(&dir) {
            directory.sync_all()?;
        }
        Ok(copied)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}
