//! Interventions beyond modules in the nudge planner: each kind says what it asks (a coaching
//! conversation, a mentor, a job aid), softens after repeated ignores in its own words, and a
//! missed one is reported with its kind.

use chrono::Duration;
use tidbit_core::events::{CoachingTemplate, InterventionAction, InterventionKind};
use tidbit_core::nudge::{plan_nudges, Nudge, NudgeKind, NudgeOutcome, NudgePreferences};

mod nudge_support;
use nudge_support::*;

fn coaching() -> InterventionAction {
    InterventionAction::Coaching {
        manager: "mara".into(),
        template: CoachingTemplate {
            id: "after-a-miss".into(),
            title: "After a miss".into(),
            prompts: vec![
                "What happened?".into(),
                "What helped?".into(),
                "Next time?".into(),
            ],
        },
    }
}

fn mentoring() -> InterventionAction {
    InterventionAction::Mentoring {
        mentor: "ana".into(),
        course: "field-safety".into(),
        skill: "scene-safety".into(),
    }
}

fn job_aid() -> InterventionAction {
    InterventionAction::JobAid {
        course: "field-safety".into(),
        aid: "scene-check-card".into(),
    }
}

/// The intervention nudge planned for `action`, after `ignored` intervention nudges ignored.
fn planned(action: InterventionAction, ignored: usize) -> Nudge {
    let zone = tz("Europe/Berlin");
    let triggered = local(zone, (2026, 9, 22), (9, 0));
    let now = triggered + Duration::minutes(10);
    let mut state = overdue(0, now);
    let mut intervention = intervention("i1", triggered, 48);
    intervention.action = action;
    state.interventions = vec![intervention];
    for i in 0..ignored {
        let at = now - Duration::days(i as i64 + 1);
        let id = format!("old{i}");
        state.outcomes.push(outcome(
            at,
            &id,
            NudgeKind::Intervention,
            9,
            NudgeOutcome::Delivered,
        ));
        state.outcomes.push(outcome(
            at + Duration::minutes(5),
            &id,
            NudgeKind::Intervention,
            9,
            NudgeOutcome::Ignored,
        ));
    }
    let plan = plan_nudges(now, zone, &NudgePreferences::consented(), &state);
    plan.nudges
        .into_iter()
        .find(|n| n.kind == NudgeKind::Intervention)
        .expect("an intervention nudge")
}

#[test]
fn each_kind_says_what_it_asks_and_links_to_it() {
    let coaching = planned(coaching(), 0);
    assert_eq!(coaching.body.key, "nudge.coaching.body");
    assert!(coaching
        .body
        .text
        .starts_with("mara would like a short coaching conversation"));
    assert_eq!(coaching.deep_link, "tidbit://intervention/i1");
    let mentoring = planned(mentoring(), 0);
    assert_eq!(mentoring.title.text, "A mentor for 'scene-safety'");
    assert_eq!(mentoring.body.args["mentor"], "ana");
    let aid = planned(job_aid(), 0);
    assert_eq!(aid.body.key, "nudge.job_aid.body");
    assert_eq!(
        aid.deep_link,
        "tidbit://job-aid/field-safety/scene-check-card?intervention=i1"
    );
}

#[test]
fn after_repeated_ignores_each_kind_softens_in_its_own_words() {
    for (action, key) in [
        (coaching(), "nudge.coaching.soft"),
        (mentoring(), "nudge.mentoring.soft"),
        (job_aid(), "nudge.job_aid.soft"),
        (InterventionAction::Module, "nudge.office_hours"),
    ] {
        assert!(!planned(action.clone(), 0).soft);
        let soft = planned(action, 2);
        assert!(soft.soft);
        assert_eq!(soft.variant, "soft");
        assert_eq!(soft.title.text, "Just a moment?");
        assert_eq!(soft.body.key, key);
    }
}

#[test]
fn a_missed_intervention_of_another_kind_is_reported_with_its_kind() {
    let zone = tz("Europe/Berlin");
    let triggered = utc("2026-09-21T08:00:00Z");
    let now = triggered + Duration::hours(60);
    let mut state = overdue(0, now);
    let mut late = intervention("late", triggered, 24);
    late.action = job_aid();
    state.interventions = vec![late];
    let plan = plan_nudges(now, zone, &NudgePreferences::consented(), &state);
    assert_eq!(plan.missed.len(), 1);
    assert_eq!(plan.missed[0].kind, InterventionKind::JobAid);
    assert!(
        plan.missed[0]
            .why
            .starts_with("job aid intervention: its deadline"),
        "{}",
        plan.missed[0].why
    );
    assert!(plan.missed[0].why.contains("24 h"));
}
