//! Moving the write-ahead log into the database file, off the learner's path.
//!
//! A background thread with its own connection runs a passive checkpoint every few seconds, which
//! never blocks the writer, and SQLite checkpoints once more when the store's last connection
//! closes. The writer connection checkpoints inline only when the log has grown past
//! [`WRITER_CHECKPOINT_PAGES`] (64 MiB): with SQLite's default of 1,000 pages, about one answer
//! in a hundred would pay for a checkpoint and its fsyncs. A learner's pace never gets there: the
//! background thread empties the log in the pauses between answers. Writes without a pause (a
//! script, or an app calling in a tight loop) do: a passive checkpoint from another connection
//! then never catches up with the writer, the log is never started over, and it would grow
//! without bound. The writer's own checkpoint runs between its transactions, so it copies
//! everything and the next transaction starts the log over, truncated to [`WAL_SIZE_LIMIT`]; the
//! call that crosses the threshold pays for copying the log (tens of milliseconds), once per
//! some thousands of calls. Durability does not depend on checkpoints: a committed transaction is
//! in the WAL either way.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
#[cfg(test)]
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// How often the background thread checkpoints.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(2);

/// WAL pages (4 KiB each) after which the writer checkpoints inline, at the end of a commit.
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 16_384;

/// The size a started-over WAL file is truncated to, in bytes.
pub(crate) const WAL_SIZE_LIMIT: i64 = 8 << 20;

/// The WAL and its shared-memory index stay when the store's last connection closes, emptied:
/// SQLite checkpoints everything and, with a size limit set, truncates the log to nothing. The
/// next open then finds both files instead of making them again (two new inodes per app launch),
/// and a log started over is cut back to [`WAL_SIZE_LIMIT`]. Set on every connection that may
/// close last.
fn keep_log_files(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.file_control(
        Some(rusqlite::MAIN_DB),
        rusqlite::FileControl::PersistWal(&mut 1),
    )
}

pub(crate) struct Checkpointer {
    /// A message asks the thread for a checkpoint now; dropping the sender stops it.
    wake: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Checkpoints the thread has run, so a test can wait for one instead of sleeping.
    #[cfg(test)]
    runs: Arc<Runs>,
}

impl Checkpointer {
    /// Raises `writer`'s inline checkpoint threshold and starts the background thread on `path`.
    pub(crate) fn start(writer: &Connection, path: &Path) -> Result<Checkpointer, StoreError> {
        Checkpointer::start_every(writer, path, CHECKPOINT_INTERVAL)
    }

    fn start_every(
        writer: &Connection,
        path: &Path,
        interval: Duration,
    ) -> Result<Checkpointer, StoreError> {
        writer.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        keep_log_files(writer)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        keep_log_files(&conn)?;
        let (wake, woken) = mpsc::channel::<()>();
        #[cfg(test)]
        let runs = Arc::new(Runs::default());
        #[cfg(test)]
        let counted = Arc::clone(&runs);
        let thread = std::thread::Builder::new()
            .name("tidbit-checkpoint".into())
            .spawn(move || loop {
                match woken.recv_timeout(interval) {
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                // A failed checkpoint is retried on the next tick; the WAL stays valid.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                #[cfg(test)]
                counted.add_one();
            })?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
            #[cfg(test)]
            runs,
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A count of finished checkpoints and a condition variable to wait on it.
#[cfg(test)]
#[derive(Default)]
struct Runs {
    count: Mutex<u64>,
    changed: Condvar,
}

#[cfg(test)]
impl Runs {
    fn add_one(&self) {
        *self.count.lock().unwrap() += 1;
        self.changed.notify_all();
    }
}

#[cfg(test)]
impl Checkpointer {
    /// Asks the thread for a checkpoint now, ahead of its next tick.
    fn checkpoint_now(&self) {
        if let Some(wake) = &self.wake {
            wake.send(()).unwrap();
        }
    }

    /// Checkpoints run so far, once there are at least `count` or `limit` has passed (a guard
    /// against hanging; the caller asserts the count).
    fn runs_reaching(&self, count: u64, limit: Duration) -> u64 {
        let runs = self.runs.count.lock().unwrap();
        let (runs, _) = self
            .runs
            .changed
            .wait_timeout_while(runs, limit, |runs| *runs < count)
            .unwrap();
        *runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough that a test's waits fail it rather than hang; never what a test waits for.
    const GUARD: Duration = Duration::from_secs(30);

    #[test]
    fn the_background_thread_checkpoints_what_the_writer_leaves_when_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        // No tick during the test: the one checkpoint is the one asked for.
        let checkpointer =
            Checkpointer::start_every(&writer, &path, Duration::from_secs(3600)).unwrap();
        let pages: i64 = writer
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(pages, i64::from(WRITER_CHECKPOINT_PAGES));
        writer
            .execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(200000));")
            .unwrap();
        let database_bytes = || std::fs::metadata(&path).unwrap().len();
        // Committed, but only in the WAL: the database file does not hold the row yet.
        assert!(database_bytes() < 200_000, "{}", database_bytes());
        assert_eq!(checkpointer.runs_reaching(0, Duration::ZERO), 0);

        checkpointer.checkpoint_now();

        assert_eq!(checkpointer.runs_reaching(1, GUARD), 1);
        // The background thread copied it into the database file; no other connection did.
        assert!(database_bytes() >= 200_000, "{}", database_bytes());
    }

    #[test]
    fn closing_leaves_an_empty_log_whichever_connection_closes_last_and_the_rows_in_the_database() {
        for writer_first in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.sqlite3");
            let wal = dir.path().join("s.sqlite3-wal");
            let writer = Connection::open(&path).unwrap();
            writer.pragma_update(None, "journal_mode", "WAL").unwrap();
            let checkpointer =
                Checkpointer::start_every(&writer, &path, Duration::from_secs(3600)).unwrap();
            writer
                .execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(200000));")
                .unwrap();
            assert!(std::fs::metadata(&wal).unwrap().len() >= 200_000);
            if writer_first {
                drop(writer);
                drop(checkpointer);
            } else {
                drop(checkpointer);
                drop(writer);
            }
            // Kept for the next open, emptied: everything is in the database file.
            assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0, "{writer_first}");
            assert!(std::fs::metadata(&path).unwrap().len() >= 200_000);
            let reopened = Connection::open(&path).unwrap();
            let bytes: i64 = reopened
                .query_row("SELECT length(x) FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(bytes, 200_000);
        }
    }

    #[test]
    fn the_background_thread_checkpoints_on_its_own_ticks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        let checkpointer =
            Checkpointer::start_every(&writer, &path, Duration::from_millis(20)).unwrap();
        writer
            .execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(200000));")
            .unwrap();
        // At most one tick was under way at the commit; the one after it started after it.
        let seen = checkpointer.runs_reaching(0, Duration::ZERO);
        let runs = checkpointer.runs_reaching(seen + 2, GUARD);
        assert!(runs >= seen + 2, "{runs} checkpoints, {seen} at the commit");
        let database_bytes = std::fs::metadata(&path).unwrap().len();
        assert!(database_bytes >= 200_000, "{database_bytes}");
    }

    #[test]
    fn writes_without_a_pause_keep_the_wal_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "synchronous", "NORMAL").unwrap();
        let _checkpointer = Checkpointer::start(&writer, &path).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let wal = dir.path().join("s.sqlite3-wal");
        let mut largest = 0;
        // 6,000 commits of 32 KB each: 192 MB through the log, with no pause for the background
        // thread to catch up.
        for _ in 0..6000 {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(32000))", [])
                .unwrap();
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        let bound = u64::from(WRITER_CHECKPOINT_PAGES + 16) * 4096 + (WAL_SIZE_LIMIT as u64) / 4;
        assert!(largest <= bound, "the WAL reached {largest} bytes");
        let rows: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 6000);
    }
}
