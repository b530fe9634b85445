//! The learner's progress as the home screen shows it: skill mastery with its evidence, stage
//! by stage status on the enrolled path, the practice streak in the learner's time zone, and
//! the signed certificate for a finished path. Reads projections only; records nothing.

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Tidbit, TidbitError};
use crate::learn::mastery::SkillMastery;
use crate::learn::projection::read::{self, skill_mastery};

pub use crate::learn::projection::read::StageStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Streak {
    /// Consecutive local days with practice, ending today or yesterday.
    pub current: u32,
    pub longest: u32,
    pub practised_today: bool,
}

impl Tidbit {
    /// Mastery of every skill of `course`, with the evidence behind each.
    pub fn mastery(&self, course: &str) -> Result<Vec<SkillMastery>, TidbitError> {
        self.mastery_at(course, self.now().timestamp_millis())
    }

    /// Mastery of every skill of `course` as it stands at `now_ms`.
    pub(super) fn mastery_at(
        &self,
        course: &str,
        now_ms: i64,
    ) -> Result<Vec<SkillMastery>, TidbitError> {
        let skills: Vec<String> = self
            .store
            .conn()
            .prepare_cached("SELECT id FROM skills WHERE course_id = ?1 ORDER BY position")?
            .query_map([course], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        skills
            .iter()
            .map(|s| {
                Ok(skill_mastery(
                    self.store.conn(),
                    self.schedulers.scheduler(),
                    course,
                    s,
                    now_ms,
                )?)
            })
            .collect()
    }

    /// Stage by stage progress on the enrolled path of `course`.
    pub fn stages(&self, course: &str) -> Result<Vec<StageStatus>, TidbitError> {
        Ok(read::stage_statuses(self.store.conn(), course)?)
    }

    /// Practice streak in the learner's time zone.
    pub fn streak(&self) -> Result<Streak, TidbitError> {
        self.streak_on(self.local_date(self.now()))
    }

    /// The practice streak as it stands on the local day `today`.
    pub(super) fn streak_on(&self, today: NaiveDate) -> Result<Streak, TidbitError> {
        let days: Vec<NaiveDate> = read::activity_days(self.store.conn())?;
        let mut longest = 0;
        let mut run = 0;
        let mut previous: Option<NaiveDate> = None;
        for day in &days {
            run = match previous {
                Some(p) if p.succ_opt() == Some(*day) => run + 1,
                _ => 1,
            };
            longest = longest.max(run);
            previous = Some(*day);
        }
        let practised_today = days.last() == Some(&today);
        let current = match days.last() {
            Some(last) if *last == today || last.succ_opt() == Some(today) => run,
            _ => 0,
        };
        Ok(Streak {
            current,
            longest,
            practised_today,
        })
    }

    /// A signed certificate for a finished path.
    pub fn issue_certificate(
        &self,
        course: &str,
        issuer_name: &str,
        key: &crate::keys::SigningKey,
    ) -> Result<String, TidbitError> {
        let read::EnrolledPath {
            path,
            path_title,
            course_title,
            course_version,
            mastery_threshold,
        } = read::enrolled_path(self.store.conn(), course)?.ok_or_else(|| {
            TidbitError::PathNotFinished {
                course: course.into(),
                path: String::new(),
            }
        })?;
        let stages = self.stages(course)?;
        let finished = !stages.is_empty() && stages.iter().all(|s| s.passed_ms.is_some());
        if !finished {
            return Err(TidbitError::PathNotFinished {
                course: course.into(),
                path,
            });
        }
        let completed_ms = stages.iter().filter_map(|s| s.passed_ms).max().unwrap_or(0);
        // Each skill's mastery as measured by the stage checks that passed (its best).
        let mut best: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
        let passed = read::passed_check_skills(self.store.conn(), course, &path)?;
        for json in passed {
            let measured: Vec<(String, f64)> =
                serde_json::from_str(&json).map_err(|e| TidbitError::Corrupt(e.to_string()))?;
            for (skill, mastery) in measured {
                let entry = best.entry(skill).or_insert(mastery);
                *entry = entry.max(mastery);
            }
        }
        let names: std::collections::BTreeMap<String, String> = self
            .store
            .conn()
            .prepare("SELECT id, name FROM skills WHERE course_id = ?1")?
            .query_map([course], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let skills = best
            .into_iter()
            .map(|(skill, mastery)| (names.get(&skill).cloned().unwrap_or(skill), mastery))
            .collect();
        let request = crate::certificate::CertificateRequest {
            issuer_name,
            learner_id: &self.config.learner_id,
            course_id: course,
            course_title: &course_title,
            course_version: &course_version,
            path_id: &path,
            path_title: &path_title,
            mastery_threshold,
            skills,
            completed_at: DateTime::from_timestamp_millis(completed_ms).unwrap_or_default(),
        };
        Ok(crate::certificate::issue_certificate(&request, key)?)
    }
}
