//! What an intervention asks of the learner, and the steps that complete one.
//!
//! An intervention is a module to revisit (the first kind, and what an `InterventionTriggered`
//! event without an `action` means), a coaching conversation with the learner's manager, a
//! mentoring pairing with a peer who holds the skill, or a job aid (a one-screen reference card
//! of a course) to open. Each kind is completed by its own step
//! ([`InterventionAction::completed_by`]): a module by being completed, the others by an
//! `InterventionProgressed` event (the learner's device for a job aid or a mentoring pairing,
//! the server for a coaching conversation the manager marked held).

use serde::{Deserialize, Serialize};

/// The least and most prompts a coaching template holds.
pub const COACHING_PROMPTS: std::ops::RangeInclusive<usize> = 3..=6;

/// A short guided conversation for the learner's manager: a title and 3 to 6 prompts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct CoachingTemplate {
    pub id: String,
    pub title: String,
    pub prompts: Vec<String>,
}

/// A request to mentor a peer, as the mentor's log holds it (a `MentoringRequested` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct MentoringInvitation {
    /// The mentee's intervention.
    pub intervention: String,
    pub mentee: String,
    pub course: String,
    pub skill: String,
    pub requested_ms: i64,
    pub deadline_ms: i64,
}

impl MentoringInvitation {
    /// The invitation a `MentoringRequested` event carries (`None` for any other event).
    pub fn of(event: &crate::events::Event) -> Option<MentoringInvitation> {
        match &event.kind {
            crate::events::EventKind::MentoringRequested {
                intervention,
                mentee,
                course,
                skill,
                deadline_ms,
            } => Some(MentoringInvitation {
                intervention: intervention.clone(),
                mentee: mentee.clone(),
                course: course.clone(),
                skill: skill.clone(),
                requested_ms: event.at_ms,
                deadline_ms: *deadline_ms,
            }),
            _ => None,
        }
    }
}

/// What the learner is asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum InterventionAction {
    /// Revisit the intervention's module (complete it again).
    #[default]
    Module,
    /// Hold a short guided conversation with `manager`, who sees it only while the learner
    /// gives the `coaching` consent scope.
    Coaching {
        manager: String,
        template: CoachingTemplate,
    },
    /// Pair with `mentor`, a peer who demonstrated `skill` of `course`.
    Mentoring {
        mentor: String,
        course: String,
        skill: String,
    },
    /// Open the job aid `aid` of `course`.
    JobAid { course: String, aid: String },
}

/// The kinds of intervention, for outcome figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum InterventionKind {
    Module,
    Coaching,
    Mentoring,
    JobAid,
}

impl InterventionKind {
    pub const ALL: [InterventionKind; 4] = [
        InterventionKind::Module,
        InterventionKind::Coaching,
        InterventionKind::Mentoring,
        InterventionKind::JobAid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InterventionKind::Module => "module",
            InterventionKind::Coaching => "coaching",
            InterventionKind::Mentoring => "mentoring",
            InterventionKind::JobAid => "job_aid",
        }
    }
}

/// A step of an intervention taken after it was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum InterventionStep {
    /// The learner opened the job aid (their device).
    JobAidOpened,
    /// The learner accepted the mentoring pairing (their device).
    MentoringAccepted,
    /// The learner and the mentor met (the learner's device).
    MentoringMet,
    /// The manager marked the coaching conversation held (the server, as its device).
    CoachingHeld,
}

impl InterventionStep {
    /// Steps only the server records.
    pub fn is_from_server(self) -> bool {
        self == InterventionStep::CoachingHeld
    }

    pub fn name(self) -> &'static str {
        match self {
            InterventionStep::JobAidOpened => "job_aid_opened",
            InterventionStep::MentoringAccepted => "mentoring_accepted",
            InterventionStep::MentoringMet => "mentoring_met",
            InterventionStep::CoachingHeld => "coaching_held",
        }
    }

    /// The kind of intervention the step belongs to.
    pub fn kind(self) -> InterventionKind {
        match self {
            InterventionStep::JobAidOpened => InterventionKind::JobAid,
            InterventionStep::MentoringAccepted | InterventionStep::MentoringMet => {
                InterventionKind::Mentoring
            }
            InterventionStep::CoachingHeld => InterventionKind::Coaching,
        }
    }
}

impl InterventionAction {
    pub fn is_module(&self) -> bool {
        *self == InterventionAction::Module
    }

    pub fn kind(&self) -> InterventionKind {
        match self {
            InterventionAction::Module => InterventionKind::Module,
            InterventionAction::Coaching { .. } => InterventionKind::Coaching,
            InterventionAction::Mentoring { .. } => InterventionKind::Mentoring,
            InterventionAction::JobAid { .. } => InterventionKind::JobAid,
        }
    }

    /// The step that completes an intervention of this kind (`None` for a module, which its
    /// completion completes).
    pub fn completed_by(&self) -> Option<InterventionStep> {
        match self {
            InterventionAction::Module => None,
            InterventionAction::Coaching { .. } => Some(InterventionStep::CoachingHeld),
            InterventionAction::Mentoring { .. } => Some(InterventionStep::MentoringAccepted),
            InterventionAction::JobAid { .. } => Some(InterventionStep::JobAidOpened),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, EventKind};

    fn triggered(action: InterventionAction) -> EventKind {
        EventKind::InterventionTriggered {
            course: Some("field-safety".into()),
            module: "primary-survey".into(),
            reason: "missed the check twice".into(),
            deadline_ms: 1_790_100_000_000,
            signal: None,
            action,
        }
    }

    #[test]
    fn a_module_intervention_reads_and_writes_as_it_always_did() {
        let old = r#"{"id":"a","at_ms":1,"device":"server","type":"intervention_triggered","course":"field-safety","module":"primary-survey","reason":"missed the check twice","deadline_ms":1790100000000}"#;
        let event: Event = serde_json::from_str(old).unwrap();
        assert_eq!(event.kind, triggered(InterventionAction::Module));
        assert_eq!(serde_json::to_string(&event).unwrap(), old);
    }

    #[test]
    fn each_kind_round_trips_and_names_its_completing_step() {
        let actions = [
            InterventionAction::Coaching {
                manager: "mara".into(),
                template: CoachingTemplate {
                    id: "after-a-miss".into(),
                    title: "After a miss".into(),
                    prompts: vec!["a".into(), "b".into(), "c".into()],
                },
            },
            InterventionAction::Mentoring {
                mentor: "ana".into(),
                course: "field-safety".into(),
                skill: "primary-survey".into(),
            },
            InterventionAction::JobAid {
                course: "field-safety".into(),
                aid: "drsabcd-card".into(),
            },
        ];
        let steps = [
            InterventionStep::CoachingHeld,
            InterventionStep::MentoringAccepted,
            InterventionStep::JobAidOpened,
        ];
        for (action, step) in actions.into_iter().zip(steps) {
            let kind = triggered(action.clone());
            let json = serde_json::to_string(&kind).unwrap();
            assert!(json.contains(&format!("\"kind\":\"{}\"", action.kind().name())));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
            assert_eq!(action.completed_by(), Some(step));
            assert_eq!(step.kind(), action.kind());
        }
    }
}
