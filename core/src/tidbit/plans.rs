//! The facade's plans: the next activity, a paced session, a skill's refresher, a module's
//! booster, and the due counts, each read from the projections at the clock's time, through the
//! memo of what they read again and again ([`crate::learn::memo`]).

use std::sync::MutexGuard;

use rusqlite::TransactionBehavior;

use super::decided::{DecisionRow, MAX_WAITING};
use super::{Tidbit, TidbitError};
use crate::learn::memo::{Memo, Reads};
use crate::learn::plan::{self, DueCounts, SessionPlan};
use crate::learn::projection::Applied;
use crate::learn::recommend::{self, Recommendation};

impl Tidbit {
    /// The next best activity with its reason; the decision and its inputs are recorded (with
    /// the learner's next event: see [`super::decided`]).
    pub fn next_activity(&mut self) -> Result<Recommendation, TidbitError> {
        let conn = self.store.conn();
        // The reads see one state of the store.
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
        let now_ms = self.now().timestamp_millis();
        let pacing = self.pacing()?;
        let memo = self.memo_for(now_ms)?;
        let recommendation = recommend::next_activity(
            Reads {
                conn,
                memo: memo.as_ref(),
            },
            self.schedulers.scheduler(),
            now_ms,
            &pacing,
        )?;
        tx.commit()?;
        drop(memo);
        let output = serde_json::to_string(&recommendation.activity)
            .map_err(|e| TidbitError::Corrupt(e.to_string()))?;
        let waiting = self.decided.push(DecisionRow {
            at_ms: now_ms,
            kind: "next_activity".into(),
            reason: recommendation.reason.clone(),
            inputs: recommendation.inputs.to_string(),
            output,
        });
        if waiting >= MAX_WAITING {
            self.write_waiting_decisions()?;
        }
        Ok(recommendation)
    }

    /// A plan for `minutes`, goals paced (see [`plan::plan_session`]).
    pub fn plan_session(&self, minutes: u32) -> Result<SessionPlan, TidbitError> {
        let pacing = self.pacing()?;
        let now_ms = self.now().timestamp_millis();
        let memo = self.memo_for(now_ms)?;
        Ok(plan::plan_session_in(
            Reads {
                conn: self.store.conn(),
                memo: memo.as_ref(),
            },
            self.schedulers.scheduler(),
            now_ms,
            minutes.saturating_mul(60),
            &pacing,
        )?)
    }

    /// The highest-value items for one skill, in about two minutes.
    pub fn refresher(&self, course: &str, skill: &str) -> Result<SessionPlan, TidbitError> {
        Ok(plan::plan_refresher(
            self.store.conn(),
            self.schedulers.scheduler(),
            self.now().timestamp_millis(),
            course,
            skill,
            120,
        )?)
    }

    /// A finished module's due follow-ups as a two-minute booster.
    pub fn booster(&self, course: &str, module: &str) -> Result<SessionPlan, TidbitError> {
        Ok(plan::plan_booster(
            self.store.conn(),
            self.schedulers.scheduler(),
            self.now().timestamp_millis(),
            course,
            module,
            120,
        )?)
    }

    pub fn due_counts(&self) -> Result<DueCounts, TidbitError> {
        let now = self.now();
        let end_of_day_ms = self.end_of_local_day_ms(now);
        let memo = self.memo_for(end_of_day_ms)?;
        Ok(Reads {
            conn: self.store.conn(),
            memo: memo.as_ref(),
        }
        .due_counts(now.timestamp_millis(), end_of_day_ms)?)
    }

    /// The memo, in step with the store and holding every card due by `until_ms`: the one kept
    /// when it still is, a new one read when not.
    fn memo_for(&self, until_ms: i64) -> Result<MutexGuard<'_, Option<Memo>>, TidbitError> {
        let mut memo = self
            .memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let conn = self.store.conn();
        let serves = match memo.as_ref() {
            Some(kept) => kept.serves(conn, until_ms)?,
            None => false,
        };
        if !serves {
            let horizon_ms = self.end_of_local_day_ms(self.now()).max(until_ms);
            *memo = Some(Memo::build(conn, horizon_ms)?);
        }
        Ok(memo)
    }

    /// Before an answer: whether the memo is in step with the store (if not, it is dropped).
    pub(super) fn memo_in_step(&self) -> Result<bool, TidbitError> {
        let mut memo = self
            .memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let in_step = match memo.as_ref() {
            Some(kept) => kept.in_step(self.store.conn())?,
            None => false,
        };
        if !in_step {
            *memo = None;
        }
        Ok(in_step)
    }

    /// After an answer committed on this connection: the memo follows it when it was in step
    /// before and the answer changed only its card; otherwise it is dropped.
    pub(super) fn memo_after_answer(
        &self,
        in_step: bool,
        course: &str,
        step: &str,
        applied: &Applied,
    ) -> Result<(), TidbitError> {
        let mut memo = self
            .memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let follows = match memo.as_mut() {
            Some(kept) if in_step => kept.after_answer(self.store.conn(), course, step, applied)?,
            _ => false,
        };
        if !follows {
            *memo = None;
        }
        Ok(())
    }

    /// After this connection wrote rows the memo does not read: the memo stays when nothing
    /// else wrote meanwhile.
    pub(super) fn memo_follows_own_write(&self) -> Result<(), TidbitError> {
        let mut memo = self
            .memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(kept) = memo.as_mut() {
            if !kept.follow_own_write(self.store.conn())? {
                *memo = None;
            }
        }
        Ok(())
    }

    /// Drops the memo (after writes that change what it holds).
    pub(super) fn forget_memo(&self) {
        *self
            .memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}
