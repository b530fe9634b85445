//! Goals through the facade, on a real store and the sample courses: the pace and today's
//! quota, "behind" after skipped days, plans that hold the goal's steps first and no more than
//! the quota, an impossible goal and what would make it possible, a goal set by the
//! organisation that the device may not change, and bad input that records nothing.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tidbit_core::content::model::StepBody;
use tidbit_core::content::{compile_course, write_course_pack, Course};
use tidbit_core::events::{Event, EventKind, ManualClock, SERVER_DEVICE};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::learn::goal::{GoalSpec, Pace};
use tidbit_core::learn::plan::Purpose;
use tidbit_core::learn::recommend::Activity;
use tidbit_core::simulate::answer_for;
use tidbit_core::tidbit::{GoalError, Tidbit, TidbitConfig, TidbitError};

const SAFETY: &str = "field-safety";
const VOLUNTEER: &str = "field-volunteer";
const SALES: &str = "customer-objections";

/// Monday 2026-09-21, 08:00 UTC (10:00 in Berlin).
fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-21T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

struct Learner {
    tidbit: Tidbit,
    clock: Arc<ManualClock>,
    courses: Vec<Course>,
    started: BTreeSet<String>,
    _dir: tempfile::TempDir,
}

fn learner(courses: &[&str]) -> Learner {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir: dir.path().join("data"),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::from_keys([key.public_key()]),
            at_rest_key: None,
        },
        clock.clone(),
    )
    .unwrap();
    let mut compiled_courses = Vec::new();
    for course in courses {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../content")
            .join(course);
        let compiled = compile_course(&source).unwrap();
        let pack = dir.path().join(format!("{course}.tidbit"));
        let mut file = std::fs::File::create(&pack).unwrap();
        write_course_pack(&compiled, &key, start(), &mut file, &mut |_, _| {}).unwrap();
        tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
        compiled_courses.push(compiled.course);
    }
    Learner {
        tidbit,
        clock,
        courses: compiled_courses,
        started: BTreeSet::new(),
        _dir: dir,
    }
}

fn goal(id: &str, course: &str, path: &str, stages: &[&str], due: &str) -> GoalSpec {
    GoalSpec {
        goal: id.into(),
        title: format!("Goal {id}"),
        course: course.into(),
        path: path.into(),
        stages: stages.iter().map(|s| s.to_string()).collect(),
        skills: Vec::new(),
        due: due.into(),
    }
}

impl Learner {
    /// Does the new steps of a plan for `minutes`, every answer right; returns how many.
    fn do_new_steps(&mut self, minutes: u32) -> usize {
        let plan = self.tidbit.plan_session(minutes).unwrap();
        let new: Vec<_> = plan
            .steps
            .into_iter()
            .filter(|s| s.purpose == Purpose::New)
            .collect();
        for step in &new {
            if self.started.insert(step.module.clone()) {
                self.tidbit
                    .start_module(&step.course, &step.module)
                    .unwrap();
            }
            self.clock.advance(Duration::seconds(20));
            let body = self
                .courses
                .iter()
                .flat_map(|c| c.modules.iter())
                .flat_map(|m| m.steps.iter())
                .find(|s| s.id == step.step)
                .map(|s| s.body.clone())
                .unwrap();
            match body {
                StepBody::Lesson(_) => {
                    self.tidbit.view_step(&step.course, &step.step).unwrap();
                }
                StepBody::Item(item) => {
                    let response = answer_for(&item, true);
                    self.tidbit
                        .answer(&step.course, &step.step, response, 9_000)
                        .unwrap();
                }
            }
        }
        new.len()
    }
}

#[test]
fn a_goal_paces_the_plan_and_skipped_days_put_the_learner_behind() {
    let mut l = learner(&[SAFETY]);
    l.tidbit.enroll(SAFETY, VOLUNTEER).unwrap();
    // The foundation stage by Wednesday 30 September: ten learning days, every day.
    let status = l
        .tidbit
        .set_goal(&goal(
            "foundation",
            SAFETY,
            VOLUNTEER,
            &["foundation"],
            "2026-09-30",
        ))
        .unwrap();
    assert_eq!(status.learning_days_left, 10);
    assert_eq!(status.pace, Pace::OnTrack);
    assert_eq!(status.set_by, "learner");
    assert!(status.feasible, "{}", status.summary);
    let total = status.total_steps;
    assert!(total > 10, "the foundation stage has {total} steps");
    // The stage's minutes and their reviews spread over the eight days before the reserve.
    let first_day = status.minutes_today;
    assert!(
        first_day >= 1 && first_day * 8 <= status.minutes_needed + 8,
        "{first_day} minutes of {} over eight days",
        status.minutes_needed
    );

    // An hour's plan holds only today's quota of new steps, all of the goal's stage.
    let foundation: BTreeSet<String> = {
        let stage = &l.courses[0].paths[0].stages[0];
        let mut modules: BTreeSet<String> = stage.modules.iter().cloned().collect();
        modules.extend(stage.check.clone());
        modules
    };
    let plan = l.tidbit.plan_session(60).unwrap();
    let new: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.purpose == Purpose::New)
        .collect();
    // Steps are added while any of the allowance is left (here the first module's steps, all
    // the plan can offer before that module is done, fit in it).
    let seconds: Vec<u32> = new.iter().map(|s| s.estimated_seconds).collect();
    let all: u32 = seconds.iter().sum();
    assert!(!seconds.is_empty());
    assert!(
        all - seconds.last().unwrap() < first_day * 60,
        "{seconds:?}"
    );
    assert!(new.len() < 20, "an unpaced hour would hold the whole stage");
    assert!(new.iter().all(|s| foundation.contains(&s.module)));

    // Three days without learning: on the fourth morning the learner is three days behind,
    // and the work spreads over the five days left before the reserve (the learner's
    // attendance counts once a week of learning days has passed).
    l.clock.set(start() + Duration::days(3));
    let behind = l.tidbit.goals().unwrap().remove(0);
    assert_eq!(behind.pace, Pace::Behind { days: 3 }, "{}", behind.summary);
    assert!(behind.minutes_today > first_day, "{}", behind.minutes_today);
    let next = l.tidbit.next_activity().unwrap();
    assert!(
        next.reason.contains("behind by 3 days"),
        "the recommendation says why: {}",
        next.reason
    );

    // Doing today's share leaves the learner less behind; then the goal gives no more new
    // steps today (a module opens the next once completed, so plan again until the plan holds
    // no new step).
    let mut done = 0;
    loop {
        let did = l.do_new_steps(120);
        if did == 0 {
            break;
        }
        done += did;
    }
    assert!(done > 0);
    let later = &l.tidbit.goals().unwrap()[0];
    assert!(
        !matches!(later.pace, Pace::Behind { days } if days >= 3),
        "{}",
        later.summary
    );
    assert_eq!(later.done_steps, done as u32);
    assert_eq!(later.minutes_today, 0);
    let plan = l.tidbit.plan_session(60).unwrap();
    assert!(plan.steps.iter().all(|s| s.purpose != Purpose::New));
    match l.tidbit.next_activity().unwrap().activity {
        Activity::GoalPaced { goal, pace, .. } => {
            assert_eq!(goal, "foundation");
            assert_eq!(pace, later.pace);
        }
        // Items answered minutes ago may be due again for their learning steps.
        Activity::Reinforcement { .. } | Activity::Booster { .. } => {}
        other => panic!("expected the goal's pace to hold new steps back, got {other:?}"),
    }
}

#[test]
fn an_impossible_goal_says_so_and_what_would_make_it_possible() {
    let mut l = learner(&[SAFETY]);
    l.tidbit.enroll(SAFETY, VOLUNTEER).unwrap();
    l.tidbit.set_study_time(5, &[]).unwrap();
    // Every stage of the path by tomorrow, at five minutes a day.
    let status = l
        .tidbit
        .set_goal(&goal("everything", SAFETY, VOLUNTEER, &[], "2026-09-22"))
        .unwrap();
    assert!(!status.feasible);
    assert_eq!(status.learning_days_left, 2);
    assert!(status.minutes_needed > 10, "{}", status.summary);
    assert_eq!(
        status.minutes_per_day_needed,
        status.minutes_needed.div_ceil(2).max(1),
        "the minutes spread over the two days left"
    );
    let earliest: NaiveDate = status.earliest_date.clone().unwrap().parse().unwrap();
    assert!(earliest > NaiveDate::from_ymd_opt(2026, 9, 22).unwrap());
    assert!(
        status.summary.contains("cannot be met"),
        "{}",
        status.summary
    );
    assert!(status.summary.contains("minutes a day would do it"));

    // Enough minutes a day make it possible.
    l.tidbit
        .set_study_time(status.minutes_per_day_needed + 30, &[])
        .unwrap();
    let now = &l.tidbit.goals().unwrap()[0];
    assert!(now.feasible, "{}", now.summary);
    assert_eq!(now.earliest_date, None);
}

fn server_goal(id: &str, title: &str, at: DateTime<Utc>, seq: u64) -> Event {
    Event {
        id: Event::make_id(SERVER_DEVICE, "goals", seq),
        at_ms: at.timestamp_millis(),
        device: SERVER_DEVICE.into(),
        kind: EventKind::GoalSet {
            goal: id.into(),
            title: title.into(),
            course: SALES.into(),
            path: "sales-executive".into(),
            stages: Vec::new(),
            skills: vec!["acknowledge".into()],
            due: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
            withdrawn: false,
        },
    }
}

#[test]
fn the_organisations_goal_leads_and_no_device_may_change_it() {
    let mut l = learner(&[SAFETY, SALES]);
    l.tidbit.enroll(SAFETY, VOLUNTEER).unwrap();
    let path = l.courses[1].paths[0].id.clone();
    assert_eq!(path, "sales-executive");
    // The organisation's goal on a path the learner does not follow: start it.
    l.tidbit
        .replay_events(&[server_goal("q4-sales", "Q4 sales basics", start(), 1)])
        .unwrap();
    let next = l.tidbit.next_activity().unwrap();
    assert_eq!(
        next.activity,
        Activity::Enroll {
            course: SALES.into(),
            path: path.clone()
        }
    );
    assert!(next.reason.contains("Q4 sales basics"), "{}", next.reason);
    l.tidbit.enroll(SALES, &path).unwrap();
    let plan = l.tidbit.plan_session(30).unwrap();
    let first_new = plan
        .steps
        .iter()
        .find(|s| s.purpose == Purpose::New)
        .unwrap();
    assert_eq!(first_new.course, SALES, "the goal's course comes first");

    // The device may neither replace nor withdraw it; a forged event from a device is ignored.
    let mine = goal("q4-sales", SALES, &path, &[], "2027-06-30");
    let err = l.tidbit.set_goal(&mine).unwrap_err();
    assert!(
        matches!(err, TidbitError::Goal(GoalError::SetByOrganisation(_))),
        "{err}"
    );
    let err = l.tidbit.withdraw_goal("q4-sales").unwrap_err();
    assert!(matches!(
        err,
        TidbitError::Goal(GoalError::SetByOrganisation(_))
    ));
    let mut forged = server_goal("q4-sales", "Mine now", start() + Duration::hours(1), 2);
    forged.device = "tablet".into();
    forged.id = Event::make_id("tablet", "t", 1);
    l.tidbit.replay_events(&[forged]).unwrap();
    let goals = l.tidbit.goals().unwrap();
    assert_eq!(goals.len(), 1);
    assert_eq!(goals[0].spec.title, "Q4 sales basics");
    assert_eq!(goals[0].set_by, "server");
    // The server itself may replace it.
    l.tidbit
        .replay_events(&[server_goal(
            "q4-sales",
            "Q4 sales, revised",
            start() + Duration::hours(2),
            3,
        )])
        .unwrap();
    assert_eq!(l.tidbit.goals().unwrap()[0].spec.title, "Q4 sales, revised");
}

#[test]
fn bad_goals_and_study_times_are_refused_and_record_nothing() {
    let mut l = learner(&[SAFETY]);
    l.tidbit.enroll(SAFETY, VOLUNTEER).unwrap();
    let before = l.tidbit.events().unwrap().len();
    fn refused<T: std::fmt::Debug>(r: Result<T, TidbitError>) -> GoalError {
        match r {
            Err(TidbitError::Goal(e)) => e,
            other => panic!("expected a goal error, got {other:?}"),
        }
    }
    let e = refused(
        l.tidbit
            .set_goal(&goal("g", SAFETY, VOLUNTEER, &["nope"], "2026-12-01")),
    );
    assert!(
        matches!(e, GoalError::UnknownPart { what: "stage", .. }),
        "{e}"
    );
    let e = refused(
        l.tidbit
            .set_goal(&goal("g", SAFETY, "nope", &[], "2026-12-01")),
    );
    assert!(
        matches!(e, GoalError::UnknownPart { what: "path", .. }),
        "{e}"
    );
    let mut skill = goal("g", SAFETY, VOLUNTEER, &[], "2026-12-01");
    skill.skills = vec!["juggling".into()];
    let e = refused(l.tidbit.set_goal(&skill));
    assert!(
        matches!(e, GoalError::UnknownPart { what: "skill", .. }),
        "{e}"
    );
    let e = refused(
        l.tidbit
            .set_goal(&goal("g", SAFETY, VOLUNTEER, &[], "next week")),
    );
    assert!(matches!(e, GoalError::Invalid(_)), "{e}");
    let e = refused(
        l.tidbit
            .set_goal(&goal("g", SAFETY, VOLUNTEER, &[], "2026-09-20")),
    );
    assert!(matches!(e, GoalError::PastDate { .. }), "{e}");
    let e = refused(
        l.tidbit
            .set_goal(&goal("a goal", SAFETY, VOLUNTEER, &[], "2026-12-01")),
    );
    assert!(matches!(e, GoalError::Invalid(_)), "{e}");
    let e = refused(l.tidbit.withdraw_goal("g"));
    assert!(matches!(e, GoalError::UnknownGoal(_)), "{e}");
    let e = refused(l.tidbit.set_study_time(0, &[]));
    assert!(matches!(e, GoalError::Invalid(_)), "{e}");
    let e = refused(l.tidbit.set_study_time(20, &[1, 2, 3, 4, 5, 6, 7]));
    assert!(matches!(e, GoalError::Invalid(_)), "{e}");
    assert_eq!(l.tidbit.events().unwrap().len(), before);
    assert!(l.tidbit.goals().unwrap().is_empty());

    // A goal of the learner's own can be withdrawn; the plan is then unpaced again.
    l.tidbit
        .set_goal(&goal("g", SAFETY, VOLUNTEER, &["foundation"], "2026-12-01"))
        .unwrap();
    l.tidbit.withdraw_goal("g").unwrap();
    assert!(l.tidbit.goals().unwrap().is_empty());
    let plan = l.tidbit.plan_session(30).unwrap();
    assert!(plan.steps.len() > 3, "an unpaced plan fills its half hour");
}
