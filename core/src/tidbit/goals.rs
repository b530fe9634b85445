//! The learner's goals and study time: set, withdrawn and shown with their pace (see
//! [`crate::learn::goal`] for the model). A goal set by the L&D team arrives with a sync, as a
//! `GoalSet` the server wrote; the learner sets their own the same way, and may not change one
//! the L&D team set.

use chrono::NaiveDate;
use rusqlite::params;

use super::{Tidbit, TidbitError};
use crate::events::{check_goal, check_study_time, EventKind};
use crate::learn::goal::{self, Day, GoalSpec, GoalStatus, Pacing, StudyTime};

#[derive(Debug, thiserror::Error)]
pub enum GoalError {
    #[error("not a valid goal: {0}")]
    Invalid(String),
    #[error("course '{course}' has no {what} '{id}' on path '{path}': pick one the course lists")]
    UnknownPart {
        course: String,
        path: String,
        what: &'static str,
        id: String,
    },
    #[error(
        "the goal '{0}' was set by your organisation: it can be changed there, not on this device"
    )]
    SetByOrganisation(String),
    #[error("there is no goal '{0}'")]
    UnknownGoal(String),
    #[error("the date {due} has passed: pick today or a later date")]
    PastDate { due: NaiveDate },
}

impl Tidbit {
    /// Today's pacing of every goal, for plans and recommendations.
    pub(super) fn pacing(&self) -> Result<Pacing, TidbitError> {
        let now = self.now();
        Ok(Pacing::today(
            self.store.conn(),
            self.schedulers.scheduler(),
            &self.day(),
            &|ms| self.local_date(chrono::DateTime::from_timestamp_millis(ms).unwrap_or(now)),
        )?)
    }

    /// The learner's day now.
    fn day(&self) -> Day {
        let now = self.now();
        let end_ms = self.end_of_local_day_ms(now);
        Day {
            today: self.local_date(now),
            // A day with a clock change is an hour off at its start: no step falls in it.
            start_ms: end_ms - crate::learn::schedule::DAY_MS,
            now_ms: now.timestamp_millis(),
        }
    }

    /// Every goal in force, by due date, with its pace and whether it can still be met.
    pub fn goals(&self) -> Result<Vec<GoalStatus>, TidbitError> {
        let now = self.now();
        let day = self.day();
        let conn = self.store.conn();
        let mut statuses = Vec::new();
        for g in goal::goals(conn)? {
            let set_on =
                self.local_date(chrono::DateTime::from_timestamp_millis(g.set_ms).unwrap_or(now));
            let scheduler = self.schedulers.scheduler();
            statuses.push(goal::status(conn, scheduler, &g, &day, set_on)?);
        }
        Ok(statuses)
    }

    /// Sets (or replaces) one of the learner's own goals; returns its status.
    pub fn set_goal(&mut self, input: &GoalSpec) -> Result<GoalStatus, TidbitError> {
        let due: NaiveDate = input.due.parse().map_err(|_| {
            GoalError::Invalid(format!("due: '{}' is not a YYYY-MM-DD date", input.due))
        })?;
        check_goal(
            &input.goal,
            &input.title,
            &input.course,
            &input.path,
            &input.stages,
            &input.skills,
            due,
        )
        .map_err(|e| GoalError::Invalid(e.to_string()))?;
        if due < self.local_date(self.now()) {
            return Err(GoalError::PastDate { due }.into());
        }
        if goal::goal_owner(self.store.conn(), &input.goal)? == Some(true) {
            return Err(GoalError::SetByOrganisation(input.goal.clone()).into());
        }
        self.check_parts(input)?;
        self.record(EventKind::GoalSet {
            goal: input.goal.clone(),
            title: input.title.trim().to_string(),
            course: input.course.clone(),
            path: input.path.clone(),
            stages: input.stages.clone(),
            skills: input.skills.clone(),
            due,
            withdrawn: false,
        })?;
        self.goals()?
            .into_iter()
            .find(|s| s.spec.goal == input.goal)
            .ok_or_else(|| GoalError::UnknownGoal(input.goal.clone()).into())
    }

    /// Withdraws one of the learner's own goals.
    pub fn withdraw_goal(&mut self, goal_id: &str) -> Result<(), TidbitError> {
        let conn = self.store.conn();
        let Some(g) = goal::goals(conn)?
            .into_iter()
            .find(|g| g.spec.goal == goal_id)
        else {
            return Err(GoalError::UnknownGoal(goal_id.to_string()).into());
        };
        if g.set_by_server {
            return Err(GoalError::SetByOrganisation(goal_id.to_string()).into());
        }
        let spec = g.spec;
        self.record(EventKind::GoalSet {
            goal: spec.goal,
            title: spec.title,
            course: spec.course,
            path: spec.path,
            stages: spec.stages,
            skills: spec.skills,
            due: g.due,
            withdrawn: true,
        })?;
        Ok(())
    }

    /// The minutes a learning day holds and the weekdays off (ISO: 1 = Monday to 7 = Sunday).
    pub fn set_study_time(
        &mut self,
        minutes_per_day: u32,
        days_off: &[u8],
    ) -> Result<(), TidbitError> {
        check_study_time(minutes_per_day, days_off)
            .map_err(|e| GoalError::Invalid(e.to_string()))?;
        let mut days_off = days_off.to_vec();
        days_off.sort_unstable();
        self.record(EventKind::StudyTimeSet {
            minutes_per_day,
            days_off,
        })?;
        Ok(())
    }

    pub fn study_time(&self) -> Result<StudyTime, TidbitError> {
        Ok(goal::study_time(self.store.conn())?)
    }

    /// The goal's path, stages and skills exist in the installed course.
    fn check_parts(&self, input: &GoalSpec) -> Result<(), TidbitError> {
        let conn = self.store.conn();
        let unknown = |what: &'static str, id: &str| GoalError::UnknownPart {
            course: input.course.clone(),
            path: input.path.clone(),
            what,
            id: id.to_string(),
        };
        let path: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM paths WHERE course_id = ?1 AND id = ?2)")?
            .query_row(params![input.course, input.path], |r| r.get(0))?;
        if !path {
            return Err(unknown("path", &input.path).into());
        }
        let mut stage = conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM stages WHERE course_id = ?1 AND path_id = ?2 AND kind = ?3)",
        )?;
        for id in &input.stages {
            if !stage.query_row(params![input.course, input.path, id], |r| {
                r.get::<_, bool>(0)
            })? {
                return Err(unknown("stage", id).into());
            }
        }
        let mut skill = conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM skills WHERE course_id = ?1 AND id = ?2)",
        )?;
        for id in &input.skills {
            if !skill.query_row(params![input.course, id], |r| r.get::<_, bool>(0))? {
                return Err(unknown("skill", id).into());
            }
        }
        Ok(())
    }
}
