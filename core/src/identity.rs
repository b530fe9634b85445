//! Signing a learner in through the organisation's OpenID Connect provider, on the device:
//! the authorization code flow with PKCE (RFC 7636, `S256`), then the Tidbit server's own token.
//!
//! 1. [`begin_sign_in`] reads the provider's discovery document and makes a [`PendingSignIn`]:
//!    a fresh code verifier (32 random bytes), its `S256` challenge, a `state` and a `nonce`,
//!    and the authorization URL carrying them. The app opens that URL in the system browser
//!    (Custom Tabs on Android, `ASWebAuthenticationSession` on iOS), never in a web view of its
//!    own, so the learner's password is typed only into the provider's page.
//! 2. The provider redirects to the app's redirect URI; the app hands that whole URL to
//!    [`PendingSignIn::finish`], which checks `state`, exchanges the code and the verifier at
//!    the provider's token endpoint for an ID token, and posts the ID token, the device id and
//!    the nonce to the Tidbit server (`POST /v1/sign-in`), which checks the token against the
//!    provider's keys and answers with a Tidbit token for this learner and device
//!    ([`SignedIn`]).
//!
//! A [`PendingSignIn`] is plain data (serde), so an app whose process is ended while the browser
//! is open can keep it and finish after a restart. It holds the code verifier: keep it no longer
//! than the sign-in. Nothing here writes to the learner's store; a refused step is a
//! [`SignInError`] and nothing is kept.

use std::time::Duration;

use base64::Engine;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::net;

/// The longest one request to the provider or the server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest answer read from the provider or the server: a discovery document, a token.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("the sign-in settings are unusable: {0}")]
    BadSettings(String),
    #[error("the organisation's sign-in service could not be reached or answered wrongly: {0}; try again later")]
    ProviderUnavailable(String),
    #[error("the sign-in was not completed: {error} {description}")]
    ProviderRefused { error: String, description: String },
    #[error("this redirect does not belong to the sign-in in progress (its state differs): start the sign-in again")]
    StateMismatch,
    #[error("the redirect carries no authorization code: start the sign-in again")]
    NoCode,
    #[error("the sign-in service refused the code ({status}): {message}; start the sign-in again")]
    CodeRefused { status: u16, message: String },
    #[error("the sign-in service answered without an ID token: check that the app asks for the 'openid' scope")]
    NoIdToken,
    #[error("the Tidbit server refused the sign-in ({status}): {message}")]
    ServerRefused { status: u16, message: String },
    #[error("the Tidbit server could not be reached: {0}; try again later")]
    ServerUnavailable(String),
}

/// What the app knows before a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SignInSettings {
    /// The organisation's provider, as its ID tokens name it (such as `https://id.example.org`).
    pub issuer: String,
    /// The app's client id at the provider.
    pub client_id: String,
    /// Where the provider sends the browser back: the app's claimed scheme or link (such as
    /// `org.example.tidbit:/signed-in`).
    pub redirect_uri: String,
    /// The Tidbit server (such as `https://tidbit.example.org`).
    pub server: String,
    /// This device's id (the one it syncs as).
    pub device: String,
}

/// A sign-in in progress: open [`PendingSignIn::authorization_url`] in the system browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub authorization_url: String,
    pub state: String,
    pub nonce: String,
    code_verifier: String,
    token_endpoint: String,
    settings: SignInSettings,
}

/// What the Tidbit server answered: its token for this learner on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SignedIn {
    pub learner: String,
    pub device: String,
    pub token: String,
    pub expires_unix: i64,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

/// Reads the provider's discovery document and starts a sign-in (see the module header).
pub async fn begin_sign_in(settings: &SignInSettings) -> Result<PendingSignIn, SignInError> {
    let issuer = settings.issuer.trim_end_matches('/');
    let url = format!("{issuer}/.well-known/openid-configuration");
    let unavailable =
        |e: &dyn std::fmt::Display| SignInError::ProviderUnavailable(format!("{url}: {e}"));
    let (status, bytes) = call(request(net::Method::Get, &url))
        .await
        .map_err(|e| unavailable(&e))?;
    if !(200..300).contains(&status) {
        return Err(unavailable(&format!("HTTP {status}")));
    }
    let discovery: Discovery = serde_json::from_slice(&bytes).map_err(|e| unavailable(&e))?;
    if discovery.issuer.trim_end_matches('/') != issuer {
        return Err(SignInError::ProviderUnavailable(format!(
            "{url} names the issuer '{}', not '{issuer}'",
            discovery.issuer
        )));
    }
    PendingSignIn::new(
        settings,
        &discovery.authorization_endpoint,
        &discovery.token_endpoint,
    )
}

impl PendingSignIn {
    /// A sign-in at a provider whose endpoints are known (what [`begin_sign_in`] does after
    /// discovery): fresh verifier, state and nonce.
    pub fn new(
        settings: &SignInSettings,
        authorization_endpoint: &str,
        token_endpoint: &str,
    ) -> Result<PendingSignIn, SignInError> {
        for (what, value) in [
            ("client id", &settings.client_id),
            ("redirect URI", &settings.redirect_uri),
            ("device id", &settings.device),
        ] {
            if value.trim().is_empty() {
                return Err(SignInError::BadSettings(format!("the {what} is empty")));
            }
        }
        server_url(&settings.server, "")?;
        let code_verifier = random_text()?;
        let state = random_text()?;
        let nonce = random_text()?;
        let mut url = url::Url::parse(authorization_endpoint).map_err(|e| {
            SignInError::ProviderUnavailable(format!(
                "the authorization endpoint '{authorization_endpoint}' is not a URL: {e}"
            ))
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &settings.client_id)
            .append_pair("redirect_uri", &settings.redirect_uri)
            .append_pair("scope", "openid email")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &code_challenge(&code_verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(PendingSignIn {
            authorization_url: url.into(),
            state,
            nonce,
            code_verifier,
            token_endpoint: token_endpoint.to_string(),
            settings: settings.clone(),
        })
    }

    /// Finishes the sign-in with the URL the provider redirected to (see the module header).
    pub async fn finish(&self, redirect: &str) -> Result<SignedIn, SignInError> {
        let code = self.code_from(redirect)?;
        let id_token = self.exchange_code(&code).await?;
        self.sign_in_to_server(&id_token).await
    }

    /// The authorization code in `redirect`, once its `state` is this sign-in's.
    pub fn code_from(&self, redirect: &str) -> Result<String, SignInError> {
        let url = url::Url::parse(redirect)
            .map_err(|_| SignInError::BadSettings(format!("'{redirect}' is not a URL")))?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        if param("state").as_deref() != Some(self.state.as_str()) {
            return Err(SignInError::StateMismatch);
        }
        if let Some(error) = param("error") {
            return Err(SignInError::ProviderRefused {
                error,
                description: param("error_description").unwrap_or_default(),
            });
        }
        param("code").ok_or(SignInError::NoCode)
    }

    /// Exchanges `code` (with this sign-in's verifier) for the provider's ID token.
    pub async fn exchange_code(&self, code: &str) -> Result<String, SignInError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.settings.redirect_uri),
            ("client_id", &self.settings.client_id),
            ("code_verifier", &self.code_verifier),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let exchange = request(net::Method::Post, &self.token_endpoint)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into_bytes());
        let (status, text) = call(exchange)
            .await
            .map_err(|e| SignInError::ProviderUnavailable(e.to_string()))?;
        let text = String::from_utf8_lossy(&text);
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if status != 200 {
            let message = answer["error_description"]
                .as_str()
                .or(answer["error"].as_str())
                .map_or_else(|| text.chars().take(200).collect(), str::to_string);
            return Err(SignInError::CodeRefused { status, message });
        }
        answer["id_token"]
            .as_str()
            .map(str::to_string)
            .ok_or(SignInError::NoIdToken)
    }

    /// Posts `id_token` to the Tidbit server; its token for this learner and device.
    pub async fn sign_in_to_server(&self, id_token: &str) -> Result<SignedIn, SignInError> {
        let url = server_url(&self.settings.server, "/v1/sign-in")?;
        let body = serde_json::json!({
            "id_token": id_token,
            "device": self.settings.device,
            "nonce": self.nonce,
        });
        let sign_in = request(net::Method::Post, &url)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes());
        let (status, text) = call(sign_in)
            .await
            .map_err(|e| SignInError::ServerUnavailable(e.to_string()))?;
        let text = String::from_utf8_lossy(&text);
        if status != 200 {
            return Err(SignInError::ServerRefused {
                status,
                message: text.trim().chars().take(500).collect(),
            });
        }
        serde_json::from_str(&text).map_err(|e| SignInError::ServerRefused {
            status,
            message: format!("an answer that is not a sign-in: {e}"),
        })
    }
}

fn request(method: net::Method, url: &str) -> net::Request {
    net::Request::new(method, url).timeouts(Duration::from_secs(10), Some(REQUEST_TIMEOUT))
}

/// Sends `request`; the status and the body, read up to [`MAX_ANSWER_BYTES`].
async fn call(request: net::Request) -> Result<(u16, Vec<u8>), String> {
    let mut response = net::send(request).await.map_err(|e| e.to_string())?;
    let body = response
        .read_capped(MAX_ANSWER_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    Ok((response.status(), body))
}

fn server_url(server: &str, path: &str) -> Result<String, SignInError> {
    let base = server.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(SignInError::BadSettings(format!(
            "'{server}' is not a server URL (expected http://host:port or https://host)"
        )));
    }
    Ok(format!("{base}{path}"))
}

/// 32 random bytes, base64url without padding (43 characters): a code verifier, a state or a
/// nonce.
fn random_text() -> Result<String, SignInError> {
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SignInError::BadSettings("the system has no randomness".into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The `S256` challenge of `verifier`: base64url(SHA-256(verifier)), without padding.
pub fn code_challenge(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SignInSettings {
        SignInSettings {
            issuer: "https://id.example.org".into(),
            client_id: "tidbit-app".into(),
            redirect_uri: "org.example.tidbit:/signed-in".into(),
            server: "https://tidbit.example.org".into(),
            device: "ana-phone".into(),
        }
    }

    #[test]
    fn the_s256_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_authorization_url_carries_the_challenge_of_the_verifier_and_fresh_state() {
        let one =
            PendingSignIn::new(&settings(), "https://id.example.org/auth", "https://t").unwrap();
        let two =
            PendingSignIn::new(&settings(), "https://id.example.org/auth", "https://t").unwrap();
        let url = url::Url::parse(&one.authorization_url).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        assert_eq!(param("response_type"), "code");
        assert_eq!(param("client_id"), "tidbit-app");
        assert_eq!(param("redirect_uri"), "org.example.tidbit:/signed-in");
        assert_eq!(param("code_challenge_method"), "S256");
        assert_eq!(param("code_challenge"), code_challenge(&one.code_verifier));
        assert_eq!(param("state"), one.state);
        assert_eq!(param("nonce"), one.nonce);
        assert_eq!(one.code_verifier.len(), 43);
        assert_ne!(one.state, two.state);
        assert_ne!(one.code_verifier, two.code_verifier);
    }

    #[test]
    fn a_redirect_of_another_sign_in_or_with_an_error_gives_no_code() {
        let pending =
            PendingSignIn::new(&settings(), "https://id.example.org/auth", "https://t").unwrap();
        let redirect = |query: &str| format!("org.example.tidbit:/signed-in?{query}");
        assert_eq!(
            pending.code_from(&redirect(&format!("code=c-1&state={}", pending.state))),
            Ok("c-1".to_string())
        );
        assert_eq!(
            pending.code_from(&redirect("code=c-1&state=someone-elses")),
            Err(SignInError::StateMismatch)
        );
        assert_eq!(
            pending.code_from(&redirect(&format!(
                "error=access_denied&error_description=no&state={}",
                pending.state
            ))),
            Err(SignInError::ProviderRefused {
                error: "access_denied".into(),
                description: "no".into()
            })
        );
        assert_eq!(
            pending.code_from(&redirect(&format!("state={}", pending.state))),
            Err(SignInError::NoCode)
        );
    }

    #[test]
    fn settings_without_a_device_or_with_a_bad_server_are_refused() {
        let mut bad = settings();
        bad.device = " ".into();
        assert!(matches!(
            PendingSignIn::new(&bad, "https://id.example.org/auth", "https://t"),
            Err(SignInError::BadSettings(_))
        ));
        let mut bad = settings();
        bad.server = "tidbit.example.org".into();
        assert!(matches!(
            PendingSignIn::new(&bad, "https://id.example.org/auth", "https://t"),
            Err(SignInError::BadSettings(_))
        ));
    }
}
