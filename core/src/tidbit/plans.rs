//! The facade's plans: a paced session, a skill's refresher, a module's booster, and the due
//! counts, each read from the projections at the clock's time.

use super::{Tidbit, TidbitError};
use crate::learn::plan::{self, DueCounts, SessionPlan};

impl Tidbit {
    /// A plan for `minutes`, goals paced (see [`plan::plan_session`]).
    pub fn plan_session(&self, minutes: u32) -> Result<SessionPlan, TidbitError> {
        let pacing = self.pacing()?;
        Ok(plan::plan_session(
            self.store.conn(),
            self.schedulers.scheduler(),
            self.now().timestamp_millis(),
            minutes.saturating_mul(60),
            &pacing,
        )?)
    }

    /// The highest-value items for one skill, in about two minutes.
    pub fn refresher(&self, course: &str, skill: &str) -> Result<SessionPlan, TidbitError> {
        Ok(plan::plan_refresher(
            self.store.conn(),
            self.schedulers.scheduler(),
            self.now().timestamp_millis(),
            course,
            skill,
            120,
        )?)
    }

    /// A finished module's due follow-ups as a two-minute booster.
    pub fn booster(&self, course: &str, module: &str) -> Result<SessionPlan, TidbitError> {
        Ok(plan::plan_booster(
            self.store.conn(),
            self.schedulers.scheduler(),
            self.now().timestamp_millis(),
            course,
            module,
            120,
        )?)
    }

    pub fn due_counts(&self) -> Result<DueCounts, TidbitError> {
        let now = self.now();
        Ok(plan::due_counts(
            self.store.conn(),
            now.timestamp_millis(),
            self.end_of_local_day_ms(now),
        )?)
    }
}
