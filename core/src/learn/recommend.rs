//! The recommended next activity, with a plain-language reason and the inputs behind it.
//!
//! Reads projections and content at a given instant and writes nothing; the facade records
//! each recommendation, with its inputs, in the decision audit trail. The order of preference:
//! a waiting remediation, due reinforcement (a booster when it all comes from one module), the
//! next module or stage check of the path, then the path's completion.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::goal::{Pace, Pacing, Quota};
use super::memo::Reads;
use super::plan::{
    plan_session_in, planned, PendingRemediation, PlannedStep, Purpose, SessionPlan,
};
use super::schedule::Scheduler;

/// What the learner should do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum Activity {
    Remediation {
        course: String,
        skill: String,
        plan: SessionPlan,
    },
    Reinforcement {
        due: u32,
        plan: SessionPlan,
    },
    Booster {
        course: String,
        module: String,
        plan: SessionPlan,
    },
    Module {
        course: String,
        module: String,
        stage_check: bool,
    },
    Enroll {
        course: String,
        path: String,
    },
    PathComplete {
        course: String,
        path: String,
    },
    /// Today's new steps for a goal are done; reviews will appear as they fall due.
    GoalPaced {
        course: String,
        goal: String,
        pace: Pace,
    },
    NothingInstalled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub activity: Activity,
    /// A sentence for the learner, e.g. "3 items on 'Handle price objections' are due; your
    /// mastery there fell to 0.62".
    pub reason: String,
    /// The inputs the decision was taken on, as recorded in the audit trail.
    pub inputs: serde_json::Value,
}

fn title_of(conn: &Connection, table: &str, course: &str, id: &str) -> String {
    let column = if table == "skills" { "name" } else { "title" };
    conn.prepare_cached(&format!(
        "SELECT {column} FROM {table} WHERE course_id = ?1 AND id = ?2"
    ))
    .and_then(|mut statement| statement.query_row(params![course, id], |r| r.get::<_, String>(0)))
    .unwrap_or_else(|_| id.to_string())
}

/// The next best activity and why.
pub fn next_activity(
    reads: Reads<'_>,
    scheduler: &Scheduler,
    now_ms: i64,
    pacing: &Pacing,
) -> rusqlite::Result<Recommendation> {
    let conn = reads.conn;
    let mastery_of =
        |course: &str, skill: &str| reads.skill_mastery(scheduler, course, skill, now_ms);
    let remediations = reads.pending_remediations()?;
    let due = reads.due_counts(now_ms, now_ms)?;
    if let Some(r) = remediations.first() {
        let plan = plan_session_for_remediation(conn, r)?;
        let mastery = mastery_of(&r.course, &r.skill)?;
        let skill = title_of(conn, "skills", &r.course, &r.skill);
        let module = title_of(conn, "modules", &r.course, &r.module);
        let reason = if r.reason == "stage_check_failed" {
            format!("The check in '{module}' showed a gap in '{skill}' (mastery {mastery:.2}); a short lesson and one question will close it before you retry")
        } else {
            format!("You missed two questions on '{skill}' in '{module}'; a short lesson and a new question will fix it now (mastery {mastery:.2})")
        };
        return Ok(Recommendation {
            inputs: serde_json::json!({
                "pending_remediations": remediations.len(),
                "remediation": r,
                "skill_mastery": mastery,
                "due_now": due.due_now,
            }),
            activity: Activity::Remediation {
                course: r.course.clone(),
                skill: r.skill.clone(),
                plan,
            },
            reason,
        });
    }
    if due.due_now > 0 {
        let plan = plan_session_in(reads, scheduler, now_ms, 120, pacing)?;
        let reinforcement: Vec<&PlannedStep> = plan
            .steps
            .iter()
            .filter(|s| s.purpose == Purpose::Reinforcement)
            .collect();
        // The weakest skill among the due items names the reason.
        // Each skill's mastery is measured once, however many due items share it.
        let mut skills = std::collections::BTreeSet::new();
        for step in &reinforcement {
            for skill in reads.step_skills(&step.course, &step.step)? {
                skills.insert((step.course.clone(), skill));
            }
        }
        let mut weakest: Option<(f64, String, String)> = None;
        for (course, skill) in skills {
            let m = mastery_of(&course, &skill)?;
            if weakest.as_ref().is_none_or(|(w, _, _)| m < *w) {
                weakest = Some((m, course, skill));
            }
        }
        let minutes = (plan.total_seconds as f64 / 60.0).ceil().max(1.0) as u32;
        let modules: std::collections::BTreeSet<(&str, &str)> = reinforcement
            .iter()
            .map(|s| (s.course.as_str(), s.module.as_str()))
            .collect();
        let (skill_name, mastery) = match &weakest {
            Some((m, course, skill)) => (title_of(conn, "skills", course, skill), *m),
            None => (String::new(), 1.0),
        };
        let inputs = serde_json::json!({
            "due_now": due.due_now,
            "planned": reinforcement.len(),
            "plan_seconds": plan.total_seconds,
            "weakest_skill": weakest.as_ref().map(|(_, _, s)| s),
            "weakest_mastery": mastery,
            "modules": modules.iter().map(|(c, m)| format!("{c}/{m}")).collect::<Vec<_>>(),
        });
        if let (1, Some((course, module))) = (modules.len(), modules.iter().next()) {
            let title = title_of(conn, "modules", course, module);
            return Ok(Recommendation {
                reason: format!(
                    "Booster for '{title}': {} follow-up item{} due, about {minutes} minute{}; your mastery of '{skill_name}' is {mastery:.2}",
                    due.due_now,
                    if due.due_now == 1 { " is" } else { "s are" },
                    if minutes == 1 { "" } else { "s" }
                ),
                activity: Activity::Booster {
                    course: course.to_string(),
                    module: module.to_string(),
                    plan,
                },
                inputs,
            });
        }
        return Ok(Recommendation {
            reason: format!(
                "{} item{} due (about {minutes} minute{}); your mastery of '{skill_name}' fell to {mastery:.2}",
                due.due_now,
                if due.due_now == 1 { " is" } else { "s are" },
                if minutes == 1 { "" } else { "s" }
            ),
            activity: Activity::Reinforcement {
                due: due.due_now,
                plan,
            },
            inputs,
        });
    }
    let enrolled = reads.enrollments()?;
    if let Some(recommendation) = goal_to_start(conn, pacing, &enrolled)? {
        return Ok(recommendation);
    }
    let mut paced: Option<&Quota> = None;
    // Goals first (by due date), each while today's quota lasts; then courses no goal paces.
    let mut candidates: Vec<(&str, &str, Option<&Quota>)> = pacing
        .quotas
        .iter()
        .filter(|q| enrolled.iter().any(|(c, p)| *c == q.course && *p == q.path))
        .map(|q| (q.course.as_str(), q.path.as_str(), Some(q)))
        .collect();
    candidates.extend(
        enrolled
            .iter()
            .filter(|(c, p)| !pacing.paces(c, p))
            .map(|(c, p)| (c.as_str(), p.as_str(), None)),
    );
    for (course, path, goal) in candidates {
        let next = reads.next_modules(course, path)?;
        let module = match goal {
            None => next.into_iter().next(),
            Some(quota) => {
                let open = next.into_iter().find(|m| quota.modules.contains(m));
                if quota.seconds_today == 0 && open.is_some() {
                    paced = paced.or(Some(quota));
                    continue;
                }
                open
            }
        };
        if let Some(module) = module {
            let stage: Option<(String, String, bool)> = conn
                .query_row(
                    "SELECT st.kind, st.title, st.check_module = ?3 FROM stages st
                     LEFT JOIN stage_modules sm ON sm.course_id = st.course_id AND sm.path_id = st.path_id
                        AND sm.stage_kind = st.kind AND sm.module_id = ?3
                     WHERE st.course_id = ?1 AND st.path_id = ?2 AND (sm.module_id IS NOT NULL OR st.check_module = ?3)
                     ORDER BY st.position LIMIT 1",
                    params![course, path, module],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<bool>>(2)?.unwrap_or(false))),
                )
                .optional()?;
            let (stage_kind, stage_title, is_check) =
                stage.unwrap_or_else(|| (String::new(), String::new(), false));
            let title = title_of(conn, "modules", course, &module);
            let seconds: u32 = conn
                .query_row(
                    "SELECT estimated_seconds FROM modules WHERE course_id = ?1 AND id = ?2",
                    params![course, module],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            let minutes = (f64::from(seconds) / 60.0).round().max(1.0);
            let mut reason = if is_check {
                format!("All of '{stage_title}' is done: take its check '{title}' (about {minutes} minutes) to unlock the next stage")
            } else {
                format!("Next in '{stage_title}': '{title}' (about {minutes} minutes); nothing is due for review")
            };
            if let Some(quota) = goal {
                let minutes = quota.seconds_today.div_ceil(60);
                reason.push_str(&format!(
                    ". Your goal '{}' is {}: about {minutes} minute{} of new material today keep{} it steady",
                    quota.title,
                    quota.pace.describe(),
                    if minutes == 1 { "" } else { "s" },
                    if minutes == 1 { "s" } else { "" },
                ));
            }
            return Ok(Recommendation {
                inputs: serde_json::json!({
                    "due_now": 0,
                    "pending_remediations": 0,
                    "path": path,
                    "stage": stage_kind,
                    "module": module,
                    "stage_check": is_check,
                    "goal": goal.map(|q| &q.goal),
                    "goal_pace": goal.map(|q| q.pace.describe()),
                    "goal_seconds_today": goal.map(|q| q.seconds_today),
                }),
                activity: Activity::Module {
                    course: course.to_string(),
                    module,
                    stage_check: is_check,
                },
                reason,
            });
        }
    }
    if let Some(quota) = paced {
        return Ok(Recommendation {
            reason: format!(
                "Today's new steps for your goal '{}' are done and it is {}: come back tomorrow; reviews will appear as they fall due",
                quota.title,
                quota.pace.describe()
            ),
            activity: Activity::GoalPaced {
                course: quota.course.clone(),
                goal: quota.goal.clone(),
                pace: quota.pace,
            },
            inputs: serde_json::json!({"goal": quota.goal, "goal_pace": quota.pace.describe(), "goal_seconds_today": 0, "due_now": 0}),
        });
    }
    if let Some((course, path)) = enrolled.first() {
        let title = title_of(conn, "paths", course, path);
        return Ok(Recommendation {
            reason: format!("You have passed every stage of the '{title}' path: your certificate is ready, and reviews will appear as they fall due"),
            activity: Activity::PathComplete {
                course: course.clone(),
                path: path.clone(),
            },
            inputs: serde_json::json!({"path": path, "due_now": 0}),
        });
    }
    let first: Option<(String, String, String)> = conn
        .query_row(
            "SELECT c.id, p.id, p.title FROM courses c JOIN paths p ON p.course_id = c.id
             ORDER BY c.title, p.position LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match first {
        Some((course, path, title)) => Recommendation {
            reason: format!("Start the '{title}' path"),
            activity: Activity::Enroll { course, path },
            inputs: serde_json::json!({"enrollments": 0}),
        },
        None => Recommendation {
            reason: "No course is installed yet: install a course pack".into(),
            activity: Activity::NothingInstalled,
            inputs: serde_json::json!({"courses": 0}),
        },
    })
}

/// A goal on an installed path the learner does not follow yet: start it.
fn goal_to_start(
    conn: &Connection,
    pacing: &Pacing,
    enrolled: &[(String, String)],
) -> rusqlite::Result<Option<Recommendation>> {
    for quota in &pacing.quotas {
        if enrolled.iter().any(|(course, _)| *course == quota.course) || quota.pace == Pace::Met {
            continue;
        }
        let installed: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM paths WHERE course_id = ?1 AND id = ?2)")?
            .query_row(params![quota.course, quota.path], |r| r.get(0))?;
        if installed {
            let title = title_of(conn, "paths", &quota.course, &quota.path);
            return Ok(Some(Recommendation {
                reason: format!(
                    "Your goal '{}' is on the '{title}' path: start it",
                    quota.title
                ),
                activity: Activity::Enroll {
                    course: quota.course.clone(),
                    path: quota.path.clone(),
                },
                inputs: serde_json::json!({"goal": quota.goal, "enrollments": enrolled.len()}),
            }));
        }
    }
    Ok(None)
}

fn plan_session_for_remediation(
    conn: &Connection,
    remediation: &PendingRemediation,
) -> rusqlite::Result<SessionPlan> {
    let mut plan = SessionPlan::new(180);
    for step in remediation
        .lesson_step
        .iter()
        .chain(std::iter::once(&remediation.item_step))
    {
        if let Some(p) = planned(conn, &remediation.course, step, Purpose::Remediation, None)? {
            plan.push(p);
        }
    }
    Ok(plan)
}
