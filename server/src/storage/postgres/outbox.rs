//! The PostgreSQL side of what the L&D team reads: which learners' records and engagement
//! summaries are out of date (`records_due`, `summaries_due`) and the durable LRS outbox
//! (`lrs_outbox`). Statements are sealed under their learner's key, as in the SQLite store, so
//! an erasure shreds those still waiting with the rest of the learner's data.

use super::{execute, lock_learner, query, PostgresStorage, StorageError};
use crate::sealing::{Place, SealError};
use crate::storage::{OutboxStatement, OutboxStatus, QuarantinedStatement, Settlement};

impl PostgresStorage {
    pub(super) async fn enqueue_async(
        &self,
        learner: &str,
        generation: i64,
        statements: &[(String, Vec<u8>)],
    ) -> Result<u64, StorageError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await?;
        let erased = lock_learner(&tx, &self.key, learner).await?;
        let mut added = 0;
        if !erased && !statements.is_empty() {
            let learner_key = self.keys.get_or_new(&tx, learner).await?;
            for (id, body) in statements {
                let sealed = learner_key.seal(Place::Statement { learner, id }, body)?;
                added += execute(
                    &tx,
                    "INSERT INTO lrs_outbox (id, learner, body) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO NOTHING",
                    &[id, &learner, &sealed],
                )
                .await?;
            }
        }
        execute(
            &tx,
            "DELETE FROM records_due WHERE learner = $1 AND generation = $2",
            &[&learner, &generation],
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    pub(super) async fn outbox_batch_async(
        &self,
        limit: u32,
    ) -> Result<Vec<OutboxStatement>, StorageError> {
        let client = self.db.client().await?;
        let rows = query(
            &client,
            "SELECT id, learner, body, attempts FROM lrs_outbox WHERE state = 'pending'
             ORDER BY seq LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
        let mut keys = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, learner): (String, String) = (row.get(0), row.get(1));
            if !keys.contains_key(&learner) {
                let found = self
                    .keys
                    .get(&client, &learner)
                    .await?
                    .ok_or(SealError::MissingLearnerKey)?;
                keys.insert(learner.clone(), found);
            }
            let place = Place::Statement {
                learner: &learner,
                id: &id,
            };
            let body = keys[&learner].open(place, row.get::<_, &[u8]>(2))?;
            out.push(OutboxStatement {
                attempts: row.get::<_, i64>(3) as u32,
                id,
                learner,
                body,
            });
        }
        Ok(out)
    }

    pub(super) async fn settle_async(
        &self,
        settled: &[(String, Settlement)],
        at_ms: i64,
    ) -> Result<(), StorageError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await?;
        for (id, settlement) in settled {
            let (state, outcome) = settlement.state_and_outcome();
            execute(
                &tx,
                "UPDATE lrs_outbox SET state = $2, outcome = coalesce($3, outcome),
                     settled_ms = CASE WHEN $2 = 'pending' THEN settled_ms ELSE $4 END,
                     attempts = attempts + 1
                 WHERE id = $1 AND state = 'pending'",
                &[id, &state, &outcome, &at_ms],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn status_async(&self, limit: u32) -> Result<OutboxStatus, StorageError> {
        let client = self.db.client().await?;
        let counts = query(
            &client,
            "SELECT count(*) FILTER (WHERE state = 'pending'),
                    count(*) FILTER (WHERE state = 'delivered'),
                    count(*) FILTER (WHERE state = 'delivered' AND outcome = 'conflict'),
                    count(*) FILTER (WHERE state = 'quarantined'),
                    (SELECT count(*) FROM records_due)
             FROM lrs_outbox",
            &[],
        )
        .await?;
        let count = |i: usize| counts.first().map_or(0, |r| r.get::<_, i64>(i)) as u64;
        let quarantine = query(
            &client,
            "SELECT id, learner, coalesce(outcome, ''), coalesce(settled_ms, 0) FROM lrs_outbox
             WHERE state = 'quarantined' ORDER BY seq DESC LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?
        .into_iter()
        .map(|r| QuarantinedStatement {
            statement: r.get(0),
            learner: r.get(1),
            reason: r.get(2),
            at_ms: r.get(3),
        })
        .collect();
        Ok(OutboxStatus {
            pending: count(0),
            delivered: count(1),
            conflicts: count(2),
            quarantined: count(3),
            learners_due: count(4),
            quarantine,
        })
    }

    pub(super) fn due(&self, table: &str, limit: u32) -> Result<Vec<(String, i64)>, StorageError> {
        Ok(self
            .query(
                &format!("SELECT learner, generation FROM {table} ORDER BY learner LIMIT $1"),
                &[&i64::from(limit)],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    pub(super) fn mark_all(&self, table: &str) -> Result<u64, StorageError> {
        self.execute(
            &format!(
                "INSERT INTO {table} (learner, generation)
                 SELECT DISTINCT learner, 1 FROM documents WHERE learner NOT LIKE 'cohort:%'
                 ON CONFLICT (learner) DO UPDATE SET generation = {table}.generation + 1"
            ),
            &[],
        )
    }
}
