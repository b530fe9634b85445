//! The SQLite store's schema, and what opening a store does first: checks the server key
//! against the store's key check and seals in place a store written before sealing (schema 0).

use rusqlite::{params, Connection, OptionalExtension};

use super::{learner_key_or_new, StorageError};
use crate::sealing::{nonce_of, Place, ServerKey};

/// The schema version this build writes: 1, learners' data sealed.
pub(super) const SCHEMA_VERSION: i64 = 1;

pub(in crate::storage) const SCHEMA: &str = r#"
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
-- Identity (see storage/identity.rs): the devices learners signed in on, and the times before
-- which a device's or a learner's tokens are refused.
CREATE TABLE IF NOT EXISTS devices (
    learner TEXT NOT NULL,
    device TEXT NOT NULL,
    enrolled_ms INTEGER NOT NULL,
    signed_in_ms INTEGER,
    revoked_ms INTEGER,
    PRIMARY KEY (learner, device)
);
CREATE TABLE IF NOT EXISTS learner_revocations (
    learner TEXT PRIMARY KEY,
    revoked_ms INTEGER NOT NULL
);
-- Every admin request with its actor and role.
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    learner TEXT,
    target TEXT,
    status INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_learner ON audit_log (learner);
"#;

/// Checks the server key against the store's key check (writing one into a new store), and
/// seals a store of schema 0 in place.
pub(super) fn seal_store(conn: &mut Connection, key: &ServerKey) -> Result<(), StorageError> {
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
