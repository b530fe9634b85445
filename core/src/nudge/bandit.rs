//! Send-time learning: a sleeping, recovering bandit over message variants and hour slots.
//!
//! Each arm (a kind's message variant, or a local hour) scores the posterior mean of its open
//! rate (a Beta(1, 1) prior over delivered and opened nudges) plus an exploration bonus that
//! shrinks as the arm is tried (UCB). Arms *sleep* when they are not eligible (a variant of
//! another kind, an hour outside the day's free slots): they are neither chosen nor penalised.
//! Variant arms *recover*: right after use their score is damped, and the damping fades with
//! rest, so a learner does not read the same sentence every day (the recency penalty of
//! Duolingo's recovering bandit for recurring notifications). Everything is derived from the
//! outcome events and the instant, with ties broken by arm order: the same events give the same
//! choices.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{NudgeKind, NudgeOutcome, OutcomeRecord};

/// Weight of the exploration bonus.
pub const EXPLORATION: f64 = 0.25;
/// Hours over which a used variant recovers (its damping falls by e each period).
pub const RECOVERY_HOURS: f64 = 24.0;
/// How much a variant used just now is damped.
pub const RECENCY_PENALTY: f64 = 0.5;

#[derive(Debug, Clone, Default, PartialEq)]
struct Arm {
    delivered: u32,
    opened: u32,
    last_used: Option<DateTime<Utc>>,
}

/// The bandit's state for one learner.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SendTimeBandit {
    variants: BTreeMap<(NudgeKind, String), Arm>,
    hours: BTreeMap<u8, Arm>,
    delivered: u32,
}

impl SendTimeBandit {
    pub fn from_outcomes(outcomes: &[OutcomeRecord]) -> SendTimeBandit {
        let mut bandit = SendTimeBandit::default();
        for record in outcomes {
            let variant = bandit
                .variants
                .entry((record.kind, record.variant.clone()))
                .or_default();
            let hour = bandit.hours.entry(record.local_hour).or_default();
            match record.outcome {
                NudgeOutcome::Delivered => {
                    variant.delivered += 1;
                    hour.delivered += 1;
                    variant.last_used = Some(record.at);
                    hour.last_used = Some(record.at);
                    bandit.delivered += 1;
                }
                NudgeOutcome::Opened => {
                    variant.opened += 1;
                    hour.opened += 1;
                }
                _ => {}
            }
        }
        bandit
    }

    fn score(&self, arm: Option<&Arm>) -> f64 {
        let (delivered, opened) = arm.map_or((0, 0), |a| (a.delivered, a.opened.min(a.delivered)));
        let mean = (f64::from(opened) + 1.0) / (f64::from(delivered) + 2.0);
        let bonus = EXPLORATION
            * ((f64::from(self.delivered) + 2.0).ln() / (f64::from(delivered) + 1.0)).sqrt();
        mean + bonus
    }

    /// The best of `variants` of `kind` to send at `at` (the first on a tie).
    pub fn choose_variant<'a>(
        &self,
        kind: NudgeKind,
        variants: &[&'a str],
        at: DateTime<Utc>,
    ) -> &'a str {
        let mut best: Option<(&'a str, f64)> = None;
        for &variant in variants {
            let arm = self.variants.get(&(kind, variant.to_string()));
            let recovery = match arm.and_then(|a| a.last_used) {
                Some(last) if last <= at => {
                    let hours = (at - last).num_minutes() as f64 / 60.0;
                    1.0 - RECENCY_PENALTY * (-hours / RECOVERY_HOURS).exp()
                }
                Some(_) => 1.0 - RECENCY_PENALTY,
                None => 1.0,
            };
            let score = self.score(arm) * recovery;
            if best.is_none_or(|(_, s)| score > s + 1e-12) {
                best = Some((variant, score));
            }
        }
        best.map_or(variants.first().copied().unwrap_or("default"), |(v, _)| v)
    }

    /// The eligible hours (awake arms) from best to worst; ties keep the earlier hour first.
    pub fn rank_hours(&self, eligible: &[u8]) -> Vec<u8> {
        let mut ranked: Vec<(u8, f64)> = eligible
            .iter()
            .map(|&h| (h, self.score(self.hours.get(&h))))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.into_iter().map(|(h, _)| h).collect()
    }

    /// Notes that the plan sends `variant` of `kind` at `at`, so later nudges in the same plan
    /// see it resting.
    pub fn use_variant(&mut self, kind: NudgeKind, variant: &str, at: DateTime<Utc>) {
        let arm = self
            .variants
            .entry((kind, variant.to_string()))
            .or_default();
        if arm.last_used.is_none_or(|last| last < at) {
            arm.last_used = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: i64, hour: u8, variant: &str, outcome: NudgeOutcome) -> OutcomeRecord {
        OutcomeRecord {
            at: DateTime::from_timestamp(at, 0).unwrap(),
            nudge: format!("n{at}"),
            kind: NudgeKind::ReinforcementDue,
            subject: "s".into(),
            variant: variant.into(),
            local_hour: hour,
            outcome,
        }
    }

    #[test]
    fn an_hour_that_gets_opened_ranks_above_one_that_does_not() {
        let mut outcomes = Vec::new();
        for day in 0..6 {
            let t = 1_800_000_000 + day * 86_400;
            outcomes.push(record(t, 9, "count", NudgeOutcome::Delivered));
            outcomes.push(record(t + 1, 18, "count", NudgeOutcome::Delivered));
            outcomes.push(record(t + 60, 18, "count", NudgeOutcome::Opened));
        }
        let bandit = SendTimeBandit::from_outcomes(&outcomes);
        assert_eq!(bandit.rank_hours(&[9, 12, 18]), vec![18, 12, 9]);
        // An hour that is asleep is never proposed.
        assert_eq!(bandit.rank_hours(&[9]), vec![9]);
    }

    #[test]
    fn a_variant_just_used_rests_and_the_other_goes_out() {
        let mut bandit = SendTimeBandit::default();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            bandit.choose_variant(NudgeKind::ReinforcementDue, &["count", "minutes"], at),
            "count"
        );
        bandit.use_variant(NudgeKind::ReinforcementDue, "count", at);
        let next_day = at + chrono::Duration::days(1);
        assert_eq!(
            bandit.choose_variant(NudgeKind::ReinforcementDue, &["count", "minutes"], next_day),
            "minutes"
        );
    }
}
