//! Answers built from an item's answer key: fully right or clearly wrong, and always well
//! formed, so the facade accepts them and scores them as intended.
//!
//! The simulator answers through it ([`answer_through`], which also records a voice item's
//! recording), and tests that drive the engine use it too. It never decides whether an answer
//! should be right: the caller does.

use crate::content::items::{Interaction, Item};
use crate::learn::assess::{index_of, Response, SelfRating};
use crate::learn::voice::{pcm_wav, sha256_hex};
use crate::privacy::consent::ConsentScope;
use crate::tidbit::{Feedback, Tidbit, TidbitError};

/// A response to `item` that is entirely right (`right`) or entirely wrong.
pub fn answer_for(item: &Item, right: bool) -> Response {
    match item.interaction() {
        Interaction::SingleChoice { choices } => Response::SingleChoice {
            choice: index_of(choices.iter().position(|c| c.correct == right).unwrap_or(0)),
        },
        Interaction::MultipleResponse { choices } => Response::MultipleResponse {
            choices: choices
                .iter()
                .enumerate()
                .filter(|(_, c)| c.correct == right)
                .map(|(i, _)| index_of(i))
                .collect(),
        },
        Interaction::TrueFalse { answer, .. } => Response::TrueFalse {
            answer: *answer == right,
        },
        Interaction::FillBlanks { blanks, .. } => Response::FillBlanks {
            answers: blanks
                .iter()
                .map(|b| {
                    if right {
                        b.accepted.first().cloned().unwrap_or_default()
                    } else {
                        "no idea".to_string()
                    }
                })
                .collect(),
        },
        Interaction::Ordering { entries } => {
            let mut order: Vec<u32> = (0..entries.len()).map(index_of).collect();
            if !right {
                order.reverse();
            }
            Response::Ordering { order }
        }
        Interaction::Matching { pairs } => {
            let mut targets: Vec<String> = Vec::new();
            for pair in pairs {
                if !targets.contains(&pair.target) {
                    targets.push(pair.target.clone());
                }
            }
            Response::Matching {
                targets: pairs
                    .iter()
                    .map(|p| {
                        if right {
                            p.target.clone()
                        } else {
                            // Any other target: the next one in first-seen order.
                            let at = targets.iter().position(|t| *t == p.target).unwrap_or(0);
                            targets[(at + 1) % targets.len()].clone()
                        }
                    })
                    .collect(),
            }
        }
        Interaction::Numeric {
            answer, tolerance, ..
        } => Response::Numeric {
            value: if right {
                *answer
            } else {
                answer + tolerance.abs() * 2.0 + answer.abs().max(1.0)
            },
        },
        Interaction::Scenario { start, nodes } => {
            let mut path = Vec::new();
            let mut at = Some(start.clone());
            while let Some(id) = at.take() {
                let Some(node) = nodes.iter().find(|n| n.id == id) else {
                    break;
                };
                let wanted = if right {
                    crate::content::items::Quality::Best
                } else {
                    crate::content::items::Quality::Poor
                };
                let index = node
                    .choices
                    .iter()
                    .position(|c| c.quality == wanted)
                    .or_else(|| {
                        node.choices
                            .iter()
                            .position(|c| c.quality != crate::content::items::Quality::Best)
                    })
                    .unwrap_or(0);
                path.push(index_of(index));
                at = node.choices[index].next.clone();
                if path.len() > nodes.len() {
                    break;
                }
            }
            Response::Scenario { path }
        }
        Interaction::Flashcard { .. } => Response::Flashcard {
            rating: if right {
                SelfRating::Good
            } else {
                SelfRating::Again
            },
        },
        Interaction::Reflection { criteria } => Response::Reflection {
            text: "What I did, and what I will do next time.".into(),
            criteria_met: vec![right; criteria.len()],
        },
        Interaction::Voice { criteria, .. } => Response::Voice {
            audio: sha256_hex(&recording()),
            duration_ms: RECORDING_MS,
            criteria_met: vec![right; criteria.len()],
        },
    }
}

/// How long a simulated learner speaks.
const RECORDING_MS: u32 = 2_000;

/// What a simulated learner records for a voice item: two seconds of 8 kHz 8-bit silence.
pub fn recording() -> Vec<u8> {
    pcm_wav(8_000, 1, 8, &[0x80; 16_000])
}

/// Answers `item` at `step` through the facade, entirely right or wrong: a voice item with
/// [`recording`] (the learner giving the `voice` scope when first asked), any other with
/// [`answer_for`].
pub fn answer_through(
    tidbit: &mut Tidbit,
    course: &str,
    step: &str,
    item: &Item,
    right: bool,
    response_ms: u32,
) -> Result<Feedback, TidbitError> {
    match answer_for(item, right) {
        Response::Voice {
            duration_ms,
            criteria_met,
            ..
        } => {
            tidbit.set_consent(ConsentScope::Voice, true)?;
            tidbit.answer_voice(course, step, &recording(), duration_ms, criteria_met)
        }
        response => tidbit.answer(course, step, response, response_ms),
    }
}
