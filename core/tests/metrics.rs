//! Engagement metrics over real learners' stores, against values counted by hand from their
//! events: active learners over 1, 7, 14 and 30 days in local days, the activity series,
//! module completion, stage funnels and checks, minutes, who is at risk and why, and a
//! learner's own home-screen numbers.

mod learner_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use learner_support::{enrolled_learner, field_safety_pack, practise_on, start, COURSE};
use tidbit_core::analytics::metrics::{Cohort, Filter, LearnerSummary};
use tidbit_core::events::{EventKind, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::tidbit::Tidbit;

fn day(n: i64) -> NaiveDate {
    start().date_naive() + Duration::days(n)
}

struct Learner {
    tidbit: Tidbit,
    clock: Arc<ManualClock>,
}

fn pack(dir: &Path) -> (PathBuf, SigningKey) {
    field_safety_pack(dir)
}

/// A learner enrolled on day 0 who practises 12 minutes at 09:00 UTC on each of `days`.
fn learner(dir: &Path, name: &str, pack: &Path, author: &SigningKey, days: &[i64]) -> Learner {
    let trusted = TrustedKeys::from_keys([author.public_key()]);
    let (mut tidbit, clock) = enrolled_learner(dir, name, pack, &trusted);
    practise_on(
        &mut tidbit,
        &clock,
        (name.len() as u64, 0.8),
        days.iter().copied(),
        12,
    );
    Learner { tidbit, clock }
}

/// Counted from the events: local dates active, and minutes answering per date.
fn active_dates(tidbit: &Tidbit) -> BTreeSet<NaiveDate> {
    tidbit
        .events()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ItemAnswered { local_date, .. } => Some(*local_date),
            EventKind::StepViewed { .. } | EventKind::ModuleStarted { .. } => {
                Some(e.at().date_naive())
            }
            _ => None,
        })
        .collect()
}

fn answer_ms(tidbit: &Tidbit) -> u64 {
    tidbit
        .events()
        .unwrap()
        .iter()
        .map(|e| match &e.kind {
            EventKind::ItemAnswered { response_ms, .. } => u64::from(*response_ms),
            _ => 0,
        })
        .sum()
}

/// Modules started and completed, by the rule: every step of the module within one attempt.
fn modules(tidbit: &Tidbit) -> (usize, usize) {
    let course = tidbit.course(COURSE).unwrap();
    let mut started = BTreeSet::new();
    let mut completed = BTreeSet::new();
    let mut attempt: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for event in tidbit.events().unwrap() {
        match &event.kind {
            EventKind::ModuleStarted { module, .. } => {
                started.insert(module.clone());
                attempt.insert(module.clone(), BTreeSet::new());
            }
            EventKind::StepViewed { module, step, .. }
            | EventKind::ItemAnswered { module, step, .. } => {
                let done = attempt.entry(module.clone()).or_default();
                done.insert(step.clone());
                let steps = &course
                    .modules
                    .iter()
                    .find(|m| m.id == *module)
                    .unwrap()
                    .steps;
                if steps.iter().all(|s| done.contains(&s.id)) {
                    completed.insert(module.clone());
                }
            }
            _ => {}
        }
    }
    (started.len(), completed.len())
}

#[test]
fn cohort_metrics_equal_the_values_counted_from_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, author) = pack(dir.path());
    let ana = learner(dir.path(), "ana", &pack, &author, &[0, 1, 2, 3, 4]);
    let ben = learner(dir.path(), "ben", &pack, &author, &[0, 20]);
    let cai = learner(dir.path(), "cai", &pack, &author, &[]);
    let now = start() + Duration::days(20) + Duration::hours(5);
    let summaries: Vec<LearnerSummary> = [&ana, &ben, &cai]
        .iter()
        .map(|l| {
            l.clock.set(now);
            l.tidbit.engagement().unwrap()
        })
        .collect();
    let cohort = Cohort::of(&summaries, &Filter::default(), now);
    let s = &cohort.summary;

    // Active learners, by hand: ana on days 0–4, ben on days 0 and 20, cai never.
    assert_eq!(active_dates(&ana.tidbit), (0..5).map(day).collect());
    assert_eq!(active_dates(&ben.tidbit), [day(0), day(20)].into());
    assert_eq!(s.learners, 3);
    assert_eq!(s.daily_active, 1, "ben today");
    assert_eq!(s.weekly_active, 1);
    assert_eq!(s.active_14, 1);
    assert_eq!(s.monthly_active, 2, "ana and ben");
    let series: Vec<(NaiveDate, u64)> =
        cohort.activity.iter().map(|d| (d.date, d.active)).collect();
    assert_eq!(series.len(), 90);
    assert_eq!(series.last().unwrap(), &(day(20), 1));
    for (date, active) in &series {
        let expected = [&ana, &ben]
            .iter()
            .filter(|l| active_dates(&l.tidbit).contains(date))
            .count() as u64;
        assert_eq!(*active, expected, "{date}");
    }

    // Minutes per learner active in the last 30 days, from the answers' times.
    let minutes = (answer_ms(&ana.tidbit) + answer_ms(&ben.tidbit)) as f64 / 60_000.0 / 2.0;
    assert!((s.minutes_per_active_learner - (minutes * 10.0).round() / 10.0).abs() < 1e-9);

    // Module completion: completed of started, over every learner.
    let counted: Vec<(usize, usize)> = [&ana, &ben, &cai]
        .iter()
        .map(|l| modules(&l.tidbit))
        .collect();
    let started: usize = counted.iter().map(|c| c.0).sum();
    let completed: usize = counted.iter().map(|c| c.1).sum();
    assert!(completed > 0 && started > completed, "{counted:?}");
    assert!((s.module_completion_rate - completed as f64 / started as f64).abs() < 1e-9);

    // Stage funnel and checks, against each device's own stage statuses.
    let mut total_checks = 0;
    for stage in &cohort.stages {
        let statuses: Vec<_> = [&ana, &ben, &cai]
            .iter()
            .map(|l| {
                l.tidbit
                    .stages(COURSE)
                    .unwrap()
                    .into_iter()
                    .find(|st| st.stage == stage.stage)
                    .unwrap()
            })
            .collect();
        assert_eq!(stage.enrolled, 3);
        assert_eq!(
            stage.unlocked,
            statuses
                .iter()
                .filter(|st| st.unlocked_ms.is_some())
                .count() as u64,
            "{}",
            stage.stage
        );
        assert_eq!(
            stage.passed,
            statuses.iter().filter(|st| st.passed_ms.is_some()).count() as u64
        );
        assert_eq!(
            stage.checks,
            statuses.iter().map(|st| st.checks as u64).sum::<u64>()
        );
        total_checks += stage.checks;
    }
    assert_eq!(
        cohort.stages[0].unlocked, 3,
        "the first stage opens on enrolment"
    );
    assert_eq!(cohort.stages[0].median_days_to_unlock, Some(0.0));
    assert!(total_checks > 0);

    // At risk: ana inactive since day 4, cai never active; and anyone whose mastery of a skill
    // fell below the threshold after a passed check had measured it at or above.
    let fallen = |name: &str| -> Vec<String> {
        let summary = summaries.iter().find(|s| s.learner == name).unwrap();
        summary
            .skills
            .iter()
            .filter(|k| k.best_checked.is_some_and(|b| b >= k.threshold) && k.mastery < k.threshold)
            .map(|k| k.skill.clone())
            .collect()
    };
    let ana_risk = cohort.at_risk.iter().find(|r| r.learner == "ana").unwrap();
    assert_eq!(ana_risk.reasons[0], "inactive for 16 days");
    assert_eq!(ana_risk.reasons.len(), 1 + fallen("ana").len());
    for (reason, skill) in ana_risk.reasons[1..].iter().zip(fallen("ana")) {
        assert!(
            reason.starts_with(&format!("mastery of {skill} fell from")),
            "{reason}"
        );
    }
    let cai_risk = cohort.at_risk.iter().find(|r| r.learner == "cai").unwrap();
    assert_eq!(cai_risk.reasons, vec!["never active".to_string()]);
    let ben_flagged = cohort.at_risk.iter().find(|r| r.learner == "ben");
    assert_eq!(
        ben_flagged.map_or(0, |r| r.reasons.len()),
        fallen("ben").len(),
        "ben practised today: only fallen mastery can flag him"
    );
    assert_eq!(s.at_risk, cohort.at_risk.len() as u64);

    // A filter on another course admits no one; on this course, everyone enrolled.
    let other = Cohort::of(
        &summaries,
        &Filter {
            course: Some("sales-objections".into()),
            ..Filter::default()
        },
        now,
    );
    assert_eq!(other.summary.learners, 0);
    let cohort_of_two = Cohort::of(
        &summaries,
        &Filter {
            learners: Some(["ana".to_string(), "cai".to_string()].into()),
            ..Filter::default()
        },
        now,
    );
    assert_eq!(cohort_of_two.summary.learners, 2);
    assert_eq!(cohort_of_two.summary.monthly_active, 1);
}

#[test]
fn a_learners_home_metrics_count_their_own_days() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, author) = pack(dir.path());
    let ana = learner(dir.path(), "ana", &pack, &author, &[0, 1, 2, 3, 4, 9, 25]);
    ana.clock
        .set(start() + Duration::days(25) + Duration::hours(6));
    let home = ana.tidbit.home_metrics().unwrap();
    // Day 25 is today: the last 7 days hold day 25; 14 hold day 25; 30 hold all seven.
    assert_eq!(home.active_days_7, 1);
    assert_eq!(home.active_days_14, 1);
    assert_eq!(home.active_days_30, 7);
    let minutes = answer_ms(&ana.tidbit) as f64 / 60_000.0;
    assert!((home.minutes_30 - (minutes * 10.0).round() / 10.0).abs() < 1e-9);
    assert_eq!(home.modules_completed as usize, modules(&ana.tidbit).1);
    let recall = home
        .recall
        .expect("answers on later days are reinforcement");
    assert!((0.0..=1.0).contains(&recall));
}
