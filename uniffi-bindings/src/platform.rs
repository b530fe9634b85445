//! What the platform provides (traits the app implements) and the one runtime that runs long
//! work off the caller's thread.
//!
//! The core asks, the platform answers: the key store holds secrets in the Android Keystore or
//! the iOS Keychain, the clock can be injected by tests, and progress goes back to the UI.
//! Nothing here spawns onto the runtime from outside [`run_blocking`].

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

use crate::error::{KeyStoreError, TidbitError};

/// Secrets the platform keeps for Tidbit (Android Keystore, iOS Keychain).
#[uniffi::export(foreign)]
pub trait KeyStore: Send + Sync {
    /// The Tidbit private key file text (`tidbit keygen`) that signs certificates this device
    /// issues, or `None` when this app does not issue certificates.
    fn certificate_signing_key(&self) -> Result<Option<String>, KeyStoreError>;
}

/// Where time comes from; apps use [`crate::Tidbit::open`] (the system clock), tests inject
/// their own through [`crate::Tidbit::open_with_clock`].
#[uniffi::export(foreign)]
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch, UTC.
    fn now_ms(&self) -> i64;
}

/// Progress of long work (pack install: bytes; parameter fitting: steps).
#[uniffi::export(foreign)]
pub trait ProgressListener: Send + Sync {
    fn on_progress(&self, done: u64, total: u64);
}

/// A foreign [`Clock`] as the core's clock.
pub(crate) struct ForeignClock(pub(crate) Arc<dyn Clock>);

impl tidbit_core::events::Clock for ForeignClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.now_ms()).unwrap_or_default()
    }
}

/// The runtime that owns Tidbit's background threads, started on first use.
fn runtime() -> Result<&'static tokio::runtime::Runtime, TidbitError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .max_blocking_threads(4)
                .thread_name("tidbit")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            TidbitError::Internal(format!(
                "Tidbit could not start its background threads ({e}): free memory or restart the app"
            ))
        })
}

/// Runs blocking work (SQLite, file I/O, fitting) on the runtime's blocking pool and awaits it
/// from whatever executor the foreign language polls with.
pub(crate) async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TidbitError> + Send + 'static,
) -> Result<T, TidbitError> {
    match runtime()?.spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) => Err(TidbitError::Internal(format!(
            "a background task stopped unexpectedly ({error}): try again, and report it if it repeats"
        ))),
    }
}
