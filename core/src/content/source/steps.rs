//! Turning one block into a step: lesson cards, media cards and the eleven item kinds, each with
//! the fields its kind allows. Answer keys are checked by [`Item::new`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::blocks::{entry_feedback, parse_body, parse_marked_choice, Block, Body, Field};
use super::{ModuleContext, Report};
use crate::content::items::{
    Blank, Choice, Interaction, Item, MatchPair, OrderEntry, Quality, ScenarioChoice, ScenarioNode,
    Tolerance,
};
use crate::content::model::{LessonCard, Media, MediaKind, Step, StepBody};

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
    ("voice", &["prompt", "explanation", "max-seconds"]),
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

pub(super) fn compile_step(
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
        "voice" => {
            let prompt = require("prompt", report);
            let criteria = body.entries.iter().map(|e| e.text.clone()).collect();
            let max_seconds = parse_max_seconds(block, body, file, report);
            (
                prompt,
                Interaction::Voice {
                    criteria,
                    max_seconds,
                },
            )
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

/// A voice item's `max-seconds:`, in whole seconds (`90` or `90s`); whether it lies in the
/// allowed range is the item's own check.
fn parse_max_seconds(block: &Block<'_>, body: &Body, file: &Path, report: &mut Report) -> u32 {
    let hint = "the longest recording in whole seconds, 5 to 600, e.g. `max-seconds: 90`";
    match body.get("max-seconds") {
        Some(f) => f
            .value
            .trim_end_matches('s')
            .trim()
            .parse::<u32>()
            .unwrap_or_else(|_| {
                report.error(file, f.line, format!("max-seconds is {hint}"));
                0
            }),
        None => {
            report.error(
                file,
                block.line,
                format!("a 'voice' item needs `max-seconds:`, {hint}"),
            );
            0
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
