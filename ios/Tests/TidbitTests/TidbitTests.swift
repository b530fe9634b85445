// XCTest suite mirroring tests/bindings/kotlin/TidbitSuite.kt. Runs on macOS or a simulator
// with an XCFramework built by `ios/build-xcframework.sh --test-hooks`; the fixture pack and
// keys come from TIDBIT_PACK, TIDBIT_AUTHOR_PUB, TIDBIT_ISSUER_KEY, TIDBIT_ISSUER_PUB (the
// same files tests/bindings/common.sh makes).

import Foundation
import Network
import UserNotifications
import XCTest
@testable import Tidbit

private let course = "binding-tour"

final class ManualClock: Clock, @unchecked Sendable {
    var ms: Int64 = 1_790_000_000_000
    func nowMs() -> Int64 { ms }
}

final class MemoryKeyStore: KeyStore, @unchecked Sendable {
    let key: String?
    private(set) var atRest: Data?
    private(set) var destroyed = 0
    init(_ key: String?, atRest: Data? = Data((0..<32).map { _ in UInt8.random(in: 0...255) })) {
        self.key = key
        self.atRest = atRest
    }
    func certificateSigningKey() throws -> String? { key }
    func atRestKey() throws -> Data? { atRest }
    func destroyAtRestKey() throws {
        atRest = nil
        destroyed += 1
    }
}

final class ListLogger: TidbitFFI.Logger, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var records: [LogRecord] = []
    func log(record: LogRecord) {
        lock.lock()
        records.append(record)
        lock.unlock()
    }
}

/// A server on 127.0.0.1 that accepts connections, reads what comes and never answers. Its
/// expectations are fulfilled when it is listening, when it accepts a connection and when the
/// client closes it.
final class SilentServer: @unchecked Sendable {
    let ready = XCTestExpectation(description: "the silent server listens")
    let opened = XCTestExpectation(description: "the silent server accepted a connection")
    let closed = XCTestExpectation(description: "the client closed its connection")
    private let listener: NWListener
    private let queue = DispatchQueue(label: "dev.tidbit.tests.silent-server")
    private let lock = NSLock()
    private var connections: [NWConnection] = []

    init() throws {
        let parameters = NWParameters.tcp
        parameters.requiredLocalEndpoint = NWEndpoint.hostPort(host: .ipv4(.loopback), port: .any)
        listener = try NWListener(using: parameters)
        // A second connection or state change is caught by the test's count, not as a crash.
        for expectation in [ready, opened, closed] { expectation.assertForOverFulfill = false }
        listener.stateUpdateHandler = { [ready = self.ready] state in
            if case .ready = state { ready.fulfill() }
        }
        listener.newConnectionHandler = { [weak self] connection in
            self?.accept(connection)
        }
        listener.start(queue: queue)
    }

    /// The server's base URL, once `ready` is fulfilled.
    var url: URL? {
        guard let port = listener.port?.rawValue else { return nil }
        return URL(string: "http://127.0.0.1:\(port)")
    }

    var accepted: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections.count
    }

    private func accept(_ connection: NWConnection) {
        lock.lock()
        connections.append(connection)
        lock.unlock()
        connection.start(queue: queue)
        opened.fulfill()
        drain(connection)
    }

    /// Reads and drops what the client sends until it closes the connection.
    private func drain(_ connection: NWConnection) {
        connection.receive(minimumIncompleteLength: 1, maximumLength: 4096) { [weak self] _, _, isComplete, error in
            if isComplete || error != nil {
                connection.cancel()
                self?.closed.fulfill()
            } else {
                self?.drain(connection)
            }
        }
    }

    func stop() {
        listener.cancel()
        lock.lock()
        connections.forEach { $0.cancel() }
        lock.unlock()
    }
}

/// Long enough that a wait fails the test rather than hang it; never what a test asserts.
private let guardSeconds: TimeInterval = 60

private let right: [String: Response] = [
    "tour-single": .singleChoice(choice: 1),
    "tour-multiple": .multipleResponse(choices: [0, 2, 3]),
    "tour-truefalse": .trueFalse(answer: true),
    "tour-blanks": .fillBlanks(answers: ["paris", " Roma "]),
    "tour-order": .ordering(order: [0, 1, 2]),
    "tour-match": .matching(targets: ["bark", "meow", "moo"]),
    "tour-numeric": .numeric(value: 120),
    "tour-scenario": .scenario(path: [0, 0]),
    "tour-flashcard": .flashcard(rating: .good),
    "tour-reflection": .reflection(text: "Mercury is closest.", criteriaMet: [true, true]),
    "check-single": .singleChoice(choice: 0),
    "check-truefalse": .trueFalse(answer: true),
]

final class TidbitTests: XCTestCase {
    private var directory: URL!
    private var clock: ManualClock!

    private func fixture(_ name: String) throws -> String {
        let path = try XCTUnwrap(ProcessInfo.processInfo.environment[name], "\(name) is not set")
        return path
    }

    private func config() throws -> TidbitConfig {
        TidbitConfig(
            dataDir: directory.appendingPathComponent("learner").path,
            learnerId: "ada@example.org",
            deviceId: "swift-test-device",
            timeZone: "Europe/Berlin",
            trustedKeys: [try String(contentsOfFile: fixture("TIDBIT_AUTHOR_PUB"), encoding: .utf8)]
        )
    }

    private func openLearner(key: String? = nil) async throws -> TidbitClient {
        let issuer = try key ?? String(contentsOfFile: fixture("TIDBIT_ISSUER_KEY"), encoding: .utf8)
        let tidbit = try TidbitClient(config: config(), keyStore: MemoryKeyStore(issuer), clock: clock)
        var report: InstallReport?
        for try await event in tidbit.installPack(at: URL(fileURLWithPath: try fixture("TIDBIT_PACK"))) {
            if case .finished(let installed) = event { report = installed }
        }
        XCTAssertEqual(report?.outcome, .installed)
        return tidbit
    }

    private func runModule(_ tidbit: TidbitClient, _ module: String) async throws -> Feedback? {
        var last: Feedback?
        for step in try await tidbit.startModule(course: course, module: module) {
            clock.ms += 20_000
            switch step {
            case .lesson(let id, _):
                try await tidbit.viewStep(course: course, step: id)
            case .item(let id, _, let view):
                if case .flashcard = view {
                    let back = try await tidbit.flashcardBack(course: course, step: id)
                    XCTAssertEqual(back, "Au, from the Latin aurum.")
                }
                let feedback = try await tidbit.answer(course: course, step: id, response: right[id]!, responseMs: 6_000)
                XCTAssertEqual(feedback.assessment.outcome, .right, id)
                last = feedback
            }
        }
        return last
    }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        clock = ManualClock()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testInstallingAPackListsItInTheCatalog() async throws {
        let tidbit = try await openLearner()
        let course = try XCTUnwrap(try await tidbit.catalog().first)
        let stage = try XCTUnwrap(course.paths.first?.stages.first)
        XCTAssertEqual(stage.kind, .foundation)
        XCTAssertEqual(stage.check?.id, "tour-check")
        XCTAssertEqual(stage.modules.first?.items, 10)
    }

    func testATamperedPackIsRefused() async throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("TIDBIT_PACK")))
        bytes[bytes.count - 10] ^= 0xFF
        let tampered = directory.appendingPathComponent("tampered.tidbit")
        try bytes.write(to: tampered)
        let tidbit = try TidbitClient(config: config(), keyStore: MemoryKeyStore(nil), clock: clock)
        do {
            for try await _ in tidbit.installPack(at: tampered) {}
            XCTFail("a tampered pack installed")
        } catch TidbitError.PackRejected {
        }
        let catalog = try await tidbit.catalog()
        XCTAssertTrue(catalog.isEmpty)
    }

    func testALearnerRunsThePathToAVerifiedCertificate() async throws {
        let tidbit = try await openLearner()
        try await tidbit.enroll(course: course, path: "tourist")
        let home = try await tidbit.home()
        XCTAssertEqual(home.recommendation.activity, .module(course: course, module: "tour", stageCheck: false))
        let last = try await runModule(tidbit, "tour")
        XCTAssertEqual(last?.moduleCompleted, true)
        let plan = try await tidbit.planSession(minutes: 10)
        XCTAssertLessThanOrEqual(plan.totalSeconds, plan.budgetSeconds)
        let check = try await runModule(tidbit, "tour-check")
        XCTAssertEqual(check?.stageChecks.first?.passed, true)
        let certificate = try await tidbit.issueCertificate(course: course, issuerName: "Tidbit binding tests")
        let issuerPub = try String(contentsOfFile: fixture("TIDBIT_ISSUER_PUB"), encoding: .utf8)
        let verified = try verifyCertificate(json: certificate, trustedKeys: [issuerPub])
        XCTAssertEqual(verified.learnerId, "ada@example.org")
    }

    func testNudgePlansAreStableAndBecomeNotificationRequests() async throws {
        let tidbit = try await openLearner()
        try await tidbit.enroll(course: course, path: "tourist")
        _ = try await runModule(tidbit, "tour")
        var prefs = defaultNudgePreferences(consent: true)
        prefs.dailyCap = 1
        let plan = try await tidbit.planNudges(prefs)
        XCTAssertFalse(plan.nudges.isEmpty)
        XCTAssertLessThanOrEqual(plan.nudges.count, 60)
        let again = try await tidbit.planNudges(prefs)
        XCTAssertEqual(again.nudges.map(\.id), plan.nudges.map(\.id))
        let none = try await tidbit.planNudges(defaultNudgePreferences(consent: false))
        XCTAssertTrue(none.nudges.isEmpty)

        // UNUserNotificationCenter needs an app bundle, so only the request is checked here.
        let nudge = try XCTUnwrap(plan.nudges.first)
        let print = NudgePlanApplier.fingerprint(nudge, title: nudge.title.text, body: nudge.body.text)
        let request = NudgePlanApplier.request(nudge, title: nudge.title.text, body: nudge.body.text, fingerprint: print)
        XCTAssertEqual(request.identifier, nudge.id)
        XCTAssertEqual(request.content.userInfo[NudgePlanApplier.markerKey] as? Bool, true)
        let trigger = try XCTUnwrap(request.trigger as? UNCalendarNotificationTrigger)
        // The fixture clock is in the past, so compare the components, not nextTriggerDate().
        let fireAt = try XCTUnwrap(trigger.dateComponents.date)
        XCTAssertEqual(Int64(fireAt.timeIntervalSince1970 * 1000), nudge.fireAtUtcMs / 1000 * 1000)
        try await tidbit.recordNudgeOutcome(nudge, .scheduled)
    }

    func testAMalformedAnswerIsATypedError() async throws {
        let tidbit = try await openLearner()
        try await tidbit.enroll(course: course, path: "tourist")
        _ = try await tidbit.startModule(course: course, module: "tour")
        do {
            _ = try await tidbit.answer(course: course, step: "tour-single", response: .singleChoice(choice: 9), responseMs: 1_000)
            XCTFail("a malformed answer was accepted")
        } catch TidbitError.InvalidAnswer(let message) {
            XCTAssertTrue(message.contains("out of range"))
        }
    }

    func testTheLoggerReceivesTidbitEvents() async throws {
        let logger = ListLogger()
        try setLogger(logger: logger, maxLevel: .debug)
        let tidbit = try await openLearner()
        do {
            _ = try await tidbit.startModule(course: course, module: "missing")
            XCTFail("a missing module opened")
        } catch TidbitError.UnknownContent {
        }
        XCTAssertTrue(logger.records.contains { $0.level == .warn && $0.message.contains("start_module") })
    }

    func testAForcedInternalPanicIsAnErrorAndTheObjectKeepsWorking() async throws {
        let tidbit = try await openLearner()
        XCTAssertThrowsError(try tidbit.raw.forceInternalPanic()) { error in
            guard case TidbitError.Internal(let message) = error else {
                return XCTFail("expected Internal, got \(error)")
            }
            XCTAssertTrue(message.contains("forced internal panic"))
        }
        let catalog = try await tidbit.catalog()
        XCTAssertEqual(catalog.map(\.id), [course])
    }

    func testASealedStoreOpensWithItsOwnAtRestKeyOnly() async throws {
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        let sealed = try TidbitClient(config: config(), keyStore: MemoryKeyStore(nil, atRest: key), clock: clock)
        for try await _ in sealed.installPack(at: URL(fileURLWithPath: try fixture("TIDBIT_PACK"))) {}
        try await sealed.enroll(course: course, path: "tourist")
        let digest = try await sealed.projectionDigest()
        await sealed.close()
        for other in [Data((0..<32).map { _ in UInt8.random(in: 0...255) }), nil] {
            XCTAssertThrowsError(try TidbitClient(config: config(), keyStore: MemoryKeyStore(nil, atRest: other), clock: clock)) { error in
                guard case TidbitError.AtRestKey = error else { return XCTFail("expected AtRestKey, got \(error)") }
            }
        }
        let reopened = try TidbitClient(config: config(), keyStore: MemoryKeyStore(nil, atRest: key), clock: clock)
        let again = try await reopened.projectionDigest()
        XCTAssertEqual(again, digest)
    }

    func testAClosedTidbitRefusesCalls() async throws {
        let tidbit = try TidbitClient(config: config(), keyStore: MemoryKeyStore(nil), clock: clock)
        await tidbit.close()
        do {
            _ = try await tidbit.catalog()
            XCTFail("a closed Tidbit answered")
        } catch TidbitError.Closed {
        }
    }

    func testEraseDestroysTheAtRestKeyRemovesTheStoreAndLaterCallsAreErased() async throws {
        let keys = MemoryKeyStore(nil)
        let tidbit = try TidbitClient(config: config(), keyStore: keys, clock: clock)
        try await tidbit.erase()
        XCTAssertEqual(keys.destroyed, 1)
        XCTAssertNil(keys.atRest)
        XCTAssertFalse(FileManager.default.fileExists(atPath: try config().dataDir))
        do {
            _ = try await tidbit.catalog()
            XCTFail("an erased Tidbit answered")
        } catch TidbitError.Erased(let message) {
            XCTAssertTrue(message.contains("erased from this device"), message)
        }
    }

    func testCancellingTheSyncTaskStopsTheSyncInFlightAndTheObjectKeepsWorking() async throws {
        let tidbit = try await openLearner()
        let server = try SilentServer()
        defer { server.stop() }
        await fulfillment(of: [server.ready], timeout: guardSeconds)
        let url = try XCTUnwrap(server.url)
        // The server never answers, so only the cancellation can end the call before its 30 s
        // request timeouts; it is cancelled once the server has the connection.
        let sync = Task { try await tidbit.sync(serverURL: url, token: "any-token") }
        await fulfillment(of: [server.opened], timeout: guardSeconds)
        sync.cancel()
        do {
            _ = try await sync.value
            XCTFail("a sync to a silent server succeeded")
        } catch is CancellationError {
        }
        await fulfillment(of: [server.closed], timeout: guardSeconds)
        XCTAssertEqual(server.accepted, 1)
        let catalog = try await tidbit.catalog()
        XCTAssertEqual(catalog.map(\.id), [course])
    }
}
