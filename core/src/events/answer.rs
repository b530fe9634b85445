//! What a learner answered and how it came out, as recorded answers carry it: part of the event
//! log's format, so it depends on nothing above the log (scoring lives in `learn::assess`).

use serde::{Deserialize, Serialize};

use crate::content::items::ItemKind;

/// Credits closer than this to 0 or 1 count as exactly 0 or 1.
pub const CREDIT_EPSILON: f64 = 1e-9;

/// How well a learner recalled a flashcard, in their own judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
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
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum Response {
    /// Index of the chosen option.
    SingleChoice {
        choice: u32,
    },
    /// Indices of the selected options, in any order, each once.
    MultipleResponse {
        choices: Vec<u32>,
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
        order: Vec<u32>,
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
        path: Vec<u32>,
    },
    Flashcard {
        rating: SelfRating,
    },
    /// The learner's text and, per criterion in authored order, whether they say they met it.
    Reflection {
        text: String,
        criteria_met: Vec<bool>,
    },
    /// A spoken answer: the recording named by its SHA-256 (64 lowercase hex digits; the
    /// recording itself stays in the device's store and is never part of an event), its length,
    /// and per criterion in authored order whether the learner says they met it.
    Voice {
        audio: String,
        duration_ms: u32,
        criteria_met: Vec<bool>,
    },
}

impl Response {
    /// The item kind this response answers.
    pub fn item_kind(&self) -> ItemKind {
        match self {
            Response::SingleChoice { .. } => ItemKind::Single,
            Response::MultipleResponse { .. } => ItemKind::Multiple,
            Response::TrueFalse { .. } => ItemKind::TrueFalse,
            Response::FillBlanks { .. } => ItemKind::Blanks,
            Response::Ordering { .. } => ItemKind::Order,
            Response::Matching { .. } => ItemKind::Match,
            Response::Numeric { .. } => ItemKind::Numeric,
            Response::Scenario { .. } => ItemKind::Scenario,
            Response::Flashcard { .. } => ItemKind::Flashcard,
            Response::Reflection { .. } => ItemKind::Reflection,
            Response::Voice { .. } => ItemKind::Voice,
        }
    }

    /// The learner's rating against each criterion, for the kinds they rate that way.
    pub fn criteria_met(&self) -> Option<&[bool]> {
        match self {
            Response::Reflection { criteria_met, .. } | Response::Voice { criteria_met, .. } => {
                Some(criteria_met)
            }
            _ => None,
        }
    }
}

/// Whether `name` names a recording as a voice response does: the SHA-256 of its bytes in 64
/// lowercase hex digits.
pub fn is_recording_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Right, partly right or wrong, derived from the credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum Outcome {
    Right,
    Partial,
    Wrong,
}

impl Outcome {
    /// Right at credit 1, Wrong at credit 0 (each within 1e-9), Partial in between.
    pub fn of_credit(credit: f64) -> Outcome {
        if credit >= 1.0 - CREDIT_EPSILON {
            Outcome::Right
        } else if credit <= CREDIT_EPSILON {
            Outcome::Wrong
        } else {
            Outcome::Partial
        }
    }
}
