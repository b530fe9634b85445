//! The modules a goal covers and how far the learner is through them.

use rusqlite::{params, Connection, OptionalExtension};

use super::Goal;
use crate::learn::projection::read;
use crate::learn::schedule::Scheduler;

/// One module a goal covers.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeModule {
    pub module: String,
    pub steps: u32,
    /// Steps still to do (all of them for a module not done whose attempt has none left).
    pub remaining: Vec<String>,
    pub done: bool,
    /// When it was done: its first completion, or its stage's pass for a stage check.
    pub done_ms: Option<i64>,
}

/// The modules of a goal, in path order, with the goal itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub goal: Goal,
    pub modules: Vec<ScopeModule>,
}

impl Scope {
    pub fn of(conn: &Connection, goal: &Goal) -> rusqlite::Result<Scope> {
        let every_stage = goal.spec.stages.is_empty() && goal.spec.skills.is_empty();
        // (module, the stage it checks, if a check)
        let mut wanted: Vec<(String, Option<String>)> = Vec::new();
        let stages: Vec<(String, Option<String>)> = conn
            .prepare_cached(
                "SELECT kind, check_module FROM stages WHERE course_id = ?1 AND path_id = ?2
                 ORDER BY position",
            )?
            .query_map(params![goal.spec.course, goal.spec.path], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (stage, check) in stages {
            if !every_stage && !goal.spec.stages.contains(&stage) {
                continue;
            }
            let modules: Vec<String> = conn
                .prepare_cached(
                    "SELECT module_id FROM stage_modules
                     WHERE course_id = ?1 AND path_id = ?2 AND stage_kind = ?3 ORDER BY position",
                )?
                .query_map(params![goal.spec.course, goal.spec.path, stage], |r| {
                    r.get(0)
                })?
                .collect::<rusqlite::Result<_>>()?;
            wanted.extend(modules.into_iter().map(|m| (m, None)));
            if let Some(check) = check {
                wanted.push((check, Some(stage)));
            }
        }
        for skill in &goal.spec.skills {
            let modules: Vec<String> = conn
                .prepare_cached(
                    "SELECT DISTINCT s.module_id FROM step_skills k
                     JOIN steps s ON s.course_id = k.course_id AND s.id = k.step_id
                     JOIN modules m ON m.course_id = s.course_id AND m.id = s.module_id
                     WHERE k.course_id = ?1 AND k.skill_id = ?2 ORDER BY m.position",
                )?
                .query_map(params![goal.spec.course, skill], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            wanted.extend(modules.into_iter().map(|m| (m, None)));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut modules = Vec::new();
        for (module, checks) in wanted {
            if !seen.insert(module.clone()) {
                continue;
            }
            modules.push(scope_module(conn, goal, &module, checks.as_deref())?);
        }
        Ok(Scope {
            goal: goal.clone(),
            modules,
        })
    }

    pub fn total_steps(&self) -> u32 {
        self.modules.iter().map(|m| m.steps).sum()
    }

    pub fn remaining_steps(&self) -> u32 {
        self.modules.iter().map(|m| m.remaining.len() as u32).sum()
    }

    /// Steps of the modules already done when the goal was set.
    pub fn baseline_steps(&self) -> u32 {
        self.modules
            .iter()
            .filter(|m| m.done_ms.is_some_and(|at| at <= self.goal.set_ms))
            .map(|m| m.steps)
            .sum()
    }

    /// The modules not done, in path order.
    pub fn open_modules(&self) -> Vec<String> {
        self.modules
            .iter()
            .filter(|m| !m.done)
            .map(|m| m.module.clone())
            .collect()
    }

    /// The goal's steps done since `since_ms` (in the current attempt of a module not done, or
    /// in a module done since then).
    pub fn done_since(&self, conn: &Connection, since_ms: i64) -> rusqlite::Result<Vec<String>> {
        let mut statement = conn.prepare_cached(
            "SELECT DISTINCT e.step FROM events e
             JOIN steps s ON s.course_id = e.course AND s.id = e.step
             WHERE e.course = ?1 AND e.at_ms >= ?2 AND s.module_id = ?3
               AND e.kind IN ('step_viewed', 'item_answered')",
        )?;
        let mut done = Vec::new();
        for module in &self.modules {
            if module.done_ms.is_some_and(|at| at < since_ms) {
                continue;
            }
            let steps: Vec<String> = statement
                .query_map(
                    params![self.goal.spec.course, since_ms, module.module],
                    |r| r.get(0),
                )?
                .collect::<rusqlite::Result<_>>()?;
            done.extend(steps.into_iter().filter(|s| !module.remaining.contains(s)));
        }
        Ok(done)
    }

    /// Every module done and every named skill at the course's threshold.
    pub fn met(
        &self,
        conn: &Connection,
        scheduler: &Scheduler,
        now_ms: i64,
    ) -> rusqlite::Result<bool> {
        if self.modules.is_empty() || self.modules.iter().any(|m| !m.done) {
            return Ok(false);
        }
        let threshold: f64 = conn
            .prepare_cached(
                "SELECT mastery_threshold FROM courses INDEXED BY course_settings WHERE id = ?1",
            )?
            .query_row([&self.goal.spec.course], |r| r.get(0))
            .optional()?
            .unwrap_or(1.0);
        for skill in &self.goal.spec.skills {
            let mastery =
                read::skill_mastery(conn, scheduler, &self.goal.spec.course, skill, now_ms)?;
            if mastery.mastery < threshold {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// What keeps the learner from working on the goal, if anything.
    pub fn blocked(&self, conn: &Connection) -> rusqlite::Result<Option<String>> {
        let course = &self.goal.spec.course;
        let path = &self.goal.spec.path;
        let installed: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM paths WHERE course_id = ?1 AND id = ?2)")?
            .query_row(params![course, path], |r| r.get(0))?;
        if !installed {
            return Ok(Some(format!(
                "the course '{course}' with its path '{path}' is not installed on this device yet"
            )));
        }
        let enrolled: Option<String> = conn
            .prepare_cached("SELECT path FROM enrollments WHERE course = ?1")?
            .query_row([course], |r| r.get(0))
            .optional()?;
        Ok(match enrolled {
            Some(p) if p == *path => None,
            Some(other) => Some(format!(
                "you follow the path '{other}' of this course; the goal is on '{path}'"
            )),
            None => Some(format!("start the path '{path}' to work towards it")),
        })
    }
}

fn scope_module(
    conn: &Connection,
    goal: &Goal,
    module: &str,
    checks: Option<&str>,
) -> rusqlite::Result<ScopeModule> {
    let all: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM steps WHERE course_id = ?1 AND module_id = ?2 ORDER BY position",
        )?
        .query_map(params![goal.spec.course, module], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let done_ms: Option<i64> = match checks {
        Some(stage) => conn
            .prepare_cached(
                "SELECT passed_ms FROM stage_progress WHERE course = ?1 AND path = ?2 AND stage = ?3",
            )?
            .query_row(params![goal.spec.course, goal.spec.path, stage], |r| r.get(0))
            .optional()?
            .flatten(),
        None => conn
            .prepare_cached("SELECT completed_ms FROM module_progress WHERE course = ?1 AND module = ?2")?
            .query_row(params![goal.spec.course, module], |r| r.get(0))
            .optional()?
            .flatten(),
    };
    let remaining = if done_ms.is_some() {
        Vec::new()
    } else {
        let left = read::remaining_steps(conn, &goal.spec.course, module)?;
        // An attempt with nothing left that did not finish the module (a failed check) is
        // taken again from its start.
        if left.is_empty() {
            all.clone()
        } else {
            left
        }
    };
    Ok(ScopeModule {
        module: module.to_string(),
        steps: all.len() as u32,
        remaining,
        done: done_ms.is_some(),
        done_ms,
    })
}
