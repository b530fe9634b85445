//! The two sample courses build without errors or warnings, verify, install and list, and use
//! every step kind and every stage with a stage check.

mod common;

use std::collections::BTreeSet;

use common::*;
use tidbit_core::content::{compile_course, StageKind, StepBody};

const EVERY_KIND: [&str; 14] = [
    "lesson",
    "image",
    "audio",
    "video",
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
];

#[test]
fn each_sample_course_compiles_cleanly_and_covers_every_kind_and_stage() {
    for name in SAMPLE_COURSES {
        let compiled =
            compile_course(&sample_course(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let warnings: Vec<String> = compiled.warnings.iter().map(|w| w.to_string()).collect();
        assert!(warnings.is_empty(), "{name} has warnings: {warnings:#?}");
        let course = &compiled.course;
        let mut kinds = BTreeSet::new();
        let mut categorization = false;
        let mut one_to_one = false;
        for module in &course.modules {
            for step in &module.steps {
                kinds.insert(match &step.body {
                    StepBody::Lesson(card) => match &card.media {
                        None => "lesson",
                        Some(m) => match m.kind {
                            tidbit_core::content::model::MediaKind::Image => "image",
                            tidbit_core::content::model::MediaKind::Audio => "audio",
                            tidbit_core::content::model::MediaKind::Video => "video",
                        },
                    },
                    StepBody::Item(item) => {
                        if item.interaction().kind().name() == "match" {
                            if item.interaction().is_categorization() {
                                categorization = true;
                            } else {
                                one_to_one = true;
                            }
                        }
                        item.interaction().kind().name()
                    }
                });
            }
        }
        let missing: Vec<&str> = EVERY_KIND
            .iter()
            .copied()
            .filter(|k| !kinds.contains(k))
            .collect();
        assert!(missing.is_empty(), "{name} never uses {missing:?}");
        assert!(
            categorization && one_to_one,
            "{name}: match needs both forms"
        );
        assert_eq!(course.paths.len(), 1);
        let stages: Vec<StageKind> = course.paths[0].stages.iter().map(|s| s.kind).collect();
        assert_eq!(stages, StageKind::ALL, "{name}");
        assert!(
            course.paths[0].stages.iter().all(|s| s.check.is_some()),
            "{name}"
        );
        let teaching: usize = course.paths[0].stages.iter().map(|s| s.modules.len()).sum();
        assert!(teaching >= 6, "{name} has {teaching} teaching modules");
        for module in &course.modules {
            let minutes = module.estimated_minutes();
            let is_check = course.paths[0]
                .stages
                .iter()
                .any(|s| s.check.as_deref() == Some(&module.id));
            assert!(
                is_check || (3.0..=10.0).contains(&minutes),
                "{name}/{}: {minutes:.1} min",
                module.id
            );
        }
    }
}

#[test]
fn sample_packs_build_verify_install_and_list() {
    let dir = workdir_with_key();
    let data = dir.path().join("data");
    for name in SAMPLE_COURSES {
        let pack = build_sample(dir.path(), name);
        let pack = pack.to_str().unwrap();
        let verified = run_ok(
            dir.path(),
            &["pack", "verify", pack, "--trust", "author.pub"],
        );
        assert!(verified.starts_with("ok: "), "{verified}");
        let inspected = run_ok(
            dir.path(),
            &["pack", "inspect", pack, "--trust", "author.pub", "--json"],
        );
        let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
        assert_eq!(inspected["manifest"]["course_id"], name);
        assert_eq!(inspected["verified"], true);
        let installed = run_ok(
            dir.path(),
            &[
                "install",
                pack,
                "--data",
                data.to_str().unwrap(),
                "--trust",
                "author.pub",
            ],
        );
        assert!(installed.starts_with("installed "), "{installed}");
        let again = run_ok(
            dir.path(),
            &[
                "install",
                pack,
                "--data",
                data.to_str().unwrap(),
                "--trust",
                "author.pub",
            ],
        );
        assert!(again.starts_with("already installed: "), "{again}");
    }
    let catalog = run_ok(
        dir.path(),
        &["catalog", "--data", data.to_str().unwrap(), "--json"],
    );
    let catalog: serde_json::Value = serde_json::from_str(&catalog).unwrap();
    let ids: BTreeSet<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, SAMPLE_COURSES.into_iter().collect());
    for course in catalog.as_array().unwrap() {
        let stages = course["paths"][0]["stages"].as_array().unwrap();
        assert_eq!(stages.len(), 4);
        for stage in stages {
            assert!(stage["check"]["items"].as_u64().unwrap() >= 1);
        }
    }
}

#[test]
fn building_the_same_source_twice_gives_the_same_bytes() {
    let dir = workdir_with_key();
    let first = std::fs::read(build_sample(dir.path(), "field-safety")).unwrap();
    let second = std::fs::read(build_sample(dir.path(), "field-safety")).unwrap();
    assert_eq!(first, second);
}

#[test]
fn a_broken_source_reports_file_and_line_and_writes_nothing() {
    let dir = workdir_with_key();
    let source = dir.path().join("broken");
    copy_dir(&sample_course("field-safety"), &source);
    let module = std::fs::read_dir(source.join("modules"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&module).unwrap();
    let broken = text.replacen("- [ ]", "- [x]", 1);
    assert_ne!(
        text, broken,
        "the sample module has a single-choice item to break"
    );
    std::fs::write(&module, broken).unwrap();
    let out = run(
        dir.path(),
        &[
            "pack",
            "build",
            source.to_str().unwrap(),
            "--key",
            "author.key",
            "--out",
            "x.tidbit",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stem = module.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(&format!("error: modules/{stem}:")),
        "{stderr}"
    );
    assert!(!dir.path().join("x.tidbit").exists());
}
