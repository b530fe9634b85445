//! Moving a server from its SQLite file to PostgreSQL (`tidbit serve copy`), verified.
//!
//! The copy ([`crate::storage::postgres::Database::copy_from_sqlite`]) moves every row as
//! stored; then both stores are opened with the server key and compared: the rows of every table
//! are counted on both sides, and every learner's digest ([`learner_digest`]: each document's
//! name and heads, and every event the documents hold, as the exchange reads them) must be the
//! same. Reading the events opens every sealed value and loads every Automerge document, so a
//! digest that matches shows the copy is usable, not only that bytes moved.

use std::path::Path;
use std::sync::Arc;

use ring::digest;
use serde::Serialize;

use crate::sealing::ServerKey;
use crate::storage::postgres::Database;
use crate::storage::{SqliteStorage, SyncStorage};
use crate::{ServerError, DATABASE_FILE};

/// What a copy moved and how it was verified.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    /// Rows copied per table.
    pub tables: Vec<(String, u64)>,
    /// Learners whose digests were compared (all of them matched, or the copy is an error).
    pub learners: u64,
    /// Every learner's digest, in learner order, hashed once more: one value to compare.
    pub digest: String,
}

/// A learner's digest: SHA-256 over each document's name and heads and every event the
/// documents hold, in the order the server reads them.
pub fn learner_digest(storage: &dyn SyncStorage, learner: &str) -> Result<String, ServerError> {
    let mut hash = digest::Context::new(&digest::SHA256);
    for (name, heads) in storage.documents(learner)? {
        hash.update(name.as_bytes());
        for head in heads {
            hash.update(head.as_ref());
        }
    }
    let events = crate::exchange::learner_events(storage, learner)
        .map_err(|e| ServerError::Copy(e.to_string()))?;
    for event in events {
        let json = serde_json::to_vec(&event).map_err(|e| ServerError::Copy(e.to_string()))?;
        hash.update(&json);
    }
    Ok(hex::encode(hash.finish()))
}

/// Copies the SQLite store of `data_dir` into the PostgreSQL database at `url` (migrated here,
/// and empty), then verifies it; `key` is the server key both are sealed with.
pub fn copy_sqlite_to_postgres(
    data_dir: &Path,
    url: &str,
    key: Arc<ServerKey>,
) -> Result<CopyReport, ServerError> {
    let sqlite_path = data_dir.join(DATABASE_FILE);
    if !sqlite_path.is_file() {
        return Err(ServerError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} holds no server store", data_dir.display()),
        )));
    }
    // Opening it checks the key (and seals a store from before sealing) before anything moves.
    let source = SqliteStorage::open(&sqlite_path, key.clone())?;
    let target = Database::connect(url, 4)?;
    target.migrate()?;
    let tables = target.copy_from_sqlite(&sqlite_path)?;
    let counted = target.table_counts()?;
    if counted != tables {
        return Err(ServerError::Copy(format!(
            "the copy holds other row counts than the source: {counted:?} against {tables:?}"
        )));
    }
    let target = target.open(key)?;
    let learners = source.learners()?;
    let mut all = digest::Context::new(&digest::SHA256);
    for learner in &learners {
        let before = learner_digest(&source, learner)?;
        let after = learner_digest(&target, learner)?;
        if before != after {
            return Err(ServerError::Copy(format!(
                "a learner's data differs after the copy (digest {before} against {after}): do not use the copy; drop the database and copy again"
            )));
        }
        all.update(before.as_bytes());
    }
    Ok(CopyReport {
        tables,
        learners: learners.len() as u64,
        digest: hex::encode(all.finish()),
    })
}
