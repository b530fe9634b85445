//! Learning records (xAPI statements) from a real learner's store: one statement per learning
//! event with the right interaction per item kind, checks and completions as the engine decided
//! them, the same bytes from another store holding the same events and course, and responses and
//! durations only under the analytics consent scope.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tidbit_core::analytics::xapi::{statements_of, Statement, XapiSettings};
use tidbit_core::content::{compile_course, write_course_pack, Interaction, StepBody};
use tidbit_core::events::{EventKind, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const COURSE: &str = "field-safety";
const PATH: &str = "field-volunteer";
const HOME: &str = "https://learn.example.org";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-01T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn pack(dir: &Path, author: &SigningKey) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety");
    let compiled = compile_course(&source).unwrap();
    let pack = dir.join("field-safety.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, author, start(), &mut file, &mut |_, _| {}).unwrap();
    pack
}

fn open(dir: &Path, device: &str, author: &SigningKey, clock: Arc<ManualClock>) -> Tidbit {
    Tidbit::open(
        TidbitConfig {
            data_dir: dir.join(device),
            learner_id: "ana".into(),
            device_id: device.into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: TrustedKeys::from_keys([author.public_key()]),
            at_rest_key: None,
        },
        clock,
    )
    .unwrap()
}

/// A learner who practised for `days` days, with or without the analytics scope.
fn learner(dir: &Path, days: i64, analytics: bool) -> (Tidbit, SigningKey) {
    let author = SigningKey::generate().unwrap();
    let pack = pack(dir, &author);
    let clock = Arc::new(ManualClock::new(start()));
    let mut tidbit = open(dir, "phone", &author, clock.clone());
    tidbit.install_pack(&pack, &mut |_, _| {}).unwrap();
    tidbit.enroll(COURSE, PATH).unwrap();
    if analytics {
        tidbit.set_consent(ConsentScope::Analytics, true).unwrap();
    }
    let mut practice = PracticeDevice::new(&tidbit, 7, 0.85).unwrap();
    for day in 0..days {
        clock.set(start() + Duration::days(day) + Duration::hours(2));
        practice.practise(&mut tidbit, &clock, 12).unwrap();
    }
    (tidbit, author)
}

fn verb(statement: &Statement) -> &str {
    statement.verb.id.rsplit('/').next().unwrap()
}

#[test]
fn every_learning_event_makes_its_statement_and_another_store_makes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, author) = learner(dir.path(), 30, true);
    let statements = tidbit.learning_records(HOME).unwrap();
    let events = tidbit.events().unwrap();
    let course = tidbit.course(COURSE).unwrap();
    let step_body = |id: &str| {
        course
            .modules
            .iter()
            .flat_map(|m| &m.steps)
            .find(|s| s.id == id)
            .map(|s| s.body.clone())
            .unwrap()
    };

    // One `answered` per answer, one `experienced` per lesson card read.
    let answers = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ItemAnswered { .. }))
        .count();
    let by_verb = |v: &str| statements.iter().filter(|s| verb(s) == v).count();
    assert!(answers > 100, "{answers} answers");
    assert_eq!(by_verb("answered"), answers);
    let lessons_viewed = events
        .iter()
        .filter(|e| match &e.kind {
            EventKind::StepViewed { step, .. } => matches!(step_body(step), StepBody::Lesson(_)),
            _ => false,
        })
        .count();
    assert!(lessons_viewed > 0);
    assert_eq!(by_verb("experienced"), lessons_viewed);

    // Checks and completions as the engine decided them: a stage passed on the device has its
    // `passed` statement; the path finished earns its certificate once.
    let stages = tidbit.stages(COURSE).unwrap();
    let passed: BTreeSet<String> = statements
        .iter()
        .filter(|s| verb(s) == "passed")
        .map(|s| s.object.id.rsplit('/').next().unwrap().to_string())
        .collect();
    let passed_on_device: BTreeSet<String> = stages
        .iter()
        .filter(|s| s.passed_ms.is_some())
        .map(|s| s.stage.clone())
        .collect();
    assert!(!passed_on_device.is_empty(), "the learner passed a stage");
    assert_eq!(passed, passed_on_device);
    assert!(
        stages.iter().all(|s| s.passed_ms.is_some()),
        "the learner finished the path"
    );
    assert_eq!(by_verb("earned"), 1);
    assert!(by_verb("failed") > 0, "some checks failed first");
    let completed_modules: BTreeSet<&str> = statements
        .iter()
        .filter(|s| verb(s) == "completed")
        .map(|s| s.object.id.rsplit('/').next().unwrap())
        .collect();
    // Counted here by the rule: every step of the module done within one attempt.
    let mut attempt: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut completed_by_rule = BTreeSet::new();
    for event in &events {
        match &event.kind {
            EventKind::ModuleStarted { module, .. } => {
                attempt.insert(module, BTreeSet::new());
            }
            EventKind::StepViewed { module, step, .. }
            | EventKind::ItemAnswered { module, step, .. } => {
                let done = attempt.entry(module).or_default();
                done.insert(step);
                let steps = &course
                    .modules
                    .iter()
                    .find(|m| m.id == *module)
                    .unwrap()
                    .steps;
                if steps.iter().all(|s| done.contains(s.id.as_str())) {
                    completed_by_rule.insert(module.as_str());
                }
            }
            _ => {}
        }
    }
    assert!(!completed_by_rule.is_empty());
    assert_eq!(completed_modules, completed_by_rule);

    // Ids are unique and every statement names the learner's account, never an e-mail.
    let ids: BTreeSet<&str> = statements.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), statements.len());
    for statement in &statements {
        assert_eq!(statement.actor.account.home_page, HOME);
        assert_eq!(statement.actor.account.name, "ana");
        assert!(statement.timestamp.ends_with('Z') && statement.timestamp.len() == 24);
    }

    // Each answer's interaction follows its item: type, correct responses and components.
    let mut kinds = BTreeMap::new();
    for statement in statements.iter().filter(|s| verb(s) == "answered") {
        let step = statement.object.id.rsplit('/').next().unwrap();
        let StepBody::Item(item) = step_body(step) else {
            panic!("{step} is not an item");
        };
        let definition = statement.object.definition.as_ref().unwrap();
        let interaction = definition.interaction_type.clone().unwrap();
        kinds.insert(item.interaction().kind().name(), interaction.clone());
        let pattern = definition.correct_responses_pattern.clone();
        match item.interaction() {
            Interaction::SingleChoice { choices } => {
                let right = choices.iter().position(|c| c.correct).unwrap();
                assert_eq!(pattern, Some(vec![right.to_string()]));
                assert_eq!(definition.choices.as_ref().unwrap().len(), choices.len());
            }
            Interaction::TrueFalse { answer, .. } => {
                assert_eq!(pattern, Some(vec![answer.to_string()]));
            }
            Interaction::Numeric {
                answer, tolerance, ..
            } => {
                assert_eq!(
                    pattern,
                    Some(vec![format!(
                        "{}[:]{}",
                        answer - tolerance,
                        answer + tolerance
                    )])
                );
            }
            Interaction::Ordering { entries } => {
                let order: Vec<String> = (0..entries.len()).map(|i| i.to_string()).collect();
                assert_eq!(pattern, Some(vec![order.join("[,]")]));
            }
            Interaction::Flashcard { .. } | Interaction::Reflection { .. } => {
                assert_eq!(pattern, None)
            }
            _ => assert!(pattern.is_some_and(|p| p.len() == 1 && !p[0].is_empty())),
        }
        let result = statement.result.as_ref().unwrap();
        let scaled = result.score.as_ref().unwrap().scaled;
        assert!((0.0..=1.0).contains(&scaled));
        assert_eq!(result.success, Some(scaled >= 1.0 - 1e-9));
        assert!(result.response.is_some(), "analytics given: the response");
        assert!(result.duration.as_ref().unwrap().starts_with("PT"));
    }
    let expected = [
        ("single", "choice"),
        ("multiple", "choice"),
        ("truefalse", "true-false"),
        ("blanks", "fill-in"),
        ("order", "sequencing"),
        ("match", "matching"),
        ("numeric", "numeric"),
        ("scenario", "performance"),
        ("flashcard", "likert"),
        ("reflection", "long-fill-in"),
    ];
    for (kind, interaction) in expected {
        if let Some(found) = kinds.get(kind) {
            assert_eq!(found, interaction, "{kind}");
        }
    }
    eprintln!(
        "{} statements: {} answered, {} experienced, {} completed, {} passed, {} failed, {} earned; kinds {kinds:?}",
        statements.len(),
        by_verb("answered"),
        by_verb("experienced"),
        by_verb("completed"),
        by_verb("passed"),
        by_verb("failed"),
        by_verb("earned")
    );
    assert_eq!(kinds.len(), 10, "every item kind was answered: {kinds:?}");

    // The same events and course in another store (the server's content index, a second device)
    // give the same bytes; so does a second call.
    let again = tidbit.learning_records(HOME).unwrap();
    assert_eq!(
        serde_json::to_vec(&again).unwrap(),
        serde_json::to_vec(&statements).unwrap()
    );
    let other_dir = tempfile::tempdir().unwrap();
    let other_pack = pack(other_dir.path(), &author);
    let mut other = open(
        other_dir.path(),
        "index",
        &author,
        Arc::new(ManualClock::new(start())),
    );
    other.install_pack(&other_pack, &mut |_, _| {}).unwrap();
    let mut shuffled = events.clone();
    shuffled.reverse();
    let elsewhere =
        statements_of(other.store(), "ana", &shuffled, &XapiSettings::new(HOME)).unwrap();
    assert_eq!(
        serde_json::to_vec(&elsewhere).unwrap(),
        serde_json::to_vec(&statements).unwrap()
    );
}

#[test]
fn without_analytics_statements_carry_the_training_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, _) = learner(dir.path(), 3, false);
    let statements = tidbit.learning_records(HOME).unwrap();
    let answered: Vec<&Statement> = statements
        .iter()
        .filter(|s| verb(s) == "answered")
        .collect();
    assert!(!answered.is_empty());
    for statement in answered {
        let result = statement.result.as_ref().unwrap();
        assert!(result.score.is_some() && result.success.is_some());
        assert_eq!(result.response, None);
        assert_eq!(result.duration, None);
        assert!(result.extensions.is_empty());
    }
}

#[test]
fn a_home_page_that_is_not_an_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (tidbit, _) = learner(dir.path(), 1, false);
    let error = tidbit.learning_records("ana@example.org").unwrap_err();
    assert!(error.to_string().contains("home page"), "{error}");
}
