// Goals from Kotlin: the learner's minutes a day and days off, a goal on the fixture course's
// stage with its pace and today's minutes, plans and the next activity paced by it, a goal
// that cannot be met and what would meet it, and what the core refuses. The fixture clock
// starts on Monday 2026-09-21 (Europe/Berlin), so with Saturdays and Sundays off the goal due
// on Friday 2026-10-02 has exactly 10 learning days.

import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.Activity
import dev.tidbit.ffi.core.GoalSpec
import dev.tidbit.ffi.core.Pace
import dev.tidbit.ffi.core.PlannedStep
import dev.tidbit.ffi.core.Purpose
import dev.tidbit.ffi.core.StepView
import kotlinx.coroutines.runBlocking

const val DAY_MS = 86_400_000L

/** The tour's one module (a lesson and ten items) and its two-item check. */
const val TOUR_STEPS = 13u

/** A goal on the fixture path's only stage, `foundation`. */
fun tourGoal(due: String = "2026-10-02", stages: List<String> = listOf("foundation")) = GoalSpec(
    goal = "tour-by-friday",
    title = "The tour by Friday",
    course = COURSE,
    path = "tourist",
    stages = stages,
    skills = listOf(),
    due = due,
)

/** A learner on the tourist path with 20 minutes a day, weekends off. */
fun withGoalLearner(body: suspend (TidbitClient, ManualClock) -> Unit) = withLearner { tidbit, clock ->
    tidbit.enroll(COURSE, "tourist")
    tidbit.setStudyTime(20, listOf(6, 7))
    body(tidbit, clock)
}

fun List<PlannedStep>.newSteps() = filter { it.purpose == Purpose.NEW }

/** Minutes a day and the days off as numbers (the record holds the days as bytes). */
suspend fun TidbitClient.studyTimeRead(): Pair<UInt, List<Int>> =
    studyTime().let { it.minutesPerDay to it.daysOff.map(Byte::toInt) }

val goalsTests: List<Pair<String, () -> Unit>> = listOf(
    "study time is 15 minutes every day until the learner sets minutes and days off" to {
        withLearner { tidbit, _ ->
            val before = tidbit.studyTimeRead()
            check(before == (15u to listOf<Int>())) { "$before" }
            tidbit.setStudyTime(20, listOf(6, 7))
            val after = tidbit.studyTimeRead()
            check(after == (20u to listOf(6, 7))) { "$after" }
        }
    },
    "a learner's goal on a stage is on track, can be met and allows new material today" to {
        withGoalLearner { tidbit, _ ->
            val status = tidbit.setGoal(tourGoal())
            check(status.spec == tourGoal() && status.setBy == "learner") { "$status" }
            check(status.pace == Pace.OnTrack) { "${status.pace}" }
            check(status.totalSteps == TOUR_STEPS && status.doneSteps == 0u) { "${status.totalSteps} ${status.doneSteps}" }
            check(status.learningDaysLeft == 10u && status.minutesPerDay == 20u) { "$status" }
            check(status.feasible && status.earliestDate == null && status.blocked == null) { "$status" }
            check(status.minutesToday > 0u && status.minutesNeeded > 0u) { "$status" }
            check(status.minutesPerDayNeeded <= 20u) { "${status.minutesPerDayNeeded}" }
            check(status.summary == "'The tour by Friday' by 2026-10-02: on track; 0 of 13 steps done") { status.summary }
            val goals = tidbit.goals()
            check(goals == listOf(status)) { "$goals" }
        }
    },
    "a plan paced by a goal holds only today's share of the goal's new steps" to {
        withGoalLearner { tidbit, _ ->
            val unpaced = tidbit.planSession(60).steps.newSteps()
            check(unpaced.size == 11 && unpaced.all { it.module == "tour" }) { "$unpaced" }
            val status = tidbit.setGoal(tourGoal())
            val paced = tidbit.planSession(60).steps.newSteps()
            check(paced.isNotEmpty() && paced.size < unpaced.size) { "${paced.size} of ${unpaced.size}" }
            check(paced.all { it.module == "tour" }) { "$paced" }
            check(paced.map { it.step } == unpaced.take(paced.size).map { it.step }) { "$paced" }
            // A step is added while any of today's allowance is left.
            val beforeLast = paced.dropLast(1).sumOf { it.estimatedSeconds.toInt() }
            check(beforeLast < status.minutesToday.toInt() * 60) { "$beforeLast s for ${status.minutesToday} min" }
        }
    },
    "once today's share is done the next activity is paced by the goal" to {
        withGoalLearner { tidbit, clock ->
            tidbit.setGoal(tourGoal())
            check(tidbit.nextActivity().activity == Activity.Module(COURSE, "tour", false)) { "module first" }
            val paced = tidbit.planSession(60).steps.newSteps()
            val lessons = tidbit.startModule(COURSE, "tour").filterIsInstance<StepView.Lesson>().map { it.id }
            for (step in paced) {
                clock.ms += 20_000
                if (step.step in lessons) tidbit.viewStep(COURSE, step.step)
                else tidbit.answer(COURSE, step.step, right.getValue(step.step), 6_000)
            }
            val status = tidbit.goals().single()
            // 7 of 13 steps on the first of 9 days the line runs over: ahead of it by 3 days.
            check(paced.size == 7 && status.doneSteps == 7u && status.minutesToday == 0u) { "${paced.size} $status" }
            check(status.pace == Pace.Ahead(3u)) { "${status.pace}" }
            val next = tidbit.nextActivity()
            check(next.activity == Activity.GoalPaced(COURSE, "tour-by-friday", Pace.Ahead(3u))) { "$next" }
            check(tidbit.planSession(60).steps.newSteps().isEmpty()) { "new steps after today's share" }
        }
    },
    "three learning days without learning leave the goal behind by 3 days" to {
        withGoalLearner { tidbit, clock ->
            tidbit.setGoal(tourGoal())
            clock.ms += 3 * DAY_MS // Thursday 2026-09-24
            val status = tidbit.goals().single()
            check(status.pace == Pace.Behind(3u)) { "${status.pace}" }
            check(status.learningDaysLeft == 7u && status.feasible) { "$status" }
            check(status.summary == "'The tour by Friday' by 2026-10-02: behind by 3 days; 0 of 13 steps done") { status.summary }
        }
    },
    "a goal that cannot be met says so and what would meet it" to {
        withLearner { tidbit, _ ->
            tidbit.enroll(COURSE, "tourist")
            tidbit.setStudyTime(1)
            val whole = tourGoal(due = "2026-09-22", stages = listOf()).copy(goal = "tour-tomorrow", title = "All of the tour")
            val status = tidbit.setGoal(whole)
            check(status.totalSteps == TOUR_STEPS && status.learningDaysLeft == 2u) { "$status" }
            check(!status.feasible && status.minutesPerDayNeeded > 1u) { "$status" }
            check(status.minutesNeeded > 2u && status.earliestDate != null) { "$status" }
            check(status.summary.startsWith("'All of the tour' cannot be met by 2026-09-22 at 1 minutes a day")) { status.summary }
            check(status.summary.contains("${status.minutesPerDayNeeded} minutes a day would do it")) { status.summary }
        }
    },
    "a goal or study time the core cannot take is refused and nothing is recorded" to {
        withGoalLearner { tidbit, _ ->
            expectThrows<TidbitException.UnknownContent> {
                runBlocking { tidbit.setGoal(tourGoal(stages = listOf("mastery"))) }
            }
            expectThrows<TidbitException.InvalidRequest> { runBlocking { tidbit.setGoal(tourGoal(due = "next week")) } }
            expectThrows<TidbitException.InvalidRequest> { runBlocking { tidbit.setGoal(tourGoal(due = "2026-09-20")) } }
            expectThrows<TidbitException.InvalidRequest> { runBlocking { tidbit.setStudyTime(0) } }
            expectThrows<TidbitException.UnknownContent> { runBlocking { tidbit.withdrawGoal("no-such-goal") } }
            check(tidbit.goals().isEmpty()) { "a refused goal was recorded" }
            val study = tidbit.studyTimeRead()
            check(study == (20u to listOf(6, 7))) { "$study" }
        }
    },
    "a withdrawn goal is gone and plans are no longer paced" to {
        withGoalLearner { tidbit, _ ->
            tidbit.setGoal(tourGoal())
            tidbit.withdrawGoal("tour-by-friday")
            check(tidbit.goals().isEmpty()) { "the withdrawn goal is listed" }
            check(tidbit.planSession(60).steps.newSteps().size == 11) { "plan still paced" }
        }
    },
)
