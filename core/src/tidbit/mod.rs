//! The facade: the one object the apps (through the FFI), the CLI and the tests drive.
//!
//! A call that records learner work turns into one event, written with the projections it
//! changes in a single SQLite transaction, committed before the call returns. Reads (plans,
//! mastery, the next activity) are computed from the projections at the injected clock's time.
//! Nothing here waits for a network.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::content::model::{Step, StepBody};
use crate::events::{Clock, Event, EventKind, Grade};
use crate::keys::TrustedKeys;
use crate::learn::assess::{assess, item_view, Assessment, ItemView, Response, ResponseError};
use crate::learn::projection::{
    apply_event, rebuild, Applied, ProjectionError, RemediationInserted, SchedulerCache,
    StageCheckResult,
};
use crate::learn::schedule::grade_for;
use crate::privacy::at_rest::AtRestKey;
use crate::privacy::consent::ConsentScope;
use crate::store::event_log::{self, EventLog, EventLogError};
use crate::store::{InstallReport, Store, StoreError};
use crate::time_zone::Zone;

mod cohort_audio;
mod community;
mod decided;
pub mod delivery;
mod erase;
pub mod export;
mod goals;
mod interventions;
mod inventory;
#[cfg(test)]
mod memo_tests;
mod nudges;
mod outcomes;
mod plans;
mod progress;
mod rights;
pub mod sync_client;
mod sync_session;
mod voice;

pub use cohort_audio::{fetch_shared_audio, upload_shared_audio};
pub use community::CommunityError;
pub use delivery::{
    fetch_module_assets, update_courses, CourseUpdateReport, DeliveryError, DeliveryOptions,
    DownloadProgress, MissingMedia, ModuleAssetsReport, PendingDownload, PendingReason,
    RefusedPack,
};
pub use erase::EraseError;
pub use goals::GoalError;
pub use interventions::{InterventionError, InterventionView};
pub use progress::{StageStatus, Streak};
pub use rights::{Review, ReviewDecision, MAX_REVIEW_REASON_CHARS};
pub use sync_client::{sync, SyncError, SyncOptions, SyncReport};
pub use sync_session::{Incoming, SyncSession};
pub use voice::VoiceError;

#[derive(Debug, thiserror::Error)]
pub enum TidbitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the answer does not fit this item: {0}")]
    Response(#[from] ResponseError),
    #[error("'{time_zone}' is not an IANA time zone (such as Europe/Berlin): fix the learner's settings")]
    TimeZone { time_zone: String },
    /// The learner's store was erased from this device (see `erase`).
    #[error("this learner's store was erased from this device: open a new one to start again")]
    Erased,
    #[error("course '{course}' has no step '{step}': the course may have been upgraded; refresh the module")]
    UnknownStep { course: String, step: String },
    #[error("step '{step}' is a lesson card, not an item: record it with view_step")]
    NotAnItem { step: String },
    #[error("step '{step}' is not a flashcard: only flashcards have a back to reveal")]
    NotAFlashcard { step: String },
    #[error("step '{step}' is an item: answer it instead of marking it viewed")]
    NotALesson { step: String },
    #[error("course '{course}' has no path '{path}': pick one listed in the catalog")]
    UnknownPath { course: String, path: String },
    #[error("stored data is unreadable ({0}): rebuild the projections or reinstall the course")]
    Corrupt(String),
    #[error(transparent)]
    Fit(#[from] crate::learn::personalise::FitError),
    #[error(transparent)]
    Certificate(#[from] crate::certificate::CertificateError),
    #[error("path '{path}' of course '{course}' is not finished: pass every stage check first")]
    PathNotFinished { course: String, path: String },
    #[error(transparent)]
    Documents(#[from] crate::sync::local::LocalError),
    /// A peer (the sync server) sent something this device refuses; nothing of it was applied.
    #[error("the sync server sent something invalid ({0}); nothing was changed on this device: sync again later, and tell the server's operator if this keeps happening")]
    RefusedPeerData(String),
    #[error(transparent)]
    Consent(#[from] crate::privacy::consent::ConsentError),
    #[error("course '{course}' has no stage '{stage}' on the path the learner follows")]
    UnknownStage { course: String, stage: String },
    #[error("stage '{stage}' of course '{course}' is unlocked and no check of it failed: there is no decision to review")]
    NothingToReview { course: String, stage: String },
    #[error("a review needs the learner's reason: 1 to {max} characters")]
    ReviewReason { max: usize },
    #[error(
        "the export could not be written to {path} ({message}): pick a directory the app can write"
    )]
    Export { path: String, message: String },
    #[error("learning records: {0}")]
    Records(#[from] crate::analytics::xapi::XapiError),
    #[error("not a valid experiment: {0}")]
    InvalidExperiment(String),
    #[error("not a push token: {0}; pass the token the platform's push service gave the app")]
    InvalidPushToken(String),
    #[error(transparent)]
    Voice(#[from] VoiceError),
    #[error(transparent)]
    Community(#[from] CommunityError),
    #[error(transparent)]
    Goal(#[from] GoalError),
    #[error(transparent)]
    Intervention(#[from] InterventionError),
}

impl From<EventLogError> for TidbitError {
    fn from(error: EventLogError) -> Self {
        match error {
            EventLogError::Sqlite(error) => TidbitError::Sqlite(error),
            EventLogError::Documents(error) => TidbitError::Documents(error),
            EventLogError::Unreadable { .. } => TidbitError::Corrupt(error.to_string()),
        }
    }
}

/// How to open a learner's Tidbit.
#[derive(Clone)]
pub struct TidbitConfig {
    pub data_dir: PathBuf,
    pub learner_id: String,
    pub device_id: String,
    /// IANA time zone name, for day boundaries and streaks.
    pub time_zone: String,
    pub trusted_keys: TrustedKeys,
    /// The key the learner's answers and sync documents are sealed with on this device (from
    /// the platform's key store); `None` keeps them in plain form (authoring and test stores).
    pub at_rest_key: Option<Arc<AtRestKey>>,
}

/// What the learner sees after answering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct Feedback {
    /// The id of the answer's event (to share the answer with a cohort).
    pub answer_event: String,
    pub assessment: Assessment,
    pub grade: Grade,
    pub next_due_ms: Option<i64>,
    pub module_completed: bool,
    pub stage_checks: Vec<StageCheckResult>,
    pub remediations: Vec<RemediationInserted>,
}

/// A step as the UI shows it: lesson cards whole, items without their answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum StepView {
    Lesson {
        id: String,
        card: crate::content::model::LessonCard,
    },
    Item {
        id: String,
        skills: Vec<String>,
        view: ItemView,
    },
}

pub struct Tidbit {
    store: Store,
    config: TidbitConfig,
    clock: Arc<dyn Clock>,
    time_zone: Zone,
    schedulers: SchedulerCache,
    /// The event log, with the learner's Automerge documents it writes events into.
    log: EventLog,
    /// What plans and recommendations read, kept between calls while the store holds it
    /// ([`crate::learn::memo`]).
    memo: std::sync::Mutex<Option<crate::learn::memo::Memo>>,
    /// Decisions waiting to be written with the next recorded event ([`decided`]).
    decided: decided::Waiting,
}

impl Tidbit {
    pub fn open(config: TidbitConfig, clock: Arc<dyn Clock>) -> Result<Tidbit, TidbitError> {
        let time_zone = Zone::named(&config.time_zone).map_err(|_| TidbitError::TimeZone {
            time_zone: config.time_zone.clone(),
        })?;
        let store = Store::open_sealed(&config.data_dir, config.at_rest_key.clone())?;
        let schedulers = SchedulerCache::load(store.conn())?;
        // Written only when they change: an open that writes nothing commits nothing.
        for (key, value) in [
            ("learner_id", &config.learner_id),
            ("device_id", &config.device_id),
        ] {
            store.conn().execute(
                "INSERT INTO learner_settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value
                 WHERE value IS NOT excluded.value",
                params![key, value],
            )?;
        }
        let log = EventLog::new(&config.device_id)?;
        Ok(Tidbit {
            store,
            config,
            clock,
            time_zone,
            schedulers,
            log,
            memo: std::sync::Mutex::new(None),
            decided: decided::Waiting::default(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn learner_id(&self) -> &str {
        &self.config.learner_id
    }

    pub fn device_id(&self) -> &str {
        &self.config.device_id
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Every installed course with its paths, stages and modules, ordered by title.
    pub fn catalog(&self) -> Result<Vec<crate::store::CourseSummary>, TidbitError> {
        Ok(self.store.catalog()?)
    }

    /// The installed version of course `id`, whole.
    pub fn course(&self, id: &str) -> Result<crate::content::model::Course, TidbitError> {
        Ok(self.store.load_course(id)?)
    }

    /// The file holding asset `path` (as named in a lesson card) of an installed course.
    pub fn asset_file(&self, course: &str, path: &str) -> Result<Option<PathBuf>, TidbitError> {
        Ok(self.store.asset_file(course, path)?)
    }

    pub fn install_pack(
        &mut self,
        pack: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<InstallReport, TidbitError> {
        let trusted = self.config.trusted_keys.clone();
        let report = self.store.install_pack(pack, &trusted, progress)?;
        // Projections read the installed content (skills, stages, settings): after an upgrade
        // they are derived again, so state always equals a replay of the log on this content.
        if matches!(
            report.outcome,
            crate::store::InstallOutcome::Upgraded { .. }
        ) {
            self.rebuild_projections()?;
        }
        Ok(report)
    }

    /// Writes one event and the projections it changes in one transaction.
    fn record(&mut self, kind: EventKind) -> Result<(Event, Applied), TidbitError> {
        self.record_with(kind, |_| Ok(()))
    }

    /// [`Tidbit::record`], with `also` written first in the same transaction: everything
    /// commits together, or nothing does.
    fn record_with(
        &mut self,
        kind: EventKind,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), TidbitError>,
    ) -> Result<(Event, Applied), TidbitError> {
        let tx = self.store.conn_mut().transaction()?;
        also(&tx)?;
        let decisions = self.decided.write(&tx)?;
        let event = self
            .log
            .append(&tx, self.clock.now().timestamp_millis(), kind)?;
        let applied = apply_event(&tx, &mut self.schedulers, &event).and_then(|applied| {
            tx.commit()?;
            Ok(applied)
        });
        if applied.is_ok() {
            self.decided.written(decisions);
        }
        if applied.is_err() {
            // The transaction rolled back: the document must not keep the event in memory, nor
            // the scheduler the new parameters.
            self.log.discard(&event);
            if matches!(event.kind, EventKind::ParametersAdopted { .. }) {
                self.schedulers = SchedulerCache::load(self.store.conn())?;
            }
        }
        Ok((event, applied?))
    }

    /// Follow `path` of `course`; its first stage unlocks.
    pub fn enroll(&mut self, course: &str, path: &str) -> Result<(), TidbitError> {
        let known: bool = self.store.conn().query_row(
            "SELECT count(*) FROM paths WHERE course_id = ?1 AND id = ?2",
            params![course, path],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !known {
            return Err(TidbitError::UnknownPath {
                course: course.into(),
                path: path.into(),
            });
        }
        self.record(EventKind::Enrolled {
            course: course.into(),
            path: path.into(),
        })?;
        Ok(())
    }

    /// Opens a module (a new attempt) and returns its steps as the UI shows them.
    pub fn start_module(
        &mut self,
        course: &str,
        module: &str,
    ) -> Result<Vec<StepView>, TidbitError> {
        let steps = self.store.module_steps(course, module)?;
        if steps.is_empty() {
            return Err(TidbitError::UnknownStep {
                course: course.into(),
                step: module.into(),
            });
        }
        self.record(EventKind::ModuleStarted {
            course: course.into(),
            module: module.into(),
        })?;
        Ok(steps.iter().map(step_view).collect())
    }

    /// One step as the UI shows it (for remediation and review steps outside a module).
    pub fn step_view(&self, course: &str, step: &str) -> Result<StepView, TidbitError> {
        let (_, step) = self.load_step(course, step)?;
        Ok(step_view(&step))
    }

    fn load_step(&self, course: &str, step: &str) -> Result<(String, Step), TidbitError> {
        let row: Option<(String, String, String)> = self
            .store
            .conn()
            .prepare_cached(
                "SELECT module_id, skills_json, body_json FROM steps WHERE course_id = ?1 AND id = ?2",
            )?
            .query_row(params![course, step], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((module, skills, body)) = row else {
            return Err(TidbitError::UnknownStep {
                course: course.into(),
                step: step.into(),
            });
        };
        let corrupt = |e: serde_json::Error| TidbitError::Corrupt(e.to_string());
        Ok((
            module,
            Step {
                id: step.to_string(),
                skills: serde_json::from_str(&skills).map_err(corrupt)?,
                body: serde_json::from_str(&body).map_err(corrupt)?,
            },
        ))
    }

    /// The back of a flashcard, shown once the learner has tried to recall it and before they
    /// rate themselves. Item views never carry it.
    pub fn flashcard_back(&self, course: &str, step: &str) -> Result<String, TidbitError> {
        let (_, body) = self.load_step(course, step)?;
        match &body.body {
            StepBody::Item(item) => match item.interaction() {
                crate::content::items::Interaction::Flashcard { back } => Ok(back.clone()),
                _ => Err(TidbitError::NotAFlashcard { step: step.into() }),
            },
            StepBody::Lesson(_) => Err(TidbitError::NotAFlashcard { step: step.into() }),
        }
    }

    /// Marks a lesson card as read.
    pub fn view_step(&mut self, course: &str, step: &str) -> Result<bool, TidbitError> {
        let (module, body) = self.load_step(course, step)?;
        if matches!(body.body, StepBody::Item(_)) {
            return Err(TidbitError::NotALesson { step: step.into() });
        }
        let (_, applied) = self.record(EventKind::StepViewed {
            course: course.into(),
            module,
            step: step.into(),
        })?;
        Ok(applied.module_completed)
    }

    /// Scores an answer, schedules the card, and records it. A response of the wrong shape is
    /// refused and records nothing; so is any answer to a voice item, which takes its recording
    /// ([`Tidbit::answer_voice`]).
    pub fn answer(
        &mut self,
        course: &str,
        step: &str,
        response: Response,
        response_ms: u32,
    ) -> Result<Feedback, TidbitError> {
        let (module, item) = self.load_item(course, step)?;
        if let crate::content::items::Interaction::Voice { .. } = item.interaction() {
            return Err(VoiceError::RecordingRequired { step: step.into() }.into());
        }
        self.record_answer(course, step, module, &item, response, response_ms, |_| {
            Ok(())
        })
    }

    /// The item at `step` of `course` and its module.
    fn load_item(
        &self,
        course: &str,
        step: &str,
    ) -> Result<(String, crate::content::items::Item), TidbitError> {
        match self.load_step(course, step)? {
            (
                module,
                Step {
                    body: StepBody::Item(item),
                    ..
                },
            ) => Ok((module, item)),
            _ => Err(TidbitError::NotAnItem { step: step.into() }),
        }
    }

    /// Scores `response` to `item`, then records the answer with `also` in one transaction.
    #[allow(clippy::too_many_arguments)]
    fn record_answer(
        &mut self,
        course: &str,
        step: &str,
        module: String,
        item: &crate::content::items::Item,
        response: Response,
        response_ms: u32,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), TidbitError>,
    ) -> Result<Feedback, TidbitError> {
        let assessment = assess(item, &response)?;
        let kind = item.interaction().kind().name();
        let usual = crate::learn::projection::read::usual_response_ms(self.store.conn(), kind)?;
        let grade = grade_for(&assessment, response_ms, usual);
        let local_date = self.local_date(self.clock.now());
        // What exactly was answered leaves the device only under the analytics scope.
        let response = self
            .consent_granted(ConsentScope::Analytics)?
            .then_some(response);
        let answered = EventKind::ItemAnswered {
            course: course.into(),
            module,
            step: step.into(),
            item_kind: kind.into(),
            response,
            response_ms,
            credit: assessment.credit,
            outcome: assessment.outcome,
            grade,
            local_date,
        };
        let in_step = self.memo_in_step()?;
        let (event, applied) = self.record_with(answered, also)?;
        self.memo_after_answer(in_step, course, step, &applied)?;
        Ok(Feedback {
            answer_event: event.id,
            assessment,
            grade,
            next_due_ms: applied.card.as_ref().map(|card| card.due_ms),
            module_completed: applied.module_completed,
            stage_checks: applied.stage_checks,
            remediations: applied.remediations,
        })
    }

    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    pub(crate) fn end_of_local_day_ms(&self, now: DateTime<Utc>) -> i64 {
        let tomorrow = self
            .local_date(now)
            .succ_opt()
            .unwrap_or(self.local_date(now));
        tomorrow
            .and_hms_opt(0, 0, 0)
            .and_then(|midnight| self.time_zone.from_local_datetime(&midnight).earliest())
            .map(|t| t.timestamp_millis())
            .unwrap_or(now.timestamp_millis() + crate::learn::schedule::DAY_MS)
    }

    /// Drops every projection and replays the log. Returns the number of events applied.
    pub fn rebuild_projections(&mut self) -> Result<u64, TidbitError> {
        let tx = self.store.conn_mut().transaction()?;
        let count = rebuild(&tx)?;
        tx.commit()?;
        self.forget_memo();
        self.schedulers = SchedulerCache::load(self.store.conn())?;
        Ok(count)
    }

    /// Stores `events` (those not already here, by id) and replays the whole log: a replica
    /// that holds the same events as a device, such as the server's view of a learner, then
    /// holds the same projections. The events do not enter this store's sync documents.
    pub fn replay_events(&mut self, events: &[Event]) -> Result<u64, TidbitError> {
        let tx = self.store.conn_mut().transaction()?;
        for event in events {
            event_log::insert_received(&tx, event)?;
        }
        let count = rebuild(&tx)?;
        tx.commit()?;
        self.forget_memo();
        self.schedulers = SchedulerCache::load(self.store.conn())?;
        Ok(count)
    }

    /// A SHA-256 over every projection table, row by row in key order: equal digests mean equal
    /// learner state.
    pub fn projection_digest(&self) -> Result<String, TidbitError> {
        Ok(crate::store::projection_digest(self.store.conn())?)
    }

    /// Every event of the log, in its total order.
    pub fn events(&self) -> Result<Vec<Event>, TidbitError> {
        Ok(event_log::all_in_order(self.store.conn())?)
    }

    /// Fits FSRS parameters to this learner's log and adopts them if they predict it better.
    /// Needs the `personalisation` consent scope; without it nothing is computed.
    pub fn fit_parameters(
        &mut self,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<crate::learn::personalise::FitReport, TidbitError> {
        self.consent_gate()?
            .require(ConsentScope::Personalisation)?;
        let report = crate::learn::personalise::fit_parameters(
            self.store.conn(),
            self.schedulers.scheduler().parameters(),
            progress,
        )?;
        if report.adopted {
            self.record(EventKind::ParametersAdopted {
                parameters: report.parameters.clone(),
                reviews: report.reviews,
                log_loss_before: report.log_loss_before,
                log_loss_after: report.log_loss_after,
            })?;
        }
        Ok(report)
    }

    /// The learner id and device id a Tidbit last opened on `data_dir` with, if any. Reads only:
    /// records nothing, and a missing directory is `None`, not created.
    pub fn stored_identity(data_dir: &Path) -> Result<Option<(String, String)>, TidbitError> {
        let database = data_dir.join(crate::store::DATABASE_FILE);
        if !database.is_file() {
            return Ok(None);
        }
        let conn = rusqlite::Connection::open_with_flags(
            &database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let has_settings: bool = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'learner_settings'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_settings {
            return Ok(None);
        }
        let setting = |key: &str| {
            conn.query_row(
                "SELECT value FROM learner_settings WHERE key = ?1",
                [key],
                |r| r.get::<_, String>(0),
            )
            .optional()
        };
        Ok(setting("learner_id")?.zip(setting("device_id")?))
    }
}

/// A recorded automated decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub at_ms: i64,
    pub kind: String,
    pub reason: String,
    pub inputs: serde_json::Value,
    pub output: serde_json::Value,
}

fn step_view(step: &Step) -> StepView {
    match &step.body {
        StepBody::Lesson(card) => StepView::Lesson {
            id: step.id.clone(),
            card: card.clone(),
        },
        StepBody::Item(item) => StepView::Item {
            id: step.id.clone(),
            skills: step.skills.clone(),
            view: item_view(item),
        },
    }
}
