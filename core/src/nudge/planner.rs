//! The planning pass: candidates from the learner's state, then a greedy placement by value.
//!
//! Candidates (interventions, module follow-ups, batched reinforcement per local day, streak at
//! risk on the evenings ahead) each get a window and a value; fatigue lowers the value and
//! widens the gap between nudges of a kind. Candidates are placed from the most valuable down,
//! each in the best free slot of its window: interventions in the first free slot (speed is
//! what they are for), the others on their earliest free day at the hour the bandit ranks best.
//! A slot is free when the local day is under the cap and no placed nudge is closer than the
//! minimum spacing. Once the plan holds the pending limit, the rest are dropped, so what is
//! kept is always the most valuable.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::bandit::SendTimeBandit;
use super::candidate::{Candidate, Content};
use super::compose::compose;
use super::fatigue::Fatigue;
use super::slots::{allowed_slots, local_date, start_of_local_day, Slot};
use super::{
    Intervention, MissedIntervention, Nudge, NudgeKind, NudgePlan, NudgePreferences,
    PlanningDecision, PlanningState, MAX_PENDING,
};
use crate::events::InterventionKind;
use crate::time_zone::Zone;

/// Days after a module is finished that its follow-up challenge goes out.
pub const FOLLOW_UP_AFTER_DAYS: i64 = 3;
/// How long a follow-up stays worth sending.
const FOLLOW_UP_WINDOW_HOURS: i64 = 48;
/// Local hour from which a streak is "at risk" on a day with no activity.
const EVENING_HOUR: u32 = 18;
/// Days ahead for which a streak-at-risk reminder is planned (today and tomorrow): later ones
/// depend on activity nobody can know yet, and the next plan adds them.
const STREAK_DAYS_AHEAD: usize = 2;
/// Each day further out is worth a little less.
const DAY_DISCOUNT: f64 = 0.97;

/// Plans the notifications for `prefs.days` days from `now` in `zone`. Pure: the same inputs
/// give the same plan, ids and times included.
pub fn plan_nudges(
    now: DateTime<Utc>,
    zone: Zone,
    prefs: &NudgePreferences,
    state: &PlanningState,
) -> NudgePlan {
    let mut plan = NudgePlan {
        planned_at: now,
        time_zone: zone.name().to_string(),
        nudges: Vec::new(),
        missed: Vec::new(),
        decisions: Vec::new(),
    };
    if !prefs.consent {
        plan.decisions.push(PlanningDecision {
            action: "withheld".into(),
            kind: None,
            subject: String::new(),
            nudge: None,
            reason: "the learner has not agreed to notifications: nothing is planned".into(),
        });
        return plan;
    }
    let fatigue = Fatigue::from_outcomes(&state.outcomes, now);
    let mut bandit = match state.personalised {
        true => SendTimeBandit::from_outcomes(&state.outcomes),
        false => SendTimeBandit::default(),
    };
    let slots = allowed_slots(now, zone, prefs);
    let mut candidates = candidates(now, zone, prefs, state, &fatigue, &mut plan);
    candidates.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then(a.kind.cmp(&b.kind))
            .then(a.earliest.cmp(&b.earliest))
            .then(a.subject.cmp(&b.subject))
    });

    let limit = prefs.max_pending.min(MAX_PENDING);
    let today = local_date(now, zone);
    let mut per_day: BTreeMap<usize, u32> = BTreeMap::new();
    let mut kind_days: BTreeMap<NudgeKind, Vec<i64>> = BTreeMap::new();
    for (kind, state) in &fatigue.kinds {
        if let Some(last) = state.last_delivered {
            let day = (local_date(last, zone) - today).num_days();
            kind_days.entry(*kind).or_default().push(day);
        }
    }
    let spacing = Duration::minutes(i64::from(prefs.min_spacing_minutes));
    for candidate in candidates {
        let drop = |plan: &mut NudgePlan, reason: String| {
            plan.decisions.push(PlanningDecision {
                action: "dropped".into(),
                kind: Some(candidate.kind),
                subject: candidate.subject.clone(),
                nudge: None,
                reason,
            });
        };
        if plan.nudges.len() >= limit {
            drop(
                &mut plan,
                format!(
                    "the plan already holds {limit} more valuable notifications, the most the platform keeps pending"
                ),
            );
            continue;
        }
        let gap = if candidate.kind == NudgeKind::Intervention {
            1
        } else {
            candidate.fatigue.gap_days()
        };
        let used_days = kind_days.get(&candidate.kind).cloned().unwrap_or_default();
        let free = |slot: &Slot| {
            slot.at >= candidate.earliest
                && slot.at <= candidate.latest
                && per_day.get(&slot.day).copied().unwrap_or(0) < prefs.daily_cap
                && plan
                    .nudges
                    .iter()
                    .all(|n| (n.fire_at_utc - slot.at).abs() >= spacing)
                && (gap <= 1
                    || used_days
                        .iter()
                        .all(|&d| (slot.day as i64 - d).abs() >= i64::from(gap)))
        };
        let chosen = if candidate.kind == NudgeKind::Intervention {
            slots.iter().find(|s| free(s)).copied()
        } else {
            best_slot(&slots, &free, &bandit)
        };
        let Some(slot) = chosen else {
            let reason =
                unplaceable_reason(&candidate, prefs, gap) + &push_note(&candidate.content);
            if let Content::Intervention(intervention) = &candidate.content {
                record_missed(&mut plan, intervention, reason);
            } else {
                drop(&mut plan, reason);
            }
            continue;
        };
        let nudge = compose(&candidate, slot, zone, state, &mut bandit);
        plan.decisions.push(PlanningDecision {
            action: "placed".into(),
            kind: Some(nudge.kind),
            subject: nudge.subject.clone(),
            nudge: Some(nudge.id.clone()),
            reason: placed_reason(&candidate, &nudge, gap),
        });
        *per_day.entry(slot.day).or_default() += 1;
        kind_days
            .entry(candidate.kind)
            .or_default()
            .push(slot.day as i64);
        plan.nudges.push(nudge);
    }
    plan.nudges
        .sort_by(|a, b| a.fire_at_utc.cmp(&b.fire_at_utc).then(a.id.cmp(&b.id)));
    plan
}

/// The earliest day with a free slot, at the hour the bandit ranks best that day.
fn best_slot(
    slots: &[Slot],
    free: &dyn Fn(&Slot) -> bool,
    bandit: &SendTimeBandit,
) -> Option<Slot> {
    let first = slots.iter().find(|s| free(s))?;
    let day: Vec<Slot> = slots
        .iter()
        .filter(|s| s.day == first.day && free(s))
        .copied()
        .collect();
    let mut hours: Vec<u8> = day.iter().map(Slot::hour).collect();
    hours.dedup();
    let best = *bandit.rank_hours(&hours).first()?;
    day.into_iter().find(|s| s.hour() == best)
}

fn candidates(
    now: DateTime<Utc>,
    zone: Zone,
    prefs: &NudgePreferences,
    state: &PlanningState,
    fatigue: &Fatigue,
    plan: &mut NudgePlan,
) -> Vec<Candidate> {
    let horizon = now + Duration::days(i64::from(prefs.days));
    let today = local_date(now, zone);
    let day_of = |at: DateTime<Utc>| (local_date(at, zone) - today).num_days().max(0) as i32;
    let mut out = Vec::new();

    let intervention_fatigue = fatigue.kind(NudgeKind::Intervention);
    for intervention in &state.interventions {
        let subject = intervention.id.clone();
        if fatigue
            .shown_subjects
            .contains(&(NudgeKind::Intervention, subject.clone()))
            || fatigue.missed_recorded.contains(&subject)
        {
            continue;
        }
        if intervention.deadline <= now {
            let window = (intervention.deadline - intervention.triggered_at).num_hours();
            let scheduled = state.outcomes.iter().find(|o| {
                o.kind == NudgeKind::Intervention
                    && o.subject == intervention.id
                    && o.outcome == super::NudgeOutcome::Scheduled
            });
            let mut why = if let Some(scheduled) = scheduled {
                format!(
                    "it was handed to the system at {} but no delivery was reported before its deadline ({}): the notification was blocked or the app never ran",
                    scheduled.at.to_rfc3339(),
                    intervention.deadline.to_rfc3339(),
                )
            } else {
                format!(
                "its deadline ({}) passed before this device could show it: it was triggered at {} and reached the planner only at {}, so the device was offline (or never planned) for longer than the {window} h it allowed",
                intervention.deadline.to_rfc3339(),
                intervention.triggered_at.to_rfc3339(),
                now.to_rfc3339(),
            )
            };
            why.push_str(&push_note(&Content::Intervention(intervention.clone())));
            record_missed(plan, intervention, why);
            continue;
        }
        let hours_left = (intervention.deadline - now).num_minutes() as f64 / 60.0;
        out.push(Candidate {
            kind: NudgeKind::Intervention,
            subject,
            earliest: now,
            latest: intervention.deadline.min(horizon),
            // Always above everything else; the sooner the deadline, the higher.
            value: 100.0 + 1.0 / (1.0 + hours_left),
            fatigue: intervention_fatigue.clone(),
            content: Content::Intervention(intervention.clone()),
        });
    }

    // Cohort duties: "your turn to review Ana's answer", once per answer, within the week.
    let cohort_fatigue = fatigue.kind(NudgeKind::CohortPrompt);
    for duty in &state.cohort_duties {
        let subject = format!("{}/{}", duty.cohort, duty.share);
        if duty.until <= now
            || fatigue
                .shown_subjects
                .contains(&(NudgeKind::CohortPrompt, subject.clone()))
        {
            continue;
        }
        out.push(Candidate {
            kind: NudgeKind::CohortPrompt,
            subject,
            earliest: now,
            latest: duty.until.min(horizon),
            // Below an intervention, above routine reinforcement: a peer is waiting.
            value: 20.0,
            fatigue: cohort_fatigue.clone(),
            content: Content::CohortDuty(duty.clone()),
        });
    }

    let follow_fatigue = fatigue.kind(NudgeKind::ModuleFollowUp);
    for module in &state.finished_modules {
        let at = module.completed_at + Duration::days(FOLLOW_UP_AFTER_DAYS);
        let until = at + Duration::hours(FOLLOW_UP_WINDOW_HOURS);
        let subject = format!("{}/{}", module.course, module.module);
        if until <= now
            || at > horizon
            || fatigue
                .shown_subjects
                .contains(&(NudgeKind::ModuleFollowUp, subject.clone()))
        {
            continue;
        }
        let earliest = at.max(now);
        out.push(Candidate {
            kind: NudgeKind::ModuleFollowUp,
            subject,
            earliest,
            latest: until.min(horizon),
            value: 2.5 * follow_fatigue.rate() * DAY_DISCOUNT.powi(day_of(earliest)),
            fatigue: follow_fatigue.clone(),
            content: Content::FollowUp {
                course: module.course.clone(),
                module: module.module.clone(),
                title: module.title.clone(),
            },
        });
    }

    let review_fatigue = fatigue.kind(NudgeKind::ReinforcementDue);
    let streak_fatigue = fatigue.kind(NudgeKind::StreakAtRisk);
    for day in 0..=prefs.days as usize {
        let Some(date) = today.checked_add_days(chrono::Days::new(day as u64)) else {
            break;
        };
        let next = date.succ_opt().unwrap_or(date);
        let start = if day == 0 {
            now
        } else {
            start_of_local_day(date, zone)
        };
        let end = start_of_local_day(next, zone).min(horizon);
        if start >= end {
            continue;
        }
        // Reinforcement: once anything is due that day.
        let due_before_start = state
            .due_ms
            .partition_point(|&d| d <= start.timestamp_millis());
        let due_by_end = state
            .due_ms
            .partition_point(|&d| d < end.timestamp_millis());
        let subject = format!("review/{date}");
        let shown = fatigue
            .shown_subjects
            .contains(&(NudgeKind::ReinforcementDue, subject.clone()));
        if due_by_end as u32 + state.remediations > 0 && !shown {
            let earliest = if due_before_start as u32 + state.remediations > 0 {
                start
            } else {
                DateTime::from_timestamp_millis(state.due_ms[due_before_start]).unwrap_or(start)
            };
            let count = due_by_end as f64 + f64::from(state.remediations);
            out.push(Candidate {
                kind: NudgeKind::ReinforcementDue,
                subject,
                earliest,
                latest: end - Duration::seconds(1),
                value: (2.0 + (1.0 + count).ln() / 101f64.ln()).min(3.0)
                    * review_fatigue.rate()
                    * DAY_DISCOUNT.powi(day as i32),
                fatigue: review_fatigue.clone(),
                content: Content::Reinforcement,
            });
        }
        // Streak at risk: the evening of a day with no activity yet.
        let at_risk = state.streak_days > 0
            && day < STREAK_DAYS_AHEAD
            && !(day == 0 && state.practised_today);
        let subject = format!("streak/{date}");
        if at_risk
            && !fatigue
                .shown_subjects
                .contains(&(NudgeKind::StreakAtRisk, subject.clone()))
        {
            let evening = date
                .and_hms_opt(EVENING_HOUR, 0, 0)
                .and_then(|t| zone.from_local_datetime(&t).earliest())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(start);
            let days = if day == 0 || state.practised_today {
                state.streak_days
            } else {
                state.streak_days + 1
            };
            if evening.max(start) < end {
                out.push(Candidate {
                    kind: NudgeKind::StreakAtRisk,
                    subject,
                    earliest: evening.max(start),
                    latest: end - Duration::seconds(1),
                    value: (1.5 + f64::from(days.min(30)) / 30.0)
                        * streak_fatigue.rate()
                        * DAY_DISCOUNT.powi(day as i32),
                    fatigue: streak_fatigue.clone(),
                    content: Content::Streak { days },
                });
            }
        }
    }
    out
}

/// Records that `intervention` will not be shown before its deadline, and why (its kind named
/// for all but a module).
fn record_missed(plan: &mut NudgePlan, intervention: &Intervention, why: String) {
    let kind = intervention.action.kind();
    let why = match kind {
        InterventionKind::Module => why,
        kind => format!("{} intervention: {why}", kind.name().replace('_', " ")),
    };
    plan.missed.push(MissedIntervention {
        intervention: intervention.id.clone(),
        kind,
        module: intervention.module.clone(),
        deadline_utc: intervention.deadline,
        why: why.clone(),
    });
    plan.decisions.push(PlanningDecision {
        action: "missed".into(),
        kind: Some(NudgeKind::Intervention),
        subject: intervention.id.clone(),
        nudge: None,
        reason: why,
    });
}

fn unplaceable_reason(candidate: &Candidate, prefs: &NudgePreferences, gap: u32) -> String {
    let window = format!(
        "{} to {}",
        candidate.earliest.to_rfc3339(),
        candidate.latest.to_rfc3339()
    );
    match candidate.kind {
        NudgeKind::Intervention => format!(
            "no free slot before the deadline ({window}): quiet hours, preferred windows, days off, meetings, the daily cap of {} and the {} min spacing fill every slot",
            prefs.daily_cap, prefs.min_spacing_minutes
        ),
        _ if gap > 1 => format!(
            "no free slot in {window}: {} ignored in a row lowered this kind to one every {gap} days, and the cap of {} a day, quiet hours, meetings and spacing fill the rest",
            candidate.fatigue.ignored_in_a_row, prefs.daily_cap
        ),
        _ => format!(
            "no free slot in {window}: the daily cap of {}, the {} min spacing, quiet hours, preferred windows, days off or meetings fill it",
            prefs.daily_cap, prefs.min_spacing_minutes
        ),
    }
}

fn placed_reason(candidate: &Candidate, nudge: &Nudge, gap: u32) -> String {
    let what = match &candidate.content {
        Content::Reinforcement => format!(
            "{} due",
            nudge.body.args.get("items").map_or("items", |s| s)
        ),
        Content::FollowUp { module, .. } => {
            format!("module '{module}' was finished {FOLLOW_UP_AFTER_DAYS} days before")
        }
        Content::Streak { days } => format!("a {days}-day streak with no activity yet that day"),
        Content::Intervention(i) => format!("intervention '{}' ({})", i.reason, i.module),
        Content::CohortDuty(duty) => format!(
            "the learner is this week's {} in cohort '{}' and {}'s answer waits for their feedback",
            duty.role, duty.cohort, duty.author
        ),
    };
    let mut reason = format!(
        "{}: {what}; value {:.2}; at {} local ({}), the {} free slot",
        candidate.kind.name(),
        candidate.value,
        nudge.fire_at_local.format("%Y-%m-%d %H:%M"),
        nudge.variant,
        if candidate.kind == NudgeKind::Intervention {
            "first"
        } else {
            "best-opened"
        }
    );
    if gap > 1 {
        reason.push_str(&format!(
            "; {} ignored in a row: one every {gap} days",
            candidate.fatigue.ignored_in_a_row
        ));
    }
    if nudge.soft {
        reason.push_str("; softened after repeated ignores");
    }
    reason.push_str(&push_note(&candidate.content));
    reason
}

/// For an intervention whose push the server reported as not delivered to this device: the
/// words a decision's reason ends with (empty otherwise).
fn push_note(content: &Content) -> String {
    match content {
        Content::Intervention(Intervention {
            undelivered_push: Some(why),
            ..
        }) => format!(
            "; the server's push for it did not reach this device ({why}), so this local reminder is all the learner gets"
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nudge::{Intervention, PlanningDecision, PlanningState};

    fn now() -> DateTime<Utc> {
        // A Tuesday, 09:00 in Berlin.
        DateTime::parse_from_rfc3339("2026-09-22T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn state(undelivered_push: Option<&str>, hours: i64) -> PlanningState {
        PlanningState {
            seconds_per_item: 24,
            interventions: vec![Intervention {
                id: "i1".into(),
                course: Some("field-safety".into()),
                module: "scene-safety".into(),
                reason: "two below-target sprints".into(),
                triggered_at: now() - Duration::hours(1),
                deadline: now() + Duration::hours(hours),
                undelivered_push: undelivered_push.map(str::to_string),
                action: Default::default(),
            }],
            ..PlanningState::default()
        }
    }

    fn decision(plan: &NudgePlan) -> &PlanningDecision {
        plan.decisions
            .iter()
            .find(|d| d.subject == "i1")
            .expect("a decision about the intervention")
    }

    fn berlin() -> Zone {
        Zone::named("Europe/Berlin").unwrap()
    }

    #[test]
    fn an_intervention_whose_push_failed_gets_a_local_reminder_that_says_so() {
        let prefs = NudgePreferences::consented();
        let why = "apns answered unregistered: Unregistered";
        let plan = plan_nudges(now(), berlin(), &prefs, &state(Some(why), 24));
        let placed = decision(&plan);
        assert_eq!(placed.action, "placed");
        assert!(
            placed.reason.ends_with(&format!(
                "; the server's push for it did not reach this device ({why}), so this local reminder is all the learner gets"
            )),
            "{}",
            placed.reason
        );
        let reminder = plan
            .nudges
            .iter()
            .find(|n| n.subject == "i1")
            .expect("a local reminder");
        assert_eq!(reminder.kind, NudgeKind::Intervention);
        // The first free slot: the next quarter hour.
        assert_eq!(reminder.fire_at_utc, now() + Duration::minutes(15));
    }

    #[test]
    fn an_intervention_whose_push_was_delivered_or_never_reported_says_nothing_of_push() {
        let prefs = NudgePreferences::consented();
        let plan = plan_nudges(now(), berlin(), &prefs, &state(None, 24));
        let placed = decision(&plan);
        assert_eq!(placed.action, "placed");
        assert!(!placed.reason.contains("push"), "{}", placed.reason);
    }

    #[test]
    fn a_missed_intervention_whose_push_failed_says_both() {
        // Every slot before the deadline is in quiet hours: nothing can be placed.
        let prefs = NudgePreferences {
            quiet_hours: Some(crate::nudge::LocalWindow::hm((8, 0), (23, 0))),
            ..NudgePreferences::consented()
        };
        let plan = plan_nudges(
            now(),
            berlin(),
            &prefs,
            &state(Some("fcm answered failed: QUOTA_EXCEEDED"), 2),
        );
        let missed = decision(&plan);
        assert_eq!(missed.action, "missed");
        assert!(
            missed
                .reason
                .starts_with("no free slot before the deadline"),
            "{}",
            missed.reason
        );
        assert!(
            missed
                .reason
                .contains("did not reach this device (fcm answered failed: QUOTA_EXCEEDED)"),
            "{}",
            missed.reason
        );
        assert_eq!(plan.missed.len(), 1);
        assert!(plan.missed[0].why.contains("QUOTA_EXCEEDED"));
    }
}
