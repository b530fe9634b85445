//! What the UI shows for an item before the learner answers: the prompt, the options, the
//! blanks, a shuffled order, the scenario map. [`item_view`] must never put an answer, a feedback
//! text, a choice's quality or the explanation into a view; the learner would see them before
//! answering.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::content::items::{Interaction, Item};

/// An authored position as views and responses carry it (no item holds 4 billion of anything).
pub fn index_of(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

/// A piece of text with its authored index, which is what the response refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct IndexedText {
    pub index: u32,
    pub text: String,
}

/// A scenario node as the learner sees it: the situation and the choices, without their quality
/// or consequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ScenarioNodeView {
    pub id: String,
    pub situation: String,
    pub choices: Vec<ScenarioChoiceView>,
}

/// A scenario choice; `next` is the node it leads to, or `None` when it ends the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ScenarioChoiceView {
    pub text: String,
    pub next: Option<String>,
}

/// What the UI shows for an item before it is answered. It never carries an answer, a feedback
/// text or the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
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
        blanks: u32,
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
    /// The prompt, the criteria the learner rates their recording against, and the longest
    /// recording the item takes; answer with `answer_voice` and the recording.
    Voice {
        prompt: String,
        criteria: Vec<String>,
        max_seconds: u32,
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
            blanks: index_of(blanks.len()),
        },
        Interaction::Ordering { entries } => ItemView::Ordering {
            entries: shuffled_indices(&prompt, entries.len())
                .into_iter()
                .map(|index| IndexedText {
                    index: index_of(index),
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
                    index: index_of(index),
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
        Interaction::Voice {
            criteria,
            max_seconds,
        } => ItemView::Voice {
            prompt,
            criteria: criteria.clone(),
            max_seconds: *max_seconds,
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
