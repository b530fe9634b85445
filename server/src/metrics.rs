//! The L&D team's numbers: engagement metrics across learners, experiments and the dashboard.
//!
//! Every learner has an engagement summary (`tidbit_core::analytics::metrics::summarise`:
//! their events replayed against the content index), held in memory and remade only when their
//! events change: every commit that adds events marks the learner
//! ([`crate::storage::SyncStorage::summaries_due`]), and the worker here remakes the marked
//! ones; at start and at each new UTC day every learner is marked, as mastery moves with time.
//! A request aggregates the summaries it is asked for ([`Cohort::of`]); nothing is recomputed
//! from events per request.
//!
//! - `GET /v1/admin/metrics?course=&path=&format=json|csv`: every metric ([`Cohort`]), the
//!   courses known, learners whose summaries are still being made;
//! - `GET /v1/admin/experiments`, `POST /v1/admin/experiments`: definitions and results;
//! - `GET /admin`: the dashboard, a page that signs in with an admin token and draws the same
//!   JSON (no third-party code).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tidbit_core::analytics::experiment::{analyse, Experiment, ExperimentResult};
use tidbit_core::analytics::metrics::{summarise, Cohort, Filter, LearnerSummary};

use crate::Hub;

/// Every learner's summary, by learner id.
#[derive(Default)]
pub struct Summaries {
    by_learner: RwLock<HashMap<String, Arc<LearnerSummary>>>,
}

impl Summaries {
    pub fn len(&self) -> usize {
        self.by_learner.read().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, learner: &str) -> Option<Arc<LearnerSummary>> {
        self.by_learner.read().ok()?.get(learner).cloned()
    }

    pub fn put(&self, summary: LearnerSummary) {
        if let Ok(mut map) = self.by_learner.write() {
            map.insert(summary.learner.clone(), Arc::new(summary));
        }
    }

    pub fn remove(&self, learner: &str) {
        if let Ok(mut map) = self.by_learner.write() {
            map.remove(learner);
        }
    }

    /// A snapshot of every summary (cheap: the summaries are shared).
    pub fn all(&self) -> Vec<Arc<LearnerSummary>> {
        self.by_learner
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// Remakes the summaries of every marked learner; returns how many.
pub fn make_due(hub: &Hub) -> Result<usize, String> {
    let storage = hub.storage.as_ref();
    let mut made = 0;
    loop {
        let due = storage.summaries_due(128).map_err(|e| e.to_string())?;
        if due.is_empty() {
            return Ok(made);
        }
        for (learner, generation) in due {
            // Under the learner's lock, so an erasure never sees its summary put back.
            hub.with_learner(&learner, || -> Result<(), String> {
                if storage.is_erased(&learner).map_err(|e| e.to_string())? {
                    hub.summaries.remove(&learner);
                } else {
                    let events = crate::exchange::learner_events(storage, &learner)
                        .map_err(|e| e.to_string())?;
                    let now_ms = hub.now_ms();
                    let summary = hub
                        .content
                        .with_store(|store| summarise(store, &learner, &events, now_ms))?
                        .map_err(|e| e.to_string())?;
                    hub.summaries.put(summary);
                }
                storage
                    .summary_made(&learner, generation)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| e.to_string())??;
            made += 1;
        }
    }
}

/// Makes every learner's summary now, without touching the marks a running server uses (for
/// `tidbit serve report` on a data directory).
pub fn summarise_all(hub: &Hub) -> Result<usize, String> {
    let storage = hub.storage.as_ref();
    let learners = storage.learners().map_err(|e| e.to_string())?;
    let now_ms = hub.now_ms();
    for learner in &learners {
        let events =
            crate::exchange::learner_events(storage, learner).map_err(|e| e.to_string())?;
        let summary = hub
            .content
            .with_store(|store| summarise(store, learner, &events, now_ms))?
            .map_err(|e| e.to_string())?;
        hub.summaries.put(summary);
    }
    Ok(learners.len())
}

/// Keeps the summaries current until the task is dropped.
pub async fn run(hub: Arc<Hub>) {
    let mut day = None;
    loop {
        if !hub.observer.leading() {
            // Another process makes the summaries; on taking the lead, start from everyone.
            day = None;
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let today = hub.now_ms().div_euclid(86_400_000);
        if day != Some(today) {
            let storage = hub.storage.clone();
            let _ = tokio::task::spawn_blocking(move || storage.mark_all_summaries_due()).await;
            day = Some(today);
        }
        let worker = hub.clone();
        let made = tokio::task::spawn_blocking(move || make_due(&worker)).await;
        if !matches!(made, Ok(Ok(n)) if n > 0) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MetricsQuery {
    pub course: Option<String>,
    pub path: Option<String>,
    /// Learner ids, comma-separated: a cohort.
    pub learners: Option<String>,
    pub format: Option<String>,
}

impl MetricsQuery {
    pub fn filter(&self) -> Filter {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Filter {
            course: some(&self.course),
            path: some(&self.path),
            learners: some(&self.learners)
                .map(|l| l.split(',').map(|s| s.trim().to_string()).collect()),
        }
    }
}

/// What `GET /v1/admin/metrics` answers.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsView {
    #[serde(flatten)]
    pub cohort: Cohort,
    /// Every course some learner is enrolled on, for filters.
    pub courses: Vec<String>,
    /// Every `(course, path)` some learner follows.
    pub paths: Vec<(String, String)>,
    /// Learners whose summaries are still being made.
    pub learners_pending: u64,
}

/// The metrics for `filter`, now.
pub fn view(hub: &Hub, filter: &Filter) -> MetricsView {
    let all = hub.summaries.all();
    let now = chrono::DateTime::from_timestamp_millis(hub.now_ms()).unwrap_or_default();
    let cohort = Cohort::of(all.iter().map(|s| s.as_ref()), filter, now);
    let mut courses = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for summary in &all {
        for enrolment in &summary.enrolments {
            courses.insert(enrolment.course.clone());
            paths.insert((enrolment.course.clone(), enrolment.path.clone()));
        }
    }
    let learners_pending = hub
        .storage
        .summaries_due(10_000)
        .map_or(0, |d| d.len() as u64);
    MetricsView {
        cohort,
        courses: courses.into_iter().collect(),
        paths: paths.into_iter().collect(),
        learners_pending,
    }
}

/// The view as CSV: `section,key,value` rows, one per number.
pub fn csv(view: &MetricsView) -> String {
    let mut out = String::from("section,key,value\n");
    let mut row = |section: &str, key: &str, value: String| {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        out.push_str(&format!(
            "{},{},{}\n",
            quote(section),
            quote(key),
            quote(&value)
        ));
    };
    let cohort = &view.cohort;
    if let Ok(serde_json::Value::Object(summary)) = serde_json::to_value(&cohort.summary) {
        for (key, value) in summary {
            row("summary", &key, value.to_string());
        }
    }
    for day in &cohort.activity {
        row("activity", &day.date.to_string(), day.active.to_string());
    }
    for stage in &cohort.stages {
        let key = format!("{}/{}/{}", stage.course, stage.path, stage.stage);
        row("stage_unlocked", &key, stage.unlocked.to_string());
        row("stage_passed", &key, stage.passed.to_string());
        row("stage_pass_rate", &key, stage.pass_rate.to_string());
        if let Some(days) = stage.median_days_to_unlock {
            row("stage_days_to_unlock", &key, days.to_string());
        }
    }
    for skill in &cohort.skills {
        let key = format!("{}/{}", skill.course, skill.skill);
        row("skill_mean_mastery", &key, format!("{:.4}", skill.mean));
        row(
            "skill_at_threshold",
            &key,
            skill.at_or_above_threshold.to_string(),
        );
    }
    for nudge in &cohort.nudges {
        let key = serde_json::to_value(nudge.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        row("nudge_delivered", &key, nudge.delivered.to_string());
        row("nudge_opened", &key, nudge.opened.to_string());
    }
    for learner in &cohort.at_risk {
        row("at_risk", &learner.learner, learner.reasons.join("; "));
    }
    out
}

pub async fn get_metrics(
    State(hub): State<Arc<Hub>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(query): Query<MetricsQuery>,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the metrics") {
        return refused;
    }
    if let Some(answer) =
        crate::lead::forward_unless_leading(&hub, &headers, &uri.to_string()).await
    {
        return answer;
    }
    let filter = query.filter();
    let worker = hub.clone();
    let Ok(view) = tokio::task::spawn_blocking(move || view(&worker, &filter)).await else {
        return crate::refuse(StatusCode::SERVICE_UNAVAILABLE, "retry");
    };
    match query.format.as_deref() {
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv(&view),
        )
            .into_response(),
        None | Some("json") => axum::Json(view).into_response(),
        Some(other) => crate::refuse(
            StatusCode::BAD_REQUEST,
            format!("format '{other}' is neither json nor csv"),
        ),
    }
}

#[derive(Debug, Serialize)]
pub struct ExperimentView {
    pub definition: Experiment,
    pub result: ExperimentResult,
}

/// Every experiment with its result over the summaries held now.
pub fn experiments(hub: &Hub) -> Result<Vec<ExperimentView>, String> {
    let all = hub.summaries.all();
    let mut views = Vec::new();
    for json in hub.storage.experiments().map_err(|e| e.to_string())? {
        let definition: Experiment = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        let result = analyse(&definition, all.iter().map(|s| s.as_ref()));
        views.push(ExperimentView { definition, result });
    }
    Ok(views)
}

pub async fn get_experiments(
    State(hub): State<Arc<Hub>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the experiments") {
        return refused;
    }
    // The results are computed over the summaries, which the leading process holds.
    if let Some(answer) =
        crate::lead::forward_unless_leading(&hub, &headers, &uri.to_string()).await
    {
        return answer;
    }
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || experiments(&worker)).await {
        Ok(Ok(views)) => axum::Json(views).into_response(),
        _ => crate::refuse(StatusCode::SERVICE_UNAVAILABLE, "retry"),
    }
}

/// `POST /v1/admin/experiments` (admin token) with an experiment's definition: `201`, `409`
/// for an id in use, `400` for a definition that does not check.
pub async fn post_experiment(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "an experiment") {
        return refused;
    }
    let experiment: Experiment = match serde_json::from_slice(&body) {
        Ok(experiment) => experiment,
        Err(e) => return crate::refuse(StatusCode::BAD_REQUEST, format!("not an experiment: {e}")),
    };
    if let Err(e) = experiment.check() {
        return crate::refuse(StatusCode::BAD_REQUEST, e.to_string());
    }
    let json = serde_json::to_string(&experiment).unwrap_or_default();
    let worker = hub.clone();
    let id = experiment.id.clone();
    let stored = tokio::task::spawn_blocking(move || {
        worker.storage.put_experiment(&id, &json, worker.now_ms())
    })
    .await;
    match stored {
        Ok(Ok(true)) => (StatusCode::CREATED, axum::Json(experiment)).into_response(),
        Ok(Ok(false)) => crate::refuse(
            StatusCode::CONFLICT,
            format!(
                "experiment '{}' exists; experiments are never changed, define a new one",
                experiment.id
            ),
        ),
        _ => crate::refuse(StatusCode::SERVICE_UNAVAILABLE, "retry"),
    }
}

/// `GET /admin`: the dashboard page. It holds no data; it signs in with an admin token and
/// reads the admin API like any other client.
pub async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}
