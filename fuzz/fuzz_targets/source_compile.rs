//! The course source compiler behind `tidbit pack build`, on arbitrary source text written into
//! a course directory: `course.toml` and module files split at NUL bytes (an input without one
//! is the `intro` module of the sample course). It must never panic; a refused course names at
//! least one error; a compiled course packs, and its pack verifies and installs as compiled.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tidbit_core::content::{compile_course, write_course_pack, Course};
use tidbit_core::pack::{verify_pack, MemorySink, PackLimits, COURSE_PATH};
use tidbit_fuzz::course_source::{built_at, split_source, ScratchCourse};
use tidbit_fuzz::{signing_key, trusted_keys};

fn scratch() -> &'static ScratchCourse {
    static SCRATCH: OnceLock<(tempfile::TempDir, ScratchCourse)> = OnceLock::new();
    &SCRATCH
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let scratch = ScratchCourse::new(dir.path()).expect("a scratch course");
            (dir, scratch)
        })
        .1
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (course_toml, modules) = split_source(text);
    let modules: Vec<&str> = modules.iter().map(String::as_str).collect();
    let scratch = scratch();
    scratch
        .write(&course_toml, &modules)
        .expect("the scratch course is written");
    let compiled = match compile_course(scratch.path()) {
        Ok(compiled) => compiled,
        Err(refused) => {
            assert!(!refused.errors.is_empty(), "refused without an error");
            return;
        }
    };
    let mut pack = Vec::new();
    let manifest = write_course_pack(
        &compiled,
        signing_key(),
        built_at(),
        &mut pack,
        &mut |_, _| {},
    )
    .unwrap_or_else(|e| panic!("a compiled course does not pack: {e}"));
    let mut sink = MemorySink::only([COURSE_PATH]);
    verify_pack(
        pack.as_slice(),
        pack.len() as u64,
        trusted_keys(),
        &PackLimits::default(),
        &mut sink,
        &mut |_, _| {},
    )
    .unwrap_or_else(|e| panic!("a built pack does not verify: {e}"));
    let course: Course = serde_json::from_slice(&sink.files[COURSE_PATH])
        .unwrap_or_else(|e| panic!("the packed course.json does not read back: {e}"));
    let assets: BTreeSet<String> = manifest
        .assets
        .iter()
        .filter(|a| a.path != COURSE_PATH)
        .map(|a| a.path.clone())
        .collect();
    course
        .check(&assets)
        .unwrap_or_else(|e| panic!("the packed course is refused on install: {e}"));
    assert_eq!(course.id, compiled.course.id);
    let steps = |c: &Course| -> Vec<String> {
        c.modules
            .iter()
            .flat_map(|m| m.steps.iter().map(|s| s.id.clone()))
            .collect()
    };
    assert_eq!(steps(&course), steps(&compiled.course));
});
