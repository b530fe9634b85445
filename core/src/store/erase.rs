//! Removing a closed store's files: the last step of erasing a learner from a device.
//!
//! A store is one directory: the SQLite file with its write-ahead log and shared-memory files
//! (and a rollback journal, should SQLite ever leave one), and the course assets
//! (`assets/`, content-addressed, and `staging/`), and course downloads not yet installed
//! (`downloads/`). Assets are this store's own: two learners'
//! stores never share an asset directory (identical files are deduplicated within a store only),
//! so no other learner's course can use them and they go with the store. Files in the directory
//! that the store did not make are left alone, and the directory itself is removed only when
//! nothing else is in it. Never call this on an open store.

use std::io;
use std::path::Path;

use super::assets::{ASSETS_DIR, STAGING_DIR};
use super::{DATABASE_FILE, DOWNLOADS_DIR};

/// What [`remove_store_files`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemovedFiles {
    /// Database files (the database, its log, its shared memory, a journal).
    pub database_files: u32,
    /// Asset files (and files of an interrupted install).
    pub asset_files: u32,
    /// Whether the data directory itself went (it held nothing else).
    pub data_dir_removed: bool,
}

/// Removes every file of the (closed) store in `dir`. A missing file or directory is not an
/// error: removing twice removes nothing the second time.
pub fn remove_store_files(dir: &Path) -> io::Result<RemovedFiles> {
    let mut removed = RemovedFiles::default();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = dir.join(format!("{DATABASE_FILE}{suffix}"));
        if remove_file(&path)? {
            removed.database_files += 1;
        }
    }
    for sub in [ASSETS_DIR, STAGING_DIR, DOWNLOADS_DIR] {
        removed.asset_files += remove_tree(&dir.join(sub))?;
    }
    removed.data_dir_removed = match std::fs::remove_dir(dir) {
        Ok(()) => true,
        // Not empty (someone else's files) or already gone: left as it is.
        Err(_) => false,
    };
    Ok(removed)
}

fn remove_file(path: &Path) -> io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes `dir` and everything under it; returns the files removed.
fn remove_tree(dir: &Path) -> io::Result<u32> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut files = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            files += remove_tree(&entry.path())?;
        } else if remove_file(&entry.path())? {
            files += 1;
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(files),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(files),
        Err(e) => Err(e),
    }
}
