//! Spaced reinforcement on the `fsrs` crate: every assessable item is a card.
//!
//! The memory model (stability, difficulty, retrievability) is FSRS-6 from the `fsrs` crate and
//! never re-implemented here. This file adds what a scheduler around it needs: learning and
//! relearning steps in minutes, grades from assessments, deterministic interval fuzz seeded by
//! card id and review count, and load balancing so no day spikes. Every function is pure.

use fsrs::{MemoryState, DEFAULT_PARAMETERS, FSRS};
use serde::{Deserialize, Serialize};

use crate::events::Grade;
use crate::learn::assess::{Assessment, Outcome, SelfRating};

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;
/// Steps of a new card before it graduates to day-scale review.
pub const LEARNING_STEPS_MINUTES: [i64; 2] = [1, 10];
/// Steps after a lapse before the card returns to review.
pub const RELEARNING_STEPS_MINUTES: [i64; 1] = [10];
pub const MAXIMUM_INTERVAL_DAYS: u32 = 36_500;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("the FSRS parameters are invalid ({0}): keep the previous ones")]
    Parameters(String),
    #[error("FSRS could not compute the next state ({0})")]
    Model(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Learning,
    Review,
    Relearning,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Learning => "learning",
            Phase::Review => "review",
            Phase::Relearning => "relearning",
        }
    }

    pub fn parse(text: &str) -> Phase {
        match text {
            "review" => Phase::Review,
            "relearning" => Phase::Relearning,
            _ => Phase::Learning,
        }
    }
}

/// A card's scheduling state after at least one review.
#[derive(Debug, Clone, PartialEq)]
pub struct CardState {
    pub phase: Phase,
    pub learning_step: u32,
    pub stability: f32,
    pub difficulty: f32,
    pub reps: u32,
    pub lapses: u32,
    pub last_review_ms: i64,
    pub due_ms: i64,
}

/// The grade an assessment earns: wrong → Again, partly right → Hard, right → Good, right and
/// faster than the learner's usual time for that kind → Easy. Flashcards are self-rated.
pub fn grade_for(assessment: &Assessment, response_ms: u32, usual_ms: Option<f64>) -> Grade {
    if let Some(rating) = assessment.self_rating {
        return match rating {
            SelfRating::Again => Grade::Again,
            SelfRating::Hard => Grade::Hard,
            SelfRating::Good => Grade::Good,
            SelfRating::Easy => Grade::Easy,
        };
    }
    match assessment.outcome {
        Outcome::Wrong => Grade::Again,
        Outcome::Partial => Grade::Hard,
        Outcome::Right => match usual_ms {
            Some(usual) if f64::from(response_ms) < usual * 0.75 => Grade::Easy,
            _ => Grade::Good,
        },
    }
}

/// FSRS with a course's desired retention.
pub struct Scheduler {
    fsrs: FSRS,
    parameters: Vec<f32>,
}

impl Scheduler {
    pub fn new(parameters: Option<&[f32]>) -> Result<Scheduler, ScheduleError> {
        let parameters = parameters.unwrap_or(&DEFAULT_PARAMETERS).to_vec();
        let fsrs = FSRS::new(&parameters).map_err(|e| ScheduleError::Parameters(e.to_string()))?;
        Ok(Scheduler { fsrs, parameters })
    }

    pub fn parameters(&self) -> &[f32] {
        &self.parameters
    }

    /// Probability of recall now for a card last reviewed at `last_review_ms`.
    pub fn retrievability(&self, stability: f32, last_review_ms: i64, now_ms: i64) -> f32 {
        let days = ((now_ms - last_review_ms).max(0) as f32) / DAY_MS as f32;
        let decay = self
            .parameters
            .get(20)
            .copied()
            .unwrap_or(fsrs::FSRS6_DEFAULT_DECAY);
        // Retrievability depends on stability alone; difficulty is not used by the curve.
        fsrs::current_retrievability(
            MemoryState {
                stability,
                difficulty: 5.0,
            },
            days,
            decay,
        )
    }

    /// The card after a review graded `grade` at `at_ms`. `card_id` seeds the fuzz; `load`
    /// gives how many cards are already due on a day number (days since the epoch), for load
    /// balancing.
    pub fn review(
        &self,
        card_id: &str,
        previous: Option<&CardState>,
        grade: Grade,
        at_ms: i64,
        desired_retention: f32,
        load: &mut dyn FnMut(i64) -> u32,
    ) -> Result<CardState, ScheduleError> {
        let elapsed_days = previous
            .map(|p| ((at_ms - p.last_review_ms).max(0) / DAY_MS) as u32)
            .unwrap_or(0);
        let memory = previous.map(|p| MemoryState {
            stability: p.stability,
            difficulty: p.difficulty,
        });
        let next = self
            .fsrs
            .next_states(memory, desired_retention, elapsed_days)
            .map_err(|e| ScheduleError::Model(e.to_string()))?;
        let chosen = match grade {
            Grade::Again => next.again,
            Grade::Hard => next.hard,
            Grade::Good => next.good,
            Grade::Easy => next.easy,
        };
        let reps = previous.map_or(0, |p| p.reps) + 1;
        let lapses = previous.map_or(0, |p| p.lapses);
        let mut state = CardState {
            phase: Phase::Learning,
            learning_step: 0,
            stability: chosen.memory.stability,
            difficulty: chosen.memory.difficulty,
            reps,
            lapses,
            last_review_ms: at_ms,
            due_ms: at_ms,
        };
        let graduate = |state: &mut CardState, load: &mut dyn FnMut(i64) -> u32| {
            let days = fuzzed_interval(chosen.interval, card_id, reps, at_ms, load);
            state.phase = Phase::Review;
            state.learning_step = 0;
            state.due_ms = at_ms + i64::from(days) * DAY_MS;
        };
        let in_minutes = |state: &mut CardState, phase: Phase, step: u32, minutes: i64| {
            state.phase = phase;
            state.learning_step = step;
            state.due_ms = at_ms + minutes * MINUTE_MS;
        };
        let phase = previous.map_or(Phase::Learning, |p| p.phase);
        let step = previous.map_or(0, |p| p.learning_step);
        match (phase, grade) {
            (_, Grade::Easy) => graduate(&mut state, load),
            (Phase::Review, Grade::Again) => {
                state.lapses += 1;
                in_minutes(
                    &mut state,
                    Phase::Relearning,
                    0,
                    RELEARNING_STEPS_MINUTES[0],
                );
            }
            (Phase::Review, _) => graduate(&mut state, load),
            (learning, grade) => {
                let steps: &[i64] = if learning == Phase::Relearning {
                    &RELEARNING_STEPS_MINUTES
                } else {
                    &LEARNING_STEPS_MINUTES
                };
                let step = (step as usize).min(steps.len() - 1);
                match grade {
                    Grade::Again => in_minutes(&mut state, learning, 0, steps[0]),
                    Grade::Hard => {
                        // Hard repeats the step; on the first step, halfway to the next one.
                        let minutes = if step == 0 && steps.len() > 1 {
                            (steps[0] + steps[1]) / 2
                        } else {
                            steps[step]
                        };
                        in_minutes(&mut state, learning, step as u32, minutes)
                    }
                    _ if step + 1 < steps.len() => {
                        in_minutes(&mut state, learning, step as u32 + 1, steps[step + 1])
                    }
                    _ => graduate(&mut state, load),
                }
            }
        }
        Ok(state)
    }
}

/// A deterministic number in [0, 1) from a card id and its review count.
fn seeded_unit(card_id: &str, reps: u32) -> f64 {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{card_id}\0{reps}").as_bytes(),
    );
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    (u64::from_be_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// The range FSRS implementations fuzz an interval within (Anki's ranges).
pub fn fuzz_range(interval: f32) -> (u32, u32) {
    let interval = f64::from(interval).clamp(1.0, f64::from(MAXIMUM_INTERVAL_DAYS));
    if interval < 2.5 {
        let days = interval.round() as u32;
        return (days, days);
    }
    let mut delta = 1.0;
    for (start, end, factor) in [(2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, f64::MAX, 0.05)] {
        delta += factor * (interval.min(end) - start).max(0.0);
    }
    let low = (interval - delta).round().max(2.0) as u32;
    let high = ((interval + delta).round() as u32).min(MAXIMUM_INTERVAL_DAYS);
    (low.min(high), high)
}

/// Picks the day within the fuzz range: the least loaded day, ties broken by a seeded draw, so
/// the same card and review count always land on the same day given the same load.
pub fn fuzzed_interval(
    interval: f32,
    card_id: &str,
    reps: u32,
    at_ms: i64,
    load: &mut dyn FnMut(i64) -> u32,
) -> u32 {
    let (low, high) = fuzz_range(interval);
    if low == high {
        return low.max(1);
    }
    let today = at_ms.div_euclid(DAY_MS);
    let seed = seeded_unit(card_id, reps);
    let span = f64::from(high - low + 1);
    let mut best = (u32::MAX, f64::MAX, low);
    for days in low..=high {
        let due = load(today + i64::from(days));
        // The seeded offset rotates which day wins a tie; shorter days win remaining ties.
        let tie = ((f64::from(days - low) / span) - seed).rem_euclid(1.0);
        if (due, tie) < (best.0, best.1) {
            best = (due, tie, days);
        }
    }
    best.2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsrs6_reproduces_the_published_memory_state_vector() {
        // Ratings Again, Good, Good, Good, Good, Good with 0, 0, 1, 3, 8, 21 days between them,
        // default FSRS-6 parameters: stability 53.62691, difficulty 6.3574867.
        let fsrs = FSRS::new(&DEFAULT_PARAMETERS).unwrap();
        let reviews = [(1, 0), (3, 0), (3, 1), (3, 3), (3, 8), (3, 21)]
            .into_iter()
            .map(|(rating, delta_t)| fsrs::FSRSReview { rating, delta_t })
            .collect();
        let state = fsrs.memory_state(fsrs::FSRSItem { reviews }, None).unwrap();
        assert!((state.stability - 53.62691).abs() < 1e-4, "{state:?}");
        assert!((state.difficulty - 6.3574867).abs() < 1e-4, "{state:?}");
    }

    #[test]
    fn the_scheduler_reaches_the_same_vector_review_by_review() {
        let scheduler = Scheduler::new(None).unwrap();
        let grades = [
            Grade::Again,
            Grade::Good,
            Grade::Good,
            Grade::Good,
            Grade::Good,
            Grade::Good,
        ];
        let mut at = 1_790_000_000_000i64;
        let mut card: Option<CardState> = None;
        for (grade, gap_days) in grades.into_iter().zip([0i64, 0, 1, 3, 8, 21]) {
            at += gap_days * DAY_MS;
            card = Some(
                scheduler
                    .review("card", card.as_ref(), grade, at, 0.9, &mut |_| 0)
                    .unwrap(),
            );
        }
        let card = card.unwrap();
        assert!((card.stability - 53.62691).abs() < 1e-4, "{card:?}");
        assert!((card.difficulty - 6.3574867).abs() < 1e-4, "{card:?}");
    }

    #[test]
    fn a_new_card_walks_the_learning_steps_in_minutes_then_graduates() {
        let scheduler = Scheduler::new(None).unwrap();
        let t0 = 1_790_000_000_000i64;
        let first = scheduler
            .review("c", None, Grade::Good, t0, 0.9, &mut |_| 0)
            .unwrap();
        assert_eq!(first.phase, Phase::Learning);
        assert_eq!(first.due_ms - t0, 10 * MINUTE_MS);
        let again = scheduler
            .review(
                "c",
                Some(&first),
                Grade::Again,
                t0 + 10 * MINUTE_MS,
                0.9,
                &mut |_| 0,
            )
            .unwrap();
        assert_eq!(again.due_ms - (t0 + 10 * MINUTE_MS), MINUTE_MS);
        let graduated = scheduler
            .review(
                "c",
                Some(&first),
                Grade::Good,
                t0 + 10 * MINUTE_MS,
                0.9,
                &mut |_| 0,
            )
            .unwrap();
        assert_eq!(graduated.phase, Phase::Review);
        assert!(graduated.due_ms - t0 >= DAY_MS);
    }

    #[test]
    fn a_lapse_in_review_relearns_in_ten_minutes() {
        let scheduler = Scheduler::new(None).unwrap();
        let t0 = 1_790_000_000_000i64;
        let review = scheduler
            .review("c", None, Grade::Easy, t0, 0.9, &mut |_| 0)
            .unwrap();
        let later = review.due_ms;
        let lapse = scheduler
            .review("c", Some(&review), Grade::Again, later, 0.9, &mut |_| 0)
            .unwrap();
        assert_eq!(lapse.phase, Phase::Relearning);
        assert_eq!(lapse.lapses, 1);
        assert_eq!(lapse.due_ms - later, 10 * MINUTE_MS);
    }

    #[test]
    fn fuzz_is_deterministic_per_card_and_review_count() {
        let a = fuzzed_interval(30.0, "card-a", 4, 0, &mut |_| 0);
        assert_eq!(a, fuzzed_interval(30.0, "card-a", 4, 0, &mut |_| 0));
        let (low, high) = fuzz_range(30.0);
        assert!((low..=high).contains(&a));
        let spread: std::collections::BTreeSet<u32> = (0..40)
            .map(|i| fuzzed_interval(30.0, &format!("card-{i}"), 4, 0, &mut |_| 0))
            .collect();
        assert!(spread.len() > 3, "fuzz spreads cards: {spread:?}");
    }

    #[test]
    fn load_balancing_avoids_the_busiest_day() {
        let (low, high) = fuzz_range(10.0);
        let busiest = i64::from(low);
        let picked = fuzzed_interval(10.0, "card", 3, 0, &mut |day| {
            if day == busiest {
                500
            } else {
                10
            }
        });
        assert_ne!(i64::from(picked), busiest);
        assert!((low..=high).contains(&picked));
    }

    #[test]
    fn spreading_many_cards_keeps_every_day_near_the_average() {
        let mut per_day = std::collections::BTreeMap::<i64, u32>::new();
        for i in 0..600 {
            let day = fuzzed_interval(20.0, &format!("c{i}"), 2, 0, &mut |d| {
                per_day.get(&d).copied().unwrap_or(0)
            });
            *per_day.entry(i64::from(day)).or_default() += 1;
        }
        let max = per_day.values().max().copied().unwrap();
        let min = per_day.values().min().copied().unwrap();
        assert!(max - min <= 1, "{per_day:?}");
    }

    #[test]
    fn the_scheduler_takes_every_parameter_set_the_peer_checks_accept() {
        use crate::sync::peer::FSRS_BOUNDS;
        let low: Vec<f32> = FSRS_BOUNDS.iter().map(|(low, _)| *low).collect();
        let high: Vec<f32> = FSRS_BOUNDS.iter().map(|(_, high)| *high).collect();
        let alternating: Vec<f32> = FSRS_BOUNDS
            .iter()
            .enumerate()
            .map(|(i, (low, high))| if i % 2 == 0 { *low } else { *high })
            .collect();
        for parameters in [&low, &high, &alternating, &DEFAULT_PARAMETERS.to_vec()] {
            let scheduler = Scheduler::new(Some(parameters)).unwrap();
            let recall = scheduler.retrievability(1.0, 0, DAY_MS);
            assert!(
                recall.is_finite() && (0.0..=1.0).contains(&recall),
                "{recall}"
            );
        }
    }
}
