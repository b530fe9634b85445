//! Which process does the background work when several serve one storage.
//!
//! The learning records' delivery to the LRS and the L&D summaries behind the metrics run in
//! one process at a time: the one that holds the storage's lead
//! ([`SyncStorage::lead_background_work`](crate::storage::SyncStorage::lead_background_work):
//! an advisory lock on PostgreSQL, a lock file beside the SQLite file). Every process asks for
//! it each second, so when the leader stops, however it stops, another takes over within about
//! a second and rebuilds the summaries from the storage. The leader writes where it listens
//! (its advertised address) into the storage; another process asked for what only the
//! leader holds (`GET /v1/admin/metrics`, `GET /v1/admin/experiments`) forwards the request
//! there, with the caller's token, once. The gauge `tidbit_background_leader` says which
//! process leads.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::Hub;

/// The setting where the leader's address is kept.
const LEADER_URL: &str = "background_leader_url";
/// The header a forwarded request carries (a forwarded request is never forwarded again).
pub const FORWARDED: &str = "x-tidbit-forwarded";

/// Asks for the lead every second for as long as the server runs.
pub async fn run(hub: Arc<Hub>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        try_lead(&hub).await;
    }
}

/// Takes the lead if no other process holds it (or keeps it); true while this process leads.
pub async fn try_lead(hub: &Arc<Hub>) -> bool {
    let storage = hub.storage.clone();
    let leads = matches!(
        tokio::task::spawn_blocking(move || storage.lead_background_work()).await,
        Ok(Ok(true))
    );
    if leads && !hub.observer.leading() {
        if let Some(url) = hub.advertised_url() {
            let storage = hub.storage.clone();
            let _ =
                tokio::task::spawn_blocking(move || storage.put_meta(LEADER_URL, url.as_bytes()))
                    .await;
        }
    }
    hub.observer.set_leading(leads);
    leads
}

/// For a request only the leader can answer: `None` when this process leads (answer it here),
/// else the leader's answer, or 503 while no leader is known.
pub async fn forward_unless_leading(
    hub: &Arc<Hub>,
    headers: &HeaderMap,
    path_and_query: &str,
) -> Option<Response> {
    if hub.observer.leading() || try_lead(hub).await {
        return None;
    }
    let unavailable = |why: &str| {
        let mut response = crate::refuse(StatusCode::SERVICE_UNAVAILABLE, why);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        Some(response)
    };
    if headers.contains_key(FORWARDED) {
        return unavailable("the process this was forwarded to no longer leads; retry");
    }
    let storage = hub.storage.clone();
    let leader = tokio::task::spawn_blocking(move || storage.meta(LEADER_URL)).await;
    let Ok(Ok(Some(leader))) = leader else {
        return unavailable("no process leads the background work yet; retry");
    };
    let leader = String::from_utf8_lossy(&leader).into_owned();
    if Some(&leader) == hub.advertised_url().as_ref() {
        return unavailable("this process is taking over the background work; retry");
    }
    let mut request = hub
        .http()
        .get(format!("{leader}{path_and_query}"))
        .header(FORWARDED, "1")
        .timeout(Duration::from_secs(30));
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, authorization.as_bytes());
    }
    let Ok(answer) = request.send().await else {
        return unavailable("the leading process did not answer; retry");
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answer
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let Ok(body) = answer.bytes().await else {
        return unavailable("the leading process's answer was cut; retry");
    };
    let mut response = (status, body).into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    Some(response)
}
