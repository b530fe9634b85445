//! The course simulator: stochastic learners going through a course day by day on the real
//! engine, and the figures an author reads to judge its pacing.
//!
//! [`simulate`] verifies the pack, gives every simulated learner their own real store (a
//! [`Tidbit`] on a [`ManualClock`], time zone UTC, device `sim-<n>`), installs the pack, enrolls
//! in its first path, and then, day by day, lets the learner follow the engine exactly as an app
//! would: take [`Tidbit::next_activity`], do the planned steps, and repeat until the day's
//! minutes are used. Whether an answer is right comes from a simple true memory model per
//! learner, documented on [`LearnerTraits`]; the engine never sees it, it only sees answers.
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

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::certificate::{verify_certificate, CertificateError};
use crate::content::items::{Interaction, Item};
use crate::content::model::{Course, StepBody};
use crate::events::{Clock, ManualClock};
use crate::keys::{SigningKey, TrustedKeys};
use crate::learn::assess::{Outcome, Response, SelfRating};
use crate::learn::mastery::logistic;
use crate::learn::plan::{PlannedStep, Purpose};
use crate::learn::recommend::Activity;
use crate::learn::schedule::DAY_MS;
use crate::pack::{verify_pack_file, MemorySink, PackLimits, COURSE_PATH};
use crate::store::StoreError;
use crate::tidbit::{Tidbit, TidbitConfig, TidbitError};

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

/// A small, fast, well-mixed PRNG (splitmix64, Steele, Lea and Flood 2014). Not for secrets.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for one named stream of draws under `seed`.
    fn stream(seed: u64, name: &str, index: u64) -> SplitMix64 {
        // FNV-1a of the stream name, then mixed with the seed and the index.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut mixer = SplitMix64(seed ^ hash);
        let mixed = mixer.next_u64() ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        SplitMix64(SplitMix64(mixed).next_u64())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Normal by the Box–Muller transform.
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
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
struct LearnerTraits {
    ability: f64,
    diligence: f64,
    usual_hour: f64,
}

struct TrueMemory {
    stability_days: f64,
    last_ms: i64,
    answers: u32,
}

impl LearnerTraits {
    fn draw(rng: &mut SplitMix64) -> LearnerTraits {
        LearnerTraits {
            ability: rng.normal(0.0, ABILITY_SD),
            diligence: rng.uniform(DILIGENCE.0, DILIGENCE.1),
            usual_hour: rng.uniform(PRACTICE_HOURS.0, PRACTICE_HOURS.1),
        }
    }

    fn ability_scale(&self) -> f64 {
        (self.ability / 2.0).exp()
    }

    fn chance_right(&self, difficulty: f64, memory: Option<&TrueMemory>, now_ms: i64) -> f64 {
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
    fn after_answer(
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
fn item_difficulty(seed: u64, step: &str) -> f64 {
    SplitMix64::stream(seed, step, 0).normal(DIFFICULTY.0, DIFFICULTY.1)
}

/// One learner's run in progress: their store, clock, model and tallies.
struct Run<'s, 'a> {
    setting: &'s Setting<'a>,
    tidbit: Tidbit,
    clock: Arc<ManualClock>,
    traits: LearnerTraits,
    /// Draws for answers, response times and memory.
    answers: SplitMix64,
    memory: HashMap<String, TrueMemory>,
    difficulties: HashMap<String, f64>,
    /// Modules started and not completed in their current attempt.
    in_progress: BTreeSet<String>,
    reviews: u32,
    reinforcement_reviews: u32,
    reinforcement_right: u32,
    remediation_steps: u32,
}

fn simulate_learner(setting: &Setting<'_>, index: u32) -> Result<LearnerFigures, TidbitError> {
    let config = setting.config;
    let id = format!("sim-{index}");
    let data_dir = setting.work_dir.join(&id);
    if data_dir.exists() {
        return Err(StoreError::DataDir {
            path: data_dir,
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a previous simulation's store is there: use an empty work directory",
            ),
        }
        .into());
    }
    let clock = Arc::new(ManualClock::new(setting.start));
    let mut tidbit = Tidbit::open(
        TidbitConfig {
            data_dir,
            learner_id: format!("learner-{index}"),
            device_id: id.clone(),
            time_zone: "UTC".into(),
            trusted_keys: setting.trusted.clone(),
        },
        clock.clone(),
    )?;
    tidbit.install_pack(setting.pack, &mut |_, _| {})?;
    tidbit.enroll(&setting.course.id, setting.path)?;
    let mut days_rng = SplitMix64::stream(config.seed, "days", u64::from(index));
    let traits = LearnerTraits::draw(&mut SplitMix64::stream(
        config.seed,
        "traits",
        u64::from(index),
    ));
    let mut run = Run {
        setting,
        tidbit,
        clock,
        traits,
        answers: SplitMix64::stream(config.seed, "answers", u64::from(index)),
        memory: HashMap::new(),
        difficulties: HashMap::new(),
        in_progress: BTreeSet::new(),
        reviews: 0,
        reinforcement_reviews: 0,
        reinforcement_right: 0,
        remediation_steps: 0,
    };
    let mut days_practised = 0;
    let mut practice_ms: i64 = 0;
    for day in 0..config.days {
        // Both draws happen every day, so one day's choice never shifts the next day's.
        let practises = days_rng.unit() < run.traits.diligence;
        let hour = (run.traits.usual_hour + days_rng.uniform(-1.0, 1.0)).clamp(0.0, 22.0);
        if !practises {
            continue;
        }
        days_practised += 1;
        let session_start = setting.start
            + Duration::days(i64::from(day))
            + Duration::seconds((hour * 3600.0) as i64);
        if session_start > run.clock.now() {
            run.clock.set(session_start);
        }
        let began = run.clock.now();
        run.practise(i64::from(config.minutes_per_day) * 60_000)?;
        practice_ms += (run.clock.now() - began).num_milliseconds();
    }
    let end = setting.start + Duration::days(i64::from(config.days));
    if end > run.clock.now() {
        run.clock.set(end);
    }
    run.figures(id, days_practised, practice_ms)
}

impl Run<'_, '_> {
    /// One day's practice: follow the engine until `budget_ms` are used.
    fn practise(&mut self, budget_ms: i64) -> Result<(), TidbitError> {
        let deadline = self.clock.now() + Duration::milliseconds(budget_ms);
        while self.clock.now() < deadline {
            let left_ms = (deadline - self.clock.now()).num_milliseconds();
            let minutes_left = u32::try_from((left_ms + 59_999) / 60_000)
                .unwrap_or(1)
                .max(1);
            let steps = match self.tidbit.next_activity()?.activity {
                Activity::Remediation { plan, .. } => plan.steps,
                Activity::Reinforcement { plan, .. } | Activity::Booster { plan, .. } => plan
                    .steps
                    .into_iter()
                    .filter(|s| s.purpose == Purpose::Reinforcement)
                    .collect(),
                Activity::Module { course, module, .. } => {
                    self.module_steps(&course, &module, minutes_left)?
                }
                Activity::PathComplete { .. }
                | Activity::Enroll { .. }
                | Activity::NothingInstalled => Vec::new(),
            };
            if steps.is_empty() {
                break;
            }
            for step in steps {
                if self.clock.now() >= deadline {
                    break;
                }
                self.do_step(&step)?;
            }
        }
        Ok(())
    }

    /// The next steps of `module` that fit `minutes`, opening it first unless it is under way.
    fn module_steps(
        &mut self,
        course: &str,
        module: &str,
        minutes: u32,
    ) -> Result<Vec<PlannedStep>, TidbitError> {
        let mut restarted = false;
        if !self.in_progress.contains(module) {
            self.tidbit.start_module(course, module)?;
            self.in_progress.insert(module.to_string());
            restarted = true;
        }
        loop {
            let steps: Vec<PlannedStep> = self
                .tidbit
                .plan_session(minutes)?
                .steps
                .into_iter()
                .filter(|s| s.purpose == Purpose::New && s.course == course && s.module == module)
                .collect();
            if !steps.is_empty() || restarted {
                return Ok(steps);
            }
            // Nothing left of this attempt, yet the module is not complete: open it again.
            self.tidbit.start_module(course, module)?;
            restarted = true;
        }
    }

    fn do_step(&mut self, step: &PlannedStep) -> Result<(), TidbitError> {
        if step.purpose == Purpose::Remediation {
            self.remediation_steps += 1;
        }
        let completed = match self.setting.items.get(step.step.as_str()) {
            None => {
                let reading = f64::from(step.estimated_seconds) * self.answers.uniform(0.7, 1.3);
                self.clock
                    .advance(Duration::milliseconds((reading * 1000.0) as i64));
                self.tidbit.view_step(&step.course, &step.step)?
            }
            Some(item) => {
                let item: &Item = item;
                let now_ms = self.clock.now().timestamp_millis();
                let seed = self.setting.config.seed;
                let difficulty = *self
                    .difficulties
                    .entry(step.step.clone())
                    .or_insert_with(|| item_difficulty(seed, &step.step));
                let chance =
                    self.traits
                        .chance_right(difficulty, self.memory.get(&step.step), now_ms);
                let right = self.answers.unit() < chance;
                let seconds = f64::from(item.interaction().typical_seconds())
                    * self.answers.uniform(0.6, 1.4);
                let response_ms = (seconds * 1000.0) as u32;
                self.clock
                    .advance(Duration::milliseconds(i64::from(response_ms)));
                let feedback = self.tidbit.answer(
                    &step.course,
                    &step.step,
                    answer_for(item, right),
                    response_ms,
                )?;
                let answered_ms = self.clock.now().timestamp_millis();
                let memory = self.traits.after_answer(
                    self.memory.get(&step.step),
                    feedback.assessment.outcome == Outcome::Right,
                    answered_ms,
                    &mut self.answers,
                );
                self.memory.insert(step.step.clone(), memory);
                self.reviews += 1;
                if step.purpose == Purpose::Reinforcement {
                    self.reinforcement_reviews += 1;
                    if feedback.assessment.outcome == Outcome::Right {
                        self.reinforcement_right += 1;
                    }
                }
                feedback.module_completed
            }
        };
        if completed {
            self.in_progress.remove(&step.module);
        }
        Ok(())
    }

    fn figures(
        self,
        id: String,
        days_practised: u32,
        practice_ms: i64,
    ) -> Result<LearnerFigures, TidbitError> {
        let setting = self.setting;
        let course = &setting.course.id;
        let day_of = |ms: i64| {
            u32::try_from((ms - setting.start.timestamp_millis()).div_euclid(DAY_MS)).ok()
        };
        let stages: Vec<StageFigure> = self
            .tidbit
            .stages(course)?
            .into_iter()
            .map(|s| StageFigure {
                unlocked_day: s.unlocked_ms.and_then(day_of),
                passed_day: s.passed_ms.and_then(day_of),
                checks: s.checks,
                stage: s.stage,
            })
            .collect();
        let certificate =
            match self
                .tidbit
                .issue_certificate(course, "Tidbit course simulator", setting.issuer)
            {
                Ok(text) => {
                    let issuers = TrustedKeys::from_keys([setting.issuer.public_key()]);
                    verify_certificate(text.as_bytes(), &issuers)?;
                    true
                }
                Err(TidbitError::PathNotFinished { .. }) => false,
                Err(e) => return Err(e),
            };
        let mastery = self
            .tidbit
            .mastery(course)?
            .into_iter()
            .map(|m| SkillFigure {
                skill: m.skill,
                mastery: round3(m.mastery),
            })
            .collect();
        let config = setting.config;
        Ok(LearnerFigures {
            id,
            ability: round3(self.traits.ability),
            diligence: round3(self.traits.diligence),
            days_practised,
            keeps_practising: f64::from(days_practised)
                >= config.keeps_practising_share * f64::from(config.days),
            reviews: self.reviews,
            reinforcement_reviews: self.reinforcement_reviews,
            remediation_steps: self.remediation_steps,
            minutes_per_day: if days_practised == 0 {
                0.0
            } else {
                round3(practice_ms as f64 / 60_000.0 / f64::from(days_practised))
            },
            recall: (self.reinforcement_reviews > 0).then(|| {
                round3(f64::from(self.reinforcement_right) / f64::from(self.reinforcement_reviews))
            }),
            mastery,
            stages,
            certificate,
        })
    }
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

/// A response to `item` that is entirely right (`right`) or entirely wrong.
pub fn answer_for(item: &Item, right: bool) -> Response {
    match item.interaction() {
        Interaction::SingleChoice { choices } => Response::SingleChoice {
            choice: choices.iter().position(|c| c.correct == right).unwrap_or(0),
        },
        Interaction::MultipleResponse { choices } => Response::MultipleResponse {
            choices: choices
                .iter()
                .enumerate()
                .filter(|(_, c)| c.correct == right)
                .map(|(i, _)| i)
                .collect(),
        },
        Interaction::TrueFalse { answer, .. } => Response::TrueFalse {
            answer: *answer == right,
        },
        Interaction::FillBlanks { blanks, .. } => Response::FillBlanks {
            answers: blanks
                .iter()
                .map(|b| {
                    if right {
                        b.accepted.first().cloned().unwrap_or_default()
                    } else {
                        "no idea".to_string()
                    }
                })
                .collect(),
        },
        Interaction::Ordering { entries } => {
            let mut order: Vec<usize> = (0..entries.len()).collect();
            if !right {
                order.reverse();
            }
            Response::Ordering { order }
        }
        Interaction::Matching { pairs } => {
            let mut targets: Vec<String> = Vec::new();
            for pair in pairs {
                if !targets.contains(&pair.target) {
                    targets.push(pair.target.clone());
                }
            }
            Response::Matching {
                targets: pairs
                    .iter()
                    .map(|p| {
                        if right {
                            p.target.clone()
                        } else {
                            // Any other target: the next one in first-seen order.
                            let at = targets.iter().position(|t| *t == p.target).unwrap_or(0);
                            targets[(at + 1) % targets.len()].clone()
                        }
                    })
                    .collect(),
            }
        }
        Interaction::Numeric {
            answer, tolerance, ..
        } => Response::Numeric {
            value: if right {
                *answer
            } else {
                answer + tolerance.abs() * 2.0 + answer.abs().max(1.0)
            },
        },
        Interaction::Scenario { start, nodes } => {
            let mut path = Vec::new();
            let mut at = Some(start.clone());
            while let Some(id) = at.take() {
                let Some(node) = nodes.iter().find(|n| n.id == id) else {
                    break;
                };
                let wanted = if right {
                    crate::content::items::Quality::Best
                } else {
                    crate::content::items::Quality::Poor
                };
                let index = node
                    .choices
                    .iter()
                    .position(|c| c.quality == wanted)
                    .or_else(|| {
                        node.choices
                            .iter()
                            .position(|c| c.quality != crate::content::items::Quality::Best)
                    })
                    .unwrap_or(0);
                path.push(index);
                at = node.choices[index].next.clone();
                if path.len() > nodes.len() {
                    break;
                }
            }
            Response::Scenario { path }
        }
        Interaction::Flashcard { .. } => Response::Flashcard {
            rating: if right {
                SelfRating::Good
            } else {
                SelfRating::Again
            },
        },
        Interaction::Reflection { criteria } => Response::Reflection {
            text: "What I did, and what I will do next time.".into(),
            criteria_met: vec![right; criteria.len()],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{compile_course, write_course_pack};

    /// The field-safety sample course, signed by a fresh key, in `dir`.
    fn sample_pack(dir: &Path) -> (std::path::PathBuf, TrustedKeys) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety");
        let compiled = compile_course(&source).unwrap();
        let key = SigningKey::generate().unwrap();
        let pack = dir.join("field-safety.tidbit");
        let mut file = std::fs::File::create(&pack).unwrap();
        let created = DateTime::from_timestamp(SIMULATION_START_SECONDS, 0).unwrap();
        write_course_pack(&compiled, &key, created, &mut file, &mut |_, _| {}).unwrap();
        (pack, TrustedKeys::from_keys([key.public_key()]))
    }

    fn small(seed: u64) -> SimulationConfig {
        SimulationConfig {
            days: 5,
            learners: 2,
            seed,
            ..SimulationConfig::default()
        }
    }

    fn run(pack: &Path, trusted: &TrustedKeys, config: &SimulationConfig) -> SimulationReport {
        let work = tempfile::tempdir().unwrap();
        simulate(pack, trusted, config, work.path()).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_report_and_another_seed_another() {
        let dir = tempfile::tempdir().unwrap();
        let (pack, trusted) = sample_pack(dir.path());
        let first = run(&pack, &trusted, &small(7));
        let one_thread = SimulationConfig {
            threads: 1,
            ..small(7)
        };
        let again = run(&pack, &trusted, &one_thread);
        assert_eq!(
            serde_json::to_string(&first).unwrap(),
            serde_json::to_string(&again).unwrap()
        );
        let other = run(&pack, &trusted, &small(8));
        assert_ne!(
            serde_json::to_string(&first.per_learner).unwrap(),
            serde_json::to_string(&other.per_learner).unwrap()
        );
    }

    #[test]
    fn learners_follow_the_engine_through_the_first_days_of_a_course() {
        let dir = tempfile::tempdir().unwrap();
        let (pack, trusted) = sample_pack(dir.path());
        let report = run(&pack, &trusted, &small(3));
        assert_eq!(report.course, "field-safety");
        assert_eq!(report.path, "field-volunteer");
        assert_eq!(
            report.stages,
            ["foundation", "application", "mastery", "reinforcement"]
        );
        assert_eq!(report.per_learner.len(), 2);
        assert_eq!(report.per_learner[1].id, "sim-1");
        for learner in &report.per_learner {
            assert_eq!(learner.stages[0].unlocked_day, Some(0));
            assert!(learner.days_practised <= 5);
            if learner.days_practised > 0 {
                assert!(learner.reviews > 0, "{learner:?}");
                assert!(learner.minutes_per_day >= 9.0, "{learner:?}");
                assert!(learner.minutes_per_day <= 13.0, "{learner:?}");
            }
            assert_eq!(learner.mastery.len(), report.skills.len());
            assert!(!learner.certificate, "five days are too few for the path");
        }
        assert_eq!(report.overall.learners, 2);
        assert_eq!(report.overall.stages[0].unlocked, 2);
    }

    #[test]
    fn a_store_left_by_an_earlier_simulation_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (pack, trusted) = sample_pack(dir.path());
        let work = dir.path().join("work");
        std::fs::create_dir_all(work.join("sim-0")).unwrap();
        let err = simulate(&pack, &trusted, &small(1), &work).unwrap_err();
        assert!(err.to_string().contains("empty work directory"), "{err}");
    }

    #[test]
    fn a_pack_from_an_untrusted_author_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (pack, _) = sample_pack(dir.path());
        let stranger = TrustedKeys::from_keys([SigningKey::generate().unwrap().public_key()]);
        let work = dir.path().join("work");
        assert!(simulate(&pack, &stranger, &small(1), &work).is_err());
        assert!(!work.exists(), "nothing is written for a refused pack");
    }

    #[test]
    fn true_recall_fades_with_time_and_grows_with_spaced_success() {
        let learner = LearnerTraits {
            ability: 0.0,
            diligence: 0.8,
            usual_hour: 9.0,
        };
        let first = learner.chance_right(-0.5, None, 0);
        assert!((first - logistic(1.5)).abs() < 1e-12);
        let memory = TrueMemory {
            stability_days: 2.0,
            last_ms: 0,
            answers: 1,
        };
        let known = logistic(2.5);
        let soon = learner.chance_right(-0.5, Some(&memory), 60_000);
        let after_stability = learner.chance_right(-0.5, Some(&memory), 2 * DAY_MS);
        let much_later = learner.chance_right(-0.5, Some(&memory), 20 * DAY_MS);
        assert!((soon - known).abs() < 1e-4, "{soon}");
        assert!(
            (after_stability - 0.9 * known).abs() < 1e-9,
            "{after_stability}"
        );
        assert!(
            (much_later - 0.9f64.powi(10) * known).abs() < 1e-9,
            "{much_later}"
        );
        let practised = TrueMemory {
            answers: 9,
            ..memory
        };
        let reliable = learner.chance_right(-0.5, Some(&practised), 60_000);
        assert!((reliable - logistic(4.5)).abs() < 1e-4, "{reliable}");
        let mut rng = SplitMix64::stream(1, "test", 0);
        let spaced = learner.after_answer(Some(&memory), true, 2 * DAY_MS, &mut rng);
        let crammed = learner.after_answer(Some(&memory), true, 60_000, &mut rng);
        assert!(spaced.stability_days >= 4.0, "{}", spaced.stability_days);
        assert!(crammed.stability_days < 2.5, "{}", crammed.stability_days);
        let lapsed = learner.after_answer(Some(&memory), false, 2 * DAY_MS, &mut rng);
        assert_eq!(lapsed.stability_days, 1.0);
    }

    #[test]
    fn splitmix64_streams_are_reproducible_and_distinct() {
        let draws = |name: &str, index: u64| {
            let mut rng = SplitMix64::stream(42, name, index);
            (0..4).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draws("days", 0), draws("days", 0));
        assert_ne!(draws("days", 0), draws("days", 1));
        assert_ne!(draws("days", 0), draws("answers", 0));
        let mut rng = SplitMix64::stream(42, "normal", 0);
        let samples: Vec<f64> = (0..4000).map(|_| rng.normal(0.0, 0.7)).collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let sd =
            (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
        assert!(mean.abs() < 0.05 && (sd - 0.7).abs() < 0.05, "{mean} {sd}");
    }
}
