//! Tidbit's reference server: learners' sync, the course catalog and pack downloads.
//!
//! - `POST /v1/learners/{learner}/sync`: one sync exchange (see `tidbit_core::sync::exchange`),
//!   with a bearer token for that learner (see [`auth`]);
//! - `GET /v1/learners/{learner}/catalog`: the latest version of each course assigned to the
//!   learner (see [`assignments`]); `GET /v1/packs/{file}`: a pack, with `Range` and `ETag`, to
//!   a learner it is assigned to or an admin; `GET /v1/catalog`: every pack, for admins;
//!   `POST /v1/admin/assignments` and `PUT /v1/admin/learners/{learner}/roles`: who is offered
//!   what; packs are published with `tidbit serve publish` ([`publish`]);
//! - `POST /v1/admin/learners/{learner}/interventions`: an intervention for a learner, with an
//!   admin token (see [`interventions`]), announced to their devices by push (see [`push`]);
//! - `POST /v1/admin/learners/{learner}/wake`: asks a learner's devices to sync now, by push;
//! - `GET /v1/admin/skills/{course}/{skill}/holders`: who has a skill, demonstrated lately, among
//!   learners who share their skills (see [`inventory`]);
//! - `DELETE /v1/admin/learners/{learner}`: erases a learner, with an admin token (see
//!   [`erasure`]; learners' data is sealed under keys of their own, see [`sealing`]);
//! - sign-in through the organisation's OpenID provider, devices, revocation, admin roles and
//!   the audit log: see [`identity`];
//! - `GET /health`.
//!
//! What a device token may do and where each part of a request is checked is written down in
//! `server/HOSTILE_PEERS.md`. Limits: 10 s to send a request's headers, a request's token is
//! checked before its body is read, 8 MiB bodies read within 30 s, 60 s per request in all,
//! [`Limits::requests_in_flight`] requests at once (more get 503 with `Retry-After`),
//! [`Limits::connections`] open connections, documents per exchange
//! ([`exchange::DOCUMENTS_PER_EXCHANGE`]), and exchanges per device (a token bucket). A malformed
//! or hostile request gets a 4xx with a short reason; nothing it carried is stored. CPU work
//! (inflating and deflating exchanges, Automerge) runs on the blocking pool, holding the
//! learner's lock in that thread. Storage sits behind [`storage::SyncStorage`].

pub mod access_log;
pub mod assignments;
pub mod auth;
pub mod coaching;
pub mod cohorts;
pub mod content;
pub mod content_index;
pub mod copy;
pub mod erasure;
pub mod exchange;
pub mod export;
pub mod files;
pub mod goals;
pub mod identity;
pub mod intervention_kinds;
pub mod interventions;
pub mod inventory;
pub mod lead;
pub mod metrics;
pub mod observe;
pub mod publish;
pub mod push;
pub mod records;
pub mod reviews;
pub mod sealing;
pub mod storage;

mod serving;

pub use serving::{serve, serve_until, spawn};
pub use storage::{Migrations, StorageConfig};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use tidbit_core::events::{Clock, SystemClock};

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
    #[error(transparent)]
    Sealing(#[from] sealing::SealError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("learning records: {0}")]
    Records(String),
    #[error("copy: {0}")]
    Copy(String),
    #[error("sign-in: {0}")]
    Identity(String),
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

/// How much of the server one client may take, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To send a request's headers (a slow client holds nothing longer).
    pub header_timeout: Duration,
    /// To send a request's body, once its token is accepted.
    pub body_timeout: Duration,
    /// For a whole request, the answer included.
    pub request_timeout: Duration,
    /// Requests handled at once; more are shed with 503 and `Retry-After`.
    pub requests_in_flight: usize,
    /// Connections open at once; past it, new ones wait to be accepted.
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            requests_in_flight: 256,
            connections: 4096,
        }
    }
}

/// Rate buckets kept before full (idle) ones are dropped.
const BUCKETS_BEFORE_PRUNING: usize = 4096;

/// Everything the handlers share.
pub struct Hub {
    pub storage: Arc<dyn SyncStorage>,
    pub tokens: TokenKey,
    pub packs_dir: PathBuf,
    /// Spoken answers shared with cohorts ([`cohorts::audio`]).
    pub audio_dir: PathBuf,
    pub limits: Limits,
    clock: Arc<dyn Clock>,
    rate: RateLimit,
    buckets: Mutex<Buckets>,
    learner_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    in_flight: Arc<tokio::sync::Semaphore>,
    pack_tags: content::PackTags,
    /// Held while this process rewrites the course assignments ([`assignments`]).
    assignments_lock: Mutex<()>,
    goals_lock: Mutex<()>,
    /// The key of the pseudonyms logs print instead of learner ids.
    pseudonyms: ring::hmac::Key,
    access_log: Option<access_log::AccessLogSink>,
    log_format: access_log::LogFormat,
    /// Metrics and the readiness the probes report ([`observe`]).
    pub observer: Arc<observe::Observer>,
    /// Where other processes reach this one (`--advertise-url`; by default the address it
    /// listens on), for what only the leading process answers ([`lead`]).
    advertised: std::sync::OnceLock<String>,
    http: std::sync::OnceLock<reqwest::Client>,
    max_token_lifetime: Option<Duration>,
    review_retention_days: u32,
    /// Learning records for the organisation's LRS, when one is set up.
    pub records: Option<Arc<records::Records>>,
    /// The packs read for learning records and metrics.
    pub content: Arc<content_index::ContentIndex>,
    /// Every learner's engagement summary, for the L&D team's metrics.
    pub summaries: Arc<metrics::Summaries>,
    /// The organisation's OpenID provider devices sign in through, when one is set up
    /// ([`identity`]).
    pub oidc: Option<Arc<identity::oidc::Provider>>,
    /// Wakes learners' devices ([`push`]); only logs unless FCM or APNs is configured.
    push: Arc<dyn push::PushSender>,
}

#[derive(Default)]
struct Buckets {
    tokens: HashMap<(String, String), (f64, Instant)>,
    prune_at: usize,
}

impl Hub {
    /// The hub for a data directory: `server.sqlite3`, `token.key`, `server.key` (unless the
    /// server key is in `TIDBIT_SERVER_KEY`) and `packs/` inside it. The directory is made
    /// private (`0700`), and a store whose token key or server key is missing is refused.
    pub fn open(data_dir: &Path) -> Result<Hub, ServerError> {
        Hub::open_with(data_dir, &StorageConfig::Sqlite, Migrations::Apply)
    }

    /// The hub for a data directory (its keys and packs) with learners' data in `storage`.
    /// PostgreSQL's migrations are applied first with [`Migrations::Apply`]; with
    /// [`Migrations::Require`] a database behind this build's schema is refused
    /// ([`storage::StorageError::Unmigrated`]).
    pub fn open_with(
        data_dir: &Path,
        storage: &StorageConfig,
        migrations: Migrations,
    ) -> Result<Hub, ServerError> {
        files::private_dir(data_dir)?;
        let tokens = TokenKey::load_or_create(data_dir)?;
        let key_from_env = std::env::var(sealing::SERVER_KEY_ENV).ok();
        let server_key = |sealed| {
            sealing::ServerKey::load_or_create(data_dir, key_from_env.as_deref(), sealed)
                .map(Arc::new)
        };
        let (storage, server_key): (Arc<dyn SyncStorage>, _) = match storage {
            StorageConfig::Sqlite => {
                let database = data_dir.join(DATABASE_FILE);
                let key = server_key(SqliteStorage::is_sealed(&database)?)?;
                (Arc::new(SqliteStorage::open(&database, key.clone())?), key)
            }
            StorageConfig::Postgres { url, pool_size } => {
                let database = storage::postgres::Database::connect(url, *pool_size)?;
                if migrations == Migrations::Apply {
                    database.migrate()?;
                }
                let key = server_key(database.is_sealed()?)?;
                (Arc::new(database.open(key.clone())?), key)
            }
        };
        let pseudonyms = server_key.pseudonym_key();
        let mut hub = Hub::new(storage, tokens, data_dir.join("packs"));
        hub.pseudonyms = pseudonyms;
        hub.content = Arc::new(content_index::ContentIndex::new(
            data_dir.join("content-index"),
            data_dir.join("packs"),
        ));
        Ok(hub)
    }

    pub fn new(storage: Arc<dyn SyncStorage>, tokens: TokenKey, packs_dir: PathBuf) -> Hub {
        let limits = Limits::default();
        let index_dir = packs_dir.parent().map_or_else(
            || PathBuf::from("content-index"),
            |p| p.join("content-index"),
        );
        let audio_dir = packs_dir
            .parent()
            .map_or_else(|| PathBuf::from("cohort-audio"), |p| p.join("cohort-audio"));
        Hub {
            content: Arc::new(content_index::ContentIndex::new(
                index_dir,
                packs_dir.clone(),
            )),
            summaries: Arc::new(metrics::Summaries::default()),
            storage,
            tokens,
            packs_dir,
            audio_dir,
            limits,
            clock: Arc::new(SystemClock),
            rate: RateLimit::default(),
            buckets: Mutex::new(Buckets::default()),
            learner_locks: Mutex::new(HashMap::new()),
            in_flight: Arc::new(tokio::sync::Semaphore::new(limits.requests_in_flight)),
            pack_tags: content::PackTags::default(),
            assignments_lock: Mutex::new(()),
            goals_lock: Mutex::new(()),
            // Replaced by the server key's in `Hub::open`; a hub on other storage gets a key of
            // its own, so its pseudonyms are stable while it runs.
            pseudonyms: ring::hmac::Key::generate(
                ring::hmac::HMAC_SHA256,
                &ring::rand::SystemRandom::new(),
            )
            .unwrap_or_else(|_| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"tidbit-server")),
            access_log: None,
            log_format: access_log::LogFormat::Text,
            observer: Arc::new(observe::Observer::default()),
            advertised: std::sync::OnceLock::new(),
            http: std::sync::OnceLock::new(),
            max_token_lifetime: None,
            review_retention_days: reviews::DEFAULT_REVIEW_RETENTION_DAYS,
            records: None,
            oidc: None,
            push: Arc::new(push::LoggingPushSender),
        }
    }

    /// Wakes devices through `sender` (FCM, APNs) instead of only logging ([`push`]).
    pub fn with_push(mut self, sender: Arc<dyn push::PushSender>) -> Hub {
        self.push = sender;
        self
    }

    /// What wakes learners' devices.
    pub fn push_sender(&self) -> &dyn push::PushSender {
        self.push.as_ref()
    }

    /// Trusts `keys` for the packs analytics read ([`content_index`]).
    pub fn with_trusted_packs(self, keys: tidbit_core::keys::TrustedKeys) -> Hub {
        self.content.trust(keys);
        self
    }

    /// Forwards learning records to the organisation's LRS ([`records`]); the first time, every
    /// learner held is marked due, so records of events from before are queued too.
    pub fn with_records(mut self, settings: records::LrsSettings) -> Result<Hub, ServerError> {
        let records =
            records::Records::new(settings).map_err(|e| ServerError::Records(e.to_string()))?;
        self.storage
            .mark_all_records_due()
            .map_err(|e| ServerError::Records(e.to_string()))?;
        self.records = Some(Arc::new(records));
        Ok(self)
    }

    /// Writes one line per request to `sink` (see [`access_log`]: learner ids are pseudonyms).
    pub fn with_access_log(mut self, sink: access_log::AccessLogSink) -> Hub {
        self.access_log = Some(sink);
        self
    }

    /// Where other server processes reach this one (such as `http://tidbit-1:8080`).
    pub fn with_advertised_url(self, url: &str) -> Hub {
        let _ = self.advertised.set(url.trim_end_matches('/').to_string());
        self
    }

    /// Where other server processes reach this one, once known.
    pub fn advertised_url(&self) -> Option<String> {
        self.advertised.get().cloned()
    }

    /// Sets the advertised address if none was given: the address this process listens on.
    pub fn advertise_if_unset(&self, url: String) {
        let _ = self.advertised.set(url);
    }

    /// The HTTP client for requests to other processes.
    pub fn http(&self) -> reqwest::Client {
        self.http.get_or_init(reqwest::Client::new).clone()
    }

    /// Writes the access log's lines as JSON objects or as text ([`access_log::LogFormat`]).
    pub fn with_log_format(mut self, format: access_log::LogFormat) -> Hub {
        self.log_format = format;
        self
    }

    /// Refuses tokens that stay valid longer than `lifetime` from the moment they are used
    /// (`tidbit serve --max-token-days`); without it, a token is valid until its expiry.
    /// How long a decided review stays in the admin queue ([`reviews`]).
    pub fn with_review_retention_days(mut self, days: u32) -> Hub {
        self.review_retention_days = days;
        self
    }

    pub fn review_retention_days(&self) -> u32 {
        self.review_retention_days
    }

    pub fn with_max_token_lifetime(mut self, lifetime: Duration) -> Hub {
        self.max_token_lifetime = Some(lifetime);
        self
    }

    /// What logs print instead of `learner`: see [`sealing::ServerKey::pseudonym`].
    pub fn pseudonym(&self, learner: &str) -> String {
        sealing::pseudonym(&self.pseudonyms, learner)
    }

    pub fn with_rate_limit(mut self, rate: RateLimit) -> Hub {
        self.rate = rate;
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Hub {
        self.in_flight = Arc::new(tokio::sync::Semaphore::new(limits.requests_in_flight));
        self.limits = limits;
        self
    }

    /// The clock event times and document names are checked against (the system's by default).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Hub {
        self.clock = clock;
        self
    }

    /// Requests being handled now (each holds one of [`Limits::requests_in_flight`] slots).
    pub fn requests_in_flight(&self) -> usize {
        self.limits
            .requests_in_flight
            .saturating_sub(self.in_flight.available_permits())
    }

    /// The server's time now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Rate buckets held now (for tests of their pruning).
    pub fn rate_buckets(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.tokens.len())
    }

    /// Learner locks held now (for tests of their pruning).
    pub fn learner_locks(&self) -> usize {
        self.learner_locks.lock().map_or(0, |l| l.len())
    }

    /// Takes one token from the device's bucket; false when it is empty.
    fn admit(&self, learner: &str, device: &str) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        let now = Instant::now();
        let rate = self.rate;
        // A bucket that has refilled is the same as none: drop those once the map grows.
        if buckets.tokens.len() >= buckets.prune_at.max(BUCKETS_BEFORE_PRUNING) {
            buckets.tokens.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate.per_second < rate.burst
            });
            buckets.prune_at = buckets.tokens.len() * 2;
        }
        let entry = buckets
            .tokens
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

    /// Runs `work` holding `learner`'s lock, in the calling thread: call it from the blocking
    /// pool, so the lock is held for exactly as long as the work runs, even when the request
    /// that started it is gone. The lock is dropped from the map when no one else holds it.
    pub fn with_learner<T>(&self, learner: &str, work: impl FnOnce() -> T) -> Result<T, Poisoned> {
        let lock = self
            .learner_locks
            .lock()
            .map_err(|_| Poisoned)?
            .entry(learner.to_string())
            .or_default()
            .clone();
        let result = {
            let _guard = lock.lock().map_err(|_| Poisoned)?;
            work()
        };
        let mut locks = self.learner_locks.lock().map_err(|_| Poisoned)?;
        // One reference in the map, one here: no one else waits for it.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(learner);
        }
        Ok(result)
    }
}

/// A lock of the server's state was poisoned by a panic: the process should be restarted.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("server state is unusable after an earlier failure; restart the server")]
pub struct Poisoned;

pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/health", get(observe::healthz))
        .route("/healthz", get(observe::healthz))
        .route("/readyz", get(observe::readyz))
        .route("/metrics", get(observe::metrics))
        .route("/v1/learners/{learner}/sync", post(exchange::post_sync))
        .merge(goals::routes())
        .route(
            "/v1/admin/learners/{learner}/interventions",
            post(interventions::post_intervention),
        )
        .route("/v1/admin/learners/{learner}/wake", post(push::post_wake))
        .route(
            "/v1/admin/learners/{learner}",
            delete(erasure::delete_learner),
        )
        .route("/v1/admin/reviews", get(reviews::get_reviews))
        .route("/v1/admin/records", get(records::get_records))
        .route("/v1/admin/metrics", get(metrics::get_metrics))
        .route(
            "/v1/admin/skills/{course}/{skill}/holders",
            get(inventory::get_holders),
        )
        .route(
            "/v1/admin/experiments",
            get(metrics::get_experiments).post(metrics::post_experiment),
        )
        .route("/admin", get(metrics::dashboard))
        .route(
            "/v1/admin/learners/{learner}/export",
            get(export::get_export),
        )
        .route(
            "/v1/admin/learners/{learner}/reviews/{review}",
            post(reviews::post_decision),
        )
        .route(
            "/v1/admin/assignments",
            get(assignments::get_assignments).post(assignments::post_assignment),
        )
        .route(
            "/v1/admin/learners/{learner}/roles",
            axum::routing::put(assignments::put_learner_roles),
        )
        .route(
            "/v1/learners/{learner}/catalog",
            get(assignments::get_learner_catalog),
        )
        .route(
            "/v1/admin/cohorts",
            get(cohorts::http::get_cohorts).post(cohorts::http::post_cohort),
        )
        .route("/v1/admin/cohorts/auto", post(cohorts::http::post_auto))
        .route("/v1/admin/cohorts/{cohort}", get(cohorts::http::get_cohort))
        .route(
            "/v1/admin/cohorts/{cohort}/hide",
            post(cohorts::http::post_hide),
        )
        .route(
            "/v1/cohorts/{cohort}/audio/{sha}",
            get(cohorts::audio::get_audio)
                .head(cohorts::audio::head_audio)
                .put(cohorts::audio::put_audio),
        )
        .route("/v1/catalog", get(content::get_catalog))
        .route("/v1/packs/{file}", get(content::get_pack))
        .merge(identity::routes())
        .merge(coaching::routes())
        // Revoked tokens, admin roles and the audit log, before any handler ([`identity`]).
        .layer(axum::middleware::from_fn_with_state(
            hub.clone(),
            identity::gate,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(hub.clone(), shed_load))
        .layer(axum::middleware::from_fn_with_state(
            hub.clone(),
            access_log::log_request,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            hub.limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            hub.clone(),
            observe::observe,
        ))
        .with_state(hub)
}

/// Answers 503 with `Retry-After` when [`Limits::requests_in_flight`] requests are running.
async fn shed_load(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    let Ok(_permit) = hub.in_flight.clone().try_acquire_owned() else {
        let mut response = refuse(StatusCode::SERVICE_UNAVAILABLE, "the server is busy; retry");
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    next.run(request).await
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

/// `None` for an admin token, else the refusal to answer with (`401` without a valid token,
/// `403` naming `what` for a device's token).
pub fn refuse_non_admin(hub: &Hub, headers: &HeaderMap, what: &str) -> Option<Response> {
    match authenticate(hub, headers) {
        Err(e) => Some(refuse(StatusCode::UNAUTHORIZED, e.to_string())),
        Ok(claims) if claims.device != ADMIN_DEVICE => Some(refuse(
            StatusCode::FORBIDDEN,
            format!("{what} needs an admin token"),
        )),
        Ok(_) => None,
    }
}

/// The claims of the request's bearer token; the error is the 401 reason.
pub fn authenticate(hub: &Hub, headers: &HeaderMap) -> Result<Claims, auth::TokenError> {
    let token = bearer(headers).ok_or(auth::TokenError::Missing)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let claims = hub.tokens.verify(token, now)?;
    if let Some(max) = hub.max_token_lifetime {
        auth::check_lifetime(&claims, now, max)?;
    }
    Ok(claims)
}

/// The claims of a request on `learner`'s own resources: a valid token of one of the learner's
/// devices, within the device's rate, for a learner not erased. The error is the answer.
pub async fn authorize_learner(
    hub: &Arc<Hub>,
    headers: &HeaderMap,
    learner: &str,
) -> Result<Claims, Response> {
    let claims = match authenticate(hub, headers) {
        Ok(claims) => claims,
        Err(e) => return Err(refuse(StatusCode::UNAUTHORIZED, e.to_string())),
    };
    if claims.learner != learner || claims.device == ADMIN_DEVICE {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "this token is not for this learner's documents",
        ));
    }
    if !hub.admit(&claims.learner, &claims.device) {
        return Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests; slow down",
        ));
    }
    if let Some(gone) = erasure::refuse_erased(hub, &claims.learner).await {
        return Err(gone);
    }
    Ok(claims)
}

/// Reads a request body once its token has been accepted: at most [`MAX_BODY_BYTES`], within
/// [`Limits::body_timeout`].
pub async fn read_body(hub: &Hub, body: Body) -> Result<Bytes, Response> {
    match tokio::time::timeout(
        hub.limits.body_timeout,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("bodies are limited to {MAX_BODY_BYTES} bytes"),
        )),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            "the body took too long to arrive",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_buckets_of_idle_devices_are_dropped_once_the_map_grows() {
        let dir = tempfile::tempdir().unwrap();
        // Buckets refill in a microsecond: every one but the newest is idle again at once.
        let hub = Hub::open(dir.path()).unwrap().with_rate_limit(RateLimit {
            burst: 2.0,
            per_second: 1e6,
        });
        for device in 0..10_000 {
            assert!(hub.admit("ana", &format!("device-{device}")));
        }
        assert!(
            (1..=BUCKETS_BEFORE_PRUNING).contains(&hub.rate_buckets()),
            "{} buckets",
            hub.rate_buckets()
        );
    }

    #[test]
    fn a_learner_lock_lives_only_while_someone_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        let inside = hub.with_learner("ana", || hub.learner_locks()).unwrap();
        assert_eq!(inside, 1);
        assert_eq!(hub.learner_locks(), 0);
    }
}
