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

use std::sync::OnceLock;

/// The one tokio runtime the core owns: sync and other long work run on it, and nothing else
/// creates one. Fails only when the platform gives no threads or timers.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, client::SyncError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tidbit-runtime")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| client::SyncError::Runtime(e.clone()))
}
