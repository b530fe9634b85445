//! Recorded decisions: a recommendation's decision is written with the learner's next event
//! (the answer that acts on it), before decisions are read, when enough wait, and when the
//! facade closes; a killed process loses only decisions nothing acted on.

mod learner_support;

use std::path::Path;

use learner_support::*;
use tidbit_core::keys::TrustedKeys;
use tidbit_core::learn::assess::Response;
use tidbit_core::nudge::NudgePreferences;
use tidbit_core::tidbit::Tidbit;

/// A learner of the field-safety sample in `dir`, enrolled.
fn learner(dir: &Path) -> Tidbit {
    let (pack, key) = field_safety_pack(dir);
    enrolled_learner(
        dir,
        "ada",
        &pack,
        &TrustedKeys::from_keys([key.public_key()]),
    )
    .0
}

/// The decision rows in the store file, read beside the facade: (id, kind).
fn stored(dir: &Path) -> Vec<(i64, String)> {
    let raw = rusqlite::Connection::open(dir.join("ada").join(tidbit_core::store::DATABASE_FILE))
        .unwrap();
    let rows = raw
        .prepare("SELECT id, kind FROM decisions ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    rows
}

fn answer(tidbit: &mut Tidbit) {
    tidbit
        .answer(
            COURSE,
            "byr-move-casualty",
            Response::TrueFalse { answer: true },
            5_000,
        )
        .unwrap();
}

#[test]
fn a_recommendation_is_stored_with_the_answer_that_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut tidbit = learner(dir.path());
    let next = tidbit.next_activity().unwrap();
    assert!(
        stored(dir.path()).is_empty(),
        "written before anything acted on it"
    );
    answer(&mut tidbit);
    let rows = stored(dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "next_activity");
    // Read back through the facade: the reason the learner saw.
    let decisions = tidbit.decisions(10).unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].reason, next.reason);
    assert_eq!(decisions[0].kind, "next_activity");
}

#[test]
fn waiting_decisions_are_written_when_read_when_sixteen_wait_and_when_the_facade_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut tidbit = learner(dir.path());

    // Read: the waiting decision is there at once.
    let next = tidbit.next_activity().unwrap();
    assert_eq!(tidbit.decisions(1).unwrap()[0].reason, next.reason);
    assert_eq!(stored(dir.path()).len(), 1);

    // Fifteen wait; the sixteenth writes them all.
    for _ in 0..15 {
        tidbit.next_activity().unwrap();
    }
    assert_eq!(stored(dir.path()).len(), 1);
    tidbit.next_activity().unwrap();
    assert_eq!(stored(dir.path()).len(), 17);

    // Closed: what waits is written.
    tidbit.next_activity().unwrap();
    drop(tidbit);
    assert_eq!(stored(dir.path()).len(), 18);
}

#[test]
fn a_killed_process_loses_only_decisions_nothing_acted_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut tidbit = learner(dir.path());
    tidbit.next_activity().unwrap();
    answer(&mut tidbit);
    tidbit.next_activity().unwrap();
    // Killed: no close runs (the leaked connection holds nothing uncommitted).
    std::mem::forget(tidbit);
    assert_eq!(stored(dir.path()).len(), 1);
    let reopened = Tidbit::open(
        tidbit_core::tidbit::TidbitConfig {
            data_dir: dir.path().join("ada"),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::new(),
            at_rest_key: None,
        },
        std::sync::Arc::new(tidbit_core::events::ManualClock::new(start())),
    )
    .unwrap();
    assert_eq!(reopened.decisions(10).unwrap().len(), 1);
}

#[test]
fn nudge_decisions_come_after_the_recommendations_taken_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, key) = field_safety_pack(dir.path());
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let (mut tidbit, clock) = enrolled_learner(dir.path(), "ada", &pack, &trusted);
    // Three days of practice, then a day off: reviews are due and the nudges have work.
    practise_on(&mut tidbit, &clock, (7, 0.8), 0..3, 10);
    clock.set(start() + chrono::Duration::days(4));
    let before = stored(dir.path()).len();
    tidbit.next_activity().unwrap();
    let plan = tidbit.plan_nudges(&NudgePreferences::consented()).unwrap();
    assert!(!plan.decisions.is_empty());
    let rows = &stored(dir.path())[before..];
    assert_eq!(rows.len(), 1 + plan.decisions.len());
    assert_eq!(rows[0].1, "next_activity");
    assert!(rows[1..].iter().all(|(_, kind)| kind.starts_with("nudge_")));
}
