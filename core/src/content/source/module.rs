//! One module file: its `+++` front matter, then its blocks ([`super::blocks`]) compiled into
//! steps ([`super::steps`]). Every problem is reported with the file line it is on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::blocks::split_blocks;
use super::steps::compile_step;
use super::{line_of, FrontMatter, ModuleContext, Report};
use crate::content::estimate::estimate_module_seconds;
use crate::content::model::{Module, StepBody};

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
