//! Scoring items answered by picking from the options shown: single choice, multiple response
//! and true/false. The fixtures are shared with the view tests, so they must never lose a
//! feedback text or an option the view checks for.

use super::*;
use crate::content::items::Choice;

// ---- single choice ----

pub(super) fn single() -> Item {
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

pub(super) fn multiple() -> Item {
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

pub(super) fn true_false() -> Item {
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
