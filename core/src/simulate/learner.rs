//! One simulated learner's run: their own store on a manual clock, the days they practise, and
//! each step the engine plans for them, answered as their true memory decides; then their
//! figures.
//!
//! A learner follows the engine exactly as an app would, through the facade only: this file
//! never writes a projection or second-guesses what the engine recommends.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::Duration;

use super::answers::answer_through;
use super::memory::{item_difficulty, LearnerTraits, SplitMix64, TrueMemory};
use super::{round3, LearnerFigures, Setting, SkillFigure, StageFigure};
use crate::certificate::verify_certificate;
use crate::content::items::Item;
use crate::events::{Clock, ManualClock};
use crate::keys::TrustedKeys;
use crate::learn::assess::Outcome;
use crate::learn::goal::{GoalSpec, Pace, RESERVE_SHARE};
use crate::learn::plan::{PlannedStep, Purpose};
use crate::learn::recommend::Activity;
use crate::learn::schedule::DAY_MS;
use crate::store::StoreError;
use crate::tidbit::{Tidbit, TidbitConfig, TidbitError};

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
    pace_calls: u32,
    pace_calls_agreeing: u32,
    behind_calls: u32,
}

pub(super) fn simulate_learner(
    setting: &Setting<'_>,
    index: u32,
) -> Result<LearnerFigures, TidbitError> {
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
            at_rest_key: None,
        },
        clock.clone(),
    )?;
    tidbit.install_pack(setting.pack, &mut |_, _| {})?;
    tidbit.enroll(&setting.course.id, setting.path)?;
    if let Some(days) = config.goal_days {
        let due = (setting.start + Duration::days(i64::from(days) - 1)).date_naive();
        tidbit.set_study_time(config.minutes_per_day, &[])?;
        tidbit.set_goal(&GoalSpec {
            goal: "path".into(),
            title: "The whole path".into(),
            course: setting.course.id.clone(),
            path: setting.path.to_string(),
            stages: Vec::new(),
            skills: Vec::new(),
            due: due.to_string(),
        })?;
    }
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
        pace_calls: 0,
        pace_calls_agreeing: 0,
        behind_calls: 0,
    };
    let mut days_practised = 0;
    let mut practice_ms: i64 = 0;
    let mut daily_ms = vec![0i64; config.days as usize];
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
        if config.goal_days.is_some() {
            run.check_pace(day)?;
        }
        let began = run.clock.now();
        run.practise(i64::from(config.minutes_per_day) * 60_000)?;
        let spent = (run.clock.now() - began).num_milliseconds();
        practice_ms += spent;
        daily_ms[day as usize] = spent;
    }
    let end = setting.start + Duration::days(i64::from(config.days));
    if end > run.clock.now() {
        run.clock.set(end);
    }
    let mut figures = run.figures(id, days_practised, practice_ms)?;
    figures.daily_minutes = daily_ms
        .iter()
        .map(|&ms| round3(ms as f64 / 60_000.0))
        .collect();
    Ok(figures)
}

impl Run<'_, '_> {
    /// Compares the engine's pace this morning with the line reckoned here: the goal was set
    /// on day 0 with nothing done, its steps spread evenly over its days but the reserved share.
    fn check_pace(&mut self, day: u32) -> Result<(), TidbitError> {
        let Some(goal_days) = self.setting.config.goal_days else {
            return Ok(());
        };
        let Some(status) = self.tidbit.goals()?.into_iter().next() else {
            return Ok(());
        };
        let expected = if status.pace == Pace::Met {
            Pace::Met
        } else if day >= goal_days {
            Pace::Overdue {
                days: day + 1 - goal_days,
            }
        } else {
            // Every day is a learning day; a share of them is kept in reserve.
            let reserve = (f64::from(goal_days) * RESERVE_SHARE).floor() as u32;
            let line_days = (goal_days - reserve).max(1);
            let per_day = f64::from(status.total_steps) / f64::from(line_days);
            let line = |days: u32| per_day * f64::from(days.min(line_days));
            let done = f64::from(status.done_steps);
            let behind = ((line(day) - done) / per_day + 1e-9).floor();
            let ahead = ((done - line(day + 1)) / per_day + 1e-9).floor();
            if behind >= 1.0 {
                Pace::Behind {
                    days: behind as u32,
                }
            } else if ahead >= 1.0 {
                Pace::Ahead { days: ahead as u32 }
            } else {
                Pace::OnTrack
            }
        };
        self.pace_calls += 1;
        if status.pace == expected {
            self.pace_calls_agreeing += 1;
        }
        if matches!(status.pace, Pace::Behind { .. }) {
            self.behind_calls += 1;
        }
        Ok(())
    }

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
                | Activity::GoalPaced { .. }
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
                let feedback = answer_through(
                    &mut self.tidbit,
                    &step.course,
                    &step.step,
                    item,
                    right,
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
            daily_minutes: Vec::new(),
            pace_calls: self.pace_calls,
            pace_calls_agreeing: self.pace_calls_agreeing,
            behind_calls: self.behind_calls,
        })
    }
}
