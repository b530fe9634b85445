//! The cohort spaces in a learner's exchange: whose each document is, and what the server
//! checks and adds when a member's message reaches a space (see `tidbit_core::community`).

use tidbit_core::community::entry::MAX_ENTRIES_PER_MEMBER;
use tidbit_core::community::{self, EntryKind};
use tidbit_core::sync::documents;
use tidbit_core::sync::peer::Policy;

use super::Working;

/// Whose documents an exchange touches: the learner's, and their cohorts' spaces.
pub(super) struct Owners<'a> {
    pub(super) learner: &'a str,
    pub(super) device: &'a str,
    pub(super) memberships: &'a [String],
}

impl Owners<'_> {
    /// The owner of document `name` and the key of this device's sync state under it; `None`
    /// for a cohort space the learner is not in.
    pub(super) fn of(&self, name: &str) -> Option<(String, String)> {
        match documents::cohort_of(name) {
            None => Some((self.learner.to_string(), self.device.to_string())),
            Some(cohort) if self.memberships.iter().any(|c| c == cohort) => Some((
                crate::cohorts::owner(cohort),
                crate::cohorts::state_key(self.learner, self.device),
            )),
            Some(_) => None,
        }
    }
}

/// What a member's message did to a cohort space.
pub(super) struct SpaceChange {
    pub(super) added: Vec<community::Entry>,
    /// The sender has left the space (now, or in an earlier exchange whose follow-up failed).
    pub(super) sender_left: bool,
}

/// Applies a member's message to a cohort space: every entry must be their own, well formed,
/// new to the space, and none may be one that can never fit it (see
/// `tidbit_core::community::space::Misfit`); else nothing of it is kept. The first exchange
/// of a week that touches the space also fixes the week's rota in it, as it stands then.
pub(super) fn receive_entries(
    work: &mut Working,
    name: &str,
    message: &[u8],
    (policy, sender, now_ms): (&Policy, &community::Sender, i64),
    budget: &mut usize,
) -> Result<SpaceChange, String> {
    let received = community::receive(
        &mut work.doc,
        name,
        &mut work.state,
        message,
        policy,
        Some(sender),
        budget,
    )
    .map_err(|e| e.to_string())?;
    if let Some(first) = received.refused.first() {
        return Err(format!(
            "{} entr(ies) refused, nothing of this message was stored; first: {first}",
            received.refused.len()
        ));
    }
    let cohort = documents::cohort_of(name).unwrap_or_default();
    let (entries, _) = community::entries(&work.doc, name).map_err(|e| e.to_string())?;
    let written = entries
        .iter()
        .filter(|e| e.author == sender.learner)
        .count();
    if !received.added.is_empty() && written > MAX_ENTRIES_PER_MEMBER {
        return Err(format!(
            "a member writes at most {MAX_ENTRIES_PER_MEMBER} entries to a space; nothing of this message was stored"
        ));
    }
    let mut space = community::CohortSpace::fold(cohort, entries);
    if let Some(misfit) = space
        .ignored
        .iter()
        .find(|i| i.permanent && received.added.iter().any(|a| a.id == i.id))
    {
        return Err(format!(
            "a {} entry can never fit this space ({}); nothing of this message was stored",
            misfit.kind, misfit.reason
        ));
    }
    let week = community::rota::week_of(now_ms);
    let formed = space
        .accepted
        .iter()
        .any(|e| matches!(e.kind, EntryKind::Roster { .. }) && e.at_ms <= now_ms);
    if formed && !space.is_rota_fixed(week) {
        let duties = space.rota(week).duties;
        crate::cohorts::write_server_entry(
            &mut work.doc,
            name,
            EntryKind::RotaFixed { week, duties },
            now_ms,
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(SpaceChange {
        added: received.added,
        sender_left: space.left.contains(&sender.learner),
    })
}
