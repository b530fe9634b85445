//! The hostile-peer checks, one behaviour each.

use super::*;
use crate::events::{Grade, Response};
use automerge::sync::SyncDoc;
use chrono::NaiveDate;

const AT: i64 = 1_790_000_000_000; // 2026-09-21

fn answered(credit: f64, response: Response, item_kind: &str) -> Event {
    Event {
        id: Event::make_id("phone", "a1", 1),
        at_ms: AT,
        device: "phone".into(),
        kind: EventKind::ItemAnswered {
            course: "c".into(),
            module: "m".into(),
            step: "s".into(),
            item_kind: item_kind.into(),
            response: Some(response),
            response_ms: 4_000,
            credit,
            outcome: Outcome::of_credit(credit),
            grade: Grade::Good,
            local_date: NaiveDate::from_ymd_opt(2026, 9, 21).unwrap(),
        },
    }
}

#[test]
fn a_well_formed_answer_passes_and_each_malformed_field_is_refused() {
    let good = answered(1.0, Response::SingleChoice { choice: 1 }, "single");
    check_event(&good, &Policy::device()).unwrap();
    check_event(&good, &Policy::server("phone", AT)).unwrap();
    let bad = [
        answered(2.0, Response::SingleChoice { choice: 1 }, "single"),
        answered(f64::NAN, Response::SingleChoice { choice: 1 }, "single"),
        answered(1.0, Response::SingleChoice { choice: 1 }, "order"),
        answered(
            1.0,
            Response::Numeric {
                value: f64::INFINITY,
            },
            "numeric",
        ),
        answered(
            1.0,
            Response::Ordering {
                order: vec![0; 300],
            },
            "order",
        ),
        answered(
            1.0,
            Response::Reflection {
                text: "x".repeat(MAX_TEXT_BYTES + 1),
                criteria_met: vec![],
            },
            "reflection",
        ),
    ];
    for event in bad {
        assert!(check_event(&event, &Policy::device()).is_err(), "{event:?}");
    }
    let mut wrong_outcome = good.clone();
    if let EventKind::ItemAnswered { outcome, .. } = &mut wrong_outcome.kind {
        *outcome = Outcome::Wrong;
    }
    assert!(check_event(&wrong_outcome, &Policy::device()).is_err());
    let mut withheld = good.clone();
    if let EventKind::ItemAnswered { response, .. } = &mut withheld.kind {
        *response = None;
    }
    check_event(&withheld, &Policy::device()).unwrap();
    if let EventKind::ItemAnswered { item_kind, .. } = &mut withheld.kind {
        *item_kind = "telepathy".into();
    }
    assert!(check_event(&withheld, &Policy::device()).is_err());
}

#[test]
fn reviews_are_asked_by_devices_and_decided_by_the_server_alone() {
    let asked = |device: &str| Event {
        device: device.into(),
        kind: EventKind::ReviewRequested {
            course: "c".into(),
            path: "p".into(),
            stage: "application".into(),
            reason: "I passed this on paper".into(),
            questioned: "stage check failed".into(),
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    let decided = |device: &str, author: String| Event {
        device: device.into(),
        kind: EventKind::ReviewDecided {
            review: "r1".into(),
            course: "c".into(),
            path: "p".into(),
            stage: "application".into(),
            unlock: true,
            reason: "checked on site".into(),
            author,
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    check_event(&asked("phone"), &Policy::device()).unwrap();
    assert!(matches!(
        check_event(&asked(SERVER_DEVICE), &Policy::device()),
        Err(Refusal::ServerImpersonated(_))
    ));
    check_event(&decided(SERVER_DEVICE, "Ana".into()), &Policy::device()).unwrap();
    assert!(matches!(
        check_event(&decided("phone", "Ana".into()), &Policy::device()),
        Err(Refusal::ServerKindFromDevice {
            kind: "review_decided",
            ..
        })
    ));
    assert!(check_event(&decided(SERVER_DEVICE, "x".repeat(300)), &Policy::device()).is_err());
}

#[test]
fn parameters_are_accepted_only_as_fsrs_6_within_its_bounds() {
    let adopted = |parameters: Vec<f32>| Event {
        kind: EventKind::ParametersAdopted {
            parameters,
            reviews: 64,
            log_loss_before: 0.4,
            log_loss_after: 0.3,
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    check_event(
        &adopted(fsrs::DEFAULT_PARAMETERS.to_vec()),
        &Policy::device(),
    )
    .unwrap();
    let mut nan = fsrs::DEFAULT_PARAMETERS.to_vec();
    nan[5] = f32::NAN;
    let mut huge = fsrs::DEFAULT_PARAMETERS.to_vec();
    huge[0] = 1e30;
    for parameters in [
        vec![0.5; 3],
        vec![],
        nan,
        huge,
        fsrs::DEFAULT_PARAMETERS[..19].to_vec(),
    ] {
        let refusal = check_event(&adopted(parameters), &Policy::device()).unwrap_err();
        assert!(matches!(
            refusal,
            Refusal::Field {
                field: "parameters",
                ..
            }
        ));
    }
}

#[test]
fn the_server_binds_events_to_the_sender_and_its_clock() {
    let event = answered(1.0, Response::TrueFalse { answer: true }, "truefalse");
    assert!(matches!(
        check_event(&event, &Policy::server("tablet", AT)),
        Err(Refusal::ForeignDevice { .. })
    ));
    let mut ahead = event.clone();
    ahead.at_ms = AT + MAX_FUTURE_MS + 1;
    assert!(matches!(
        check_event(&ahead, &Policy::server("phone", AT)),
        Err(Refusal::OutOfTime { .. })
    ));
    let mut behind = event.clone();
    behind.at_ms = AT - MAX_PAST_MS - 1;
    assert!(check_event(&behind, &Policy::server("phone", AT)).is_err());
    // A device has no trusted clock: only the absolute bounds apply there.
    check_event(&ahead, &Policy::device()).unwrap();
    let mut year_9999 = event;
    year_9999.at_ms = 253_402_300_000_000;
    assert!(check_event(&year_9999, &Policy::device()).is_err());
}

#[test]
fn interventions_come_from_the_server_and_only_interventions_do() {
    let intervention = |device: &str| Event {
        device: device.into(),
        kind: EventKind::InterventionTriggered {
            course: None,
            module: "m".into(),
            reason: "again".into(),
            deadline_ms: AT + 3_600_000,
            signal: None,
            action: InterventionAction::Module,
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    check_event(&intervention(SERVER_DEVICE), &Policy::device()).unwrap();
    assert!(matches!(
        check_event(&intervention("phone"), &Policy::device()),
        Err(Refusal::ServerKindFromDevice {
            kind: "intervention_triggered",
            ..
        })
    ));
    let mut posing = answered(1.0, Response::TrueFalse { answer: true }, "truefalse");
    posing.device = SERVER_DEVICE.into();
    assert!(matches!(
        check_event(&posing, &Policy::device()),
        Err(Refusal::ServerImpersonated(_))
    ));
}

#[test]
fn identities_hold_no_separator_and_incarnations_are_hex() {
    check_identity("phone-1@ana.example", "0123456789abcdef").unwrap();
    for (device, incarnation) in [
        ("pho\0ne", "ab"),
        ("", "ab"),
        ("phone", "AB"),
        ("phone", "a\0b"),
        ("phone", ""),
    ] {
        assert!(check_identity(device, incarnation).is_err(), "{device:?}");
    }
}

/// A real document with enough events that saving it deflates its columns.
fn busy_document() -> automerge::AutoCommit {
    let name = crate::sync::documents::period_of(AT);
    let mut doc = crate::sync::documents::genesis(&name).unwrap();
    for i in 0..400 {
        let mut event = answered(1.0, Response::SingleChoice { choice: 1 }, "single");
        event.at_ms = AT + i;
        crate::sync::documents::append(&mut doc, "a1", i as u64 + 1, &event).unwrap();
    }
    doc
}

#[test]
fn a_whole_document_an_honest_peer_sends_passes_the_chunk_check() {
    let mut doc = busy_document();
    let mut state = automerge::sync::State::new();
    let mut peer = automerge::AutoCommit::new();
    let mut peer_state = automerge::sync::State::new();
    let mut budget = MAX_INFLATED_BYTES;
    let mut checked = 0;
    for _ in 0..4 {
        if let Some(message) = doc.sync().generate_sync_message(&mut state) {
            check_message(&message, &mut budget).unwrap();
            checked += message.changes.len();
            peer.sync()
                .receive_sync_message(&mut peer_state, message)
                .unwrap();
        }
        if let Some(reply) = peer.sync().generate_sync_message(&mut peer_state) {
            doc.sync().receive_sync_message(&mut state, reply).unwrap();
        }
    }
    assert!(checked > 0);
    assert_eq!(peer.get_heads(), doc.get_heads());
    assert!(budget < MAX_INFLATED_BYTES);
}

#[test]
fn a_budget_too_small_for_a_document_refuses_it() {
    let saved = busy_document().save();
    let message = automerge::sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: saved.clone().into(),
        flags: None,
        version: automerge::sync::MessageVersion::V2,
    };
    let mut ample = MAX_INFLATED_BYTES;
    check_message(&message, &mut ample).unwrap();
    let mut small = saved.len() / 2;
    assert_eq!(
        check_message(&message, &mut small),
        Err(Refusal::InflatesTooFar)
    );
}

#[test]
fn document_names_must_fall_in_the_window_of_the_server_clock() {
    check_new_document("events-2026-09", AT).unwrap();
    check_new_document("events-2025-01", AT).unwrap();
    for name in [
        "events-2000-01",
        "events-2024-08",
        "events-2026-11",
        "events-9999-12",
    ] {
        assert!(check_new_document(name, AT).is_err(), "{name}");
    }
}

#[test]
fn push_outcomes_come_from_the_server_and_name_a_token_only_by_its_hash() {
    let outcome = |device: &str, token_sha256: String, detail: Option<String>| Event {
        device: device.into(),
        kind: EventKind::PushOutcomeRecorded {
            platform: "apns".into(),
            token_sha256,
            registration: Event::make_id("phone", "a1", 1),
            intervention: Some(Event::make_id(SERVER_DEVICE, "ab", 1)),
            outcome: crate::events::PushOutcome::Unregistered,
            detail,
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    let hash = crate::events::push_token_sha256(&"ab".repeat(32));
    check_event(
        &outcome(SERVER_DEVICE, hash.clone(), None),
        &Policy::device(),
    )
    .unwrap();
    assert!(matches!(
        check_event(
            &outcome("phone", hash.clone(), None),
            &Policy::server("phone", AT)
        ),
        Err(Refusal::ServerKindFromDevice {
            kind: "push_outcome",
            ..
        })
    ));
    // A token where its hash belongs, an upper-case hash, an endless reason: refused.
    for bad in [
        outcome(SERVER_DEVICE, format!("cH4:APA91b{}", "x".repeat(54)), None),
        outcome(SERVER_DEVICE, hash.to_uppercase(), None),
        outcome(SERVER_DEVICE, hash.clone(), Some("x".repeat(501))),
    ] {
        assert!(
            check_event(&bad, &Policy::device()).is_err(),
            "{:?}",
            bad.kind
        );
    }
}

#[test]
fn a_push_token_of_the_wrong_shape_is_refused() {
    let registered = |platform: &str, token: &str| Event {
        kind: EventKind::PushTokenRegistered {
            platform: platform.into(),
            token: token.into(),
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    check_event(&registered("apns", &"0f".repeat(32)), &Policy::device()).unwrap();
    check_event(&registered("fcm", "cH4:APA91b_x-y"), &Policy::device()).unwrap();
    for (platform, token) in [
        ("apns", "../../3/device/x"),
        ("apns", "abc"),
        ("fcm", "two words"),
        ("sms", "0f0f"),
    ] {
        assert!(
            matches!(
                check_event(&registered(platform, token), &Policy::device()),
                Err(Refusal::Field { .. })
            ),
            "{platform} {token}"
        );
    }
}

#[test]
fn intervention_kinds_are_checked_field_by_field() {
    let with = |action: InterventionAction| Event {
        device: SERVER_DEVICE.into(),
        kind: EventKind::InterventionTriggered {
            course: Some("c".into()),
            module: "m".into(),
            reason: "again".into(),
            deadline_ms: AT + 48 * 3_600_000,
            signal: None,
            action,
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    let template = |prompts: usize, title: &str| crate::events::CoachingTemplate {
        id: "after-a-miss".into(),
        title: title.into(),
        prompts: (0..prompts).map(|i| format!("prompt {i}")).collect(),
    };
    let coaching = |prompts, title| InterventionAction::Coaching {
        manager: "mara".into(),
        template: template(prompts, title),
    };
    check_event(&with(coaching(3, "After a miss")), &Policy::device()).unwrap();
    for (bad, field_name) in [
        (coaching(2, "After a miss"), "template prompts"),
        (coaching(7, "After a miss"), "template prompts"),
        (coaching(4, " "), "template title"),
        (
            InterventionAction::JobAid {
                course: "c".into(),
                aid: String::new(),
            },
            "aid",
        ),
        (
            InterventionAction::Mentoring {
                mentor: "x".repeat(200),
                course: "c".into(),
                skill: "s".into(),
            },
            "mentor",
        ),
    ] {
        match check_event(&with(bad), &Policy::device()) {
            Err(Refusal::Field { field, .. }) => assert_eq!(field, field_name),
            other => panic!("expected a refusal of {field_name}, got {other:?}"),
        }
    }
}

#[test]
fn only_the_server_marks_coaching_held_and_only_devices_open_job_aids() {
    let progressed = |device: &str, step| Event {
        device: device.into(),
        kind: EventKind::InterventionProgressed {
            intervention: "i1".into(),
            step,
        },
        ..answered(1.0, Response::TrueFalse { answer: true }, "truefalse")
    };
    use crate::events::InterventionStep::{CoachingHeld, JobAidOpened};
    check_event(&progressed(SERVER_DEVICE, CoachingHeld), &Policy::device()).unwrap();
    check_event(&progressed("phone", JobAidOpened), &Policy::device()).unwrap();
    assert!(matches!(
        check_event(&progressed("phone", CoachingHeld), &Policy::device()),
        Err(Refusal::ServerKindFromDevice { .. })
    ));
    assert!(matches!(
        check_event(&progressed(SERVER_DEVICE, JobAidOpened), &Policy::device()),
        Err(Refusal::ServerImpersonated(_))
    ));
}
