//! `[[job_aids]]` in `course.toml`: one-screen reference cards, each with an `id`, a `title`,
//! the `skills` it supports and a `body` of short lines. Each is checked where it is written,
//! so an error names its line.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::Report;
use crate::content::job_aid::JobAid;
use crate::content::model::is_valid_id;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobAidToml {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    skills: Vec<Spanned<String>>,
    body: String,
}

/// The course's job aids; every problem reported at its line (`at` gives a span's line).
pub(super) fn compile_job_aids(
    file: &Path,
    aids: &[JobAidToml],
    skills: &BTreeSet<String>,
    at: impl Fn(std::ops::Range<usize>) -> usize,
    report: &mut Report,
) -> Vec<JobAid> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for aid in aids {
        let id = aid.id.get_ref();
        let line = at(aid.id.span());
        if !is_valid_id(id) {
            report.error(
                file,
                line,
                format!("job aid id '{id}' is not valid: use lowercase letters, digits and '-'"),
            );
            continue;
        }
        if !seen.insert(id.clone()) {
            report.error(
                file,
                line,
                format!("job aid '{id}' is defined twice: name each job aid once"),
            );
            continue;
        }
        for skill in &aid.skills {
            if !skills.contains(skill.get_ref()) {
                report.error(
                    file,
                    at(skill.span()),
                    format!(
                        "job aid '{id}' names unknown skill '{}': add it under [[skills]] or fix the name",
                        skill.get_ref()
                    ),
                );
            }
        }
        let compiled = JobAid {
            id: id.clone(),
            title: aid.title.trim().to_string(),
            skills: aid.skills.iter().map(|s| s.get_ref().clone()).collect(),
            body: aid.body.trim().to_string(),
        };
        if let Some(why) = compiled.screen_problem() {
            report.error(
                file,
                line,
                format!(
                    "job aid '{id}' does not fit one screen ({why}): shorten it or split it in two"
                ),
            );
        }
        out.push(compiled);
    }
    out
}
