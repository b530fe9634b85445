//! Cohorts on the server: forming them, who belongs where, and the server's own entries in a
//! cohort's space.
//!
//! The L&D team forms a cohort (`POST /v1/admin/cohorts`, `tidbit serve cohort form`) from
//! named learners, or has the server form them from a course's learners, balanced in size and
//! grouped by time zone (`POST /v1/admin/cohorts/auto`, `tidbit serve cohort auto`). Forming
//! writes a roster entry into the cohort's space (`cohort-<id>`, see
//! [`tidbit_core::community`]) and records who belongs where; the space reaches each member's
//! devices through their next sync, with the learner's own documents, and only theirs
//! (`crate::exchange`).
//!
//! Where things are kept:
//! - each space is stored with the documents, under the owner `cohort:<id>` (no learner id
//!   holds a `:`), sealed like a learner's documents under a key of its own;
//! - the cohort's record (course, path, roles, members) and each learner's list of cohorts are
//!   `server_meta` values (`cohort/<id>`, `cohorts-of/<learner>`), with the list of every
//!   cohort (`cohorts`). They are written under this process's lock; as for assignments, two
//!   processes forming cohorts at the same moment may lose one change (form them through one).
//!
//! A member leaving (their `leave` entry) takes the cohort off their list when the exchange
//! that carries it commits; an erased learner's entries are hidden by the server and they are
//! taken off every roster.

pub mod audio;
pub mod http;

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, AutoCommit};
use chrono::Offset;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use tidbit_core::community::{self, CohortView, Entry, EntryKind};
use tidbit_core::events::SERVER_DEVICE;
use tidbit_core::sync::documents::{self, cohort_document, valid_cohort_id, DocumentError};

use crate::storage::{DocumentUpdate, DocumentWrite, StorageError, SyncStorage};
use crate::Hub;

/// The documents' owner under which cohort `id`'s space is stored.
pub fn owner(cohort: &str) -> String {
    format!("cohort:{cohort}")
}

/// The key a device's sync state of a cohort space is kept under: the learner and the device
/// (a `/` appears in neither).
pub fn state_key(learner: &str, device: &str) -> String {
    format!("{learner}/{device}")
}

/// The most cohorts one learner belongs to.
pub const MAX_COHORTS_PER_LEARNER: usize = 3;
/// The size the server forms cohorts at, and the range it accepts.
pub const TARGET_SIZE: usize = 12;
pub const MAX_SIZE: usize = community::entry::MAX_MEMBERS;

const ALL_COHORTS: &str = "cohorts";

fn record_key(cohort: &str) -> String {
    format!("cohort/{cohort}")
}

fn membership_key(learner: &str) -> String {
    format!("cohorts-of/{learner}")
}

/// A cohort as the server records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohortRecord {
    pub id: String,
    pub course: String,
    pub path: String,
    /// The roles that rotate (none: facilitator, reviewer, summariser).
    #[serde(default)]
    pub roles: Vec<String>,
    pub members: Vec<String>,
}

/// `POST /v1/admin/cohorts` (forms the cohort, or replaces its members and roles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortRequest {
    pub id: String,
    pub course: String,
    pub path: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub members: Vec<String>,
}

/// One learner offered to automatic forming, with their IANA time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub learner: String,
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn utc() -> String {
    "UTC".into()
}

/// `POST /v1/admin/cohorts/auto`: forms cohorts of about `size` from `learners` (or, when
/// none are named, from every learner the course is assigned to by name or by role), named
/// `<prefix>-1`, `<prefix>-2`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoRequest {
    pub prefix: String,
    pub course: String,
    pub path: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub learners: Vec<Candidate>,
    #[serde(default)]
    pub size: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum CohortError {
    #[error("'{0}' is not a cohort id (1 to 40 lowercase letters, digits and '-')")]
    BadId(String),
    #[error("'{0}' is not a valid {1} id (letters, digits, '-', '_', '.', '@'; at most 128)")]
    BadName(String, &'static str),
    #[error("'{0}' is not a role name (1 to 40 lowercase letters, digits, '-' or '_')")]
    BadRole(String),
    #[error("a cohort has 1 to {MAX_SIZE} members, and each once; this one lists {0}")]
    BadSize(usize),
    #[error(
        "learner '{0}' is already in {MAX_COHORTS_PER_LEARNER} cohorts: take them out of one first"
    )]
    TooManyCohorts(String),
    #[error("learner '{0}' was erased: their id is retired")]
    Erased(String),
    #[error("'{0}' is not an IANA time zone (such as Europe/Berlin)")]
    BadTimeZone(String),
    #[error("no learners to form cohorts from: name them, or assign the course first")]
    NoLearners,
    #[error("there is no cohort '{0}'")]
    Unknown(String),
    #[error("the stored cohort records are unreadable ({0}); restore server_meta from a backup")]
    Corrupt(String),
    #[error("cohort space '{doc}' cannot be loaded: {message}")]
    Unloadable { doc: String, message: String },
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("the system random number generator failed")]
    NoRandomness,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Poisoned(#[from] crate::Poisoned),
}

impl CohortError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            CohortError::BadId(_)
            | CohortError::BadName(..)
            | CohortError::BadRole(_)
            | CohortError::BadSize(_)
            | CohortError::BadTimeZone(_)
            | CohortError::NoLearners => StatusCode::BAD_REQUEST,
            CohortError::TooManyCohorts(_) => StatusCode::CONFLICT,
            CohortError::Erased(_) => StatusCode::GONE,
            CohortError::Unknown(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned + Default>(
    storage: &dyn SyncStorage,
    key: &str,
) -> Result<T, CohortError> {
    match storage.meta(key)? {
        None => Ok(T::default()),
        Some(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| CohortError::Corrupt(e.to_string()))
        }
    }
}

fn write_json<T: Serialize>(
    storage: &dyn SyncStorage,
    key: &str,
    value: &T,
) -> Result<(), CohortError> {
    let bytes = serde_json::to_vec(value).map_err(|e| CohortError::Corrupt(e.to_string()))?;
    Ok(storage.put_meta(key, &bytes)?)
}

/// The cohorts `learner` belongs to.
pub fn cohorts_of(storage: &dyn SyncStorage, learner: &str) -> Result<Vec<String>, CohortError> {
    read_json(storage, &membership_key(learner))
}

/// Cohort `id`'s record, if it was formed.
pub fn record(storage: &dyn SyncStorage, id: &str) -> Result<Option<CohortRecord>, CohortError> {
    if !valid_cohort_id(id) {
        return Ok(None);
    }
    match storage.meta(&record_key(id))? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CohortError::Corrupt(e.to_string())),
    }
}

/// Every cohort's record, by id.
pub fn records(storage: &dyn SyncStorage) -> Result<Vec<CohortRecord>, CohortError> {
    let ids: Vec<String> = read_json(storage, ALL_COHORTS)?;
    let mut records = Vec::new();
    for id in ids {
        if let Some(record) = record(storage, &id)? {
            records.push(record);
        }
    }
    Ok(records)
}

/// The entries of cohort `id`'s space, as the server holds them.
pub fn entries(storage: &dyn SyncStorage, id: &str) -> Result<Vec<Entry>, CohortError> {
    let name = cohort_document(id);
    let Some(doc) = load(storage, id)? else {
        return Ok(Vec::new());
    };
    Ok(community::entries(&doc, &name)?.0)
}

/// The space of cohort `id` as a member's app would show it at `now_ms`.
pub fn view(storage: &dyn SyncStorage, id: &str, now_ms: i64) -> Result<CohortView, CohortError> {
    if record(storage, id)?.is_none() {
        return Err(CohortError::Unknown(id.chars().take(64).collect()));
    }
    Ok(CohortView::of(id, entries(storage, id)?, now_ms))
}

fn load(storage: &dyn SyncStorage, id: &str) -> Result<Option<AutoCommit>, CohortError> {
    let name = cohort_document(id);
    let unloadable = |e: automerge::AutomergeError| CohortError::Unloadable {
        doc: name.clone(),
        message: e.to_string(),
    };
    let Some(stored) = storage.load(&owner(id), &name)? else {
        return Ok(None);
    };
    let mut doc = AutoCommit::load(&stored.snapshot).map_err(unloadable)?;
    for chunk in &stored.chunks {
        doc.load_incremental(chunk).map_err(unloadable)?;
    }
    Ok(Some(doc))
}

/// Appends one server entry (a roster, a hide) to cohort `id`'s space, preparing it again
/// when another writer commits first.
pub fn append_server_entry(
    storage: &dyn SyncStorage,
    id: &str,
    kind: EntryKind,
    now_ms: i64,
) -> Result<Entry, CohortError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_append(storage, id, kind.clone(), now_ms) {
            Err(CohortError::Storage(StorageError::Conflict { .. })) if attempt < 4 => {}
            result => break result,
        }
    }
}

fn try_append(
    storage: &dyn SyncStorage,
    id: &str,
    kind: EntryKind,
    now_ms: i64,
) -> Result<Entry, CohortError> {
    let name = cohort_document(id);
    let stored = load(storage, id)?;
    let is_new = stored.is_none();
    let mut doc = match stored {
        Some(doc) => doc,
        None => documents::genesis(&name)?,
    };
    let loaded_heads = doc.get_heads();
    let entry = write_server_entry(&mut doc, &name, kind, now_ms)?;
    let write = if is_new {
        DocumentWrite::Snapshot(doc.save())
    } else {
        DocumentWrite::Chunk(doc.save_after(&loaded_heads))
    };
    storage.commit(
        &owner(id),
        SERVER_DEVICE,
        &[DocumentUpdate {
            doc: name,
            expected: (!is_new).then_some(loaded_heads),
            write,
            heads: doc.get_heads(),
        }],
        &[],
        &[],
    )?;
    Ok(entry)
}

/// Appends a server entry (a roster, a rota, a hide) to the space `doc` (named `name`), under
/// a fresh incarnation: its actor and its entry id are new every time.
pub fn write_server_entry(
    doc: &mut AutoCommit,
    name: &str,
    kind: EntryKind,
    at_ms: i64,
) -> Result<Entry, CohortError> {
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CohortError::NoRandomness)?;
    let incarnation = hex::encode(bytes);
    doc.set_actor(ActorId::from(&bytes[..]));
    let entry = Entry {
        id: Entry::make_id(SERVER_DEVICE, SERVER_DEVICE, &incarnation, 1),
        author: SERVER_DEVICE.into(),
        device: SERVER_DEVICE.into(),
        incarnation,
        sequence: 1,
        at_ms,
        kind,
    };
    community::append(doc, name, &entry)?;
    Ok(entry)
}

fn check_learner_id(storage: &dyn SyncStorage, learner: &str) -> Result<(), CohortError> {
    // The server's own name is never a member's: the space reads its entries as the server's.
    if !crate::auth::valid_id(learner) || learner == SERVER_DEVICE {
        return Err(CohortError::BadName(
            learner.chars().take(64).collect(),
            "learner",
        ));
    }
    if storage.is_erased(learner)? {
        return Err(CohortError::Erased(learner.to_string()));
    }
    Ok(())
}

fn check_request(storage: &dyn SyncStorage, request: &CohortRequest) -> Result<(), CohortError> {
    if !valid_cohort_id(&request.id) {
        return Err(CohortError::BadId(request.id.chars().take(64).collect()));
    }
    for (value, what) in [(&request.course, "course"), (&request.path, "path")] {
        if !crate::auth::valid_id(value) {
            return Err(CohortError::BadName(value.chars().take(64).collect(), what));
        }
    }
    if let Some(bad) = request
        .roles
        .iter()
        .find(|r| !community::entry::valid_role(r))
    {
        return Err(CohortError::BadRole(bad.chars().take(64).collect()));
    }
    if request.roles.len() > community::entry::MAX_ROLES {
        return Err(CohortError::BadRole(format!(
            "{} roles (at most {})",
            request.roles.len(),
            community::entry::MAX_ROLES
        )));
    }
    let distinct: BTreeSet<&String> = request.members.iter().collect();
    if request.members.is_empty()
        || request.members.len() > MAX_SIZE
        || distinct.len() != request.members.len()
    {
        return Err(CohortError::BadSize(request.members.len()));
    }
    for member in &request.members {
        check_learner_id(storage, member)?;
    }
    Ok(())
}

impl Hub {
    /// Forms cohort `request.id`, or replaces its members and roles: writes the roster into
    /// its space and updates who belongs where.
    pub fn form_cohort(&self, request: &CohortRequest) -> Result<CohortRecord, CohortError> {
        let storage = self.storage.as_ref();
        check_request(storage, request)?;
        let _guard = self.assignments_lock.lock().map_err(|_| crate::Poisoned)?;
        let before = record(storage, &request.id)?;
        let had: BTreeSet<String> = before
            .as_ref()
            .map(|r| r.members.iter().cloned().collect())
            .unwrap_or_default();
        for member in &request.members {
            let theirs = cohorts_of(storage, member)?;
            if !theirs.contains(&request.id) && theirs.len() >= MAX_COHORTS_PER_LEARNER {
                return Err(CohortError::TooManyCohorts(member.clone()));
            }
        }
        append_server_entry(
            storage,
            &request.id,
            EntryKind::Roster {
                course: request.course.clone(),
                path: request.path.clone(),
                roles: request.roles.clone(),
                members: request.members.clone(),
            },
            self.now_ms(),
        )?;
        let record = CohortRecord {
            id: request.id.clone(),
            course: request.course.clone(),
            path: request.path.clone(),
            roles: request.roles.clone(),
            members: request.members.clone(),
        };
        write_json(storage, &record_key(&record.id), &record)?;
        let mut all: Vec<String> = read_json(storage, ALL_COHORTS)?;
        if !all.contains(&record.id) {
            all.push(record.id.clone());
            all.sort();
            write_json(storage, ALL_COHORTS, &all)?;
        }
        for member in &record.members {
            set_membership(storage, member, &record.id, true)?;
        }
        for gone in had.iter().filter(|m| !record.members.contains(m)) {
            set_membership(storage, gone, &record.id, false)?;
        }
        Ok(record)
    }

    /// Forms cohorts of about the target size from a course's learners, each cohort drawn
    /// from neighbouring time zones; returns them.
    pub fn auto_form_cohorts(
        &self,
        request: &AutoRequest,
    ) -> Result<Vec<CohortRecord>, CohortError> {
        let mut candidates = request.learners.clone();
        if candidates.is_empty() {
            let assignments = self
                .assignments()
                .map_err(|e| CohortError::Corrupt(e.to_string()))?;
            let mut named: BTreeSet<String> = assignments
                .learners
                .iter()
                .filter(|(_, courses)| courses.contains(&request.course))
                .map(|(learner, _)| learner.clone())
                .collect();
            for (learner, roles) in &assignments.learner_roles {
                if roles.iter().any(|role| {
                    assignments
                        .roles
                        .get(role)
                        .is_some_and(|courses| courses.contains(&request.course))
                }) {
                    named.insert(learner.clone());
                }
            }
            candidates = named
                .into_iter()
                .map(|learner| Candidate {
                    learner,
                    time_zone: utc(),
                })
                .collect();
        }
        let groups = balanced_groups(
            &candidates,
            request.size.unwrap_or(TARGET_SIZE),
            self.now_ms(),
        )?;
        groups
            .into_iter()
            .enumerate()
            .map(|(i, members)| {
                self.form_cohort(&CohortRequest {
                    id: format!("{}-{}", request.prefix, i + 1),
                    course: request.course.clone(),
                    path: request.path.clone(),
                    roles: request.roles.clone(),
                    members,
                })
            })
            .collect()
    }

    /// Takes `learner` off cohort `id` once their leave entry is stored.
    pub fn cohort_left(&self, id: &str, learner: &str) -> Result<(), CohortError> {
        let storage = self.storage.as_ref();
        let _guard = self.assignments_lock.lock().map_err(|_| crate::Poisoned)?;
        set_membership(storage, learner, id, false)?;
        if let Some(mut record) = record(storage, id)? {
            record.members.retain(|m| m != learner);
            write_json(storage, &record_key(id), &record)?;
        }
        Ok(())
    }

    /// An erased learner's part in every cohort: their content hidden, and off the roster.
    pub fn forget_cohort_member(&self, learner: &str) -> Result<(), CohortError> {
        let storage = self.storage.as_ref();
        for id in cohorts_of(storage, learner)? {
            for entry in entries(storage, &id)? {
                if entry.author == learner && community::space::is_content(&entry.kind) {
                    append_server_entry(
                        storage,
                        &id,
                        EntryKind::Hide {
                            target: entry.id.clone(),
                            reason: "the learner's data was erased".into(),
                        },
                        self.now_ms().max(entry.at_ms.saturating_add(1)),
                    )?;
                }
            }
            if let Some(record) = record(storage, &id)? {
                let members = record
                    .members
                    .iter()
                    .filter(|m| *m != learner)
                    .cloned()
                    .collect::<Vec<_>>();
                if !members.is_empty() {
                    self.form_cohort(&CohortRequest {
                        id: record.id,
                        course: record.course,
                        path: record.path,
                        roles: record.roles,
                        members,
                    })?;
                }
            }
            set_membership(storage, learner, &id, false)?;
            audio::forget_hidden(self, &id)?;
        }
        Ok(())
    }
}

fn set_membership(
    storage: &dyn SyncStorage,
    learner: &str,
    id: &str,
    member: bool,
) -> Result<(), CohortError> {
    let mut theirs = cohorts_of(storage, learner)?;
    let had = theirs.contains(&id.to_string());
    if had == member {
        return Ok(());
    }
    if member {
        theirs.push(id.to_string());
        theirs.sort();
    } else {
        theirs.retain(|c| c != id);
    }
    write_json(storage, &membership_key(learner), &theirs)
}

/// Splits `candidates` into groups of about `size` (sizes differ by at most one), ordered by
/// their time zone's offset from UTC at `now_ms` so each group shares working hours as far as
/// the numbers allow. Deterministic: ties go by learner id.
pub fn balanced_groups(
    candidates: &[Candidate],
    size: usize,
    now_ms: i64,
) -> Result<Vec<Vec<String>>, CohortError> {
    if candidates.is_empty() {
        return Err(CohortError::NoLearners);
    }
    let size = size.clamp(2, MAX_SIZE);
    let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    let mut placed: BTreeMap<(i32, String), ()> = BTreeMap::new();
    for candidate in candidates {
        if !crate::auth::valid_id(&candidate.learner) {
            return Err(CohortError::BadName(
                candidate.learner.chars().take(64).collect(),
                "learner",
            ));
        }
        let zone = tidbit_core::time_zone::Zone::named(&candidate.time_zone).map_err(|_| {
            CohortError::BadTimeZone(candidate.time_zone.chars().take(64).collect())
        })?;
        let offset = now.with_timezone(&zone).offset().fix().local_minus_utc();
        placed.insert((offset, candidate.learner.clone()), ());
    }
    let ordered: Vec<String> = placed.into_keys().map(|(_, learner)| learner).collect();
    let groups = ordered.len().div_ceil(size);
    let base = ordered.len() / groups;
    let larger = ordered.len() % groups;
    let mut out = Vec::new();
    let mut rest = ordered.as_slice();
    for i in 0..groups {
        let take = base + usize::from(i < larger);
        let (group, tail) = rest.split_at(take);
        out.push(group.to_vec());
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(learner: &str, zone: &str) -> Candidate {
        Candidate {
            learner: learner.into(),
            time_zone: zone.into(),
        }
    }

    #[test]
    fn groups_are_balanced_in_size_and_follow_the_time_zones() {
        let mut candidates = Vec::new();
        for i in 0..13 {
            candidates.push(candidate(&format!("east-{i:02}"), "Asia/Tokyo"));
        }
        for i in 0..12 {
            candidates.push(candidate(&format!("west-{i:02}"), "America/Los_Angeles"));
        }
        // 25 learners at a target of 12: three groups of 9, 8 and 8.
        let groups = balanced_groups(&candidates, 12, 1_796_000_000_000).unwrap();
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![9, 8, 8]);
        // West coast first (the lowest offset); no group mixes the two but the middle one.
        assert!(groups[0].iter().all(|m| m.starts_with("west")));
        assert!(groups[2].iter().all(|m| m.starts_with("east")));
        assert!(matches!(
            balanced_groups(&[candidate("a", "Mars/Olympus")], 12, 0),
            Err(CohortError::BadTimeZone(_))
        ));
        assert!(matches!(
            balanced_groups(&[], 12, 0),
            Err(CohortError::NoLearners)
        ));
    }
}
