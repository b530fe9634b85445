//! Goals across the FFI: the learner's goals with their pace and whether they can still be
//! met, the learner's own goals set and withdrawn, and the time they give learning. Thin: the
//! core checks and records (`tidbit_core::tidbit::Tidbit::set_goal` and the rest); a goal the
//! L&D team set arrives with `sync` and may not be changed here (`InvalidRequest`), and a goal
//! naming a path, stage or skill the course lacks is `UnknownContent`. Plans and
//! `next_activity` pace themselves on the goals.

use super::Tidbit;
use crate::error::TidbitError;
use crate::records::{GoalSpec, GoalStatus, StudyTime};

#[uniffi::export]
impl Tidbit {
    /// Every goal in force, by due date: its pace ("on track", "behind by N days", ...), the
    /// minutes of new material it allows today, and whether it can still be met by its date
    /// at the learner's minutes a day (if not, what would do it).
    pub fn goals(&self) -> Result<Vec<GoalStatus>, TidbitError> {
        self.session.run("goals", |core| Ok(core.goals()?))
    }

    /// Sets (or replaces) one of the learner's own goals; returns its status.
    pub fn set_goal(&self, goal: GoalSpec) -> Result<GoalStatus, TidbitError> {
        self.session
            .run("set_goal", |core| Ok(core.set_goal(&goal)?))
    }

    /// Withdraws one of the learner's own goals.
    pub fn withdraw_goal(&self, goal: String) -> Result<(), TidbitError> {
        self.session
            .run("withdraw_goal", |core| Ok(core.withdraw_goal(&goal)?))
    }

    /// The minutes a learning day holds (1 to 480) and the weekdays off (ISO numbers: 1 is
    /// Monday, 7 Sunday).
    pub fn set_study_time(
        &self,
        minutes_per_day: u32,
        days_off: Vec<u8>,
    ) -> Result<(), TidbitError> {
        self.session.run("set_study_time", |core| {
            Ok(core.set_study_time(minutes_per_day, &days_off)?)
        })
    }

    pub fn study_time(&self) -> Result<StudyTime, TidbitError> {
        self.session
            .run("study_time", |core| Ok(core.study_time()?))
    }
}
