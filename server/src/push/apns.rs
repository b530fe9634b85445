//! APNs: iOS devices, over HTTP/2 with token-based provider authentication.
//!
//! The `.p8` signing key (a PKCS#8 PEM EC P-256 key), its key id, the team id and the app's
//! bundle id (the topic) are read once at start; a malformed key is refused then. The provider
//! token is an ES256 JWT (header `alg`, `kid` = the key id; claims `iss` = the team id, `iat`),
//! reused for up to 50 minutes (APNs refuses one older than an hour and one renewed more often
//! than every 20 minutes) and renewed early when APNs answers `ExpiredProviderToken`.
//!
//! Each push is `POST {endpoint}/3/device/{token}` with `authorization: bearer <jwt>`,
//! `apns-topic`, `apns-push-type: background`, `apns-priority: 5` (background pushes must use
//! 5), `apns-expiration` (the intervention's deadline, else a day), and the body
//! `{"aps": {"content-available": 1}, "intervention"?, "deadline_ms"?}`: a silent push that lets
//! the app sync. 410 and 400 `BadDeviceToken` mark the token dead; 429 and 5xx are retried with
//! backoff ([`super::Retry`]); any other answer fails the push with APNs' reason.

use std::path::Path;

use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

use super::fcm::{http2_client, http_url, unix_now};
use super::{jwt, Delivery, PushConfigError, PushMessage, Retry};

/// APNs' production endpoint (`https://api.sandbox.push.apple.com` for development builds).
pub const APNS_ENDPOINT: &str = "https://api.push.apple.com";
/// How long a provider token is reused (APNs refuses those older than 60 minutes).
pub const PROVIDER_TOKEN_REUSE_SECONDS: i64 = 50 * 60;
/// How long a wake-up without a deadline stays worth delivering.
const WAKE_EXPIRATION_SECONDS: i64 = 24 * 3600;

/// What identifies the sender to APNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsSettings {
    /// The 10-character id of the `.p8` key.
    pub key_id: String,
    /// The 10-character id of the developer team.
    pub team_id: String,
    /// The app's bundle id.
    pub topic: String,
    /// APNs' own when `None`.
    pub endpoint: Option<String>,
}

/// Sends APNs background pushes with one signing key.
pub struct ApnsSender {
    key: EcdsaKeyPair,
    key_id: String,
    team_id: String,
    topic: String,
    endpoint: String,
    client: reqwest::Client,
    /// The provider token and when it was issued (seconds).
    provider_token: tokio::sync::Mutex<Option<(String, i64)>>,
    retry: Retry,
}

impl std::fmt::Debug for ApnsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsSender")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl ApnsSender {
    /// The sender for the `.p8` key in `path`.
    pub fn from_file(path: &Path, settings: ApnsSettings) -> Result<ApnsSender, PushConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| PushConfigError::Unreadable {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        ApnsSender::from_pem(&text, settings)
    }

    /// The sender for a `.p8` key given as its PEM text.
    pub fn from_pem(pem: &str, settings: ApnsSettings) -> Result<ApnsSender, PushConfigError> {
        let der = jwt::pkcs8_from_pem(pem).map_err(PushConfigError::ApnsKey)?;
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
                .map_err(|e| {
                    PushConfigError::ApnsKey(format!(
                        "not a PKCS#8 EC P-256 key ring accepts ({e})"
                    ))
                })?;
        let id = |value: &str, what: &str| {
            if value.is_empty()
                || value.len() > 32
                || !value.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                Err(PushConfigError::Setting(format!(
                    "--apns-{what} {value:?} is not an id (letters and digits, such as ABC123DEFG)"
                )))
            } else {
                Ok(value.to_string())
            }
        };
        let key_id = id(&settings.key_id, "key-id")?;
        let team_id = id(&settings.team_id, "team-id")?;
        let topic = settings.topic;
        if topic.is_empty()
            || topic.len() > 255
            || !topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        {
            return Err(PushConfigError::Setting(format!(
                "--apns-topic {topic:?} is not a bundle id (such as org.example.tidbit)"
            )));
        }
        let endpoint = settings
            .endpoint
            .as_deref()
            .unwrap_or(APNS_ENDPOINT)
            .trim_end_matches('/')
            .to_string();
        http_url(&endpoint)
            .map_err(|why| PushConfigError::Setting(format!("--apns-endpoint {why}")))?;
        Ok(ApnsSender {
            key,
            key_id,
            team_id,
            topic,
            endpoint,
            client: http2_client()?,
            provider_token: tokio::sync::Mutex::new(None),
            retry: Retry::default(),
        })
    }

    /// Retries as `retry` says instead of the default.
    pub fn with_retry(mut self, retry: Retry) -> ApnsSender {
        self.retry = retry;
        self
    }

    /// A provider token issued at `iat` (seconds).
    pub fn provider_token_at(&self, iat: i64) -> Result<String, String> {
        jwt::sign_es256(
            &self.key,
            &json!({"alg": "ES256", "kid": self.key_id}),
            &json!({"iss": self.team_id, "iat": iat}),
        )
    }

    /// The cached provider token while it is younger than 50 minutes, else a new one.
    async fn provider_token(&self, renew: bool) -> Result<String, String> {
        let mut cached = self.provider_token.lock().await;
        let now = unix_now();
        if let Some((token, issued)) = cached.as_ref() {
            if !renew && now - issued < PROVIDER_TOKEN_REUSE_SECONDS && now >= *issued {
                return Ok(token.clone());
            }
        }
        let token = self.provider_token_at(now)?;
        *cached = Some((token.clone(), now));
        Ok(token)
    }

    /// The JSON body of a background push.
    pub fn body(message: &PushMessage) -> serde_json::Value {
        let mut body = json!({"aps": {"content-available": 1}});
        if let Some(intervention) = &message.intervention {
            body["intervention"] = intervention.clone().into();
        }
        if let Some(deadline) = message.deadline_ms {
            body["deadline_ms"] = deadline.into();
        }
        body
    }

    /// Sends one background push to `token`, retrying what is worth retrying.
    pub async fn send_to(&self, token: &str, message: &PushMessage) -> Delivery {
        if let Err(why) = tidbit_core::events::check_push_token("apns", token) {
            return Delivery::Failed(format!("not sent: {why}"));
        }
        let url = format!("{}/3/device/{token}", self.endpoint);
        let body = ApnsSender::body(message).to_string();
        let expiration = message
            .deadline_ms
            .map(|ms| ms.div_euclid(1000))
            .unwrap_or_else(|| unix_now() + WAKE_EXPIRATION_SECONDS);
        let mut renew = false;
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            let provider = match self.provider_token(renew).await {
                Ok(provider) => provider,
                Err(why) => return Delivery::Failed(why),
            };
            renew = false;
            let sent = self
                .client
                .post(&url)
                .header("authorization", format!("bearer {provider}"))
                .header("apns-topic", &self.topic)
                .header("apns-push-type", "background")
                .header("apns-priority", "5")
                .header("apns-expiration", expiration.to_string())
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    last = format!("APNs could not be reached: {e}");
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
            let reason = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["reason"].as_str().map(str::to_string))
                .unwrap_or_else(|| status.to_string());
            match (status, reason.as_str()) {
                (StatusCode::GONE, _) | (StatusCode::BAD_REQUEST, "BadDeviceToken") => {
                    return Delivery::Unregistered(reason)
                }
                (StatusCode::FORBIDDEN, "ExpiredProviderToken") => renew = true,
                (StatusCode::TOO_MANY_REQUESTS, _) => {}
                (s, _) if s.is_server_error() => {}
                _ => return Delivery::Failed(reason),
            }
            last = reason;
            if attempt < self.retry.attempts {
                tokio::time::sleep(self.retry.backoff(attempt + 1, retry_after.as_ref())).await;
            }
        }
        Delivery::Failed(last)
    }
}
