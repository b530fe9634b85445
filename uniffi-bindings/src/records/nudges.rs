//! The nudge planner's preferences, plan and outcomes, as `tidbit_core::nudge` has them.
//!
//! Instants are UTC milliseconds; the local fire time is RFC 3339 text with its offset; local
//! windows are `HH:MM-HH:MM` text parsed by the core (it wraps midnight when start > end).

use std::collections::HashMap;

use chrono::{DateTime, Utc, Weekday};
use tidbit_core::nudge::{
    BadWindow, BusyInterval as CoreBusy, LocalWindow, Message as CoreMessage,
    MissedIntervention as CoreMissed, Nudge as CoreNudge, NudgePlan as CorePlan,
    NudgePreferences as CorePrefs,
};

use crate::error::TidbitError;

pub use tidbit_core::nudge::PlanningDecision as NudgeDecision;
pub use tidbit_core::nudge::{NudgeKind, NudgeOutcome};

/// A local weekday (for days off): chrono's, under the names the apps know.
#[uniffi::remote(Enum)]
pub enum Weekday {
    #[uniffi(name = "Monday")]
    Mon,
    #[uniffi(name = "Tuesday")]
    Tue,
    #[uniffi(name = "Wednesday")]
    Wed,
    #[uniffi(name = "Thursday")]
    Thu,
    #[uniffi(name = "Friday")]
    Fri,
    #[uniffi(name = "Saturday")]
    Sat,
    #[uniffi(name = "Sunday")]
    Sun,
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
    /// Module, coaching, mentoring or job aid.
    pub kind: tidbit_core::events::InterventionKind,
    pub module: String,
    pub deadline_utc_ms: i64,
    pub why: String,
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
        .map_err(|e: BadWindow| TidbitError::InvalidSettings(e.to_string()))
}

fn instant(ms: i64, what: &str) -> Result<DateTime<Utc>, TidbitError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        TidbitError::InvalidSettings(format!(
            "{what} ({ms} ms) is not a representable instant: give UTC milliseconds since 1970"
        ))
    })
}

impl From<CorePrefs> for NudgePreferences {
    fn from(prefs: CorePrefs) -> Self {
        let CorePrefs {
            consent,
            quiet_hours,
            preferred_windows,
            daily_cap,
            min_spacing_minutes,
            days_off,
            busy,
            days,
            max_pending,
        } = prefs;
        NudgePreferences {
            consent,
            quiet_hours: quiet_hours.as_ref().map(window_text),
            preferred_windows: preferred_windows.iter().map(window_text).collect(),
            busy: busy
                .iter()
                .map(|&CoreBusy { start, end }| BusyInterval {
                    start_utc_ms: start.timestamp_millis(),
                    end_utc_ms: end.timestamp_millis(),
                })
                .collect(),
            daily_cap,
            min_spacing_minutes,
            days_off,
            days,
            max_pending: super::count(max_pending),
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
            days_off: p.days_off,
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

impl From<CoreMessage> for NudgeMessage {
    fn from(message: CoreMessage) -> Self {
        let CoreMessage { key, args, text } = message;
        NudgeMessage {
            key,
            args: args.into_iter().collect(),
            text,
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
    fn from(nudge: CoreNudge) -> Self {
        let CoreNudge {
            id,
            kind,
            subject,
            fire_at_utc,
            fire_at_local,
            title,
            body,
            deep_link,
            variant,
            soft,
            value,
            deadline_utc,
        } = nudge;
        Nudge {
            id,
            kind,
            subject,
            fire_at_utc_ms: fire_at_utc.timestamp_millis(),
            fire_at_local: fire_at_local.to_rfc3339(),
            title: title.into(),
            body: body.into(),
            deep_link,
            variant,
            soft,
            value,
            deadline_utc_ms: deadline_utc.map(|d| d.timestamp_millis()),
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
            kind: n.kind,
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
    fn from(missed: CoreMissed) -> Self {
        let CoreMissed {
            intervention,
            kind,
            module,
            deadline_utc,
            why,
        } = missed;
        MissedIntervention {
            intervention,
            kind,
            module,
            deadline_utc_ms: deadline_utc.timestamp_millis(),
            why,
        }
    }
}

impl From<CorePlan> for NudgePlan {
    fn from(plan: CorePlan) -> Self {
        let CorePlan {
            planned_at,
            time_zone,
            nudges,
            missed,
            decisions,
        } = plan;
        NudgePlan {
            planned_at_utc_ms: planned_at.timestamp_millis(),
            time_zone,
            nudges: nudges.into_iter().map(Into::into).collect(),
            missed: missed.into_iter().map(Into::into).collect(),
            decisions,
        }
    }
}
