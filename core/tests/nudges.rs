//! The nudge planner as a specification: consent, batching, quiet hours and daylight saving in
//! several zones, the calendar, the daily cap and spacing, the 60-pending limit, idempotence,
//! fatigue and softening, send-time learning, interventions and their deadlines. The facade on
//! a real store is in `nudges_facade.rs`.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use tidbit_core::nudge::{
    plan_nudges, BusyInterval, FinishedModule, LocalWindow, NudgeKind, NudgeOutcome, NudgePlan,
    NudgePreferences, OutcomeRecord, PlanningState,
};
use tidbit_core::time_zone::Zone;

mod nudge_support;
use nudge_support::*;

#[test]
fn nothing_is_planned_without_consent() {
    let now = utc("2026-09-21T06:00:00Z");
    let prefs = NudgePreferences::default();
    assert!(!prefs.consent);
    let plan = plan_nudges(now, tz("Europe/Berlin"), &prefs, &overdue(20, now));
    assert!(plan.nudges.is_empty());
    assert_eq!(plan.decisions.len(), 1);
    assert_eq!(plan.decisions[0].action, "withheld");
}

#[test]
fn due_items_are_batched_into_one_reminder_with_their_count_and_minutes() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (9, 0));
    let prefs = NudgePreferences {
        days: 1,
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &overdue(5, now));
    // Today's, and tomorrow's at 08:00 (within the 24 hours planned).
    assert_eq!(plan.nudges.len(), 2, "{:#?}", plan.nudges);
    assert_eq!(
        plan.nudges[1].fire_at_utc,
        local(zone, (2026, 9, 22), (8, 0))
    );
    let nudge = &plan.nudges[0];
    assert_eq!(nudge.kind, NudgeKind::ReinforcementDue);
    assert_eq!(nudge.body.key, "nudge.reinforcement_due.count");
    assert_eq!(nudge.body.text, "5 items due, about 2 minutes");
    assert_eq!(nudge.body.args["items"], "5");
    assert_eq!(nudge.body.args["minutes"], "2");
    assert_eq!(nudge.deep_link, "tidbit://review?minutes=2");
    // The first quarter hour a minute or more after now.
    assert_eq!(nudge.fire_at_utc, now + Duration::minutes(15));
    assert_eq!(nudge.fire_at_local.offset().local_minus_utc(), 2 * 3600);
    assert_eq!(nudge.id.len(), 32);
}

#[test]
fn nothing_fires_in_quiet_hours_even_when_items_fall_due_at_night() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (20, 50));
    let mut state = PlanningState {
        seconds_per_item: 20,
        ..PlanningState::default()
    };
    // Items fall due at 23:00 local.
    state.due_ms = vec![local(zone, (2026, 9, 21), (23, 0)).timestamp_millis(); 3];
    let prefs = NudgePreferences {
        days: 2,
        quiet_hours: Some("21:00-08:00".parse().unwrap()),
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &state);
    let first = plan.nudges.first().unwrap();
    assert_eq!(first.fire_at_utc, local(zone, (2026, 9, 22), (8, 0)));
    for time in local_times(&plan, zone) {
        assert!(time.time() >= NaiveTime::from_hms_opt(8, 0, 0).unwrap());
        assert!(time.time() < NaiveTime::from_hms_opt(21, 0, 0).unwrap());
    }
}

/// Both daylight-saving transitions of 2026 in three zones: (zone, spring-forward day,
/// fall-back day).
type Ymd = (i32, u32, u32);

const TRANSITIONS: [(&str, Ymd, Ymd); 3] = [
    ("Europe/Berlin", (2026, 3, 29), (2026, 10, 25)),
    ("America/New_York", (2026, 3, 8), (2026, 11, 1)),
    ("Australia/Sydney", (2026, 10, 4), (2026, 4, 5)),
];

fn on_date(zone: Zone, date: NaiveDate, hm: (u32, u32)) -> DateTime<Utc> {
    zone.from_local_datetime(&date.and_hms_opt(hm.0, hm.1, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn on_both_daylight_saving_days_in_three_zones_nudges_keep_to_local_windows() {
    for (name, spring, fall) in TRANSITIONS {
        let zone = tz(name);
        for day in [spring, fall] {
            let transition = NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap();
            let eve = transition.pred_opt().unwrap();
            let now = on_date(zone, eve, (12, 0));
            let prefs = NudgePreferences {
                days: 3,
                quiet_hours: Some("21:00-08:00".parse().unwrap()),
                preferred_windows: vec![LocalWindow::hm((8, 0), (9, 0))],
                ..NudgePreferences::consented()
            };
            let plan = plan_nudges(now, zone, &prefs, &overdue(8, now));
            // One reminder a day, each at 08:00 by the wall clock of that day.
            let expected: Vec<DateTime<Utc>> = (1..=3)
                .map(|d| on_date(zone, eve + chrono::Days::new(d), (8, 0)))
                .collect();
            let fired: Vec<DateTime<Utc>> = plan.nudges.iter().map(|n| n.fire_at_utc).collect();
            assert_eq!(fired, expected, "{zone} around {day:?}");
            for nudge in &plan.nudges {
                let wall = nudge.fire_at_utc.with_timezone(&zone);
                assert_eq!(wall.fixed_offset(), nudge.fire_at_local, "{zone}");
                assert_eq!((wall.hour(), wall.minute()), (8, 0), "{zone}");
            }
            // The clocks changed overnight: 08:00 on the transition day is 23 or 25 hours after
            // 08:00 the day before.
            let hours = (expected[0] - on_date(zone, eve, (8, 0))).num_hours();
            assert!(hours == 23 || hours == 25, "{zone} {day:?}: {hours} h");
        }
    }
}

#[test]
fn quiet_hours_that_end_inside_the_skipped_hour_end_when_the_clock_jumps() {
    // Berlin skips 02:00-03:00 on 29 March 2026; quiet hours end at 02:30.
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 3, 29), (0, 10));
    let prefs = NudgePreferences {
        days: 1,
        quiet_hours: Some(LocalWindow::hm((22, 0), (2, 30))),
        min_spacing_minutes: 0,
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &overdue(3, now));
    let first = plan.nudges.first().unwrap();
    assert_eq!(first.fire_at_utc, utc("2026-03-29T01:00:00Z"));
    assert_eq!(
        first.fire_at_local.to_rfc3339(),
        "2026-03-29T03:00:00+02:00"
    );
}

#[test]
fn a_nudge_never_fires_inside_a_meeting_and_takes_the_next_free_slot() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (7, 30));
    let mut state = overdue(4, now);
    state.interventions = vec![intervention("i1", now - Duration::hours(1), 48)];
    let prefs = NudgePreferences {
        days: 1,
        busy: vec![
            BusyInterval {
                start: local(zone, (2026, 9, 21), (8, 0)),
                end: local(zone, (2026, 9, 21), (10, 20)),
            },
            BusyInterval {
                start: local(zone, (2026, 9, 21), (13, 0)),
                end: local(zone, (2026, 9, 21), (17, 0)),
            },
        ],
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &state);
    let intervention = plan
        .nudges
        .iter()
        .find(|n| n.kind == NudgeKind::Intervention)
        .unwrap();
    // Quiet until 08:00, then the meeting until 10:20: the next quarter hour is 10:30.
    assert_eq!(
        intervention.fire_at_utc,
        local(zone, (2026, 9, 21), (10, 30))
    );
    for nudge in &plan.nudges {
        for busy in &prefs.busy {
            assert!(
                !(busy.start <= nudge.fire_at_utc && nudge.fire_at_utc < busy.end),
                "{nudge:?} is inside a meeting"
            );
        }
    }
}

/// A full state: an intervention, two finished modules, due items every day and a streak.
fn busy_learner(now: DateTime<Utc>) -> PlanningState {
    let mut state = overdue(12, now);
    for day in 1..7 {
        state
            .due_ms
            .push((now + Duration::days(day)).timestamp_millis());
    }
    state.due_ms.sort();
    state.streak_days = 6;
    state.finished_modules = vec![
        FinishedModule {
            course: "field-safety".into(),
            module: "scene-safety".into(),
            title: "Scene safety".into(),
            completed_at: now - Duration::days(3),
        },
        FinishedModule {
            course: "field-safety".into(),
            module: "bleeding-control".into(),
            title: "Bleeding control".into(),
            completed_at: now - Duration::days(1),
        },
    ];
    state.interventions = vec![intervention("i1", now, 24)];
    state
}

#[test]
fn no_local_day_holds_more_than_the_daily_cap_and_nudges_keep_their_spacing() {
    let zone = tz("America/New_York");
    let now = local(zone, (2026, 9, 21), (7, 0));
    for cap in [1, 2, 3] {
        let prefs = NudgePreferences {
            daily_cap: cap,
            min_spacing_minutes: 90,
            ..NudgePreferences::consented()
        };
        let plan = plan_nudges(now, zone, &prefs, &busy_learner(now));
        let mut per_day = std::collections::BTreeMap::new();
        for time in local_times(&plan, zone) {
            *per_day.entry(time.date()).or_insert(0u32) += 1;
        }
        assert!(
            per_day.values().all(|&n| n <= cap),
            "cap {cap}: {per_day:?}"
        );
        assert_eq!(per_day.values().max(), Some(&cap), "cap {cap} is reached");
        assert!(plan.nudges.len() >= 2, "cap {cap}: no pair to space");
        for pair in plan.nudges.windows(2) {
            assert!(pair[1].fire_at_utc - pair[0].fire_at_utc >= Duration::minutes(90));
        }
        // The intervention is always kept; what did not fit says why.
        assert!(plan
            .nudges
            .iter()
            .any(|n| n.kind == NudgeKind::Intervention));
        let dropped: Vec<_> = plan
            .decisions
            .iter()
            .filter(|d| d.action == "dropped")
            .collect();
        assert!(!dropped.is_empty(), "cap {cap}: nothing was dropped");
        assert!(
            dropped
                .iter()
                .all(|d| d.reason.contains(&format!("daily cap of {cap}"))
                    || d.reason.contains(&format!("cap of {cap} a day"))),
            "cap {cap}: {dropped:?}"
        );
    }
}

#[test]
fn weekends_off_keep_saturday_and_sunday_free() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 24), (7, 0)); // a Thursday
    let prefs = NudgePreferences::consented().with_weekends_off();
    let plan = plan_nudges(now, zone, &prefs, &busy_learner(now));
    assert!(!plan.nudges.is_empty());
    for time in local_times(&plan, zone) {
        assert!(
            !matches!(
                chrono::Datelike::weekday(&time),
                Weekday::Sat | Weekday::Sun
            ),
            "{time}"
        );
    }
}

#[test]
fn a_plan_never_holds_more_than_60_and_keeps_the_most_valuable() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (7, 0));
    let mut state = busy_learner(now);
    state.interventions = (0..75)
        .map(|i| intervention(&format!("i{i:02}"), now, 24 * 6))
        .collect();
    let prefs = NudgePreferences {
        daily_cap: 100,
        min_spacing_minutes: 0,
        max_pending: 500,
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &state);
    assert_eq!(plan.nudges.len(), 60);
    // Interventions are worth the most: 60 of the 75 are kept, everything else is dropped.
    assert!(plan
        .nudges
        .iter()
        .all(|n| n.kind == NudgeKind::Intervention));
    let dropped: Vec<_> = plan
        .decisions
        .iter()
        .filter(|d| d.action == "dropped" || d.action == "missed")
        .collect();
    assert!(dropped.len() >= 15 + 6);
    // At least the 15 interventions past the 60 are dropped for the limit, and say so.
    let over_the_limit: Vec<_> = dropped.iter().filter(|d| d.action == "dropped").collect();
    assert!(over_the_limit.len() >= 15, "{over_the_limit:?}");
    assert!(over_the_limit
        .iter()
        .all(|d| d.reason.contains("60 more valuable")));
}

#[test]
fn planning_twice_with_the_same_inputs_gives_the_same_ids_and_times() {
    let zone = tz("Australia/Sydney");
    let now = local(zone, (2026, 10, 2), (18, 3));
    let prefs = NudgePreferences::consented();
    let state = busy_learner(now);
    let first = plan_nudges(now, zone, &prefs, &state);
    let second = plan_nudges(now, zone, &prefs, &state);
    assert!(!first.nudges.is_empty());
    assert_eq!(first, second);
    let ids: std::collections::BTreeSet<_> = first.nudges.iter().map(|n| &n.id).collect();
    assert_eq!(ids.len(), first.nudges.len(), "ids are unique");
}

#[test]
fn a_later_plan_keeps_the_ids_of_the_nudges_that_did_not_move() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (7, 0));
    let prefs = NudgePreferences::consented();
    let state = busy_learner(now);
    let first = plan_nudges(now, zone, &prefs, &state);
    let later = plan_nudges(now + Duration::minutes(5), zone, &prefs, &state);
    let ids = |plan: &NudgePlan, after: DateTime<Utc>| -> Vec<String> {
        plan.nudges
            .iter()
            .filter(|n| n.fire_at_utc > after + Duration::days(1))
            .map(|n| n.id.clone())
            .collect()
    };
    // Tomorrow's and later nudges are the same ones: the app changes nothing for them.
    assert_eq!(ids(&first, now), ids(&later, now));
}

fn reinforcement_history(now: DateTime<Utc>, outcomes: &[NudgeOutcome]) -> Vec<OutcomeRecord> {
    let mut history = Vec::new();
    for (i, what) in outcomes.iter().enumerate() {
        let at = now - Duration::days(outcomes.len() as i64 - i as i64) - Duration::hours(1);
        let id = format!("r{i}");
        history.push(outcome(
            at,
            &id,
            NudgeKind::ReinforcementDue,
            8,
            NudgeOutcome::Delivered,
        ));
        if *what != NudgeOutcome::Delivered {
            history.push(outcome(
                at + Duration::minutes(5),
                &id,
                NudgeKind::ReinforcementDue,
                8,
                *what,
            ));
        }
    }
    history
}

fn reinforcements(plan: &NudgePlan) -> Vec<&tidbit_core::nudge::Nudge> {
    plan.nudges
        .iter()
        .filter(|n| n.kind == NudgeKind::ReinforcementDue)
        .collect()
}

#[test]
fn each_ignored_reminder_lowers_the_rate_of_its_kind() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (7, 0));
    let prefs = NudgePreferences::consented();
    let mut counts = Vec::new();
    for ignored in 0..3 {
        let mut state = overdue(10, now);
        state.outcomes = reinforcement_history(now, &vec![NudgeOutcome::Ignored; ignored]);
        counts.push(reinforcements(&plan_nudges(now, zone, &prefs, &state)).len());
    }
    // From 07:00 for 7 days (the eighth morning is still quiet at 07:00): daily; then every
    // 2 days after yesterday's (days 1, 3, 5); then every 4 (day 3).
    assert_eq!(counts, vec![7, 3, 1]);
}

#[test]
fn after_repeated_ignores_the_next_reminder_is_softer_not_louder() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (7, 0));
    let mut state = overdue(10, now);
    // Left alone twice: one explicitly ignored, one delivered and never touched (12 h on).
    state.outcomes = reinforcement_history(now, &[NudgeOutcome::Ignored, NudgeOutcome::Delivered]);
    let plan = plan_nudges(now, zone, &NudgePreferences::consented(), &state);
    let next = reinforcements(&plan)[0];
    assert!(next.soft);
    assert_eq!(next.variant, "soft");
    assert_eq!(next.body.key, "nudge.reinforcement_due.soft");
    assert_eq!(next.body.text, "One question, about 30 seconds.");
    assert_eq!(next.deep_link, "tidbit://review?items=1");

    // A repeatedly ignored intervention becomes an invitation to office hours.
    let mut state = overdue(0, now);
    state.interventions = vec![intervention("i9", now, 48)];
    state.outcomes = (0..2)
        .flat_map(|i| {
            let at = now - Duration::days(3 - i);
            [
                outcome(
                    at,
                    &format!("x{i}"),
                    NudgeKind::Intervention,
                    9,
                    NudgeOutcome::Delivered,
                ),
                outcome(
                    at,
                    &format!("x{i}"),
                    NudgeKind::Intervention,
                    9,
                    NudgeOutcome::Dismissed,
                ),
            ]
        })
        .collect();
    let plan = plan_nudges(now, zone, &NudgePreferences::consented(), &state);
    assert_eq!(plan.nudges[0].body.key, "nudge.office_hours");
}

#[test]
fn an_opened_nudge_restores_the_rate() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (7, 0));
    let mut state = overdue(10, now);
    state.outcomes = reinforcement_history(
        now,
        &[
            NudgeOutcome::Ignored,
            NudgeOutcome::Ignored,
            NudgeOutcome::Opened,
        ],
    );
    let plan = plan_nudges(now, zone, &NudgePreferences::consented(), &state);
    let planned = reinforcements(&plan);
    assert_eq!(planned.len(), 7);
    assert!(planned.iter().all(|n| !n.soft));
}

#[test]
fn the_hour_that_gets_opened_becomes_the_send_time_and_variants_take_turns() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (7, 0));
    let mut state = overdue(10, now);
    for day in 1..=6 {
        let at = now - Duration::days(day);
        let (a, b) = (format!("m{day}"), format!("e{day}"));
        state.outcomes.push(outcome(
            at,
            &a,
            NudgeKind::StreakAtRisk,
            8,
            NudgeOutcome::Delivered,
        ));
        state.outcomes.push(outcome(
            at,
            &a,
            NudgeKind::StreakAtRisk,
            8,
            NudgeOutcome::Opened,
        ));
        state.outcomes.push(outcome(
            at,
            &b,
            NudgeKind::StreakAtRisk,
            17,
            NudgeOutcome::Delivered,
        ));
        state.outcomes.push(outcome(
            at,
            &b,
            NudgeKind::StreakAtRisk,
            17,
            NudgeOutcome::Dismissed,
        ));
    }
    state.outcomes.sort_by_key(|o| o.at);
    let prefs = NudgePreferences {
        daily_cap: 1,
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &state);
    let planned = reinforcements(&plan);
    assert!(planned.len() >= 6);
    // 08:00 local was opened every day; 17:00 never was.
    for nudge in &planned[1..] {
        assert_eq!(nudge.local_hour(), 8, "{nudge:?}");
    }
    // Message variants recover after use: consecutive days alternate.
    let variants: Vec<&str> = planned.iter().map(|n| n.variant.as_str()).collect();
    assert_eq!(&variants[..4], &["count", "minutes", "count", "minutes"]);
    // The same events give the same choices.
    assert_eq!(plan, plan_nudges(now, zone, &prefs, &state));
}

#[test]
fn an_intervention_goes_out_in_the_next_free_preferred_slot_before_its_deadline() {
    let zone = tz("Europe/Berlin");
    let triggered = local(zone, (2026, 9, 25), (16, 40)); // Friday afternoon
    let now = triggered + Duration::hours(5); // synced in the evening, inside quiet hours
    let mut state = overdue(0, now);
    state.interventions = vec![intervention("i1", triggered, 48)];
    let prefs = NudgePreferences {
        preferred_windows: vec![LocalWindow::hm((12, 0), (13, 0))],
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &state);
    let nudge = &plan.nudges[0];
    assert_eq!(nudge.kind, NudgeKind::Intervention);
    assert_eq!(nudge.fire_at_utc, local(zone, (2026, 9, 26), (12, 0)));
    assert!(nudge.fire_at_utc <= nudge.deadline_utc.unwrap());
    assert_eq!(
        nudge.deep_link,
        "tidbit://module/field-safety/scene-safety?intervention=i1"
    );
    assert_eq!(nudge.body.args["reason"], "two below-target sprints");
    assert!(plan.missed.is_empty());
}

#[test]
fn an_intervention_that_arrives_after_its_deadline_is_reported_missed_with_why() {
    let zone = tz("Europe/Berlin");
    let triggered = utc("2026-09-21T08:00:00Z");
    let now = triggered + Duration::hours(60);
    let mut state = overdue(0, now);
    state.interventions = vec![intervention("late", triggered, 48)];
    let plan = plan_nudges(now, zone, &NudgePreferences::consented(), &state);
    assert!(plan
        .nudges
        .iter()
        .all(|n| n.kind != NudgeKind::Intervention));
    assert_eq!(plan.missed.len(), 1);
    assert_eq!(plan.missed[0].intervention, "late");
    assert!(
        plan.missed[0].why.contains("offline"),
        "{}",
        plan.missed[0].why
    );
    assert!(
        plan.missed[0].why.contains("48 h"),
        "{}",
        plan.missed[0].why
    );
}

#[test]
fn an_intervention_whose_window_is_all_quiet_or_busy_is_missed_not_forced() {
    let zone = tz("Europe/Berlin");
    let now = local(zone, (2026, 9, 21), (20, 0));
    let mut state = overdue(0, now);
    // Due at 07:00: quiet until 08:00 after the meeting.
    state.interventions = vec![intervention("night", now, 11)];
    let prefs = NudgePreferences {
        busy: vec![BusyInterval {
            start: now,
            end: now + Duration::hours(12),
        }],
        ..NudgePreferences::consented()
    };
    let plan = plan_nudges(now, zone, &prefs, &state);
    assert!(plan.nudges.is_empty());
    assert_eq!(plan.missed.len(), 1);
    assert!(plan.missed[0]
        .why
        .starts_with("no free slot before the deadline"));
}

// --- the facade, on a store that has learnt the field-safety sample course ---
