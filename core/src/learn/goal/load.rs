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
                         (SELECT desired_retention FROM courses WHERE id = ?1), 0.9)",
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
    let course = &scope.goal.spec.course;
    let today_day = (today - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days();
    let horizon = due + chrono::Duration::days(HORIZON_DAYS);
    let day_end_ms = |date: NaiveDate| {
        date.and_hms_opt(23, 59, 59)
            .map_or(i64::MAX, |t| t.and_utc().timestamp_millis())
    };
    let horizon_ms = day_end_ms(horizon);
    // Seconds of reviews on each day from today to the horizon (index 0 = today).
    let span = (horizon - today).num_days().max(0) as usize + 1;
    let mut review_seconds = vec![0u64; span];
    let mut review_counts = vec![0u32; span];
    let mut seconds_of_kind = std::collections::HashMap::new();
    for (card_course, step, kind, state) in cards_due_by(conn, horizon_ms)? {
        let seconds = match seconds_of_kind.get(&kind) {
            Some(&s) => s,
            None => {
                let s = learner_seconds(conn, &kind)?;
                seconds_of_kind.insert(kind.clone(), s);
                s
            }
        };
        let retention = retention(conn, &card_course)?;
        let id = format!("{card_course}/{step}");
        for day in review_days(scheduler, &id, Some(state), now_ms, horizon_ms, retention) {
            let index = (day - today_day).max(0) as usize;
            if index < span {
                review_seconds[index] += u64::from(seconds);
                review_counts[index] += 1;
            }
        }
    }
    // The remaining steps: their own seconds, and for items the reviews a fresh card gets.
    let retention = retention(conn, course)?;
    let mut new_seconds = 0u64;
    let mut items: Vec<u32> = Vec::new();
    for module in &scope.modules {
        for step in &module.remaining {
            if let Some(p) = planned(conn, course, step, Purpose::New, None)? {
                new_seconds += u64::from(p.estimated_seconds);
                if crate::content::items::ItemKind::from_name(&p.kind).is_some() {
                    items.push(p.estimated_seconds);
                }
            }
        }
    }
    let fresh = |days: i64| -> u32 {
        let until = now_ms + days.max(0) * DAY_MS;
        review_days(
            scheduler,
            &format!("{course}/fresh"),
            None,
            now_ms,
            until,
            retention,
        )
        .len() as u32
    };
    let item_seconds: u64 = items.iter().map(|&s| u64::from(s)).sum();
    // What is needed by the end of `date`, and how many reviews that includes.
    let needed = |date: NaiveDate| -> (u64, u32) {
        let index = ((date - today).num_days().max(0) as usize).min(span - 1);
        let existing: u64 = review_seconds[..=index].iter().sum();
        let existing_count: u32 = review_counts[..=index].iter().sum();
        let half_way = (date - today).num_days() / 2;
        let per_item = u64::from(fresh(half_way));
        (
            new_seconds + existing + per_item * item_seconds,
            existing_count + per_item as u32 * items.len() as u32,
        )
    };
    let (seconds, reviews) = needed(due);
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
            .find(|&date| needed(date).0 <= capacity(study.learning_days(today, date)))
    };
    Ok(Feasibility {
        feasible,
        seconds_needed: u32::try_from(seconds).unwrap_or(u32::MAX),
        expected_reviews: reviews,
        minutes_per_day_needed,
        earliest_date,
    })
}
