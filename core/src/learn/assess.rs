//! Scoring a learner's response to an assessment item, and the answer-free view the UI shows.
//!
//! [`assess`] checks that a [`Response`] has the right shape for its [`Item`] (kind, indices,
//! counts, a scenario path that ends exactly where the scenario ends) and turns it into an
//! [`Assessment`]: a credit in [0, 1], an [`Outcome`], the feedback the response triggered and the
//! item's explanation. [`item_view`] gives the UI everything a learner needs to answer and nothing
//! that gives the answer away. This module is pure: it never records events, never schedules,
//! never reads the clock, and never panics on a malformed response; it returns a
//! [`ResponseError`] instead.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::content::items::{Interaction, Item};

/// Credits closer than this to 0 or 1 count as exactly 0 or 1, and a numeric answer this far
/// outside its tolerance still counts as inside it (floating-point slack, not leniency).
const EPSILON: f64 = 1e-9;

/// How well a learner recalled a flashcard, in their own judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfRating {
    Again,
    Hard,
    Good,
    Easy,
}

impl SelfRating {
    /// The credit a self-rating earns: Again 0, Hard 0.5, Good and Easy 1.
    pub fn credit(self) -> f64 {
        match self {
            SelfRating::Again => 0.0,
            SelfRating::Hard => 0.5,
            SelfRating::Good | SelfRating::Easy => 1.0,
        }
    }
}

/// What the learner answered. Indices refer to the item's authored order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Index of the chosen option.
    SingleChoice {
        choice: usize,
    },
    /// Indices of the selected options, in any order, each once.
    MultipleResponse {
        choices: Vec<usize>,
    },
    TrueFalse {
        answer: bool,
    },
    /// One answer per blank, in blank order.
    FillBlanks {
        answers: Vec<String>,
    },
    /// Authored entry indices in the order the learner placed them: a permutation of `0..n`.
    Ordering {
        order: Vec<usize>,
    },
    /// For each authored pair `i`, the target the learner put item `i` on.
    Matching {
        targets: Vec<String>,
    },
    Numeric {
        value: f64,
    },
    /// The choice index taken at each node, from the start node along `next` until a choice
    /// ends the scenario.
    Scenario {
        path: Vec<usize>,
    },
    Flashcard {
        rating: SelfRating,
    },
    /// The learner's text and, per criterion in authored order, whether they say they met it.
    Reflection {
        text: String,
        criteria_met: Vec<bool>,
    },
}

impl Response {
    /// The kind of item this response answers, as developers read it in error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Response::SingleChoice { .. } => "single-choice",
            Response::MultipleResponse { .. } => "multiple-response",
            Response::TrueFalse { .. } => "true/false",
            Response::FillBlanks { .. } => "fill-in-the-blanks",
            Response::Ordering { .. } => "ordering",
            Response::Matching { .. } => "matching",
            Response::Numeric { .. } => "numeric",
            Response::Scenario { .. } => "scenario",
            Response::Flashcard { .. } => "flashcard",
            Response::Reflection { .. } => "reflection",
        }
    }
}

/// The same vocabulary as [`Response::kind_name`], for the item side.
fn item_kind_name(interaction: &Interaction) -> &'static str {
    match interaction {
        Interaction::SingleChoice { .. } => "single-choice",
        Interaction::MultipleResponse { .. } => "multiple-response",
        Interaction::TrueFalse { .. } => "true/false",
        Interaction::FillBlanks { .. } => "fill-in-the-blanks",
        Interaction::Ordering { .. } => "ordering",
        Interaction::Matching { .. } => "matching",
        Interaction::Numeric { .. } => "numeric",
        Interaction::Scenario { .. } => "scenario",
        Interaction::Flashcard { .. } => "flashcard",
        Interaction::Reflection { .. } => "reflection",
    }
}

/// Right, partly right or wrong, derived from the credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Right,
    Partial,
    Wrong,
}

impl Outcome {
    /// Right at credit 1, Wrong at credit 0 (each within 1e-9), Partial in between.
    pub fn of_credit(credit: f64) -> Outcome {
        if credit >= 1.0 - EPSILON {
            Outcome::Right
        } else if credit <= EPSILON {
            Outcome::Wrong
        } else {
            Outcome::Partial
        }
    }
}

/// The result of scoring one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[error("the response has {found} criterion flag(s) but this reflection has {expected} criteria: send one flag per criterion, in authored order")]
    CriteriaCountMismatch { expected: usize, found: usize },
}

/// Scores `response` against `item`'s answer key.
pub fn assess(item: &Item, response: &Response) -> Result<Assessment, ResponseError> {
    let (credit, feedback, self_rating) = match (item.interaction(), response) {
        (Interaction::SingleChoice { choices }, Response::SingleChoice { choice }) => {
            let picked = choices
                .get(*choice)
                .ok_or_else(|| out_of_range("option", *choice, choices.len()))?;
            let credit = if picked.correct { 1.0 } else { 0.0 };
            (credit, picked.feedback.iter().cloned().collect(), None)
        }
        (
            Interaction::MultipleResponse { choices },
            Response::MultipleResponse { choices: picked },
        ) => {
            let mut selected = vec![false; choices.len()];
            for &index in picked {
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
            let mut placed = vec![false; entries.len()];
            for &index in order {
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
            for (step, &choice_index) in path.iter().enumerate() {
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
        (Interaction::Reflection { criteria }, Response::Reflection { criteria_met, .. }) => {
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
                item: item_kind_name(interaction).to_string(),
                response: response.kind_name().to_string(),
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

/// A piece of text with its authored index, which is what the response refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedText {
    pub index: usize,
    pub text: String,
}

/// A scenario node as the learner sees it: the situation and the choices, without their quality
/// or consequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioNodeView {
    pub id: String,
    pub situation: String,
    pub choices: Vec<ScenarioChoiceView>,
}

/// A scenario choice; `next` is the node it leads to, or `None` when it ends the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioChoiceView {
    pub text: String,
    pub next: Option<String>,
}

/// What the UI shows for an item before it is answered. It never carries an answer, a feedback
/// text or the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemView {
    /// Options in authored order; answer with the index.
    SingleChoice {
        prompt: String,
        choices: Vec<String>,
    },
    /// Options in authored order; answer with the selected indices.
    MultipleResponse {
        prompt: String,
        choices: Vec<String>,
    },
    TrueFalse {
        statement: String,
    },
    /// The prompt holds `{{1}}`, `{{2}}`, ... markers; `blanks` is how many answers to send.
    FillBlanks {
        prompt: String,
        blanks: usize,
    },
    /// Entries shuffled (never in the right order); answer with their indices in the chosen order.
    Ordering {
        prompt: String,
        entries: Vec<IndexedText>,
    },
    /// Items in authored order and every distinct target, sorted; answer with a target per item.
    Matching {
        prompt: String,
        items: Vec<IndexedText>,
        targets: Vec<String>,
    },
    Numeric {
        prompt: String,
        unit: Option<String>,
    },
    /// Start at `start`; each choice leads to `next` or ends the scenario.
    Scenario {
        prompt: String,
        start: String,
        nodes: Vec<ScenarioNodeView>,
    },
    Flashcard {
        front: String,
    },
    /// The prompt and the criteria the learner rates their own answer against.
    Reflection {
        prompt: String,
        criteria: Vec<String>,
    },
}

/// The answer-free view of `item` for the UI.
pub fn item_view(item: &Item) -> ItemView {
    let prompt = item.prompt().to_string();
    match item.interaction() {
        Interaction::SingleChoice { choices } => ItemView::SingleChoice {
            prompt,
            choices: choices.iter().map(|c| c.text.clone()).collect(),
        },
        Interaction::MultipleResponse { choices } => ItemView::MultipleResponse {
            prompt,
            choices: choices.iter().map(|c| c.text.clone()).collect(),
        },
        Interaction::TrueFalse { .. } => ItemView::TrueFalse { statement: prompt },
        Interaction::FillBlanks { blanks, .. } => ItemView::FillBlanks {
            prompt,
            blanks: blanks.len(),
        },
        Interaction::Ordering { entries } => ItemView::Ordering {
            entries: shuffled_indices(&prompt, entries.len())
                .into_iter()
                .map(|index| IndexedText {
                    index,
                    text: entries[index].text.clone(),
                })
                .collect(),
            prompt,
        },
        Interaction::Matching { pairs } => ItemView::Matching {
            prompt,
            items: pairs
                .iter()
                .enumerate()
                .map(|(index, pair)| IndexedText {
                    index,
                    text: pair.item.clone(),
                })
                .collect(),
            targets: pairs
                .iter()
                .map(|pair| pair.target.trim().to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        },
        Interaction::Numeric { unit, .. } => ItemView::Numeric {
            prompt,
            unit: unit.clone(),
        },
        Interaction::Scenario { start, nodes } => ItemView::Scenario {
            prompt,
            start: start.clone(),
            nodes: nodes
                .iter()
                .map(|node| ScenarioNodeView {
                    id: node.id.clone(),
                    situation: node.text.clone(),
                    choices: node
                        .choices
                        .iter()
                        .map(|choice| ScenarioChoiceView {
                            text: choice.text.clone(),
                            next: choice.next.clone(),
                        })
                        .collect(),
                })
                .collect(),
        },
        Interaction::Flashcard { .. } => ItemView::Flashcard { front: prompt },
        Interaction::Reflection { criteria } => ItemView::Reflection {
            prompt,
            criteria: criteria.clone(),
        },
    }
}

/// A permutation of `0..n` that depends only on `seed`: indices sorted by the SHA-256 of the
/// seed and the index. It is never the identity for `n >= 2` (an identity is rotated by one), so
/// an ordering item is never shown already solved.
fn shuffled_indices(seed: &str, n: usize) -> Vec<usize> {
    let key = |index: usize| {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(seed.as_bytes());
        context.update(&(index as u64).to_le_bytes());
        context.finish()
    };
    let mut keyed: Vec<(Vec<u8>, usize)> = (0..n)
        .map(|index| (key(index).as_ref().to_vec(), index))
        .collect();
    keyed.sort();
    let mut order: Vec<usize> = keyed.into_iter().map(|(_, index)| index).collect();
    if order
        .iter()
        .enumerate()
        .all(|(position, &index)| position == index)
    {
        order.rotate_left(1);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::items::{
        Blank, Choice, MatchPair, OrderEntry, Quality, ScenarioChoice, ScenarioNode, Tolerance,
    };

    const EXPLANATION: &str = "Why the key is what it is.";

    fn item(prompt: &str, interaction: Interaction) -> Item {
        Item::new(prompt.into(), EXPLANATION.into(), interaction).unwrap()
    }

    fn assert_credit(assessment: &Assessment, credit: f64, outcome: Outcome) {
        assert!(
            (assessment.credit - credit).abs() < 1e-12,
            "credit {} != {credit}",
            assessment.credit
        );
        assert_eq!(assessment.outcome, outcome);
    }

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    // ---- single choice ----

    fn single() -> Item {
        let option = |text: &str, correct: bool, feedback: &str| Choice {
            text: text.into(),
            correct,
            feedback: Some(feedback.into()),
        };
        item(
            "Which extinguisher is safe on an electrical fire?",
            Interaction::SingleChoice {
                choices: vec![
                    option("Water", false, "Water conducts electricity."),
                    option("CO2", true, "CO2 leaves no residue and does not conduct."),
                    option("Foam", false, "Foam is water-based."),
                ],
            },
        )
    }

    #[test]
    fn single_choice_picking_the_keyed_option_is_right_with_its_feedback_and_the_explanation() {
        let a = assess(&single(), &Response::SingleChoice { choice: 1 }).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
        assert_eq!(
            a.feedback,
            strings(&["CO2 leaves no residue and does not conduct."])
        );
        assert_eq!(a.explanation, EXPLANATION);
        assert_eq!(a.self_rating, None);
    }

    #[test]
    fn single_choice_picking_another_option_is_wrong_with_that_options_feedback() {
        let a = assess(&single(), &Response::SingleChoice { choice: 0 }).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(a.feedback, strings(&["Water conducts electricity."]));
        assert_eq!(a.explanation, EXPLANATION);
    }

    #[test]
    fn single_choice_index_past_the_last_option_is_refused() {
        let err = assess(&single(), &Response::SingleChoice { choice: 3 }).unwrap_err();
        assert_eq!(
            err,
            ResponseError::IndexOutOfRange {
                what: "option".into(),
                index: 3,
                count: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "option index 3 is out of range: this item's option indices are 0 to 2"
        );
    }

    // ---- multiple response ----

    fn multiple() -> Item {
        let option = |text: &str, correct: bool| Choice {
            text: text.into(),
            correct,
            feedback: Some(format!("About {text}.")),
        };
        item(
            "Which belong in a first-aid kit?",
            Interaction::MultipleResponse {
                choices: vec![
                    option("Gloves", true),
                    option("Matches", false),
                    option("Bandages", true),
                    option("Perfume", false),
                ],
            },
        )
    }

    #[test]
    fn multiple_response_selecting_exactly_the_keyed_options_is_right() {
        let a = assess(
            &multiple(),
            &Response::MultipleResponse {
                choices: vec![2, 0],
            },
        )
        .unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
    }

    #[test]
    fn multiple_response_credits_each_option_whose_state_matches_the_key() {
        // Gloves selected (match), Matches unselected (match), Bandages missed, Perfume unselected.
        let a = assess(
            &multiple(),
            &Response::MultipleResponse { choices: vec![0] },
        )
        .unwrap();
        assert_credit(&a, 0.75, Outcome::Partial);
    }

    #[test]
    fn multiple_response_gives_the_feedback_of_selected_options_in_authored_order() {
        let a = assess(
            &multiple(),
            &Response::MultipleResponse {
                choices: vec![1, 0],
            },
        )
        .unwrap();
        assert_credit(&a, 0.5, Outcome::Partial);
        assert_eq!(a.feedback, strings(&["About Gloves.", "About Matches."]));
    }

    #[test]
    fn multiple_response_selecting_exactly_the_wrong_options_is_wrong() {
        let a = assess(
            &multiple(),
            &Response::MultipleResponse {
                choices: vec![1, 3],
            },
        )
        .unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
    }

    #[test]
    fn multiple_response_selecting_an_option_twice_is_refused() {
        let err = assess(
            &multiple(),
            &Response::MultipleResponse {
                choices: vec![0, 2, 0],
            },
        )
        .unwrap_err();
        assert_eq!(err, ResponseError::DuplicateChoice { index: 0 });
    }

    #[test]
    fn multiple_response_index_past_the_last_option_is_refused() {
        let err = assess(
            &multiple(),
            &Response::MultipleResponse { choices: vec![4] },
        )
        .unwrap_err();
        assert_eq!(
            err,
            ResponseError::IndexOutOfRange {
                what: "option".into(),
                index: 4,
                count: 4
            }
        );
    }

    // ---- true/false ----

    fn true_false() -> Item {
        item(
            "You should move a casualty with a suspected spinal injury.",
            Interaction::TrueFalse {
                answer: false,
                feedback_true: Some("Moving them risks paralysis.".into()),
                feedback_false: Some("Keep them still unless there is danger.".into()),
            },
        )
    }

    #[test]
    fn true_false_matching_the_key_is_right_with_the_feedback_for_that_answer() {
        let a = assess(&true_false(), &Response::TrueFalse { answer: false }).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
        assert_eq!(
            a.feedback,
            strings(&["Keep them still unless there is danger."])
        );
    }

    #[test]
    fn true_false_against_the_key_is_wrong_with_the_feedback_for_that_answer() {
        let a = assess(&true_false(), &Response::TrueFalse { answer: true }).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(a.feedback, strings(&["Moving them risks paralysis."]));
    }

    #[test]
    fn a_response_for_another_kind_is_refused_naming_both_kinds() {
        let err = assess(&true_false(), &Response::Numeric { value: 1.0 }).unwrap_err();
        assert_eq!(
            err,
            ResponseError::WrongKind {
                item: "true/false".into(),
                response: "numeric".into()
            }
        );
        assert!(err
            .to_string()
            .starts_with("this is a true/false item; the response was for a numeric item"));
    }

    // ---- fill in the blanks ----

    fn blanks(tolerate: Tolerance) -> Item {
        let blank = |accepted: &[&str], feedback: &str| Blank {
            accepted: strings(accepted),
            feedback: Some(feedback.into()),
        };
        item(
            "For choking, give back blows, then the {{1}} manoeuvre, up to {{2}} times.",
            Interaction::FillBlanks {
                blanks: vec![
                    blank(
                        &["Heimlich", "abdominal thrust"],
                        "It is named after Henry Heimlich.",
                    ),
                    blank(&["five", "5"], "Five, matching the back blows."),
                ],
                tolerate,
            },
        )
    }

    fn fill(item: &Item, answers: &[&str]) -> Result<Assessment, ResponseError> {
        assess(
            item,
            &Response::FillBlanks {
                answers: strings(answers),
            },
        )
    }

    #[test]
    fn fill_blanks_with_accepted_alternatives_is_right() {
        let a = fill(&blanks(Tolerance::default()), &["abdominal thrust", "5"]).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
        assert!(a.feedback.is_empty());
    }

    #[test]
    fn fill_blanks_credits_the_share_of_right_blanks_with_feedback_for_the_wrong_ones() {
        let a = fill(&blanks(Tolerance::default()), &["Heimlich", "three"]).unwrap();
        assert_credit(&a, 0.5, Outcome::Partial);
        assert_eq!(a.feedback, strings(&["Five, matching the back blows."]));
    }

    #[test]
    fn fill_blanks_with_no_accepted_answer_is_wrong() {
        let a = fill(&blanks(Tolerance::default()), &["recovery", ""]).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(
            a.feedback,
            strings(&[
                "It is named after Henry Heimlich.",
                "Five, matching the back blows."
            ])
        );
    }

    #[test]
    fn fill_blanks_with_the_wrong_number_of_answers_is_refused() {
        let err = fill(&blanks(Tolerance::default()), &["Heimlich"]).unwrap_err();
        assert_eq!(
            err,
            ResponseError::WrongCount {
                what: "blank answers".into(),
                per: "blank".into(),
                expected: 2,
                found: 1
            }
        );
    }

    #[test]
    fn fill_blanks_folds_case_and_whitespace_by_default() {
        let a = fill(&blanks(Tolerance::default()), &["  HEIMLICH ", "Five"]).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
    }

    #[test]
    fn fill_blanks_accepts_a_stray_accent_only_when_diacritics_are_tolerated() {
        let lenient = Tolerance {
            diacritics: true,
            ..Tolerance::default()
        };
        let a = fill(&blanks(lenient), &["héimlich", "5"]).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
        let a = fill(&blanks(Tolerance::default()), &["héimlich", "5"]).unwrap();
        assert_credit(&a, 0.5, Outcome::Partial);
    }

    #[test]
    fn fill_blanks_with_no_tolerance_requires_the_exact_text() {
        let strict = Tolerance {
            case: false,
            whitespace: false,
            diacritics: false,
        };
        let a = fill(&blanks(strict), &["heimlich", "5 "]).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
    }

    // ---- ordering ----

    fn ordering() -> Item {
        let entry = |text: &str| OrderEntry {
            text: text.into(),
            feedback: Some(format!("{text} goes here.")),
        };
        item(
            "Put the steps of CPR in order.",
            Interaction::Ordering {
                entries: vec![
                    entry("Check danger"),
                    entry("Check response"),
                    entry("Call for help"),
                    entry("Start compressions"),
                ],
            },
        )
    }

    fn order(indices: &[usize]) -> Result<Assessment, ResponseError> {
        assess(
            &ordering(),
            &Response::Ordering {
                order: indices.to_vec(),
            },
        )
    }

    #[test]
    fn ordering_in_the_authored_order_is_right() {
        let a = order(&[0, 1, 2, 3]).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
        assert!(a.feedback.is_empty());
    }

    #[test]
    fn ordering_credits_the_share_of_pairs_in_the_right_relative_order() {
        let a = order(&[0, 2, 1, 3]).unwrap();
        assert_credit(&a, 5.0 / 6.0, Outcome::Partial);
        assert_eq!(
            a.feedback,
            strings(&["Check response goes here.", "Call for help goes here."])
        );
    }

    #[test]
    fn ordering_reversed_is_wrong() {
        let a = order(&[3, 2, 1, 0]).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(a.feedback.len(), 4);
    }

    #[test]
    fn ordering_that_places_an_entry_twice_is_refused() {
        assert_eq!(
            order(&[0, 1, 1, 3]).unwrap_err(),
            ResponseError::NotAPermutation { index: 1, count: 4 }
        );
    }

    #[test]
    fn ordering_with_a_missing_entry_or_an_unknown_index_is_refused() {
        assert_eq!(
            order(&[0, 1, 2]).unwrap_err(),
            ResponseError::WrongCount {
                what: "entry indices".into(),
                per: "entry".into(),
                expected: 4,
                found: 3
            }
        );
        assert_eq!(
            order(&[0, 1, 2, 4]).unwrap_err(),
            ResponseError::IndexOutOfRange {
                what: "entry".into(),
                index: 4,
                count: 4
            }
        );
    }

    // ---- matching ----

    fn matching(pairs: &[(&str, &str)]) -> Item {
        item(
            "Match each sign to its meaning.",
            Interaction::Matching {
                pairs: pairs
                    .iter()
                    .map(|(i, t)| MatchPair {
                        item: (*i).into(),
                        target: (*t).into(),
                        feedback: Some(format!("{i} means {t}.")),
                    })
                    .collect(),
            },
        )
    }

    fn signs() -> Item {
        matching(&[
            ("Red circle", "Prohibition"),
            ("Yellow triangle", "Warning"),
            ("Blue circle", "Mandatory"),
        ])
    }

    fn put_on(item: &Item, targets: &[&str]) -> Result<Assessment, ResponseError> {
        assess(
            item,
            &Response::Matching {
                targets: strings(targets),
            },
        )
    }

    #[test]
    fn matching_every_item_to_its_target_is_right_ignoring_surrounding_spaces() {
        let a = put_on(&signs(), &["Prohibition", " Warning ", "Mandatory"]).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
    }

    #[test]
    fn matching_credits_the_share_of_right_pairs_with_feedback_for_the_wrong_ones() {
        let a = put_on(&signs(), &["Prohibition", "Mandatory", "Warning"]).unwrap();
        assert_credit(&a, 1.0 / 3.0, Outcome::Partial);
        assert_eq!(
            a.feedback,
            strings(&[
                "Yellow triangle means Warning.",
                "Blue circle means Mandatory."
            ])
        );
    }

    #[test]
    fn matching_with_no_right_pair_is_wrong() {
        let a = put_on(&signs(), &["Warning", "Mandatory", "Prohibition"]).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
    }

    #[test]
    fn matching_with_a_target_per_item_missing_is_refused() {
        assert_eq!(
            put_on(&signs(), &["Prohibition", "Warning"]).unwrap_err(),
            ResponseError::WrongCount {
                what: "targets".into(),
                per: "pair".into(),
                expected: 3,
                found: 2
            }
        );
    }

    #[test]
    fn matching_to_a_target_the_item_does_not_have_is_refused() {
        assert_eq!(
            put_on(&signs(), &["Prohibition", "warning", "Mandatory"]).unwrap_err(),
            ResponseError::UnknownTarget {
                target: "warning".into()
            }
        );
    }

    #[test]
    fn matching_into_categories_credits_each_item_in_its_category() {
        let sorting = matching(&[
            ("Bleach", "Hazardous"),
            ("Paint thinner", "Hazardous"),
            ("Cardboard", "Recyclable"),
            ("Glass jar", "Recyclable"),
        ]);
        let a = put_on(
            &sorting,
            &["Hazardous", "Recyclable", "Recyclable", "Recyclable"],
        )
        .unwrap();
        assert_credit(&a, 0.75, Outcome::Partial);
        assert_eq!(a.feedback, strings(&["Paint thinner means Hazardous."]));
    }

    // ---- numeric ----

    fn numeric(answer: f64, tolerance: f64) -> Item {
        item(
            "Compressions per minute in adult CPR?",
            Interaction::Numeric {
                answer,
                tolerance,
                unit: Some("per minute".into()),
                feedback_correct: Some("That is the recommended rate.".into()),
                feedback_low: Some("Too slow to circulate blood.".into()),
                feedback_high: Some("Too fast for the chest to refill.".into()),
            },
        )
    }

    fn answer(item: &Item, value: f64) -> Result<Assessment, ResponseError> {
        assess(item, &Response::Numeric { value })
    }

    #[test]
    fn numeric_within_tolerance_is_right_with_the_correct_feedback() {
        let a = answer(&numeric(110.0, 10.0), 104.0).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
        assert_eq!(a.feedback, strings(&["That is the recommended rate."]));
    }

    #[test]
    fn numeric_below_the_range_is_wrong_with_the_low_feedback() {
        let a = answer(&numeric(110.0, 10.0), 99.0).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(a.feedback, strings(&["Too slow to circulate blood."]));
    }

    #[test]
    fn numeric_above_the_range_is_wrong_with_the_high_feedback() {
        let a = answer(&numeric(110.0, 10.0), 120.5).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(a.feedback, strings(&["Too fast for the chest to refill."]));
    }

    #[test]
    fn numeric_tolerance_includes_both_edges() {
        let rate = numeric(110.0, 10.0);
        assert_eq!(answer(&rate, 100.0).unwrap().outcome, Outcome::Right);
        assert_eq!(answer(&rate, 120.0).unwrap().outcome, Outcome::Right);
        assert_eq!(answer(&rate, 120.000_001).unwrap().outcome, Outcome::Wrong);
        assert_eq!(answer(&rate, 99.999_999).unwrap().outcome, Outcome::Wrong);
    }

    #[test]
    fn numeric_tolerance_absorbs_floating_point_error_at_the_edge() {
        // 0.4 - 0.3 is 0.10000000000000003 in f64: still on the edge, so right.
        let dose = numeric(0.3, 0.1);
        assert_eq!(answer(&dose, 0.4).unwrap().outcome, Outcome::Right);
        assert_eq!(answer(&dose, 0.2).unwrap().outcome, Outcome::Right);
    }

    #[test]
    fn numeric_with_zero_tolerance_needs_the_exact_value() {
        let exact = numeric(112.0, 0.0);
        assert_eq!(answer(&exact, 112.0).unwrap().outcome, Outcome::Right);
        assert_eq!(answer(&exact, 112.01).unwrap().outcome, Outcome::Wrong);
    }

    #[test]
    fn numeric_value_that_is_not_finite_is_refused() {
        let rate = numeric(110.0, 10.0);
        assert!(matches!(
            answer(&rate, f64::NAN).unwrap_err(),
            ResponseError::NonFiniteNumber { value } if value.is_nan()
        ));
        assert_eq!(
            answer(&rate, f64::INFINITY).unwrap_err(),
            ResponseError::NonFiniteNumber {
                value: f64::INFINITY
            }
        );
    }

    // ---- scenario ----

    fn scenario() -> Item {
        let choice = |text: &str, quality: Quality, next: Option<&str>| ScenarioChoice {
            text: text.into(),
            quality,
            next: next.map(String::from),
            feedback: Some(format!("You chose to {text}.")),
        };
        item(
            "A customer collapses in the shop.",
            Interaction::Scenario {
                start: "collapse".into(),
                nodes: vec![
                    ScenarioNode {
                        id: "collapse".into(),
                        text: "They are on the floor, not moving.".into(),
                        choices: vec![
                            choice("check for danger", Quality::Best, Some("safe")),
                            choice("shake them hard", Quality::Ok, Some("safe")),
                            choice("walk away", Quality::Poor, None),
                        ],
                    },
                    ScenarioNode {
                        id: "safe".into(),
                        text: "The area is safe; they do not respond.".into(),
                        choices: vec![
                            choice("call for help", Quality::Best, None),
                            choice("wait and see", Quality::Poor, None),
                        ],
                    },
                ],
            },
        )
    }

    fn walk(path: &[usize]) -> Result<Assessment, ResponseError> {
        assess(
            &scenario(),
            &Response::Scenario {
                path: path.to_vec(),
            },
        )
    }

    #[test]
    fn scenario_taking_the_best_choice_at_every_node_is_right_with_each_consequence_in_order() {
        let a = walk(&[0, 0]).unwrap();
        assert_credit(&a, 1.0, Outcome::Right);
        assert_eq!(
            a.feedback,
            strings(&[
                "You chose to check for danger.",
                "You chose to call for help."
            ])
        );
    }

    #[test]
    fn scenario_credit_is_the_mean_quality_of_the_decisions_taken() {
        let a = walk(&[1, 0]).unwrap();
        assert_credit(&a, 0.75, Outcome::Partial);
    }

    #[test]
    fn scenario_ended_by_a_poor_first_choice_is_wrong() {
        let a = walk(&[2]).unwrap();
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(a.feedback, strings(&["You chose to walk away."]));
    }

    #[test]
    fn scenario_path_picking_a_choice_the_node_lacks_is_refused() {
        assert_eq!(
            walk(&[0, 2]).unwrap_err(),
            ResponseError::ScenarioMissingChoice {
                step: 1,
                node: "safe".into(),
                choice: 2,
                count: 2
            }
        );
    }

    #[test]
    fn scenario_path_stopping_before_an_ending_is_refused() {
        assert_eq!(
            walk(&[0]).unwrap_err(),
            ResponseError::ScenarioPathStopsEarly {
                node: "safe".into(),
                steps: 1
            }
        );
        assert_eq!(
            walk(&[]).unwrap_err(),
            ResponseError::ScenarioPathStopsEarly {
                node: "collapse".into(),
                steps: 0
            }
        );
    }

    #[test]
    fn scenario_path_going_past_an_ending_is_refused() {
        assert_eq!(
            walk(&[2, 0, 1]).unwrap_err(),
            ResponseError::ScenarioPathPastEnding {
                step: 0,
                node: "collapse".into(),
                extra: 2
            }
        );
    }

    // ---- flashcard ----

    /// Built with an empty explanation, as authors write flashcards: the back becomes it.
    fn flashcard() -> Item {
        Item::new(
            "What does DRSABCD stand for?".into(),
            String::new(),
            Interaction::Flashcard {
                back: "Danger, Response, Send for help, Airway, Breathing, CPR, Defibrillation."
                    .into(),
            },
        )
        .unwrap()
    }

    fn rate(rating: SelfRating) -> Assessment {
        assess(&flashcard(), &Response::Flashcard { rating }).unwrap()
    }

    #[test]
    fn flashcard_rated_good_or_easy_is_right_keeps_the_rating_and_explains_with_the_back() {
        let a = rate(SelfRating::Good);
        assert_credit(&a, 1.0, Outcome::Right);
        assert_eq!(a.self_rating, Some(SelfRating::Good));
        assert_eq!(
            a.explanation,
            "Danger, Response, Send for help, Airway, Breathing, CPR, Defibrillation."
        );
        assert_credit(&rate(SelfRating::Easy), 1.0, Outcome::Right);
    }

    #[test]
    fn flashcard_rated_hard_earns_half_credit() {
        let a = rate(SelfRating::Hard);
        assert_credit(&a, 0.5, Outcome::Partial);
        assert_eq!(a.self_rating, Some(SelfRating::Hard));
    }

    #[test]
    fn flashcard_rated_again_is_wrong() {
        let a = rate(SelfRating::Again);
        assert_credit(&a, 0.0, Outcome::Wrong);
        assert_eq!(a.self_rating, Some(SelfRating::Again));
    }

    #[test]
    fn flashcard_answered_with_a_choice_is_refused() {
        assert_eq!(
            assess(&flashcard(), &Response::SingleChoice { choice: 0 }).unwrap_err(),
            ResponseError::WrongKind {
                item: "flashcard".into(),
                response: "single-choice".into()
            }
        );
    }

    // ---- reflection ----

    fn reflection() -> Item {
        item(
            "Describe how you would hand over a casualty to paramedics.",
            Interaction::Reflection {
                criteria: strings(&[
                    "I said what happened",
                    "I listed what I did",
                    "I described changes in their condition",
                ]),
            },
        )
    }

    fn reflect(flags: &[bool]) -> Result<Assessment, ResponseError> {
        assess(
            &reflection(),
            &Response::Reflection {
                text: "I would tell them what I saw and did.".into(),
                criteria_met: flags.to_vec(),
            },
        )
    }

    #[test]
    fn reflection_meeting_every_criterion_is_right() {
        assert_credit(&reflect(&[true, true, true]).unwrap(), 1.0, Outcome::Right);
    }

    #[test]
    fn reflection_credit_is_the_share_of_criteria_met() {
        assert_credit(
            &reflect(&[true, false, true]).unwrap(),
            2.0 / 3.0,
            Outcome::Partial,
        );
    }

    #[test]
    fn reflection_meeting_no_criterion_is_wrong() {
        assert_credit(
            &reflect(&[false, false, false]).unwrap(),
            0.0,
            Outcome::Wrong,
        );
    }

    #[test]
    fn reflection_with_a_flag_count_unlike_the_criteria_is_refused() {
        assert_eq!(
            reflect(&[true, true]).unwrap_err(),
            ResponseError::CriteriaCountMismatch {
                expected: 3,
                found: 2
            }
        );
    }

    // ---- wire format ----

    #[test]
    fn responses_and_assessments_serialise_with_a_snake_case_type_tag() {
        let response: Response =
            serde_json::from_str(r#"{"type":"flashcard","rating":"hard"}"#).unwrap();
        assert_eq!(
            response,
            Response::Flashcard {
                rating: SelfRating::Hard
            }
        );
        let json = serde_json::to_string(&Response::Ordering { order: vec![1, 0] }).unwrap();
        assert_eq!(json, r#"{"type":"ordering","order":[1,0]}"#);
        let a = rate(SelfRating::Hard);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["outcome"], "partial");
        assert_eq!(json["self_rating"], "hard");
    }

    // ---- item view ----

    #[test]
    fn item_views_reveal_no_key_feedback_or_explanation() {
        let items = [
            single(),
            multiple(),
            true_false(),
            blanks(Tolerance::default()),
            ordering(),
            signs(),
            numeric(110.0, 10.0),
            scenario(),
            flashcard(),
            reflection(),
        ];
        for item in &items {
            let json = serde_json::to_string(&item_view(item)).unwrap();
            let mut secrets = vec!["correct".to_string(), item.explanation().to_string()];
            match item.interaction() {
                Interaction::SingleChoice { choices }
                | Interaction::MultipleResponse { choices } => {
                    secrets.extend(choices.iter().filter_map(|c| c.feedback.clone()));
                }
                Interaction::TrueFalse {
                    feedback_true,
                    feedback_false,
                    ..
                } => {
                    secrets.extend(feedback_true.clone());
                    secrets.extend(feedback_false.clone());
                    secrets.push("answer".into());
                }
                Interaction::FillBlanks { blanks, .. } => {
                    for blank in blanks {
                        secrets.extend(blank.accepted.iter().cloned());
                        secrets.extend(blank.feedback.clone());
                    }
                }
                Interaction::Ordering { entries } => {
                    secrets.extend(entries.iter().filter_map(|e| e.feedback.clone()));
                }
                Interaction::Matching { pairs } => {
                    secrets.extend(pairs.iter().filter_map(|p| p.feedback.clone()));
                }
                Interaction::Numeric {
                    answer,
                    feedback_correct,
                    feedback_low,
                    feedback_high,
                    ..
                } => {
                    secrets.push(answer.to_string());
                    secrets.extend(feedback_correct.clone());
                    secrets.extend(feedback_low.clone());
                    secrets.extend(feedback_high.clone());
                }
                Interaction::Scenario { nodes, .. } => {
                    secrets.push("quality".into());
                    for node in nodes {
                        secrets.extend(node.choices.iter().filter_map(|c| c.feedback.clone()));
                    }
                }
                Interaction::Flashcard { back } => secrets.push(back.clone()),
                Interaction::Reflection { .. } => {}
            }
            for secret in secrets {
                assert!(
                    !json.to_lowercase().contains(&secret.to_lowercase()),
                    "the {} view reveals {secret:?}: {json}",
                    item_kind_name(item.interaction())
                );
            }
        }
    }

    #[test]
    fn item_view_shows_what_each_kind_needs_to_be_answered() {
        assert_eq!(
            item_view(&single()),
            ItemView::SingleChoice {
                prompt: "Which extinguisher is safe on an electrical fire?".into(),
                choices: strings(&["Water", "CO2", "Foam"]),
            }
        );
        assert_eq!(
            item_view(&blanks(Tolerance::default())),
            ItemView::FillBlanks {
                prompt:
                    "For choking, give back blows, then the {{1}} manoeuvre, up to {{2}} times."
                        .into(),
                blanks: 2,
            }
        );
        assert_eq!(
            item_view(&numeric(110.0, 10.0)),
            ItemView::Numeric {
                prompt: "Compressions per minute in adult CPR?".into(),
                unit: Some("per minute".into()),
            }
        );
        assert_eq!(
            item_view(&flashcard()),
            ItemView::Flashcard {
                front: "What does DRSABCD stand for?".into()
            }
        );
        let ItemView::Scenario { start, nodes, .. } = item_view(&scenario()) else {
            panic!("not a scenario view");
        };
        assert_eq!(start, "collapse");
        assert_eq!(nodes[0].situation, "They are on the floor, not moving.");
        assert_eq!(
            nodes[0].choices[0],
            ScenarioChoiceView {
                text: "check for danger".into(),
                next: Some("safe".into())
            }
        );
        assert_eq!(nodes[1].choices[1].next, None);
    }

    #[test]
    fn matching_view_lists_each_distinct_target_once_sorted() {
        let sorting = matching(&[
            ("Bleach", "Hazardous"),
            ("Cardboard", " Recyclable"),
            ("Glass jar", "Recyclable"),
            ("Paint thinner", "Hazardous"),
        ]);
        let ItemView::Matching { items, targets, .. } = item_view(&sorting) else {
            panic!("not a matching view");
        };
        assert_eq!(targets, strings(&["Hazardous", "Recyclable"]));
        assert_eq!(
            items[1],
            IndexedText {
                index: 1,
                text: "Cardboard".into()
            }
        );
    }

    fn view_order(item: &Item) -> Vec<usize> {
        match item_view(item) {
            ItemView::Ordering { entries, .. } => entries.iter().map(|e| e.index).collect(),
            other => panic!("not an ordering view: {other:?}"),
        }
    }

    #[test]
    fn ordering_view_is_a_deterministic_shuffle_keyed_by_the_prompt() {
        let first = view_order(&ordering());
        assert_eq!(first, view_order(&ordering()));
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
        assert_ne!(first, vec![0, 1, 2, 3]);
    }

    #[test]
    fn ordering_view_is_never_in_the_authored_order() {
        for n in 2..=6 {
            for variant in 0..50 {
                let entries = (0..n)
                    .map(|i| OrderEntry {
                        text: format!("step {i}"),
                        feedback: None,
                    })
                    .collect();
                let it = item(
                    &format!("Order these, variant {variant}."),
                    Interaction::Ordering { entries },
                );
                let shown = view_order(&it);
                assert_ne!(shown, (0..n).collect::<Vec<_>>(), "n={n} variant={variant}");
            }
        }
    }

    #[test]
    fn ordering_view_text_matches_the_authored_entry_at_each_index() {
        let ItemView::Ordering { entries, .. } = item_view(&ordering()) else {
            panic!("not an ordering view");
        };
        let authored = [
            "Check danger",
            "Check response",
            "Call for help",
            "Start compressions",
        ];
        for entry in entries {
            assert_eq!(entry.text, authored[entry.index]);
        }
    }
}
