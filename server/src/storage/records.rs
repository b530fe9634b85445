//! The SQLite side of learning records: which learners' records are due, and the durable LRS
//! outbox (`records_due`, `lrs_outbox`). Statements are sealed under their learner's key, so an
//! erasure shreds those still waiting with the rest of the learner's data.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{erased, learner_key, learner_key_or_new, StorageError};
use crate::sealing::{Place, SealError, ServerKey};

/// A statement waiting for the LRS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStatement {
    pub id: String,
    pub learner: String,
    /// The statement's JSON.
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// What became of one statement sent to the LRS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The LRS stored it (`200`/`204`), or already held it unchanged.
    Delivered,
    /// The LRS already holds a statement with this id (`409`): statements are immutable, so
    /// it counts as delivered and is never sent again.
    Conflict,
    /// The LRS refused this statement alone (`400`), with its reason: kept aside for the admin,
    /// never blocking the rest.
    Quarantined { reason: String },
    /// The attempt failed as a whole (the LRS down, an error for the batch): still pending.
    Attempted,
}

/// The outbox at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxStatus {
    pub pending: u64,
    pub delivered: u64,
    /// Delivered as conflicts: the LRS already held another statement with the id.
    pub conflicts: u64,
    pub quarantined: u64,
    /// Learners whose records are still to be made.
    pub learners_due: u64,
    pub quarantine: Vec<QuarantinedStatement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedStatement {
    pub statement: String,
    pub learner: String,
    pub reason: String,
    pub at_ms: i64,
}

/// Marks `learner`'s records and summary due, inside the commit that added their events.
pub(super) fn mark_due(tx: &Transaction<'_>, learner: &str) -> rusqlite::Result<()> {
    for table in ["records_due", "summaries_due"] {
        tx.prepare_cached(&format!(
            "INSERT INTO {table} (learner, generation) VALUES (?1, 1)
             ON CONFLICT (learner) DO UPDATE SET generation = generation + 1"
        ))?
        .execute([learner])?;
    }
    Ok(())
}

pub(super) fn summaries_due(
    conn: &Connection,
    limit: u32,
) -> Result<Vec<(String, i64)>, StorageError> {
    let rows = conn
        .prepare_cached("SELECT learner, generation FROM summaries_due ORDER BY learner LIMIT ?1")?
        .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn mark_all_summaries_due(conn: &mut Connection) -> Result<u64, StorageError> {
    let marked = conn.execute(
        "INSERT INTO summaries_due (learner, generation)
         SELECT DISTINCT learner, 1 FROM documents WHERE true
         ON CONFLICT (learner) DO UPDATE SET generation = generation + 1",
        [],
    )?;
    Ok(marked as u64)
}

pub(super) fn due(conn: &Connection, limit: u32) -> Result<Vec<(String, i64)>, StorageError> {
    let rows = conn
        .prepare_cached("SELECT learner, generation FROM records_due ORDER BY learner LIMIT ?1")?
        .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Marks every learner held, the first time only: later commits mark their own learners, so
/// a restart does not remake every learner's statements.
pub(super) fn mark_all_due(conn: &mut Connection) -> Result<u64, StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let done = tx.execute(
        "INSERT INTO server_meta (name, value) VALUES ('records_backfilled', x'01')
         ON CONFLICT DO NOTHING",
        [],
    )?;
    if done == 0 {
        return Ok(0);
    }
    let marked = tx.execute(
        "INSERT INTO records_due (learner, generation)
         SELECT DISTINCT learner, 1 FROM documents WHERE true
         ON CONFLICT (learner) DO UPDATE SET generation = generation + 1",
        [],
    )?;
    tx.commit()?;
    Ok(marked as u64)
}

pub(super) fn enqueue(
    conn: &mut Connection,
    key: &ServerKey,
    learner: &str,
    generation: i64,
    statements: &[(String, Vec<u8>)],
) -> Result<u64, StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut added = 0;
    if !erased(&tx, key, learner)? && !statements.is_empty() {
        let learner_key = learner_key_or_new(&tx, key, learner)?;
        for (id, body) in statements {
            let known: Option<i64> = tx
                .prepare_cached("SELECT seq FROM lrs_outbox WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            if known.is_some() {
                continue;
            }
            let sealed = learner_key.seal(Place::Statement { learner, id }, body)?;
            tx.prepare_cached("INSERT INTO lrs_outbox (id, learner, body) VALUES (?1, ?2, ?3)")?
                .execute(params![id, learner, sealed])?;
            added += 1;
        }
    }
    tx.prepare_cached("DELETE FROM records_due WHERE learner = ?1 AND generation = ?2")?
        .execute(params![learner, generation])?;
    tx.commit()?;
    Ok(added)
}

pub(super) fn batch(
    conn: &Connection,
    key: &ServerKey,
    limit: u32,
) -> Result<Vec<OutboxStatement>, StorageError> {
    let rows: Vec<(String, String, Vec<u8>, u32)> = conn
        .prepare_cached(
            "SELECT id, learner, body, attempts FROM lrs_outbox WHERE state = 'pending'
             ORDER BY seq LIMIT ?1",
        )?
        .query_map([limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut keys = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (id, learner, sealed, attempts) in rows {
        if !keys.contains_key(&learner) {
            let found = learner_key(conn, key, &learner)?.ok_or(SealError::MissingLearnerKey)?;
            keys.insert(learner.clone(), found);
        }
        let body = keys[&learner].open(
            Place::Statement {
                learner: &learner,
                id: &id,
            },
            &sealed,
        )?;
        out.push(OutboxStatement {
            id,
            learner,
            body,
            attempts,
        });
    }
    Ok(out)
}

pub(super) fn settle(
    conn: &mut Connection,
    settled: &[(String, Settlement)],
    at_ms: i64,
) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (id, settlement) in settled {
        let (state, outcome) = match settlement {
            Settlement::Delivered => ("delivered", Some("stored")),
            Settlement::Conflict => ("delivered", Some("conflict")),
            Settlement::Quarantined { reason } => ("quarantined", Some(reason.as_str())),
            Settlement::Attempted => ("pending", None),
        };
        tx.prepare_cached(
            "UPDATE lrs_outbox SET state = ?2, outcome = coalesce(?3, outcome),
                 settled_ms = CASE WHEN ?2 = 'pending' THEN settled_ms ELSE ?4 END,
                 attempts = attempts + 1
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id, state, outcome, at_ms])?;
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn status(conn: &Connection, limit: u32) -> Result<OutboxStatus, StorageError> {
    let count = |sql: &str| -> Result<u64, StorageError> {
        Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
    };
    let quarantine = conn
        .prepare_cached(
            "SELECT id, learner, coalesce(outcome, ''), coalesce(settled_ms, 0) FROM lrs_outbox
             WHERE state = 'quarantined' ORDER BY seq DESC LIMIT ?1",
        )?
        .query_map([limit], |r| {
            Ok(QuarantinedStatement {
                statement: r.get(0)?,
                learner: r.get(1)?,
                reason: r.get(2)?,
                at_ms: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(OutboxStatus {
        pending: count("SELECT count(*) FROM lrs_outbox WHERE state = 'pending'")?,
        delivered: count("SELECT count(*) FROM lrs_outbox WHERE state = 'delivered'")?,
        conflicts: count(
            "SELECT count(*) FROM lrs_outbox WHERE state = 'delivered' AND outcome = 'conflict'",
        )?,
        quarantined: count("SELECT count(*) FROM lrs_outbox WHERE state = 'quarantined'")?,
        learners_due: count("SELECT count(*) FROM records_due")?,
        quarantine,
    })
}
