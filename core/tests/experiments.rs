//! Experiments on simulated learners: each learner's device assigns its arm offline and records
//! the exposure; the analysis finds an effect planted in one arm, finds none where both arms are
//! alike, and says when there is not enough data.

mod learner_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;
use learner_support::{enrolled_learner, field_safety_pack};
use tidbit_core::analytics::experiment::{analyse, assign, Arm, Experiment, Metric, Variation};
use tidbit_core::analytics::metrics::LearnerSummary;
use tidbit_core::events::{EventKind, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::Tidbit;

const COURSE: &str = "field-safety";

fn experiment(id: &str) -> Experiment {
    Experiment {
        id: id.into(),
        arms: vec![
            Arm {
                name: "control".into(),
                weight: 1,
                gets: "the current reminder wording".into(),
            },
            Arm {
                name: "treatment".into(),
                weight: 1,
                gets: "a reminder naming the skill due".into(),
            },
        ],
        varies: Variation::NudgeTemplate {
            nudge_kind: "reinforcement_due".into(),
        },
        metric: Metric::Completion,
    }
}

/// SplitMix64, so the simulated population is the same every run.
fn uniform(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64
}

fn pack(dir: &Path) -> (PathBuf, SigningKey) {
    field_safety_pack(dir)
}

/// A learner's device with the course installed, enrolled on its path.
fn enrolled(
    dir: &Path,
    learner: &str,
    pack: &Path,
    trusted: &TrustedKeys,
) -> (Tidbit, Arc<ManualClock>) {
    enrolled_learner(dir, learner, pack, trusted)
}

/// `n` learners exposed to `experiment` on day 0; a learner in an arm practises that day with
/// the arm's chance (`chance[arm index]`). Returns their summaries a day later.
fn simulate(experiment: &Experiment, n: usize, chance: [f64; 2]) -> Vec<LearnerSummary> {
    let dir = tempfile::tempdir().unwrap();
    let (pack, author) = pack(dir.path());
    let trusted = TrustedKeys::from_keys([author.public_key()]);
    let mut summaries = Vec::with_capacity(n);
    for i in 0..n {
        let learner = format!("learner-{i:03}");
        let (mut tidbit, clock) = enrolled(dir.path(), &learner, &pack, &trusted);
        clock.advance(Duration::hours(2));
        let arm = tidbit.expose(&experiment.id, &experiment.arms).unwrap();
        // Exposed once: a second call records nothing more.
        assert_eq!(
            tidbit.expose(&experiment.id, &experiment.arms).unwrap(),
            arm
        );
        let index = experiment.arms.iter().position(|a| a.name == arm).unwrap();
        assert_eq!(index, assign(&experiment.id, &learner, &experiment.arms));
        if uniform(i as u64 ^ 0xA5A5) < chance[index] {
            let mut practice = PracticeDevice::new(&tidbit, i as u64, 0.8).unwrap();
            practice.practise(&mut tidbit, &clock, 8).unwrap();
        }
        clock.advance(Duration::days(1));
        let exposures = tidbit
            .events()
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.kind, EventKind::ExperimentExposed { .. }))
            .count();
        assert_eq!(exposures, 1);
        summaries.push(tidbit.engagement().unwrap());
    }
    summaries
}

#[test]
fn a_planted_effect_is_found_and_equal_arms_show_none() {
    let planted = experiment("reminder-wording");
    let summaries = simulate(&planted, 140, [0.35, 0.8]);
    let result = analyse(&planted, &summaries);
    let control = &result.arms[0];
    let treatment = &result.arms[1];
    assert_eq!(control.exposed + treatment.exposed, 140);
    assert!(
        control.exposed >= 50 && treatment.exposed >= 50,
        "{result:?}"
    );
    let comparison = &result.comparisons[0];
    let (low, high) = comparison.interval.expect("enough data");
    assert!(low > 0.0, "the planted effect is found: {comparison:?}");
    assert!(low < comparison.difference && comparison.difference < high);
    assert!((comparison.difference - (treatment.value - control.value)).abs() < 1e-12);
    assert!(
        comparison
            .verdict
            .starts_with("treatment's module completion is")
            && comparison.verdict.contains("higher than control's"),
        "{}",
        comparison.verdict
    );
    eprintln!("planted: {}", comparison.verdict);

    let null = experiment("reminder-wording-null");
    let summaries = simulate(&null, 140, [0.55, 0.55]);
    let result = analyse(&null, &summaries);
    let comparison = &result.comparisons[0];
    let (low, high) = comparison.interval.expect("enough data");
    assert!(
        low < 0.0 && 0.0 < high,
        "no effect where none was planted: {comparison:?}"
    );
    assert!(
        comparison.verdict.starts_with("No difference shown"),
        "{}",
        comparison.verdict
    );
    eprintln!("null: {}", comparison.verdict);
}

#[test]
fn too_few_learners_get_a_sentence_instead_of_an_interval() {
    let experiment = experiment("pilot");
    let summaries = simulate(&experiment, 12, [0.5, 0.5]);
    let result = analyse(&experiment, &summaries);
    let comparison = &result.comparisons[0];
    assert_eq!(comparison.interval, None);
    assert!(
        comparison.verdict.starts_with("Not enough data yet"),
        "{}",
        comparison.verdict
    );
    // Learners never exposed do not count, whatever they did.
    let other = experiment_never_exposed();
    assert_eq!(
        analyse(&other, &summaries)
            .arms
            .iter()
            .map(|a| a.exposed)
            .sum::<u64>(),
        0
    );
}

fn experiment_never_exposed() -> Experiment {
    experiment("never-shown")
}

#[test]
fn an_experiment_on_nudge_wording_sets_the_wording_of_the_learners_nudges() {
    use tidbit_core::events::NudgeKind;
    use tidbit_core::nudge::NudgePreferences;
    use tidbit_core::privacy::consent::ConsentScope;

    let arms = vec![
        Arm {
            name: "control".into(),
            weight: 1,
            gets: "count".into(),
        },
        Arm {
            name: "minutes".into(),
            weight: 1,
            gets: "minutes".into(),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let (pack, author) = pack(dir.path());
    let trusted = TrustedKeys::from_keys([author.public_key()]);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..8 {
        let learner = format!("learner-{i}");
        let (mut tidbit, clock) = enrolled(dir.path(), &learner, &pack, &trusted);
        // Personalised: without the experiment, the planner would learn the wording itself.
        tidbit
            .set_consent(ConsentScope::Personalisation, true)
            .unwrap();
        let mut practice = PracticeDevice::new(&tidbit, i, 0.8).unwrap();
        practice.practise(&mut tidbit, &clock, 10).unwrap();
        // A wording the kind does not have is refused, and nothing is recorded.
        let mut wrong = arms.clone();
        wrong[1].gets = "shout".into();
        assert!(tidbit
            .expose_nudge_wording("due-wording", NudgeKind::ReinforcementDue, &wrong)
            .is_err());
        let arm = tidbit
            .expose_nudge_wording("due-wording", NudgeKind::ReinforcementDue, &arms)
            .unwrap();
        let wording = &arms.iter().find(|a| a.name == arm).unwrap().gets;
        clock.advance(Duration::days(1));
        let plan = tidbit.plan_nudges(&NudgePreferences::consented()).unwrap();
        let due: Vec<_> = plan
            .nudges
            .iter()
            .filter(|n| n.kind == NudgeKind::ReinforcementDue && !n.soft)
            .collect();
        assert!(!due.is_empty(), "{learner} has reinforcement due");
        for nudge in due {
            assert_eq!(&nudge.variant, wording, "{learner} in {arm}");
        }
        seen.insert(arm);
    }
    assert_eq!(seen.len(), 2, "both arms were drawn among eight learners");
}

#[test]
fn an_experiment_on_desired_retention_sets_when_the_learners_cards_come_back() {
    use tidbit_core::content::StepBody;
    use tidbit_core::simulate::answer_for;

    let arms = vec![
        Arm {
            name: "relaxed".into(),
            weight: 1,
            gets: "0.75".into(),
        },
        Arm {
            name: "strict".into(),
            weight: 1,
            gets: "0.95".into(),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let (pack, author) = pack(dir.path());
    let trusted = TrustedKeys::from_keys([author.public_key()]);
    // One learner in each arm, and one in no experiment.
    let in_arm = |name: &str| {
        (0..100)
            .map(|i| format!("learner-{i}"))
            .find(|l| arms[assign("retention", l, &arms)].name == name)
            .unwrap()
    };
    let learners = [
        in_arm("relaxed"),
        in_arm("strict"),
        "no-experiment".to_string(),
    ];
    let mut due = Vec::new();
    for learner in &learners {
        let (mut tidbit, clock) = enrolled(dir.path(), learner, &pack, &trusted);
        let mut out_of_range = arms.clone();
        out_of_range[0].gets = "0.5".into();
        assert!(tidbit
            .expose_retention("retention", COURSE, &out_of_range)
            .is_err());
        if learner != "no-experiment" {
            tidbit.expose_retention("retention", COURSE, &arms).unwrap();
        }
        // The same first answer, right, to the same item.
        let course = tidbit.course(COURSE).unwrap();
        let module = &course.modules[0];
        tidbit.start_module(COURSE, &module.id).unwrap();
        let (step, item) = module
            .steps
            .iter()
            .find_map(|s| match &s.body {
                StepBody::Item(item) if item.interaction().kind().name() == "single" => {
                    Some((s.id.clone(), item.clone()))
                }
                _ => None,
            })
            .unwrap();
        // Right each time the card comes back, until it leaves its learning steps.
        let mut next = 0;
        for _ in 0..4 {
            let feedback = tidbit
                .answer(COURSE, &step, answer_for(&item, true), 6_000)
                .unwrap();
            next = feedback.next_due_ms.unwrap();
            clock.set(chrono::DateTime::from_timestamp_millis(next + 60_000).unwrap());
        }
        let before = tidbit.projection_digest().unwrap();
        tidbit.rebuild_projections().unwrap();
        assert_eq!(
            tidbit.projection_digest().unwrap(),
            before,
            "a replay agrees"
        );
        due.push(next);
    }
    // A lower desired retention lets a card wait longer; the course's own (0.9) lies between.
    assert!(due[0] > due[2] && due[2] > due[1], "{due:?}");
}
