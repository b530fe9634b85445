//! Projections: everything the learner's state is made of, derived from events alone.
//!
//! [`apply_event`] is the only code that writes a projection, used both when a call records a
//! new event and when [`rebuild`] replays the whole log in its total order. It reads the
//! installed content and the projections so far, and nothing else: no clock, no randomness, no
//! settings that are not themselves events. So the same events give the same state, byte for
//! byte, on every device.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::mastery::{expected_success, skill_mastery, ELO_STEP};
use super::schedule::{CardState, Phase, ScheduleError, Scheduler, DAY_MS, MINUTE_MS};
use crate::events::{Event, EventKind, Grade};
use crate::learn::assess::Outcome;

/// How long after a miss a remediation re-test becomes due.
pub const REMEDIATION_DELAY_MS: i64 = 2 * MINUTE_MS;
/// Wrong answers on one skill within one module attempt that trigger a remediation.
pub const WRONG_ANSWERS_BEFORE_REMEDIATION: i64 = 2;
const LESSON_KINDS: &str = "('lesson', 'image', 'audio', 'video')";

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error while updating progress: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("event {id} is unreadable: {message}")]
    BadEvent { id: String, message: String },
}

/// The FSRS scheduler for the parameters currently adopted, reloaded when they change.
pub struct SchedulerCache {
    scheduler: Scheduler,
    parameters: Option<String>,
}

impl SchedulerCache {
    pub fn load(conn: &Connection) -> Result<SchedulerCache, ProjectionError> {
        let parameters: Option<String> = conn
            .query_row(
                "SELECT parameters FROM fsrs_parameters WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let scheduler = match &parameters {
            Some(json) => {
                let values: Vec<f32> =
                    serde_json::from_str(json).map_err(|e| ProjectionError::BadEvent {
                        id: "fsrs_parameters".into(),
                        message: e.to_string(),
                    })?;
                Scheduler::new(Some(&values))?
            }
            None => Scheduler::new(None)?,
        };
        Ok(SchedulerCache {
            scheduler,
            parameters,
        })
    }

    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    pub fn is_personalised(&self) -> bool {
        self.parameters.is_some()
    }
}

/// A remediation inserted by an event: the lesson card for the skill, then a different item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationInserted {
    pub skill: String,
    pub reason: String,
    pub lesson_step: Option<String>,
    pub item_step: String,
    pub due_ms: i64,
}

/// The outcome of a completed stage check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageCheckResult {
    pub path: String,
    pub stage: String,
    pub passed: bool,
    /// `(skill, mastery)` for every skill the check assesses.
    pub skills: Vec<(String, f64)>,
    pub threshold: f64,
    /// The stage this check unlocked, if it passed and there is a next one.
    pub unlocked: Option<String>,
}

/// What applying one event changed, for the caller to tell the learner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub card_due_ms: Option<i64>,
    pub module_completed: bool,
    pub stage_checks: Vec<StageCheckResult>,
    pub remediations: Vec<RemediationInserted>,
    pub remediation_resolved: bool,
}

/// Applies one event to the projections. The caller holds the transaction.
pub fn apply_event(
    conn: &Connection,
    schedulers: &mut SchedulerCache,
    event: &Event,
) -> Result<Applied, ProjectionError> {
    let mut applied = Applied::default();
    match &event.kind {
        EventKind::Enrolled { course, path } => {
            conn.execute(
                "INSERT INTO enrollments (course, path, at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (course) DO UPDATE SET path = excluded.path, at_ms = excluded.at_ms",
                params![course, path, event.at_ms],
            )?;
            let first: Option<String> = conn
                .query_row(
                    "SELECT kind FROM stages WHERE course_id = ?1 AND path_id = ?2
                     ORDER BY position LIMIT 1",
                    params![course, path],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(stage) = first {
                unlock_stage(conn, course, path, &stage, event.at_ms)?;
            }
        }
        EventKind::ModuleStarted { course, module } => {
            conn.execute(
                "INSERT INTO module_progress (course, module, attempts, started_ms, completed_ms, completions)
                 VALUES (?1, ?2, 1, ?3, NULL, 0)
                 ON CONFLICT (course, module) DO UPDATE SET attempts = attempts + 1, started_ms = excluded.started_ms",
                params![course, module, event.at_ms],
            )?;
            conn.execute(
                "DELETE FROM attempt_steps WHERE course = ?1 AND module = ?2",
                params![course, module],
            )?;
            conn.execute(
                "DELETE FROM attempt_misses WHERE course = ?1 AND module = ?2",
                params![course, module],
            )?;
        }
        EventKind::StepViewed {
            course,
            module,
            step,
        } => {
            mark_step_done(conn, course, module, step, None)?;
            finish_module_if_done(conn, schedulers, course, module, event.at_ms, &mut applied)?;
        }
        EventKind::ItemAnswered {
            course,
            module,
            step,
            item_kind,
            response_ms,
            credit,
            outcome,
            grade,
            local_date,
            ..
        } => {
            if !(0.0..=1.0).contains(credit) {
                return Err(ProjectionError::BadEvent {
                    id: event.id.clone(),
                    message: format!("credit {credit} is outside 0 to 1"),
                });
            }
            let answer = Answer {
                course,
                module,
                step,
                item_kind,
                credit: *credit,
                grade: *grade,
                at_ms: event.at_ms,
            };
            applied.card_due_ms = Some(update_card(conn, schedulers.scheduler(), &answer)?);
            update_ratings(conn, &answer)?;
            conn.prepare_cached(
                "INSERT INTO response_times (item_kind, typical_ms, answers) VALUES (?1, ?2, 1)
                 ON CONFLICT (item_kind) DO UPDATE SET
                    typical_ms = typical_ms * 0.8 + excluded.typical_ms * 0.2, answers = answers + 1",
            )?
            .execute(params![item_kind, f64::from(*response_ms)])?;
            conn.prepare_cached(
                "INSERT INTO activity_days (day, answers) VALUES (?1, 1)
                 ON CONFLICT (day) DO UPDATE SET answers = answers + 1",
            )?
            .execute(params![local_date.to_string()])?;
            applied.remediation_resolved = conn
                .prepare_cached(
                    "UPDATE remediations SET resolved_ms = ?1, resolved_credit = ?2
                     WHERE course = ?3 AND item_step = ?4 AND resolved_ms IS NULL AND created_ms <= ?1",
                )?
                .execute(params![event.at_ms, credit, course, step])?
                > 0;
            mark_step_done(conn, course, module, step, Some(*credit))?;
            if *outcome == Outcome::Wrong {
                note_miss(conn, &answer, &mut applied)?;
            }
            finish_module_if_done(conn, schedulers, course, module, event.at_ms, &mut applied)?;
        }
        EventKind::ParametersAdopted { parameters, .. } => {
            let json =
                serde_json::to_string(parameters).map_err(|e| ProjectionError::BadEvent {
                    id: event.id.clone(),
                    message: e.to_string(),
                })?;
            conn.execute(
                "INSERT INTO fsrs_parameters (id, parameters, adopted_ms) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET parameters = excluded.parameters, adopted_ms = excluded.adopted_ms",
                params![json, event.at_ms],
            )?;
            *schedulers = SchedulerCache::load(conn)?;
        }
        // Nudge inputs: the planner reads them from the log itself; no projection changes.
        EventKind::InterventionTriggered { .. }
        | EventKind::NudgeOutcomeRecorded { .. }
        | EventKind::PushTokenRegistered { .. } => {}
    }
    Ok(applied)
}

struct Answer<'a> {
    course: &'a str,
    module: &'a str,
    step: &'a str,
    item_kind: &'a str,
    credit: f64,
    grade: Grade,
    at_ms: i64,
}

fn course_settings(conn: &Connection, course: &str) -> rusqlite::Result<(f64, f64)> {
    conn.prepare_cached("SELECT mastery_threshold, desired_retention FROM courses WHERE id = ?1")?
        .query_row([course], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map(|found| found.unwrap_or((0.8, 0.9)))
}

fn read_card(
    conn: &Connection,
    course: &str,
    step: &str,
) -> rusqlite::Result<Option<(CardState, f64)>> {
    conn.prepare_cached(
        "SELECT phase, learning_step, stability, difficulty, reps, lapses, last_review_ms, due_ms, credit_avg
         FROM cards WHERE course = ?1 AND step = ?2",
    )?
    .query_row(params![course, step], |r| {
        Ok((
            CardState {
                phase: Phase::parse(&r.get::<_, String>(0)?),
                learning_step: r.get(1)?,
                stability: r.get::<_, f64>(2)? as f32,
                difficulty: r.get::<_, f64>(3)? as f32,
                reps: r.get(4)?,
                lapses: r.get(5)?,
                last_review_ms: r.get(6)?,
                due_ms: r.get(7)?,
            },
            r.get(8)?,
        ))
    })
    .optional()
}

fn update_card(
    conn: &Connection,
    scheduler: &Scheduler,
    answer: &Answer<'_>,
) -> Result<i64, ProjectionError> {
    let (_, retention) = course_settings(conn, answer.course)?;
    let previous = read_card(conn, answer.course, answer.step)?;
    let card_id = format!("{}/{}", answer.course, answer.step);
    let mut load_statement =
        conn.prepare_cached("SELECT cards FROM due_load WHERE due_day = ?1")?;
    let mut load = |day: i64| -> u32 {
        load_statement
            .query_row([day], |r| r.get::<_, u32>(0))
            .unwrap_or(0)
    };
    let next = scheduler.review(
        &card_id,
        previous.as_ref().map(|(card, _)| card),
        answer.grade,
        answer.at_ms,
        retention as f32,
        &mut load,
    )?;
    // Recent answers count most: each new credit is half the running value.
    let credit_avg = match &previous {
        Some((_, avg)) => avg * 0.5 + answer.credit * 0.5,
        None => answer.credit,
    };
    conn.prepare_cached(
        "INSERT INTO cards (course, step, module, item_kind, phase, learning_step, stability, difficulty,
            reps, lapses, last_review_ms, due_ms, due_day, credit_avg, last_credit, item_rating)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0.0)
         ON CONFLICT (course, step) DO UPDATE SET phase = excluded.phase,
            learning_step = excluded.learning_step, stability = excluded.stability,
            difficulty = excluded.difficulty, reps = excluded.reps, lapses = excluded.lapses,
            last_review_ms = excluded.last_review_ms, due_ms = excluded.due_ms,
            due_day = excluded.due_day, credit_avg = excluded.credit_avg,
            last_credit = excluded.last_credit",
    )?
    .execute(params![
        answer.course,
        answer.step,
        answer.module,
        answer.item_kind,
        next.phase.as_str(),
        next.learning_step,
        f64::from(next.stability),
        f64::from(next.difficulty),
        next.reps,
        next.lapses,
        next.last_review_ms,
        next.due_ms,
        next.due_ms.div_euclid(DAY_MS),
        credit_avg,
        answer.credit,
    ])?;
    // The per-day load the scheduler balances: the card leaves its old day for its new one.
    let mut shift = conn.prepare_cached(
        "INSERT INTO due_load (due_day, cards) VALUES (?1, ?2)
         ON CONFLICT (due_day) DO UPDATE SET cards = cards + excluded.cards",
    )?;
    if let Some((card, _)) = &previous {
        shift.execute(params![card.due_ms.div_euclid(DAY_MS), -1])?;
    }
    shift.execute(params![next.due_ms.div_euclid(DAY_MS), 1])?;
    Ok(next.due_ms)
}

/// Elo-style update of the learner's ability on the item's skills and the item's difficulty.
fn update_ratings(conn: &Connection, answer: &Answer<'_>) -> rusqlite::Result<()> {
    let skills = step_skills(conn, answer.course, answer.step)?;
    let mut ability_of =
        conn.prepare_cached("SELECT ability FROM skill_ratings WHERE course = ?1 AND skill = ?2")?;
    let mut abilities = Vec::with_capacity(skills.len());
    for skill in &skills {
        let ability: Option<f64> = ability_of
            .query_row(params![answer.course, skill], |r| r.get(0))
            .optional()?;
        abilities.push(ability.unwrap_or(0.0));
    }
    let ability = if abilities.is_empty() {
        0.0
    } else {
        abilities.iter().sum::<f64>() / abilities.len() as f64
    };
    let rating: f64 = conn
        .prepare_cached("SELECT item_rating FROM cards WHERE course = ?1 AND step = ?2")?
        .query_row(params![answer.course, answer.step], |r| r.get(0))?;
    let surprise = answer.credit - expected_success(ability, rating);
    conn.prepare_cached("UPDATE cards SET item_rating = ?1 WHERE course = ?2 AND step = ?3")?
        .execute(params![
            rating - ELO_STEP * surprise,
            answer.course,
            answer.step
        ])?;
    let mut update = conn.prepare_cached(
        "INSERT INTO skill_ratings (course, skill, ability, answers) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (course, skill) DO UPDATE SET ability = excluded.ability, answers = answers + 1",
    )?;
    for (skill, ability) in skills.iter().zip(abilities) {
        update.execute(params![answer.course, skill, ability + ELO_STEP * surprise])?;
    }
    Ok(())
}

pub(crate) fn step_skills(
    conn: &Connection,
    course: &str,
    step: &str,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT skill_id FROM step_skills WHERE course_id = ?1 AND step_id = ?2 ORDER BY skill_id",
    )?
    .query_map(params![course, step], |r| r.get(0))?
    .collect()
}

fn mark_step_done(
    conn: &Connection,
    course: &str,
    module: &str,
    step: &str,
    credit: Option<f64>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO attempt_steps (course, module, step, credit) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (course, module, step) DO UPDATE SET credit = excluded.credit",
    )?
    .execute(params![course, module, step, credit])?;
    Ok(())
}

/// Two wrong answers on one skill inside a module attempt insert a remediation (stage checks
/// remediate when they are scored instead).
fn note_miss(
    conn: &Connection,
    answer: &Answer<'_>,
    applied: &mut Applied,
) -> Result<(), ProjectionError> {
    let is_check: bool = conn
        .prepare_cached("SELECT count(*) FROM stages WHERE course_id = ?1 AND check_module = ?2")?
        .query_row(params![answer.course, answer.module], |r| {
            r.get::<_, i64>(0)
        })?
        > 0;
    for skill in step_skills(conn, answer.course, answer.step)? {
        conn.prepare_cached(
            "INSERT INTO attempt_misses (course, module, skill, wrong, remediated) VALUES (?1, ?2, ?3, 1, 0)
             ON CONFLICT (course, module, skill) DO UPDATE SET wrong = wrong + 1",
        )?
        .execute(params![answer.course, answer.module, skill])?;
        let (wrong, remediated): (i64, i64) = conn
            .prepare_cached(
                "SELECT wrong, remediated FROM attempt_misses WHERE course = ?1 AND module = ?2 AND skill = ?3",
            )?
            .query_row(params![answer.course, answer.module, skill], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if !is_check && wrong >= WRONG_ANSWERS_BEFORE_REMEDIATION && remediated == 0 {
            conn.execute(
                "UPDATE attempt_misses SET remediated = 1 WHERE course = ?1 AND module = ?2 AND skill = ?3",
                params![answer.course, answer.module, skill],
            )?;
            if let Some(r) = insert_remediation(
                conn,
                answer.course,
                answer.module,
                &skill,
                "two_wrong_in_module",
                answer.at_ms,
            )? {
                applied.remediations.push(r);
            }
        }
    }
    Ok(())
}

/// Inserts a remediation for `skill`: its lesson card (from this module if it has one), then an
/// item on the skill the learner did not just get wrong, due a couple of minutes from now.
/// Both look-ups start from the skill's steps (CROSS JOIN fixes SQLite's join order); started
/// from `steps`, they read every step of the course.
fn insert_remediation(
    conn: &Connection,
    course: &str,
    module: &str,
    skill: &str,
    reason: &str,
    at_ms: i64,
) -> rusqlite::Result<Option<RemediationInserted>> {
    let lesson: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT s.id FROM step_skills k
             CROSS JOIN steps s ON s.course_id = k.course_id AND s.id = k.step_id
             JOIN modules m ON m.course_id = s.course_id AND m.id = s.module_id
             WHERE k.course_id = ?1 AND k.skill_id = ?2 AND s.kind IN {LESSON_KINDS}
             ORDER BY (s.module_id = ?3) DESC, m.position, s.position LIMIT 1"
        ))?
        .query_row(params![course, skill, module], |r| r.get(0))
        .optional()?;
    // A different item: not one answered below full credit in this attempt, and not one from
    // the check of a stage still locked; prefer items not met in this attempt at all, then the
    // module's own, then course order.
    let item: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT s.id FROM step_skills k
             CROSS JOIN steps s ON s.course_id = k.course_id AND s.id = k.step_id
             JOIN modules m ON m.course_id = s.course_id AND m.id = s.module_id
             LEFT JOIN attempt_steps a ON a.course = s.course_id AND a.module = ?3 AND a.step = s.id
             WHERE k.course_id = ?1 AND k.skill_id = ?2 AND s.kind NOT IN {LESSON_KINDS}
               AND s.kind NOT IN ('flashcard', 'reflection')
               AND (a.credit IS NULL OR a.credit >= 1.0)
               AND s.id NOT IN (SELECT item_step FROM remediations
                                WHERE course = ?1 AND skill = ?2 AND resolved_ms IS NULL)
               AND s.module_id NOT IN (SELECT st.check_module FROM stages st
                    LEFT JOIN stage_progress p
                        ON p.course = st.course_id AND p.path = st.path_id AND p.stage = st.kind
                    WHERE st.course_id = ?1 AND st.check_module IS NOT NULL
                      AND p.unlocked_ms IS NULL)
             ORDER BY (a.step IS NOT NULL), (s.module_id = ?3) DESC, m.position, s.position LIMIT 1"
        ))?
        .query_row(params![course, skill, module], |r| r.get(0))
        .optional()?;
    let Some(item) = item else {
        return Ok(None);
    };
    let due_ms = at_ms + REMEDIATION_DELAY_MS;
    conn.execute(
        "INSERT INTO remediations (course, module, skill, reason, created_ms, due_ms, lesson_step, item_step)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![course, module, skill, reason, at_ms, due_ms, lesson, item],
    )?;
    Ok(Some(RemediationInserted {
        skill: skill.to_string(),
        reason: reason.to_string(),
        lesson_step: lesson,
        item_step: item,
        due_ms,
    }))
}

fn unlock_stage(
    conn: &Connection,
    course: &str,
    path: &str,
    stage: &str,
    at_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO stage_progress (course, path, stage, unlocked_ms, passed_ms, checks, last_check_ms, last_check_passed)
         VALUES (?1, ?2, ?3, ?4, NULL, 0, NULL, NULL)
         ON CONFLICT (course, path, stage) DO UPDATE SET unlocked_ms = coalesce(unlocked_ms, excluded.unlocked_ms)",
        params![course, path, stage, at_ms],
    )?;
    Ok(())
}

/// When every step of the module is done in this attempt, marks it completed and, for a stage
/// check, scores the stage.
fn finish_module_if_done(
    conn: &Connection,
    schedulers: &SchedulerCache,
    course: &str,
    module: &str,
    at_ms: i64,
    applied: &mut Applied,
) -> Result<(), ProjectionError> {
    // Checked first: most answers are reviews of a module completed long ago, and this one
    // look-up spares them counting the module's steps.
    let already: Option<i64> = conn
        .prepare_cached(
            "SELECT count(*) FROM module_progress WHERE course = ?1 AND module = ?2
             AND completed_ms IS NOT NULL AND completed_ms >= started_ms",
        )?
        .query_row(params![course, module], |r| r.get(0))
        .optional()?;
    if already.unwrap_or(0) > 0 {
        return Ok(());
    }
    let (total, done): (i64, i64) = conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM steps WHERE course_id = ?1 AND module_id = ?2),
                    (SELECT count(*) FROM attempt_steps a JOIN steps s
                        ON s.course_id = a.course AND s.id = a.step AND s.module_id = a.module
                     WHERE a.course = ?1 AND a.module = ?2)",
        )?
        .query_row(params![course, module], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if total == 0 || done < total {
        return Ok(());
    }
    conn.execute(
        "INSERT INTO module_progress (course, module, attempts, started_ms, completed_ms, completions)
         VALUES (?1, ?2, 1, ?3, ?3, 1)
         ON CONFLICT (course, module) DO UPDATE SET completed_ms = excluded.completed_ms,
            completions = completions + 1",
        params![course, module, at_ms],
    )?;
    applied.module_completed = true;
    score_stage_checks(conn, schedulers, course, module, at_ms, applied)
}

fn score_stage_checks(
    conn: &Connection,
    schedulers: &SchedulerCache,
    course: &str,
    module: &str,
    at_ms: i64,
    applied: &mut Applied,
) -> Result<(), ProjectionError> {
    let stages: Vec<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT st.path_id, st.kind, st.position FROM stages st
             JOIN enrollments e ON e.course = st.course_id AND e.path = st.path_id
             JOIN stage_progress p ON p.course = st.course_id AND p.path = st.path_id
                AND p.stage = st.kind AND p.unlocked_ms IS NOT NULL
             WHERE st.course_id = ?1 AND st.check_module = ?2
             ORDER BY st.path_id",
        )?
        .query_map(params![course, module], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if stages.is_empty() {
        return Ok(());
    }
    let (threshold, _) = course_settings(conn, course)?;
    let skills: Vec<String> = conn
        .prepare_cached(&format!(
            "SELECT DISTINCT k.skill_id FROM steps s
             JOIN step_skills k ON k.course_id = s.course_id AND k.step_id = s.id
             WHERE s.course_id = ?1 AND s.module_id = ?2 AND s.kind NOT IN {LESSON_KINDS}
             ORDER BY k.skill_id"
        ))?
        .query_map(params![course, module], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut measured = Vec::with_capacity(skills.len());
    for skill in &skills {
        let mastery = skill_mastery(conn, schedulers.scheduler(), course, skill, at_ms)?;
        measured.push((skill.clone(), mastery.mastery));
    }
    let passed = measured.iter().all(|(_, m)| *m >= threshold);
    for (path, stage, position) in stages {
        let skills_json = serde_json::to_string(&measured).unwrap_or_default();
        conn.execute(
            "UPDATE stage_progress SET checks = checks + 1, last_check_ms = ?4, last_check_passed = ?5,
                passed_ms = CASE WHEN ?5 = 1 THEN coalesce(passed_ms, ?4) ELSE passed_ms END,
                passed_skills = CASE WHEN ?5 = 1 THEN coalesce(passed_skills, ?6) ELSE passed_skills END
             WHERE course = ?1 AND path = ?2 AND stage = ?3",
            params![course, path, stage, at_ms, passed as i64, skills_json],
        )?;
        let mut unlocked = None;
        if passed {
            let next: Option<String> = conn
                .query_row(
                    "SELECT kind FROM stages WHERE course_id = ?1 AND path_id = ?2 AND position = ?3",
                    params![course, path, position + 1],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(next) = next {
                unlock_stage(conn, course, &path, &next, at_ms)?;
                unlocked = Some(next);
            }
        }
        applied.stage_checks.push(StageCheckResult {
            path,
            stage,
            passed,
            skills: measured.clone(),
            threshold,
            unlocked,
        });
    }
    if !passed {
        for (skill, _) in measured.iter().filter(|(_, m)| *m < threshold) {
            if let Some(r) =
                insert_remediation(conn, course, module, skill, "stage_check_failed", at_ms)?
            {
                applied.remediations.push(r);
            }
        }
    }
    Ok(())
}

/// Drops every projection and replays the whole log in its total order.
pub fn rebuild(conn: &Connection) -> Result<u64, ProjectionError> {
    for table in crate::store::PROJECTIONS {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut schedulers = SchedulerCache::load(conn)?;
    let mut statement = conn.prepare("SELECT id, body FROM events ORDER BY at_ms, device, id")?;
    let mut rows = statement.query([])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let body: String = row.get(1)?;
        let event: Event = serde_json::from_str(&body).map_err(|e| ProjectionError::BadEvent {
            id,
            message: e.to_string(),
        })?;
        apply_event(conn, &mut schedulers, &event)?;
        count += 1;
    }
    Ok(count)
}

/// Days a learning-phase card is considered due early, so a session can include it.
pub fn due_horizon_ms(now_ms: i64, budget_minutes: u32) -> i64 {
    now_ms + i64::from(budget_minutes) * MINUTE_MS
}
