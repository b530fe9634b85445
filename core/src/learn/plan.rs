//! Session plans: due reinforcement, remediation and new steps within a time budget, plus
//! two-minute refreshers for one skill and boosters for one module.
//!
//! Everything here reads projections and content at a given instant and writes nothing. Plans
//! are deterministic: the same state and the same instant give the same plan.

use rusqlite::{params, Connection, OptionalExtension};

use super::projection::read;
pub use super::projection::read::{
    due_counts, enrollments, pending_remediations, remaining_steps, DueCounts, PendingRemediation,
};
use serde::{Deserialize, Serialize};

use super::goal::Pacing;
use super::mastery::{expected_success, TARGET_SUCCESS};
use super::memo::{DueRef, Reads};
use super::schedule::Scheduler;
use crate::content::estimate::estimate_step_seconds;
use crate::content::items::ItemKind;
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
        // Each kind's seconds read once per plan.
        let mut seconds: Vec<(String, u32)> = Vec::new();
        for card in due {
            let estimated_seconds = match seconds.iter().find(|(kind, _)| *kind == card.kind) {
                Some((_, s)) => *s,
                None => {
                    let s = learner_seconds(conn, &card.kind)?;
                    seconds.push((card.kind.clone(), s));
                    s
                }
            };
            let step = PlannedStep {
                estimated_seconds,
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

    /// True while the shortest step could still fit the budget.
    fn has_room(&self) -> bool {
        self.steps.is_empty() || self.total_seconds + SHORTEST_ITEM_SECONDS <= self.budget_seconds
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

/// The fewest seconds planned for an item, however fast the learner; a lesson card takes at
/// least 10 ([`estimate_step_seconds`]), so no step is planned shorter.
const SHORTEST_ITEM_SECONDS: u32 = 5;

/// Seconds planned for an item whose kind this build does not know.
const UNKNOWN_KIND_SECONDS: u32 = 30;

/// The learner's own typical time for an item kind, once they have answered a few.
pub(super) fn learner_seconds(conn: &Connection, kind: &str) -> rusqlite::Result<u32> {
    Ok(match read::usual_response_ms(conn, kind)? {
        Some(ms) => ((ms / 1000.0).round() as u32).max(SHORTEST_ITEM_SECONDS),
        None => ItemKind::from_name(kind).map_or(UNKNOWN_KIND_SECONDS, ItemKind::typical_seconds),
    })
}

/// A due card with its recall now.
struct DueCard {
    course: String,
    module: String,
    step: String,
    kind: String,
    recall: f64,
}

fn due_cards(
    conn: &Connection,
    scheduler: &Scheduler,
    now_ms: i64,
    module: Option<(&str, &str)>,
    limit: u32,
) -> rusqlite::Result<Vec<DueCard>> {
    Ok(read::due_cards(conn, now_ms, module, limit)?
        .iter()
        .map(DueRef::of)
        .map(|card| owned(card, recall_of(scheduler, card, now_ms)))
        .collect())
}

fn recall_of(scheduler: &Scheduler, card: DueRef<'_>, now_ms: i64) -> f64 {
    f64::from(scheduler.retrievability(card.stability, card.last_review_ms, now_ms))
}

fn owned(card: DueRef<'_>, recall: f64) -> DueCard {
    DueCard {
        course: card.course.to_string(),
        module: card.module.to_string(),
        step: card.step.to_string(),
        kind: card.item_kind.to_string(),
        recall,
    }
}

/// The due cards a plan of `budget_seconds` may take, best first: of the first 400 cards due by
/// `now_ms`, in desirable order ([`desirable`]), as many as the budget could hold at the
/// shortest item's seconds (and one more, the first that does not fit).
fn ranked_due(
    reads: Reads<'_>,
    scheduler: &Scheduler,
    now_ms: i64,
    budget_seconds: u32,
) -> rusqlite::Result<Vec<DueCard>> {
    let take = (budget_seconds / SHORTEST_ITEM_SECONDS) as usize + 2;
    reads.with_due_cards(now_ms, 400, |cards| {
        let mut ranked: Vec<(DueRef<'_>, f64)> = cards
            .map(|card| (card, recall_of(scheduler, card, now_ms)))
            .collect();
        if ranked.len() > take {
            ranked.select_nth_unstable_by(take - 1, desirable);
            ranked.truncate(take);
        }
        ranked.sort_unstable_by(desirable);
        ranked
            .into_iter()
            .map(|(card, recall)| owned(card, recall))
            .collect()
    })
}

/// Desirable difficulty: cards whose expected success sits in the target band first (closest to
/// its middle), then the most forgotten; then the earliest due, by step and course (a total
/// order: every card has its own course and step).
fn desirable(a: &(DueRef<'_>, f64), b: &(DueRef<'_>, f64)) -> std::cmp::Ordering {
    let middle = (TARGET_SUCCESS.0 + TARGET_SUCCESS.1) / 2.0;
    let band = |recall: f64| !(TARGET_SUCCESS.0..=TARGET_SUCCESS.1).contains(&recall);
    band(a.1)
        .cmp(&band(b.1))
        .then((a.1 - middle).abs().total_cmp(&(b.1 - middle).abs()))
        .then(a.0.due_ms.cmp(&b.0.due_ms))
        .then(a.0.step.cmp(b.0.step))
        .then(a.0.course.cmp(b.0.course))
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
///
/// A course with a goal on the path the learner follows takes new steps only from the goal's
/// modules, and only as many as the goal's pace asks for today ([`Pacing`]): the goal is met
/// with a steady daily load rather than as fast as the budget allows.
pub fn plan_session(
    conn: &Connection,
    scheduler: &Scheduler,
    now_ms: i64,
    budget_seconds: u32,
    pacing: &Pacing,
) -> rusqlite::Result<SessionPlan> {
    plan_session_in(
        Reads::store(conn),
        scheduler,
        now_ms,
        budget_seconds,
        pacing,
    )
}

/// [`plan_session`] reading through `reads`.
pub fn plan_session_in(
    reads: Reads<'_>,
    scheduler: &Scheduler,
    now_ms: i64,
    budget_seconds: u32,
    pacing: &Pacing,
) -> rusqlite::Result<SessionPlan> {
    let conn = reads.conn;
    let mut plan = SessionPlan::new(budget_seconds);
    let due = ranked_due(reads, scheduler, now_ms, budget_seconds)?;
    plan.push_due(conn, due)?;
    for remediation in reads.pending_remediations()? {
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
    // Finding the next modules reads every module of the path; a plan that due reviews filled
    // has no room for a new step anyway.
    if !plan.has_room() {
        return Ok(plan);
    }
    // Goals first, each paced to today's quota; then the courses no goal paces.
    let enrolled = reads.enrollments()?;
    for quota in &pacing.quotas {
        if !enrolled
            .iter()
            .any(|(c, p)| *c == quota.course && *p == quota.path)
        {
            continue;
        }
        let modules: Vec<String> = reads
            .next_modules(&quota.course, &quota.path)?
            .into_iter()
            .filter(|m| quota.modules.contains(m))
            .collect();
        if push_new_steps(
            conn,
            &mut plan,
            &quota.course,
            &modules,
            quota.seconds_today,
        )? {
            return Ok(plan);
        }
    }
    for (course, path) in &enrolled {
        if pacing.paces(course, path) {
            continue;
        }
        let next = reads.next_modules(course, path)?;
        if push_new_steps(conn, &mut plan, course, &next, u32::MAX)? {
            break;
        }
    }
    Ok(plan)
}

/// Adds new steps of `modules` not already planned while their seconds stay under
/// `limit_seconds` (a step is added while any of the limit is left); true once the plan is
/// full.
fn push_new_steps(
    conn: &Connection,
    plan: &mut SessionPlan,
    course: &str,
    modules: &[String],
    limit_seconds: u32,
) -> rusqlite::Result<bool> {
    let mut added = 0u32;
    for module in modules {
        for step in remaining_steps(conn, course, module)? {
            if added >= limit_seconds {
                return Ok(false);
            }
            if plan
                .steps
                .iter()
                .any(|s| s.course == course && s.step == step)
            {
                continue;
            }
            let expected = new_item_success(conn, course, &step)?;
            if let Some(p) = planned(conn, course, &step, Purpose::New, expected)? {
                let seconds = p.estimated_seconds;
                if !plan.push(p) {
                    return Ok(true);
                }
                added = added.saturating_add(seconds);
            }
        }
    }
    Ok(false)
}

/// Expected success on an item never answered, from the learner's ability on its skills.
fn new_item_success(conn: &Connection, course: &str, step: &str) -> rusqlite::Result<Option<f64>> {
    Ok(read::ability_on_step(conn, course, step)?.map(|a| expected_success(a, 0.0)))
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
    let mut candidates: Vec<(f64, String)> = read::skill_items(conn, course, skill)?
        .into_iter()
        .map(|item| {
            let value = match item.card {
                Some((stability, last, credit)) => {
                    let recall = f64::from(scheduler.retrievability(stability, last, now_ms));
                    (1.0 - recall) + (1.0 - credit)
                }
                None => 0.5,
            };
            (value, item.step)
        })
        .collect();
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut plan = SessionPlan::new(budget_seconds);
    for (_, step) in candidates {
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

/// The modules the learner should do next on `path`, in order: in every unlocked stage, the
/// teaching modules not completed whose prerequisites are, then the stage check once the
/// teaching modules are done and the check is not passed.
pub fn next_modules(conn: &Connection, course: &str, path: &str) -> rusqlite::Result<Vec<String>> {
    let mut next = Vec::new();
    for stage in read::unlocked_stages(conn, course, path)? {
        let modules = read::modules_to_complete(conn, course, path, &stage.stage)?;
        let all_done = modules.is_empty();
        for (module, prerequisites) in modules {
            if prerequisites
                .iter()
                .all(|p| read::module_completed(conn, course, p).unwrap_or(false))
            {
                next.push(module);
            }
        }
        if let (true, false, Some(check)) = (all_done, stage.passed, stage.check_module) {
            next.push(check);
        }
    }
    Ok(next)
}
