//! The facade's data-rights calls: consent scopes and human review of automated decisions.
//!
//! Both are events, so a withdrawal made offline on one device takes effect on the others at
//! their next sync, and a review request reaches the server's admin queue the same way; the
//! person's decision comes back as an event of the server's device.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Decision, Tidbit, TidbitError};
use crate::events::{Event, EventKind};
use crate::privacy::consent::{ConsentScope, ConsentState, Consents};
use crate::store::event_log;

/// A review the learner asked for, with the person's decision once taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Review {
    /// The id of the request's event: what the admin queue names it by.
    pub id: String,
    pub course: String,
    pub path: String,
    pub stage: String,
    /// The learner's own words.
    pub reason: String,
    /// The engine's decision the learner questioned, as stated when they asked.
    pub questioned: String,
    pub requested_ms: i64,
    pub decision: Option<ReviewDecision>,
}

/// What a person decided about a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ReviewDecision {
    /// The stage was unlocked; otherwise it stays as the engine left it.
    pub unlock: bool,
    pub reason: String,
    /// Who decided.
    pub author: String,
    pub decided_ms: i64,
}

/// What the engine decided about a stage so far.
#[derive(Default)]
struct StageChecks {
    unlocked_ms: Option<i64>,
    passed_ms: Option<i64>,
    last_check_ms: Option<i64>,
    last_check_passed: Option<bool>,
}

/// The longest reason a learner may give for a review.
pub const MAX_REVIEW_REASON_CHARS: usize = 2000;

impl Tidbit {
    /// Recorded decisions, newest first.
    pub fn decisions(&self, limit: u32) -> Result<Vec<Decision>, TidbitError> {
        self.write_waiting_decisions()?;
        Ok(self
            .store
            .conn()
            .prepare(
                "SELECT at_ms, kind, tidbit_open('decision', reason), tidbit_open('decision', inputs),
                        tidbit_open('decision', output)
                 FROM decisions ORDER BY id DESC LIMIT ?1",
            )?
            .query_map([limit], |r| {
                Ok(Decision {
                    at_ms: r.get(0)?,
                    kind: r.get(1)?,
                    reason: r.get(2)?,
                    inputs: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                    output: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Every consent scope with its purpose text and whether the learner gave it.
    pub fn consents(&self) -> Result<Vec<ConsentState>, TidbitError> {
        let mut statement = self
            .store
            .conn()
            .prepare_cached("SELECT granted, changed_ms FROM consents WHERE scope = ?1")?;
        ConsentScope::ALL
            .into_iter()
            .map(|scope| {
                let row: Option<(bool, i64)> = statement
                    .query_row([scope.name()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                Ok(ConsentState {
                    scope,
                    purpose: scope.purpose().to_string(),
                    granted: row.is_some_and(|(granted, _)| granted),
                    changed_ms: row.map(|(_, at)| at),
                })
            })
            .collect()
    }

    /// The scopes granted now: what every gated feature asks.
    /// Whether the learner gave `scope` (one scope's row, where [`Tidbit::consent_gate`] reads
    /// every scope's).
    pub(crate) fn consent_granted(&self, scope: ConsentScope) -> Result<bool, TidbitError> {
        Ok(self
            .store
            .conn()
            .prepare_cached("SELECT granted FROM consents WHERE scope = ?1")?
            .query_row([scope.name()], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false))
    }

    pub(crate) fn consent_gate(&self) -> Result<Consents, TidbitError> {
        Ok(Consents::from_states(&self.consents()?))
    }

    /// `Ok` when the learner gave `scope`, else [`crate::privacy::consent::ConsentError::Required`]:
    /// the gate a feature passes before it computes or sends anything the scope covers (sharing
    /// with a peer group under `community`, recording a spoken answer under `voice`).
    pub fn require_consent(&self, scope: ConsentScope) -> Result<(), TidbitError> {
        Ok(self.consent_gate()?.require(scope)?)
    }

    /// Gives or withdraws `scope`. Asking for the state it already has (withdrawing a scope
    /// never given, too) records nothing.
    pub fn set_consent(&mut self, scope: ConsentScope, granted: bool) -> Result<(), TidbitError> {
        if self.consent_gate()?.is_granted(scope) == granted {
            return Ok(());
        }
        self.record(EventKind::ConsentChanged { scope, granted })?;
        Ok(())
    }

    /// Every change of consent in the log's order (the history an export holds).
    pub fn consent_history(&self) -> Result<Vec<Event>, TidbitError> {
        Ok(event_log::of_kinds(
            self.store.conn(),
            &["consent_changed"],
        )?)
    }

    /// Asks a person to review the automated decision that keeps `stage` of the learner's path
    /// in `course` locked, or failed its check. The request reaches the server's admin queue
    /// on the next sync; returns the review's id.
    pub fn request_review(
        &mut self,
        course: &str,
        stage: &str,
        reason: &str,
    ) -> Result<String, TidbitError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REVIEW_REASON_CHARS {
            return Err(TidbitError::ReviewReason {
                max: MAX_REVIEW_REASON_CHARS,
            });
        }
        let conn = self.store.conn();
        let path: Option<String> = conn
            .prepare_cached("SELECT path FROM enrollments WHERE course = ?1")?
            .query_row([course], |r| r.get(0))
            .optional()?;
        let unknown = || TidbitError::UnknownStage {
            course: course.into(),
            stage: stage.into(),
        };
        let path = path.ok_or_else(unknown)?;
        let position: i64 = conn
            .prepare_cached(
                "SELECT position FROM stages WHERE course_id = ?1 AND path_id = ?2 AND kind = ?3",
            )?
            .query_row(params![course, path, stage], |r| r.get(0))
            .optional()?
            .ok_or_else(unknown)?;
        let progress = conn
            .prepare_cached(
                "SELECT unlocked_ms, passed_ms, last_check_ms, last_check_passed
                 FROM stage_progress WHERE course = ?1 AND path = ?2 AND stage = ?3",
            )?
            .query_row(params![course, path, stage], |r| {
                Ok(StageChecks {
                    unlocked_ms: r.get(0)?,
                    passed_ms: r.get(1)?,
                    last_check_ms: r.get(2)?,
                    last_check_passed: r.get(3)?,
                })
            })
            .optional()?
            .unwrap_or_default();
        let StageChecks {
            unlocked_ms: unlocked,
            passed_ms: passed,
            last_check_ms: last_check,
            last_check_passed: last_passed,
        } = progress;
        let questioned = match (unlocked, passed, last_check, last_passed) {
            (None, _, _, _) => {
                let previous: Option<String> = conn
                    .prepare_cached(
                        "SELECT kind FROM stages
                         WHERE course_id = ?1 AND path_id = ?2 AND position = ?3",
                    )?
                    .query_row(params![course, path, position - 1], |r| r.get(0))
                    .optional()?;
                match previous {
                    Some(previous) => format!(
                        "stage '{stage}' is locked: the check of stage '{previous}' has not been passed"
                    ),
                    None => format!("stage '{stage}' is locked"),
                }
            }
            (Some(_), None, Some(at), Some(false)) => {
                format!(
                    "the check of stage '{stage}' failed on {}",
                    self.local_date(
                        chrono::DateTime::from_timestamp_millis(at).unwrap_or_default()
                    )
                )
            }
            _ => {
                return Err(TidbitError::NothingToReview {
                    course: course.into(),
                    stage: stage.into(),
                })
            }
        };
        let (event, _) = self.record(EventKind::ReviewRequested {
            course: course.into(),
            path,
            stage: stage.into(),
            reason: reason.into(),
            questioned,
        })?;
        Ok(event.id)
    }

    /// The reviews the learner asked for, newest first, with their decisions.
    pub fn reviews(&self) -> Result<Vec<Review>, TidbitError> {
        let conn = self.store.conn();
        let rows: Vec<(String, i64, Option<String>)> = conn
            .prepare_cached(
                "SELECT id, requested_ms, decision FROM reviews ORDER BY requested_ms DESC, id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut reviews = Vec::with_capacity(rows.len());
        for (id, requested_ms, decision) in rows {
            // A decision whose request has not arrived yet is listed once both are here.
            let Some(request) = event_log::by_id(conn, &id)? else {
                continue;
            };
            let EventKind::ReviewRequested {
                course,
                path,
                stage,
                reason,
                questioned,
            } = request.kind
            else {
                return Err(TidbitError::Corrupt(format!(
                    "review {id} is not a request"
                )));
            };
            let decision = match decision {
                Some(decision) => match event_log::by_id(conn, &decision)? {
                    Some(Event {
                        at_ms,
                        kind:
                            EventKind::ReviewDecided {
                                unlock,
                                reason,
                                author,
                                ..
                            },
                        ..
                    }) => Some(ReviewDecision {
                        unlock,
                        reason,
                        author,
                        decided_ms: at_ms,
                    }),
                    _ => {
                        return Err(TidbitError::Corrupt(format!(
                            "the decision of review {id} is missing"
                        )))
                    }
                },
                None => None,
            };
            reviews.push(Review {
                id,
                course,
                path,
                stage,
                reason,
                questioned,
                requested_ms,
                decision,
            });
        }
        Ok(reviews)
    }
}
