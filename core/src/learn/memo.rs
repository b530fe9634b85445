//! What plans and recommendations read again and again, kept in memory between calls: the cards
//! due before the end of the learner's day, the remediations waiting, each skill's card evidence,
//! each step's skills and each path's next modules.
//!
//! A [`Memo`] is a copy of projections, never a source of truth: it is valid only while the store
//! holds exactly what it was read from. Its [`Stamp`] is the connection's count of changed rows
//! and SQLite's data version (which moves when another connection commits); any write it was not
//! told about moves one of them and the memo is dropped. The facade tells it about one write
//! only, the commonest: an answer that scheduled its card and did nothing else
//! ([`Memo::after_answer`]); every other write (an answer that completed a module, ran a stage
//! check or touched a remediation, a sync, an install) drops it.
//!
//! Every reader here returns what the SQL reader of [`super::projection::read`] returns for the
//! same state and instant, row for row and in the same order: `tidbit::memo_tests` checks that
//! call by call over a month of practice, and that another connection's write is seen.
//!
//! With more than [`MAX_CARDS`] due (a learner back after months away) the memo holds no due
//! cards and plans count and list them from the store; the rest is still remembered.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use rusqlite::Connection;

use super::mastery::{mastery_value, CardEvidence};
use super::projection::read::{self, DueCard, DueCounts, PendingRemediation};
use super::projection::Applied;
use super::schedule::Scheduler;

/// The most due cards a memo holds.
pub const MAX_CARDS: usize = 20_000;

/// What the store looked like when the memo was last in step with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    total_changes: u64,
    data_version: i64,
}

impl Stamp {
    pub fn read(conn: &Connection) -> rusqlite::Result<Stamp> {
        Ok(Stamp {
            total_changes: conn.total_changes(),
            data_version: conn
                .prepare_cached("PRAGMA data_version")?
                .query_row([], |r| r.get(0))?,
        })
    }
}

/// A card due before the memo's horizon, keyed by `(due_ms, course, step)`: the order of
/// [`read::due_cards`].
#[derive(Debug, Clone)]
struct WindowCard {
    module: String,
    item_kind: String,
    stability: f32,
    last_review_ms: i64,
}

type DueKey = (i64, String, String);

#[derive(Debug)]
pub struct Memo {
    stamp: Stamp,
    /// Every installed card due at or before this instant is in `due`.
    horizon_ms: i64,
    due: Option<BTreeMap<DueKey, WindowCard>>,
    /// `(course, step)` to its due instant, to find a card in `due`.
    due_of: HashMap<(String, String), i64>,
    remediations: Vec<PendingRemediation>,
    enrollments: Vec<(String, String)>,
    skill_cards: Remembered<Vec<CardEvidence>>,
    step_skills: Remembered<Vec<String>>,
    next_modules: Remembered<Vec<String>>,
}

/// Values read once, by course and then by a key within it (looked up without allocating).
type Remembered<T> = RefCell<HashMap<String, HashMap<String, T>>>;

/// A due card as the memo holds it, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct DueRef<'a> {
    pub course: &'a str,
    pub module: &'a str,
    pub step: &'a str,
    pub item_kind: &'a str,
    pub stability: f32,
    pub last_review_ms: i64,
    pub due_ms: i64,
}

impl<'a> DueRef<'a> {
    pub fn of(card: &'a DueCard) -> Self {
        DueRef {
            course: &card.course,
            module: &card.module,
            step: &card.step,
            item_kind: &card.item_kind,
            stability: card.stability,
            last_review_ms: card.last_review_ms,
            due_ms: card.due_ms,
        }
    }
}

impl Memo {
    /// Reads the cards due by `horizon_ms` (none when more than [`MAX_CARDS`] are) and the
    /// remediations waiting.
    pub fn build(conn: &Connection, horizon_ms: i64) -> rusqlite::Result<Memo> {
        Memo::build_holding(conn, horizon_ms, MAX_CARDS)
    }

    /// [`Memo::build`], holding at most `max_cards` due cards.
    pub(crate) fn build_holding(
        conn: &Connection,
        horizon_ms: i64,
        max_cards: usize,
    ) -> rusqlite::Result<Memo> {
        let stamp = Stamp::read(conn)?;
        let mut cards = read::due_cards(conn, horizon_ms, None, max_cards as u32 + 1)?;
        let too_many = cards.len() > max_cards;
        if too_many {
            cards.clear();
        }
        let mut due = BTreeMap::new();
        let mut due_of = HashMap::with_capacity(cards.len());
        for card in cards {
            due_of.insert((card.course.clone(), card.step.clone()), card.due_ms);
            due.insert(
                (card.due_ms, card.course, card.step),
                WindowCard {
                    module: card.module,
                    item_kind: card.item_kind,
                    stability: card.stability,
                    last_review_ms: card.last_review_ms,
                },
            );
        }
        Ok(Memo {
            stamp,
            horizon_ms,
            due: (!too_many).then_some(due),
            due_of,
            remediations: read::pending_remediations(conn)?,
            enrollments: read::enrollments(conn)?,
            skill_cards: RefCell::default(),
            step_skills: RefCell::default(),
            next_modules: RefCell::default(),
        })
    }

    /// True while the store holds what the memo was read from.
    pub fn in_step(&self, conn: &Connection) -> rusqlite::Result<bool> {
        Ok(Stamp::read(conn)? == self.stamp)
    }

    /// True while the store holds what the memo was read from and `until_ms` is inside it.
    pub fn serves(&self, conn: &Connection, until_ms: i64) -> rusqlite::Result<bool> {
        Ok(until_ms <= self.horizon_ms && self.in_step(conn)?)
    }

    /// After a write of the caller's own on `conn`, made while the memo was in step, that
    /// changed nothing the memo holds: the memo takes the new stamp. False (drop the memo) when
    /// another connection committed meanwhile.
    pub fn follow_own_write(&mut self, conn: &Connection) -> rusqlite::Result<bool> {
        let now = Stamp::read(conn)?;
        if now.data_version != self.stamp.data_version {
            return Ok(false);
        }
        self.stamp = now;
        Ok(true)
    }

    /// Follows an answer to `step` of `course` that `applied` describes, committed on `conn`
    /// while the memo was in step. Returns false when the answer changed more than its card
    /// (a module completed, a stage check, a remediation inserted or resolved): the memo must
    /// then be dropped.
    pub fn after_answer(
        &mut self,
        conn: &Connection,
        course: &str,
        step: &str,
        applied: &Applied,
    ) -> rusqlite::Result<bool> {
        if applied.module_completed
            || applied.remediation_resolved
            || !applied.stage_checks.is_empty()
            || !applied.remediations.is_empty()
        {
            return Ok(false);
        }
        let Some(card) = &applied.card else {
            return Ok(false);
        };
        let key = (course.to_string(), step.to_string());
        if let Some(due) = self.due.as_mut() {
            if let Some(due_ms) = self.due_of.remove(&key) {
                due.remove(&(due_ms, key.0.clone(), key.1.clone()));
            }
        }
        if let (Some(due), true) = (self.due.as_mut(), card.due_ms <= self.horizon_ms) {
            self.due_of.insert(key.clone(), card.due_ms);
            due.insert(
                (card.due_ms, key.0, key.1),
                WindowCard {
                    module: card.module.clone(),
                    item_kind: card.item_kind.clone(),
                    stability: card.stability,
                    last_review_ms: card.last_review_ms,
                },
            );
        }
        // The card's evidence in every skill read so far: a card new to a skill is inserted in
        // step order, as the SQL reader returns it.
        let skills = self.step_skills(conn, course, step)?;
        let mut skill_cards = self.skill_cards.borrow_mut();
        for skill in skills {
            let Some(cards) = skill_cards
                .get_mut(course)
                .and_then(|skills| skills.get_mut(&skill))
            else {
                continue;
            };
            let evidence = CardEvidence {
                step: step.to_string(),
                stability: card.stability,
                last_review_ms: card.last_review_ms,
                credit_avg: card.credit_avg,
                item_rating: card.item_rating,
            };
            match cards.binary_search_by(|c| c.step.as_str().cmp(step)) {
                Ok(i) => cards[i] = evidence,
                Err(i) => cards.insert(i, evidence),
            }
        }
        drop(skill_cards);
        self.follow_own_write(conn)
    }

    /// [`read::due_counts`], when the memo holds the due cards.
    pub fn due_counts(&self, now_ms: i64, end_of_day_ms: i64) -> Option<DueCounts> {
        let due = self.due.as_ref()?;
        let upto = |ms: i64| due.range(..(ms.saturating_add(1), String::new(), String::new()));
        Some(DueCounts {
            due_now: upto(now_ms).count() as u32,
            due_today: upto(end_of_day_ms).count() as u32,
            remediations: self.remediations.len() as u32,
        })
    }

    /// [`read::due_cards`] of every module, borrowed, when the memo holds the due cards.
    pub fn due_cards(&self, now_ms: i64, limit: u32) -> Option<impl Iterator<Item = DueRef<'_>>> {
        Some(
            self.due
                .as_ref()?
                .range(..(now_ms.saturating_add(1), String::new(), String::new()))
                .take(limit as usize)
                .map(|((due_ms, course, step), card)| DueRef {
                    course,
                    module: &card.module,
                    step,
                    item_kind: &card.item_kind,
                    stability: card.stability,
                    last_review_ms: card.last_review_ms,
                    due_ms: *due_ms,
                }),
        )
    }

    /// [`read::pending_remediations`].
    pub fn pending_remediations(&self) -> &[PendingRemediation] {
        &self.remediations
    }

    /// [`read::enrollments`].
    pub fn enrollments(&self) -> &[(String, String)] {
        &self.enrollments
    }

    /// `with` the cards of [`read::skill_cards`], read once per skill.
    pub fn with_skill_cards<R>(
        &self,
        conn: &Connection,
        course: &str,
        skill: &str,
        with: impl FnOnce(&[CardEvidence]) -> R,
    ) -> rusqlite::Result<R> {
        if let Some(cards) = self
            .skill_cards
            .borrow()
            .get(course)
            .and_then(|s| s.get(skill))
        {
            return Ok(with(cards));
        }
        let cards = read::skill_cards(conn, course, skill)?;
        let value = with(&cards);
        self.skill_cards
            .borrow_mut()
            .entry(course.to_string())
            .or_default()
            .insert(skill.to_string(), cards);
        Ok(value)
    }

    /// The skills of `step` (content: fixed until the next install).
    pub fn step_skills(
        &self,
        conn: &Connection,
        course: &str,
        step: &str,
    ) -> rusqlite::Result<Vec<String>> {
        remembered(&self.step_skills, course, step, || {
            super::projection::step_skills(conn, course, step)
        })
    }

    /// [`super::plan::next_modules`], read once per path.
    pub fn next_modules(
        &self,
        conn: &Connection,
        course: &str,
        path: &str,
    ) -> rusqlite::Result<Vec<String>> {
        remembered(&self.next_modules, course, path, || {
            super::plan::next_modules(conn, course, path)
        })
    }
}

/// The value for `(a, b)` in `map`, read with `load` the first time.
fn remembered<T: Clone>(
    map: &Remembered<T>,
    a: &str,
    b: &str,
    load: impl FnOnce() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    if let Some(value) = map.borrow().get(a).and_then(|values| values.get(b)) {
        return Ok(value.clone());
    }
    let value = load()?;
    map.borrow_mut()
        .entry(a.to_string())
        .or_default()
        .insert(b.to_string(), value.clone());
    Ok(value)
}

/// Where plans and recommendations read from: the store, through a memo when there is one in
/// step with it.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    pub conn: &'a Connection,
    pub memo: Option<&'a Memo>,
}

impl<'a> Reads<'a> {
    /// The store alone.
    pub fn store(conn: &'a Connection) -> Self {
        Reads { conn, memo: None }
    }

    pub fn due_counts(&self, now_ms: i64, end_of_day_ms: i64) -> rusqlite::Result<DueCounts> {
        match self
            .memo
            .and_then(|memo| memo.due_counts(now_ms, end_of_day_ms))
        {
            Some(counts) => Ok(counts),
            None => read::due_counts(self.conn, now_ms, end_of_day_ms),
        }
    }

    /// `with` the cards [`read::due_cards`] returns for every module.
    pub fn with_due_cards<R>(
        &self,
        now_ms: i64,
        limit: u32,
        with: impl FnOnce(&mut dyn Iterator<Item = DueRef<'_>>) -> R,
    ) -> rusqlite::Result<R> {
        Ok(
            match self.memo.and_then(|memo| memo.due_cards(now_ms, limit)) {
                Some(mut cards) => with(&mut cards),
                None => {
                    let cards = read::due_cards(self.conn, now_ms, None, limit)?;
                    with(&mut cards.iter().map(DueRef::of))
                }
            },
        )
    }

    pub fn pending_remediations(&self) -> rusqlite::Result<Vec<PendingRemediation>> {
        match self.memo {
            Some(memo) => Ok(memo.pending_remediations().to_vec()),
            None => read::pending_remediations(self.conn),
        }
    }

    pub fn enrollments(&self) -> rusqlite::Result<Vec<(String, String)>> {
        match self.memo {
            Some(memo) => Ok(memo.enrollments().to_vec()),
            None => read::enrollments(self.conn),
        }
    }

    /// The mastery of `skill` at `now_ms` ([`read::skill_mastery`]'s figure).
    pub fn skill_mastery(
        &self,
        scheduler: &Scheduler,
        course: &str,
        skill: &str,
        now_ms: i64,
    ) -> rusqlite::Result<f64> {
        let value = |cards: &[CardEvidence]| mastery_value(cards, scheduler, now_ms);
        match self.memo {
            Some(memo) => memo.with_skill_cards(self.conn, course, skill, value),
            None => Ok(value(&read::skill_cards(self.conn, course, skill)?)),
        }
    }

    pub fn step_skills(&self, course: &str, step: &str) -> rusqlite::Result<Vec<String>> {
        match self.memo {
            Some(memo) => memo.step_skills(self.conn, course, step),
            None => super::projection::step_skills(self.conn, course, step),
        }
    }

    pub fn next_modules(&self, course: &str, path: &str) -> rusqlite::Result<Vec<String>> {
        match self.memo {
            Some(memo) => memo.next_modules(self.conn, course, path),
            None => super::plan::next_modules(self.conn, course, path),
        }
    }
}
