//! Interventions: the L&D team asks a learner to revisit a module within a deadline.
//!
//! [`trigger`] appends an `InterventionTriggered` event (module, reason, deadline) to the
//! learner's current period document, written by a fresh server incarnation, and commits it
//! through the same storage as sync exchanges: the learner's devices receive it with their next
//! sync, like any other event, and their nudge planner schedules it before the deadline. Once it
//! is committed, and without holding the learner's lock, each device that registered a push
//! token is woken ([`crate::push::wake`]: FCM or APNs, or only a log line when neither is
//! configured) and what the vendor answered is recorded for the devices.
//!
//! `POST /v1/admin/learners/{learner}/interventions` takes `{"module", "course"?, "reason",
//! "within_hours", "signal"?}` with an admin token (device `*admin*`), and for the kinds beyond
//! modules `"kind"` with what the kind names (`coaching`: `manager`, `template`; `mentoring`:
//! `course`, `skill`; `job_aid`: `course`, `aid`), resolved and checked by
//! [`crate::intervention_kinds`] before anything is written. A mentoring intervention also
//! writes a `MentoringRequested` event into the mentor's documents. `tidbit serve trigger` calls
//! [`trigger_and_push`] on the server's data directory. Nothing here edits or removes an event.

use std::sync::Arc;

use automerge::{ActorId, AutoCommit};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use tidbit_core::events::{Event, EventKind, InterventionAction};
use tidbit_core::sync::documents::{self, DocumentError};

pub use crate::intervention_kinds::RequestedKind;
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
    #[error("a {kind:?} intervention needs '{field}' (a valid id)")]
    MissingField {
        kind: RequestedKind,
        field: &'static str,
    },
    #[error("a learner cannot be their own manager in a coaching intervention")]
    OwnManager,
    #[error(
        "there is no coaching template '{0}': use after-a-miss, practice-plan or confidence-check"
    )]
    UnknownTemplate(String),
    #[error("course '{course}' has no job aid '{aid}' on this server: publish a pack of the course that holds it, or pick another")]
    UnknownJobAid { course: String, aid: String },
    #[error("nobody else holds skill '{skill}' of course '{course}' at mastery 0.8 or more, demonstrated in the last 90 days and shared in their profile: no mentor can be paired; try a coaching or job aid intervention")]
    NoMentor { course: String, skill: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the learner's document could not be updated: {0}")]
    Document(#[from] DocumentError),
    #[error("the learner's stored document '{doc}' could not be loaded: {message}")]
    Unloadable { doc: String, message: String },
    #[error("no randomness for a server incarnation")]
    NoRandomness,
    #[error("the server's worker failed; restart the server if this keeps happening")]
    Task,
}

impl InterventionError {
    fn status(&self) -> StatusCode {
        match self {
            InterventionError::BadLearner(_)
            | InterventionError::BadRequest
            | InterventionError::MissingField { .. }
            | InterventionError::OwnManager
            | InterventionError::UnknownTemplate(_)
            | InterventionError::UnknownJobAid { .. } => StatusCode::BAD_REQUEST,
            InterventionError::NoMentor { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            InterventionError::Storage(StorageError::Erased) => StatusCode::GONE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What the L&D team asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterventionRequest {
    /// `module` (the default), `coaching`, `mentoring` or `job_aid`.
    #[serde(default)]
    pub kind: RequestedKind,
    pub module: String,
    #[serde(default)]
    pub course: Option<String>,
    pub reason: String,
    pub within_hours: u32,
    /// The work-context signal behind it (a role change, a customer case), if any: devices act
    /// on it only when the learner gave the `signals` consent scope.
    #[serde(default)]
    pub signal: Option<String>,
    /// Coaching: the manager's learner id and the template's id.
    #[serde(default)]
    pub manager: Option<String>,
    #[serde(default)]
    pub template: Option<String>,
    /// Mentoring: the skill of `course`.
    #[serde(default)]
    pub skill: Option<String>,
    /// Job aid: the aid of `course`.
    #[serde(default)]
    pub aid: Option<String>,
}

/// What [`trigger`] wrote, and what became of the pushes announcing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triggered {
    /// The intervention's id: the id of the event that carries it.
    pub intervention: String,
    pub document: String,
    pub at_ms: i64,
    pub deadline_ms: i64,
    /// What was asked (absent for a module to revisit).
    #[serde(default, skip_serializing_if = "InterventionAction::is_module")]
    pub action: InterventionAction,
    /// A push vendor accepted a message for at least one of the learner's devices (or, with no
    /// vendor configured, one was logged).
    pub pushed: bool,
    /// Each push, by device: its outcome, the token only as its SHA-256.
    #[serde(default)]
    pub pushes: Vec<PushReport>,
}

pub use crate::push::{LoggingPushSender, PushMessage, PushReport, PushSender};

/// Appends a module intervention for `learner` at `now_ms`; pushing is the caller's next step
/// ([`trigger_and_push`], or [`crate::push::wake`]). The other kinds need the server's
/// content and summaries to resolve: [`trigger_and_push`] takes them.
///
/// The write is a compare-and-swap on the document's heads like every other writer's (see
/// [`SyncStorage::commit`]): when an exchange, another server process or another trigger
/// commits to the same document first, the intervention is prepared again on what they wrote.
pub fn trigger(
    storage: &dyn SyncStorage,
    learner: &str,
    request: &InterventionRequest,
    now_ms: i64,
) -> Result<Triggered, InterventionError> {
    if request.kind != RequestedKind::Module {
        return Err(InterventionError::MissingField {
            kind: request.kind,
            field: "the server's content and summaries (use trigger_and_push)",
        });
    }
    trigger_action(
        storage,
        learner,
        request,
        InterventionAction::Module,
        now_ms,
    )
}

/// Appends an intervention asking `action` of `learner` at `now_ms`.
pub fn trigger_action(
    storage: &dyn SyncStorage,
    learner: &str,
    request: &InterventionRequest,
    action: InterventionAction,
    now_ms: i64,
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
            action: action.clone(),
        },
        now_ms,
    )?;
    Ok(Triggered {
        intervention: event.id,
        document: name,
        at_ms: now_ms,
        deadline_ms,
        action,
        pushed: false,
        pushes: Vec::new(),
    })
}

/// [`trigger`] holding the learner's lock, then, with the lock released, a push to each of
/// their devices ([`crate::push::wake`]). A push that cannot be made or recorded leaves the
/// intervention in place: the devices get it with their next sync all the same.
pub async fn trigger_and_push(
    hub: &Arc<Hub>,
    learner: &str,
    request: InterventionRequest,
) -> Result<Triggered, InterventionError> {
    validate(learner, &request)?;
    let now_ms = hub.now_ms();
    let worker = hub.clone();
    let owner = learner.to_string();
    let mut triggered = tokio::task::spawn_blocking(move || {
        let action = crate::intervention_kinds::resolve(&worker, &owner, &request, now_ms)?;
        let triggered = worker
            .with_learner(&owner, || {
                trigger_action(worker.storage.as_ref(), &owner, &request, action, now_ms)
            })
            .map_err(|_| InterventionError::Task)??;
        tell_mentor(&worker, &owner, &triggered);
        Ok::<_, InterventionError>(triggered)
    })
    .await
    .map_err(|_| InterventionError::Task)??;
    let message = PushMessage {
        intervention: Some(triggered.intervention.clone()),
        deadline_ms: Some(triggered.deadline_ms),
    };
    match crate::push::wake(hub, learner, &message).await {
        Ok(pushes) => {
            triggered.pushed = pushes
                .iter()
                .any(|p| p.outcome == "delivered" || p.outcome == "logged");
            triggered.pushes = pushes;
        }
        Err(e) => eprintln!(
            "push: intervention {} was not pushed: {e}",
            triggered.intervention
        ),
    }
    Ok(triggered)
}

/// For a mentoring intervention, a `MentoringRequested` event in the mentor's documents (under
/// the mentor's lock). The learner's intervention stands when this fails; it is logged.
fn tell_mentor(hub: &Hub, mentee: &str, triggered: &Triggered) {
    let InterventionAction::Mentoring {
        mentor,
        course,
        skill,
    } = &triggered.action
    else {
        return;
    };
    let kind = EventKind::MentoringRequested {
        intervention: triggered.intervention.clone(),
        mentee: mentee.to_string(),
        course: course.clone(),
        skill: skill.clone(),
        deadline_ms: triggered.deadline_ms,
    };
    let told = hub.with_learner(mentor, || {
        append_server_event(hub.storage.as_ref(), mentor, kind, triggered.at_ms)
    });
    if !matches!(told, Ok(Ok(_))) {
        eprintln!(
            "mentoring: mentor {mentor} was not told of intervention {}",
            triggered.intervention
        );
    }
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
                format!("expected {{\"kind\"?: module|coaching|mentoring|job_aid, \"module\", \"course\"?, \"reason\", \"within_hours\", \"signal\"?, \"manager\"?, \"template\"?, \"skill\"?, \"aid\"?}}: {e}"),
            )
        }
    };
    match trigger_and_push(&hub, &learner, request).await {
        Ok(triggered) => (StatusCode::CREATED, axum::Json(triggered)).into_response(),
        Err(e) => crate::refuse(e.status(), e.to_string()),
    }
}
