//! `GET /v1/admin/learners/{learner}/export` (admin token): one learner's data as the server
//! holds it, in the learner export's layout (`tidbit_core::tidbit::export::Archive`): every
//! event decrypted in its total order, the consent states and their history, the reviews with
//! their decisions. Progress needs the course content and is computed on the devices, whose
//! own export (`export()`, `tidbit export`) holds it with their decisions; the server's
//! archive leaves those lists empty and names `server` as its device. The same events give the
//! same bytes. An erased learner answers `410`, a learner the server holds nothing for `404`.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tidbit_core::events::SERVER_DEVICE;
use tidbit_core::tidbit::export::archive_of_events;

use crate::Hub;

pub async fn get_export(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "an export") {
        return refused;
    }
    if !crate::auth::valid_id(&learner) {
        return crate::refuse(StatusCode::BAD_REQUEST, "not a valid learner id");
    }
    if let Some(refused) = crate::erasure::refuse_erased(&hub, &learner).await {
        return refused;
    }
    let worker = hub.clone();
    let result = tokio::task::spawn_blocking(move || {
        worker.with_learner(&learner, || {
            let storage = worker.storage.as_ref();
            if storage
                .documents(&learner)
                .map_err(|e| e.to_string())?
                .is_empty()
            {
                return Ok(None);
            }
            let events =
                crate::exchange::learner_events(storage, &learner).map_err(|e| e.to_string())?;
            let archive = archive_of_events(&learner, SERVER_DEVICE, events);
            let mut bytes = serde_json::to_vec_pretty(&archive).map_err(|e| e.to_string())?;
            bytes.push(b'\n');
            Ok::<_, String>(Some(bytes))
        })
    })
    .await;
    match result {
        Ok(Ok(Ok(Some(bytes)))) => {
            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Ok(Ok(Ok(None))) => crate::refuse(
            StatusCode::NOT_FOUND,
            "the server holds nothing for this learner",
        ),
        Ok(Ok(Err(e))) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, e),
        Ok(Err(poisoned)) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, poisoned.to_string()),
        Err(_) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, "the export failed"),
    }
}
