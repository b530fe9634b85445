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
    /// The wordings (message variants) nudges of this kind are written in; the planner picks
    /// one (learning which the learner opens), unless an experiment assigned one.
    pub fn wordings(self) -> &'static [&'static str] {
        match self {
            NudgeKind::ReinforcementDue => &["count", "minutes"],
            NudgeKind::ModuleFollowUp => &["challenge", "recall"],
            NudgeKind::StreakAtRisk => &["streak", "one_card"],
            NudgeKind::Intervention | NudgeKind::CohortPrompt => &["direct"],
        }
    }

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

/// The wording an experiment's arm gives nudges of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NudgeWording {
    pub kind: NudgeKind,
    /// One of [`NudgeKind::wordings`].
    pub variant: String,
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
