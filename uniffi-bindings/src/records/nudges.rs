//! The nudge planner's preferences, plan and outcomes, mirroring `tidbit_core::nudge`.
//!
//! Instants are UTC milliseconds; the local fire time is RFC 3339 text with its offset; local
//! windows are `HH:MM-HH:MM` text parsed by the core (it wraps midnight when start > end).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tidbit_core::nudge::{
    self as core, BusyInterval as CoreBusy, LocalWindow, Message as CoreMessage,
    MissedIntervention as CoreMissed, Nudge as CoreNudge, NudgeKind as CoreKind,
    NudgeOutcome as CoreOutcome, NudgePlan as CorePlan, NudgePreferences as CorePrefs,
    PlanningDecision as CoreDecision,
};

use crate::error::TidbitError;

/// What a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum NudgeKind {
    /// An intervention the L&D team triggered, to be shown before its deadline.
    Intervention,
    /// A follow-up challenge a few days after a finished module.
    ModuleFollowUp,
    /// Reinforcement is due, batched: "5 items due, about 2 minutes".
    ReinforcementDue,
    /// The evening of a day with no activity yet, while a streak runs.
    StreakAtRisk,
    /// A prompt shared by a cohort (reserved: nothing plans these yet).
    CohortPrompt,
}

/// What became of a nudge, as the app reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum NudgeOutcome {
    Scheduled,
    Delivered,
    Opened,
    Dismissed,
    Ignored,
    Missed,
}

/// A local weekday (for days off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// A busy interval from the device calendar, UTC milliseconds, `start` inclusive, `end`
/// exclusive: no notification fires inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct BusyInterval {
    pub start_utc_ms: i64,
    pub end_utc_ms: i64,
}

/// The learner's choices about notifications (`default_nudge_preferences` gives the core's
/// defaults).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NudgePreferences {
    /// The learner agreed to notifications. Without it a plan is empty.
    pub consent: bool,
    /// Local hours with no notification, `HH:MM-HH:MM` (such as `21:00-08:00`).
    pub quiet_hours: Option<String>,
    /// When any are given, notifications fire only inside these local windows (`HH:MM-HH:MM`).
    pub preferred_windows: Vec<String>,
    /// Busy intervals from the device calendar.
    pub busy: Vec<BusyInterval>,
    /// Most notifications on one local day.
    pub daily_cap: u32,
    /// Least time between two notifications.
    pub min_spacing_minutes: u32,
    /// Local weekdays with no notifications.
    pub days_off: Vec<Weekday>,
    /// How many days ahead to plan.
    pub days: u32,
    /// The most notifications the plan may hold (the core never plans more than 60).
    pub max_pending: u32,
}

/// A localisable text: a key the app translates, its arguments, and the English text.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NudgeMessage {
    pub key: String,
    pub args: HashMap<String, String>,
    pub text: String,
}

/// One notification the OS should hold.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Nudge {
    /// Stable: the same inputs give the same id.
    pub id: String,
    pub kind: NudgeKind,
    /// What it is about: a local day, `course/module`, an intervention id.
    pub subject: String,
    pub fire_at_utc_ms: i64,
    /// RFC 3339 with the learner's offset at that instant.
    pub fire_at_local: String,
    pub title: NudgeMessage,
    pub body: NudgeMessage,
    pub deep_link: String,
    /// The message variant chosen (`soft` after repeated ignores).
    pub variant: String,
    pub soft: bool,
    /// How much it is worth keeping.
    pub value: f64,
    /// For interventions: when it must have been shown by.
    pub deadline_utc_ms: Option<i64>,
}

/// An intervention that will not be shown before its deadline, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MissedIntervention {
    pub intervention: String,
    pub module: String,
    pub deadline_utc_ms: i64,
    pub why: String,
}

/// One decision the planner took, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NudgeDecision {
    /// `placed`, `dropped`, `missed` or `withheld`.
    pub action: String,
    pub kind: Option<NudgeKind>,
    pub subject: String,
    pub nudge: Option<String>,
    pub reason: String,
}

/// The notifications the OS should hold, in firing order, the interventions that will be
/// missed, and why each candidate was placed or not.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NudgePlan {
    pub planned_at_utc_ms: i64,
    pub time_zone: String,
    pub nudges: Vec<Nudge>,
    pub missed: Vec<MissedIntervention>,
    pub decisions: Vec<NudgeDecision>,
}

/// The core's default nudge preferences (quiet hours 21:00-08:00, cap 2, 120 minutes apart,
/// 7 days, at most 60 pending), with or without the learner's consent.
#[uniffi::export]
pub fn default_nudge_preferences(consent: bool) -> NudgePreferences {
    CorePrefs {
        consent,
        ..CorePrefs::default()
    }
    .into()
}

fn window_text(window: &LocalWindow) -> String {
    format!(
        "{}-{}",
        window.start.format("%H:%M"),
        window.end.format("%H:%M")
    )
}

fn parse_window(text: &str) -> Result<LocalWindow, TidbitError> {
    text.parse()
        .map_err(|e: core::BadWindow| TidbitError::InvalidSettings(e.to_string()))
}

fn instant(ms: i64, what: &str) -> Result<DateTime<Utc>, TidbitError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        TidbitError::InvalidSettings(format!(
            "{what} ({ms} ms) is not a representable instant: give UTC milliseconds since 1970"
        ))
    })
}

impl From<CorePrefs> for NudgePreferences {
    fn from(p: CorePrefs) -> Self {
        NudgePreferences {
            consent: p.consent,
            quiet_hours: p.quiet_hours.as_ref().map(window_text),
            preferred_windows: p.preferred_windows.iter().map(window_text).collect(),
            busy: p
                .busy
                .iter()
                .map(|b| BusyInterval {
                    start_utc_ms: b.start.timestamp_millis(),
                    end_utc_ms: b.end.timestamp_millis(),
                })
                .collect(),
            daily_cap: p.daily_cap,
            min_spacing_minutes: p.min_spacing_minutes,
            days_off: p.days_off.into_iter().map(Into::into).collect(),
            days: p.days,
            max_pending: super::count(p.max_pending),
        }
    }
}

impl TryFrom<NudgePreferences> for CorePrefs {
    type Error = TidbitError;

    fn try_from(p: NudgePreferences) -> Result<Self, TidbitError> {
        Ok(CorePrefs {
            consent: p.consent,
            quiet_hours: p.quiet_hours.as_deref().map(parse_window).transpose()?,
            preferred_windows: p
                .preferred_windows
                .iter()
                .map(|w| parse_window(w))
                .collect::<Result<_, _>>()?,
            daily_cap: p.daily_cap,
            min_spacing_minutes: p.min_spacing_minutes,
            days_off: p.days_off.into_iter().map(Into::into).collect(),
            busy: p
                .busy
                .iter()
                .map(|b| {
                    Ok(CoreBusy {
                        start: instant(b.start_utc_ms, "a busy interval's start")?,
                        end: instant(b.end_utc_ms, "a busy interval's end")?,
                    })
                })
                .collect::<Result<_, TidbitError>>()?,
            days: p.days,
            max_pending: usize::try_from(p.max_pending).unwrap_or(usize::MAX),
        })
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        match day {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        }
    }
}

impl From<Weekday> for chrono::Weekday {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Monday => chrono::Weekday::Mon,
            Weekday::Tuesday => chrono::Weekday::Tue,
            Weekday::Wednesday => chrono::Weekday::Wed,
            Weekday::Thursday => chrono::Weekday::Thu,
            Weekday::Friday => chrono::Weekday::Fri,
            Weekday::Saturday => chrono::Weekday::Sat,
            Weekday::Sunday => chrono::Weekday::Sun,
        }
    }
}

impl From<CoreKind> for NudgeKind {
    fn from(kind: CoreKind) -> Self {
        match kind {
            CoreKind::Intervention => NudgeKind::Intervention,
            CoreKind::ModuleFollowUp => NudgeKind::ModuleFollowUp,
            CoreKind::ReinforcementDue => NudgeKind::ReinforcementDue,
            CoreKind::StreakAtRisk => NudgeKind::StreakAtRisk,
            CoreKind::CohortPrompt => NudgeKind::CohortPrompt,
        }
    }
}

impl From<NudgeKind> for CoreKind {
    fn from(kind: NudgeKind) -> Self {
        match kind {
            NudgeKind::Intervention => CoreKind::Intervention,
            NudgeKind::ModuleFollowUp => CoreKind::ModuleFollowUp,
            NudgeKind::ReinforcementDue => CoreKind::ReinforcementDue,
            NudgeKind::StreakAtRisk => CoreKind::StreakAtRisk,
            NudgeKind::CohortPrompt => CoreKind::CohortPrompt,
        }
    }
}

impl From<NudgeOutcome> for CoreOutcome {
    fn from(outcome: NudgeOutcome) -> Self {
        match outcome {
            NudgeOutcome::Scheduled => CoreOutcome::Scheduled,
            NudgeOutcome::Delivered => CoreOutcome::Delivered,
            NudgeOutcome::Opened => CoreOutcome::Opened,
            NudgeOutcome::Dismissed => CoreOutcome::Dismissed,
            NudgeOutcome::Ignored => CoreOutcome::Ignored,
            NudgeOutcome::Missed => CoreOutcome::Missed,
        }
    }
}

impl From<CoreMessage> for NudgeMessage {
    fn from(m: CoreMessage) -> Self {
        NudgeMessage {
            key: m.key,
            args: m.args.into_iter().collect(),
            text: m.text,
        }
    }
}

impl From<NudgeMessage> for CoreMessage {
    fn from(m: NudgeMessage) -> Self {
        CoreMessage {
            key: m.key,
            args: m.args.into_iter().collect(),
            text: m.text,
        }
    }
}

impl From<CoreNudge> for Nudge {
    fn from(n: CoreNudge) -> Self {
        Nudge {
            id: n.id,
            kind: n.kind.into(),
            subject: n.subject,
            fire_at_utc_ms: n.fire_at_utc.timestamp_millis(),
            fire_at_local: n.fire_at_local.to_rfc3339(),
            title: n.title.into(),
            body: n.body.into(),
            deep_link: n.deep_link,
            variant: n.variant,
            soft: n.soft,
            value: n.value,
            deadline_utc_ms: n.deadline_utc.map(|d| d.timestamp_millis()),
        }
    }
}

impl TryFrom<Nudge> for CoreNudge {
    type Error = TidbitError;

    fn try_from(n: Nudge) -> Result<Self, TidbitError> {
        let fire_at_local = DateTime::parse_from_rfc3339(&n.fire_at_local).map_err(|e| {
            TidbitError::InvalidSettings(format!(
                "the nudge's fire_at_local '{}' is not RFC 3339 ({e}): pass the nudge as the plan \
                 returned it",
                n.fire_at_local
            ))
        })?;
        Ok(CoreNudge {
            id: n.id,
            kind: n.kind.into(),
            subject: n.subject,
            fire_at_utc: instant(n.fire_at_utc_ms, "the nudge's fire time")?,
            fire_at_local,
            title: n.title.into(),
            body: n.body.into(),
            deep_link: n.deep_link,
            variant: n.variant,
            soft: n.soft,
            value: n.value,
            deadline_utc: n
                .deadline_utc_ms
                .map(|ms| instant(ms, "the nudge's deadline"))
                .transpose()?,
        })
    }
}

impl From<CoreMissed> for MissedIntervention {
    fn from(m: CoreMissed) -> Self {
        MissedIntervention {
            intervention: m.intervention,
            module: m.module,
            deadline_utc_ms: m.deadline_utc.timestamp_millis(),
            why: m.why,
        }
    }
}

impl From<CoreDecision> for NudgeDecision {
    fn from(d: CoreDecision) -> Self {
        NudgeDecision {
            action: d.action,
            kind: d.kind.map(Into::into),
            subject: d.subject,
            nudge: d.nudge,
            reason: d.reason,
        }
    }
}

impl From<CorePlan> for NudgePlan {
    fn from(p: CorePlan) -> Self {
        NudgePlan {
            planned_at_utc_ms: p.planned_at.timestamp_millis(),
            time_zone: p.time_zone,
            nudges: p.nudges.into_iter().map(Into::into).collect(),
            missed: p.missed.into_iter().map(Into::into).collect(),
            decisions: p.decisions.into_iter().map(Into::into).collect(),
        }
    }
}
