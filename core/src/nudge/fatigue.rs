//! Fatigue and softening: ignored nudges lower the rate of their kind; opened ones restore it.
//!
//! Read from the outcome events alone, in the log's order. Each ignored (or dismissed) nudge of
//! a kind since the last opened one halves how often that kind may fire (one a day, then one
//! every 2, 4, at most 8 days). After [`SOFTEN_AFTER`] ignores in a row the next nudge of the
//! kind is softer (a shorter ask, an invitation to office hours), never an escalation.
//! Interventions keep their rate, since they carry a deadline, but soften the same way.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::{NudgeKind, NudgeOutcome, OutcomeRecord};

/// A delivered nudge left alone this long counts as ignored.
pub const IGNORED_AFTER_HOURS: i64 = 12;
/// Ignores in a row after which the next nudge of the kind is softer.
pub const SOFTEN_AFTER: u32 = 2;
/// The longest gap, in days, fatigue can put between two nudges of a kind.
pub const MAX_GAP_DAYS: u32 = 8;

/// What the outcomes say about one kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindFatigue {
    /// Ignored or dismissed since the last opened one.
    pub ignored_in_a_row: u32,
    /// When the last nudge of the kind was shown.
    pub last_delivered: Option<DateTime<Utc>>,
}

impl KindFatigue {
    /// The share of the full rate (1, 1/2, 1/4, 1/8).
    pub fn rate(&self) -> f64 {
        1.0 / f64::from(self.gap_days())
    }

    /// Days between two nudges of this kind.
    pub fn gap_days(&self) -> u32 {
        1u32.checked_shl(self.ignored_in_a_row)
            .unwrap_or(MAX_GAP_DAYS)
            .min(MAX_GAP_DAYS)
    }

    pub fn soften(&self) -> bool {
        self.ignored_in_a_row >= SOFTEN_AFTER
    }
}

/// Fatigue per kind, and the subjects already shown (not to be planned again).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fatigue {
    pub kinds: BTreeMap<NudgeKind, KindFatigue>,
    pub shown_subjects: BTreeSet<(NudgeKind, String)>,
    pub missed_recorded: BTreeSet<String>,
}

impl Fatigue {
    /// Folds the outcomes (in the log's order) as seen at `now`.
    pub fn from_outcomes(outcomes: &[OutcomeRecord], now: DateTime<Utc>) -> Fatigue {
        let mut fatigue = Fatigue::default();
        // Per nudge: delivered at, and whether the learner reacted.
        let mut reacted: BTreeSet<&str> = BTreeSet::new();
        for record in outcomes {
            if matches!(
                record.outcome,
                NudgeOutcome::Opened | NudgeOutcome::Dismissed | NudgeOutcome::Ignored
            ) {
                reacted.insert(&record.nudge);
            }
        }
        let mut counted: BTreeSet<&str> = BTreeSet::new();
        for record in outcomes {
            let kind = fatigue.kinds.entry(record.kind).or_default();
            match record.outcome {
                NudgeOutcome::Scheduled => {}
                NudgeOutcome::Missed => {
                    fatigue.missed_recorded.insert(record.subject.clone());
                }
                NudgeOutcome::Delivered => {
                    kind.last_delivered = Some(record.at);
                    fatigue
                        .shown_subjects
                        .insert((record.kind, record.subject.clone()));
                    let left_alone = !reacted.contains(record.nudge.as_str())
                        && now - record.at >= Duration::hours(IGNORED_AFTER_HOURS);
                    if left_alone && counted.insert(&record.nudge) {
                        kind.ignored_in_a_row += 1;
                    }
                }
                NudgeOutcome::Opened => {
                    kind.ignored_in_a_row = 0;
                    counted.insert(&record.nudge);
                    fatigue
                        .shown_subjects
                        .insert((record.kind, record.subject.clone()));
                }
                NudgeOutcome::Dismissed | NudgeOutcome::Ignored => {
                    if counted.insert(&record.nudge) {
                        kind.ignored_in_a_row += 1;
                    }
                    fatigue
                        .shown_subjects
                        .insert((record.kind, record.subject.clone()));
                }
            }
        }
        fatigue
    }

    pub fn kind(&self, kind: NudgeKind) -> KindFatigue {
        self.kinds.get(&kind).cloned().unwrap_or_default()
    }
}
