//! What the organisation learns from the learners' events: learning records in the standard
//! its systems read ([`xapi`]), engagement metrics ([`metrics`]), experiments
//! ([`experiment`]) and the skills inventory ([`inventory`]).
//!
//! Everything here is a pure function of events and installed content, so a device and the
//! server that hold the same events compute the same records.

pub mod experiment;
pub mod inventory;
pub mod metrics;
pub mod xapi;
