//! Scoring items the learner answers by typing: fill in the blanks (with each tolerance) and
//! numeric answers (with their range and its edges). Fixtures are shared with the view tests.

use super::*;
use crate::content::items::{Blank, Tolerance};

// ---- fill in the blanks ----

pub(super) fn blanks(tolerate: Tolerance) -> Item {
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

// ---- numeric ----

pub(super) fn numeric(answer: f64, tolerance: f64) -> Item {
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
