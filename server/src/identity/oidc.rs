//! Checking an ID token from the organisation's OpenID Connect provider.
//!
//! The provider is named by its issuer URL (`tidbit serve --oidc-issuer`). Its discovery
//! document (`<issuer>/.well-known/openid-configuration`) must name the same issuer; its
//! `jwks_uri` gives the keys ID tokens are signed with. Both are fetched on the first sign-in
//! and kept; the keys are fetched again when a token names a key id they lack (the provider
//! rotated its keys), at most once per [`REFETCH_AFTER`], so tokens naming made-up key ids
//! cannot make the server hammer the provider.
//!
//! An ID token is accepted when, in this order: it is a JWT signed with an asymmetric algorithm
//! (never `none` or an HMAC); its `iss` is the configured issuer; it is signed by a key the
//! provider publishes (signature verified by `jsonwebtoken`); its `aud` holds the configured
//! client id (and, with several audiences, `azp` is that client id); `exp` has not passed and
//! `iat` is not in the future, both with [`LEEWAY_SECONDS`] of leeway, on the server's clock; its
//! `nonce` is the one the device sent, when the device sent one; and the learner claim
//! (`email` by default; with `email`, `email_verified` must not be false) is a valid learner id.
//! Each failure is its own [`IdTokenError`]; nothing is stored for a refused token. The checks
//! never trust a claim before the signature is verified, except `iss`, read first only to say
//! "wrong issuer" rather than "unknown key" about a token from another provider.

use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Leeway for `exp` and `iat` against the server's clock.
pub const LEEWAY_SECONDS: i64 = 60;
/// The shortest time between two fetches of the provider's keys.
pub const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// The longest a request to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// How the server trusts the organisation's provider.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer URL, exactly as the provider's ID tokens name it.
    pub issuer: String,
    /// The client id of the Tidbit app at the provider: the audience ID tokens must carry.
    pub client_id: String,
    /// The claim that holds the learner id (`email` by default).
    pub learner_claim: String,
    /// How long a token issued at sign-in stays valid.
    pub token_lifetime: Duration,
}

impl OidcSettings {
    pub fn new(issuer: &str, client_id: &str) -> OidcSettings {
        OidcSettings {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            learner_claim: "email".into(),
            token_lifetime: Duration::from_secs(30 * 86_400),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is not a signed JWT")]
    Malformed,
    #[error("the ID token is signed with {0}, which this server does not accept (RS*, PS*, ES256, ES384 or EdDSA only)")]
    UnsupportedAlgorithm(String),
    #[error(
        "the ID token was issued by '{found}', not by the organisation's provider '{expected}'"
    )]
    WrongIssuer { found: String, expected: String },
    #[error("the ID token is signed with a key the provider does not publish (key id '{0}')")]
    UnknownKey(String),
    #[error("the ID token's signature does not verify against the provider's key")]
    BadSignature,
    #[error(
        "the ID token is for another application (audience {found}), not for client '{expected}'"
    )]
    WrongAudience { found: String, expected: String },
    #[error("the ID token expired at {expired_unix} (server time {now_unix}): sign in again")]
    Expired { expired_unix: i64, now_unix: i64 },
    #[error("the ID token claims to be issued at {issued_unix}, after the server's time {now_unix}: check the clocks")]
    IssuedInFuture { issued_unix: i64, now_unix: i64 },
    #[error(
        "the ID token's nonce is not the one this sign-in started with: start the sign-in again"
    )]
    NonceMismatch,
    #[error("the ID token has no '{0}' claim")]
    MissingClaim(String),
    #[error("the provider says the email address in the ID token is not verified")]
    EmailNotVerified,
    #[error("the ID token's '{claim}' claim is not a valid learner id (letters, digits, '-', '_', '.', '@'; at most 128)")]
    BadLearnerId { claim: String },
    #[error("the organisation's provider could not be asked: {0}; try again later")]
    ProviderUnavailable(String),
}

impl IdTokenError {
    /// The HTTP status a sign-in refused for this reason answers.
    pub fn status(&self) -> u16 {
        match self {
            IdTokenError::ProviderUnavailable(_) => 503,
            IdTokenError::Malformed => 400,
            _ => 401,
        }
    }
}

/// What a valid ID token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub learner: String,
    pub subject: String,
}

/// The organisation's provider: its settings and its cached keys.
pub struct Provider {
    pub settings: OidcSettings,
    http: reqwest::Client,
    keys: tokio::sync::Mutex<Option<CachedKeys>>,
}

struct CachedKeys {
    jwks_uri: String,
    keys: JwkSet,
    fetched: Instant,
}

/// The discovery document's fields the server reads.
#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl Provider {
    pub fn new(settings: OidcSettings) -> Result<Provider, IdTokenError> {
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IdTokenError::ProviderUnavailable(e.to_string()))?;
        Ok(Provider {
            settings,
            http,
            keys: tokio::sync::Mutex::new(None),
        })
    }

    /// Checks `id_token` (see the module header) at the server's time `now_unix`.
    pub async fn verify(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        now_unix: i64,
    ) -> Result<VerifiedIdentity, IdTokenError> {
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| IdTokenError::Malformed)?;
        let algorithm = accepted_algorithm(header.alg)?;
        let issuer = unverified_claims(id_token)?
            .get("iss")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| IdTokenError::MissingClaim("iss".into()))?;
        if issuer != self.settings.issuer {
            return Err(IdTokenError::WrongIssuer {
                found: issuer.chars().take(200).collect(),
                expected: self.settings.issuer.clone(),
            });
        }
        let key = self.key_for(header.kid.as_deref(), algorithm).await?;
        let mut validation = Validation::new(algorithm);
        // The claims are checked below on the server's clock, with their own errors.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenError::BadSignature,
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    IdTokenError::UnsupportedAlgorithm(format!("{algorithm:?}"))
                }
                _ => IdTokenError::Malformed,
            })?
            .claims;
        self.check_claims(&claims, nonce, now_unix)
    }

    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        nonce: Option<&str>,
        now_unix: i64,
    ) -> Result<VerifiedIdentity, IdTokenError> {
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let number = |name: &str| claims.get(name).and_then(Value::as_i64);
        let missing = |name: &str| IdTokenError::MissingClaim(name.into());
        if text("iss") != Some(self.settings.issuer.as_str()) {
            return Err(IdTokenError::WrongIssuer {
                found: text("iss").unwrap_or_default().chars().take(200).collect(),
                expected: self.settings.issuer.clone(),
            });
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => return Err(missing("aud")),
        };
        let client = self.settings.client_id.as_str();
        let for_us = audiences.contains(&client)
            && (audiences.len() == 1 || text("azp").is_none_or(|azp| azp == client));
        if !for_us {
            return Err(IdTokenError::WrongAudience {
                found: audiences.join(", ").chars().take(200).collect(),
                expected: client.to_string(),
            });
        }
        let expires = number("exp").ok_or_else(|| missing("exp"))?;
        if expires + LEEWAY_SECONDS <= now_unix {
            return Err(IdTokenError::Expired {
                expired_unix: expires,
                now_unix,
            });
        }
        let issued = number("iat").ok_or_else(|| missing("iat"))?;
        if issued - LEEWAY_SECONDS > now_unix {
            return Err(IdTokenError::IssuedInFuture {
                issued_unix: issued,
                now_unix,
            });
        }
        if let Some(expected) = nonce {
            if text("nonce") != Some(expected) {
                return Err(IdTokenError::NonceMismatch);
            }
        }
        let subject = text("sub").ok_or_else(|| missing("sub"))?;
        let claim = self.settings.learner_claim.as_str();
        let learner = text(claim).ok_or_else(|| missing(claim))?;
        if claim == "email" && claims.get("email_verified") == Some(&Value::Bool(false)) {
            return Err(IdTokenError::EmailNotVerified);
        }
        if !crate::auth::valid_id(learner) {
            return Err(IdTokenError::BadLearnerId {
                claim: claim.into(),
            });
        }
        Ok(VerifiedIdentity {
            learner: learner.into(),
            subject: subject.into(),
        })
    }

    /// The provider's key `kid` (or its only key for `algorithm` when the token names none),
    /// fetching the keys first if they are not held or lack it.
    async fn key_for(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<DecodingKey, IdTokenError> {
        let mut cached = self.keys.lock().await;
        let stale = match (&*cached, kid) {
            (None, _) => true,
            (Some(held), Some(kid)) => {
                held.keys.find(kid).is_none() && held.fetched.elapsed() >= REFETCH_AFTER
            }
            (Some(_), None) => false,
        };
        if stale {
            let jwks_uri = match &*cached {
                Some(held) => held.jwks_uri.clone(),
                None => self.discover().await?,
            };
            let keys = self.fetch_keys(&jwks_uri).await?;
            *cached = Some(CachedKeys {
                jwks_uri,
                keys,
                fetched: Instant::now(),
            });
        }
        let held = cached
            .as_ref()
            .ok_or_else(|| IdTokenError::ProviderUnavailable("no keys".into()))?;
        let jwk = match kid {
            Some(kid) => held.keys.find(kid),
            None => {
                let mut usable = held.keys.keys.iter().filter(|jwk| {
                    jwk.common
                        .key_algorithm
                        .is_none_or(|alg| format!("{alg:?}") == format!("{algorithm:?}"))
                });
                match (usable.next(), usable.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
        .ok_or_else(|| {
            IdTokenError::UnknownKey(kid.unwrap_or("none").chars().take(64).collect())
        })?;
        if let Some(alg) = jwk.common.key_algorithm {
            if format!("{alg:?}") != format!("{algorithm:?}") {
                return Err(IdTokenError::UnsupportedAlgorithm(format!("{algorithm:?}")));
            }
        }
        DecodingKey::from_jwk(jwk)
            .map_err(|_| IdTokenError::UnknownKey(kid.unwrap_or("none").into()))
    }

    /// Reads the discovery document; its `jwks_uri`.
    async fn discover(&self) -> Result<String, IdTokenError> {
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let discovery: Discovery = self.get_json(&url).await?;
        if discovery.issuer.trim_end_matches('/') != self.settings.issuer {
            return Err(IdTokenError::ProviderUnavailable(format!(
                "its discovery document names the issuer '{}', not '{}': check --oidc-issuer",
                discovery.issuer.chars().take(200).collect::<String>(),
                self.settings.issuer
            )));
        }
        Ok(discovery.jwks_uri)
    }

    async fn fetch_keys(&self, jwks_uri: &str) -> Result<JwkSet, IdTokenError> {
        self.get_json(jwks_uri).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, IdTokenError> {
        let unavailable = |e: String| IdTokenError::ProviderUnavailable(format!("{url}: {e}"));
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status())));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| unavailable(e.to_string()))
    }
}

fn accepted_algorithm(algorithm: Algorithm) -> Result<Algorithm, IdTokenError> {
    use Algorithm::*;
    match algorithm {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA => Ok(algorithm),
        HS256 | HS384 | HS512 => Err(IdTokenError::UnsupportedAlgorithm(format!("{algorithm:?}"))),
    }
}

/// The token's claims, not yet verified: read only to name a wrong issuer.
fn unverified_claims(token: &str) -> Result<Map<String, Value>, IdTokenError> {
    let payload = token.split('.').nth(1).ok_or(IdTokenError::Malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| IdTokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| IdTokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider() -> Provider {
        Provider::new(OidcSettings::new("https://id.example.org/", "tidbit-app")).unwrap()
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn good() -> Value {
        json!({
            "iss": "https://id.example.org", "aud": "tidbit-app", "sub": "u-1",
            "email": "ana@example.org", "email_verified": true,
            "iat": 1_000, "exp": 4_600, "nonce": "n-1"
        })
    }

    fn with(field: &str, value: Value) -> Map<String, Value> {
        let mut claims = claims(good());
        claims.insert(field.into(), value);
        claims
    }

    #[test]
    fn a_token_for_this_client_within_its_lifetime_names_its_learner() {
        let identity = provider()
            .check_claims(&claims(good()), Some("n-1"), 2_000)
            .unwrap();
        assert_eq!(identity.learner, "ana@example.org");
        assert_eq!(identity.subject, "u-1");
    }

    #[test]
    fn each_wrong_claim_is_refused_with_its_own_reason() {
        let p = provider();
        let check = |claims: Map<String, Value>, now| p.check_claims(&claims, Some("n-1"), now);
        assert!(matches!(
            check(with("aud", json!("other-app")), 2_000),
            Err(IdTokenError::WrongAudience { .. })
        ));
        assert!(check(with("aud", json!(["tidbit-app", "other-app"])), 2_000).is_ok());
        let mut other_azp = with("aud", json!(["tidbit-app", "other-app"]));
        other_azp.insert("azp".into(), json!("other-app"));
        assert!(matches!(
            check(other_azp, 2_000),
            Err(IdTokenError::WrongAudience { .. })
        ));
        assert!(matches!(
            check(with("iss", json!("https://evil.example")), 2_000),
            Err(IdTokenError::WrongIssuer { .. })
        ));
        // Expired: 60 s of leeway, no more.
        assert!(check(claims(good()), 4_600 + LEEWAY_SECONDS - 1).is_ok());
        assert_eq!(
            check(claims(good()), 4_600 + LEEWAY_SECONDS),
            Err(IdTokenError::Expired {
                expired_unix: 4_600,
                now_unix: 4_660
            })
        );
        assert!(matches!(
            check(claims(good()), 1_000 - LEEWAY_SECONDS - 1),
            Err(IdTokenError::IssuedInFuture { .. })
        ));
        assert_eq!(
            check(with("nonce", json!("n-2")), 2_000),
            Err(IdTokenError::NonceMismatch)
        );
        assert_eq!(
            check(with("email_verified", json!(false)), 2_000),
            Err(IdTokenError::EmailNotVerified)
        );
        assert!(matches!(
            check(with("email", json!("ana smith@example.org")), 2_000),
            Err(IdTokenError::BadLearnerId { .. })
        ));
        let mut no_email = claims(good());
        no_email.remove("email");
        assert_eq!(
            check(no_email, 2_000),
            Err(IdTokenError::MissingClaim("email".into()))
        );
    }

    #[test]
    fn hmac_and_unsigned_tokens_are_refused_before_any_key_is_looked_up() {
        assert!(matches!(
            accepted_algorithm(Algorithm::HS256),
            Err(IdTokenError::UnsupportedAlgorithm(_))
        ));
        let none = format!(
            "{}.{}.",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(good().to_string())
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let refused = runtime.block_on(provider().verify(&none, None, 2_000));
        assert_eq!(refused, Err(IdTokenError::Malformed));
    }
}
