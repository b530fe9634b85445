//! The simulator's specification: reproducible for a seed, learners who follow the engine,
//! refusals of a reused work directory and of an untrusted pack, and the true memory model's
//! forgetting and spacing.
//!
//! Each test checks one behaviour against real values; those that run a simulation each use their
//! own temporary directory, so none depends on another's files or on the order tests run in.

use super::memory::{LearnerTraits, SplitMix64, TrueMemory};
use super::*;
use crate::content::{compile_course, write_course_pack};
use crate::learn::mastery::logistic;
use crate::learn::schedule::DAY_MS;

/// The field-safety sample course, signed by a fresh key, in `dir`.
pub(crate) fn sample_pack(dir: &Path) -> (std::path::PathBuf, TrustedKeys) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety");
    let compiled = compile_course(&source).unwrap();
    let key = SigningKey::generate().unwrap();
    let pack = dir.join("field-safety.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    let created = DateTime::from_timestamp(SIMULATION_START_SECONDS, 0).unwrap();
    write_course_pack(&compiled, &key, created, &mut file, &mut |_, _| {}).unwrap();
    (pack, TrustedKeys::from_keys([key.public_key()]))
}

fn small(seed: u64) -> SimulationConfig {
    SimulationConfig {
        days: 5,
        learners: 2,
        seed,
        ..SimulationConfig::default()
    }
}

fn run(pack: &Path, trusted: &TrustedKeys, config: &SimulationConfig) -> SimulationReport {
    let work = tempfile::tempdir().unwrap();
    simulate(pack, trusted, config, work.path()).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_report_and_another_seed_another() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, trusted) = sample_pack(dir.path());
    let first = run(&pack, &trusted, &small(7));
    let one_thread = SimulationConfig {
        threads: 1,
        ..small(7)
    };
    let again = run(&pack, &trusted, &one_thread);
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    let other = run(&pack, &trusted, &small(8));
    assert_ne!(
        serde_json::to_string(&first.per_learner).unwrap(),
        serde_json::to_string(&other.per_learner).unwrap()
    );
}

#[test]
fn learners_follow_the_engine_through_the_first_days_of_a_course() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, trusted) = sample_pack(dir.path());
    let report = run(&pack, &trusted, &small(3));
    assert_eq!(report.course, "field-safety");
    assert_eq!(report.path, "field-volunteer");
    assert_eq!(
        report.stages,
        ["foundation", "application", "mastery", "reinforcement"]
    );
    assert_eq!(report.per_learner.len(), 2);
    assert_eq!(report.per_learner[1].id, "sim-1");
    for learner in &report.per_learner {
        assert_eq!(learner.stages[0].unlocked_day, Some(0));
        assert!(learner.days_practised <= 5);
        if learner.days_practised > 0 {
            assert!(learner.reviews > 0, "{learner:?}");
            assert!(learner.minutes_per_day >= 9.0, "{learner:?}");
            assert!(learner.minutes_per_day <= 13.0, "{learner:?}");
        }
        assert_eq!(learner.mastery.len(), report.skills.len());
        assert!(!learner.certificate, "five days are too few for the path");
    }
    assert_eq!(report.overall.learners, 2);
    assert_eq!(report.overall.stages[0].unlocked, 2);
}

#[test]
fn a_store_left_by_an_earlier_simulation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, trusted) = sample_pack(dir.path());
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("sim-0")).unwrap();
    let err = simulate(&pack, &trusted, &small(1), &work).unwrap_err();
    assert!(err.to_string().contains("empty work directory"), "{err}");
}

#[test]
fn a_pack_from_an_untrusted_author_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, _) = sample_pack(dir.path());
    let stranger = TrustedKeys::from_keys([SigningKey::generate().unwrap().public_key()]);
    let work = dir.path().join("work");
    assert!(simulate(&pack, &stranger, &small(1), &work).is_err());
    assert!(!work.exists(), "nothing is written for a refused pack");
}

#[test]
fn true_recall_fades_with_time_and_grows_with_spaced_success() {
    let learner = LearnerTraits {
        ability: 0.0,
        diligence: 0.8,
        usual_hour: 9.0,
    };
    let first = learner.chance_right(-0.5, None, 0);
    assert!((first - logistic(1.5)).abs() < 1e-12);
    let memory = TrueMemory {
        stability_days: 2.0,
        last_ms: 0,
        answers: 1,
    };
    let known = logistic(2.5);
    let soon = learner.chance_right(-0.5, Some(&memory), 60_000);
    let after_stability = learner.chance_right(-0.5, Some(&memory), 2 * DAY_MS);
    let much_later = learner.chance_right(-0.5, Some(&memory), 20 * DAY_MS);
    assert!((soon - known).abs() < 1e-4, "{soon}");
    assert!(
        (after_stability - 0.9 * known).abs() < 1e-9,
        "{after_stability}"
    );
    assert!(
        (much_later - 0.9f64.powi(10) * known).abs() < 1e-9,
        "{much_later}"
    );
    let practised = TrueMemory {
        answers: 9,
        ..memory
    };
    let reliable = learner.chance_right(-0.5, Some(&practised), 60_000);
    assert!((reliable - logistic(4.5)).abs() < 1e-4, "{reliable}");
    let mut rng = SplitMix64::stream(1, "test", 0);
    let spaced = learner.after_answer(Some(&memory), true, 2 * DAY_MS, &mut rng);
    let crammed = learner.after_answer(Some(&memory), true, 60_000, &mut rng);
    assert!(spaced.stability_days >= 4.0, "{}", spaced.stability_days);
    assert!(crammed.stability_days < 2.5, "{}", crammed.stability_days);
    let lapsed = learner.after_answer(Some(&memory), false, 2 * DAY_MS, &mut rng);
    assert_eq!(lapsed.stability_days, 1.0);
}

#[test]
fn splitmix64_streams_are_reproducible_and_distinct() {
    let draws = |name: &str, index: u64| {
        let mut rng = SplitMix64::stream(42, name, index);
        (0..4).map(|_| rng.next_u64()).collect::<Vec<_>>()
    };
    assert_eq!(draws("days", 0), draws("days", 0));
    assert_ne!(draws("days", 0), draws("days", 1));
    assert_ne!(draws("days", 0), draws("answers", 0));
    let mut rng = SplitMix64::stream(42, "normal", 0);
    let samples: Vec<f64> = (0..4000).map(|_| rng.normal(0.0, 0.7)).collect();
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let sd =
        (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    assert!(mean.abs() < 0.05 && (sd - 0.7).abs() < 0.05, "{mean} {sd}");
}

#[test]
fn paced_learners_meet_their_goal_with_a_flatter_daily_load_and_the_behind_calls_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (pack, trusted) = sample_pack(dir.path());
    let config = SimulationConfig {
        days: 28,
        learners: 8,
        seed: 11,
        minutes_per_day: 20,
        ..SimulationConfig::default()
    };
    let work = tempfile::tempdir().unwrap();
    let comparison = compare_pacing(&pack, &trusted, &config, 28, work.path()).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&comparison).unwrap());
    let (paced, unpaced) = (&comparison.paced, &comparison.unpaced);
    assert_eq!(paced.learners, 8);
    // Pacing spreads the same path over the goal's days: a steadier, lighter day.
    assert!(
        paced.mean_daily_spread < unpaced.mean_daily_spread,
        "paced spread {} against unpaced {}",
        paced.mean_daily_spread,
        unpaced.mean_daily_spread
    );
    assert!(paced.mean_heaviest_day < unpaced.mean_heaviest_day);
    assert!(paced.met_goal >= 1, "{paced:?}");
    // Every morning's call matches the line reckoned from the steps done, and some learners
    // (those who skip days) were called behind.
    assert!(paced.pace_calls > 0);
    assert_eq!(paced.pace_calls_agreeing, paced.pace_calls);
    assert!(paced.behind_calls > 0, "{paced:?}");
    assert_eq!(unpaced.pace_calls, 0);
}
