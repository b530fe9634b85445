//! The facade's intervention calls: the interventions the learner's log holds, with what each
//! asks and where it stands; the steps that complete the kinds beyond modules (opening a job
//! aid, accepting a mentoring pairing); the requests to mentor a peer.
//!
//! A module intervention is done when its module is completed after it; the other kinds when
//! the step their kind names is recorded ([`InterventionAction::completed_by`]). A coaching
//! conversation is marked held by the server (the manager says so there), never here.

use serde::{Deserialize, Serialize};

use super::{Tidbit, TidbitError};
use crate::content::JobAid;
use crate::events::{
    Event, EventKind, InterventionAction, InterventionKind, InterventionStep, MentoringInvitation,
};
use crate::learn::projection::read;
use crate::privacy::consent::ConsentScope;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterventionError {
    #[error(
        "no intervention '{0}' reached this device: sync, then pick one that interventions() lists"
    )]
    Unknown(String),
    #[error("intervention '{intervention}' asks for {kind}: '{step}' is a step of another kind")]
    WrongStep {
        intervention: String,
        kind: &'static str,
        step: &'static str,
    },
    #[error("'{0}' is recorded by the server when the manager marks the conversation held, not by a device")]
    ServerStep(&'static str),
    #[error("course '{course}' has no job aid '{aid}': install or update the course, or pick one job_aids() lists")]
    UnknownJobAid { course: String, aid: String },
}

/// One intervention as the learner's device sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct InterventionView {
    /// The id of the event that carried it.
    pub id: String,
    pub kind: InterventionKind,
    pub action: InterventionAction,
    pub course: Option<String>,
    pub module: String,
    pub reason: String,
    pub triggered_ms: i64,
    pub deadline_ms: i64,
    /// When it was done (its module completed, or its kind's completing step recorded).
    pub done_ms: Option<i64>,
    /// Steps taken so far, in the log's order.
    pub steps: Vec<InterventionStep>,
    /// A coaching intervention the manager sees now (the learner gives the `coaching` scope);
    /// false for every other kind.
    pub shared_with_manager: bool,
}

/// True when the log holds `step` for `intervention`.
pub(super) fn step_taken(events: &[Event], intervention: &str, step: InterventionStep) -> bool {
    events.iter().any(|e| {
        matches!(&e.kind, EventKind::InterventionProgressed { intervention: i, step: s }
            if i == intervention && *s == step)
    })
}

impl Tidbit {
    /// Every intervention the log holds, oldest first (one a work-context signal triggered only
    /// with the `signals` scope, as the planner acts on it).
    pub fn interventions(&self) -> Result<Vec<InterventionView>, TidbitError> {
        let events = self.nudge_events()?;
        let consents = self.consent_gate()?;
        let mut out = Vec::new();
        for event in &events {
            let EventKind::InterventionTriggered {
                course,
                module,
                reason,
                deadline_ms,
                signal,
                action,
            } = &event.kind
            else {
                continue;
            };
            if signal.is_some() && !consents.is_granted(ConsentScope::Signals) {
                continue;
            }
            let progressed: Vec<(InterventionStep, i64)> = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::InterventionProgressed { intervention, step }
                        if *intervention == event.id =>
                    {
                        Some((*step, e.at_ms))
                    }
                    _ => None,
                })
                .collect();
            let done_ms = match action.completed_by() {
                Some(done) => progressed
                    .iter()
                    .find(|(step, _)| *step == done)
                    .map(|(_, at)| *at),
                None => read::modules_completed_since(self.store.conn(), event.at_ms)?
                    .into_iter()
                    .find(|m| m.module == *module && course.as_ref().is_none_or(|c| *c == m.course))
                    .map(|m| m.completed_at.timestamp_millis()),
            };
            out.push(InterventionView {
                id: event.id.clone(),
                kind: action.kind(),
                action: action.clone(),
                course: course.clone(),
                module: module.clone(),
                reason: reason.clone(),
                triggered_ms: event.at_ms,
                deadline_ms: *deadline_ms,
                done_ms,
                steps: progressed.into_iter().map(|(step, _)| step).collect(),
                shared_with_manager: matches!(action, InterventionAction::Coaching { .. })
                    && consents.is_granted(ConsentScope::Coaching),
            });
        }
        Ok(out)
    }

    /// The job aids of an installed course.
    pub fn job_aids(&self, course: &str) -> Result<Vec<JobAid>, TidbitError> {
        Ok(self.store.job_aids(course)?)
    }

    /// Opens job aid `aid` of `course`: returns the card, and records it opened for every job
    /// aid intervention naming it that is not done yet (that completes them).
    pub fn job_aid(&mut self, course: &str, aid: &str) -> Result<JobAid, TidbitError> {
        let card = self
            .job_aids(course)?
            .into_iter()
            .find(|a| a.id == aid)
            .ok_or_else(|| InterventionError::UnknownJobAid {
                course: course.into(),
                aid: aid.into(),
            })?;
        let open: Vec<String> = self
            .interventions()?
            .into_iter()
            .filter(|i| {
                i.done_ms.is_none()
                    && matches!(&i.action, InterventionAction::JobAid { course: c, aid: a }
                        if c == course && a == aid)
            })
            .map(|i| i.id)
            .collect();
        for intervention in open {
            self.record(EventKind::InterventionProgressed {
                intervention,
                step: InterventionStep::JobAidOpened,
            })?;
        }
        Ok(card)
    }

    /// The learner accepts the mentoring pairing of `intervention` (that completes it).
    pub fn accept_mentoring(&mut self, intervention: &str) -> Result<(), TidbitError> {
        self.record_intervention_step(intervention, InterventionStep::MentoringAccepted)
    }

    /// Records `step` of `intervention` (a job aid opened, a mentoring pairing accepted or
    /// held). A step already recorded is not recorded again; a step of another kind, or one
    /// only the server records, is refused and nothing is written.
    pub fn record_intervention_step(
        &mut self,
        intervention: &str,
        step: InterventionStep,
    ) -> Result<(), TidbitError> {
        if step.is_from_server() {
            return Err(InterventionError::ServerStep(step.name()).into());
        }
        let found = self
            .interventions()?
            .into_iter()
            .find(|i| i.id == intervention)
            .ok_or_else(|| InterventionError::Unknown(intervention.chars().take(64).collect()))?;
        if found.kind != step.kind() {
            return Err(InterventionError::WrongStep {
                intervention: found.id,
                kind: found.kind.name(),
                step: step.name(),
            }
            .into());
        }
        if !found.steps.contains(&step) {
            self.record(EventKind::InterventionProgressed {
                intervention: found.id,
                step,
            })?;
        }
        Ok(())
    }

    /// The peers the server asked this learner to mentor, oldest first.
    pub fn mentoring_invitations(&self) -> Result<Vec<MentoringInvitation>, TidbitError> {
        Ok(self
            .nudge_events()?
            .iter()
            .filter_map(MentoringInvitation::of)
            .collect())
    }
}
