//! The learner's data stays theirs.
//!
//! - [`at_rest`]: the learner's answers and documents sealed with a key the platform keeps.
//!
//! Consent to notifications lives with the planner (`nudge`), the decision audit trail with the
//! store (`decisions`), each beside what it governs.

pub mod at_rest;
