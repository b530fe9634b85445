//! The skills inventory: per learner, each skill with its mastery, its evidence and when it was
//! last demonstrated ([`SkillInventory`]), the same as Open Badges 3.0 credentials in one
//! Comprehensive Learner Record ([`credentials`]), and the organisation's question over every
//! learner ("who has skill X at 0.8 or more, demonstrated in the last 90 days", [`holders`]).
//!
//! Everything is read from a [`LearnerSummary`], the fold of the learner's events that the
//! server keeps per learner and a device makes from its own log, so both state the same skills
//! from the same events. The organisation's view never includes a learner who does not give the
//! `profile` consent scope; the learner's own inventory is theirs whatever they chose.

pub mod credentials;
mod holders;

pub use holders::{holders, Holder, HolderQuery};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analytics::metrics::{LearnerSummary, SkillEvidence};
use crate::store::{Store, StoreError};

/// One learner's skills, as of `at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SkillInventory {
    pub learner: String,
    pub at_ms: i64,
    /// Every skill of every course the learner is enrolled on, in course then skill order.
    pub skills: Vec<InventorySkill>,
}

/// One skill of the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct InventorySkill {
    pub course: String,
    pub course_title: String,
    pub course_version: String,
    pub skill: String,
    pub name: String,
    pub description: String,
    /// Mastery now, in [0, 1].
    pub mastery: f64,
    /// The course's mastery threshold.
    pub threshold: f64,
    /// `mastery >= threshold`: the skill is held, and has a credential.
    pub held: bool,
    /// The last right answer to one of the skill's items, or passed stage check measuring it.
    pub last_demonstrated_ms: Option<i64>,
    pub evidence: SkillEvidence,
    /// Finished paths whose (signed, on request) certificate names this skill.
    pub certificates: Vec<CertifiedPath>,
}

/// A path the learner finished: every stage passed. `tidbit certificate` (or the app) issues
/// its signed certificate; the inventory names it as evidence for the skills its checks measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct CertifiedPath {
    pub path: String,
    pub path_title: String,
    /// When its last stage was passed: the certificate's `validFrom`.
    pub completed_ms: i64,
}

/// The inventory of `summary`'s learner (a summary made at `at_ms`), with names and titles from
/// the installed courses in `content` (a course no longer installed keeps its ids as names).
pub fn inventory(
    content: &Store,
    summary: &LearnerSummary,
    at_ms: i64,
) -> Result<SkillInventory, StoreError> {
    let courses: BTreeMap<String, _> = content
        .catalog()?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let mut described: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for course in summary.skills.iter().map(|s| &s.course) {
        if !described.contains_key(course) {
            let skills = content
                .skills(course)?
                .into_iter()
                .map(|s| (s.id, (s.name, s.description)))
                .collect();
            described.insert(course.clone(), skills);
        }
    }
    let skills = summary
        .skills
        .iter()
        .map(|record| {
            let course = courses.get(&record.course);
            let (name, description) = described
                .get(&record.course)
                .and_then(|d| d.get(&record.skill))
                .cloned()
                .unwrap_or_else(|| (record.skill.clone(), String::new()));
            let certificates = finished_paths(summary, &record.course)
                .filter(|(path, _)| record.evidence.checks.iter().any(|c| c.path == *path))
                .map(|(path, completed_ms)| CertifiedPath {
                    path_title: course
                        .and_then(|c| c.paths.iter().find(|p| p.id == path))
                        .map_or_else(|| path.to_string(), |p| p.title.clone()),
                    path: path.to_string(),
                    completed_ms,
                })
                .collect();
            InventorySkill {
                course: record.course.clone(),
                course_title: course.map_or_else(|| record.course.clone(), |c| c.title.clone()),
                course_version: course.map(|c| c.version.clone()).unwrap_or_default(),
                skill: record.skill.clone(),
                name,
                description,
                mastery: record.mastery,
                threshold: record.threshold,
                held: record.mastery >= record.threshold,
                last_demonstrated_ms: record.last_demonstrated_ms,
                evidence: record.evidence.clone(),
                certificates,
            }
        })
        .collect();
    Ok(SkillInventory {
        learner: summary.learner.clone(),
        at_ms,
        skills,
    })
}

/// `(path, completed_ms)` of every path of `course` whose stages were all passed.
fn finished_paths<'s>(
    summary: &'s LearnerSummary,
    course: &'s str,
) -> impl Iterator<Item = (&'s str, i64)> + 's {
    summary
        .enrolments
        .iter()
        .filter(move |e| e.course == course && !e.stages.is_empty())
        .filter_map(|e| {
            let passed: Option<Vec<i64>> = e.stages.iter().map(|s| s.passed_ms).collect();
            Some((e.path.as_str(), passed?.into_iter().max()?))
        })
}
