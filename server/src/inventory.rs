//! The organisation's view of the skills inventory: `GET
//! /v1/admin/skills/{course}/{skill}/holders?min_mastery=0.8&within_days=90` (admin token)
//! answers who has the skill at that mastery or more, demonstrated within those days, from the
//! learners' summaries ([`crate::metrics`]); a learner appears only while they give the
//! `profile` consent scope. Other server code (picking a mentor) calls [`holders`] directly.
//!
//! An unknown course or skill answers `404`, a mastery outside [0, 1] or a day count outside
//! 1..=3650 `400`; nothing is written either way.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tidbit_core::analytics::inventory::{self, HolderQuery};

pub use tidbit_core::analytics::inventory::Holder;

use crate::metrics::Summaries;
use crate::Hub;

/// Default of `min_mastery`.
pub const DEFAULT_MIN_MASTERY: f64 = 0.8;
/// Default of `within_days`.
pub const DEFAULT_WITHIN_DAYS: u32 = 90;
/// Largest `within_days` accepted (ten years).
pub const MAX_WITHIN_DAYS: u32 = 3650;

/// The learners who share their skills and hold `skill` of `course` at `min_mastery` or more,
/// demonstrated within `within_days` days before `now_ms`: highest mastery first, then the
/// latest demonstration, then the learner id. An unknown skill has no holders.
pub fn holders(
    summaries: &Summaries,
    course: &str,
    skill: &str,
    min_mastery: f64,
    within_days: u32,
    now_ms: i64,
) -> Vec<Holder> {
    let all = summaries.all();
    inventory::holders(
        all.iter().map(|s| s.as_ref()),
        &HolderQuery {
            course,
            skill,
            min_mastery,
            within_days,
            now_ms,
        },
    )
}

/// The query string, read as text so a bad value gets a clear reason.
#[derive(Debug, Default, Deserialize)]
pub struct HoldersParams {
    pub min_mastery: Option<String>,
    pub within_days: Option<String>,
}

impl HoldersParams {
    /// `(min_mastery, within_days)`, or the reason they are refused.
    pub fn parse(&self) -> Result<(f64, u32), String> {
        let min_mastery = match self.min_mastery.as_deref() {
            None => DEFAULT_MIN_MASTERY,
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|m| (0.0..=1.0).contains(m))
                .ok_or_else(|| format!("min_mastery '{text}' is not a number in [0, 1]"))?,
        };
        let within_days = match self.within_days.as_deref() {
            None => DEFAULT_WITHIN_DAYS,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_WITHIN_DAYS).contains(d))
                .ok_or_else(|| {
                    format!("within_days '{text}' is not a whole number of days in 1..={MAX_WITHIN_DAYS}")
                })?,
        };
        Ok((min_mastery, within_days))
    }
}

/// What the route answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldersView {
    pub course: String,
    pub skill: String,
    pub min_mastery: f64,
    pub within_days: u32,
    pub at_ms: i64,
    pub holders: Vec<Holder>,
    /// Learners whose summaries are still being made (not yet counted).
    pub learners_pending: u64,
}

pub async fn get_holders(
    State(hub): State<Arc<Hub>>,
    uri: axum::http::Uri,
    UrlPath((course, skill)): UrlPath<(String, String)>,
    Query(params): Query<HoldersParams>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the skills inventory") {
        return refused;
    }
    let (min_mastery, within_days) = match params.parse() {
        Ok(parsed) => parsed,
        Err(reason) => return crate::refuse(StatusCode::BAD_REQUEST, reason),
    };
    // The summaries live in the leading process.
    if let Some(answer) =
        crate::lead::forward_unless_leading(&hub, &headers, &uri.to_string()).await
    {
        return answer;
    }
    let worker = hub.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let known = worker
            .content
            .with_store(|store| store.skills(&course))?
            .map_err(|e| e.to_string())?
            .iter()
            .any(|s| s.id == skill);
        if !known {
            return Ok(Err(format!(
                "no skill '{skill}' in course '{course}': check the ids against GET /v1/catalog"
            )));
        }
        let now_ms = worker.now_ms();
        let holders = holders(
            &worker.summaries,
            &course,
            &skill,
            min_mastery,
            within_days,
            now_ms,
        );
        let learners_pending = worker
            .storage
            .summaries_due(10_000)
            .map_or(0, |d| d.len() as u64);
        Ok::<_, String>(Ok(HoldersView {
            course,
            skill,
            min_mastery,
            within_days,
            at_ms: now_ms,
            holders,
            learners_pending,
        }))
    })
    .await;
    match answer {
        Ok(Ok(Ok(view))) => axum::Json(view).into_response(),
        Ok(Ok(Err(unknown))) => crate::refuse(StatusCode::NOT_FOUND, unknown),
        _ => crate::refuse(StatusCode::SERVICE_UNAVAILABLE, "retry"),
    }
}
