//! Where the server keeps learners' documents and per-device sync states.
//!
//! [`SyncStorage`] is the whole contract: list a learner's documents with their heads, load one
//! (a snapshot plus chunks appended since), and commit one exchange's updates atomically. It
//! speaks only of learners, documents, bytes and heads, so a PostgreSQL implementation is
//! three tables and the same statements. [`SqliteStorage`] is the embedded default: one file,
//! with every learner's documents and sync states sealed under a key of their own
//! ([`crate::sealing`]), and erasure by crypto-shredding ([`SyncStorage::erase`]).

use std::path::Path;
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;
use ring::rand::SecureRandom;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use tidbit_core::sync::exchange::{pack_heads, unpack_heads};

use crate::sealing::{nonce_of, LearnerKey, Place, SealError, ServerKey};

mod analytics;
mod config;
pub mod postgres;
pub use analytics::{OutboxStatement, OutboxStatus, QuarantinedStatement, Settlement};
pub use config::{Migrations, StorageConfig};
pub use postgres::PostgresStorage;

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
    #[error(transparent)]
    Sealing(#[from] SealError),
    #[error("this learner's data was erased from the server; erasure is final, so nothing more is stored for this learner id")]
    Erased,
    #[error("the server's store was written by a newer Tidbit (schema {found}, this build knows {supported}): update the server")]
    NewerSchema { found: i64, supported: i64 },
    #[error("the server's database is at schema {found}, this build needs {supported}: run `tidbit serve migrate`")]
    Unmigrated { found: i64, supported: i64 },
    #[error("server database: {0}")]
    Postgres(String),
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The driver's text with its cause (the server's message, a connection error).
        match std::error::Error::source(&e) {
            Some(cause) => StorageError::Postgres(format!("{e}: {cause}")),
            None => StorageError::Postgres(e.to_string()),
        }
    }
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
    ) -> Result<(), StorageError> {
        self.commit_with_reviews(learner, device, documents, states, new_events, &[])
    }
    /// [`SyncStorage::commit`], moving the admin review queue in the same transaction: a
    /// review request an exchange stores is queued with it, a decision the server writes takes
    /// its review off the queue with it.
    fn commit_with_reviews(
        &self,
        learner: &str,
        device: &str,
        documents: &[DocumentUpdate],
        states: &[StateUpdate],
        new_events: &[String],
        reviews: &[ReviewChange],
    ) -> Result<(), StorageError>;
    /// The reviews waiting for a person, oldest first, at most `limit`. The queue holds ids and
    /// times only; the texts stay in the learner's sealed documents.
    fn pending_reviews(&self, limit: u32) -> Result<Vec<QueuedReview>, StorageError>;
    /// A review of `learner` by its id, decided or not.
    fn queued_review(
        &self,
        learner: &str,
        review: &str,
    ) -> Result<Option<QueuedReview>, StorageError>;
    /// Takes the reviews decided before `before_ms` off the queue; returns how many.
    fn prune_reviews(&self, before_ms: i64) -> Result<usize, StorageError>;
    /// Every learner with at least one document.
    fn learners(&self) -> Result<Vec<String>, StorageError>;
    /// Erases everything held for `learner` at the server's time `at_ms`, all or nothing: their
    /// key, documents, sync states and event ids; records a tombstone (so their tokens are
    /// refused from now on) and an entry of the erasure log, neither holding the learner id.
    fn erase(&self, learner: &str, at_ms: i64) -> Result<Erasure, StorageError>;
    /// Whether `learner` was erased (their tokens are refused).
    fn is_erased(&self, learner: &str) -> Result<bool, StorageError>;
    /// The erasure log, oldest first.
    fn erasures(&self) -> Result<Vec<ErasureRecord>, StorageError>;
    /// Up to `limit` learners whose events changed since their learning records were made
    /// (every commit that adds events marks its learner), with the mark's generation.
    fn records_due(&self, limit: u32) -> Result<Vec<(String, i64)>, StorageError>;
    /// Marks every learner held as due, the first time delivery to an LRS is set up (later
    /// calls mark nothing: commits mark their learners).
    fn mark_all_records_due(&self) -> Result<u64, StorageError>;
    /// Queues `statements` (`(id, JSON)`) of `learner` for the LRS, each id once ever, and
    /// clears the learner's mark if it is still `generation`, all in one transaction; returns
    /// how many were new. An erased learner's are dropped.
    fn enqueue_statements(
        &self,
        learner: &str,
        generation: i64,
        statements: &[(String, Vec<u8>)],
    ) -> Result<u64, StorageError>;
    /// The oldest `limit` statements waiting for delivery, opened.
    fn outbox_batch(&self, limit: u32) -> Result<Vec<OutboxStatement>, StorageError>;
    /// Records what became of delivered or refused statements (an attempt that failed as a
    /// whole counts an attempt and leaves them pending).
    fn settle_statements(
        &self,
        settled: &[(String, Settlement)],
        at_ms: i64,
    ) -> Result<(), StorageError>;
    /// Counts by state and the quarantined statements, newest first, at most `limit`.
    fn outbox_status(&self, limit: u32) -> Result<OutboxStatus, StorageError>;
    /// Up to `limit` learners whose engagement summaries are out of date, with the mark's
    /// generation (marked by the same commits as [`SyncStorage::records_due`]).
    fn summaries_due(&self, limit: u32) -> Result<Vec<(String, i64)>, StorageError>;
    /// Clears `learner`'s summary mark if it is still `generation`.
    fn summary_made(&self, learner: &str, generation: i64) -> Result<(), StorageError>;
    /// Marks every learner held (at start, and each new day, when mastery has moved on).
    fn mark_all_summaries_due(&self) -> Result<u64, StorageError>;
    /// Stores an experiment's definition (JSON) under its id; false if the id is taken.
    fn put_experiment(&self, id: &str, definition: &str, at_ms: i64) -> Result<bool, StorageError>;
    /// Every experiment's definition, oldest first.
    fn experiments(&self) -> Result<Vec<String>, StorageError>;
    /// Whether the storage can serve now: its database answers and holds the schema this build
    /// needs (`GET /readyz`).
    fn readiness(&self) -> Result<(), StorageError>;
    /// Takes, or keeps, the lead of the background work (learning records for the LRS, the L&D
    /// summaries) among every process on this storage: true while this process holds it. At
    /// most one process holds it; when it stops, however it stops, another takes it over at
    /// its next call.
    fn lead_background_work(&self) -> Result<bool, StorageError>;
    /// A server-wide setting (`server_meta`), such as where the leading process listens.
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError>;
    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StorageError>;
}

/// How one commit moves the review queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewChange {
    /// A learner asked for review `review` (the request event's id) at `at_ms`.
    Requested { review: String, at_ms: i64 },
    /// A person decided `review` at `at_ms`.
    Decided { review: String, at_ms: i64 },
}

/// A review in the admin queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedReview {
    pub learner: String,
    pub review: String,
    pub requested_ms: i64,
    pub decided_ms: Option<i64>,
}

/// What [`SyncStorage::erase`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// The learner's data is gone; `record` is the erasure log's entry. `wal_truncated`: the
    /// write-ahead log was emptied at once (when another process was reading, the deleted
    /// pages leave it at its next checkpoint instead).
    Erased {
        record: ErasureRecord,
        wal_truncated: bool,
    },
    /// The learner was erased before; nothing changed.
    AlreadyErased,
    /// Nothing is held for this learner id, and it was never erased; nothing changed.
    NeverSeen,
}

/// One entry of the erasure log: no learner id, no pseudonym, nothing that links it to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRecord {
    /// A random id, given to the person who asked for the erasure as its receipt.
    pub erasure: String,
    pub at_ms: i64,
    pub documents: u64,
    pub chunks: u64,
    pub sync_states: u64,
    pub event_ids: u64,
}

/// The embedded implementation: one SQLite file.
///
/// Durability: the file runs in WAL mode with `synchronous=FULL`, for every table alike: an
/// acknowledged exchange or intervention survives a power cut, at the price of one fsync per
/// commit (the load benchmark's figures include it). A commit takes SQLite's write lock before it
/// reads the heads it compares (`BEGIN IMMEDIATE`), so another process on the same file (`tidbit
/// serve trigger` beside `tidbit serve`) can never slip a write between the check and the swap.
///
/// Sealing: snapshots, chunks and sync states are stored sealed under the learner's key
/// ([`crate::sealing`]); the first write for a learner makes the key, inside the same
/// transaction. A store written before sealing existed (schema 0) is sealed in place when it is
/// first opened with a server key, in one transaction, followed by a checkpoint that empties the
/// write-ahead log, so the plain bytes do not linger.
///
/// Deletion: the connection runs with `secure_delete=ON`, so SQLite overwrites what it deletes
/// with zeros, and an erasure ends with `wal_checkpoint(TRUNCATE)`, so no copy of a deleted page
/// stays in the write-ahead log either.
pub struct SqliteStorage {
    conn: Mutex<Connection>,
    key: Arc<ServerKey>,
    /// The lock file of the background work's lead (`server.sqlite3.lead`), once taken: an
    /// exclusive lock the system releases when the process ends.
    lead: Mutex<Option<std::fs::File>>,
    lead_path: std::path::PathBuf,
}

/// The schema version this build writes: 1, learners' data sealed.
const SCHEMA_VERSION: i64 = 1;

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
CREATE TABLE IF NOT EXISTS learner_keys (
    learner TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS erased_learners (
    tombstone BLOB PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS erasures (
    id TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    documents INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    sync_states INTEGER NOT NULL,
    event_ids INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS review_queue (
    learner TEXT NOT NULL,
    review TEXT NOT NULL,
    requested_ms INTEGER NOT NULL,
    decided_ms INTEGER,
    PRIMARY KEY (learner, review)
);
CREATE INDEX IF NOT EXISTS review_queue_pending ON review_queue (requested_ms)
    WHERE decided_ms IS NULL;
-- Learners whose events changed since their learning records were made; `generation` counts
-- the commits, so records made from an older read never clear a newer mark.
CREATE TABLE IF NOT EXISTS records_due (
    learner TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
-- The same marks for the engagement summaries behind the L&D metrics.
CREATE TABLE IF NOT EXISTS summaries_due (
    learner TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
-- The L&D team's experiments: id and definition (JSON).
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
-- xAPI statements for the organisation's LRS, each sealed under its learner's key, in the order
-- they were made. `state`: pending, delivered or quarantined; `outcome`: how the LRS took a
-- delivered one (stored, or a conflict: it already held that id) or why it refused one.
CREATE TABLE IF NOT EXISTS lrs_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    learner TEXT NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    settled_ms INTEGER
);
CREATE INDEX IF NOT EXISTS lrs_outbox_pending ON lrs_outbox (seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS lrs_outbox_learner ON lrs_outbox (learner);
CREATE TABLE IF NOT EXISTS server_meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"#;

impl SqliteStorage {
    /// Opens (creating if needed) the store at `path`, its learners' data sealed under keys
    /// `key` wraps. A store sealed with another key is refused ([`SealError::WrongKey`]); a
    /// store from before sealing is sealed now.
    pub fn open(path: &Path, key: Arc<ServerKey>) -> Result<SqliteStorage, StorageError> {
        crate::files::create_private(path)?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        seal_store(&mut conn, &key)?;
        let mut lead_path = path.as_os_str().to_owned();
        lead_path.push(".lead");
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
            key,
            lead: Mutex::new(None),
            lead_path: lead_path.into(),
        })
    }

    /// Whether the store at `path` was ever opened with a server key (it holds a key check):
    /// such a store must never be given a new key. A missing file is not sealed.
    pub fn is_sealed(path: &Path) -> Result<bool, StorageError> {
        if !path.exists() {
            return Ok(false);
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let has_meta: bool = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'server_meta'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_meta {
            return Ok(false);
        }
        Ok(conn
            .query_row(
                "SELECT count(*) FROM server_meta WHERE name = 'key_check'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?)
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StorageError> {
        self.conn.lock().map_err(|_| StorageError::Poisoned)
    }
}

/// Checks the server key against the store's key check (writing one into a new store), and
/// seals a store of schema 0 in place.
fn seal_store(conn: &mut Connection, key: &ServerKey) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let check: Option<Vec<u8>> = tx
        .query_row(
            "SELECT value FROM server_meta WHERE name = 'key_check'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match check {
        Some(check) => key.verify_check(&check)?,
        None => {
            tx.execute(
                "INSERT INTO server_meta (name, value) VALUES ('key_check', ?1)",
                [key.key_check()?],
            )?;
        }
    }
    if version == SCHEMA_VERSION {
        tx.commit()?;
        return Ok(());
    }
    let sealed_any = seal_plain_rows(&tx, key)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    if sealed_any {
        // The plain pages were zeroed (secure_delete) in the database; empty the log too.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// Seals every document, chunk and sync state of a schema-0 store; true if there were any.
fn seal_plain_rows(tx: &rusqlite::Transaction<'_>, key: &ServerKey) -> Result<bool, StorageError> {
    let documents: Vec<(String, String, Vec<u8>)> = tx
        .prepare("SELECT learner, name, snapshot FROM documents ORDER BY learner, name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let states: Vec<(String, String, String, Vec<u8>)> = tx
        .prepare("SELECT learner, device, name, state FROM sync_states")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let sealed_any = !documents.is_empty() || !states.is_empty();
    for (learner, doc, snapshot) in documents {
        let learner_key = learner_key_or_new(tx, key, &learner)?;
        let sealed = learner_key.seal(
            Place::Snapshot {
                learner: &learner,
                doc: &doc,
            },
            &snapshot,
        )?;
        tx.execute(
            "UPDATE documents SET snapshot = ?3 WHERE learner = ?1 AND name = ?2",
            params![learner, doc, sealed],
        )?;
        let chunks: Vec<(i64, Vec<u8>)> = tx
            .prepare("SELECT id, bytes FROM chunks WHERE learner = ?1 AND name = ?2 ORDER BY id")?
            .query_map(params![learner, doc], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (index, (id, bytes)) in chunks.into_iter().enumerate() {
            let place = Place::Chunk {
                learner: &learner,
                doc: &doc,
                index: index as u64,
                snapshot_nonce: nonce_of(&sealed),
            };
            tx.execute(
                "UPDATE chunks SET bytes = ?2 WHERE id = ?1",
                params![id, learner_key.seal(place, &bytes)?],
            )?;
        }
    }
    for (learner, device, doc, state) in states {
        let learner_key = learner_key_or_new(tx, key, &learner)?;
        let place = Place::SyncState {
            learner: &learner,
            device: &device,
            doc: &doc,
        };
        tx.execute(
            "UPDATE sync_states SET state = ?4 WHERE learner = ?1 AND device = ?2 AND name = ?3",
            params![learner, device, doc, learner_key.seal(place, &state)?],
        )?;
    }
    Ok(sealed_any)
}

/// The learner's data key, if they have one.
fn learner_key(
    conn: &Connection,
    key: &ServerKey,
    learner: &str,
) -> Result<Option<LearnerKey>, StorageError> {
    let wrapped: Option<Vec<u8>> = conn
        .prepare_cached("SELECT wrapped FROM learner_keys WHERE learner = ?1")?
        .query_row([learner], |r| r.get(0))
        .optional()?;
    Ok(wrapped
        .map(|wrapped| key.unwrap_learner_key(learner, &wrapped))
        .transpose()?)
}

/// The learner's data key, made and stored (wrapped) on their first write. Call it inside the
/// write transaction, so two writers never make two keys.
fn learner_key_or_new(
    conn: &Connection,
    key: &ServerKey,
    learner: &str,
) -> Result<LearnerKey, StorageError> {
    if let Some(existing) = learner_key(conn, key, learner)? {
        return Ok(existing);
    }
    let (fresh, wrapped) = key.new_learner_key(learner)?;
    conn.prepare_cached("INSERT INTO learner_keys (learner, wrapped) VALUES (?1, ?2)")?
        .execute(params![learner, wrapped])?;
    Ok(fresh)
}

fn erased(conn: &Connection, key: &ServerKey, learner: &str) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM erased_learners WHERE tombstone = ?1")?
        .query_row([key.tombstone(learner)], |r| r.get::<_, i64>(0))?
        > 0)
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
        let sealed: Option<Vec<u8>> = conn
            .prepare_cached("SELECT snapshot FROM documents WHERE learner = ?1 AND name = ?2")?
            .query_row(params![learner, doc], |r| r.get(0))
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let learner_key =
            learner_key(&conn, &self.key, learner)?.ok_or(SealError::MissingLearnerKey)?;
        let snapshot = learner_key.open(Place::Snapshot { learner, doc }, &sealed)?;
        let sealed_chunks: Vec<Vec<u8>> = conn
            .prepare_cached(
                "SELECT bytes FROM chunks WHERE learner = ?1 AND name = ?2 ORDER BY id",
            )?
            .query_map(params![learner, doc], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let chunks = sealed_chunks
            .iter()
            .enumerate()
            .map(|(index, chunk)| {
                let place = Place::Chunk {
                    learner,
                    doc,
                    index: index as u64,
                    snapshot_nonce: nonce_of(&sealed),
                };
                learner_key.open(place, chunk)
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(StoredDocument { snapshot, chunks }))
    }

    fn sync_state(
        &self,
        learner: &str,
        device: &str,
        doc: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let conn = self.conn()?;
        let sealed: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT state FROM sync_states WHERE learner = ?1 AND device = ?2 AND name = ?3",
            )?
            .query_row(params![learner, device, doc], |r| r.get(0))
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let learner_key =
            learner_key(&conn, &self.key, learner)?.ok_or(SealError::MissingLearnerKey)?;
        let place = Place::SyncState {
            learner,
            device,
            doc,
        };
        Ok(Some(learner_key.open(place, &sealed)?))
    }

    fn commit_with_reviews(
        &self,
        learner: &str,
        device: &str,
        documents: &[DocumentUpdate],
        states: &[StateUpdate],
        new_events: &[String],
        reviews: &[ReviewChange],
    ) -> Result<(), StorageError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Checked inside the write lock: an erasure by another process can never be followed
        // by a write an exchange had prepared before it.
        if erased(&tx, &self.key, learner)? {
            return Err(StorageError::Erased);
        }
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
        if !new_events.is_empty() {
            analytics::mark_due(&tx, learner)?;
        }
        let needs_key = states.len()
            + documents
                .iter()
                .filter(|u| !matches!(u.write, DocumentWrite::Nothing))
                .count()
            > 0;
        let learner_key = if needs_key {
            Some(learner_key_or_new(&tx, &self.key, learner)?)
        } else {
            None
        };
        let learner_key = || learner_key.as_ref().ok_or(SealError::MissingLearnerKey);
        for update in documents {
            let heads = pack_heads(&update.heads);
            let doc = update.doc.as_str();
            match &update.write {
                DocumentWrite::Snapshot(snapshot) => {
                    let snapshot =
                        learner_key()?.seal(Place::Snapshot { learner, doc }, snapshot)?;
                    tx.prepare_cached(
                        "INSERT INTO documents (learner, name, snapshot, heads) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (learner, name) DO UPDATE SET snapshot = excluded.snapshot, heads = excluded.heads",
                    )?
                    .execute(params![learner, update.doc, snapshot, heads])?;
                    tx.prepare_cached("DELETE FROM chunks WHERE learner = ?1 AND name = ?2")?
                        .execute(params![learner, update.doc])?;
                }
                DocumentWrite::Chunk(chunk) => {
                    let (snapshot_nonce, index): (Vec<u8>, i64) = tx
                        .prepare_cached(
                            "SELECT substr(snapshot, 2, 12),
                                    (SELECT count(*) FROM chunks WHERE learner = ?1 AND name = ?2)
                             FROM documents WHERE learner = ?1 AND name = ?2",
                        )?
                        .query_row(params![learner, doc], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    let place = Place::Chunk {
                        learner,
                        doc,
                        index: index as u64,
                        snapshot_nonce: &snapshot_nonce,
                    };
                    let chunk = learner_key()?.seal(place, chunk)?;
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
            let place = Place::SyncState {
                learner,
                device,
                doc: &update.doc,
            };
            let state = learner_key()?.seal(place, &update.state)?;
            tx.prepare_cached(
                "INSERT INTO sync_states (learner, device, name, state) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (learner, device, name) DO UPDATE SET state = excluded.state",
            )?
            .execute(params![learner, device, update.doc, state])?;
        }
        for change in reviews {
            match change {
                ReviewChange::Requested { review, at_ms } => tx
                    .prepare_cached(
                        "INSERT INTO review_queue (learner, review, requested_ms)
                         VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![learner, review, at_ms])?,
                ReviewChange::Decided { review, at_ms } => tx
                    .prepare_cached(
                        "UPDATE review_queue SET decided_ms = ?3
                         WHERE learner = ?1 AND review = ?2 AND decided_ms IS NULL",
                    )?
                    .execute(params![learner, review, at_ms])?,
            };
        }
        tx.commit()?;
        Ok(())
    }

    fn pending_reviews(&self, limit: u32) -> Result<Vec<QueuedReview>, StorageError> {
        Ok(self
            .conn()?
            .prepare_cached(
                "SELECT learner, review, requested_ms FROM review_queue
                 WHERE decided_ms IS NULL ORDER BY requested_ms, learner, review LIMIT ?1",
            )?
            .query_map([limit], |r| {
                Ok(QueuedReview {
                    learner: r.get(0)?,
                    review: r.get(1)?,
                    requested_ms: r.get(2)?,
                    decided_ms: None,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn prune_reviews(&self, before_ms: i64) -> Result<usize, StorageError> {
        Ok(self
            .conn()?
            .prepare_cached("DELETE FROM review_queue WHERE decided_ms < ?1")?
            .execute([before_ms])?)
    }

    fn queued_review(
        &self,
        learner: &str,
        review: &str,
    ) -> Result<Option<QueuedReview>, StorageError> {
        Ok(self
            .conn()?
            .prepare_cached(
                "SELECT requested_ms, decided_ms FROM review_queue
                 WHERE learner = ?1 AND review = ?2",
            )?
            .query_row(params![learner, review], |r| {
                Ok(QueuedReview {
                    learner: learner.into(),
                    review: review.into(),
                    requested_ms: r.get(0)?,
                    decided_ms: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn learners(&self) -> Result<Vec<String>, StorageError> {
        Ok(self
            .conn()?
            .prepare("SELECT DISTINCT learner FROM documents ORDER BY learner")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn erase(&self, learner: &str, at_ms: i64) -> Result<Erasure, StorageError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if erased(&tx, &self.key, learner)? {
            return Ok(Erasure::AlreadyErased);
        }
        let count = |table: &str| -> Result<u64, StorageError> {
            Ok(tx.query_row(
                &format!("SELECT count(*) FROM {table} WHERE learner = ?1"),
                [learner],
                |r| r.get::<_, i64>(0),
            )? as u64)
        };
        let record = ErasureRecord {
            erasure: random_id()?,
            at_ms,
            documents: count("documents")?,
            chunks: count("chunks")?,
            sync_states: count("sync_states")?,
            event_ids: count("event_ids")?,
        };
        let keys = count("learner_keys")?;
        if keys + record.documents + record.chunks + record.sync_states + record.event_ids == 0 {
            return Ok(Erasure::NeverSeen);
        }
        // The key first: from here on, no copy of the learner's sealed bytes can be opened.
        for table in [
            "learner_keys",
            "chunks",
            "documents",
            "sync_states",
            "event_ids",
            "review_queue",
            "records_due",
            "summaries_due",
            "lrs_outbox",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE learner = ?1"),
                [learner],
            )?;
        }
        tx.execute(
            "INSERT INTO erased_learners (tombstone) VALUES (?1)",
            [self.key.tombstone(learner)],
        )?;
        tx.execute(
            "INSERT INTO erasures (id, at_ms, documents, chunks, sync_states, event_ids)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                record.erasure,
                record.at_ms,
                record.documents as i64,
                record.chunks as i64,
                record.sync_states as i64,
                record.event_ids as i64
            ],
        )?;
        tx.commit()?;
        // Copy the zeroed pages into the database and empty the write-ahead log, which still
        // holds earlier versions of the deleted pages. Busy when another process reads.
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(Erasure::Erased {
            record,
            wal_truncated: busy == 0,
        })
    }

    fn is_erased(&self, learner: &str) -> Result<bool, StorageError> {
        let conn = self.conn()?;
        erased(&conn, &self.key, learner)
    }

    fn erasures(&self) -> Result<Vec<ErasureRecord>, StorageError> {
        Ok(self
            .conn()?
            .prepare(
                "SELECT id, at_ms, documents, chunks, sync_states, event_ids
                 FROM erasures ORDER BY at_ms, id",
            )?
            .query_map([], |r| {
                Ok(ErasureRecord {
                    erasure: r.get(0)?,
                    at_ms: r.get(1)?,
                    documents: r.get::<_, i64>(2)? as u64,
                    chunks: r.get::<_, i64>(3)? as u64,
                    sync_states: r.get::<_, i64>(4)? as u64,
                    event_ids: r.get::<_, i64>(5)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn records_due(&self, limit: u32) -> Result<Vec<(String, i64)>, StorageError> {
        analytics::due(&*self.conn()?, analytics::Marks::Records, limit)
    }

    fn mark_all_records_due(&self) -> Result<u64, StorageError> {
        analytics::mark_all_records_once(&mut *self.conn()?)
    }

    fn enqueue_statements(
        &self,
        learner: &str,
        generation: i64,
        statements: &[(String, Vec<u8>)],
    ) -> Result<u64, StorageError> {
        analytics::enqueue(
            &mut *self.conn()?,
            &self.key,
            learner,
            generation,
            statements,
        )
    }

    fn outbox_batch(&self, limit: u32) -> Result<Vec<OutboxStatement>, StorageError> {
        analytics::batch(&*self.conn()?, &self.key, limit)
    }

    fn settle_statements(
        &self,
        settled: &[(String, Settlement)],
        at_ms: i64,
    ) -> Result<(), StorageError> {
        analytics::settle(&mut *self.conn()?, settled, at_ms)
    }

    fn outbox_status(&self, limit: u32) -> Result<OutboxStatus, StorageError> {
        analytics::status(&*self.conn()?, limit)
    }

    fn summaries_due(&self, limit: u32) -> Result<Vec<(String, i64)>, StorageError> {
        analytics::due(&*self.conn()?, analytics::Marks::Summaries, limit)
    }

    fn summary_made(&self, learner: &str, generation: i64) -> Result<(), StorageError> {
        Ok(analytics::clear(
            &*self.conn()?,
            analytics::Marks::Summaries,
            learner,
            generation,
        )?)
    }

    fn mark_all_summaries_due(&self) -> Result<u64, StorageError> {
        Ok(analytics::mark_all(
            &*self.conn()?,
            analytics::Marks::Summaries,
        )?)
    }

    fn put_experiment(&self, id: &str, definition: &str, at_ms: i64) -> Result<bool, StorageError> {
        Ok(analytics::put_experiment(
            &*self.conn()?,
            id,
            definition,
            at_ms,
        )?)
    }

    fn experiments(&self) -> Result<Vec<String>, StorageError> {
        Ok(analytics::experiments(&*self.conn()?)?)
    }

    fn readiness(&self) -> Result<(), StorageError> {
        let found: i64 = self
            .conn()?
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        match found == SCHEMA_VERSION {
            true => Ok(()),
            false => Err(StorageError::Unmigrated {
                found,
                supported: SCHEMA_VERSION,
            }),
        }
    }
    fn lead_background_work(&self) -> Result<bool, StorageError> {
        let mut lead = self.lead.lock().map_err(|_| StorageError::Poisoned)?;
        if lead.is_some() {
            return Ok(true);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lead_path)?;
        match file.try_lock() {
            Ok(()) => {
                *lead = Some(file);
                Ok(true)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .conn()?
            .prepare_cached("SELECT value FROM server_meta WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?)
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        self.conn()?
            .prepare_cached(
                "INSERT INTO server_meta (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![name, value])?;
        Ok(())
    }
}

/// 16 random bytes in hex: an erasure's id.
fn random_id() -> Result<String, StorageError> {
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SealError::Random)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKER: &[u8] = b"reflection: I skipped the second glove check";

    fn key(byte: u8) -> Arc<ServerKey> {
        Arc::new(ServerKey::from_bytes(&[byte; 32]).unwrap())
    }

    fn snapshot(doc: &str, bytes: &[u8]) -> DocumentUpdate {
        DocumentUpdate {
            doc: doc.into(),
            expected: None,
            write: DocumentWrite::Snapshot(bytes.to_vec()),
            heads: Vec::new(),
        }
    }

    fn chunk(doc: &str, bytes: &[u8]) -> DocumentUpdate {
        DocumentUpdate {
            doc: doc.into(),
            expected: Some(Vec::new()),
            write: DocumentWrite::Chunk(bytes.to_vec()),
            heads: Vec::new(),
        }
    }

    /// Whether any file in `dir` holds `needle`.
    fn any_file_holds(dir: &Path, needle: &[u8]) -> bool {
        std::fs::read_dir(dir).unwrap().any(|entry| {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
    }

    #[test]
    fn documents_and_sync_states_are_stored_sealed_and_read_back_plain() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("db"), key(1)).unwrap();
        let states = [StateUpdate {
            doc: "events-2026-09".into(),
            state: MARKER.to_vec(),
        }];
        storage
            .commit(
                "ana",
                "phone",
                &[snapshot("events-2026-09", MARKER)],
                &states,
                &[],
            )
            .unwrap();
        storage
            .commit(
                "ana",
                "phone",
                &[chunk("events-2026-09", b"chunk one")],
                &[],
                &[],
            )
            .unwrap();
        storage
            .commit(
                "ana",
                "phone",
                &[chunk("events-2026-09", b"chunk two")],
                &[],
                &[],
            )
            .unwrap();
        let stored = storage.load("ana", "events-2026-09").unwrap().unwrap();
        assert_eq!(stored.snapshot, MARKER);
        assert_eq!(
            stored.chunks,
            vec![b"chunk one".to_vec(), b"chunk two".to_vec()]
        );
        assert_eq!(
            storage
                .sync_state("ana", "phone", "events-2026-09")
                .unwrap(),
            Some(MARKER.to_vec())
        );
        drop(storage);
        assert!(!any_file_holds(dir.path(), MARKER));
        assert!(!any_file_holds(dir.path(), b"chunk one"));
    }

    #[test]
    fn a_store_sealed_with_one_server_key_is_refused_with_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        assert!(!SqliteStorage::is_sealed(&path).unwrap());
        drop(SqliteStorage::open(&path, key(1)).unwrap());
        assert!(SqliteStorage::is_sealed(&path).unwrap());
        assert!(matches!(
            SqliteStorage::open(&path, key(2)),
            Err(StorageError::Sealing(SealError::WrongKey))
        ));
    }

    #[test]
    fn a_store_from_before_sealing_is_sealed_when_it_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            // Schema 0, as every server wrote before sealing: plain bytes.
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch(
                &SCHEMA[..SCHEMA
                    .find("CREATE TABLE IF NOT EXISTS learner_keys")
                    .unwrap()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO documents (learner, name, snapshot, heads) VALUES ('ana', 'events-2026-09', ?1, x'')",
                [MARKER],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO chunks (learner, name, bytes) VALUES ('ana', 'events-2026-09', CAST('plain chunk' AS BLOB))",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO sync_states (learner, device, name, state) VALUES ('ana', 'phone', 'events-2026-09', CAST('plain state' AS BLOB))",
                [],
            )
            .unwrap();
        }
        assert!(any_file_holds(dir.path(), MARKER));
        let storage = SqliteStorage::open(&path, key(1)).unwrap();
        let stored = storage.load("ana", "events-2026-09").unwrap().unwrap();
        assert_eq!(stored.snapshot, MARKER);
        assert_eq!(stored.chunks, vec![b"plain chunk".to_vec()]);
        assert_eq!(
            storage
                .sync_state("ana", "phone", "events-2026-09")
                .unwrap(),
            Some(b"plain state".to_vec())
        );
        drop(storage);
        for plain in [MARKER, b"plain chunk", b"plain state"] {
            assert!(!any_file_holds(dir.path(), plain), "{plain:?}");
        }
        // Opened again, nothing is sealed twice.
        let storage = SqliteStorage::open(&path, key(1)).unwrap();
        assert_eq!(
            storage
                .load("ana", "events-2026-09")
                .unwrap()
                .unwrap()
                .snapshot,
            MARKER
        );
    }

    #[test]
    fn erasure_deletes_the_learner_once_and_refuses_their_writes_after() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("db"), key(1)).unwrap();
        for learner in ["ana", "bob"] {
            storage
                .commit(
                    learner,
                    "phone",
                    &[snapshot("events-2026-09", MARKER)],
                    &[StateUpdate {
                        doc: "events-2026-09".into(),
                        state: b"state".to_vec(),
                    }],
                    &[format!("{learner}-event-1")],
                )
                .unwrap();
        }
        let Erasure::Erased { record, .. } = storage.erase("ana", 1_000).unwrap() else {
            panic!("ana was not erased");
        };
        assert_eq!(
            (
                record.at_ms,
                record.documents,
                record.chunks,
                record.sync_states,
                record.event_ids
            ),
            (1_000, 1, 0, 1, 1)
        );
        assert_eq!(record.erasure.len(), 32);
        assert!(storage.is_erased("ana").unwrap());
        assert!(!storage.is_erased("bob").unwrap());
        assert_eq!(storage.erase("ana", 2_000).unwrap(), Erasure::AlreadyErased);
        assert_eq!(storage.erase("carol", 2_000).unwrap(), Erasure::NeverSeen);
        assert_eq!(storage.erasures().unwrap(), vec![record]);
        assert!(storage.load("ana", "events-2026-09").unwrap().is_none());
        assert!(matches!(
            storage.commit(
                "ana",
                "phone",
                &[snapshot("events-2026-09", b"x")],
                &[],
                &[]
            ),
            Err(StorageError::Erased)
        ));
        assert_eq!(storage.learners().unwrap(), vec!["bob".to_string()]);
        assert_eq!(
            storage
                .load("bob", "events-2026-09")
                .unwrap()
                .unwrap()
                .snapshot,
            MARKER
        );
    }
}
