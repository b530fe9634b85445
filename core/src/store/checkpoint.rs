//! Moving the write-ahead log into the database file, off the learner's path.
//!
//! The writer connection never checkpoints inline (`wal_autocheckpoint = 0`): otherwise about one
//! answer in a hundred would pay for a checkpoint and its fsyncs. Instead a background thread with
//! its own connection runs a passive checkpoint every few seconds, which never blocks the writer,
//! and SQLite checkpoints once more when the store's last connection closes. Durability does not
//! depend on checkpoints: a committed transaction is in the WAL either way.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// How often the background thread checkpoints.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(2);

pub(crate) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Stops inline checkpoints on `writer` and starts the background thread on `path`.
    pub(crate) fn start(writer: &Connection, path: &Path) -> Result<Checkpointer, StoreError> {
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tidbit-checkpoint".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    // A failed checkpoint is retried on the next tick; the WAL stays valid.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_never_checkpoints_and_the_background_thread_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        let _checkpointer = Checkpointer::start(&writer, &path).unwrap();
        let pages: i64 = writer
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(pages, 0);
        writer
            .execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(200000));")
            .unwrap();
        let database_bytes = || std::fs::metadata(&path).unwrap().len();
        // Committed, but only in the WAL: the database file does not hold the row yet.
        assert!(database_bytes() < 200_000, "{}", database_bytes());
        std::thread::sleep(CHECKPOINT_INTERVAL * 2 + CHECKPOINT_INTERVAL / 2);
        // The background thread copied it into the database file; no other connection did.
        assert!(database_bytes() >= 200_000, "{}", database_bytes());
    }
}
