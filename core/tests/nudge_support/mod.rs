//! Shared by the nudge tests: instants in named zones, planning states and records.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use tidbit_core::nudge::{
    Intervention, NudgeKind, NudgeOutcome, NudgePlan, OutcomeRecord, PlanningState,
};
use tidbit_core::time_zone::Zone;

/// The IANA zone `name`.
pub fn tz(name: &str) -> Zone {
    Zone::named(name).unwrap()
}

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The instant a local wall-clock time names (the earlier one if it repeats).
pub fn local(zone: Zone, date: (i32, u32, u32), hm: (u32, u32)) -> DateTime<Utc> {
    zone.with_ymd_and_hms(date.0, date.1, date.2, hm.0, hm.1, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// `n` items overdue at `now`.
pub fn overdue(n: usize, now: DateTime<Utc>) -> PlanningState {
    PlanningState {
        due_ms: (0..n)
            .map(|i| now.timestamp_millis() - 3_600_000 - i as i64)
            .rev()
            .collect(),
        seconds_per_item: 24,
        ..PlanningState::default()
    }
}

pub fn local_times(plan: &NudgePlan, zone: Zone) -> Vec<chrono::NaiveDateTime> {
    plan.nudges
        .iter()
        .map(|n| n.fire_at_utc.with_timezone(&zone).naive_local())
        .collect()
}

pub fn intervention(id: &str, triggered: DateTime<Utc>, hours: i64) -> Intervention {
    Intervention {
        id: id.into(),
        course: Some("field-safety".into()),
        module: "scene-safety".into(),
        reason: "two below-target sprints".into(),
        triggered_at: triggered,
        deadline: triggered + Duration::hours(hours),
        undelivered_push: None,
        action: Default::default(),
    }
}

pub fn outcome(
    at: DateTime<Utc>,
    nudge: &str,
    kind: NudgeKind,
    hour: u8,
    outcome: NudgeOutcome,
) -> OutcomeRecord {
    OutcomeRecord {
        at,
        nudge: nudge.into(),
        kind,
        subject: format!("past/{nudge}"),
        variant: "count".into(),
        local_hour: hour,
        outcome,
    }
}
