//! Skill mastery in [0, 1] from the evidence, and the Elo-style ratings behind desirable
//! difficulty.
//!
//! The evidence for a skill is every card tagged with it: how likely the learner is to recall it
//! now (FSRS retrievability, which also carries recency), how well they answered it (a recent-
//! weighted credit), and how hard the item is (its rating: harder items weigh more). A prior of
//! half an item keeps a single right answer from reading as full mastery. Reads only.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::schedule::Scheduler;

/// Weight of the empty prior in the mastery average, in items.
pub const PRIOR_WEIGHT: f64 = 0.5;
/// Step size of the Elo-style updates.
pub const ELO_STEP: f64 = 0.3;
/// The band of expected success that keeps practice desirably difficult.
pub const TARGET_SUCCESS: (f64, f64) = (0.70, 0.85);

/// One card's contribution to a skill's mastery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Evidence {
    pub step: String,
    /// Probability of recall now.
    pub recall: f64,
    /// Recent-weighted credit of the learner's answers to this item.
    pub credit: f64,
    /// Elo-style difficulty of the item (0 is average).
    pub item_rating: f64,
    pub weight: f64,
    pub last_review_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SkillMastery {
    pub skill: String,
    pub mastery: f64,
    pub evidence: Vec<Evidence>,
}

pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Expected success of a learner of `ability` on an item of `rating`.
pub fn expected_success(ability: f64, rating: f64) -> f64 {
    logistic(ability - rating)
}

/// The mastery of `skill` in `course` at `now_ms`, with the evidence behind it.
pub fn skill_mastery(
    conn: &Connection,
    scheduler: &Scheduler,
    course: &str,
    skill: &str,
    now_ms: i64,
) -> rusqlite::Result<SkillMastery> {
    // The skill's steps first (CROSS JOIN fixes SQLite's join order), then their cards: driven
    // from the cards, the query reads every card of the course.
    let mut statement = conn.prepare_cached(
        "SELECT c.step, c.stability, c.last_review_ms, c.credit_avg, c.item_rating
         FROM step_skills s CROSS JOIN cards c ON c.course = s.course_id AND c.step = s.step_id
         WHERE s.course_id = ?1 AND s.skill_id = ?2 ORDER BY s.step_id",
    )?;
    let evidence = statement
        .query_map(params![course, skill], |row| {
            let stability: f64 = row.get(1)?;
            let last_review_ms: i64 = row.get(2)?;
            let item_rating: f64 = row.get(4)?;
            Ok(Evidence {
                step: row.get(0)?,
                recall: f64::from(scheduler.retrievability(
                    stability as f32,
                    last_review_ms,
                    now_ms,
                )),
                credit: row.get(3)?,
                item_rating,
                weight: 1.0 + logistic(item_rating),
                last_review_ms,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let weighted: f64 = evidence
        .iter()
        .map(|e| e.weight * e.recall * e.credit)
        .sum();
    let weights: f64 = evidence.iter().map(|e| e.weight).sum();
    Ok(SkillMastery {
        skill: skill.to_string(),
        mastery: weighted / (weights + PRIOR_WEIGHT),
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_average_learner_on_an_average_item_succeeds_half_the_time() {
        assert!((expected_success(0.0, 0.0) - 0.5).abs() < 1e-12);
        assert!(expected_success(1.0, 0.0) > 0.7);
        assert!(expected_success(0.0, 1.0) < 0.3);
    }
}
