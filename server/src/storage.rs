//! Where the server keeps learners' documents and per-device sync states.
//!
//! [`SyncStorage`] is the whole contract: list a learner's documents with their heads, load one
//! (a snapshot plus chunks appended since), and commit one exchange's updates atomically. It
//! speaks only of learners, documents, bytes and heads, so a PostgreSQL implementation is
//! three tables and the same statements. [`SqliteStorage`] is the embedded default: one file.

use std::path::Path;
use std::sync::Mutex;

use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension};
use tidbit_core::sync::exchange::{pack_heads, unpack_heads};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("server storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("server storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("server storage is unusable after an earlier failure; restart the server")]
    Poisoned,
    #[error("event {id} is already recorded: an event id may only ever be appended once")]
    DuplicateEvent { id: String },
    #[error("document '{doc}' changed while this write was prepared; prepare it again")]
    Conflict { doc: String },
}

/// A stored document: its last snapshot and the chunks appended since, in order.
#[derive(Debug, Clone, Default)]
pub struct StoredDocument {
    pub snapshot: Vec<u8>,
    pub chunks: Vec<Vec<u8>>,
}

/// One document's new state after an exchange.
#[derive(Debug, Clone)]
pub struct DocumentUpdate {
    pub doc: String,
    /// The heads the update was prepared from (`None`: the document did not exist). The commit
    /// is a compare-and-swap: if the stored heads differ, nothing is written
    /// ([`StorageError::Conflict`]) and the writer prepares again from what is stored.
    pub expected: Option<Vec<ChangeHash>>,
    /// A new snapshot replacing the snapshot and every chunk, or a chunk to append.
    pub write: DocumentWrite,
    pub heads: Vec<ChangeHash>,
}

#[derive(Debug, Clone)]
pub enum DocumentWrite {
    Snapshot(Vec<u8>),
    Chunk(Vec<u8>),
    /// Only the sync state changed.
    Nothing,
}

/// A device's sync state for one document.
#[derive(Debug, Clone)]
pub struct StateUpdate {
    pub doc: String,
    pub state: Vec<u8>,
}

pub trait SyncStorage: Send + Sync + 'static {
    /// The learner's documents with their heads.
    fn documents(&self, learner: &str) -> Result<Vec<(String, Vec<ChangeHash>)>, StorageError>;
    fn load(&self, learner: &str, doc: &str) -> Result<Option<StoredDocument>, StorageError>;
    fn sync_state(
        &self,
        learner: &str,
        device: &str,
        doc: &str,
    ) -> Result<Option<Vec<u8>>, StorageError>;
    /// Writes one exchange's document updates, sync states and the ids of the events it
    /// added, all or nothing, and only if every document's stored heads are still those it was
    /// prepared from ([`StorageError::Conflict`] otherwise; see [`DocumentUpdate::expected`]),
    /// whichever process wrote in between. An id already recorded for the learner refuses the
    /// whole commit ([`StorageError::DuplicateEvent`]): two different events can never share an
    /// id.
    fn commit(
        &self,
        learner: &str,
        device: &str,
        documents: &[DocumentUpdate],
        states: &[StateUpdate],
        new_events: &[String],
    ) -> Result<(), StorageError>;
    /// Every learner with at least one document.
    fn learners(&self) -> Result<Vec<String>, StorageError>;
}

/// The embedded implementation: one SQLite file.
///
/// Durability: the file runs in WAL mode with `synchronous=FULL`, for every table alike: an
/// acknowledged exchange or intervention survives a power cut, at the price of one fsync per
/// commit (the load benchmark's figures include it). A commit takes SQLite's write lock before it
/// reads the heads it compares (`BEGIN IMMEDIATE`), so another process on the same file (`tidbit
/// serve trigger` beside `tidbit serve`) can never slip a write between the check and the swap.
pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS documents (
    learner TEXT NOT NULL,
    name TEXT NOT NULL,
    snapshot BLOB NOT NULL,
    heads BLOB NOT NULL,
    PRIMARY KEY (learner, name)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    name TEXT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (learner, name, id);
CREATE TABLE IF NOT EXISTS event_ids (
    learner TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (learner, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_states (
    learner TEXT NOT NULL,
    device TEXT NOT NULL,
    name TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (learner, device, name)
);
"#;

impl SqliteStorage {
    pub fn open(path: &Path) -> Result<SqliteStorage, StorageError> {
        crate::files::create_private(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StorageError> {
        self.conn.lock().map_err(|_| StorageError::Poisoned)
    }
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

impl SyncStorage for SqliteStorage {
    fn documents(&self, learner: &str) -> Result<Vec<(String, Vec<ChangeHash>)>, StorageError> {
        let conn = self.conn()?;
        let rows: Vec<(String, Vec<u8>)> = conn
            .prepare_cached("SELECT name, heads FROM documents WHERE learner = ?1 ORDER BY name")?
            .query_map([learner], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .map(|(name, heads)| (name, unpack_heads(&heads)))
            .collect())
    }

    fn load(&self, learner: &str, doc: &str) -> Result<Option<StoredDocument>, StorageError> {
        let conn = self.conn()?;
        let snapshot: Option<Vec<u8>> = conn
            .prepare_cached("SELECT snapshot FROM documents WHERE learner = ?1 AND name = ?2")?
            .query_row(params![learner, doc], |r| r.get(0))
            .optional()?;
        let Some(snapshot) = snapshot else {
            return Ok(None);
        };
        let chunks = conn
            .prepare_cached(
                "SELECT bytes FROM chunks WHERE learner = ?1 AND name = ?2 ORDER BY id",
            )?
            .query_map(params![learner, doc], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(StoredDocument { snapshot, chunks }))
    }

    fn sync_state(
        &self,
        learner: &str,
        device: &str,
        doc: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .conn()?
            .prepare_cached(
                "SELECT state FROM sync_states WHERE learner = ?1 AND device = ?2 AND name = ?3",
            )?
            .query_row(params![learner, device, doc], |r| r.get(0))
            .optional()?)
    }

    fn commit(
        &self,
        learner: &str,
        device: &str,
        documents: &[DocumentUpdate],
        states: &[StateUpdate],
        new_events: &[String],
    ) -> Result<(), StorageError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for update in documents {
            let stored: Option<Vec<u8>> = tx
                .prepare_cached("SELECT heads FROM documents WHERE learner = ?1 AND name = ?2")?
                .query_row(params![learner, update.doc], |r| r.get(0))
                .optional()?;
            let stored = stored.map(|bytes| sorted(unpack_heads(&bytes)));
            if stored != update.expected.as_ref().map(|h| sorted(h.clone())) {
                return Err(StorageError::Conflict {
                    doc: update.doc.clone(),
                });
            }
        }
        for id in new_events {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO event_ids (learner, id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                )?
                .execute(params![learner, id])?;
            if inserted == 0 {
                return Err(StorageError::DuplicateEvent { id: id.clone() });
            }
        }
        for update in documents {
            let heads = pack_heads(&update.heads);
            match &update.write {
                DocumentWrite::Snapshot(snapshot) => {
                    tx.prepare_cached(
                        "INSERT INTO documents (learner, name, snapshot, heads) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (learner, name) DO UPDATE SET snapshot = excluded.snapshot, heads = excluded.heads",
                    )?
                    .execute(params![learner, update.doc, snapshot, heads])?;
                    tx.prepare_cached("DELETE FROM chunks WHERE learner = ?1 AND name = ?2")?
                        .execute(params![learner, update.doc])?;
                }
                DocumentWrite::Chunk(chunk) => {
                    tx.prepare_cached(
                        "INSERT INTO chunks (learner, name, bytes) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![learner, update.doc, chunk])?;
                    tx.prepare_cached(
                        "UPDATE documents SET heads = ?3 WHERE learner = ?1 AND name = ?2",
                    )?
                    .execute(params![learner, update.doc, heads])?;
                }
                DocumentWrite::Nothing => {}
            }
        }
        for update in states {
            tx.prepare_cached(
                "INSERT INTO sync_states (learner, device, name, state) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (learner, device, name) DO UPDATE SET state = excluded.state",
            )?
            .execute(params![learner, device, update.doc, update.state])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn learners(&self) -> Result<Vec<String>, StorageError> {
        Ok(self
            .conn()?
            .prepare("SELECT DISTINCT learner FROM documents ORDER BY learner")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}
