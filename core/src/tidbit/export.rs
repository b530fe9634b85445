//! The learner's data, exported: one JSON archive a person can read and a program can load.
//!
//! The layout is [`Archive`] (format `tidbit-learner-export`, version [`EXPORT_VERSION`]); a
//! field is only ever added in a new version. It holds, decrypted: every event of the log in its
//! total order, per course the projections a person cares about (stages, mastery per skill,
//! when each item is due), the streak, every recorded decision with its reason and inputs, the
//! consent states and their history, the reviews asked for and their decisions, and the paths
//! finished (for which a certificate can be issued).
//!
//! The archive describes the state the log leaves: mastery and the streak are taken at the time
//! of the latest event (`as_of_ms`), never at the wall clock, and every list has a fixed order,
//! so exporting twice without new work gives identical bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Decision, Review, ReviewDecision, StageStatus, Streak, Tidbit, TidbitError};
use crate::events::{Event, EventKind};
use crate::learn::mastery::SkillMastery;
use crate::privacy::consent::{ConsentScope, ConsentState};
use crate::store::event_log;

/// The archive's `format` field.
pub const EXPORT_FORMAT: &str = "tidbit-learner-export";
/// The layout version this build writes.
pub const EXPORT_VERSION: u32 = 1;

/// The whole export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Archive {
    pub format: String,
    pub version: u32,
    pub learner: String,
    /// The device the archive was made on (its decisions are this device's).
    pub device: String,
    /// The time of the latest event: what mastery and the streak are measured at.
    pub as_of_ms: Option<i64>,
    pub consents: Vec<ConsentState>,
    /// Every consent change in the log's order.
    pub consent_history: Vec<Event>,
    pub courses: Vec<CourseRecord>,
    pub streak: Streak,
    /// Every recorded decision of this device, oldest first.
    pub decisions: Vec<Decision>,
    pub reviews: Vec<Review>,
    pub finished_paths: Vec<FinishedPath>,
    /// The whole event log, decrypted, in its total order.
    pub events: Vec<Event>,
}

/// One enrolled course as the learner's progress stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseRecord {
    pub course: String,
    pub title: String,
    pub path: String,
    pub stages: Vec<StageStatus>,
    pub mastery: Vec<SkillMastery>,
    /// Every item with a memory state, by step id.
    pub due: Vec<DueItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueItem {
    pub step: String,
    pub due_ms: i64,
    pub reviews: u32,
}

/// A path whose every stage passed: a certificate for it can be issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedPath {
    pub course: String,
    pub path: String,
    pub finished_ms: i64,
}

/// Steps of an export, for a progress bar.
pub const EXPORT_STEPS: u64 = 4;

impl Tidbit {
    /// The archive as it stands now.
    pub fn export_archive(
        &self,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Archive, TidbitError> {
        let conn = self.store.conn();
        let events = event_log::all_in_order(conn)?;
        progress(1, EXPORT_STEPS);
        let as_of_ms = events.last().map(|e| e.at_ms);
        let at_ms = as_of_ms.unwrap_or(0);
        let enrolled: Vec<(String, String, String)> = conn
            .prepare(
                "SELECT e.course, e.path, c.title FROM enrollments e
                 JOIN courses c ON c.id = e.course ORDER BY e.course",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut courses = Vec::with_capacity(enrolled.len());
        let mut finished_paths = Vec::new();
        for (course, path, title) in enrolled {
            let stages = self.stages(&course)?;
            if !stages.is_empty() && stages.iter().all(|s| s.passed_ms.is_some()) {
                finished_paths.push(FinishedPath {
                    course: course.clone(),
                    path: path.clone(),
                    finished_ms: stages.iter().filter_map(|s| s.passed_ms).max().unwrap_or(0),
                });
            }
            let due = conn
                .prepare_cached(
                    "SELECT step, due_ms, reps FROM cards WHERE course = ?1 ORDER BY step",
                )?
                .query_map([&course], |r| {
                    Ok(DueItem {
                        step: r.get(0)?,
                        due_ms: r.get(1)?,
                        reviews: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            courses.push(CourseRecord {
                mastery: self.mastery_at(&course, at_ms)?,
                course,
                title,
                path,
                stages,
                due,
            });
        }
        progress(2, EXPORT_STEPS);
        let mut decisions = self.decisions(u32::MAX)?;
        decisions.reverse();
        let mut reviews = self.reviews()?;
        reviews.sort_by(|a, b| (a.requested_ms, &a.id).cmp(&(b.requested_ms, &b.id)));
        let today =
            self.local_date(chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default());
        let archive = Archive {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            learner: self.learner_id().into(),
            device: self.device_id().into(),
            as_of_ms,
            consents: self.consents()?,
            consent_history: self.consent_history()?,
            courses,
            streak: self.streak_on(today)?,
            decisions,
            reviews,
            finished_paths,
            events,
        };
        progress(3, EXPORT_STEPS);
        Ok(archive)
    }

    /// Writes the archive into `dir` as `tidbit-export-<learner>.json` and returns its path.
    pub fn export(
        &self,
        dir: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<PathBuf, TidbitError> {
        let path = dir.join(format!("tidbit-export-{}.json", self.learner_id()));
        self.export_to(&path, progress)?;
        Ok(path)
    }

    /// Writes the archive to `path`, replacing an earlier file whole (never leaving half a
    /// file). A place that cannot be written is an error and leaves nothing behind.
    pub fn export_to(
        &self,
        path: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), TidbitError> {
        let archive = self.export_archive(progress)?;
        let mut bytes = serde_json::to_vec_pretty(&archive)
            .map_err(|e| TidbitError::Corrupt(format!("the export does not encode: {e}")))?;
        bytes.push(b'\n');
        write_whole(path, &bytes).map_err(|e| TidbitError::Export {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        progress(EXPORT_STEPS, EXPORT_STEPS);
        Ok(())
    }
}

/// The archive a holder of the learner's events alone (the sync server) can make: the events,
/// the consent states and history, and the reviews with their decisions, all derived from the
/// events in their total order. Progress (courses, the streak) needs the course content and the
/// decisions are the devices' own, so those lists are empty; `device` names who made it.
pub fn archive_of_events(learner: &str, device: &str, mut events: Vec<Event>) -> Archive {
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let consent_history: Vec<Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ConsentChanged { .. }))
        .cloned()
        .collect();
    let consents = ConsentScope::ALL
        .into_iter()
        .map(|scope| {
            let last = consent_history.iter().rev().find_map(|e| match e.kind {
                EventKind::ConsentChanged { scope: s, granted } if s == scope => {
                    Some((granted, e.at_ms))
                }
                _ => None,
            });
            ConsentState {
                scope,
                purpose: scope.purpose().into(),
                granted: last.is_some_and(|(granted, _)| granted),
                changed_ms: last.map(|(_, at)| at),
            }
        })
        .collect();
    let mut reviews: Vec<Review> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ReviewRequested {
                course,
                path,
                stage,
                reason,
                questioned,
            } => Some(Review {
                id: e.id.clone(),
                course: course.clone(),
                path: path.clone(),
                stage: stage.clone(),
                reason: reason.clone(),
                questioned: questioned.clone(),
                requested_ms: e.at_ms,
                decision: None,
            }),
            _ => None,
        })
        .collect();
    for event in &events {
        if let EventKind::ReviewDecided {
            review,
            unlock,
            reason,
            author,
            ..
        } = &event.kind
        {
            if let Some(r) = reviews.iter_mut().find(|r| &r.id == review) {
                r.decision.get_or_insert(ReviewDecision {
                    unlock: *unlock,
                    reason: reason.clone(),
                    author: author.clone(),
                    decided_ms: event.at_ms,
                });
            }
        }
    }
    reviews.sort_by(|a, b| (a.requested_ms, &a.id).cmp(&(b.requested_ms, &b.id)));
    Archive {
        format: EXPORT_FORMAT.into(),
        version: EXPORT_VERSION,
        learner: learner.into(),
        device: device.into(),
        as_of_ms: events.last().map(|e| e.at_ms),
        consents,
        consent_history,
        courses: Vec::new(),
        streak: Streak {
            current: 0,
            longest: 0,
            practised_today: false,
        },
        decisions: Vec::new(),
        reviews,
        finished_paths: Vec::new(),
        events,
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, synced, then renamed.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let temporary = path.with_file_name(name);
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

impl Tidbit {
    /// The learner's learning records: the xAPI statements their events make, in the events'
    /// order, byte for byte those the server forwards to the organisation's LRS (whose accounts
    /// live on `home_page`) from the same events and course versions.
    pub fn learning_records(
        &self,
        home_page: &str,
    ) -> Result<Vec<crate::analytics::xapi::Statement>, TidbitError> {
        let events = event_log::all_in_order(self.store.conn())?;
        let settings = crate::analytics::xapi::XapiSettings::new(home_page);
        Ok(crate::analytics::xapi::statements_of(
            &self.store,
            &self.config.learner_id,
            &events,
            &settings,
        )?)
    }
}
