//! Erasing a learner from the server, by crypto-shredding.
//!
//! `DELETE /v1/admin/learners/{learner}` (an admin token) and `tidbit serve erase --data DIR
//! --learner ID` call [`erase`], which holds the learner's lock while
//! [`SyncStorage::erase`] deletes, in one transaction, the learner's wrapped key (so no copy of
//! their sealed documents can ever be opened again) and every row held for them (documents,
//! chunks, sync states, event ids), records a tombstone (an HMAC of the id under a key derived
//! from the server key) that revokes every token of the learner, and appends an entry to the
//! erasure log (a random id, the time and the counts: nothing that names the learner). Deleted
//! bytes are overwritten (`secure_delete`) and the write-ahead log is emptied afterwards.
//!
//! Answers: `200` with the receipt `{"status": "erased", "erasure", "at_ms", "documents",
//! "chunks", "sync_states", "event_ids", "wal_truncated"}`; for a learner erased before, `200`
//! with `{"status": "already_erased"}` and nothing changed (erasing is idempotent); a learner id
//! the server holds nothing for and never erased, `404`; an id that is not valid, `400`. A device
//! of an erased learner that syncs gets `410 Gone` ([`refuse_erased`]); so does an intervention
//! for them. An erased learner id stays retired: the organisation gives the person a new id if
//! they return. See `server/DATA_RIGHTS.md`.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::storage::{Erasure, ErasureRecord, StorageError};
use crate::Hub;

/// What a device of an erased learner is told when it syncs.
pub const ERASED_MESSAGE: &str = "this learner's data was erased from the server at the organisation's request, and this learner id syncs no more: the data on this device is kept until the app erases it";

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("'{0}' is not a valid learner id (letters, digits, '-', '_', '.', '@'; at most 128)")]
    BadLearner(String),
    #[error("the server holds nothing for learner '{0}' and never erased them: check the id")]
    UnknownLearner(String),
    #[error("the learner's course assignments could not be removed: {0}")]
    Assignments(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Poisoned(#[from] crate::Poisoned),
}

impl ErasureError {
    pub fn status(&self) -> StatusCode {
        match self {
            ErasureError::BadLearner(_) => StatusCode::BAD_REQUEST,
            ErasureError::UnknownLearner(_) => StatusCode::NOT_FOUND,
            ErasureError::Storage(_) | ErasureError::Poisoned(_) | ErasureError::Assignments(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// What an erasure answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Receipt {
    /// Erased now: the erasure log's entry, and whether the write-ahead log was emptied at once
    /// (false when another process was reading; the deleted pages, already zeroed in the
    /// database, then leave the log at its next checkpoint).
    Erased {
        #[serde(flatten)]
        record: ErasureRecord,
        wal_truncated: bool,
    },
    /// Erased before; nothing changed.
    AlreadyErased,
}

/// Erases `learner` at the server's time, holding the learner's lock: call it from a blocking
/// thread.
pub fn erase(hub: &Hub, learner: &str) -> Result<Receipt, ErasureError> {
    if !crate::auth::valid_id(learner) {
        return Err(ErasureError::BadLearner(learner.chars().take(64).collect()));
    }
    let at_ms = hub.now_ms();
    // Their course assignments and roles go first: a failure after it leaves a learner to
    // erase again, never an erased learner still named in the assignments.
    hub.forget_assignee(learner)
        .map_err(|e| ErasureError::Assignments(e.to_string()))?;
    // So do their cohorts: what they wrote there is hidden, and they leave every roster.
    hub.forget_cohort_member(learner)
        .map_err(|e| ErasureError::Assignments(e.to_string()))?;
    // And the goals set for them.
    hub.forget_goals_of(learner)
        .map_err(|e| ErasureError::Assignments(e.to_string()))?;
    let erased = hub.with_learner(learner, || {
        let erased = hub.storage.erase(learner, at_ms);
        // The learner's engagement summary goes with their data.
        if erased.is_ok() {
            hub.summaries.remove(learner);
        }
        erased
    })??;
    match erased {
        Erasure::Erased {
            record,
            wal_truncated,
        } => Ok(Receipt::Erased {
            record,
            wal_truncated,
        }),
        Erasure::AlreadyErased => Ok(Receipt::AlreadyErased),
        Erasure::NeverSeen => Err(ErasureError::UnknownLearner(learner.into())),
    }
}

/// `DELETE /v1/admin/learners/{learner}` with an admin token.
pub async fn delete_learner(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "erasure") {
        return refused;
    }
    if !crate::auth::valid_id(&learner) {
        let error = ErasureError::BadLearner(learner.chars().take(64).collect());
        return crate::refuse(error.status(), error.to_string());
    }
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || erase(&worker, &learner)).await {
        Ok(Ok(receipt)) => (StatusCode::OK, axum::Json(receipt)).into_response(),
        Ok(Err(e)) => crate::refuse(e.status(), e.to_string()),
        Err(_) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, "the erasure failed"),
    }
}

/// `410 Gone` if `learner` was erased (their every token is revoked), before a request's body
/// is read; `None` to go on.
pub async fn refuse_erased(hub: &Arc<Hub>, learner: &str) -> Option<Response> {
    let worker = hub.clone();
    let learner = learner.to_string();
    match tokio::task::spawn_blocking(move || worker.storage.is_erased(&learner)).await {
        Ok(Ok(false)) => None,
        Ok(Ok(true)) => Some(crate::refuse(StatusCode::GONE, ERASED_MESSAGE)),
        _ => Some(crate::refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not read its store",
        )),
    }
}
