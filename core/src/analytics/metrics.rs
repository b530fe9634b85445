//! Engagement metrics, computed from events alone, in learners' own calendar days.
//!
//! [`summarise`] folds one learner's events (replayed through the engine's rules, so module
//! completions, stage checks and mastery are what the devices derived) into a
//! [`LearnerSummary`]: the small record the server keeps per learner and updates when their
//! events change. [`Cohort::of`] aggregates summaries across learners for the L&D team:
//! active learners over 1, 7, 14 and 30 days, module and path completion, stage pass rates and
//! time to unlock, mastery distributions per skill, nudge delivery and open rates, and who is
//! at risk with the reason. A learner's own home screen reads [`HomeMetrics`].
//!
//! Days are the learner's local dates: an answer carries the date on the learner's calendar
//! when it was given, so "active on Monday" means Monday where the learner was.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{Event, EventKind, NudgeKind, NudgeOutcome, Outcome};
use crate::learn::projection::{self, ProjectionError};
use crate::store::Store;

const DAY_MS: i64 = 86_400_000;
/// A learner inactive for this many days is at risk.
pub const INACTIVE_DAYS: i64 = 7;
/// How many daily counts the activity series holds.
pub const SERIES_DAYS: i64 = 90;
/// Mastery histogram buckets: [0, 0.2), [0.2, 0.4), ... [0.8, 1].
pub const MASTERY_BUCKETS: usize = 5;

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterventionRecord {
    pub id: String,
    pub course: Option<String>,
    pub module: String,
    pub at_ms: i64,
    pub deadline_ms: i64,
    /// When the module was completed after the intervention, if it was.
    pub done_ms: Option<i64>,
}

/// The course facts a summary needs: each path's stages in order, and each course's skills
/// and threshold.
struct CourseFacts {
    paths: BTreeMap<String, Vec<String>>,
    skills: Vec<String>,
    threshold: f64,
}

fn course_facts(store: &Store, course: &str) -> Result<Option<CourseFacts>, MetricsError> {
    let conn = store.conn();
    let threshold: Option<f64> = rusqlite::OptionalExtension::optional(conn.query_row(
        "SELECT mastery_threshold FROM courses WHERE id = ?1",
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
    Ok(Some(CourseFacts {
        paths,
        skills,
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
    let mut best_checked: BTreeMap<(String, String), f64> = BTreeMap::new();
    let (_, measured) = projection::replay_measuring(
        content.conn(),
        ordered.iter().copied(),
        &skills,
        now_ms,
        |event, applied| {
            fold(&mut summary, &facts, &mut first_answer_day, event);
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
                if check.passed {
                    for score in &check.skills {
                        let best = best_checked
                            .entry((course.clone(), score.skill.clone()))
                            .or_insert(score.mastery);
                        *best = best.max(score.mastery);
                    }
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
        let best = best_checked.get(&(course.clone(), skill.clone())).copied();
        summary.skills.push(SkillRecord {
            course,
            skill,
            mastery,
            best_checked: best,
            threshold,
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
            ..
        } => summary.interventions.push(InterventionRecord {
            id: event.id.clone(),
            course: course.clone(),
            module: module.clone(),
            at_ms: event.at_ms,
            deadline_ms: *deadline_ms,
            done_ms: None,
        }),
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

/// Which learners and courses an aggregate covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub course: Option<String>,
    /// The path (the role) within the course.
    pub path: Option<String>,
    /// Only these learners (a cohort), when given.
    pub learners: Option<BTreeSet<String>>,
}

impl Filter {
    fn course_matches(&self, course: &str) -> bool {
        self.course.as_deref().is_none_or(|c| c == course)
    }

    fn enrolment_matches(&self, enrolment: &Enrolment) -> bool {
        self.course_matches(&enrolment.course)
            && self.path.as_deref().is_none_or(|p| p == enrolment.path)
    }

    /// Whether the learner belongs: in the cohort, and enrolled on the course and path asked.
    pub fn admits(&self, summary: &LearnerSummary) -> bool {
        if let Some(learners) = &self.learners {
            if !learners.contains(&summary.learner) {
                return false;
            }
        }
        if self.course.is_none() && self.path.is_none() {
            return true;
        }
        summary.enrolments.iter().any(|e| self.enrolment_matches(e))
    }
}

/// The numbers the dashboard's headline shows; every one is also in the JSON and CSV.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub learners: u64,
    pub daily_active: u64,
    pub weekly_active: u64,
    pub monthly_active: u64,
    pub active_14: u64,
    pub module_completion_rate: f64,
    pub path_completion_rate: f64,
    pub stage_pass_rate: f64,
    pub reinforcement_recall_rate: f64,
    pub nudge_open_rate: f64,
    pub at_risk: u64,
    pub minutes_per_active_learner: f64,
}

/// Per stage of a path: how many reached it, checks and passes, days to unlock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFunnel {
    pub course: String,
    pub path: String,
    pub stage: String,
    pub enrolled: u64,
    pub unlocked: u64,
    pub passed: u64,
    pub checks: u64,
    pub checks_passed: u64,
    pub pass_rate: f64,
    /// Median days from enrolment to this stage's unlock, over learners who unlocked it.
    pub median_days_to_unlock: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillDistribution {
    pub course: String,
    pub skill: String,
    pub learners: u64,
    pub mean: f64,
    /// Learners per mastery bucket: [0, 0.2), [0.2, 0.4), [0.4, 0.6), [0.6, 0.8), [0.8, 1].
    pub buckets: [u64; MASTERY_BUCKETS],
    pub at_or_above_threshold: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NudgeRates {
    pub kind: NudgeKind,
    pub scheduled: u64,
    pub delivered: u64,
    pub opened: u64,
    pub dismissed: u64,
    pub ignored: u64,
    pub missed: u64,
    /// Opened of delivered.
    pub open_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub active: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtRisk {
    pub learner: String,
    pub last_active_ms: Option<i64>,
    /// Why the learner is flagged, in words.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterventionOutcomes {
    pub triggered: u64,
    pub done_in_time: u64,
    pub done_late: u64,
    pub overdue: u64,
    pub open: u64,
}

/// Every metric over a set of learners, as of one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    pub as_of: NaiveDate,
    pub filter: Filter,
    pub summary: Summary,
    /// Active learners per day for the last [`SERIES_DAYS`] days, oldest first.
    pub activity: Vec<DayCount>,
    pub stages: Vec<StageFunnel>,
    pub skills: Vec<SkillDistribution>,
    pub nudges: Vec<NudgeRates>,
    pub interventions: InterventionOutcomes,
    pub at_risk: Vec<AtRisk>,
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

impl Cohort {
    /// The metrics of the summaries `filter` admits, as of `now` (the server's time; "today"
    /// is its UTC date, compared with learners' local dates).
    pub fn of<'s>(
        summaries: impl IntoIterator<Item = &'s LearnerSummary>,
        filter: &Filter,
        now: DateTime<Utc>,
    ) -> Cohort {
        let today = now.date_naive();
        let now_ms = now.timestamp_millis();
        // In learner order, so sums (and their rounding) never depend on the caller's order.
        let mut admitted: Vec<&LearnerSummary> =
            summaries.into_iter().filter(|s| filter.admits(s)).collect();
        admitted.sort_by(|a, b| a.learner.cmp(&b.learner));
        let mut summary = Summary {
            learners: admitted.len() as u64,
            ..Summary::default()
        };
        let mut started = 0u64;
        let mut completed = 0u64;
        let mut enrolled = 0u64;
        let mut finished = 0u64;
        let mut checks = 0u64;
        let mut checks_passed = 0u64;
        let mut recall = (0u64, 0u64);
        let mut minutes_30 = 0u64;
        let mut daily: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        let first_day = today - chrono::Duration::days(SERIES_DAYS - 1);
        let mut funnels: BTreeMap<(String, String, usize), StageFunnel> = BTreeMap::new();
        let mut unlock_days: BTreeMap<(String, String, usize), Vec<f64>> = BTreeMap::new();
        let mut skills: BTreeMap<(String, String), (SkillDistribution, f64)> = BTreeMap::new();
        let mut nudges: BTreeMap<NudgeKind, NudgeRates> = BTreeMap::new();
        let mut interventions = InterventionOutcomes {
            triggered: 0,
            done_in_time: 0,
            done_late: 0,
            overdue: 0,
            open: 0,
        };
        let mut at_risk = Vec::new();
        for learner in &admitted {
            let within = |days: i64| learner.active_days_within(today, days) > 0;
            summary.daily_active += u64::from(within(1));
            summary.weekly_active += u64::from(within(7));
            summary.active_14 += u64::from(within(14));
            summary.monthly_active += u64::from(within(30));
            for (date, ms) in learner.active_days.range(first_day..=today) {
                *daily.entry(*date).or_default() += 1;
                if *date > today - chrono::Duration::days(30) {
                    minutes_30 += ms;
                }
            }
            started += learner
                .modules_started
                .iter()
                .filter(|(c, _)| filter.course_matches(c))
                .count() as u64;
            completed += learner
                .modules_completed
                .keys()
                .filter(|(c, _)| filter.course_matches(c))
                .count() as u64;
            for enrolment in learner
                .enrolments
                .iter()
                .filter(|e| filter.enrolment_matches(e))
            {
                enrolled += 1;
                if !enrolment.stages.is_empty()
                    && enrolment.stages.iter().all(|s| s.passed_ms.is_some())
                {
                    finished += 1;
                }
                for (position, stage) in enrolment.stages.iter().enumerate() {
                    let key = (enrolment.course.clone(), enrolment.path.clone(), position);
                    let funnel = funnels.entry(key.clone()).or_insert_with(|| StageFunnel {
                        course: enrolment.course.clone(),
                        path: enrolment.path.clone(),
                        stage: stage.stage.clone(),
                        enrolled: 0,
                        unlocked: 0,
                        passed: 0,
                        checks: 0,
                        checks_passed: 0,
                        pass_rate: 0.0,
                        median_days_to_unlock: None,
                    });
                    funnel.enrolled += 1;
                    if let Some(unlocked) = stage.unlocked_ms {
                        funnel.unlocked += 1;
                        unlock_days
                            .entry(key)
                            .or_default()
                            .push((unlocked - enrolment.at_ms) as f64 / DAY_MS as f64);
                    }
                    funnel.passed += u64::from(stage.passed_ms.is_some());
                    for check in learner.checks.iter().filter(|c| {
                        c.course == enrolment.course
                            && c.path == enrolment.path
                            && c.stage == stage.stage
                    }) {
                        funnel.checks += 1;
                        funnel.checks_passed += u64::from(check.passed);
                        checks += 1;
                        checks_passed += u64::from(check.passed);
                    }
                }
            }
            recall.0 += learner.reinforcement_answers;
            recall.1 += learner.reinforcement_right;
            for skill in learner
                .skills
                .iter()
                .filter(|s| filter.course_matches(&s.course))
            {
                let (distribution, sum) = skills
                    .entry((skill.course.clone(), skill.skill.clone()))
                    .or_insert_with(|| {
                        (
                            SkillDistribution {
                                course: skill.course.clone(),
                                skill: skill.skill.clone(),
                                learners: 0,
                                mean: 0.0,
                                buckets: [0; MASTERY_BUCKETS],
                                at_or_above_threshold: 0,
                            },
                            0.0,
                        )
                    });
                distribution.learners += 1;
                *sum += skill.mastery;
                let bucket =
                    ((skill.mastery * MASTERY_BUCKETS as f64) as usize).min(MASTERY_BUCKETS - 1);
                distribution.buckets[bucket] += 1;
                distribution.at_or_above_threshold += u64::from(skill.mastery >= skill.threshold);
            }
            for ((kind, outcome), count) in &learner.nudges {
                let rates = nudges.entry(*kind).or_insert_with(|| NudgeRates {
                    kind: *kind,
                    scheduled: 0,
                    delivered: 0,
                    opened: 0,
                    dismissed: 0,
                    ignored: 0,
                    missed: 0,
                    open_rate: 0.0,
                });
                match outcome {
                    NudgeOutcome::Scheduled => rates.scheduled += count,
                    NudgeOutcome::Delivered => rates.delivered += count,
                    NudgeOutcome::Opened => rates.opened += count,
                    NudgeOutcome::Dismissed => rates.dismissed += count,
                    NudgeOutcome::Ignored => rates.ignored += count,
                    NudgeOutcome::Missed => rates.missed += count,
                }
            }
            let mut overdue_here = Vec::new();
            for intervention in learner
                .interventions
                .iter()
                .filter(|i| i.course.as_deref().is_none_or(|c| filter.course_matches(c)))
            {
                interventions.triggered += 1;
                match intervention.done_ms {
                    Some(done) if done <= intervention.deadline_ms => {
                        interventions.done_in_time += 1
                    }
                    Some(_) => interventions.done_late += 1,
                    None if intervention.deadline_ms < now_ms => {
                        interventions.overdue += 1;
                        overdue_here.push(intervention.module.clone());
                    }
                    None => interventions.open += 1,
                }
            }
            let reasons = risk_reasons(learner, filter, now_ms, &overdue_here);
            if !reasons.is_empty() {
                at_risk.push(AtRisk {
                    learner: learner.learner.clone(),
                    last_active_ms: learner.last_active_ms,
                    reasons,
                });
            }
        }
        let active_30 = summary.monthly_active;
        summary.module_completion_rate = rate(completed, started);
        summary.path_completion_rate = rate(finished, enrolled);
        summary.stage_pass_rate = rate(checks_passed, checks);
        summary.reinforcement_recall_rate = rate(recall.1, recall.0);
        let (opened, delivered) = nudges
            .values()
            .fold((0, 0), |(o, d), r| (o + r.opened, d + r.delivered));
        summary.nudge_open_rate = rate(opened, delivered);
        summary.at_risk = at_risk.len() as u64;
        summary.minutes_per_active_learner = if active_30 == 0 {
            0.0
        } else {
            round1(minutes_30 as f64 / 60_000.0 / active_30 as f64)
        };
        let activity = (0..SERIES_DAYS)
            .map(|i| {
                let date = first_day + chrono::Duration::days(i);
                DayCount {
                    date,
                    active: daily.get(&date).copied().unwrap_or(0),
                }
            })
            .collect();
        let stages = funnels
            .into_iter()
            .map(|(key, mut funnel)| {
                funnel.pass_rate = rate(funnel.checks_passed, funnel.checks);
                funnel.median_days_to_unlock = unlock_days
                    .get_mut(&key)
                    .and_then(|days| median(days))
                    .map(round1);
                funnel
            })
            .collect();
        let skills = skills
            .into_values()
            .map(|(mut distribution, sum)| {
                distribution.mean = sum / distribution.learners.max(1) as f64;
                distribution
            })
            .collect();
        let nudges = nudges
            .into_values()
            .map(|mut rates| {
                rates.open_rate = rate(rates.opened, rates.delivered);
                rates
            })
            .collect();
        at_risk.sort_by(|a, b| {
            a.last_active_ms
                .cmp(&b.last_active_ms)
                .then(a.learner.cmp(&b.learner))
        });
        Cohort {
            as_of: today,
            filter: filter.clone(),
            summary,
            activity,
            stages,
            skills,
            nudges,
            interventions,
            at_risk,
        }
    }
}

/// Why a learner is at risk: inactive for [`INACTIVE_DAYS`] or more, a skill fallen below the
/// threshold since a check measured it above, an intervention past its deadline undone.
fn risk_reasons(
    learner: &LearnerSummary,
    filter: &Filter,
    now_ms: i64,
    overdue: &[String],
) -> Vec<String> {
    let mut reasons = Vec::new();
    match learner.last_active_ms {
        Some(last) if now_ms - last >= INACTIVE_DAYS * DAY_MS => {
            reasons.push(format!("inactive for {} days", (now_ms - last) / DAY_MS))
        }
        None => reasons.push("never active".to_string()),
        _ => {}
    }
    for skill in learner
        .skills
        .iter()
        .filter(|s| filter.course_matches(&s.course))
    {
        if let Some(best) = skill.best_checked {
            if best >= skill.threshold && skill.mastery < skill.threshold {
                reasons.push(format!(
                    "mastery of {} fell from {:.2} to {:.2} (threshold {:.2})",
                    skill.skill, best, skill.mastery, skill.threshold
                ));
            }
        }
    }
    for module in overdue {
        reasons.push(format!("intervention on {module} is past its deadline"));
    }
    reasons
}
