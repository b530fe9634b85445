//! Interventions beyond modules: what the L&D team's request names, resolved into the action an
//! `InterventionTriggered` event carries, each part checked before anything is written.
//!
//! - `coaching`: `manager` (a learner id, not the learner's own) and `template`, one of
//!   [`COACHING_TEMPLATES`] (a title and 3 to 6 prompts), copied whole into the event so the
//!   learner's devices and the manager's side show it without another look-up;
//! - `mentoring`: `course` and `skill`; the mentor is picked among the peers who hold the skill
//!   ([`pick_mentor`], from the skills inventory's holders, who share their profile); nobody
//!   holding it is a `422` and nothing is written;
//! - `job_aid`: `course` and `aid`, which must be a job aid of the course as the server's
//!   content index holds it.
//!
//! It never writes: [`crate::interventions`] commits what it resolved.

use serde::{Deserialize, Serialize};
use tidbit_core::events::{CoachingTemplate, InterventionAction};

use crate::interventions::{InterventionError, InterventionRequest};
use crate::metrics::Summaries;
use crate::Hub;

/// The kind of intervention a request asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestedKind {
    #[default]
    Module,
    Coaching,
    Mentoring,
    JobAid,
}

/// Mastery a mentor must hold in the skill.
pub const MENTOR_MASTERY: f64 = 0.8;
/// A mentor demonstrated the skill (was active with it) within this many days.
pub const MENTOR_RECENT_DAYS: i64 = 90;

/// The coaching templates the server offers: `(id, title, prompts)`.
pub const COACHING_TEMPLATES: &[(&str, &str, &[&str])] = &[
    (
        "after-a-miss",
        "After a miss: what happened and what helps",
        &[
            "Walk me through the last time this came up at work: what did you do?",
            "Which part felt hardest, and why?",
            "What would you do differently next time?",
            "What one thing can I do to make that easier for you?",
        ],
    ),
    (
        "practice-plan",
        "A practice plan for the next two weeks",
        &[
            "Where will you use this skill in the next two weeks?",
            "What will you try first, and when?",
            "How will you know it went well?",
            "When shall we check in on it?",
        ],
    ),
    (
        "confidence-check",
        "Confidence check",
        &[
            "On a scale of 1 to 5, how confident do you feel doing this on your own?",
            "What would move it one point up?",
            "Who else on the team could you watch or ask?",
        ],
    ),
];

/// The built-in template `id`.
pub fn coaching_template(id: &str) -> Option<CoachingTemplate> {
    COACHING_TEMPLATES
        .iter()
        .find(|(t, _, _)| *t == id)
        .map(|(id, title, prompts)| CoachingTemplate {
            id: id.to_string(),
            title: title.to_string(),
            prompts: prompts.iter().map(|p| p.to_string()).collect(),
        })
}

/// The action `request` asks of `learner`, each part checked against the templates, the
/// content index and the learners' summaries at `now_ms`.
pub fn resolve(
    hub: &Hub,
    learner: &str,
    request: &InterventionRequest,
    now_ms: i64,
) -> Result<InterventionAction, InterventionError> {
    let named = |field: &'static str, value: &Option<String>| {
        value
            .as_deref()
            .filter(|v| crate::auth::valid_id(v))
            .map(str::to_string)
            .ok_or(InterventionError::MissingField {
                kind: request.kind,
                field,
            })
    };
    match request.kind {
        RequestedKind::Module => Ok(InterventionAction::Module),
        RequestedKind::Coaching => {
            let manager = named("manager", &request.manager)?;
            if manager == learner {
                return Err(InterventionError::OwnManager);
            }
            let id = named("template", &request.template)?;
            let template =
                coaching_template(&id).ok_or_else(|| InterventionError::UnknownTemplate(id))?;
            Ok(InterventionAction::Coaching { manager, template })
        }
        RequestedKind::Mentoring => {
            let course = named("course", &request.course)?;
            let skill = named("skill", &request.skill)?;
            let mentor =
                pick_mentor(&hub.summaries, learner, &course, &skill, now_ms).ok_or_else(|| {
                    InterventionError::NoMentor {
                        course: course.clone(),
                        skill: skill.clone(),
                    }
                })?;
            Ok(InterventionAction::Mentoring {
                mentor,
                course,
                skill,
            })
        }
        RequestedKind::JobAid => {
            let course = named("course", &request.course)?;
            let aid = named("aid", &request.aid)?;
            let aids = hub
                .content
                .with_store(|store| store.job_aids(&course))
                .map_err(|_| InterventionError::Task)?
                .unwrap_or_default();
            if !aids.iter().any(|a| a.id == aid) {
                return Err(InterventionError::UnknownJobAid { course, aid });
            }
            Ok(InterventionAction::JobAid { course, aid })
        }
    }
}

/// The peer to mentor `learner` in `skill` of `course`: among the others the skills inventory
/// lists as holders ([`crate::inventory::holders`]: mastery at least [`MENTOR_MASTERY`],
/// demonstrated in the last [`MENTOR_RECENT_DAYS`] days, sharing their profile), the one with
/// the fewest mentees still open (requests whose deadline has not passed), then the most recent
/// demonstration, then the first by id. Deterministic for the same summaries.
pub fn pick_mentor(
    summaries: &Summaries,
    learner: &str,
    course: &str,
    skill: &str,
    now_ms: i64,
) -> Option<String> {
    crate::inventory::holders(
        summaries,
        course,
        skill,
        MENTOR_MASTERY,
        MENTOR_RECENT_DAYS as u32,
        now_ms,
    )
    .into_iter()
    .filter(|h| h.learner != learner)
    .map(|h| {
        let open = summaries.get(&h.learner).map_or(0, |s| {
            s.mentoring_requests
                .iter()
                .filter(|r| r.deadline_ms > now_ms)
                .count()
        });
        (open, std::cmp::Reverse(h.last_demonstrated_ms), h.learner)
    })
    .min()
    .map(|(_, _, mentor)| mentor)
}
