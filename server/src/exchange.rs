//! The server's side of one sync exchange for one learner's device.
//!
//! For every document the device sent a message for, the message is checked and applied (a
//! message may only append well-formed events of the sending device, dated within the window of
//! the server's clock; see `tidbit_core::sync::peer`) and answered. A message that fails is
//! refused alone: the reply names the document and why, nothing of it is stored, and the
//! device's other documents sync. When the device lists a page of its documents' heads, the
//! documents of that range whose heads differ are answered too, and those the device does not
//! have yet are sent whole, up to [`REPLY_DOCUMENTS`] documents or [`REPLY_BYTES`] of messages a
//! reply; past that the reply says where the device should list from next.
//!
//! An exchange reads the learner's documents and writes them back with one compare-and-swap
//! commit ([`SyncStorage::commit`]): if another writer (another process, an intervention)
//! committed in between, the exchange is prepared again from what is stored. Callers hold the
//! learner's lock in the thread that runs it, so one process never runs two at once.

use std::sync::Arc;

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tidbit_core::community::{self, EntryKind};
use tidbit_core::events::{Event, EventKind};
use tidbit_core::sync::documents::{self, DocumentError};
use tidbit_core::sync::exchange::{
    DocumentMessage, Exchange, Listing, RefusedDocument, MAX_DOCUMENTS,
};
use tidbit_core::sync::peer::{self, Policy};

mod spaces;

use crate::storage::{
    DocumentUpdate, DocumentWrite, ReviewChange, StateUpdate, StorageError, SyncStorage,
};
use crate::Hub;
use spaces::{receive_entries, Owners};

/// The most documents one reply answers from a listing.
pub const REPLY_DOCUMENTS: usize = 48;
/// The most message bytes one reply carries (before deflate) from a listing; a document sent
/// whole may take one reply past it, never two.
pub const REPLY_BYTES: usize = 8 * 1024 * 1024;
/// How often an exchange is prepared again when another writer commits first.
const COMMIT_ATTEMPTS: usize = 4;

/// Chunks after which the server folds a document into a new snapshot.
const COMPACT_AFTER_CHUNKS: usize = 64;
/// Chunks hold changes uncompressed (about 20 times a snapshot's bytes per event): a document
/// is also folded once its chunks hold more than twice its snapshot and this many bytes
/// besides. A month synced daily then ends with at most a few days of chunks, and a year of
/// daily use takes about a quarter of the bytes it took with the count alone
/// (`cargo bench -p tidbit-server --bench year`).
const COMPACT_AFTER_CHUNK_BYTES: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeRefused {
    #[error("{0}")]
    BadDocument(DocumentError),
    #[error("an exchange may name at most {limit} documents")]
    TooManyDocuments { limit: usize },
    #[error("document '{0}' is listed outside the range its page covers")]
    OutsideListing(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("a stored document could not be loaded: {0}")]
    Unloadable(String),
}

impl ExchangeRefused {
    pub fn status(&self) -> u16 {
        match self {
            ExchangeRefused::BadDocument(DocumentError::BadName(_))
            | ExchangeRefused::OutsideListing(_) => 400,
            ExchangeRefused::BadDocument(_)
            | ExchangeRefused::Storage(StorageError::DuplicateEvent { .. }) => 422,
            ExchangeRefused::TooManyDocuments { .. } => 413,
            ExchangeRefused::Storage(StorageError::Erased) => 410,
            ExchangeRefused::Storage(StorageError::Conflict { .. }) => 503,
            ExchangeRefused::Storage(_) | ExchangeRefused::Unloadable(_) => 500,
        }
    }
}

/// The per-exchange limit on documents (no more than the wire format allows).
pub const DOCUMENTS_PER_EXCHANGE: usize = 64;

struct Working {
    name: String,
    /// Whose document it is: the learner's, or a cohort's (`cohort:<id>`), and the key of the
    /// device's sync state under that owner.
    owner: String,
    state_device: String,
    /// What the stored document took (snapshot and chunks), as a guide to a whole-document
    /// reply's size.
    size_hint: usize,
    doc: AutoCommit,
    loaded_heads: Vec<ChangeHash>,
    chunks: usize,
    /// Bytes of the stored snapshot and of the chunks appended since.
    snapshot_bytes: usize,
    chunk_bytes: usize,
    is_new: bool,
    state: sync::State,
}

impl Working {
    /// Whether this exchange's write should fold the document into a new snapshot.
    fn compacts(&self) -> bool {
        self.is_new
            || self.chunks + 1 >= COMPACT_AFTER_CHUNKS
            || self.chunk_bytes > 2 * self.snapshot_bytes + COMPACT_AFTER_CHUNK_BYTES
    }
}

/// What one exchange did, for the caller's logs and metrics.
#[derive(Debug, Default)]
pub struct Outcome {
    pub reply: Exchange,
    pub events_received: usize,
    /// Cohorts whose spaces took a hide or a leave (their withdrawn audio goes).
    pub cohorts_hidden: Vec<String>,
    /// Cohorts the learner left in this exchange.
    pub cohorts_left: Vec<String>,
}

/// Runs one exchange of `device` of `learner` at the server's time `now_ms`, preparing it
/// again when another writer commits first.
pub fn exchange(
    storage: &dyn SyncStorage,
    learner: &str,
    device: &str,
    request: &Exchange,
    now_ms: i64,
) -> Result<Outcome, ExchangeRefused> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match exchange_once(storage, learner, device, request, now_ms) {
            Err(ExchangeRefused::Storage(StorageError::Conflict { .. }))
                if attempt < COMMIT_ATTEMPTS => {}
            result => return result,
        }
    }
}

fn exchange_once(
    storage: &dyn SyncStorage,
    learner: &str,
    device: &str,
    request: &Exchange,
    now_ms: i64,
) -> Result<Outcome, ExchangeRefused> {
    let named = request.heads.len().max(request.messages.len());
    if named > DOCUMENTS_PER_EXCHANGE.min(MAX_DOCUMENTS) {
        return Err(ExchangeRefused::TooManyDocuments {
            limit: DOCUMENTS_PER_EXCHANGE,
        });
    }
    for name in request
        .heads
        .iter()
        .map(|h| &h.doc)
        .chain(request.messages.iter().map(|m| &m.doc))
    {
        documents::check_name(name).map_err(ExchangeRefused::BadDocument)?;
    }
    let listing = request.listing.as_ref();
    if let Some(listing) = listing {
        if let Some(outside) = request.heads.iter().find(|h| !listing.covers(&h.doc)) {
            return Err(ExchangeRefused::OutsideListing(outside.doc.clone()));
        }
    }
    let memberships = crate::cohorts::cohorts_of(storage, learner)
        .map_err(|e| ExchangeRefused::Unloadable(e.to_string()))?;
    let mut stored = storage.documents(learner)?;
    // The spaces of the learner's cohorts are listed with their own documents.
    for cohort in &memberships {
        let name = documents::cohort_document(cohort);
        stored.extend(
            storage
                .documents(&crate::cohorts::owner(cohort))?
                .into_iter()
                .filter(|(stored, _)| *stored == name),
        );
    }
    stored.sort();
    let owners = Owners {
        learner,
        device,
        memberships: &memberships,
    };
    let policy = Policy::server(device, now_ms);
    let sender = community::Sender {
        learner: learner.to_string(),
        device: device.to_string(),
    };
    let mut budget = peer::MAX_INFLATED_BYTES;
    let mut working: Vec<Working> = Vec::new();
    let mut outcome = Outcome::default();
    let mut new_events = Vec::new();
    let mut reviews = Vec::new();

    for DocumentMessage { doc: name, message } in &request.messages {
        let known = stored.iter().any(|(stored, _)| stored == name);
        if let Some(cohort) = documents::cohort_of(name) {
            if !known || !memberships.iter().any(|c| c == cohort) {
                outcome.reply.refused.push(refused(
                    name,
                    format!("this learner is not a member of cohort '{cohort}'"),
                ));
                continue;
            }
            let mut work = open(storage, &owners, name)?;
            let checks = (&policy, &sender, now_ms);
            match receive_entries(&mut work, name, message, checks, &mut budget) {
                Ok(change) => {
                    if change
                        .added
                        .iter()
                        .any(|e| matches!(e.kind, EntryKind::Hide { .. } | EntryKind::Leave {}))
                    {
                        outcome.cohorts_hidden.push(cohort.to_string());
                    }
                    if change.sender_left {
                        outcome.cohorts_left.push(cohort.to_string());
                    }
                    working.push(work);
                }
                Err(reason) => outcome.reply.refused.push(refused(name, reason)),
            }
            continue;
        }
        if !known {
            if let Err(refusal) = peer::check_new_document(name, now_ms) {
                outcome
                    .reply
                    .refused
                    .push(refused(name, refusal.to_string()));
                continue;
            }
        }
        let mut work = open(storage, &owners, name)?;
        let received = match documents::receive_message(
            &mut work.doc,
            name,
            &mut work.state,
            message,
            &policy,
            &mut budget,
        ) {
            Ok(received) => received,
            // What the message did to the working copy dies with it: nothing of it is stored.
            Err(e) => {
                outcome.reply.refused.push(refused(name, e.to_string()));
                continue;
            }
        };
        if let Some(first) = received.refused.first() {
            outcome.reply.refused.push(refused(
                name,
                format!(
                    "{} event(s) refused, nothing of this message was stored; first: {first}",
                    received.refused.len()
                ),
            ));
            continue;
        }
        outcome.events_received += received.added.len();
        for event in received.added {
            if let EventKind::ReviewRequested { .. } = event.kind {
                reviews.push(ReviewChange::Requested {
                    review: event.id.clone(),
                    at_ms: event.at_ms,
                });
            }
            new_events.push(event.id);
        }
        working.push(work);
    }
    if let Some(listing) = listing {
        answer_listing(
            storage,
            &owners,
            request,
            listing,
            &stored,
            now_ms,
            &mut working,
            &mut outcome,
        )?;
    }

    let mut updates = Vec::new();
    let mut states = Vec::new();
    let mut owners_touched = Vec::new();
    for mut work in working {
        if let Some(mut message) = work.doc.sync().generate_sync_message(&mut work.state) {
            // Changes whose dependencies are missing die with this exchange: the device must
            // forget what it already sent, or it never sends them again (and never settles).
            if let Some(flags) = message.flags.as_mut() {
                flags.set(sync::MessageFlags::SYNC_RESET);
            }
            outcome.reply.messages.push(DocumentMessage {
                doc: work.name.clone(),
                message: message.encode(),
            });
        }
        let heads = work.doc.get_heads();
        let write = if work.compacts() {
            if heads == work.loaded_heads && !work.is_new {
                DocumentWrite::Nothing
            } else {
                DocumentWrite::Snapshot(work.doc.save())
            }
        } else if heads != work.loaded_heads {
            DocumentWrite::Chunk(work.doc.save_after(&work.loaded_heads))
        } else {
            DocumentWrite::Nothing
        };
        // A brand-new document the device only named (and sent nothing for) is not stored yet.
        if !(work.is_new
            && heads
                == documents::genesis(&work.name)
                    .map_err(ExchangeRefused::BadDocument)?
                    .get_heads())
        {
            updates.push((
                work.owner.clone(),
                DocumentUpdate {
                    doc: work.name.clone(),
                    expected: (!work.is_new).then(|| work.loaded_heads.clone()),
                    write,
                    heads,
                },
            ));
        }
        states.push((
            work.owner.clone(),
            work.state_device.clone(),
            StateUpdate {
                doc: work.name,
                state: work.state.encode(),
            },
        ));
        owners_touched.push(work.owner);
    }
    // The learner's documents first, then each cohort space's, each a compare-and-swap: a
    // retry after a conflict finds what was committed already and adds nothing twice.
    let of = |owner: &str| -> (Vec<DocumentUpdate>, Vec<StateUpdate>) {
        (
            updates
                .iter()
                .filter(|(o, _)| o == owner)
                .map(|(_, u)| u.clone())
                .collect(),
            states
                .iter()
                .filter(|(o, _, _)| o == owner)
                .map(|(_, _, s)| s.clone())
                .collect(),
        )
    };
    let (learner_updates, learner_states) = of(learner);
    storage.commit_with_reviews(
        learner,
        device,
        &learner_updates,
        &learner_states,
        &new_events,
        &reviews,
    )?;
    let mut cohort_owners: Vec<&String> = owners_touched
        .iter()
        .filter(|o| o.as_str() != learner)
        .collect();
    cohort_owners.sort();
    cohort_owners.dedup();
    for owner in cohort_owners {
        let (cohort_updates, cohort_states) = of(owner);
        let state_device = crate::cohorts::state_key(learner, device);
        storage.commit(owner, &state_device, &cohort_updates, &cohort_states, &[])?;
    }
    Ok(outcome)
}

/// Answers the page of heads a device listed: in name order, the documents of its range that
/// differ or that the device lacks, until the reply is full.
#[allow(clippy::too_many_arguments)]
fn answer_listing(
    storage: &dyn SyncStorage,
    owners: &Owners,
    request: &Exchange,
    listing: &Listing,
    stored: &[(String, Vec<ChangeHash>)],
    now_ms: i64,
    working: &mut Vec<Working>,
    outcome: &mut Outcome,
) -> Result<(), ExchangeRefused> {
    let mut candidates: Vec<&str> = request
        .heads
        .iter()
        .map(|h| h.doc.as_str())
        .chain(
            stored
                .iter()
                .map(|(name, _)| name.as_str())
                .filter(|name| listing.covers(name)),
        )
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let mut answered = 0;
    let mut bytes = 0;
    // The last name of the range handled whole: where the device lists from if the reply fills.
    let mut handled: Option<&str> = None;
    for name in candidates {
        if answered >= REPLY_DOCUMENTS || (answered > 0 && bytes > REPLY_BYTES) {
            outcome.reply.resume_after = handled.map(str::to_string);
            return Ok(());
        }
        handled = Some(name);
        if working.iter().any(|w| w.name == name) || request.messages.iter().any(|m| m.doc == name)
        {
            continue;
        }
        // A cohort space the learner is not in (any more) is not answered.
        if owners.of(name).is_none() {
            continue;
        }
        let ours = stored.iter().find(|(stored, _)| stored == name);
        let theirs = request.heads.iter().find(|h| h.doc == name);
        let work = match (ours, theirs) {
            (Some((_, ours)), Some(theirs)) if sorted(ours) == sorted(&theirs.heads) => continue,
            // The device holds a document the server does not: ask for it, if its month could
            // hold events at all; else let the device know it will not be taken.
            // A device never creates a cohort space: the server forms cohorts.
            (None, Some(_)) if documents::cohort_of(name).is_some() => continue,
            (None, Some(_)) => {
                if let Err(refusal) = peer::check_new_document(name, now_ms) {
                    outcome
                        .reply
                        .refused
                        .push(refused(name, refusal.to_string()));
                    continue;
                }
                open(storage, owners, name)?
            }
            (Some(_), Some(_)) => open(storage, owners, name)?,
            // The device has never seen this document: answer as to an empty peer, which makes
            // Automerge send the whole document in one compressed message.
            (Some(_), None) => {
                let mut work = open(storage, owners, name)?;
                let mut empty_state = sync::State::new();
                if let Some(hello) =
                    automerge::Automerge::new().generate_sync_message(&mut empty_state)
                {
                    work.state = sync::State::new();
                    work.doc
                        .sync()
                        .receive_sync_message(&mut work.state, hello)
                        .map_err(|e| ExchangeRefused::Unloadable(e.to_string()))?;
                }
                work
            }
            (None, None) => continue,
        };
        answered += 1;
        bytes += work.size_hint + 64;
        working.push(work);
    }
    Ok(())
}

fn refused(doc: &str, reason: String) -> RefusedDocument {
    RefusedDocument {
        doc: doc.chars().take(64).collect(),
        reason,
    }
}

fn open(
    storage: &dyn SyncStorage,
    owners: &Owners,
    name: &str,
) -> Result<Working, ExchangeRefused> {
    let (owner, state_device) = owners
        .of(name)
        .ok_or_else(|| ExchangeRefused::Unloadable(format!("{name}: not this learner's")))?;
    let (learner, device) = (owner.as_str(), state_device.as_str());
    let unloadable =
        |e: automerge::AutomergeError| ExchangeRefused::Unloadable(format!("{name}: {e}"));
    let (doc, chunks, is_new, snapshot_bytes, chunk_bytes) = match storage.load(learner, name)? {
        Some(stored) => {
            let mut doc = AutoCommit::load(&stored.snapshot).map_err(unloadable)?;
            for chunk in &stored.chunks {
                doc.load_incremental(chunk).map_err(unloadable)?;
            }
            let chunk_bytes = stored.chunks.iter().map(Vec::len).sum::<usize>();
            (
                doc,
                stored.chunks.len(),
                false,
                stored.snapshot.len(),
                chunk_bytes,
            )
        }
        None => (
            documents::genesis(name).map_err(ExchangeRefused::BadDocument)?,
            0,
            true,
            0,
            0,
        ),
    };
    let state = storage
        .sync_state(learner, device, name)?
        .and_then(|bytes| sync::State::decode(&bytes).ok())
        .unwrap_or_default();
    let mut doc = doc;
    let loaded_heads = doc.get_heads();
    Ok(Working {
        name: name.to_string(),
        owner: owner.clone(),
        state_device: state_device.clone(),
        size_hint: snapshot_bytes + chunk_bytes,
        doc,
        loaded_heads,
        chunks,
        snapshot_bytes,
        chunk_bytes,
        is_new,
        state,
    })
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut heads = heads.to_vec();
    heads.sort();
    heads
}

/// Every event the server holds for `learner`, in the total order.
pub fn learner_events(
    storage: &dyn SyncStorage,
    learner: &str,
) -> Result<Vec<Event>, ExchangeRefused> {
    let mut events = Vec::new();
    let owners = Owners {
        learner,
        device: "",
        memberships: &[],
    };
    for (name, _) in storage.documents(learner)? {
        let work = open(storage, &owners, &name)?;
        events.extend(documents::events(&work.doc, &name).map_err(ExchangeRefused::BadDocument)?);
    }
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    Ok(events)
}

/// `POST /v1/learners/{learner}/sync`: one exchange, with a token of one of the learner's
/// devices.
pub async fn post_sync(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let claims = match crate::authorize_learner(&hub, &headers, &learner).await {
        Ok(claims) => claims,
        Err(refused) => return refused,
    };
    let body = match crate::read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let bytes_in = body.len();
    let worker_hub = hub.clone();
    // Everything from inflating the body to deflating the reply runs on the blocking pool,
    // holding the learner's lock in that thread: one exchange per learner at a time, even when
    // the client goes away mid-exchange (the work finishes, then the lock is released).
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, (StatusCode, String)> {
        let request =
            Exchange::decode(&body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
        let now_ms = worker_hub.now_ms();
        worker_hub
            .with_learner(&claims.learner, || {
                exchange(
                    worker_hub.storage.as_ref(),
                    &claims.learner,
                    &claims.device,
                    &request,
                    now_ms,
                )
            })
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map(|outcome| {
                // What the committed entries ask of the server: a leave takes the cohort off
                // the learner's list; a hide or leave deletes withdrawn audio. Both are done
                // again by the next such entry if this fails.
                for cohort in &outcome.cohorts_left {
                    if let Err(e) = worker_hub.cohort_left(cohort, &claims.learner) {
                        eprintln!("tidbit-server: a cohort leave could not be recorded: {e}");
                    }
                }
                for cohort in &outcome.cohorts_hidden {
                    if let Err(e) = crate::cohorts::audio::forget_hidden(&worker_hub, cohort) {
                        eprintln!(
                            "tidbit-server: withdrawn cohort audio could not be deleted: {e}"
                        );
                    }
                }
                outcome.reply.encode()
            })
            .map_err(|refused| {
                let status = StatusCode::from_u16(refused.status())
                    .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                (status, refused.to_string())
            })
    })
    .await;
    match result {
        Ok(Ok(reply)) => {
            hub.observer.exchange("ok", bytes_in, reply.len());
            ([(header::CONTENT_TYPE, "application/octet-stream")], reply).into_response()
        }
        Ok(Err((status, reason))) => {
            hub.observer.exchange(status.as_str(), bytes_in, 0);
            let mut response = crate::refuse(status, reason);
            // Another writer committed first every time: worth another try shortly.
            if status == StatusCode::SERVICE_UNAVAILABLE {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            response
        }
        Err(_) => crate::refuse(StatusCode::INTERNAL_SERVER_ERROR, "the exchange failed"),
    }
}
