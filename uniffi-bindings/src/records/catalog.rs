//! The catalog of installed courses and the report of a pack install.

use tidbit_core::content::model::StageKind as CoreStageKind;
use tidbit_core::store;

use super::count;

/// An installed course with its skills and role paths.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CourseSummary {
    pub id: String,
    pub version: String,
    pub title: String,
    pub locale: String,
    pub description: String,
    pub signer_key_id: String,
    pub installed_at: String,
    pub skills: Vec<SkillSummary>,
    pub paths: Vec<PathSummary>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SkillSummary {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PathSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    pub estimated_minutes: f64,
    pub stages: Vec<StageSummary>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageSummary {
    pub kind: StageKind,
    pub title: String,
    pub modules: Vec<ModuleSummary>,
    pub check: Option<ModuleSummary>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ModuleSummary {
    pub id: String,
    pub title: String,
    pub estimated_minutes: f64,
    pub skills: Vec<String>,
    pub prerequisites: Vec<String>,
    pub objectives: Vec<String>,
    pub steps: u32,
    pub items: u32,
}

/// The stages of a role path, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StageKind {
    Foundation,
    Application,
    Mastery,
    Reinforcement,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InstallReport {
    pub course_id: String,
    pub title: String,
    pub version: String,
    pub outcome: InstallOutcome,
    /// Steps present before and after (their learner history carries over).
    pub steps_kept: u32,
    pub steps_added: u32,
    /// Steps the new version dropped.
    pub steps_retired: Vec<String>,
    pub assets: u32,
    pub asset_bytes: u64,
    /// Asset files no longer referenced by any course, removed after the install.
    pub assets_collected: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum InstallOutcome {
    Installed,
    Upgraded { previous_version: String },
    AlreadyInstalled,
}

impl From<store::CourseSummary> for CourseSummary {
    fn from(c: store::CourseSummary) -> Self {
        CourseSummary {
            id: c.id,
            version: c.version,
            title: c.title,
            locale: c.locale,
            description: c.description,
            signer_key_id: c.signer_key_id,
            installed_at: c.installed_at,
            skills: c.skills.into_iter().map(Into::into).collect(),
            paths: c.paths.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<store::SkillSummary> for SkillSummary {
    fn from(s: store::SkillSummary) -> Self {
        SkillSummary {
            id: s.id,
            name: s.name,
        }
    }
}

impl From<store::PathSummary> for PathSummary {
    fn from(p: store::PathSummary) -> Self {
        PathSummary {
            id: p.id,
            title: p.title,
            description: p.description,
            estimated_minutes: p.estimated_minutes,
            stages: p.stages.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<store::StageSummary> for StageSummary {
    fn from(s: store::StageSummary) -> Self {
        StageSummary {
            kind: s.kind.into(),
            title: s.title,
            modules: s.modules.into_iter().map(Into::into).collect(),
            check: s.check.map(Into::into),
        }
    }
}

impl From<store::ModuleSummary> for ModuleSummary {
    fn from(m: store::ModuleSummary) -> Self {
        ModuleSummary {
            id: m.id,
            title: m.title,
            estimated_minutes: m.estimated_minutes,
            skills: m.skills,
            prerequisites: m.prerequisites,
            objectives: m.objectives,
            steps: m.steps,
            items: m.items,
        }
    }
}

impl From<CoreStageKind> for StageKind {
    fn from(kind: CoreStageKind) -> Self {
        match kind {
            CoreStageKind::Foundation => StageKind::Foundation,
            CoreStageKind::Application => StageKind::Application,
            CoreStageKind::Mastery => StageKind::Mastery,
            CoreStageKind::Reinforcement => StageKind::Reinforcement,
        }
    }
}

impl From<store::InstallReport> for InstallReport {
    fn from(r: store::InstallReport) -> Self {
        InstallReport {
            course_id: r.course_id,
            title: r.title,
            version: r.version,
            outcome: match r.outcome {
                store::InstallOutcome::Installed => InstallOutcome::Installed,
                store::InstallOutcome::Upgraded { from } => InstallOutcome::Upgraded {
                    previous_version: from,
                },
                store::InstallOutcome::AlreadyInstalled => InstallOutcome::AlreadyInstalled,
            },
            steps_kept: count(r.steps_kept),
            steps_added: count(r.steps_added),
            steps_retired: r.steps_retired,
            assets: count(r.assets),
            asset_bytes: r.asset_bytes,
            assets_collected: count(r.assets_collected),
        }
    }
}
