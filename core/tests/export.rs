//! The learner's export and review requests through the facade, on a real store: the archive
//! loads back and matches the store, twice gives identical bytes, a place that cannot be written
//! changes nothing; reviews are asked only of decisions that exist.

mod learner_support;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration};
use learner_support::{enrolled_learner, field_safety_pack, start, COURSE, PATH};
use tidbit_core::events::{EventKind, ManualClock};
use tidbit_core::keys::TrustedKeys;
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::export::{Archive, EXPORT_FORMAT, EXPORT_VERSION};
use tidbit_core::tidbit::{Tidbit, TidbitError};

/// A learner who practised the field-safety course for `days` days, with the `analytics` scope.
fn learner(dir: &Path, days: i64) -> (Tidbit, Arc<ManualClock>) {
    let (pack, author) = field_safety_pack(dir);
    let trusted = TrustedKeys::from_keys([author.public_key()]);
    let (mut tidbit, clock) = enrolled_learner(dir, "ana", &pack, &trusted);
    tidbit.set_consent(ConsentScope::Analytics, true).unwrap();
    let mut practice = PracticeDevice::new(&tidbit, 11, 0.7).unwrap();
    for day in 0..days {
        clock.set(start() + Duration::days(day) + Duration::hours(2));
        practice.practise(&mut tidbit, &clock, 8).unwrap();
        tidbit.next_activity().unwrap();
    }
    (tidbit, clock)
}

#[test]
fn the_archive_loads_back_matches_the_store_and_is_the_same_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, clock) = learner(dir.path(), 6);
    tidbit.set_consent(ConsentScope::Signals, true).unwrap();
    let locked = tidbit
        .stages(COURSE)
        .unwrap()
        .into_iter()
        .find(|s| s.unlocked_ms.is_none())
        .expect("a stage is still locked");
    let review = tidbit
        .request_review(COURSE, &locked.stage, "I was assessed on site last week")
        .unwrap();

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut steps = Vec::new();
    let path = tidbit
        .export(&out, &mut |done, total| steps.push((done, total)))
        .unwrap();
    assert_eq!(path, out.join("tidbit-export-ana.json"));
    assert_eq!(steps.last(), Some(&(4, 4)));
    let bytes = std::fs::read(&path).unwrap();
    // Later, with no new work, the same bytes.
    clock.advance(Duration::days(3));
    tidbit.export(&out, &mut |_, _| {}).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        1,
        "no partial file"
    );

    let archive: Archive = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(archive.format, EXPORT_FORMAT);
    assert_eq!(archive.version, EXPORT_VERSION);
    assert_eq!(archive.learner, "ana");
    let events = tidbit.events().unwrap();
    assert!(events.len() > 50, "{}", events.len());
    assert_eq!(archive.events, events);
    assert_eq!(archive.as_of_ms, events.last().map(|e| e.at_ms));
    let answers_with_detail = archive
        .events
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                EventKind::ItemAnswered {
                    response: Some(_),
                    ..
                }
            )
        })
        .count();
    assert!(
        answers_with_detail > 10,
        "decrypted answers with their detail"
    );
    let mut decisions = tidbit.decisions(u32::MAX).unwrap();
    decisions.reverse();
    assert!(archive.decisions.len() >= 6, "{}", archive.decisions.len());
    assert_eq!(archive.decisions, decisions);
    assert_eq!(archive.consents, tidbit.consents().unwrap());
    let history: Vec<(ConsentScope, bool)> = archive
        .consent_history
        .iter()
        .map(|e| match e.kind {
            EventKind::ConsentChanged { scope, granted } => (scope, granted),
            _ => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(
        history,
        vec![
            (ConsentScope::Analytics, true),
            (ConsentScope::Signals, true)
        ]
    );
    assert_eq!(archive.reviews.len(), 1);
    assert_eq!(archive.reviews[0].id, review);
    assert_eq!(archive.reviews[0].stage, locked.stage);
    assert!(archive.reviews[0].decision.is_none());

    assert_eq!(archive.courses.len(), 1);
    let course = &archive.courses[0];
    assert_eq!(
        (course.course.as_str(), course.path.as_str()),
        (COURSE, PATH)
    );
    assert_eq!(course.stages, tidbit.stages(COURSE).unwrap());
    let database = dir
        .path()
        .join("ana")
        .join(tidbit_core::store::DATABASE_FILE);
    let cards: i64 = rusqlite::Connection::open(database)
        .unwrap()
        .query_row("SELECT count(*) FROM cards", [], |r| r.get(0))
        .unwrap();
    assert_eq!(course.due.len() as i64, cards);
    // Mastery and the streak as they stood at the latest event.
    clock.set(DateTime::from_timestamp_millis(archive.as_of_ms.unwrap()).unwrap());
    // Compared as JSON values: the text holds each float exactly, and both sides are read back
    // by the same parser.
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&tidbit.mastery(COURSE).unwrap()).unwrap())
            .unwrap();
    assert_eq!(value["courses"][0]["mastery"], expected);
    assert_eq!(archive.streak, tidbit.streak().unwrap());
    assert_eq!(archive.streak.current, 6);
}

#[test]
fn an_export_to_a_place_that_cannot_be_written_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, _) = learner(dir.path(), 1);
    let missing = dir.path().join("missing").join("deeper");
    let err = tidbit.export(&missing, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, TidbitError::Export { .. }), "{err}");
    assert!(!dir.path().join("missing").exists());
    // A file where the directory should be.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = tidbit.export(&file, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, TidbitError::Export { .. }), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn reviews_are_asked_only_of_decisions_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, _) = learner(dir.path(), 1);
    let events = tidbit.events().unwrap().len();
    let stages = tidbit.stages(COURSE).unwrap();
    let open = &stages[0];
    assert!(open.unlocked_ms.is_some());
    let err = tidbit
        .request_review(COURSE, &open.stage, "why")
        .unwrap_err();
    assert!(matches!(err, TidbitError::NothingToReview { .. }), "{err}");
    let err = tidbit
        .request_review(COURSE, "grandmaster", "why")
        .unwrap_err();
    assert!(matches!(err, TidbitError::UnknownStage { .. }), "{err}");
    let err = tidbit
        .request_review("no-such-course", &stages[1].stage, "why")
        .unwrap_err();
    assert!(matches!(err, TidbitError::UnknownStage { .. }), "{err}");
    let err = tidbit
        .request_review(COURSE, &stages[1].stage, "   ")
        .unwrap_err();
    assert!(matches!(err, TidbitError::ReviewReason { .. }), "{err}");
    assert_eq!(
        tidbit.events().unwrap().len(),
        events,
        "nothing was recorded"
    );

    let id = tidbit
        .request_review(COURSE, &stages[1].stage, "I did this on the job")
        .unwrap();
    let reviews = tidbit.reviews().unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].id, id);
    assert_eq!(reviews[0].reason, "I did this on the job");
    assert_eq!(
        reviews[0].questioned,
        format!(
            "stage '{}' is locked: the check of stage '{}' has not been passed",
            stages[1].stage, stages[0].stage
        )
    );
}
