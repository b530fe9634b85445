//! Interventions across the FFI: every intervention the learner's log holds with its kind
//! (a module, a coaching conversation with the manager, a mentoring pairing, a job aid), the
//! job aids of a course, opening one (which completes the job aid interventions naming it),
//! accepting a mentoring pairing, and the peers the learner is asked to mentor. Thin: the core
//! decides (`tidbit_core::tidbit::Tidbit::interventions` and the calls beside it); refusals
//! arrive as `UnknownContent` (no such intervention or job aid) or `InvalidRequest` (a step of
//! another kind, or one only the server records) and store nothing.

use super::Tidbit;
use crate::error::TidbitError;
use crate::records::{InterventionStep, InterventionView, JobAid, MentoringInvitation};

#[uniffi::export]
impl Tidbit {
    /// Every intervention that reached this device, oldest first, with where it stands.
    pub fn interventions(&self) -> Result<Vec<InterventionView>, TidbitError> {
        self.session
            .run("interventions", |core| Ok(core.interventions()?))
    }

    /// The job aids (one-screen reference cards) of an installed course.
    pub fn job_aids(&self, course: String) -> Result<Vec<JobAid>, TidbitError> {
        self.session
            .run("job_aids", |core| Ok(core.job_aids(&course)?))
    }

    /// Opens job aid `aid` of `course` for the learner to read; records it opened for the job
    /// aid interventions naming it (that completes them).
    pub fn job_aid(&self, course: String, aid: String) -> Result<JobAid, TidbitError> {
        self.session
            .run("job_aid", |core| Ok(core.job_aid(&course, &aid)?))
    }

    /// The learner accepts the mentoring pairing of `intervention` (that completes it).
    pub fn accept_mentoring(&self, intervention: String) -> Result<(), TidbitError> {
        self.session.run("accept_mentoring", |core| {
            Ok(core.accept_mentoring(&intervention)?)
        })
    }

    /// Records `step` of `intervention` (a mentoring pairing held, say); a step already
    /// recorded is not recorded twice.
    pub fn record_intervention_step(
        &self,
        intervention: String,
        step: InterventionStep,
    ) -> Result<(), TidbitError> {
        self.session.run("record_intervention_step", |core| {
            Ok(core.record_intervention_step(&intervention, step)?)
        })
    }

    /// The peers the server asked this learner to mentor, oldest first.
    pub fn mentoring_invitations(&self) -> Result<Vec<MentoringInvitation>, TidbitError> {
        self.session.run("mentoring_invitations", |core| {
            Ok(core.mentoring_invitations()?)
        })
    }
}
