//! Paced against unpaced: the same simulated learners (same seed, same traits, same days they
//! practise) go through the path twice, once as the engine planned before goals (every session
//! filled with new material while any is left) and once with the goal of the whole path by a
//! date, paced by the engine. The comparison says whether pacing meets the goal with a flatter
//! daily load, and whether the engine's "behind" calls agree with the line.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{round3, simulate, LearnerFigures, SimulationConfig, SimulationReport};
use crate::keys::TrustedKeys;
use crate::tidbit::TidbitError;

/// One group's figures, over the goal's days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacingGroup {
    pub learners: u32,
    /// Learners who passed every stage by the goal's date.
    pub met_goal: u32,
    /// Their mean day of passing the last stage.
    pub mean_met_day: Option<f64>,
    /// Mean minutes on a day practised within the goal's days.
    pub mean_daily_minutes: f64,
    /// The spread of the daily load: each learner's standard deviation of minutes over the
    /// days they practised within the goal's days, averaged over learners.
    pub mean_daily_spread: f64,
    /// The heaviest day, averaged over learners.
    pub mean_heaviest_day: f64,
    pub pace_calls: u32,
    pub pace_calls_agreeing: u32,
    pub behind_calls: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacingComparison {
    pub goal_days: u32,
    pub minutes_per_day: u32,
    pub paced: PacingGroup,
    pub unpaced: PacingGroup,
}

/// The day a learner passed the path's last stage, if they passed them all.
fn met_day(learner: &LearnerFigures) -> Option<u32> {
    if learner.stages.iter().any(|s| s.passed_day.is_none()) {
        return None;
    }
    learner.stages.iter().filter_map(|s| s.passed_day).max()
}

fn group(report: &SimulationReport, goal_days: u32) -> PacingGroup {
    let learners = &report.per_learner;
    let met: Vec<u32> = learners
        .iter()
        .filter_map(met_day)
        .filter(|&d| d < goal_days)
        .collect();
    let practised = |l: &LearnerFigures| -> Vec<f64> {
        l.daily_minutes
            .iter()
            .take(goal_days as usize)
            .copied()
            .filter(|&m| m > 0.0)
            .collect()
    };
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let spread = |values: &[f64]| {
        let m = mean(values);
        (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len().max(1) as f64).sqrt()
    };
    let per_learner: Vec<Vec<f64>> = learners.iter().map(practised).collect();
    let over = |f: &dyn Fn(&[f64]) -> f64| {
        round3(mean(&per_learner.iter().map(|d| f(d)).collect::<Vec<_>>()))
    };
    PacingGroup {
        learners: learners.len() as u32,
        met_goal: met.len() as u32,
        mean_met_day: (!met.is_empty())
            .then(|| round3(met.iter().map(|&d| f64::from(d)).sum::<f64>() / met.len() as f64)),
        mean_daily_minutes: over(&|d| mean(d)),
        mean_daily_spread: over(&|d| spread(d)),
        mean_heaviest_day: over(&|d| d.iter().copied().fold(0.0, f64::max)),
        pace_calls: learners.iter().map(|l| l.pace_calls).sum(),
        pace_calls_agreeing: learners.iter().map(|l| l.pace_calls_agreeing).sum(),
        behind_calls: learners.iter().map(|l| l.behind_calls).sum(),
    }
}

/// Runs `config`'s learners unpaced (under `work_dir/unpaced`) and paced by the goal of the
/// whole path within `goal_days` (under `work_dir/paced`); `config.days` should cover the goal.
pub fn compare_pacing(
    pack: &Path,
    trusted: &TrustedKeys,
    config: &SimulationConfig,
    goal_days: u32,
    work_dir: &Path,
) -> Result<PacingComparison, TidbitError> {
    let unpaced_config = SimulationConfig {
        goal_days: None,
        ..config.clone()
    };
    let paced_config = SimulationConfig {
        goal_days: Some(goal_days),
        ..config.clone()
    };
    let unpaced = simulate(pack, trusted, &unpaced_config, &work_dir.join("unpaced"))?;
    let paced = simulate(pack, trusted, &paced_config, &work_dir.join("paced"))?;
    Ok(PacingComparison {
        goal_days,
        minutes_per_day: config.minutes_per_day,
        paced: group(&paced, goal_days),
        unpaced: group(&unpaced, goal_days),
    })
}
