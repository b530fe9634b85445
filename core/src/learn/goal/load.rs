//! Whether a goal fits the learner's time: the remaining steps' seconds and the reviews FSRS
//! is expected to ask before the due date (see the pacing model in [`super`]).

use chrono::NaiveDate;
use rusqlite::{params, Connection};

use super::{Scope, StudyTime};
use crate::events::Grade;
use crate::learn::plan::{learner_seconds, planned, Purpose};
use crate::learn::schedule::{CardState, Phase, Scheduler, DAY_MS};

/// How far past the due date an earlier-impossible goal looks for a date that works.
const HORIZON_DAYS: i64 = 730;
/// The most reviews one card is followed through (intervals grow; a card reviewed this often
/// within two years is rare).
const MAX_REVIEWS_PER_CARD: usize = 40;

#[derive(Debug, Clone, PartialEq)]
pub struct Feasibility {
    pub feasible: bool,
    pub seconds_needed: u32,
    pub expected_reviews: u32,
    pub minutes_per_day_needed: u32,
    pub earliest_date: Option<NaiveDate>,
}

/// Days (from the start of `today`, UTC day numbers) of the reviews a card will be asked,
/// answered "good" each time, until `until_ms`.
fn review_days(
    scheduler: &Scheduler,
    card: &str,
    mut state: Option<CardState>,
    first_ms: i64,
    until_ms: i64,
    retention: f32,
) -> Vec<i64> {
    let mut days = Vec::new();
    let mut at_ms = state.as_ref().map_or(first_ms, |s| s.due_ms.max(first_ms));
    while at_ms <= until_ms && days.len() < MAX_REVIEWS_PER_CARD {
        if state.is_some() {
            days.push(at_ms.div_euclid(DAY_MS));
        }
        let Ok(next) = scheduler.review(
            card,
            state.as_ref(),
            Grade::Good,
            at_ms,
            retention,
            &mut |_| 0,
        ) else {
            break;
        };
        at_ms = next.due_ms;
        state = Some(next);
    }
    days
}

fn retention(conn: &Connection, course: &str) -> rusqlite::Result<f32> {
    conn.prepare_cached(
        "SELECT COALESCE((SELECT desired_retention FROM retention_settings WHERE course = ?1),
                         (SELECT desired_retention FROM courses INDEXED BY course_settings WHERE id = ?1), 0.9)",
    )?
    .query_row([course], |r| r.get::<_, f64>(0))
    .map(|r| r as f32)
}

/// The cards due before `until_ms`, with their item kind.
fn cards_due_by(
    conn: &Connection,
    until_ms: i64,
) -> rusqlite::Result<Vec<(String, String, String, CardState)>> {
    conn.prepare_cached(
        "SELECT course, step, item_kind, phase, learning_step, stability, difficulty, reps, lapses,
                last_review_ms, due_ms
         FROM cards WHERE due_ms <= ?1",
    )?
    .query_map(params![until_ms], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            CardState {
                phase: Phase::parse(r.get_ref(3)?.as_str()?),
                learning_step: r.get(4)?,
                stability: r.get(5)?,
                difficulty: r.get(6)?,
                reps: r.get(7)?,
                lapses: r.get(8)?,
                last_review_ms: r.get(9)?,
                due_ms: r.get(10)?,
            },
        ))
    })?
    .collect()
}

/// The work a goal's remaining steps and the learner's cards ask for, day by day from today:
/// what [`feasibility`] and today's allowance read.
pub struct Workload {
    today: NaiveDate,
    /// Seconds and counts of the existing cards' reviews on each day (index 0 = today, from
    /// now on).
    review_seconds: Vec<u64>,
    review_counts: Vec<u32>,
    /// The remaining steps' seconds; their items' count and seconds.
    pub new_seconds: u64,
    items: u32,
    item_seconds: u64,
    /// Day offsets of a fresh card's reviews after its first answer, answered "good".
    fresh_reviews: Vec<i64>,
}

impl Workload {
    pub fn of(
        conn: &Connection,
        scheduler: &Scheduler,
        scope: &Scope,
        today: NaiveDate,
        until: NaiveDate,
        now_ms: i64,
    ) -> rusqlite::Result<Workload> {
        let course = &scope.goal.spec.course;
        let today_day = (today - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days();
        let until_ms = until
            .and_hms_opt(23, 59, 59)
            .map_or(i64::MAX, |t| t.and_utc().timestamp_millis());
        let span = (until - today).num_days().max(0) as usize + 1;
        let mut review_seconds = vec![0u64; span];
        let mut review_counts = vec![0u32; span];
        // Read once per item kind and per course, not once per card.
        let mut seconds_of_kind = std::collections::HashMap::new();
        let mut retention_of_course = std::collections::HashMap::new();
        for (card_course, step, kind, state) in cards_due_by(conn, until_ms)? {
            let seconds = match seconds_of_kind.get(&kind) {
                Some(&s) => s,
                None => {
                    let s = learner_seconds(conn, &kind)?;
                    seconds_of_kind.insert(kind, s);
                    s
                }
            };
            let retention = match retention_of_course.get(&card_course) {
                Some(&r) => r,
                None => {
                    let r = retention(conn, &card_course)?;
                    retention_of_course.insert(card_course.clone(), r);
                    r
                }
            };
            let id = format!("{card_course}/{step}");
            for day in review_days(scheduler, &id, Some(state), now_ms, until_ms, retention) {
                let index = (day - today_day).max(0) as usize;
                if index < span {
                    review_seconds[index] += u64::from(seconds);
                    review_counts[index] += 1;
                }
            }
        }
        let mut new_seconds = 0u64;
        let (mut items, mut item_seconds) = (0u32, 0u64);
        for module in &scope.modules {
            for step in &module.remaining {
                if let Some(p) = planned(conn, course, step, Purpose::New, None)? {
                    new_seconds += u64::from(p.estimated_seconds);
                    if crate::content::items::ItemKind::from_name(&p.kind).is_some() {
                        items += 1;
                        item_seconds += u64::from(p.estimated_seconds);
                    }
                }
            }
        }
        let first_day = now_ms.div_euclid(DAY_MS);
        let fresh_reviews = review_days(
            scheduler,
            &format!("{course}/fresh"),
            None,
            now_ms,
            until_ms,
            retention(conn, course)?,
        )
        .into_iter()
        .map(|day| day - first_day)
        .collect();
        Ok(Workload {
            today,
            review_seconds,
            review_counts,
            new_seconds,
            items,
            item_seconds,
            fresh_reviews,
        })
    }

    /// Seconds (and reviews) needed from now to the end of `date`: the remaining steps, the
    /// existing cards' reviews, and the reviews of the remaining items introduced half way.
    pub fn needed_by(&self, date: NaiveDate) -> (u64, u32) {
        let days = (date - self.today).num_days();
        let index = (days.max(0) as usize).min(self.review_seconds.len() - 1);
        let existing: u64 = self.review_seconds[..=index].iter().sum();
        let existing_count: u32 = self.review_counts[..=index].iter().sum();
        let per_item = self
            .fresh_reviews
            .iter()
            .filter(|&&d| d <= days / 2)
            .count() as u32;
        (
            self.new_seconds + existing + u64::from(per_item) * self.item_seconds,
            existing_count + per_item * self.items,
        )
    }

    /// Seconds of the existing cards' reviews still due today.
    pub fn reviews_left_today(&self) -> u64 {
        self.review_seconds[0]
    }
}

/// Whether the goal's remaining work fits the learning days from `today` to `due`.
pub fn feasibility(
    conn: &Connection,
    scheduler: &Scheduler,
    scope: &Scope,
    study: &StudyTime,
    today: NaiveDate,
    due: NaiveDate,
    now_ms: i64,
) -> rusqlite::Result<Feasibility> {
    let horizon = due + chrono::Duration::days(HORIZON_DAYS);
    let work = Workload::of(conn, scheduler, scope, today, horizon, now_ms)?;
    let (seconds, reviews) = work.needed_by(due);
    let days_left = study.learning_days(today, due);
    let capacity = |days: u32| u64::from(days) * u64::from(study.minutes_per_day) * 60;
    let feasible = days_left > 0 && seconds <= capacity(days_left) || seconds == 0;
    let minutes_per_day_needed = if days_left == 0 {
        u32::MAX
    } else {
        u32::try_from(seconds.div_ceil(u64::from(days_left) * 60)).unwrap_or(u32::MAX)
    };
    let earliest_date = if feasible {
        Some(due)
    } else {
        (1..=HORIZON_DAYS)
            .map(|d| due + chrono::Duration::days(d))
            .find(|&date| work.needed_by(date).0 <= capacity(study.learning_days(today, date)))
    };
    Ok(Feasibility {
        feasible,
        seconds_needed: u32::try_from(seconds).unwrap_or(u32::MAX),
        expected_reviews: reviews,
        minutes_per_day_needed,
        earliest_date,
    })
}

/// The days a goal's allowance spreads its work over: from today to `last_day`, `learning_days`
/// of them, on a share `attendance` of which the learner has been learning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    pub last_day: NaiveDate,
    pub learning_days: u32,
    pub attendance: f64,
}

/// Today's allowance of new material for a goal, in seconds still to use: the day's steady
/// load (the goal's work from this morning to the stretch's last day, over its learning days,
/// more where the learner has been learning on fewer days than planned, their attendance
/// counted at no less than 0.3) less the reviews of
/// today, done and still due, and the goal's new steps done today.
pub fn allowance_today(
    conn: &Connection,
    scheduler: &Scheduler,
    scope: &Scope,
    done: &TodayDone,
    stretch: &Stretch,
    now_ms: i64,
) -> rusqlite::Result<u32> {
    if stretch.learning_days == 0 {
        return Ok(0);
    }
    let work = Workload::of(conn, scheduler, scope, done.today, stretch.last_day, now_ms)?;
    let morning = work.needed_by(stretch.last_day).0 + done.new_seconds + done.review_seconds;
    let days = f64::from(stretch.learning_days) * stretch.attendance.clamp(0.3, 1.0);
    let load = morning as f64 / days;
    let used = done.new_seconds + done.review_seconds + work.reviews_left_today();
    Ok((load - used as f64).max(0.0).ceil() as u32)
}

/// What the learner did today: the goal's new steps, and their other answers (reviews).
#[derive(Debug, Clone, PartialEq)]
pub struct TodayDone {
    pub today: NaiveDate,
    pub new_steps: Vec<String>,
    pub new_seconds: u64,
    pub review_seconds: u64,
}

impl TodayDone {
    /// Reads what was done since `since_ms`: `new_steps` of the goal, and every other answer.
    pub fn read(
        conn: &Connection,
        scope: &Scope,
        today: NaiveDate,
        since_ms: i64,
    ) -> rusqlite::Result<TodayDone> {
        let course = &scope.goal.spec.course;
        let new_steps = scope.done_since(conn, since_ms)?;
        let mut new_seconds = 0u64;
        for step in &new_steps {
            if let Some(p) = planned(conn, course, step, Purpose::New, None)? {
                new_seconds += u64::from(p.estimated_seconds);
            }
        }
        let answers: Vec<(String, String, String)> = conn
            .prepare_cached(
                "SELECT e.course, e.step, s.kind FROM events e
                 JOIN steps s ON s.course_id = e.course AND s.id = e.step
                 WHERE e.at_ms >= ?1 AND e.kind = 'item_answered'",
            )?
            .query_map(params![since_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut review_seconds = 0u64;
        for (answer_course, step, kind) in answers {
            if answer_course == *course && new_steps.contains(&step) {
                continue;
            }
            review_seconds += u64::from(learner_seconds(conn, &kind)?);
        }
        Ok(TodayDone {
            today,
            new_steps,
            new_seconds,
            review_seconds,
        })
    }
}
