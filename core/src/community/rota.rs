//! The weekly role rota: who facilitates, reviews and summarises this week, computed alike on
//! every device from what the space holds.
//!
//! Weeks run Monday to Monday in UTC (every member of a cohort must agree on the week,
//! whatever their time zone). A member is eligible for a week if they are in the cohort when
//! it starts, have not taken themselves out of the rota, and were active in the 14 days before
//! it (wrote anything to the space, or joined). The eligible members are ordered by a hash of
//! the cohort and their id, a fixed order no member can game by choosing a name, and the week's
//! number turns that order: role `i` goes to member `(week + i) mod n`. With fewer eligible
//! members than roles, the later roles stay open. Pure functions; nothing here reads a clock.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub const DAY_MS: i64 = 86_400_000;
/// Days of quiet after which a member is skipped.
pub const ACTIVE_WITHIN_DAYS: i64 = 14;
/// The roles a cohort rotates when its course names none.
pub const DEFAULT_ROLES: [&str; 3] = ["facilitator", "reviewer", "summariser"];

/// The week (Monday 00:00 UTC onwards) holding `at_ms`, counted from the week of 1970-01-01.
pub fn week_of(at_ms: i64) -> i64 {
    // 1970-01-01 was a Thursday: three days after the Monday its week began.
    (at_ms.div_euclid(DAY_MS) + 3).div_euclid(7)
}

/// When `week` starts.
pub fn week_start_ms(week: i64) -> i64 {
    (week * 7 - 3) * DAY_MS
}

/// One duty of one week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Duty {
    pub role: String,
    pub learner: String,
}

/// A member left out of a week's rota, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Skipped {
    pub learner: String,
    pub reason: String,
}

/// One week's rota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Rota {
    pub week: i64,
    pub starts_ms: i64,
    pub duties: Vec<Duty>,
    /// Roles no eligible member was left for.
    pub open_roles: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl Rota {
    /// The learner holding `role` this week.
    pub fn holder(&self, role: &str) -> Option<&str> {
        self.duties
            .iter()
            .find(|d| d.role == role)
            .map(|d| d.learner.as_str())
    }

    /// The roles `learner` holds this week.
    pub fn roles_of(&self, learner: &str) -> Vec<&str> {
        self.duties
            .iter()
            .filter(|d| d.learner == learner)
            .map(|d| d.role.as_str())
            .collect()
    }
}

/// What the rota of one week is computed from, as the space stood when the week began.
#[derive(Debug, Clone, Default)]
pub struct RotaInputs<'a> {
    pub cohort: &'a str,
    pub roles: &'a [String],
    /// The members when the week starts, with when each joined.
    pub members: BTreeMap<&'a str, i64>,
    /// Members who took themselves out of the rota.
    pub unavailable: BTreeSet<&'a str>,
    /// Each member's latest entry before the week starts.
    pub last_active: BTreeMap<&'a str, i64>,
}

/// The rota of `week`.
pub fn rota(week: i64, inputs: &RotaInputs) -> Rota {
    let starts_ms = week_start_ms(week);
    let quiet_since = starts_ms - ACTIVE_WITHIN_DAYS * DAY_MS;
    let mut skipped = Vec::new();
    let mut eligible: Vec<(Vec<u8>, &str)> = Vec::new();
    for (&learner, &joined) in &inputs.members {
        let active = joined >= quiet_since
            || inputs
                .last_active
                .get(learner)
                .is_some_and(|&at| at >= quiet_since);
        let reason = if inputs.unavailable.contains(learner) {
            Some("took a break from the rota")
        } else if !active {
            Some("no activity in the 14 days before the week")
        } else {
            None
        };
        match reason {
            Some(reason) => skipped.push(Skipped {
                learner: learner.to_string(),
                reason: reason.into(),
            }),
            None => eligible.push((order_key(inputs.cohort, learner), learner)),
        }
    }
    eligible.sort();
    let n = eligible.len() as i64;
    let mut duties = Vec::new();
    let mut open_roles = Vec::new();
    for (i, role) in inputs.roles.iter().enumerate() {
        if (i as i64) < n {
            let turn = (week + i as i64).rem_euclid(n) as usize;
            duties.push(Duty {
                role: role.clone(),
                learner: eligible[turn].1.to_string(),
            });
        } else {
            open_roles.push(role.clone());
        }
    }
    Rota {
        week,
        starts_ms,
        duties,
        open_roles,
        skipped,
    }
}

fn order_key(cohort: &str, learner: &str) -> Vec<u8> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(cohort.as_bytes());
    context.update(&[0]);
    context.update(learner.as_bytes());
    context.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_in_utc() {
        // Monday 2026-11-30 00:00 UTC.
        let monday = 1_795_996_800_000;
        let week = week_of(monday);
        assert_eq!(week_start_ms(week), monday);
        assert_eq!(week_of(monday - 1), week - 1);
        assert_eq!(week_of(monday + 7 * DAY_MS - 1), week);
        assert_eq!(week_of(0), 0);
        assert_eq!(week_start_ms(0), -3 * DAY_MS);
    }

    fn inputs<'a>(roles: &'a [String], members: &[&'a str], at: i64) -> RotaInputs<'a> {
        RotaInputs {
            cohort: "north",
            roles,
            members: members.iter().map(|m| (*m, at)).collect(),
            unavailable: BTreeSet::new(),
            last_active: BTreeMap::new(),
        }
    }

    #[test]
    fn every_eligible_member_takes_every_role_in_turn() {
        let roles: Vec<String> = DEFAULT_ROLES.iter().map(|r| r.to_string()).collect();
        let members = ["ana", "ben", "chi", "dev"];
        let week = week_of(1_796_083_200_000);
        let mut inputs = inputs(&roles, &members, week_start_ms(week));
        let mut held: BTreeMap<(&str, String), u32> = BTreeMap::new();
        for w in week..week + 4 {
            // Everyone stays active: each wrote something in the week before.
            for m in members {
                inputs.last_active.insert(m, week_start_ms(w) - DAY_MS);
            }
            let rota = rota(w, &inputs);
            assert_eq!(rota.duties.len(), 3);
            let distinct: BTreeSet<&str> = rota.duties.iter().map(|d| d.learner.as_str()).collect();
            assert_eq!(distinct.len(), 3, "no one holds two roles in a week");
            for duty in rota.duties {
                let learner = members.iter().find(|m| **m == duty.learner).unwrap();
                *held.entry((learner, duty.role)).or_default() += 1;
            }
        }
        // Four weeks, four members: each held each role exactly once.
        assert_eq!(held.len(), 12);
        assert!(held.values().all(|&n| n == 1));
    }

    #[test]
    fn quiet_and_unavailable_members_are_skipped_and_roles_stay_open_when_few_remain() {
        let roles: Vec<String> = DEFAULT_ROLES.iter().map(|r| r.to_string()).collect();
        let week = week_of(1_796_083_200_000);
        let long_ago = week_start_ms(week) - 60 * DAY_MS;
        let mut inputs = inputs(&roles, &["ana", "ben", "chi"], long_ago);
        inputs
            .last_active
            .insert("ana", week_start_ms(week) - DAY_MS);
        inputs
            .last_active
            .insert("ben", week_start_ms(week) - DAY_MS);
        inputs
            .last_active
            .insert("chi", week_start_ms(week) - 20 * DAY_MS);
        inputs.unavailable.insert("ben");
        let rota = rota(week, &inputs);
        assert_eq!(
            rota.duties,
            vec![Duty {
                role: "facilitator".into(),
                learner: "ana".into()
            }]
        );
        assert_eq!(rota.open_roles, vec!["reviewer", "summariser"]);
        let skipped: Vec<&str> = rota.skipped.iter().map(|s| s.learner.as_str()).collect();
        assert_eq!(skipped, vec!["ben", "chi"]);
    }
}
