// Push on iOS: the server wakes the device with a silent APNs push
// (`{"aps": {"content-available": 1}, "intervention"?, "deadline_ms"?}`, `apns-push-type:
// background`) and the app syncs; what the push was about reaches the learner as a local
// notification the nudge planner schedules after that sync, never as push text. Parsed by
// tests/bindings/swift.sh; compiled only with Xcode for iOS.
//
// The device token goes to the server with the next sync (`TidbitClient.registerPushToken(_:)`).
// The app asks iOS for it (`UIApplication.shared.registerForRemoteNotifications()`) when the
// learner signs in (a store that never registered a token does not report one as needed) and
// whenever `pushTokenNeeded()` turns true after a sync (APNs answered 410 or BadDeviceToken):
// `registerIfNeeded(_:)`, at start and as `BackgroundSync`'s `onPushTokenNeeded` (which every
// sync through `BackgroundSync`, this one too, calls then). Whatever token iOS hands to
// `application(_:didRegisterForRemoteNotificationsWithDeviceToken:)` is registered as it is.
//
// In the app delegate:
//
//     func application(_ application: UIApplication,
//                      didRegisterForRemoteNotificationsWithDeviceToken deviceToken: Data) {
//         Task { try? await tidbit.registerPushToken(deviceToken) }
//     }
//
//     func application(_ application: UIApplication,
//                      didReceiveRemoteNotification userInfo: [AnyHashable: Any],
//                      fetchCompletionHandler completion: @escaping (UIBackgroundFetchResult) -> Void) {
//         guard RemoteNotificationSync.isSilentPush(userInfo) else { return completion(.noData) }
//         Task { completion(await remoteSync.sync()) }
//     }
//
// The app's Info.plist lists `remote-notification` under `UIBackgroundModes` (Background Modes →
// Remote notifications) and the target has the Push Notifications capability. iOS gives a
// background push about 30 seconds and throttles silent pushes it judges too frequent; a push
// that arrives while the app was force-quit is not delivered. The sync of a run iOS cuts short
// picks up at the next one.

import Foundation

#if canImport(UIKit) && os(iOS)
import UIKit

/// Runs the sync a Tidbit push asks for and tells iOS what it fetched.
public struct RemoteNotificationSync: Sendable {
    private let backgroundSync: BackgroundSync

    /// Syncs the way `backgroundSync` does (the same Tidbit, server and token, and the same
    /// handling of a refused token).
    public init(_ backgroundSync: BackgroundSync) {
        self.backgroundSync = backgroundSync
    }

    /// True for a silent push (`aps.content-available` 1), which is how Tidbit's server wakes
    /// the device. APNs pushes carry nothing else that marks them as Tidbit's, so an app that
    /// sends silent pushes of its own tells them apart by its own keys.
    public static func isSilentPush(_ userInfo: [AnyHashable: Any]) -> Bool {
        guard let aps = userInfo["aps"] as? [AnyHashable: Any] else { return false }
        return (aps["content-available"] as? NSNumber)?.intValue == 1
    }

    /// Syncs now and says what to pass to the fetch completion handler.
    public func sync() async -> UIBackgroundFetchResult {
        Self.fetchResult(for: await backgroundSync.syncNow())
    }

    /// `.newData` when the sync brought events from the learner's other devices or the server,
    /// `.noData` when it brought none or there was nothing to sync, `.failed` otherwise.
    public static func fetchResult(for outcome: BackgroundSyncOutcome) -> UIBackgroundFetchResult {
        switch outcome {
        case .synced(let report):
            return report.eventsReceived > 0 ? .newData : .noData
        case .nothingToSync:
            return .noData
        case .cancelled, .tokenRejected, .learnerErased, .failed:
            return .failed
        }
    }

    /// Asks iOS for the device token again when the server reported the registered one dead;
    /// iOS hands it to `application(_:didRegisterForRemoteNotificationsWithDeviceToken:)`. Call
    /// at start, and pass it as `BackgroundSync`'s `onPushTokenNeeded`. True when it asked.
    @MainActor
    @discardableResult
    public static func registerIfNeeded(_ tidbit: TidbitClient) async -> Bool {
        guard (try? await tidbit.pushTokenNeeded()) == true else { return false }
        UIApplication.shared.registerForRemoteNotifications()
        return true
    }
}
#endif
