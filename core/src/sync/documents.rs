//! How a learner's progress is laid out in Automerge documents.
//!
//! A learner's events live in one document per calendar month (UTC) of the event's time,
//! `events-YYYY-MM`, each holding a single list `events` whose elements are encoded events. The
//! learning loop only ever touches the current month's document, so three years of history
//! never have to be loaded to answer an item; older months stay compact snapshots.
//!
//! Every device starts a document from the same *genesis* change (a fixed actor, time and
//! operations), so they all share the list object and no device's appends are ever hidden behind
//! a conflicting root key. Events are immutable: a device appends each event once and nothing
//! ever edits or removes an element, so merging two devices' lists keeps every event exactly
//! once. An event is stored without its id, which is derived from its device, the writer's
//! incarnation and sequence number, so the wire never carries 32 random hex digits per review.
//!
//! A cohort's shared space (`cohort-<id>`, see [`crate::community`]) is laid out the same way:
//! one append-only list, `entries`, of encoded entries, started from a genesis of its own.
//! [`receive_appends`] checks a peer's message against that shape for both kinds of document;
//! what an element may hold is then each kind's own business.

use automerge::patches::{PatchAction, PatchLog};
use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use super::peer::{self, Policy, Refusal};
use crate::events::{Event, EventKind};

/// The key of the events list at the root of a period document.
const EVENTS: &str = "events";
const PERIOD_PREFIX: &str = "events-";
/// The key of the entries list at the root of a cohort space.
const ENTRIES: &str = "entries";
const COHORT_PREFIX: &str = "cohort-";
/// The longest cohort id: letters, digits and `-`.
pub const MAX_COHORT_ID_BYTES: usize = 40;
/// The longest encoded event accepted from a peer.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("'{0}' is not a Tidbit document name (expected events-YYYY-MM or cohort-<id>)")]
    BadName(String),
    #[error("document '{doc}' is damaged: {message}")]
    Damaged { doc: String, message: String },
    #[error("document '{doc}' holds an unreadable event: {message}")]
    BadEvent { doc: String, message: String },
    #[error("a sync message for '{doc}' is unreadable: {message}")]
    BadMessage { doc: String, message: String },
    #[error("a sync message for '{doc}' would {action}; events are only ever appended")]
    NotAnAppend { doc: String, action: &'static str },
    #[error("a sync message for '{doc}' is refused: {refusal}")]
    Refused { doc: String, refusal: Refusal },
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// An event a peer sent that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedEvent {
    pub doc: String,
    /// The event's id, when it could be read far enough to derive one.
    pub id: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for RefusedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "event {id} in '{}': {}", self.doc, self.reason),
            None => write!(f, "an element of '{}': {}", self.doc, self.reason),
        }
    }
}

/// What one sync message added: the events accepted and those refused.
#[derive(Debug, Default)]
pub struct Received {
    pub added: Vec<Event>,
    pub refused: Vec<RefusedEvent>,
}

/// The name of the period document that holds events at `at_ms`.
pub fn period_of(at_ms: i64) -> String {
    let at: DateTime<Utc> = DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    format!("{PERIOD_PREFIX}{:04}-{:02}", at.year(), at.month())
}

/// Checks that `name` is a document name this version understands: peers may only create these.
pub fn check_name(name: &str) -> Result<(), DocumentError> {
    if cohort_of(name).is_some() {
        return Ok(());
    }
    let bad = || DocumentError::BadName(name.chars().take(64).collect());
    let rest = name.strip_prefix(PERIOD_PREFIX).ok_or_else(bad)?;
    let (year, month) = rest.split_once('-').ok_or_else(bad)?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) || !(1..=12).contains(&month.parse().unwrap_or(0)) {
        return Err(bad());
    }
    Ok(())
}

/// A cohort id: 1 to [`MAX_COHORT_ID_BYTES`] lowercase letters, digits and `-`.
pub fn valid_cohort_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_COHORT_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The cohort whose space `name` is, if it names one.
pub fn cohort_of(name: &str) -> Option<&str> {
    name.strip_prefix(COHORT_PREFIX)
        .filter(|id| valid_cohort_id(id))
}

/// The name of cohort `cohort`'s space.
pub fn cohort_document(cohort: &str) -> String {
    format!("{COHORT_PREFIX}{cohort}")
}

/// The key of the list a document holds: events, or a cohort's entries.
fn list_key(name: &str) -> &'static str {
    if cohort_of(name).is_some() {
        ENTRIES
    } else {
        EVENTS
    }
}

/// A new document (a period's or a cohort's): its genesis change only, identical on every
/// device.
pub fn genesis(name: &str) -> Result<AutoCommit, DocumentError> {
    check_name(name)?;
    let actor = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    let mut doc = AutoCommit::new().with_actor(ActorId::from(&actor.as_ref()[..16]));
    doc.put_object(ROOT, list_key(name), ObjType::List)?;
    doc.commit_with(CommitOptions::default().with_time(0));
    Ok(doc)
}

/// An event as stored in a document: everything but its id, which [`decode`] derives again.
#[derive(Serialize, Deserialize)]
struct StoredEvent<'a> {
    /// The writer's incarnation (its Automerge actor for that session).
    #[serde(rename = "n")]
    incarnation: std::borrow::Cow<'a, str>,
    #[serde(rename = "q")]
    sequence: u64,
    #[serde(rename = "t")]
    at_ms: i64,
    #[serde(rename = "d")]
    device: std::borrow::Cow<'a, str>,
    #[serde(flatten)]
    kind: EventKind,
}

/// Appends `event`, written by `incarnation` as its `sequence`-th event, to a period document.
pub fn append(
    doc: &mut AutoCommit,
    incarnation: &str,
    sequence: u64,
    event: &Event,
) -> Result<(), DocumentError> {
    let stored = StoredEvent {
        incarnation: incarnation.into(),
        sequence,
        at_ms: event.at_ms,
        device: event.device.as_str().into(),
        kind: event.kind.clone(),
    };
    let bytes = serde_json::to_vec(&stored).map_err(|e| DocumentError::BadEvent {
        doc: period_of(event.at_ms),
        message: e.to_string(),
    })?;
    append_element(doc, &period_of(event.at_ms), bytes, event.at_ms)
}

/// Appends one encoded element (an event or a cohort entry) to the list of document `name`.
pub fn append_element(
    doc: &mut AutoCommit,
    name: &str,
    bytes: Vec<u8>,
    at_ms: i64,
) -> Result<(), DocumentError> {
    let list = events_list(doc, name)?;
    let end = doc.length(&list);
    doc.insert(&list, end, ScalarValue::Bytes(bytes))?;
    doc.commit_with(CommitOptions::default().with_time(at_ms / 1000));
    Ok(())
}

fn events_list(doc: &AutoCommit, name: &str) -> Result<automerge::ObjId, DocumentError> {
    let key = list_key(name);
    match doc.get(ROOT, key)? {
        Some((Value::Object(ObjType::List), id)) => Ok(id),
        _ => Err(DocumentError::Damaged {
            doc: name.into(),
            message: format!("it has no {key} list"),
        }),
    }
}

/// Every element of a document's list (events or entries), encoded, in list order.
pub fn elements(doc: &AutoCommit, name: &str) -> Result<Vec<Vec<u8>>, DocumentError> {
    let list = events_list(doc, name)?;
    doc.list_range(&list, ..)
        .map(|item| match item.value {
            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Bytes(bytes)) => {
                Ok(bytes.to_vec())
            }
            other => Err(DocumentError::BadEvent {
                doc: name.into(),
                message: format!("an element is {other:?}, not an encoded element"),
            }),
        })
        .collect()
}

/// Decodes one stored event, deriving its id.
pub fn decode(doc_name: &str, bytes: &[u8]) -> Result<Event, DocumentError> {
    let bad = |message: String| DocumentError::BadEvent {
        doc: doc_name.into(),
        message,
    };
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(bad(format!("{} bytes is too long", bytes.len())));
    }
    let stored: StoredEvent = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if period_of(stored.at_ms) != doc_name {
        return Err(bad(format!(
            "an event at {} ms does not belong in this period",
            stored.at_ms
        )));
    }
    // The fields an id is derived from hold no separator: two identities never share an id.
    peer::check_identity(&stored.device, &stored.incarnation).map_err(|e| bad(e.to_string()))?;
    Ok(Event {
        id: Event::make_id(&stored.device, &stored.incarnation, stored.sequence),
        at_ms: stored.at_ms,
        device: stored.device.into_owned(),
        kind: stored.kind,
    })
}

/// Every event in a period document, in list order.
pub fn events(doc: &AutoCommit, name: &str) -> Result<Vec<Event>, DocumentError> {
    elements(doc, name)?
        .iter()
        .map(|bytes| decode(name, bytes))
        .collect()
}

/// Applies a peer's sync message to a period document and returns the events it added and
/// refused.
///
/// The message must pass [`receive_appends`]. Each appended element is then decoded and
/// checked against `policy` ([`peer::check_event`]); what fails is returned in
/// [`Received::refused`], never applied by the caller: the server refuses the whole message, a
/// device applies the rest and reports it. On an error `doc` and `state` may hold part of the
/// message: the caller must discard both (reload them from storage), which is what makes a
/// hostile message change nothing.
pub fn receive_message(
    doc: &mut AutoCommit,
    name: &str,
    state: &mut sync::State,
    message: &[u8],
    policy: &Policy,
    budget: &mut usize,
) -> Result<Received, DocumentError> {
    let appended = receive_appends(doc, name, state, message, budget)?;
    let mut received = Received::default();
    let mut ids = std::collections::HashSet::new();
    for bytes in appended {
        let refused = |id: Option<&str>, reason: String| RefusedEvent {
            doc: name.into(),
            id: id.map(str::to_string),
            reason,
        };
        match decode(name, &bytes) {
            Err(e) => received.refused.push(refused(None, e.to_string())),
            Ok(event) => {
                if !ids.insert(event.id.clone()) {
                    return Err(DocumentError::NotAnAppend {
                        doc: name.into(),
                        action: "record one event id twice",
                    });
                }
                match peer::check_event(&event, policy) {
                    Ok(()) => received.added.push(event),
                    Err(why) => received
                        .refused
                        .push(refused(Some(&event.id), why.to_string())),
                }
            }
        }
    }
    Ok(received)
}

/// Applies a peer's sync message to `doc` (a period's or a cohort's) and returns the encoded
/// elements it appended, in list order.
///
/// Before Automerge sees the message, its chunks are checked against `budget` (bytes the
/// exchange may still inflate to; see [`peer::check_message`]). A message may only append
/// byte elements to the document's list: one that would edit or delete an element, or touch
/// any other key, is an error. On an error `doc` and `state` may hold part of the message: the
/// caller discards both.
pub fn receive_appends(
    doc: &mut AutoCommit,
    name: &str,
    state: &mut sync::State,
    message: &[u8],
    budget: &mut usize,
) -> Result<Vec<Vec<u8>>, DocumentError> {
    let bad_message = |message: String| DocumentError::BadMessage {
        doc: name.into(),
        message,
    };
    let message = sync::Message::decode(message).map_err(|e| bad_message(e.to_string()))?;
    let held = doc.document();
    peer::check_message(&message, budget)
        .and_then(|()| {
            peer::check_needs(&message, |hash| {
                held.get_change_meta_by_hash(hash).is_some()
            })
        })
        .map_err(|refusal| DocumentError::Refused {
            doc: name.into(),
            refusal,
        })?;
    let list = events_list(doc, name)?;
    let mut log = PatchLog::active();
    doc.sync()
        .receive_sync_message_log_patches(state, message, &mut log)
        .map_err(|e| bad_message(e.to_string()))?;
    let refuse = |action| DocumentError::NotAnAppend {
        doc: name.into(),
        action,
    };
    let mut appended = Vec::new();
    for patch in doc.make_patches(&mut log) {
        if patch.obj != list {
            return Err(refuse("change something other than its list"));
        }
        let PatchAction::Insert { values, .. } = patch.action else {
            return Err(refuse("edit or delete a recorded element"));
        };
        for (value, _, conflict) in values.iter() {
            match value {
                Value::Scalar(scalar) if !*conflict => match scalar.as_ref() {
                    ScalarValue::Bytes(bytes) => appended.push(bytes.clone()),
                    _ => return Err(refuse("insert something that is not an encoded element")),
                },
                _ => return Err(refuse("insert something that is not an encoded element")),
            }
        }
    }
    // The list must still be exactly what it was plus the additions.
    if events_list(doc, name)? != list {
        return Err(refuse("replace its list"));
    }
    Ok(appended)
}

/// Refuses `refusal` for document `doc`.
pub fn refused(doc: &str, refusal: Refusal) -> DocumentError {
    DocumentError::Refused {
        doc: doc.chars().take(64).collect(),
        refusal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrolled(at_ms: i64, device: &str, sequence: u64) -> Event {
        Event {
            id: Event::make_id(device, "a1", sequence),
            at_ms,
            device: device.into(),
            kind: EventKind::Enrolled {
                course: "c".into(),
                path: "p".into(),
            },
        }
    }

    #[test]
    fn period_names_follow_the_utc_month() {
        assert_eq!(period_of(0), "events-1970-01");
        // 2026-11-30T23:59:59.999Z and a millisecond later.
        assert_eq!(period_of(1_796_083_199_999), "events-2026-11");
        assert_eq!(period_of(1_796_083_200_000), "events-2026-12");
        for good in ["events-2026-11", "events-1999-01"] {
            check_name(good).unwrap();
        }
        for bad in [
            "events-2026-13",
            "events-26-11",
            "profile",
            "events-2026-1x",
            "../x",
        ] {
            assert!(check_name(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn genesis_is_the_same_change_on_every_device() {
        let mut a = genesis("events-2026-11").unwrap();
        let mut b = genesis("events-2026-11").unwrap();
        assert_eq!(a.get_heads(), b.get_heads());
        assert_ne!(
            a.get_heads(),
            genesis("events-2026-12").unwrap().get_heads()
        );
    }

    #[test]
    fn appended_events_from_two_devices_merge_to_both_exactly_once() {
        let name = period_of(1_795_000_000_000);
        let mut phone = genesis(&name).unwrap();
        phone.set_actor(ActorId::from(b"phone-incarnatio".as_slice()));
        let mut tablet = genesis(&name).unwrap();
        tablet.set_actor(ActorId::from(b"tablet-incarnati".as_slice()));
        let first = enrolled(1_795_000_000_000, "phone", 1);
        let second = enrolled(1_795_000_000_500, "tablet", 1);
        append(&mut phone, "a1", 1, &first).unwrap();
        append(&mut tablet, "a1", 1, &second).unwrap();
        phone.merge(&mut tablet).unwrap();
        tablet.merge(&mut phone).unwrap();
        let mut from_phone = events(&phone, &name).unwrap();
        let mut from_tablet = events(&tablet, &name).unwrap();
        from_phone.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        from_tablet.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        assert_eq!(from_phone, vec![first, second]);
        assert_eq!(from_phone, from_tablet);
    }

    #[test]
    fn a_stored_event_is_refused_outside_its_period_or_when_malformed() {
        let event = enrolled(1_795_000_000_000, "phone", 3);
        let mut doc = genesis(&period_of(event.at_ms)).unwrap();
        append(&mut doc, "a1", 3, &event).unwrap();
        assert_eq!(events(&doc, &period_of(event.at_ms)).unwrap(), vec![event]);
        assert!(matches!(
            events(&doc, "events-1999-01"),
            Err(DocumentError::BadEvent { .. })
        ));
        assert!(decode("events-2026-11", b"{\"n\":1}").is_err());
        assert!(decode("events-2026-11", &vec![b' '; MAX_EVENT_BYTES + 1]).is_err());
    }
}
