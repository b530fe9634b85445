//! `tidbit simulate` end to end: simulated learners go through each sample course on the real
//! engine, through the real binary, and the JSON report says how far they got.

mod common;

use common::{build_sample, run, run_ok, workdir_with_key, SAMPLE_COURSES};
use serde_json::Value;

fn simulate_json(dir: &std::path::Path, pack: &std::path::Path, seed: &str) -> Value {
    let stdout = run_ok(
        dir,
        &[
            "simulate",
            pack.to_str().expect("utf-8 path"),
            "--days",
            "30",
            "--learners",
            "4",
            "--seed",
            seed,
            "--trust",
            "author.pub",
            "--json",
        ],
    );
    serde_json::from_str(&stdout).expect("the report is JSON")
}

#[test]
fn learners_work_through_each_sample_course_and_unlock_its_stages() {
    let dir = workdir_with_key();
    for name in SAMPLE_COURSES {
        let pack = build_sample(dir.path(), name);
        let report = simulate_json(dir.path(), &pack, "11");
        assert_eq!(report["course"], name);
        assert_eq!(report["days"], 30);
        let learners = report["per_learner"].as_array().expect("learners");
        assert_eq!(learners.len(), 4);
        let mut application = 0;
        for learner in learners {
            let stages = learner["stages"].as_array().expect("stages");
            assert_eq!(stages[0]["stage"], "foundation");
            assert_eq!(stages[0]["unlocked_day"], 0, "{name}: {learner}");
            if learner["days_practised"].as_u64() > Some(0) {
                assert!(learner["reviews"].as_u64() > Some(0), "{name}: {learner}");
                let minutes = learner["minutes_per_day"].as_f64().expect("minutes");
                assert!(minutes > 0.0 && minutes <= 12.0, "{name}: {learner}");
            }
            if learner["keeps_practising"] == true {
                assert!(learner["recall"].as_f64() > Some(0.5), "{name}: {learner}");
            }
            if !stages[1]["unlocked_day"].is_null() {
                application += 1;
            }
        }
        assert!(
            application >= 3,
            "{name}: most learners unlock the application stage in 30 days: {report}"
        );
        assert_eq!(report["overall"]["learners"], 4);
        assert_eq!(report["overall"]["stages"][0]["unlocked"], 4);
    }
}

#[test]
fn the_same_seed_prints_the_same_table() {
    let dir = workdir_with_key();
    let pack = build_sample(dir.path(), "field-safety");
    let args = [
        "simulate",
        pack.to_str().expect("utf-8 path"),
        "--days",
        "3",
        "--learners",
        "2",
        "--seed",
        "5",
        "--trust",
        "author.pub",
    ];
    let first = run_ok(dir.path(), &args);
    assert!(
        first.contains("field-safety 1.0.0, path field-volunteer"),
        "{first}"
    );
    assert!(first.contains("sim-1"), "{first}");
    assert!(first.contains("learners who keep practising unlocked the mastery stage"));
    assert_eq!(run_ok(dir.path(), &args), first);
}

#[test]
fn a_pack_from_an_untrusted_author_is_refused() {
    let dir = workdir_with_key();
    let pack = build_sample(dir.path(), "field-safety");
    run_ok(dir.path(), &["keygen", "stranger"]);
    let out = run(
        dir.path(),
        &[
            "simulate",
            pack.to_str().expect("utf-8 path"),
            "--trust",
            "stranger.pub",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("field-safety.tidbit"), "{stderr}");
    let out = run(
        dir.path(),
        &["simulate", pack.to_str().expect("utf-8 path")],
    );
    assert_eq!(out.status.code(), Some(2), "--trust is required");
}

#[test]
fn goal_days_compare_paced_and_unpaced_learners() {
    let dir = workdir_with_key();
    let pack = build_sample(dir.path(), "field-safety");
    let args = [
        "simulate",
        pack.to_str().expect("utf-8 path"),
        "--days",
        "21",
        "--learners",
        "3",
        "--minutes",
        "20",
        "--seed",
        "3",
        "--goal-days",
        "21",
        "--trust",
        "author.pub",
    ];
    let table = run_ok(dir.path(), &args);
    assert!(
        table.contains("the whole path within 21 days at 20 min a day"),
        "{table}"
    );
    assert!(
        table.contains("unpaced") && table.contains("paced"),
        "{table}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let comparison: Value =
        serde_json::from_str(&run_ok(dir.path(), &json_args)).expect("the comparison is JSON");
    let paced = &comparison["paced"];
    assert_eq!(paced["learners"], 3);
    assert!(paced["pace_calls"].as_u64().unwrap() > 0);
    assert_eq!(paced["pace_calls_agreeing"], paced["pace_calls"]);
    assert_eq!(comparison["unpaced"]["pace_calls"], 0);
}
