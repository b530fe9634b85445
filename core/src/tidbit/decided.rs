//! Decisions taken and not yet written.
//!
//! Every automated decision is recorded with its reason, inputs and output (`decisions()`).
//! The next activity is decided before each answer, and a transaction of its own for its row
//! would cost the learning loop a commit per answer. So a recommendation's decision waits in
//! memory and is written in the same transaction as the learner's next recorded event, which
//! is what acts on it: a decision an answer followed is always stored with that answer, or
//! neither is. Waiting decisions are also written before decisions are read, before nudge
//! decisions (so rows stay in the order taken), when [`MAX_WAITING`] wait, and when the
//! facade is dropped. A killed process loses only decisions that nothing acted on.

use std::sync::Mutex;

use rusqlite::{params, Connection};

use super::{Tidbit, TidbitError};

/// Decisions kept waiting at most; one more writes them all.
pub(super) const MAX_WAITING: usize = 16;

/// One row of `decisions`, in the clear (sealed as it is written).
#[derive(Debug, Clone)]
pub(super) struct DecisionRow {
    pub at_ms: i64,
    pub kind: String,
    pub reason: String,
    pub inputs: String,
    pub output: String,
}

/// The decisions waiting to be written, oldest first.
#[derive(Debug, Default)]
pub(super) struct Waiting(Mutex<Vec<DecisionRow>>);

impl Waiting {
    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<DecisionRow>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn push(&self, row: DecisionRow) -> usize {
        let mut rows = self.rows();
        rows.push(row);
        rows.len()
    }

    /// Inserts the waiting rows through `conn` (inside the caller's transaction); returns how
    /// many, to [`Waiting::written`] once that transaction commits.
    pub(super) fn write(&self, conn: &Connection) -> Result<usize, TidbitError> {
        let rows = self.rows();
        insert(conn, &rows)?;
        Ok(rows.len())
    }

    /// The first `count` rows were committed.
    pub(super) fn written(&self, count: usize) {
        let mut rows = self.rows();
        let count = count.min(rows.len());
        rows.drain(..count);
    }

    /// Forgets the waiting rows (the store is being erased).
    pub(super) fn discard(&self) {
        self.rows().clear();
    }
}

/// Inserts `rows` into `decisions`, sealed, through `conn` (inside the caller's transaction).
pub(super) fn insert(conn: &Connection, rows: &[DecisionRow]) -> Result<(), TidbitError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO decisions (at_ms, kind, reason, inputs, output)
         VALUES (?1, ?2, tidbit_seal('decision', ?3), tidbit_seal('decision', ?4),
                 tidbit_seal('decision', ?5))",
    )?;
    for row in rows {
        insert.execute(params![
            row.at_ms, row.kind, row.reason, row.inputs, row.output
        ])?;
    }
    Ok(())
}

impl Tidbit {
    /// Writes the waiting decisions in a transaction of their own.
    pub(super) fn write_waiting_decisions(&self) -> Result<(), TidbitError> {
        if self.decided.rows().is_empty() {
            return Ok(());
        }
        let conn = self.store.conn();
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        let count = self.decided.write(conn)?;
        tx.commit()?;
        self.decided.written(count);
        // Rows the memo does not read, written on this connection.
        self.memo_follows_own_write()
    }
}

impl Drop for Tidbit {
    fn drop(&mut self) {
        // Nothing to report to: a decision that cannot be written now is lost, as on a kill.
        let _ = self.write_waiting_decisions();
    }
}
