//! The nudge planner through the facade, on a store that has learnt a sample course: decisions
//! recorded with reasons, outcomes as events that survive a replay, missed interventions.

use std::path::Path;
use std::sync::Arc;

use chrono::Duration;
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::{EventKind, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::nudge::{plan_nudges, NudgeKind, NudgeOutcome, NudgePreferences, OutcomeRecord};
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

mod nudge_support;
use nudge_support::*;

fn learnt_store(dir: &Path) -> (Tidbit, Arc<ManualClock>) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety");
    let compiled = compile_course(&source).unwrap();
    let key = SigningKey::generate().unwrap();
    let start = utc("2026-09-21T06:00:00Z");
    let pack = dir.join("course.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, &key, start, &mut file, &mut |_, _| {}).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.join("data"),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::from_keys([key.public_key()]),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    tidbit.enroll("field-safety", "field-volunteer").unwrap();
    let mut learner = tidbit_core::simulate::PracticeDevice::new(&tidbit, 3, 0.8).unwrap();
    for day in 0..5 {
        clock.set(start + Duration::days(day));
        learner.practise(&mut tidbit, &clock, 8).unwrap();
    }
    clock.set(start + Duration::days(5) + Duration::hours(1));
    (tidbit, clock)
}

#[test]
fn the_facade_plans_from_the_store_and_records_every_decision_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, _clock) = learnt_store(dir.path());
    let digest = tidbit.projection_digest().unwrap();
    let plan = tidbit.plan_nudges(&NudgePreferences::consented()).unwrap();
    assert!(!plan.nudges.is_empty());
    assert!(plan.nudges.len() <= 14);
    assert!(plan
        .nudges
        .iter()
        .any(|n| n.kind == NudgeKind::ReinforcementDue));
    let decisions = tidbit.decisions(200).unwrap();
    let placed = decisions
        .iter()
        .filter(|d| d.kind == "nudge_placed")
        .count();
    assert_eq!(placed, plan.nudges.len());
    assert!(decisions
        .iter()
        .filter(|d| d.kind.starts_with("nudge_"))
        .all(|d| !d.reason.is_empty()));
    // Planning changes no learner state, and planning again gives the same notifications.
    assert_eq!(tidbit.projection_digest().unwrap(), digest);
    assert_eq!(
        tidbit
            .plan_nudges(&NudgePreferences::consented())
            .unwrap()
            .nudges,
        plan.nudges
    );
}

#[test]
fn outcomes_are_events_that_feed_the_next_plan_and_survive_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, clock) = learnt_store(dir.path());
    let prefs = NudgePreferences::consented();
    let plan = tidbit.plan_nudges(&prefs).unwrap();
    let first = plan.nudges[0].clone();
    tidbit
        .record_nudge_outcome(&first, NudgeOutcome::Scheduled)
        .unwrap();
    clock.set(first.fire_at_utc);
    tidbit
        .record_nudge_outcome(&first, NudgeOutcome::Delivered)
        .unwrap();
    clock.set(first.fire_at_utc + Duration::minutes(3));
    tidbit
        .record_nudge_outcome(&first, NudgeOutcome::Ignored)
        .unwrap();
    let events = tidbit.nudge_events().unwrap();
    assert_eq!(events.len(), 3);
    assert!(matches!(
        &events[2].kind,
        EventKind::NudgeOutcomeRecorded { outcome: NudgeOutcome::Ignored, nudge, .. } if *nudge == first.id
    ));
    // The shown subject is not planned again.
    let next = tidbit.plan_nudges(&prefs).unwrap();
    assert!(
        !next.nudges.is_empty(),
        "the other subjects are still planned"
    );
    assert!(next
        .nudges
        .iter()
        .all(|n| n.subject != first.subject || n.kind != first.kind));
    let digest = tidbit.projection_digest().unwrap();
    tidbit.rebuild_projections().unwrap();
    assert_eq!(tidbit.projection_digest().unwrap(), digest);
    assert_eq!(tidbit.nudge_events().unwrap(), events);
}

#[test]
fn an_intervention_scheduled_but_never_reported_delivered_is_missed_with_that_reason() {
    let zone = tz("Europe/Berlin");
    let triggered = utc("2026-09-21T08:00:00Z");
    let now = triggered + Duration::hours(50);
    let mut state = overdue(0, now);
    state.interventions = vec![intervention("quiet", triggered, 48)];
    state.outcomes = vec![OutcomeRecord {
        subject: "quiet".into(),
        ..outcome(
            triggered + Duration::hours(1),
            "n1",
            NudgeKind::Intervention,
            10,
            NudgeOutcome::Scheduled,
        )
    }];
    let plan = plan_nudges(now, zone, &NudgePreferences::consented(), &state);
    assert_eq!(plan.missed.len(), 1);
    assert!(
        plan.missed[0].why.contains("no delivery was reported"),
        "{}",
        plan.missed[0].why
    );
}
