//! The embedded implementation of [`SyncStorage`]: one SQLite file, the default. Its
//! durability, sealing and deletion are told on [`SqliteStorage`].

use std::path::Path;
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension};
use tidbit_core::sync::exchange::{pack_heads, unpack_heads};

use super::analytics;
use super::identity;
use super::{
    random_id, sorted, AuditEntry, DeviceRecord, DocumentUpdate, DocumentWrite, Erasure,
    ErasureRecord, OutboxStatement, OutboxStatus, QueuedReview, ReviewChange, Revocation,
    Settlement, StateUpdate, StorageError, StoredDocument, SyncStorage,
};
use crate::sealing::{nonce_of, LearnerKey, Place, SealError, ServerKey};

mod schema;

pub(super) use schema::SCHEMA;
use schema::{seal_store, SCHEMA_VERSION};

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

/// The learner's data key, if they have one.
pub(super) fn learner_key(
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
pub(super) fn learner_key_or_new(
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

pub(super) fn erased(
    conn: &Connection,
    key: &ServerKey,
    learner: &str,
) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM erased_learners WHERE tombstone = ?1")?
        .query_row([key.tombstone(learner)], |r| r.get::<_, i64>(0))?
        > 0)
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
            .prepare("SELECT DISTINCT learner FROM documents WHERE learner NOT LIKE 'cohort:%' ORDER BY learner")?
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
        // Devices and revocations count: a learner who only signed in is held too.
        let keys = count("learner_keys")? + count("devices")? + count("learner_revocations")?;
        if keys + record.documents + record.chunks + record.sync_states + record.event_ids == 0 {
            return Ok(Erasure::NeverSeen);
        }
        // The key first: from here on, no copy of the learner's sealed bytes can be opened.
        for table in super::LEARNER_TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE learner = ?1"),
                [learner],
            )?;
        }
        tx.execute(identity::FORGET_IN_AUDIT_LOG, [learner])?;
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

    fn enrol_device(&self, learner: &str, device: &str, at_ms: i64) -> Result<(), StorageError> {
        identity::enrol_device(&mut *self.conn()?, &self.key, learner, device, at_ms)
    }

    fn devices(
        &self,
        learner: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeviceRecord>, StorageError> {
        identity::devices(&*self.conn()?, learner, limit)
    }

    fn revoke_tokens(
        &self,
        learner: &str,
        device: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        identity::revoke(&mut *self.conn()?, &self.key, learner, device, at_ms)
    }

    fn revocation(&self, learner: &str, device: &str) -> Result<Revocation, StorageError> {
        identity::revocation(&*self.conn()?, learner, device)
    }

    fn record_admin_action(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        identity::record_action(&*self.conn()?, &self.key, entry)
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        identity::audit_log(&*self.conn()?, limit)
    }
}
