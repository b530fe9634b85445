//! Assessment items and their answer keys.
//!
//! An [`Item`] can only be built through [`Item::new`], which checks that its answer key is
//! consistent (one correct option for a single choice, reachable endings in a scenario, ...).
//! Deserialisation goes through the same check, so an inconsistent key can neither be compiled
//! by an author nor loaded from a pack. This module never scores answers; it only describes
//! what a right answer is.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

mod kind;

pub use kind::{ItemKind, SCENARIO_SECONDS_PER_DECISION};

/// The shortest maximum an author may give a voice item's recording, in seconds.
pub const MIN_VOICE_SECONDS: u32 = 5;
/// The longest maximum an author may give a voice item's recording, in seconds: no recording a
/// learner sends, and no duration an answer event carries, is ever longer.
pub const MAX_VOICE_SECONDS: u32 = 600;

/// Why an item's answer key cannot be right. Messages say what to change in the source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerKeyError {
    #[error("the prompt is empty: write the question the learner answers")]
    EmptyPrompt,
    #[error("an explanation is required: say why the right answer is right")]
    MissingExplanation,
    #[error("{found} option(s): give at least 2")]
    TooFewOptions { found: usize },
    #[error("{found} options are marked [x]: a single-choice item needs exactly one (use `multiple` for several)")]
    SingleChoiceNeedsOneCorrect { found: usize },
    #[error("no option is marked [x]: mark at least one correct option")]
    NoCorrectOption,
    #[error("every option is marked [x]: add at least one wrong option, or use a different kind")]
    NoWrongOption,
    #[error("option text '{text}' appears twice: options must differ")]
    DuplicateOption { text: String },
    #[error("blank {{{{{index}}}}} has no accepted answer: list at least one after the colon")]
    BlankWithoutAnswer { index: usize },
    #[error("the prompt uses {{{{{index}}}}} but there is no entry `- {index}: ...` for it")]
    BlankNotDefined { index: usize },
    #[error(
        "entry `- {index}: ...` has no {{{{{index}}}}} in the prompt: add it or remove the entry"
    )]
    BlankNotInPrompt { index: usize },
    #[error("blanks must be numbered 1, 2, 3... in order; found {{{{{found}}}}} where {{{{{expected}}}}} was expected")]
    BlankNumbering { expected: usize, found: usize },
    #[error("an item needs at least {min} entries, found {found}")]
    TooFewEntries { min: usize, found: usize },
    #[error("entry '{text}' appears twice: every entry must be distinct")]
    DuplicateEntry { text: String },
    #[error("the numeric answer or tolerance is not a finite number (tolerance must be >= 0)")]
    BadNumber,
    #[error("scenario start node '{start}' does not exist: add `@{start} ...` or fix `start:`")]
    ScenarioMissingStart { start: String },
    #[error("scenario node '{node}' appears twice: node names must be unique")]
    ScenarioDuplicateNode { node: String },
    #[error("a choice in node '{node}' leads to '{target}', which does not exist: add `@{target} ...` or write `-> end`")]
    ScenarioMissingTarget { node: String, target: String },
    #[error("scenario node '{node}' has fewer than 2 choices: a decision needs alternatives")]
    ScenarioTooFewChoices { node: String },
    #[error("scenario node '{node}' has no [best] choice: mark the choice an expert would make")]
    ScenarioNoBestChoice { node: String },
    #[error(
        "scenario node '{node}' can lead back to itself: choices must move forward and reach `end`"
    )]
    ScenarioLoop { node: String },
    #[error("scenario node '{node}' can never be reached from the start: link to it or remove it")]
    ScenarioUnreachable { node: String },
    #[error("a {kind} item needs at least one criterion the learner rates their answer against: list them as `- criterion` lines")]
    NoCriteria { kind: String },
    #[error("a voice item's max-seconds is {found}: give {MIN_VOICE_SECONDS} to {MAX_VOICE_SECONDS} seconds, the longest recording a learner may send")]
    VoiceMaxSeconds { found: u32 },
    #[error("a flashcard needs both a front and a back")]
    EmptyFlashcard,
}

/// An option of a single-choice or multiple-response item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub text: String,
    pub correct: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// One blank of a fill-in-the-blanks item: `{{n}}` in the prompt is blank `n` (1-based).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blank {
    pub accepted: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// What differences a fill-in-the-blanks answer may have from an accepted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tolerance {
    pub case: bool,
    pub whitespace: bool,
    pub diacritics: bool,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            case: true,
            whitespace: true,
            diacritics: false,
        }
    }
}

impl Tolerance {
    /// The form in which two answers are compared under this tolerance.
    pub fn normalize(&self, text: &str) -> String {
        let mut out: String = text.nfc().collect();
        if self.diacritics {
            out = out
                .nfd()
                .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
                .collect();
        }
        if self.case {
            out = out.to_lowercase();
        }
        if self.whitespace {
            out = out.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        out
    }
}

/// An element of an ordering item; `feedback` is shown when it is misplaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEntry {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// `item => target`. When targets repeat, the targets are categories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchPair {
    pub item: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// How good a scenario choice is; it sets the credit for that decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    Best,
    Ok,
    Poor,
}

impl Quality {
    pub fn credit(self) -> f64 {
        match self {
            Quality::Best => 1.0,
            Quality::Ok => 0.5,
            Quality::Poor => 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioChoice {
    pub text: String,
    pub quality: Quality,
    /// The next node, or `None` when this choice ends the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioNode {
    pub id: String,
    pub text: String,
    pub choices: Vec<ScenarioChoice>,
}

/// What the learner does and what counts as right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Interaction {
    SingleChoice {
        choices: Vec<Choice>,
    },
    MultipleResponse {
        choices: Vec<Choice>,
    },
    TrueFalse {
        answer: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feedback_true: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feedback_false: Option<String>,
    },
    FillBlanks {
        blanks: Vec<Blank>,
        tolerate: Tolerance,
    },
    Ordering {
        entries: Vec<OrderEntry>,
    },
    Matching {
        pairs: Vec<MatchPair>,
    },
    Numeric {
        answer: f64,
        tolerance: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feedback_correct: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feedback_low: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feedback_high: Option<String>,
    },
    Scenario {
        start: String,
        nodes: Vec<ScenarioNode>,
    },
    Flashcard {
        back: String,
    },
    Reflection {
        criteria: Vec<String>,
    },
    /// A spoken answer: the learner records themselves (at most `max_seconds`), then rates the
    /// recording against the criteria, as for a reflection.
    Voice {
        criteria: Vec<String>,
        max_seconds: u32,
    },
}

impl Interaction {
    /// The kind of this interaction.
    pub fn kind(&self) -> ItemKind {
        match self {
            Interaction::SingleChoice { .. } => ItemKind::Single,
            Interaction::MultipleResponse { .. } => ItemKind::Multiple,
            Interaction::TrueFalse { .. } => ItemKind::TrueFalse,
            Interaction::FillBlanks { .. } => ItemKind::Blanks,
            Interaction::Ordering { .. } => ItemKind::Order,
            Interaction::Matching { .. } => ItemKind::Match,
            Interaction::Numeric { .. } => ItemKind::Numeric,
            Interaction::Scenario { .. } => ItemKind::Scenario,
            Interaction::Flashcard { .. } => ItemKind::Flashcard,
            Interaction::Reflection { .. } => ItemKind::Reflection,
            Interaction::Voice { .. } => ItemKind::Voice,
        }
    }

    /// Typical seconds a learner spends on this item (module estimates): its kind's typical
    /// time, and for a scenario, 30 s for each of its decisions (two to four counted).
    pub fn typical_seconds(&self) -> u32 {
        match self {
            Interaction::Scenario { nodes, .. } => {
                SCENARIO_SECONDS_PER_DECISION * (nodes.len() as u32).clamp(2, 4)
            }
            other => other.kind().typical_seconds(),
        }
    }

    /// True when a matching item sorts items into categories (a target is used more than once).
    pub fn is_categorization(&self) -> bool {
        match self {
            Interaction::Matching { pairs } => {
                let targets: BTreeSet<&str> = pairs.iter().map(|p| p.target.as_str()).collect();
                targets.len() < pairs.len()
            }
            _ => false,
        }
    }

    /// True when some option or entry a learner can pick has no feedback written for it.
    pub fn lacks_feedback(&self) -> bool {
        match self {
            Interaction::SingleChoice { choices } | Interaction::MultipleResponse { choices } => {
                choices.iter().any(|c| c.feedback.is_none())
            }
            Interaction::TrueFalse {
                feedback_true,
                feedback_false,
                ..
            } => feedback_true.is_none() || feedback_false.is_none(),
            Interaction::FillBlanks { blanks, .. } => blanks.iter().any(|b| b.feedback.is_none()),
            Interaction::Ordering { entries } => entries.iter().any(|e| e.feedback.is_none()),
            Interaction::Matching { pairs } => pairs.iter().any(|p| p.feedback.is_none()),
            Interaction::Numeric {
                feedback_correct,
                feedback_low,
                feedback_high,
                ..
            } => feedback_correct.is_none() || feedback_low.is_none() || feedback_high.is_none(),
            Interaction::Scenario { nodes, .. } => nodes
                .iter()
                .any(|n| n.choices.iter().any(|c| c.feedback.is_none())),
            Interaction::Flashcard { .. }
            | Interaction::Reflection { .. }
            | Interaction::Voice { .. } => false,
        }
    }
}

/// An assessment item whose answer key has been checked. Build with [`Item::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedItem")]
pub struct Item {
    prompt: String,
    explanation: String,
    interaction: Interaction,
}

/// The serialised shape of an item, before its key is checked.
#[derive(Deserialize)]
struct UncheckedItem {
    prompt: String,
    explanation: String,
    interaction: Interaction,
}

impl TryFrom<UncheckedItem> for Item {
    type Error = AnswerKeyError;
    fn try_from(raw: UncheckedItem) -> Result<Self, Self::Error> {
        Item::new(raw.prompt, raw.explanation, raw.interaction)
    }
}

impl Item {
    /// Checks the answer key and builds the item. A flashcard's explanation defaults to its back.
    pub fn new(
        prompt: String,
        explanation: String,
        interaction: Interaction,
    ) -> Result<Item, AnswerKeyError> {
        if prompt.trim().is_empty() {
            return Err(match interaction {
                Interaction::Flashcard { .. } => AnswerKeyError::EmptyFlashcard,
                _ => AnswerKeyError::EmptyPrompt,
            });
        }
        let explanation = match &interaction {
            Interaction::Flashcard { back } if explanation.trim().is_empty() => back.clone(),
            _ => explanation,
        };
        if explanation.trim().is_empty() {
            return Err(AnswerKeyError::MissingExplanation);
        }
        check_key(&prompt, &interaction)?;
        Ok(Item {
            prompt,
            explanation,
            interaction,
        })
    }

    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    pub fn explanation(&self) -> &str {
        &self.explanation
    }

    pub fn interaction(&self) -> &Interaction {
        &self.interaction
    }
}

fn check_key(prompt: &str, interaction: &Interaction) -> Result<(), AnswerKeyError> {
    match interaction {
        Interaction::SingleChoice { choices } => {
            check_choices(choices)?;
            let correct = choices.iter().filter(|c| c.correct).count();
            if correct != 1 {
                return Err(AnswerKeyError::SingleChoiceNeedsOneCorrect { found: correct });
            }
            Ok(())
        }
        Interaction::MultipleResponse { choices } => {
            check_choices(choices)?;
            if !choices.iter().any(|c| c.correct) {
                return Err(AnswerKeyError::NoCorrectOption);
            }
            if choices.iter().all(|c| c.correct) {
                return Err(AnswerKeyError::NoWrongOption);
            }
            Ok(())
        }
        Interaction::TrueFalse { .. } => Ok(()),
        Interaction::FillBlanks { blanks, tolerate } => check_blanks(prompt, blanks, tolerate),
        Interaction::Ordering { entries } => {
            distinct_at_least(entries.iter().map(|e| e.text.as_str()), 2)
        }
        Interaction::Matching { pairs } => {
            distinct_at_least(pairs.iter().map(|p| p.item.as_str()), 2)?;
            let targets: BTreeSet<&str> = pairs.iter().map(|p| p.target.trim()).collect();
            if targets.len() < 2 || targets.contains("") {
                return Err(AnswerKeyError::TooFewEntries {
                    min: 2,
                    found: targets.len(),
                });
            }
            Ok(())
        }
        Interaction::Numeric {
            answer, tolerance, ..
        } => {
            if answer.is_finite() && tolerance.is_finite() && *tolerance >= 0.0 {
                Ok(())
            } else {
                Err(AnswerKeyError::BadNumber)
            }
        }
        Interaction::Scenario { start, nodes } => check_scenario(start, nodes),
        Interaction::Flashcard { back } => {
            if back.trim().is_empty() {
                Err(AnswerKeyError::EmptyFlashcard)
            } else {
                Ok(())
            }
        }
        Interaction::Reflection { criteria } => check_criteria(ItemKind::Reflection, criteria),
        Interaction::Voice {
            criteria,
            max_seconds,
        } => {
            check_criteria(ItemKind::Voice, criteria)?;
            if (MIN_VOICE_SECONDS..=MAX_VOICE_SECONDS).contains(max_seconds) {
                Ok(())
            } else {
                Err(AnswerKeyError::VoiceMaxSeconds {
                    found: *max_seconds,
                })
            }
        }
    }
}

/// A self-rated item needs at least one criterion to rate against.
fn check_criteria(kind: ItemKind, criteria: &[String]) -> Result<(), AnswerKeyError> {
    if criteria.iter().all(|c| c.trim().is_empty()) {
        Err(AnswerKeyError::NoCriteria {
            kind: kind.name().to_string(),
        })
    } else {
        Ok(())
    }
}

fn check_choices(choices: &[Choice]) -> Result<(), AnswerKeyError> {
    if choices.len() < 2 {
        return Err(AnswerKeyError::TooFewOptions {
            found: choices.len(),
        });
    }
    let mut seen = BTreeSet::new();
    for choice in choices {
        if !seen.insert(choice.text.trim().to_lowercase()) {
            return Err(AnswerKeyError::DuplicateOption {
                text: choice.text.clone(),
            });
        }
    }
    Ok(())
}

fn distinct_at_least<'a>(
    texts: impl Iterator<Item = &'a str>,
    min: usize,
) -> Result<(), AnswerKeyError> {
    let mut seen = BTreeSet::new();
    for text in texts {
        if text.trim().is_empty() {
            continue;
        }
        if !seen.insert(text.trim().to_lowercase()) {
            return Err(AnswerKeyError::DuplicateEntry {
                text: text.to_string(),
            });
        }
    }
    if seen.len() < min {
        return Err(AnswerKeyError::TooFewEntries {
            min,
            found: seen.len(),
        });
    }
    Ok(())
}

/// The blank numbers `{{n}}` used in a prompt, in order of appearance.
pub fn blank_markers(prompt: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = prompt;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                if let Ok(n) = after[..close].trim().parse::<usize>() {
                    found.push(n);
                }
                rest = &after[close + 2..];
            }
            None => break,
        }
    }
    found
}

fn check_blanks(
    prompt: &str,
    blanks: &[Blank],
    tolerate: &Tolerance,
) -> Result<(), AnswerKeyError> {
    if blanks.is_empty() {
        return Err(AnswerKeyError::TooFewEntries { min: 1, found: 0 });
    }
    let markers = blank_markers(prompt);
    for (position, marker) in markers.iter().enumerate() {
        if *marker != position + 1 {
            return Err(AnswerKeyError::BlankNumbering {
                expected: position + 1,
                found: *marker,
            });
        }
    }
    for index in 1..=markers.len() {
        if index > blanks.len() {
            return Err(AnswerKeyError::BlankNotDefined { index });
        }
    }
    if blanks.len() > markers.len() {
        return Err(AnswerKeyError::BlankNotInPrompt {
            index: markers.len() + 1,
        });
    }
    for (i, blank) in blanks.iter().enumerate() {
        if blank
            .accepted
            .iter()
            .all(|a| tolerate.normalize(a).trim().is_empty())
        {
            return Err(AnswerKeyError::BlankWithoutAnswer { index: i + 1 });
        }
    }
    Ok(())
}

fn check_scenario(start: &str, nodes: &[ScenarioNode]) -> Result<(), AnswerKeyError> {
    let mut by_id: BTreeMap<&str, &ScenarioNode> = BTreeMap::new();
    for node in nodes {
        if by_id.insert(node.id.as_str(), node).is_some() {
            return Err(AnswerKeyError::ScenarioDuplicateNode {
                node: node.id.clone(),
            });
        }
    }
    if !by_id.contains_key(start) {
        return Err(AnswerKeyError::ScenarioMissingStart {
            start: start.to_string(),
        });
    }
    for node in nodes {
        if node.choices.len() < 2 {
            return Err(AnswerKeyError::ScenarioTooFewChoices {
                node: node.id.clone(),
            });
        }
        if !node.choices.iter().any(|c| c.quality == Quality::Best) {
            return Err(AnswerKeyError::ScenarioNoBestChoice {
                node: node.id.clone(),
            });
        }
        for choice in &node.choices {
            if let Some(target) = &choice.next {
                if !by_id.contains_key(target.as_str()) {
                    return Err(AnswerKeyError::ScenarioMissingTarget {
                        node: node.id.clone(),
                        target: target.clone(),
                    });
                }
            }
        }
    }
    // Depth-first search from the start: a node met again on the current path is a loop.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        OnPath,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
    marks.insert(start, Mark::OnPath);
    while let Some((id, next_choice)) = stack.pop() {
        let node = by_id[id];
        match node.choices.get(next_choice) {
            None => {
                marks.insert(id, Mark::Done);
            }
            Some(choice) => {
                stack.push((id, next_choice + 1));
                if let Some(target) = choice.next.as_deref() {
                    match marks.get(target) {
                        Some(Mark::OnPath) => {
                            return Err(AnswerKeyError::ScenarioLoop {
                                node: target.to_string(),
                            })
                        }
                        Some(Mark::Done) => {}
                        None => {
                            marks.insert(target, Mark::OnPath);
                            stack.push((target, 0));
                        }
                    }
                }
            }
        }
    }
    if let Some(node) = nodes.iter().find(|n| !marks.contains_key(n.id.as_str())) {
        return Err(AnswerKeyError::ScenarioUnreachable {
            node: node.id.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
