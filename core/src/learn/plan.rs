//! Session plans: due reinforcement, remediation and new steps within a time budget, plus
//! two-minute refreshers for one skill and boosters for one module.
//!
//! Everything here reads projections and content at a given instant and writes nothing. Plans
//! are deterministic: the same state and the same instant give the same plan.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::mastery::{expected_success, TARGET_SUCCESS};
use super::schedule::Scheduler;
use crate::content::estimate::estimate_step_seconds;
use crate::content::model::{Step, StepBody};

/// Why a step is in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum Purpose {
    /// A card FSRS says is due.
    Reinforcement,
    /// A lesson and re-test inserted after a miss.
    Remediation,
    /// The next step of the learner's path.
    New,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct PlannedStep {
    pub course: String,
    pub module: String,
    pub step: String,
    /// `lesson`, `image`, `audio`, `video` or an item kind (`single`, `order`, ...).
    pub kind: String,
    pub purpose: Purpose,
    pub estimated_seconds: u32,
    /// Expected chance of answering right, for items the learner has a history with.
    pub expected_success: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SessionPlan {
    pub budget_seconds: u32,
    pub total_seconds: u32,
    pub steps: Vec<PlannedStep>,
}

impl SessionPlan {
    pub(super) fn new(budget_seconds: u32) -> Self {
        SessionPlan {
            budget_seconds,
            total_seconds: 0,
            steps: Vec::new(),
        }
    }

    /// Adds due cards, in order, while they fit the budget.
    fn push_due(&mut self, conn: &Connection, due: Vec<DueCard>) -> rusqlite::Result<()> {
        for card in due {
            let step = PlannedStep {
                estimated_seconds: learner_seconds(conn, &card.kind)?,
                course: card.course,
                module: card.module,
                step: card.step,
                kind: card.kind,
                purpose: Purpose::Reinforcement,
                expected_success: Some(card.recall),
            };
            if !self.push(step) {
                break;
            }
        }
        Ok(())
    }

    /// Adds `step` if it fits the budget (the first step always fits). Returns whether it did.
    pub(super) fn push(&mut self, step: PlannedStep) -> bool {
        if self
            .steps
            .iter()
            .any(|s| s.course == step.course && s.step == step.step)
        {
            return true;
        }
        if !self.steps.is_empty()
            && self.total_seconds + step.estimated_seconds > self.budget_seconds
        {
            return false;
        }
        self.total_seconds += step.estimated_seconds;
        self.steps.push(step);
        true
    }
}

/// Typical seconds for an item kind when the step body is not at hand.
pub fn typical_item_seconds(kind: &str) -> u32 {
    match kind {
        "truefalse" | "flashcard" => 15,
        "single" => 20,
        "multiple" | "blanks" | "numeric" => 30,
        "order" | "match" => 45,
        "scenario" => 75,
        "reflection" => 90,
        _ => 30,
    }
}

/// The learner's own typical time for an item kind, once they have answered a few.
fn learner_seconds(conn: &Connection, kind: &str) -> rusqlite::Result<u32> {
    let typical: Option<(f64, i64)> = conn
        .prepare_cached("SELECT typical_ms, answers FROM response_times WHERE item_kind = ?1")?
        .query_row([kind], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match typical {
        Some((ms, answers)) if answers >= 3 => ((ms / 1000.0).round() as u32).max(5),
        _ => typical_item_seconds(kind),
    })
}

struct DueCard {
    course: String,
    module: String,
    step: String,
    kind: String,
    recall: f64,
    due_ms: i64,
}

fn due_cards(
    conn: &Connection,
    scheduler: &Scheduler,
    now_ms: i64,
    filter: Option<(&str, &str)>,
    limit: u32,
) -> rusqlite::Result<Vec<DueCard>> {
    let map = |r: &rusqlite::Row<'_>| {
        let stability: f64 = r.get(4)?;
        let last: i64 = r.get(5)?;
        Ok(DueCard {
            course: r.get(0)?,
            module: r.get(1)?,
            step: r.get(2)?,
            kind: r.get(3)?,
            recall: f64::from(scheduler.retrievability(stability as f32, last, now_ms)),
            due_ms: r.get(6)?,
        })
    };
    let cards = match filter {
        Some((course, module)) => conn
            .prepare_cached(
                "SELECT c.course, c.module, c.step, c.item_kind, c.stability, c.last_review_ms, c.due_ms
                 FROM cards c JOIN steps s ON s.course_id = c.course AND s.id = c.step
                 WHERE c.due_ms <= ?1 AND c.course = ?2 AND c.module = ?3
                 ORDER BY c.due_ms, c.step LIMIT ?4",
            )?
            .query_map(params![now_ms, course, module, limit], map)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        None => conn
            .prepare_cached(
                "SELECT c.course, c.module, c.step, c.item_kind, c.stability, c.last_review_ms, c.due_ms
                 FROM cards c JOIN steps s ON s.course_id = c.course AND s.id = c.step
                 WHERE c.due_ms <= ?1 ORDER BY c.due_ms, c.course, c.step LIMIT ?2",
            )?
            .query_map(params![now_ms, limit], map)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    Ok(cards)
}

/// Orders due cards for desirable difficulty: those whose expected success sits in the target
/// band first (closest to its middle), then the most forgotten.
fn desirable_order(cards: &mut [DueCard]) {
    let middle = (TARGET_SUCCESS.0 + TARGET_SUCCESS.1) / 2.0;
    cards.sort_by(|a, b| {
        let band = |c: &DueCard| !(TARGET_SUCCESS.0..=TARGET_SUCCESS.1).contains(&c.recall);
        band(a)
            .cmp(&band(b))
            .then(
                (a.recall - middle)
                    .abs()
                    .total_cmp(&(b.recall - middle).abs()),
            )
            .then(a.due_ms.cmp(&b.due_ms))
            .then(a.step.cmp(&b.step))
    });
}

fn load_step(
    conn: &Connection,
    course: &str,
    step: &str,
) -> rusqlite::Result<Option<(String, String, Step)>> {
    let row: Option<(String, String, String, String)> = conn
        .prepare_cached(
            "SELECT module_id, kind, skills_json, body_json FROM steps WHERE course_id = ?1 AND id = ?2",
        )?
        .query_row(params![course, step], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    Ok(row.and_then(|(module, kind, skills, body)| {
        let skills = serde_json::from_str(&skills).ok()?;
        let body: StepBody = serde_json::from_str(&body).ok()?;
        Some((
            module,
            kind,
            Step {
                id: step.to_string(),
                skills,
                body,
            },
        ))
    }))
}

pub(super) fn planned(
    conn: &Connection,
    course: &str,
    step: &str,
    purpose: Purpose,
    expected_success: Option<f64>,
) -> rusqlite::Result<Option<PlannedStep>> {
    let Some((module, kind, body)) = load_step(conn, course, step)? else {
        return Ok(None);
    };
    let estimated_seconds = match &body.body {
        StepBody::Lesson(_) => estimate_step_seconds(&body),
        StepBody::Item(_) => learner_seconds(conn, &kind)?,
    };
    Ok(Some(PlannedStep {
        course: course.to_string(),
        module,
        step: step.to_string(),
        kind,
        purpose,
        estimated_seconds,
        expected_success,
    }))
}

/// A plan that fits `budget_seconds`: due reinforcement, then remediation, then new steps.
pub fn plan_session(
    conn: &Connection,
    scheduler: &Scheduler,
    now_ms: i64,
    budget_seconds: u32,
) -> rusqlite::Result<SessionPlan> {
    let mut plan = SessionPlan::new(budget_seconds);
    let mut due = due_cards(conn, scheduler, now_ms, None, 400)?;
    desirable_order(&mut due);
    plan.push_due(conn, due)?;
    for remediation in pending_remediations(conn)? {
        let steps = remediation
            .lesson_step
            .iter()
            .chain(std::iter::once(&remediation.item_step));
        for step in steps {
            if let Some(p) = planned(conn, &remediation.course, step, Purpose::Remediation, None)? {
                plan.push(p);
            }
        }
    }
    'courses: for (course, path) in enrollments(conn)? {
        for module in next_modules(conn, &course, &path)? {
            for step in remaining_steps(conn, &course, &module)? {
                let expected = new_item_success(conn, &course, &step)?;
                if let Some(p) = planned(conn, &course, &step, Purpose::New, expected)? {
                    if !plan.push(p) {
                        break 'courses;
                    }
                }
            }
        }
    }
    Ok(plan)
}

/// Expected success on an item never answered, from the learner's ability on its skills.
fn new_item_success(conn: &Connection, course: &str, step: &str) -> rusqlite::Result<Option<f64>> {
    let ability: Option<f64> = conn
        .prepare_cached(
            "SELECT avg(r.ability) FROM step_skills k JOIN skill_ratings r
                ON r.course = k.course_id AND r.skill = k.skill_id
             WHERE k.course_id = ?1 AND k.step_id = ?2",
        )?
        .query_row(params![course, step], |r| r.get(0))?;
    Ok(ability.map(|a| expected_success(a, 0.0)))
}

/// The highest-value items for one skill in about two minutes: the most forgotten and least
/// well answered first, then items not yet met.
pub fn plan_refresher(
    conn: &Connection,
    scheduler: &Scheduler,
    now_ms: i64,
    course: &str,
    skill: &str,
    budget_seconds: u32,
) -> rusqlite::Result<SessionPlan> {
    let mut candidates: Vec<(f64, String, String)> = conn
        .prepare_cached(
            "SELECT s.id, s.kind, c.stability, c.last_review_ms, c.credit_avg FROM steps s
             JOIN step_skills k ON k.course_id = s.course_id AND k.step_id = s.id
             JOIN modules m ON m.course_id = s.course_id AND m.id = s.module_id
             LEFT JOIN cards c ON c.course = s.course_id AND c.step = s.id
             WHERE s.course_id = ?1 AND k.skill_id = ?2
               AND s.kind NOT IN ('lesson', 'image', 'audio', 'video', 'reflection')
             ORDER BY m.position, s.position",
        )?
        .query_map(params![course, skill], |r| {
            let id: String = r.get(0)?;
            let kind: String = r.get(1)?;
            let value = match (r.get::<_, Option<f64>>(2)?, r.get::<_, Option<i64>>(3)?) {
                (Some(stability), Some(last)) => {
                    let recall =
                        f64::from(scheduler.retrievability(stability as f32, last, now_ms));
                    let credit: f64 = r.get::<_, Option<f64>>(4)?.unwrap_or(0.0);
                    (1.0 - recall) + (1.0 - credit)
                }
                _ => 0.5,
            };
            Ok((value, id, kind))
        })?
        .collect::<rusqlite::Result<_>>()?;
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut plan = SessionPlan::new(budget_seconds);
    for (_, step, _) in candidates {
        if let Some(p) = planned(conn, course, &step, Purpose::Reinforcement, None)? {
            if !plan.push(p) {
                break;
            }
        }
    }
    Ok(plan)
}

/// A module's follow-up items that FSRS has made due, as a short booster session.
pub fn plan_booster(
    conn: &Connection,
    scheduler: &Scheduler,
    now_ms: i64,
    course: &str,
    module: &str,
    budget_seconds: u32,
) -> rusqlite::Result<SessionPlan> {
    let mut plan = SessionPlan::new(budget_seconds);
    let due = due_cards(conn, scheduler, now_ms, Some((course, module)), 100)?;
    plan.push_due(conn, due)?;
    Ok(plan)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRemediation {
    pub id: i64,
    pub course: String,
    pub module: String,
    pub skill: String,
    pub reason: String,
    pub due_ms: i64,
    pub lesson_step: Option<String>,
    pub item_step: String,
}

pub fn pending_remediations(conn: &Connection) -> rusqlite::Result<Vec<PendingRemediation>> {
    conn.prepare_cached(
        "SELECT r.id, r.course, r.module, r.skill, r.reason, r.due_ms, r.lesson_step, r.item_step
         FROM remediations r JOIN steps s ON s.course_id = r.course AND s.id = r.item_step
         WHERE r.resolved_ms IS NULL ORDER BY r.due_ms, r.id",
    )?
    .query_map([], |r| {
        Ok(PendingRemediation {
            id: r.get(0)?,
            course: r.get(1)?,
            module: r.get(2)?,
            skill: r.get(3)?,
            reason: r.get(4)?,
            due_ms: r.get(5)?,
            lesson_step: r.get(6)?,
            item_step: r.get(7)?,
        })
    })?
    .collect()
}

pub fn enrollments(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached("SELECT course, path FROM enrollments ORDER BY course")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The modules the learner should do next on `path`, in order: in every unlocked stage, the
/// teaching modules not completed whose prerequisites are, then the stage check once the
/// teaching modules are done and the check is not passed.
pub fn next_modules(conn: &Connection, course: &str, path: &str) -> rusqlite::Result<Vec<String>> {
    let stages: Vec<(String, Option<String>, bool)> = conn
        .prepare_cached(
            "SELECT st.kind, st.check_module, p.passed_ms IS NOT NULL FROM stages st
             JOIN stage_progress p ON p.course = st.course_id AND p.path = st.path_id AND p.stage = st.kind
             WHERE st.course_id = ?1 AND st.path_id = ?2 AND p.unlocked_ms IS NOT NULL
             ORDER BY st.position",
        )?
        .query_map(params![course, path], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut next = Vec::new();
    for (stage, check, passed) in stages {
        // Only the stage's modules not completed: a learner far along a long path has hundreds
        // of completed ones, and the plan asks for the next modules on every answer.
        let modules: Vec<(String, String)> = conn
            .prepare_cached(
                "SELECT sm.module_id, m.prerequisites_json
                 FROM stage_modules sm
                 JOIN modules m ON m.course_id = sm.course_id AND m.id = sm.module_id
                 LEFT JOIN module_progress mp ON mp.course = sm.course_id AND mp.module = sm.module_id
                 WHERE sm.course_id = ?1 AND sm.path_id = ?2 AND sm.stage_kind = ?3
                   AND mp.completed_ms IS NULL
                 ORDER BY sm.position",
            )?
            .query_map(params![course, path, stage], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let all_done = modules.is_empty();
        for (module, prerequisites) in modules {
            let prerequisites: Vec<String> =
                serde_json::from_str(&prerequisites).unwrap_or_default();
            if prerequisites
                .iter()
                .all(|p| module_completed(conn, course, p).unwrap_or(false))
            {
                next.push(module);
            }
        }
        if let (true, false, Some(check)) = (all_done, passed, check) {
            next.push(check);
        }
    }
    Ok(next)
}

pub fn module_completed(conn: &Connection, course: &str, module: &str) -> rusqlite::Result<bool> {
    let completed: Option<Option<i64>> = conn
        .prepare_cached(
            "SELECT completed_ms FROM module_progress WHERE course = ?1 AND module = ?2",
        )?
        .query_row(params![course, module], |r| r.get(0))
        .optional()?;
    Ok(matches!(completed, Some(Some(_))))
}

/// Steps of `module` not yet done in the current attempt, in order.
pub fn remaining_steps(
    conn: &Connection,
    course: &str,
    module: &str,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT s.id FROM steps s
         LEFT JOIN attempt_steps a ON a.course = s.course_id AND a.module = s.module_id AND a.step = s.id
         WHERE s.course_id = ?1 AND s.module_id = ?2 AND a.step IS NULL ORDER BY s.position",
    )?
    .query_map(params![course, module], |r| r.get(0))?
    .collect()
}

/// Counts for the home screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct DueCounts {
    /// Cards due now.
    pub due_now: u32,
    /// Cards due before the end of the learner's local day.
    pub due_today: u32,
    /// Remediations waiting.
    pub remediations: u32,
}

pub fn due_counts(
    conn: &Connection,
    now_ms: i64,
    end_of_day_ms: i64,
) -> rusqlite::Result<DueCounts> {
    // One pass over the cards due by the later of the two instants, in the index alone
    // (`cards_by_due` holds their keys; the join reads only the steps' key index).
    conn.prepare_cached(
        "SELECT count(*) FILTER (WHERE c.due_ms <= ?1), count(*) FILTER (WHERE c.due_ms <= ?2),
                (SELECT count(*) FROM remediations r JOIN steps s ON s.course_id = r.course AND s.id = r.item_step
                 WHERE r.resolved_ms IS NULL)
         FROM cards c JOIN steps s ON s.course_id = c.course AND s.id = c.step
         WHERE c.due_ms <= max(?1, ?2)",
    )?
    .query_row(params![now_ms, end_of_day_ms], |r| {
        Ok(DueCounts {
            due_now: r.get(0)?,
            due_today: r.get(1)?,
            remediations: r.get(2)?,
        })
    })
}
