//! The grid of instants a notification may fire at, in the learner's time zone.
//!
//! The grid walks real instants (UTC quarter hours) and asks what the local clock reads at each,
//! rather than building instants from local times. So a local time skipped when clocks spring
//! forward never appears, a local hour repeated when they fall back appears twice (both real
//! instants, each checked against quiet hours), and a local day has 23, 24 or 25 hours as it
//! really does. Every offset in use is a multiple of 15 minutes, so the slots fall on local
//! quarter hours too.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};

use super::NudgePreferences;
use crate::time_zone::Zone;

/// The grid's step.
pub const SLOT_MINUTES: i64 = 15;

/// One instant a notification may fire at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
    /// Local days since the planning instant's local day.
    pub day: usize,
}

impl Slot {
    pub fn hour(&self) -> u8 {
        self.local.hour() as u8
    }
}

/// Every allowed slot in `(now, now + days]`, in time order: outside quiet hours, inside a
/// preferred window (if any), not on a day off, not inside a busy interval.
pub fn allowed_slots(now: DateTime<Utc>, zone: Zone, prefs: &NudgePreferences) -> Vec<Slot> {
    let today = local_date(now, zone);
    let end = now + Duration::days(i64::from(prefs.days));
    let step = SLOT_MINUTES * 60;
    // The first quarter hour at least a minute from now.
    let first = (now.timestamp() + 60 + step - 1).div_euclid(step) * step;
    let mut slots = Vec::with_capacity((prefs.days as usize) * 96);
    let mut seconds = first;
    while seconds <= end.timestamp() {
        let Some(at) = DateTime::from_timestamp(seconds, 0) else {
            break;
        };
        seconds += step;
        let local = at.with_timezone(&zone).naive_local();
        let time = local.time();
        if prefs.quiet_hours.is_some_and(|quiet| quiet.contains(time)) {
            continue;
        }
        if !prefs.preferred_windows.is_empty()
            && !prefs.preferred_windows.iter().any(|w| w.contains(time))
        {
            continue;
        }
        if prefs.days_off.contains(&local.date().weekday()) {
            continue;
        }
        if prefs.busy.iter().any(|b| b.start <= at && at < b.end) {
            continue;
        }
        let day = (local.date() - today).num_days().max(0) as usize;
        slots.push(Slot { at, local, day });
    }
    slots
}

pub fn local_date(at: DateTime<Utc>, zone: Zone) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The first instant of a local date (the earliest, if midnight repeats; the first instant
/// after the gap, if midnight is skipped).
pub fn start_of_local_day(date: NaiveDate, zone: Zone) -> DateTime<Utc> {
    use chrono::TimeZone;
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    for minutes in (0..=180).step_by(15) {
        if let Some(at) = zone
            .from_local_datetime(&(midnight + Duration::minutes(minutes)))
            .earliest()
        {
            return at.with_timezone(&Utc);
        }
    }
    midnight.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nudge::LocalWindow;

    fn berlin() -> Zone {
        Zone::named("Europe/Berlin").unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_spring_forward_day_has_no_slot_in_the_skipped_hour() {
        let prefs = NudgePreferences {
            quiet_hours: None,
            days: 1,
            ..NudgePreferences::consented()
        };
        let slots = allowed_slots(at("2026-03-28T23:00:00Z"), berlin(), &prefs);
        assert!(slots.iter().all(|s| s.local.hour() != 2));
        // 29 March has 23 local hours, 92 quarter hours; the first, midnight, is now itself.
        assert_eq!(slots.iter().filter(|s| s.day == 0).count(), 91);
    }

    #[test]
    fn a_fall_back_day_checks_both_copies_of_the_repeated_hour() {
        let prefs = NudgePreferences {
            quiet_hours: Some(LocalWindow::hm((2, 30), (7, 0))),
            days: 1,
            ..NudgePreferences::consented()
        };
        let slots = allowed_slots(at("2026-10-24T22:00:00Z"), berlin(), &prefs);
        let two_oclock: Vec<_> = slots.iter().filter(|s| s.local.hour() == 2).collect();
        // 02:00, 02:15 twice each (summer and winter time); 02:30 and 02:45 are quiet.
        assert_eq!(two_oclock.len(), 4);
        assert!(slots
            .iter()
            .all(|s| !(s.local.hour() == 2 && s.local.minute() >= 30)));
    }

    #[test]
    fn the_start_of_a_day_whose_midnight_is_skipped_is_the_first_real_instant() {
        // America/Santiago skipped 2026-09-06 00:00-01:00.
        let santiago = Zone::named("America/Santiago").unwrap();
        let start = start_of_local_day(NaiveDate::from_ymd_opt(2026, 9, 6).unwrap(), santiago);
        assert_eq!(
            start.with_timezone(&santiago).naive_local().time(),
            chrono::NaiveTime::from_hms_opt(1, 0, 0).unwrap()
        );
    }
}
