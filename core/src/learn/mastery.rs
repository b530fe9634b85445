//! Skill mastery in [0, 1] from the evidence, and the Elo-style ratings behind desirable
//! difficulty.
//!
//! The evidence for a skill is every card tagged with it: how likely the learner is to recall it
//! now (FSRS retrievability, which also carries recency), how well they answered it (a recent-
//! weighted credit), and how hard the item is (its rating: harder items weigh more). A prior of
//! half an item keeps a single right answer from reading as full mastery. Pure functions: the
//! projections read the cards ([`crate::learn::projection::read::skill_mastery`]).

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

/// What a card says about a skill, as the projections hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct CardEvidence {
    pub step: String,
    pub stability: f32,
    pub last_review_ms: i64,
    pub credit_avg: f64,
    pub item_rating: f64,
}

/// The mastery of `skill` at `now_ms` from its cards (in step id order, which fixes the sum's
/// order), with the evidence behind it. A pure function: the projections read the cards.
pub fn measure(
    skill: &str,
    cards: impl IntoIterator<Item = CardEvidence>,
    scheduler: &Scheduler,
    now_ms: i64,
) -> SkillMastery {
    let evidence: Vec<Evidence> = cards
        .into_iter()
        .map(|card| Evidence {
            recall: f64::from(scheduler.retrievability(
                card.stability,
                card.last_review_ms,
                now_ms,
            )),
            credit: card.credit_avg,
            weight: 1.0 + logistic(card.item_rating),
            item_rating: card.item_rating,
            last_review_ms: card.last_review_ms,
            step: card.step,
        })
        .collect();
    let weighted: f64 = evidence
        .iter()
        .map(|e| e.weight * e.recall * e.credit)
        .sum();
    let weights: f64 = evidence.iter().map(|e| e.weight).sum();
    SkillMastery {
        skill: skill.to_string(),
        mastery: weighted / (weights + PRIOR_WEIGHT),
        evidence,
    }
}

/// [`measure`]'s mastery alone, without building the evidence: the same terms summed the same
/// way, so the same figure to the bit.
pub fn mastery_value(cards: &[CardEvidence], scheduler: &Scheduler, now_ms: i64) -> f64 {
    let weight = |card: &CardEvidence| 1.0 + logistic(card.item_rating);
    let weighted: f64 = cards
        .iter()
        .map(|card| {
            let recall =
                f64::from(scheduler.retrievability(card.stability, card.last_review_ms, now_ms));
            weight(card) * recall * card.credit_avg
        })
        .sum();
    let weights: f64 = cards.iter().map(weight).sum();
    weighted / (weights + PRIOR_WEIGHT)
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

    #[test]
    fn one_right_answer_is_not_full_mastery_and_no_cards_is_none() {
        let scheduler = Scheduler::new(None).unwrap();
        let card = CardEvidence {
            step: "q1".into(),
            stability: 10.0,
            last_review_ms: 0,
            credit_avg: 1.0,
            item_rating: 0.0,
        };
        let one = measure("s", [card], &scheduler, 0);
        // Weight 1.5 (an average item), recall 1 just after the review: 1.5 / (1.5 + 0.5).
        assert!((one.mastery - 0.75).abs() < 1e-9, "{}", one.mastery);
        assert_eq!(one.evidence.len(), 1);
        assert_eq!(measure("s", [], &scheduler, 0).mastery, 0.0);
    }
}
