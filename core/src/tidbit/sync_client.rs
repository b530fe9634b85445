//! The HTTP sync client: exchanges with the server until neither side has anything to send.
//!
//! Each round trip is one POST to `{server}/v1/learners/{learner}/sync` carrying an
//! [`Exchange`] and a bearer token. The learner's store is locked only to prepare a request and
//! to apply a reply, never while waiting on the network, so the learning loop keeps running
//! during a sync. A failed round trip (no answer, a server error, a cut or garbled reply) throws
//! the session's in-memory state away, waits with exponential backoff and jitter, and starts a
//! new session: what is stored is only ever what was applied whole, so a dropped, duplicated,
//! reordered or truncated message never loses or doubles anything.
//!
//! The future [`sync`] returns may be dropped at any await point (an app cancelling the call):
//! every await is a network request or a backoff wait, and a reply is applied under the lock in
//! one SQLite transaction with no await inside, so dropping the future leaves either the whole
//! reply applied or none of it, and never leaves the store locked. The attempts are bounded
//! (see [`SyncOptions::new`]) so that a phone gives up in seconds and leaves retrying to the
//! platform's scheduler.

use std::sync::Mutex;
use std::time::Duration;

use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use super::{SyncSession, Tidbit, TidbitError};
use crate::net;
use crate::sync::exchange::{Exchange, ExchangeError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "the server refused the token ({status}): get a new token for this learner and device"
    )]
    Unauthorized { status: u16 },
    #[error("the server refused the sync ({status}): {message}")]
    Refused { status: u16, message: String },
    /// The server erased this learner (HTTP 410): it will never sync this learner id again.
    /// Nothing on this device was changed; the app decides what becomes of it (`erase`).
    #[error("the server erased this learner's data and syncs this learner no more ({message}); nothing on this device was changed")]
    Erased { message: String },
    #[error("the server could not be reached after {attempts} attempts (last: {last}); progress is kept on this device, try again later")]
    Unreachable { attempts: u32, last: String },
    #[error("the sync did not settle within {rounds} round trips; try again")]
    TooManyRounds { rounds: u32 },
    #[error("'{0}' is not a server URL (expected http://host:port or https://host)")]
    BadServer(String),
    #[error("the sync runtime could not start: {0}")]
    Runtime(String),
    #[error("the learner's store is in use by a call that failed; reopen it")]
    Poisoned,
    #[error(transparent)]
    Tidbit(#[from] TidbitError),
}

/// Where and how to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The server's base URL, such as `http://127.0.0.1:8080`.
    pub server: String,
    pub token: String,
    /// Failed round trips tolerated before giving up.
    pub max_attempts: u32,
    /// The first backoff; each further failure doubles it, with jitter, up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long one attempt may wait for the server to accept the connection (a host that
    /// drops packets, a captive network).
    pub connect_timeout: Duration,
    /// How long one round trip may take in all, connecting, sending and reading the reply
    /// included (a server that accepts and never answers).
    pub request_timeout: Duration,
}

impl SyncOptions {
    /// Defaults for a phone: 5 attempts, backoff from 250 ms, so a server that refuses
    /// connections fails the sync after about 2 to 4 s; 10 s to connect and 30 s per round
    /// trip. Retrying later is the platform scheduler's job (WorkManager, BGTaskScheduler).
    pub fn new(server: &str, token: &str) -> SyncOptions {
        SyncOptions {
            server: server.trim_end_matches('/').to_string(),
            token: token.to_string(),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Documents that sent or received a sync message.
    pub documents: u32,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Successful HTTP exchanges.
    pub round_trips: u32,
    /// Events from other devices (or earlier incarnations) newly stored here.
    pub events_received: u64,
    /// Round trips that failed and were retried.
    pub retries: u32,
    /// Events the server relayed that this device refused (see `sync::peer`): they were kept
    /// out of the log, and the rest of the reply was applied.
    pub events_refused: u64,
    /// Documents whose messages the server refused (it stored nothing of them; the others
    /// synced).
    pub documents_refused: u32,
    /// Why, for the first few refused events and documents.
    pub refusals: Vec<String>,
    /// Recordings of spoken answers shared with a cohort that this sync finished uploading.
    pub audio_uploaded: u32,
    /// Peers' ratings of the learner's shared answers this sync recorded (see
    /// `Tidbit::record_peer_ratings`).
    pub peer_ratings: u32,
}

/// The most refusal reasons a report lists.
const MAX_REPORTED_REFUSALS: usize = 16;

/// The most successful round trips past the listing of heads that one sync may take before it
/// is considered stuck. The listing itself always moves forward, a page at a time.
const MAX_ROUNDS: u32 = 32;

/// Syncs the learner in `tidbit` with the server. Locks `tidbit` only between round trips.
pub async fn sync(tidbit: &Mutex<Tidbit>, options: &SyncOptions) -> Result<SyncReport, SyncError> {
    if !(options.server.starts_with("http://") || options.server.starts_with("https://")) {
        return Err(SyncError::BadServer(options.server.clone()));
    }
    let learner = lock(tidbit)?.learner_id().to_string();
    let url = format!("{}/v1/learners/{}/sync", options.server, learner);
    // The cohorts see who practised since the last sync (with the community scope only).
    lock(tidbit)?.record_practice_days()?;
    let mut report = SyncReport::default();
    let mut session = SyncSession::new(&options.server);
    let mut failures = 0u32;
    let mut rounds_past_listing = 0u32;
    loop {
        let request = lock(tidbit)?.sync_outgoing(&mut session)?;
        // Every page of heads goes (it tells the server what this device holds); once the
        // listing is done, a reply has been applied, and with nothing left to send both sides
        // are done.
        if request.listing.is_none() {
            if request.messages.is_empty() {
                break;
            }
            rounds_past_listing += 1;
            if rounds_past_listing > MAX_ROUNDS {
                return Err(SyncError::TooManyRounds { rounds: MAX_ROUNDS });
            }
        }
        let body = request.encode();
        match round_trip(options, &url, body.clone()).await {
            Ok(reply_body) => {
                report.round_trips += 1;
                report.bytes_up += body.len() as u64;
                report.bytes_down += reply_body.len() as u64;
                let applied = Exchange::decode(&reply_body)
                    .map_err(RoundTripError::Garbled)
                    .and_then(|reply| {
                        lock(tidbit)
                            .map_err(RoundTripError::Fatal)?
                            .sync_incoming(&mut session, reply)
                            .map_err(|e| RoundTripError::Fatal(e.into()))
                    });
                match applied {
                    Ok(incoming) => {
                        report.events_received += incoming.events_received;
                        report.events_refused += incoming.refused.len() as u64;
                        for refused in incoming.refused {
                            if report.refusals.len() < MAX_REPORTED_REFUSALS {
                                report.refusals.push(refused.to_string());
                            }
                        }
                    }
                    Err(RoundTripError::Fatal(error)) => return Err(error),
                    Err(error) => {
                        retry(&mut failures, &mut report, &mut session, options, error).await?
                    }
                }
            }
            Err(RoundTripError::Fatal(error)) => return Err(error),
            Err(error) => retry(&mut failures, &mut report, &mut session, options, error).await?,
        }
    }
    // Peers' ratings that came in count towards mastery where the course says so.
    report.peer_ratings = lock(tidbit)?.record_peer_ratings()?;
    // The recordings of spoken answers shared with a cohort follow their shares.
    report.audio_uploaded = super::cohort_audio::upload_shared_audio(tidbit, options).await?;
    report.documents = session.documents.len() as u32;
    report.documents_refused = session.refused.len() as u32;
    for refused in &session.refused {
        if report.refusals.len() < MAX_REPORTED_REFUSALS {
            report
                .refusals
                .push(format!("document {}: {}", refused.doc, refused.reason));
        }
    }
    Ok(report)
}

/// Why one round trip failed.
#[derive(Debug)]
enum RoundTripError {
    /// Worth another try: the network, a server error, a garbled reply.
    Transient(String),
    Garbled(ExchangeError),
    /// Not worth another try.
    Fatal(SyncError),
}

impl std::fmt::Display for RoundTripError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoundTripError::Transient(message) => f.write_str(message),
            RoundTripError::Garbled(error) => write!(f, "garbled reply: {error}"),
            RoundTripError::Fatal(error) => write!(f, "{error}"),
        }
    }
}

async fn round_trip(
    options: &SyncOptions,
    url: &str,
    body: Vec<u8>,
) -> Result<Vec<u8>, RoundTripError> {
    let request = net::Request::new(net::Method::Post, url)
        .bearer(&options.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .timeouts(options.connect_timeout, Some(options.request_timeout));
    let mut response = net::send(request).await.map_err(transport_failed)?;
    let status = response.status();
    // A reply is at most what any valid exchange deflates to.
    let bytes = response
        .read_capped(crate::sync::exchange::MAX_BODY_BYTES)
        .await
        .map_err(|e| RoundTripError::Transient(format!("reply: {e}")))?;
    if response.is_success() {
        return Ok(bytes);
    }
    let message = String::from_utf8_lossy(&bytes)
        .chars()
        .take(300)
        .collect::<String>();
    match status {
        401 | 403 => Err(RoundTripError::Fatal(SyncError::Unauthorized { status })),
        408 | 429 => Err(RoundTripError::Transient(format!("{status}: {message}"))),
        410 => Err(RoundTripError::Fatal(SyncError::Erased {
            message: message.trim().to_string(),
        })),
        400..=499 => Err(RoundTripError::Fatal(SyncError::Refused {
            status,
            message,
        })),
        _ => Err(RoundTripError::Transient(format!("{status}: {message}"))),
    }
}

/// A call that failed on the way: another try may do better, unless no transport is set.
fn transport_failed(error: net::TransportError) -> RoundTripError {
    match error {
        net::TransportError::Unavailable => {
            RoundTripError::Fatal(SyncError::Runtime(error.to_string()))
        }
        error => RoundTripError::Transient(error.to_string()),
    }
}

/// Counts a failure, starts a new session and waits before the next try.
async fn retry(
    failures: &mut u32,
    report: &mut SyncReport,
    session: &mut SyncSession,
    options: &SyncOptions,
    error: RoundTripError,
) -> Result<(), SyncError> {
    *failures += 1;
    report.retries += 1;
    if *failures >= options.max_attempts {
        return Err(SyncError::Unreachable {
            attempts: *failures,
            last: error.to_string(),
        });
    }
    let documents = std::mem::take(&mut session.documents);
    *session = SyncSession::new(&options.server);
    session.documents = documents;
    tokio::time::sleep(backoff(
        options.initial_backoff,
        options.max_backoff,
        *failures,
    ))
    .await;
    Ok(())
}

/// Exponential backoff with jitter: a random wait in [base/2, base], base starting at
/// `initial` and doubling with each failure up to `max`.
pub(super) fn backoff(initial: Duration, max: Duration, failures: u32) -> Duration {
    let base = initial
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(max);
    let mut byte = [0u8; 2];
    let fraction = match ring::rand::SystemRandom::new().fill(&mut byte) {
        Ok(()) => f64::from(u16::from_be_bytes(byte)) / f64::from(u16::MAX),
        Err(_) => 1.0,
    };
    base.mul_f64(0.5 + fraction / 2.0)
}

fn lock(tidbit: &Mutex<Tidbit>) -> Result<std::sync::MutexGuard<'_, Tidbit>, SyncError> {
    tidbit.lock().map_err(|_| SyncError::Poisoned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let options = SyncOptions::new("http://127.0.0.1:1", "t");
        for failures in 1..12 {
            let wait = backoff(options.initial_backoff, options.max_backoff, failures);
            let base = (options.initial_backoff * (1 << (failures - 1))).min(options.max_backoff);
            assert!(
                wait >= base / 2 && wait <= base,
                "{failures}: {wait:?} vs {base:?}"
            );
        }
    }
}
