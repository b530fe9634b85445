//! The sample course source (`src/sample/`) and a scratch course directory that fuzz inputs are
//! written into, as `tidbit pack build` reads them: `course.toml`, `modules/<id>.md`, `assets/`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tidbit_core::content::{compile_course, write_course_pack, CompiledCourse};

pub const COURSE_TOML: &str = include_str!("sample/course.toml");
pub const INTRO_MODULE: &str = include_str!("sample/intro.md");
pub const CHECK_MODULE: &str = include_str!("sample/check.md");
pub const DIAGRAM_SVG: &[u8] = include_bytes!("sample/diagram.svg");
/// The module files an input fills, in order after `course.toml`.
pub const MODULE_NAMES: [&str; 3] = ["intro", "check", "extra"];
/// The one asset every scratch directory holds.
pub const ASSET_PATH: &str = "assets/diagram.svg";
/// Sample course ids, for the targets that enroll or answer.
pub const COURSE_ID: &str = "fuzz-sample";
pub const PATH_ID: &str = "rep";

/// When the sample pack says it was built.
pub fn built_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
        .expect("a fixed date")
        .with_timezone(&Utc)
}

/// A course directory reused for every input.
pub struct ScratchCourse {
    root: PathBuf,
}

impl ScratchCourse {
    /// `root` must exist; the directory gets `modules/` and `assets/diagram.svg`.
    pub fn new(root: &Path) -> std::io::Result<ScratchCourse> {
        std::fs::create_dir_all(root.join("modules"))?;
        std::fs::create_dir_all(root.join("assets"))?;
        std::fs::write(root.join(ASSET_PATH), DIAGRAM_SVG)?;
        Ok(ScratchCourse {
            root: root.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Writes `course.toml` and the given module texts (named by [`MODULE_NAMES`]), removing
    /// any module file a previous input left.
    pub fn write(&self, course_toml: &str, modules: &[&str]) -> std::io::Result<()> {
        std::fs::write(self.root.join("course.toml"), course_toml)?;
        for name in MODULE_NAMES {
            let file = self.root.join("modules").join(format!("{name}.md"));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        for (name, text) in MODULE_NAMES.iter().zip(modules) {
            std::fs::write(self.root.join("modules").join(format!("{name}.md")), text)?;
        }
        Ok(())
    }
}

/// Splits a fuzz input into `course.toml` and module texts at NUL bytes. An input without a
/// NUL is the `intro` module of the sample `course.toml` (with the sample `check` module).
pub fn split_source(text: &str) -> (String, Vec<String>) {
    let mut parts = text.split('\0');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<String> = parts.map(str::to_string).collect();
    if rest.is_empty() {
        (
            COURSE_TOML.to_string(),
            vec![first.to_string(), CHECK_MODULE.to_string()],
        )
    } else {
        (first.to_string(), rest)
    }
}

/// The sample course, compiled.
pub fn compile_sample() -> CompiledCourse {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let scratch = ScratchCourse::new(dir.path()).expect("a scratch course");
    scratch
        .write(COURSE_TOML, &[INTRO_MODULE, CHECK_MODULE])
        .expect("the sample course is written");
    compile_course(dir.path()).unwrap_or_else(|e| panic!("the sample course compiles: {e}"))
}

/// The sample course as a pack signed by the fuzzing key.
pub fn sample_pack() -> Vec<u8> {
    let mut pack = Vec::new();
    write_course_pack(
        &compile_sample(),
        crate::signing_key(),
        built_at(),
        &mut pack,
        &mut |_, _| {},
    )
    .expect("the sample course packs");
    pack
}
