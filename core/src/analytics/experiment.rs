//! A/B experiments with an honest result.
//!
//! An experiment randomises learners (its unit) into weighted arms and names what varies
//! between them (a module's variant, a nudge template, a course setting). The arm is a hash of
//! the experiment and learner ids ([`assign`]), so every device and the server agree offline;
//! a device records `ExperimentExposed` the first time the arm matters, and only exposed
//! learners count. [`analyse`] compares each arm with the first (the control) on one metric:
//! a two-proportion interval for the binary metrics, a bootstrap interval of the difference in
//! means for recall. The verdict is a plain sentence, and says so when there is not enough data.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::metrics::LearnerSummary;

/// Learners an arm needs before an interval is given.
pub const MIN_PER_ARM: u64 = 30;
/// Successes and failures an arm needs for the normal approximation of a proportion.
pub const MIN_OUTCOMES: u64 = 5;
const BOOTSTRAP_RESAMPLES: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ffi",
    derive(uniffi::Record),
    uniffi(name = "ExperimentArm")
)]
pub struct Arm {
    pub name: String,
    pub weight: u32,
    /// What this arm gets (a module variant, a template, a setting's value), in words or an id.
    pub gets: String,
}

/// What varies between the arms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Variation {
    ModuleVariant { course: String, module: String },
    NudgeTemplate { nudge_kind: String },
    CourseSetting { course: String, setting: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Completed at least one module after exposure.
    Completion,
    /// The first stage check after exposure passed (learners who took one).
    PassRate,
    /// Active on a day at least 7 days after the day of exposure.
    Retention7,
    /// Share of reinforcement answers right (a mean per learner).
    Recall,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub id: String,
    pub arms: Vec<Arm>,
    pub varies: Variation,
    pub metric: Metric,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExperimentError {
    #[error("an experiment needs an id of 1 to 64 letters, digits, '-' or '_'")]
    Id,
    #[error("an experiment needs two to eight arms with distinct names")]
    Arms,
    #[error("every arm needs a weight of 1 to 1000")]
    Weight,
}

impl Experiment {
    pub fn check(&self) -> Result<(), ExperimentError> {
        check_arms(&self.id, &self.arms)
    }

    /// The arm `learner` is in.
    pub fn arm_of(&self, learner: &str) -> &Arm {
        &self.arms[assign(&self.id, learner, &self.arms)]
    }
}

/// Checks an experiment's id and arms: what assignment needs.
pub fn check_arms(id: &str, arms: &[Arm]) -> Result<(), ExperimentError> {
    let id_ok = |id: &str| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !id_ok(id) {
        return Err(ExperimentError::Id);
    }
    let names: std::collections::BTreeSet<&str> = arms.iter().map(|a| a.name.as_str()).collect();
    if !(2..=8).contains(&arms.len())
        || names.len() != arms.len()
        || !arms.iter().all(|a| id_ok(&a.name))
    {
        return Err(ExperimentError::Arms);
    }
    if arms.iter().any(|a| !(1..=1000).contains(&a.weight)) {
        return Err(ExperimentError::Weight);
    }
    Ok(())
}

/// The index of the arm `learner` is in: SHA-256 of the ids, read as a number in [0, 1) and
/// laid over the arms' weights.
pub fn assign(experiment: &str, learner: &str, arms: &[Arm]) -> usize {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(b"tidbit-experiment\0");
    context.update(experiment.as_bytes());
    context.update(&[0]);
    context.update(learner.as_bytes());
    let digest = context.finish();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    let total: u64 = arms.iter().map(|a| u64::from(a.weight)).sum();
    let point = ((u128::from(u64::from_be_bytes(bytes)) * u128::from(total.max(1))) >> 64) as u64;
    let mut below = 0;
    for (i, arm) in arms.iter().enumerate() {
        below += u64::from(arm.weight);
        if point < below {
            return i;
        }
    }
    arms.len().saturating_sub(1)
}

/// One arm's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmResult {
    pub arm: String,
    pub exposed: u64,
    /// Learners the metric could be measured on.
    pub measured: u64,
    /// Successes (binary metrics) or the sum of per-learner values (recall).
    pub successes: f64,
    pub value: f64,
}

/// An arm against the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub arm: String,
    pub control: String,
    /// The arm's value minus the control's.
    pub difference: f64,
    /// The 95% interval of the difference, when there is enough data.
    pub interval: Option<(f64, f64)>,
    pub method: String,
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResult {
    pub experiment: String,
    pub metric: Metric,
    pub arms: Vec<ArmResult>,
    pub comparisons: Vec<Comparison>,
}

/// Each learner's value of `metric` after their exposure, if it can be measured.
fn outcome(summary: &LearnerSummary, exposed_ms: i64, metric: Metric) -> Option<f64> {
    match metric {
        Metric::Completion => Some(f64::from(u8::from(
            summary
                .modules_completed
                .values()
                .any(|at| *at >= exposed_ms),
        ))),
        Metric::PassRate => summary
            .checks
            .iter()
            .filter(|c| c.at_ms >= exposed_ms)
            .min_by_key(|c| c.at_ms)
            .map(|c| f64::from(u8::from(c.passed))),
        Metric::Retention7 => {
            let exposed_day = chrono::DateTime::from_timestamp_millis(exposed_ms)
                .unwrap_or_default()
                .date_naive();
            let later: NaiveDate = exposed_day + chrono::Duration::days(7);
            Some(f64::from(u8::from(
                summary.active_days.range(later..).next().is_some(),
            )))
        }
        Metric::Recall => (summary.reinforcement_answers > 0)
            .then(|| summary.reinforcement_right as f64 / summary.reinforcement_answers as f64),
    }
}

/// The experiment's result over the learners `summaries` hold.
pub fn analyse<'s>(
    experiment: &Experiment,
    summaries: impl IntoIterator<Item = &'s LearnerSummary>,
) -> ExperimentResult {
    let mut values: BTreeMap<usize, (u64, Vec<f64>)> = BTreeMap::new();
    for i in 0..experiment.arms.len() {
        values.insert(i, (0, Vec::new()));
    }
    for summary in summaries {
        let Some((arm, at_ms)) = summary.exposures.get(&experiment.id) else {
            continue;
        };
        // The arm a device recorded must be the arm the hash gives; anything else is ignored.
        let index = assign(&experiment.id, &summary.learner, &experiment.arms);
        if experiment.arms[index].name != *arm {
            continue;
        }
        let entry = values.entry(index).or_default();
        entry.0 += 1;
        if let Some(value) = outcome(summary, *at_ms, experiment.metric) {
            entry.1.push(value);
        }
    }
    let arms: Vec<ArmResult> = experiment
        .arms
        .iter()
        .enumerate()
        .map(|(i, arm)| {
            let (exposed, measured) = &values[&i];
            let sum: f64 = measured.iter().sum();
            ArmResult {
                arm: arm.name.clone(),
                exposed: *exposed,
                measured: measured.len() as u64,
                successes: sum,
                value: if measured.is_empty() {
                    0.0
                } else {
                    sum / measured.len() as f64
                },
            }
        })
        .collect();
    let control = &arms[0];
    let comparisons = arms
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, arm)| compare(experiment, control, arm, &values[&0].1, &values[&i].1))
        .collect();
    ExperimentResult {
        experiment: experiment.id.clone(),
        metric: experiment.metric,
        arms,
        comparisons,
    }
}

fn metric_words(metric: Metric) -> &'static str {
    match metric {
        Metric::Completion => "module completion",
        Metric::PassRate => "stage-check pass rate",
        Metric::Retention7 => "7-day retention",
        Metric::Recall => "recall on reinforcement",
    }
}

fn compare(
    experiment: &Experiment,
    control: &ArmResult,
    arm: &ArmResult,
    control_values: &[f64],
    arm_values: &[f64],
) -> Comparison {
    let difference = arm.value - control.value;
    let binary = experiment.metric != Metric::Recall;
    let enough = |r: &ArmResult| {
        r.measured >= MIN_PER_ARM
            && (!binary
                || (r.successes >= MIN_OUTCOMES as f64
                    && r.measured as f64 - r.successes >= MIN_OUTCOMES as f64))
    };
    let what = metric_words(experiment.metric);
    let points = |x: f64| x * 100.0;
    let (interval, method) = if binary {
        let se = (control.value * (1.0 - control.value) / control.measured.max(1) as f64
            + arm.value * (1.0 - arm.value) / arm.measured.max(1) as f64)
            .sqrt();
        (
            (difference - 1.96 * se, difference + 1.96 * se),
            "two proportions (normal approximation)",
        )
    } else {
        (
            bootstrap_interval(control_values, arm_values, &experiment.id),
            "bootstrap of the difference in means (2,000 resamples)",
        )
    };
    if !(enough(control) && enough(arm)) {
        let needed = if binary {
            format!(
                "at least {MIN_PER_ARM} learners measured per arm, with {MIN_OUTCOMES} successes and {MIN_OUTCOMES} failures each"
            )
        } else {
            format!("at least {MIN_PER_ARM} learners measured per arm")
        };
        return Comparison {
            arm: arm.arm.clone(),
            control: control.arm.clone(),
            difference,
            interval: None,
            method: method.into(),
            verdict: format!(
                "Not enough data yet to compare {} with {} on {what}: {} has {} learners measured, {} has {}; a 95% interval needs {needed}.",
                arm.arm, control.arm, control.arm, control.measured, arm.arm, arm.measured
            ),
        };
    }
    let (low, high) = interval;
    let verdict = if low > 0.0 || high < 0.0 {
        format!(
            "{}'s {what} is {:.1} points {} than {}'s ({:.1}% against {:.1}%; 95% interval {:.1} to {:.1} points): a difference this size is unlikely to be chance.",
            arm.arm,
            points(difference.abs()),
            if difference > 0.0 { "higher" } else { "lower" },
            control.arm,
            points(arm.value),
            points(control.value),
            points(low),
            points(high)
        )
    } else {
        format!(
            "No difference shown between {} and {} on {what} ({:.1}% against {:.1}%): the 95% interval, {:.1} to {:.1} points, includes zero.",
            arm.arm,
            control.arm,
            points(arm.value),
            points(control.value),
            points(low),
            points(high)
        )
    };
    Comparison {
        arm: arm.arm.clone(),
        control: control.arm.clone(),
        difference,
        interval: Some(interval),
        method: method.into(),
        verdict,
    }
}

/// The 2.5th and 97.5th percentiles of the difference in means over resamples of each arm,
/// seeded by the experiment id so a report is the same every time.
fn bootstrap_interval(control: &[f64], arm: &[f64], seed: &str) -> (f64, f64) {
    if control.is_empty() || arm.is_empty() {
        return (f64::NEG_INFINITY, f64::INFINITY);
    }
    let mut state = seed.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| {
        h.rotate_left(7) ^ u64::from(b)
    });
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut mean_of = |values: &[f64]| {
        let n = values.len() as u64;
        (0..n).map(|_| values[(next() % n) as usize]).sum::<f64>() / n as f64
    };
    let mut differences: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| mean_of(arm) - mean_of(control))
        .collect();
    differences.sort_by(f64::total_cmp);
    let at = |q: f64| {
        differences[((q * BOOTSTRAP_RESAMPLES as f64) as usize).min(BOOTSTRAP_RESAMPLES - 1)]
    };
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arms(weights: &[u32]) -> Vec<Arm> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Arm {
                name: format!("arm-{i}"),
                weight: *w,
                gets: String::new(),
            })
            .collect()
    }

    #[test]
    fn assignment_is_stable_and_follows_the_weights() {
        let arms = arms(&[1, 3]);
        let mut counts = [0u32; 2];
        for i in 0..20_000 {
            let learner = format!("learner-{i}");
            let arm = assign("nudge-wording", &learner, &arms);
            assert_eq!(arm, assign("nudge-wording", &learner, &arms));
            counts[arm] += 1;
        }
        // 25% and 75%, within two points.
        assert!((4_600..=5_400).contains(&counts[0]), "{counts:?}");
        // Another experiment shuffles learners independently.
        let moved = (0..1000)
            .filter(|i| {
                let learner = format!("learner-{i}");
                assign("a", &learner, &arms) != assign("b", &learner, &arms)
            })
            .count();
        assert!(moved > 250, "{moved}");
    }

    #[test]
    fn a_definition_is_checked() {
        let mut experiment = Experiment {
            id: "wording".into(),
            arms: arms(&[1, 1]),
            varies: Variation::NudgeTemplate {
                nudge_kind: "reinforcement_due".into(),
            },
            metric: Metric::Completion,
        };
        assert_eq!(experiment.check(), Ok(()));
        experiment.arms[1].weight = 0;
        assert_eq!(experiment.check(), Err(ExperimentError::Weight));
        experiment.arms.truncate(1);
        assert_eq!(experiment.check(), Err(ExperimentError::Arms));
        experiment.id = "no spaces".into();
        assert_eq!(experiment.check(), Err(ExperimentError::Id));
    }
}
