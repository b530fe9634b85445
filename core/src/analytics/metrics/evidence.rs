//! The evidence behind each skill of a learner's summary: answers to the skill's items, the
//! stage checks that measured it and passed, the peers' ratings of the learner's answers, and
//! when the learner last demonstrated it.
//!
//! Folded with the summary ([`super::summarise`]) from the same replay, so the device and the
//! server that hold the same events state the same evidence. "Demonstrated" means a right answer
//! to an item tagged with the skill, or a passed stage check that measured it; a partial or wrong
//! answer, a lesson viewed or a peer's rating is evidence but demonstrates nothing by itself.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::events::{Event, EventKind, Outcome};
use crate::learn::projection::StageCheckResult;

/// What the learner's events say about one skill.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SkillEvidence {
    /// Answers to items tagged with the skill, and how many were right.
    pub answers: u32,
    pub right: u32,
    /// Distinct items of the skill answered at least once.
    pub items: u32,
    pub first_answer_ms: Option<i64>,
    pub last_answer_ms: Option<i64>,
    pub last_right_ms: Option<i64>,
    /// Every passed stage check that measured the skill, in the order they passed.
    pub checks: Vec<CheckEvidence>,
    /// Peers' ratings of the learner's shared answers to the skill's items (once per reviewer
    /// and answer) and their mean credit in [0, 1].
    pub peer_ratings: u32,
    pub peer_mean_credit: Option<f64>,
}

/// A passed stage check, with the skill's mastery as the check measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct CheckEvidence {
    pub path: String,
    pub stage: String,
    pub at_ms: i64,
    pub mastery: f64,
}

impl SkillEvidence {
    /// When the skill was last demonstrated: the later of its last right answer and its last
    /// passed stage check.
    pub fn last_demonstrated_ms(&self) -> Option<i64> {
        self.checks
            .iter()
            .map(|c| c.at_ms)
            .chain(self.last_right_ms)
            .max()
    }

    /// The best mastery a passed stage check measured, if any.
    pub fn best_checked(&self) -> Option<f64> {
        self.checks.iter().map(|c| c.mastery).reduce(f64::max)
    }
}

/// The fold: events in the log's total order, each stage check as the replay derived it.
#[derive(Debug, Default)]
pub(super) struct EvidenceFold {
    by_skill: BTreeMap<(String, String), SkillEvidence>,
    items_seen: BTreeSet<(String, String, String)>,
    /// `(course, skill)` → the peers' credit summed; the `(share, reviewer)` pairs counted.
    credit_sums: BTreeMap<(String, String), f64>,
    ratings_seen: BTreeSet<(String, String)>,
}

impl EvidenceFold {
    /// Folds one event; `skills_of` names the skills a course's step is tagged with.
    pub(super) fn event<'s>(
        &mut self,
        event: &Event,
        skills_of: impl Fn(&str, &str) -> &'s [String],
    ) {
        match &event.kind {
            EventKind::ItemAnswered {
                course,
                step,
                outcome,
                ..
            } => {
                for skill in skills_of(course, step) {
                    let key = (course.clone(), skill.clone());
                    let first_time =
                        self.items_seen
                            .insert((course.clone(), skill.clone(), step.clone()));
                    let evidence = self.by_skill.entry(key).or_default();
                    evidence.answers += 1;
                    evidence.items += u32::from(first_time);
                    evidence.first_answer_ms.get_or_insert(event.at_ms);
                    evidence.last_answer_ms = Some(event.at_ms);
                    if *outcome == Outcome::Right {
                        evidence.right += 1;
                        evidence.last_right_ms = Some(event.at_ms);
                    }
                }
            }
            EventKind::PeerRated {
                course,
                step,
                share,
                reviewer,
                credit,
                ..
            } => {
                if !self.ratings_seen.insert((share.clone(), reviewer.clone())) {
                    return;
                }
                for skill in skills_of(course, step) {
                    let key = (course.clone(), skill.clone());
                    *self.credit_sums.entry(key.clone()).or_default() += credit.clamp(0.0, 1.0);
                    self.by_skill.entry(key).or_default().peer_ratings += 1;
                }
            }
            _ => {}
        }
    }

    /// Folds a stage check of `course` completed at `at_ms`.
    pub(super) fn check(&mut self, course: &str, check: &StageCheckResult, at_ms: i64) {
        if !check.passed {
            return;
        }
        for score in &check.skills {
            self.by_skill
                .entry((course.to_string(), score.skill.clone()))
                .or_default()
                .checks
                .push(CheckEvidence {
                    path: check.path.clone(),
                    stage: check.stage.clone(),
                    at_ms,
                    mastery: score.mastery,
                });
        }
    }

    /// The evidence of `(course, skill)` (empty if there is none).
    pub(super) fn take(&mut self, course: &str, skill: &str) -> SkillEvidence {
        let key = (course.to_string(), skill.to_string());
        let mut evidence = self.by_skill.remove(&key).unwrap_or_default();
        if evidence.peer_ratings > 0 {
            let sum = self.credit_sums.get(&key).copied().unwrap_or(0.0);
            evidence.peer_mean_credit = Some(sum / f64::from(evidence.peer_ratings));
        }
        evidence
    }
}
