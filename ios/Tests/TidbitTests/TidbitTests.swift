// XCTest suite mirroring tests/bindings/kotlin/TidbitSuite.kt. Runs on macOS or a simulator
// with an XCFramework built by `ios/build-xcframework.sh --test-hooks`; the fixture pack and
// keys come from TIDBIT_PACK, TIDBIT_AUTHOR_PUB, TIDBIT_ISSUER_KEY, TIDBIT_ISSUER_PUB (the
// same files tests/bindings/common.sh makes), and the course-update and push cases need the
// server `start_sync_server` there starts: TIDBIT_SYNC_URL and TIDBIT_PHONE_TOKEN (and
// TIDBIT_ADMIN_TOKEN for the push cases' wake-up).

import CryptoKit
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

// Every item kind answered the way the sample app answers it: through the answer forms of
// ItemViewModels.swift against the real core, one right and one wrong answer per kind, then what
// the forms do on their own. The same cases as tests/bindings/kotlin/ItemKindsSuite.kt, which runs
// on Linux; these are only parsed there (no Swift compiler) and run with `swift test` on macOS.
extension TidbitTests {
    /// A learner enrolled on the tour with its module started, and each item's view by step id.
    private func startTour() async throws -> (TidbitClient, [String: ItemView]) {
        let tidbit = try await openLearner()
        try await tidbit.enroll(course: course, path: "tourist")
        var views: [String: ItemView] = [:]
        for step in try await tidbit.startModule(course: course, module: "tour") {
            if case .item(let id, _, let view) = step { views[id] = view }
        }
        return (tidbit, views)
    }

    /// A fresh answer form for `step`, as the sample's screen builds it.
    private func answerForm<Form>(_ views: [String: ItemView], _ step: String, as kind: Form.Type) throws -> Form {
        let view = try XCTUnwrap(views[step], "no item \(step)")
        return try XCTUnwrap(ItemAnswer(view).form as? Form, "\(step) is not a \(kind)")
    }

    /// Sends `form` as the screen does (only once it is ready) and returns what the learner reads.
    private func submit(
        _ tidbit: TidbitClient, _ step: String, _ form: any ItemAnswerForm, shown: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> ItemFeedback {
        let response = try XCTUnwrap(form.response, "\(step) is not ready: \(form.missing ?? "")", file: file, line: line)
        clock.ms += 30_000
        let feedback = try await tidbit.answer(course: course, step: step, response: response, responseMs: 8_000)
        return ItemFeedback(feedback, nowMs: clock.ms, alreadyShown: shown, formatDate: { "at \($0)" })
    }

    /// Checks what the learner reads against the core's assessment of the fixture's item.
    private func expect(
        _ result: ItemFeedback, _ outcome: Outcome, _ percent: Int, _ feedback: [String], _ explanation: String?,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(result.outcome, outcome, file: file, line: line)
        XCTAssertEqual(result.creditPercent, percent, file: file, line: line)
        XCTAssertEqual(result.feedback, feedback, file: file, line: line)
        XCTAssertEqual(result.explanation, explanation, file: file, line: line)
        guard let due = result.nextReviewAtMs else { return XCTFail("no next review", file: file, line: line) }
        XCTAssertGreaterThan(due, clock.ms, file: file, line: line)
        XCTAssertEqual(result.comesBack, "Comes \(ItemFeedback.describeReturn(nowMs: clock.ms, dueMs: due)) (at \(due))", file: file, line: line)
        XCTAssertTrue(result.comesBack?.hasPrefix("Comes back in ") == true, file: file, line: line)
        XCTAssertTrue(result.announcement.hasPrefix("\(result.verdict), \(percent) percent."), file: file, line: line)
    }

    /// `form` with its entries moved, one "move up" at a time, into authored order.
    private func sortedByMovingUp(_ form: OrderingAnswer) -> OrderingAnswer {
        var order = form
        for target in order.entries.indices {
            guard let at = order.entries.firstIndex(where: { $0.index == UInt32(target) }) else { continue }
            for position in stride(from: at, to: target, by: -1) { order.moveUp(position) }
        }
        return order
    }

    func testSingleChoiceThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-single", as: SingleChoiceAnswer.self)
        XCTAssertEqual(form.choices, ["Venus", "Mercury", "Earth"])
        let why = "Mercury orbits closest to the Sun."
        form.select(0)
        expect(try await submit(tidbit, "tour-single", form), .wrong, 0, ["Venus is second."], why)
        form.select(1)
        expect(try await submit(tidbit, "tour-single", form), .right, 100, ["Right, Mercury is closest."], why)
    }

    func testMultipleResponseThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-multiple", as: MultipleResponseAnswer.self)
        let why = "Light mixes from red, green and blue."
        form.toggle(1)
        expect(try await submit(tidbit, "tour-multiple", form), .wrong, 0, ["Yellow is a primary colour of pigment, not light."], why)
        for choice in [0, 1, 2, 3] { form.toggle(choice) }
        XCTAssertEqual(form.selected, [0, 2, 3])
        expect(try await submit(tidbit, "tour-multiple", form), .right, 100, ["Yes.", "Yes.", "Yes."], why)
    }

    func testTrueFalseThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-truefalse", as: TrueFalseAnswer.self)
        let why = "At standard pressure water boils at 100 °C."
        form.choose(false)
        expect(try await submit(tidbit, "tour-truefalse", form), .wrong, 0, ["It does boil at 100 °C at sea level."], why)
        form.choose(true)
        expect(try await submit(tidbit, "tour-truefalse", form), .right, 100, ["Correct."], why)
    }

    func testFillBlanksThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-blanks", as: FillBlanksAnswer.self)
        XCTAssertEqual(form.parts, [
            .text("The capital of France is "), .blank(0), .text(" and of Italy is "), .blank(1), .text("."),
        ])
        XCTAssertEqual(form.readablePrompt, "The capital of France is ___ (1) and of Italy is ___ (2).")
        XCTAssertEqual(form.label(1), "Blank 2 of 2")
        form.fill(0, with: "Lyon")
        form.fill(1, with: "Milan")
        expect(try await submit(tidbit, "tour-blanks", form), .wrong, 0, ["Paris.", "Rome."], "Paris and Rome.")
        form.fill(0, with: "paris")
        form.fill(1, with: " Roma ")
        expect(try await submit(tidbit, "tour-blanks", form), .right, 100, [], "Paris and Rome.")
    }

    func testOrderingThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        let form = try answerForm(views, "tour-order", as: OrderingAnswer.self)
        XCTAssertNotEqual(form.entries.map(\.index), [0, 1, 2])
        var reversed = form
        for target in 0...2 {
            let at = try XCTUnwrap(reversed.entries.firstIndex { $0.index == UInt32(2 - target) })
            reversed.move(from: at, to: target)
        }
        XCTAssertEqual(reversed.entries.map(\.text), ["three", "two", "one"])
        expect(try await submit(tidbit, "tour-order", reversed), .wrong, 0, ["One comes first.", "Three comes last."], "One, two, three.")
        let sorted = sortedByMovingUp(form)
        XCTAssertEqual(sorted.entries.map(\.text), ["one", "two", "three"])
        expect(try await submit(tidbit, "tour-order", sorted), .right, 100, [], "One, two, three.")
    }

    func testMatchingThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-match", as: MatchingAnswer.self)
        XCTAssertEqual(form.items.map(\.text), ["dog", "cat", "cow"])
        XCTAssertEqual(form.targets, ["bark", "meow", "moo"])
        form.pair(0, with: "meow")
        form.pair(1, with: "moo")
        form.pair(2, with: "bark")
        expect(try await submit(tidbit, "tour-match", form), .wrong, 0, ["Dogs bark.", "Cats meow.", "Cows moo."], "Bark, meow, moo.")
        form.pair(0, with: "bark")
        form.pair(1, with: "meow")
        form.pair(2, with: "moo")
        expect(try await submit(tidbit, "tour-match", form), .right, 100, [], "Bark, meow, moo.")
    }

    func testNumericThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-numeric", as: NumericAnswer.self)
        XCTAssertEqual(form.unit, "minutes")
        let why = "Two hours are 2 × 60 = 120 minutes."
        form.text = " 90 "
        expect(try await submit(tidbit, "tour-numeric", form), .wrong, 0, ["Too low."], why)
        form.text = "120,0"
        expect(try await submit(tidbit, "tour-numeric", form), .right, 100, ["Right."], why)
    }

    func testScenarioThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        let form = try answerForm(views, "tour-scenario", as: ScenarioAnswer.self)
        XCTAssertEqual(form.current?.situation, "What do you do first?")
        let why = "Hand it in so its owner can get it back."
        var kept = form
        kept.pick(1)
        XCTAssertTrue(kept.ended)
        expect(try await submit(tidbit, "tour-scenario", kept), .wrong, 0, ["That is not yours."], why)
        var partial = form
        partial.pick(0)
        partial.pick(1)
        expect(try await submit(tidbit, "tour-scenario", partial), .partial, 75, ["The owner can be found.", "Fine too."], why)
        var best = form
        best.pick(0)
        best.pick(0)
        XCTAssertEqual(best.steps.map(\.node.id), ["found", "thanked"])
        expect(try await submit(tidbit, "tour-scenario", best), .right, 100, ["The owner can be found.", "Kind and useful."], why)
    }

    func testFlashcardThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-flashcard", as: FlashcardAnswer.self)
        XCTAssertEqual(form.prompt, "What is the chemical symbol of gold?")
        let back = try await tidbit.flashcardBack(course: course, step: "tour-flashcard")
        form.reveal(back)
        XCTAssertEqual(form.back, "Au, from the Latin aurum.")
        // The explanation is the back the learner has just read, so the feedback leaves it out.
        form.rate(.again)
        expect(try await submit(tidbit, "tour-flashcard", form, shown: back), .wrong, 0, [], nil)
        form.rate(.good)
        expect(try await submit(tidbit, "tour-flashcard", form, shown: back), .right, 100, [], nil)
        let unshown = try await submit(tidbit, "tour-flashcard", form)
        XCTAssertEqual(unshown.explanation, "Au, from the Latin aurum.")
    }

    func testReflectionThroughItsForm() async throws {
        let (tidbit, views) = try await startTour()
        var form = try answerForm(views, "tour-reflection", as: ReflectionAnswer.self)
        XCTAssertEqual(form.criteria, ["I named a specific fact.", "I said why it matters to me."])
        form.text = "Mercury is closest; it helps at quiz night."
        let why = "Reflecting on what you learned helps you keep it."
        expect(try await submit(tidbit, "tour-reflection", form), .wrong, 0, [], why)
        form.toggle(0)
        form.check(1, met: true)
        expect(try await submit(tidbit, "tour-reflection", form), .right, 100, [], why)
    }

    func testNoFormIsReadyUntilAnsweredWhole() async throws {
        let (tidbit, views) = try await startTour()
        XCTAssertEqual(views.count, 10)
        for (step, view) in views {
            let form = ItemAnswer(view).form
            if form is OrderingAnswer {
                XCTAssertNotNil(form.response, "\(step): any order can be sent")
            } else {
                XCTAssertFalse(form.isReady, step)
                XCTAssertNil(form.response, step)
            }
        }
        var blanks = try answerForm(views, "tour-blanks", as: FillBlanksAnswer.self)
        blanks.fill(0, with: "Paris")
        blanks.fill(1, with: "  ")
        XCTAssertEqual(blanks.missing, "Fill in every blank (blank 2 is empty).")
        var matching = try answerForm(views, "tour-match", as: MatchingAnswer.self)
        matching.pair(1, with: "meow")
        XCTAssertEqual(matching.missing, "Match every item (2 are left).")
        XCTAssertNil(matching.response)
        var flashcard = try answerForm(views, "tour-flashcard", as: FlashcardAnswer.self)
        flashcard.rate(.easy)
        XCTAssertNil(flashcard.rating, "a rating before the reveal is ignored")
        flashcard.reveal("Au")
        XCTAssertEqual(flashcard.missing, "Rate how well you recalled it.")
        var reflection = try answerForm(views, "tour-reflection", as: ReflectionAnswer.self)
        reflection.toggle(0)
        reflection.text = " "
        XCTAssertNil(reflection.response)
        let mastery = try await tidbit.mastery(course: course)
        XCTAssertEqual(mastery.first?.evidence.count, 0, "nothing was answered")
    }

    func testAnOrderingFormMovesEntriesAndSaysWhereEachIs() async throws {
        let (_, views) = try await startTour()
        let form = try answerForm(views, "tour-order", as: OrderingAnswer.self)
        let texts = form.entries.map(\.text)
        var edge = form
        edge.moveUp(0)
        edge.moveDown(2)
        XCTAssertEqual(edge, form, "moves past the ends change nothing")
        var dragged = form
        dragged.move(fromOffsets: IndexSet(integer: 0), toOffset: 3)
        XCTAssertEqual(dragged.entries.map(\.text), [texts[1], texts[2], texts[0]])
        dragged = form
        dragged.move(fromOffsets: IndexSet(integer: 2), toOffset: 0)
        XCTAssertEqual(dragged.entries.map(\.text), [texts[2], texts[0], texts[1]])
        var roundTrip = form
        roundTrip.moveDown(0)
        roundTrip.moveUp(1)
        XCTAssertEqual(roundTrip, form)
        XCTAssertEqual(form.label(1), "\(texts[1]), position 2 of 3")
    }

    func testAMatchingFormPairsRepairsUnpairsAndSharesTargets() async throws {
        let (_, views) = try await startTour()
        var form = try answerForm(views, "tour-match", as: MatchingAnswer.self)
        let dog = form.items[0]
        form.pair(dog.index, with: "moo")
        XCTAssertEqual(form.label(dog), "dog, matched with moo")
        form.pair(dog.index, with: "bark")
        XCTAssertEqual(form.chosen, [dog.index: "bark"])
        form.pair(dog.index, with: "quack")
        XCTAssertEqual(form.target(of: dog.index), "bark", "an unknown target changes nothing")
        form.unpair(dog.index)
        XCTAssertEqual(form.label(dog), "dog, not matched yet")
        for item in form.items { form.pair(item.index, with: "bark") }
        XCTAssertEqual(form.response, .matching(targets: ["bark", "bark", "bark"]))
    }

    func testANumberThatDoesNotParseGivesAClearMessageAndSendsNothing() async throws {
        let (_, views) = try await startTour()
        var form = try answerForm(views, "tour-numeric", as: NumericAnswer.self)
        XCTAssertEqual(form.missing, "Type a number.")
        for text in ["12o", "1.2.3", "1,000.5", "NaN", "Infinity", "1e3", "0x10", "12d", "--4", "+", "."] {
            form.text = text
            XCTAssertNil(form.value, text)
            XCTAssertNil(form.response, text)
            XCTAssertEqual(form.missing, "\"\(text)\" is not a number: type digits, with one point or comma before any decimals (such as 12.5).")
        }
        form.text = String(repeating: "9", count: 400)
        XCTAssertNil(form.response)
        let parsed = ["120", " 120 ", "120,0", "-3.5", "\u{2212}2", ".5", "+7", "12."].map(NumericAnswer.parse)
        XCTAssertEqual(parsed, [120, 120, 120, -3.5, -2, 0.5, 7, 12])
    }

    func testAScenarioFormFollowsTheBranchesAndTakesAChoiceBack() async throws {
        let (_, views) = try await startTour()
        let form = try answerForm(views, "tour-scenario", as: ScenarioAnswer.self)
        var walk = form
        walk.pick(0)
        let atThanked = walk
        XCTAssertEqual(walk.current?.situation, "The officer thanks you. Then?")
        walk.pick(1)
        XCTAssertTrue(walk.ended)
        XCTAssertEqual(walk.response, .scenario(path: [0, 1]))
        walk.pick(0)
        XCTAssertEqual(walk.path, [0, 1], "no pick after the end")
        walk.back()
        XCTAssertEqual(walk, atThanked)
        walk.back()
        XCTAssertEqual(walk, form)
    }

    func testWhenAnItemComesBackReadsInMinutesHoursDaysOrMonths() {
        let now: Int64 = 1_790_000_000_000
        let minute: Int64 = 60_000
        let cases: [(Int64, String)] = [
            (0, "due again now"), (30_000, "back in under a minute"), (minute, "back in 1 minute"),
            (10 * minute, "back in 10 minutes"), (90 * minute, "back in 2 hours"),
            (3 * 24 * 60 * minute, "back in 3 days"), (90 * 24 * 60 * minute, "back in 3 months"),
        ]
        for (wait, words) in cases {
            XCTAssertEqual(ItemFeedback.describeReturn(nowMs: now, dueMs: now + wait), words)
        }
    }
}

// Course updates, the same cases as tests/bindings/kotlin/CourseUpdatesSuite.kt (which runs on
// Linux against the real server; these are only parsed there): the server publishes the fixture
// course and assigns it to the learner, and `updateCourses` fetches it into a fresh store within
// what a `CourseUpdatePolicy` allows, resuming where a paused or cancelled update stopped.
extension TidbitTests {
    /// Collects what the download listener hears, from the core's threads.
    private final class Heard: @unchecked Sendable {
        private let lock = NSLock()
        private var heard: [DownloadProgress] = []
        func add(_ progress: DownloadProgress) {
            lock.lock()
            heard.append(progress)
            lock.unlock()
        }
        var all: [DownloadProgress] {
            lock.lock()
            defer { lock.unlock() }
            return heard
        }
    }

    private func courseServer() throws -> (URL, String) {
        let url = try XCTUnwrap(URL(string: try fixture("TIDBIT_SYNC_URL")))
        return (url, try fixture("TIDBIT_PHONE_TOKEN"))
    }

    /// The learner's phone with a fresh, empty store (the server's phone token is for it).
    private func openPhone() throws -> TidbitClient {
        var phone = try config()
        phone.deviceId = "phone"
        return try TidbitClient(config: phone, keyStore: MemoryKeyStore(nil), clock: clock)
    }

    /// An update capped at `bytes`: the course's download pauses there. Returns the pack's size.
    private func pause(_ tidbit: TidbitClient, at bytes: UInt64) async throws -> UInt64 {
        let (url, token) = try courseServer()
        let settings = CourseUpdatePolicy(wifiOnly: false, bytesPerRun: bytes).settings(onUnmeteredNetwork: true)
        let paused = try await tidbit.updateCourses(serverURL: url, token: token, settings: settings)
        let pending = try XCTUnwrap(paused.pending.first)
        XCTAssertEqual(pending.reason, .byteBudget)
        XCTAssertEqual(pending.bytesOnDevice, bytes)
        return pending.bytesTotal
    }

    /// A full update after a paused one: it resumes from `resumed` bytes and installs the course.
    private func finish(_ tidbit: TidbitClient, resumed: UInt64, total: UInt64) async throws {
        let (url, token) = try courseServer()
        let done = try await tidbit.updateCourses(serverURL: url, token: token)
        XCTAssertEqual(done.bytesResumed, resumed)
        XCTAssertEqual(done.bytesDownloaded, total - resumed)
        XCTAssertEqual(done.installed.map(\.courseId), [course])
        XCTAssertEqual(done.installed.first?.outcome, .installed)
        let catalog = try await tidbit.catalog()
        XCTAssertEqual(catalog.map(\.id), [course])
    }

    func testTheAssignedCourseWaitsForWiFiPausesAtTheBudgetResumesAndInstalls() async throws {
        let tidbit = try openPhone()
        let (url, token) = try courseServer()

        let metered = CourseUpdatePolicy(wifiOnly: true).settings(onUnmeteredNetwork: false)
        let waiting = try await tidbit.updateCourses(serverURL: url, token: token, settings: metered)
        XCTAssertEqual(waiting.offered, 1)
        XCTAssertEqual(waiting.bytesDownloaded, 0)
        XCTAssertEqual(waiting.pending.map(\.courseId), [course])
        XCTAssertEqual(waiting.pending.first?.reason, .unmeteredNetworkOnly)
        XCTAssertFalse(waiting.interrupted)
        var catalog = try await tidbit.catalog()
        XCTAssertTrue(catalog.isEmpty)

        let heard = Heard()
        let budget = CourseUpdatePolicy(wifiOnly: false, bytesPerRun: 2_000).settings(onUnmeteredNetwork: false)
        let paused = try await tidbit.updateCourses(
            serverURL: url, token: token, settings: budget, onDownload: { heard.add($0) })
        XCTAssertEqual(paused.bytesDownloaded, 2_000)
        XCTAssertEqual(paused.bytesResumed, 0)
        let pending = try XCTUnwrap(paused.pending.first)
        XCTAssertEqual(pending.courseId, course)
        XCTAssertEqual(pending.reason, .byteBudget)
        XCTAssertEqual(pending.bytesOnDevice, 2_000)
        XCTAssertGreaterThan(pending.bytesTotal, 2_000)
        XCTAssertFalse(paused.interrupted)
        XCTAssertTrue(paused.installed.isEmpty)
        XCTAssertFalse(heard.all.isEmpty)
        XCTAssertEqual(heard.all.last?.bytesOnDevice, 2_000)
        XCTAssertTrue(heard.all.allSatisfy { $0.courseId == course && $0.bytesTotal == pending.bytesTotal })
        catalog = try await tidbit.catalog()
        XCTAssertTrue(catalog.isEmpty)

        try await finish(tidbit, resumed: 2_000, total: pending.bytesTotal)
        try await tidbit.enroll(course: course, path: "tourist")
        let steps = try await tidbit.startModule(course: course, module: "tour")
        XCTAssertFalse(steps.isEmpty)

        let again = try await tidbit.updateCourses(
            serverURL: url, token: token, settings: CourseUpdatePolicy().settings(onUnmeteredNetwork: true))
        XCTAssertEqual(again.upToDate, [course])
        XCTAssertEqual(again.bytesDownloaded, 0)
        XCTAssertTrue(again.installed.isEmpty && again.pending.isEmpty && again.refused.isEmpty)
    }

    func testCourseUpdatesWithAWrongTokenOrANonHTTPURLChangeNothing() async throws {
        let tidbit = try openPhone()
        let (url, token) = try courseServer()
        do {
            _ = try await tidbit.updateCourses(serverURL: url, token: "not-a-token")
            XCTFail("a wrong token fetched courses")
        } catch TidbitError.Unauthorized(let message) {
            XCTAssertTrue(message.contains("new token"), message)
        }
        do {
            _ = try await tidbit.updateCourses(serverURL: try XCTUnwrap(URL(string: "ftp://example.org")), token: token)
            XCTFail("an ftp URL fetched courses")
        } catch TidbitError.InvalidSettings {
        }
        let catalog = try await tidbit.catalog()
        XCTAssertTrue(catalog.isEmpty)
    }

    func testCancellingACourseUpdateStopsItAndThePausedDownloadResumes() async throws {
        let tidbit = try openPhone()
        let total = try await pause(tidbit, at: 2_000)
        let (_, token) = try courseServer()
        let server = try SilentServer()
        defer { server.stop() }
        await fulfillment(of: [server.ready], timeout: guardSeconds)
        let silent = try XCTUnwrap(server.url)
        // Cancelled once the server has the catalog's connection: the update is in flight.
        let update = Task { try await tidbit.updateCourses(serverURL: silent, token: token) }
        await fulfillment(of: [server.opened], timeout: guardSeconds)
        update.cancel()
        do {
            _ = try await update.value
            XCTFail("a course update from a silent server succeeded")
        } catch is CancellationError {
        }
        await fulfillment(of: [server.closed], timeout: guardSeconds)
        XCTAssertEqual(server.accepted, 1)
        let catalog = try await tidbit.catalog()
        XCTAssertTrue(catalog.isEmpty)
        try await finish(tidbit, resumed: 2_000, total: total)
    }

    func testAPolicyTurnsIntoSettingsAndOnlyAnInterruptedDownloadAsksForARetry() {
        let wifi = CourseUpdatePolicy().settings(onUnmeteredNetwork: false)
        XCTAssertEqual(wifi, CourseUpdateSettings(byteBudget: nil, unmeteredOnly: true, onUnmeteredNetwork: false))
        let capped = CourseUpdatePolicy(wifiOnly: false, bytesPerRun: 50_000_000).settings(onUnmeteredNetwork: true)
        XCTAssertEqual(capped, CourseUpdateSettings(byteBudget: 50_000_000, unmeteredOnly: false, onUnmeteredNetwork: true))

        func waiting(_ reason: PendingReason) -> CourseUpdateReport {
            CourseUpdateReport(
                offered: 1, installed: [], upToDate: [],
                pending: [PendingDownload(courseId: course, version: "1.0.0", bytesOnDevice: 2_000, bytesTotal: 9_000, reason: reason)],
                refused: [], bytesDownloaded: 2_000, bytesResumed: 0, retries: 4)
        }
        XCTAssertTrue(waiting(.interrupted(lastError: "connection reset")).interrupted)
        XCTAssertFalse(waiting(.byteBudget).interrupted)
        XCTAssertFalse(waiting(.unmeteredNetworkOnly).interrupted)
    }
}

// Push, mirroring tests/bindings/kotlin/PushSuite.kt. The suites' server has no APNs credentials,
// so its wake-up only logs and answers `logged` for each device's token: that shows which token
// it holds, but no vendor answer (a dead token) can come back from it; server/tests/push.rs runs
// that path against a local APNs.
extension TidbitTests {
    /// A device token as APNs gives it to the app delegate: 32 bytes, different in every test.
    private func deviceToken() -> Data {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) })
    }

    /// The phone with its clock at the wall clock's time: the server takes each device's latest
    /// registration in the log's (time, device, id) order, so the phones of successive tests
    /// register at times that follow one another, as one real phone's clock would.
    private func openPhoneNow() throws -> TidbitClient {
        clock.ms = Int64(Date().timeIntervalSince1970 * 1000)
        return try openPhone()
    }

    /// `POST /v1/admin/learners/ada@example.org/wake` on the suites' server: its JSON answer.
    private func wakeTheLearner() async throws -> [String: [[String: String]]] {
        let (url, _) = try courseServer()
        var request = URLRequest(url: url.appendingPathComponent("v1/admin/learners/ada@example.org/wake"))
        request.httpMethod = "POST"
        request.setValue("Bearer \(try fixture("TIDBIT_ADMIN_TOKEN"))", forHTTPHeaderField: "Authorization")
        let (body, response) = try await URLSession.shared.data(for: request)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200)
        return try JSONDecoder().decode([String: [[String: String]]].self, from: body)
    }

    /// What the server answers for the phone's APNs token when no vendor is configured.
    private func loggedPhonePush(_ deviceToken: Data) -> [String: [[String: String]]] {
        let hex = deviceToken.map { String(format: "%02x", $0) }.joined()
        let sha256 = SHA256.hash(data: Data(hex.utf8)).map { String(format: "%02x", $0) }.joined()
        return ["pushes": [["device": "phone", "platform": "apns", "token_sha256": sha256, "outcome": "logged"]]]
    }

    func testAStoreThatNeverRegisteredAPushTokenReportsNoneNeeded() async throws {
        let tidbit = try openPhoneNow()
        let needed = try await tidbit.pushTokenNeeded()
        XCTAssertFalse(needed)
    }

    func testADeviceTokenRegistersAsHexAndNoTokenIsNeededAfterIt() async throws {
        let tidbit = try openPhoneNow()
        try await tidbit.registerPushToken(deviceToken())
        let needed = try await tidbit.pushTokenNeeded()
        XCTAssertFalse(needed)
    }

    func testTheRegisteredDeviceTokenReachesTheSuitesServerWithTheNextSync() async throws {
        let tidbit = try openPhoneNow()
        let (url, token) = try courseServer()
        let device = deviceToken()
        try await tidbit.registerPushToken(device)
        let report = try await tidbit.sync(serverURL: url, token: token)
        XCTAssertGreaterThanOrEqual(report.roundTrips, 1)
        XCTAssertEqual(report.documentsRefused, 0)
        let woken = try await wakeTheLearner()
        XCTAssertEqual(woken, loggedPhonePush(device))
        let needed = try await tidbit.pushTokenNeeded()
        XCTAssertFalse(needed)
    }

    func testADeviceTokenOfTheWrongLengthIsInvalidRequestAndTheServerKeepsTheLast() async throws {
        let tidbit = try openPhoneNow()
        let (url, token) = try courseServer()
        let device = deviceToken()
        try await tidbit.registerPushToken(device)
        _ = try await tidbit.sync(serverURL: url, token: token)
        clock.ms += 60_000 // a wrong token recorded now would be the latest registration
        for wrong in [Data(), Data([0xab, 0xcd]), Data(count: 101)] {
            do {
                try await tidbit.registerPushToken(wrong)
                XCTFail("a device token of \(wrong.count) bytes registered")
            } catch TidbitError.InvalidRequest(let message) {
                XCTAssertTrue(message.contains("64 to 200 hex digits"), message)
            }
        }
        let needed = try await tidbit.pushTokenNeeded()
        XCTAssertFalse(needed)
        _ = try await tidbit.sync(serverURL: url, token: token)
        let woken = try await wakeTheLearner()
        XCTAssertEqual(woken, loggedPhonePush(device))
    }

    #if canImport(UIKit) && os(iOS)
    func testOnlyASilentPushIsOneAndASyncOutcomeBecomesItsFetchResult() {
        XCTAssertTrue(RemoteNotificationSync.isSilentPush(["aps": ["content-available": 1]]))
        XCTAssertTrue(RemoteNotificationSync.isSilentPush(
            ["aps": ["content-available": 1], "intervention": "01J9Z3", "deadline_ms": 1_790_000_000_000]))
        XCTAssertFalse(RemoteNotificationSync.isSilentPush([:]))
        XCTAssertFalse(RemoteNotificationSync.isSilentPush(["aps": ["alert": "Hello"]]))

        func synced(eventsReceived: UInt64) -> BackgroundSyncOutcome {
            .synced(SyncReport(
                documents: 1, bytesUp: 100, bytesDown: 200, roundTrips: 1, eventsReceived: eventsReceived,
                retries: 0, eventsRefused: 0, documentsRefused: 0, refusals: []))
        }
        XCTAssertEqual(RemoteNotificationSync.fetchResult(for: synced(eventsReceived: 3)), .newData)
        XCTAssertEqual(RemoteNotificationSync.fetchResult(for: synced(eventsReceived: 0)), .noData)
        XCTAssertEqual(RemoteNotificationSync.fetchResult(for: .nothingToSync), .noData)
        XCTAssertEqual(RemoteNotificationSync.fetchResult(for: .cancelled), .failed)
        XCTAssertEqual(RemoteNotificationSync.fetchResult(for: .tokenRejected), .failed)
        XCTAssertEqual(RemoteNotificationSync.fetchResult(for: .failed("connection refused")), .failed)
    }
    #endif
}
