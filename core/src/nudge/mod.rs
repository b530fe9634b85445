//! The nudge planner: which local notifications the phone should hold for the next days.
//!
//! [`plan_nudges`] is a pure function of the instant, the learner's time zone, their
//! [`NudgePreferences`] and a [`PlanningState`] read from the store (due items, finished
//! modules, the streak, interventions and the outcomes of earlier nudges). It returns the
//! complete set of notifications for the horizon, each with a stable id, so the app cancels
//! what vanished from one plan to the next and adds what is new. The same inputs always give the
//! same ids and times.
//!
//! What it respects: consent (nothing without it), quiet hours, preferred windows and days off
//! in the learner's IANA time zone (every slot is a real instant, so daylight-saving changes
//! need no special case, see [`slots`]), the busy intervals of the device calendar, a daily
//! cap and a minimum spacing, and the platform's limit on pending notifications (never more
//! than [`MAX_PENDING`]; the most valuable are kept). Ignored nudges lower the rate of their
//! kind and soften the next one ([`fatigue`]); which message variant and which hour go out is
//! learnt per learner by a sleeping, recovering bandit ([`bandit`]).
//!
//! It never reads a clock, never draws a random number and never writes: the facade
//! (`Tidbit::plan_nudges`) gathers the state and records the decisions.

pub mod bandit;
mod candidate;
mod compose;
pub mod fatigue;
mod planner;
pub mod slots;
mod wording;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

pub use compose::nudge_id;
pub use planner::{plan_nudges, FOLLOW_UP_AFTER_DAYS};

/// The most notifications a plan ever holds: iOS keeps at most 64 pending, and going over has
/// been seen to drop them all.
pub const MAX_PENDING: usize = 60;
pub use crate::events::{NudgeKind, NudgeOutcome};

/// A time-of-day window in local time, `start` inclusive, `end` exclusive; it wraps midnight
/// when `start > end` (quiet hours `21:00-08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl LocalWindow {
    pub fn new(start: NaiveTime, end: NaiveTime) -> LocalWindow {
        LocalWindow { start, end }
    }

    /// Hours and minutes, for literals in code and tests.
    pub fn hm(start: (u32, u32), end: (u32, u32)) -> LocalWindow {
        let time = |(h, m): (u32, u32)| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        LocalWindow::new(time(start), time(end))
    }

    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a local time window: write it as HH:MM-HH:MM, such as 21:00-08:00")]
pub struct BadWindow(pub String);

impl FromStr for LocalWindow {
    type Err = BadWindow;

    fn from_str(text: &str) -> Result<LocalWindow, BadWindow> {
        let bad = || BadWindow(text.chars().take(40).collect());
        let (start, end) = text.trim().split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        Ok(LocalWindow::new(time(start)?, time(end)?))
    }
}

/// A busy interval from the device calendar: no notification fires inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyInterval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The learner's choices about notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NudgePreferences {
    /// The learner agreed to notifications. Without it a plan is empty.
    pub consent: bool,
    /// No notification fires in these local hours.
    pub quiet_hours: Option<LocalWindow>,
    /// When any are given, notifications fire only inside them.
    pub preferred_windows: Vec<LocalWindow>,
    /// Most notifications on one local day.
    pub daily_cap: u32,
    /// Least time between two notifications.
    pub min_spacing_minutes: u32,
    /// Local weekdays with no notifications (weekends for employees who opt in).
    pub days_off: Vec<Weekday>,
    /// Busy intervals handed in by the app from the device calendar.
    pub busy: Vec<BusyInterval>,
    /// How many days ahead to plan.
    pub days: u32,
    /// The most notifications the plan may hold (at most [`MAX_PENDING`]).
    pub max_pending: usize,
}

impl Default for NudgePreferences {
    fn default() -> Self {
        NudgePreferences {
            consent: false,
            quiet_hours: Some(LocalWindow::hm((21, 0), (8, 0))),
            preferred_windows: Vec::new(),
            daily_cap: 2,
            min_spacing_minutes: 120,
            days_off: Vec::new(),
            busy: Vec::new(),
            days: 7,
            max_pending: MAX_PENDING,
        }
    }
}

impl NudgePreferences {
    /// The defaults, with the learner's consent.
    pub fn consented() -> NudgePreferences {
        NudgePreferences {
            consent: true,
            ..NudgePreferences::default()
        }
    }

    /// No notifications on Saturdays and Sundays.
    pub fn with_weekends_off(mut self) -> NudgePreferences {
        self.days_off = vec![Weekday::Sat, Weekday::Sun];
        self
    }
}

/// A localisable text: a key the app translates, its arguments, and the English text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub key: String,
    pub args: BTreeMap<String, String>,
    pub text: String,
}

/// One notification the OS should hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nudge {
    /// Stable: the same inputs give the same id.
    pub id: String,
    pub kind: NudgeKind,
    /// What it is about: a local day, `course/module`, an intervention id.
    pub subject: String,
    pub fire_at_utc: DateTime<Utc>,
    pub fire_at_local: DateTime<FixedOffset>,
    pub title: Message,
    pub body: Message,
    pub deep_link: String,
    /// The message variant the bandit chose (`soft` after repeated ignores).
    pub variant: String,
    pub soft: bool,
    /// How much it is worth keeping (higher first when something must go).
    pub value: f64,
    /// For interventions: when it must have been shown by.
    pub deadline_utc: Option<DateTime<Utc>>,
}

impl Nudge {
    /// The local hour the nudge fires in (its send-time arm).
    pub fn local_hour(&self) -> u8 {
        use chrono::Timelike;
        self.fire_at_local.hour() as u8
    }
}

/// An intervention that will not be shown before its deadline, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissedIntervention {
    pub intervention: String,
    /// Its kind (module, coaching, mentoring, job aid).
    #[serde(default = "module_kind")]
    pub kind: crate::events::InterventionKind,
    pub module: String,
    pub deadline_utc: DateTime<Utc>,
    pub why: String,
}

fn module_kind() -> crate::events::InterventionKind {
    crate::events::InterventionKind::Module
}

/// One decision the planner took, with its reason (the facade records these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ffi",
    derive(uniffi::Record),
    uniffi(name = "NudgeDecision")
)]
pub struct PlanningDecision {
    /// `placed`, `dropped`, `missed` or `withheld`.
    pub action: String,
    pub kind: Option<NudgeKind>,
    pub subject: String,
    pub nudge: Option<String>,
    pub reason: String,
}

/// The notifications for the horizon, the interventions that will be missed, and why each
/// candidate was placed or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NudgePlan {
    pub planned_at: DateTime<Utc>,
    pub time_zone: String,
    /// In firing order.
    pub nudges: Vec<Nudge>,
    pub missed: Vec<MissedIntervention>,
    pub decisions: Vec<PlanningDecision>,
}

/// A finished module whose follow-up challenge may be planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishedModule {
    pub course: String,
    pub module: String,
    pub title: String,
    pub completed_at: DateTime<Utc>,
}

/// An intervention the learner's log holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervention {
    /// The id of the event that carried it.
    pub id: String,
    pub course: Option<String>,
    pub module: String,
    pub reason: String,
    pub triggered_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// Why the server's push announcing it did not reach this device (the vendor's answer),
    /// when the server reported one that was not delivered: the local reminder is then all the
    /// learner gets.
    #[serde(default)]
    pub undelivered_push: Option<String>,
    /// What is asked: the module, or a coaching conversation, a mentoring pairing, a job aid.
    #[serde(default)]
    pub action: crate::events::InterventionAction,
}

/// One recorded outcome of an earlier nudge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    pub at: DateTime<Utc>,
    pub nudge: String,
    pub kind: NudgeKind,
    pub subject: String,
    pub variant: String,
    pub local_hour: u8,
    pub outcome: NudgeOutcome,
}

/// Everything the planner needs to know about the learner, read from the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanningState {
    /// Due times (ms) of the cards due before the horizon ends, ascending.
    pub due_ms: Vec<i64>,
    /// Typical seconds one reinforcement item takes this learner.
    pub seconds_per_item: u32,
    /// Remediations waiting (counted as due now).
    pub remediations: u32,
    pub finished_modules: Vec<FinishedModule>,
    /// The current streak in days (0 when none runs).
    pub streak_days: u32,
    /// The learner has practised on the local day of the planning instant.
    pub practised_today: bool,
    pub interventions: Vec<Intervention>,
    /// In the log's order.
    pub outcomes: Vec<OutcomeRecord>,
    /// The learner gave the `personalisation` scope: send times and wording are learned from
    /// the outcomes. Without it the outcomes only hold nudges back (fatigue, ignored prompts).
    #[serde(default)]
    pub personalised: bool,
    /// Wordings experiments assigned the learner, by nudge kind (the latest exposure wins).
    #[serde(default)]
    pub wording: std::collections::BTreeMap<NudgeKind, String>,
    /// This week's cohort duties waiting for the learner (with the `community` scope only).
    #[serde(default)]
    pub cohort_duties: Vec<CohortDuty>,
}

/// A duty of the learner's role in a cohort this week: a peer's answer waiting for their review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohortDuty {
    pub cohort: String,
    pub role: String,
    /// The shared answer waiting for the learner's feedback.
    pub share: String,
    /// Whose answer it is.
    pub author: String,
    /// The item's prompt.
    pub prompt: String,
    /// When the week, and so the duty, ends.
    pub until: DateTime<Utc>,
}
