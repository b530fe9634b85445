//! Composing a placed nudge: its message variant, localisable title and body, deep link and
//! stable id. Placement decides when; this decides what it says, and never moves it.

use chrono::{DateTime, Utc};

use super::bandit::SendTimeBandit;
use super::candidate::{Candidate, Content};
use super::slots::Slot;
use super::wording::{intervention_texts, message, office_hours, soft_title};
use super::{Nudge, NudgeKind, PlanningState};
use crate::time_zone::Zone;

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The nudge for `candidate` at `slot`: its variant, texts, deep link and stable id.
pub(super) fn compose(
    candidate: &Candidate,
    slot: Slot,
    zone: Zone,
    state: &PlanningState,
    bandit: &mut SendTimeBandit,
) -> Nudge {
    let soft = candidate.fatigue.soften();
    let variants = candidate.kind.wordings();
    // An experiment's arm decides the wording; otherwise the bandit learns it.
    let assigned = state
        .wording
        .get(&candidate.kind)
        .and_then(|w| variants.iter().copied().find(|v| *v == w.as_str()));
    let variant = match (soft, assigned) {
        (true, _) => "soft",
        (false, Some(assigned)) => assigned,
        (false, None) => bandit.choose_variant(candidate.kind, variants, slot.at),
    };
    bandit.use_variant(candidate.kind, variant, slot.at);
    let (title, body, deep_link) = match &candidate.content {
        Content::Reinforcement => {
            let items = state
                .due_ms
                .partition_point(|&d| d <= slot.at.timestamp_millis())
                as u32
                + state.remediations;
            let items = items.max(1);
            let seconds = items * state.seconds_per_item.max(5);
            let minutes = seconds.div_ceil(60).max(1);
            let args = [
                ("items", items.to_string()),
                ("minutes", minutes.to_string()),
            ];
            let title = message(
                "nudge.reinforcement_due.title",
                &[],
                "Time for a quick review".into(),
            );
            match variant {
                "soft" => (
                    soft_title(),
                    message(
                        "nudge.reinforcement_due.soft",
                        &[("seconds", "30".into())],
                        "One question, about 30 seconds.".into(),
                    ),
                    "tidbit://review?items=1".to_string(),
                ),
                "minutes" => (
                    title,
                    message(
                        "nudge.reinforcement_due.minutes",
                        &args,
                        format!(
                            "{} keeps {} fresh",
                            plural(minutes, "minute", "minutes"),
                            plural(items, "idea", "ideas")
                        ),
                    ),
                    format!("tidbit://review?minutes={minutes}"),
                ),
                _ => (
                    title,
                    message(
                        "nudge.reinforcement_due.count",
                        &args,
                        format!(
                            "{} due, about {}",
                            plural(items, "item", "items"),
                            plural(minutes, "minute", "minutes")
                        ),
                    ),
                    format!("tidbit://review?minutes={minutes}"),
                ),
            }
        }
        Content::FollowUp {
            course,
            module,
            title,
        } => {
            let args = [("module", title.clone())];
            let link = format!("tidbit://booster/{course}/{module}");
            let heading = message(
                "nudge.module_follow_up.title",
                &args,
                format!("Follow-up: {title}"),
            );
            match variant {
                "soft" => (
                    soft_title(),
                    office_hours(title),
                    format!("tidbit://office-hours?module={module}"),
                ),
                "recall" => (
                    heading,
                    message(
                        "nudge.module_follow_up.recall",
                        &args,
                        format!("Lock in '{title}' with a two-minute recall."),
                    ),
                    link,
                ),
                _ => (
                    heading,
                    message(
                        "nudge.module_follow_up.challenge",
                        &args,
                        "Three days on: can you still do it? A two-minute challenge.".into(),
                    ),
                    link,
                ),
            }
        }
        Content::Streak { days } => {
            let args = [("days", days.to_string())];
            let heading = message(
                "nudge.streak_at_risk.title",
                &args,
                format!("Keep your {days}-day streak"),
            );
            match variant {
                "soft" => (
                    soft_title(),
                    message(
                        "nudge.streak_at_risk.soft",
                        &args,
                        "No pressure: one card today keeps your streak alive.".into(),
                    ),
                    "tidbit://session?minutes=1".to_string(),
                ),
                "one_card" => (
                    heading,
                    message(
                        "nudge.streak_at_risk.one_card",
                        &args,
                        format!("One card is enough to keep your {days}-day streak."),
                    ),
                    "tidbit://session?minutes=1".to_string(),
                ),
                _ => (
                    heading,
                    message(
                        "nudge.streak_at_risk.streak",
                        &args,
                        "One short session before midnight keeps it going.".into(),
                    ),
                    "tidbit://session?minutes=2".to_string(),
                ),
            }
        }
        Content::CohortDuty(duty) => {
            let args = [
                ("author", duty.author.clone()),
                ("prompt", duty.prompt.clone()),
                ("role", duty.role.clone()),
            ];
            (
                message(
                    "nudge.cohort_prompt.title",
                    &args,
                    "Your turn to review".into(),
                ),
                message(
                    "nudge.cohort_prompt.body",
                    &args,
                    format!(
                        "Your turn to review {}'s answer to '{}'.",
                        duty.author, duty.prompt
                    ),
                ),
                format!("tidbit://cohort/{}/share/{}", duty.cohort, duty.share),
            )
        }
        Content::Intervention(intervention) => {
            let deadline = intervention
                .deadline
                .with_timezone(&zone)
                .format("%a %H:%M")
                .to_string();
            intervention_texts(intervention, soft, &deadline)
        }
    };
    Nudge {
        id: nudge_id(candidate.kind, &candidate.subject, slot.at, variant),
        kind: candidate.kind,
        subject: candidate.subject.clone(),
        fire_at_utc: slot.at,
        fire_at_local: slot.at.with_timezone(&zone).fixed_offset(),
        title,
        body,
        deep_link,
        variant: variant.to_string(),
        soft,
        value: candidate.value,
        deadline_utc: match &candidate.content {
            Content::Intervention(i) => Some(i.deadline),
            _ => None,
        },
    }
}

/// A stable id: the same kind, subject, time and variant give the same id.
pub fn nudge_id(kind: NudgeKind, subject: &str, at: DateTime<Utc>, variant: &str) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [
        "tidbit-nudge-v1",
        kind.name(),
        subject,
        &at.timestamp().to_string(),
        variant,
    ] {
        context.update(part.as_bytes());
        context.update(&[0]);
    }
    hex::encode(&context.finish().as_ref()[..16])
}
