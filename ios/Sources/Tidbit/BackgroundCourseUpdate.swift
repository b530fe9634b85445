// Course updates in the background on iOS with BGTaskScheduler (parsed by tests/bindings/swift.sh;
// compiled only with Xcode for iOS).
//
// A `BGProcessingTask` that requires a network: iOS runs it when it sees fit (often at night,
// idle), with more time than an app refresh, which a course download may need. Each run first
// asks for the next one, reads whether the current network is unmetered (NWPathMonitor: not
// cellular or a personal hotspot, not in Low Data Mode), then updates through
// `TidbitClient.updateCourses` within the learner's `CourseUpdatePolicy`. BGTaskScheduler cannot
// require Wi-Fi, so "Wi-Fi only" is the core's to enforce: on a metered network the run
// downloads nothing and the courses wait for the next run. When iOS ends the time it gave the
// run, the expiration handler cancels the run's `Cancellation`: the download stops at its next
// network wait, what arrived stays on the device and the next run resumes from there. An
// installed course is always the old version or the new one. The app hands over the Tidbit it
// already has open and the server and token to use (courses come from the sync server), so
// this never opens a second copy of the store and never stores credentials itself.
//
// The app's Info.plist must list the task identifier and enable background processing:
//
//     <key>BGTaskSchedulerPermittedIdentifiers</key>
//     <array><string>org.example.learn.courses</string></array>
//     <key>UIBackgroundModes</key>
//     <array><string>processing</string></array>
//
// Without the identifier, `register()` returns false and `schedule()` throws
// `BGTaskScheduler.Error.notPermitted`. On a device, pause in the debugger after `schedule()`
// and run
//     e -l objc -- (void)[[BGTaskScheduler sharedScheduler] _simulateLaunchForTaskWithIdentifier:@"org.example.learn.courses"]
// to start one at once, and
//     e -l objc -- (void)[[BGTaskScheduler sharedScheduler] _simulateExpirationForTaskWithIdentifier:@"org.example.learn.courses"]
// to see it expire.

import Foundation

/// What the learner lets course downloads spend: `wifiOnly` keeps them for unmetered networks,
/// `bytesPerRun` caps what one update downloads (nil: no cap). A download that reaches the cap
/// pauses and resumes from there at the next update.
public struct CourseUpdatePolicy: Sendable, Equatable {
    public var wifiOnly: Bool
    public var bytesPerRun: UInt64?

    public init(wifiOnly: Bool = true, bytesPerRun: UInt64? = nil) {
        self.wifiOnly = wifiOnly
        self.bytesPerRun = bytesPerRun
    }

    /// The settings for one update, given whether the device is on an unmetered network now.
    public func settings(onUnmeteredNetwork: Bool) -> CourseUpdateSettings {
        CourseUpdateSettings(
            byteBudget: bytesPerRun, unmeteredOnly: wifiOnly, onUnmeteredNetwork: onUnmeteredNetwork)
    }
}

extension CourseUpdateReport {
    /// True when a download waits because the link kept failing: retry soon. Downloads paused
    /// by the byte budget or by "Wi-Fi only" wait for the next scheduled run instead.
    public var interrupted: Bool {
        pending.contains { download in
            if case .interrupted = download.reason { return true }
            return false
        }
    }
}

#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
import Network
import os

/// How one course update run ended.
public enum BackgroundCourseUpdateOutcome: Sendable {
    case updated(CourseUpdateReport)
    /// Nobody is signed in, or the server is not set up: nothing to do.
    case nothingToUpdate
    /// The run was cancelled (iOS ended its time); the next run resumes the downloads.
    case cancelled
    /// The server refused the token; the app was asked for a new one.
    case tokenRejected
    /// The organisation erased this learner on the server, which serves them no more.
    case learnerErased(String)
    /// The catalog could not be fetched or downloads could not be written; the message says why.
    case failed(String)

    /// What to tell BGTaskScheduler: whether the run did its work (an interrupted download did
    /// not).
    public var succeeded: Bool {
        switch self {
        case .updated(let report): return !report.interrupted
        case .nothingToUpdate: return true
        case .cancelled, .tokenRejected, .learnerErased, .failed: return false
        }
    }
}

/// Updates the learner's courses in the background as a `BGProcessingTask`.
///
/// Create one at launch, call `register()` before the app finishes launching (in `App.init` or
/// `application(_:didFinishLaunchingWithOptions:)`), and `schedule()` when the app moves to the
/// background; every run schedules the next.
public struct BackgroundCourseUpdate: Sendable {
    /// The task identifier, as listed under `BGTaskSchedulerPermittedIdentifiers`.
    public let identifier: String
    /// The least time between the end of one run and the start of the next.
    public let interval: TimeInterval
    private let tidbitForUpdates: @Sendable () async -> TidbitClient?
    private let server: @Sendable () async -> SyncServer?
    private let policy: @Sendable () async -> CourseUpdatePolicy
    private let onTokenRejected: @Sendable (String) -> Void
    private let onDownload: (@Sendable (DownloadProgress) -> Void)?
    private let log = os.Logger(subsystem: Bundle.main.bundleIdentifier ?? "dev.tidbit", category: "courses")

    /// `tidbitForUpdates` gives the learner's open Tidbit (nil when nobody is signed in),
    /// `server` the sync server and this device's token (nil when it is not set up), `policy`
    /// the learner's download preferences; `onTokenRejected` is called with the server's
    /// message when a new token is needed, `onDownload` as bytes arrive (on the core's threads).
    public init(
        identifier: String,
        interval: TimeInterval = 24 * 60 * 60,
        tidbitForUpdates: @escaping @Sendable () async -> TidbitClient?,
        server: @escaping @Sendable () async -> SyncServer?,
        policy: @escaping @Sendable () async -> CourseUpdatePolicy,
        onTokenRejected: @escaping @Sendable (String) -> Void = { _ in },
        onDownload: (@Sendable (DownloadProgress) -> Void)? = nil
    ) {
        self.identifier = identifier
        self.interval = interval
        self.tidbitForUpdates = tidbitForUpdates
        self.server = server
        self.policy = policy
        self.onTokenRejected = onTokenRejected
        self.onDownload = onDownload
    }

    /// Registers the launch handler; false when the identifier is not permitted in Info.plist.
    /// Call once, before the app finishes launching.
    @discardableResult
    public func register() -> Bool {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let processing = task as? BGProcessingTask else {
                task.setTaskCompleted(success: false)
                return
            }
            run(processing)
        }
    }

    /// Asks iOS for a run with a network no earlier than `interval` from now (`after` for
    /// another delay), replacing one already asked for.
    public func schedule(after delay: TimeInterval? = nil) throws {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.requiresExternalPower = false
        request.earliestBeginDate = Date(timeIntervalSinceNow: delay ?? interval)
        try BGTaskScheduler.shared.submit(request)
    }

    /// One update now, the way a background run does it (apps call it when the learner opens
    /// the catalog). Cancelling the calling Task or `cancellation` stops it and gives
    /// `.cancelled`.
    public func updateNow(cancellation: Cancellation = Cancellation()) async -> BackgroundCourseUpdateOutcome {
        guard let tidbit = await tidbitForUpdates(), let server = await server() else {
            return .nothingToUpdate
        }
        let settings = await policy().settings(onUnmeteredNetwork: await Self.onUnmeteredNetwork())
        do {
            let report = try await tidbit.updateCourses(
                serverURL: server.url, token: server.token, settings: settings,
                cancellation: cancellation, onDownload: onDownload)
            let text = "courses: \(report.installed.count) installed, \(report.upToDate.count) up to date, "
                + "\(report.pending.count) waiting, \(report.refused.count) refused; \(report.bytesDownloaded) bytes"
            log.info("\(text, privacy: .public)")
            for refused in report.refused {
                log.warning("refused \(refused.courseId, privacy: .public) \(refused.version, privacy: .public): \(refused.reason, privacy: .public)")
            }
            return .updated(report)
        } catch is CancellationError {
            log.info("course update cancelled; the next run resumes the downloads")
            return .cancelled
        } catch TidbitError.Unauthorized(let message) {
            onTokenRejected(message)
            return .tokenRejected
        } catch TidbitError.Erased(let message) {
            log.warning("the server erased this learner; course updates stop")
            return .learnerErased(message)
        } catch {
            let text = String(describing: error)
            log.warning("course update failed: \(text, privacy: .public)")
            return .failed(text)
        }
    }

    private func run(_ task: BGProcessingTask) {
        // Asked for first, so a run that iOS cuts short still leaves the next one scheduled.
        do {
            try schedule()
        } catch {
            log.error("could not schedule the next course update: \(String(describing: error), privacy: .public)")
        }
        let cancellation = Cancellation()
        let work = Task { await updateNow(cancellation: cancellation) }
        task.expirationHandler = { cancellation.cancel() }
        Task {
            let outcome = await work.value
            if case .updated(let report) = outcome, report.interrupted {
                // The link kept failing: try again in a quarter of an hour rather than a day.
                try? schedule(after: 15 * 60)
            }
            task.setTaskCompleted(success: outcome.succeeded)
        }
    }

    /// Whether the device's current network is unmetered: not cellular or a personal hotspot
    /// (`isExpensive`) and not in Low Data Mode (`isConstrained`). False without a network.
    static func onUnmeteredNetwork() async -> Bool {
        await withCheckedContinuation { continuation in
            let monitor = NWPathMonitor()
            let first = FirstPath()
            monitor.pathUpdateHandler = { path in
                // Called on the monitor's serial queue; only the first path answers.
                guard first.take() else { return }
                monitor.cancel()
                continuation.resume(returning: path.status == .satisfied && !path.isExpensive && !path.isConstrained)
            }
            monitor.start(queue: DispatchQueue(label: "dev.tidbit.course-update.network"))
        }
    }
}

/// True the first time it is taken; used on one serial queue.
private final class FirstPath: @unchecked Sendable {
    private var taken = false

    func take() -> Bool {
        defer { taken = true }
        return !taken
    }
}
#endif
