//! The course model: Course → role Paths → Stages → Modules → Steps.
//!
//! This is what a pack carries (as `course.json`) and what the store installs. [`Course::check`]
//! verifies every cross-reference (skills, modules, prerequisites, assets, unique step ids), so a
//! course that loads is a course that can be played. Answer keys are checked by
//! [`crate::content::items::Item`] itself.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::items::Item;
use super::job_aid::JobAid;

pub const DEFAULT_MASTERY_THRESHOLD: f64 = 0.8;
pub const DEFAULT_DESIRED_RETENTION: f64 = 0.9;
/// A peer's rating counts for at most half of an automatically scored answer.
pub const MAX_PEER_FEEDBACK_WEIGHT: f64 = 0.5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Course {
    pub id: String,
    pub version: semver::Version,
    pub title: String,
    pub locale: String,
    #[serde(default)]
    pub description: String,
    pub mastery_threshold: f64,
    pub desired_retention: f64,
    /// How much a peer's rating of a shared answer counts towards the author's mastery, next to
    /// an answer scored automatically (which counts 1): 0 (the default) not at all, at most
    /// [`MAX_PEER_FEEDBACK_WEIGHT`].
    #[serde(default)]
    pub peer_feedback_weight: f64,
    pub skills: Vec<Skill>,
    pub paths: Vec<LearningPath>,
    pub modules: Vec<Module>,
    /// One-screen reference cards ([`JobAid`]); absent from packs made before they existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_aids: Vec<JobAid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A role-based path, e.g. "Sales Executive".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningPath {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum StageKind {
    Foundation,
    Application,
    Mastery,
    Reinforcement,
}

impl StageKind {
    pub const ALL: [StageKind; 4] = [
        StageKind::Foundation,
        StageKind::Application,
        StageKind::Mastery,
        StageKind::Reinforcement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Foundation => "foundation",
            StageKind::Application => "application",
            StageKind::Mastery => "mastery",
            StageKind::Reinforcement => "reinforcement",
        }
    }

    pub fn parse(text: &str) -> Option<StageKind> {
        StageKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub kind: StageKind,
    pub title: String,
    /// Teaching modules, in order.
    pub modules: Vec<String>,
    /// The module whose items form this stage's check; unlocks are earned there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
}

impl Stage {
    /// Teaching modules then the check, in the order a learner meets them.
    pub fn module_ids(&self) -> impl Iterator<Item = &str> {
        self.modules
            .iter()
            .map(String::as_str)
            .chain(self.check.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Module {
    pub id: String,
    pub title: String,
    pub objectives: Vec<String>,
    pub skills: Vec<String>,
    pub prerequisites: Vec<String>,
    pub estimated_seconds: u32,
    pub steps: Vec<Step>,
}

impl Module {
    pub fn estimated_minutes(&self) -> f64 {
        f64::from(self.estimated_seconds) / 60.0
    }

    pub fn items(&self) -> impl Iterator<Item = (&Step, &Item)> {
        self.steps.iter().filter_map(|s| match &s.body {
            StepBody::Item(item) => Some((s, item)),
            StepBody::Lesson(_) => None,
        })
    }
}

/// One screen of a module: a lesson card or an assessment item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Unique within the course and stable across versions: learner history is keyed by it.
    pub id: String,
    pub skills: Vec<String>,
    #[serde(flatten)]
    pub body: StepBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepBody {
    Lesson(LessonCard),
    Item(Item),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct LessonCard {
    /// Markdown segments revealed one after another.
    pub segments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    /// Asset paths referenced from the Markdown (images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline_assets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum MediaKind {
    Image,
    Audio,
    Video,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Media {
    pub kind: MediaKind,
    /// Path of the asset inside the pack, under `assets/`.
    pub src: String,
    pub caption: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
}

/// A reason a course cannot be installed or played. Messages name the offending id.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CourseError {
    #[error(
        "'{id}' is not a valid id: use lowercase letters, digits and '-' (1 to 64 characters)"
    )]
    BadId { id: String },
    #[error("{what} '{id}' is defined twice: ids must be unique within a course")]
    Duplicate { what: &'static str, id: String },
    #[error("{what} '{id}' refers to unknown {target} '{missing}'")]
    UnknownReference {
        what: &'static str,
        id: String,
        target: &'static str,
        missing: String,
    },
    #[error("path '{path}' has its stages out of order or repeated: use foundation, application, mastery, reinforcement, each at most once, in that order")]
    StageOrder { path: String },
    #[error("module '{module}' has a prerequisite cycle through '{through}'")]
    PrerequisiteCycle { module: String, through: String },
    #[error("step '{step}' refers to asset '{asset}', which is not in the pack")]
    MissingAsset { step: String, asset: String },
    #[error("module '{module}' has no steps")]
    EmptyModule { module: String },
    #[error("stage check '{module}' has no assessment items")]
    CheckWithoutItems { module: String },
    #[error("{what} must be between 0 and 1 (exclusive of 0), found {value}")]
    OutOfRange { what: &'static str, value: f64 },
    #[error("course has no paths: add at least one [[paths]] with stages")]
    NoPaths,
    #[error("job aid '{aid}' does not fit one screen ({why}): shorten it or split it in two")]
    JobAidTooLong { aid: String, why: String },
}

pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

impl Course {
    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.id == id)
    }

    /// Every step id with the module it belongs to.
    pub fn step_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.modules
            .iter()
            .flat_map(|m| m.steps.iter().map(move |s| (m.id.as_str(), s.id.as_str())))
    }

    /// Every asset path the course refers to, with the last step referring to it.
    pub fn referenced_assets(&self) -> BTreeMap<&str, &str> {
        let mut out = BTreeMap::new();
        for module in &self.modules {
            out.extend(steps_assets(&module.steps));
        }
        out
    }

    /// Checks every cross-reference. `assets` is the set of asset paths the pack holds.
    pub fn check(&self, assets: &BTreeSet<String>) -> Result<(), CourseError> {
        for (what, value) in [
            ("mastery_threshold", self.mastery_threshold),
            ("desired_retention", self.desired_retention),
        ] {
            if !(value > 0.0 && value < 1.0 || what == "mastery_threshold" && value == 1.0) {
                return Err(CourseError::OutOfRange { what, value });
            }
        }
        if !(0.0..=MAX_PEER_FEEDBACK_WEIGHT).contains(&self.peer_feedback_weight) {
            return Err(CourseError::OutOfRange {
                what: "peer_feedback_weight",
                value: self.peer_feedback_weight,
            });
        }
        check_id(&self.id)?;
        let skills = unique_ids("skill", self.skills.iter().map(|s| s.id.as_str()))?;
        let modules = unique_ids("module", self.modules.iter().map(|m| m.id.as_str()))?;
        unique_ids("path", self.paths.iter().map(|p| p.id.as_str()))?;
        unique_ids("step", self.step_ids().map(|(_, s)| s))?;
        if self.paths.is_empty() {
            return Err(CourseError::NoPaths);
        }
        for path in &self.paths {
            if !path.stages.windows(2).all(|w| w[0].kind < w[1].kind) {
                return Err(CourseError::StageOrder {
                    path: path.id.clone(),
                });
            }
            for stage in &path.stages {
                for module in stage.module_ids() {
                    known("path", &path.id, "module", module, &modules)?;
                }
                if let Some(check) = stage.check.as_deref().and_then(|id| self.module(id)) {
                    if check.items().next().is_none() {
                        return Err(CourseError::CheckWithoutItems {
                            module: check.id.clone(),
                        });
                    }
                }
            }
        }
        for module in &self.modules {
            if module.steps.is_empty() {
                return Err(CourseError::EmptyModule {
                    module: module.id.clone(),
                });
            }
            for skill in &module.skills {
                known("module", &module.id, "skill", skill, &skills)?;
            }
            for prerequisite in &module.prerequisites {
                known("module", &module.id, "module", prerequisite, &modules)?;
            }
            for step in &module.steps {
                for skill in &step.skills {
                    known("step", &step.id, "skill", skill, &skills)?;
                }
            }
        }
        unique_ids("job aid", self.job_aids.iter().map(|a| a.id.as_str()))?;
        for aid in &self.job_aids {
            aid.check(&skills)?;
        }
        for (asset, step) in self.referenced_assets() {
            if !assets.contains(asset) {
                return Err(CourseError::MissingAsset {
                    step: step.to_string(),
                    asset: asset.to_string(),
                });
            }
        }
        self.check_prerequisites_acyclic()
    }

    fn check_prerequisites_acyclic(&self) -> Result<(), CourseError> {
        let graph: BTreeMap<&str, &[String]> = self
            .modules
            .iter()
            .map(|m| (m.id.as_str(), m.prerequisites.as_slice()))
            .collect();
        for start in graph.keys() {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&str> = graph[start].iter().map(String::as_str).collect();
            while let Some(next) = stack.pop() {
                if next == *start {
                    return Err(CourseError::PrerequisiteCycle {
                        module: start.to_string(),
                        through: next.to_string(),
                    });
                }
                if seen.insert(next) {
                    if let Some(more) = graph.get(next) {
                        stack.extend(more.iter().map(String::as_str));
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_id(id: &str) -> Result<(), CourseError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(CourseError::BadId { id: id.to_string() })
    }
}

fn unique_ids<'a>(
    what: &'static str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<BTreeSet<&'a str>, CourseError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        check_id(id)?;
        if !seen.insert(id) {
            return Err(CourseError::Duplicate {
                what,
                id: id.to_string(),
            });
        }
    }
    Ok(seen)
}

fn known(
    what: &'static str,
    id: &str,
    target: &'static str,
    missing: &str,
    set: &BTreeSet<&str>,
) -> Result<(), CourseError> {
    if set.contains(missing) {
        Ok(())
    } else {
        Err(CourseError::UnknownReference {
            what,
            id: id.to_string(),
            target,
            missing: missing.to_string(),
        })
    }
}

/// Every asset path `steps` refer to (lesson media and inline assets), with the last step
/// referring to it.
pub fn steps_assets(steps: &[Step]) -> BTreeMap<&str, &str> {
    let mut out = BTreeMap::new();
    for step in steps {
        if let StepBody::Lesson(card) = &step.body {
            if let Some(media) = &card.media {
                out.insert(media.src.as_str(), step.id.as_str());
            }
            for asset in &card.inline_assets {
                out.insert(asset.as_str(), step.id.as_str());
            }
        }
    }
    out
}
