//! The learner's side of their cohorts: reading a cohort's space and writing to it.
//!
//! A cohort's space reaches the device through sync (the server sends the space of every
//! cohort the learner is in). Every write here is checked against the space as this device
//! holds it before anything is stored, so a post to a cohort the learner is not in, feedback on
//! an answer that is not shared, or a hide the learner may not make is a typed error that
//! changes nothing. Sharing anything with the cohort needs the `community` consent scope;
//! taking something back (hiding one's own content, leaving, stepping out of the rota) never
//! does.

use crate::community::entry::{self, Entry, EntryKind, Reaction, SharedAnswer};
use crate::community::{self, rota, CohortSpace, CohortView};
use crate::content::items::Interaction;
use crate::content::model::StepBody;
use crate::events::EventKind;
use crate::nudge::CohortDuty;
use crate::privacy::consent::ConsentScope;
use crate::store::event_log;
use crate::sync::documents::{cohort_document, cohort_of};
use crate::sync::peer::Policy;

use super::{Tidbit, TidbitError};

/// Why a cohort call was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommunityError {
    #[error("this device holds no cohort '{0}': sync first; if it still is not listed, the learner is not in it")]
    UnknownCohort(String),
    #[error(
        "the learner is not a member of cohort '{0}' (they left, or were moved): nothing was sent"
    )]
    NotAMember(String),
    #[error("cohort '{cohort}' does not take this: {reason}")]
    Refused { cohort: String, reason: String },
    #[error("answer {0} is not one of this learner's recorded answers: share an answer from this device's history")]
    UnknownAnswer(String),
    #[error(
        "step '{step}' is a {kind} item: only reflections, scenarios and spoken answers are shared"
    )]
    NotShareable { step: String, kind: String },
    #[error("the shared answer does not match the item it answers: {0}")]
    AnswerMismatch(String),
    #[error("not a valid entry: {0}")]
    Invalid(String),
}

impl Tidbit {
    /// The cohorts the learner is a member of, as this device last synced them.
    pub fn cohorts(&mut self) -> Result<Vec<String>, TidbitError> {
        let mut cohorts = Vec::new();
        for (name, _) in event_log::document_heads(self.store.conn())? {
            if let Some(cohort) = cohort_of(&name) {
                let cohort = cohort.to_string();
                if self.space(&cohort)?.is_member(self.learner_id()) {
                    cohorts.push(cohort);
                }
            }
        }
        Ok(cohorts)
    }

    /// The space of `cohort` as this device holds it now: members, this week's rota, posts,
    /// shared answers with their feedback, open reports and metrics.
    pub fn cohort(&mut self, cohort: &str) -> Result<CohortView, TidbitError> {
        let entries = self.entries_of(cohort)?;
        Ok(CohortView::of(
            cohort,
            entries,
            self.now().timestamp_millis(),
        ))
    }

    /// Posts `text` to `cohort`, optionally about a module or a step; a summary is the
    /// summariser's round-up of the week. Returns the post's id.
    pub fn post_to_cohort(
        &mut self,
        cohort: &str,
        text: &str,
        module: Option<String>,
        step: Option<String>,
        summary: bool,
    ) -> Result<String, TidbitError> {
        self.write_entry(
            cohort,
            EntryKind::Post {
                text: text.to_string(),
                module,
                step,
                summary,
            },
        )
    }

    /// Shares the learner's answer `answer_event` (a reflection, a scenario or a spoken
    /// answer) with `cohort` for peers to rate against the item's criteria. `answer` is what
    /// the learner answered (the log keeps it only with the analytics scope); it must be the
    /// kind the item asks for. Returns the share's id.
    pub fn share_answer(
        &mut self,
        cohort: &str,
        answer_event: &str,
        answer: SharedAnswer,
    ) -> Result<String, TidbitError> {
        // Every event in this store is the learner's (from this device or their others).
        let event = event_log::by_id(self.store.conn(), answer_event)?
            .ok_or_else(|| CommunityError::UnknownAnswer(answer_event.into()))?;
        let EventKind::ItemAnswered { course, step, .. } = &event.kind else {
            return Err(CommunityError::UnknownAnswer(answer_event.into()).into());
        };
        let (_, loaded) = self.load_step(course, step)?;
        let StepBody::Item(item) = &loaded.body else {
            return Err(TidbitError::NotAnItem { step: step.clone() });
        };
        let criteria = shareable(step, item.interaction(), &answer)?;
        if let SharedAnswer::Voice { audio, bytes, .. } = &answer {
            // The recording must be the learner's own, kept here (it is uploaded from here).
            let kept = self.voice_audio(audio).map_err(|_| {
                CommunityError::AnswerMismatch(format!(
                    "no recording {audio} is kept on this device"
                ))
            })?;
            if kept.len() as u64 != *bytes {
                return Err(CommunityError::AnswerMismatch(format!(
                    "recording {audio} has {} bytes, not {bytes}",
                    kept.len()
                ))
                .into());
            }
        }
        self.write_entry(
            cohort,
            EntryKind::Share {
                course: course.clone(),
                step: step.clone(),
                answer_event: answer_event.to_string(),
                prompt: item.prompt().to_string(),
                criteria,
                answer,
            },
        )
    }

    /// Rates a peer's shared answer against its criteria (one verdict per criterion, in their
    /// order) with a comment. Returns the feedback's id.
    pub fn give_feedback(
        &mut self,
        cohort: &str,
        share: &str,
        criteria_met: Vec<bool>,
        comment: &str,
    ) -> Result<String, TidbitError> {
        self.write_entry(
            cohort,
            EntryKind::Feedback {
                share: share.to_string(),
                criteria_met,
                comment: comment.to_string(),
            },
        )
    }

    pub fn react(
        &mut self,
        cohort: &str,
        target: &str,
        reaction: Reaction,
    ) -> Result<String, TidbitError> {
        self.write_entry(
            cohort,
            EntryKind::Reaction {
                target: target.to_string(),
                reaction,
            },
        )
    }

    /// Hides a post, share or feedback from everyone: the learner's own, or, as the week's
    /// facilitator, anyone's.
    pub fn hide_in_cohort(
        &mut self,
        cohort: &str,
        target: &str,
        reason: &str,
    ) -> Result<String, TidbitError> {
        self.write_entry(
            cohort,
            EntryKind::Hide {
                target: target.to_string(),
                reason: reason.to_string(),
            },
        )
    }

    /// Asks the week's facilitator and the organisation to look at another member's entry.
    pub fn report_in_cohort(
        &mut self,
        cohort: &str,
        target: &str,
        reason: &str,
    ) -> Result<String, TidbitError> {
        self.write_entry(
            cohort,
            EntryKind::Report {
                target: target.to_string(),
                reason: reason.to_string(),
            },
        )
    }

    /// Takes the learner out of the role rota from next week (or back in).
    pub fn set_rota_availability(
        &mut self,
        cohort: &str,
        available: bool,
    ) -> Result<String, TidbitError> {
        self.write_entry(cohort, EntryKind::Availability { available })
    }

    /// Reports this week's duty `role` done.
    pub fn mark_duty_done(&mut self, cohort: &str, role: &str) -> Result<String, TidbitError> {
        let week = rota::week_of(self.now().timestamp_millis());
        self.write_entry(
            cohort,
            EntryKind::RoleDone {
                week,
                role: role.to_string(),
            },
        )
    }

    /// Leaves `cohort`: everything the learner shared there is withdrawn from every device
    /// at its next sync, and the server stops syncing the space to them.
    pub fn leave_cohort(&mut self, cohort: &str) -> Result<String, TidbitError> {
        self.write_entry(cohort, EntryKind::Leave {})
    }

    /// This week's duties waiting for the learner in their cohorts: as reviewer, each peer's
    /// shared answer they have not rated yet. None without the `community` scope.
    pub(super) fn cohort_duties(&mut self) -> Result<Vec<CohortDuty>, TidbitError> {
        if self.require_consent(ConsentScope::Community).is_err() {
            return Ok(Vec::new());
        }
        let me = self.learner_id().to_string();
        let mut duties = Vec::new();
        for cohort in self.cohorts()? {
            let view = self.cohort(&cohort)?;
            if view.rota.holder("reviewer") != Some(me.as_str()) {
                continue;
            }
            let until =
                chrono::DateTime::from_timestamp_millis(rota::week_start_ms(view.rota.week + 1))
                    .unwrap_or_default();
            for share in view.shares {
                if share.author != me && share.feedback.iter().all(|f| f.reviewer != me) {
                    duties.push(CohortDuty {
                        cohort: cohort.clone(),
                        role: "reviewer".into(),
                        share: share.id,
                        author: share.author,
                        prompt: share.prompt,
                        until,
                    });
                }
            }
        }
        Ok(duties)
    }

    /// Records, as `PeerRated` events, the peers' ratings of answers this device shared (in
    /// courses whose ratings count towards mastery: `peer_feedback_weight` above 0) that it has
    /// not recorded yet. Only the sharing device records a rating, so the learner's other
    /// devices never count it twice; the projections count each rating once besides. Returns
    /// how many were recorded.
    pub fn record_peer_ratings(&mut self) -> Result<u32, TidbitError> {
        let device = self.device_id().to_string();
        let recorded: std::collections::HashSet<(String, String)> =
            event_log::of_kinds(self.store.conn(), &["peer_rated"])?
                .into_iter()
                .filter_map(|e| match e.kind {
                    EventKind::PeerRated {
                        share, reviewer, ..
                    } => Some((share, reviewer)),
                    _ => None,
                })
                .collect();
        let mut ratings = Vec::new();
        for cohort in self.cohorts()? {
            let shared_here: std::collections::HashSet<String> = self
                .entries_of(&cohort)?
                .into_iter()
                .filter(|e| e.device == device && matches!(e.kind, EntryKind::Share { .. }))
                .map(|e| e.id)
                .collect();
            for share in self.cohort(&cohort)?.shares {
                if !shared_here.contains(&share.id) || share.criteria.is_empty() {
                    continue;
                }
                let weight: f64 = self
                    .store
                    .conn()
                    .query_row(
                        "SELECT peer_feedback_weight FROM courses INDEXED BY course_settings WHERE id = ?1",
                        [&share.course],
                        |r| r.get(0),
                    )
                    .unwrap_or(0.0);
                if weight <= 0.0 {
                    continue;
                }
                for feedback in share.feedback {
                    let key = (share.id.clone(), feedback.reviewer.clone());
                    if recorded.contains(&key) || feedback.criteria_met.is_empty() {
                        continue;
                    }
                    let met = feedback.criteria_met.iter().filter(|m| **m).count();
                    ratings.push(EventKind::PeerRated {
                        course: share.course.clone(),
                        step: share.step.clone(),
                        cohort: cohort.clone(),
                        share: share.id.clone(),
                        feedback: feedback.id,
                        reviewer: feedback.reviewer,
                        credit: met as f64 / feedback.criteria_met.len() as f64,
                    });
                }
            }
        }
        let count = ratings.len() as u32;
        for rating in ratings {
            self.record(rating)?;
        }
        Ok(count)
    }

    /// Tells each of the learner's cohorts on which of the last 7 days they practised (answered
    /// anything), once per day: the cohort sees who practised, never how much. Needs the
    /// `community` scope; without it, nothing is written. Returns the days recorded.
    pub fn record_practice_days(&mut self) -> Result<u32, TidbitError> {
        if self.require_consent(ConsentScope::Community).is_err() {
            return Ok(0);
        }
        let now = self.now();
        let since = now.timestamp_millis() - 7 * rota::DAY_MS;
        let mut days: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
        for event in event_log::of_kinds(self.store.conn(), &["item_answered"])? {
            if event.at_ms >= since && event.at_ms <= now.timestamp_millis() {
                let day = self
                    .local_date(chrono::DateTime::from_timestamp_millis(event.at_ms).unwrap_or(now))
                    .signed_duration_since(chrono::NaiveDate::default())
                    .num_days();
                let latest = days.entry(day).or_insert(event.at_ms);
                *latest = (*latest).max(event.at_ms);
            }
        }
        let mut written = 0;
        for cohort in self.cohorts()? {
            let space = self.space(&cohort)?;
            for (&day, &at_ms) in &days {
                let recorded = space.accepted.iter().any(|e| {
                    e.author == self.learner_id()
                        && matches!(e.kind, EntryKind::Practised { day: d } if d == day)
                });
                if !recorded {
                    self.append_entry(&cohort, at_ms, EntryKind::Practised { day })?;
                    written += 1;
                }
            }
        }
        Ok(written)
    }

    /// The entries of `cohort`'s space that pass the field checks.
    pub(super) fn entries_of(&mut self, cohort: &str) -> Result<Vec<Entry>, TidbitError> {
        let name = cohort_document(cohort);
        let held = event_log::document_heads(self.store.conn())?
            .iter()
            .any(|(stored, _)| *stored == name);
        if !held || !crate::sync::documents::valid_cohort_id(cohort) {
            return Err(CommunityError::UnknownCohort(cohort.chars().take(64).collect()).into());
        }
        let doc = self.log.documents().document(self.store.conn(), &name)?;
        let (entries, _refused) =
            community::entries(doc, &name).map_err(crate::sync::local::LocalError::from)?;
        Ok(entries)
    }

    fn space(&mut self, cohort: &str) -> Result<CohortSpace, TidbitError> {
        let entries = self.entries_of(cohort)?;
        Ok(CohortSpace::fold(cohort, entries))
    }

    /// Writes `kind` to `cohort` now, if the space as this device holds it takes it.
    fn write_entry(&mut self, cohort: &str, kind: EntryKind) -> Result<String, TidbitError> {
        let takes_back = matches!(
            kind,
            EntryKind::Hide { .. } | EntryKind::Leave {} | EntryKind::Availability { .. }
        );
        if !takes_back {
            self.require_consent(ConsentScope::Community)?;
        }
        let at_ms = self.now().timestamp_millis();
        self.append_entry(cohort, at_ms, kind)
    }

    fn append_entry(
        &mut self,
        cohort: &str,
        at_ms: i64,
        kind: EntryKind,
    ) -> Result<String, TidbitError> {
        let mut space = self.space(cohort)?;
        if !space.is_member(self.learner_id()) {
            return Err(CommunityError::NotAMember(cohort.into()).into());
        }
        // An entry about another comes after it, whatever this device's clock says (another
        // device's may be ahead): every device folds it after its target.
        let at_ms = match kind.target().and_then(|target| space.entry(target)) {
            Some(target) => at_ms.max(target.at_ms.saturating_add(1)),
            None => at_ms,
        };
        // Leaving comes after everything the learner wrote there, so it withdraws all of it.
        let at_ms = match kind {
            EntryKind::Leave {} => space
                .accepted
                .iter()
                .filter(|e| e.author == self.learner_id())
                .map(|e| e.at_ms.saturating_add(1))
                .fold(at_ms, i64::max),
            _ => at_ms,
        };
        let author = self.learner_id().to_string();
        let device = self.device_id().to_string();
        let documents = self.log.documents();
        let sequence = documents.next_entry_sequence();
        let incarnation = documents.incarnation().to_string();
        let entry = Entry {
            id: Entry::make_id(&author, &device, &incarnation, sequence),
            author,
            device,
            incarnation,
            sequence,
            at_ms,
            kind,
        };
        entry::check_entry(&entry, &Policy::device(), None)
            .map_err(|e| CommunityError::Invalid(e.to_string()))?;
        space
            .admits(&entry)
            .map_err(|misfit| CommunityError::Refused {
                cohort: cohort.into(),
                reason: misfit.reason,
            })?;
        let name = cohort_document(cohort);
        let tx = self.store.conn_mut().transaction()?;
        let written = self
            .log
            .documents()
            .append_element(&tx, &name, entry.encode(), at_ms)
            .map_err(TidbitError::from)
            .and_then(|()| Ok(tx.commit()?));
        if let Err(error) = written {
            self.log.documents().forget(&name);
            return Err(error);
        }
        Ok(entry.id)
    }
}

/// The criteria a share of `answer` to `interaction` is rated against, if it can be shared.
fn shareable(
    step: &str,
    interaction: &Interaction,
    answer: &SharedAnswer,
) -> Result<Vec<String>, CommunityError> {
    match (interaction, answer) {
        (Interaction::Reflection { criteria }, SharedAnswer::Reflection { .. }) => {
            Ok(criteria.clone())
        }
        (Interaction::Scenario { nodes, .. }, SharedAnswer::Scenario { choices }) => {
            let offered = |text: &String| {
                nodes
                    .iter()
                    .any(|n| n.choices.iter().any(|c| &c.text == text))
            };
            match choices.iter().find(|c| !offered(c)) {
                Some(unknown) => Err(CommunityError::AnswerMismatch(format!(
                    "'{unknown}' is not a choice of this scenario"
                ))),
                None => Ok(Vec::new()),
            }
        }
        (
            Interaction::Voice {
                criteria,
                max_seconds,
            },
            SharedAnswer::Voice { duration_ms, .. },
        ) => {
            if *duration_ms > max_seconds.saturating_mul(1000) {
                return Err(CommunityError::AnswerMismatch(format!(
                    "the recording lasts {duration_ms} ms; this item takes {max_seconds} s"
                )));
            }
            Ok(criteria.clone())
        }
        (
            Interaction::Reflection { .. }
            | Interaction::Scenario { .. }
            | Interaction::Voice { .. },
            _,
        ) => Err(CommunityError::AnswerMismatch(format!(
            "step '{step}' is a {} item",
            interaction.kind().label()
        ))),
        (other, _) => Err(CommunityError::NotShareable {
            step: step.into(),
            kind: other.kind().label().into(),
        }),
    }
}
