//! The projection tables as the projection rules see them: rows read and written one at a time,
//! by key.
//!
//! [`ProjectionTables`] is implemented twice: [`super::live::LiveTables`] reads and writes the
//! SQLite tables directly (a live event), [`super::replay::ReplayTables`] keeps the rows in
//! memory during a replay and writes each table once at the end. An implementation stores what
//! it is given and returns what it stored, nothing more: every decision (what a new row holds,
//! how a value changes, which rows an event touches) belongs to the rules in
//! [`super::rules`], so both implementations derive the same state from the same events.

use super::content::ContentReader;
use crate::learn::mastery::CardEvidence;
use crate::learn::schedule::CardState;
use crate::privacy::consent::ConsentScope;

/// A card: the memory state of one item and what the learner's answers say about it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CardRow {
    /// The module and item kind of the card's first answer.
    pub module: String,
    pub item_kind: String,
    pub state: CardState,
    /// Recent-weighted credit of the learner's answers.
    pub credit_avg: f64,
    pub last_credit: f64,
    /// Elo-style difficulty of the item.
    pub item_rating: f64,
}

impl From<&CardRow> for super::AnsweredCard {
    fn from(card: &CardRow) -> Self {
        super::AnsweredCard {
            module: card.module.clone(),
            item_kind: card.item_kind.clone(),
            stability: card.state.stability,
            last_review_ms: card.state.last_review_ms,
            due_ms: card.state.due_ms,
            credit_avg: card.credit_avg,
            item_rating: card.item_rating,
        }
    }
}

impl CardRow {
    /// What the card says about its skills' mastery.
    pub fn evidence(&self, step: &str) -> CardEvidence {
        CardEvidence {
            step: step.to_string(),
            stability: self.state.stability,
            last_review_ms: self.state.last_review_ms,
            credit_avg: self.credit_avg,
            item_rating: self.item_rating,
        }
    }
}

/// A goal as its latest `GoalSet` left it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GoalRow {
    pub goal: crate::learn::goal::Goal,
    pub withdrawn: bool,
}

/// The learner's Elo-style ability on a skill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct SkillRating {
    pub ability: f64,
    pub answers: i64,
}

/// The learner's usual response time for an item kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ResponseTime {
    pub typical_ms: f64,
    pub answers: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct ModuleProgress {
    pub attempts: i64,
    pub started_ms: i64,
    pub completed_ms: Option<i64>,
    pub completions: i64,
}

/// A step done in the current attempt at a module; `credit` is `None` for a lesson card.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AttemptStep {
    pub step: String,
    pub credit: Option<f64>,
}

/// Wrong answers on one skill in the current attempt at a module.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct AttemptMiss {
    pub wrong: i64,
    pub remediated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct StageProgress {
    pub unlocked_ms: Option<i64>,
    pub passed_ms: Option<i64>,
    pub checks: i64,
    pub last_check_ms: Option<i64>,
    pub last_check_passed: Option<bool>,
    /// Skill masteries (JSON) measured by the first passing check.
    pub passed_skills: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct RemediationRow {
    pub course: String,
    pub module: String,
    pub skill: String,
    pub reason: String,
    pub created_ms: i64,
    pub due_ms: i64,
    pub lesson_step: Option<String>,
    pub item_step: String,
    pub resolved_ms: Option<i64>,
    pub resolved_credit: Option<f64>,
}

/// A review the learner asked for, and its decision once a person took it. The texts stay in
/// the (sealed) events the row names; the row holds what the engine acts on.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ReviewRow {
    pub course: String,
    pub path: String,
    pub stage: String,
    pub requested_ms: i64,
    /// The `ReviewDecided` event, when, and whether it unlocked the stage.
    pub decision: Option<(String, i64, bool)>,
}

/// A remediation not yet resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PendingRemediation {
    pub id: i64,
    pub created_ms: i64,
}

/// Row-at-a-time access to the projection tables. Reads return what the last write stored
/// (`None` when there is no row); writes replace the whole row.
pub(super) trait ProjectionTables {
    fn enrolled_path(&mut self, course: &str) -> rusqlite::Result<Option<String>>;
    fn put_enrollment(&mut self, course: &str, path: &str, at_ms: i64) -> rusqlite::Result<()>;

    fn card(&mut self, course: &str, step: &str) -> rusqlite::Result<Option<CardRow>>;
    fn put_card(&mut self, course: &str, step: &str, card: CardRow) -> rusqlite::Result<()>;

    /// Cards due on `day` (days since the epoch), 0 when there is no row.
    fn due_load(&mut self, day: i64) -> rusqlite::Result<i64>;
    /// Adds `cards` (which may be negative) to the count of `day`, creating the row if needed.
    fn add_due_load(&mut self, day: i64, cards: i64) -> rusqlite::Result<()>;

    fn skill_rating(&mut self, course: &str, skill: &str) -> rusqlite::Result<Option<SkillRating>>;
    fn put_skill_rating(
        &mut self,
        course: &str,
        skill: &str,
        rating: SkillRating,
    ) -> rusqlite::Result<()>;

    fn response_time(&mut self, item_kind: &str) -> rusqlite::Result<Option<ResponseTime>>;
    fn put_response_time(&mut self, item_kind: &str, time: ResponseTime) -> rusqlite::Result<()>;

    /// Adds `answers` to the count of the local date `day`, creating the row if needed.
    fn add_activity_day(&mut self, day: &str, answers: i64) -> rusqlite::Result<()>;

    fn module_progress(
        &mut self,
        course: &str,
        module: &str,
    ) -> rusqlite::Result<Option<ModuleProgress>>;
    fn put_module_progress(
        &mut self,
        course: &str,
        module: &str,
        progress: ModuleProgress,
    ) -> rusqlite::Result<()>;

    /// The steps done in the current attempt at `module`, in no particular order.
    fn attempt_steps(&mut self, course: &str, module: &str) -> rusqlite::Result<Vec<AttemptStep>>;
    fn put_attempt_step(
        &mut self,
        course: &str,
        module: &str,
        step: &str,
        credit: Option<f64>,
    ) -> rusqlite::Result<()>;
    fn attempt_miss(
        &mut self,
        course: &str,
        module: &str,
        skill: &str,
    ) -> rusqlite::Result<Option<AttemptMiss>>;
    fn put_attempt_miss(
        &mut self,
        course: &str,
        module: &str,
        skill: &str,
        miss: AttemptMiss,
    ) -> rusqlite::Result<()>;
    /// Forgets the steps and misses of the attempt at `module`.
    fn clear_attempt(&mut self, course: &str, module: &str) -> rusqlite::Result<()>;

    fn stage_progress(
        &mut self,
        course: &str,
        path: &str,
        stage: &str,
    ) -> rusqlite::Result<Option<StageProgress>>;
    fn put_stage_progress(
        &mut self,
        course: &str,
        path: &str,
        stage: &str,
        progress: StageProgress,
    ) -> rusqlite::Result<()>;

    /// The unresolved remediations that re-test `item_step`, oldest first.
    fn pending_remediations_of_item(
        &mut self,
        course: &str,
        item_step: &str,
    ) -> rusqlite::Result<Vec<PendingRemediation>>;
    /// The items of the unresolved remediations of `skill`.
    fn pending_remediation_items(
        &mut self,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Vec<String>>;
    fn resolve_remediation(&mut self, id: i64, at_ms: i64, credit: f64) -> rusqlite::Result<()>;
    /// Adds a remediation under the next id (one more than the largest so far).
    fn insert_remediation(&mut self, remediation: RemediationRow) -> rusqlite::Result<()>;

    fn put_parameters(&mut self, parameters_json: &str, at_ms: i64) -> rusqlite::Result<()>;
    /// Back to the default parameters: no row.
    fn clear_parameters(&mut self) -> rusqlite::Result<()>;

    /// Whether `scope` is granted (`false` when never changed).
    fn consent(&mut self, scope: ConsentScope) -> rusqlite::Result<bool>;
    fn put_consent(
        &mut self,
        scope: ConsentScope,
        granted: bool,
        at_ms: i64,
    ) -> rusqlite::Result<()>;

    /// Notes that peer rating `rating` (an answer and its reviewer) was counted; false when it
    /// already was.
    fn count_peer_rating(
        &mut self,
        rating: &str,
        course: &str,
        step: &str,
        credit: f64,
    ) -> rusqlite::Result<bool>;

    /// The desired retention an experiment set for `course`, if one did.
    fn retention(&mut self, course: &str) -> rusqlite::Result<Option<f64>>;
    fn put_retention(&mut self, course: &str, retention: f64, at_ms: i64) -> rusqlite::Result<()>;

    fn review(&mut self, id: &str) -> rusqlite::Result<Option<ReviewRow>>;
    fn put_review(&mut self, id: &str, review: ReviewRow) -> rusqlite::Result<()>;

    /// Whether goal `goal` was set by the server, if it is known.
    fn goal_set_by_server(&mut self, goal: &str) -> rusqlite::Result<Option<bool>>;
    fn put_goal(&mut self, goal: GoalRow) -> rusqlite::Result<()>;
    /// The learner's study time: minutes on a learning day and the ISO weekdays off.
    fn put_study_time(&mut self, minutes: u32, days_off: &[u8], at_ms: i64)
        -> rusqlite::Result<()>;

    /// The cards of `skill` as they stand now, in step id order: the evidence a mastery
    /// measurement ([`crate::learn::mastery::measure`]) reads.
    fn skill_cards(
        &mut self,
        content: &mut ContentReader<'_>,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Vec<CardEvidence>>;
}
