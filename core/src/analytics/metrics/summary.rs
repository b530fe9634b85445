//! One learner's engagement summary, folded from their replayed events, and the home
//! screen's numbers read from it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::evidence::{EvidenceFold, SkillEvidence};
use crate::events::{
    Event, EventKind, InterventionAction, MentoringInvitation, NudgeKind, NudgeOutcome, Outcome,
};
use crate::learn::projection::{self, ProjectionError};
use crate::privacy::consent::ConsentScope;
use crate::store::Store;

pub(super) const DAY_MS: i64 = 86_400_000;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Replay(#[from] ProjectionError),
    #[error("database error while reading the course content: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// One learner, as the metrics need them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LearnerSummary {
    pub learner: String,
    pub last_active_ms: Option<i64>,
    /// Local dates with activity, and the milliseconds spent answering on each.
    pub active_days: BTreeMap<NaiveDate, u64>,
    pub enrolments: Vec<Enrolment>,
    /// `(course, module)` started at least once.
    pub modules_started: BTreeSet<(String, String)>,
    /// `(course, module)` → when first completed.
    pub modules_completed: BTreeMap<(String, String), i64>,
    pub checks: Vec<CheckRecord>,
    pub skills: Vec<SkillRecord>,
    /// `(kind, outcome)` → count.
    pub nudges: BTreeMap<(NudgeKind, NudgeOutcome), u64>,
    pub interventions: Vec<InterventionRecord>,
    /// Answers to items answered before on an earlier day (reinforcement), and how many were
    /// right.
    pub reinforcement_answers: u64,
    pub reinforcement_right: u64,
    /// Experiment id → (arm, first exposure).
    pub exposures: BTreeMap<String, (String, i64)>,
    /// Each consent scope as the log leaves it (the later change wins); absent: never given.
    #[serde(default)]
    pub consents: BTreeMap<ConsentScope, bool>,
    /// Learners the server asked this learner to mentor (`MentoringRequested`), by intervention.
    #[serde(default)]
    pub mentoring_requests: Vec<MentoringInvitation>,
    /// The learner gives the `profile` consent scope: the organisation may see their skills.
    #[serde(default)]
    pub profile_shared: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    pub course: String,
    pub path: String,
    pub at_ms: i64,
    /// Every stage of the path, in order, with when it unlocked and first passed.
    pub stages: Vec<StageRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: String,
    pub unlocked_ms: Option<i64>,
    pub passed_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    pub course: String,
    pub path: String,
    pub stage: String,
    pub passed: bool,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillRecord {
    pub course: String,
    pub skill: String,
    /// Mastery now (at the summary's time).
    pub mastery: f64,
    /// The best mastery a passed stage check measured, if any.
    pub best_checked: Option<f64>,
    pub threshold: f64,
    /// The last right answer to one of the skill's items or passed stage check measuring it.
    #[serde(default)]
    pub last_demonstrated_ms: Option<i64>,
    #[serde(default)]
    pub evidence: SkillEvidence,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterventionRecord {
    pub id: String,
    pub course: Option<String>,
    pub module: String,
    pub at_ms: i64,
    pub deadline_ms: i64,
    /// When the intervention was done, if it was: its module completed after it (a module
    /// intervention), or the step that completes its kind recorded
    /// ([`InterventionAction::completed_by`]).
    pub done_ms: Option<i64>,
    /// What was asked (a module to revisit for interventions recorded before the other kinds).
    #[serde(default)]
    pub action: InterventionAction,
    #[serde(default)]
    pub reason: String,
}

/// The course facts a summary needs: each path's stages in order, and each course's skills
/// and threshold.
struct CourseFacts {
    paths: BTreeMap<String, Vec<String>>,
    skills: Vec<String>,
    /// Step → the skills it is tagged with.
    step_skills: BTreeMap<String, Vec<String>>,
    threshold: f64,
}

fn course_facts(store: &Store, course: &str) -> Result<Option<CourseFacts>, MetricsError> {
    let conn = store.conn();
    let threshold: Option<f64> = rusqlite::OptionalExtension::optional(conn.query_row(
        "SELECT mastery_threshold FROM courses INDEXED BY course_settings WHERE id = ?1",
        [course],
        |r| r.get(0),
    ))?;
    let Some(threshold) = threshold else {
        return Ok(None);
    };
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut statement = conn.prepare(
        "SELECT path_id, kind FROM stages WHERE course_id = ?1 ORDER BY path_id, position",
    )?;
    for row in statement.query_map([course], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (path, stage): (String, String) = row?;
        paths.entry(path).or_default().push(stage);
    }
    let skills = conn
        .prepare("SELECT id FROM skills WHERE course_id = ?1 ORDER BY position")?
        .query_map([course], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let mut step_skills: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut statement = conn.prepare(
        "SELECT step_id, skill_id FROM step_skills WHERE course_id = ?1 ORDER BY step_id, skill_id",
    )?;
    for row in statement.query_map([course], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (step, skill): (String, String) = row?;
        step_skills.entry(step).or_default().push(skill);
    }
    Ok(Some(CourseFacts {
        paths,
        skills,
        step_skills,
        threshold,
    }))
}

/// One learner's summary from their events (any order), measured at `now_ms`. `content` is a
/// store holding the installed courses (a device's own or the server's content index).
pub fn summarise(
    content: &Store,
    learner: &str,
    events: &[Event],
    now_ms: i64,
) -> Result<LearnerSummary, MetricsError> {
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let mut summary = LearnerSummary {
        learner: learner.to_string(),
        ..LearnerSummary::default()
    };
    let mut facts: BTreeMap<String, Option<CourseFacts>> = BTreeMap::new();
    for event in &ordered {
        if let EventKind::Enrolled { course, .. } = &event.kind {
            if !facts.contains_key(course) {
                facts.insert(course.clone(), course_facts(content, course)?);
            }
        }
    }
    let skills: Vec<(String, String)> = facts
        .iter()
        .filter_map(|(course, f)| f.as_ref().map(|f| (course, f)))
        .flat_map(|(course, f)| f.skills.iter().map(|s| (course.clone(), s.clone())))
        .collect();

    let mut first_answer_day: BTreeMap<(String, String), NaiveDate> = BTreeMap::new();
    let mut evidence = EvidenceFold::default();
    let skills_of = |course: &str, step: &str| -> &[String] {
        facts
            .get(course)
            .and_then(|f| f.as_ref())
            .and_then(|f| f.step_skills.get(step))
            .map_or(&[], Vec::as_slice)
    };
    let (_, measured) = projection::replay_measuring(
        content.conn(),
        ordered.iter().copied(),
        &skills,
        now_ms,
        |event, applied| {
            fold(&mut summary, &facts, &mut first_answer_day, event);
            evidence.event(event, skills_of);
            let course = match &event.kind {
                EventKind::StepViewed { course, .. } | EventKind::ItemAnswered { course, .. } => {
                    course
                }
                _ => return,
            };
            if applied.module_completed {
                if let EventKind::StepViewed { module, .. }
                | EventKind::ItemAnswered { module, .. } = &event.kind
                {
                    summary
                        .modules_completed
                        .entry((course.clone(), module.clone()))
                        .or_insert(event.at_ms);
                    for intervention in summary.interventions.iter_mut().filter(|i| {
                        i.module == *module
                            && i.action.is_module()
                            && i.done_ms.is_none()
                            && i.course.as_ref().is_none_or(|c| c == course)
                    }) {
                        intervention.done_ms = Some(event.at_ms);
                    }
                }
            }
            for check in &applied.stage_checks {
                summary.checks.push(CheckRecord {
                    course: course.clone(),
                    path: check.path.clone(),
                    stage: check.stage.clone(),
                    passed: check.passed,
                    at_ms: event.at_ms,
                });
                evidence.check(course, check, event.at_ms);
                if check.passed {
                    mark_stage(&mut summary, course, &check.path, &check.stage, |s| {
                        s.passed_ms.get_or_insert(event.at_ms);
                    });
                }
                if let Some(next) = &check.unlocked {
                    mark_stage(&mut summary, course, &check.path, next, |s| {
                        s.unlocked_ms.get_or_insert(event.at_ms);
                    });
                }
            }
        },
    )?;
    for ((course, skill), mastery) in skills.into_iter().zip(measured) {
        let threshold = facts
            .get(&course)
            .and_then(|f| f.as_ref())
            .map_or(1.0, |f| f.threshold);
        let evidence = evidence.take(&course, &skill);
        summary.skills.push(SkillRecord {
            course,
            skill,
            mastery,
            best_checked: evidence.best_checked(),
            threshold,
            last_demonstrated_ms: evidence.last_demonstrated_ms(),
            evidence,
        });
    }
    Ok(summary)
}

fn mark_stage(
    summary: &mut LearnerSummary,
    course: &str,
    path: &str,
    stage: &str,
    change: impl FnOnce(&mut StageRecord),
) {
    if let Some(record) = summary
        .enrolments
        .iter_mut()
        .filter(|e| e.course == course && e.path == path)
        .flat_map(|e| e.stages.iter_mut())
        .find(|s| s.stage == stage)
    {
        change(record);
    }
}

/// What one event says by itself.
fn fold(
    summary: &mut LearnerSummary,
    facts: &BTreeMap<String, Option<CourseFacts>>,
    first_answer_day: &mut BTreeMap<(String, String), NaiveDate>,
    event: &Event,
) {
    match &event.kind {
        EventKind::Enrolled { course, path } => {
            let stages = facts
                .get(course)
                .and_then(|f| f.as_ref())
                .and_then(|f| f.paths.get(path))
                .cloned()
                .unwrap_or_default();
            let stages = stages
                .into_iter()
                .enumerate()
                .map(|(i, stage)| StageRecord {
                    stage,
                    unlocked_ms: (i == 0).then_some(event.at_ms),
                    passed_ms: None,
                })
                .collect();
            summary.enrolments.retain(|e| e.course != *course);
            summary.enrolments.push(Enrolment {
                course: course.clone(),
                path: path.clone(),
                at_ms: event.at_ms,
                stages,
            });
        }
        EventKind::ModuleStarted { course, module } => {
            summary
                .modules_started
                .insert((course.clone(), module.clone()));
            active(summary, event, None, 0);
        }
        EventKind::StepViewed { .. } => active(summary, event, None, 0),
        EventKind::ItemAnswered {
            course,
            step,
            response_ms,
            outcome,
            local_date,
            ..
        } => {
            active(summary, event, Some(*local_date), u64::from(*response_ms));
            let key = (course.clone(), step.clone());
            match first_answer_day.get(&key) {
                Some(first) if first < local_date => {
                    summary.reinforcement_answers += 1;
                    if *outcome == Outcome::Right {
                        summary.reinforcement_right += 1;
                    }
                }
                Some(_) => {}
                None => {
                    first_answer_day.insert(key, *local_date);
                }
            }
        }
        EventKind::NudgeOutcomeRecorded {
            nudge_kind,
            outcome,
            ..
        } => {
            *summary.nudges.entry((*nudge_kind, *outcome)).or_default() += 1;
        }
        EventKind::InterventionTriggered {
            course,
            module,
            deadline_ms,
            reason,
            action,
            ..
        } => summary.interventions.push(InterventionRecord {
            id: event.id.clone(),
            course: course.clone(),
            module: module.clone(),
            at_ms: event.at_ms,
            deadline_ms: *deadline_ms,
            done_ms: None,
            action: action.clone(),
            reason: reason.clone(),
        }),
        EventKind::InterventionProgressed { intervention, step } => {
            if let Some(record) = summary.interventions.iter_mut().find(|i| {
                i.id == *intervention
                    && i.done_ms.is_none()
                    && i.action.completed_by() == Some(*step)
            }) {
                record.done_ms = Some(event.at_ms);
            }
        }
        EventKind::MentoringRequested { .. } => {
            summary
                .mentoring_requests
                .extend(MentoringInvitation::of(event));
        }
        EventKind::ConsentChanged { scope, granted } => {
            summary.consents.insert(*scope, *granted);
            if *scope == ConsentScope::Profile {
                summary.profile_shared = *granted;
            }
        }
        EventKind::ReviewDecided {
            course,
            path,
            stage,
            unlock: true,
            ..
        } => mark_stage(summary, course, path, stage, |s| {
            s.unlocked_ms.get_or_insert(event.at_ms);
        }),
        EventKind::ExperimentExposed {
            experiment, arm, ..
        } => {
            summary
                .exposures
                .entry(experiment.clone())
                .or_insert((arm.clone(), event.at_ms));
        }
        _ => {}
    }
}

/// Activity on the learner's local date (an answer's own; otherwise the UTC date).
fn active(summary: &mut LearnerSummary, event: &Event, local: Option<NaiveDate>, ms: u64) {
    let date = local.unwrap_or_else(|| event.at().date_naive());
    *summary.active_days.entry(date).or_default() += ms;
    summary.last_active_ms = Some(
        summary
            .last_active_ms
            .map_or(event.at_ms, |l| l.max(event.at_ms)),
    );
}

/// What a learner's home screen shows about their own engagement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct HomeMetrics {
    pub active_days_7: u32,
    pub active_days_14: u32,
    pub active_days_30: u32,
    /// Minutes spent answering in the last 30 days.
    pub minutes_30: f64,
    pub modules_completed: u32,
    /// Share of reinforcement answers that were right, when there were any.
    pub recall: Option<f64>,
}

impl LearnerSummary {
    /// Active local days in the `days` days ending on `today`.
    pub fn active_days_within(&self, today: NaiveDate, days: i64) -> u32 {
        let from = today - chrono::Duration::days(days - 1);
        self.active_days.range(from..=today).count() as u32
    }

    pub fn home(&self, today: NaiveDate) -> HomeMetrics {
        let from = today - chrono::Duration::days(29);
        let ms: u64 = self.active_days.range(from..=today).map(|(_, ms)| ms).sum();
        HomeMetrics {
            active_days_7: self.active_days_within(today, 7),
            active_days_14: self.active_days_within(today, 14),
            active_days_30: self.active_days_within(today, 30),
            minutes_30: round1(ms as f64 / 60_000.0),
            modules_completed: self.modules_completed.len() as u32,
            recall: (self.reinforcement_answers > 0)
                .then(|| self.reinforcement_right as f64 / self.reinforcement_answers as f64),
        }
    }
}

pub(super) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
