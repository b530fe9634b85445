//! The simulated learner's true memory: their traits, how likely they are to answer an item
//! right, and how their memory of it changes with each answer; and the small PRNG every draw
//! comes from.
//!
//! This is the ground truth the simulation measures the engine against: the engine never sees
//! it, and nothing here may read the engine's own estimates (FSRS state, mastery), or the
//! simulation would only measure the engine against itself.

use crate::learn::mastery::logistic;
use crate::learn::schedule::DAY_MS;

/// A small, fast, well-mixed PRNG (splitmix64, Steele, Lea and Flood 2014). Not for secrets.
#[derive(Debug, Clone)]
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for one named stream of draws under `seed`.
    pub(super) fn stream(seed: u64, name: &str, index: u64) -> SplitMix64 {
        // FNV-1a of the stream name, then mixed with the seed and the index.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut mixer = SplitMix64(seed ^ hash);
        let mixed = mixer.next_u64() ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        SplitMix64(SplitMix64(mixed).next_u64())
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Normal by the Box–Muller transform.
    pub(super) fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let radius = (-2.0 * (1.0 - self.unit()).ln()).sqrt();
        mean + sd * radius * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// Spread of learners' true ability.
const ABILITY_SD: f64 = 0.7;
/// Mean and spread of items' true difficulty.
const DIFFICULTY: (f64, f64) = (-0.5, 0.6);
/// The boost of having just read the lesson, on a first exposure.
const FIRST_EXPOSURE_BONUS: f64 = 1.0;
/// The boost of knowing the item when it is remembered, after one answer.
const REMEMBERED_BONUS: f64 = 2.0;
/// What each further answer adds to it (the explanation is shown every time)...
const PRACTICE_BONUS: f64 = 0.25;
/// ...up to this.
const MAX_REMEMBERED_BONUS: f64 = 4.0;
/// True stability in days after a first exposure, before the ability scale.
const FIRST_STABILITY_DAYS: (f64, f64) = (1.0, 3.0);
/// Recall after one stability's time: stability is measured as FSRS measures it, the days until
/// recall falls to 90%.
const RECALL_AT_STABILITY: f64 = 0.9;
/// Growth of true stability on a well-spaced right answer, before the ability scale.
const STABILITY_GROWTH: (f64, f64) = (2.0, 3.0);
/// The least share of a full stability gain that a review moments after the last one earns.
const MIN_SPACING_GAIN: f64 = 0.1;
/// Diligence: the chance of practising on a day.
const DILIGENCE: (f64, f64) = (0.6, 0.95);
/// Hours (UTC) within which a learner's usual practice time falls.
const PRACTICE_HOURS: (f64, f64) = (7.0, 20.0);

/// One simulated person: their traits, drawn from the seed and their number, and their true
/// memory of each item, which the engine never sees.
///
/// The model, kept simple on purpose:
/// - ability `a ~ N(0, 0.7)`; each item's difficulty `d ~ N(-0.5, 0.6)`, drawn from the seed
///   and the step id, so every learner meets the same item difficulties;
/// - first exposure (the lesson just read): `p(right) = logistic(a - d + 1)`;
/// - afterwards the learner remembers the item with their own stability `S` in days:
///   `p(right) = R(t) · logistic(a - d + k)`, `t` the days since they last saw it, where the
///   forgetting curve `R(t) = exp(-t · ln(10/9) / S)` falls to 90% after `S` days (stability
///   as FSRS measures it) and `k = min(2 + 0.25 · (answers - 1), 4)` grows with every answer,
///   because every answer shows the explanation: a well-practised item is answered reliably
///   when it is remembered;
/// - `S` starts at `U(1, 3) · e^(a/2)` days (half that after a wrong first answer); a right
///   answer multiplies it by `1 + (U(2, 3) - 1) · e^(a/2) · clamp(t / S, 0.1, 1)`: 2–3 for an
///   average learner reviewing on time, less for a weaker one but always more than 1, and
///   little for a review moments after the last (the spacing effect); a wrong answer halves
///   it (at least half a day). Every answer shows the explanation, so `t` restarts then;
/// - diligence `U(0.6, 0.95)` is the chance of practising on a day, at a usual hour
///   `U(7, 20)` UTC give or take an hour; answering takes the item kind's typical time times
///   `U(0.6, 1.4)`, reading a lesson card its estimate times `U(0.7, 1.3)`.
pub(super) struct LearnerTraits {
    pub(super) ability: f64,
    pub(super) diligence: f64,
    pub(super) usual_hour: f64,
}

pub(super) struct TrueMemory {
    pub(super) stability_days: f64,
    pub(super) last_ms: i64,
    pub(super) answers: u32,
}

impl LearnerTraits {
    pub(super) fn draw(rng: &mut SplitMix64) -> LearnerTraits {
        LearnerTraits {
            ability: rng.normal(0.0, ABILITY_SD),
            diligence: rng.uniform(DILIGENCE.0, DILIGENCE.1),
            usual_hour: rng.uniform(PRACTICE_HOURS.0, PRACTICE_HOURS.1),
        }
    }

    fn ability_scale(&self) -> f64 {
        (self.ability / 2.0).exp()
    }

    pub(super) fn chance_right(
        &self,
        difficulty: f64,
        memory: Option<&TrueMemory>,
        now_ms: i64,
    ) -> f64 {
        match memory {
            None => logistic(self.ability - difficulty + FIRST_EXPOSURE_BONUS),
            Some(memory) => {
                let days = (now_ms - memory.last_ms).max(0) as f64 / DAY_MS as f64;
                let practice =
                    REMEMBERED_BONUS + PRACTICE_BONUS * f64::from(memory.answers.saturating_sub(1));
                true_recall(days, memory.stability_days)
                    * logistic(self.ability - difficulty + practice.min(MAX_REMEMBERED_BONUS))
            }
        }
    }

    /// The learner's memory of an item after answering it at `now_ms`.
    pub(super) fn after_answer(
        &self,
        memory: Option<&TrueMemory>,
        right: bool,
        now_ms: i64,
        rng: &mut SplitMix64,
    ) -> TrueMemory {
        let stability_days = match memory {
            None => {
                let first = rng.uniform(FIRST_STABILITY_DAYS.0, FIRST_STABILITY_DAYS.1)
                    * self.ability_scale();
                if right {
                    first
                } else {
                    first / 2.0
                }
            }
            Some(memory) if right => {
                let days = (now_ms - memory.last_ms).max(0) as f64 / DAY_MS as f64;
                let spacing = (days / memory.stability_days).clamp(MIN_SPACING_GAIN, 1.0);
                // Ability scales the gain, not the factor, so every learner's memory grows.
                let gain = (rng.uniform(STABILITY_GROWTH.0, STABILITY_GROWTH.1) - 1.0)
                    * self.ability_scale();
                memory.stability_days * (1.0 + gain * spacing)
            }
            Some(memory) => (memory.stability_days / 2.0).max(0.5),
        };
        TrueMemory {
            stability_days,
            last_ms: now_ms,
            answers: memory.map_or(0, |m| m.answers) + 1,
        }
    }
}

/// `exp(-t / S')` with `S' = S / ln(1 / 0.9)`: 90% after `S` days, 81% after `2S`, ...
fn true_recall(days: f64, stability_days: f64) -> f64 {
    (-days * (1.0 / RECALL_AT_STABILITY).ln() / stability_days).exp()
}

/// An item's true difficulty, the same for every learner under one seed.
pub(super) fn item_difficulty(seed: u64, step: &str) -> f64 {
    SplitMix64::stream(seed, step, 0).normal(DIFFICULTY.0, DIFFICULTY.1)
}
