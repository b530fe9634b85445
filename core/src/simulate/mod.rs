//! The course simulator: stochastic learners going through a course day by day on the real
//! engine, and the figures an author reads to judge its pacing.
//!
//! [`simulate`] verifies the pack, gives every simulated learner their own real store (a
//! [`Tidbit`](crate::tidbit::Tidbit) on a [`ManualClock`](crate::events::ManualClock), time
//! zone UTC, device `sim-<n>`), installs the pack, enrolls in its first path, and then, day by
//! day, lets the learner follow the engine exactly as an app would: take
//! [`Tidbit::next_activity`](crate::tidbit::Tidbit::next_activity), do the planned steps, and
//! repeat until the day's minutes are used. Whether an answer is right comes from a simple true
//! memory model per learner, documented on `LearnerTraits` in `memory.rs`; the engine never sees
//! it, it only sees answers.
//!
//! Everything is deterministic for a seed: draws come from a small local PRNG (splitmix64), in
//! streams derived from the seed and the learner's number, so a learner's run does not depend on
//! the other learners or on how many threads run them.
//!
//! [`answer_for`] builds a well-formed response that is fully right or clearly wrong for an
//! item, from its answer key; tests that drive the engine use it too.
//!
//! The simulator only calls the facade: it never writes a projection or changes how the engine
//! decides.
//!
//! The parts: `learner.rs` runs one simulated learner day by day and tallies their figures,
//! `memory.rs` holds the learner's true memory model and the PRNG it draws from, `answers.rs`
//! builds the answers; this file holds the setting, the report and the overall figures.

pub(crate) mod answers;
mod device;
mod learner;
mod memory;
mod pacing;
#[cfg(test)]
pub(crate) mod tests;

pub use answers::answer_for;
pub use device::{PracticeDevice, SessionTally};
pub use pacing::{compare_pacing, PacingComparison, PacingGroup};

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::certificate::CertificateError;
use crate::content::items::Item;
use crate::content::model::{Course, StepBody};
use crate::keys::{SigningKey, TrustedKeys};
use crate::pack::{verify_pack_file, MemorySink, PackLimits, COURSE_PATH};
use crate::store::StoreError;
use crate::tidbit::TidbitError;

use learner::simulate_learner;

/// The simulation starts on Monday 2026-01-05 at 00:00 UTC (day 0).
pub const SIMULATION_START_SECONDS: i64 = 1_767_571_200;
/// The stage whose unlock the pacing target is about.
pub const MASTERY_STAGE: &str = "mastery";

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationConfig {
    /// Days simulated, from day 0 at [`SIMULATION_START_SECONDS`].
    pub days: u32,
    /// Learners simulated, `sim-0` to `sim-<learners - 1>`.
    pub learners: u32,
    /// Seeds every draw: the same seed gives the same report.
    pub seed: u64,
    /// The time a learner gives the course on a day they practise.
    pub minutes_per_day: u32,
    /// A learner "keeps practising" when they practise on at least this share of the days.
    pub keeps_practising_share: f64,
    /// Learners simulated at once, each on its own store. The report does not depend on it.
    pub threads: usize,
    /// With a number of days: each learner sets on day 0 the goal of every stage of the path
    /// by that day, with `minutes_per_day` as their study time, and the engine paces them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_days: Option<u32>,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        SimulationConfig {
            days: 60,
            learners: 30,
            seed: 1,
            minutes_per_day: 10,
            keeps_practising_share: 0.6,
            threads: 2,
            goal_days: None,
        }
    }
}

/// Everything a simulation found: the setting, the overall figures, and each learner's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    pub course: String,
    pub course_version: String,
    pub path: String,
    pub days: u32,
    pub learners: u32,
    pub seed: u64,
    pub minutes_per_day: u32,
    pub keeps_practising_share: f64,
    /// Day 0 starts here; every `*_day` counts whole days from it.
    pub start: DateTime<Utc>,
    /// The path's stages, in order.
    pub stages: Vec<String>,
    pub skills: Vec<String>,
    pub overall: OverallFigures,
    pub per_learner: Vec<LearnerFigures>,
}

/// One simulated learner's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnerFigures {
    /// Also the learner's device id.
    pub id: String,
    /// True ability on the logistic scale (0 is average).
    pub ability: f64,
    /// Chance of practising on any one day.
    pub diligence: f64,
    pub days_practised: u32,
    /// Practised on at least `keeps_practising_share` of the days.
    pub keeps_practising: bool,
    /// Every answer given: new items, reinforcement and remediation.
    pub reviews: u32,
    /// Answers to reinforcement items FSRS made due.
    pub reinforcement_reviews: u32,
    /// Lesson cards and items done because of a remediation.
    pub remediation_steps: u32,
    /// Mean minutes spent on a day practised.
    pub minutes_per_day: f64,
    /// Share of reinforcement reviews answered right.
    pub recall: Option<f64>,
    /// The engine's mastery of each skill at the end.
    pub mastery: Vec<SkillFigure>,
    pub stages: Vec<StageFigure>,
    /// Every stage passed, and the certificate issued for it verified.
    pub certificate: bool,
    /// Minutes practised on each day, day 0 first.
    #[serde(default)]
    pub daily_minutes: Vec<f64>,
    /// With a goal: the engine's pace each morning a learner practised, and how many of those
    /// calls the simulator's own reckoning of the line (from the steps the engine counts done)
    /// agrees with.
    #[serde(default)]
    pub pace_calls: u32,
    #[serde(default)]
    pub pace_calls_agreeing: u32,
    #[serde(default)]
    pub behind_calls: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillFigure {
    pub skill: String,
    pub mastery: f64,
}

/// One stage of a learner's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFigure {
    pub stage: String,
    pub unlocked_day: Option<u32>,
    pub passed_day: Option<u32>,
    /// Stage checks taken.
    pub checks: u32,
}

/// Figures over all learners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverallFigures {
    pub learners: u32,
    pub keeps_practising: u32,
    pub mean_days_practised: f64,
    pub mean_reviews: f64,
    pub mean_minutes_per_day: f64,
    pub mean_recall: Option<f64>,
    pub mean_mastery: Vec<SkillFigure>,
    pub stages: Vec<StageOutcome>,
    pub certificates: u32,
    /// Of the learners who keep practising, the share who unlocked the mastery stage (none when
    /// nobody keeps practising or the path has no mastery stage).
    pub practising_unlocked_mastery: Option<f64>,
}

/// How far learners got with one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutcome {
    pub stage: String,
    pub unlocked: u32,
    /// Learners who keep practising and unlocked the stage.
    pub unlocked_by_practising: u32,
    pub passed: u32,
    pub mean_unlocked_day: Option<f64>,
    pub last_unlocked_day: Option<u32>,
    pub mean_checks: f64,
}

/// Runs the simulation: one store per learner under `work_dir` (`sim-<n>`, which must not exist
/// yet, and which stays there for inspection), learners on up to `config.threads` threads. The
/// pack is verified against `trusted` first; nothing is written if it fails.
pub fn simulate(
    pack: &Path,
    trusted: &TrustedKeys,
    config: &SimulationConfig,
    work_dir: &Path,
) -> Result<SimulationReport, TidbitError> {
    let course = verified_course(pack, trusted)?;
    let path = course
        .paths
        .first()
        .ok_or_else(|| TidbitError::UnknownPath {
            course: course.id.clone(),
            path: "(any)".into(),
        })?;
    std::fs::create_dir_all(work_dir).map_err(|source| StoreError::DataDir {
        path: work_dir.to_path_buf(),
        source,
    })?;
    let issuer = SigningKey::generate().map_err(|e| CertificateError::InvalidRequest {
        reason: format!("no key to sign the simulated certificates ({e})"),
    })?;
    let setting = Setting {
        pack,
        trusted,
        config,
        work_dir,
        course: &course,
        path: &path.id,
        items: course
            .modules
            .iter()
            .flat_map(|m| m.steps.iter())
            .filter_map(|s| match &s.body {
                StepBody::Item(item) => Some((s.id.as_str(), item)),
                StepBody::Lesson(_) => None,
            })
            .collect(),
        issuer: &issuer,
        start: DateTime::from_timestamp(SIMULATION_START_SECONDS, 0).unwrap_or_default(),
    };
    let per_learner = run_learners(&setting)?;
    let stages: Vec<String> = path
        .stages
        .iter()
        .map(|s| s.kind.as_str().to_string())
        .collect();
    let skills: Vec<String> = course.skills.iter().map(|s| s.id.clone()).collect();
    Ok(SimulationReport {
        overall: overall_figures(&per_learner, &stages, &skills),
        course: course.id.clone(),
        course_version: course.version.to_string(),
        path: path.id.clone(),
        days: config.days,
        learners: config.learners,
        seed: config.seed,
        minutes_per_day: config.minutes_per_day,
        keeps_practising_share: config.keeps_practising_share,
        start: setting.start,
        stages,
        skills,
        per_learner,
    })
}

/// The course inside `pack`, once its signature, hashes and structure are verified.
fn verified_course(pack: &Path, trusted: &TrustedKeys) -> Result<Course, TidbitError> {
    let mut sink = MemorySink::only([COURSE_PATH]);
    verify_pack_file(
        pack,
        trusted,
        &PackLimits::default(),
        &mut sink,
        &mut |_, _| {},
    )
    .map_err(StoreError::from)?;
    let json = sink
        .files
        .get(COURSE_PATH)
        .ok_or(StoreError::MissingCourseJson)?;
    Ok(serde_json::from_slice(json).map_err(|e| StoreError::CourseJson(e.to_string()))?)
}

/// What every learner's run shares.
struct Setting<'a> {
    pack: &'a Path,
    trusted: &'a TrustedKeys,
    config: &'a SimulationConfig,
    work_dir: &'a Path,
    course: &'a Course,
    path: &'a str,
    items: HashMap<&'a str, &'a Item>,
    issuer: &'a SigningKey,
    start: DateTime<Utc>,
}

/// Runs every learner, on up to `config.threads` threads, and returns them in order.
fn run_learners(setting: &Setting<'_>) -> Result<Vec<LearnerFigures>, TidbitError> {
    let count = setting.config.learners as usize;
    let threads = setting.config.threads.clamp(1, count.max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let mut results: Vec<(usize, Result<LearnerFigures, TidbitError>)> =
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        while !failed.load(Ordering::SeqCst) {
                            let index = next.fetch_add(1, Ordering::SeqCst);
                            if index >= count {
                                break;
                            }
                            let result = simulate_learner(setting, index as u32);
                            if result.is_err() {
                                failed.store(true, Ordering::SeqCst);
                            }
                            done.push((index, result));
                        }
                        done
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (count > 0).then(|| round3(sum / f64::from(count)))
}

fn overall_figures(
    learners: &[LearnerFigures],
    stages: &[String],
    skills: &[String],
) -> OverallFigures {
    let practising: Vec<&LearnerFigures> = learners.iter().filter(|l| l.keeps_practising).collect();
    let stage_of = |l: &'_ LearnerFigures, stage: &str| -> Option<StageFigure> {
        l.stages.iter().find(|s| s.stage == stage).cloned()
    };
    let stage_outcomes = stages
        .iter()
        .map(|stage| {
            let figures: Vec<StageFigure> =
                learners.iter().filter_map(|l| stage_of(l, stage)).collect();
            let unlocked_days: Vec<u32> = figures.iter().filter_map(|s| s.unlocked_day).collect();
            StageOutcome {
                stage: stage.clone(),
                unlocked: unlocked_days.len() as u32,
                unlocked_by_practising: practising
                    .iter()
                    .filter(|l| stage_of(l, stage).is_some_and(|s| s.unlocked_day.is_some()))
                    .count() as u32,
                passed: figures.iter().filter(|s| s.passed_day.is_some()).count() as u32,
                mean_unlocked_day: mean(unlocked_days.iter().map(|d| f64::from(*d))),
                last_unlocked_day: unlocked_days.iter().max().copied(),
                mean_checks: mean(figures.iter().map(|s| f64::from(s.checks))).unwrap_or(0.0),
            }
        })
        .collect::<Vec<_>>();
    let practising_unlocked_mastery = stage_outcomes
        .iter()
        .find(|s| s.stage == MASTERY_STAGE)
        .filter(|_| !practising.is_empty())
        .map(|s| round3(f64::from(s.unlocked_by_practising) / practising.len() as f64));
    OverallFigures {
        learners: learners.len() as u32,
        keeps_practising: practising.len() as u32,
        mean_days_practised: mean(learners.iter().map(|l| f64::from(l.days_practised)))
            .unwrap_or(0.0),
        mean_reviews: mean(learners.iter().map(|l| f64::from(l.reviews))).unwrap_or(0.0),
        mean_minutes_per_day: mean(learners.iter().map(|l| l.minutes_per_day)).unwrap_or(0.0),
        mean_recall: mean(learners.iter().filter_map(|l| l.recall)),
        mean_mastery: skills
            .iter()
            .map(|skill| SkillFigure {
                skill: skill.clone(),
                mastery: mean(learners.iter().filter_map(|l| {
                    l.mastery
                        .iter()
                        .find(|m| &m.skill == skill)
                        .map(|m| m.mastery)
                }))
                .unwrap_or(0.0),
            })
            .collect(),
        stages: stage_outcomes,
        certificates: learners.iter().filter(|l| l.certificate).count() as u32,
        practising_unlocked_mastery,
    }
}
