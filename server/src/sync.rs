//! The server's side of one sync exchange for one learner's device.
//!
//! For every document the device sent a message for, the message is checked and applied (a
//! message may only append events; see `tidbit_core::sync::documents::receive_message`) and
//! answered. In the opening exchange, where the device lists every document's heads, documents
//! whose heads differ are answered too, and documents the device does not have yet are sent
//! whole. Everything an exchange changes is committed at once, or, if any part is refused,
//! nothing is.

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use tidbit_core::events::{Event, EventKind};
use tidbit_core::sync::documents::{self, DocumentError};
use tidbit_core::sync::exchange::{DocumentMessage, Exchange, MAX_DOCUMENTS};

use crate::storage::{DocumentUpdate, DocumentWrite, StateUpdate, StorageError, SyncStorage};

/// Chunks after which the server folds a document into a new snapshot.
const COMPACT_AFTER_CHUNKS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeRefused {
    #[error("{0}")]
    BadDocument(DocumentError),
    #[error("an exchange may name at most {limit} documents")]
    TooManyDocuments { limit: usize },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("a stored document could not be loaded: {0}")]
    Unloadable(String),
}

impl ExchangeRefused {
    pub fn status(&self) -> u16 {
        match self {
            ExchangeRefused::BadDocument(DocumentError::BadName(_)) => 400,
            ExchangeRefused::BadDocument(_)
            | ExchangeRefused::Storage(StorageError::DuplicateEvent { .. }) => 422,
            ExchangeRefused::TooManyDocuments { .. } => 413,
            ExchangeRefused::Storage(_) | ExchangeRefused::Unloadable(_) => 500,
        }
    }
}

/// The per-exchange limit on documents (no more than the wire format allows).
pub const DOCUMENTS_PER_EXCHANGE: usize = 64;

struct Working {
    name: String,
    doc: AutoCommit,
    loaded_heads: Vec<ChangeHash>,
    chunks: usize,
    is_new: bool,
    state: sync::State,
}

/// What one exchange did, for the caller's logs and metrics.
#[derive(Debug, Default)]
pub struct Outcome {
    pub reply: Exchange,
    pub events_received: usize,
}

/// Runs one exchange of `device` of `learner`.
pub fn exchange(
    storage: &dyn SyncStorage,
    learner: &str,
    device: &str,
    request: Exchange,
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
    let stored = storage.documents(learner)?;
    // A device with no documents yet opens with an empty exchange: it needs everything.
    let opening = !request.heads.is_empty() || request.messages.is_empty();
    let mut working: Vec<Working> = Vec::new();
    let mut outcome = Outcome::default();
    let mut new_events = Vec::new();

    for DocumentMessage { doc: name, message } in &request.messages {
        let mut work = open(storage, learner, device, name)?;
        let added: Vec<Event> =
            documents::receive_message(&mut work.doc, name, &mut work.state, message)
                .map_err(ExchangeRefused::BadDocument)?;
        // Interventions come from the L&D team through the admin endpoint, never from a device.
        if added.iter().any(|event| {
            event.device == crate::interventions::SERVER_DEVICE
                || matches!(event.kind, EventKind::InterventionTriggered { .. })
        }) {
            return Err(ExchangeRefused::BadDocument(DocumentError::NotAnAppend {
                doc: name.clone(),
                action: "record an intervention, which only the server may",
            }));
        }
        outcome.events_received += added.len();
        new_events.extend(added.into_iter().map(|event| event.id));
        working.push(work);
    }
    if opening {
        for entry in &request.heads {
            if working.iter().any(|w| w.name == entry.doc) {
                continue;
            }
            let ours = stored.iter().find(|(name, _)| *name == entry.doc);
            let differs = match ours {
                Some((_, heads)) => sorted(heads) != sorted(&entry.heads),
                // The device has a document the server does not: ask for it.
                None => true,
            };
            if differs {
                working.push(open(storage, learner, device, &entry.doc)?);
            }
        }
        for (name, _) in &stored {
            if request.heads.iter().any(|h| &h.doc == name)
                || working.iter().any(|w| &w.name == name)
            {
                continue;
            }
            // The device has never seen this document: answer as to an empty peer, which
            // makes Automerge send the whole document in one compressed message.
            let mut work = open(storage, learner, device, name)?;
            let mut empty_state = sync::State::new();
            if let Some(hello) = automerge::Automerge::new().generate_sync_message(&mut empty_state)
            {
                work.state = sync::State::new();
                work.doc
                    .sync()
                    .receive_sync_message(&mut work.state, hello)
                    .map_err(|e| ExchangeRefused::Unloadable(e.to_string()))?;
            }
            working.push(work);
        }
    }

    let mut updates = Vec::new();
    let mut states = Vec::new();
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
        let write = if work.is_new || work.chunks + 1 >= COMPACT_AFTER_CHUNKS {
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
            updates.push(DocumentUpdate {
                doc: work.name.clone(),
                write,
                heads,
            });
        }
        states.push(StateUpdate {
            doc: work.name,
            state: work.state.encode(),
        });
    }
    storage.commit(learner, device, &updates, &states, &new_events)?;
    Ok(outcome)
}

fn open(
    storage: &dyn SyncStorage,
    learner: &str,
    device: &str,
    name: &str,
) -> Result<Working, ExchangeRefused> {
    let unloadable =
        |e: automerge::AutomergeError| ExchangeRefused::Unloadable(format!("{name}: {e}"));
    let (doc, chunks, is_new) = match storage.load(learner, name)? {
        Some(stored) => {
            let mut doc = AutoCommit::load(&stored.snapshot).map_err(unloadable)?;
            for chunk in &stored.chunks {
                doc.load_incremental(chunk).map_err(unloadable)?;
            }
            (doc, stored.chunks.len(), false)
        }
        None => (
            documents::genesis(name).map_err(ExchangeRefused::BadDocument)?,
            0,
            true,
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
        doc,
        loaded_heads,
        chunks,
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
    for (name, _) in storage.documents(learner)? {
        let work = open(storage, learner, "", &name)?;
        events.extend(documents::events(&work.doc, &name).map_err(ExchangeRefused::BadDocument)?);
    }
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    Ok(events)
}
