// Goals, mirroring tests/bindings/kotlin/GoalsSuite.kt: the learner's minutes a day and days off,
// a goal on the fixture course's stage with its pace and today's minutes, plans and the next
// activity paced by it, a goal that cannot be met and what would meet it, and what the core
// refuses. Needs TIDBIT_PACK and TIDBIT_AUTHOR_PUB (tests/bindings/common.sh). Parsed here by
// tests/bindings/swift.sh; run with `swift test` on macOS.
//
// The clock starts on Monday 2026-09-21 (Europe/Berlin), so with Saturdays and Sundays off the
// goal due on Friday 2026-10-02 has exactly 10 learning days.

import Foundation
import XCTest
@testable import Tidbit

private let goalCourse = "binding-tour"
private let dayMs: Int64 = 86_400_000
/// The tour's one module (a lesson and ten items) and its two-item check.
private let tourSteps: UInt32 = 13

/// The right answers to the tour's first items, which today's share of the goal holds.
private let firstAnswers: [String: Response] = [
    "tour-single": .singleChoice(choice: 1),
    "tour-multiple": .multipleResponse(choices: [0, 2, 3]),
    "tour-truefalse": .trueFalse(answer: true),
    "tour-blanks": .fillBlanks(answers: ["paris", " Roma "]),
    "tour-order": .ordering(order: [0, 1, 2]),
    "tour-match": .matching(targets: ["bark", "meow", "moo"]),
    "tour-numeric": .numeric(value: 120),
]

private func tourGoal(due: String = "2026-10-02", stages: [String] = ["foundation"]) -> GoalSpec {
    GoalSpec(
        goal: "tour-by-friday", title: "The tour by Friday", course: goalCourse, path: "tourist",
        stages: stages, skills: [], due: due
    )
}

private func newSteps(_ plan: SessionPlan) -> [PlannedStep] { plan.steps.filter { $0.purpose == .new } }

final class GoalTests: XCTestCase {
    private var directory: URL!
    private var clock: ManualClock!

    private func fixture(_ name: String) throws -> String {
        try XCTUnwrap(ProcessInfo.processInfo.environment[name], "\(name) is not set")
    }

    /// A learner with the tour installed; on the tourist path, 20 minutes a day, weekends off.
    private func openLearner(enrolled: Bool = true) async throws -> TidbitClient {
        let config = TidbitConfig(
            dataDir: directory.appendingPathComponent("learner").path,
            learnerId: "ada@example.org",
            deviceId: "swift-test-device",
            timeZone: "Europe/Berlin",
            trustedKeys: [try String(contentsOfFile: fixture("TIDBIT_AUTHOR_PUB"), encoding: .utf8)]
        )
        let tidbit = try TidbitClient(config: config, keyStore: MemoryKeyStore(nil), clock: clock)
        for try await _ in tidbit.installPack(at: URL(fileURLWithPath: try fixture("TIDBIT_PACK"))) {}
        if enrolled {
            try await tidbit.enroll(course: goalCourse, path: "tourist")
            try await tidbit.setStudyTime(minutesPerDay: 20, daysOff: [6, 7])
        }
        return tidbit
    }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        clock = ManualClock()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testStudyTimeIs15MinutesEveryDayUntilTheLearnerSetsIt() async throws {
        let tidbit = try await openLearner(enrolled: false)
        let before = try await tidbit.studyTime()
        XCTAssertEqual(before, StudyTime(minutesPerDay: 15, daysOff: Data()))
        try await tidbit.setStudyTime(minutesPerDay: 20, daysOff: [6, 7])
        let after = try await tidbit.studyTime()
        XCTAssertEqual(after, StudyTime(minutesPerDay: 20, daysOff: Data([6, 7])))
    }

    func testALearnersGoalOnAStageIsOnTrackAndAllowsNewMaterialToday() async throws {
        let tidbit = try await openLearner()
        let status = try await tidbit.setGoal(tourGoal())
        XCTAssertEqual(status.spec, tourGoal())
        XCTAssertEqual(status.setBy, "learner")
        XCTAssertEqual(status.pace, .onTrack)
        XCTAssertEqual([status.totalSteps, status.doneSteps], [tourSteps, 0])
        XCTAssertEqual([status.learningDaysLeft, status.minutesPerDay], [10, 20])
        XCTAssertTrue(status.feasible)
        XCTAssertNil(status.earliestDate)
        XCTAssertNil(status.blocked)
        XCTAssertGreaterThan(status.minutesToday, 0)
        XCTAssertEqual(status.summary, "'The tour by Friday' by 2026-10-02: on track; 0 of 13 steps done")
        let goals = try await tidbit.goals()
        XCTAssertEqual(goals, [status])
    }

    func testAPlanPacedByAGoalHoldsOnlyTodaysShareOfTheGoalsNewSteps() async throws {
        let tidbit = try await openLearner()
        let unpaced = newSteps(try await tidbit.planSession(minutes: 60))
        XCTAssertEqual(unpaced.count, 11)
        let status = try await tidbit.setGoal(tourGoal())
        let paced = newSteps(try await tidbit.planSession(minutes: 60))
        XCTAssertEqual(paced.map(\.step), unpaced.prefix(paced.count).map(\.step))
        XCTAssertTrue(paced.allSatisfy { $0.module == "tour" })
        XCTAssertTrue((1..<unpaced.count).contains(paced.count), "\(paced.count)")
        // A step is added while any of today's allowance is left.
        let beforeLast = paced.dropLast().map(\.estimatedSeconds).reduce(0, +)
        XCTAssertLessThan(beforeLast, status.minutesToday * 60)
    }

    func testOnceTodaysShareIsDoneTheNextActivityIsPacedByTheGoal() async throws {
        let tidbit = try await openLearner()
        try await tidbit.setGoal(tourGoal())
        let paced = newSteps(try await tidbit.planSession(minutes: 60))
        _ = try await tidbit.startModule(course: goalCourse, module: "tour")
        for step in paced {
            clock.ms += 20_000
            if let response = firstAnswers[step.step] {
                _ = try await tidbit.answer(course: goalCourse, step: step.step, response: response, responseMs: 6_000)
            } else {
                try await tidbit.viewStep(course: goalCourse, step: step.step)
            }
        }
        let status = try XCTUnwrap(try await tidbit.goals().first)
        // 7 of 13 steps on the first of 9 days the line runs over: ahead of it by 3 days.
        XCTAssertEqual([UInt32(paced.count), status.doneSteps, status.minutesToday], [7, 7, 0])
        XCTAssertEqual(status.pace, .ahead(days: 3))
        let next = try await tidbit.nextActivity()
        XCTAssertEqual(next.activity, .goalPaced(course: goalCourse, goal: "tour-by-friday", pace: .ahead(days: 3)))
    }

    func testThreeLearningDaysWithoutLearningLeaveTheGoalBehindBy3Days() async throws {
        let tidbit = try await openLearner()
        try await tidbit.setGoal(tourGoal())
        clock.ms += 3 * dayMs // Thursday 2026-09-24
        let status = try XCTUnwrap(try await tidbit.goals().first)
        XCTAssertEqual(status.pace, .behind(days: 3))
        XCTAssertEqual(status.learningDaysLeft, 7)
        XCTAssertEqual(status.summary, "'The tour by Friday' by 2026-10-02: behind by 3 days; 0 of 13 steps done")
    }

    func testAGoalThatCannotBeMetSaysSoAndWhatWouldMeetIt() async throws {
        let tidbit = try await openLearner()
        try await tidbit.setStudyTime(minutesPerDay: 1)
        var whole = tourGoal(due: "2026-09-22", stages: [])
        whole.goal = "tour-tomorrow"
        whole.title = "All of the tour"
        let status = try await tidbit.setGoal(whole)
        XCTAssertEqual([status.totalSteps, status.learningDaysLeft], [tourSteps, 2])
        XCTAssertFalse(status.feasible)
        XCTAssertGreaterThan(status.minutesPerDayNeeded, 1)
        XCTAssertNotNil(status.earliestDate)
        XCTAssertTrue(status.summary.hasPrefix("'All of the tour' cannot be met by 2026-09-22 at 1 minutes a day"), status.summary)
    }

    func testAGoalOrStudyTimeTheCoreCannotTakeIsRefused() async throws {
        let tidbit = try await openLearner()
        do {
            try await tidbit.setGoal(tourGoal(stages: ["mastery"]))
            XCTFail("a goal on a stage the path lacks was taken")
        } catch TidbitError.UnknownContent {
        }
        for due in ["next week", "2026-09-20"] {
            do {
                try await tidbit.setGoal(tourGoal(due: due))
                XCTFail("a goal due '\(due)' was taken")
            } catch TidbitError.InvalidRequest {
            }
        }
        do {
            try await tidbit.setStudyTime(minutesPerDay: 0)
            XCTFail("0 minutes a day was taken")
        } catch TidbitError.InvalidRequest {
        }
        do {
            try await tidbit.withdrawGoal("no-such-goal")
            XCTFail("a goal that does not exist was withdrawn")
        } catch TidbitError.UnknownContent {
        }
        let goals = try await tidbit.goals()
        XCTAssertEqual(goals, [])
        let study = try await tidbit.studyTime()
        XCTAssertEqual(study, StudyTime(minutesPerDay: 20, daysOff: Data([6, 7])))
    }

    func testAWithdrawnGoalIsGoneAndPlansAreNoLongerPaced() async throws {
        let tidbit = try await openLearner()
        try await tidbit.setGoal(tourGoal())
        try await tidbit.withdrawGoal("tour-by-friday")
        let goals = try await tidbit.goals()
        XCTAssertEqual(goals, [])
        let plan = try await tidbit.planSession(minutes: 60)
        XCTAssertEqual(newSteps(plan).count, 11)
    }
}
