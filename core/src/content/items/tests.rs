//! Specifications of answer keys: each inconsistent key `Item::new` and deserialisation refuse,
//! the unusual keys they accept (shared scenario nodes, matching into categories), and what a
//! `Tolerance` folds. A test must never build an `Item` except through `Item::new` or
//! deserialisation, the two doors authors and packs use.

use super::*;

fn choice(text: &str, correct: bool) -> Choice {
    Choice {
        text: text.into(),
        correct,
        feedback: None,
    }
}

fn item(interaction: Interaction) -> Result<Item, AnswerKeyError> {
    Item::new("Prompt {{1}}".into(), "Because.".into(), interaction)
}

#[test]
fn single_choice_with_two_correct_options_is_refused() {
    let err = item(Interaction::SingleChoice {
        choices: vec![choice("a", true), choice("b", true), choice("c", false)],
    })
    .unwrap_err();
    assert_eq!(
        err,
        AnswerKeyError::SingleChoiceNeedsOneCorrect { found: 2 }
    );
}

#[test]
fn single_choice_with_no_correct_option_is_refused() {
    let err = item(Interaction::SingleChoice {
        choices: vec![choice("a", false), choice("b", false)],
    })
    .unwrap_err();
    assert_eq!(
        err,
        AnswerKeyError::SingleChoiceNeedsOneCorrect { found: 0 }
    );
}

#[test]
fn deserialising_an_inconsistent_item_fails() {
    let json = r#"{"prompt":"p","explanation":"e","interaction":{"type":"single_choice",
        "choices":[{"text":"a","correct":true},{"text":"b","correct":true}]}}"#;
    let err = serde_json::from_str::<Item>(json).unwrap_err();
    assert!(err.to_string().contains("exactly one"), "{err}");
}

#[test]
fn multiple_response_needs_a_right_and_a_wrong_option() {
    let none = item(Interaction::MultipleResponse {
        choices: vec![choice("a", false), choice("b", false)],
    });
    assert_eq!(none.unwrap_err(), AnswerKeyError::NoCorrectOption);
    let all = item(Interaction::MultipleResponse {
        choices: vec![choice("a", true), choice("b", true)],
    });
    assert_eq!(all.unwrap_err(), AnswerKeyError::NoWrongOption);
}

#[test]
fn duplicate_options_are_refused_ignoring_case() {
    let err = item(Interaction::SingleChoice {
        choices: vec![choice("Yes", true), choice("yes ", false)],
    })
    .unwrap_err();
    assert!(matches!(err, AnswerKeyError::DuplicateOption { .. }));
}

#[test]
fn blanks_must_match_prompt_markers() {
    let blank = |a: &str| Blank {
        accepted: vec![a.into()],
        feedback: None,
    };
    let two_defined = Item::new(
        "Press {{1}} times".into(),
        "e".into(),
        Interaction::FillBlanks {
            blanks: vec![blank("30"), blank("2")],
            tolerate: Tolerance::default(),
        },
    );
    assert_eq!(
        two_defined.unwrap_err(),
        AnswerKeyError::BlankNotInPrompt { index: 2 }
    );
    let undefined = Item::new(
        "{{1}} and {{2}}".into(),
        "e".into(),
        Interaction::FillBlanks {
            blanks: vec![blank("a")],
            tolerate: Tolerance::default(),
        },
    );
    assert_eq!(
        undefined.unwrap_err(),
        AnswerKeyError::BlankNotDefined { index: 2 }
    );
    let empty = item(Interaction::FillBlanks {
        blanks: vec![blank("  ")],
        tolerate: Tolerance::default(),
    });
    assert_eq!(
        empty.unwrap_err(),
        AnswerKeyError::BlankWithoutAnswer { index: 1 }
    );
}

#[test]
fn tolerance_folds_case_whitespace_and_diacritics_only_when_allowed() {
    let all = Tolerance {
        case: true,
        whitespace: true,
        diacritics: true,
    };
    assert_eq!(all.normalize("  Café   Crème "), "cafe creme");
    let strict = Tolerance {
        case: false,
        whitespace: false,
        diacritics: false,
    };
    assert_eq!(strict.normalize("Café "), "Café ");
    assert_eq!(
        Tolerance::default().normalize(" CAFÉ  au lait"),
        "café au lait"
    );
}

#[test]
fn numeric_answer_must_be_finite_with_non_negative_tolerance() {
    let bad = item(Interaction::Numeric {
        answer: 5.0,
        tolerance: -1.0,
        unit: None,
        feedback_correct: None,
        feedback_low: None,
        feedback_high: None,
    });
    assert_eq!(bad.unwrap_err(), AnswerKeyError::BadNumber);
}

fn node(id: &str, choices: &[(&str, Quality, Option<&str>)]) -> ScenarioNode {
    ScenarioNode {
        id: id.into(),
        text: format!("situation {id}"),
        choices: choices
            .iter()
            .map(|(t, q, n)| ScenarioChoice {
                text: (*t).into(),
                quality: *q,
                next: n.map(String::from),
                feedback: None,
            })
            .collect(),
    }
}

#[test]
fn scenario_loops_missing_targets_and_orphans_are_refused() {
    let looping = item(Interaction::Scenario {
        start: "a".into(),
        nodes: vec![
            node(
                "a",
                &[
                    ("go", Quality::Best, Some("b")),
                    ("stop", Quality::Poor, None),
                ],
            ),
            node(
                "b",
                &[
                    ("back", Quality::Best, Some("a")),
                    ("end", Quality::Ok, None),
                ],
            ),
        ],
    });
    assert_eq!(
        looping.unwrap_err(),
        AnswerKeyError::ScenarioLoop { node: "a".into() }
    );
    let missing = item(Interaction::Scenario {
        start: "a".into(),
        nodes: vec![node(
            "a",
            &[
                ("go", Quality::Best, Some("zz")),
                ("stop", Quality::Poor, None),
            ],
        )],
    });
    assert!(matches!(
        missing.unwrap_err(),
        AnswerKeyError::ScenarioMissingTarget { .. }
    ));
    let orphan = item(Interaction::Scenario {
        start: "a".into(),
        nodes: vec![
            node(
                "a",
                &[("go", Quality::Best, None), ("stop", Quality::Poor, None)],
            ),
            node(
                "lost",
                &[("x", Quality::Best, None), ("y", Quality::Poor, None)],
            ),
        ],
    });
    assert_eq!(
        orphan.unwrap_err(),
        AnswerKeyError::ScenarioUnreachable {
            node: "lost".into()
        }
    );
}

#[test]
fn scenario_with_shared_downstream_node_is_accepted() {
    let ok = item(Interaction::Scenario {
        start: "a".into(),
        nodes: vec![
            node(
                "a",
                &[
                    ("l", Quality::Best, Some("c")),
                    ("r", Quality::Ok, Some("b")),
                ],
            ),
            node(
                "b",
                &[("l", Quality::Best, Some("c")), ("r", Quality::Poor, None)],
            ),
            node(
                "c",
                &[("l", Quality::Best, None), ("r", Quality::Poor, None)],
            ),
        ],
    });
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn matching_with_repeated_targets_is_a_categorization() {
    let pair = |i: &str, t: &str| MatchPair {
        item: i.into(),
        target: t.into(),
        feedback: None,
    };
    let it = item(Interaction::Matching {
        pairs: vec![pair("a", "X"), pair("b", "X"), pair("c", "Y")],
    })
    .unwrap();
    assert!(it.interaction().is_categorization());
}

fn voice(criteria: &[&str], max_seconds: u32) -> Result<Item, AnswerKeyError> {
    item(Interaction::Voice {
        criteria: criteria.iter().map(|c| c.to_string()).collect(),
        max_seconds,
    })
}

#[test]
fn a_voice_item_with_criteria_and_a_maximum_from_5_to_600_seconds_is_accepted() {
    for max_seconds in [MIN_VOICE_SECONDS, 90, MAX_VOICE_SECONDS] {
        let item = voice(&["I named the hazard"], max_seconds).unwrap();
        assert_eq!(item.interaction().kind(), ItemKind::Voice);
        assert_eq!(item.interaction().typical_seconds(), 120);
        assert!(!item.interaction().lacks_feedback());
    }
}

#[test]
fn a_voice_item_without_a_criterion_is_refused() {
    for criteria in [&[][..], &["  "][..]] {
        assert_eq!(
            voice(criteria, 60).unwrap_err(),
            AnswerKeyError::NoCriteria {
                kind: "voice".into()
            }
        );
    }
}

#[test]
fn a_voice_item_whose_maximum_is_outside_5_to_600_seconds_is_refused() {
    for found in [0, 4, 601, u32::MAX] {
        let err = voice(&["I named the hazard"], found).unwrap_err();
        assert_eq!(err, AnswerKeyError::VoiceMaxSeconds { found });
        assert!(err.to_string().contains("5 to 600 seconds"), "{err}");
    }
}

#[test]
fn a_voice_item_round_trips_through_its_serialised_form() {
    let item = voice(&["I named the hazard", "I said what I did"], 90).unwrap();
    let json = serde_json::to_value(&item).unwrap();
    assert_eq!(json["interaction"]["type"], "voice");
    assert_eq!(json["interaction"]["max_seconds"], 90);
    assert_eq!(serde_json::from_value::<Item>(json).unwrap(), item);
    let too_long = r#"{"prompt":"p","explanation":"e","interaction":{"type":"voice",
        "criteria":["c"],"max_seconds":3600}}"#;
    assert!(serde_json::from_str::<Item>(too_long).is_err());
}
