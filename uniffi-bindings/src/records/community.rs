//! Learning together: a cohort's space as a member's app shows it, and what a member shares
//! into it. Every type is the core's own.

pub use tidbit_core::community::metrics::WeekCount;
pub use tidbit_core::community::rota::Skipped;
pub use tidbit_core::community::space::ReactionCount;
pub use tidbit_core::community::{
    CohortMetrics, CohortView, Duty, FeedbackView, IgnoredEntry, MemberView, PostView, Reaction,
    ReportView, Rota, ShareView, SharedAnswer,
};
