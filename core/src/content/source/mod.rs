//! The author's source format: `course.toml`, `modules/<id>.md`, `assets/`.
//!
//! [`compile_course`] reads a course directory and produces the [`Course`] model plus the asset
//! files it uses, or every error found, each naming `file:line` and how to fix it. It also
//! reports warnings (module length, missing feedback, unassessed skills, stages without a
//! check). It reads only inside the course directory and never follows symbolic links. The
//! syntax is documented in the README's "Authoring a course".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::pack::{check_asset_path, check_unique};

use super::model::{
    is_valid_id, Course, LearningPath, Skill, Stage, StageKind, DEFAULT_DESIRED_RETENTION,
    DEFAULT_MASTERY_THRESHOLD, MAX_PEER_FEEDBACK_WEIGHT,
};

/// A message about one place in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Path relative to the course directory, e.g. `modules/intro.md`.
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Every error found in a course source (compilation does not stop at the first).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} error(s) in the course source:\n{}", errors.len(), errors.iter().map(|d| format!("  error: {d}")).collect::<Vec<_>>().join("\n"))]
pub struct AuthoringErrors {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// A course ready to pack: the model, the asset files it uses, and the warnings.
#[derive(Debug, Clone)]
pub struct CompiledCourse {
    pub course: Course,
    /// `(path inside the pack, bytes)`, sorted by path; paths start with `assets/`.
    pub assets: Vec<(String, Vec<u8>)>,
    /// `media_on_demand = true` in `[course]`: devices fetch a module's media when it is first
    /// opened instead of with the course (see `pack::AssetEntry::on_demand`).
    pub media_on_demand: bool,
    pub warnings: Vec<Diagnostic>,
}

mod blocks;
mod job_aids;
mod module;
mod steps;
#[cfg(test)]
mod tests;

use module::compile_module;

/// What a module's blocks are compiled against: its file, its id, and the course's skills and
/// modules.
struct ModuleContext<'a> {
    file: &'a Path,
    module_id: &'a str,
    skills: &'a BTreeSet<String>,
    modules: &'a BTreeSet<String>,
    is_check: bool,
}

const COURSE_FILE: &str = "course.toml";
const MAX_SOURCE_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CourseToml {
    course: CourseSection,
    #[serde(default)]
    skills: Vec<SkillToml>,
    #[serde(default)]
    paths: Vec<PathToml>,
    #[serde(default)]
    job_aids: Vec<job_aids::JobAidToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CourseSection {
    id: Spanned<String>,
    version: Spanned<String>,
    title: String,
    locale: String,
    #[serde(default)]
    description: String,
    mastery_threshold: Option<Spanned<f64>>,
    desired_retention: Option<Spanned<f64>>,
    peer_feedback_weight: Option<Spanned<f64>>,
    #[serde(default)]
    media_on_demand: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillToml {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathToml {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    stages: Vec<StageToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageToml {
    kind: Spanned<String>,
    title: String,
    #[serde(default)]
    modules: Vec<Spanned<String>>,
    check: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: Option<Spanned<String>>,
    title: String,
    #[serde(default)]
    objectives: Vec<String>,
    #[serde(default)]
    skills: Vec<Spanned<String>>,
    #[serde(default)]
    prerequisites: Vec<Spanned<String>>,
    minutes: Option<Spanned<f64>>,
}

/// Collects diagnostics for one compilation.
struct Report {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Report {
    fn error(&mut self, file: &Path, line: usize, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    fn warn(&mut self, file: &Path, line: usize, message: impl Into<String>) {
        self.warnings.push(Diagnostic {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        });
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn read_source_file(dir: &Path, relative: &Path) -> Result<String, String> {
    let path = dir.join(relative);
    let meta = std::fs::symlink_metadata(&path)
        .map_err(|e| format!("cannot read {}: {e}", relative.display()))?;
    if !meta.file_type().is_file() {
        return Err(format!(
            "{} is not a regular file (links are not followed): replace it with the file itself",
            relative.display()
        ));
    }
    if meta.len() > MAX_SOURCE_FILE_BYTES {
        return Err(format!(
            "{} is larger than {} bytes: split it into several modules",
            relative.display(),
            MAX_SOURCE_FILE_BYTES
        ));
    }
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", relative.display()))
}

/// Reads and checks a course directory.
pub fn compile_course(dir: &Path) -> Result<CompiledCourse, AuthoringErrors> {
    let mut report = Report {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let course = compile_into(dir, &mut report);
    let by_place = |a: &Diagnostic, b: &Diagnostic| (&a.file, a.line).cmp(&(&b.file, b.line));
    report.errors.sort_by(by_place);
    report.warnings.sort_by(by_place);
    match course {
        Some((course, assets, media_on_demand)) if report.errors.is_empty() => Ok(CompiledCourse {
            course,
            assets,
            media_on_demand,
            warnings: report.warnings,
        }),
        _ => Err(AuthoringErrors {
            errors: report.errors,
            warnings: report.warnings,
        }),
    }
}

/// The course, its assets, and whether its media are fetched on demand.
type CourseAndAssets = (Course, Vec<(String, Vec<u8>)>, bool);

fn compile_into(dir: &Path, report: &mut Report) -> Option<CourseAndAssets> {
    let course_file = Path::new(COURSE_FILE);
    let text = match read_source_file(dir, course_file) {
        Ok(text) => text,
        Err(message) => {
            report.error(
                course_file,
                1,
                format!(
                    "{message}; a course directory needs a course.toml (see \"Authoring a course\" in README.md)"
                ),
            );
            return None;
        }
    };
    let toml: CourseToml = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map_or(1, |s| line_of(&text, s.start));
            report.error(course_file, line, e.message().trim().to_string());
            return None;
        }
    };
    let at = |s: std::ops::Range<usize>| line_of(&text, s.start);

    let section = &toml.course;
    if !is_valid_id(section.id.get_ref()) {
        report.error(
            course_file,
            at(section.id.span()),
            format!(
                "course id '{}' is not valid: use lowercase letters, digits and '-'",
                section.id.get_ref()
            ),
        );
    }
    let version = match semver::Version::parse(section.version.get_ref()) {
        Ok(v) => Some(v),
        Err(e) => {
            report.error(
                course_file,
                at(section.version.span()),
                format!(
                    "version '{}' is not a semantic version ({e}): write it like \"1.2.0\"",
                    section.version.get_ref()
                ),
            );
            None
        }
    };
    let mut ratio = |value: &Option<Spanned<f64>>, name: &str, default: f64| match value {
        Some(v) if !(*v.get_ref() > 0.0 && *v.get_ref() <= 1.0) => {
            report.error(
                course_file,
                at(v.span()),
                format!("{name} must be a number above 0 and at most 1"),
            );
            default
        }
        Some(v) => *v.get_ref(),
        None => default,
    };
    let mastery_threshold = ratio(
        &section.mastery_threshold,
        "mastery_threshold",
        DEFAULT_MASTERY_THRESHOLD,
    );
    let desired_retention = ratio(
        &section.desired_retention,
        "desired_retention",
        DEFAULT_DESIRED_RETENTION,
    );
    let peer_feedback_weight = match &section.peer_feedback_weight {
        Some(v) if !(0.0..=MAX_PEER_FEEDBACK_WEIGHT).contains(v.get_ref()) => {
            report.error(
                course_file,
                at(v.span()),
                format!(
                    "peer_feedback_weight must be between 0 and {MAX_PEER_FEEDBACK_WEIGHT}: a peer's rating counts for at most half of an answer scored automatically"
                ),
            );
            0.0
        }
        Some(v) => *v.get_ref(),
        None => 0.0,
    };

    let mut skills = Vec::new();
    let mut skill_ids = BTreeSet::new();
    for skill in &toml.skills {
        let id = skill.id.get_ref();
        if !is_valid_id(id) {
            report.error(
                course_file,
                at(skill.id.span()),
                format!("skill id '{id}' is not valid: use lowercase letters, digits and '-'"),
            );
        } else if !skill_ids.insert(id.clone()) {
            report.error(
                course_file,
                at(skill.id.span()),
                format!("skill '{id}' is defined twice: name each skill once"),
            );
        }
        skills.push(Skill {
            id: id.clone(),
            name: skill.name.clone(),
            description: skill.description.clone(),
        });
    }

    if toml.paths.is_empty() {
        report.error(
            course_file,
            1,
            "the course has no paths: add a [[paths]] table with its [[paths.stages]]",
        );
    }
    // Module id → line of its first reference in course.toml.
    let mut module_refs: Vec<(String, usize)> = Vec::new();
    let mut check_modules = BTreeSet::new();
    let mut paths = Vec::new();
    let mut path_ids = BTreeSet::new();
    for path in &toml.paths {
        let path_id = path.id.get_ref();
        if !is_valid_id(path_id) || !path_ids.insert(path_id.clone()) {
            report.error(
                course_file,
                at(path.id.span()),
                format!("path id '{path_id}' is invalid or used twice"),
            );
        }
        let mut stages = Vec::new();
        let mut previous: Option<StageKind> = None;
        for stage in &path.stages {
            let line = at(stage.kind.span());
            let Some(kind) = StageKind::parse(stage.kind.get_ref()) else {
                report.error(
                    course_file,
                    line,
                    format!(
                        "unknown stage kind '{}': use foundation, application, mastery or reinforcement",
                        stage.kind.get_ref()
                    ),
                );
                continue;
            };
            if previous.is_some_and(|p| p >= kind) {
                report.error(
                    course_file,
                    line,
                    format!("stage '{}' is out of order or repeated: stages go foundation, application, mastery, reinforcement", kind.as_str()),
                );
            }
            previous = Some(kind);
            for module in stage.modules.iter().chain(stage.check.iter()) {
                let id = module.get_ref();
                if !is_valid_id(id) {
                    report.error(
                        course_file,
                        at(module.span()),
                        format!("module id '{id}' is not valid: use lowercase letters, digits and '-' (and name the file modules/<id>.md)"),
                    );
                } else if !module_refs.iter().any(|(m, _)| m == id) {
                    module_refs.push((id.clone(), at(module.span())));
                }
            }
            match &stage.check {
                Some(check) => {
                    check_modules.insert(check.get_ref().clone());
                }
                None => report.warn(
                    course_file,
                    line,
                    format!(
                        "stage '{}' of path '{path_id}' has no check: add `check = \"MODULE\"` so the next stage unlocks on demonstrated skill",
                        kind.as_str()
                    ),
                ),
            }
            stages.push(Stage {
                kind,
                title: stage.title.clone(),
                modules: stage.modules.iter().map(|m| m.get_ref().clone()).collect(),
                check: stage.check.as_ref().map(|c| c.get_ref().clone()),
            });
        }
        if stages.is_empty() {
            report.error(
                course_file,
                at(path.id.span()),
                format!("path '{path_id}' has no stages: add [[paths.stages]] tables"),
            );
        }
        paths.push(LearningPath {
            id: path_id.clone(),
            title: path.title.clone(),
            description: path.description.clone(),
            stages,
        });
    }

    let module_ids: BTreeSet<String> = module_refs.iter().map(|(m, _)| m.clone()).collect();
    let mut modules = Vec::new();
    let mut step_lines: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    let mut asset_refs: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for (module_id, ref_line) in &module_refs {
        let file = PathBuf::from(format!("modules/{module_id}.md"));
        let text = match read_source_file(dir, &file) {
            Ok(text) => text,
            Err(message) => {
                report.error(
                    course_file,
                    *ref_line,
                    format!("module '{module_id}' is listed here but {message}: create modules/{module_id}.md"),
                );
                continue;
            }
        };
        let context = ModuleContext {
            file: &file,
            module_id,
            skills: &skill_ids,
            modules: &module_ids,
            is_check: check_modules.contains(module_id),
        };
        if let Some(module) = compile_module(&text, &context, report, &mut asset_refs) {
            for step in &module.steps {
                if let Some((other, line)) = step_lines.get(&step.id) {
                    report.error(
                        &file,
                        1,
                        format!(
                            "step id '{}' is already used at {}:{line}: step ids are unique within a course",
                            step.id,
                            other.display()
                        ),
                    );
                } else {
                    step_lines.insert(step.id.clone(), (file.clone(), 1));
                }
            }
            modules.push(module);
        }
    }
    warn_unlisted_modules(dir, &module_ids, report);

    let assessed: BTreeSet<&str> = modules
        .iter()
        .flat_map(|m| m.items())
        .flat_map(|(step, _)| step.skills.iter().map(String::as_str))
        .collect();
    for skill in &toml.skills {
        if !assessed.contains(skill.id.get_ref().as_str()) {
            report.warn(
                course_file,
                at(skill.id.span()),
                format!(
                    "skill '{}' is never assessed: tag at least one item with skills={}",
                    skill.id.get_ref(),
                    skill.id.get_ref()
                ),
            );
        }
    }

    let assets = load_assets(dir, &asset_refs, report);
    let course = Course {
        id: section.id.get_ref().clone(),
        version: version?,
        title: section.title.clone(),
        locale: section.locale.clone(),
        description: section.description.clone(),
        mastery_threshold,
        desired_retention,
        peer_feedback_weight,
        skills,
        paths,
        modules,
        job_aids: job_aids::compile_job_aids(course_file, &toml.job_aids, &skill_ids, at, report),
    };
    if report.errors.is_empty() {
        let asset_paths: BTreeSet<String> = assets.iter().map(|(p, _)| p.clone()).collect();
        if let Err(e) = course.check(&asset_paths) {
            report.error(course_file, 1, e.to_string());
        }
    }
    Some((course, assets, section.media_on_demand))
}

fn warn_unlisted_modules(dir: &Path, listed: &BTreeSet<String>, report: &mut Report) {
    let Ok(entries) = std::fs::read_dir(dir.join("modules")) else {
        return;
    };
    let mut unlisted: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".md").map(String::from))
        .filter(|stem| !listed.contains(stem))
        .collect();
    unlisted.sort();
    for stem in unlisted {
        report.warn(
            &PathBuf::from(format!("modules/{stem}.md")),
            1,
            "this module is not listed in any stage of course.toml, so it is not packed",
        );
    }
}

fn load_assets(
    dir: &Path,
    refs: &BTreeMap<String, (PathBuf, usize)>,
    report: &mut Report,
) -> Vec<(String, Vec<u8>)> {
    let mut assets = Vec::new();
    // Folded path → the path as written: what the pack format takes for the same file.
    let mut packed = std::collections::HashMap::new();
    for (asset, (file, line)) in refs {
        let relative = Path::new(asset);
        let safe = asset.starts_with("assets/")
            && relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !safe {
            report.error(
                file,
                *line,
                format!("asset path '{asset}' must be a plain relative path under assets/ (no '..', no leading '/')"),
            );
            continue;
        }
        // The file system reads more paths than a pack holds (`assets//a.png`, `assets/./a.png`,
        // control characters, over 255 bytes, names equal but for case): refuse them here, at
        // their line, so a course that compiles always packs.
        if let Err(e) = check_asset_path(asset).and_then(|()| check_unique(&mut packed, asset)) {
            report.error(file, *line, e.to_string());
            continue;
        }
        let full = dir.join(relative);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.file_type().is_file() => match std::fs::read(&full) {
                Ok(bytes) => assets.push((asset.clone(), bytes)),
                Err(e) => report.error(file, *line, format!("cannot read '{asset}': {e}")),
            },
            Ok(_) => report.error(
                file,
                *line,
                format!("'{asset}' is a link or a directory: packs hold regular files only; copy the file itself into assets/"),
            ),
            Err(_) => report.error(
                file,
                *line,
                format!("asset '{asset}' does not exist: add the file to the course's assets/ folder or fix the path"),
            ),
        }
    }
    assets
}
