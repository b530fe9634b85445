//! The block lexer of the source format: a module file's body split into `::: KIND ID` blocks,
//! each block's lines into fields, entries and scenario nodes. It knows the syntax and nothing
//! of what a block means; [`super::steps`] turns blocks into steps.

use std::path::Path;

use super::Report;
use crate::content::model::is_valid_id;

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
