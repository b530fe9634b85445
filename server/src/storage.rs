//! Where the server keeps learners' documents and per-device sync states.
//!
//! [`SyncStorage`] is the whole contract: list a learner's documents with their heads, load one
//! (a snapshot plus chunks appended since), and commit one exchange's updates atomically. It
//! speaks only of learners, documents, bytes and heads, so a PostgreSQL implementation is
//! three tables and the same statements. [`SqliteStorage`] is the embedded default: one file,
//! with every learner's documents and sync states sealed under a key of their own
//! ([`crate::sealing`]), and erasure by crypto-shredding ([`SyncStorage::erase`]).

use automerge::ChangeHash;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::sealing::SealError;

mod analytics;
mod config;
mod identity;
pub mod postgres;
mod sqlite;
pub use analytics::{OutboxStatement, OutboxStatus, QuarantinedStatement, Settlement};
pub use config::{Migrations, StorageConfig};
pub use identity::{AuditEntry, DeviceRecord, Revocation};
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

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

/// The tables a learner's rows live in, in the order an erasure deletes them: the key first,
/// so from then on no copy of the learner's sealed bytes can be opened.
pub(crate) const LEARNER_TABLES: [&str; 11] = [
    "learner_keys",
    "chunks",
    "documents",
    "sync_states",
    "event_ids",
    "review_queue",
    "records_due",
    "summaries_due",
    "lrs_outbox",
    "devices",
    "learner_revocations",
];

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
    /// Every learner with at least one document (cohort spaces, owned by `cohort:<id>`, are not
    /// learners).
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
    /// Records that `learner` signed in on `device` at `at_ms`, enrolling the device the first
    /// time ([`StorageError::Erased`] for an erased learner; nothing is written then).
    fn enrol_device(&self, learner: &str, device: &str, at_ms: i64) -> Result<(), StorageError>;
    /// The devices of `learner` (`None`: of every learner), by learner and enrolment, at most
    /// `limit`.
    fn devices(&self, learner: Option<&str>, limit: u32)
        -> Result<Vec<DeviceRecord>, StorageError>;
    /// Refuses from now on every token of `learner` on `device` (`None`: on every device)
    /// issued at or before `at_ms`, whichever process checks it ([`StorageError::Erased`] for
    /// an erased learner; nothing is written then).
    fn revoke_tokens(
        &self,
        learner: &str,
        device: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StorageError>;
    /// The revocation times that apply to `learner`'s tokens on `device`.
    fn revocation(&self, learner: &str, device: &str) -> Result<Revocation, StorageError>;
    /// Appends one admin action to the audit log (its learner and target left out if the
    /// learner is erased).
    fn record_admin_action(&self, entry: &AuditEntry) -> Result<(), StorageError>;
    /// The audit log, newest first, at most `limit` entries.
    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError>;
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

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
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
mod tests;
