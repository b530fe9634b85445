//! Sign-in through the organisation's OpenID provider, for the apps: the core's PKCE helper
//! (`tidbit_core::identity`) as one object, [`SignIn`], and one small error enum.
//!
//! The app calls [`begin_sign_in`], opens [`SignIn::authorization_url`] in the system browser
//! (Custom Tabs on Android, `ASWebAuthenticationSession` on iOS; never a web view of its own),
//! and hands the URL the browser comes back with (its redirect URI) to [`SignIn::finish`], which
//! answers with the Tidbit server's token for this learner and device ([`SignedIn`]): keep it in
//! the platform's key store and pass it to `sync`. A sign-in survives the app's process being
//! ended while the browser is open: keep [`SignIn::to_json`] (it holds the PKCE verifier, so
//! keep it private and only until the sign-in ends) and rebuild it with [`SignIn::from_json`].
//!
//! Both calls run on the core's runtime; cancelling them (a cancelled coroutine or task) drops
//! the request in flight, and nothing is stored anywhere by a sign-in that did not finish.

use std::sync::Arc;

use tidbit_core::identity::{PendingSignIn, SignInError as CoreError};
pub use tidbit_core::identity::{SignInSettings, SignedIn};

/// Why a sign-in step failed. The message says what to do.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum SignInError {
    /// The settings are unusable (an empty client id, a server that is not a URL), or a saved
    /// sign-in could not be read back.
    #[error("{0}")]
    InvalidSettings(String),
    /// The provider or the Tidbit server could not be reached: try again later.
    #[error("{0}")]
    Unreachable(String),
    /// The person did not complete the sign-in at the provider, the redirect belongs to another
    /// sign-in, or the provider refused the code: start the sign-in again.
    #[error("{0}")]
    NotCompleted(String),
    /// The Tidbit server refused the sign-in (an ID token for another app, expired, from
    /// another provider; an erased learner): the message says which.
    #[error("{0}")]
    Refused(String),
    /// A bug inside Tidbit (a failed background task). The app keeps running.
    #[error("{0}")]
    Internal(String),
}

impl From<CoreError> for SignInError {
    fn from(error: CoreError) -> Self {
        let message = error.to_string();
        match error {
            CoreError::BadSettings(_) => SignInError::InvalidSettings(message),
            CoreError::ProviderUnavailable(_) | CoreError::ServerUnavailable(_) => {
                SignInError::Unreachable(message)
            }
            CoreError::ProviderRefused { .. }
            | CoreError::StateMismatch
            | CoreError::NoCode
            | CoreError::CodeRefused { .. }
            | CoreError::NoIdToken => SignInError::NotCompleted(message),
            CoreError::ServerRefused { .. } => SignInError::Refused(message),
        }
    }
}

/// A sign-in in progress.
#[derive(uniffi::Object)]
pub struct SignIn {
    pending: PendingSignIn,
}

/// Reads the provider's discovery document and starts a sign-in: open the returned
/// [`SignIn::authorization_url`] in the system browser.
#[uniffi::export]
pub async fn begin_sign_in(settings: SignInSettings) -> Result<Arc<SignIn>, SignInError> {
    let pending = on_core_runtime(async move {
        tidbit_core::identity::begin_sign_in(&settings)
            .await
            .map_err(SignInError::from)
    })
    .await?;
    Ok(Arc::new(SignIn { pending }))
}

#[uniffi::export]
impl SignIn {
    /// A sign-in at a provider whose endpoints the app already knows (no discovery request).
    #[uniffi::constructor]
    pub fn with_endpoints(
        settings: SignInSettings,
        authorization_endpoint: String,
        token_endpoint: String,
    ) -> Result<Arc<SignIn>, SignInError> {
        let pending = PendingSignIn::new(&settings, &authorization_endpoint, &token_endpoint)?;
        Ok(Arc::new(SignIn { pending }))
    }

    /// A sign-in kept with [`SignIn::to_json`] before the app's process ended.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<SignIn>, SignInError> {
        let pending = serde_json::from_str(&json).map_err(|e| {
            SignInError::InvalidSettings(format!(
                "this is not a saved sign-in ({e}): start the sign-in again"
            ))
        })?;
        Ok(Arc::new(SignIn { pending }))
    }

    /// The page to open in the system browser.
    pub fn authorization_url(&self) -> String {
        self.pending.authorization_url.clone()
    }

    /// The `state` the redirect must carry back.
    pub fn state(&self) -> String {
        self.pending.state.clone()
    }

    /// This sign-in as JSON, to keep (privately) while the browser is open.
    pub fn to_json(&self) -> Result<String, SignInError> {
        serde_json::to_string(&self.pending).map_err(|e| SignInError::Internal(e.to_string()))
    }

    /// Finishes with the URL the provider redirected the browser to: checks its `state`,
    /// exchanges the code (with the PKCE verifier) for an ID token and signs in to the Tidbit
    /// server with it.
    pub async fn finish(&self, redirect_url: String) -> Result<SignedIn, SignInError> {
        let pending = self.pending.clone();
        on_core_runtime(async move {
            pending
                .finish(&redirect_url)
                .await
                .map_err(SignInError::from)
        })
        .await
    }
}

/// Runs `work` on the core's runtime (where its HTTP client lives) and awaits it there; dropping
/// the returned future aborts it.
async fn on_core_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, SignInError>> + Send + 'static,
) -> Result<T, SignInError> {
    let runtime = tidbit_core::runtime::runtime()
        .map_err(|e| SignInError::Internal(format!("the runtime could not start: {e}")))?;
    let task = runtime.spawn(work);
    let abort = task.abort_handle();
    let _abort_on_drop = AbortOnDrop(abort);
    task.await
        .map_err(|e| SignInError::Internal(format!("the sign-in stopped unexpectedly: {e}")))?
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
