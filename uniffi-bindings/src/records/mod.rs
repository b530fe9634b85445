//! What crosses the FFI: the core's own types where they cross unchanged (they derive their UniFFI
//! records and enums in tidbit-core behind its `ffi` feature, and are re-exported here), and
//! records for the rest, with their conversions.
//!
//! A record here exists only for what the FFI needs to differ: instants become UTC
//! milliseconds, local windows and JSON values become text, maps become hash maps, and a few
//! shapes exist only for the apps (the home screen). Each conversion from a core type
//! destructures it whole (no `..`), so a field added in the core fails to compile here until it
//! is carried across.

mod answers;
mod catalog;
mod community;
mod nudges;
mod plans;
mod steps;

pub use answers::*;
pub use catalog::*;
pub use community::*;
pub use nudges::*;
pub use plans::*;
pub use steps::*;

pub use tidbit_core::analytics::experiment::Arm as ExperimentArm;
pub use tidbit_core::analytics::inventory::{CertifiedPath, InventorySkill, SkillInventory};
pub use tidbit_core::analytics::metrics::{CheckEvidence, HomeMetrics, SkillEvidence};
pub use tidbit_core::certificate::VerifiedCertificate;
pub use tidbit_core::content::JobAid;
pub use tidbit_core::events::{
    CoachingTemplate, InterventionAction, InterventionKind, InterventionStep, MentoringInvitation,
};
pub use tidbit_core::learn::goal::{GoalSpec, GoalStatus, Pace, StudyTime};
pub use tidbit_core::learn::mastery::{Evidence, SkillMastery};
pub use tidbit_core::learn::personalise::FitReport;
pub use tidbit_core::privacy::consent::{ConsentScope, ConsentState};
pub use tidbit_core::tidbit::sync_client::SyncReport;
pub use tidbit_core::tidbit::{InterventionView, Review, ReviewDecision, StageStatus, Streak};

/// A count for the FFI, saturating (no store holds 4 billion of anything).
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
