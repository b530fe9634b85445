//! Goals and pacing: what the learner must reach by a date, whether they are on track, and how
//! much new material today's plan holds so the goal is met with a steady daily load.
//!
//! A goal covers modules: those of the stages it names (every stage of its path when it names
//! neither stages nor skills) and those teaching the skills it names, in path order. It is met
//! when every one of them is done (a stage check only once its stage is passed) and every
//! named skill is at the course's mastery threshold.
//!
//! **The pacing model.** Progress is counted in steps. The goal's line runs from the steps
//! already done when it was set (`baseline`: its modules completed by then) to all of its steps,
//! evenly over its learning days (the days from the day it was set to its due date, both
//! included, without the learner's days off). By the end of a learning day the line asks for
//! `baseline + per_day × learning days so far`, reaching all of its steps a fifth of the
//! learning days before the date ([`RESERVE_SHARE`], kept for checks taken again and the last
//! reviews). Today's new-material quota is what was left this morning spread evenly over the
//! learning days left before that reserve (none on a day off), so a learner who skipped days
//! catches up over the days to come rather than in one heavy day. "Behind by N days" is how
//! many of the line's days the steps done fall short of where the line stood this morning;
//! "ahead by N" how many they are past where it stands tonight.
//!
//! **Whether it can be met** ([`load`]): the time still needed is the remaining steps' estimated
//! seconds (the learner's own pace per item kind), plus the reviews FSRS will ask before the
//! due date: each card's reviews answered "good" from its state now, and each remaining item's
//! reviews if introduced half way through the days left, each at the learner's time for its
//! kind. It can be met when that fits the learning days left at the learner's minutes a day;
//! otherwise the status says how many minutes a day would do, or the earliest date the current
//! minutes reach.

mod load;
mod scope;

use chrono::{Datelike, NaiveDate};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::schedule::Scheduler;
pub use load::{Feasibility, Stretch, TodayDone};
pub use scope::Scope;

/// Minutes a learning day holds until the learner says otherwise.
pub const DEFAULT_MINUTES_PER_DAY: u32 = 15;

/// The time the learner gives learning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct StudyTime {
    pub minutes_per_day: u32,
    /// ISO weekday numbers: 1 = Monday to 7 = Sunday.
    pub days_off: Vec<u8>,
}

impl Default for StudyTime {
    fn default() -> Self {
        StudyTime {
            minutes_per_day: DEFAULT_MINUTES_PER_DAY,
            days_off: Vec::new(),
        }
    }
}

impl StudyTime {
    pub fn is_off(&self, date: NaiveDate) -> bool {
        let weekday = date.weekday().number_from_monday() as u8;
        self.days_off.contains(&weekday)
    }

    /// Learning days from `from` to `to`, both included (0 when `to` is before `from`).
    pub fn learning_days(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to < from {
            return 0;
        }
        let days = (to - from).num_days() + 1;
        let weeks = days / 7;
        let off_per_week = self.days_off.len() as i64;
        let mut count = weeks * (7 - off_per_week);
        let mut date = from + chrono::Duration::days(weeks * 7);
        while date <= to {
            if !self.is_off(date) {
                count += 1;
            }
            date = date.succ_opt().unwrap_or(date + chrono::Duration::days(1));
        }
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// What a goal asks for: the shape a learner sets one in and every status shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct GoalSpec {
    /// Letters, digits, '-', '_', '.'; setting an existing id replaces that goal.
    pub goal: String,
    pub title: String,
    pub course: String,
    pub path: String,
    /// Stages of the path to pass; with no stages and no skills, every stage.
    pub stages: Vec<String>,
    /// Skills to bring to the course's mastery threshold.
    pub skills: Vec<String>,
    /// The learner's local date, `YYYY-MM-DD`.
    pub due: String,
}

/// A goal as the learner's documents hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    pub spec: GoalSpec,
    pub due: NaiveDate,
    /// Set by the L&D team (the server) rather than by the learner.
    pub set_by_server: bool,
    pub set_ms: i64,
}

/// Where a goal stands against its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "pace", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum Pace {
    Met,
    OnTrack,
    Behind {
        days: u32,
    },
    Ahead {
        days: u32,
    },
    /// The due date has passed and the goal is not met.
    Overdue {
        days: u32,
    },
}

impl Pace {
    pub fn describe(self) -> String {
        let days = |n: u32| format!("{n} day{}", if n == 1 { "" } else { "s" });
        match self {
            Pace::Met => "met".into(),
            Pace::OnTrack => "on track".into(),
            Pace::Behind { days: n } => format!("behind by {}", days(n)),
            Pace::Ahead { days: n } => format!("ahead by {}", days(n)),
            Pace::Overdue { days: n } => format!("{} past its date", days(n)),
        }
    }
}

/// A goal's progress and pace today: cheap enough for every plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub total_steps: u32,
    pub done_steps: u32,
    pub baseline_steps: u32,
    pub pace: Pace,
    pub learning_days_total: u32,
    pub learning_days_left: u32,
}

/// Every goal in force (not withdrawn), by due date then id.
pub fn goals(conn: &Connection) -> rusqlite::Result<Vec<Goal>> {
    let parts = |json: String| serde_json::from_str::<Vec<String>>(&json).unwrap_or_default();
    conn.prepare_cached(
        "SELECT goal, title, course, path, stages_json, skills_json, due, set_by_server, set_ms
         FROM goals WHERE NOT withdrawn ORDER BY due, goal",
    )?
    .query_map([], |r| {
        let due: String = r.get(6)?;
        Ok(Goal {
            due: due.parse().unwrap_or(NaiveDate::MAX),
            spec: GoalSpec {
                goal: r.get(0)?,
                title: r.get(1)?,
                course: r.get(2)?,
                path: r.get(3)?,
                stages: parts(r.get(4)?),
                skills: parts(r.get(5)?),
                due,
            },
            set_by_server: r.get(7)?,
            set_ms: r.get(8)?,
        })
    })?
    .collect()
}

/// Whether goal `goal` exists and who set it (`Some(true)`: the server), withdrawn or not.
pub fn goal_owner(conn: &Connection, goal: &str) -> rusqlite::Result<Option<bool>> {
    rusqlite::OptionalExtension::optional(
        conn.prepare_cached("SELECT set_by_server FROM goals WHERE goal = ?1")?
            .query_row(params![goal], |r| r.get(0)),
    )
}

pub fn study_time(conn: &Connection) -> rusqlite::Result<StudyTime> {
    let row: Option<(u32, String)> = rusqlite::OptionalExtension::optional(
        conn.prepare_cached("SELECT minutes_per_day, days_off_json FROM study_time")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?))),
    )?;
    Ok(match row {
        Some((minutes_per_day, days_off)) => StudyTime {
            minutes_per_day,
            days_off: serde_json::from_str(&days_off).unwrap_or_default(),
        },
        None => StudyTime::default(),
    })
}

/// The share of a goal's learning days its line keeps in reserve before the date, for stage
/// checks taken again and the reviews that pile up at the end. (A tenth left a third more of
/// the simulated learners who struggle with the stage checks short of the date.)
pub const RESERVE_SHARE: f64 = 0.2;

/// The goal's progress on `today`; `set_on` is the learner's local date when it was set.
pub fn progress(
    scope: &Scope,
    met: bool,
    study: &StudyTime,
    set_on: NaiveDate,
    due: NaiveDate,
    today: NaiveDate,
) -> Progress {
    let total = scope.total_steps();
    let done = total - scope.remaining_steps();
    let baseline = scope.baseline_steps().min(total);
    let start = set_on.min(due);
    let learning_days_total = study.learning_days(start, due).max(1);
    let learning_days_left = study.learning_days(today.max(start), due);
    let mut progress = Progress {
        total_steps: total,
        done_steps: done,
        baseline_steps: baseline,
        pace: Pace::OnTrack,
        learning_days_total,
        learning_days_left,
    };
    if met {
        progress.pace = Pace::Met;
        return progress;
    }
    if today > due {
        progress.pace = Pace::Overdue {
            days: u32::try_from((today - due).num_days()).unwrap_or(u32::MAX),
        };
        return progress;
    }
    let reserve = (f64::from(learning_days_total) * RESERVE_SHARE).floor() as u32;
    let line_days = learning_days_total.saturating_sub(reserve).max(1);
    let per_day = f64::from(total - baseline) / f64::from(line_days);
    let before_today = match today.pred_opt() {
        Some(yesterday) if today > start => study.learning_days(start, yesterday),
        _ => 0,
    };
    let through_today = study.learning_days(start, today);
    let line = |days: u32| f64::from(baseline) + per_day * f64::from(days.min(line_days));
    let (morning, tonight) = (line(before_today), line(through_today));
    // A hair of tolerance: the line's steps are fractions, the learner's whole.
    const EPSILON: f64 = 1e-9;
    if per_day > 0.0 {
        let behind = ((morning - f64::from(done)) / per_day + EPSILON).floor();
        let ahead = ((f64::from(done) - tonight) / per_day + EPSILON).floor();
        if behind >= 1.0 {
            progress.pace = Pace::Behind {
                days: behind as u32,
            };
        } else if ahead >= 1.0 {
            progress.pace = Pace::Ahead { days: ahead as u32 };
        }
    }
    progress
}

/// The learning days before a goal's reserve, and the learner's attendance so far: what
/// today's allowance spreads the work over.
fn stretch(
    conn: &Connection,
    study: &StudyTime,
    set_on: NaiveDate,
    due: NaiveDate,
    today: NaiveDate,
) -> rusqlite::Result<Stretch> {
    let start = set_on.min(due);
    let total = study.learning_days(start, due).max(1);
    let reserve = (f64::from(total) * RESERVE_SHARE).floor() as u32;
    // The last learning day before the reserve (the due date itself once inside the reserve,
    // today once past it).
    let mut last_day = due;
    let mut skipped = 0;
    while skipped < reserve && last_day > today {
        if !study.is_off(last_day) {
            skipped += 1;
        }
        last_day = last_day.pred_opt().unwrap_or(last_day);
    }
    let last_day = last_day.max(today);
    let elapsed = match today.pred_opt() {
        Some(yesterday) if today > start => study.learning_days(start, yesterday),
        _ => 0,
    };
    // A week of learning days says how often the learner learns; fewer say little.
    let attendance = if elapsed < 7 {
        1.0
    } else {
        let active: Vec<String> = conn
            .prepare_cached("SELECT day FROM activity_days WHERE day >= ?1 AND day < ?2")?
            .query_map(params![start.to_string(), today.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let learning = active
            .iter()
            .filter_map(|d| d.parse::<NaiveDate>().ok())
            .filter(|&d| !study.is_off(d))
            .count();
        learning as f64 / f64::from(elapsed)
    };
    Ok(Stretch {
        last_day,
        learning_days: study.learning_days(today, last_day).max(1),
        attendance,
    })
}

/// Seconds of new material the goal still allows today (none on a day off or once met).
fn allowance(
    conn: &Connection,
    scheduler: &Scheduler,
    scope: &Scope,
    study: &StudyTime,
    day: &Day,
    set_on: NaiveDate,
    met: bool,
) -> rusqlite::Result<u32> {
    if met || study.is_off(day.today) {
        return Ok(0);
    }
    let stretch = stretch(conn, study, set_on, scope.goal.due, day.today)?;
    let done = TodayDone::read(conn, scope, day.today, day.start_ms)?;
    load::allowance_today(conn, scheduler, scope, &done, &stretch, day.now_ms)
}

/// Everything about one goal today, for the learner's goal screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct GoalStatus {
    pub spec: GoalSpec,
    /// `server` (the L&D team) or `learner`.
    pub set_by: String,
    pub pace: Pace,
    pub total_steps: u32,
    pub done_steps: u32,
    /// Minutes of new material the goal still allows today: the day's steady share of the
    /// goal's work and reviews, less what today's reviews and steps took.
    pub minutes_today: u32,
    pub learning_days_left: u32,
    pub minutes_per_day: u32,
    /// Minutes still needed: the remaining steps and the reviews expected before the date.
    pub minutes_needed: u32,
    pub expected_reviews: u32,
    /// The goal fits the learning days left at the learner's minutes a day.
    pub feasible: bool,
    /// Minutes a day that would meet it by its date.
    pub minutes_per_day_needed: u32,
    /// The earliest date the learner's minutes a day meet it (`YYYY-MM-DD`), when it is not
    /// feasible by its own; empty when not within two years.
    pub earliest_date: Option<String>,
    /// The course or path is not installed or not followed: what to do first.
    pub blocked: Option<String>,
    /// One sentence for the learner.
    pub summary: String,
}

/// The status of `goal` on `today` (the learner's local date) at `now_ms`.
pub fn status(
    conn: &Connection,
    scheduler: &Scheduler,
    goal: &Goal,
    day: &Day,
    set_on: NaiveDate,
) -> rusqlite::Result<GoalStatus> {
    let (today, now_ms) = (day.today, day.now_ms);
    let study = study_time(conn)?;
    let scope = Scope::of(conn, goal)?;
    let met = scope.met(conn, scheduler, now_ms)?;
    let progress = progress(&scope, met, &study, set_on, goal.due, today);
    let seconds_today = allowance(conn, scheduler, &scope, &study, day, set_on, met)?;
    let feasibility = load::feasibility(conn, scheduler, &scope, &study, today, goal.due, now_ms)?;
    let blocked = scope.blocked(conn)?;
    let feasible = met || feasibility.feasible;
    let summary = summary(
        goal,
        &progress,
        &feasibility,
        met,
        blocked.as_deref(),
        &study,
    );
    Ok(GoalStatus {
        spec: goal.spec.clone(),
        set_by: if goal.set_by_server {
            "server"
        } else {
            "learner"
        }
        .into(),
        pace: progress.pace,
        total_steps: progress.total_steps,
        done_steps: progress.done_steps,
        minutes_today: seconds_today.div_ceil(60),
        learning_days_left: progress.learning_days_left,
        minutes_per_day: study.minutes_per_day,
        minutes_needed: feasibility.seconds_needed.div_ceil(60),
        expected_reviews: feasibility.expected_reviews,
        feasible,
        minutes_per_day_needed: feasibility.minutes_per_day_needed,
        earliest_date: (!feasible)
            .then(|| feasibility.earliest_date.map(|d| d.to_string()))
            .flatten(),
        blocked,
        summary,
    })
}

fn summary(
    goal: &Goal,
    progress: &Progress,
    feasibility: &Feasibility,
    met: bool,
    blocked: Option<&str>,
    study: &StudyTime,
) -> String {
    let title = &goal.spec.title;
    let due = goal.due;
    if met {
        return format!("'{title}' is met");
    }
    if let Some(blocked) = blocked {
        return format!("'{title}' (by {due}): {blocked}");
    }
    if !feasibility.feasible {
        let later = match feasibility.earliest_date {
            Some(date) => format!(
                ", or a date of {date} at your {} minutes",
                study.minutes_per_day
            ),
            None => String::new(),
        };
        return format!(
            "'{title}' cannot be met by {due} at {} minutes a day: it needs about {} minutes over {} learning day{} left; {} minutes a day would do it{later}",
            study.minutes_per_day,
            feasibility.seconds_needed.div_ceil(60),
            progress.learning_days_left,
            if progress.learning_days_left == 1 { "" } else { "s" },
            feasibility.minutes_per_day_needed,
        );
    }
    format!(
        "'{title}' by {due}: {}; {} of {} steps done",
        progress.pace.describe(),
        progress.done_steps,
        progress.total_steps,
    )
}

/// The learner's day: the local date, when it started and the instant now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub today: NaiveDate,
    pub start_ms: i64,
    pub now_ms: i64,
}

/// Each goal's course and today's new-step quota: what [`super::plan::plan_session`] paces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pacing {
    pub quotas: Vec<Quota>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    pub goal: String,
    pub title: String,
    pub course: String,
    pub path: String,
    /// The goal's modules not done, in path order.
    pub modules: Vec<String>,
    /// Seconds of new material still allowed today.
    pub seconds_today: u32,
    pub pace: Pace,
}

impl Pacing {
    /// The pacing of every goal in force on `today`; `local_date` gives a time's local date.
    pub fn today(
        conn: &Connection,
        scheduler: &Scheduler,
        day: &Day,
        local_date: &dyn Fn(i64) -> NaiveDate,
    ) -> rusqlite::Result<Pacing> {
        let goals = goals(conn)?;
        if goals.is_empty() {
            return Ok(Pacing::default());
        }
        let study = study_time(conn)?;
        let mut quotas = Vec::new();
        for goal in goals {
            let scope = Scope::of(conn, &goal)?;
            let met = scope.met(conn, scheduler, day.now_ms)?;
            // A goal met paces nothing any more.
            if met {
                continue;
            }
            let set_on = local_date(goal.set_ms);
            let progress = progress(&scope, met, &study, set_on, goal.due, day.today);
            let seconds_today = allowance(conn, scheduler, &scope, &study, day, set_on, met)?;
            quotas.push(Quota {
                modules: scope.open_modules(),
                seconds_today,
                pace: progress.pace,
                goal: goal.spec.goal,
                title: goal.spec.title,
                course: goal.spec.course,
                path: goal.spec.path,
            });
        }
        Ok(Pacing { quotas })
    }

    /// The goals on `course` and `path`.
    pub fn of_path<'p>(
        &'p self,
        course: &'p str,
        path: &'p str,
    ) -> impl Iterator<Item = &'p Quota> + 'p {
        self.quotas
            .iter()
            .filter(move |q| q.course == course && q.path == path)
    }

    /// Whether a goal paces the learner's new steps on `course` and `path`.
    pub fn paces(&self, course: &str, path: &str) -> bool {
        self.of_path(course, path).next().is_some()
    }
}

#[cfg(test)]
mod tests;
