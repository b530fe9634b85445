//! Scoring the items a learner rates themselves: flashcards (a self-rating), reflections and
//! voice items (criteria they say they met). Fixtures are shared with the view and wire-format tests.

use super::*;

// ---- flashcard ----

/// Built with an empty explanation, as authors write flashcards: the back becomes it.
pub(super) fn flashcard() -> Item {
    Item::new(
        "What does DRSABCD stand for?".into(),
        String::new(),
        Interaction::Flashcard {
            back: "Danger, Response, Send for help, Airway, Breathing, CPR, Defibrillation.".into(),
        },
    )
    .unwrap()
}

pub(super) fn rate(rating: SelfRating) -> Assessment {
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

pub(super) fn reflection() -> Item {
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

// ---- voice ----

pub(super) fn voice() -> Item {
    item(
        "Tell a new colleague how you hand over a casualty.",
        Interaction::Voice {
            criteria: strings(&["I said what happened", "I listed what I did"]),
            max_seconds: 90,
        },
    )
}

fn speak(flags: &[bool]) -> Result<Assessment, ResponseError> {
    assess(
        &voice(),
        &Response::Voice {
            audio: "ab".repeat(32),
            duration_ms: 41_000,
            criteria_met: flags.to_vec(),
        },
    )
}

#[test]
fn voice_credit_is_the_share_of_criteria_met_like_a_reflection() {
    assert_credit(&speak(&[true, true]).unwrap(), 1.0, Outcome::Right);
    assert_credit(&speak(&[true, false]).unwrap(), 0.5, Outcome::Partial);
    assert_credit(&speak(&[false, false]).unwrap(), 0.0, Outcome::Wrong);
    assert_eq!(speak(&[true, true]).unwrap().self_rating, None);
}

#[test]
fn voice_with_a_flag_count_unlike_the_criteria_is_refused() {
    assert_eq!(
        speak(&[true]).unwrap_err(),
        ResponseError::CriteriaCountMismatch {
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn voice_answered_with_a_reflection_is_refused() {
    let written = Response::Reflection {
        text: "I would say what happened.".into(),
        criteria_met: vec![true, true],
    };
    assert_eq!(
        assess(&voice(), &written).unwrap_err(),
        ResponseError::WrongKind {
            item: "voice".into(),
            response: "reflection".into()
        }
    );
}

#[test]
fn the_voice_view_shows_the_prompt_criteria_and_maximum() {
    assert_eq!(
        item_view(&voice()),
        ItemView::Voice {
            prompt: "Tell a new colleague how you hand over a casualty.".into(),
            criteria: strings(&["I said what happened", "I listed what I did"]),
            max_seconds: 90,
        }
    );
}
