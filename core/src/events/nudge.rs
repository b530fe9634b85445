//! What a nudge was and what became of it, as `NudgeOutcomeRecorded` events carry them: part of
//! the event log's format; the planner that reads them lives in `nudge`.

use serde::{Deserialize, Serialize};

/// What a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum NudgeKind {
    /// An intervention the L&D team triggered, to be shown before its deadline.
    Intervention,
    /// Items of a finished module come back: a follow-up challenge a few days later.
    ModuleFollowUp,
    /// Reinforcement is due, batched: "5 items due, about 2 minutes".
    ReinforcementDue,
    /// The evening of a day with no activity yet, while a streak runs.
    StreakAtRisk,
    /// A prompt shared by a cohort (reserved: nothing plans these yet).
    CohortPrompt,
}

impl NudgeKind {
    pub fn name(self) -> &'static str {
        match self {
            NudgeKind::Intervention => "intervention",
            NudgeKind::ModuleFollowUp => "module_follow_up",
            NudgeKind::ReinforcementDue => "reinforcement_due",
            NudgeKind::StreakAtRisk => "streak_at_risk",
            NudgeKind::CohortPrompt => "cohort_prompt",
        }
    }
}

/// What became of a nudge, as the app reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum NudgeOutcome {
    /// Handed to the operating system.
    Scheduled,
    /// Shown to the learner.
    Delivered,
    /// Tapped.
    Opened,
    /// Swiped away.
    Dismissed,
    /// Shown and left alone (the planner also counts a delivered nudge left alone for
    /// [`crate::nudge::fatigue::IGNORED_AFTER_HOURS`] as ignored).
    Ignored,
    /// An intervention that could not be shown before its deadline.
    Missed,
}
