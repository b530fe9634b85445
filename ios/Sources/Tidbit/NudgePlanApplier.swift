// Applying a nudge plan to UNUserNotificationCenter, idempotently (parsed by
// tests/bindings/swift.sh; compiled only with Xcode / `swift build` on macOS).
//
// The plan (which nudges, when, their stable ids) is the Rust core's. This cancels the
// pending Tidbit requests the plan no longer holds, adds the new ones, replaces one whose text,
// time or deep link changed under the same id, and leaves the rest alone. Requests the app
// posts itself (without the `tidbitNudge` marker in userInfo) are never touched.

import Foundation
#if canImport(UserNotifications)
import UserNotifications

/// What one `apply` changed.
public struct NudgeApplyResult: Sendable, Equatable {
    /// Newly added, in firing order.
    public var scheduled: [String] = []
    /// Removed because they vanished from the plan, sorted.
    public var cancelled: [String] = []
    /// Same id, changed content: replaced.
    public var rescheduled: [String] = []
    /// Left alone.
    public var unchanged: [String] = []

    public var changed: Bool { !scheduled.isEmpty || !cancelled.isEmpty || !rescheduled.isEmpty }
}

/// Holds a `NudgePlan` in UNUserNotificationCenter.
public struct NudgePlanApplier {
    public static let markerKey = "tidbitNudge"
    public static let fingerprintKey = "tidbitFingerprint"
    public static let deepLinkKey = "tidbitDeepLink"
    public static let nudgeIdKey = "tidbitNudgeId"

    private let center: UNUserNotificationCenter
    private let localize: @Sendable (NudgeMessage) -> String

    /// `localize` turns a message key and its arguments into the text shown; the core's
    /// English text by default.
    public init(
        center: UNUserNotificationCenter = .current(),
        localize: @escaping @Sendable (NudgeMessage) -> String = { $0.text }
    ) {
        self.center = center
        self.localize = localize
    }

    /// Asks for permission to show notifications (after the learner agreed to nudges in the app).
    public func requestAuthorization() async throws -> Bool {
        try await center.requestAuthorization(options: [.alert, .sound, .badge])
    }

    /// Brings the pending requests in line with `plan`. Applying the same plan twice changes nothing.
    @discardableResult
    public func apply(_ plan: NudgePlan) async throws -> NudgeApplyResult {
        var wanted: [String: Nudge] = [:]
        var order: [String] = []
        for nudge in plan.nudges where wanted[nudge.id] == nil {
            wanted[nudge.id] = nudge
            order.append(nudge.id)
        }

        var pending: [String: String] = [:]
        for request in await center.pendingNotificationRequests() {
            guard request.content.userInfo[Self.markerKey] as? Bool == true else { continue }
            pending[request.identifier] = request.content.userInfo[Self.fingerprintKey] as? String ?? ""
        }

        var result = NudgeApplyResult()
        result.cancelled = pending.keys.filter { wanted[$0] == nil }.sorted()
        if !result.cancelled.isEmpty {
            center.removePendingNotificationRequests(withIdentifiers: result.cancelled)
        }

        for id in order {
            guard let nudge = wanted[id] else { continue }
            let title = localize(nudge.title)
            let body = localize(nudge.body)
            let print = Self.fingerprint(nudge, title: title, body: body)
            switch pending[id] {
            case nil:
                try await center.add(Self.request(nudge, title: title, body: body, fingerprint: print))
                result.scheduled.append(id)
            case let held? where held != print:
                center.removePendingNotificationRequests(withIdentifiers: [id])
                try await center.add(Self.request(nudge, title: title, body: body, fingerprint: print))
                result.rescheduled.append(id)
            default:
                result.unchanged.append(id)
            }
        }
        return result
    }

    static func fingerprint(_ nudge: Nudge, title: String, body: String) -> String {
        [String(nudge.fireAtUtcMs), title, body, nudge.deepLink].joined(separator: "\u{0}")
    }

    static func request(_ nudge: Nudge, title: String, body: String, fingerprint: String) -> UNNotificationRequest {
        let content = UNMutableNotificationContent()
        content.title = title
        content.body = body
        content.sound = .default
        content.userInfo = [
            markerKey: true,
            fingerprintKey: fingerprint,
            deepLinkKey: nudge.deepLink,
            nudgeIdKey: nudge.id,
        ]
        // The fire instant in UTC components, so a time zone change on the device does not move it.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let fireAt = Date(timeIntervalSince1970: TimeInterval(nudge.fireAtUtcMs) / 1000)
        let components = calendar.dateComponents(
            [.calendar, .timeZone, .year, .month, .day, .hour, .minute, .second], from: fireAt)
        let trigger = UNCalendarNotificationTrigger(dateMatching: components, repeats: false)
        return UNNotificationRequest(identifier: nudge.id, content: content, trigger: trigger)
    }
}
#endif
