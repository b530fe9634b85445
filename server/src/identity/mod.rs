//! Identity: sign-in through the organisation's OpenID provider, enrolled devices, revocation,
//! roles of admin tokens and the audit log of admin actions.
//!
//! - `POST /v1/sign-in` with `{"id_token", "device", "nonce"}`: the ID token the device got
//!   from the organisation's provider (authorization code with PKCE, see
//!   `tidbit_core::identity`) is checked ([`oidc`]); the learner id is its learner claim; the
//!   device is enrolled (`devices`) and gets a Tidbit token for that learner and device,
//!   `{"learner", "device", "token", "expires_unix"}`. Without `--oidc-issuer` the route answers
//!   404.
//! - `GET /v1/learners/{learner}/devices` (the learner's token): their devices, and
//!   `POST /v1/learners/{learner}/devices/{device}/revoke` and `POST /v1/learners/{learner}/revoke`
//!   (sign out one device, or everywhere). The same under `/v1/admin/learners/{learner}/...` with
//!   an admin token, plus `GET /v1/admin/devices` (every learner's) and `GET /v1/admin/audit`.
//!
//! Revocation stores a time, never a token list: tokens carry their issue time
//! ([`crate::auth`]), and a token issued at or before its device's or its learner's revocation
//! time is refused with `401` and the reason. [`gate`] reads the revocation times from storage
//! on every request that carries a valid token, so a revocation takes effect at the next
//! request, in every server process on the database. A device signs in again to get a new token.
//!
//! [`gate`] also checks an admin token's role against [`roles::ENDPOINTS`] before any admin
//! handler runs, and records every admin request it lets through or refuses for its role (actor,
//! role, action, learner, status) in the audit log ([`crate::storage::AuditEntry`]).

pub mod oidc;
pub mod roles;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::auth::{Claims, TokenError, ADMIN_DEVICE};
use crate::storage::{AuditEntry, DeviceRecord, StorageError};
use crate::{refuse, Hub, ServerError};

/// The largest sign-in request accepted.
const MAX_SIGN_IN_BYTES: usize = 64 * 1024;
/// The most devices or audit entries one listing returns.
const MAX_LISTING: u32 = 1000;

impl Hub {
    /// Lets devices sign in through the organisation's OpenID provider ([`oidc`]).
    pub fn with_oidc(mut self, settings: oidc::OidcSettings) -> Result<Hub, ServerError> {
        let provider =
            oidc::Provider::new(settings).map_err(|e| ServerError::Identity(e.to_string()))?;
        self.oidc = Some(Arc::new(provider));
        Ok(self)
    }
}

/// The routes of this module, merged into [`crate::router`].
pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/v1/sign-in", post(sign_in))
        .route("/v1/learners/{learner}/devices", get(learner_devices))
        .route(
            "/v1/learners/{learner}/devices/{device}/revoke",
            post(learner_revoke_device),
        )
        .route("/v1/learners/{learner}/revoke", post(learner_revoke_all))
        .route("/v1/admin/devices", get(admin_all_devices))
        .route("/v1/admin/learners/{learner}/devices", get(admin_devices))
        .route(
            "/v1/admin/learners/{learner}/devices/{device}/revoke",
            post(admin_revoke_device),
        )
        .route(
            "/v1/admin/learners/{learner}/revoke",
            post(admin_revoke_all),
        )
        .route("/v1/admin/audit", get(admin_audit))
}

/// Before every handler: refuses a revoked token (`401`), checks an admin token's role (`403`)
/// and records every admin request in the audit log. A request without a valid token goes on
/// to its handler, which refuses it as before.
pub async fn gate(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
    else {
        return next.run(request).await;
    };
    let Ok(claims) = crate::authenticate(&hub, request.headers()) else {
        return next.run(request).await;
    };
    match revoked(&hub, &claims).await {
        Ok(None) => {}
        Ok(Some(reason)) => return refuse(StatusCode::UNAUTHORIZED, reason.to_string()),
        Err(response) => return response,
    }
    let Some(role) = claims.role.filter(|_| route.starts_with("/v1/admin/")) else {
        return next.run(request).await;
    };
    let method = request.method().clone();
    let ids = path_ids(&route, request.uri().path());
    let allowed = roles::allowed(method.as_str(), &route);
    let response = if allowed.contains(&role) {
        next.run(request).await
    } else {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        refuse(
            StatusCode::FORBIDDEN,
            format!(
                "the {role} role may not call {method} {route} (it is for: {})",
                names.join(", ")
            ),
        )
    };
    let entry = AuditEntry {
        at_ms: hub.now_ms(),
        actor: claims.learner.clone(),
        role: role.to_string(),
        action: format!("{method} {route}"),
        learner: ids
            .iter()
            .find(|(name, _)| name == "learner")
            .map(|(_, id)| id.clone()),
        target: Some(
            ids.iter()
                .filter(|(name, _)| name != "learner")
                .map(|(name, id)| format!("{name}={id}"))
                .collect::<Vec<_>>()
                .join(","),
        )
        .filter(|t| !t.is_empty()),
        status: response.status().as_u16(),
    };
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.storage.record_admin_action(&entry)).await {
        Ok(Ok(())) => response,
        // The action happened; say so, and that the record of it is missing.
        _ => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "the action was answered {} but could not be recorded in the audit log: check the server's storage",
                response.status().as_u16()
            ),
        ),
    }
}

/// Why `claims`' token is revoked, if it is; `Err` is the response when storage fails.
async fn revoked(hub: &Arc<Hub>, claims: &Claims) -> Result<Option<TokenError>, Response> {
    let worker = hub.clone();
    let (learner, device) = (claims.learner.clone(), claims.device.clone());
    let revocation =
        match tokio::task::spawn_blocking(move || worker.storage.revocation(&learner, &device))
            .await
        {
            Ok(Ok(revocation)) => revocation,
            _ => {
                return Err(refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not read its store",
                ))
            }
        };
    let issued = claims.issued_ms;
    if let Some(at) = revocation.learner_ms.filter(|at| issued <= *at) {
        return Ok(Some(TokenError::Revoked(format!(
            "every token of this learner issued up to {} was revoked",
            time(at)
        ))));
    }
    if let Some(at) = revocation.device_ms.filter(|at| issued <= *at) {
        return Ok(Some(TokenError::Revoked(format!(
            "this device's tokens issued up to {} were revoked",
            time(at)
        ))));
    }
    Ok(None)
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// The ids in `path` under the route's `{name}` segments, in order.
fn path_ids(route: &str, path: &str) -> Vec<(String, String)> {
    route
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(pattern, value)| {
            let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_string(), value.chars().take(128).collect()))
        })
        .collect()
}

/// What a device posts to sign in.
#[derive(Debug, Deserialize)]
pub struct SignInRequest {
    pub id_token: String,
    pub device: String,
    #[serde(default)]
    pub nonce: Option<String>,
}

/// What a sign-in answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub learner: String,
    pub device: String,
    pub token: String,
    pub expires_unix: i64,
}

/// `POST /v1/sign-in`.
async fn sign_in(State(hub): State<Arc<Hub>>, body: Body) -> Response {
    let Some(provider) = hub.oidc.clone() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "this server offers no sign-in: start it with --oidc-issuer and --oidc-client-id",
        );
    };
    let body = match axum::body::to_bytes(body, MAX_SIGN_IN_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a sign-in is at most {MAX_SIGN_IN_BYTES} bytes"),
            )
        }
    };
    let request: SignInRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("a sign-in is {{\"id_token\", \"device\", \"nonce\"}}: {e}"),
            )
        }
    };
    if !crate::auth::valid_id(&request.device) || request.device == ADMIN_DEVICE {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the device id is not valid (letters, digits, '-', '_', '.', '@'; at most 128)",
        );
    }
    let now_ms = hub.now_ms();
    let identity = match provider
        .verify(&request.id_token, request.nonce.as_deref(), now_ms / 1000)
        .await
    {
        Ok(identity) => identity,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return refuse(status, e.to_string());
        }
    };
    let lifetime = provider.settings.token_lifetime.min(
        hub.max_token_lifetime
            .unwrap_or(provider.settings.token_lifetime),
    );
    let worker = hub.clone();
    let (learner, device) = (identity.learner.clone(), request.device.clone());
    let enrolled = tokio::task::spawn_blocking(move || {
        worker.storage.enrol_device(&learner, &device, now_ms)?;
        worker.storage.revocation(&learner, &device)
    })
    .await;
    let revocation = match enrolled {
        Ok(Ok(revocation)) => revocation,
        Ok(Err(StorageError::Erased)) => {
            return refuse(StatusCode::GONE, crate::erasure::ERASED_MESSAGE)
        }
        _ => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server could not record the sign-in",
            )
        }
    };
    // Issued after every revocation so far, even on a clock that has not moved since.
    let latest = revocation.learner_ms.max(revocation.device_ms).unwrap_or(0);
    let claims = Claims {
        learner: identity.learner,
        device: request.device,
        expires_unix: now_ms / 1000 + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
        issued_ms: now_ms.max(latest + 1),
        role: None,
    };
    let token = hub.tokens.issue_claims(&claims);
    Json(SignedIn {
        learner: claims.learner,
        device: claims.device,
        token,
        expires_unix: claims.expires_unix,
    })
    .into_response()
}

/// A learner's devices, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    pub devices: Vec<DeviceRecord>,
    /// When every token of the learner was last revoked, if ever.
    pub tokens_revoked_ms: Option<i64>,
}

/// The refusal of a request to `learner`'s routes without that learner's own token (`None`: it
/// carries one).
fn refuse_not_own(hub: &Hub, headers: &HeaderMap, learner: &str) -> Option<Response> {
    match crate::authenticate(hub, headers) {
        Err(e) => Some(refuse(StatusCode::UNAUTHORIZED, e.to_string())),
        Ok(claims) if claims.learner != learner || claims.device == ADMIN_DEVICE => Some(refuse(
            StatusCode::FORBIDDEN,
            "this token is not for this learner's devices",
        )),
        Ok(_) => None,
    }
}

fn storage_refusal(e: StorageError) -> Response {
    match e {
        StorageError::Erased => refuse(StatusCode::GONE, crate::erasure::ERASED_MESSAGE),
        e => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn list_devices(hub: &Arc<Hub>, learner: String) -> Response {
    if !crate::auth::valid_id(&learner) {
        return refuse(StatusCode::BAD_REQUEST, "the learner id is not valid");
    }
    let worker = hub.clone();
    let listed = tokio::task::spawn_blocking(move || {
        let devices = worker.storage.devices(Some(&learner), MAX_LISTING)?;
        let revocation = worker.storage.revocation(&learner, "")?;
        Ok::<_, StorageError>(Devices {
            devices,
            tokens_revoked_ms: revocation.learner_ms,
        })
    })
    .await;
    match listed {
        Ok(Ok(devices)) => Json(devices).into_response(),
        Ok(Err(e)) => storage_refusal(e),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the listing failed"),
    }
}

/// What a revocation answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub learner: String,
    /// The device revoked; `None` when every token of the learner was.
    pub device: Option<String>,
    /// Tokens issued up to this time are refused from the next request on.
    pub revoked_ms: i64,
}

async fn revoke(hub: &Arc<Hub>, learner: String, device: Option<String>) -> Response {
    let ids_valid = crate::auth::valid_id(&learner)
        && device
            .as_deref()
            .is_none_or(|d| crate::auth::valid_id(d) && d != ADMIN_DEVICE);
    if !ids_valid {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the learner or device id is not valid (letters, digits, '-', '_', '.', '@'; at most 128)",
        );
    }
    let at_ms = hub.now_ms();
    let worker = hub.clone();
    let revoked = Revoked {
        learner,
        device,
        revoked_ms: at_ms,
    };
    let stored = revoked.clone();
    match tokio::task::spawn_blocking(move || {
        worker
            .storage
            .revoke_tokens(&stored.learner, stored.device.as_deref(), at_ms)
    })
    .await
    {
        Ok(Ok(())) => Json(revoked).into_response(),
        Ok(Err(e)) => storage_refusal(e),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the revocation failed"),
    }
}

async fn learner_devices(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_not_own(&hub, &headers, &learner) {
        return refused;
    }
    list_devices(&hub, learner).await
}

async fn learner_revoke_device(
    State(hub): State<Arc<Hub>>,
    UrlPath((learner, device)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_not_own(&hub, &headers, &learner) {
        return refused;
    }
    // A learner signs out devices the server knows, and makes no rows for others.
    let worker = hub.clone();
    let (who, which) = (learner.clone(), device.clone());
    let known = tokio::task::spawn_blocking(move || {
        Ok::<_, StorageError>(
            worker
                .storage
                .devices(Some(&who), MAX_LISTING)?
                .iter()
                .any(|d| d.device == which),
        )
    })
    .await;
    match known {
        Ok(Ok(true)) => revoke(&hub, learner, Some(device)).await,
        Ok(Ok(false)) => refuse(
            StatusCode::NOT_FOUND,
            "no device of this learner has that id: list them with GET /v1/learners/{learner}/devices",
        ),
        Ok(Err(e)) => storage_refusal(e),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the revocation failed"),
    }
}

async fn learner_revoke_all(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_not_own(&hub, &headers, &learner) {
        return refused;
    }
    revoke(&hub, learner, None).await
}

async fn admin_devices(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "a learner's devices") {
        return refused;
    }
    list_devices(&hub, learner).await
}

async fn admin_revoke_device(
    State(hub): State<Arc<Hub>>,
    UrlPath((learner, device)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "a revocation") {
        return refused;
    }
    revoke(&hub, learner, Some(device)).await
}

async fn admin_revoke_all(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "a revocation") {
        return refused;
    }
    revoke(&hub, learner, None).await
}

#[derive(Debug, Deserialize)]
struct Listing {
    limit: Option<u32>,
}

async fn admin_all_devices(
    State(hub): State<Arc<Hub>>,
    Query(listing): Query<Listing>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the devices") {
        return refused;
    }
    let limit = listing.limit.unwrap_or(MAX_LISTING).min(MAX_LISTING);
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.storage.devices(None, limit)).await {
        Ok(Ok(devices)) => Json(serde_json::json!({ "devices": devices })).into_response(),
        Ok(Err(e)) => storage_refusal(e),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the listing failed"),
    }
}

async fn admin_audit(
    State(hub): State<Arc<Hub>>,
    Query(listing): Query<Listing>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the audit log") {
        return refused;
    }
    let limit = listing.limit.unwrap_or(MAX_LISTING).min(MAX_LISTING);
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.storage.audit_log(limit)).await {
        Ok(Ok(entries)) => Json(serde_json::json!({ "entries": entries })).into_response(),
        Ok(Err(e)) => storage_refusal(e),
        Err(_) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the audit log could not be read",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ids_of_a_path_are_read_under_the_routes_names() {
        assert_eq!(
            path_ids(
                "/v1/admin/learners/{learner}/devices/{device}/revoke",
                "/v1/admin/learners/ana@example.org/devices/phone-1/revoke"
            ),
            vec![
                ("learner".to_string(), "ana@example.org".to_string()),
                ("device".to_string(), "phone-1".to_string())
            ]
        );
        assert!(path_ids("/v1/admin/metrics", "/v1/admin/metrics").is_empty());
    }
}
