//! Erasing the learner from this device: [`Tidbit::erase`].
//!
//! Erasure closes the store (the writer connection and its checkpointer), has the platform
//! destroy the at-rest key (so whatever copy of the sealed data a file system or a backup still
//! holds can never be opened), and removes every file of the store
//! ([`crate::store::remove_store_files`]: the database with its log, and the course assets,
//! which belong to this store alone). If the key cannot be destroyed, nothing is removed and the
//! store opens again as before. Erasing on the device never tells the server: the server's copy
//! is erased by the organisation (`DELETE /v1/admin/learners/{learner}`), and a device whose
//! learner was erased there keeps its data until the app calls this.

use std::path::PathBuf;

use super::Tidbit;
use crate::store::{remove_store_files, RemovedFiles};

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("the app's key store could not destroy the at-rest key ({0}): nothing was removed and the store opens as before; try again")]
    KeyNotDestroyed(String),
    #[error("the at-rest key is destroyed, but files in {path} could not be removed ({source}): what is left cannot be read; remove the directory")]
    Files {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Tidbit {
    /// Erases this learner's store from this device: closes it, calls `destroy_key` (the
    /// platform destroys the store's at-rest key), then removes every file of the store.
    /// Returns what was removed.
    pub fn erase(
        self,
        destroy_key: impl FnOnce() -> Result<(), String>,
    ) -> Result<RemovedFiles, EraseError> {
        let dir = self.config.data_dir.clone();
        // Decisions still waiting are the learner's data too: never written.
        self.decided.discard();
        // Closes the connection; its checkpointer stops first and the log is folded in.
        drop(self);
        destroy_key().map_err(EraseError::KeyNotDestroyed)?;
        remove_store_files(&dir).map_err(|source| EraseError::Files { path: dir, source })
    }
}
