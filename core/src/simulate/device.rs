//! A device in a learner's hand for a while: it follows the engine's recommendations for a
//! number of minutes, answering each item right with a given probability, on a manual clock.
//!
//! The sync demo and the multi-device tests drive devices with it. Like the simulator, it only
//! calls the facade; unlike the simulator it models no memory, just a seeded coin per answer.

use std::collections::HashMap;

use chrono::Duration;

use super::answers::answer_through;
use super::memory::SplitMix64;
use crate::content::items::Item;
use crate::content::model::StepBody;
use crate::events::{Clock, ManualClock};
use crate::learn::plan::{PlannedStep, Purpose};
use crate::learn::recommend::Activity;
use crate::tidbit::{Tidbit, TidbitError};

/// What one session did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionTally {
    pub answers: u32,
    pub right: u32,
    pub lessons: u32,
    pub modules_started: u32,
}

/// A seeded learner working on one device.
pub struct PracticeDevice {
    items: HashMap<String, Item>,
    coin: SplitMix64,
    right_share: f64,
}

impl PracticeDevice {
    /// A learner for the courses installed in `tidbit`, answering right with `right_share`.
    pub fn new(
        tidbit: &Tidbit,
        seed: u64,
        right_share: f64,
    ) -> Result<PracticeDevice, TidbitError> {
        let mut items = HashMap::new();
        for summary in tidbit.store().catalog()? {
            let course = tidbit.store().load_course(&summary.id)?;
            for step in course.modules.into_iter().flat_map(|m| m.steps) {
                if let StepBody::Item(item) = step.body {
                    items.insert(step.id, item);
                }
            }
        }
        Ok(PracticeDevice {
            items,
            coin: SplitMix64::stream(seed, "device", 0),
            right_share,
        })
    }

    /// Follows the engine for `minutes` of `clock` time.
    pub fn practise(
        &mut self,
        tidbit: &mut Tidbit,
        clock: &ManualClock,
        minutes: u32,
    ) -> Result<SessionTally, TidbitError> {
        let mut tally = SessionTally::default();
        let deadline = clock.now() + Duration::minutes(i64::from(minutes));
        while clock.now() < deadline {
            let steps: Vec<PlannedStep> = match tidbit.next_activity()?.activity {
                Activity::Remediation { plan, .. } => plan.steps,
                Activity::Reinforcement { plan, .. } | Activity::Booster { plan, .. } => plan
                    .steps
                    .into_iter()
                    .filter(|s| s.purpose == Purpose::Reinforcement)
                    .collect(),
                Activity::Module { course, module, .. } => {
                    tidbit.start_module(&course, &module)?;
                    tally.modules_started += 1;
                    tidbit
                        .plan_session(minutes)?
                        .steps
                        .into_iter()
                        .filter(|s| s.course == course && s.module == module)
                        .collect()
                }
                Activity::PathComplete { .. }
                | Activity::GoalPaced { .. }
                | Activity::Enroll { .. }
                | Activity::NothingInstalled => Vec::new(),
            };
            if steps.is_empty() {
                break;
            }
            for step in steps {
                if clock.now() >= deadline {
                    break;
                }
                match self.items.get(&step.step) {
                    Some(item) => {
                        let right = self.coin.unit() < self.right_share;
                        let response_ms = 3_000 + (self.coin.unit() * 9_000.0) as u32;
                        clock.advance(Duration::milliseconds(i64::from(response_ms)));
                        answer_through(tidbit, &step.course, &step.step, item, right, response_ms)?;
                        tally.answers += 1;
                        tally.right += u32::from(right);
                    }
                    None => {
                        clock.advance(Duration::seconds(i64::from(step.estimated_seconds.max(5))));
                        tidbit.view_step(&step.course, &step.step)?;
                        tally.lessons += 1;
                    }
                }
            }
        }
        Ok(tally)
    }
}
