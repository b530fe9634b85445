//! The goal rules: a `GoalSet` replaces the goal of its id, except that a learner's device
//! never replaces one the server set; a `StudyTimeSet` replaces the study time.

use super::tables::{GoalRow, ProjectionTables};
use super::ProjectionError;
use crate::events::{Event, EventKind, SERVER_DEVICE};
use crate::learn::goal::{Goal, GoalSpec};

pub(super) fn apply<T: ProjectionTables>(
    tables: &mut T,
    event: &Event,
) -> Result<(), ProjectionError> {
    match &event.kind {
        EventKind::GoalSet {
            goal,
            title,
            course,
            path,
            stages,
            skills,
            due,
            withdrawn,
        } => {
            let from_server = event.device == SERVER_DEVICE;
            // The L&D team's goals are theirs: a device's GoalSet never replaces one.
            if !from_server && tables.goal_set_by_server(goal)? == Some(true) {
                return Ok(());
            }
            tables.put_goal(GoalRow {
                goal: Goal {
                    spec: GoalSpec {
                        goal: goal.clone(),
                        title: title.clone(),
                        course: course.clone(),
                        path: path.clone(),
                        stages: stages.clone(),
                        skills: skills.clone(),
                        due: due.to_string(),
                    },
                    due: *due,
                    set_by_server: from_server,
                    set_ms: event.at_ms,
                },
                withdrawn: *withdrawn,
            })?;
        }
        EventKind::StudyTimeSet {
            minutes_per_day,
            days_off,
        } => tables.put_study_time(*minutes_per_day, days_off, event.at_ms)?,
        _ => {}
    }
    Ok(())
}
