//! Typed reads of the projections, for everything above them: session plans, the
//! recommendation, progress and nudges.
//!
//! The projection tables' SQL lives in this module and its siblings alone: a reader outside asks
//! a question here and gets typed rows back, so a projection's layout can change without a hunt
//! through the engine and the facade. Rules that interpret the rows (how many answers make a
//! usual response time, what counts as due) are written once, here. Reads only: nothing here
//! writes, and nothing here decides what the learner should do.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::learn::mastery::{self, CardEvidence, SkillMastery};
use crate::learn::schedule::Scheduler;

/// Answers of one item kind after which the learner's own typical time replaces the kind's.
pub const ANSWERS_FOR_USUAL_TIME: i64 = 3;

/// The learner's usual response time for `item_kind`, once they have answered
/// [`ANSWERS_FOR_USUAL_TIME`] items of it.
pub fn usual_response_ms(conn: &Connection, item_kind: &str) -> rusqlite::Result<Option<f64>> {
    let typical: Option<(f64, i64)> = conn
        .prepare_cached("SELECT typical_ms, answers FROM response_times WHERE item_kind = ?1")?
        .query_row([item_kind], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(typical.and_then(|(ms, answers)| (answers >= ANSWERS_FOR_USUAL_TIME).then_some(ms)))
}

/// The learner's typical response time over every item kind, weighted by answers.
pub fn typical_response_ms(conn: &Connection) -> rusqlite::Result<Option<f64>> {
    conn.prepare_cached("SELECT sum(typical_ms * answers) / sum(answers) FROM response_times")?
        .query_row([], |r| r.get(0))
}

/// A card due for review, with what its recall is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct DueCard {
    pub course: String,
    pub module: String,
    pub step: String,
    pub item_kind: String,
    pub stability: f32,
    pub last_review_ms: i64,
    pub due_ms: i64,
}

/// Cards due by `now_ms` whose step is installed (of one module, with `module`), earliest
/// first, at most `limit`.
pub fn due_cards(
    conn: &Connection,
    now_ms: i64,
    module: Option<(&str, &str)>,
    limit: u32,
) -> rusqlite::Result<Vec<DueCard>> {
    let map = |r: &rusqlite::Row<'_>| {
        Ok(DueCard {
            course: r.get(0)?,
            module: r.get(1)?,
            step: r.get(2)?,
            item_kind: r.get(3)?,
            stability: r.get::<_, f64>(4)? as f32,
            last_review_ms: r.get(5)?,
            due_ms: r.get(6)?,
        })
    };
    match module {
        Some((course, module)) => conn
            .prepare_cached(
                "SELECT c.course, c.module, c.step, c.item_kind, c.stability, c.last_review_ms, c.due_ms
                 FROM cards c
                 WHERE c.due_ms <= ?1 AND c.course = ?2 AND c.module = ?3 AND c.installed
                 ORDER BY c.due_ms, c.step LIMIT ?4",
            )?
            .query_map(params![now_ms, course, module, limit], map)?
            .collect(),
        None => conn
            .prepare_cached(
                "SELECT c.course, c.module, c.step, c.item_kind, c.stability, c.last_review_ms, c.due_ms
                 FROM cards c
                 WHERE c.due_ms <= ?1 AND c.installed ORDER BY c.due_ms, c.course, c.step LIMIT ?2",
            )?
            .query_map(params![now_ms, limit], map)?
            .collect(),
    }
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

/// Cards due by `now_ms` and by `end_of_day_ms`, and the remediations waiting.
pub fn due_counts(
    conn: &Connection,
    now_ms: i64,
    end_of_day_ms: i64,
) -> rusqlite::Result<DueCounts> {
    // One pass over the cards due by the later of the two instants, in the index alone
    // (`cards_by_due` holds whether each card's step is installed).
    conn.prepare_cached(
        "SELECT count(*) FILTER (WHERE c.due_ms <= ?1), count(*) FILTER (WHERE c.due_ms <= ?2),
                (SELECT count(*) FROM remediations r JOIN steps s ON s.course_id = r.course AND s.id = r.item_step
                 WHERE r.resolved_ms IS NULL)
         FROM cards c
         WHERE c.due_ms <= max(?1, ?2) AND c.installed",
    )?
    .query_row(params![now_ms, end_of_day_ms], |r| {
        Ok(DueCounts {
            due_now: r.get(0)?,
            due_today: r.get(1)?,
            remediations: r.get(2)?,
        })
    })
}

/// Due times of every card due before `horizon_ms`, earliest first.
pub fn due_times_before(conn: &Connection, horizon_ms: i64) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached("SELECT due_ms FROM cards WHERE due_ms < ?1 ORDER BY due_ms")?
        .query_map([horizon_ms], |r| r.get(0))?
        .collect()
}

/// A remediation waiting to be done.
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

/// Remediations not yet resolved whose item is installed, earliest due first.
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

/// Remediations not yet resolved, installed or not.
pub fn open_remediation_count(conn: &Connection) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM remediations WHERE resolved_ms IS NULL")?
        .query_row([], |r| r.get(0))
}

/// Every `(course, path)` the learner follows, by course.
pub fn enrollments(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached("SELECT course, path FROM enrollments ORDER BY course")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// An unlocked stage of a path, in path order.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlockedStage {
    pub stage: String,
    pub check_module: Option<String>,
    pub passed: bool,
}

pub fn unlocked_stages(
    conn: &Connection,
    course: &str,
    path: &str,
) -> rusqlite::Result<Vec<UnlockedStage>> {
    conn.prepare_cached(
        "SELECT st.kind, st.check_module, p.passed_ms IS NOT NULL FROM stages st
         JOIN stage_progress p ON p.course = st.course_id AND p.path = st.path_id AND p.stage = st.kind
         WHERE st.course_id = ?1 AND st.path_id = ?2 AND p.unlocked_ms IS NOT NULL
         ORDER BY st.position",
    )?
    .query_map(params![course, path], |r| {
        Ok(UnlockedStage {
            stage: r.get(0)?,
            check_module: r.get(1)?,
            passed: r.get(2)?,
        })
    })?
    .collect()
}

/// The teaching modules of a stage not completed, in order, with their prerequisites.
pub fn modules_to_complete(
    conn: &Connection,
    course: &str,
    path: &str,
    stage: &str,
) -> rusqlite::Result<Vec<(String, Vec<String>)>> {
    // Only the stage's modules not completed: a learner far along a long path has hundreds of
    // completed ones, and the plan asks for the next modules on every answer.
    let rows: Vec<(String, String)> = conn
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
    Ok(rows
        .into_iter()
        .map(|(module, prerequisites)| {
            (
                module,
                serde_json::from_str(&prerequisites).unwrap_or_default(),
            )
        })
        .collect())
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

/// A module completed since its last start.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedModule {
    pub course: String,
    pub module: String,
    /// The module's title, or its id when the course no longer has it.
    pub title: String,
    pub completed_at: DateTime<Utc>,
}

/// Modules completed (and not started again since) at or after `since_ms`.
pub fn modules_completed_since(
    conn: &Connection,
    since_ms: i64,
) -> rusqlite::Result<Vec<CompletedModule>> {
    conn.prepare_cached(
        "SELECT p.course, p.module, coalesce(m.title, p.module), p.completed_ms
         FROM module_progress p
         LEFT JOIN modules m ON m.course_id = p.course AND m.id = p.module
         WHERE p.completed_ms IS NOT NULL AND p.completed_ms >= p.started_ms
           AND p.completed_ms >= ?1
         ORDER BY p.course, p.module",
    )?
    .query_map([since_ms], |r| {
        Ok(CompletedModule {
            course: r.get(0)?,
            module: r.get(1)?,
            title: r.get(2)?,
            completed_at: DateTime::from_timestamp_millis(r.get(3)?).unwrap_or_default(),
        })
    })?
    .collect()
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

/// The learner's mean Elo-style ability over the skills of `step`, if rated on any.
pub fn ability_on_step(
    conn: &Connection,
    course: &str,
    step: &str,
) -> rusqlite::Result<Option<f64>> {
    conn.prepare_cached(
        "SELECT avg(r.ability) FROM step_skills k JOIN skill_ratings r
            ON r.course = k.course_id AND r.skill = k.skill_id
         WHERE k.course_id = ?1 AND k.step_id = ?2",
    )?
    .query_row(params![course, step], |r| r.get(0))
}

/// An assessable item of a skill, with its card if the learner has one.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillItem {
    pub step: String,
    pub item_kind: String,
    /// `(stability, last_review_ms, credit_avg)`.
    pub card: Option<(f32, i64, f64)>,
}

/// The items of `skill` a refresher may use (no lessons, no reflections, nothing spoken), in
/// course order.
pub fn skill_items(
    conn: &Connection,
    course: &str,
    skill: &str,
) -> rusqlite::Result<Vec<SkillItem>> {
    conn.prepare_cached(
        "SELECT s.id, s.kind, c.stability, c.last_review_ms, c.credit_avg FROM steps s
         JOIN step_skills k ON k.course_id = s.course_id AND k.step_id = s.id
         JOIN modules m ON m.course_id = s.course_id AND m.id = s.module_id
         LEFT JOIN cards c ON c.course = s.course_id AND c.step = s.id
         WHERE s.course_id = ?1 AND k.skill_id = ?2
           AND s.kind NOT IN ('lesson', 'image', 'audio', 'video', 'reflection', 'voice')
         ORDER BY m.position, s.position",
    )?
    .query_map(params![course, skill], |r| {
        let card = match (r.get::<_, Option<f64>>(2)?, r.get::<_, Option<i64>>(3)?) {
            (Some(stability), Some(last)) => Some((
                stability as f32,
                last,
                r.get::<_, Option<f64>>(4)?.unwrap_or(0.0),
            )),
            _ => None,
        };
        Ok(SkillItem {
            step: r.get(0)?,
            item_kind: r.get(1)?,
            card,
        })
    })?
    .collect()
}

/// The cards of `skill`, in step id order: the evidence of its mastery.
pub fn skill_cards(
    conn: &Connection,
    course: &str,
    skill: &str,
) -> rusqlite::Result<Vec<CardEvidence>> {
    // The skill's steps first (CROSS JOIN fixes SQLite's join order), then their cards: driven
    // from the cards, the query reads every card of the course.
    conn.prepare_cached(
        "SELECT c.step, c.stability, c.last_review_ms, c.credit_avg, c.item_rating
         FROM step_skills s CROSS JOIN cards c ON c.course = s.course_id AND c.step = s.step_id
         WHERE s.course_id = ?1 AND s.skill_id = ?2 ORDER BY s.step_id",
    )?
    .query_map(params![course, skill], |r| {
        Ok(CardEvidence {
            step: r.get(0)?,
            stability: r.get::<_, f64>(1)? as f32,
            last_review_ms: r.get(2)?,
            credit_avg: r.get(3)?,
            item_rating: r.get(4)?,
        })
    })?
    .collect()
}

/// The mastery of `skill` in `course` at `now_ms`, with the evidence behind it.
pub fn skill_mastery(
    conn: &Connection,
    scheduler: &Scheduler,
    course: &str,
    skill: &str,
    now_ms: i64,
) -> rusqlite::Result<SkillMastery> {
    Ok(mastery::measure(
        skill,
        skill_cards(conn, course, skill)?,
        scheduler,
        now_ms,
    ))
}

/// A learner's progress on a path, stage by stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct StageStatus {
    pub stage: String,
    pub unlocked_ms: Option<i64>,
    pub passed_ms: Option<i64>,
    pub checks: u32,
}

/// Every stage of the path enrolled on in `course`, in path order.
pub fn stage_statuses(conn: &Connection, course: &str) -> rusqlite::Result<Vec<StageStatus>> {
    conn.prepare_cached(
        "SELECT st.kind, p.unlocked_ms, p.passed_ms, coalesce(p.checks, 0) FROM enrollments e
         JOIN stages st ON st.course_id = e.course AND st.path_id = e.path
         LEFT JOIN stage_progress p ON p.course = e.course AND p.path = e.path AND p.stage = st.kind
         WHERE e.course = ?1 ORDER BY st.position",
    )?
    .query_map([course], |r| {
        Ok(StageStatus {
            stage: r.get(0)?,
            unlocked_ms: r.get(1)?,
            passed_ms: r.get(2)?,
            checks: r.get(3)?,
        })
    })?
    .collect()
}

/// The path a learner follows in a course, with what a certificate for it names.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrolledPath {
    pub path: String,
    pub path_title: String,
    pub course_title: String,
    pub course_version: String,
    pub mastery_threshold: f64,
}

pub fn enrolled_path(conn: &Connection, course: &str) -> rusqlite::Result<Option<EnrolledPath>> {
    conn.prepare_cached(
        "SELECT e.path, p.title, c.title, c.version, c.mastery_threshold FROM enrollments e
         JOIN paths p ON p.course_id = e.course AND p.id = e.path
         JOIN courses c ON c.id = e.course WHERE e.course = ?1",
    )?
    .query_row([course], |r| {
        Ok(EnrolledPath {
            path: r.get(0)?,
            path_title: r.get(1)?,
            course_title: r.get(2)?,
            course_version: r.get(3)?,
            mastery_threshold: r.get(4)?,
        })
    })
    .optional()
}

/// The skill masteries (JSON `[(skill, mastery)]`) recorded by each passed stage check of a path.
pub fn passed_check_skills(
    conn: &Connection,
    course: &str,
    path: &str,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT passed_skills FROM stage_progress
         WHERE course = ?1 AND path = ?2 AND passed_skills IS NOT NULL",
    )?
    .query_map(params![course, path], |r| r.get(0))?
    .collect()
}

/// The local days with practice, in order (unreadable rows skipped).
pub fn activity_days(conn: &Connection) -> rusqlite::Result<Vec<NaiveDate>> {
    Ok(conn
        .prepare_cached("SELECT day FROM activity_days ORDER BY day")?
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(|d| d.ok().and_then(|d| d.parse().ok()))
        .collect())
}
