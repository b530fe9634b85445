//! Scoring a branching scenario: the mean quality of the decisions taken, and the refusal of
//! any path that does not end exactly where the scenario ends. Fixtures are shared with the
//! view tests.

use super::*;
use crate::content::items::{Quality, ScenarioChoice, ScenarioNode};

// ---- scenario ----

pub(super) fn scenario() -> Item {
    let choice = |text: &str, quality: Quality, next: Option<&str>| ScenarioChoice {
        text: text.into(),
        quality,
        next: next.map(String::from),
        feedback: Some(format!("You chose to {text}.")),
    };
    item(
        "A customer collapses in the shop.",
        Interaction::Scenario {
            start: "collapse".into(),
            nodes: vec![
                ScenarioNode {
                    id: "collapse".into(),
                    text: "They are on the floor, not moving.".into(),
                    choices: vec![
                        choice("check for danger", Quality::Best, Some("safe")),
                        choice("shake them hard", Quality::Ok, Some("safe")),
                        choice("walk away", Quality::Poor, None),
                    ],
                },
                ScenarioNode {
                    id: "safe".into(),
                    text: "The area is safe; they do not respond.".into(),
                    choices: vec![
                        choice("call for help", Quality::Best, None),
                        choice("wait and see", Quality::Poor, None),
                    ],
                },
            ],
        },
    )
}

fn walk(path: &[u32]) -> Result<Assessment, ResponseError> {
    assess(
        &scenario(),
        &Response::Scenario {
            path: path.to_vec(),
        },
    )
}

#[test]
fn scenario_taking_the_best_choice_at_every_node_is_right_with_each_consequence_in_order() {
    let a = walk(&[0, 0]).unwrap();
    assert_credit(&a, 1.0, Outcome::Right);
    assert_eq!(
        a.feedback,
        strings(&[
            "You chose to check for danger.",
            "You chose to call for help."
        ])
    );
}

#[test]
fn scenario_credit_is_the_mean_quality_of_the_decisions_taken() {
    let a = walk(&[1, 0]).unwrap();
    assert_credit(&a, 0.75, Outcome::Partial);
}

#[test]
fn scenario_ended_by_a_poor_first_choice_is_wrong() {
    let a = walk(&[2]).unwrap();
    assert_credit(&a, 0.0, Outcome::Wrong);
    assert_eq!(a.feedback, strings(&["You chose to walk away."]));
}

#[test]
fn scenario_path_picking_a_choice_the_node_lacks_is_refused() {
    assert_eq!(
        walk(&[0, 2]).unwrap_err(),
        ResponseError::ScenarioMissingChoice {
            step: 1,
            node: "safe".into(),
            choice: 2,
            count: 2
        }
    );
}

#[test]
fn scenario_path_stopping_before_an_ending_is_refused() {
    assert_eq!(
        walk(&[0]).unwrap_err(),
        ResponseError::ScenarioPathStopsEarly {
            node: "safe".into(),
            steps: 1
        }
    );
    assert_eq!(
        walk(&[]).unwrap_err(),
        ResponseError::ScenarioPathStopsEarly {
            node: "collapse".into(),
            steps: 0
        }
    );
}

#[test]
fn scenario_path_going_past_an_ending_is_refused() {
    assert_eq!(
        walk(&[2, 0, 1]).unwrap_err(),
        ResponseError::ScenarioPathPastEnding {
            step: 0,
            node: "collapse".into(),
            extra: 2
        }
    );
}
