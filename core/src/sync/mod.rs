//! Sync: the learner's progress in Automerge documents, merged with a server over HTTP.
//!
//! - [`documents`]: how events are laid out in period documents, and the one check every
//!   incoming message passes (events are only ever appended);
//! - [`local`]: the device's copy of those documents in the store's SQLite file;
//! - [`exchange`]: the body of one HTTP exchange, shared with the server;
//! - [`peer`]: the hostile-peer model, the one place that checks what a peer sent (chunks,
//!   events, document names), used by the device and the server alike.
//!
//! Nothing here touches the network or drives the facade: the sync session over these documents
//! and the HTTP client live with the facade ([`crate::tidbit::SyncSession`],
//! [`crate::tidbit::sync_client`]), and the server uses [`exchange`] and [`peer`] directly.

pub mod documents;
pub mod exchange;
pub mod local;
pub mod peer;
