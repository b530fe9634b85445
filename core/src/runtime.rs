//! The one tokio runtime the core owns: sync and other long work run on it, and nothing else in
//! Tidbit creates one. It starts on first use with two worker threads; nothing in the learning
//! loop needs it.

use std::sync::OnceLock;

/// The platform gave no threads or timers for the runtime.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the background runtime could not start: {0}")]
pub struct RuntimeUnavailable(String);

/// The core's runtime, started on first use.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, RuntimeUnavailable> {
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
        .map_err(|e| RuntimeUnavailable(e.clone()))
}
