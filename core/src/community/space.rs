//! A cohort's space as every device shows it: the entries folded in one order, each checked
//! against what the space held before it.
//!
//! The fold is a pure function of the entries: two devices holding the same entries show the
//! same posts, shares, feedback, rota and metrics, whatever order they received them in. An
//! entry that does not fit (feedback on an answer that is not shared, a hide by someone who may
//! not, anything from a member who has left) is left out of the view and listed in
//! [`CohortSpace::ignored`]; it never stops the rest.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::entry::{Entry, EntryKind, Reaction, SharedAnswer};
use super::rota::{self, Duty, Rota, RotaInputs, DEFAULT_ROLES};
use crate::events::SERVER_DEVICE;

/// A reaction and how many members left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ReactionCount {
    pub reaction: Reaction,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct PostView {
    pub id: String,
    pub author: String,
    pub at_ms: i64,
    pub text: String,
    pub module: Option<String>,
    pub step: Option<String>,
    pub summary: bool,
    pub reactions: Vec<ReactionCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct FeedbackView {
    pub id: String,
    pub reviewer: String,
    pub at_ms: i64,
    /// Per criterion of the share, in its order: whether the reviewer says it was met.
    pub criteria_met: Vec<bool>,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ShareView {
    pub id: String,
    pub author: String,
    pub at_ms: i64,
    pub course: String,
    pub step: String,
    pub answer_event: String,
    pub prompt: String,
    pub criteria: Vec<String>,
    pub answer: SharedAnswer,
    pub feedback: Vec<FeedbackView>,
    pub reactions: Vec<ReactionCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ReportView {
    pub id: String,
    pub target: String,
    pub reporter: String,
    pub at_ms: i64,
    pub reason: String,
}

/// An entry the fold left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct IgnoredEntry {
    pub id: String,
    pub kind: String,
    pub reason: String,
    /// It can never fit (see [`Misfit::permanent`]).
    pub permanent: bool,
}

/// Why an entry does not fit a space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub reason: String,
    /// It can never fit, whatever else arrives (its target is not in the space, it rates the
    /// reviewer's own answer): the server refuses such an entry. Otherwise it may not fit only
    /// as the space stands (the answer was hidden meanwhile, the rota turned otherwise offline),
    /// and an honest device may have written it: the server keeps it and every view leaves it
    /// out.
    pub permanent: bool,
}

impl Misfit {
    fn never(reason: impl Into<String>) -> Misfit {
        Misfit {
            reason: reason.into(),
            permanent: true,
        }
    }

    fn now(reason: impl Into<String>) -> Misfit {
        Misfit {
            reason: reason.into(),
            permanent: false,
        }
    }
}

impl std::fmt::Display for Misfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// One member as the space knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct MemberView {
    pub learner: String,
    pub joined_ms: i64,
    /// Out of the rota by their own choice.
    pub available: bool,
    /// Practised on some day of the current week (no counts, no ranking).
    pub practised_this_week: bool,
}

/// The space folded from its entries.
#[derive(Debug, Clone, Default)]
pub struct CohortSpace {
    pub cohort: String,
    pub course: String,
    pub path: String,
    pub roles: Vec<String>,
    /// Current members, by id.
    pub members: BTreeMap<String, Member>,
    /// Every entry the fold kept, in the space's order (hidden ones included, marked).
    pub accepted: Vec<Entry>,
    pub hidden: BTreeSet<String>,
    pub ignored: Vec<IgnoredEntry>,
    /// Members who left (their shared content withdrawn).
    pub left: BTreeSet<String>,
    /// Everyone any roster in the space names, whenever it was written.
    rostered: BTreeSet<String>,
    /// The id of every entry the space holds, kept or not.
    written: std::collections::HashSet<String>,
    /// The rotas the server fixed, by week.
    fixed: HashMap<i64, Vec<Duty>>,
    unavailable: BTreeSet<String>,
    last_active: BTreeMap<String, i64>,
    index: HashMap<String, usize>,
    /// Indexes kept as the fold goes, so no check or view scans the whole space per entry
    /// (a member may write thousands): each target's reactions by kind and member, each
    /// share's ratings, each member's entries (positions in `accepted`).
    reactions_to: HashMap<String, BTreeMap<Reaction, BTreeSet<String>>>,
    ratings_of: HashMap<String, Vec<usize>>,
    by_author: HashMap<String, Vec<usize>>,
    /// Rotas computed once everything before their cutoff was folded.
    rotas: HashMap<i64, Rota>,
    /// The time of the entry being folded (`i64::MAX` once the fold is done).
    folded_to: i64,
}

/// A current member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub joined_ms: i64,
}

impl CohortSpace {
    /// Folds `entries` (in any order; duplicates by id count once) into the space of `cohort`.
    pub fn fold(cohort: &str, mut entries: Vec<Entry>) -> CohortSpace {
        entries.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        // One id counts once, wherever its copies sort: the first in the space's order.
        let mut seen = std::collections::HashSet::new();
        entries.retain(|e| seen.insert(e.id.clone()));
        // The server fixes each week's rota as it stands when it first syncs the space that
        // week: entries that arrive later (dated earlier, from a device that was offline) never
        // turn it after the fact.
        let mut fixed: HashMap<i64, Vec<Duty>> = HashMap::new();
        for entry in entries.iter().filter(|e| e.author == SERVER_DEVICE) {
            if let EntryKind::RotaFixed { week, duties } = &entry.kind {
                fixed.entry(*week).or_insert_with(|| duties.clone());
            }
        }
        // A member's entries count whether the device that wrote them was behind the
        // server's clock or not: a roster vouches for its members from the space's start.
        let rostered = entries
            .iter()
            .filter(|e| e.author == SERVER_DEVICE)
            .filter_map(|e| match &e.kind {
                EntryKind::Roster { members, .. } => Some(members.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect();
        let mut space = CohortSpace {
            cohort: cohort.to_string(),
            roles: DEFAULT_ROLES.iter().map(|r| r.to_string()).collect(),
            rostered,
            written: seen,
            fixed,
            ..CohortSpace::default()
        };
        for entry in entries {
            space.folded_to = entry.at_ms;
            match space.admits(&entry) {
                Ok(()) => space.apply(entry),
                Err(misfit) => space.ignored.push(IgnoredEntry {
                    id: entry.id.clone(),
                    kind: entry.kind.name().into(),
                    reason: misfit.reason,
                    permanent: misfit.permanent,
                }),
            }
        }
        space.folded_to = i64::MAX;
        space
    }

    /// `learner`'s entries the fold kept, in the space's order.
    pub fn entries_by(&self, learner: &str) -> impl Iterator<Item = &Entry> {
        self.by_author
            .get(learner)
            .into_iter()
            .flatten()
            .map(|&i| &self.accepted[i])
    }

    /// The entry `id`, if the fold kept it.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.index.get(id).map(|&i| &self.accepted[i])
    }

    /// True when `id` is a kept entry nobody has hidden.
    pub fn is_visible(&self, id: &str) -> bool {
        self.entry(id).is_some() && !self.hidden.contains(id)
    }

    pub fn is_member(&self, learner: &str) -> bool {
        self.members.contains_key(learner)
    }

    /// Why `entry` does not fit the space as it stands, if it does not.
    pub fn admits(&mut self, entry: &Entry) -> Result<(), Misfit> {
        if self.index.contains_key(&entry.id) {
            return Err(Misfit::never("its id is already in the space"));
        }
        let from_server = entry.author == SERVER_DEVICE;
        if !from_server && !self.rostered.contains(&entry.author) {
            return Err(Misfit::never(format!(
                "{} is not a member of this cohort",
                entry.author
            )));
        }
        // A member who left may have written this on a device whose clock was behind: it does
        // not count, but an honest device may hold it.
        if !from_server && self.left.contains(&entry.author) {
            return Err(Misfit::now(format!("{} left this cohort", entry.author)));
        }
        let content = |space: &CohortSpace, id: &str| -> Result<Entry, Misfit> {
            match space.entry(id) {
                Some(
                    target @ Entry {
                        kind:
                            EntryKind::Post { .. }
                            | EntryKind::Share { .. }
                            | EntryKind::Feedback { .. },
                        ..
                    },
                ) => Ok(target.clone()),
                Some(_) => Err(Misfit::never(
                    "its target is not a post, a share or feedback",
                )),
                // Held but left out (by another entry's misfit): it may fit on another device.
                None if space.written.contains(id) => {
                    Err(Misfit::now("its target was left out of the space"))
                }
                None => Err(Misfit::never("its target is not in the space")),
            }
        };
        match &entry.kind {
            EntryKind::Feedback {
                share,
                criteria_met,
                ..
            } => {
                let target = match self.entry(share) {
                    Some(target) => target,
                    None if self.written.contains(share) => {
                        return Err(Misfit::now(
                            "it rates an answer that was left out of the space",
                        ))
                    }
                    None => return Err(Misfit::never("it rates an answer that is not shared")),
                };
                let EntryKind::Share { criteria, .. } = &target.kind else {
                    return Err(Misfit::never(
                        "it rates an entry that is not a shared answer",
                    ));
                };
                if self.hidden.contains(share) {
                    return Err(Misfit::now("it rates an answer that was hidden"));
                }
                if target.author == entry.author {
                    return Err(Misfit::never("it rates the reviewer's own answer"));
                }
                if criteria_met.len() != criteria.len() {
                    return Err(Misfit::never(format!(
                        "it rates {} criteria; the answer has {}",
                        criteria_met.len(),
                        criteria.len()
                    )));
                }
                // A reviewer who rates again (on another device, or having changed their
                // mind) replaces their earlier rating: see `feedback_on`.
                Ok(())
            }
            EntryKind::Reaction { target, reaction } => {
                content(self, target)?;
                if self.hidden.contains(target) {
                    return Err(Misfit::now("it reacts to hidden content"));
                }
                let already = self
                    .reactions_to
                    .get(target)
                    .and_then(|by_kind| by_kind.get(reaction))
                    .is_some_and(|members| members.contains(&entry.author));
                if already {
                    return Err(Misfit::now("the member already left this reaction"));
                }
                Ok(())
            }
            EntryKind::Hide { target, .. } => {
                let target = content(self, target)?;
                if from_server || target.author == entry.author {
                    return Ok(());
                }
                let week = rota::week_of(entry.at_ms);
                if self.rota(week).holder("facilitator") == Some(entry.author.as_str()) {
                    Ok(())
                } else {
                    Err(Misfit::now(
                        "only its author, the week's facilitator or the organisation may hide it",
                    ))
                }
            }
            EntryKind::Report { target, .. } => {
                let target = content(self, target)?;
                if target.author == entry.author {
                    return Err(Misfit::never(
                        "a member hides their own content; they do not report it",
                    ));
                }
                Ok(())
            }
            EntryKind::RoleDone { week, role } => {
                if *week > rota::week_of(entry.at_ms) {
                    return Err(Misfit::never(
                        "it reports a duty of a week that has not begun",
                    ));
                }
                if self.rota(*week).holder(role) != Some(entry.author.as_str()) {
                    return Err(Misfit::now(format!(
                        "{} was not the {role} of week {week}",
                        entry.author
                    )));
                }
                Ok(())
            }
            EntryKind::Roster { .. }
            | EntryKind::RotaFixed { .. }
            | EntryKind::Post { .. }
            | EntryKind::Share { .. }
            | EntryKind::Availability { .. }
            | EntryKind::Practised { .. }
            | EntryKind::Leave {} => Ok(()),
        }
    }

    fn apply(&mut self, entry: Entry) {
        match &entry.kind {
            EntryKind::Roster {
                course,
                path,
                roles,
                members,
            } => {
                self.course = course.clone();
                self.path = path.clone();
                if !roles.is_empty() {
                    self.roles = roles.clone();
                }
                let listed: BTreeSet<&String> = members.iter().collect();
                self.members.retain(|m, _| listed.contains(m));
                for member in members {
                    if !self.members.contains_key(member) {
                        self.left.remove(member);
                        self.members.insert(
                            member.clone(),
                            Member {
                                joined_ms: entry.at_ms,
                            },
                        );
                    }
                }
                // The rota of a week is fixed by what stood when it began: nothing cached
                // is affected, since entries arrive in order.
            }
            EntryKind::Hide { target, .. } => {
                self.hidden.insert(target.clone());
            }
            EntryKind::Availability { available } => {
                if *available {
                    self.unavailable.remove(&entry.author);
                } else {
                    self.unavailable.insert(entry.author.clone());
                }
            }
            EntryKind::Leave {} => {
                self.members.remove(&entry.author);
                self.unavailable.remove(&entry.author);
                self.left.insert(entry.author.clone());
                let withdrawn: Vec<String> = self
                    .accepted
                    .iter()
                    .filter(|e| e.author == entry.author && is_content(&e.kind))
                    .map(|e| e.id.clone())
                    .collect();
                self.hidden.extend(withdrawn);
            }
            _ => {}
        }
        if entry.author != SERVER_DEVICE {
            self.last_active.insert(entry.author.clone(), entry.at_ms);
        }
        let position = self.accepted.len();
        match &entry.kind {
            EntryKind::Reaction { target, reaction } => {
                self.reactions_to
                    .entry(target.clone())
                    .or_default()
                    .entry(*reaction)
                    .or_default()
                    .insert(entry.author.clone());
            }
            EntryKind::Feedback { share, .. } => {
                self.ratings_of
                    .entry(share.clone())
                    .or_default()
                    .push(position);
            }
            _ => {}
        }
        self.by_author
            .entry(entry.author.clone())
            .or_default()
            .push(position);
        self.index.insert(entry.id.clone(), position);
        self.accepted.push(entry);
    }

    /// The rota of `week`, as the space stood when it began (entries fold in time order, so a
    /// week's rota is fixed by the time an entry of that week is folded).
    /// The server's fixed rota of the week wins over the one computed here.
    pub fn rota(&mut self, week: i64) -> Rota {
        if let Some(rota) = self.rotas.get(&week) {
            return rota.clone();
        }
        let mut rota = self.rota_at(week);
        if let Some(duties) = self.fixed.get(&week) {
            rota.open_roles = self
                .roles
                .iter()
                .filter(|r| duties.iter().all(|d| &d.role != *r))
                .cloned()
                .collect();
            rota.skipped
                .retain(|s| duties.iter().all(|d| d.learner != s.learner));
            rota.duties = duties.clone();
        }
        // Final once the fold has passed everything the week's rota is computed from.
        if self.rota_cutoff(week) <= self.folded_to {
            self.rotas.insert(week, rota.clone());
        }
        rota
    }

    /// Whether the server fixed the rota of `week`.
    pub fn is_rota_fixed(&self, week: i64) -> bool {
        self.fixed.contains_key(&week)
    }

    /// The time before which entries decide `week`'s rota: the week's start, or, for the
    /// week a cohort was formed in, just after its first roster.
    fn rota_cutoff(&self, week: i64) -> i64 {
        let starts = rota::week_start_ms(week);
        let first_roster = self
            .accepted
            .iter()
            .find(|e| matches!(e.kind, EntryKind::Roster { .. }))
            .map_or(i64::MAX, |e| e.at_ms);
        if first_roster >= starts && rota::week_of(first_roster) == week {
            first_roster.saturating_add(1)
        } else {
            starts
        }
    }

    fn rota_at(&self, week: i64) -> Rota {
        let mut members: BTreeMap<&str, i64> = BTreeMap::new();
        let mut unavailable: BTreeSet<&str> = BTreeSet::new();
        let mut last_active: BTreeMap<&str, i64> = BTreeMap::new();
        let mut roles: &[String] = &self.roles;
        let default_roles: Vec<String> = DEFAULT_ROLES.iter().map(|r| r.to_string()).collect();
        let mut roster_seen = false;
        // A cohort formed during a week has its rota from its roster on, not from next week.
        let cutoff = self.rota_cutoff(week);
        for entry in self.accepted.iter().take_while(|e| e.at_ms < cutoff) {
            match &entry.kind {
                EntryKind::Roster {
                    members: listed,
                    roles: named,
                    ..
                } => {
                    roster_seen = true;
                    roles = if named.is_empty() {
                        &default_roles
                    } else {
                        named
                    };
                    members.retain(|m, _| listed.iter().any(|l| l == m));
                    for m in listed {
                        members.entry(m.as_str()).or_insert(entry.at_ms);
                    }
                }
                EntryKind::Availability { available } => {
                    if *available {
                        unavailable.remove(entry.author.as_str());
                    } else {
                        unavailable.insert(entry.author.as_str());
                    }
                }
                EntryKind::Leave {} => {
                    members.remove(entry.author.as_str());
                }
                _ => {}
            }
            if entry.author != SERVER_DEVICE {
                last_active.insert(entry.author.as_str(), entry.at_ms);
            }
        }
        if !roster_seen {
            roles = &[];
        }
        let roles = roles.to_vec();
        rota::rota(
            week,
            &RotaInputs {
                cohort: &self.cohort,
                roles: &roles,
                members,
                unavailable,
                last_active,
            },
        )
    }

    /// The members as the space shows them at `now_ms`.
    pub fn member_views(&self, now_ms: i64) -> Vec<MemberView> {
        let week = rota::week_of(now_ms);
        self.members
            .iter()
            .map(|(learner, member)| MemberView {
                learner: learner.clone(),
                joined_ms: member.joined_ms,
                available: !self.unavailable.contains(learner),
                practised_this_week: self.entries_by(learner).any(|e| {
                    matches!(e.kind, EntryKind::Practised { .. }) && rota::week_of(e.at_ms) == week
                }),
            })
            .collect()
    }

    /// Visible posts, in the space's order.
    pub fn posts(&self) -> Vec<PostView> {
        self.visible()
            .filter_map(|e| match &e.kind {
                EntryKind::Post {
                    text,
                    module,
                    step,
                    summary,
                } => Some(PostView {
                    id: e.id.clone(),
                    author: e.author.clone(),
                    at_ms: e.at_ms,
                    text: text.clone(),
                    module: module.clone(),
                    step: step.clone(),
                    summary: *summary,
                    reactions: self.reactions(&e.id),
                }),
                _ => None,
            })
            .collect()
    }

    /// Visible shared answers with their visible feedback, in the space's order.
    pub fn shares(&self) -> Vec<ShareView> {
        self.visible()
            .filter_map(|e| match &e.kind {
                EntryKind::Share {
                    course,
                    step,
                    answer_event,
                    prompt,
                    criteria,
                    answer,
                } => Some(ShareView {
                    id: e.id.clone(),
                    author: e.author.clone(),
                    at_ms: e.at_ms,
                    course: course.clone(),
                    step: step.clone(),
                    answer_event: answer_event.clone(),
                    prompt: prompt.clone(),
                    criteria: criteria.clone(),
                    answer: answer.clone(),
                    feedback: self.feedback_on(&e.id),
                    reactions: self.reactions(&e.id),
                }),
                _ => None,
            })
            .collect()
    }

    /// Visible feedback on share `id`, oldest first: each reviewer's latest.
    pub fn feedback_on(&self, id: &str) -> Vec<FeedbackView> {
        let ratings: Vec<&Entry> = self
            .ratings_of
            .get(id)
            .into_iter()
            .flatten()
            .map(|&i| &self.accepted[i])
            .filter(|f| !self.hidden.contains(&f.id))
            .collect();
        let latest: BTreeMap<&str, &str> = ratings
            .iter()
            .map(|f| (f.author.as_str(), f.id.as_str()))
            .collect();
        ratings
            .into_iter()
            .filter(|f| latest.get(f.author.as_str()) == Some(&f.id.as_str()))
            .filter_map(|f| match &f.kind {
                EntryKind::Feedback {
                    share,
                    criteria_met,
                    comment,
                } if share == id => Some(FeedbackView {
                    id: f.id.clone(),
                    reviewer: f.author.clone(),
                    at_ms: f.at_ms,
                    criteria_met: criteria_met.clone(),
                    comment: comment.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Reports on content still visible: what the facilitator and the organisation look at.
    pub fn open_reports(&self) -> Vec<ReportView> {
        self.accepted
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Report { target, reason } if self.is_visible(target) => {
                    Some(ReportView {
                        id: e.id.clone(),
                        target: target.clone(),
                        reporter: e.author.clone(),
                        at_ms: e.at_ms,
                        reason: reason.clone(),
                    })
                }
                _ => None,
            })
            .collect()
    }

    fn visible(&self) -> impl Iterator<Item = &Entry> {
        self.accepted
            .iter()
            .filter(|e| is_content(&e.kind) && !self.hidden.contains(&e.id))
    }

    fn reactions(&self, id: &str) -> Vec<ReactionCount> {
        self.reactions_to
            .get(id)
            .into_iter()
            .flatten()
            .map(|(reaction, members)| ReactionCount {
                reaction: *reaction,
                count: members.iter().filter(|m| !self.left.contains(*m)).count() as u32,
            })
            .filter(|r| r.count > 0)
            .collect()
    }
}

/// Posts, shares and feedback: what a member writes for others to read.
pub fn is_content(kind: &EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Post { .. } | EntryKind::Share { .. } | EntryKind::Feedback { .. }
    )
}
