//! Push delivery: waking a learner's devices so they sync now.
//!
//! Devices register where they can be woken with a `PushTokenRegistered` event (through sync);
//! [`push_targets`] reads each device's latest token from the learner's documents. When an
//! intervention is triggered ([`crate::interventions`]) or an admin asks for a wake-up
//! (`POST /v1/admin/learners/{learner}/wake`), [`wake`] sends one message per target through the
//! hub's [`PushSender`] and records what the vendor answered as a `PushOutcomeRecorded` event in
//! the learner's documents: the platform, the SHA-256 of the token (never the token), the id of
//! the registration it came from, the intervention if any, and the outcome. The devices get it with their next sync: the nudge
//! planner says when an intervention's push did not reach the device, and the app learns
//! (`push_token_needed`) that its token is dead. A token the vendor reported unregistered is
//! not used again until its device registers a newer one.
//!
//! Senders: [`fcm::FcmSender`] (FCM HTTP v1 with a service account), [`apns::ApnsSender`] (APNs
//! over HTTP/2 with a provider token), both behind [`VendorPushSender`], which routes by
//! platform; [`LoggingPushSender`] when no vendor is configured. What a message carries is a
//! data-only wake-up: an opaque intervention id and its deadline, never a learner id, a module
//! or any text (see `server/OPERATIONS.md`).
//!
//! Pushing happens after the event that asked for it is committed, and never while holding the
//! learner's lock: the lock is taken only to read the targets and to record the outcomes.

pub mod apns;
pub mod fcm;
pub mod jwt;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tidbit_core::events::{check_push_token, push_token_sha256, EventKind, PushOutcome};

use crate::interventions::{append_server_event, InterventionError};
use crate::storage::{StorageError, SyncStorage};
use crate::Hub;

/// The push services Tidbit devices register with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service (iOS).
    Apns,
}

impl Platform {
    pub fn parse(name: &str) -> Option<Platform> {
        match name {
            "fcm" => Some(Platform::Fcm),
            "apns" => Some(Platform::Apns),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::Fcm => "fcm",
            Platform::Apns => "apns",
        }
    }
}

/// One device to wake: its latest registered token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub device: String,
    /// The id of the `PushTokenRegistered` event that gave the token.
    pub registration: String,
    pub platform: Platform,
    pub token: String,
}

/// What a push says: wake up and sync. An opaque intervention id and its deadline when an
/// intervention asked for it; nothing else about the learner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushMessage {
    pub intervention: Option<String>,
    pub deadline_ms: Option<i64>,
}

/// What a sender made of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The vendor accepted it.
    Delivered,
    /// The vendor says the token is dead; the reason as it gave it.
    Unregistered(String),
    /// Not delivered, after the retries allowed; the vendor's reason or the network's.
    Failed(String),
    /// Only logged: no vendor is configured for the platform. Nothing is recorded.
    Logged,
}

impl Delivery {
    /// The outcome recorded for the learner's devices, if any.
    pub fn outcome(&self) -> Option<(PushOutcome, Option<String>)> {
        match self {
            Delivery::Delivered => Some((PushOutcome::Delivered, None)),
            Delivery::Unregistered(why) => Some((PushOutcome::Unregistered, Some(clip(why)))),
            Delivery::Failed(why) => Some((PushOutcome::Failed, Some(clip(why)))),
            Delivery::Logged => None,
        }
    }
}

/// A vendor's reason, cut to what an event may carry.
fn clip(why: &str) -> String {
    why.chars().take(400).collect()
}

/// A boxed future of a [`Delivery`], what [`PushSender::send`] returns.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Delivery> + Send + 'a>>;

/// Sends push messages to devices. Implementations retry what is worth retrying themselves
/// and never panic; every failure is a [`Delivery`].
pub trait PushSender: Send + Sync {
    fn send<'a>(&'a self, target: &'a PushTarget, message: &'a PushMessage) -> Sending<'a>;
}

/// Logs what it would send: for a server with no FCM or APNs credentials. The line names the
/// platform and the intervention only: no learner id, no push token.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoggingPushSender;

impl PushSender for LoggingPushSender {
    fn send<'a>(&'a self, target: &'a PushTarget, message: &'a PushMessage) -> Sending<'a> {
        eprintln!(
            "push ({}, not configured: only logged): intervention {} due by {} ms",
            target.platform.name(),
            message
                .intervention
                .as_deref()
                .unwrap_or("none (a wake-up)"),
            message.deadline_ms.unwrap_or(0)
        );
        Box::pin(std::future::ready(Delivery::Logged))
    }
}

/// The configured vendors, routed by platform; a platform with no vendor is only logged.
#[derive(Default)]
pub struct VendorPushSender {
    pub fcm: Option<fcm::FcmSender>,
    pub apns: Option<apns::ApnsSender>,
}

impl PushSender for VendorPushSender {
    fn send<'a>(&'a self, target: &'a PushTarget, message: &'a PushMessage) -> Sending<'a> {
        match (target.platform, &self.fcm, &self.apns) {
            (Platform::Fcm, Some(fcm), _) => Box::pin(fcm.send_to(&target.token, message)),
            (Platform::Apns, _, Some(apns)) => Box::pin(apns.send_to(&target.token, message)),
            _ => LoggingPushSender.send(target, message),
        }
    }
}

/// How often and how patiently a sender retries a push the vendor could not take now (429,
/// 5xx, a broken connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; each later one doubles it.
    pub first_backoff: Duration,
    /// The longest wait, also for a vendor's `Retry-After`.
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl Retry {
    /// The wait before attempt `attempt` (2, 3, ...), or the vendor's `Retry-After` seconds
    /// when it gave them, never more than [`Retry::max_backoff`].
    pub fn backoff(
        &self,
        attempt: u32,
        retry_after: Option<&reqwest::header::HeaderValue>,
    ) -> Duration {
        let asked = retry_after
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let doubled = self
            .first_backoff
            .saturating_mul(1 << attempt.saturating_sub(2).min(16));
        asked.unwrap_or(doubled).min(self.max_backoff)
    }
}

/// Why credential files or push settings were refused at start.
#[derive(Debug, thiserror::Error)]
pub enum PushConfigError {
    #[error("{path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("the FCM service account is not usable: {0}; download a new JSON key for the service account from the Firebase console (Project settings, Service accounts)")]
    ServiceAccount(String),
    #[error("the APNs key is not usable: {0}; download the .p8 key again from the Apple developer account (Certificates, Identifiers & Profiles, Keys)")]
    ApnsKey(String),
    #[error("{0}")]
    Setting(String),
}

/// Why a wake-up could not be done.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("'{0}' is not a valid learner id (letters, digits, '-', '_', '.', '@'; at most 128)")]
    BadLearner(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the learner's documents could not be read: {0}")]
    Documents(String),
    #[error("the outcome could not be recorded: {0}")]
    Record(#[from] InterventionError),
    #[error(transparent)]
    Poisoned(#[from] crate::Poisoned),
    #[error("the push task failed")]
    Task,
}

impl PushError {
    fn status(&self) -> StatusCode {
        match self {
            PushError::BadLearner(_) => StatusCode::BAD_REQUEST,
            PushError::Storage(StorageError::Erased)
            | PushError::Record(InterventionError::Storage(StorageError::Erased)) => {
                StatusCode::GONE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What became of one push, as the admin API answers it: no token, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReport {
    pub device: String,
    pub platform: Platform,
    pub token_sha256: String,
    /// `delivered`, `unregistered`, `failed`, or `logged` (no vendor configured).
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Each device's latest registered token, unless the vendor reported it unregistered (then
/// the device is skipped until it registers a token again). Tokens of a shape their platform
/// never has are skipped too.
pub fn push_targets(
    storage: &dyn SyncStorage,
    learner: &str,
) -> Result<Vec<PushTarget>, PushError> {
    let events = crate::exchange::learner_events(storage, learner).map_err(|e| match e {
        crate::exchange::ExchangeRefused::Storage(e) => PushError::Storage(e),
        other => PushError::Documents(other.to_string()),
    })?;
    // Each device's latest registration, and the registrations reported dead (an outcome names
    // its registration, so this holds whatever the device's and the server's clocks say).
    let mut latest: std::collections::BTreeMap<String, PushTarget> =
        std::collections::BTreeMap::new();
    let mut dead = std::collections::BTreeSet::new();
    for event in events {
        match event.kind {
            EventKind::PushTokenRegistered { platform, token } => {
                let Some(platform) = Platform::parse(&platform) else {
                    continue;
                };
                let target = PushTarget {
                    device: event.device.clone(),
                    registration: event.id,
                    platform,
                    token,
                };
                latest.insert(event.device, target);
            }
            EventKind::PushOutcomeRecorded {
                registration,
                outcome: PushOutcome::Unregistered,
                ..
            } => {
                dead.insert(registration);
            }
            _ => {}
        }
    }
    Ok(latest
        .into_values()
        .filter(|target| {
            !dead.contains(&target.registration)
                && check_push_token(target.platform.name(), &target.token).is_ok()
        })
        .collect())
}

/// Pushes `message` to each of `learner`'s devices with a live token and records each outcome
/// in their documents. The learner's lock is held only to record; the network is waited on
/// without it.
pub async fn wake(
    hub: &Arc<Hub>,
    learner: &str,
    message: &PushMessage,
) -> Result<Vec<PushReport>, PushError> {
    if !crate::auth::valid_id(learner) {
        return Err(PushError::BadLearner(learner.chars().take(64).collect()));
    }
    let storage = hub.storage.clone();
    let owner = learner.to_string();
    let targets = tokio::task::spawn_blocking(move || push_targets(storage.as_ref(), &owner))
        .await
        .map_err(|_| PushError::Task)??;
    let mut reports = Vec::with_capacity(targets.len());
    let mut outcomes = Vec::new();
    for target in &targets {
        let delivery = hub.push_sender().send(target, message).await;
        let token_sha256 = push_token_sha256(&target.token);
        let (outcome, detail) = match delivery.outcome() {
            Some((outcome, detail)) => {
                outcomes.push(EventKind::PushOutcomeRecorded {
                    platform: target.platform.name().into(),
                    token_sha256: token_sha256.clone(),
                    registration: target.registration.clone(),
                    intervention: message.intervention.clone(),
                    outcome,
                    detail: detail.clone(),
                });
                (outcome.name().to_string(), detail)
            }
            None => ("logged".to_string(), None),
        };
        reports.push(PushReport {
            device: target.device.clone(),
            platform: target.platform,
            token_sha256,
            outcome,
            detail,
        });
    }
    if !outcomes.is_empty() {
        let worker = hub.clone();
        let owner = learner.to_string();
        tokio::task::spawn_blocking(move || {
            let now_ms = worker.now_ms();
            worker.with_learner(&owner, || {
                outcomes.into_iter().try_for_each(|outcome| {
                    append_server_event(worker.storage.as_ref(), &owner, outcome, now_ms)
                        .map(|_| ())
                })
            })
        })
        .await
        .map_err(|_| PushError::Task)???;
    }
    Ok(reports)
}

/// What `POST /v1/admin/learners/{learner}/wake` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Woken {
    pub pushes: Vec<PushReport>,
}

/// `POST /v1/admin/learners/{learner}/wake` with an admin token: asks the learner's devices to
/// sync now (a push to each live token), and answers what became of each push.
pub async fn post_wake(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "a wake-up") {
        return refused;
    }
    if let Some(gone) = crate::erasure::refuse_erased(&hub, &learner).await {
        return gone;
    }
    match wake(&hub, &learner, &PushMessage::default()).await {
        Ok(pushes) => (StatusCode::OK, axum::Json(Woken { pushes })).into_response(),
        Err(e) => crate::refuse(e.status(), e.to_string()),
    }
}
