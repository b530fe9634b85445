//! Aggregates over learners' summaries for the L&D team: active learners, completion, stage
//! funnels, mastery distributions, nudge rates, interventions and who is at risk.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::interventions::{InterventionOutcomes, Standing};
use super::summary::{round1, Enrolment, LearnerSummary, DAY_MS};
use crate::events::{NudgeKind, NudgeOutcome};

/// A learner inactive for this many days is at risk.
pub const INACTIVE_DAYS: i64 = 7;
/// How many daily counts the activity series holds.
pub const SERIES_DAYS: i64 = 90;
/// Mastery histogram buckets: [0, 0.2), [0.2, 0.4), ... [0.8, 1].
pub const MASTERY_BUCKETS: usize = 5;

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
        let mut interventions = InterventionOutcomes::new();
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
                if interventions.count(intervention, now_ms) == Standing::Missed {
                    overdue_here.push(intervention.module.clone());
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
