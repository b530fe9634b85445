//! The SQLite side of what the L&D team reads: which learners' records and engagement
//! summaries are out of date (`records_due`, `summaries_due`), the durable LRS outbox
//! (`lrs_outbox`) and the experiments' definitions (`experiments`). Statements are sealed under
//! their learner's key, so an erasure shreds those still waiting with the rest of the learner's
//! data.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::sqlite::{erased, learner_key, learner_key_or_new};
use super::StorageError;
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

impl Settlement {
    /// The outbox row's `state` and `outcome` it leads to (`None`: the outcome stays).
    pub(super) fn state_and_outcome(&self) -> (&'static str, Option<&str>) {
        match self {
            Settlement::Delivered => ("delivered", Some("stored")),
            Settlement::Conflict => ("delivered", Some("conflict")),
            Settlement::Quarantined { reason } => ("quarantined", Some(reason.as_str())),
            Settlement::Attempted => ("pending", None),
        }
    }
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

/// The two sets of marks a commit sets: learners whose statements, and whose engagement
/// summaries, are out of date.
#[derive(Debug, Clone, Copy)]
pub(super) enum Marks {
    Records,
    Summaries,
}

impl Marks {
    const ALL: [Marks; 2] = [Marks::Records, Marks::Summaries];

    fn table(self) -> &'static str {
        match self {
            Marks::Records => "records_due",
            Marks::Summaries => "summaries_due",
        }
    }
}

/// Marks `learner`'s records and summary due, inside the commit that added their events.
pub(super) fn mark_due(tx: &Transaction<'_>, learner: &str) -> rusqlite::Result<()> {
    for marks in Marks::ALL {
        tx.prepare_cached(&format!(
            "INSERT INTO {} (learner, generation) VALUES (?1, 1)
             ON CONFLICT (learner) DO UPDATE SET generation = generation + 1",
            marks.table()
        ))?
        .execute([learner])?;
    }
    Ok(())
}

/// Up to `limit` marked learners with their marks' generations.
pub(super) fn due(
    conn: &Connection,
    marks: Marks,
    limit: u32,
) -> Result<Vec<(String, i64)>, StorageError> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT learner, generation FROM {} ORDER BY learner LIMIT ?1",
            marks.table()
        ))?
        .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Clears `learner`'s mark if it is still `generation` (a later commit's mark stays).
pub(super) fn clear(
    conn: &Connection,
    marks: Marks,
    learner: &str,
    generation: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM {} WHERE learner = ?1 AND generation = ?2",
        marks.table()
    ))?
    .execute(params![learner, generation])?;
    Ok(())
}

/// Marks every learner held.
pub(super) fn mark_all(conn: &Connection, marks: Marks) -> rusqlite::Result<u64> {
    let marked = conn.execute(
        &format!(
            "INSERT INTO {} (learner, generation)
             SELECT DISTINCT learner, 1 FROM documents WHERE learner NOT LIKE 'cohort:%'
             ON CONFLICT (learner) DO UPDATE SET generation = generation + 1",
            marks.table()
        ),
        [],
    )?;
    Ok(marked as u64)
}

/// Marks every learner's records, the first time only: later commits mark their own learners,
/// so a restart does not remake every learner's statements.
pub(super) fn mark_all_records_once(conn: &mut Connection) -> Result<u64, StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let first = tx.execute(
        "INSERT INTO server_meta (name, value) VALUES ('records_backfilled', x'01')
         ON CONFLICT DO NOTHING",
        [],
    )?;
    let marked = match first {
        0 => 0,
        _ => mark_all(&tx, Marks::Records)?,
    };
    tx.commit()?;
    Ok(marked)
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
    clear(&tx, Marks::Records, learner, generation)?;
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
        let (state, outcome) = settlement.state_and_outcome();
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

pub(super) fn put_experiment(
    conn: &Connection,
    id: &str,
    definition: &str,
    at_ms: i64,
) -> rusqlite::Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO experiments (id, definition, created_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, definition, at_ms])?;
    Ok(added == 1)
}

pub(super) fn experiments(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT definition FROM experiments ORDER BY created_ms, id")?
        .query_map([], |r| r.get(0))?
        .collect()
}
