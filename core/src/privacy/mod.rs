//! The learner's data stays theirs.
//!
//! - [`at_rest`]: the learner's answers and documents sealed with a key the platform keeps.
//! - [`consent`]: the optional uses of the learner's data, each off until given, and what each
//!   gates.
//!
//! Consent to notifications lives with the planner (`nudge`), the decision audit trail with the
//! store (`decisions`), each beside what it governs. The learner's export and human review of
//! automated decisions are facade calls (`tidbit::export`, `tidbit::rights`); erasure is
//! `Tidbit::erase`.

pub mod at_rest;
pub mod consent;
