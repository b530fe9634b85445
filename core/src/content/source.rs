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

use super::estimate::estimate_module_seconds;
use super::items::{
    Blank, Choice, Interaction, Item, MatchPair, OrderEntry, Quality, ScenarioChoice, ScenarioNode,
    Tolerance,
};
use super::model::{
    is_valid_id, Course, LearningPath, LessonCard, Media, MediaKind, Module, Skill, Stage,
    StageKind, Step, StepBody, DEFAULT_DESIRED_RETENTION, DEFAULT_MASTERY_THRESHOLD,
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
    pub warnings: Vec<Diagnostic>,
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
        Some((course, assets)) if report.errors.is_empty() => Ok(CompiledCourse {
            course,
            assets,
            warnings: report.warnings,
        }),
        _ => Err(AuthoringErrors {
            errors: report.errors,
            warnings: report.warnings,
        }),
    }
}

type CourseAndAssets = (Course, Vec<(String, Vec<u8>)>);

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
        skills,
        paths,
        modules,
    };
    if report.errors.is_empty() {
        let asset_paths: BTreeSet<String> = assets.iter().map(|(p, _)| p.clone()).collect();
        if let Err(e) = course.check(&asset_paths) {
            report.error(course_file, 1, e.to_string());
        }
    }
    Some((course, assets))
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

struct ModuleContext<'a> {
    file: &'a Path,
    module_id: &'a str,
    skills: &'a BTreeSet<String>,
    modules: &'a BTreeSet<String>,
    is_check: bool,
}

fn compile_module(
    text: &str,
    cx: &ModuleContext<'_>,
    report: &mut Report,
    asset_refs: &mut BTreeMap<String, (PathBuf, usize)>,
) -> Option<Module> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim_end()) != Some("+++") {
        report.error(
            cx.file,
            1,
            "a module file starts with front matter: a line `+++`, TOML fields (title, objectives, skills), and another `+++`",
        );
        return None;
    }
    let Some(close) = lines.iter().skip(1).position(|l| l.trim_end() == "+++") else {
        report.error(
            cx.file,
            1,
            "the front matter is not closed: add a line holding only `+++` after it",
        );
        return None;
    };
    let front_text = lines[1..=close].join("\n");
    // Line 1 is the opening `+++`; front matter line k is file line k + 1.
    let front_line = |offset: usize| line_of(&front_text, offset) + 1;
    let front: FrontMatter = match toml::from_str(&front_text) {
        Ok(f) => f,
        Err(e) => {
            let line = e.span().map_or(2, |s| front_line(s.start));
            report.error(cx.file, line, e.message().trim().to_string());
            return None;
        }
    };
    if let Some(id) = &front.id {
        if id.get_ref() != cx.module_id {
            report.error(
                cx.file,
                front_line(id.span().start),
                format!(
                    "id '{}' differs from the file name: a module's id is its file name (modules/{}.md)",
                    id.get_ref(),
                    cx.module_id
                ),
            );
        }
    }
    for skill in &front.skills {
        if !cx.skills.contains(skill.get_ref()) {
            report.error(
                cx.file,
                front_line(skill.span().start),
                format!(
                    "skill '{}' is not defined in course.toml: add it under [[skills]] or fix the name",
                    skill.get_ref()
                ),
            );
        }
    }
    for prerequisite in &front.prerequisites {
        if !cx.modules.contains(prerequisite.get_ref()) {
            report.error(
                cx.file,
                front_line(prerequisite.span().start),
                format!(
                    "prerequisite '{}' is not a module of this course",
                    prerequisite.get_ref()
                ),
            );
        }
    }

    let first_body_line = close + 2;
    let blocks = split_blocks(
        &lines[first_body_line..],
        first_body_line + 1,
        cx.file,
        report,
    );
    let mut steps = Vec::new();
    for block in blocks {
        if let Some(step) = compile_step(&block, cx, report, asset_refs) {
            steps.push(step);
        }
    }
    if steps.is_empty() {
        report.error(
            cx.file,
            first_body_line + 1,
            "the module has no steps: add blocks such as `::: lesson ID` … `:::`",
        );
        return None;
    }
    let estimated = estimate_module_seconds(&steps);
    let estimated_seconds = match &front.minutes {
        Some(m) if *m.get_ref() > 0.0 && m.get_ref().is_finite() => {
            (m.get_ref() * 60.0).round() as u32
        }
        Some(m) => {
            report.error(
                cx.file,
                front_line(m.span().start),
                "minutes must be a positive number",
            );
            estimated
        }
        None => estimated,
    };
    let minutes = f64::from(estimated_seconds) / 60.0;
    if !(3.0..=10.0).contains(&minutes) && !cx.is_check {
        report.warn(
            cx.file,
            1,
            format!("module is estimated at {minutes:.1} minutes: aim for 3 to 10 (split it, or add practice)"),
        );
    }
    if cx.is_check && !steps.iter().any(|s| matches!(s.body, StepBody::Item(_))) {
        report.error(
            cx.file,
            1,
            "this module is a stage check but has no assessment items: add items that test the stage's skills",
        );
    }
    let skills = if front.skills.is_empty() {
        let mut union: Vec<String> = Vec::new();
        for skill in steps.iter().flat_map(|s| &s.skills) {
            if !union.contains(skill) {
                union.push(skill.clone());
            }
        }
        union
    } else {
        front.skills.iter().map(|s| s.get_ref().clone()).collect()
    };
    Some(Module {
        id: cx.module_id.to_string(),
        title: front.title,
        objectives: front.objectives,
        skills,
        prerequisites: front
            .prerequisites
            .iter()
            .map(|p| p.get_ref().clone())
            .collect(),
        estimated_seconds,
        steps,
    })
}

/// A `::: KIND ID [skills=...]` block with its body lines.
struct Block<'a> {
    kind: &'a str,
    id: &'a str,
    attributes: Vec<(&'a str, &'a str)>,
    line: usize,
    /// `(file line number, text)`
    body: Vec<(usize, &'a str)>,
}

fn split_blocks<'a>(
    lines: &[&'a str],
    first_line: usize,
    file: &Path,
    report: &mut Report,
) -> Vec<Block<'a>> {
    let mut blocks = Vec::new();
    let mut open: Option<Block<'a>> = None;
    for (i, raw) in lines.iter().enumerate() {
        let number = first_line + i;
        let trimmed = raw.trim_end();
        if let Some(block) = open.as_mut() {
            if trimmed == ":::" {
                blocks.extend(open.take());
            } else if trimmed.starts_with(":::") {
                report.error(
                    file,
                    block.line,
                    format!(
                        "block '{}' is not closed before the next block at line {number}: add a line holding only `:::`",
                        block.id
                    ),
                );
                open = open_block(trimmed, number, file, report);
            } else {
                block.body.push((number, raw));
            }
        } else if trimmed.starts_with(":::") {
            open = open_block(trimmed, number, file, report);
        }
    }
    if let Some(block) = open {
        report.error(
            file,
            block.line,
            format!(
                "block '{}' is never closed: add a line holding only `:::` after its body",
                block.id
            ),
        );
    }
    blocks
}

fn open_block<'a>(
    header: &'a str,
    line: usize,
    file: &Path,
    report: &mut Report,
) -> Option<Block<'a>> {
    let mut words = header.trim_start_matches(':').split_whitespace();
    let (Some(kind), Some(id)) = (words.next(), words.next()) else {
        report.error(
            file,
            line,
            "a block opens with `::: KIND ID` (for example `::: single price-q1 skills=price`)",
        );
        return None;
    };
    let mut attributes = Vec::new();
    for word in words {
        match word.split_once('=') {
            Some((key, value)) => attributes.push((key, value)),
            None => {
                report.error(
                    file,
                    line,
                    format!("unexpected '{word}' in the block header: write attributes as key=value, e.g. skills=listening"),
                );
                return None;
            }
        }
    }
    if !is_valid_id(id) {
        report.error(
            file,
            line,
            format!("step id '{id}' is not valid: use lowercase letters, digits and '-'"),
        );
        return None;
    }
    Some(Block {
        kind,
        id,
        attributes,
        line,
        body: Vec::new(),
    })
}

/// A `name: value` field; continuation lines are joined with newlines.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    value: String,
    line: usize,
}

#[derive(Debug, Clone)]
struct Entry {
    text: String,
    line: usize,
    fields: Vec<Field>,
    /// Index of the scenario node the entry belongs to.
    node: Option<usize>,
}

#[derive(Debug, Clone)]
struct NodeDecl {
    id: String,
    text: String,
    line: usize,
}

#[derive(Default)]
struct Body {
    fields: Vec<Field>,
    entries: Vec<Entry>,
    nodes: Vec<NodeDecl>,
}

enum Target {
    None,
    Field,
    Entry,
    EntryField,
    Node,
}

fn field_name(text: &str) -> Option<(&str, &str)> {
    let (name, value) = text.split_once(':')?;
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
        && name.as_bytes()[0].is_ascii_lowercase();
    name_ok.then_some((name, value.trim()))
}

fn append(target: &mut String, text: &str, gap: bool) {
    if target.is_empty() {
        target.push_str(text);
    } else {
        target.push_str(if gap { "\n\n" } else { "\n" });
        target.push_str(text);
    }
}

fn parse_body(block: &Block<'_>, file: &Path, report: &mut Report) -> Body {
    let mut body = Body::default();
    let mut target = Target::None;
    let mut gap = false;
    for (line, raw) in &block.body {
        if raw.trim().is_empty() {
            gap = true;
            continue;
        }
        let indented = raw.starts_with("  ") || raw.starts_with('\t');
        let text = raw.trim();
        if indented {
            if let (Some(entry), Some((name, value))) = (body.entries.last_mut(), field_name(text))
            {
                if matches!(target, Target::Entry | Target::EntryField) && name == "feedback" {
                    entry.fields.push(Field {
                        name: name.to_string(),
                        value: value.to_string(),
                        line: *line,
                    });
                    target = Target::EntryField;
                    gap = false;
                    continue;
                }
            }
            let slot = match target {
                Target::Field => body.fields.last_mut().map(|f| &mut f.value),
                Target::Entry => body.entries.last_mut().map(|e| &mut e.text),
                Target::EntryField => body
                    .entries
                    .last_mut()
                    .and_then(|e| e.fields.last_mut())
                    .map(|f| &mut f.value),
                Target::Node => body.nodes.last_mut().map(|n| &mut n.text),
                Target::None => None,
            };
            match slot {
                Some(slot) => append(slot, text, gap),
                None => report.error(
                    file,
                    *line,
                    "an indented line continues a field or entry, but nothing precedes it",
                ),
            }
        } else if let Some(rest) = text.strip_prefix("- ") {
            body.entries.push(Entry {
                text: rest.trim().to_string(),
                line: *line,
                fields: Vec::new(),
                node: body.nodes.len().checked_sub(1),
            });
            target = Target::Entry;
        } else if let Some(rest) = text.strip_prefix('@') {
            let (id, situation) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            body.nodes.push(NodeDecl {
                id: id.to_string(),
                text: situation.trim().to_string(),
                line: *line,
            });
            target = Target::Node;
        } else if let Some((name, value)) = field_name(text) {
            if body.fields.iter().any(|f| f.name == name) {
                report.error(
                    file,
                    *line,
                    format!("field '{name}' is given twice in this block: keep one"),
                );
            }
            body.fields.push(Field {
                name: name.to_string(),
                value: value.to_string(),
                line: *line,
            });
            target = Target::Field;
        } else {
            report.error(
                file,
                *line,
                format!(
                    "cannot read this line of the '{}' block: expected `name: value`, `- entry` or an indented continuation",
                    block.kind
                ),
            );
        }
        gap = false;
    }
    body
}

impl Body {
    fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|f| f.value.clone())
    }
}

fn entry_feedback(entry: &Entry) -> Option<String> {
    entry
        .fields
        .iter()
        .find(|f| f.name == "feedback")
        .map(|f| f.value.clone())
}

/// `[x] text` / `[ ] text` → (correct, text)
fn parse_marked_choice(text: &str) -> Option<(bool, String)> {
    let rest = text.strip_prefix('[')?;
    let (mark, text) = rest.split_once(']')?;
    match mark.trim() {
        "x" | "X" => Some((true, text.trim().to_string())),
        "" => Some((false, text.trim().to_string())),
        _ => None,
    }
}

const ITEM_FIELDS: &[(&str, &[&str])] = &[
    ("single", &["prompt", "explanation"]),
    ("multiple", &["prompt", "explanation"]),
    (
        "truefalse",
        &[
            "prompt",
            "explanation",
            "answer",
            "feedback-true",
            "feedback-false",
        ],
    ),
    ("blanks", &["prompt", "explanation", "tolerate"]),
    ("order", &["prompt", "explanation"]),
    ("match", &["prompt", "explanation"]),
    (
        "numeric",
        &[
            "prompt",
            "explanation",
            "answer",
            "tolerance",
            "unit",
            "feedback-correct",
            "feedback-low",
            "feedback-high",
        ],
    ),
    ("scenario", &["prompt", "explanation", "start"]),
    ("flashcard", &["front", "back", "explanation"]),
    ("reflection", &["prompt", "explanation"]),
    ("image", &["src", "caption", "text"]),
    (
        "audio",
        &["src", "caption", "transcript", "duration", "text"],
    ),
    (
        "video",
        &["src", "caption", "transcript", "duration", "text"],
    ),
];

fn compile_step(
    block: &Block<'_>,
    cx: &ModuleContext<'_>,
    report: &mut Report,
    asset_refs: &mut BTreeMap<String, (PathBuf, usize)>,
) -> Option<Step> {
    let file = cx.file;
    let mut skills = Vec::new();
    for (key, value) in &block.attributes {
        if *key != "skills" {
            report.error(
                file,
                block.line,
                format!("unknown attribute '{key}': the only block attribute is skills=a,b"),
            );
            continue;
        }
        for skill in value.split(',').filter(|s| !s.is_empty()) {
            if !cx.skills.contains(skill) {
                report.error(
                    file,
                    block.line,
                    format!("skill '{skill}' is not defined in course.toml: add it under [[skills]] or fix the name"),
                );
            }
            skills.push(skill.to_string());
        }
    }
    let step = |body: StepBody, skills: Vec<String>| Step {
        id: block.id.to_string(),
        skills,
        body,
    };
    if block.kind == "lesson" {
        let card = compile_lesson(block, file, report, asset_refs);
        return Some(step(StepBody::Lesson(card), skills));
    }
    let Some((_, allowed)) = ITEM_FIELDS.iter().find(|(k, _)| *k == block.kind) else {
        let kinds: Vec<&str> = std::iter::once("lesson")
            .chain(ITEM_FIELDS.iter().map(|(k, _)| *k))
            .collect();
        report.error(
            file,
            block.line,
            format!(
                "unknown block kind '{}': use one of {}",
                block.kind,
                kinds.join(", ")
            ),
        );
        return None;
    };
    let body = parse_body(block, file, report);
    for field in &body.fields {
        if !allowed.contains(&field.name.as_str()) {
            report.error(
                file,
                field.line,
                format!(
                    "'{}' is not a field of a '{}' block: use {}",
                    field.name,
                    block.kind,
                    allowed.join(", ")
                ),
            );
        }
    }
    if let Some(kind) = media_kind(block.kind) {
        let card = compile_media(kind, block, &body, file, report, asset_refs)?;
        return Some(step(StepBody::Lesson(card), skills));
    }
    if skills.is_empty() {
        report.error(
            file,
            block.line,
            format!(
                "item '{}' assesses no skill: add skills=SKILL to its header so mastery can be measured",
                block.id
            ),
        );
    }
    let item = compile_item(block, &body, file, report)?;
    if item.interaction().lacks_feedback() {
        report.warn(
            file,
            block.line,
            format!(
                "item '{}' has options or entries without feedback: tell the learner why each answer is right or wrong",
                block.id
            ),
        );
    }
    Some(step(StepBody::Item(item), skills))
}

fn media_kind(kind: &str) -> Option<MediaKind> {
    match kind {
        "image" => Some(MediaKind::Image),
        "audio" => Some(MediaKind::Audio),
        "video" => Some(MediaKind::Video),
        _ => None,
    }
}

fn markdown_assets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find([')', ' ']).unwrap_or(after.len());
        let target = &after[..end];
        if target.starts_with("assets/") {
            found.push(target.to_string());
        }
        rest = &after[end..];
    }
    found
}

fn note_asset(
    asset_refs: &mut BTreeMap<String, (PathBuf, usize)>,
    asset: &str,
    file: &Path,
    line: usize,
) {
    asset_refs
        .entry(asset.to_string())
        .or_insert_with(|| (file.to_path_buf(), line));
}

fn compile_lesson(
    block: &Block<'_>,
    file: &Path,
    report: &mut Report,
    asset_refs: &mut BTreeMap<String, (PathBuf, usize)>,
) -> LessonCard {
    let mut segments = vec![String::new()];
    let mut inline_assets = Vec::new();
    for (line, raw) in &block.body {
        if raw.trim() == ". . ." {
            segments.push(String::new());
            continue;
        }
        for asset in markdown_assets(raw) {
            note_asset(asset_refs, &asset, file, *line);
            if !inline_assets.contains(&asset) {
                inline_assets.push(asset);
            }
        }
        if let Some(segment) = segments.last_mut() {
            segment.push_str(raw);
            segment.push('\n');
        }
    }
    let segments: Vec<String> = segments.into_iter().map(|s| s.trim().to_string()).collect();
    if segments.iter().any(String::is_empty) {
        report.error(
            file,
            block.line,
            format!(
                "lesson '{}' is empty or has an empty part around `. . .`: write text in every part",
                block.id
            ),
        );
    }
    LessonCard {
        segments,
        media: None,
        inline_assets,
    }
}

fn compile_media(
    kind: MediaKind,
    block: &Block<'_>,
    body: &Body,
    file: &Path,
    report: &mut Report,
    asset_refs: &mut BTreeMap<String, (PathBuf, usize)>,
) -> Option<LessonCard> {
    let Some(src) = body.get("src") else {
        report.error(
            file,
            block.line,
            format!("a '{}' block needs `src: assets/FILE`", block.kind),
        );
        return None;
    };
    note_asset(asset_refs, &src.value, file, src.line);
    let caption = body.text("caption").unwrap_or_default();
    if caption.is_empty() {
        report.error(
            file,
            block.line,
            "add `caption:` describing the media for learners who cannot see or hear it",
        );
    }
    let timed = kind != MediaKind::Image;
    let transcript = body.text("transcript");
    let mut duration_seconds = None;
    if timed {
        if transcript.as_deref().is_none_or(str::is_empty) {
            report.error(
                file,
                block.line,
                "audio and video need `transcript:`: many learners cannot play sound where they are",
            );
        }
        match body.get("duration") {
            Some(f) => match f.value.trim_end_matches('s').trim().parse::<u32>() {
                Ok(seconds) if seconds > 0 => duration_seconds = Some(seconds),
                _ => report.error(
                    file,
                    f.line,
                    "duration is the length in whole seconds, e.g. `duration: 45`",
                ),
            },
            None => report.error(file, block.line, "add `duration:` in seconds"),
        }
    }
    let mut segments = Vec::new();
    let mut inline_assets = Vec::new();
    if let Some(text) = body.get("text") {
        for asset in markdown_assets(&text.value) {
            note_asset(asset_refs, &asset, file, text.line);
            inline_assets.push(asset);
        }
        segments.push(text.value.clone());
    }
    Some(LessonCard {
        segments,
        media: Some(Media {
            kind,
            src: src.value.clone(),
            caption,
            transcript,
            duration_seconds,
        }),
        inline_assets,
    })
}

fn compile_item(block: &Block<'_>, body: &Body, file: &Path, report: &mut Report) -> Option<Item> {
    let errors_before = report.errors.len();
    let require = |name: &str, report: &mut Report| -> String {
        match body.text(name) {
            Some(value) if !value.is_empty() => value,
            _ => {
                report.error(
                    file,
                    block.line,
                    format!("a '{}' item needs `{name}:`", block.kind),
                );
                String::new()
            }
        }
    };
    let explanation = body.text("explanation").unwrap_or_default();
    let (prompt, interaction) = match block.kind {
        "single" | "multiple" => {
            let prompt = require("prompt", report);
            let mut choices = Vec::new();
            for entry in &body.entries {
                match parse_marked_choice(&entry.text) {
                    Some((correct, text)) => choices.push(Choice {
                        text,
                        correct,
                        feedback: entry_feedback(entry),
                    }),
                    None => report.error(
                        file,
                        entry.line,
                        "an option starts with `[x]` (correct) or `[ ]` (wrong)",
                    ),
                }
            }
            let interaction = if block.kind == "single" {
                Interaction::SingleChoice { choices }
            } else {
                Interaction::MultipleResponse { choices }
            };
            (prompt, interaction)
        }
        "truefalse" => {
            let prompt = require("prompt", report);
            let answer = match body.text("answer").as_deref() {
                Some("true") => true,
                Some("false") => false,
                _ => {
                    report.error(file, block.line, "add `answer: true` or `answer: false`");
                    false
                }
            };
            (
                prompt,
                Interaction::TrueFalse {
                    answer,
                    feedback_true: body.text("feedback-true"),
                    feedback_false: body.text("feedback-false"),
                },
            )
        }
        "blanks" => {
            let prompt = require("prompt", report);
            let tolerate = match body.get("tolerate") {
                Some(field) => parse_tolerance(field, file, report),
                None => Tolerance::default(),
            };
            let mut blanks: Vec<Blank> = Vec::new();
            for entry in &body.entries {
                let parsed = entry
                    .text
                    .split_once(':')
                    .and_then(|(n, rest)| n.trim().parse::<usize>().ok().map(|n| (n, rest)));
                match parsed {
                    Some((n, rest)) if n == blanks.len() + 1 => blanks.push(Blank {
                        accepted: rest
                            .split('|')
                            .map(|a| a.trim().to_string())
                            .filter(|a| !a.is_empty())
                            .collect(),
                        feedback: entry_feedback(entry),
                    }),
                    _ => report.error(
                        file,
                        entry.line,
                        format!(
                            "expected `- {}: answer | other accepted answer` (blanks numbered in order)",
                            blanks.len() + 1
                        ),
                    ),
                }
            }
            (prompt, Interaction::FillBlanks { blanks, tolerate })
        }
        "order" => {
            let prompt = require("prompt", report);
            let entries = body
                .entries
                .iter()
                .map(|e| OrderEntry {
                    text: e.text.clone(),
                    feedback: entry_feedback(e),
                })
                .collect();
            (prompt, Interaction::Ordering { entries })
        }
        "match" => {
            let prompt = require("prompt", report);
            let mut pairs = Vec::new();
            for entry in &body.entries {
                match entry.text.split_once("=>") {
                    Some((item, target))
                        if !item.trim().is_empty() && !target.trim().is_empty() =>
                    {
                        pairs.push(MatchPair {
                            item: item.trim().to_string(),
                            target: target.trim().to_string(),
                            feedback: entry_feedback(entry),
                        })
                    }
                    _ => report.error(file, entry.line, "a pair is written `- item => target`"),
                }
            }
            (prompt, Interaction::Matching { pairs })
        }
        "numeric" => {
            let prompt = require("prompt", report);
            let number = |name: &str, default: Option<f64>, report: &mut Report| -> f64 {
                match (body.get(name), default) {
                    (Some(f), _) => f.value.parse::<f64>().unwrap_or_else(|_| {
                        report.error(
                            file,
                            f.line,
                            format!("{name} must be a number such as 9.5 (no units; put the unit in `unit:`)"),
                        );
                        0.0
                    }),
                    (None, Some(d)) => d,
                    (None, None) => {
                        report.error(file, block.line, format!("add `{name}:`"));
                        0.0
                    }
                }
            };
            let answer = number("answer", None, report);
            let tolerance = number("tolerance", Some(0.0), report);
            (
                prompt,
                Interaction::Numeric {
                    answer,
                    tolerance,
                    unit: body.text("unit"),
                    feedback_correct: body.text("feedback-correct"),
                    feedback_low: body.text("feedback-low"),
                    feedback_high: body.text("feedback-high"),
                },
            )
        }
        "scenario" => {
            let prompt = require("prompt", report);
            let start = body
                .text("start")
                .or_else(|| body.nodes.first().map(|n| n.id.clone()))
                .unwrap_or_default();
            let nodes = compile_scenario_nodes(body, file, report);
            (prompt, Interaction::Scenario { start, nodes })
        }
        "flashcard" => {
            let front = require("front", report);
            let back = require("back", report);
            (front, Interaction::Flashcard { back })
        }
        "reflection" => {
            let prompt = require("prompt", report);
            let criteria = body.entries.iter().map(|e| e.text.clone()).collect();
            (prompt, Interaction::Reflection { criteria })
        }
        _ => return None,
    };
    if block.kind != "scenario" && !body.nodes.is_empty() {
        report.error(
            file,
            body.nodes[0].line,
            "`@NODE` lines belong to scenario blocks only",
        );
    }
    if report.errors.len() > errors_before {
        return None;
    }
    match Item::new(prompt, explanation, interaction) {
        Ok(item) => Some(item),
        Err(e) => {
            report.error(file, block.line, format!("item '{}': {e}", block.id));
            None
        }
    }
}

fn parse_tolerance(field: &Field, file: &Path, report: &mut Report) -> Tolerance {
    let mut tolerance = Tolerance {
        case: false,
        whitespace: false,
        diacritics: false,
    };
    for word in field
        .value
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        match word {
            "case" => tolerance.case = true,
            "whitespace" => tolerance.whitespace = true,
            "diacritics" => tolerance.diacritics = true,
            "none" => {}
            other => report.error(
                file,
                field.line,
                format!("unknown tolerance '{other}': use case, whitespace, diacritics or none"),
            ),
        }
    }
    tolerance
}

fn compile_scenario_nodes(body: &Body, file: &Path, report: &mut Report) -> Vec<ScenarioNode> {
    let mut nodes: Vec<ScenarioNode> = body
        .nodes
        .iter()
        .map(|n| ScenarioNode {
            id: n.id.clone(),
            text: n.text.clone(),
            choices: Vec::new(),
        })
        .collect();
    for entry in &body.entries {
        let Some(node) = entry.node.and_then(|i| nodes.get_mut(i)) else {
            report.error(
                file,
                entry.line,
                "a scenario choice must follow a situation line `@NODE text`",
            );
            continue;
        };
        let parsed = entry.text.strip_prefix('[').and_then(|rest| {
            let (quality, rest) = rest.split_once(']')?;
            let quality = match quality.trim() {
                "best" => Quality::Best,
                "ok" => Quality::Ok,
                "poor" => Quality::Poor,
                _ => return None,
            };
            let (text, target) = rest.rsplit_once("->")?;
            Some((quality, text.trim().to_string(), target.trim().to_string()))
        });
        match parsed {
            Some((quality, text, target)) => node.choices.push(ScenarioChoice {
                text,
                quality,
                next: (target != "end").then_some(target),
                feedback: entry_feedback(entry),
            }),
            None => report.error(
                file,
                entry.line,
                "a scenario choice is written `- [best|ok|poor] what the learner does -> NODE` (or `-> end`)",
            ),
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_course(dir: &Path, module: &str) {
        std::fs::create_dir_all(dir.join("modules")).unwrap();
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(
            dir.join("course.toml"),
            r#"[course]
id = "demo"
version = "1.0.0"
title = "Demo"
locale = "en"

[[skills]]
id = "listen"
name = "Listening"

[[paths]]
id = "rep"
title = "Rep"

[[paths.stages]]
kind = "foundation"
title = "Basics"
modules = ["intro"]
"#,
        )
        .unwrap();
        std::fs::write(dir.join("modules/intro.md"), module).unwrap();
    }

    const GOOD_MODULE: &str = "+++
title = \"Intro\"
skills = [\"listen\"]
+++

::: lesson intro-card skills=listen
Hear them out.

. . .

Then answer.
:::

::: single intro-q skills=listen
prompt: What first?
- [x] Listen
  feedback: Yes.
- [ ] Talk
  feedback: Not yet.
explanation: Listening first builds trust.
:::
";

    #[test]
    fn a_valid_course_compiles_with_progressive_reveal() {
        let dir = tempfile::tempdir().unwrap();
        write_course(dir.path(), GOOD_MODULE);
        let compiled = compile_course(dir.path()).unwrap();
        let module = &compiled.course.modules[0];
        assert_eq!(module.steps.len(), 2);
        match &module.steps[0].body {
            StepBody::Lesson(card) => {
                assert_eq!(card.segments, vec!["Hear them out.", "Then answer."])
            }
            other => panic!("expected a lesson, got {other:?}"),
        }
        let warnings: Vec<String> = compiled.warnings.iter().map(|w| w.to_string()).collect();
        assert!(
            warnings.iter().any(|w| w.contains("has no check")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("estimated at")),
            "{warnings:?}"
        );
    }

    #[test]
    fn two_correct_options_in_a_single_choice_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let module = GOOD_MODULE.replace("- [ ] Talk", "- [x] Talk");
        write_course(dir.path(), &module);
        let errors = compile_course(dir.path()).unwrap_err();
        let first = errors.errors[0].to_string();
        assert_eq!(
            first,
            "modules/intro.md:14: item 'intro-q': 2 options are marked [x]: a single-choice item needs exactly one (use `multiple` for several)"
        );
    }

    #[test]
    fn an_unknown_skill_is_reported_at_the_block_header() {
        let dir = tempfile::tempdir().unwrap();
        write_course(
            dir.path(),
            &GOOD_MODULE.replace("intro-q skills=listen", "intro-q skills=talk"),
        );
        let errors = compile_course(dir.path()).unwrap_err();
        assert!(errors.errors[0]
            .to_string()
            .starts_with("modules/intro.md:14: skill 'talk' is not defined"));
    }

    #[test]
    fn an_unclosed_block_is_reported_where_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        write_course(dir.path(), GOOD_MODULE.trim_end().trim_end_matches(":::"));
        let errors = compile_course(dir.path()).unwrap_err();
        assert!(errors.errors[0]
            .to_string()
            .starts_with("modules/intro.md:14: block 'intro-q' is never closed"));
    }

    #[test]
    fn a_missing_module_file_points_at_course_toml() {
        let dir = tempfile::tempdir().unwrap();
        write_course(dir.path(), GOOD_MODULE);
        std::fs::remove_file(dir.path().join("modules/intro.md")).unwrap();
        let errors = compile_course(dir.path()).unwrap_err();
        let message = errors.errors[0].to_string();
        assert!(
            message.starts_with("course.toml:18: module 'intro'"),
            "{message}"
        );
    }

    #[test]
    fn a_toml_syntax_error_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        write_course(dir.path(), GOOD_MODULE);
        let path = dir.path().join("course.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("title = \"Rep\"", "title = Rep")).unwrap();
        let errors = compile_course(dir.path()).unwrap_err();
        assert_eq!(errors.errors[0].line, 13, "{:?}", errors.errors);
    }

    #[test]
    fn a_missing_asset_is_an_error_and_a_symlinked_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let module = GOOD_MODULE.replace("Then answer.", "Then answer. ![nod](assets/nod.png)");
        write_course(dir.path(), &module);
        let errors = compile_course(dir.path()).unwrap_err();
        assert!(errors.errors[0].message.contains("does not exist"));
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("assets/nod.png")).unwrap();
        let errors = compile_course(dir.path()).unwrap_err();
        assert!(
            errors.errors[0].message.contains("is a link"),
            "{:?}",
            errors.errors
        );
    }

    #[test]
    fn every_item_kind_parses_from_its_documented_syntax() {
        let dir = tempfile::tempdir().unwrap();
        let module = format!(
            "{GOOD_MODULE}
::: multiple m1 skills=listen
prompt: Which help?
- [x] Nodding
  feedback: yes
- [ ] Interrupting
  feedback: no
explanation: e
:::

::: truefalse t1 skills=listen
prompt: Silence is useful.
answer: true
feedback-true: right
feedback-false: wrong
explanation: e
:::

::: blanks b1 skills=listen
prompt: Say {{{{1}}}} before {{{{2}}}}.
- 1: thanks | thank you
  feedback: f
- 2: answering
  feedback: f
tolerate: case, whitespace, diacritics
explanation: e
:::

::: order o1 skills=listen
prompt: Order the steps.
- Listen
- Acknowledge
- Answer
explanation: e
:::

::: match c1 skills=listen
prompt: Sort them.
- Nod => Good
- Smile => Good
- Interrupt => Bad
explanation: e
:::

::: numeric n1 skills=listen
prompt: How many seconds of silence?
answer: 3
tolerance: 1
unit: s
explanation: e
:::

::: scenario s1 skills=listen
prompt: A customer is upset.
start: open
@open They raise their voice.
- [best] Listen -> calm
  feedback: They calm down.
- [poor] Argue -> end
  feedback: They leave.
@calm They explain.
- [best] Summarise -> end
- [ok] Offer a discount -> end
explanation: e
:::

::: flashcard f1 skills=listen
front: LAER
back: Listen, Acknowledge, Explore, Respond
:::

::: reflection r1 skills=listen
prompt: Recall a time you interrupted.
- I named what I did
- I named what I would do instead
explanation: e
:::
"
        );
        write_course(dir.path(), &module);
        let compiled = compile_course(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<&str> = compiled.course.modules[0]
            .items()
            .map(|(_, item)| item.interaction().kind_name())
            .collect();
        assert_eq!(
            kinds,
            [
                "single",
                "multiple",
                "truefalse",
                "blanks",
                "order",
                "match",
                "numeric",
                "scenario",
                "flashcard",
                "reflection"
            ]
        );
        let scenario = compiled.course.modules[0]
            .items()
            .find(|(s, _)| s.id == "s1")
            .unwrap()
            .1;
        match scenario.interaction() {
            Interaction::Scenario { start, nodes } => {
                assert_eq!(start, "open");
                assert_eq!(nodes[0].choices[0].next.as_deref(), Some("calm"));
                assert_eq!(nodes[0].choices[1].next, None);
            }
            other => panic!("{other:?}"),
        }
        // The numeric item has no feedback, so it is warned about.
        assert!(compiled
            .warnings
            .iter()
            .any(|w| w.message.contains("item 'n1' has options")));
    }
}
