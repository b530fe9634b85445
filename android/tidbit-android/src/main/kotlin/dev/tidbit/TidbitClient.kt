// The Kotlin face of Tidbit: coroutines over the generated bindings (dev.tidbit.ffi).
//
// Platform-independent: this file compiles on the JVM (tests/bindings/kotlin.sh runs it there)
// and on Android. Short calls run on the `io` dispatcher so the main thread never touches
// SQLite; long work (installing a pack, fitting parameters) reports progress as a Flow, and
// `sync` and `updateCourses` suspend on the Rust core's own runtime (cancelling the coroutine
// stops them).
// No learning logic lives here: every decision is the Rust core's.

package dev.tidbit

import dev.tidbit.ffi.Clock
import dev.tidbit.ffi.CourseUpdateSettings
import dev.tidbit.ffi.Decision
import dev.tidbit.ffi.DownloadListener
import dev.tidbit.ffi.core.Feedback
import dev.tidbit.ffi.Home
import dev.tidbit.ffi.core.InstallReport
import dev.tidbit.ffi.KeyStore
import dev.tidbit.ffi.Nudge
import dev.tidbit.ffi.NudgePlan
import dev.tidbit.ffi.NudgePreferences
import dev.tidbit.ffi.ProgressListener
import dev.tidbit.ffi.Recommendation
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.core.StepView
import dev.tidbit.ffi.Tidbit
import dev.tidbit.ffi.TidbitConfig
import dev.tidbit.ffi.core.CohortView
import dev.tidbit.ffi.core.ConsentScope
import dev.tidbit.ffi.core.ConsentState
import dev.tidbit.ffi.core.ExperimentArm
import dev.tidbit.ffi.core.HomeMetrics
import dev.tidbit.ffi.core.InterventionStep
import dev.tidbit.ffi.core.InterventionView
import dev.tidbit.ffi.core.JobAid
import dev.tidbit.ffi.core.MentoringInvitation
import dev.tidbit.ffi.core.NudgeKind
import dev.tidbit.ffi.core.CourseSummary
import dev.tidbit.ffi.core.CourseUpdateReport
import dev.tidbit.ffi.core.DownloadProgress
import dev.tidbit.ffi.core.ModuleAssetsReport
import dev.tidbit.ffi.core.Review
import dev.tidbit.ffi.core.DueCounts
import dev.tidbit.ffi.core.FitReport
import dev.tidbit.ffi.core.GoalSpec
import dev.tidbit.ffi.core.GoalStatus
import dev.tidbit.ffi.core.NudgeOutcome
import dev.tidbit.ffi.core.Reaction
import dev.tidbit.ffi.core.SessionPlan
import dev.tidbit.ffi.core.SharedAnswer
import dev.tidbit.ffi.core.SkillInventory
import dev.tidbit.ffi.core.SkillMastery
import dev.tidbit.ffi.core.StageStatus
import dev.tidbit.ffi.core.Streak
import dev.tidbit.ffi.core.StudyTime
import dev.tidbit.ffi.core.SyncReport
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Progress of long work, then its result. */
sealed class Progress<out T> {
    /** `done` of `total` (bytes for an install, steps for fitting). */
    data class Working(val done: Long, val total: Long) : Progress<Nothing>()
    data class Finished<T>(val result: T) : Progress<T>()
}

/**
 * A learner's Tidbit. Every call may throw [dev.tidbit.ffi.TidbitException], whose message
 * tells a person what to do; none crashes the app. Close it when the learner signs out.
 */
class TidbitClient private constructor(
    private val tidbit: Tidbit,
    private val io: CoroutineDispatcher,
) : AutoCloseable {

    companion object {
        init {
            // Every request the core makes travels through the platform's HTTP stack.
            PlatformHttp.install()
        }

        /** Opens (creating if needed) the learner's store; `clock` is for tests and demos. */
        suspend fun open(
            config: TidbitConfig,
            keyStore: KeyStore,
            clock: Clock? = null,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): TidbitClient = withContext(io) {
            val tidbit = if (clock == null) Tidbit.open(config, keyStore)
            else Tidbit.openWithClock(config, keyStore, clock)
            TidbitClient(tidbit, io)
        }
    }

    /** The generated object, for calls this wrapper does not cover. */
    val raw: Tidbit get() = tidbit

    suspend fun catalog(): List<CourseSummary> = withContext(io) { tidbit.catalog() }

    /** Installs a signed pack: progress in bytes, then the report. */
    fun installPack(packPath: String): Flow<Progress<InstallReport>> =
        progressFlow { listener -> tidbit.installPack(packPath, listener) }

    /** Fits FSRS parameters to the learner's history: progress, then the report. */
    fun fitParameters(): Flow<Progress<FitReport>> =
        progressFlow { listener -> tidbit.fitParameters(listener) }

    suspend fun enroll(course: String, path: String) = withContext(io) { tidbit.enroll(course, path) }

    suspend fun home(): Home = withContext(io) { tidbit.home() }

    suspend fun nextActivity(): Recommendation = withContext(io) { tidbit.nextActivity() }

    suspend fun dueCounts(): DueCounts = withContext(io) { tidbit.dueCounts() }

    suspend fun planSession(minutes: Int): SessionPlan =
        withContext(io) { tidbit.planSession(minutes.toUInt()) }

    suspend fun refresher(course: String, skill: String): SessionPlan =
        withContext(io) { tidbit.refresher(course, skill) }

    suspend fun booster(course: String, module: String): SessionPlan =
        withContext(io) { tidbit.booster(course, module) }

    suspend fun startModule(course: String, module: String): List<StepView> =
        withContext(io) { tidbit.startModule(course, module) }

    suspend fun stepView(course: String, step: String): StepView =
        withContext(io) { tidbit.stepView(course, step) }

    suspend fun flashcardBack(course: String, step: String): String =
        withContext(io) { tidbit.flashcardBack(course, step) }

    /** Marks a lesson card read; true when that completed the module. */
    suspend fun viewStep(course: String, step: String): Boolean =
        withContext(io) { tidbit.viewStep(course, step) }

    suspend fun answer(course: String, step: String, response: Response, responseMillis: Int): Feedback =
        withContext(io) { tidbit.answer(course, step, response, responseMillis.toUInt()) }

    /**
     * Records the learner's spoken answer to the voice item [step]: [audio] is the recorder's
     * file (WAV, Ogg, MP4/M4A, AMR, WebM or MP3), [durationMillis] the length it reported (a
     * WAV's own header counts instead), [criteriaMet] the learner's ticks in the item's order.
     * Needs [ConsentScope.VOICE]: without it this throws `TidbitException.ConsentRequired` and
     * nothing is kept. A file that is not audio, or longer than the item allows, throws
     * `InvalidAnswer`. The recording is kept sealed on this device; the answer names it by its
     * SHA-256 ([voiceAudio] gives it back).
     */
    suspend fun answerVoice(
        course: String,
        step: String,
        audio: ByteArray,
        durationMillis: Int,
        criteriaMet: List<Boolean>,
    ): Feedback = withContext(io) { tidbit.answerVoice(course, step, audio, durationMillis.toUInt(), criteriaMet) }

    /** Sends a ready [VoiceAnswer] form with its recording (see the other [answerVoice]). */
    suspend fun answerVoice(course: String, step: String, form: VoiceAnswer): Feedback {
        val recording = form.recording
        require(form.ready && recording != null) { "the voice answer is not ready: ${form.missing}" }
        return answerVoice(course, step, recording, form.durationMillis, form.met)
    }

    /** The recording a voice answer names by its SHA-256, for playback. */
    suspend fun voiceAudio(sha256: String): ByteArray = withContext(io) { tidbit.voiceAudio(sha256) }

    suspend fun mastery(course: String): List<SkillMastery> = withContext(io) { tidbit.mastery(course) }

    suspend fun stages(course: String): List<StageStatus> = withContext(io) { tidbit.stages(course) }

    suspend fun streak(): Streak = withContext(io) { tidbit.streak() }

    suspend fun decisions(limit: Int): List<Decision> = withContext(io) { tidbit.decisions(limit.toUInt()) }

    /** The learner's own engagement for the home screen (active days, minutes, recall). */
    suspend fun homeMetrics(): HomeMetrics = withContext(io) { tidbit.homeMetrics() }

    /** The learner's arm of experiment [id]; the exposure is recorded the first time. */
    suspend fun expose(id: String, arms: List<ExperimentArm>): String =
        withContext(io) { tidbit.expose(id, arms) }

    /** [expose] for an experiment on the wording of [kind] nudges; the planner follows the arm. */
    suspend fun exposeNudgeWording(id: String, kind: NudgeKind, arms: List<ExperimentArm>): String =
        withContext(io) { tidbit.exposeNudgeWording(id, kind, arms) }

    /** [expose] for an experiment on [course]'s desired retention; the scheduler follows the arm. */
    suspend fun exposeRetention(id: String, course: String, arms: List<ExperimentArm>): String =
        withContext(io) { tidbit.exposeRetention(id, course, arms) }

    /** Every consent scope with its purpose text; nothing optional is on until given. */
    suspend fun consents(): List<ConsentState> = withContext(io) { tidbit.consents() }

    /** Gives or withdraws a scope; the learner's other devices follow after they sync. */
    suspend fun setConsent(scope: ConsentScope, granted: Boolean) =
        withContext(io) { tidbit.setConsent(scope, granted) }

    /** Asks a person to review the decision that keeps `stage` locked; returns the review's id. */
    suspend fun requestReview(course: String, stage: String, reason: String): String =
        withContext(io) { tidbit.requestReview(course, stage, reason) }

    suspend fun reviews(): List<Review> = withContext(io) { tidbit.reviews() }

    // Goals. The learner's own goals are set and withdrawn here; a goal the L&D team set arrives
    // with [sync] and cannot be changed here. [planSession] and [nextActivity] pace new material
    // to the goals in force. Bad fields, a past date or a goal the organisation set throw
    // [dev.tidbit.ffi.TidbitException.InvalidRequest]; a path, stage, skill or goal the course
    // lacks throws [dev.tidbit.ffi.TidbitException.UnknownContent].

    /**
     * Every goal in force, by due date: its pace, the minutes of new material it allows today
     * and whether it can still be met at the learner's minutes a day (if not, what would do it).
     */
    suspend fun goals(): List<GoalStatus> = withContext(io) { tidbit.goals() }

    /** Sets (or, for an existing id, replaces) one of the learner's own goals; returns its status. */
    suspend fun setGoal(goal: GoalSpec): GoalStatus = withContext(io) { tidbit.setGoal(goal) }

    /** Withdraws one of the learner's own goals. */
    suspend fun withdrawGoal(goal: String) = withContext(io) { tidbit.withdrawGoal(goal) }

    /**
     * The minutes a learning day holds (1 to 480) and the weekdays off (ISO numbers: 1 is
     * Monday, 7 Sunday); goals spread their work over the other days.
     */
    suspend fun setStudyTime(minutesPerDay: Int, daysOff: List<Int> = emptyList()) = withContext(io) {
        tidbit.setStudyTime(minutesPerDay.toUInt(), ByteArray(daysOff.size) { daysOff[it].toByte() })
    }

    /** The minutes a learning day holds; `daysOff` holds ISO weekday numbers, one a byte. */
    suspend fun studyTime(): StudyTime = withContext(io) { tidbit.studyTime() }

    /**
     * The learner's skills inventory: each skill with its mastery, whether it is held, when it
     * was last demonstrated and its evidence. Replays the learner's log on the core's pool.
     */
    suspend fun skillsInventory(): SkillInventory = tidbit.skillsInventory()

    /** [skillsInventory] as JSON, for export. */
    suspend fun skillsInventoryJson(): String = tidbit.skillsInventoryJson()

    /**
     * The held skills as Open Badges 3.0 credentials in one CLR 2.0 record (JSON). Unsigned:
     * the learner's own record to share, not an attestation by the organisation.
     */
    suspend fun skillCredentials(): String = tidbit.skillCredentials()

    /** Writes the learner's whole data into `dir` as one JSON archive: progress, then its path. */
    fun export(dir: String): Flow<Progress<String>> =
        progressFlow { listener -> tidbit.export(dir, listener) }

    suspend fun assetFile(course: String, path: String): String? =
        withContext(io) { tidbit.assetFile(course, path) }

    /** A signed certificate (JSON) for a finished path, signed with the key store's key. */
    suspend fun issueCertificate(course: String, issuerName: String): String =
        withContext(io) { tidbit.issueCertificate(course, issuerName) }

    /**
     * Syncs the learner's progress with the server at [serverUrl] using this device's bearer
     * [token]. Runs on the core's runtime, not on a dispatcher thread; the store stays usable
     * meanwhile (it is locked only between round trips). Throws
     * [dev.tidbit.ffi.TidbitException.Unauthorized] when the token needs renewing and
     * [dev.tidbit.ffi.TidbitException.Network] when the server cannot be reached or refuses
     * (progress stays on the device: try again later).
     *
     * Cancellable: cancelling the calling coroutine (`withTimeout`, a closed scope, WorkManager
     * stopping [dev.tidbit.android.SyncWorker]) stops the sync on the core's runtime at its next
     * network wait and throws `CancellationException`. A reply is applied whole or not at all,
     * so the store is never half-synced or left locked, and the next sync picks up from there.
     */
    suspend fun sync(serverUrl: String, token: String): SyncReport = tidbit.sync(serverUrl, token)

    /**
     * Brings the installed courses up to those the server at [serverUrl] assigns the learner,
     * with this device's sync [token]: new courses and newer versions are downloaded (a cut
     * download resumes from the bytes already on the device), verified and installed
     * atomically. [settings] says what the app allows this update to spend (see
     * [CourseUpdatePolicy.settings]; null: any network, no byte cap). [onDownload] hears each
     * download as bytes arrive, on the core's runtime threads: keep it short and hand the
     * progress over (a `MutableStateFlow`, a channel's `trySend`).
     *
     * Runs on the core's runtime like [sync]; the store stays usable meanwhile (it is locked
     * only to read the installed versions and to install). The report lists what was
     * installed, what is up to date, what waits (and why: [CourseUpdateReport.interrupted] says
     * when to retry soon) and the packs the server contradicted. Throws
     * [dev.tidbit.ffi.TidbitException.Unauthorized] when the token needs renewing,
     * [dev.tidbit.ffi.TidbitException.Network] when the catalog cannot be fetched,
     * [dev.tidbit.ffi.TidbitException.Storage] when downloads cannot be written and
     * [dev.tidbit.ffi.TidbitException.InvalidSettings] for a URL that is not http(s).
     *
     * Cancellable: cancelling the calling coroutine (WorkManager stopping
     * [dev.tidbit.android.CourseUpdateWorker], a closed scope) stops the update at its next
     * network wait and throws `CancellationException`; what arrived stays on the device and
     * the next update resumes from there. The installed version of a course is always the old
     * one or the new one.
     */
    suspend fun updateCourses(
        serverUrl: String,
        token: String,
        settings: CourseUpdateSettings? = null,
        onDownload: ((DownloadProgress) -> Unit)? = null,
    ): CourseUpdateReport {
        val listener = onDownload?.let { heard ->
            object : DownloadListener {
                override fun onDownload(progress: DownloadProgress) = heard(progress)
            }
        }
        return tidbit.updateCourses(serverUrl, token, settings, listener)
    }

    /**
     * Fetches the media of [module] that its course delivers on demand and this device lacks
     * (call it when the learner opens the module: [assetFile] is null for such media until
     * then). Each asset is verified against the course's signed manifest before it is placed;
     * a cut fetch resumes at the next call. Cancellable like [updateCourses].
     */
    suspend fun fetchModuleMedia(
        serverUrl: String,
        token: String,
        course: String,
        module: String,
        settings: CourseUpdateSettings? = null,
    ): ModuleAssetsReport = tidbit.fetchModuleMedia(serverUrl, token, course, module, settings)

    /** A digest of the learner's projected progress: equal on devices that hold the same events. */
    suspend fun projectionDigest(): String = withContext(io) { tidbit.projectionDigest() }

    /**
     * The notifications the OS should hold for the next `prefs.days` days (stable ids: apply
     * with [NudgePlanApplier]); `dev.tidbit.ffi.defaultNudgePreferences(consent)` gives defaults.
     */
    suspend fun planNudges(prefs: NudgePreferences): NudgePlan = withContext(io) { tidbit.planNudges(prefs) }

    /** Records what became of a planned nudge (scheduled, delivered, opened, dismissed, ignored). */
    suspend fun recordNudgeOutcome(nudge: Nudge, outcome: NudgeOutcome) =
        withContext(io) { tidbit.recordNudgeOutcome(nudge, outcome) }

    /**
     * Tells the server, with the next [sync], where to wake this device: the FCM registration
     * token Firebase gave the app (`FirebaseMessaging.getInstance().token`, or
     * `onNewToken`'s). The server sends that token a data message asking for a sync
     * ([isTidbitSyncPush]). Throws [dev.tidbit.ffi.TidbitException.InvalidRequest] for a token
     * of a shape FCM never gives (anything but letters, digits, `-`, `_`, `:` and `.`); nothing
     * is recorded then.
     */
    suspend fun registerPushToken(token: String) =
        withContext(io) { tidbit.registerPushToken(FCM_PLATFORM, token) }

    /**
     * True when FCM told the server that the token this device registered last is dead (the
     * answer arrives with a [sync]): get a fresh token and [registerPushToken] it. False again
     * once a newer token is registered, and false on a device that never registered one (the
     * app registers its first token at sign-in).
     */
    suspend fun pushTokenNeeded(): Boolean = withContext(io) { tidbit.pushTokenNeeded() }

    // Interventions: what the L&D team asked of the learner, arriving with [sync]: a module to
    // revisit, a coaching conversation with their manager, a mentor who holds a skill, or a job
    // aid (a one-screen reference card of a course). Each has a deadline; done is the module
    // completed, the conversation held (the manager marks it on the server), the pairing
    // accepted, the job aid opened.

    /** Every intervention that reached this device, oldest first, with where it stands. */
    suspend fun interventions(): List<InterventionView> = withContext(io) { tidbit.interventions() }

    /** The job aids of an installed course. */
    suspend fun jobAids(course: String): List<JobAid> = withContext(io) { tidbit.jobAids(course) }

    /** Opens a job aid to show; records it opened for the job aid interventions naming it. */
    suspend fun jobAid(course: String, aid: String): JobAid = withContext(io) { tidbit.jobAid(course, aid) }

    /** The learner accepts the mentoring pairing of [intervention] (that completes it). */
    suspend fun acceptMentoring(intervention: String) = withContext(io) { tidbit.acceptMentoring(intervention) }

    /** Records a further step, such as [InterventionStep.MENTORING_MET]; recorded once. */
    suspend fun recordInterventionStep(intervention: String, step: InterventionStep) =
        withContext(io) { tidbit.recordInterventionStep(intervention, step) }

    /** The peers the server asked this learner to mentor. */
    suspend fun mentoringInvitations(): List<MentoringInvitation> =
        withContext(io) { tidbit.mentoringInvitations() }

    // Learning together. A cohort's space arrives with [sync] and what the learner writes leaves
    // with the next one. Writes return the new entry's id; what the space does not take throws
    // [dev.tidbit.ffi.TidbitException.Community] and writes nothing. Sharing needs the
    // `COMMUNITY` consent scope ([setConsent]); hiding one's own entry, stepping out of the rota
    // and leaving never do.

    /** The ids of the cohorts the learner is in, as this device last synced them. */
    suspend fun cohorts(): List<String> = withContext(io) { tidbit.cohorts() }

    /**
     * The space of [cohort] now: members, this week's rota, visible posts, shared answers with
     * their feedback, open reports, metrics, and the entries left out (and why).
     */
    suspend fun cohort(cohort: String): CohortView = withContext(io) { tidbit.cohort(cohort) }

    /** Posts [text], optionally about a [module] or a [step]; a [summary] is the week's round-up. */
    suspend fun postToCohort(
        cohort: String,
        text: String,
        module: String? = null,
        step: String? = null,
        summary: Boolean = false,
    ): String = withContext(io) { tidbit.postToCohort(cohort, text, module, step, summary) }

    /**
     * Shares the learner's answer [answerEvent] (`Feedback.answerEvent` of a reflection, a
     * scenario or a spoken answer) for peers to rate; [answer] is what the learner answered.
     */
    suspend fun shareAnswer(cohort: String, answerEvent: String, answer: SharedAnswer): String =
        withContext(io) { tidbit.shareAnswer(cohort, answerEvent, answer) }

    /** Rates a peer's [share]: one verdict per criterion, in their order, and a comment. */
    suspend fun giveFeedback(cohort: String, share: String, criteriaMet: List<Boolean>, comment: String): String =
        withContext(io) { tidbit.giveFeedback(cohort, share, criteriaMet, comment) }

    /** Leaves [reaction] on a post, a share or feedback (once per kind). */
    suspend fun react(cohort: String, target: String, reaction: Reaction): String =
        withContext(io) { tidbit.react(cohort, target, reaction) }

    /** Hides a post, share or feedback from everyone: the learner's own, or any as facilitator. */
    suspend fun hideInCohort(cohort: String, target: String, reason: String): String =
        withContext(io) { tidbit.hideInCohort(cohort, target, reason) }

    /** Asks the week's facilitator and the organisation to look at another member's entry. */
    suspend fun reportInCohort(cohort: String, target: String, reason: String): String =
        withContext(io) { tidbit.reportInCohort(cohort, target, reason) }

    /** Takes the learner out of the role rota from next week ([available] false), or back in. */
    suspend fun setRotaAvailability(cohort: String, available: Boolean): String =
        withContext(io) { tidbit.setRotaAvailability(cohort, available) }

    /** Reports this week's duty [role] (one the learner holds in the rota) done. */
    suspend fun markDutyDone(cohort: String, role: String): String =
        withContext(io) { tidbit.markDutyDone(cohort, role) }

    /** Leaves [cohort]; what the learner shared there is withdrawn at every device's next sync. */
    suspend fun leaveCohort(cohort: String): String = withContext(io) { tidbit.leaveCohort(cohort) }

    /**
     * The recording [audio] (its SHA-256, as `SharedAnswer.Voice` names it) a member of [cohort]
     * shared, for playback: kept on this device already, or fetched from the server at
     * [serverUrl] with this device's sync [token], checked against its name and kept sealed.
     * The learner's own recordings reach the server with [sync]. Runs on the core's runtime
     * like [sync] and stops when the coroutine is cancelled.
     */
    suspend fun fetchSharedAudio(serverUrl: String, token: String, cohort: String, audio: String): ByteArray =
        tidbit.fetchSharedAudio(serverUrl, token, cohort, audio)

    /**
     * Tells the learner's cohorts on which of the last 7 days they practised (never how much);
     * nothing without the `COMMUNITY` scope. Returns the days recorded now.
     */
    suspend fun recordPracticeDays(): Int = withContext(io) { tidbit.recordPracticeDays().toInt() }

    /**
     * Erases the learner from this device: closes the store, has the key store destroy its
     * at-rest key and removes its files. The server's copy is the organisation's to erase. Later
     * calls throw `TidbitException.Erased`; while a sync runs this throws `NotYet`.
     */
    suspend fun erase() = withContext(io) { tidbit.erase() }

    /** Releases the store and the native object. */
    override fun close() {
        tidbit.closeStore()
        tidbit.close()
    }

    private fun <T> progressFlow(work: suspend (ProgressListener) -> T): Flow<Progress<T>> = callbackFlow {
        val listener = object : ProgressListener {
            override fun onProgress(done: ULong, total: ULong) {
                trySend(Progress.Working(done.toLong(), total.toLong()))
            }
        }
        launch {
            try {
                send(Progress.Finished(work(listener)))
                close()
            } catch (error: Throwable) {
                close(error)
            }
        }
        awaitClose()
    }
}
