//! The `Tidbit` object the apps hold: the core's facade behind a mutex, opened with a config.
//!
//! Every call goes through [`Session::run`], which takes the lock, catches a panic and turns it
//! into [`TidbitError::Internal`], and logs failures. After a panic the core is reopened from
//! disk (SQLite rolled the interrupted transaction back), so in-memory caches never outlive the
//! state they describe. Long work (`install_pack`, `fit_parameters`) runs on the core runtime's
//! blocking pool, `sync` on the runtime itself; all three are `suspend` in Kotlin, `async` in
//! Swift and Python. Cancelling a `sync` (see [`crate::cancellation`]) stops it at its next
//! network wait; the store is never locked across one.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tidbit_core::events::{Clock as CoreClock, SystemClock};
use tidbit_core::keys::SigningKey;
use tidbit_core::privacy::at_rest::AtRestKey;
use tidbit_core::tidbit::sync_client::SyncOptions;
use tidbit_core::tidbit::{Tidbit as CoreTidbit, TidbitConfig as CoreConfig};

use crate::cancellation::{run_cancellable, Cancellation};
use crate::certificate::parse_trusted_keys;
use crate::error::TidbitError;
use crate::platform::{run_blocking, Clock, ForeignClock, KeyStore, ProgressListener};
use crate::records::*;

mod community;
mod delivery;
pub use delivery::{CourseUpdateSettings, DownloadListener};
mod erase;
mod goals;
mod interventions;
mod inventory;
mod voice;

/// How to open a learner's Tidbit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TidbitConfig {
    /// A directory the app owns (created if missing); holds the store and course assets.
    pub data_dir: String,
    pub learner_id: String,
    /// Unique per installation; events are ordered and identified by it.
    pub device_id: String,
    /// IANA time zone name (such as `Europe/Berlin`), for day boundaries and streaks.
    pub time_zone: String,
    /// Public key files (`NAME.pub` text) of the authors whose packs this device installs.
    pub trusted_keys: Vec<String>,
}

/// A learner's Tidbit on this device. Close it (or let it go out of scope) to release the store.
#[derive(uniffi::Object)]
pub struct Tidbit {
    session: Arc<Session>,
    key_store: Arc<dyn KeyStore>,
}

/// The core and what is needed to reopen it. The core sits in its own `Arc<Mutex<_>>` (the
/// shape the core's sync client locks between round trips); the outer `Option` is emptied by
/// `close_store`, and a call still running keeps the store open until it returns.
struct Session {
    core: Mutex<Option<Arc<Mutex<CoreTidbit>>>>,
    config: CoreConfig,
    clock: Arc<dyn CoreClock>,
    /// Set by `erase`: calls fail with `Erased` rather than `Closed`.
    erased: AtomicBool,
}

#[uniffi::export]
impl Tidbit {
    /// Opens (creating if needed) the learner's store in `config.data_dir`, on the system clock.
    #[uniffi::constructor]
    pub fn open(
        config: TidbitConfig,
        key_store: Arc<dyn KeyStore>,
    ) -> Result<Arc<Tidbit>, TidbitError> {
        Tidbit::open_on(config, key_store, Arc::new(SystemClock))
    }

    /// Like `open`, with time from `clock` (tests, demos).
    #[uniffi::constructor]
    pub fn open_with_clock(
        config: TidbitConfig,
        key_store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Tidbit>, TidbitError> {
        Tidbit::open_on(config, key_store, Arc::new(ForeignClock(clock)))
    }

    /// Releases the store now, before the object itself goes (Python has no deterministic
    /// destructor; Kotlin's `close()` and Swift's `deinit` release it too). Later calls fail
    /// with `Closed`; closing twice is harmless.
    pub fn close_store(&self) {
        let mut core = match self.session.core.lock() {
            Ok(core) => core,
            Err(poisoned) => poisoned.into_inner(),
        };
        if core.take().is_some() {
            tracing::debug!("tidbit closed");
        }
    }

    /// Every installed course with its paths, stages and modules, ordered by title.
    pub fn catalog(&self) -> Result<Vec<CourseSummary>, TidbitError> {
        self.session.run("catalog", |core| Ok(core.catalog()?))
    }

    /// Verifies and installs a signed course pack (a `.tidbit` file), reporting bytes read.
    pub async fn install_pack(
        &self,
        pack_path: String,
        progress: Option<Arc<dyn ProgressListener>>,
    ) -> Result<InstallReport, TidbitError> {
        let session = Arc::clone(&self.session);
        run_blocking(move || {
            session.run("install_pack", |core| {
                let mut report = |done: u64, total: u64| {
                    if let Some(listener) = &progress {
                        listener.on_progress(done, total);
                    }
                };
                let installed = core.install_pack(Path::new(&pack_path), &mut report)?;
                tracing::info!(course = %installed.course_id, version = %installed.version, "pack installed");
                Ok(installed)
            })
        })
        .await
    }

    /// Follows `path` of `course`; its first stage unlocks.
    pub fn enroll(&self, course: String, path: String) -> Result<(), TidbitError> {
        self.session
            .run("enroll", |core| Ok(core.enroll(&course, &path)?))
    }

    /// Opens a module (a new attempt) and returns its steps as the UI shows them.
    pub fn start_module(
        &self,
        course: String,
        module: String,
    ) -> Result<Vec<StepView>, TidbitError> {
        self.session.run("start_module", |core| {
            Ok(core.start_module(&course, &module)?)
        })
    }

    /// One step as the UI shows it (remediation and review steps outside a module).
    pub fn step_view(&self, course: String, step: String) -> Result<StepView, TidbitError> {
        self.session
            .run("step_view", |core| Ok(core.step_view(&course, &step)?))
    }

    /// The back of a flashcard, once the learner has tried to recall it.
    pub fn flashcard_back(&self, course: String, step: String) -> Result<String, TidbitError> {
        self.session.run("flashcard_back", |core| {
            Ok(core.flashcard_back(&course, &step)?)
        })
    }

    /// Marks a lesson card as read; true when that completed the module.
    pub fn view_step(&self, course: String, step: String) -> Result<bool, TidbitError> {
        self.session
            .run("view_step", |core| Ok(core.view_step(&course, &step)?))
    }

    /// Scores and records an answer. A response of the wrong shape records nothing.
    pub fn answer(
        &self,
        course: String,
        step: String,
        response: Response,
        response_ms: u32,
    ) -> Result<Feedback, TidbitError> {
        self.session.run("answer", |core| {
            Ok(core.answer(&course, &step, response, response_ms)?)
        })
    }

    /// Due reinforcement, remediation, then new steps, within `minutes`.
    pub fn plan_session(&self, minutes: u32) -> Result<SessionPlan, TidbitError> {
        self.session
            .run("plan_session", |core| Ok(core.plan_session(minutes)?))
    }

    /// The highest-value items for one skill, in about two minutes.
    pub fn refresher(&self, course: String, skill: String) -> Result<SessionPlan, TidbitError> {
        self.session
            .run("refresher", |core| Ok(core.refresher(&course, &skill)?))
    }

    /// A finished module's due follow-ups as a two-minute booster.
    pub fn booster(&self, course: String, module: String) -> Result<SessionPlan, TidbitError> {
        self.session
            .run("booster", |core| Ok(core.booster(&course, &module)?))
    }

    pub fn due_counts(&self) -> Result<DueCounts, TidbitError> {
        self.session
            .run("due_counts", |core| Ok(core.due_counts()?))
    }

    /// The next best activity with its reason; the decision is recorded.
    pub fn next_activity(&self) -> Result<Recommendation, TidbitError> {
        self.session
            .run("next_activity", |core| Ok(core.next_activity()?.into()))
    }

    /// The home screen: the next activity (recorded as a decision), due counts and the streak.
    pub fn home(&self) -> Result<Home, TidbitError> {
        self.session.run("home", |core| {
            Ok(Home {
                recommendation: core.next_activity()?.into(),
                due: core.due_counts()?,
                streak: core.streak()?,
            })
        })
    }

    /// Recorded decisions, newest first.
    pub fn decisions(&self, limit: u32) -> Result<Vec<Decision>, TidbitError> {
        self.session.run("decisions", |core| {
            Ok(core.decisions(limit)?.into_iter().map(Into::into).collect())
        })
    }

    /// Mastery of every skill of `course`, with the evidence behind each.
    pub fn mastery(&self, course: String) -> Result<Vec<SkillMastery>, TidbitError> {
        self.session
            .run("mastery", |core| Ok(core.mastery(&course)?))
    }

    /// Stage by stage progress on the enrolled path of `course`.
    pub fn stages(&self, course: String) -> Result<Vec<StageStatus>, TidbitError> {
        self.session.run("stages", |core| Ok(core.stages(&course)?))
    }

    pub fn streak(&self) -> Result<Streak, TidbitError> {
        self.session.run("streak", |core| Ok(core.streak()?))
    }

    /// The learner's own engagement for the home screen: active days in their last 7, 14 and
    /// 30 days, minutes answering in 30 days, modules completed, recall on reinforcement.
    pub fn home_metrics(&self) -> Result<HomeMetrics, TidbitError> {
        self.session
            .run("home_metrics", |core| Ok(core.home_metrics()?))
    }

    /// The learner's arm of experiment `id` (the same on every device and the server, offline),
    /// recording the exposure the first time; call it where the arm first matters.
    pub fn expose(&self, id: String, arms: Vec<ExperimentArm>) -> Result<String, TidbitError> {
        self.session
            .run("expose", |core| Ok(core.expose(&id, &arms)?))
    }

    /// [`Tidbit::expose`] for an experiment on the wording of `kind` nudges: each arm `gets` one
    /// of the kind's wordings, and the planner writes the learner's nudges in their arm's.
    pub fn expose_nudge_wording(
        &self,
        id: String,
        kind: NudgeKind,
        arms: Vec<ExperimentArm>,
    ) -> Result<String, TidbitError> {
        self.session.run("expose_nudge_wording", |core| {
            Ok(core.expose_nudge_wording(&id, kind, &arms)?)
        })
    }

    /// [`Tidbit::expose`] for an experiment on `course`'s desired retention: each arm `gets` a
    /// retention from 0.70 to 0.97 as text, and the scheduler plans the learner's cards of the
    /// course for their arm's.
    pub fn expose_retention(
        &self,
        id: String,
        course: String,
        arms: Vec<ExperimentArm>,
    ) -> Result<String, TidbitError> {
        self.session.run("expose_retention", |core| {
            Ok(core.expose_retention(&id, &course, &arms)?)
        })
    }

    /// Every consent scope with its purpose text and whether the learner gave it; nothing
    /// optional is on until given.
    pub fn consents(&self) -> Result<Vec<ConsentState>, TidbitError> {
        self.session.run("consents", |core| Ok(core.consents()?))
    }

    /// Gives or withdraws a consent scope. It takes effect at once on this device and on the
    /// learner's other devices after they sync.
    pub fn set_consent(&self, scope: ConsentScope, granted: bool) -> Result<(), TidbitError> {
        self.session
            .run("set_consent", |core| Ok(core.set_consent(scope, granted)?))
    }

    /// Asks a person to review the decision that keeps `stage` locked (or failed its check);
    /// returns the review's id. It reaches the server's admin queue on the next sync.
    pub fn request_review(
        &self,
        course: String,
        stage: String,
        reason: String,
    ) -> Result<String, TidbitError> {
        self.session.run("request_review", |core| {
            Ok(core.request_review(&course, &stage, &reason)?)
        })
    }

    /// The reviews the learner asked for, newest first, with each decision and its author.
    pub fn reviews(&self) -> Result<Vec<Review>, TidbitError> {
        self.session.run("reviews", |core| Ok(core.reviews()?))
    }

    /// Writes every piece of the learner's data into `dir` as one readable JSON archive
    /// (`tidbit-export-<learner>.json`) and returns its path. Progress counts steps.
    pub async fn export(
        &self,
        dir: String,
        progress: Option<Arc<dyn ProgressListener>>,
    ) -> Result<String, TidbitError> {
        let session = Arc::clone(&self.session);
        run_blocking(move || {
            session.run("export", |core| {
                let mut report = |done: u64, total: u64| {
                    if let Some(listener) = &progress {
                        listener.on_progress(done, total);
                    }
                };
                let path = core.export(Path::new(&dir), &mut report)?;
                Ok(path.to_string_lossy().into_owned())
            })
        })
        .await
    }

    /// The file holding asset `path` (as named in a lesson card) of an installed course.
    pub fn asset_file(&self, course: String, path: String) -> Result<Option<String>, TidbitError> {
        self.session.run("asset_file", |core| {
            Ok(core
                .asset_file(&course, &path)?
                .map(|file| file.to_string_lossy().into_owned()))
        })
    }

    /// A signed certificate (JSON) for a finished path of `course`, signed with the key the
    /// app's key store holds.
    pub fn issue_certificate(
        &self,
        course: String,
        issuer_name: String,
    ) -> Result<String, TidbitError> {
        // Ask the platform before taking the lock: its key store may call back into Tidbit.
        let key_text = self
            .key_store
            .certificate_signing_key()
            .map_err(|e| TidbitError::KeyStore(e.to_string()))?
            .ok_or_else(|| {
                TidbitError::KeyStore(
                    "the app's key store holds no certificate signing key: store the issuer's \
                     private key file (`tidbit keygen`) in it to issue certificates"
                        .into(),
                )
            })?;
        let key = SigningKey::from_file_text(&key_text).map_err(|e| {
            TidbitError::KeyStore(format!("the key store's certificate signing key: {e}"))
        })?;
        self.session.run("issue_certificate", |core| {
            Ok(core.issue_certificate(&course, &issuer_name, &key)?)
        })
    }

    /// Fits FSRS parameters to this learner's log and adopts them if they predict it better.
    pub async fn fit_parameters(
        &self,
        progress: Option<Arc<dyn ProgressListener>>,
    ) -> Result<FitReport, TidbitError> {
        let session = Arc::clone(&self.session);
        run_blocking(move || {
            session.run("fit_parameters", |core| {
                let mut report = |done: usize, total: usize| {
                    if let Some(listener) = &progress {
                        listener.on_progress(done as u64, total as u64);
                    }
                };
                Ok(core.fit_parameters(&mut report)?)
            })
        })
        .await
    }
}

#[uniffi::export]
impl Tidbit {
    /// Syncs this learner's progress with the server at `server_url` (such as
    /// `https://sync.example.org`) using this device's bearer `token`. The store stays usable
    /// while the sync waits on the network; it is locked only between round trips.
    ///
    /// Cancelling the call (a cancelled Kotlin coroutine or Python task) or `cancellation`
    /// stops the sync at its next network wait; the latter makes the call fail with
    /// `Cancelled`. A reply is applied whole or not at all, so a later sync picks up cleanly.
    #[uniffi::method(default(cancellation = None))]
    pub async fn sync(
        &self,
        server_url: String,
        token: String,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Result<SyncReport, TidbitError> {
        let session = Arc::clone(&self.session);
        let options = SyncOptions::new(&server_url, &token);
        let work = async move {
            // Reopens the store first if an earlier call panicked, so the client never meets a
            // poisoned lock.
            let core = guarded("sync", || {
                let core = session.core()?;
                drop(session.lock(&core)?);
                Ok(core)
            })?;
            // Awaits only round trips and backoff waits, with the store unlocked: an abort there
            // leaves every reply applied whole (one transaction, no await inside) or not at all.
            let result = tidbit_core::tidbit::sync_client::sync(&core, &options).await;
            let result = result.map_err(TidbitError::from);
            match &result {
                Ok(report) => tracing::info!(
                    round_trips = report.round_trips,
                    events_received = report.events_received,
                    "synced"
                ),
                Err(error) => tracing::warn!(operation = "sync", %error, "call failed"),
            }
            result
        };
        run_cancellable("sync", work, cancellation).await
    }

    /// The complete set of local notifications the OS should hold for the next `prefs.days`
    /// days, at the clock's now. Ids are stable: apply the plan by cancelling the ids that
    /// vanished and scheduling the new ones. Each planning decision is recorded.
    pub fn plan_nudges(&self, prefs: NudgePreferences) -> Result<NudgePlan, TidbitError> {
        let prefs = prefs.try_into()?;
        self.session
            .run("plan_nudges", |core| Ok(core.plan_nudges(&prefs)?.into()))
    }

    /// Records what became of a planned nudge (pass it as the plan returned it); outcomes sync
    /// and feed fatigue and send-time learning.
    pub fn record_nudge_outcome(
        &self,
        nudge: Nudge,
        outcome: NudgeOutcome,
    ) -> Result<(), TidbitError> {
        let nudge = nudge.try_into()?;
        self.session.run("record_nudge_outcome", |core| {
            Ok(core.record_nudge_outcome(&nudge, outcome)?)
        })
    }

    /// Tells the server (through the next sync) where to wake this device: `fcm` with the FCM
    /// registration token, or `apns` with the APNs device token in hex. A token of the wrong
    /// shape is refused (`InvalidRequest`) and nothing is recorded.
    pub fn register_push_token(&self, platform: String, token: String) -> Result<(), TidbitError> {
        self.session.run("register_push_token", |core| {
            Ok(core.register_push_token(&platform, &token)?)
        })
    }

    /// True when the server reported this device's push token dead: ask the platform for a
    /// fresh token and pass it to `register_push_token` (check after each sync).
    pub fn push_token_needed(&self) -> Result<bool, TidbitError> {
        self.session
            .run("push_token_needed", |core| Ok(core.push_token_needed()?))
    }

    /// A digest of everything the learner's progress projects to (mastery, schedules,
    /// streaks): two devices that have synced the same events report the same digest.
    pub fn projection_digest(&self) -> Result<String, TidbitError> {
        self.session
            .run("projection_digest", |core| Ok(core.projection_digest()?))
    }
}

#[cfg(feature = "test-hooks")]
#[uniffi::export]
impl Tidbit {
    /// Panics inside a locked core call: the binding suites check it comes back as `Internal`
    /// and that the object keeps working. Built only with the `test-hooks` feature.
    pub fn force_internal_panic(&self) -> Result<(), TidbitError> {
        self.session
            .run("force_internal_panic", |_| -> Result<(), TidbitError> {
                panic!("forced internal panic (test hook)")
            })
    }
}

/// The key store's at-rest key, checked for length.
fn at_rest_key(key_store: &dyn KeyStore) -> Result<Option<Arc<AtRestKey>>, TidbitError> {
    let bytes = key_store.at_rest_key().map_err(|e| {
        TidbitError::KeyStore(format!(
            "{e}: the store stays closed until the key store can hand over its key"
        ))
    })?;
    Ok(bytes
        .map(|bytes| AtRestKey::from_bytes(&bytes))
        .transpose()?
        .map(Arc::new))
}

impl Tidbit {
    fn open_on(
        config: TidbitConfig,
        key_store: Arc<dyn KeyStore>,
        clock: Arc<dyn CoreClock>,
    ) -> Result<Arc<Tidbit>, TidbitError> {
        let config = CoreConfig {
            data_dir: PathBuf::from(config.data_dir),
            learner_id: config.learner_id,
            device_id: config.device_id,
            time_zone: config.time_zone,
            trusted_keys: parse_trusted_keys(&config.trusted_keys)?,
            at_rest_key: at_rest_key(key_store.as_ref())?,
        };
        let core = guarded("open", || {
            Ok(CoreTidbit::open(config.clone(), Arc::clone(&clock))?)
        })?;
        tracing::info!(data_dir = %config.data_dir.display(), device = %config.device_id, "tidbit opened");
        Ok(Arc::new(Tidbit {
            session: Arc::new(Session {
                core: Mutex::new(Some(Arc::new(Mutex::new(core)))),
                config,
                clock,
                erased: AtomicBool::new(false),
            }),
            key_store,
        }))
    }
}

impl Session {
    /// Runs `work` on the core under the lock; a panic becomes `Internal`, failures are logged.
    fn run<T>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&mut CoreTidbit) -> Result<T, TidbitError>,
    ) -> Result<T, TidbitError> {
        guarded(operation, || {
            let core = self.core()?;
            let mut core = self.lock(&core)?;
            work(&mut core)
        })
    }

    /// The open core, or `Closed` (`Erased`).
    fn core(&self) -> Result<Arc<Mutex<CoreTidbit>>, TidbitError> {
        let core = match self.core.lock() {
            Ok(core) => core,
            Err(poisoned) => poisoned.into_inner(),
        };
        core.as_ref().map(Arc::clone).ok_or_else(|| self.gone())
    }

    /// Why there is no core: erased, or closed.
    fn gone(&self) -> TidbitError {
        if self.erased.load(Ordering::SeqCst) {
            tidbit_core::tidbit::TidbitError::Erased.into()
        } else {
            TidbitError::Closed
        }
    }

    fn mark_erased(&self) {
        self.erased.store(true, Ordering::SeqCst);
    }

    /// The core's lock; after a panic poisoned it, the core is reopened from disk first, so no
    /// in-memory cache outlives an interrupted call (SQLite rolled its transaction back).
    fn lock<'a>(
        &self,
        core: &'a Mutex<CoreTidbit>,
    ) -> Result<MutexGuard<'a, CoreTidbit>, TidbitError> {
        match core.lock() {
            Ok(core) => Ok(core),
            Err(poisoned) => {
                let mut stale = poisoned.into_inner();
                core.clear_poison();
                tracing::warn!("reopening the store after an internal error");
                *stale = CoreTidbit::open(self.config.clone(), Arc::clone(&self.clock))?;
                Ok(stale)
            }
        }
    }
}

/// Runs `work`, turning a panic into `Internal` and logging every failure.
fn guarded<T>(
    operation: &'static str,
    work: impl FnOnce() -> Result<T, TidbitError>,
) -> Result<T, TidbitError> {
    let result = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(TidbitError::Internal(format!(
            "internal error in {operation} ({what}): the call did not complete; try again, \
             and report it to the app's developers if it repeats"
        )))
    });
    if let Err(error) = &result {
        match error {
            TidbitError::Internal(_) => tracing::error!(operation, %error, "call failed"),
            _ => tracing::warn!(operation, %error, "call failed"),
        }
    }
    result
}
