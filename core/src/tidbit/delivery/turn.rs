//! One download of a kind at a time per store.
//!
//! Downloads resume from files named by what they fetch (a pack's or an asset's SHA-256), so
//! two calls fetching the same thing at once would append to one file from two places. Course
//! updates take the `updates` turn for the whole call, media fetches the `media` turn: a call
//! that finds its turn taken (another thread, or another process on the same store such as
//! an app and its background worker) waits for it, and then finds the work done or resumes
//! where the other stopped. The turns are advisory locks on files in `downloads/`, released
//! when the call ends however it ends (a dropped future, a killed process). A course update
//! does not wait for media fetches: it only skips discarding their cut files while one runs.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::Duration;

use super::{disk, DeliveryError};

/// How often a waiting call tries the turn again.
const RETRY: Duration = Duration::from_millis(50);

/// Which downloads a turn is for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// Course packs (`*.part`): `update_courses`.
    Updates,
    /// On-demand media (`*.asset`): `fetch_module_assets`.
    Media,
}

impl Kind {
    fn file_name(self) -> &'static str {
        match self {
            Kind::Updates => ".updates.lock",
            Kind::Media => ".media.lock",
        }
    }
}

/// Held while a call downloads; dropping it ends the turn.
#[derive(Debug)]
pub(super) struct Turn {
    _file: File,
}

impl Turn {
    /// Waits for the turn of `kind` in `downloads` (which must exist).
    pub(super) async fn take(downloads: &Path, kind: Kind) -> Result<Turn, DeliveryError> {
        let file = open(downloads, kind)?;
        while !locked(&file, downloads, kind)? {
            tokio::time::sleep(RETRY).await;
        }
        Ok(Turn { _file: file })
    }

    /// The turn of `kind` if no call holds it now.
    pub(super) fn try_take(downloads: &Path, kind: Kind) -> Result<Option<Turn>, DeliveryError> {
        let file = open(downloads, kind)?;
        Ok(locked(&file, downloads, kind)?.then_some(Turn { _file: file }))
    }
}

fn open(downloads: &Path, kind: Kind) -> Result<File, DeliveryError> {
    let path = downloads.join(kind.file_name());
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| disk(&path, e))
}

/// Whether this call now holds `file`'s lock (false: another call does).
fn locked(file: &File, downloads: &Path, kind: Kind) -> Result<bool, DeliveryError> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(disk(&downloads.join(kind.file_name()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        crate::runtime::runtime().unwrap().block_on(future)
    }

    #[test]
    fn a_turn_is_taken_once_until_it_is_dropped_and_kinds_do_not_wait_for_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let updates = block_on(Turn::take(dir.path(), Kind::Updates)).unwrap();
        assert!(Turn::try_take(dir.path(), Kind::Updates).unwrap().is_none());
        let media = Turn::try_take(dir.path(), Kind::Media).unwrap();
        assert!(media.is_some(), "media waited for a course update");
        drop(updates);
        assert!(Turn::try_take(dir.path(), Kind::Updates).unwrap().is_some());
    }

    #[test]
    fn a_waiting_call_gets_the_turn_when_the_holder_ends() {
        let dir = tempfile::tempdir().unwrap();
        let held = Turn::try_take(dir.path(), Kind::Media).unwrap().unwrap();
        let (taken, heard) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let turn = block_on(Turn::take(&path, Kind::Media)).unwrap();
            taken.send(()).unwrap();
            drop(turn);
        });
        // Still held: the waiter has not got it (it would have said so).
        assert!(heard.try_recv().is_err());
        drop(held);
        heard.recv().unwrap();
        waiter.join().unwrap();
    }
}
