//! What the platform provides (traits the app implements), and long work run off the caller's
//! thread on the core's one runtime.
//!
//! The core asks, the platform answers: the key store holds secrets in the Android Keystore or
//! the iOS Keychain, the clock can be injected by tests, and progress goes back to the UI.
//! Nothing spawns onto the runtime from an FFI thread except through [`run_blocking`] and
//! [`crate::cancellation::run_cancellable`] (`Tidbit::sync`), which hand the work to the runtime
//! and await its handle.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{KeyStoreError, TidbitError};

/// Secrets the platform keeps for Tidbit (Android Keystore, iOS Keychain).
#[uniffi::export(foreign)]
pub trait KeyStore: Send + Sync {
    /// The Tidbit private key file text (`tidbit keygen`) that signs certificates this device
    /// issues, or `None` when this app does not issue certificates.
    fn certificate_signing_key(&self) -> Result<Option<String>, KeyStoreError>;

    /// The 32 bytes the learner's answers and sync documents are sealed with on this device.
    /// Create it once at random, keep it in the platform's key store and hand the same bytes
    /// over at every open; a store sealed with it cannot be opened without it. `None` keeps
    /// the store in plain form (scripts and tools; an app should always return a key).
    fn at_rest_key(&self) -> Result<Option<Vec<u8>>, KeyStoreError>;

    /// Destroys the at-rest key for good (`Tidbit.erase` calls it once the store is closed and
    /// before its files are removed): afterwards no copy of the sealed store can be opened.
    /// Destroying a key that does not exist succeeds. An error leaves the store as it was.
    fn destroy_at_rest_key(&self) -> Result<(), KeyStoreError>;
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

/// The core's one runtime (`tidbit_core::runtime`), started on first use; this crate
/// creates none of its own.
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, TidbitError> {
    tidbit_core::runtime::runtime().map_err(|e| {
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
