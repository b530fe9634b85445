//! Human review of automated decisions: the admin queue and a person's decision.
//!
//! A learner asks for a review on their device (a `ReviewRequested` event); the exchange that
//! stores it queues it in the same transaction ([`SyncStorage::commit_with_reviews`]). The queue
//! holds the learner id, the request's event id and its time: the learner's words, the stage and
//! the decision questioned stay in their sealed documents, read when an admin lists the queue.
//!
//! - `GET /v1/admin/reviews` (admin token): the reviews waiting, oldest first, with their texts.
//! - `POST /v1/admin/learners/{learner}/reviews/{review}` (admin token) with
//!   `{"unlock": bool, "reason", "author"}`: the decision, written as a `ReviewDecided` event of
//!   the server's device into the learner's documents (and off the queue in the same
//!   transaction); the devices apply it at their next sync (`unlock` opens the stage) and show
//!   the decision and its author. `201` with `{"decision", "at_ms"}`; an unknown review `404`; a
//!   review decided before `409` (the first decision stands).
//!
//! Retention: a decided review leaves the queue [`Hub::review_retention`] after its decision
//! (default [`DEFAULT_REVIEW_RETENTION_DAYS`] days; `tidbit serve --review-retention-days`). The
//! request and the decision themselves are part of the learner's record, in their documents,
//! until the learner is erased.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tidbit_core::events::{Event, EventKind};

use crate::interventions::{append_server_event, InterventionError};
use crate::storage::{StorageError, SyncStorage};
use crate::Hub;

/// Days a decided review stays in the queue by default.
pub const DEFAULT_REVIEW_RETENTION_DAYS: u32 = 365;
/// The most reviews one listing returns.
pub const MAX_LISTED: u32 = 200;

/// A review waiting for a person, as the admin queue lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReview {
    pub learner: String,
    /// The id of the learner's request: what a decision names.
    pub review: String,
    pub course: String,
    pub path: String,
    pub stage: String,
    /// The learner's own words.
    pub reason: String,
    /// The engine's decision the learner questions, as their device stated it.
    pub questioned: String,
    pub requested_ms: i64,
}

/// A person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewVerdict {
    /// Unlock the stage; `false` keeps it as the engine left it.
    pub unlock: bool,
    /// Why, in words the learner reads.
    pub reason: String,
    /// Who decided, as the learner sees it.
    pub author: String,
}

/// What a decision answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    /// The id of the `ReviewDecided` event.
    pub decision: String,
    pub at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("'{0}' is not a valid learner or review id")]
    BadId(String),
    #[error("a decision needs a reason (1 to 2,000 characters) and an author (1 to 256)")]
    BadVerdict,
    #[error("learner '{learner}' has no review '{review}'")]
    Unknown { learner: String, review: String },
    #[error("review '{0}' was decided before; the first decision stands")]
    AlreadyDecided(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Write(#[from] InterventionError),
    #[error("the learner's documents could not be read: {0}")]
    Documents(String),
}

impl ReviewError {
    pub fn status(&self) -> StatusCode {
        match self {
            ReviewError::BadId(_) | ReviewError::BadVerdict => StatusCode::BAD_REQUEST,
            ReviewError::Unknown { .. } => StatusCode::NOT_FOUND,
            ReviewError::AlreadyDecided(_) => StatusCode::CONFLICT,
            ReviewError::Storage(StorageError::Erased) => StatusCode::GONE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn request_of(events: &[Event], review: &str) -> Option<(String, String, String, String, String)> {
    events
        .iter()
        .find(|e| e.id == review)
        .and_then(|e| match &e.kind {
            EventKind::ReviewRequested {
                course,
                path,
                stage,
                reason,
                questioned,
            } => Some((
                course.clone(),
                path.clone(),
                stage.clone(),
                reason.clone(),
                questioned.clone(),
            )),
            _ => None,
        })
}

fn learner_events(storage: &dyn SyncStorage, learner: &str) -> Result<Vec<Event>, ReviewError> {
    crate::exchange::learner_events(storage, learner)
        .map_err(|e| ReviewError::Documents(e.to_string()))
}

/// The reviews waiting, oldest first, with their texts read from the learners' documents.
pub fn pending(storage: &dyn SyncStorage) -> Result<Vec<PendingReview>, ReviewError> {
    let queued = storage.pending_reviews(MAX_LISTED)?;
    let mut listed = Vec::with_capacity(queued.len());
    let mut events: Option<(String, Vec<Event>)> = None;
    for entry in queued {
        if events
            .as_ref()
            .is_none_or(|(learner, _)| *learner != entry.learner)
        {
            events = Some((
                entry.learner.clone(),
                learner_events(storage, &entry.learner)?,
            ));
        }
        let Some((_, learner_events)) = &events else {
            continue;
        };
        if let Some((course, path, stage, reason, questioned)) =
            request_of(learner_events, &entry.review)
        {
            listed.push(PendingReview {
                learner: entry.learner,
                review: entry.review,
                course,
                path,
                stage,
                reason,
                questioned,
                requested_ms: entry.requested_ms,
            });
        }
    }
    Ok(listed)
}

/// Records a person's decision on `review` of `learner` at `now_ms`. Call it holding the
/// learner's lock.
pub fn decide(
    storage: &dyn SyncStorage,
    learner: &str,
    review: &str,
    verdict: &ReviewVerdict,
    now_ms: i64,
) -> Result<Decided, ReviewError> {
    validate(learner, review, verdict)?;
    let unknown = || ReviewError::Unknown {
        learner: learner.into(),
        review: review.into(),
    };
    let queued = storage
        .queued_review(learner, review)?
        .ok_or_else(unknown)?;
    if queued.decided_ms.is_some() {
        return Err(ReviewError::AlreadyDecided(review.into()));
    }
    let events = learner_events(storage, learner)?;
    let (course, path, stage, _, _) = request_of(&events, review).ok_or_else(unknown)?;
    let (event, _) = append_server_event(
        storage,
        learner,
        EventKind::ReviewDecided {
            review: review.into(),
            course,
            path,
            stage,
            unlock: verdict.unlock,
            reason: verdict.reason.trim().into(),
            author: verdict.author.trim().into(),
        },
        now_ms,
    )?;
    Ok(Decided {
        decision: event.id,
        at_ms: now_ms,
    })
}

fn validate(learner: &str, review: &str, verdict: &ReviewVerdict) -> Result<(), ReviewError> {
    for id in [learner, review] {
        if !crate::auth::valid_id(id) {
            return Err(ReviewError::BadId(id.chars().take(64).collect()));
        }
    }
    let text = |t: &str, max: usize| !t.trim().is_empty() && t.len() <= max;
    if !text(&verdict.reason, 2000) || !text(&verdict.author, 256) {
        return Err(ReviewError::BadVerdict);
    }
    Ok(())
}

/// `GET /v1/admin/reviews`.
pub async fn get_reviews(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the review queue") {
        return refused;
    }
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || pending(worker.storage.as_ref())).await {
        Ok(Ok(listed)) => axum::Json(listed).into_response(),
        Ok(Err(e)) => crate::refuse(e.status(), e.to_string()),
        Err(_) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, "listing reviews failed"),
    }
}

/// `POST /v1/admin/learners/{learner}/reviews/{review}`.
pub async fn post_decision(
    State(hub): State<Arc<Hub>>,
    UrlPath((learner, review)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the review queue") {
        return refused;
    }
    let body = match crate::read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let verdict: ReviewVerdict = match serde_json::from_slice(&body) {
        Ok(verdict) => verdict,
        Err(e) => {
            return crate::refuse(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"unlock\", \"reason\", \"author\"}}: {e}"),
            )
        }
    };
    if let Err(e) = validate(&learner, &review, &verdict) {
        return crate::refuse(e.status(), e.to_string());
    }
    let now_ms = hub.now_ms();
    let worker = hub.clone();
    let result = tokio::task::spawn_blocking(move || {
        worker.with_learner(&learner, || {
            let decided = decide(worker.storage.as_ref(), &learner, &review, &verdict, now_ms);
            // Decided reviews past their retention leave the queue.
            let retention_ms = i64::from(worker.review_retention_days()) * 86_400_000;
            worker.storage.prune_reviews(now_ms - retention_ms)?;
            decided
        })
    })
    .await;
    match result {
        Ok(Ok(Ok(decided))) => (StatusCode::CREATED, axum::Json(decided)).into_response(),
        Ok(Ok(Err(e))) => crate::refuse(e.status(), e.to_string()),
        Ok(Err(poisoned)) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, poisoned.to_string()),
        Err(_) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, "the decision failed"),
    }
}
