// Learning together, mirroring tests/bindings/kotlin/CohortSuite.kt: two learners of a cohort,
// each on a phone of their own, share an answer, rate it, post, react and hide through the
// server `start_sync_server` in tests/bindings/common.sh starts, and see the same space and the
// same rota of the week; a spoken answer shared is uploaded by sync and fetched whole by a peer;
// what a space does not take is `TidbitError.Community` and writes nothing. Needs
// TIDBIT_SYNC_URL, TIDBIT_ADMIN_TOKEN (to form the cohorts), TIDBIT_ANA_TOKEN, TIDBIT_BEN_TOKEN,
// TIDBIT_ANA_TABLET_TOKEN, TIDBIT_COHORT_PACK (the customer-objections sample course),
// TIDBIT_VOICE_PACK (the spoken fixture course) and TIDBIT_AUTHOR_PUB from there. Parsed here by
// tests/bindings/swift.sh; run with `swift test` on macOS.
//
// The members' clocks start at the real time: the server dates the roster by its own clock and
// takes no entry dated a day ahead of it. The two phones share one clock moved forward between
// steps, so each entry follows the one it answers.

import CryptoKit
import Foundation
import XCTest
@testable import Tidbit

private let cohortCourse = "customer-objections"
private let cohortPath = "sales-executive"
private let reflection = "comp-reflect"
private let anaReflection =
    "Kestrel: stronger on onboarding time and on support hours; they are stronger on price per seat. "
    + "Fair test: a two-week pilot on their own routes."

final class CohortTests: XCTestCase {
    private var directory: URL!

    private func fixture(_ name: String) throws -> String {
        try XCTUnwrap(ProcessInfo.processInfo.environment[name], "\(name) is not set")
    }

    private func server() throws -> URL {
        try XCTUnwrap(URL(string: try fixture("TIDBIT_SYNC_URL")))
    }

    /// A clock at the wall clock's time, moved by hand.
    private func clockNow() -> ManualClock {
        let clock = ManualClock()
        clock.ms = Int64(Date().timeIntervalSince1970 * 1000)
        return clock
    }

    /// Forms `cohort` of `members` with the admin token (`POST /v1/admin/cohorts`): the record.
    private func formCohort(_ cohort: String, _ members: [String]) async throws -> [String: Any] {
        var request = URLRequest(url: try server().appendingPathComponent("v1/admin/cohorts"))
        request.httpMethod = "POST"
        request.setValue("Bearer \(try fixture("TIDBIT_ADMIN_TOKEN"))", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "id": cohort, "course": cohortCourse, "path": cohortPath, "members": members,
        ])
        let (body, response) = try await URLSession.shared.data(for: request)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200, String(decoding: body, as: UTF8.self))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    }

    /// `learner`'s `device` with a fresh store: the course installed, enrolled, community given.
    private func openMember(_ learner: String, _ device: String, clock: ManualClock) async throws -> TidbitClient {
        let config = TidbitConfig(
            dataDir: directory.appendingPathComponent(device).path,
            learnerId: learner,
            deviceId: device,
            timeZone: "Europe/Berlin",
            trustedKeys: [try String(contentsOfFile: fixture("TIDBIT_AUTHOR_PUB"), encoding: .utf8)]
        )
        let member = try TidbitClient(config: config, keyStore: MemoryKeyStore(nil), clock: clock)
        for try await _ in member.installPack(at: URL(fileURLWithPath: try fixture("TIDBIT_COHORT_PACK"))) {}
        try await member.enroll(course: cohortCourse, path: cohortPath)
        try await member.setConsent(.community, granted: true)
        return member
    }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testTwoMembersShareRatePostReactAndHideAndSeeOneSpaceAndOneRota() async throws {
        let formed = try await formCohort("north-1", ["ana", "ben"])
        XCTAssertEqual(formed["members"] as? [String], ["ana", "ben"])
        let clock = clockNow()
        let ana = try await openMember("ana", "ana-phone", clock: clock)
        let ben = try await openMember("ben", "ben-phone", clock: clock)
        let url = try server()
        let anaToken = try fixture("TIDBIT_ANA_TOKEN")
        let benToken = try fixture("TIDBIT_BEN_TOKEN")

        let unsynced = try await ana.cohorts()
        XCTAssertEqual(unsynced, [])
        _ = try await ana.sync(serverURL: url, token: anaToken)
        _ = try await ben.sync(serverURL: url, token: benToken)
        let anaCohorts = try await ana.cohorts()
        let benCohorts = try await ben.cohorts()
        XCTAssertEqual(anaCohorts, ["north-1"])
        XCTAssertEqual(benCohorts, ["north-1"])
        let space = try await ana.cohort("north-1")
        XCTAssertEqual(space.course, cohortCourse)
        XCTAssertEqual(space.members.map(\.learner), ["ana", "ben"])
        XCTAssertEqual(space.roles, ["facilitator", "reviewer", "summariser"])

        // ana answers the reflection on her own and shares it.
        clock.ms += 60_000
        let answered = try await ana.answer(
            course: cohortCourse, step: reflection,
            response: .reflection(text: anaReflection, criteriaMet: [true, true, true]), responseMs: 90_000)
        XCTAssertFalse(answered.answerEvent.isEmpty)
        let share = try await ana.shareAnswer(
            "north-1", answerEvent: answered.answerEvent, answer: .reflection(text: anaReflection))
        _ = try await ana.sync(serverURL: url, token: anaToken)

        // ben sees it, rates it against its three criteria and posts.
        clock.ms += 60_000
        _ = try await ben.sync(serverURL: url, token: benToken)
        let shared = try await ben.cohort("north-1").shares
        XCTAssertEqual(shared.map(\.id), [share])
        XCTAssertEqual(shared.first?.author, "ana")
        XCTAssertEqual(shared.first?.answer, .reflection(text: anaReflection))
        XCTAssertEqual(shared.first?.criteria.count, 3)
        XCTAssertEqual(shared.first?.feedback, [])
        let rating = try await ben.giveFeedback(
            "north-1", share: share, criteriaMet: [true, false, true],
            comment: "Outcomes, not features; the pilot is a fair test")
        let post = try await ben.postToCohort(
            "north-1", text: "Tried a buyer-run pilot on a price call today", module: "competitor-comparisons")
        _ = try await ben.sync(serverURL: url, token: benToken)

        // ana sees the feedback on her share, and ben's post; she finds it helpful.
        clock.ms += 60_000
        _ = try await ana.sync(serverURL: url, token: anaToken)
        let seen = try await ana.cohort("north-1")
        let feedback = try XCTUnwrap(seen.shares.first?.feedback)
        XCTAssertEqual(feedback.map(\.id), [rating])
        XCTAssertEqual(feedback.first?.reviewer, "ben")
        XCTAssertEqual(feedback.first?.criteriaMet, [true, false, true])
        XCTAssertEqual(seen.posts.map(\.id), [post])
        XCTAssertEqual(seen.posts.first?.module, "competitor-comparisons")
        try await ana.react("north-1", target: post, reaction: .helpful)
        _ = try await ana.sync(serverURL: url, token: anaToken)
        _ = try await ben.sync(serverURL: url, token: benToken)
        let reacted = try await ben.cohort("north-1").posts
        XCTAssertEqual(reacted.first?.reactions, [ReactionCount(reaction: .helpful, count: 1)])

        // ben takes his post back: gone from his view at once, from ana's after both sync.
        clock.ms += 60_000
        try await ben.hideInCohort("north-1", target: post, reason: "posted it in the wrong cohort")
        let benAfterHiding = try await ben.cohort("north-1").posts
        XCTAssertEqual(benAfterHiding, [])
        _ = try await ben.sync(serverURL: url, token: benToken)
        _ = try await ana.sync(serverURL: url, token: anaToken)
        let anaView = try await ana.cohort("north-1")
        let benView = try await ben.cohort("north-1")
        XCTAssertEqual(anaView.posts, [])
        XCTAssertEqual(anaView.shares.first?.feedback.map(\.id), [rating])

        // The week's rota: two members fill facilitator and reviewer, summariser stays open.
        XCTAssertEqual(anaView.rota.duties.map(\.role), ["facilitator", "reviewer"])
        XCTAssertEqual(Set(anaView.rota.duties.map(\.learner)), ["ana", "ben"])
        XCTAssertEqual(anaView.rota.openRoles, ["summariser"])
        XCTAssertEqual(anaView.metrics.members, 2)
        XCTAssertEqual(anaView.metrics.sharesWithFeedback, 1)
        // Both devices show the same space: rota, members, shares, metrics.
        XCTAssertEqual(benView.rota, anaView.rota)
        XCTAssertEqual(benView, anaView)
    }

    /// A mono 16-bit PCM WAV of `seconds` at 8 kHz, as a recorder writes it.
    private func wav(seconds: Int) -> Data {
        let samples = Data((0..<(16_000 * seconds)).map { UInt8(($0 * 37) % 251) })
        func le<T: FixedWidthInteger>(_ value: T) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
        var data = Data("RIFF".utf8) + le(UInt32(36 + samples.count)) + Data("WAVEfmt ".utf8)
        data += le(UInt32(16)) + le(UInt16(1)) + le(UInt16(1)) + le(UInt32(8_000)) + le(UInt32(16_000))
        data += le(UInt16(2)) + le(UInt16(16)) + Data("data".utf8) + le(UInt32(samples.count)) + samples
        return data
    }

    func testASpokenAnswerSharedIsUploadedBySyncAndFetchedWholeByAPeer() async throws {
        _ = try await formCohort("north-1", ["ana", "ben"])
        let clock = clockNow()
        let ana = try await openMember("ana", "ana-phone", clock: clock)
        let ben = try await openMember("ben", "ben-phone", clock: clock)
        let url = try server()
        let anaToken = try fixture("TIDBIT_ANA_TOKEN")
        let benToken = try fixture("TIDBIT_BEN_TOKEN")
        _ = try await ana.sync(serverURL: url, token: anaToken)
        _ = try await ben.sync(serverURL: url, token: benToken)
        for try await _ in ana.installPack(at: URL(fileURLWithPath: try fixture("TIDBIT_VOICE_PACK"))) {}
        try await ana.enroll(course: "spoken-tour", path: "speaker")
        try await ana.setConsent(.voice, granted: true)

        clock.ms += 60_000
        let recording = wav(seconds: 3)
        let sha = SHA256.hash(data: recording).map { String(format: "%02x", $0) }.joined()
        let answered = try await ana.answerVoice(
            course: "spoken-tour", step: "speak-voice", audio: recording, durationMs: 3_000, criteriaMet: [true, false])
        let spoken = SharedAnswer.voice(audio: sha, durationMs: 3_000, bytes: UInt64(recording.count))
        let share = try await ana.shareAnswer("north-1", answerEvent: answered.answerEvent, answer: spoken)
        let uploaded = try await ana.sync(serverURL: url, token: anaToken)
        XCTAssertEqual(uploaded.audioUploaded, 1)

        clock.ms += 60_000
        _ = try await ben.sync(serverURL: url, token: benToken)
        let heard = try await ben.cohort("north-1").shares.first { $0.id == share }
        XCTAssertEqual(heard?.answer, spoken)
        let fetched = try await ben.fetchSharedAudio(serverURL: url, token: benToken, cohort: "north-1", audio: sha)
        XCTAssertEqual(fetched, recording)
        do {
            _ = try await ben.fetchSharedAudio(
                serverURL: url, token: benToken, cohort: "north-1", audio: String(repeating: "0", count: 64))
            XCTFail("a recording nobody shared was fetched")
        } catch TidbitError.Community(let message) {
            XCTAssertTrue(message.contains("no member shared this recording"), message)
        }
    }

    func testWhatASpaceDoesNotTakeIsACommunityErrorAndWritesNothing() async throws {
        _ = try await formCohort("north-2", ["ana"])
        let tablet = try await openMember("ana", "ana-tablet", clock: clockNow())
        _ = try await tablet.sync(serverURL: try server(), token: try fixture("TIDBIT_ANA_TABLET_TOKEN"))
        let cohorts = try await tablet.cohorts()
        XCTAssertTrue(cohorts.contains("north-2"), "\(cohorts)")
        let post = try await tablet.postToCohort("north-2", text: "Who has met Vantora on price this month?")
        let before = try await tablet.cohort("north-2")

        do {
            try await tablet.giveFeedback("north-2", share: post, criteriaMet: [true, true, true], comment: "rating a post")
            XCTFail("feedback on a post was taken")
        } catch TidbitError.Community(let message) {
            XCTAssertTrue(message.contains("it rates an entry that is not a shared answer"), message)
        }
        do {
            try await tablet.postToCohort("south-9", text: "anyone here?")
            XCTFail("a post to a cohort the device does not hold was taken")
        } catch TidbitError.Community(let message) {
            XCTAssertTrue(message.contains("this device holds no cohort 'south-9'"), message)
        }
        let after = try await tablet.cohort("north-2")
        XCTAssertEqual(after, before)

        // Without the community scope nothing is shared; taking one's own post back still works.
        try await tablet.setConsent(.community, granted: false)
        do {
            try await tablet.postToCohort("north-2", text: "shared without consent")
            XCTFail("a post without the community scope was taken")
        } catch TidbitError.ConsentRequired {
        }
        try await tablet.hideInCohort("north-2", target: post, reason: "asked in the wrong place")
        let hidden = try await tablet.cohort("north-2").posts
        XCTAssertEqual(hidden, [])
    }
}
