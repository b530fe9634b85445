//! The memo changes no answer: after every call of a learner's month, the facade's next
//! activity, session plan and due counts (read through the memo) equal those read from the store
//! alone; and the memo is kept across plain answers, not read again each time.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{Tidbit, TidbitConfig};
use crate::events::ManualClock;
use crate::learn::memo::{Memo, Reads};
use crate::learn::plan::{self, DueCounts, Purpose, SessionPlan};
use crate::learn::recommend::{self, Activity, Recommendation};
use crate::simulate::answers::answer_through;

const COURSE: &str = "field-safety";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn learner(dir: &Path) -> (Tidbit, Arc<ManualClock>) {
    let (pack, trusted) = crate::simulate::tests::sample_pack(dir);
    let clock = Arc::new(ManualClock::new(start()));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.join("ana"),
            learner_id: "ana".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: trusted,
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    tidbit.enroll(COURSE, "field-volunteer").unwrap();
    (tidbit, clock)
}

/// What the store alone says now: the next activity, a ten-minute plan and the due counts.
fn from_store(tidbit: &Tidbit) -> (Recommendation, SessionPlan, DueCounts) {
    let conn = tidbit.store.conn();
    let now = tidbit.now();
    let now_ms = now.timestamp_millis();
    let pacing = tidbit.pacing().unwrap();
    let scheduler = tidbit.schedulers.scheduler();
    (
        recommend::next_activity(Reads::store(conn), scheduler, now_ms, &pacing).unwrap(),
        plan::plan_session(conn, scheduler, now_ms, 600, &pacing).unwrap(),
        plan::due_counts(conn, now_ms, tidbit.end_of_local_day_ms(now)).unwrap(),
    )
}

/// The facade's answers (through the memo) against the store's; returns the recommendation.
fn check(tidbit: &mut Tidbit, checks: &mut u32) -> Recommendation {
    let (recommendation, session, counts) = from_store(tidbit);
    assert_eq!(tidbit.due_counts().unwrap(), counts);
    assert_eq!(tidbit.plan_session(10).unwrap(), session);
    let next = tidbit.next_activity().unwrap();
    assert_eq!(next, recommendation);
    *checks += 1;
    next
}

#[test]
fn the_memo_answers_as_the_store_does_over_a_month_and_is_kept_across_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, clock) = learner(dir.path());
    let mut coin = 0x2026_u64;
    let mut flip = move || {
        coin = coin
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (coin >> 33) % 100
    };
    let (mut checks, mut answers, mut kept, mut reinforcement_answers) = (0, 0, 0, 0);
    for day in 0..30 {
        clock.set(start() + Duration::days(day));
        for _ in 0..12 {
            let next = check(&mut tidbit, &mut checks);
            let steps = match next.activity {
                Activity::Remediation { plan, .. }
                | Activity::Reinforcement { plan, .. }
                | Activity::Booster { plan, .. } => plan.steps,
                Activity::Module { course, module, .. } => {
                    tidbit.start_module(&course, &module).unwrap();
                    tidbit
                        .plan_session(10)
                        .unwrap()
                        .steps
                        .into_iter()
                        .filter(|s| s.module == module)
                        .collect()
                }
                _ => Vec::new(),
            };
            if steps.is_empty() {
                break;
            }
            for step in steps {
                clock.advance(Duration::seconds(8));
                match tidbit.load_item(&step.course, &step.step) {
                    Ok((_, item)) => {
                        let reinforcing = step.purpose == Purpose::Reinforcement;
                        answer_through(
                            &mut tidbit,
                            &step.course,
                            &step.step,
                            &item,
                            flip() < 75,
                            8_000,
                        )
                        .unwrap();
                        answers += 1;
                        if tidbit.memo.lock().unwrap().is_some() {
                            kept += 1;
                            reinforcement_answers += u32::from(reinforcing);
                        }
                    }
                    Err(_) => {
                        tidbit.view_step(&step.course, &step.step).unwrap();
                    }
                }
                check(&mut tidbit, &mut checks);
            }
        }
    }
    assert!(checks > 1_000, "{checks} checks");
    assert!(answers > 500, "{answers} answers");
    // Most answers leave the memo in step (those that complete a module, run a stage check or
    // touch a remediation drop it), reviews of due cards among them.
    assert!(kept * 2 > answers, "kept after {kept} of {answers} answers");
    assert!(
        reinforcement_answers > 200,
        "{reinforcement_answers} reviews kept it"
    );
}

#[test]
fn a_write_by_another_connection_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, clock) = learner(dir.path());
    // Answer the first module's items so that cards exist, then come back a week later.
    let module = match tidbit.next_activity().unwrap().activity {
        Activity::Module { module, .. } => module,
        other => panic!("expected a module, got {other:?}"),
    };
    for step in tidbit.start_module(COURSE, &module).unwrap() {
        if let super::StepView::Item { id: step, .. } = step {
            let (_, item) = tidbit.load_item(COURSE, &step).unwrap();
            answer_through(&mut tidbit, COURSE, &step, &item, true, 5_000).unwrap();
        }
    }
    clock.set(start() + Duration::days(60));
    let before = tidbit.due_counts().unwrap();
    assert!(before.due_now > 0, "{before:?}");
    assert!(tidbit.memo.lock().unwrap().is_some());
    // Another connection (another process on the same data directory) moves every card out.
    let other =
        rusqlite::Connection::open(dir.path().join("ana").join(crate::store::DATABASE_FILE))
            .unwrap();
    other
        .execute("UPDATE cards SET due_ms = due_ms + 365 * 86400000", [])
        .unwrap();
    let after = tidbit.due_counts().unwrap();
    assert_eq!(after.due_now, 0, "{after:?}");
    assert_eq!(after, from_store(&tidbit).2);
}

#[test]
fn with_more_cards_due_than_it_holds_the_memo_lists_and_counts_them_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tidbit, clock) = learner(dir.path());
    // A week of modules, then a month away: every card met is due.
    for day in 0..7 {
        clock.set(start() + Duration::days(day));
        for _ in 0..6 {
            let Activity::Module { course, module, .. } = tidbit.next_activity().unwrap().activity
            else {
                break;
            };
            for step in tidbit.start_module(&course, &module).unwrap() {
                match step {
                    super::StepView::Item { id, .. } => {
                        let (_, item) = tidbit.load_item(&course, &id).unwrap();
                        answer_through(&mut tidbit, &course, &id, &item, true, 6_000).unwrap();
                    }
                    super::StepView::Lesson { id, .. } => {
                        tidbit.view_step(&course, &id).unwrap();
                    }
                }
            }
        }
    }
    clock.set(start() + Duration::days(40));
    let (recommendation, session, counts) = from_store(&tidbit);
    assert!(counts.due_now >= 3, "{counts:?}");
    let conn = tidbit.store.conn();
    let now = tidbit.now();
    let now_ms = now.timestamp_millis();
    let end_of_day_ms = tidbit.end_of_local_day_ms(now);
    let memo = Memo::build_holding(conn, end_of_day_ms, 2).unwrap();
    assert_eq!(memo.due_counts(now_ms, end_of_day_ms), None);
    let reads = Reads {
        conn,
        memo: Some(&memo),
    };
    let pacing = tidbit.pacing().unwrap();
    let scheduler = tidbit.schedulers.scheduler();
    assert_eq!(reads.due_counts(now_ms, end_of_day_ms).unwrap(), counts);
    assert_eq!(
        plan::plan_session_in(reads, scheduler, now_ms, 600, &pacing).unwrap(),
        session
    );
    assert_eq!(
        recommend::next_activity(reads, scheduler, now_ms, &pacing).unwrap(),
        recommendation
    );
}
