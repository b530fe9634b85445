//! The answer-free item view: what each kind shows, that no view reveals a key, feedback or
//! explanation, and that an ordering is shuffled deterministically and never shown solved.

use super::arrangement::{matching, ordering, signs};
use super::choice::{multiple, single, true_false};
use super::scenario::scenario;
use super::self_rated::{flashcard, reflection, voice};
use super::typed::{blanks, numeric};
use super::*;
use crate::content::items::{OrderEntry, Tolerance};

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
        voice(),
    ];
    for item in &items {
        let json = serde_json::to_string(&item_view(item)).unwrap();
        let mut secrets = vec!["correct".to_string(), item.explanation().to_string()];
        match item.interaction() {
            Interaction::SingleChoice { choices } | Interaction::MultipleResponse { choices } => {
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
            Interaction::Reflection { .. } | Interaction::Voice { .. } => {}
        }
        for secret in secrets {
            assert!(
                !json.to_lowercase().contains(&secret.to_lowercase()),
                "the {} view reveals {secret:?}: {json}",
                item.interaction().kind().label()
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
            prompt: "For choking, give back blows, then the {{1}} manoeuvre, up to {{2}} times."
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

fn view_order(item: &Item) -> Vec<u32> {
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
    assert_eq!(entries.len(), authored.len());
    for entry in entries {
        assert_eq!(entry.text, authored[entry.index as usize]);
    }
}
