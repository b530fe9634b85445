//! The learner's loop through the facade, on a real store and a real sample course: scoring,
//! scheduling, replay, unlocks, remediation, plans, recommendations, streaks and certificates.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tidbit_core::content::model::StepBody;
use tidbit_core::content::{compile_course, write_course_pack, Course, Item};
use tidbit_core::events::{Grade, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::learn::assess::{Outcome, Response};
use tidbit_core::learn::plan::Purpose;
use tidbit_core::learn::recommend::Activity;
use tidbit_core::simulate::answer_for;
use tidbit_core::tidbit::{Feedback, Tidbit, TidbitConfig, TidbitError};

const COURSE: &str = "field-safety";
const PATH: &str = "field-volunteer";

struct Learner {
    tidbit: Tidbit,
    clock: Arc<ManualClock>,
    course: Course,
    key: SigningKey,
    _dir: tempfile::TempDir,
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-21T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn learner() -> Learner {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../content")
        .join(COURSE);
    let compiled = compile_course(&source).unwrap();
    let key = SigningKey::generate().unwrap();
    let pack = dir.path().join("course.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, &key, start(), &mut file, &mut |_, _| {}).unwrap();
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
    tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    tidbit.enroll(COURSE, PATH).unwrap();
    Learner {
        tidbit,
        clock,
        course: compiled.course,
        key,
        _dir: dir,
    }
}

impl Learner {
    fn item(&self, step: &str) -> &Item {
        self.course
            .modules
            .iter()
            .flat_map(|m| m.steps.iter())
            .find_map(|s| match &s.body {
                StepBody::Item(item) if s.id == step => Some(item),
                _ => None,
            })
            .unwrap()
    }

    /// Works through a module: reads every card and answers every item right or wrong.
    /// Returns the feedback on the last item.
    fn do_module(&mut self, module: &str, right: impl Fn(&str) -> bool) -> Option<Feedback> {
        self.tidbit.start_module(COURSE, module).unwrap();
        let steps: Vec<(String, Option<Item>)> = self
            .course
            .module(module)
            .unwrap()
            .steps
            .iter()
            .map(|s| match &s.body {
                StepBody::Item(item) => (s.id.clone(), Some(item.clone())),
                StepBody::Lesson(_) => (s.id.clone(), None),
            })
            .collect();
        let mut last = None;
        for (step, item) in steps {
            self.clock.advance(Duration::seconds(20));
            match item {
                None => {
                    self.tidbit.view_step(COURSE, &step).unwrap();
                }
                Some(item) => {
                    let response = answer_for(&item, right(&step));
                    last = Some(self.tidbit.answer(COURSE, &step, response, 9_000).unwrap());
                }
            }
        }
        last
    }

    fn stage_modules(&self, stage: usize) -> (Vec<String>, String) {
        let stage = &self.course.paths[0].stages[stage];
        (stage.modules.clone(), stage.check.clone().unwrap())
    }

    fn event_count(&self) -> usize {
        self.tidbit.events().unwrap().len()
    }
}

fn first_item_of_kind<'a>(course: &'a Course, kind: &str) -> (&'a str, &'a Item) {
    course
        .modules
        .iter()
        .flat_map(|m| m.steps.iter())
        .find_map(|s| match &s.body {
            StepBody::Item(item) if item.interaction().kind().name() == kind => {
                Some((s.id.as_str(), item))
            }
            _ => None,
        })
        .unwrap()
}

#[test]
fn every_item_kind_scores_right_and_wrong_through_the_facade() {
    let mut l = learner();
    for kind in [
        "single",
        "multiple",
        "truefalse",
        "blanks",
        "order",
        "match",
        "numeric",
        "scenario",
        "flashcard",
        "reflection",
    ] {
        let course = l.course.clone();
        let (step, item) = first_item_of_kind(&course, kind);
        let right = l
            .tidbit
            .answer(COURSE, step, answer_for(item, true), 8000)
            .unwrap();
        assert_eq!(right.assessment.outcome, Outcome::Right, "{kind}");
        assert!((right.assessment.credit - 1.0).abs() < 1e-9, "{kind}");
        assert!(!right.assessment.explanation.is_empty(), "{kind}");
        assert!(right.next_due_ms.is_some(), "{kind}");
        let wrong = l
            .tidbit
            .answer(COURSE, step, answer_for(item, false), 8000)
            .unwrap();
        assert!(wrong.assessment.credit < 1.0, "{kind}");
        if kind != "scenario" && kind != "order" {
            assert_eq!(wrong.grade, Grade::Again, "{kind}");
        }
    }
}

#[test]
fn a_malformed_answer_is_a_typed_error_and_records_nothing() {
    let mut l = learner();
    let course = l.course.clone();
    let (step, _) = first_item_of_kind(&course, "single");
    let before = l.event_count();
    let digest = l.tidbit.projection_digest().unwrap();
    let err = l
        .tidbit
        .answer(COURSE, step, Response::Numeric { value: 3.0 }, 1000)
        .unwrap_err();
    assert!(matches!(err, TidbitError::Response(_)), "{err}");
    let err = l
        .tidbit
        .answer(COURSE, step, Response::SingleChoice { choice: 99 }, 1000)
        .unwrap_err();
    assert!(matches!(err, TidbitError::Response(_)), "{err}");
    assert_eq!(l.event_count(), before);
    assert_eq!(l.tidbit.projection_digest().unwrap(), digest);
}

#[test]
fn replaying_the_log_rebuilds_byte_identical_projections() {
    let mut l = learner();
    let (modules, check) = l.stage_modules(0);
    for (day, module) in modules.iter().enumerate() {
        l.clock.set(start() + Duration::days(day as i64 * 2));
        l.do_module(module, |s| !s.ends_with('2'));
    }
    l.clock.advance(Duration::days(3));
    l.do_module(&check, |_| true);
    l.clock.advance(Duration::days(4));
    let plan = l.tidbit.plan_session(5).unwrap();
    for step in plan
        .steps
        .iter()
        .filter(|s| s.purpose == Purpose::Reinforcement)
    {
        let item = l.item(&step.step).clone();
        l.tidbit
            .answer(COURSE, &step.step, answer_for(&item, true), 5000)
            .unwrap();
    }
    let before = l.tidbit.projection_digest().unwrap();
    let events = l.tidbit.rebuild_projections().unwrap();
    assert_eq!(events as usize, l.event_count());
    assert!(events > 30);
    assert_eq!(l.tidbit.projection_digest().unwrap(), before);
}

#[test]
fn finishing_modules_does_not_unlock_the_next_stage_but_passing_its_check_does() {
    let mut l = learner();
    let (modules, check) = l.stage_modules(0);
    for module in &modules {
        l.do_module(module, |_| true);
    }
    let stages = l.tidbit.stages(COURSE).unwrap();
    assert!(stages[0].unlocked_ms.is_some());
    assert!(
        stages[1].unlocked_ms.is_none(),
        "finished modules alone unlock nothing"
    );
    l.do_module(&check, |_| true);
    let stages = l.tidbit.stages(COURSE).unwrap();
    assert!(stages[0].passed_ms.is_some());
    assert!(stages[1].unlocked_ms.is_some());
    assert!(stages[2].unlocked_ms.is_none());
}

#[test]
fn a_failed_stage_check_keeps_the_stage_locked_and_inserts_remediation() {
    let mut l = learner();
    let (modules, check) = l.stage_modules(0);
    for module in &modules {
        l.do_module(module, |_| true);
    }
    let feedback = l.do_module(&check, |_| false).unwrap();
    assert_eq!(feedback.stage_checks.len(), 1);
    let result = &feedback.stage_checks[0];
    assert!(!result.passed);
    assert!(result.unlocked.is_none());
    assert!(result.skills.iter().any(|score| score.mastery < 0.8));
    assert!(!feedback.remediations.is_empty());
    let stages = l.tidbit.stages(COURSE).unwrap();
    assert!(stages[1].unlocked_ms.is_none());
    assert!(stages[0].passed_ms.is_none());
    let next = l.tidbit.next_activity().unwrap();
    assert!(
        matches!(next.activity, Activity::Remediation { .. }),
        "{next:?}"
    );
    assert!(next.reason.contains("check"), "{}", next.reason);
}

#[test]
fn two_wrong_answers_on_a_skill_insert_a_lesson_and_a_different_item_due_within_minutes() {
    let mut l = learner();
    let module = l.stage_modules(0).0[0].clone();
    l.tidbit.start_module(COURSE, &module).unwrap();
    // Answer the module's items wrong until a remediation appears.
    let items: Vec<(String, Item, Vec<String>)> = l
        .course
        .module(&module)
        .unwrap()
        .steps
        .iter()
        .filter_map(|s| match &s.body {
            StepBody::Item(item) => Some((s.id.clone(), item.clone(), s.skills.clone())),
            _ => None,
        })
        .collect();
    let mut wrong_steps = Vec::new();
    let mut inserted = None;
    for (step, item, _) in &items {
        let feedback = l
            .tidbit
            .answer(COURSE, step, answer_for(item, false), 7000)
            .unwrap();
        if feedback.assessment.outcome == Outcome::Wrong {
            wrong_steps.push(step.clone());
        }
        if let Some(r) = feedback.remediations.first() {
            inserted = Some(r.clone());
            break;
        }
    }
    let remediation = inserted.expect("two misses on one skill insert a remediation");
    assert!(
        !wrong_steps.contains(&remediation.item_step),
        "re-test uses a different item"
    );
    // Items of the checks of still-locked stages are not used as re-tests.
    let locked = &l.course.paths[0].stages[1..];
    assert_eq!(locked.len(), 3);
    for stage in locked {
        let check = l.course.module(stage.check.as_deref().unwrap()).unwrap();
        assert!(!check.steps.is_empty(), "{} has no steps", check.id);
        assert!(check.steps.iter().all(|s| s.id != remediation.item_step));
    }
    let lesson = remediation
        .lesson_step
        .clone()
        .expect("the skill has a lesson card");
    let now = l.tidbit.now().timestamp_millis();
    assert!(remediation.due_ms - now <= 5 * 60_000);
    let plan = l.tidbit.plan_session(10).unwrap();
    let planned: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.purpose == Purpose::Remediation)
        .map(|s| s.step.as_str())
        .collect();
    assert_eq!(planned, [lesson.as_str(), remediation.item_step.as_str()]);
    let next = l.tidbit.next_activity().unwrap();
    assert!(matches!(next.activity, Activity::Remediation { .. }));
    assert!(
        next.reason.contains("missed two questions"),
        "{}",
        next.reason
    );
    // The re-test, answered right, resolves it.
    l.clock.advance(Duration::minutes(3));
    let item = l.item(&remediation.item_step).clone();
    let feedback = l
        .tidbit
        .answer(
            COURSE,
            &remediation.item_step,
            answer_for(&item, true),
            6000,
        )
        .unwrap();
    assert_eq!(feedback.assessment.outcome, Outcome::Right);
    assert_eq!(l.tidbit.due_counts().unwrap().remediations, 0);
}

#[test]
fn a_session_plan_fits_its_budget_in_the_documented_order() {
    let mut l = learner();
    let (modules, _) = l.stage_modules(0);
    l.do_module(&modules[0], |_| true);
    l.clock.advance(Duration::days(9));
    let plan = l.tidbit.plan_session(4).unwrap();
    assert!(plan.total_seconds <= 240, "{}", plan.total_seconds);
    assert!(!plan.steps.is_empty());
    let order: Vec<Purpose> = plan.steps.iter().map(|s| s.purpose).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|p| match p {
        Purpose::Reinforcement => 0,
        Purpose::Remediation => 1,
        Purpose::New => 2,
    });
    assert_eq!(order, sorted);
    assert_eq!(order[0], Purpose::Reinforcement);
    assert!(order.contains(&Purpose::New));
    let refresher = l.tidbit.refresher(COURSE, &l.course.skills[0].id).unwrap();
    assert!(refresher.total_seconds <= 120);
    assert!(!refresher.steps.is_empty());
}

#[test]
fn the_recommendation_names_due_items_and_mastery_and_is_recorded() {
    let mut l = learner();
    let next = l.tidbit.next_activity().unwrap();
    assert!(
        matches!(
            next.activity,
            Activity::Module {
                stage_check: false,
                ..
            }
        ),
        "{next:?}"
    );
    assert!(next.reason.starts_with("Next in"), "{}", next.reason);
    let (modules, _) = l.stage_modules(0);
    l.do_module(&modules[0], |_| true);
    l.clock.advance(Duration::days(12));
    let next = l.tidbit.next_activity().unwrap();
    assert!(
        matches!(
            next.activity,
            Activity::Booster { .. } | Activity::Reinforcement { .. }
        ),
        "{next:?}"
    );
    assert!(
        next.reason.contains("due") && next.reason.contains("mastery"),
        "{}",
        next.reason
    );
    let decisions = l.tidbit.decisions(10).unwrap();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0].reason, next.reason);
    assert!(decisions[0].inputs["due_now"].as_u64().unwrap() > 0);
}

#[test]
fn boosters_bring_a_module_back_as_fsrs_makes_it_due() {
    let mut l = learner();
    let (modules, _) = l.stage_modules(0);
    l.do_module(&modules[0], |_| true);
    // The learning steps (minutes) bring the items back the same day; answered, they graduate.
    for _ in 0..3 {
        l.clock.advance(Duration::minutes(15));
        for step in l.tidbit.booster(COURSE, &modules[0]).unwrap().steps {
            let item = l.item(&step.step).clone();
            l.tidbit
                .answer(COURSE, &step.step, answer_for(&item, true), 9000)
                .unwrap();
        }
    }
    l.clock.advance(Duration::hours(2));
    assert!(l
        .tidbit
        .booster(COURSE, &modules[0])
        .unwrap()
        .steps
        .is_empty());
    // A few days on, FSRS brings the items back as a two-minute booster.
    l.clock.advance(Duration::days(4));
    let booster = l.tidbit.booster(COURSE, &modules[0]).unwrap();
    assert!(!booster.steps.is_empty());
    assert!(booster.total_seconds <= 120);
}

#[test]
fn a_streak_counts_local_days_in_the_learners_time_zone() {
    let mut l = learner();
    let course = l.course.clone();
    let (step, item) = first_item_of_kind(&course, "single");
    // 23:30 in Berlin on three consecutive evenings (21:30 UTC in summer time).
    for day in 0..3 {
        l.clock.set(
            DateTime::parse_from_rfc3339("2026-09-21T21:30:00Z")
                .unwrap()
                .with_timezone(&Utc)
                + Duration::days(day),
        );
        l.tidbit
            .answer(COURSE, step, answer_for(item, true), 5000)
            .unwrap();
    }
    let streak = l.tidbit.streak().unwrap();
    assert_eq!(streak.current, 3);
    assert!(streak.practised_today);
    l.clock.advance(Duration::days(2));
    assert_eq!(l.tidbit.streak().unwrap().current, 0);
    assert_eq!(l.tidbit.streak().unwrap().longest, 3);
}

#[test]
fn a_finished_path_earns_a_certificate_anyone_can_verify() {
    let mut l = learner();
    assert!(matches!(
        l.tidbit.issue_certificate(COURSE, "Field Ops", &l.key),
        Err(TidbitError::PathNotFinished { .. })
    ));
    for stage in 0..4 {
        let (modules, check) = l.stage_modules(stage);
        for module in &modules {
            l.do_module(module, |_| true);
        }
        l.do_module(&check, |_| true);
    }
    let stages = l.tidbit.stages(COURSE).unwrap();
    assert_eq!(stages.len(), 4);
    assert!(stages.iter().all(|s| s.passed_ms.is_some()), "{stages:?}");
    let certificate = l
        .tidbit
        .issue_certificate(COURSE, "Field Ops", &l.key)
        .unwrap();
    let verified = tidbit_core::certificate::verify_certificate(
        certificate.as_bytes(),
        &TrustedKeys::from_keys([l.key.public_key()]),
    )
    .unwrap();
    assert_eq!(verified.learner_id, "ada");
    assert_eq!(verified.path_id, PATH);
    // Once the learning steps of the last items are done, nothing new is left on the path.
    l.clock.advance(Duration::days(60));
    let plan = l.tidbit.plan_session(600).unwrap();
    assert!(!plan.steps.is_empty(), "reviews are due after 60 days");
    assert!(
        plan.steps.iter().all(|s| s.purpose != Purpose::New),
        "{plan:?}"
    );
}

#[test]
fn a_check_of_a_locked_stage_unlocks_nothing() {
    let mut l = learner();
    let (_, application_check) = l.stage_modules(1);
    l.do_module(&application_check, |_| true);
    let stages = l.tidbit.stages(COURSE).unwrap();
    assert!(stages[1].unlocked_ms.is_none());
    assert!(stages[1].passed_ms.is_none());
    assert!(stages[2].unlocked_ms.is_none());
}

#[test]
fn an_upgrade_that_retires_a_step_stops_planning_it_and_replays_to_the_same_state() {
    let mut l = learner();
    let (modules, _) = l.stage_modules(0);
    l.do_module(&modules[0], |_| true);
    // Version 1.1.0 drops the module's first item.
    let mut upgraded = l.course.clone();
    upgraded.version = semver::Version::new(1, 1, 0);
    let module = upgraded
        .modules
        .iter_mut()
        .find(|m| m.id == modules[0])
        .unwrap();
    let dropped = module
        .steps
        .iter()
        .position(|s| matches!(s.body, StepBody::Item(_)))
        .unwrap();
    let retired = module.steps.remove(dropped).id;
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../content")
        .join(COURSE);
    let mut compiled = compile_course(&source).unwrap();
    compiled.course = upgraded;
    let pack = l.tidbit.data_dir().with_file_name("upgrade.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, &l.key, start(), &mut file, &mut |_, _| {}).unwrap();
    let report = l.tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    assert_eq!(report.steps_retired, vec![retired.clone()]);
    l.clock.advance(Duration::days(30));
    let plan = l.tidbit.plan_session(60).unwrap();
    assert!(!plan.steps.is_empty(), "reviews are due after 30 days");
    assert!(plan.steps.iter().all(|s| s.step != retired));
    let due = l.tidbit.due_counts().unwrap().due_now as usize;
    assert_eq!(
        due,
        plan.steps
            .iter()
            .filter(|s| s.purpose == Purpose::Reinforcement)
            .count()
    );
    let digest = l.tidbit.projection_digest().unwrap();
    l.tidbit.rebuild_projections().unwrap();
    assert_eq!(l.tidbit.projection_digest().unwrap(), digest);
}

#[test]
fn a_flashcard_back_is_revealed_only_on_request_and_only_for_flashcards() {
    let l = learner();
    let course = l.course.clone();
    let (step, item) = first_item_of_kind(&course, "flashcard");
    let back = match item.interaction() {
        tidbit_core::content::Interaction::Flashcard { back } => back.clone(),
        _ => unreachable!(),
    };
    let view = serde_json::to_string(&l.tidbit.step_view(COURSE, step).unwrap()).unwrap();
    assert!(!view.contains(&back));
    assert_eq!(l.tidbit.flashcard_back(COURSE, step).unwrap(), back);
    let (single, _) = first_item_of_kind(&course, "single");
    assert!(matches!(
        l.tidbit.flashcard_back(COURSE, single),
        Err(TidbitError::NotAFlashcard { .. })
    ));
}
