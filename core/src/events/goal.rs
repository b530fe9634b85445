//! The shape a goal and a study time must have, as `GoalSet` and `StudyTimeSet` events carry
//! them: one check used by the device before it records one, by the server before it writes
//! one, and by both on every event a peer sends.

use chrono::{Datelike, NaiveDate};

/// The most stages or skills one goal names.
pub const MAX_GOAL_PARTS: usize = 64;
/// The longest goal title, in bytes.
pub const MAX_GOAL_TITLE_BYTES: usize = 200;
/// The most minutes a learning day may hold.
pub const MAX_STUDY_MINUTES: u32 = 480;
/// The earliest and latest years a goal's date may fall in.
pub const GOAL_YEARS: (i32, i32) = (2000, 2200);

/// What is wrong with a goal or a study time: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalFieldError {
    pub field: &'static str,
    pub why: String,
}

impl std::fmt::Display for GoalFieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.why)
    }
}

fn bad(field: &'static str, why: impl Into<String>) -> GoalFieldError {
    GoalFieldError {
        field,
        why: why.into(),
    }
}

/// An id: 1 to 128 letters, digits, '-', '_', '.'.
fn goal_id(field: &'static str, value: &str) -> Result<(), GoalFieldError> {
    let fine = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if fine {
        Ok(())
    } else {
        Err(bad(field, "not 1 to 128 letters, digits, '-', '_', '.'"))
    }
}

/// Checks a goal's fields (not whether the course has them: the device checks that against
/// its content, and a goal naming content a device lacks is shown as such).
pub fn check_goal(
    goal: &str,
    title: &str,
    course: &str,
    path: &str,
    stages: &[String],
    skills: &[String],
    due: NaiveDate,
) -> Result<(), GoalFieldError> {
    goal_id("goal", goal)?;
    if title.trim().is_empty()
        || title.len() > MAX_GOAL_TITLE_BYTES
        || title.chars().any(char::is_control)
    {
        return Err(bad(
            "title",
            format!("not 1 to {MAX_GOAL_TITLE_BYTES} bytes of text without control characters"),
        ));
    }
    goal_id("course", course)?;
    goal_id("path", path)?;
    for (name, parts) in [("stages", stages), ("skills", skills)] {
        if parts.len() > MAX_GOAL_PARTS {
            return Err(bad(name, format!("more than {MAX_GOAL_PARTS}")));
        }
        for part in parts {
            goal_id(name, part)?;
        }
        let distinct: std::collections::BTreeSet<&String> = parts.iter().collect();
        if distinct.len() != parts.len() {
            return Err(bad(name, "named twice"));
        }
    }
    if !(GOAL_YEARS.0..=GOAL_YEARS.1).contains(&due.year()) {
        return Err(bad(
            "due",
            format!("{due} is outside {} to {}", GOAL_YEARS.0, GOAL_YEARS.1),
        ));
    }
    Ok(())
}

/// Checks a study time: 1 to [`MAX_STUDY_MINUTES`] minutes, days off as distinct ISO weekday
/// numbers (1 = Monday to 7 = Sunday), at least one learning day left.
pub fn check_study_time(minutes_per_day: u32, days_off: &[u8]) -> Result<(), GoalFieldError> {
    if !(1..=MAX_STUDY_MINUTES).contains(&minutes_per_day) {
        return Err(bad(
            "minutes_per_day",
            format!("{minutes_per_day} is outside 1 to {MAX_STUDY_MINUTES}"),
        ));
    }
    let distinct: std::collections::BTreeSet<&u8> = days_off.iter().collect();
    if days_off.iter().any(|d| !(1..=7).contains(d)) || distinct.len() != days_off.len() {
        return Err(bad(
            "days_off",
            "not distinct weekday numbers from 1 (Monday) to 7 (Sunday)",
        ));
    }
    if distinct.len() == 7 {
        return Err(bad("days_off", "every day of the week is off"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn goals_with_bad_fields_are_refused_by_field() {
        let due = date(2027, 3, 1);
        let stages = vec!["foundation".to_string()];
        check_goal("onboarding", "First 90 days", "c", "p", &stages, &[], due).unwrap();
        let field = |r: Result<(), GoalFieldError>| r.unwrap_err().field;
        assert_eq!(
            field(check_goal("a b", "t", "c", "p", &[], &[], due)),
            "goal"
        );
        assert_eq!(
            field(check_goal("g", " ", "c", "p", &[], &[], due)),
            "title"
        );
        assert_eq!(
            field(check_goal("g", "t\u{7}", "c", "p", &[], &[], due)),
            "title"
        );
        let twice = vec!["s".to_string(), "s".to_string()];
        assert_eq!(
            field(check_goal("g", "t", "c", "p", &[], &twice, due)),
            "skills"
        );
        let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        assert_eq!(
            field(check_goal("g", "t", "c", "p", &many, &[], due)),
            "stages"
        );
        assert_eq!(
            field(check_goal("g", "t", "c", "p", &[], &[], date(9999, 1, 1))),
            "due"
        );
    }

    #[test]
    fn study_times_need_a_learning_day_and_real_weekdays() {
        check_study_time(20, &[6, 7]).unwrap();
        assert_eq!(
            check_study_time(0, &[]).unwrap_err().field,
            "minutes_per_day"
        );
        assert_eq!(
            check_study_time(481, &[]).unwrap_err().field,
            "minutes_per_day"
        );
        assert_eq!(check_study_time(20, &[0]).unwrap_err().field, "days_off");
        assert_eq!(check_study_time(20, &[8]).unwrap_err().field, "days_off");
        assert_eq!(check_study_time(20, &[1, 1]).unwrap_err().field, "days_off");
        assert_eq!(
            check_study_time(20, &[1, 2, 3, 4, 5, 6, 7])
                .unwrap_err()
                .field,
            "days_off"
        );
    }
}
