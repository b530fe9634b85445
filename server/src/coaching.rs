//! The manager's side of coaching interventions.
//!
//! `GET /v1/managers/{manager}/coaching` lists the coaching interventions that name the manager,
//! each with its learner, template, reason, deadline and when it was held; only those whose
//! learner gives the `coaching` consent scope now (read from the learner's synced
//! `ConsentChanged` events through their summary): a withdrawal takes them off the list with the
//! summary's next remaking. `POST /v1/managers/{manager}/coaching/{intervention}/held` marks one
//! held: the server writes an `InterventionProgressed` (`coaching_held`) event into the
//! learner's documents, so the learner's devices see it done (and plan no more nudges for it)
//! and the outcome figures count it, the same as every other outcome, from the log.
//!
//! A manager signs in as the learner they are in Tidbit: the token is one of the manager's own
//! devices' tokens (as for their own sync), so no new role or token kind is needed.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tidbit_core::analytics::metrics::LearnerSummary;
use tidbit_core::events::{CoachingTemplate, EventKind, InterventionAction, InterventionStep};
use tidbit_core::privacy::consent::ConsentScope;

use crate::Hub;

/// One coaching conversation as the manager sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoachingRequest {
    pub intervention: String,
    pub learner: String,
    pub template: CoachingTemplate,
    pub module: String,
    pub reason: String,
    pub triggered_ms: i64,
    pub deadline_ms: i64,
    /// When the manager marked it held.
    pub held_ms: Option<i64>,
}

/// The coaching interventions naming `manager` whose learner gives the `coaching` scope now,
/// oldest first.
pub fn coaching_for<'a>(
    summaries: impl Iterator<Item = &'a LearnerSummary>,
    manager: &str,
) -> Vec<CoachingRequest> {
    let mut out: Vec<CoachingRequest> = summaries
        .filter(|s| s.consents.get(&ConsentScope::Coaching) == Some(&true))
        .flat_map(|s| {
            s.interventions.iter().filter_map(|i| match &i.action {
                InterventionAction::Coaching {
                    manager: m,
                    template,
                } if m == manager => Some(CoachingRequest {
                    intervention: i.id.clone(),
                    learner: s.learner.clone(),
                    template: template.clone(),
                    module: i.module.clone(),
                    reason: i.reason.clone(),
                    triggered_ms: i.at_ms,
                    deadline_ms: i.deadline_ms,
                    held_ms: i.done_ms,
                }),
                _ => None,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.triggered_ms, &a.intervention).cmp(&(b.triggered_ms, &b.intervention)));
    out
}

/// The manager's routes.
pub fn routes() -> axum::Router<Arc<Hub>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/managers/{manager}/coaching", get(get_coaching))
        .route(
            "/v1/managers/{manager}/coaching/{intervention}/held",
            post(post_held),
        )
}

/// The refusal of a request that is not the manager's own (a token of one of their devices),
/// or the leading process's answer when this one does not lead (the summaries live there).
async fn admit(
    hub: &Arc<Hub>,
    headers: &HeaderMap,
    manager: &str,
    uri: &axum::http::Uri,
) -> Option<Response> {
    if let Err(refused) = crate::authorize_learner(hub, headers, manager).await {
        return Some(refused);
    }
    crate::lead::forward_unless_leading(hub, headers, &uri.to_string()).await
}

/// `GET /v1/managers/{manager}/coaching` with a token of one of the manager's devices.
pub async fn get_coaching(
    State(hub): State<Arc<Hub>>,
    UrlPath(manager): UrlPath<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = admit(&hub, &headers, &manager, &uri).await {
        return answer;
    }
    let summaries = hub.summaries.all();
    axum::Json(coaching_for(summaries.iter().map(|s| s.as_ref()), &manager)).into_response()
}

/// `POST /v1/managers/{manager}/coaching/{intervention}/held`: `200` with the conversation as
/// now held (marking it twice writes nothing more), `404` for a conversation the manager does
/// not see (unknown, another manager's, or its learner withdrew the `coaching` scope).
pub async fn post_held(
    State(hub): State<Arc<Hub>>,
    UrlPath((manager, intervention)): UrlPath<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = admit(&hub, &headers, &manager, &uri).await {
        return answer;
    }
    let summaries = hub.summaries.all();
    let Some(mut found) = coaching_for(summaries.iter().map(|s| s.as_ref()), &manager)
        .into_iter()
        .find(|c| c.intervention == intervention)
    else {
        return crate::refuse(
            StatusCode::NOT_FOUND,
            format!("no coaching conversation '{}' for {manager}: it is another manager's, or its learner has not given (or withdrew) the coaching consent", intervention.chars().take(64).collect::<String>()),
        );
    };
    if found.held_ms.is_some() {
        return axum::Json(found).into_response();
    }
    let worker = hub.clone();
    let learner = found.learner.clone();
    let now_ms = hub.now_ms();
    let kind = EventKind::InterventionProgressed {
        intervention: found.intervention.clone(),
        step: InterventionStep::CoachingHeld,
    };
    let written = tokio::task::spawn_blocking(move || {
        worker.with_learner(&learner, || {
            crate::interventions::append_server_event(
                worker.storage.as_ref(),
                &learner,
                kind,
                now_ms,
            )
        })
    })
    .await;
    match written {
        Ok(Ok(Ok(_))) => {
            found.held_ms = Some(now_ms);
            axum::Json(found).into_response()
        }
        Ok(Ok(Err(e))) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        _ => crate::refuse(StatusCode::SERVICE_UNAVAILABLE, "retry"),
    }
}
