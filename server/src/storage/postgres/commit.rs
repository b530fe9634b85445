//! The PostgreSQL write path: an exchange's commit (documents, sync states, event ids and
//! reviews in one transaction, holding the learner's advisory lock, after the stored heads are
//! compared with those the exchange was prepared from) and a learner's erasure.

use std::sync::Arc;

use tidbit_core::sync::exchange::{pack_heads, unpack_heads};

use super::{execute, lock_learner, query, PostgresStorage, StorageError};
use crate::sealing::{nonce_of, LearnerKey, Place, SealError};
use crate::storage::{
    random_id, sorted, DocumentUpdate, DocumentWrite, Erasure, ErasureRecord, ReviewChange,
    StateUpdate,
};

impl PostgresStorage {
    async fn write_documents(
        tx: &deadpool_postgres::Transaction<'_>,
        learner: &str,
        documents: &[DocumentUpdate],
        learner_key: Option<&Arc<LearnerKey>>,
    ) -> Result<(), StorageError> {
        let learner_key = || learner_key.ok_or(SealError::MissingLearnerKey);
        for update in documents {
            let heads = pack_heads(&update.heads);
            let doc = update.doc.as_str();
            match &update.write {
                DocumentWrite::Snapshot(snapshot) => {
                    let snapshot =
                        learner_key()?.seal(Place::Snapshot { learner, doc }, snapshot)?;
                    execute(
                        tx,
                        "INSERT INTO documents (learner, name, snapshot, heads) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (learner, name)
                         DO UPDATE SET snapshot = excluded.snapshot, heads = excluded.heads",
                        &[&learner, &doc, &snapshot, &heads],
                    )
                    .await?;
                    execute(
                        tx,
                        "DELETE FROM chunks WHERE learner = $1 AND name = $2",
                        &[&learner, &doc],
                    )
                    .await?;
                }
                DocumentWrite::Chunk(chunk) => {
                    let row = query(
                        tx,
                        "SELECT snapshot,
                                (SELECT count(*) FROM chunks WHERE learner = $1 AND name = $2)
                         FROM documents WHERE learner = $1 AND name = $2",
                        &[&learner, &doc],
                    )
                    .await?;
                    let row = row.first().ok_or(StorageError::Conflict {
                        doc: update.doc.clone(),
                    })?;
                    let snapshot: Vec<u8> = row.get(0);
                    let index: i64 = row.get(1);
                    let place = Place::Chunk {
                        learner,
                        doc,
                        index: index as u64,
                        snapshot_nonce: nonce_of(&snapshot),
                    };
                    let chunk = learner_key()?.seal(place, chunk)?;
                    execute(
                        tx,
                        "INSERT INTO chunks (learner, name, bytes) VALUES ($1, $2, $3)",
                        &[&learner, &doc, &chunk],
                    )
                    .await?;
                    execute(
                        tx,
                        "UPDATE documents SET heads = $3 WHERE learner = $1 AND name = $2",
                        &[&learner, &doc, &heads],
                    )
                    .await?;
                }
                DocumentWrite::Nothing => {}
            }
        }
        Ok(())
    }

    pub(super) async fn commit_async(
        &self,
        learner: &str,
        device: &str,
        documents: &[DocumentUpdate],
        states: &[StateUpdate],
        new_events: &[String],
        reviews: &[ReviewChange],
    ) -> Result<(), StorageError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await?;
        // Checked holding the learner's lock: an erasure by another process is never followed
        // by a write an exchange had prepared before it.
        if lock_learner(&tx, &self.key, learner).await? {
            return Err(StorageError::Erased);
        }
        for update in documents {
            let stored = query(
                &tx,
                "SELECT heads FROM documents WHERE learner = $1 AND name = $2",
                &[&learner, &update.doc],
            )
            .await?;
            let stored = stored
                .first()
                .map(|row| sorted(unpack_heads(row.get::<_, &[u8]>(0))));
            if stored != update.expected.as_ref().map(|h| sorted(h.clone())) {
                return Err(StorageError::Conflict {
                    doc: update.doc.clone(),
                });
            }
        }
        for id in new_events {
            let inserted = execute(
                &tx,
                "INSERT INTO event_ids (learner, id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&learner, id],
            )
            .await?;
            if inserted == 0 {
                return Err(StorageError::DuplicateEvent { id: id.clone() });
            }
        }
        if !new_events.is_empty() {
            for table in ["records_due", "summaries_due"] {
                execute(
                    &tx,
                    &format!(
                        "INSERT INTO {table} (learner, generation) VALUES ($1, 1)
                         ON CONFLICT (learner) DO UPDATE SET generation = {table}.generation + 1"
                    ),
                    &[&learner],
                )
                .await?;
            }
        }
        let needs_key = !states.is_empty()
            || documents
                .iter()
                .any(|u| !matches!(u.write, DocumentWrite::Nothing));
        let learner_key = match needs_key {
            true => Some(self.keys.get_or_new(&tx, learner).await?),
            false => None,
        };
        Self::write_documents(&tx, learner, documents, learner_key.as_ref()).await?;
        for update in states {
            let place = Place::SyncState {
                learner,
                device,
                doc: &update.doc,
            };
            let key = learner_key.as_ref().ok_or(SealError::MissingLearnerKey)?;
            let state = key.seal(place, &update.state)?;
            execute(
                &tx,
                "INSERT INTO sync_states (learner, device, name, state) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (learner, device, name) DO UPDATE SET state = excluded.state",
                &[&learner, &device, &update.doc, &state],
            )
            .await?;
        }
        for change in reviews {
            match change {
                ReviewChange::Requested { review, at_ms } => {
                    execute(
                        &tx,
                        "INSERT INTO review_queue (learner, review, requested_ms)
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        &[&learner, review, at_ms],
                    )
                    .await?
                }
                ReviewChange::Decided { review, at_ms } => {
                    execute(
                        &tx,
                        "UPDATE review_queue SET decided_ms = $3
                         WHERE learner = $1 AND review = $2 AND decided_ms IS NULL",
                        &[&learner, review, at_ms],
                    )
                    .await?
                }
            };
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn erase_async(
        &self,
        learner: &str,
        at_ms: i64,
    ) -> Result<Erasure, StorageError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await?;
        if lock_learner(&tx, &self.key, learner).await? {
            return Ok(Erasure::AlreadyErased);
        }
        let mut counts = Vec::new();
        for table in [
            "documents",
            "chunks",
            "sync_states",
            "event_ids",
            "learner_keys",
            "devices",
            "learner_revocations",
        ] {
            let rows = query(
                &tx,
                &format!("SELECT count(*) FROM {table} WHERE learner = $1"),
                &[&learner],
            )
            .await?;
            counts.push(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64);
        }
        if counts.iter().all(|&n| n == 0) {
            return Ok(Erasure::NeverSeen);
        }
        let record = ErasureRecord {
            erasure: random_id()?,
            at_ms,
            documents: counts[0],
            chunks: counts[1],
            sync_states: counts[2],
            event_ids: counts[3],
        };
        for table in crate::storage::LEARNER_TABLES {
            execute(
                &tx,
                &format!("DELETE FROM {table} WHERE learner = $1"),
                &[&learner],
            )
            .await?;
        }
        execute(
            &tx,
            "UPDATE audit_log SET learner = NULL, target = NULL WHERE learner = $1",
            &[&learner],
        )
        .await?;
        execute(
            &tx,
            "INSERT INTO erased_learners (tombstone) VALUES ($1)",
            &[&self.key.tombstone(learner)],
        )
        .await?;
        execute(
            &tx,
            "INSERT INTO erasures (id, at_ms, documents, chunks, sync_states, event_ids)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &record.erasure,
                &record.at_ms,
                &(record.documents as i64),
                &(record.chunks as i64),
                &(record.sync_states as i64),
                &(record.event_ids as i64),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Erasure::Erased {
            record,
            // PostgreSQL keeps deleted row versions until vacuum reuses their space; what they
            // hold was sealed under the key just deleted.
            wal_truncated: false,
        })
    }
}
