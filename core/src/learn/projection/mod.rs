//! Projections: everything the learner's state is made of, derived from events alone.
//!
//! [`apply_event`] applies one event when a call records it; [`rebuild`] drops every projection
//! and replays the whole log in its total order. Both run the same rules ([`rules`]), which read
//! the installed content ([`content`]) and the projections so far and nothing else: no clock, no
//! randomness, no settings that are not themselves events. So the same events give the same
//! state, byte for byte, on every device. A live event reads and writes the SQLite tables row by
//! row ([`live`]); a replay keeps the rows in memory and writes each table once at the end
//! ([`replay`]). Nothing outside this module writes a projection, and nothing outside it reads
//! one except through the typed reads of [`read`].

mod content;
mod goals;
mod live;
mod pair_map;
pub mod read;
mod replay;
mod rules;
mod tables;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::schedule::{ScheduleError, Scheduler, MINUTE_MS};
use crate::events::Event;
use crate::store::event_log::{self, EventLogError};
use content::ContentReader;
use live::LiveTables;
use replay::ReplayTables;
use rules::Rules;
use tables::ProjectionTables;

pub(crate) use content::step_skills;
pub(crate) use live::mark_installed_cards;

/// How long after a miss a remediation re-test becomes due.
pub const REMEDIATION_DELAY_MS: i64 = 2 * MINUTE_MS;
/// Wrong answers on one skill within one module attempt that trigger a remediation.
pub const WRONG_ANSWERS_BEFORE_REMEDIATION: i64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error while updating progress: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("event {id} is unreadable: {message}")]
    BadEvent { id: String, message: String },
}

impl From<EventLogError> for ProjectionError {
    fn from(error: EventLogError) -> Self {
        match error {
            EventLogError::Sqlite(error) => ProjectionError::Sqlite(error),
            EventLogError::Unreadable { id, message } => ProjectionError::BadEvent { id, message },
            // Reading the log never touches the documents.
            EventLogError::Documents(error) => ProjectionError::BadEvent {
                id: String::new(),
                message: error.to_string(),
            },
        }
    }
}

/// The FSRS scheduler for the parameters currently adopted, reloaded when they change.
pub struct SchedulerCache {
    scheduler: Scheduler,
    parameters: Option<String>,
}

impl SchedulerCache {
    pub fn load(conn: &Connection) -> Result<SchedulerCache, ProjectionError> {
        let parameters: Option<String> = conn
            .query_row(
                "SELECT parameters FROM fsrs_parameters WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        SchedulerCache::from_parameters(parameters)
    }

    /// The scheduler for adopted parameters (JSON), or for FSRS's defaults.
    fn from_parameters(parameters: Option<String>) -> Result<SchedulerCache, ProjectionError> {
        let scheduler = match &parameters {
            Some(json) => {
                let values: Vec<f32> =
                    serde_json::from_str(json).map_err(|e| ProjectionError::BadEvent {
                        id: "fsrs_parameters".into(),
                        message: e.to_string(),
                    })?;
                Scheduler::new(Some(&values))?
            }
            None => Scheduler::new(None)?,
        };
        Ok(SchedulerCache {
            scheduler,
            parameters,
        })
    }

    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    pub fn is_personalised(&self) -> bool {
        self.parameters.is_some()
    }
}

/// A remediation inserted by an event: the lesson card for the skill, then a different item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record), uniffi(name = "Remediation"))]
pub struct RemediationInserted {
    pub skill: String,
    pub reason: String,
    pub lesson_step: Option<String>,
    pub item_step: String,
    pub due_ms: i64,
}

/// A skill's mastery as a stage check measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SkillScore {
    pub skill: String,
    pub mastery: f64,
}

/// The outcome of a completed stage check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record), uniffi(name = "StageCheck"))]
pub struct StageCheckResult {
    pub path: String,
    pub stage: String,
    pub passed: bool,
    /// Mastery of every skill the check assesses.
    pub skills: Vec<SkillScore>,
    pub threshold: f64,
    /// The stage this check unlocked, if it passed and there is a next one.
    pub unlocked: Option<String>,
}

/// The card an answer scheduled, as the `cards` projection now holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnsweredCard {
    pub module: String,
    pub item_kind: String,
    pub stability: f32,
    pub last_review_ms: i64,
    pub due_ms: i64,
    pub credit_avg: f64,
    pub item_rating: f64,
}

/// What applying one event changed, for the caller to tell the learner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The answered card as it now stands (an answer's only).
    pub card: Option<AnsweredCard>,
    pub module_completed: bool,
    pub stage_checks: Vec<StageCheckResult>,
    pub remediations: Vec<RemediationInserted>,
    pub remediation_resolved: bool,
}

/// Applies one event to the projections. The caller holds the transaction.
pub fn apply_event(
    conn: &Connection,
    schedulers: &mut SchedulerCache,
    event: &Event,
) -> Result<Applied, ProjectionError> {
    Rules {
        content: &mut ContentReader::fresh(conn),
        tables: &mut LiveTables::new(conn),
        schedulers,
    }
    .apply(event)
}

/// Drops every projection and replays the whole log in its total order. The caller holds the
/// transaction: the content cannot change during the replay, and the projections are written
/// out at its end.
pub fn rebuild(conn: &Connection) -> Result<u64, ProjectionError> {
    for table in crate::store::PROJECTIONS {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut schedulers = SchedulerCache::load(conn)?;
    let mut content = ContentReader::remembering(conn);
    let mut tables = ReplayTables::new(conn);
    let mut rules = Rules {
        content: &mut content,
        tables: &mut tables,
        schedulers: &mut schedulers,
    };
    let count = event_log::for_each_in_order(conn, |event| rules.apply(&event).map(drop))?;
    tables.write_out()?;
    Ok(count)
}

/// Replays `events` (in their total order) from an empty state, in memory, and hands `each` what
/// every event changed: module completions and stage checks as the learner's devices derived them.
/// `conn` supplies the installed content only; nothing is read from or written to its
/// projections, so it may be a learner's live store or a server's content index. Learning
/// records and engagement metrics (`analytics`) are made from these outcomes.
pub fn replay_outcomes<'e>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'e Event>,
    each: impl FnMut(&Event, &Applied),
) -> Result<u64, ProjectionError> {
    replay_measuring(conn, events, &[], 0, each).map(|(count, _)| count)
}

/// [`replay_outcomes`], then each `(course, skill)` of `skills` measured at `at_ms` from the
/// replayed cards, as a stage check would measure it.
pub fn replay_measuring<'e>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'e Event>,
    skills: &[(String, String)],
    at_ms: i64,
    mut each: impl FnMut(&Event, &Applied),
) -> Result<(u64, Vec<f64>), ProjectionError> {
    let mut schedulers = SchedulerCache::from_parameters(None)?;
    let mut content = ContentReader::remembering(conn);
    let mut tables = ReplayTables::new(conn);
    let mut rules = Rules {
        content: &mut content,
        tables: &mut tables,
        schedulers: &mut schedulers,
    };
    let mut count = 0;
    for event in events {
        let applied = rules.apply(event)?;
        each(event, &applied);
        count += 1;
    }
    let mut measured = Vec::with_capacity(skills.len());
    for (course, skill) in skills {
        let cards = rules.tables.skill_cards(rules.content, course, skill)?;
        let mastery =
            crate::learn::mastery::measure(skill, cards, rules.schedulers.scheduler(), at_ms);
        measured.push(mastery.mastery);
    }
    Ok((count, measured))
}

/// Days a learning-phase card is considered due early, so a session can include it.
pub fn due_horizon_ms(now_ms: i64, budget_minutes: u32) -> i64 {
    now_ms + i64::from(budget_minutes) * MINUTE_MS
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, Duration, Utc};

    use crate::content::synthetic::synthetic_course;
    use crate::content::{write_course_pack, Item, StepBody};
    use crate::events::ManualClock;
    use crate::keys::{SigningKey, TrustedKeys};
    use crate::simulate::answer_for;
    use crate::tidbit::{Tidbit, TidbitConfig};

    const COURSE: &str = "synthetic";

    fn count(tidbit: &Tidbit, sql: &str) -> i64 {
        tidbit
            .store()
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_replay_in_memory_writes_exactly_what_the_live_events_wrote() {
        let dir = tempfile::tempdir().unwrap();
        // Eight modules of ten items; stage checks are modules 1, 3, 5 and 7.
        let compiled = synthetic_course(COURSE, "1.0.0", 80, 16);
        let key = SigningKey::generate().unwrap();
        let start: DateTime<Utc> = "2026-03-02T08:00:00Z".parse().unwrap();
        let pack = dir.path().join("course.tidbit");
        let mut file = std::fs::File::create(&pack).unwrap();
        write_course_pack(&compiled, &key, start, &mut file, &mut |_, _| {}).unwrap();
        drop(file);
        let clock = Arc::new(ManualClock::new(start));
        let config = TidbitConfig {
            data_dir: dir.path().join("data"),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::from_keys([key.public_key()]),
            at_rest_key: None,
        };
        let mut tidbit = Tidbit::open(config, clock.clone()).unwrap();
        tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
        tidbit.enroll(COURSE, "everyone").unwrap();
        let items: Vec<(&str, &Item)> = compiled
            .course
            .modules
            .iter()
            .flat_map(|m| m.steps.iter())
            .filter_map(|s| match &s.body {
                StepBody::Item(item) => Some((s.id.as_str(), item)),
                StepBody::Lesson(_) => None,
            })
            .collect();
        let item = |step: &str| items.iter().find(|(id, _)| *id == step).unwrap().1;
        // Each module twice, a day apart: the first time with its first three items wrong
        // (remediations, failed checks), the second time all right; then a week of reviews.
        for round in 0..2 {
            for module in compiled.course.modules.iter().take(4) {
                clock.advance(Duration::hours(2));
                tidbit.start_module(COURSE, &module.id).unwrap();
                for (position, step) in module.steps.iter().enumerate() {
                    clock.advance(Duration::seconds(20));
                    let StepBody::Item(body) = &step.body else {
                        tidbit.view_step(COURSE, &step.id).unwrap();
                        continue;
                    };
                    let right = round == 1 || position > 3;
                    let response = answer_for(body, right);
                    let feedback = tidbit.answer(COURSE, &step.id, response, 8000).unwrap();
                    for remediation in feedback.remediations {
                        clock.advance(Duration::minutes(2));
                        let retest = answer_for(item(&remediation.item_step), true);
                        tidbit
                            .answer(COURSE, &remediation.item_step, retest, 5000)
                            .unwrap();
                    }
                }
            }
            clock.advance(Duration::days(1));
        }
        for day in 0..7 {
            clock.advance(Duration::days(1));
            for (step, body) in items.iter().take(40).skip(day * 3).step_by(2) {
                let response = answer_for(body, day % 3 != 0);
                tidbit.answer(COURSE, step, response, 4000).unwrap();
            }
        }
        // The scenario exercises every rule: remediations of both kinds inserted and resolved,
        // stage checks failed and passed.
        let resolved_reasons = count(
            &tidbit,
            "SELECT count(DISTINCT reason) FROM remediations WHERE resolved_ms IS NOT NULL",
        );
        assert_eq!(resolved_reasons, 2);
        let passed = "SELECT count(*) FROM stage_progress WHERE passed_ms IS NOT NULL";
        assert!(count(&tidbit, passed) > 0);
        let checked_again = "SELECT count(*) FROM stage_progress WHERE checks > 1";
        assert!(count(&tidbit, checked_again) > 0);
        let live = tidbit.projection_digest().unwrap();
        let events = tidbit.rebuild_projections().unwrap();
        assert_eq!(events as i64, count(&tidbit, "SELECT count(*) FROM events"));
        assert_eq!(tidbit.projection_digest().unwrap(), live);
    }
}
