//! Tidbit's reference server: learners' sync, the course catalog and pack downloads.
//!
//! - `POST /v1/learners/{learner}/sync`: one sync exchange (see `tidbit_core::sync::exchange`),
//!   with a bearer token for that learner (see [`auth`]);
//! - `GET /v1/catalog`: the packs on offer; `GET /v1/packs/{file}`: a pack, with `Range` and
//!   `ETag`;
//! - `POST /v1/admin/learners/{learner}/interventions`: an intervention for a learner, with an
//!   admin token (see [`interventions`]);
//! - `GET /health`.
//!
//! Limits: request bodies (8 MiB), documents per exchange ([`sync::DOCUMENTS_PER_EXCHANGE`]),
//! and exchanges per device (a token bucket). A malformed or hostile request gets a 4xx with a
//! short reason; nothing it carried is stored. Storage sits behind [`storage::SyncStorage`].

pub mod auth;
pub mod content;
pub mod interventions;
pub mod storage;
pub mod sync;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tidbit_core::sync::exchange::Exchange;

use crate::auth::{Claims, TokenKey, ADMIN_DEVICE};
use crate::storage::{SqliteStorage, SyncStorage};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "server.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error(transparent)]
    Token(#[from] auth::TokenError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Exchanges a device may make: a burst, then a steady rate.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub burst: f64,
    pub per_second: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            burst: 60.0,
            per_second: 20.0,
        }
    }
}

/// Everything the handlers share.
pub struct Hub {
    pub storage: Arc<dyn SyncStorage>,
    pub tokens: TokenKey,
    pub packs_dir: PathBuf,
    rate: RateLimit,
    buckets: Mutex<HashMap<(String, String), (f64, Instant)>>,
    learner_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Hub {
    /// The hub for a data directory: `server.sqlite3`, `token.key` and `packs/` inside it.
    pub fn open(data_dir: &Path) -> Result<Hub, ServerError> {
        std::fs::create_dir_all(data_dir)?;
        Ok(Hub::new(
            Arc::new(SqliteStorage::open(&data_dir.join(DATABASE_FILE))?),
            TokenKey::load_or_create(data_dir)?,
            data_dir.join("packs"),
        ))
    }

    pub fn new(storage: Arc<dyn SyncStorage>, tokens: TokenKey, packs_dir: PathBuf) -> Hub {
        Hub {
            storage,
            tokens,
            packs_dir,
            rate: RateLimit::default(),
            buckets: Mutex::new(HashMap::new()),
            learner_locks: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_rate_limit(mut self, rate: RateLimit) -> Hub {
        self.rate = rate;
        self
    }

    /// Takes one token from the device's bucket; false when it is empty.
    fn admit(&self, learner: &str, device: &str) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        let now = Instant::now();
        let entry = buckets
            .entry((learner.to_string(), device.to_string()))
            .or_insert((self.rate.burst, now));
        let refill = now.duration_since(entry.1).as_secs_f64() * self.rate.per_second;
        entry.0 = (entry.0 + refill).min(self.rate.burst);
        entry.1 = now;
        if entry.0 >= 1.0 {
            entry.0 -= 1.0;
            true
        } else {
            false
        }
    }

    fn learner_lock(&self, learner: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut locks = self.learner_locks.lock().ok()?;
        Some(locks.entry(learner.to_string()).or_default().clone())
    }
}

pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route("/v1/learners/{learner}/sync", post(sync_exchange))
        .route(
            "/v1/admin/learners/{learner}/interventions",
            post(interventions::post_intervention),
        )
        .route("/v1/catalog", get(catalog))
        .route("/v1/packs/{file}", get(pack))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(hub)
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, hub: Arc<Hub>) -> std::io::Result<()> {
    axum::serve(listener, router(hub)).await
}

/// Binds `addr` and serves in the background on the current runtime; returns the bound address
/// (pass port 0 for a free one).
pub async fn spawn(
    addr: SocketAddr,
    hub: Arc<Hub>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(listener, hub))))
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> Response {
    let mut reason = reason.into();
    reason.push('\n');
    (status, reason).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The claims of the request's bearer token; the error is the 401 reason.
pub fn authenticate(hub: &Hub, headers: &HeaderMap) -> Result<Claims, auth::TokenError> {
    let token = bearer(headers).ok_or(auth::TokenError::Missing)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    hub.tokens.verify(token, now)
}

async fn sync_exchange(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = match authenticate(&hub, &headers) {
        Ok(claims) => claims,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.to_string()),
    };
    if claims.learner != learner || claims.device == ADMIN_DEVICE {
        return refuse(
            StatusCode::FORBIDDEN,
            "this token is not for this learner's documents",
        );
    }
    if !hub.admit(&claims.learner, &claims.device) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many exchanges; slow down",
        );
    }
    let request = match Exchange::decode(&body) {
        Ok(request) => request,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let Some(lock) = hub.learner_lock(&learner) else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server state is unusable",
        );
    };
    // One exchange per learner at a time: each reads and writes the learner's documents whole.
    let _guard = lock.lock().await;
    let worker_hub = hub.clone();
    let result = tokio::task::spawn_blocking(move || {
        sync::exchange(
            worker_hub.storage.as_ref(),
            &claims.learner,
            &claims.device,
            request,
        )
    })
    .await;
    match result {
        Ok(Ok(outcome)) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            outcome.reply.encode(),
        )
            .into_response(),
        Ok(Err(refused)) => refuse(
            StatusCode::from_u16(refused.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            refused.to_string(),
        ),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the exchange failed"),
    }
}

async fn catalog(State(hub): State<Arc<Hub>>) -> Response {
    let dir = hub.packs_dir.clone();
    match tokio::task::spawn_blocking(move || content::catalog(&dir)).await {
        Ok(Ok(entries)) => axum::Json(entries).into_response(),
        _ => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the catalog could not be read",
        ),
    }
}

async fn pack(
    State(hub): State<Arc<Hub>>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if !content::safe_file_name(&file) || !file.ends_with(".tidbit") {
        return refuse(StatusCode::NOT_FOUND, "no such pack");
    }
    let path = hub.packs_dir.join(&file);
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let range = header_text(header::RANGE);
    let if_range = header_text(header::IF_RANGE);
    let if_none_match = header_text(header::IF_NONE_MATCH);
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Response>> {
        let Ok(metadata) = std::fs::metadata(&path) else {
            return Ok(None);
        };
        let len = metadata.len();
        let etag = content::etag(&path)?;
        if if_none_match.as_deref() == Some(etag.as_str()) {
            return Ok(Some(
                (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response(),
            ));
        }
        // A resumed download of a pack that changed since gets the whole new pack.
        let range = match if_range {
            Some(tag) if tag != etag => None,
            _ => range,
        };
        let response = match content::parse_range(range.as_deref(), len) {
            content::RangeRequest::Whole => (
                StatusCode::OK,
                [
                    (header::ETAG, etag),
                    (header::ACCEPT_RANGES, "bytes".into()),
                    (header::CONTENT_TYPE, "application/octet-stream".into()),
                ],
                std::fs::read(&path)?,
            )
                .into_response(),
            content::RangeRequest::Part { start, end } => (
                StatusCode::PARTIAL_CONTENT,
                [
                    (header::ETAG, etag),
                    (header::ACCEPT_RANGES, "bytes".into()),
                    (header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
                    (header::CONTENT_TYPE, "application/octet-stream".into()),
                ],
                content::read_part(&path, start, end)?,
            )
                .into_response(),
            content::RangeRequest::Unsatisfiable => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response(),
        };
        Ok(Some(response))
    })
    .await;
    match result {
        Ok(Ok(Some(response))) => response,
        Ok(Ok(None)) => refuse(StatusCode::NOT_FOUND, "no such pack"),
        _ => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the pack could not be read",
        ),
    }
}
