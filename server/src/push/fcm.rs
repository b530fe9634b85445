//! FCM HTTP v1: Android devices, with a service account.
//!
//! The service account's JSON key (`client_email`, `private_key` as a PKCS#8 PEM RSA key,
//! `token_uri`, `project_id`) is read once at start; a malformed one is refused then. To send,
//! the sender holds an OAuth 2.0 access token from the JWT-bearer grant (RFC 7523): an RS256 JWT
//! with `iss` = the client email, `scope` = Firebase messaging, `aud` = the token URI, `iat`
//! and `exp` = `iat` + 3600, posted form-encoded to the token URI. The access token is reused
//! until five minutes before it expires, and dropped when FCM answers 401.
//!
//! Each push is `POST {endpoint}/v1/projects/{project_id}/messages:send` with a data-only
//! message at high priority, which wakes the app to sync:
//! `{"message": {"token", "data": {"kind": "sync", "intervention"?, "deadline_ms"?}, "android":
//! {"priority": "high"}}}`. FCM's `UNREGISTERED` (404) and `INVALID_ARGUMENT` (400, which for
//! this fixed message means the token) mark the token dead; 429 and 5xx are retried with
//! backoff ([`super::Retry`]); any other answer fails the push with FCM's reason.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use ring::signature::RsaKeyPair;
use serde::Deserialize;
use serde_json::json;

use super::{jwt, Delivery, PushConfigError, PushMessage, Retry};

/// FCM's production endpoint.
pub const FCM_ENDPOINT: &str = "https://fcm.googleapis.com";
/// The OAuth 2.0 scope that allows sending FCM messages.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The JWT-bearer grant type (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long before its expiry an access token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
struct ServiceAccountFile {
    client_email: Option<String>,
    private_key: Option<String>,
    token_uri: Option<String>,
    project_id: Option<String>,
}

struct AccessToken {
    value: String,
    replace_at: Instant,
}

/// Sends FCM HTTP v1 messages with one service account.
pub struct FcmSender {
    client_email: String,
    token_uri: String,
    project_id: String,
    key: RsaKeyPair,
    endpoint: String,
    client: reqwest::Client,
    access: tokio::sync::Mutex<Option<AccessToken>>,
    retry: Retry,
}

impl std::fmt::Debug for FcmSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmSender")
            .field("client_email", &self.client_email)
            .field("project_id", &self.project_id)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl FcmSender {
    /// The sender for the service account key in `path`, sending to `endpoint` (FCM's own when
    /// `None`).
    pub fn from_file(path: &Path, endpoint: Option<&str>) -> Result<FcmSender, PushConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| PushConfigError::Unreadable {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        FcmSender::from_json(&text, endpoint)
    }

    /// The sender for a service account key given as its JSON text.
    pub fn from_json(json: &str, endpoint: Option<&str>) -> Result<FcmSender, PushConfigError> {
        let bad = PushConfigError::ServiceAccount;
        let file: ServiceAccountFile = serde_json::from_str(json)
            .map_err(|e| bad(format!("not JSON of a service account key: {e}")))?;
        let field = |value: Option<String>, name: &str| {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| bad(format!("'{name}' is missing")))
        };
        let client_email = field(file.client_email, "client_email")?;
        let private_key = field(file.private_key, "private_key")?;
        let token_uri = field(file.token_uri, "token_uri")?;
        let project_id = field(file.project_id, "project_id")?;
        if !project_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err(bad(format!(
                "'project_id' {project_id:?} is not a project id"
            )));
        }
        http_url(&token_uri).map_err(|why| bad(format!("'token_uri' {why}")))?;
        let der = jwt::pkcs8_from_pem(&private_key)
            .map_err(|why| bad(format!("'private_key': {why}")))?;
        let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            bad(format!(
                "'private_key' is not a PKCS#8 RSA key ring accepts ({e})"
            ))
        })?;
        let endpoint = endpoint
            .unwrap_or(FCM_ENDPOINT)
            .trim_end_matches('/')
            .to_string();
        http_url(&endpoint)
            .map_err(|why| PushConfigError::Setting(format!("--fcm-endpoint {why}")))?;
        Ok(FcmSender {
            client_email,
            token_uri,
            project_id,
            key,
            endpoint,
            client: http2_client()?,
            access: tokio::sync::Mutex::new(None),
            retry: Retry::default(),
        })
    }

    /// Retries as `retry` says instead of the default.
    pub fn with_retry(mut self, retry: Retry) -> FcmSender {
        self.retry = retry;
        self
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The signed assertion of the JWT-bearer grant, issued at `iat` (seconds).
    pub fn assertion(&self, iat: i64) -> Result<String, String> {
        jwt::sign_rs256(
            &self.key,
            &json!({"alg": "RS256", "typ": "JWT"}),
            &json!({
                "iss": self.client_email,
                "scope": FCM_SCOPE,
                "aud": self.token_uri,
                "iat": iat,
                "exp": iat + 3600,
            }),
        )
    }

    /// An access token: the cached one, or a new one from the token URI.
    async fn access_token(&self) -> Result<String, String> {
        let mut cached = self.access.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.replace_at) {
            return Ok(token.value.clone());
        }
        let assertion = self.assertion(unix_now())?;
        let response = self
            .client
            .post(&self.token_uri)
            .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| format!("the token endpoint could not be reached: {e}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "the token endpoint refused the service account ({status}): {}",
                body.chars().take(300).collect::<String>()
            ));
        }
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: Option<u64>,
        }
        let granted: Granted = serde_json::from_str(&body)
            .map_err(|e| format!("the token endpoint answered no access token: {e}"))?;
        let lifetime = Duration::from_secs(granted.expires_in.unwrap_or(3600));
        *cached = Some(AccessToken {
            value: granted.access_token.clone(),
            replace_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN),
        });
        Ok(granted.access_token)
    }

    /// The JSON body of the message for `token`.
    pub fn body(token: &str, message: &PushMessage) -> serde_json::Value {
        let mut data = serde_json::Map::new();
        data.insert("kind".into(), "sync".into());
        if let Some(intervention) = &message.intervention {
            data.insert("intervention".into(), intervention.clone().into());
        }
        if let Some(deadline) = message.deadline_ms {
            data.insert("deadline_ms".into(), deadline.to_string().into());
        }
        json!({
            "message": {
                "token": token,
                "data": data,
                "android": {"priority": "high"},
            }
        })
    }

    /// Sends one message to `token`, retrying what is worth retrying.
    pub async fn send_to(&self, token: &str, message: &PushMessage) -> Delivery {
        if let Err(why) = tidbit_core::events::check_push_token("fcm", token) {
            return Delivery::Failed(format!("not sent: {why}"));
        }
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.endpoint, self.project_id
        );
        let body = FcmSender::body(token, message).to_string();
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            let access = match self.access_token().await {
                Ok(access) => access,
                Err(why) => return Delivery::Failed(why),
            };
            let response = match self
                .client
                .post(&url)
                .bearer_auth(&access)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
            {
                Ok(response) => response,
                Err(e) => {
                    last = format!("FCM could not be reached: {e}");
                    if attempt < self.retry.attempts {
                        tokio::time::sleep(self.retry.backoff(attempt + 1, None)).await;
                    }
                    continue;
                }
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .cloned();
            let text = response.text().await.unwrap_or_default();
            if status.is_success() {
                return Delivery::Delivered;
            }
            let (error_code, reason) = fcm_error(&text);
            match status {
                // A 404 without UNREGISTERED (a wrong project) says nothing about the token.
                _ if error_code == "UNREGISTERED" => return Delivery::Unregistered(reason),
                StatusCode::BAD_REQUEST if error_code == "INVALID_ARGUMENT" => {
                    return Delivery::Unregistered(reason)
                }
                StatusCode::UNAUTHORIZED => {
                    // The access token expired or was revoked early: a new one next attempt.
                    *self.access.lock().await = None;
                    last = reason;
                }
                StatusCode::TOO_MANY_REQUESTS => last = reason,
                s if s.is_server_error() => last = reason,
                _ => return Delivery::Failed(reason),
            }
            if attempt < self.retry.attempts {
                tokio::time::sleep(self.retry.backoff(attempt + 1, retry_after.as_ref())).await;
            }
        }
        Delivery::Failed(last)
    }
}

/// FCM's error code (`UNREGISTERED`, `INVALID_ARGUMENT`, `QUOTA_EXCEEDED`...) and a reason
/// naming it, from an error answer.
fn fcm_error(body: &str) -> (String, String) {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let error = &value["error"];
    let code = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| d["errorCode"].as_str())
        .or_else(|| error["status"].as_str())
        .unwrap_or("UNKNOWN")
        .to_string();
    let message = error["message"]
        .as_str()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect::<String>();
    let reason = if message.is_empty() {
        code.clone()
    } else {
        format!("{code}: {message}")
    };
    (code, reason)
}

/// Seconds since the Unix epoch.
pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Refuses anything but an absolute http(s) URL.
pub(super) fn http_url(text: &str) -> Result<(), String> {
    match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(()),
        Ok(_) => Err(format!("{text:?} is not an http(s) address")),
        Err(e) => Err(format!("{text:?} is not an address: {e}")),
    }
}

/// The HTTP/2 client both vendors are reached with (over TLS they agree on h2 by ALPN; a local
/// test vendor speaks h2c).
pub(super) fn http2_client() -> Result<reqwest::Client, PushConfigError> {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| PushConfigError::Setting(format!("no HTTP client for push: {e}")))
}
