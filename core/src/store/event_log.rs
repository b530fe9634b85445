//! The event log: the one owner of the learner's events on this device.
//!
//! Every event, this device's own and those a sync brings in, enters through here, and every
//! read of the log in its total order ([`Event::order_key`]) goes through here. Each event is
//! kept twice, for two jobs, always in the same SQLite transaction as the projections it
//! changes:
//! - the learner's **Automerge documents** (`sync_documents`, `sync_chunks`, written through
//!   [`LocalDocuments`]) are the replicated record: what devices and the server exchange and
//!   merge, and what a new device bootstraps from. They are the truth *between* devices;
//! - the **`events` table** is this device's index of the same events: each decoded once, sealed
//!   under its id, keyed by id (so an event that arrives twice is stored once) and ordered for
//!   replay and queries. It is the truth *on* the device: projections are derived from it, and
//!   a replay reads it, because decoding every document again would be far slower.
//!
//! The two never disagree: [`EventLog::append`] writes a new event to both, and a received event
//! is stored only after its document accepted it (see [`crate::tidbit::SyncSession`]). The one
//! exception is a replica that never syncs, such as an L&D report's store filled by
//! `Tidbit::replay_events`: it holds rows only. What must never happen here: an event written to
//! one copy of a syncing store and not the other, an event edited or deleted, or an event id
//! made anywhere else.

use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::events::{Event, EventKind};
use crate::sync::documents::period_of;
use crate::sync::local::{LocalDocuments, LocalError};

/// The `course` column under which the event log files nudge events (no course id can be this).
pub const NUDGE_EVENTS_COURSE: &str = "*nudge*";

#[derive(Debug, thiserror::Error)]
pub enum EventLogError {
    #[error("database error in the event log: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Documents(#[from] LocalError),
    #[error("event {id} is unreadable ({message}): rebuild the store by syncing with a fresh one")]
    Unreadable { id: String, message: String },
}

/// This device's writer of events, and the learner's documents it writes them into.
pub struct EventLog {
    device: String,
    documents: LocalDocuments,
    /// The sequence of this incarnation's next event. An id is derived from the device, the
    /// incarnation and the sequence, and every process writes under a new random incarnation,
    /// so the count starts at 1 in each and is never stored (as cohort entries' sequences).
    next_sequence: u64,
}

impl EventLog {
    /// The log of `device`, under a fresh incarnation (see [`LocalDocuments`]).
    pub fn new(device: &str) -> Result<EventLog, EventLogError> {
        Ok(EventLog {
            device: device.to_string(),
            documents: LocalDocuments::new()?,
            next_sequence: 1,
        })
    }

    /// The learner's Automerge documents as this process holds them (for a sync session).
    pub fn documents(&mut self) -> &mut LocalDocuments {
        &mut self.documents
    }

    /// Appends a new event of this device, dated `now_ms` (or a millisecond after the latest
    /// event applied here, if the clock is behind it), to the `events` table and to its period
    /// document, inside the caller's transaction. If the transaction does not commit, the caller
    /// calls [`EventLog::discard`].
    pub fn append(
        &mut self,
        tx: &Transaction<'_>,
        now_ms: i64,
        kind: EventKind,
    ) -> Result<Event, EventLogError> {
        // Taken even if the transaction rolls back: a sequence is never used twice.
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        // A new event comes after every event applied here, this device's and those synced
        // from others, so applying it alone gives what a replay in the total order gives. The
        // server keeps event times within a day of its clock.
        let at_ms = match latest_order_key(tx)? {
            Some((latest_ms, _, _)) => now_ms.max(latest_ms.saturating_add(1)),
            None => now_ms,
        };
        let event = Event {
            id: Event::make_id(&self.device, self.documents.incarnation(), sequence),
            at_ms,
            device: self.device.clone(),
            kind,
        };
        insert(tx, &event)?;
        if let Err(error) = self.documents.record(tx, sequence, &event) {
            self.discard(&event);
            return Err(error.into());
        }
        Ok(event)
    }

    /// Forgets what [`EventLog::append`] left in memory for `event` after its transaction
    /// rolled back: the next use of its document reloads what the store holds.
    pub fn discard(&mut self, event: &Event) {
        self.documents.forget(&period_of(event.at_ms));
    }
}

/// Stores an event a peer sent, once its document has accepted it: true if it was new, false if
/// an event with its id is already stored.
pub fn insert_received(conn: &Connection, event: &Event) -> Result<bool, EventLogError> {
    insert(conn, event)
}

/// True if the stored event with `event`'s id is `event` itself.
pub fn same_as_stored(conn: &Connection, event: &Event) -> Result<bool, EventLogError> {
    let body: String = conn
        .prepare_cached("SELECT tidbit_open(id, body) FROM events WHERE id = ?1")?
        .query_row([&event.id], |r| r.get(0))?;
    Ok(decode(&event.id, &body)? == *event)
}

/// The stored event with id `id`, if any.
pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Event>, EventLogError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT tidbit_open(id, body) FROM events WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    body.map(|body| decode(id, &body)).transpose()
}

/// The events of `kinds` (by [`EventKind::name`]) in the total order.
pub fn of_kinds(conn: &Connection, kinds: &[&str]) -> Result<Vec<Event>, EventLogError> {
    let mut events = Vec::new();
    let mut statement =
        conn.prepare_cached("SELECT id, tidbit_open(id, body) FROM events WHERE kind = ?1")?;
    for kind in kinds {
        let rows: Vec<(String, String)> = statement
            .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, body) in rows {
            events.push(decode(&id, &body)?);
        }
    }
    events.sort_by(|a: &Event, b: &Event| a.order_key().cmp(&b.order_key()));
    Ok(events)
}

/// The last event in the total order, if any: `(at_ms, device, id)`.
pub fn latest_order_key(conn: &Connection) -> rusqlite::Result<Option<(i64, String, String)>> {
    conn.prepare_cached(
        "SELECT at_ms, device, id FROM events ORDER BY at_ms DESC, device DESC, id DESC LIMIT 1",
    )?
    .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .optional()
}

/// Calls `apply` with every event in the total order, stopping at its first error.
pub fn for_each_in_order<E: From<EventLogError>>(
    conn: &Connection,
    mut apply: impl FnMut(Event) -> Result<(), E>,
) -> Result<u64, E> {
    let mut statement = conn
        .prepare("SELECT id, tidbit_open(id, body) FROM events ORDER BY at_ms, device, id")
        .map_err(EventLogError::from)?;
    let mut rows = statement.query([]).map_err(EventLogError::from)?;
    let mut count = 0;
    while let Some(row) = rows.next().map_err(EventLogError::from)? {
        let body = row
            .get_ref(1)
            .and_then(|v| Ok(v.as_str()?))
            .map_err(EventLogError::from)?;
        // The id is read only to name an event that does not decode.
        let event = serde_json::from_str(body).map_err(|e| EventLogError::Unreadable {
            id: row.get(0).unwrap_or_default(),
            message: e.to_string(),
        })?;
        apply(event)?;
        count += 1;
    }
    Ok(count)
}

/// Every event in the total order.
pub fn all_in_order(conn: &Connection) -> Result<Vec<Event>, EventLogError> {
    let mut events = Vec::new();
    for_each_in_order(conn, |event| {
        events.push(event);
        Ok::<_, EventLogError>(())
    })?;
    Ok(events)
}

/// The nudge events (interventions, nudge outcomes, push tokens) in the total order.
pub fn nudge_events(conn: &Connection) -> Result<Vec<Event>, EventLogError> {
    let rows: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT id, tidbit_open(id, body) FROM events WHERE course = ?1
             ORDER BY at_ms, device, id",
        )?
        .query_map([NUDGE_EVENTS_COURSE], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.iter().map(|(id, body)| decode(id, body)).collect()
}

/// One recorded answer's grade, for fitting FSRS parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GradedAnswer {
    pub course: String,
    pub step: String,
    pub at_ms: i64,
    /// The grade as recorded (`again`, `hard`, `good`, `easy`).
    pub grade: String,
}

/// Calls `each` with every recorded answer, card by card (course, step) and in the log's total
/// order within a card, reading only the grade of each body.
pub fn for_each_graded_answer(
    conn: &Connection,
    mut each: impl FnMut(GradedAnswer),
) -> rusqlite::Result<()> {
    let mut statement = conn.prepare(
        "SELECT course, step, at_ms, json_extract(tidbit_open(id, body), '$.grade') FROM events
         WHERE kind = 'item_answered' ORDER BY course, step, at_ms, device, id",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        each(GradedAnswer {
            course: row.get(0)?,
            step: row.get(1)?,
            at_ms: row.get(2)?,
            grade: row.get(3)?,
        });
    }
    Ok(())
}

/// The heads of every stored document, without loading any.
pub fn document_heads(conn: &Connection) -> Result<Vec<(String, Vec<ChangeHash>)>, EventLogError> {
    Ok(LocalDocuments::stored_heads(conn)?)
}

fn decode(id: &str, body: &str) -> Result<Event, EventLogError> {
    serde_json::from_str(body).map_err(|e| EventLogError::Unreadable {
        id: id.to_string(),
        message: e.to_string(),
    })
}

/// Writes the `events` row of `event` (its body encoded once and sealed under its id) unless
/// its id is already stored; true if it was new.
fn insert(conn: &Connection, event: &Event) -> Result<bool, EventLogError> {
    let (course, step): (Option<&str>, Option<&str>) = match &event.kind {
        EventKind::ItemAnswered { course, step, .. }
        | EventKind::StepViewed { course, step, .. }
        | EventKind::PeerRated { course, step, .. } => (Some(course), Some(step)),
        EventKind::Enrolled { course, .. } | EventKind::ModuleStarted { course, .. } => {
            (Some(course), None)
        }
        EventKind::ReviewRequested { course, .. }
        | EventKind::ReviewDecided { course, .. }
        | EventKind::GoalSet { course, .. } => (Some(course), None),
        EventKind::ParametersAdopted { .. }
        | EventKind::ConsentChanged { .. }
        | EventKind::StudyTimeSet { .. } => (None, None),
        // Filed under a name no course can have, so the planner finds them through the index.
        EventKind::InterventionTriggered { .. }
        | EventKind::InterventionProgressed { .. }
        | EventKind::MentoringRequested { .. }
        | EventKind::NudgeOutcomeRecorded { .. }
        | EventKind::PushTokenRegistered { .. }
        | EventKind::PushOutcomeRecorded { .. }
        | EventKind::ExperimentExposed { .. } => (Some(NUDGE_EVENTS_COURSE), None),
    };
    let body = serde_json::to_string(event).map_err(|e| EventLogError::Unreadable {
        id: event.id.clone(),
        message: e.to_string(),
    })?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO events (id, at_ms, device, kind, course, step, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, tidbit_seal(?1, ?7)) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            event.id,
            event.at_ms,
            event.device,
            event.kind.name(),
            course,
            step,
            body
        ])?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::store::Store;

    #[test]
    fn each_process_numbers_its_events_afresh_under_its_own_incarnation_and_stores_no_counter() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut ids = Vec::new();
        // Two processes one after the other, each with its log and its sequence from 1.
        for process in 0..2 {
            let mut log = EventLog::new("phone").unwrap();
            for n in 0..3 {
                let tx = store.conn_mut().transaction().unwrap();
                let kind = EventKind::Enrolled {
                    course: "field-safety".into(),
                    path: "field-volunteer".into(),
                };
                let event = log.append(&tx, 1_000 * (process * 3 + n), kind).unwrap();
                tx.commit().unwrap();
                ids.push(event.id);
            }
        }

        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), 6, "{ids:?}");
        let conn = store.conn();
        let stored: Vec<String> = conn
            .prepare("SELECT id FROM events ORDER BY at_ms")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, ids);
        let settings: i64 = conn
            .query_row(
                "SELECT count(*) FROM learner_settings WHERE key = 'next_sequence'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(settings, 0);
    }
}
