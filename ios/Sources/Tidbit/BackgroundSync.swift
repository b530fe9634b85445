// Background sync on iOS with BGTaskScheduler (parsed by tests/bindings/swift.sh; compiled only
// with Xcode for iOS).
//
// iOS decides when an app refresh runs: `earliestBeginDate` is a lower bound, and the system
// weighs battery, network and how often the learner opens the app. Each run first asks for the
// next one, then syncs through `TidbitClient.sync`. When iOS ends the time it gave the run, the
// expiration handler cancels the sync's Task, which stops the Rust sync at its next network
// wait: a reply is applied whole or not at all, and the next run picks up from there. The app
// hands over the Tidbit it already has open and the server and token to use, so this never
// opens a second copy of the store and never stores credentials itself. A sync that brings
// the server's word that the device's push token is dead calls `onPushTokenNeeded`; a push from
// the server syncs through the same `syncNow` (`RemoteNotificationSync`).
//
// The app's Info.plist must list the task identifier and enable background fetch:
//
//     <key>BGTaskSchedulerPermittedIdentifiers</key>
//     <array><string>org.example.learn.sync</string></array>
//     <key>UIBackgroundModes</key>
//     <array><string>fetch</string></array>
//
// Without the identifier, `register()` returns false and `schedule()` throws
// `BGTaskScheduler.Error.notPermitted`. The simulator does not run app refreshes (`schedule()`
// throws `.unavailable`); on a device, pause in the debugger after `schedule()` and run
//     e -l objc -- (void)[[BGTaskScheduler sharedScheduler] _simulateLaunchForTaskWithIdentifier:@"org.example.learn.sync"]
// to start one at once.

import Foundation

/// Where and how to sync: the server's base URL and this device's bearer token.
public struct SyncServer: Sendable, Equatable {
    public var url: URL
    public var token: String

    public init(url: URL, token: String) {
        self.url = url
        self.token = token
    }
}

#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
import os

/// How one sync run ended.
public enum BackgroundSyncOutcome: Sendable {
    case synced(SyncReport)
    /// Nobody is signed in, or sync is not set up: nothing to do.
    case nothingToSync
    /// The run was cancelled (iOS ended its time); the next run picks up from there.
    case cancelled
    /// The server refused the token; the app was asked for a new one.
    case tokenRejected
    /// The organisation erased this learner on the server, which syncs them no more; the data
    /// on this device is kept until the app calls `TidbitClient.erase()`.
    case learnerErased(String)
    /// The server could not be reached or refused the sync; the message says why.
    case failed(String)

    /// What to tell BGTaskScheduler: whether the run did its work.
    public var succeeded: Bool {
        switch self {
        case .synced, .nothingToSync: return true
        case .cancelled, .tokenRejected, .learnerErased, .failed: return false
        }
    }
}

/// Syncs the learner's progress in the background as a `BGAppRefreshTask`.
///
/// Create one at launch, call `register()` before the app finishes launching (in `App.init` or
/// `application(_:didFinishLaunchingWithOptions:)`), and `schedule()` when the app moves to the
/// background; every run schedules the next.
public struct BackgroundSync: Sendable {
    /// The task identifier, as listed under `BGTaskSchedulerPermittedIdentifiers`.
    public let identifier: String
    /// The least time between the end of one run and the start of the next.
    public let interval: TimeInterval
    private let tidbitForSync: @Sendable () async -> TidbitClient?
    private let syncServer: @Sendable () async -> SyncServer?
    private let onTokenRejected: @Sendable (String) -> Void
    private let onPushTokenNeeded: @Sendable (TidbitClient) async -> Void
    private let log = os.Logger(subsystem: Bundle.main.bundleIdentifier ?? "dev.tidbit", category: "sync")

    /// `tidbitForSync` gives the learner's open Tidbit (nil when nobody is signed in),
    /// `syncServer` the server and this device's token (nil when sync is not set up);
    /// `onTokenRejected` is called with the server's message when a new token is needed;
    /// `onPushTokenNeeded` after a sync that brought the server's word that this device's push
    /// token is dead (apps with push pass `{ await RemoteNotificationSync.registerIfNeeded($0) }`).
    public init(
        identifier: String,
        interval: TimeInterval = 6 * 60 * 60,
        tidbitForSync: @escaping @Sendable () async -> TidbitClient?,
        syncServer: @escaping @Sendable () async -> SyncServer?,
        onTokenRejected: @escaping @Sendable (String) -> Void = { _ in },
        onPushTokenNeeded: @escaping @Sendable (TidbitClient) async -> Void = { _ in }
    ) {
        self.identifier = identifier
        self.interval = interval
        self.tidbitForSync = tidbitForSync
        self.syncServer = syncServer
        self.onTokenRejected = onTokenRejected
        self.onPushTokenNeeded = onPushTokenNeeded
    }

    /// Registers the launch handler; false when the identifier is not permitted in Info.plist.
    /// Call once, before the app finishes launching.
    @discardableResult
    public func register() -> Bool {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let refresh = task as? BGAppRefreshTask else {
                task.setTaskCompleted(success: false)
                return
            }
            run(refresh)
        }
    }

    /// Asks iOS for a run no earlier than `interval` from now, replacing one already asked for.
    public func schedule() throws {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: interval)
        try BGTaskScheduler.shared.submit(request)
    }

    /// One sync now, the way a background run does it (apps may call it after a session;
    /// `RemoteNotificationSync` calls it for a push).
    /// Cancelling the calling Task stops the sync and gives `.cancelled`.
    public func syncNow() async -> BackgroundSyncOutcome {
        guard let tidbit = await tidbitForSync(), let server = await syncServer() else {
            return .nothingToSync
        }
        do {
            let report = try await tidbit.sync(serverURL: server.url, token: server.token)
            let text = "synced: \(report.roundTrips) round trips, \(report.eventsReceived) events received"
            log.info("\(text, privacy: .public)")
            if (try? await tidbit.pushTokenNeeded()) == true {
                await onPushTokenNeeded(tidbit)
            }
            return .synced(report)
        } catch is CancellationError {
            log.info("sync cancelled; the next run picks up from there")
            return .cancelled
        } catch TidbitError.Unauthorized(let message) {
            onTokenRejected(message)
            return .tokenRejected
        } catch TidbitError.Erased(let message) {
            log.warning("the server erased this learner; sync stops")
            return .learnerErased(message)
        } catch {
            let text = String(describing: error)
            log.warning("sync failed: \(text, privacy: .public)")
            return .failed(text)
        }
    }

    private func run(_ task: BGAppRefreshTask) {
        // Asked for first, so a run that iOS cuts short still leaves the next one scheduled.
        do {
            try schedule()
        } catch {
            log.error("could not schedule the next background sync: \(String(describing: error), privacy: .public)")
        }
        let work = Task { await syncNow() }
        task.expirationHandler = { work.cancel() }
        Task {
            let outcome = await work.value
            task.setTaskCompleted(success: outcome.succeeded)
        }
    }
}
#endif
