//! Items as `cmi.interaction` activities: the interaction type, correct responses and
//! components of each item kind, and a learner's response in the type's response format.

use std::collections::BTreeMap;

use super::statement::{segment, Component, Definition};
use crate::content::items::{Interaction, Item, ItemKind, Quality};
use crate::events::{Response, SelfRating};

/// The definition of an item as a `cmi.interaction`: its type, correct responses and components.
pub(super) fn interaction_definition(item: &Item, locale: &str) -> Definition {
    let text = |t: &str| BTreeMap::from([(locale.to_string(), t.to_string())]);
    let indexed = |texts: Vec<&str>| -> Vec<Component> {
        texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| Component {
                id: i.to_string(),
                description: text(t),
            })
            .collect()
    };
    let mut definition = Definition {
        name: Some(text(item.prompt())),
        ..Definition::default()
    };
    match item.interaction() {
        Interaction::SingleChoice { choices } | Interaction::MultipleResponse { choices } => {
            let correct: Vec<String> = choices
                .iter()
                .enumerate()
                .filter(|(_, c)| c.correct)
                .map(|(i, _)| i.to_string())
                .collect();
            definition.interaction_type = Some("choice".into());
            definition.correct_responses_pattern = Some(vec![correct.join("[,]")]);
            definition.choices = Some(indexed(choices.iter().map(|c| c.text.as_str()).collect()));
        }
        Interaction::TrueFalse { answer, .. } => {
            definition.interaction_type = Some("true-false".into());
            definition.correct_responses_pattern = Some(vec![answer.to_string()]);
        }
        Interaction::FillBlanks { blanks, .. } => {
            let first: Vec<&str> = blanks
                .iter()
                .map(|b| b.accepted.first().map(String::as_str).unwrap_or(""))
                .collect();
            definition.interaction_type = Some("fill-in".into());
            definition.correct_responses_pattern = Some(vec![first.join("[,]")]);
        }
        Interaction::Ordering { entries } => {
            let order: Vec<String> = (0..entries.len()).map(|i| i.to_string()).collect();
            definition.interaction_type = Some("sequencing".into());
            definition.correct_responses_pattern = Some(vec![order.join("[,]")]);
            definition.choices = Some(indexed(entries.iter().map(|e| e.text.as_str()).collect()));
        }
        Interaction::Matching { pairs } => {
            let targets = matching_targets(pairs.iter().map(|p| p.target.as_str()));
            let pattern: Vec<String> = pairs
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{i}[.]{}", target_id(&targets, &p.target)))
                .collect();
            definition.interaction_type = Some("matching".into());
            definition.correct_responses_pattern = Some(vec![pattern.join("[,]")]);
            definition.source = Some(indexed(pairs.iter().map(|p| p.item.as_str()).collect()));
            definition.target = Some(indexed(targets));
        }
        Interaction::Numeric {
            answer, tolerance, ..
        } => {
            definition.interaction_type = Some("numeric".into());
            definition.correct_responses_pattern = Some(vec![format!(
                "{}[:]{}",
                answer - tolerance,
                answer + tolerance
            )]);
        }
        Interaction::Scenario { start, nodes } => {
            // The best path: the best choice at each node from the start until one ends it.
            let mut best = Vec::new();
            let mut at = Some(start.as_str());
            while let Some(id) = at.take() {
                let Some(node) = nodes.iter().find(|n| n.id == id) else {
                    break;
                };
                let Some((index, choice)) = node
                    .choices
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, c)| (quality_rank(c.quality), std::cmp::Reverse(*i)))
                else {
                    break;
                };
                best.push(format!("{}[.]{index}", node.id));
                if best.len() > nodes.len() {
                    break;
                }
                at = choice.next.as_deref();
            }
            definition.interaction_type = Some("performance".into());
            definition.correct_responses_pattern = Some(vec![best.join("[,]")]);
            definition.steps = Some(
                nodes
                    .iter()
                    .map(|n| Component {
                        id: n.id.clone(),
                        description: text(&n.text),
                    })
                    .collect(),
            );
        }
        Interaction::Flashcard { .. } => {
            // Self-rated recall: a scale, with no response that is right in itself.
            definition.interaction_type = Some("likert".into());
            definition.scale = Some(
                ["again", "hard", "good", "easy"]
                    .iter()
                    .map(|r| Component {
                        id: (*r).into(),
                        description: text(r),
                    })
                    .collect(),
            );
        }
        Interaction::Reflection { .. } => {
            definition.interaction_type = Some("long-fill-in".into());
        }
        Interaction::Voice { .. } => {
            // A recording: no xAPI type fits, and the response is its SHA-256.
            definition.interaction_type = Some("other".into());
        }
    }
    definition
}

fn quality_rank(quality: Quality) -> u8 {
    match quality {
        Quality::Best => 2,
        Quality::Ok => 1,
        Quality::Poor => 0,
    }
}

/// A matching item's targets, each once, in the order they first appear.
fn matching_targets<'a>(targets: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for target in targets {
        if !seen.contains(&target) {
            seen.push(target);
        }
    }
    seen
}

fn target_id(targets: &[&str], target: &str) -> String {
    match targets.iter().position(|t| *t == target) {
        Some(i) => i.to_string(),
        None => segment(target),
    }
}

/// The interaction type of an item kind, for an item the content no longer holds.
pub(super) fn interaction_type_of_name(kind: &str) -> &'static str {
    match ItemKind::from_name(kind) {
        Some(ItemKind::Single | ItemKind::Multiple) => "choice",
        Some(ItemKind::TrueFalse) => "true-false",
        Some(ItemKind::Blanks) => "fill-in",
        Some(ItemKind::Order) => "sequencing",
        Some(ItemKind::Match) => "matching",
        Some(ItemKind::Numeric) => "numeric",
        Some(ItemKind::Scenario) => "performance",
        Some(ItemKind::Flashcard) => "likert",
        Some(ItemKind::Reflection) => "long-fill-in",
        Some(ItemKind::Voice) | None => "other",
    }
}

/// A response in the interaction type's response format.
pub(super) fn response_string(response: &Response, item: Option<&Item>) -> String {
    let join = |parts: Vec<String>| parts.join("[,]");
    match response {
        Response::SingleChoice { choice } => choice.to_string(),
        Response::MultipleResponse { choices } => {
            join(choices.iter().map(u32::to_string).collect())
        }
        Response::TrueFalse { answer } => answer.to_string(),
        Response::FillBlanks { answers } => join(answers.clone()),
        Response::Ordering { order } => join(order.iter().map(u32::to_string).collect()),
        Response::Matching { targets } => {
            let known = match item.map(Item::interaction) {
                Some(Interaction::Matching { pairs }) => {
                    matching_targets(pairs.iter().map(|p| p.target.as_str()))
                }
                _ => Vec::new(),
            };
            join(
                targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("{i}[.]{}", target_id(&known, t)))
                    .collect(),
            )
        }
        Response::Numeric { value } => value.to_string(),
        Response::Scenario { path } => match item.map(Item::interaction) {
            Some(Interaction::Scenario { start, nodes }) => {
                let mut parts = Vec::new();
                let mut at = Some(start.as_str());
                for choice in path {
                    let Some(node) = at.and_then(|id| nodes.iter().find(|n| n.id == id)) else {
                        break;
                    };
                    parts.push(format!("{}[.]{choice}", node.id));
                    at = node
                        .choices
                        .get(*choice as usize)
                        .and_then(|c| c.next.as_deref());
                }
                join(parts)
            }
            _ => join(path.iter().map(u32::to_string).collect()),
        },
        Response::Flashcard { rating } => match rating {
            SelfRating::Again => "again",
            SelfRating::Hard => "hard",
            SelfRating::Good => "good",
            SelfRating::Easy => "easy",
        }
        .into(),
        Response::Reflection { text, .. } => text.clone(),
        Response::Voice { audio, .. } => audio.clone(),
    }
}
