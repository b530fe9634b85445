//! Interventions: the L&D team asks a learner to revisit a module within a deadline.
//!
//! [`trigger`] appends an `InterventionTriggered` event (module, reason, deadline) to the
//! learner's current period document, written by a fresh server incarnation, and commits it
//! through the same storage as sync exchanges: the learner's devices receive it with their next
//! sync, like any other event, and their nudge planner schedules it before the deadline. If a
//! device registered a push token (a `PushTokenRegistered` event in the learner's documents), a
//! [`PushSender`] is asked to wake it; here [`LoggingPushSender`] only logs, and FCM or APNs
//! senders go behind the same trait.
//!
//! `POST /v1/admin/learners/{learner}/interventions` takes `{"module", "course"?, "reason",
//! "within_hours", "signal"?}` with an admin token (device `*admin*`); `tidbit serve trigger` calls
//! [`trigger`] on the server's data directory. Nothing here edits or removes an event.

use std::sync::Arc;

use automerge::{ActorId, AutoCommit};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use tidbit_core::events::{Event, EventKind};
use tidbit_core::sync::documents::{self, DocumentError};

use crate::storage::{DocumentUpdate, DocumentWrite, ReviewChange, StorageError, SyncStorage};
use crate::Hub;

/// The device name on events the server writes.
pub use tidbit_core::events::SERVER_DEVICE;
/// The longest window an intervention may be given.
pub const MAX_WITHIN_HOURS: u32 = 14 * 24;

#[derive(Debug, thiserror::Error)]
pub enum InterventionError {
    #[error("'{0}' is not a valid learner id (letters, digits, '-', '_', '.', '@'; at most 128)")]
    BadLearner(String),
    #[error("an intervention needs a module, a reason (at most 500 characters) and a window of 1 to {MAX_WITHIN_HOURS} hours")]
    BadRequest,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the learner's document could not be updated: {0}")]
    Document(#[from] DocumentError),
    #[error("the learner's stored document '{doc}' could not be loaded: {message}")]
    Unloadable { doc: String, message: String },
    #[error("no randomness for a server incarnation")]
    NoRandomness,
}

impl InterventionError {
    fn status(&self) -> StatusCode {
        match self {
            InterventionError::BadLearner(_) | InterventionError::BadRequest => {
                StatusCode::BAD_REQUEST
            }
            InterventionError::Storage(StorageError::Erased) => StatusCode::GONE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What the L&D team asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterventionRequest {
    pub module: String,
    #[serde(default)]
    pub course: Option<String>,
    pub reason: String,
    pub within_hours: u32,
    /// The work-context signal behind it (a role change, a customer case), if any: devices act
    /// on it only when the learner gave the `signals` consent scope.
    #[serde(default)]
    pub signal: Option<String>,
}

/// What [`trigger`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triggered {
    /// The intervention's id: the id of the event that carries it.
    pub intervention: String,
    pub document: String,
    pub at_ms: i64,
    pub deadline_ms: i64,
    /// A push message went to a registered device.
    pub pushed: bool,
}

/// A push notification asking a device to sync now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub learner: String,
    pub intervention: String,
    pub module: String,
    pub deadline_ms: i64,
}

/// Sends push messages to devices (FCM for Android, APNs for iOS).
pub trait PushSender: Send + Sync {
    fn send(&self, platform: &str, token: &str, message: &PushMessage) -> Result<(), String>;
}

/// Logs what it would send: the reference server has no FCM or APNs credentials. The line
/// names the intervention and the platform only: no learner id, no push token, no module.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoggingPushSender;

impl PushSender for LoggingPushSender {
    fn send(&self, platform: &str, _token: &str, message: &PushMessage) -> Result<(), String> {
        eprintln!(
            "push ({platform}): intervention {} due by {} ms",
            message.intervention, message.deadline_ms
        );
        Ok(())
    }
}

/// Appends an intervention for `learner` at `now_ms` and pushes to their registered device.
///
/// The write is a compare-and-swap on the document's heads like every other writer's (see
/// [`SyncStorage::commit`]): when an exchange, another server process or another trigger
/// commits to the same document first, the intervention is prepared again on what they wrote.
pub fn trigger(
    storage: &dyn SyncStorage,
    learner: &str,
    request: &InterventionRequest,
    now_ms: i64,
    push: &dyn PushSender,
) -> Result<Triggered, InterventionError> {
    validate(learner, request)?;
    let deadline_ms = now_ms + i64::from(request.within_hours) * 3_600_000;
    let (event, name) = append_server_event(
        storage,
        learner,
        EventKind::InterventionTriggered {
            course: request.course.clone(),
            module: request.module.clone(),
            reason: request.reason.clone(),
            deadline_ms,
            signal: request.signal.clone(),
        },
        now_ms,
    )?;
    let pushed = match latest_push_token(storage, learner) {
        Some((platform, token)) => push
            .send(
                &platform,
                &token,
                &PushMessage {
                    learner: learner.into(),
                    intervention: event.id.clone(),
                    module: request.module.clone(),
                    deadline_ms,
                },
            )
            .is_ok(),
        None => false,
    };
    Ok(Triggered {
        intervention: event.id,
        document: name,
        at_ms: now_ms,
        deadline_ms,
        pushed,
    })
}

fn validate(learner: &str, request: &InterventionRequest) -> Result<(), InterventionError> {
    if !crate::auth::valid_id(learner) {
        return Err(InterventionError::BadLearner(
            learner.chars().take(64).collect(),
        ));
    }
    let valid_text = |t: &str, max: usize| !t.trim().is_empty() && t.chars().count() <= max;
    if !valid_text(&request.module, 128)
        || !valid_text(&request.reason, 500)
        || request
            .course
            .as_deref()
            .is_some_and(|c| !valid_text(c, 128))
        || request
            .signal
            .as_deref()
            .is_some_and(|s| !valid_text(s, 256))
        || !(1..=MAX_WITHIN_HOURS).contains(&request.within_hours)
    {
        return Err(InterventionError::BadRequest);
    }
    Ok(())
}

/// Appends an event of the server's device to the learner's current period document; returns
/// it with its document. A commit that loses the compare-and-swap to another writer is prepared
/// again on what that writer stored.
pub fn append_server_event(
    storage: &dyn SyncStorage,
    learner: &str,
    kind: EventKind,
    now_ms: i64,
) -> Result<(Event, String), InterventionError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_append(storage, learner, kind.clone(), now_ms) {
            Err(InterventionError::Storage(StorageError::Conflict { .. })) if attempt < 4 => {}
            result => break result,
        }
    }
}

/// Prepares and commits one server event.
fn try_append(
    storage: &dyn SyncStorage,
    learner: &str,
    kind: EventKind,
    now_ms: i64,
) -> Result<(Event, String), InterventionError> {
    let name = documents::period_of(now_ms);
    let unloadable = |e: automerge::AutomergeError| InterventionError::Unloadable {
        doc: name.clone(),
        message: e.to_string(),
    };
    let stored = storage.load(learner, &name)?;
    let is_new = stored.is_none();
    let mut doc = match &stored {
        Some(stored) => {
            let mut doc = AutoCommit::load(&stored.snapshot).map_err(unloadable)?;
            for chunk in &stored.chunks {
                doc.load_incremental(chunk).map_err(unloadable)?;
            }
            doc
        }
        None => documents::genesis(&name)?,
    };
    let loaded_heads = doc.get_heads();
    // A fresh incarnation per trigger: its actor and its event id are new every time.
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| InterventionError::NoRandomness)?;
    let incarnation = hex::encode(bytes);
    doc.set_actor(ActorId::from(&bytes[..]));
    let event = Event {
        id: Event::make_id(SERVER_DEVICE, &incarnation, 1),
        at_ms: now_ms,
        device: SERVER_DEVICE.into(),
        kind,
    };
    documents::append(&mut doc, &incarnation, 1, &event)?;
    // A decision takes its review off the admin queue in the same transaction.
    let reviews = match &event.kind {
        EventKind::ReviewDecided { review, .. } => vec![ReviewChange::Decided {
            review: review.clone(),
            at_ms: now_ms,
        }],
        _ => Vec::new(),
    };
    let write = if is_new {
        DocumentWrite::Snapshot(doc.save())
    } else {
        DocumentWrite::Chunk(doc.save_after(&loaded_heads))
    };
    storage.commit_with_reviews(
        learner,
        SERVER_DEVICE,
        &[DocumentUpdate {
            doc: name.clone(),
            expected: (!is_new).then(|| loaded_heads.clone()),
            write,
            heads: doc.get_heads(),
        }],
        &[],
        std::slice::from_ref(&event.id),
        &reviews,
    )?;
    Ok((event, name))
}

/// The push token the learner's devices registered last, if any.
fn latest_push_token(storage: &dyn SyncStorage, learner: &str) -> Option<(String, String)> {
    let events = crate::exchange::learner_events(storage, learner).ok()?;
    events.into_iter().rev().find_map(|e| match e.kind {
        EventKind::PushTokenRegistered { platform, token } => Some((platform, token)),
        _ => None,
    })
}

/// `POST /v1/admin/learners/{learner}/interventions` with an admin token.
pub async fn post_intervention(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "an intervention") {
        return refused;
    }
    let body = match crate::read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request: InterventionRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return crate::refuse(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"module\", \"course\"?, \"reason\", \"within_hours\", \"signal\"?}}: {e}"),
            )
        }
    };
    if let Err(e) = validate(&learner, &request) {
        return crate::refuse(e.status(), e.to_string());
    }
    let now_ms = hub.now_ms();
    let worker = hub.clone();
    // The learner's lock is taken in the worker thread, after the request was validated.
    let result = tokio::task::spawn_blocking(move || {
        worker.with_learner(&learner, || {
            trigger(
                worker.storage.as_ref(),
                &learner,
                &request,
                now_ms,
                &LoggingPushSender,
            )
        })
    })
    .await;
    let result = match result {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(poisoned)) => {
            return crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, poisoned.to_string())
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(Ok(triggered)) => (StatusCode::CREATED, axum::Json(triggered)).into_response(),
        Ok(Err(e)) => crate::refuse(e.status(), e.to_string()),
        Err(_) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, "the trigger failed"),
    }
}
