// The Swift face of Tidbit: async/await over the generated bindings (TidbitFFI).
//
// An actor serialises calls to the learner's store and keeps them off the main thread; long
// work (installing a pack, fitting parameters) reports progress as an AsyncThrowingStream, and
// `sync` and `updateCourses` await the Rust core's own runtime and stop when their Task is
// cancelled.
// Every failure is a `TidbitError` whose description tells a person what to do. No learning
// logic lives here: every decision is the Rust core's.

import Foundation

@_exported import TidbitFFI

/// Progress of long work, then its result.
public enum Progress<Result: Sendable>: Sendable {
    /// `done` of `total` (bytes for an install, steps for fitting).
    case working(done: UInt64, total: UInt64)
    case finished(Result)
}

/// A learner's Tidbit on this device.
public actor TidbitClient {
    private let tidbit: Tidbit

    /// Opens (creating if needed) the learner's store; `clock` is for tests and previews.
    public init(config: TidbitConfig, keyStore: KeyStore, clock: Clock? = nil) throws {
        // Every request the core makes travels through the platform's HTTP stack.
        URLSessionTransport.install()
        if let clock {
            tidbit = try Tidbit.openWithClock(config: config, keyStore: keyStore, clock: clock)
        } else {
            tidbit = try Tidbit.open(config: config, keyStore: keyStore)
        }
    }

    /// The generated object, for calls this wrapper does not cover.
    public nonisolated var raw: Tidbit { tidbit }

    public func catalog() throws -> [CourseSummary] { try tidbit.catalog() }

    /// Installs a signed pack: progress in bytes, then the report.
    public nonisolated func installPack(at path: URL) -> AsyncThrowingStream<Progress<InstallReport>, Error> {
        progressStream { listener in
            try await self.tidbit.installPack(packPath: path.path, progress: listener)
        }
    }

    /// Fits FSRS parameters to the learner's history: progress, then the report.
    public nonisolated func fitParameters() -> AsyncThrowingStream<Progress<FitReport>, Error> {
        progressStream { listener in
            try await self.tidbit.fitParameters(progress: listener)
        }
    }

    public func enroll(course: String, path: String) throws {
        try tidbit.enroll(course: course, path: path)
    }

    public func home() throws -> Home { try tidbit.home() }

    public func nextActivity() throws -> Recommendation { try tidbit.nextActivity() }

    public func dueCounts() throws -> DueCounts { try tidbit.dueCounts() }

    public func planSession(minutes: UInt32) throws -> SessionPlan {
        try tidbit.planSession(minutes: minutes)
    }

    public func refresher(course: String, skill: String) throws -> SessionPlan {
        try tidbit.refresher(course: course, skill: skill)
    }

    public func booster(course: String, module: String) throws -> SessionPlan {
        try tidbit.booster(course: course, module: module)
    }

    public func startModule(course: String, module: String) throws -> [StepView] {
        try tidbit.startModule(course: course, module: module)
    }

    public func stepView(course: String, step: String) throws -> StepView {
        try tidbit.stepView(course: course, step: step)
    }

    public func flashcardBack(course: String, step: String) throws -> String {
        try tidbit.flashcardBack(course: course, step: step)
    }

    /// Marks a lesson card read; true when that completed the module.
    @discardableResult
    public func viewStep(course: String, step: String) throws -> Bool {
        try tidbit.viewStep(course: course, step: step)
    }

    public func answer(course: String, step: String, response: Response, responseMs: UInt32) throws -> Feedback {
        try tidbit.answer(course: course, step: step, response: response, responseMs: responseMs)
    }

    /// Records the learner's spoken answer to the voice item `step`: `audio` is the recorder's
    /// file (WAV, Ogg, MP4/M4A, AMR, WebM or MP3), `durationMs` the length it reported (a WAV's
    /// own header counts instead), `criteriaMet` the learner's ticks in the item's order. Needs
    /// the `.voice` consent scope (else `TidbitError.ConsentRequired`, and nothing is kept); a
    /// file that is not audio, or longer than the item allows, is `InvalidAnswer`. The recording
    /// is kept sealed on this device; the answer names it by its SHA-256.
    public func answerVoice(course: String, step: String, audio: Data, durationMs: UInt32, criteriaMet: [Bool]) throws -> Feedback {
        try tidbit.answerVoice(course: course, step: step, audio: audio, durationMs: durationMs, criteriaMet: criteriaMet)
    }

    /// Sends a ready `VoiceAnswer` form with its recording.
    public func answerVoice(course: String, step: String, form: VoiceAnswer) throws -> Feedback {
        try answerVoice(course: course, step: step, audio: form.recording ?? Data(), durationMs: form.durationMs, criteriaMet: form.met)
    }

    /// The recording a voice answer names by its SHA-256, for playback.
    public func voiceAudio(sha256: String) throws -> Data { try tidbit.voiceAudio(sha256: sha256) }

    public func mastery(course: String) throws -> [SkillMastery] { try tidbit.mastery(course: course) }

    public func stages(course: String) throws -> [StageStatus] { try tidbit.stages(course: course) }

    public func streak() throws -> Streak { try tidbit.streak() }

    public func decisions(limit: UInt32) throws -> [Decision] { try tidbit.decisions(limit: limit) }

    /// The learner's own engagement for the home screen (active days, minutes, recall).
    public func homeMetrics() throws -> HomeMetrics { try tidbit.homeMetrics() }

    /// The learner's arm of experiment `id`; the exposure is recorded the first time.
    public func expose(_ id: String, arms: [ExperimentArm]) throws -> String {
        try tidbit.expose(id: id, arms: arms)
    }

    /// `expose` for an experiment on the wording of `kind` nudges; the planner follows the arm.
    public func exposeNudgeWording(_ id: String, kind: NudgeKind, arms: [ExperimentArm]) throws -> String {
        try tidbit.exposeNudgeWording(id: id, kind: kind, arms: arms)
    }

    /// `expose` for an experiment on `course`'s desired retention; the scheduler follows the arm.
    public func exposeRetention(_ id: String, course: String, arms: [ExperimentArm]) throws -> String {
        try tidbit.exposeRetention(id: id, course: course, arms: arms)
    }

    /// Every consent scope with its purpose text; nothing optional is on until given.
    public func consents() throws -> [ConsentState] { try tidbit.consents() }

    /// Gives or withdraws a scope; the learner's other devices follow after they sync.
    public func setConsent(_ scope: ConsentScope, granted: Bool) throws {
        try tidbit.setConsent(scope: scope, granted: granted)
    }

    /// Asks a person to review the decision that keeps `stage` locked; returns the review's id.
    public func requestReview(course: String, stage: String, reason: String) throws -> String {
        try tidbit.requestReview(course: course, stage: stage, reason: reason)
    }

    public func reviews() throws -> [Review] { try tidbit.reviews() }

    // Goals. The learner's own goals are set and withdrawn here; a goal the L&D team set arrives
    // with `sync` and cannot be changed here. `planSession` and `nextActivity` pace new material
    // to the goals in force. Bad fields, a past date or a goal the organisation set are
    // `TidbitError.InvalidRequest`; a path, stage, skill or goal the course lacks is
    // `TidbitError.UnknownContent`.

    /// Every goal in force, by due date: its pace, the minutes of new material it allows today
    /// and whether it can still be met at the learner's minutes a day (if not, what would do it).
    public func goals() throws -> [GoalStatus] { try tidbit.goals() }

    /// Sets (or, for an existing id, replaces) one of the learner's own goals; returns its status.
    @discardableResult
    public func setGoal(_ goal: GoalSpec) throws -> GoalStatus { try tidbit.setGoal(goal: goal) }

    /// Withdraws one of the learner's own goals.
    public func withdrawGoal(_ goal: String) throws { try tidbit.withdrawGoal(goal: goal) }

    /// The minutes a learning day holds (1 to 480) and the weekdays off (ISO numbers: 1 is
    /// Monday, 7 Sunday); goals spread their work over the other days.
    public func setStudyTime(minutesPerDay: UInt32, daysOff: [UInt8] = []) throws {
        try tidbit.setStudyTime(minutesPerDay: minutesPerDay, daysOff: Data(daysOff))
    }

    /// The minutes a learning day holds; `daysOff` holds ISO weekday numbers, one a byte.
    public func studyTime() throws -> StudyTime { try tidbit.studyTime() }

    /// The learner's skills inventory: each skill with its mastery, whether it is held, when it
    /// was last demonstrated and its evidence. Replays the learner's log on the core's pool.
    public func skillsInventory() async throws -> SkillInventory {
        try await tidbit.skillsInventory()
    }

    /// `skillsInventory()` as JSON, for export.
    public func skillsInventoryJSON() async throws -> String {
        try await tidbit.skillsInventoryJson()
    }

    /// The held skills as Open Badges 3.0 credentials in one CLR 2.0 record (JSON). Unsigned:
    /// the learner's own record to share, not an attestation by the organisation.
    public func skillCredentials() async throws -> String {
        try await tidbit.skillCredentials()
    }

    /// Writes the learner's whole data into `directory` as one JSON archive: progress, then
    /// its path.
    public nonisolated func export(to directory: URL) -> AsyncThrowingStream<Progress<String>, Error> {
        progressStream { listener in
            try await self.tidbit.export(dir: directory.path, progress: listener)
        }
    }

    public func assetFile(course: String, path: String) throws -> URL? {
        try tidbit.assetFile(course: course, path: path).map { URL(fileURLWithPath: $0) }
    }

    /// A signed certificate (JSON) for a finished path, signed with the key store's key.
    public func issueCertificate(course: String, issuerName: String) throws -> String {
        try tidbit.issueCertificate(course: course, issuerName: issuerName)
    }

    /// Syncs the learner's progress with the server at `serverURL` using this device's bearer
    /// token. Runs on the Rust core's runtime and leaves the actor free: the store stays usable
    /// meanwhile. Throws `TidbitError.Unauthorized` when the token needs renewing and
    /// `TidbitError.Network` when the server cannot be reached or refuses (progress stays on
    /// the device: try again later).
    ///
    /// Cancelling the calling `Task` (a view's `.task` ending, a background task expiring)
    /// stops the sync on the core's runtime at its next network wait and throws
    /// `CancellationError`. A reply is applied whole or not at all, so the next sync picks up
    /// cleanly. UniFFI's generated call waits for the Rust future even when the task is
    /// cancelled, so the cancellation is forwarded through a `Cancellation`.
    public nonisolated func sync(serverURL: URL, token: String) async throws -> SyncReport {
        let cancellation = Cancellation()
        do {
            return try await withTaskCancellationHandler {
                try await tidbit.sync(
                    serverUrl: serverURL.absoluteString, token: token, cancellation: cancellation)
            } onCancel: {
                cancellation.cancel()
            }
        } catch TidbitError.Cancelled {
            throw CancellationError()
        }
    }

    /// Brings the installed courses up to those the server at `serverURL` assigns the learner,
    /// with this device's sync token: new courses and newer versions are downloaded (a cut
    /// download resumes from the bytes already on the device), verified and installed
    /// atomically. `settings` says what the app allows this update to spend (see
    /// `CourseUpdatePolicy.settings(onUnmeteredNetwork:)`; nil: any network, no byte cap).
    /// `onDownload` hears each download as bytes arrive, on the core's threads: keep it short.
    ///
    /// Runs on the Rust core's runtime like `sync` and leaves the actor free. The report lists
    /// what was installed, what is up to date, what waits and why (`interrupted` says when to
    /// retry soon) and the packs the server contradicted. Throws `TidbitError.Unauthorized`
    /// when the token needs renewing, `TidbitError.Network` when the catalog cannot be fetched,
    /// `TidbitError.Storage` when downloads cannot be written and `TidbitError.InvalidSettings`
    /// for a URL that is not http(s).
    ///
    /// Cancelling the calling `Task`, or `cancellation` (a background task's expiration
    /// handler), stops the update at its next network wait and throws `CancellationError`;
    /// what arrived stays on the device and the next update resumes from there. An installed
    /// course is always the old version or the new one.
    public nonisolated func updateCourses(
        serverURL: URL,
        token: String,
        settings: CourseUpdateSettings? = nil,
        cancellation: Cancellation = Cancellation(),
        onDownload: (@Sendable (DownloadProgress) -> Void)? = nil
    ) async throws -> CourseUpdateReport {
        let listener = onDownload.map { DownloadRelay($0) }
        do {
            return try await withTaskCancellationHandler {
                try await tidbit.updateCourses(
                    serverUrl: serverURL.absoluteString, token: token, settings: settings,
                    listener: listener, cancellation: cancellation)
            } onCancel: {
                cancellation.cancel()
            }
        } catch TidbitError.Cancelled {
            throw CancellationError()
        }
    }

    /// Fetches the media of `module` that its course delivers on demand and this device lacks;
    /// call it when the learner opens the module (`assetFile` is nil for such media until
    /// then). Each asset is verified against the course's signed manifest before it is placed;
    /// a cut fetch resumes at the next call. Cancellable like `updateCourses`.
    public nonisolated func fetchModuleMedia(
        serverURL: URL,
        token: String,
        course: String,
        module: String,
        settings: CourseUpdateSettings? = nil,
        cancellation: Cancellation = Cancellation()
    ) async throws -> ModuleAssetsReport {
        do {
            return try await withTaskCancellationHandler {
                try await tidbit.fetchModuleMedia(
                    serverUrl: serverURL.absoluteString, token: token, course: course,
                    module: module, settings: settings, listener: nil, cancellation: cancellation)
            } onCancel: {
                cancellation.cancel()
            }
        } catch TidbitError.Cancelled {
            throw CancellationError()
        }
    }

    /// A digest of the learner's projected progress: equal on devices that hold the same events.
    public func projectionDigest() throws -> String { try tidbit.projectionDigest() }

    // Learning together. A cohort's space arrives with `sync` and what the learner writes
    // leaves with the next one. Writes return the new entry's id; what the space does not take
    // throws `TidbitError.Community` and writes nothing. Sharing needs the `.community` consent
    // scope (`setConsent`); hiding one's own entry, stepping out of the rota and leaving never do.

    /// The ids of the cohorts the learner is in, as this device last synced them.
    public func cohorts() throws -> [String] { try tidbit.cohorts() }

    /// The space of `cohort` now: members, this week's rota, visible posts, shared answers with
    /// their feedback, open reports, metrics, and the entries left out (and why).
    public func cohort(_ cohort: String) throws -> CohortView { try tidbit.cohort(cohort: cohort) }

    /// Posts `text`, optionally about a `module` or a `step`; a `summary` is the week's round-up.
    @discardableResult
    public func postToCohort(
        _ cohort: String, text: String, module: String? = nil, step: String? = nil, summary: Bool = false
    ) throws -> String {
        try tidbit.postToCohort(cohort: cohort, text: text, module: module, step: step, summary: summary)
    }

    /// Shares the learner's answer `answerEvent` (`Feedback.answerEvent` of a reflection, a
    /// scenario or a spoken answer) for peers to rate; `answer` is what the learner answered.
    @discardableResult
    public func shareAnswer(_ cohort: String, answerEvent: String, answer: SharedAnswer) throws -> String {
        try tidbit.shareAnswer(cohort: cohort, answerEvent: answerEvent, answer: answer)
    }

    /// Rates a peer's `share`: one verdict per criterion, in their order, and a comment.
    @discardableResult
    public func giveFeedback(_ cohort: String, share: String, criteriaMet: [Bool], comment: String) throws -> String {
        try tidbit.giveFeedback(cohort: cohort, share: share, criteriaMet: criteriaMet, comment: comment)
    }

    /// Leaves `reaction` on a post, a share or feedback (once per kind).
    @discardableResult
    public func react(_ cohort: String, target: String, reaction: Reaction) throws -> String {
        try tidbit.react(cohort: cohort, target: target, reaction: reaction)
    }

    /// Hides a post, share or feedback from everyone: the learner's own, or any as facilitator.
    @discardableResult
    public func hideInCohort(_ cohort: String, target: String, reason: String) throws -> String {
        try tidbit.hideInCohort(cohort: cohort, target: target, reason: reason)
    }

    /// Asks the week's facilitator and the organisation to look at another member's entry.
    @discardableResult
    public func reportInCohort(_ cohort: String, target: String, reason: String) throws -> String {
        try tidbit.reportInCohort(cohort: cohort, target: target, reason: reason)
    }

    /// Takes the learner out of the role rota from next week (`available` false), or back in.
    @discardableResult
    public func setRotaAvailability(_ cohort: String, available: Bool) throws -> String {
        try tidbit.setRotaAvailability(cohort: cohort, available: available)
    }

    /// Reports this week's duty `role` (one the learner holds in the rota) done.
    @discardableResult
    public func markDutyDone(_ cohort: String, role: String) throws -> String {
        try tidbit.markDutyDone(cohort: cohort, role: role)
    }

    /// Leaves `cohort`; what the learner shared there is withdrawn at every device's next sync.
    @discardableResult
    public func leaveCohort(_ cohort: String) throws -> String { try tidbit.leaveCohort(cohort: cohort) }

    /// The recording `audio` (its SHA-256, as `SharedAnswer.voice` names it) a member of
    /// `cohort` shared, for playback: kept on this device already, or fetched from the server
    /// at `serverURL` with this device's sync token, checked against its name and kept sealed.
    /// The learner's own recordings reach the server with `sync`. Runs on the core's runtime
    /// like `sync`; cancelling the calling `Task` stops it and throws `CancellationError`.
    public nonisolated func fetchSharedAudio(
        serverURL: URL, token: String, cohort: String, audio: String
    ) async throws -> Data {
        let cancellation = Cancellation()
        do {
            return try await withTaskCancellationHandler {
                try await tidbit.fetchSharedAudio(
                    serverUrl: serverURL.absoluteString, token: token, cohort: cohort, audio: audio,
                    cancellation: cancellation)
            } onCancel: {
                cancellation.cancel()
            }
        } catch TidbitError.Cancelled {
            throw CancellationError()
        }
    }

    /// Tells the learner's cohorts on which of the last 7 days they practised (never how much);
    /// nothing without the `.community` scope. Returns the days recorded now.
    @discardableResult
    public func recordPracticeDays() throws -> UInt32 { try tidbit.recordPracticeDays() }

    /// Erases the learner from this device: closes the store, has the key store destroy its
    /// at-rest key and removes its files. The server's copy is the organisation's to erase.
    /// Later calls throw `TidbitError.Erased`; while a sync runs this throws `NotYet`.
    public func erase() throws { try tidbit.erase() }

    /// The notifications the OS should hold for the next `prefs.days` days (stable ids: apply
    /// with `NudgePlanApplier`); `defaultNudgePreferences(consent:)` gives the defaults.
    public func planNudges(_ prefs: NudgePreferences) throws -> NudgePlan {
        try tidbit.planNudges(prefs: prefs)
    }

    /// Records what became of a planned nudge (scheduled, delivered, opened, dismissed, ignored).
    public func recordNudgeOutcome(_ nudge: Nudge, _ outcome: NudgeOutcome) throws {
        try tidbit.recordNudgeOutcome(nudge: nudge, outcome: outcome)
    }

    /// Tells the server, with the next sync, where to wake this device: the APNs device token
    /// `application(_:didRegisterForRemoteNotificationsWithDeviceToken:)` gave, sent as hex.
    /// The server sends it silent pushes (`content-available`) asking for a sync
    /// (`RemoteNotificationSync`). Throws `TidbitError.InvalidRequest` for a token APNs never
    /// gives (not 32 to 100 bytes); nothing is recorded then.
    public func registerPushToken(_ deviceToken: Data) throws {
        let hex = deviceToken.map { String(format: "%02x", $0) }.joined()
        try tidbit.registerPushToken(platform: "apns", token: hex)
    }

    /// True when APNs told the server that the token this device registered last is dead (the
    /// answer arrives with a sync): ask iOS for the token again
    /// (`RemoteNotificationSync.registerIfNeeded`) and register what it gives. False again once
    /// a newer token is registered, and false on a device that never registered one (the app
    /// registers its first token at sign-in).
    public func pushTokenNeeded() throws -> Bool { try tidbit.pushTokenNeeded() }

    /// Every intervention that reached this device (a module to revisit, a coaching
    /// conversation with the manager, a mentor, a job aid), oldest first, with where it stands.
    public func interventions() throws -> [InterventionView] { try tidbit.interventions() }

    /// The job aids (one-screen reference cards) of an installed course.
    public func jobAids(course: String) throws -> [JobAid] { try tidbit.jobAids(course: course) }

    /// Opens a job aid to show; records it opened for the job aid interventions naming it.
    public func jobAid(course: String, aid: String) throws -> JobAid {
        try tidbit.jobAid(course: course, aid: aid)
    }

    /// The learner accepts the mentoring pairing of `intervention` (that completes it).
    public func acceptMentoring(intervention: String) throws {
        try tidbit.acceptMentoring(intervention: intervention)
    }

    /// The peers the server asked this learner to mentor.
    public func mentoringInvitations() throws -> [MentoringInvitation] {
        try tidbit.mentoringInvitations()
    }

    /// Releases the store now; later calls throw `TidbitError.Closed`.
    public func close() { tidbit.closeStore() }

    private nonisolated func progressStream<T: Sendable>(
        _ work: @escaping @Sendable (ProgressListener) async throws -> T
    ) -> AsyncThrowingStream<Progress<T>, Error> {
        AsyncThrowingStream { continuation in
            let listener = StreamProgress { done, total in
                continuation.yield(.working(done: done, total: total))
            }
            let task = Task {
                do {
                    continuation.yield(.finished(try await work(listener)))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Forwards the core's progress callbacks to a stream.
final class StreamProgress: ProgressListener, @unchecked Sendable {
    private let report: @Sendable (UInt64, UInt64) -> Void

    init(_ report: @escaping @Sendable (UInt64, UInt64) -> Void) {
        self.report = report
    }

    func onProgress(done: UInt64, total: UInt64) {
        report(done, total)
    }
}

/// Forwards the core's download callbacks to a closure.
final class DownloadRelay: DownloadListener, @unchecked Sendable {
    private let report: @Sendable (DownloadProgress) -> Void

    init(_ report: @escaping @Sendable (DownloadProgress) -> Void) {
        self.report = report
    }

    func onDownload(progress: DownloadProgress) {
        report(progress)
    }
}
