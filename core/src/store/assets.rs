//! Content-addressed asset files: `assets/<first two hex digits>/<sha256>`.
//!
//! A file appears under its final name only after its bytes were verified against the signed
//! manifest and flushed to disk, so any file found there is complete and correct. Identical
//! assets in two courses or two versions are stored once. Files no installed course refers to
//! are removed by [`AssetFiles::collect_garbage`]. Author-supplied paths never become file names.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::pack::{AssetEntry, AssetSink};

/// The store's asset files, inside its data directory: this store's own, shared with no other.
pub(crate) const ASSETS_DIR: &str = "assets";
/// Where an install places files before they are verified.
pub(crate) const STAGING_DIR: &str = "staging";

/// The largest `course.json` a store accepts (the course model, not media).
pub const MAX_COURSE_JSON_BYTES: u64 = 64 * 1024 * 1024;

pub(crate) struct AssetFiles {
    root: PathBuf,
    staging: PathBuf,
}

impl AssetFiles {
    pub(crate) fn open(data_dir: &Path) -> io::Result<AssetFiles> {
        let files = AssetFiles {
            root: data_dir.join(ASSETS_DIR),
            staging: data_dir.join(STAGING_DIR),
        };
        fs::create_dir_all(&files.root)?;
        // Anything left in staging belongs to an install that was interrupted. The directory
        // itself stays: making it again on every open costs a new inode each time.
        fs::create_dir_all(&files.staging)?;
        for entry in fs::read_dir(&files.staging)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                fs::remove_dir_all(entry.path())?;
            } else {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(files)
    }

    pub(crate) fn path_of(&self, sha256: &str) -> PathBuf {
        let prefix = sha256.get(..2).unwrap_or("00");
        self.root.join(prefix).join(sha256)
    }

    /// Removes every asset file whose hash is not in `referenced`. Returns how many were removed.
    pub(crate) fn collect_garbage(&self, referenced: &BTreeSet<String>) -> io::Result<usize> {
        let mut removed = 0;
        for shard in fs::read_dir(&self.root)? {
            let shard = shard?.path();
            if !shard.is_dir() {
                continue;
            }
            for file in fs::read_dir(&shard)? {
                let file = file?;
                let name = file.file_name().to_string_lossy().into_owned();
                if !referenced.contains(&name) {
                    fs::remove_file(file.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Receives a pack's verified assets: `course.json` in memory, media into the asset files.
pub(crate) struct InstallSink<'a> {
    files: &'a AssetFiles,
    pub(crate) course_json: Option<Vec<u8>>,
    /// Directories that received a new file and must be synced before the install commits.
    touched: BTreeSet<PathBuf>,
}

impl<'a> InstallSink<'a> {
    pub(crate) fn new(files: &'a AssetFiles) -> Self {
        InstallSink {
            files,
            course_json: None,
            touched: BTreeSet::new(),
        }
    }

    /// Flushes the directory entries of newly placed files, so a committed install never refers
    /// to a file that a power cut could take back.
    pub(crate) fn sync_directories(&self) -> io::Result<()> {
        for dir in &self.touched {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl AssetSink for InstallSink<'_> {
    fn write_asset(&mut self, entry: &AssetEntry, content: &mut dyn Read) -> io::Result<()> {
        if entry.path == "course.json" {
            let mut bytes = Vec::new();
            content
                .take(MAX_COURSE_JSON_BYTES + 1)
                .read_to_end(&mut bytes)?;
            if bytes.len() as u64 > MAX_COURSE_JSON_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "course.json is larger than 64 MiB",
                ));
            }
            self.course_json = Some(bytes);
            return Ok(());
        }
        let target = self.files.path_of(&entry.sha256);
        if target.exists() {
            // Already stored (deduplicated); the bytes are still read so they are verified.
            io::copy(content, &mut io::sink())?;
            return Ok(());
        }
        let staged = self.files.staging.join(format!("{}.partial", entry.sha256));
        let mut out = File::create(&staged)?;
        let copied = io::copy(content, &mut out);
        let written = copied.and_then(|_| {
            out.flush()?;
            out.sync_all()
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&staged);
            return Err(e);
        }
        let shard = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.files.root.clone());
        fs::create_dir_all(&shard)?;
        fs::rename(&staged, &target)?;
        self.touched.insert(shard);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_empties_what_an_interrupted_install_left_in_staging_and_keeps_the_assets() {
        let dir = tempfile::tempdir().unwrap();
        let files = AssetFiles::open(dir.path()).unwrap();
        let kept = files.path_of("ab12");
        fs::create_dir_all(kept.parent().unwrap()).unwrap();
        fs::write(&kept, b"installed").unwrap();
        fs::write(files.staging.join("half-written"), b"part").unwrap();
        fs::create_dir_all(files.staging.join("nested/deeper")).unwrap();
        fs::write(files.staging.join("nested/deeper/part"), b"part").unwrap();

        let reopened = AssetFiles::open(dir.path()).unwrap();
        assert!(reopened.staging.is_dir());
        assert_eq!(fs::read_dir(&reopened.staging).unwrap().count(), 0);
        assert_eq!(fs::read(&kept).unwrap(), b"installed");
    }
}
