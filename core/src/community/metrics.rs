//! What the L&D team and the cohort read about a cohort's life: how many members were active
//! in the last 7, 14 and 30 days, posts and feedback per week, how long a shared answer waits
//! for its first feedback, and how many of the rota's duties were done. A pure function of the
//! folded space and a time, so every device and the server compute the same figures.

use serde::{Deserialize, Serialize};

use super::entry::EntryKind;
use super::rota::{self, DAY_MS};
use super::space::CohortSpace;

/// Weeks of posts and feedback counted, the current one included.
pub const WEEKS_SHOWN: usize = 4;

/// A count for one week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct WeekCount {
    pub week: i64,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct CohortMetrics {
    pub cohort: String,
    pub members: u32,
    /// Members who wrote anything (a post, a share, feedback, a reaction, a practice day) in
    /// the last 7, 14 and 30 days.
    pub active_7d: u32,
    pub active_14d: u32,
    pub active_30d: u32,
    /// The last [`WEEKS_SHOWN`] weeks, oldest first.
    pub posts_per_week: Vec<WeekCount>,
    pub feedback_per_week: Vec<WeekCount>,
    pub shares: u32,
    pub shares_with_feedback: u32,
    /// The median time from a share to its first feedback, over shares that have some.
    pub median_first_feedback_ms: Option<i64>,
    /// Duties of the weeks that have ended since the cohort began, and how many were done.
    pub duties_assigned: u32,
    pub duties_fulfilled: u32,
}

/// The metrics of `space` at `now_ms`.
pub fn metrics(space: &mut CohortSpace, now_ms: i64) -> CohortMetrics {
    let active = |days: i64| -> u32 {
        let since = now_ms - days * DAY_MS;
        space
            .members
            .keys()
            .filter(|m| {
                space
                    .entries_by(m)
                    .any(|e| e.at_ms >= since && e.at_ms <= now_ms)
            })
            .count() as u32
    };
    let (active_7d, active_14d, active_30d) = (active(7), active(14), active(30));
    let this_week = rota::week_of(now_ms);
    let weeks: Vec<i64> = (0..WEEKS_SHOWN as i64)
        .rev()
        .map(|back| this_week - back)
        .collect();
    let per_week = |space: &CohortSpace, pick: fn(&EntryKind) -> bool| -> Vec<WeekCount> {
        weeks
            .iter()
            .map(|&week| WeekCount {
                week,
                count: space
                    .accepted
                    .iter()
                    .filter(|e| {
                        pick(&e.kind)
                            && !space.hidden.contains(&e.id)
                            && rota::week_of(e.at_ms) == week
                            && e.at_ms <= now_ms
                    })
                    .count() as u32,
            })
            .collect()
    };
    let posts_per_week = per_week(space, |k| matches!(k, EntryKind::Post { .. }));
    let feedback_per_week = per_week(space, |k| matches!(k, EntryKind::Feedback { .. }));

    let shares = space.shares();
    let mut waits: Vec<i64> = shares
        .iter()
        .filter_map(|s| s.feedback.first().map(|f| f.at_ms - s.at_ms))
        .collect();
    waits.sort_unstable();
    let median_first_feedback_ms = match waits.len() {
        0 => None,
        n if n % 2 == 1 => Some(waits[n / 2]),
        n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2),
    };

    let (duties_assigned, duties_fulfilled) = duties(space, this_week);
    CohortMetrics {
        cohort: space.cohort.clone(),
        members: space.members.len() as u32,
        active_7d,
        active_14d,
        active_30d,
        posts_per_week,
        feedback_per_week,
        shares: shares.len() as u32,
        shares_with_feedback: waits.len() as u32,
        median_first_feedback_ms,
        duties_assigned,
        duties_fulfilled,
    }
}

/// Duties of every week that ended before `this_week`, since the first roster, and how many
/// were done: reported done (`role_done`), or, for the three default roles, done by what the
/// holder wrote that week (the facilitator posted, the reviewer gave feedback, the summariser
/// posted a summary).
fn duties(space: &mut CohortSpace, this_week: i64) -> (u32, u32) {
    let Some(first) = space
        .accepted
        .iter()
        .find(|e| matches!(e.kind, EntryKind::Roster { .. }))
        .map(|e| rota::week_of(e.at_ms))
    else {
        return (0, 0);
    };
    let mut assigned = 0;
    let mut fulfilled = 0;
    for week in first + 1..this_week {
        let rota = space.rota(week);
        for duty in &rota.duties {
            assigned += 1;
            let done = space.entries_by(&duty.learner).any(|e| match &e.kind {
                EntryKind::RoleDone { week: w, role } => *w == week && role == &duty.role,
                EntryKind::Post { summary, .. } => {
                    rota::week_of(e.at_ms) == week
                        && (duty.role == "facilitator" || (duty.role == "summariser" && *summary))
                }
                EntryKind::Feedback { .. } => {
                    rota::week_of(e.at_ms) == week && duty.role == "reviewer"
                }
                _ => false,
            });
            if done {
                fulfilled += 1;
            }
        }
    }
    (assigned, fulfilled)
}
