//! Scoring items answered by arranging the entries shown: ordering (pairwise credit) and
//! matching (per pair, into targets or categories). Fixtures are shared with the view tests.

use super::*;
use crate::content::items::{MatchPair, OrderEntry};

// ---- ordering ----

pub(super) fn ordering() -> Item {
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

fn order(indices: &[u32]) -> Result<Assessment, ResponseError> {
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

pub(super) fn matching(pairs: &[(&str, &str)]) -> Item {
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

pub(super) fn signs() -> Item {
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
