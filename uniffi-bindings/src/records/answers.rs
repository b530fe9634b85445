//! What the learner answers and the feedback they get back. Every type is the core's own.

pub use tidbit_core::events::Grade;
pub use tidbit_core::learn::assess::{Assessment, Outcome, Response, SelfRating};
pub use tidbit_core::learn::projection::{
    RemediationInserted as Remediation, SkillScore, StageCheckResult as StageCheck,
};
pub use tidbit_core::tidbit::Feedback;
