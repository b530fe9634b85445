//! The admin API of cohorts: form them, list them, read one's space and metrics, hide an
//! entry.
//!
//! - `POST /v1/admin/cohorts` with a [`CohortRequest`]: forms the cohort (or replaces its
//!   members and roles);
//! - `POST /v1/admin/cohorts/auto` with an [`AutoRequest`]: forms cohorts automatically;
//! - `GET /v1/admin/cohorts`: every cohort with its metrics now;
//! - `GET /v1/admin/cohorts/{cohort}`: the space as a member sees it (posts, shares and
//!   feedback, this week's rota, open reports, metrics);
//! - `POST /v1/admin/cohorts/{cohort}/hide` with `{"target": "<entry id>", "reason": "..."}`:
//!   the organisation hides an entry; it is gone from every member's device at their next sync.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tidbit_core::community::{CohortMetrics, CohortSpace, EntryKind};

use super::{AutoRequest, CohortError, CohortRecord, CohortRequest};
use crate::{refuse, Hub};

/// A cohort with its metrics, as `GET /v1/admin/cohorts` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CohortSummary {
    #[serde(flatten)]
    pub record: CohortRecord,
    pub metrics: CohortMetrics,
}

/// The cohorts with their metrics at `now_ms`.
pub fn summaries(hub: &Hub, now_ms: i64) -> Result<Vec<CohortSummary>, CohortError> {
    let storage = hub.storage.as_ref();
    super::records(storage)?
        .into_iter()
        .map(|record| {
            let view = super::view(storage, &record.id, now_ms)?;
            Ok(CohortSummary {
                record,
                metrics: view.metrics,
            })
        })
        .collect()
}

impl Hub {
    /// The organisation hides entry `target` of cohort `id`.
    pub fn hide_cohort_entry(
        &self,
        id: &str,
        target: &str,
        reason: &str,
    ) -> Result<(), CohortError> {
        let storage = self.storage.as_ref();
        if super::record(storage, id)?.is_none() {
            return Err(CohortError::Unknown(id.chars().take(64).collect()));
        }
        let space = CohortSpace::fold(id, super::entries(storage, id)?);
        let Some(hidden) = space
            .entry(target)
            .filter(|e| tidbit_core::community::space::is_content(&e.kind))
        else {
            return Err(CohortError::Unknown(format!(
                "{}: no post, share or feedback {}",
                id,
                target.chars().take(64).collect::<String>()
            )));
        };
        // After what it hides, whatever the writer's clock said.
        let at_ms = self.now_ms().max(hidden.at_ms.saturating_add(1));
        super::append_server_entry(
            storage,
            id,
            EntryKind::Hide {
                target: target.to_string(),
                reason: reason.chars().take(500).collect(),
            },
            at_ms,
        )?;
        super::audio::forget_hidden(self, id)?;
        Ok(())
    }
}

async fn blocking<T: Serialize + Send + 'static>(
    hub: &Arc<Hub>,
    work: impl FnOnce(&Hub) -> Result<T, CohortError> + Send + 'static,
) -> Response {
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || work(&worker)).await {
        Ok(Ok(value)) => axum::Json(value).into_response(),
        Ok(Err(error)) => refuse(error.status(), error.to_string()),
        Err(_) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the cohort request failed",
        ),
    }
}

async fn json_body<T: serde::de::DeserializeOwned>(
    hub: &Hub,
    body: axum::body::Body,
    what: &str,
) -> Result<T, Response> {
    let body = crate::read_body(hub, body).await?;
    serde_json::from_slice(&body)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("not {what}: {e}")))
}

/// `POST /v1/admin/cohorts`.
pub async fn post_cohort(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "forming cohorts") {
        return refused;
    }
    let request: CohortRequest = match json_body(&hub, body, "a cohort").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    blocking(&hub, move |hub| hub.form_cohort(&request)).await
}

/// `POST /v1/admin/cohorts/auto`.
pub async fn post_auto(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "forming cohorts") {
        return refused;
    }
    let request: AutoRequest = match json_body(&hub, body, "an automatic forming").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    if !tidbit_core::sync::documents::valid_cohort_id(&format!("{}-99", request.prefix)) {
        return refuse(
            StatusCode::BAD_REQUEST,
            CohortError::BadId(request.prefix.chars().take(64).collect()).to_string(),
        );
    }
    blocking(&hub, move |hub| hub.auto_form_cohorts(&request)).await
}

/// `GET /v1/admin/cohorts`.
pub async fn get_cohorts(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "reading cohorts") {
        return refused;
    }
    blocking(&hub, |hub| summaries(hub, hub.now_ms())).await
}

/// `GET /v1/admin/cohorts/{cohort}`.
pub async fn get_cohort(
    State(hub): State<Arc<Hub>>,
    UrlPath(cohort): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "reading a cohort") {
        return refused;
    }
    blocking(&hub, move |hub| {
        super::view(hub.storage.as_ref(), &cohort, hub.now_ms())
    })
    .await
}

/// `POST /v1/admin/cohorts/{cohort}/hide`.
pub async fn post_hide(
    State(hub): State<Arc<Hub>>,
    UrlPath(cohort): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Hide {
        target: String,
        #[serde(default)]
        reason: String,
    }
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "hiding cohort content") {
        return refused;
    }
    let hide: Hide = match json_body(&hub, body, "a hide").await {
        Ok(hide) => hide,
        Err(response) => return response,
    };
    blocking(&hub, move |hub| {
        hub.hide_cohort_entry(&cohort, &hide.target, &hide.reason)
            .map(|()| serde_json::json!({"hidden": hide.target}))
    })
    .await
}
