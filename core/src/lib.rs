//! Tidbit's core: everything a learner's device does without a network, and the sync that
//! merges it with a server.
//!
//! The modules, from the bottom up (each uses only those above it in this list):
//! - [`time_zone`]: every IANA time zone, embedded, for the learner's local days and times;
//! - [`keys`]: Ed25519 keys that sign packs and certificates, and the set a device trusts;
//! - [`pack`]: the signed `.tidbit` container and its streaming verifier;
//! - [`content`]: the course model, the eleven item kinds, the author's source format and its
//!   compiler;
//! - [`privacy`]: the learner's data kept theirs (encryption at rest, consent scopes);
//! - [`events`]: what an event is: the learner's actions, their ids and their total order;
//! - [`sync`]: the learner's Automerge documents, the exchange body, the hostile-peer checks
//!   every incoming message passes, and the documents' local persistence;
//! - [`store`]: the SQLite store: schema, atomic pack install, catalog, and the event log, the
//!   one owner of the learner's events ([`store::event_log`]);
//! - [`learn`]: the engine: scoring, FSRS scheduling, mastery, the projections derived from
//!   events, plans and the recommendation;
//! - [`nudge`]: the notification planner, a pure function of what the projections say;
//! - [`certificate`]: signed certificates for a finished path, verified offline;
//! - [`community`]: learning together: a cohort's shared space, its weekly rota and metrics;
//! - [`analytics`]: learning records (xAPI) made from the events, for the organisation;
//! - [`net`]: HTTP: one request and answer type, carried by the platform's stack or reqwest;
//! - [`identity`]: signing in through the organisation's OpenID provider (PKCE), for the
//!   server's token;
//! - [`runtime`]: the one tokio runtime the core owns;
//! - [`tidbit`]: the facade the apps, the CLI and the tests drive, with the sync client;
//! - [`simulate`]: simulated learners driving the facade, for authors and benchmarks.
//!
//! Nothing here panics on bad input: every failure is a typed error whose message says what to do.

pub mod analytics;
pub mod certificate;
pub mod community;
pub mod content;
pub mod events;
pub mod identity;
pub mod keys;
pub mod learn;
pub mod net;
pub mod nudge;
pub mod pack;
pub mod privacy;
pub mod runtime;
pub mod simulate;
pub mod store;
pub mod sync;
pub mod tidbit;
pub mod time_zone;

// With the `ffi` feature, the types that cross the FFI unchanged (reports, plans, catalog
// summaries, progress) derive UniFFI records and enums; tidbit-ffi re-exports them and converts
// only the rest.
#[cfg(feature = "ffi")]
uniffi::setup_scaffolding!();
