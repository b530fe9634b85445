//! One module file: its `+++` front matter, its `::: KIND ID` blocks, and the fields, entries
//! and scenario nodes inside a block. Every problem is reported with the file line it is on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::steps::compile_step;
use super::{line_of, FrontMatter, Report};
use crate::content::estimate::estimate_module_seconds;
use crate::content::model::{is_valid_id, Module, StepBody};

pub(super) struct ModuleContext<'a> {
    pub(super) file: &'a Path,
    pub(super) module_id: &'a str,
    pub(super) skills: &'a BTreeSet<String>,
    pub(super) modules: &'a BTreeSet<String>,
    pub(super) is_check: bool,
}

pub(super) fn compile_module(
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
pub(super) struct Block<'a> {
    pub(super) kind: &'a str,
    pub(super) id: &'a str,
    pub(super) attributes: Vec<(&'a str, &'a str)>,
    pub(super) line: usize,
    /// `(file line number, text)`
    pub(super) body: Vec<(usize, &'a str)>,
}

pub(super) fn split_blocks<'a>(
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

pub(super) fn open_block<'a>(
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
pub(super) struct Field {
    pub(super) name: String,
    pub(super) value: String,
    pub(super) line: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) text: String,
    pub(super) line: usize,
    pub(super) fields: Vec<Field>,
    /// Index of the scenario node the entry belongs to.
    pub(super) node: Option<usize>,
}

#[derive(Debug, Clone)]
pub(super) struct NodeDecl {
    pub(super) id: String,
    pub(super) text: String,
    pub(super) line: usize,
}

#[derive(Default)]
pub(super) struct Body {
    pub(super) fields: Vec<Field>,
    pub(super) entries: Vec<Entry>,
    pub(super) nodes: Vec<NodeDecl>,
}

pub(super) enum Target {
    None,
    Field,
    Entry,
    EntryField,
    Node,
}

pub(super) fn field_name(text: &str) -> Option<(&str, &str)> {
    let (name, value) = text.split_once(':')?;
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
        && name.as_bytes()[0].is_ascii_lowercase();
    name_ok.then_some((name, value.trim()))
}

pub(super) fn append(target: &mut String, text: &str, gap: bool) {
    if target.is_empty() {
        target.push_str(text);
    } else {
        target.push_str(if gap { "\n\n" } else { "\n" });
        target.push_str(text);
    }
}

pub(super) fn parse_body(block: &Block<'_>, file: &Path, report: &mut Report) -> Body {
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
    pub(super) fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub(super) fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|f| f.value.clone())
    }
}

pub(super) fn entry_feedback(entry: &Entry) -> Option<String> {
    entry
        .fields
        .iter()
        .find(|f| f.name == "feedback")
        .map(|f| f.value.clone())
}

/// `[x] text` / `[ ] text` → (correct, text)
pub(super) fn parse_marked_choice(text: &str) -> Option<(bool, String)> {
    let rest = text.strip_prefix('[')?;
    let (mark, text) = rest.split_once(']')?;
    match mark.trim() {
        "x" | "X" => Some((true, text.trim().to_string())),
        "" => Some((false, text.trim().to_string())),
        _ => None,
    }
}
