//! Sync: the learner's progress in Automerge documents, merged with a server over HTTP.
//!
//! - [`documents`]: how events are laid out in period documents, and the one check every
//!   incoming message passes (events are only ever appended);
//! - [`local`]: the device's copy of those documents in the store's SQLite file;
//! - [`exchange`]: the body of one HTTP exchange, shared with the server;
//! - [`peer`]: the hostile-peer model, the one place that checks what a peer sent (chunks,
//!   events, document names), used by the device and the server alike;
//! - [`client`]: the HTTP client that repeats exchanges until neither side has anything to send.
//!
//! Nothing here runs inside the learning loop except appending an event to its document; the
//! network is only touched by [`client::sync`], which is async and holds the learner's store
//! only between round trips.

pub mod client;
pub mod documents;
pub mod exchange;
pub mod local;
pub mod peer;
