//! The projection tables in memory, for a replay of the whole log.
//!
//! A replay applies hundreds of thousands of events; through SQLite each would cost some twenty
//! statements. [`ReplayTables`] starts empty (the replay has just emptied the SQLite tables),
//! keeps every row in hash maps while the rules apply the events, and [`ReplayTables::write_out`]
//! writes each row once at the end with the same statements a live event uses
//! ([`super::live::LiveTables`]); a mastery measurement reads the cards held here.
//! Like every [`ProjectionTables`], it stores what it is given and decides nothing.

use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;

use super::content::ContentReader;
use super::live::LiveTables;
use super::pair_map::PairMap;
use super::tables::{
    AttemptMiss, AttemptStep, CardRow, GoalRow, ModuleProgress, PendingRemediation,
    ProjectionTables, RemediationRow, ResponseTime, ReviewRow, SkillRating, StageProgress,
};
use crate::learn::mastery::CardEvidence;
use crate::privacy::consent::ConsentScope;

/// The current attempt at a module: its steps done and its misses per skill.
#[derive(Default)]
struct Attempt {
    steps: Vec<AttemptStep>,
    misses: Vec<(String, AttemptMiss)>,
}

/// Every projection row of a replay, in memory.
pub(super) struct ReplayTables<'c> {
    conn: &'c Connection,
    enrollments: HashMap<String, (String, i64)>,
    cards: PairMap<CardRow>,
    due_load: HashMap<i64, i64>,
    skill_ratings: PairMap<SkillRating>,
    response_times: HashMap<String, ResponseTime>,
    activity_days: HashMap<String, i64>,
    module_progress: PairMap<ModuleProgress>,
    attempts: PairMap<Attempt>,
    stage_progress: HashMap<(String, String, String), StageProgress>,
    /// Remediation `id` is at index `id - 1`, as SQLite numbers rows inserted into an empty table.
    remediations: Vec<RemediationRow>,
    /// Ids of unresolved remediations by course and item step, and by course and skill.
    pending_by_item: PairMap<Vec<i64>>,
    pending_by_skill: PairMap<Vec<i64>>,
    parameters: Option<(String, i64)>,
    consents: HashMap<ConsentScope, (bool, i64)>,
    /// Peer ratings counted, in the order they were: (rating, course, step, credit).
    peer_ratings: Vec<(String, String, String, f64)>,
    counted_ratings: std::collections::HashSet<String>,
    retention: HashMap<String, (f64, i64)>,
    goals: BTreeMap<String, GoalRow>,
    study_time: Option<(u32, Vec<u8>, i64)>,
    reviews: HashMap<String, ReviewRow>,
}

impl<'c> ReplayTables<'c> {
    /// Empty tables; `conn` must hold empty projection tables too.
    pub(super) fn new(conn: &'c Connection) -> Self {
        ReplayTables {
            conn,
            enrollments: HashMap::new(),
            cards: PairMap::default(),
            due_load: HashMap::new(),
            skill_ratings: PairMap::default(),
            response_times: HashMap::new(),
            activity_days: HashMap::new(),
            module_progress: PairMap::default(),
            attempts: PairMap::default(),
            stage_progress: HashMap::new(),
            remediations: Vec::new(),
            pending_by_item: PairMap::default(),
            pending_by_skill: PairMap::default(),
            parameters: None,
            consents: HashMap::new(),
            peer_ratings: Vec::new(),
            counted_ratings: std::collections::HashSet::new(),
            retention: HashMap::new(),
            goals: BTreeMap::new(),
            study_time: None,
            reviews: HashMap::new(),
        }
    }

    /// Writes every row to the SQLite tables.
    pub(super) fn write_out(self) -> rusqlite::Result<()> {
        let mut live = LiveTables::new(self.conn);
        for (course, (path, at_ms)) in &self.enrollments {
            live.put_enrollment(course, path, *at_ms)?;
        }
        for (course, step, card) in self.cards.iter() {
            live.write_card(course, step, card)?;
        }
        for (day, cards) in &self.due_load {
            live.add_due_load(*day, *cards)?;
        }
        for (course, skill, rating) in self.skill_ratings.iter() {
            live.put_skill_rating(course, skill, *rating)?;
        }
        for (item_kind, time) in &self.response_times {
            live.put_response_time(item_kind, *time)?;
        }
        for (day, answers) in &self.activity_days {
            live.add_activity_day(day, *answers)?;
        }
        for (course, module, progress) in self.module_progress.iter() {
            live.put_module_progress(course, module, *progress)?;
        }
        for (course, module, attempt) in self.attempts.iter() {
            for step in &attempt.steps {
                live.put_attempt_step(course, module, &step.step, step.credit)?;
            }
            for (skill, miss) in &attempt.misses {
                live.put_attempt_miss(course, module, skill, *miss)?;
            }
        }
        for ((course, path, stage), progress) in self.stage_progress {
            live.put_stage_progress(&course, &path, &stage, progress)?;
        }
        for (index, remediation) in self.remediations.iter().enumerate() {
            live.restore_remediation(index as i64 + 1, remediation)?;
        }
        if let Some((json, at_ms)) = &self.parameters {
            live.put_parameters(json, *at_ms)?;
        }
        for (course, (retention, at_ms)) in &self.retention {
            live.put_retention(course, *retention, *at_ms)?;
        }
        for (scope, (granted, at_ms)) in &self.consents {
            live.put_consent(*scope, *granted, *at_ms)?;
        }
        for (rating, course, step, credit) in &self.peer_ratings {
            live.count_peer_rating(rating, course, step, *credit)?;
        }
        for (id, review) in self.reviews {
            live.put_review(&id, review)?;
        }
        for goal in self.goals.into_values() {
            live.put_goal(goal)?;
        }
        if let Some((minutes, days_off, at_ms)) = &self.study_time {
            live.put_study_time(*minutes, days_off, *at_ms)?;
        }
        Ok(())
    }

    fn remediation_mut(&mut self, id: i64) -> Option<&mut RemediationRow> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        self.remediations.get_mut(index)
    }
}

/// Removes `id` from the ids listed under a key.
fn forget_pending(map: &mut PairMap<Vec<i64>>, first: &str, second: &str, id: i64) {
    if let Some(ids) = map.get_mut(first, second) {
        ids.retain(|&pending| pending != id);
    }
}

impl ProjectionTables for ReplayTables<'_> {
    fn enrolled_path(&mut self, course: &str) -> rusqlite::Result<Option<String>> {
        Ok(self.enrollments.get(course).map(|(path, _)| path.clone()))
    }

    fn put_enrollment(&mut self, course: &str, path: &str, at_ms: i64) -> rusqlite::Result<()> {
        self.enrollments
            .insert(course.to_string(), (path.to_string(), at_ms));
        Ok(())
    }

    fn card(&mut self, course: &str, step: &str) -> rusqlite::Result<Option<CardRow>> {
        Ok(self.cards.get(course, step).cloned())
    }

    fn put_card(&mut self, course: &str, step: &str, card: CardRow) -> rusqlite::Result<()> {
        self.cards.insert(course, step, card);
        Ok(())
    }

    fn due_load(&mut self, day: i64) -> rusqlite::Result<i64> {
        Ok(self.due_load.get(&day).copied().unwrap_or(0))
    }

    fn add_due_load(&mut self, day: i64, cards: i64) -> rusqlite::Result<()> {
        *self.due_load.entry(day).or_insert(0) += cards;
        Ok(())
    }

    fn skill_rating(&mut self, course: &str, skill: &str) -> rusqlite::Result<Option<SkillRating>> {
        Ok(self.skill_ratings.get(course, skill).copied())
    }

    fn put_skill_rating(
        &mut self,
        course: &str,
        skill: &str,
        rating: SkillRating,
    ) -> rusqlite::Result<()> {
        self.skill_ratings.insert(course, skill, rating);
        Ok(())
    }

    fn response_time(&mut self, item_kind: &str) -> rusqlite::Result<Option<ResponseTime>> {
        Ok(self.response_times.get(item_kind).copied())
    }

    fn put_response_time(&mut self, item_kind: &str, time: ResponseTime) -> rusqlite::Result<()> {
        match self.response_times.get_mut(item_kind) {
            Some(slot) => *slot = time,
            None => {
                self.response_times.insert(item_kind.to_string(), time);
            }
        }
        Ok(())
    }

    fn add_activity_day(&mut self, day: &str, answers: i64) -> rusqlite::Result<()> {
        match self.activity_days.get_mut(day) {
            Some(count) => *count += answers,
            None => {
                self.activity_days.insert(day.to_string(), answers);
            }
        }
        Ok(())
    }

    fn module_progress(
        &mut self,
        course: &str,
        module: &str,
    ) -> rusqlite::Result<Option<ModuleProgress>> {
        Ok(self.module_progress.get(course, module).copied())
    }

    fn put_module_progress(
        &mut self,
        course: &str,
        module: &str,
        progress: ModuleProgress,
    ) -> rusqlite::Result<()> {
        self.module_progress.insert(course, module, progress);
        Ok(())
    }

    fn attempt_steps(&mut self, course: &str, module: &str) -> rusqlite::Result<Vec<AttemptStep>> {
        Ok(self
            .attempts
            .get(course, module)
            .map(|attempt| attempt.steps.clone())
            .unwrap_or_default())
    }

    fn put_attempt_step(
        &mut self,
        course: &str,
        module: &str,
        step: &str,
        credit: Option<f64>,
    ) -> rusqlite::Result<()> {
        self.attempts
            .update(course, module, Attempt::default, |attempt| {
                match attempt.steps.iter_mut().find(|done| done.step == step) {
                    Some(done) => done.credit = credit,
                    None => attempt.steps.push(AttemptStep {
                        step: step.to_string(),
                        credit,
                    }),
                }
            });
        Ok(())
    }

    fn attempt_miss(
        &mut self,
        course: &str,
        module: &str,
        skill: &str,
    ) -> rusqlite::Result<Option<AttemptMiss>> {
        Ok(self.attempts.get(course, module).and_then(|attempt| {
            attempt
                .misses
                .iter()
                .find(|(missed, _)| missed == skill)
                .map(|(_, miss)| *miss)
        }))
    }

    fn put_attempt_miss(
        &mut self,
        course: &str,
        module: &str,
        skill: &str,
        miss: AttemptMiss,
    ) -> rusqlite::Result<()> {
        self.attempts
            .update(course, module, Attempt::default, |attempt| {
                let missed = attempt
                    .misses
                    .iter_mut()
                    .find(|(missed, _)| missed == skill);
                match missed {
                    Some((_, slot)) => *slot = miss,
                    None => attempt.misses.push((skill.to_string(), miss)),
                }
            });
        Ok(())
    }

    fn clear_attempt(&mut self, course: &str, module: &str) -> rusqlite::Result<()> {
        self.attempts.remove(course, module);
        Ok(())
    }

    fn stage_progress(
        &mut self,
        course: &str,
        path: &str,
        stage: &str,
    ) -> rusqlite::Result<Option<StageProgress>> {
        // Stages are few and rarely touched: an owned key costs nothing worth saving.
        let key = (course.to_string(), path.to_string(), stage.to_string());
        Ok(self.stage_progress.get(&key).cloned())
    }

    fn put_stage_progress(
        &mut self,
        course: &str,
        path: &str,
        stage: &str,
        progress: StageProgress,
    ) -> rusqlite::Result<()> {
        let key = (course.to_string(), path.to_string(), stage.to_string());
        self.stage_progress.insert(key, progress);
        Ok(())
    }

    fn pending_remediations_of_item(
        &mut self,
        course: &str,
        item_step: &str,
    ) -> rusqlite::Result<Vec<PendingRemediation>> {
        let Some(ids) = self.pending_by_item.get(course, item_step) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|&id| {
                let index = usize::try_from(id - 1).ok()?;
                let row = self.remediations.get(index)?;
                Some(PendingRemediation {
                    id,
                    created_ms: row.created_ms,
                })
            })
            .collect())
    }

    fn pending_remediation_items(
        &mut self,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Vec<String>> {
        let Some(ids) = self.pending_by_skill.get(course, skill) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|&id| {
                let index = usize::try_from(id - 1).ok()?;
                Some(self.remediations.get(index)?.item_step.clone())
            })
            .collect())
    }

    fn resolve_remediation(&mut self, id: i64, at_ms: i64, credit: f64) -> rusqlite::Result<()> {
        let Some(row) = self.remediation_mut(id) else {
            return Ok(());
        };
        row.resolved_ms = Some(at_ms);
        row.resolved_credit = Some(credit);
        let (course, item_step, skill) =
            (row.course.clone(), row.item_step.clone(), row.skill.clone());
        forget_pending(&mut self.pending_by_item, &course, &item_step, id);
        forget_pending(&mut self.pending_by_skill, &course, &skill, id);
        Ok(())
    }

    fn insert_remediation(&mut self, row: RemediationRow) -> rusqlite::Result<()> {
        let id = self.remediations.len() as i64 + 1;
        if row.resolved_ms.is_none() {
            self.pending_by_item
                .update(&row.course, &row.item_step, Vec::new, |ids| ids.push(id));
            self.pending_by_skill
                .update(&row.course, &row.skill, Vec::new, |ids| ids.push(id));
        }
        self.remediations.push(row);
        Ok(())
    }

    fn put_parameters(&mut self, parameters_json: &str, at_ms: i64) -> rusqlite::Result<()> {
        self.parameters = Some((parameters_json.to_string(), at_ms));
        Ok(())
    }

    fn clear_parameters(&mut self) -> rusqlite::Result<()> {
        self.parameters = None;
        Ok(())
    }

    fn goal_set_by_server(&mut self, goal: &str) -> rusqlite::Result<Option<bool>> {
        Ok(self.goals.get(goal).map(|g| g.goal.set_by_server))
    }

    fn put_goal(&mut self, row: GoalRow) -> rusqlite::Result<()> {
        self.goals.insert(row.goal.spec.goal.clone(), row);
        Ok(())
    }

    fn put_study_time(
        &mut self,
        minutes: u32,
        days_off: &[u8],
        at_ms: i64,
    ) -> rusqlite::Result<()> {
        self.study_time = Some((minutes, days_off.to_vec(), at_ms));
        Ok(())
    }

    fn retention(&mut self, course: &str) -> rusqlite::Result<Option<f64>> {
        Ok(self.retention.get(course).map(|(r, _)| *r))
    }

    fn put_retention(&mut self, course: &str, retention: f64, at_ms: i64) -> rusqlite::Result<()> {
        self.retention
            .insert(course.to_string(), (retention, at_ms));
        Ok(())
    }

    fn consent(&mut self, scope: ConsentScope) -> rusqlite::Result<bool> {
        Ok(self
            .consents
            .get(&scope)
            .is_some_and(|(granted, _)| *granted))
    }

    fn put_consent(
        &mut self,
        scope: ConsentScope,
        granted: bool,
        at_ms: i64,
    ) -> rusqlite::Result<()> {
        self.consents.insert(scope, (granted, at_ms));
        Ok(())
    }

    fn count_peer_rating(
        &mut self,
        rating: &str,
        course: &str,
        step: &str,
        credit: f64,
    ) -> rusqlite::Result<bool> {
        if !self.counted_ratings.insert(rating.to_string()) {
            return Ok(false);
        }
        self.peer_ratings
            .push((rating.into(), course.into(), step.into(), credit));
        Ok(true)
    }

    fn review(&mut self, id: &str) -> rusqlite::Result<Option<ReviewRow>> {
        Ok(self.reviews.get(id).cloned())
    }

    fn put_review(&mut self, id: &str, review: ReviewRow) -> rusqlite::Result<()> {
        self.reviews.insert(id.to_string(), review);
        Ok(())
    }

    fn skill_cards(
        &mut self,
        content: &mut ContentReader<'_>,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Vec<CardEvidence>> {
        // In step id order, as SQLite's binary collation orders them for a live event.
        let mut steps = content.skill_step_ids(course, skill)?.to_vec();
        steps.sort();
        Ok(steps
            .iter()
            .filter_map(|step| self.cards.get(course, step).map(|card| card.evidence(step)))
            .collect())
    }
}
