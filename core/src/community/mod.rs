//! Learning together: a cohort's shared space, its rota and its metrics.
//!
//! A cohort (10 to 12 learners the L&D team grouped by course, role and time zone) shares one
//! Automerge document, `cohort-<id>` ([`crate::sync::documents::cohort_document`]), synced through the
//! same exchange as the learner's own documents. It is an append-only list of entries
//! ([`entry`]): the server's roster, posts, shared answers, peer feedback, reactions, hides,
//! reports, rota availability, duties done, practice days and leaving. Written offline on many
//! devices and merged, nothing is lost, and every device folds the entries in one order
//! ([`space`]) into the same view, the same weekly rota ([`rota`]) and the same metrics
//! ([`metrics`]).
//!
//! What this module must never do: trust an entry's author (the server binds it to the token
//! that sent it), or let one bad entry stop a space from folding.

pub mod entry;
pub mod metrics;
pub mod rota;
pub mod space;

use automerge::{sync, AutoCommit};
use serde::{Deserialize, Serialize};

pub use entry::{check_entry, Entry, EntryKind, Reaction, Sender, SharedAnswer};
pub use metrics::CohortMetrics;
pub use rota::{Duty, Rota};
pub use space::{
    CohortSpace, FeedbackView, IgnoredEntry, MemberView, PostView, ReportView, ShareView,
};

use crate::sync::documents::{self, DocumentError, RefusedEvent};
use crate::sync::peer::Policy;

/// What one sync message added to a space: the entries accepted and those refused.
#[derive(Debug, Default)]
pub struct ReceivedEntries {
    pub added: Vec<Entry>,
    pub refused: Vec<RefusedEvent>,
}

/// Appends `entry` to the space document `name`.
pub fn append(doc: &mut AutoCommit, name: &str, entry: &Entry) -> Result<(), DocumentError> {
    documents::append_element(doc, name, entry.encode(), entry.at_ms)
}

/// Every entry of a space document that decodes and passes the field checks, with those that
/// do not (a device shows the rest; see [`check_entry`]).
pub fn entries(
    doc: &AutoCommit,
    name: &str,
) -> Result<(Vec<Entry>, Vec<RefusedEvent>), DocumentError> {
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for bytes in documents::elements(doc, name)? {
        match Entry::decode(&bytes)
            .and_then(|entry| check_entry(&entry, &Policy::device(), None).map(|()| entry))
        {
            Ok(entry) => kept.push(entry),
            Err(why) => refused.push(RefusedEvent {
                doc: name.into(),
                id: None,
                reason: why.to_string(),
            }),
        }
    }
    Ok((kept, refused))
}

/// Applies a peer's sync message to the space document `name`: only appended entries, each
/// checked by [`check_entry`] against `policy` and, on the server, the `sender`'s identity.
/// As with [`documents::receive_message`], on an error the caller discards `doc` and `state`.
pub fn receive(
    doc: &mut AutoCommit,
    name: &str,
    state: &mut sync::State,
    message: &[u8],
    policy: &Policy,
    sender: Option<&Sender>,
    budget: &mut usize,
) -> Result<ReceivedEntries, DocumentError> {
    let mut received = ReceivedEntries::default();
    let mut ids = std::collections::HashSet::new();
    let held: std::collections::HashSet<String> = documents::elements(doc, name)?
        .iter()
        .filter_map(|bytes| Entry::decode(bytes).ok().map(|e| e.id))
        .collect();
    for bytes in documents::receive_appends(doc, name, state, message, budget)? {
        match Entry::decode(&bytes) {
            Err(why) => received.refused.push(RefusedEvent {
                doc: name.into(),
                id: None,
                reason: why.to_string(),
            }),
            Ok(entry) => {
                // A copy of an id already written (in this message or before) is refused alone:
                // every fold counts the first in the space's order.
                if !ids.insert(entry.id.clone()) || held.contains(&entry.id) {
                    received.refused.push(RefusedEvent {
                        doc: name.into(),
                        id: Some(entry.id.clone()),
                        reason: "its id is already in the space".into(),
                    });
                    continue;
                }
                match check_entry(&entry, policy, sender) {
                    Ok(()) => received.added.push(entry),
                    Err(why) => received.refused.push(RefusedEvent {
                        doc: name.into(),
                        id: Some(entry.id.clone()),
                        reason: why.to_string(),
                    }),
                }
            }
        }
    }
    Ok(received)
}

/// A cohort's space as a member's app shows it at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct CohortView {
    pub cohort: String,
    pub course: String,
    pub path: String,
    pub roles: Vec<String>,
    pub members: Vec<MemberView>,
    pub rota: Rota,
    pub posts: Vec<PostView>,
    pub shares: Vec<ShareView>,
    pub open_reports: Vec<ReportView>,
    pub metrics: CohortMetrics,
    /// Entries left out of the view, and why.
    pub ignored: Vec<IgnoredEntry>,
}

impl CohortView {
    /// Folds `entries` into the view of `cohort` at `now_ms`.
    pub fn of(cohort: &str, entries: Vec<Entry>, now_ms: i64) -> CohortView {
        let mut space = CohortSpace::fold(cohort, entries);
        let rota = space.rota(rota::week_of(now_ms));
        let metrics = metrics::metrics(&mut space, now_ms);
        CohortView {
            cohort: cohort.to_string(),
            course: space.course.clone(),
            path: space.path.clone(),
            roles: space.roles.clone(),
            members: space.member_views(now_ms),
            rota,
            posts: space.posts(),
            shares: space.shares(),
            open_reports: space.open_reports(),
            metrics,
            ignored: space.ignored.clone(),
        }
    }

    /// A SHA-256 (hex) of everything the view shows: two devices showing the same space, rota
    /// and metrics have the same digest.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref())
    }
}

#[cfg(test)]
mod tests;
