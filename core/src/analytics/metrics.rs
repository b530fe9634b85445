//! Engagement metrics, computed from events alone, in learners' own calendar days.
//!
//! [`summarise`] folds one learner's events (replayed through the engine's rules, so module
//! completions, stage checks and mastery are what the devices derived) into a
//! [`LearnerSummary`]: the small record the server keeps per learner and updates when their
//! events change. [`Cohort::of`] aggregates summaries across learners for the L&D team:
//! active learners over 1, 7, 14 and 30 days, module and path completion, stage pass rates and
//! time to unlock, mastery distributions per skill, nudge delivery and open rates, and who is
//! at risk with the reason. A learner's own home screen reads [`HomeMetrics`].
//!
//! Days are the learner's local dates: an answer carries the date on the learner's calendar
//! when it was given, so "active on Monday" means Monday where the learner was.

mod cohort;
mod evidence;
mod interventions;
mod summary;

pub use cohort::*;
pub use evidence::{CheckEvidence, SkillEvidence};
pub use interventions::*;
pub use summary::*;
