//! Learning records for the organisation's LRS: the server makes every learner's xAPI
//! statements from their events (`tidbit_core::analytics::xapi`, the same bytes a device makes)
//! and forwards them from a durable outbox.
//!
//! - **Making.** Every commit that adds events marks its learner due
//!   ([`crate::storage::SyncStorage::records_due`]). The worker replays each due learner's
//!   events against the content index ([`crate::content_index`]) and queues the statements, each id
//!   once ever: a statement id is derived from its event, so making them again adds nothing.
//! - **Delivering.** Batches of [`LrsSettings::batch`] go to `POST <endpoint>/statements` with
//!   `X-Experience-API-Version: 1.0.3` and HTTP Basic credentials, oldest first. `200`/`204`
//!   delivers the batch. When the LRS refuses a batch (`400`, `409`), each statement is sent
//!   alone: `409` means it already holds that id (counted as delivered), `400` quarantines that
//!   statement with the LRS's reason (`GET /v1/admin/records`), and the rest go on. Anything
//!   else (the LRS down, `5xx`, `401`) leaves the batch pending and backs off exponentially, up
//!   to [`LrsSettings::max_backoff`]. Nothing is taken off the outbox before the LRS answered, so
//!   a restart or a crash resends at most one batch, which the LRS takes as the same statements.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tidbit_core::analytics::xapi::{statements_of, XapiSettings, XAPI_VERSION};

use crate::storage::{OutboxStatus, Settlement, StorageError};
use crate::Hub;

/// How the server reaches the organisation's LRS.
#[derive(Clone)]
pub struct LrsSettings {
    /// The LRS's xAPI base: statements go to `<endpoint>/statements`.
    pub endpoint: String,
    pub user: String,
    pub password: String,
    /// Statements per request.
    pub batch: u32,
    /// Requests in flight at once.
    pub parallel: u32,
    /// The longest wait between attempts while the LRS fails.
    pub max_backoff: Duration,
    /// The organisation's home page (learners' accounts, activity ids).
    pub home_page: String,
}

impl std::fmt::Debug for LrsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LrsSettings")
            .field("endpoint", &self.endpoint)
            .field("user", &self.user)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("the LRS endpoint must be an http(s) address, not '{0}'")]
    Endpoint(String),
    #[error("the batch size must be 1 to 1000 statements, not {0}")]
    Batch(u32),
    #[error(transparent)]
    Xapi(#[from] tidbit_core::analytics::xapi::XapiError),
    #[error("the content index: {0}")]
    Index(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("reading a learner's events: {0}")]
    Events(String),
}

/// What the worker last saw, for the admin.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryState {
    pub last_attempt_ms: Option<i64>,
    pub last_delivery_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Failed attempts in a row (the backoff's exponent).
    pub failures: u32,
}

/// The learning-records side of a hub.
pub struct Records {
    settings: LrsSettings,
    xapi: XapiSettings,
    state: Mutex<DeliveryState>,
    client: reqwest::Client,
    wake: tokio::sync::Notify,
}

impl Records {
    pub fn new(settings: LrsSettings) -> Result<Records, RecordsError> {
        let endpoint = settings.endpoint.trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(RecordsError::Endpoint(settings.endpoint));
        }
        if !(1..=1000).contains(&settings.batch) {
            return Err(RecordsError::Batch(settings.batch));
        }
        let xapi = XapiSettings::new(&settings.home_page);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RecordsError::Index(e.to_string()))?;
        Ok(Records {
            settings: LrsSettings {
                endpoint,
                ..settings
            },
            xapi,
            state: Mutex::new(DeliveryState::default()),
            client,
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn settings(&self) -> &LrsSettings {
        &self.settings
    }

    /// Asks the worker to look for new events and statements now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn state(&self) -> DeliveryState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn note(&self, change: impl FnOnce(&mut DeliveryState)) {
        if let Ok(mut state) = self.state.lock() {
            change(&mut state);
        }
    }
}

/// Makes the statements of every due learner; returns how many were new.
pub fn make_due(hub: &Hub, records: &Records) -> Result<u64, RecordsError> {
    let storage = hub.storage.as_ref();
    let mut added = 0;
    loop {
        let due = storage.records_due(64)?;
        if due.is_empty() {
            return Ok(added);
        }
        for (learner, generation) in due {
            let events = match crate::exchange::learner_events(storage, &learner) {
                Ok(events) => events,
                Err(error) => {
                    // An erased learner's mark is cleared with nothing queued.
                    if storage.is_erased(&learner)? {
                        storage.enqueue_statements(&learner, generation, &[])?;
                        continue;
                    }
                    return Err(RecordsError::Events(error.to_string()));
                }
            };
            let statements = hub
                .content
                .with_store(|store| statements_of(store, &learner, &events, &records.xapi))
                .map_err(RecordsError::Index)??;
            let mut queued = Vec::with_capacity(statements.len());
            for statement in statements {
                let body = serde_json::to_vec(&statement)
                    .map_err(|e| RecordsError::Events(e.to_string()))?;
                queued.push((statement.id, body));
            }
            added += storage.enqueue_statements(&learner, generation, &queued)?;
        }
    }
}

/// How the LRS answered one request.
enum Answer {
    Stored,
    /// `409`: for a batch, some statement conflicts; for one statement, the LRS holds its id.
    Conflict,
    /// `400`, with the LRS's reason.
    Refused(String),
    /// Anything else: the attempt failed as a whole.
    Failed(String),
}

async fn post(records: &Records, bodies: &[&[u8]]) -> Answer {
    let mut body = Vec::with_capacity(bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (i, one) in bodies.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(one);
    }
    body.push(b']');
    let settings = &records.settings;
    let sent = records
        .client
        .post(format!("{}/statements", settings.endpoint))
        .header("X-Experience-API-Version", XAPI_VERSION)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .basic_auth(&settings.user, Some(&settings.password))
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => return Answer::Failed(format!("the LRS could not be reached: {error}")),
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let text: String = text.chars().take(500).collect();
    match status.as_u16() {
        200 | 204 => Answer::Stored,
        409 => Answer::Conflict,
        400 => Answer::Refused(text),
        code => Answer::Failed(format!("the LRS answered {code}: {text}")),
    }
}

/// Delivers one batch; returns what became of each statement, or why the attempt failed.
async fn deliver(
    records: &Records,
    batch: &[crate::storage::OutboxStatement],
) -> Result<Vec<(String, Settlement)>, String> {
    let bodies: Vec<&[u8]> = batch.iter().map(|s| s.body.as_slice()).collect();
    match post(records, &bodies).await {
        Answer::Stored => {
            return Ok(batch
                .iter()
                .map(|s| (s.id.clone(), Settlement::Delivered))
                .collect())
        }
        Answer::Failed(error) => return Err(error),
        Answer::Conflict | Answer::Refused(_) if batch.len() > 1 => {}
        Answer::Conflict => return Ok(vec![(batch[0].id.clone(), Settlement::Conflict)]),
        Answer::Refused(reason) => {
            return Ok(vec![(
                batch[0].id.clone(),
                Settlement::Quarantined { reason },
            )])
        }
    }
    // The LRS refused the batch for some of its statements: each alone tells which.
    let mut settled = Vec::with_capacity(batch.len());
    for statement in batch {
        let settlement = match post(records, &[&statement.body]).await {
            Answer::Stored => Settlement::Delivered,
            Answer::Conflict => Settlement::Conflict,
            Answer::Refused(reason) => Settlement::Quarantined { reason },
            Answer::Failed(error) => {
                if settled.is_empty() {
                    return Err(error);
                }
                break;
            }
        };
        settled.push((statement.id.clone(), settlement));
    }
    Ok(settled)
}

/// One round: make due statements, deliver up to `parallel` batches. Returns how many
/// statements were settled, or the error that failed the round.
pub async fn round(hub: &Arc<Hub>, records: &Arc<Records>) -> Result<usize, String> {
    let worker = hub.clone();
    let made = {
        let records = records.clone();
        tokio::task::spawn_blocking(move || make_due(&worker, &records))
            .await
            .map_err(|e| e.to_string())?
    };
    made.map_err(|e| e.to_string())?;
    let settings = &records.settings;
    let limit = settings.batch * settings.parallel.max(1);
    let storage = hub.storage.clone();
    let pending = tokio::task::spawn_blocking(move || storage.outbox_batch(limit))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if pending.is_empty() {
        return Ok(0);
    }
    let now = hub.now_ms();
    records.note(|s| s.last_attempt_ms = Some(now));
    let batches: Vec<&[crate::storage::OutboxStatement]> =
        pending.chunks(settings.batch as usize).collect();
    let outcomes =
        futures_util::future::join_all(batches.iter().map(|batch| deliver(records, batch))).await;
    let mut settled = Vec::with_capacity(pending.len());
    let mut failure = None;
    for (batch, outcome) in batches.iter().zip(outcomes) {
        match outcome {
            Ok(done) => settled.extend(done),
            Err(error) => {
                settled.extend(batch.iter().map(|s| (s.id.clone(), Settlement::Attempted)));
                failure = Some(error);
            }
        }
    }
    let delivered = settled
        .iter()
        .filter(|(_, s)| *s != Settlement::Attempted)
        .count();
    let storage = hub.storage.clone();
    let at_ms = hub.now_ms();
    tokio::task::spawn_blocking(move || storage.settle_statements(&settled, at_ms))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if delivered > 0 {
        records.note(|s| s.last_delivery_ms = Some(at_ms));
    }
    match failure {
        Some(error) if delivered == 0 => Err(error),
        _ => Ok(delivered),
    }
}

/// Runs rounds until the task is dropped: at once while there is work, every `idle` (or when
/// woken) when there is none, and with exponential backoff while the LRS fails.
pub async fn run(hub: Arc<Hub>, records: Arc<Records>) {
    const IDLE: Duration = Duration::from_millis(500);
    let first = Duration::from_millis(250);
    loop {
        if !hub.observer.leading() {
            // Another process delivers the records.
            tokio::time::sleep(first).await;
            continue;
        }
        match round(&hub, &records).await {
            Ok(0) => {
                tokio::select! {
                    _ = tokio::time::sleep(IDLE) => {}
                    _ = records.wake.notified() => {}
                }
            }
            Ok(_) => records.note(|s| {
                s.failures = 0;
                s.last_error = None;
            }),
            Err(error) => {
                let mut failures = 0;
                records.note(|s| {
                    s.failures = s.failures.saturating_add(1);
                    s.last_error = Some(error.clone());
                    failures = s.failures;
                });
                let wait = first
                    .saturating_mul(1 << failures.min(16))
                    .min(records.settings.max_backoff);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = records.wake.notified() => {}
                }
            }
        }
    }
}

/// `GET /v1/admin/records` (admin token): the outbox's counts, the quarantined statements with
/// the LRS's reasons, and the worker's last attempt, delivery and error.
pub async fn get_records(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the learning records") {
        return refused;
    }
    #[derive(Serialize)]
    struct View {
        configured: bool,
        endpoint: Option<String>,
        outbox: OutboxStatus,
        delivery: DeliveryState,
        /// Packs the content index could not read (statements then lack their definitions).
        unreadable_packs: Vec<String>,
    }
    let storage = hub.storage.clone();
    let status = tokio::task::spawn_blocking(move || storage.outbox_status(100)).await;
    let outbox = match status {
        Ok(Ok(status)) => status,
        _ => {
            return crate::refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the outbox could not be read; retry",
            )
        }
    };
    let view = View {
        configured: hub.records.is_some(),
        endpoint: hub.records.as_ref().map(|r| r.settings.endpoint.clone()),
        outbox,
        delivery: hub.records.as_ref().map(|r| r.state()).unwrap_or_default(),
        unreadable_packs: hub.content.unreadable(),
    };
    axum::Json(view).into_response()
}
