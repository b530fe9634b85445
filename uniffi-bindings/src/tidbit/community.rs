//! Learning together: the learner's cohorts, read and written through the core
//! (`tidbit_core::tidbit::Tidbit`'s community calls, `tidbit_core::community`).
//!
//! A cohort's space reaches the device with `sync` (the server sends the space of every cohort
//! the learner is in), and what the learner writes here leaves with the next `sync`. Every
//! write is checked by the core against the space as this device holds it: what the space does
//! not take fails with `Community` and writes nothing. Sharing (posts, answers, feedback,
//! reactions, reports, duties, practice days) needs the `community` consent scope
//! (`ConsentRequired` without it); taking something back (hiding one's own entry, stepping out
//! of the rota, leaving) never does. Each write returns the new entry's id.
//!
//! A spoken answer shared with a cohort travels beside its space: `sync` uploads the learner's
//! recordings (resuming a cut upload), and a peer fetches one with `fetch_shared_audio` when
//! they open the share; like `sync` it runs on the core's runtime and is cancellable.

use std::sync::Arc;

use tidbit_core::tidbit::sync_client::SyncOptions;

use super::{guarded, Tidbit};
use crate::cancellation::{run_cancellable, Cancellation};
use crate::error::TidbitError;
use crate::records::{CohortView, Reaction, SharedAnswer};

#[uniffi::export]
impl Tidbit {
    /// The ids of the cohorts the learner is a member of, as this device last synced them.
    pub fn cohorts(&self) -> Result<Vec<String>, TidbitError> {
        self.session.run("cohorts", |core| Ok(core.cohorts()?))
    }

    /// The space of `cohort` now: its members, this week's rota, the visible posts, shared
    /// answers with their feedback, open reports, metrics, and the entries left out (and why).
    pub fn cohort(&self, cohort: String) -> Result<CohortView, TidbitError> {
        self.session.run("cohort", |core| Ok(core.cohort(&cohort)?))
    }

    /// Posts `text` to `cohort`, optionally about a `module` or a `step`; a `summary` is the
    /// summariser's round-up of the week. Returns the post's id.
    #[uniffi::method(default(module = None, step = None, summary = false))]
    pub fn post_to_cohort(
        &self,
        cohort: String,
        text: String,
        module: Option<String>,
        step: Option<String>,
        summary: bool,
    ) -> Result<String, TidbitError> {
        self.session.run("post_to_cohort", |core| {
            Ok(core.post_to_cohort(&cohort, &text, module, step, summary)?)
        })
    }

    /// Shares the learner's answer `answer_event` (a reflection, a scenario or a spoken answer;
    /// `Feedback.answer_event` of the answer) with `cohort`, for peers to rate against the
    /// item's criteria. `answer` is what the learner answered, of the kind the item asks for.
    /// Returns the share's id.
    pub fn share_answer(
        &self,
        cohort: String,
        answer_event: String,
        answer: SharedAnswer,
    ) -> Result<String, TidbitError> {
        self.session.run("share_answer", |core| {
            Ok(core.share_answer(&cohort, &answer_event, answer)?)
        })
    }

    /// Rates a peer's shared answer `share` against its criteria (one verdict per criterion,
    /// in their order) with a comment; rating again replaces the reviewer's earlier rating.
    /// Returns the feedback's id.
    pub fn give_feedback(
        &self,
        cohort: String,
        share: String,
        criteria_met: Vec<bool>,
        comment: String,
    ) -> Result<String, TidbitError> {
        self.session.run("give_feedback", |core| {
            Ok(core.give_feedback(&cohort, &share, criteria_met, &comment)?)
        })
    }

    /// Leaves `reaction` on a post, a share or feedback (once per kind). Returns its id.
    pub fn react(
        &self,
        cohort: String,
        target: String,
        reaction: Reaction,
    ) -> Result<String, TidbitError> {
        self.session
            .run("react", |core| Ok(core.react(&cohort, &target, reaction)?))
    }

    /// Hides a post, share or feedback from every member: the learner's own, or, as the week's
    /// facilitator, anyone's. Returns the hide's id.
    pub fn hide_in_cohort(
        &self,
        cohort: String,
        target: String,
        reason: String,
    ) -> Result<String, TidbitError> {
        self.session.run("hide_in_cohort", |core| {
            Ok(core.hide_in_cohort(&cohort, &target, &reason)?)
        })
    }

    /// Asks the week's facilitator and the organisation to look at another member's entry.
    /// Returns the report's id.
    pub fn report_in_cohort(
        &self,
        cohort: String,
        target: String,
        reason: String,
    ) -> Result<String, TidbitError> {
        self.session.run("report_in_cohort", |core| {
            Ok(core.report_in_cohort(&cohort, &target, &reason)?)
        })
    }

    /// Takes the learner out of the role rota from next week (`available` false), or back in.
    pub fn set_rota_availability(
        &self,
        cohort: String,
        available: bool,
    ) -> Result<String, TidbitError> {
        self.session.run("set_rota_availability", |core| {
            Ok(core.set_rota_availability(&cohort, available)?)
        })
    }

    /// Reports this week's duty `role` (one the learner holds in `cohort(..).rota`) done.
    pub fn mark_duty_done(&self, cohort: String, role: String) -> Result<String, TidbitError> {
        self.session.run("mark_duty_done", |core| {
            Ok(core.mark_duty_done(&cohort, &role)?)
        })
    }

    /// Leaves `cohort`: what the learner shared there is withdrawn from every device at its
    /// next sync, and the server stops syncing the space to them.
    pub fn leave_cohort(&self, cohort: String) -> Result<String, TidbitError> {
        self.session
            .run("leave_cohort", |core| Ok(core.leave_cohort(&cohort)?))
    }

    /// The recording `audio` (its SHA-256, as `SharedAnswer::Voice` names it) that a member of
    /// `cohort` shared: kept on this device already, or fetched from the server at
    /// `server_url` with this device's `token`, checked against its name and kept sealed.
    /// Needs the `community` scope; a recording no member of the cohort shared is `Community`.
    /// Cancelling the call or `cancellation` stops it at its next network wait.
    #[uniffi::method(default(cancellation = None))]
    pub async fn fetch_shared_audio(
        &self,
        server_url: String,
        token: String,
        cohort: String,
        audio: String,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Result<Vec<u8>, TidbitError> {
        let session = Arc::clone(&self.session);
        let options = SyncOptions::new(&server_url, &token);
        let work = async move {
            let core = guarded("fetch_shared_audio", || {
                let core = session.core()?;
                drop(session.lock(&core)?);
                Ok(core)
            })?;
            let result =
                tidbit_core::tidbit::fetch_shared_audio(&core, &options, &cohort, &audio).await;
            let result = result.map_err(TidbitError::from);
            if let Err(error) = &result {
                tracing::warn!(operation = "fetch_shared_audio", %error, "call failed");
            }
            result
        };
        run_cancellable("fetch_shared_audio", work, cancellation).await
    }

    /// Tells each of the learner's cohorts on which of the last 7 days they practised, once
    /// per day (never how much). Without the `community` scope nothing is written. Returns the
    /// days recorded now.
    pub fn record_practice_days(&self) -> Result<u32, TidbitError> {
        self.session.run("record_practice_days", |core| {
            Ok(core.record_practice_days()?)
        })
    }
}
