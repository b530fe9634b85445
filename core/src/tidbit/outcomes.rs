//! The learner's own engagement and experiments on the device: the home screen's numbers,
//! computed from the learner's events as the server computes them for the L&D team, and the
//! arm of an experiment, recorded the first time it matters.

use super::{Tidbit, TidbitError};
use crate::analytics::experiment::{assign, check_arms, Arm};
use crate::analytics::metrics::{summarise, HomeMetrics, LearnerSummary};
use crate::events::{EventKind, NudgeKind, NudgeWording, RetentionSetting};
use crate::store::event_log;

impl Tidbit {
    /// Everything the engagement metrics know of this learner, as of now.
    pub fn engagement(&self) -> Result<LearnerSummary, TidbitError> {
        let events = event_log::all_in_order(self.store.conn())?;
        let now = self.clock.now();
        summarise(
            &self.store,
            self.learner_id(),
            &events,
            now.timestamp_millis(),
        )
        .map_err(|e| TidbitError::Corrupt(e.to_string()))
    }

    /// The learner's home-screen numbers: active days in the last 7, 14 and 30 of their own
    /// days, minutes, modules completed and recall on reinforcement.
    pub fn home_metrics(&self) -> Result<HomeMetrics, TidbitError> {
        let today = self.local_date(self.clock.now());
        Ok(self.engagement()?.home(today))
    }

    /// The learner's arm of the experiment `id` with `arms` (a hash of the two ids, the same on
    /// every device and the server), recording their exposure the first time: call it where
    /// the arm first matters (the module opened, the nudge planned).
    pub fn expose(&mut self, id: &str, arms: &[Arm]) -> Result<String, TidbitError> {
        self.expose_with(id, arms, |_| Applies::Nothing)
    }

    /// [`Tidbit::expose`] for an experiment on the wording of `kind` nudges: each arm `gets`
    /// one of the kind's wordings ([`NudgeKind::wordings`]), and from the exposure on the nudge
    /// planner writes the learner's nudges of that kind in their arm's wording.
    pub fn expose_nudge_wording(
        &mut self,
        id: &str,
        kind: NudgeKind,
        arms: &[Arm],
    ) -> Result<String, TidbitError> {
        if let Some(arm) = arms
            .iter()
            .find(|a| !kind.wordings().contains(&a.gets.as_str()))
        {
            return Err(TidbitError::InvalidExperiment(format!(
                "arm '{}' gets '{}', which is not a wording of {} nudges ({})",
                arm.name,
                arm.gets,
                kind.name(),
                kind.wordings().join(", ")
            )));
        }
        self.expose_with(id, arms, |arm| {
            Applies::Wording(NudgeWording {
                kind,
                variant: arm.gets.clone(),
            })
        })
    }

    /// [`Tidbit::expose`] for an experiment on `course`'s desired retention: each arm `gets`
    /// a retention between 0.70 and 0.97 (as text, `0.85`), and from the exposure on the
    /// scheduler plans the learner's cards of the course for their arm's retention.
    pub fn expose_retention(
        &mut self,
        id: &str,
        course: &str,
        arms: &[Arm],
    ) -> Result<String, TidbitError> {
        let mut values = Vec::with_capacity(arms.len());
        for arm in arms {
            match arm.gets.trim().parse::<f64>() {
                Ok(r) if (RetentionSetting::MIN..=RetentionSetting::MAX).contains(&r) => {
                    values.push(r)
                }
                _ => {
                    return Err(TidbitError::InvalidExperiment(format!(
                        "arm '{}' gets '{}', which is not a desired retention from {} to {}",
                        arm.name,
                        arm.gets,
                        RetentionSetting::MIN,
                        RetentionSetting::MAX
                    )))
                }
            }
        }
        self.course(course)?;
        self.expose_with(id, arms, |arm| {
            let index = arms.iter().position(|a| a.name == arm.name).unwrap_or(0);
            Applies::Retention(RetentionSetting {
                course: course.to_string(),
                desired_retention: values[index],
            })
        })
    }

    fn expose_with(
        &mut self,
        id: &str,
        arms: &[Arm],
        applies: impl FnOnce(&Arm) -> Applies,
    ) -> Result<String, TidbitError> {
        check_arms(id, arms).map_err(|e| TidbitError::InvalidExperiment(e.to_string()))?;
        let arm = &arms[assign(id, self.learner_id(), arms)];
        let exposed = event_log::of_kinds(self.store.conn(), &["experiment_exposed"])?
            .into_iter()
            .any(|e| matches!(&e.kind, EventKind::ExperimentExposed { experiment, .. } if experiment == id));
        if !exposed {
            let (nudge_wording, retention) = match applies(arm) {
                Applies::Nothing => (None, None),
                Applies::Wording(wording) => (Some(wording), None),
                Applies::Retention(setting) => (None, Some(setting)),
            };
            self.record(EventKind::ExperimentExposed {
                experiment: id.to_string(),
                arm: arm.name.clone(),
                nudge_wording,
                retention,
            })?;
        }
        Ok(arm.name.clone())
    }
}

/// What an arm changes on the device.
enum Applies {
    Nothing,
    Wording(NudgeWording),
    Retention(RetentionSetting),
}
