//! The catalog of installed courses and the report of a pack install.

use tidbit_core::store::InstallReport as CoreInstallReport;

use super::count;

pub use tidbit_core::content::model::StageKind;
pub use tidbit_core::store::{
    CourseSummary, InstallOutcome, ModuleSummary, PathSummary, SkillSummary, StageSummary,
};

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

impl From<CoreInstallReport> for InstallReport {
    fn from(report: CoreInstallReport) -> Self {
        let CoreInstallReport {
            course_id,
            title,
            version,
            outcome,
            steps_kept,
            steps_added,
            steps_retired,
            assets,
            asset_bytes,
            assets_collected,
        } = report;
        InstallReport {
            course_id,
            title,
            version,
            outcome,
            steps_kept: count(steps_kept),
            steps_added: count(steps_added),
            steps_retired,
            assets: count(assets),
            asset_bytes,
            assets_collected: count(assets_collected),
        }
    }
}
