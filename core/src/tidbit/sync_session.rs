//! The facade's side of a sync: what to send, and applying what came back.
//!
//! [`Tidbit::sync_outgoing`] lists every document's heads and the Automerge sync messages worth
//! sending; [`Tidbit::sync_incoming`] applies a reply in one transaction: the documents' new
//! chunks, the sync states, the events they carry and the projections those events change.
//! Remote events are inserted by id, so an event received twice is stored once. If every new
//! event comes after everything already applied (in the total order of [`Event::order_key`]),
//! they are applied one by one; otherwise the log is replayed, so every device that holds the
//! same events holds the same projections, whatever order they arrived in.

use std::collections::{BTreeSet, HashMap};

use automerge::sync::{self, SyncDoc};

use super::{Tidbit, TidbitError};
use crate::learn::projection::{apply_event, rebuild, SchedulerCache};
use crate::store::event_log;
use crate::sync::documents::{self, RefusedEvent};
use crate::sync::exchange::{DocumentHeads, DocumentMessage, Exchange, Listing, RefusedDocument};
use crate::sync::local::LocalDocuments;

use crate::sync::peer::{self, Policy};

/// Documents listed in one page of heads.
pub const LISTING_PAGE: usize = 32;
/// The most sync messages one exchange carries (the server accepts up to 64).
pub const MESSAGES_PER_EXCHANGE: usize = 48;

/// One sync with one peer: the in-memory sync state of each document, for as long as the
/// exchanges run, and how far the listing of heads has gone. A failed exchange starts a new
/// session, since the peer may not have seen what this one thinks it sent.
pub struct SyncSession {
    peer: String,
    states: HashMap<String, sync::State>,
    rounds: u32,
    /// `Some(after)` while pages of heads remain to be listed, from after that name.
    listing_from: Option<Option<String>>,
    /// The page the last request listed, until its reply moves the listing on.
    listed: Option<Listing>,
    /// Documents named in any exchange of this session.
    pub documents: BTreeSet<String>,
    /// Documents whose messages the peer refused in this session, with why: they are not
    /// offered again until the next sync.
    pub refused: Vec<RefusedDocument>,
}

impl SyncSession {
    pub fn new(peer: &str) -> SyncSession {
        SyncSession {
            peer: peer.to_string(),
            states: HashMap::new(),
            rounds: 0,
            listing_from: Some(None),
            listed: None,
            documents: BTreeSet::new(),
            refused: Vec::new(),
        }
    }

    /// True until the session's first exchange has been prepared.
    pub fn is_new(&self) -> bool {
        self.rounds == 0
    }

    /// True while pages of heads remain to be listed.
    pub fn is_listing(&self) -> bool {
        self.listing_from.is_some()
    }

    /// Round trips prepared in this session.
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    fn is_refused(&self, name: &str) -> bool {
        self.refused.iter().any(|r| r.doc == name)
    }
}

/// What applying one reply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Incoming {
    pub events_received: u64,
    pub replayed: bool,
    /// Events the reply carried that the hostile-peer checks refused: kept out of the log and
    /// the projections, reported here.
    pub refused: Vec<RefusedEvent>,
}

impl Tidbit {
    /// The next exchange to send in `session`: the next page of heads while the listing runs,
    /// and the sync messages worth sending, at most [`MESSAGES_PER_EXCHANGE`] of them.
    pub fn sync_outgoing(&mut self, session: &mut SyncSession) -> Result<Exchange, TidbitError> {
        session.rounds += 1;
        let stored = event_log::document_heads(self.store.conn())?;
        let mut exchange = Exchange::default();
        // The page: the next LISTING_PAGE names after where the listing stands.
        let mut page: Vec<&str> = Vec::new();
        if let Some(after) = &session.listing_from {
            page = stored
                .iter()
                .map(|(name, _)| name.as_str())
                .filter(|name| after.as_deref().is_none_or(|after| *name > after))
                .take(LISTING_PAGE + 1)
                .collect();
            let through = if page.len() > LISTING_PAGE {
                page.truncate(LISTING_PAGE);
                page.last().map(|name| name.to_string())
            } else {
                None
            };
            let listing = Listing {
                after: after.clone(),
                through,
            };
            exchange.listing = Some(listing.clone());
            session.listed = Some(listing);
        }
        for (name, heads) in &stored {
            let listed = page.contains(&name.as_str());
            if listed {
                exchange.heads.push(DocumentHeads {
                    doc: name.clone(),
                    heads: heads.clone(),
                });
            }
            if session.is_refused(name) || exchange.messages.len() >= MESSAGES_PER_EXCHANGE {
                continue;
            }
            let state = match session.states.get_mut(name) {
                Some(state) => state,
                None => {
                    let state = LocalDocuments::sync_state(self.store.conn(), &session.peer, name)?;
                    session.states.entry(name.clone()).or_insert(state)
                }
            };
            // A listed document the peer last confirmed as it is here needs only its heads: the
            // peer answers if it has more. Unlisted ones go on only once this session has spoken
            // about them.
            let speak = session.documents.contains(name)
                || (listed && sorted(&state.shared_heads) != sorted(heads));
            if !speak {
                continue;
            }
            let doc = self.log.documents().document(self.store.conn(), name)?;
            let ours = doc.get_heads();
            if let Some(message) = doc.sync().generate_sync_message(state) {
                let worth_sending = !message.changes.is_empty()
                    || !message.need.is_empty()
                    || state.their_heads.as_ref().map(|h| sorted(h)) != Some(sorted(&ours));
                if worth_sending {
                    session.documents.insert(name.clone());
                    exchange.messages.push(DocumentMessage {
                        doc: name.clone(),
                        message: message.encode(),
                    });
                }
            }
        }
        Ok(exchange)
    }

    /// Applies a peer's reply: all of it in one transaction, or, if any part is refused, none.
    pub fn sync_incoming(
        &mut self,
        session: &mut SyncSession,
        reply: Exchange,
    ) -> Result<Incoming, TidbitError> {
        let names: Vec<String> = reply.messages.iter().map(|m| m.doc.clone()).collect();
        let result = self.apply_reply(session, reply);
        if result.is_err() {
            // Nothing of the reply was committed: drop what it left in memory.
            for name in &names {
                self.log.documents().forget(name);
                session.states.remove(name);
            }
        }
        result
    }

    fn apply_reply(
        &mut self,
        session: &mut SyncSession,
        reply: Exchange,
    ) -> Result<Incoming, TidbitError> {
        let listed = session.listed.take();
        let resume = match (&listed, &reply.resume_after) {
            (Some(listing), Some(name)) if listing.covers(name) => Some(Some(name.clone())),
            (_, Some(_)) => {
                return Err(TidbitError::RefusedPeerData(
                    "the server asked to resume a listing outside the page it was sent".into(),
                ))
            }
            (Some(listing), None) => listing.through.clone().map(Some),
            (None, None) => session.listing_from.clone(),
        };
        let tx = self.store.conn_mut().transaction()?;
        let mut received = Vec::new();
        let mut refused = Vec::new();
        let mut budget = peer::MAX_INFLATED_BYTES;
        for DocumentMessage { doc: name, message } in reply.messages {
            documents::check_name(&name).map_err(crate::sync::local::LocalError::from)?;
            session.documents.insert(name.clone());
            let state = match session.states.remove(&name) {
                Some(state) => state,
                None => LocalDocuments::sync_state(&tx, &session.peer, &name)?,
            };
            let mut state = state;
            let doc = self.log.documents().document(&tx, &name)?;
            if documents::cohort_of(&name).is_some() {
                // A cohort's space: its entries are folded when it is read, never logged.
                let incoming = crate::community::receive(
                    doc,
                    &name,
                    &mut state,
                    &message,
                    &Policy::device(),
                    None,
                    &mut budget,
                )
                .map_err(crate::sync::local::LocalError::from)?;
                refused.extend(incoming.refused);
            } else {
                let incoming = documents::receive_message(
                    doc,
                    &name,
                    &mut state,
                    &message,
                    &Policy::device(),
                    &mut budget,
                )
                .map_err(crate::sync::local::LocalError::from)?;
                received.extend(incoming.added);
                refused.extend(incoming.refused);
            }
            self.log
                .documents()
                .save(&tx, &name, crate::sync::local::COMPACT_DURING_SYNC)?;
            LocalDocuments::save_sync_state(&tx, &session.peer, &name, &state)?;
            session.states.insert(name, state);
        }
        let latest = event_log::latest_order_key(&tx)?;
        received.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let mut inserted = Vec::new();
        for event in received {
            if event_log::insert_received(&tx, &event)? {
                inserted.push(event);
            } else if !event_log::same_as_stored(&tx, &event)? {
                // Two different events under one id: the one recorded first stays.
                refused.push(RefusedEvent {
                    doc: documents::period_of(event.at_ms),
                    id: Some(event.id.clone()),
                    reason: "its id is already recorded with other content".into(),
                });
            }
        }
        let in_order = match (&latest, inserted.first()) {
            (Some(latest), Some(first)) => {
                (first.at_ms, first.device.as_str(), first.id.as_str())
                    > (latest.0, latest.1.as_str(), latest.2.as_str())
            }
            _ => true,
        };
        if in_order {
            for event in &inserted {
                apply_event(&tx, &mut self.schedulers, event)?;
            }
        } else {
            rebuild(&tx)?;
        }
        tx.commit()?;
        session.listing_from = resume;
        for document in reply.refused {
            if !session.is_refused(&document.doc) {
                session.refused.push(document);
            }
        }
        if !inserted.is_empty() {
            self.schedulers = SchedulerCache::load(self.store.conn())?;
        }
        Ok(Incoming {
            events_received: inserted.len() as u64,
            replayed: !in_order && !inserted.is_empty(),
            refused,
        })
    }
}

fn sorted(heads: &[automerge::ChangeHash]) -> Vec<automerge::ChangeHash> {
    let mut heads = heads.to_vec();
    heads.sort();
    heads
}
