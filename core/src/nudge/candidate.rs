//! A candidate nudge: what the planner may send, in which window, worth how much, before it is
//! placed in a slot ([`super::planner`]) and worded ([`super::compose`]).

use chrono::{DateTime, Utc};

use super::fatigue::KindFatigue;
use super::{Intervention, NudgeKind};

/// What a candidate nudge is about.
#[derive(Debug, Clone)]
pub(super) enum Content {
    Reinforcement,
    FollowUp {
        course: String,
        module: String,
        title: String,
    },
    Streak {
        days: u32,
    },
    Intervention(Intervention),
    CohortDuty(super::CohortDuty),
}

#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) kind: NudgeKind,
    pub(super) subject: String,
    pub(super) earliest: DateTime<Utc>,
    pub(super) latest: DateTime<Utc>,
    pub(super) value: f64,
    pub(super) fatigue: KindFatigue,
    pub(super) content: Content,
}
