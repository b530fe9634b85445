//! `tidbit-ffi`: the one FFI facade the Android and iOS apps and the Python package load.
//!
//! It exposes `tidbit_core::tidbit::Tidbit` through UniFFI proc-macros as one object, [`Tidbit`],
//! opened with a [`TidbitConfig`], plus what a UI needs (catalog, home, module steps, answer-free
//! item views, feedback, plans, progress, certificates, the learner's cohorts) and sync ([`SyncReport`]): the core's own
//! records and enums where they cross unchanged (derived in tidbit-core behind its `ffi`
//! feature), records of this crate where the FFI needs another shape; one small public error
//! enum ([`TidbitError`]), and the foreign traits the app implements ([`KeyStore`], [`Logger`],
//! [`Clock`], [`ProgressListener`], and [`HttpTransport`]: the platform's HTTP stack, which
//! carries every request). Sign-in through the organisation's OpenID provider is
//! [`begin_sign_in`] and [`SignIn`], with its own error enum ([`SignInError`]).
//! Long work and sync run off the caller's thread on the core's one tokio runtime; a sync stops
//! when the app cancels the call or a [`Cancellation`] passed to it.
//!
//! This crate must never hold domain logic: every decision is the core's. What lives here is
//! conversion, locking (the core's `Tidbit` is `Send` but not `Sync`), turning panics into
//! errors, and forwarding `tracing` to the app's logger.

mod cancellation;
mod certificate;
mod error;
mod http;
mod logging;
mod platform;
mod records;
mod sign_in;
mod tidbit;

pub use cancellation::Cancellation;
pub use certificate::verify_certificate;
pub use error::{KeyStoreError, TidbitError};
pub use http::{set_http_transport, HttpError, HttpHead, HttpHeader, HttpRequest, HttpTransport};
pub use logging::{set_logger, LogLevel, LogRecord, Logger};
pub use platform::{Clock, KeyStore, ProgressListener};
pub use records::*;
pub use sign_in::{begin_sign_in, SignIn, SignInError, SignInSettings, SignedIn};
pub use tidbit::{CourseUpdateSettings, DownloadListener, Tidbit, TidbitConfig};

uniffi::setup_scaffolding!();
