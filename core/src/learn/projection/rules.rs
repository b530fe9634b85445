//! The projection rules: how each event changes the learner's state. The only definition of
//! them, shared by a live event and a replay of the log.
//!
//! [`Rules`] reads the installed content through a [`ContentReader`] and reads and writes the
//! projections through a [`ProjectionTables`]; it decides every value a row takes, in the same
//! order of floating-point operations whichever tables it drives, so a replay reproduces the live
//! state byte for byte. It reads no clock, no randomness and no setting that is not an event.

use super::content::{ContentReader, SkillStep, UNSCORED_KINDS};
use super::tables::{
    AttemptMiss, CardRow, ModuleProgress, ProjectionTables, RemediationRow, ResponseTime,
    ReviewRow, SkillRating, StageProgress,
};
use super::{
    AnsweredCard, Applied, ProjectionError, RemediationInserted, SchedulerCache, SkillScore,
    StageCheckResult, REMEDIATION_DELAY_MS, WRONG_ANSWERS_BEFORE_REMEDIATION,
};
use crate::events::{Event, EventKind, Grade};
use crate::learn::assess::Outcome;
use crate::learn::mastery::{expected_success, measure, ELO_STEP};
use crate::learn::schedule::{CardState, DAY_MS};
use crate::privacy::consent::ConsentScope;

/// The reason recorded for a remediation after two wrong answers on a skill in one attempt.
const TWO_WRONG_IN_MODULE: &str = "two_wrong_in_module";
/// The reason recorded for a remediation of a skill a stage check found below the threshold.
const STAGE_CHECK_FAILED: &str = "stage_check_failed";

/// The order in which a remediation prefers steps: those of `module` first, then course order.
fn course_order<'s>(step: &'s SkillStep, module: &str) -> (bool, i64, i64, &'s str) {
    (
        step.module != module,
        step.module_position,
        step.position,
        &step.id,
    )
}

/// The rules applied to one set of tables.
pub(super) struct Rules<'r, 'c, T> {
    pub content: &'r mut ContentReader<'c>,
    pub tables: &'r mut T,
    pub schedulers: &'r mut SchedulerCache,
}

/// An answer being applied.
struct Answer<'a> {
    course: &'a str,
    module: &'a str,
    step: &'a str,
    item_kind: &'a str,
    credit: f64,
    grade: Grade,
    at_ms: i64,
}

impl<T: ProjectionTables> Rules<'_, '_, T> {
    /// Applies one event.
    pub(super) fn apply(&mut self, event: &Event) -> Result<Applied, ProjectionError> {
        let mut applied = Applied::default();
        let at_ms = event.at_ms;
        match &event.kind {
            EventKind::Enrolled { course, path } => {
                self.tables.put_enrollment(course, path, at_ms)?;
                let stages = self.content.stages(course)?;
                let first = stages
                    .iter()
                    .filter(|s| s.path == *path)
                    .min_by_key(|s| s.position);
                if let Some(first) = first {
                    self.unlock_stage(course, path, &first.kind, at_ms)?;
                }
            }
            EventKind::ModuleStarted { course, module } => {
                // A new attempt: the previous attempt's steps and misses no longer count.
                let progress = match self.tables.module_progress(course, module)? {
                    Some(progress) => ModuleProgress {
                        attempts: progress.attempts + 1,
                        started_ms: at_ms,
                        ..progress
                    },
                    None => ModuleProgress {
                        attempts: 1,
                        started_ms: at_ms,
                        completed_ms: None,
                        completions: 0,
                    },
                };
                self.tables.put_module_progress(course, module, progress)?;
                self.tables.clear_attempt(course, module)?;
            }
            EventKind::StepViewed {
                course,
                module,
                step,
            } => {
                self.tables.put_attempt_step(course, module, step, None)?;
                self.finish_module_if_done(course, module, at_ms, &mut applied)?;
            }
            EventKind::ItemAnswered {
                course,
                module,
                step,
                item_kind,
                response_ms,
                credit,
                outcome,
                grade,
                local_date,
                ..
            } => {
                if !(0.0..=1.0).contains(credit) {
                    return Err(ProjectionError::BadEvent {
                        id: event.id.clone(),
                        message: format!("credit {credit} is outside 0 to 1"),
                    });
                }
                let answer = Answer {
                    course,
                    module,
                    step,
                    item_kind,
                    credit: *credit,
                    grade: *grade,
                    at_ms,
                };
                let skills = self.content.step_skills(course, step)?;
                applied.card = Some(self.review_card(&answer, &skills)?);
                self.note_response_time(item_kind, *response_ms)?;
                self.tables.add_activity_day(&local_date.to_string(), 1)?;
                applied.remediation_resolved = self.resolve_remediations(&answer)?;
                self.tables
                    .put_attempt_step(course, module, step, Some(*credit))?;
                if *outcome == Outcome::Wrong {
                    self.note_miss(&answer, &skills, &mut applied)?;
                }
                self.finish_module_if_done(course, module, at_ms, &mut applied)?;
            }
            EventKind::ParametersAdopted { parameters, .. } => {
                // Parameters fitted while personalisation is withdrawn (on a device that had not
                // yet heard of the withdrawal) are not used.
                if !self.tables.consent(ConsentScope::Personalisation)? {
                    return Ok(applied);
                }
                let json =
                    serde_json::to_string(parameters).map_err(|e| ProjectionError::BadEvent {
                        id: event.id.clone(),
                        message: e.to_string(),
                    })?;
                *self.schedulers = SchedulerCache::from_parameters(Some(json.clone()))?;
                self.tables.put_parameters(&json, at_ms)?;
            }
            EventKind::PeerRated {
                course,
                step,
                share,
                reviewer,
                credit,
                ..
            } => {
                if !(0.0..=1.0).contains(credit) {
                    return Err(ProjectionError::BadEvent {
                        id: event.id.clone(),
                        message: format!("credit {credit} is outside 0 to 1"),
                    });
                }
                let weight = self.content.course_settings(course)?.peer_feedback_weight;
                // Once per reviewer and answer, whichever of their ratings came first.
                let rating = format!("{share}/{reviewer}");
                if weight > 0.0
                    && self
                        .tables
                        .count_peer_rating(&rating, course, step, *credit)?
                {
                    if let Some(mut card) = self.tables.card(course, step)? {
                        // An answer scored automatically moves the running credit half way to
                        // its own; a peer's rating moves it `weight` of that.
                        let pull = 0.5 * weight;
                        card.credit_avg = card.credit_avg * (1.0 - pull) + credit * pull;
                        self.tables.put_card(course, step, card)?;
                    }
                }
            }
            EventKind::ConsentChanged { scope, granted } => {
                self.tables.put_consent(*scope, *granted, at_ms)?;
                // Withdrawn personalisation: the learner's fitted parameters go out of use.
                if *scope == ConsentScope::Personalisation && !*granted {
                    *self.schedulers = SchedulerCache::from_parameters(None)?;
                    self.tables.clear_parameters()?;
                }
            }
            EventKind::ReviewRequested {
                course,
                path,
                stage,
                ..
            } => {
                // A decision dated before its request (a device clock running ahead) was
                // applied first and is kept.
                let decision = self.tables.review(&event.id)?.and_then(|r| r.decision);
                let row = ReviewRow {
                    course: course.clone(),
                    path: path.clone(),
                    stage: stage.clone(),
                    requested_ms: at_ms,
                    decision,
                };
                self.tables.put_review(&event.id, row)?;
            }
            EventKind::ReviewDecided {
                review,
                course,
                path,
                stage,
                unlock,
                ..
            } => {
                let row = match self.tables.review(review)? {
                    // The first decision of a review stands.
                    Some(row) if row.decision.is_some() => return Ok(applied),
                    Some(row) => row,
                    None => ReviewRow {
                        course: course.clone(),
                        path: path.clone(),
                        stage: stage.clone(),
                        requested_ms: at_ms,
                        decision: None,
                    },
                };
                let row = ReviewRow {
                    decision: Some((event.id.clone(), at_ms, *unlock)),
                    ..row
                };
                if *unlock {
                    self.unlock_stage(&row.course, &row.path, &row.stage, at_ms)?;
                }
                self.tables.put_review(review, row)?;
            }
            // Nudge inputs: the planner reads them from the log itself; no projection changes.
            EventKind::InterventionTriggered { .. }
            | EventKind::InterventionProgressed { .. }
            | EventKind::MentoringRequested { .. }
            | EventKind::NudgeOutcomeRecorded { .. }
            | EventKind::PushTokenRegistered { .. }
            | EventKind::PushOutcomeRecorded { .. }
            | EventKind::ExperimentExposed {
                retention: None, ..
            } => {}
            EventKind::GoalSet { .. } | EventKind::StudyTimeSet { .. } => {
                super::goals::apply(&mut *self.tables, event)?;
            }
            EventKind::ExperimentExposed {
                retention: Some(setting),
                ..
            } => {
                self.tables
                    .put_retention(&setting.course, setting.desired_retention, at_ms)?;
            }
        }
        Ok(applied)
    }

    /// Schedules the answered card with FSRS, updates the Elo-style ratings, and moves the card
    /// between the per-day due counts. Returns the card as it now stands.
    fn review_card(
        &mut self,
        answer: &Answer<'_>,
        skills: &[String],
    ) -> Result<AnsweredCard, ProjectionError> {
        let previous = self.tables.card(answer.course, answer.step)?;
        let next = self.schedule(answer, previous.as_ref().map(|card| &card.state))?;
        // Recent answers count most: each new credit is half the running value.
        let credit_avg = match &previous {
            Some(card) => card.credit_avg * 0.5 + answer.credit * 0.5,
            None => answer.credit,
        };
        let item_rating = previous.as_ref().map_or(0.0, |card| card.item_rating);
        let item_rating = self.update_ratings(answer, skills, item_rating)?;
        let previous_due_day = previous
            .as_ref()
            .map(|card| card.state.due_ms.div_euclid(DAY_MS));
        // The card keeps the module and kind of its first answer.
        let (module, item_kind) = match previous {
            Some(card) => (card.module, card.item_kind),
            None => (answer.module.to_string(), answer.item_kind.to_string()),
        };
        let due_ms = next.due_ms;
        let card = CardRow {
            module,
            item_kind,
            state: next,
            credit_avg,
            last_credit: answer.credit,
            item_rating,
        };
        let answered = AnsweredCard::from(&card);
        self.tables.put_card(answer.course, answer.step, card)?;
        // The per-day load the scheduler balances: the card leaves its old day for its new one.
        if let Some(day) = previous_due_day {
            self.tables.add_due_load(day, -1)?;
        }
        self.tables.add_due_load(due_ms.div_euclid(DAY_MS), 1)?;
        Ok(answered)
    }

    /// The card's next state: FSRS at the course's desired retention, the interval fuzzed
    /// towards the least loaded day.
    fn schedule(
        &mut self,
        answer: &Answer<'_>,
        previous: Option<&CardState>,
    ) -> Result<CardState, ProjectionError> {
        // An experiment's arm may set the course's desired retention for this learner.
        let retention = match self.tables.retention(answer.course)? {
            Some(retention) => retention,
            None => {
                self.content
                    .course_settings(answer.course)?
                    .desired_retention
            }
        };
        let card_id = format!("{}/{}", answer.course, answer.step);
        let tables = &mut *self.tables;
        let mut unreadable = None;
        // A count that cannot be read (or is negative) weighs nothing.
        let mut load = |day: i64| -> u32 {
            match tables.due_load(day) {
                Ok(cards) => u32::try_from(cards).unwrap_or(0),
                Err(e) => {
                    unreadable.get_or_insert(e);
                    0
                }
            }
        };
        let next = self.schedulers.scheduler().review(
            &card_id,
            previous,
            answer.grade,
            answer.at_ms,
            retention as f32,
            &mut load,
        );
        match unreadable {
            Some(e) => Err(e.into()),
            None => Ok(next?),
        }
    }

    /// Elo-style update: the surprise of the answer moves the learner's ability on each of the
    /// item's skills one way and the item's difficulty the other. Returns the new difficulty.
    fn update_ratings(
        &mut self,
        answer: &Answer<'_>,
        skills: &[String],
        item_rating: f64,
    ) -> Result<f64, ProjectionError> {
        let mut ratings = Vec::with_capacity(skills.len());
        for skill in skills {
            ratings.push(self.tables.skill_rating(answer.course, skill)?);
        }
        let abilities: Vec<f64> = ratings
            .iter()
            .map(|rating| rating.map_or(0.0, |r| r.ability))
            .collect();
        let ability = if abilities.is_empty() {
            0.0
        } else {
            abilities.iter().sum::<f64>() / abilities.len() as f64
        };
        let surprise = answer.credit - expected_success(ability, item_rating);
        for ((skill, rating), ability) in skills.iter().zip(ratings).zip(abilities) {
            let rating = SkillRating {
                ability: ability + ELO_STEP * surprise,
                answers: rating.map_or(0, |r| r.answers) + 1,
            };
            self.tables.put_skill_rating(answer.course, skill, rating)?;
        }
        Ok(item_rating - ELO_STEP * surprise)
    }

    /// The learner's usual time for an item kind: a moving average that weighs the newest
    /// response a fifth.
    fn note_response_time(
        &mut self,
        item_kind: &str,
        response_ms: u32,
    ) -> Result<(), ProjectionError> {
        let response_ms = f64::from(response_ms);
        let time = match self.tables.response_time(item_kind)? {
            Some(time) => ResponseTime {
                typical_ms: time.typical_ms * 0.8 + response_ms * 0.2,
                answers: time.answers + 1,
            },
            None => ResponseTime {
                typical_ms: response_ms,
                answers: 1,
            },
        };
        self.tables.put_response_time(item_kind, time)?;
        Ok(())
    }

    /// An answer to a remediation's item resolves every remediation of it created until now.
    fn resolve_remediations(&mut self, answer: &Answer<'_>) -> Result<bool, ProjectionError> {
        let pending = self
            .tables
            .pending_remediations_of_item(answer.course, answer.step)?;
        let mut resolved = false;
        for remediation in pending.iter().filter(|r| r.created_ms <= answer.at_ms) {
            self.tables
                .resolve_remediation(remediation.id, answer.at_ms, answer.credit)?;
            resolved = true;
        }
        Ok(resolved)
    }

    /// Two wrong answers on one skill inside a module attempt insert a remediation (stage checks
    /// remediate when they are scored instead).
    fn note_miss(
        &mut self,
        answer: &Answer<'_>,
        skills: &[String],
        applied: &mut Applied,
    ) -> Result<(), ProjectionError> {
        let is_check = self.content.is_stage_check(answer.course, answer.module)?;
        for skill in skills {
            let mut miss = match self
                .tables
                .attempt_miss(answer.course, answer.module, skill)?
            {
                Some(miss) => AttemptMiss {
                    wrong: miss.wrong + 1,
                    ..miss
                },
                None => AttemptMiss {
                    wrong: 1,
                    remediated: false,
                },
            };
            let remediate =
                !is_check && miss.wrong >= WRONG_ANSWERS_BEFORE_REMEDIATION && !miss.remediated;
            miss.remediated |= remediate;
            self.tables
                .put_attempt_miss(answer.course, answer.module, skill, miss)?;
            if remediate {
                let inserted = self.insert_remediation(
                    answer.course,
                    answer.module,
                    skill,
                    TWO_WRONG_IN_MODULE,
                    answer.at_ms,
                )?;
                applied.remediations.extend(inserted);
            }
        }
        Ok(())
    }

    /// Inserts a remediation for `skill`: its lesson card (from this module if it has one), then
    /// an item on the skill the learner did not just get wrong, due a couple of minutes from now.
    /// Without such an item there is no remediation.
    fn insert_remediation(
        &mut self,
        course: &str,
        module: &str,
        skill: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<Option<RemediationInserted>, ProjectionError> {
        let steps = self.content.skill_steps(course, skill)?;
        let lesson = steps
            .iter()
            .filter(|s| s.is_lesson())
            .min_by_key(|s| course_order(s, module))
            .map(|s| s.id.clone());
        // A different item: not one answered below full credit in this attempt, not one another
        // remediation already re-tests, not one from the check of a stage still locked; items
        // not met in this attempt at all first.
        let attempt = self.tables.attempt_steps(course, module)?;
        let pending = self.tables.pending_remediation_items(course, skill)?;
        let locked = self.locked_check_modules(course)?;
        let item = steps
            .iter()
            .filter(|s| !s.is_lesson() && !UNSCORED_KINDS.contains(&s.kind.as_str()))
            .filter(|s| !pending.contains(&s.id) && !locked.contains(&s.module))
            .filter_map(|s| {
                let met = attempt.iter().find(|done| done.step == s.id);
                let missed = met.is_some_and(|done| done.credit.is_some_and(|c| c < 1.0));
                (!missed).then_some((met.is_some(), s))
            })
            .min_by_key(|(met, s)| (*met, course_order(s, module)))
            .map(|(_, s)| s.id.clone());
        let Some(item) = item else {
            return Ok(None);
        };
        let due_ms = at_ms + REMEDIATION_DELAY_MS;
        self.tables.insert_remediation(RemediationRow {
            course: course.to_string(),
            module: module.to_string(),
            skill: skill.to_string(),
            reason: reason.to_string(),
            created_ms: at_ms,
            due_ms,
            lesson_step: lesson.clone(),
            item_step: item.clone(),
            resolved_ms: None,
            resolved_credit: None,
        })?;
        Ok(Some(RemediationInserted {
            skill: skill.to_string(),
            reason: reason.to_string(),
            lesson_step: lesson,
            item_step: item,
            due_ms,
        }))
    }

    /// The check modules of the stages of `course` (any path) not unlocked yet.
    fn locked_check_modules(&mut self, course: &str) -> Result<Vec<String>, ProjectionError> {
        let mut locked = Vec::new();
        for stage in self.content.stages(course)?.iter() {
            let Some(check) = &stage.check_module else {
                continue;
            };
            let progress = self
                .tables
                .stage_progress(course, &stage.path, &stage.kind)?;
            if progress.and_then(|p| p.unlocked_ms).is_none() {
                locked.push(check.clone());
            }
        }
        Ok(locked)
    }

    /// Unlocks a stage; a stage keeps the time it first unlocked.
    fn unlock_stage(
        &mut self,
        course: &str,
        path: &str,
        stage: &str,
        at_ms: i64,
    ) -> Result<(), ProjectionError> {
        let progress = match self.tables.stage_progress(course, path, stage)? {
            Some(progress) => StageProgress {
                unlocked_ms: progress.unlocked_ms.or(Some(at_ms)),
                ..progress
            },
            None => StageProgress {
                unlocked_ms: Some(at_ms),
                passed_ms: None,
                checks: 0,
                last_check_ms: None,
                last_check_passed: None,
                passed_skills: None,
            },
        };
        self.tables
            .put_stage_progress(course, path, stage, progress)?;
        Ok(())
    }

    /// When every step of the module is done in this attempt, marks it completed and, for a
    /// stage check, scores the stage.
    fn finish_module_if_done(
        &mut self,
        course: &str,
        module: &str,
        at_ms: i64,
        applied: &mut Applied,
    ) -> Result<(), ProjectionError> {
        // Checked first: most answers are reviews of a module completed long ago, and this one
        // look-up spares them counting the module's steps.
        let progress = self.tables.module_progress(course, module)?;
        let already = progress
            .as_ref()
            .is_some_and(|p| p.completed_ms.is_some_and(|done| done >= p.started_ms));
        if already {
            return Ok(());
        }
        let steps = self.content.module_steps(course, module)?;
        let attempt = self.tables.attempt_steps(course, module)?;
        let done = attempt
            .iter()
            .filter(|done| steps.contains(&done.step))
            .count();
        if steps.is_empty() || done < steps.len() {
            return Ok(());
        }
        let progress = match progress {
            Some(progress) => ModuleProgress {
                completed_ms: Some(at_ms),
                completions: progress.completions + 1,
                ..progress
            },
            None => ModuleProgress {
                attempts: 1,
                started_ms: at_ms,
                completed_ms: Some(at_ms),
                completions: 1,
            },
        };
        self.tables.put_module_progress(course, module, progress)?;
        applied.module_completed = true;
        self.score_stage_checks(course, module, at_ms, applied)
    }

    /// Scores the stages (of the enrolled path, unlocked) whose check `module` is: passed when
    /// every skill the check's items assess reaches the course's threshold. A pass unlocks the
    /// next stage; a failure remediates each skill below the threshold.
    fn score_stage_checks(
        &mut self,
        course: &str,
        module: &str,
        at_ms: i64,
        applied: &mut Applied,
    ) -> Result<(), ProjectionError> {
        let enrolled = self.tables.enrolled_path(course)?;
        let stages = self.content.stages(course)?;
        let mut checked = Vec::new();
        for stage in stages.iter().filter(|s| {
            s.check_module.as_deref() == Some(module) && enrolled.as_deref() == Some(&s.path)
        }) {
            let progress = self
                .tables
                .stage_progress(course, &stage.path, &stage.kind)?;
            if progress.is_some_and(|p| p.unlocked_ms.is_some()) {
                checked.push(stage);
            }
        }
        if checked.is_empty() {
            return Ok(());
        }
        let threshold = self.content.course_settings(course)?.mastery_threshold;
        let skills = self.content.module_item_skills(course, module)?;
        let mut measured = Vec::with_capacity(skills.len());
        for skill in skills.iter() {
            let cards = self.tables.skill_cards(self.content, course, skill)?;
            let mastery = measure(skill, cards, self.schedulers.scheduler(), at_ms);
            measured.push((skill.clone(), mastery.mastery));
        }
        let passed = measured.iter().all(|(_, m)| *m >= threshold);
        for stage in checked {
            let skills_json = serde_json::to_string(&measured).unwrap_or_default();
            if let Some(progress) = self
                .tables
                .stage_progress(course, &stage.path, &stage.kind)?
            {
                let progress = StageProgress {
                    checks: progress.checks + 1,
                    last_check_ms: Some(at_ms),
                    last_check_passed: Some(passed),
                    passed_ms: match passed {
                        true => progress.passed_ms.or(Some(at_ms)),
                        false => progress.passed_ms,
                    },
                    passed_skills: match passed {
                        true => progress.passed_skills.or(Some(skills_json)),
                        false => progress.passed_skills,
                    },
                    ..progress
                };
                self.tables
                    .put_stage_progress(course, &stage.path, &stage.kind, progress)?;
            }
            let mut unlocked = None;
            if passed {
                let next = stages
                    .iter()
                    .find(|s| s.path == stage.path && s.position == stage.position + 1);
                if let Some(next) = next {
                    self.unlock_stage(course, &stage.path, &next.kind, at_ms)?;
                    unlocked = Some(next.kind.clone());
                }
            }
            applied.stage_checks.push(StageCheckResult {
                path: stage.path.clone(),
                stage: stage.kind.clone(),
                passed,
                skills: measured
                    .iter()
                    .map(|(skill, mastery)| SkillScore {
                        skill: skill.clone(),
                        mastery: *mastery,
                    })
                    .collect(),
                threshold,
                unlocked,
            });
        }
        if !passed {
            for (skill, _) in measured.iter().filter(|(_, m)| *m < threshold) {
                let inserted =
                    self.insert_remediation(course, module, skill, STAGE_CHECK_FAILED, at_ms)?;
                applied.remediations.extend(inserted);
            }
        }
        Ok(())
    }
}
