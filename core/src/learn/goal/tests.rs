use chrono::NaiveDate;

use super::scope::ScopeModule;
use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A goal set on Monday 2027-01-04, due Sunday 2027-01-17 (14 days), over modules of the given
/// sizes, of which `done` steps are done in order; the first `baseline` modules were done before
/// it was set.
fn scope(sizes: &[u32], done: u32, baseline_modules: usize) -> Scope {
    let set_ms = 1_000;
    let mut left = done;
    let modules = sizes
        .iter()
        .enumerate()
        .map(|(i, &steps)| {
            let did = left.min(steps);
            left -= did;
            let finished = did == steps;
            ScopeModule {
                module: format!("m{i}"),
                steps,
                remaining: (did..steps).map(|s| format!("m{i}-s{s}")).collect(),
                done: finished,
                done_ms: finished.then_some(if i < baseline_modules { 0 } else { 2_000 }),
            }
        })
        .collect();
    Scope {
        goal: Goal {
            spec: GoalSpec {
                goal: "g".into(),
                title: "Goal".into(),
                course: "c".into(),
                path: "p".into(),
                stages: Vec::new(),
                skills: Vec::new(),
                due: "2027-01-17".into(),
            },
            due: date(2027, 1, 17),
            set_by_server: true,
            set_ms,
        },
        modules,
    }
}

const SET_ON: (i32, u32, u32) = (2027, 1, 4);

fn at(scope: &Scope, study: &StudyTime, today: NaiveDate) -> Progress {
    let (y, m, d) = SET_ON;
    progress(scope, false, study, date(y, m, d), scope.goal.due, today)
}

#[test]
fn learning_days_leave_out_days_off_in_whole_weeks_and_the_rest() {
    let weekdays = StudyTime {
        minutes_per_day: 15,
        days_off: vec![6, 7],
    };
    // Monday 4 to Sunday 17 January 2027: two weeks, ten weekdays.
    assert_eq!(
        weekdays.learning_days(date(2027, 1, 4), date(2027, 1, 17)),
        10
    );
    assert_eq!(
        weekdays.learning_days(date(2027, 1, 4), date(2027, 1, 8)),
        5
    );
    assert_eq!(
        weekdays.learning_days(date(2027, 1, 9), date(2027, 1, 10)),
        0
    );
    assert_eq!(
        weekdays.learning_days(date(2027, 1, 10), date(2027, 1, 4)),
        0
    );
    let every_day = StudyTime::default();
    assert_eq!(
        every_day.learning_days(date(2027, 1, 1), date(2027, 12, 31)),
        365
    );
}

#[test]
fn the_line_spreads_the_goal_over_its_days_less_the_reserve_and_skipped_days_fall_behind() {
    // 28 steps over 14 learning days, two kept in reserve: the line asks 28/12 a day.
    let study = StudyTime::default();
    let first_day = at(&scope(&[10, 10, 8], 0, 0), &study, date(2027, 1, 4));
    assert_eq!(first_day.learning_days_total, 14);
    assert_eq!(first_day.pace, Pace::OnTrack);
    // Nothing done for three days: on the fourth morning the line stood at 7 steps, three of
    // its days.
    let fourth = at(&scope(&[10, 10, 8], 0, 0), &study, date(2027, 1, 7));
    assert_eq!(fourth.pace, Pace::Behind { days: 3 });
    // Three steps done: one day behind is left.
    let after = at(&scope(&[10, 10, 8], 3, 0), &study, date(2027, 1, 7));
    assert_eq!(after.pace, Pace::Behind { days: 1 });
    // Eight done: past this morning's 7, short of tonight's 9.3: on track.
    let caught_up = at(&scope(&[10, 10, 8], 8, 0), &study, date(2027, 1, 7));
    assert_eq!(caught_up.pace, Pace::OnTrack);
    // Far ahead.
    let ahead = at(&scope(&[10, 10, 8], 20, 0), &study, date(2027, 1, 5));
    assert_eq!(ahead.pace, Pace::Ahead { days: 6 });
}

#[test]
fn days_off_do_not_count_and_work_done_before_the_goal_starts_the_line() {
    let weekdays = StudyTime {
        minutes_per_day: 15,
        days_off: vec![6, 7],
    };
    // 20 steps over 10 weekdays, two in reserve (2.5 a day); Saturday 9 is not a learning
    // day, so the line stands at 12.5 all day.
    let saturday = at(&scope(&[10, 10], 13, 0), &weekdays, date(2027, 1, 9));
    assert_eq!(saturday.pace, Pace::OnTrack);
    // The first module was done before the goal was set: the line starts at 10 of 20.
    let head_start = at(&scope(&[10, 10], 10, 1), &weekdays, date(2027, 1, 4));
    assert_eq!(head_start.baseline_steps, 10);
    assert_eq!(head_start.pace, Pace::OnTrack);
}

#[test]
fn a_met_goal_and_a_passed_date_are_named_as_such() {
    let study = StudyTime::default();
    let s = scope(&[4], 4, 0);
    let (y, m, d) = SET_ON;
    let met = progress(
        &s,
        true,
        &study,
        date(y, m, d),
        s.goal.due,
        date(2027, 1, 6),
    );
    assert_eq!(met.pace, Pace::Met);
    let late = at(&scope(&[4, 4], 3, 0), &study, date(2027, 1, 20));
    assert_eq!(late.pace, Pace::Overdue { days: 3 });
    assert_eq!(Pace::Behind { days: 1 }.describe(), "behind by 1 day");
    assert_eq!(Pace::Ahead { days: 4 }.describe(), "ahead by 4 days");
}
