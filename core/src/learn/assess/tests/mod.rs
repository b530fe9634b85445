//! Specifications of `assess` and `item_view`, one behaviour per test, grouped by item kind
//! (each file's fixtures are `pub(super)` so the view tests can reuse them). Items are built only
//! through `Item::new`, as authors and packs do; a test never builds an inconsistent key by hand.

mod arrangement;
mod choice;
mod scenario;
mod self_rated;
mod typed;
mod view;

use super::*;
use self_rated::rate;

const EXPLANATION: &str = "Why the key is what it is.";

fn item(prompt: &str, interaction: Interaction) -> Item {
    Item::new(prompt.into(), EXPLANATION.into(), interaction).unwrap()
}

fn assert_credit(assessment: &Assessment, credit: f64, outcome: Outcome) {
    assert!(
        (assessment.credit - credit).abs() < 1e-12,
        "credit {} != {credit}",
        assessment.credit
    );
    assert_eq!(assessment.outcome, outcome);
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

// ---- wire format ----

#[test]
fn responses_and_assessments_serialise_with_a_snake_case_type_tag() {
    let response: Response =
        serde_json::from_str(r#"{"type":"flashcard","rating":"hard"}"#).unwrap();
    assert_eq!(
        response,
        Response::Flashcard {
            rating: SelfRating::Hard
        }
    );
    let json = serde_json::to_string(&Response::Ordering { order: vec![1, 0] }).unwrap();
    assert_eq!(json, r#"{"type":"ordering","order":[1,0]}"#);
    let a = rate(SelfRating::Hard);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["outcome"], "partial");
    assert_eq!(json["self_rating"], "hard");
}
