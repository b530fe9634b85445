//! Scoring a learner's response to an assessment item, and the answer-free view the UI shows.
//!
//! [`assess`] checks that a [`Response`] has the right shape for its [`Item`] (kind, indices,
//! counts, a scenario path that ends exactly where the scenario ends) and turns it into an
//! [`Assessment`]: a credit in [0, 1], an [`Outcome`], the feedback the response triggered and the
//! item's explanation. [`item_view`] gives the UI everything a learner needs to answer and nothing
//! that gives the answer away. This module is pure: it never records events, never schedules,
//! never reads the clock, and never panics on a malformed response; it returns a
//! [`ResponseError`] instead.
//!
//! Scoring lives here, next to the types it speaks; the view lives in `view.rs` and is
//! re-exported, so callers name everything `learn::assess::...`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::content::items::{Interaction, Item};

mod view;

#[cfg(test)]
mod tests;

pub use view::{index_of, item_view, IndexedText, ItemView, ScenarioChoiceView, ScenarioNodeView};

/// The answer types are part of the event log's format; scoring reads them.
pub use crate::events::{Outcome, Response, SelfRating};

/// A numeric answer this far outside its tolerance still counts as inside it (floating-point
/// slack, not leniency); the same slack as credits near 0 or 1.
const EPSILON: f64 = crate::events::CREDIT_EPSILON;

/// The result of scoring one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Assessment {
    /// In [0, 1].
    pub credit: f64,
    pub outcome: Outcome,
    /// The feedback texts this response triggered, in the order to show them.
    pub feedback: Vec<String>,
    /// The item's explanation, always.
    pub explanation: String,
    /// The learner's own rating, for flashcards only.
    pub self_rating: Option<SelfRating>,
}

/// A response whose shape does not fit its item. Nothing is scored; the caller has a bug to fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseError {
    #[error(
        "this is a {item} item; the response was for a {response} item: send a {item} response"
    )]
    WrongKind { item: String, response: String },
    #[error(
        "{what} index {index} is out of range: this item's {what} indices are 0 to {}",
        count.saturating_sub(1)
    )]
    IndexOutOfRange {
        what: String,
        index: usize,
        count: usize,
    },
    #[error("the response has {found} {what} but this item needs {expected}: send exactly one per {per}")]
    WrongCount {
        what: String,
        per: String,
        expected: usize,
        found: usize,
    },
    #[error("option {index} is selected more than once: list each selected option once")]
    DuplicateChoice { index: usize },
    #[error("entry {index} is placed more than once, so the order is not a permutation of 0..{count}: list every entry index exactly once")]
    NotAPermutation { index: usize, count: usize },
    #[error("'{target}' is not one of this item's targets: send a target from the item view's `targets` list")]
    UnknownTarget { target: String },
    #[error("the numeric answer {value} is not a finite number: parse the learner's input and send a finite value")]
    NonFiniteNumber { value: f64 },
    #[error("scenario step {step} picks choice {choice} at node '{node}', which has {count} choices numbered 0 to {}", count.saturating_sub(1))]
    ScenarioMissingChoice {
        step: usize,
        node: String,
        choice: usize,
        count: usize,
    },
    #[error("the scenario path stops at node '{node}' after {steps} decision(s), before any ending: add the learner's choice at '{node}' and continue until a choice ends the scenario")]
    ScenarioPathStopsEarly { node: String, steps: usize },
    #[error("the choice at step {step} (node '{node}') ends the scenario, but the path has {extra} more step(s): cut the path after that step")]
    ScenarioPathPastEnding {
        step: usize,
        node: String,
        extra: usize,
    },
    #[error("scenario node '{node}' is missing from this item, so its key is inconsistent: rebuild the course pack")]
    ScenarioNodeMissing { node: String },
    #[error("the response has {found} criterion flag(s) but this item has {expected} criteria: send one flag per criterion, in authored order")]
    CriteriaCountMismatch { expected: usize, found: usize },
}

/// Scores `response` against `item`'s answer key.
pub fn assess(item: &Item, response: &Response) -> Result<Assessment, ResponseError> {
    let (credit, feedback, self_rating) = match (item.interaction(), response) {
        (Interaction::SingleChoice { choices }, Response::SingleChoice { choice }) => {
            let choice = *choice as usize;
            let picked = choices
                .get(choice)
                .ok_or_else(|| out_of_range("option", choice, choices.len()))?;
            let credit = if picked.correct { 1.0 } else { 0.0 };
            (credit, picked.feedback.iter().cloned().collect(), None)
        }
        (
            Interaction::MultipleResponse { choices },
            Response::MultipleResponse { choices: picked },
        ) => {
            let mut selected = vec![false; choices.len()];
            for index in picked.iter().map(|&index| index as usize) {
                let slot = selected
                    .get_mut(index)
                    .ok_or_else(|| out_of_range("option", index, choices.len()))?;
                if *slot {
                    return Err(ResponseError::DuplicateChoice { index });
                }
                *slot = true;
            }
            let matching = choices
                .iter()
                .zip(&selected)
                .filter(|(choice, selected)| choice.correct == **selected)
                .count();
            let feedback = choices
                .iter()
                .zip(&selected)
                .filter(|(_, selected)| **selected)
                .filter_map(|(choice, _)| choice.feedback.clone())
                .collect();
            (share(matching, choices.len()), feedback, None)
        }
        (
            Interaction::TrueFalse {
                answer,
                feedback_true,
                feedback_false,
            },
            Response::TrueFalse { answer: given },
        ) => {
            let credit = if answer == given { 1.0 } else { 0.0 };
            let feedback = if *given {
                feedback_true
            } else {
                feedback_false
            };
            (credit, feedback.iter().cloned().collect(), None)
        }
        (Interaction::FillBlanks { blanks, tolerate }, Response::FillBlanks { answers }) => {
            check_count("blank answers", "blank", blanks.len(), answers.len())?;
            let mut right = 0;
            let mut feedback = Vec::new();
            for (blank, answer) in blanks.iter().zip(answers) {
                let given = tolerate.normalize(answer);
                let accepted = !given.trim().is_empty()
                    && blank
                        .accepted
                        .iter()
                        .any(|alternative| tolerate.normalize(alternative) == given);
                if accepted {
                    right += 1;
                } else {
                    feedback.extend(blank.feedback.iter().cloned());
                }
            }
            (share(right, blanks.len()), feedback, None)
        }
        (Interaction::Ordering { entries }, Response::Ordering { order }) => {
            check_count("entry indices", "entry", entries.len(), order.len())?;
            let order: Vec<usize> = order.iter().map(|&index| index as usize).collect();
            let mut placed = vec![false; entries.len()];
            for &index in &order {
                let slot = placed
                    .get_mut(index)
                    .ok_or_else(|| out_of_range("entry", index, entries.len()))?;
                if *slot {
                    return Err(ResponseError::NotAPermutation {
                        index,
                        count: entries.len(),
                    });
                }
                *slot = true;
            }
            let pairs = order.len() * order.len().saturating_sub(1) / 2;
            let concordant = order
                .iter()
                .enumerate()
                .map(|(i, earlier)| {
                    order[i + 1..]
                        .iter()
                        .filter(|later| earlier < later)
                        .count()
                })
                .sum();
            let credit = share(concordant, pairs);
            // An entry is misplaced when it is not at its authored position; its feedback is
            // given in authored order, which reads as the right sequence.
            let mut misplaced = vec![false; entries.len()];
            for (position, &index) in order.iter().enumerate() {
                misplaced[index] = position != index;
            }
            let feedback = entries
                .iter()
                .zip(&misplaced)
                .filter(|(_, misplaced)| **misplaced)
                .filter_map(|(entry, _)| entry.feedback.clone())
                .collect();
            (credit, feedback, None)
        }
        (Interaction::Matching { pairs }, Response::Matching { targets }) => {
            check_count("targets", "pair", pairs.len(), targets.len())?;
            let known: BTreeSet<&str> = pairs.iter().map(|pair| pair.target.trim()).collect();
            if let Some(unknown) = targets.iter().find(|t| !known.contains(t.trim())) {
                return Err(ResponseError::UnknownTarget {
                    target: unknown.clone(),
                });
            }
            let mut right = 0;
            let mut feedback = Vec::new();
            for (pair, target) in pairs.iter().zip(targets) {
                if pair.target.trim() == target.trim() {
                    right += 1;
                } else {
                    feedback.extend(pair.feedback.iter().cloned());
                }
            }
            (share(right, pairs.len()), feedback, None)
        }
        (
            Interaction::Numeric {
                answer,
                tolerance,
                feedback_correct,
                feedback_low,
                feedback_high,
                ..
            },
            Response::Numeric { value },
        ) => {
            if !value.is_finite() {
                return Err(ResponseError::NonFiniteNumber { value: *value });
            }
            let (credit, feedback) = if (value - answer).abs() <= tolerance + EPSILON {
                (1.0, feedback_correct)
            } else if value < answer {
                (0.0, feedback_low)
            } else {
                (0.0, feedback_high)
            };
            (credit, feedback.iter().cloned().collect(), None)
        }
        (Interaction::Scenario { start, nodes }, Response::Scenario { path }) => {
            let mut node_id = start.as_str();
            let mut total = 0.0;
            let mut feedback = Vec::new();
            for (step, choice_index) in path.iter().map(|&index| index as usize).enumerate() {
                let node = nodes.iter().find(|n| n.id == node_id).ok_or_else(|| {
                    ResponseError::ScenarioNodeMissing {
                        node: node_id.to_string(),
                    }
                })?;
                let choice = node.choices.get(choice_index).ok_or_else(|| {
                    ResponseError::ScenarioMissingChoice {
                        step,
                        node: node.id.clone(),
                        choice: choice_index,
                        count: node.choices.len(),
                    }
                })?;
                total += choice.quality.credit();
                feedback.extend(choice.feedback.iter().cloned());
                match &choice.next {
                    Some(next) => node_id = next,
                    None if step + 1 < path.len() => {
                        return Err(ResponseError::ScenarioPathPastEnding {
                            step,
                            node: node.id.clone(),
                            extra: path.len() - step - 1,
                        })
                    }
                    None => return Ok(scored(item, total / path.len() as f64, feedback, None)),
                }
            }
            return Err(ResponseError::ScenarioPathStopsEarly {
                node: node_id.to_string(),
                steps: path.len(),
            });
        }
        (Interaction::Flashcard { .. }, Response::Flashcard { rating }) => {
            (rating.credit(), Vec::new(), Some(*rating))
        }
        (Interaction::Reflection { criteria }, Response::Reflection { criteria_met, .. })
        | (Interaction::Voice { criteria, .. }, Response::Voice { criteria_met, .. }) => {
            if criteria_met.len() != criteria.len() {
                return Err(ResponseError::CriteriaCountMismatch {
                    expected: criteria.len(),
                    found: criteria_met.len(),
                });
            }
            let met = criteria_met.iter().filter(|met| **met).count();
            (share(met, criteria.len()), Vec::new(), None)
        }
        (interaction, response) => {
            return Err(ResponseError::WrongKind {
                item: interaction.kind().label().to_string(),
                response: response.item_kind().label().to_string(),
            })
        }
    };
    Ok(scored(item, credit, feedback, self_rating))
}

fn scored(
    item: &Item,
    credit: f64,
    feedback: Vec<String>,
    self_rating: Option<SelfRating>,
) -> Assessment {
    let credit = credit.clamp(0.0, 1.0);
    Assessment {
        credit,
        outcome: Outcome::of_credit(credit),
        feedback,
        explanation: item.explanation().to_string(),
        self_rating,
    }
}

/// `part / whole`, with an empty whole counting as fully right.
fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn out_of_range(what: &str, index: usize, count: usize) -> ResponseError {
    ResponseError::IndexOutOfRange {
        what: what.to_string(),
        index,
        count,
    }
}

fn check_count(what: &str, per: &str, expected: usize, found: usize) -> Result<(), ResponseError> {
    if expected == found {
        Ok(())
    } else {
        Err(ResponseError::WrongCount {
            what: what.to_string(),
            per: per.to_string(),
            expected,
            found,
        })
    }
}
