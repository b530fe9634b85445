//! The projection tables in SQLite, read and written one row at a time: the storage behind a
//! live event, and the one place that says how each projection row is written.
//!
//! Every write is an upsert of the whole row, so the same statements also write out a replay's
//! tables ([`super::replay`]). Statements are cached on the connection: an answer runs about
//! fifteen of them. This module decides nothing about what a row should hold.

use rusqlite::{params, Connection, OptionalExtension};

use super::content::ContentReader;
use super::tables::{
    AttemptMiss, AttemptStep, CardRow, GoalRow, ModuleProgress, PendingRemediation,
    ProjectionTables, RemediationRow, ResponseTime, ReviewRow, SkillRating, StageProgress,
};
use crate::learn::mastery::CardEvidence;
use crate::learn::schedule::{CardState, Phase, DAY_MS};
use crate::privacy::consent::ConsentScope;

/// Marks each card of `course` by whether its step is installed now: after an install or an
/// upgrade wrote the course's steps (inside its transaction). Only the cards whose mark changes
/// are written: the steps an upgrade retired, and those it brought (back) that a card was
/// waiting for.
pub(crate) fn mark_installed_cards(conn: &Connection, course: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE cards SET installed = NOT installed
         WHERE course = ?1
           AND installed != EXISTS (SELECT 1 FROM steps s WHERE s.course_id = cards.course AND s.id = cards.step)",
        [course],
    )
}

/// The projection tables of a connection (inside the caller's transaction).
pub(super) struct LiveTables<'c> {
    conn: &'c Connection,
}

impl<'c> LiveTables<'c> {
    pub(super) fn new(conn: &'c Connection) -> Self {
        LiveTables { conn }
    }

    pub(super) fn write_card(
        &self,
        course: &str,
        step: &str,
        card: &CardRow,
    ) -> rusqlite::Result<()> {
        let state = &card.state;
        self.conn
            .prepare_cached(
                "INSERT INTO cards (course, step, module, item_kind, phase, learning_step, stability,
                    difficulty, reps, lapses, last_review_ms, due_ms, due_day, credit_avg, last_credit,
                    item_rating, installed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    EXISTS (SELECT 1 FROM steps s WHERE s.course_id = ?1 AND s.id = ?2))
                 ON CONFLICT (course, step) DO UPDATE SET module = excluded.module,
                    item_kind = excluded.item_kind, phase = excluded.phase,
                    learning_step = excluded.learning_step, stability = excluded.stability,
                    difficulty = excluded.difficulty, reps = excluded.reps, lapses = excluded.lapses,
                    last_review_ms = excluded.last_review_ms, due_ms = excluded.due_ms,
                    due_day = excluded.due_day, credit_avg = excluded.credit_avg,
                    last_credit = excluded.last_credit, item_rating = excluded.item_rating",
            )?
            .execute(params![
                course,
                step,
                card.module,
                card.item_kind,
                state.phase.as_str(),
                state.learning_step,
                f64::from(state.stability),
                f64::from(state.difficulty),
                state.reps,
                state.lapses,
                state.last_review_ms,
                state.due_ms,
                state.due_ms.div_euclid(DAY_MS),
                card.credit_avg,
                card.last_credit,
                card.item_rating,
            ])?;
        Ok(())
    }

    /// Writes a remediation under its own id, resolved or not (a replay writing out its rows).
    pub(super) fn restore_remediation(
        &self,
        id: i64,
        row: &RemediationRow,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO remediations (id, course, module, skill, reason, created_ms, due_ms,
                    lesson_step, item_step, resolved_ms, resolved_credit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                id,
                row.course,
                row.module,
                row.skill,
                row.reason,
                row.created_ms,
                row.due_ms,
                row.lesson_step,
                row.item_step,
                row.resolved_ms,
                row.resolved_credit,
            ])?;
        Ok(())
    }
}

impl ProjectionTables for LiveTables<'_> {
    fn enrolled_path(&mut self, course: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT path FROM enrollments WHERE course = ?1")?
            .query_row([course], |r| r.get(0))
            .optional()
    }

    fn put_enrollment(&mut self, course: &str, path: &str, at_ms: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO enrollments (course, path, at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (course) DO UPDATE SET path = excluded.path, at_ms = excluded.at_ms",
            )?
            .execute(params![course, path, at_ms])?;
        Ok(())
    }

    fn card(&mut self, course: &str, step: &str) -> rusqlite::Result<Option<CardRow>> {
        self.conn
            .prepare_cached(
                "SELECT module, item_kind, phase, learning_step, stability, difficulty, reps, lapses,
                    last_review_ms, due_ms, credit_avg, last_credit, item_rating
                 FROM cards WHERE course = ?1 AND step = ?2",
            )?
            .query_row(params![course, step], |r| {
                Ok(CardRow {
                    module: r.get(0)?,
                    item_kind: r.get(1)?,
                    state: CardState {
                        phase: Phase::parse(r.get_ref(2)?.as_str()?),
                        learning_step: r.get(3)?,
                        stability: r.get::<_, f64>(4)? as f32,
                        difficulty: r.get::<_, f64>(5)? as f32,
                        reps: r.get(6)?,
                        lapses: r.get(7)?,
                        last_review_ms: r.get(8)?,
                        due_ms: r.get(9)?,
                    },
                    credit_avg: r.get(10)?,
                    last_credit: r.get(11)?,
                    item_rating: r.get(12)?,
                })
            })
            .optional()
    }

    fn put_card(&mut self, course: &str, step: &str, card: CardRow) -> rusqlite::Result<()> {
        self.write_card(course, step, &card)
    }

    fn due_load(&mut self, day: i64) -> rusqlite::Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT cards FROM due_load WHERE due_day = ?1")?
            .query_row([day], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    fn add_due_load(&mut self, day: i64, cards: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO due_load (due_day, cards) VALUES (?1, ?2)
                 ON CONFLICT (due_day) DO UPDATE SET cards = cards + excluded.cards",
            )?
            .execute(params![day, cards])?;
        Ok(())
    }

    fn skill_rating(&mut self, course: &str, skill: &str) -> rusqlite::Result<Option<SkillRating>> {
        self.conn
            .prepare_cached(
                "SELECT ability, answers FROM skill_ratings WHERE course = ?1 AND skill = ?2",
            )?
            .query_row(params![course, skill], |r| {
                Ok(SkillRating {
                    ability: r.get(0)?,
                    answers: r.get(1)?,
                })
            })
            .optional()
    }

    fn put_skill_rating(
        &mut self,
        course: &str,
        skill: &str,
        rating: SkillRating,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO skill_ratings (course, skill, ability, answers) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (course, skill) DO UPDATE SET ability = excluded.ability,
                    answers = excluded.answers",
            )?
            .execute(params![course, skill, rating.ability, rating.answers])?;
        Ok(())
    }

    fn response_time(&mut self, item_kind: &str) -> rusqlite::Result<Option<ResponseTime>> {
        self.conn
            .prepare_cached("SELECT typical_ms, answers FROM response_times WHERE item_kind = ?1")?
            .query_row([item_kind], |r| {
                Ok(ResponseTime {
                    typical_ms: r.get(0)?,
                    answers: r.get(1)?,
                })
            })
            .optional()
    }

    fn put_response_time(&mut self, item_kind: &str, time: ResponseTime) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO response_times (item_kind, typical_ms, answers) VALUES (?1, ?2, ?3)
                 ON CONFLICT (item_kind) DO UPDATE SET typical_ms = excluded.typical_ms,
                    answers = excluded.answers",
            )?
            .execute(params![item_kind, time.typical_ms, time.answers])?;
        Ok(())
    }

    fn add_activity_day(&mut self, day: &str, answers: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO activity_days (day, answers) VALUES (?1, ?2)
                 ON CONFLICT (day) DO UPDATE SET answers = answers + excluded.answers",
            )?
            .execute(params![day, answers])?;
        Ok(())
    }

    fn module_progress(
        &mut self,
        course: &str,
        module: &str,
    ) -> rusqlite::Result<Option<ModuleProgress>> {
        self.conn
            .prepare_cached(
                "SELECT attempts, started_ms, completed_ms, completions FROM module_progress
                 WHERE course = ?1 AND module = ?2",
            )?
            .query_row(params![course, module], |r| {
                Ok(ModuleProgress {
                    attempts: r.get(0)?,
                    started_ms: r.get(1)?,
                    completed_ms: r.get(2)?,
                    completions: r.get(3)?,
                })
            })
            .optional()
    }

    fn put_module_progress(
        &mut self,
        course: &str,
        module: &str,
        progress: ModuleProgress,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO module_progress (course, module, attempts, started_ms, completed_ms, completions)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (course, module) DO UPDATE SET attempts = excluded.attempts,
                    started_ms = excluded.started_ms, completed_ms = excluded.completed_ms,
                    completions = excluded.completions",
            )?
            .execute(params![
                course,
                module,
                progress.attempts,
                progress.started_ms,
                progress.completed_ms,
                progress.completions
            ])?;
        Ok(())
    }

    fn attempt_steps(&mut self, course: &str, module: &str) -> rusqlite::Result<Vec<AttemptStep>> {
        self.conn
            .prepare_cached(
                "SELECT step, credit FROM attempt_steps WHERE course = ?1 AND module = ?2",
            )?
            .query_map(params![course, module], |r| {
                Ok(AttemptStep {
                    step: r.get(0)?,
                    credit: r.get(1)?,
                })
            })?
            .collect()
    }

    fn put_attempt_step(
        &mut self,
        course: &str,
        module: &str,
        step: &str,
        credit: Option<f64>,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO attempt_steps (course, module, step, credit) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (course, module, step) DO UPDATE SET credit = excluded.credit",
            )?
            .execute(params![course, module, step, credit])?;
        Ok(())
    }

    fn attempt_miss(
        &mut self,
        course: &str,
        module: &str,
        skill: &str,
    ) -> rusqlite::Result<Option<AttemptMiss>> {
        self.conn
            .prepare_cached(
                "SELECT wrong, remediated FROM attempt_misses
                 WHERE course = ?1 AND module = ?2 AND skill = ?3",
            )?
            .query_row(params![course, module, skill], |r| {
                Ok(AttemptMiss {
                    wrong: r.get(0)?,
                    remediated: r.get(1)?,
                })
            })
            .optional()
    }

    fn put_attempt_miss(
        &mut self,
        course: &str,
        module: &str,
        skill: &str,
        miss: AttemptMiss,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO attempt_misses (course, module, skill, wrong, remediated)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (course, module, skill) DO UPDATE SET wrong = excluded.wrong,
                    remediated = excluded.remediated",
            )?
            .execute(params![
                course,
                module,
                skill,
                miss.wrong,
                i64::from(miss.remediated)
            ])?;
        Ok(())
    }

    fn clear_attempt(&mut self, course: &str, module: &str) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM attempt_steps WHERE course = ?1 AND module = ?2")?
            .execute(params![course, module])?;
        self.conn
            .prepare_cached("DELETE FROM attempt_misses WHERE course = ?1 AND module = ?2")?
            .execute(params![course, module])?;
        Ok(())
    }

    fn stage_progress(
        &mut self,
        course: &str,
        path: &str,
        stage: &str,
    ) -> rusqlite::Result<Option<StageProgress>> {
        self.conn
            .prepare_cached(
                "SELECT unlocked_ms, passed_ms, checks, last_check_ms, last_check_passed, passed_skills
                 FROM stage_progress WHERE course = ?1 AND path = ?2 AND stage = ?3",
            )?
            .query_row(params![course, path, stage], |r| {
                Ok(StageProgress {
                    unlocked_ms: r.get(0)?,
                    passed_ms: r.get(1)?,
                    checks: r.get(2)?,
                    last_check_ms: r.get(3)?,
                    last_check_passed: r.get(4)?,
                    passed_skills: r.get(5)?,
                })
            })
            .optional()
    }

    fn put_stage_progress(
        &mut self,
        course: &str,
        path: &str,
        stage: &str,
        progress: StageProgress,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO stage_progress (course, path, stage, unlocked_ms, passed_ms, checks,
                    last_check_ms, last_check_passed, passed_skills)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (course, path, stage) DO UPDATE SET unlocked_ms = excluded.unlocked_ms,
                    passed_ms = excluded.passed_ms, checks = excluded.checks,
                    last_check_ms = excluded.last_check_ms,
                    last_check_passed = excluded.last_check_passed,
                    passed_skills = excluded.passed_skills",
            )?
            .execute(params![
                course,
                path,
                stage,
                progress.unlocked_ms,
                progress.passed_ms,
                progress.checks,
                progress.last_check_ms,
                progress.last_check_passed.map(i64::from),
                progress.passed_skills,
            ])?;
        Ok(())
    }

    fn pending_remediations_of_item(
        &mut self,
        course: &str,
        item_step: &str,
    ) -> rusqlite::Result<Vec<PendingRemediation>> {
        self.conn
            .prepare_cached(
                "SELECT id, created_ms FROM remediations
                 WHERE course = ?1 AND item_step = ?2 AND resolved_ms IS NULL ORDER BY id",
            )?
            .query_map(params![course, item_step], |r| {
                Ok(PendingRemediation {
                    id: r.get(0)?,
                    created_ms: r.get(1)?,
                })
            })?
            .collect()
    }

    fn pending_remediation_items(
        &mut self,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Vec<String>> {
        self.conn
            .prepare_cached(
                "SELECT item_step FROM remediations
                 WHERE course = ?1 AND skill = ?2 AND resolved_ms IS NULL",
            )?
            .query_map(params![course, skill], |r| r.get(0))?
            .collect()
    }

    fn resolve_remediation(&mut self, id: i64, at_ms: i64, credit: f64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE remediations SET resolved_ms = ?2, resolved_credit = ?3 WHERE id = ?1",
            )?
            .execute(params![id, at_ms, credit])?;
        Ok(())
    }

    fn insert_remediation(&mut self, row: RemediationRow) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO remediations (course, module, skill, reason, created_ms, due_ms,
                    lesson_step, item_step, resolved_ms, resolved_credit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                row.course,
                row.module,
                row.skill,
                row.reason,
                row.created_ms,
                row.due_ms,
                row.lesson_step,
                row.item_step,
                row.resolved_ms,
                row.resolved_credit,
            ])?;
        Ok(())
    }

    fn put_parameters(&mut self, parameters_json: &str, at_ms: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO fsrs_parameters (id, parameters, adopted_ms) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET parameters = excluded.parameters,
                    adopted_ms = excluded.adopted_ms",
            )?
            .execute(params![parameters_json, at_ms])?;
        Ok(())
    }

    fn clear_parameters(&mut self) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM fsrs_parameters")?
            .execute([])?;
        Ok(())
    }

    fn goal_set_by_server(&mut self, goal: &str) -> rusqlite::Result<Option<bool>> {
        self.conn
            .prepare_cached("SELECT set_by_server FROM goals WHERE goal = ?1")?
            .query_row([goal], |r| r.get(0))
            .optional()
    }

    fn put_goal(&mut self, row: GoalRow) -> rusqlite::Result<()> {
        let json = |parts: &[String]| serde_json::to_string(parts).unwrap_or_else(|_| "[]".into());
        self.conn
            .prepare_cached(
                "INSERT INTO goals (goal, title, course, path, stages_json, skills_json, due,
                                    set_by_server, set_ms, withdrawn)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (goal) DO UPDATE SET title = excluded.title, course = excluded.course,
                    path = excluded.path, stages_json = excluded.stages_json,
                    skills_json = excluded.skills_json, due = excluded.due,
                    set_by_server = excluded.set_by_server, set_ms = excluded.set_ms,
                    withdrawn = excluded.withdrawn",
            )?
            .execute(params![
                row.goal.spec.goal,
                row.goal.spec.title,
                row.goal.spec.course,
                row.goal.spec.path,
                json(&row.goal.spec.stages),
                json(&row.goal.spec.skills),
                row.goal.spec.due,
                row.goal.set_by_server,
                row.goal.set_ms,
                row.withdrawn
            ])?;
        Ok(())
    }

    fn put_study_time(
        &mut self,
        minutes: u32,
        days_off: &[u8],
        at_ms: i64,
    ) -> rusqlite::Result<()> {
        let days_off = serde_json::to_string(days_off).unwrap_or_else(|_| "[]".into());
        self.conn
            .prepare_cached(
                "INSERT INTO study_time (id, minutes_per_day, days_off_json, set_ms)
                 VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET minutes_per_day = excluded.minutes_per_day,
                    days_off_json = excluded.days_off_json, set_ms = excluded.set_ms",
            )?
            .execute(params![minutes, days_off, at_ms])?;
        Ok(())
    }

    fn retention(&mut self, course: &str) -> rusqlite::Result<Option<f64>> {
        self.conn
            .prepare_cached("SELECT desired_retention FROM retention_settings WHERE course = ?1")?
            .query_row([course], |r| r.get(0))
            .optional()
    }

    fn put_retention(&mut self, course: &str, retention: f64, at_ms: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO retention_settings (course, desired_retention, set_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (course) DO UPDATE SET desired_retention = excluded.desired_retention,
                    set_ms = excluded.set_ms",
            )?
            .execute(params![course, retention, at_ms])?;
        Ok(())
    }

    fn consent(&mut self, scope: ConsentScope) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT granted FROM consents WHERE scope = ?1")?
            .query_row([scope.name()], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false))
    }

    fn put_consent(
        &mut self,
        scope: ConsentScope,
        granted: bool,
        at_ms: i64,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO consents (scope, granted, changed_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope) DO UPDATE SET granted = excluded.granted,
                    changed_ms = excluded.changed_ms",
            )?
            .execute(params![scope.name(), granted, at_ms])?;
        Ok(())
    }

    fn count_peer_rating(
        &mut self,
        rating: &str,
        course: &str,
        step: &str,
        credit: f64,
    ) -> rusqlite::Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO peer_ratings (rating, course, step, credit) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (rating) DO NOTHING",
            )?
            .execute(params![rating, course, step, credit])?;
        Ok(inserted == 1)
    }

    fn review(&mut self, id: &str) -> rusqlite::Result<Option<ReviewRow>> {
        self.conn
            .prepare_cached(
                "SELECT course, path, stage, requested_ms, decision, decided_ms, unlocked
                 FROM reviews WHERE id = ?1",
            )?
            .query_row([id], |r| {
                let decision: Option<String> = r.get(4)?;
                let decided_ms: Option<i64> = r.get(5)?;
                let unlocked: Option<bool> = r.get(6)?;
                Ok(ReviewRow {
                    course: r.get(0)?,
                    path: r.get(1)?,
                    stage: r.get(2)?,
                    requested_ms: r.get(3)?,
                    decision: decision
                        .zip(decided_ms)
                        .map(|(event, at)| (event, at, unlocked.unwrap_or(false))),
                })
            })
            .optional()
    }

    fn put_review(&mut self, id: &str, review: ReviewRow) -> rusqlite::Result<()> {
        let (decision, decided_ms, unlocked) = match review.decision {
            Some((event, at, unlock)) => (Some(event), Some(at), Some(unlock)),
            None => (None, None, None),
        };
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO reviews
                    (id, course, path, stage, requested_ms, decision, decided_ms, unlocked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                id,
                review.course,
                review.path,
                review.stage,
                review.requested_ms,
                decision,
                decided_ms,
                unlocked
            ])?;
        Ok(())
    }

    fn skill_cards(
        &mut self,
        _content: &mut ContentReader<'_>,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Vec<CardEvidence>> {
        super::read::skill_cards(self.conn, course, skill)
    }
}
