//! The organisation's question of the skills inventory: who has skill X at or above a mastery,
//! demonstrated within the last N days. Answered from the learners' summaries, and only for
//! learners who give the `profile` consent scope.

use serde::{Deserialize, Serialize};

use crate::analytics::metrics::LearnerSummary;

const DAY_MS: i64 = 86_400_000;

/// One learner who holds a skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub learner: String,
    /// Mastery now (when the summary was made).
    pub mastery: f64,
    pub last_demonstrated_ms: i64,
}

/// What the organisation asks.
#[derive(Debug, Clone, PartialEq)]
pub struct HolderQuery<'a> {
    pub course: &'a str,
    pub skill: &'a str,
    /// In [0, 1].
    pub min_mastery: f64,
    /// Demonstrated at most this many days (of 24 h) before `now_ms`.
    pub within_days: u32,
    pub now_ms: i64,
}

/// The learners among `summaries` who share their skills (`profile` consent) and have `skill`
/// of `course` at `min_mastery` or more, demonstrated no earlier than `within_days` before
/// `now_ms` (and not after it): highest mastery first, then the latest demonstration, then the
/// learner id.
pub fn holders<'s>(
    summaries: impl IntoIterator<Item = &'s LearnerSummary>,
    query: &HolderQuery,
) -> Vec<Holder> {
    let since_ms = query.now_ms - i64::from(query.within_days) * DAY_MS;
    let mut found: Vec<Holder> = summaries
        .into_iter()
        .filter(|summary| summary.profile_shared)
        .filter_map(|summary| {
            let record = summary
                .skills
                .iter()
                .find(|s| s.course == query.course && s.skill == query.skill)?;
            let last = record.last_demonstrated_ms?;
            let recent = (since_ms..=query.now_ms).contains(&last);
            (recent && record.mastery >= query.min_mastery).then(|| Holder {
                learner: summary.learner.clone(),
                mastery: record.mastery,
                last_demonstrated_ms: last,
            })
        })
        .collect();
    found.sort_by(|a, b| {
        b.mastery
            .total_cmp(&a.mastery)
            .then(b.last_demonstrated_ms.cmp(&a.last_demonstrated_ms))
            .then_with(|| a.learner.cmp(&b.learner))
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::metrics::SkillRecord;

    fn learner(id: &str, shared: bool, mastery: f64, last: Option<i64>) -> LearnerSummary {
        LearnerSummary {
            learner: id.into(),
            profile_shared: shared,
            skills: vec![SkillRecord {
                course: "c".into(),
                skill: "s".into(),
                mastery,
                best_checked: None,
                threshold: 0.8,
                last_demonstrated_ms: last,
                evidence: Default::default(),
            }],
            ..LearnerSummary::default()
        }
    }

    #[test]
    fn only_consenting_recent_learners_at_the_mastery_are_holders_best_first() {
        let now = 200 * DAY_MS;
        let all = [
            learner("ana", true, 0.85, Some(now - 10 * DAY_MS)),
            learner("ben", true, 0.95, Some(now - 90 * DAY_MS)),
            learner("cai", true, 0.95, Some(now - 90 * DAY_MS - 1)),
            learner("dee", false, 0.99, Some(now)),
            learner("eli", true, 0.79, Some(now)),
            learner("fay", true, 0.9, None),
            learner("gus", true, 0.8, Some(now)),
        ];
        let query = HolderQuery {
            course: "c",
            skill: "s",
            min_mastery: 0.8,
            within_days: 90,
            now_ms: now,
        };
        let names: Vec<String> = holders(&all, &query)
            .into_iter()
            .map(|h| h.learner)
            .collect();
        assert_eq!(names, ["ben", "ana", "gus"]);
        let other = HolderQuery {
            skill: "t",
            ..query
        };
        assert!(holders(&all, &other).is_empty());
    }
}
