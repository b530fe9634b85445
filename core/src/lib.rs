//! Tidbit's core: everything a learner's device does without a network.
//!
//! - [`content`]: the course model, the author's source format and its compiler;
//! - [`keys`] and [`pack`]: Ed25519 signing keys and the signed `.tidbit` pack container;
//! - [`store`]: the SQLite store that installs packs atomically and answers catalog queries;
//! - [`time_zone`]: every IANA time zone, embedded, for the learner's local days and times.
//!
//! Nothing here panics on bad input: every failure is a typed error whose message says what to do.

pub mod certificate;
pub mod content;
pub mod events;
pub mod keys;
pub mod learn;
pub mod nudge;
pub mod pack;
pub mod privacy;
pub mod store;
pub mod sync;
pub mod tidbit;
pub mod time_zone;

// With the `ffi` feature, the types that cross the FFI unchanged (reports, plans, catalog
// summaries, progress) derive UniFFI records and enums; tidbit-ffi re-exports them and converts
// only the rest.
#[cfg(feature = "ffi")]
uniffi::setup_scaffolding!();
