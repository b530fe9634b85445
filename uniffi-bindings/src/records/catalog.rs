//! The catalog of installed courses and the report of a pack install.

pub use tidbit_core::content::model::StageKind;
pub use tidbit_core::store::{
    CourseSummary, InstallOutcome, InstallReport, ModuleSummary, PathSummary, SkillSummary,
    StageSummary,
};
