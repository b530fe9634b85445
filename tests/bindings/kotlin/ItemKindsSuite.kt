// Every item kind answered the way the apps answer it: through the platform-independent answer
// forms of dev.tidbit (ItemViewModels.kt), against the real core. For each kind one right and one
// wrong answer, each checked against the core's assessment as the feedback state shows it
// (verdict, credit, feedback texts, explanation, when the item comes back); then what the forms
// do on their own: not ready until complete, ordering moves, matching pairs, numbers that do not
// parse, scenario branches, the flashcard's reveal.

import dev.tidbit.FillBlanksAnswer
import dev.tidbit.FlashcardAnswer
import dev.tidbit.ItemAnswer
import dev.tidbit.ItemFeedback
import dev.tidbit.MatchingAnswer
import dev.tidbit.MultipleResponseAnswer
import dev.tidbit.NumericAnswer
import dev.tidbit.OrderingAnswer
import dev.tidbit.PromptPart
import dev.tidbit.ReflectionAnswer
import dev.tidbit.ScenarioAnswer
import dev.tidbit.SingleChoiceAnswer
import dev.tidbit.TidbitClient
import dev.tidbit.TrueFalseAnswer
import dev.tidbit.VoiceAnswer
import dev.tidbit.ffi.core.ItemView
import dev.tidbit.ffi.core.Outcome
import dev.tidbit.ffi.core.SelfRating
import dev.tidbit.ffi.core.StepView

/** A learner enrolled on the tour with its module started, given the form of each of its items. */
fun withTour(body: suspend (Tour) -> Unit) = withLearner { tidbit, clock ->
    tidbit.enroll(COURSE, "tourist")
    val steps = tidbit.startModule(COURSE, "tour")
    body(Tour(tidbit, clock, steps))
}

class Tour(val tidbit: TidbitClient, val clock: ManualClock, val steps: List<StepView>) {
    val views: Map<String, ItemView> = steps.filterIsInstance<StepView.Item>().associate { it.id to it.view }

    /** A fresh answer form for [step], as a screen builds it. */
    inline fun <reified A : ItemAnswer> form(step: String): A {
        val form = ItemAnswer.of(views.getValue(step))
        return form as? A ?: throw AssertionError("$step: expected ${A::class.simpleName}, got $form")
    }

    /** Sends [answer] as the screen does (only once it is ready) and returns what the learner reads. */
    suspend fun submit(step: String, answer: ItemAnswer, alreadyShown: String? = null): ItemFeedback {
        val response = answer.response() ?: throw AssertionError("$step is not ready: ${answer.missing}")
        clock.ms += 30_000
        val feedback = tidbit.answer(COURSE, step, response, 8_000)
        check(feedback.nextDueMs != null) { "$step: no next review from the core: $feedback" }
        return ItemFeedback.of(feedback, clock.ms, alreadyShown, formatDate = { "at $it" })
    }
}

/** Checks what the learner reads against the core's assessment of the fixture's item. */
fun Tour.expect(
    result: ItemFeedback,
    outcome: Outcome,
    percent: Int,
    feedback: List<String>,
    explanation: String?,
) {
    check(result.outcome == outcome && result.creditPercent == percent) { "verdict: $result" }
    check(result.verdict == mapOf(Outcome.RIGHT to "Right", Outcome.PARTIAL to "Partly right", Outcome.WRONG to "Not right")[outcome]) { "$result" }
    check(result.feedback == feedback) { "feedback: ${result.feedback}" }
    check(result.explanation == explanation) { "explanation: ${result.explanation}" }
    val due = result.nextReviewAtMs ?: throw AssertionError("no next review: $result")
    check(due > clock.ms) { "next review $due is not after now ${clock.ms}" }
    check(result.comesBack == "Comes ${ItemFeedback.describeReturn(clock.ms, due)} (at $due)") { "${result.comesBack}" }
    check(result.comesBack!!.startsWith("Comes back in ")) { "${result.comesBack}" }
    check(result.announcement.startsWith("${result.verdict}, $percent percent.")) { result.announcement }
}

/** [form] with its entries moved, one "move up" at a time, into authored order. */
fun sortedByMovingUp(form: OrderingAnswer): OrderingAnswer {
    var order = form
    for (target in order.entries.indices) {
        val at = order.entries.indexOfFirst { it.index == target.toUInt() }
        for (position in at downTo target + 1) order = order.moveUp(position)
    }
    return order
}

val itemKindsTests: List<Pair<String, () -> Unit>> = listOf(
    "single choice through its form: the right option and a wrong one" to {
        withTour { tour ->
            val form = tour.form<SingleChoiceAnswer>("tour-single")
            check(form.choices == listOf("Venus", "Mercury", "Earth")) { "${form.choices}" }
            val why = "Mercury orbits closest to the Sun."
            tour.expect(tour.submit("tour-single", form.select(0)), Outcome.WRONG, 0, listOf("Venus is second."), why)
            tour.expect(tour.submit("tour-single", form.select(0).select(1)), Outcome.RIGHT, 100, listOf("Right, Mercury is closest."), why)
        }
    },
    "multiple response through its form: every right option, and a wrong one alone" to {
        withTour { tour ->
            val form = tour.form<MultipleResponseAnswer>("tour-multiple")
            val why = "Light mixes from red, green and blue."
            tour.expect(tour.submit("tour-multiple", form.toggle(1)), Outcome.WRONG, 0,
                listOf("Yellow is a primary colour of pigment, not light."), why)
            val right = form.toggle(0).toggle(1).toggle(2).toggle(3).toggle(1)
            check(right.selected == setOf(0, 2, 3)) { "${right.selected}" }
            tour.expect(tour.submit("tour-multiple", right), Outcome.RIGHT, 100, listOf("Yes.", "Yes.", "Yes."), why)
        }
    },
    "true/false through its form: true and false" to {
        withTour { tour ->
            val form = tour.form<TrueFalseAnswer>("tour-truefalse")
            check(form.prompt == "Water boils at 100 °C at sea level.") { form.prompt }
            val why = "At standard pressure water boils at 100 °C."
            tour.expect(tour.submit("tour-truefalse", form.choose(false)), Outcome.WRONG, 0,
                listOf("It does boil at 100 °C at sea level."), why)
            tour.expect(tour.submit("tour-truefalse", form.choose(true)), Outcome.RIGHT, 100, listOf("Correct."), why)
        }
    },
    "fill in the blanks through its form: the prompt cut at its gaps, right and wrong words" to {
        withTour { tour ->
            val form = tour.form<FillBlanksAnswer>("tour-blanks")
            check(form.parts == listOf(
                PromptPart.Text("The capital of France is "), PromptPart.Blank(0),
                PromptPart.Text(" and of Italy is "), PromptPart.Blank(1), PromptPart.Text("."),
            )) { "${form.parts}" }
            check(form.readablePrompt == "The capital of France is ___ (1) and of Italy is ___ (2).") { form.readablePrompt }
            check(form.label(1) == "Blank 2 of 2") { form.label(1) }
            tour.expect(tour.submit("tour-blanks", form.fill(0, "Lyon").fill(1, "Milan")), Outcome.WRONG, 0,
                listOf("Paris.", "Rome."), "Paris and Rome.")
            tour.expect(tour.submit("tour-blanks", form.fill(0, "paris").fill(1, " Roma ")), Outcome.RIGHT, 100,
                listOf(), "Paris and Rome.")
        }
    },
    "ordering through its form: moved into order, and reversed" to {
        withTour { tour ->
            val form = tour.form<OrderingAnswer>("tour-order")
            check(form.entries.map { it.index } != listOf(0u, 1u, 2u)) { "shown already solved: ${form.entries}" }
            var reversed = form
            for (target in 0..2) {
                reversed = reversed.move(reversed.entries.indexOfFirst { it.index == (2 - target).toUInt() }, target)
            }
            check(reversed.entries.map { it.text } == listOf("three", "two", "one")) { "${reversed.entries}" }
            tour.expect(tour.submit("tour-order", reversed), Outcome.WRONG, 0,
                listOf("One comes first.", "Three comes last."), "One, two, three.")
            val sorted = sortedByMovingUp(form)
            check(sorted.entries.map { it.text } == listOf("one", "two", "three")) { "${sorted.entries}" }
            tour.expect(tour.submit("tour-order", sorted), Outcome.RIGHT, 100, listOf(), "One, two, three.")
        }
    },
    "matching through its form: every animal on its sound, and all on the wrong ones" to {
        withTour { tour ->
            val form = tour.form<MatchingAnswer>("tour-match")
            check(form.items.map { it.text } == listOf("dog", "cat", "cow")) { "${form.items}" }
            check(form.targets == listOf("bark", "meow", "moo")) { "${form.targets}" }
            val wrong = form.pair(0u, "meow").pair(1u, "moo").pair(2u, "bark")
            tour.expect(tour.submit("tour-match", wrong), Outcome.WRONG, 0,
                listOf("Dogs bark.", "Cats meow.", "Cows moo."), "Bark, meow, moo.")
            val right = wrong.pair(0u, "bark").pair(1u, "meow").pair(2u, "moo")
            tour.expect(tour.submit("tour-match", right), Outcome.RIGHT, 100, listOf(), "Bark, meow, moo.")
        }
    },
    "numeric through its form: a comma decimal that is right, and a number too low" to {
        withTour { tour ->
            val form = tour.form<NumericAnswer>("tour-numeric")
            check(form.unit == "minutes") { "${form.unit}" }
            val why = "Two hours are 2 × 60 = 120 minutes."
            tour.expect(tour.submit("tour-numeric", form.type(" 90 ")), Outcome.WRONG, 0, listOf("Too low."), why)
            tour.expect(tour.submit("tour-numeric", form.type("120,0")), Outcome.RIGHT, 100, listOf("Right."), why)
        }
    },
    "scenario through its form: the best branch to its end, and the short poor one" to {
        withTour { tour ->
            val form = tour.form<ScenarioAnswer>("tour-scenario")
            check(form.current?.id == "found" && form.current?.situation == "What do you do first?") { "${form.current}" }
            val why = "Hand it in so its owner can get it back."
            val kept = form.pick(1)
            check(kept.ended && kept.current == null) { "keeping the wallet ends the scenario: $kept" }
            tour.expect(tour.submit("tour-scenario", kept), Outcome.WRONG, 0, listOf("That is not yours."), why)
            val best = form.pick(0).pick(0)
            check(best.steps.map { it.node.id to it.choice } == listOf("found" to 0, "thanked" to 0)) { "${best.steps}" }
            tour.expect(tour.submit("tour-scenario", best), Outcome.RIGHT, 100,
                listOf("The owner can be found.", "Kind and useful."), why)
        }
    },
    "flashcard through its form: revealed, rated Again, then Good" to {
        withTour { tour ->
            val form = tour.form<FlashcardAnswer>("tour-flashcard")
            check(form.prompt == "What is the chemical symbol of gold?") { form.prompt }
            val back = tour.tidbit.flashcardBack(COURSE, "tour-flashcard")
            val revealed = form.reveal(back)
            check(revealed.back == "Au, from the Latin aurum.") { "${revealed.back}" }
            // The explanation is the back the learner has just read, so the feedback leaves it out.
            tour.expect(tour.submit("tour-flashcard", revealed.rate(SelfRating.AGAIN), back), Outcome.WRONG, 0, listOf(), null)
            val good = tour.submit("tour-flashcard", revealed.rate(SelfRating.GOOD), back)
            tour.expect(good, Outcome.RIGHT, 100, listOf(), null)
            // Without the back shown, the same feedback carries the explanation.
            val unshown = tour.submit("tour-flashcard", revealed.rate(SelfRating.GOOD))
            check(unshown.explanation == "Au, from the Latin aurum.") { "${unshown.explanation}" }
        }
    },
    "reflection through its form: an answer meeting both criteria, and one meeting none" to {
        withTour { tour ->
            val form = tour.form<ReflectionAnswer>("tour-reflection")
            check(form.criteria == listOf("I named a specific fact.", "I said why it matters to me.")) { "${form.criteria}" }
            val written = form.write("Mercury is closest; it helps at quiz night.")
            val why = "Reflecting on what you learned helps you keep it."
            tour.expect(tour.submit("tour-reflection", written), Outcome.WRONG, 0, listOf(), why)
            tour.expect(tour.submit("tour-reflection", written.toggle(0).check(1, true)), Outcome.RIGHT, 100, listOf(), why)
        }
    },
    "a partly right answer reads as partly right with its credit" to {
        withTour { tour ->
            val partial = tour.form<ScenarioAnswer>("tour-scenario").pick(0).pick(1)
            tour.expect(tour.submit("tour-scenario", partial), Outcome.PARTIAL, 75,
                listOf("The owner can be found.", "Fine too."), "Hand it in so its owner can get it back.")
        }
    },
    "the whole tour answered through the forms completes the module" to {
        withTour { tour ->
            var last: ItemFeedback? = null
            for (step in tour.steps) {
                when (step) {
                    is StepView.Lesson -> tour.tidbit.viewStep(COURSE, step.id)
                    is StepView.Item -> {
                        val answer = when (val form = ItemAnswer.of(step.view)) {
                            is SingleChoiceAnswer -> form.select(1)
                            is MultipleResponseAnswer -> form.toggle(0).toggle(2).toggle(3)
                            is TrueFalseAnswer -> form.choose(true)
                            is FillBlanksAnswer -> form.fill(0, "Paris").fill(1, "Rome")
                            is OrderingAnswer -> sortedByMovingUp(form)
                            is MatchingAnswer -> form.items.fold(form) { f, item -> f.pair(item.index, listOf("bark", "meow", "moo")[item.index.toInt()]) }
                            is NumericAnswer -> form.type("120")
                            is ScenarioAnswer -> form.pick(0).pick(0)
                            is FlashcardAnswer -> form.reveal(tour.tidbit.flashcardBack(COURSE, step.id)).rate(SelfRating.EASY)
                            is ReflectionAnswer -> form.write("The Sun's nearest planet.").toggle(0).toggle(1)
                            is VoiceAnswer -> throw AssertionError("${step.id}: the tour holds no voice item (VoiceSuite.kt answers one)")
                        }
                        val feedback = tour.submit(step.id, answer)
                        check(feedback.outcome == Outcome.RIGHT) { "${step.id}: $feedback" }
                        last = feedback
                    }
                }
            }
            check(last?.notes == listOf("Module complete.")) { "${last?.notes}" }
        }
    },
    "no form is ready until the learner has answered it whole" to {
        withTour { tour ->
            val forms = tour.views.mapValues { ItemAnswer.of(it.value) }
            check(forms.size == 10) { "${forms.keys}" }
            for ((step, form) in forms) {
                when (form) {
                    is OrderingAnswer -> check(form.ready && form.response() != null) { "$step: any order can be sent" }
                    else -> check(!form.ready && form.response() == null && form.missing!!.endsWith(".")) { "$step: ${form.missing}" }
                }
            }
            val blanks = tour.form<FillBlanksAnswer>("tour-blanks").fill(0, "Paris").fill(1, "  ")
            check(blanks.missing == "Fill in every blank (blank 2 is empty).") { "${blanks.missing}" }
            val matching = tour.form<MatchingAnswer>("tour-match").pair(1u, "meow")
            check(matching.missing == "Match every item (2 are left)." && matching.response() == null) { "${matching.missing}" }
            val scenario = tour.form<ScenarioAnswer>("tour-scenario").pick(0)
            check(!scenario.ended && scenario.response() == null && scenario.current?.id == "thanked") { "$scenario" }
            val flashcard = tour.form<FlashcardAnswer>("tour-flashcard")
            check(flashcard.rate(SelfRating.EASY) == flashcard) { "a rating before the reveal is ignored" }
            check(flashcard.reveal("Au").missing == "Rate how well you recalled it.") { "${flashcard.reveal("Au").missing}" }
            val reflection = tour.form<ReflectionAnswer>("tour-reflection").toggle(0).toggle(1)
            check(reflection.response() == null && reflection.write(" ").response() == null) { "a reflection needs text" }
            check(tour.tidbit.mastery(COURSE).single().evidence.isEmpty()) { "nothing was answered" }
        }
    },
    "an ordering form moves entries by drag and by one, and says where each is" to {
        withTour { tour ->
            val form = tour.form<OrderingAnswer>("tour-order")
            val texts = form.entries.map { it.text }
            check(form.moveUp(0) == form && form.moveDown(2) == form) { "moves past the ends change nothing" }
            check(!form.canMoveUp(0) && form.canMoveUp(1) && form.canMoveDown(1) && !form.canMoveDown(2)) { "can move" }
            check(form.move(0, 2).entries.map { it.text } == listOf(texts[1], texts[2], texts[0])) { "drag to the end" }
            check(form.move(2, 0).entries.map { it.text } == listOf(texts[2], texts[0], texts[1])) { "drag to the top" }
            check(form.moveDown(0).moveUp(1) == form) { "down then up is where it was" }
            check(form.label(1) == "${texts[1]}, position 2 of 3") { form.label(1) }
            expectThrows<IllegalArgumentException> { form.move(0, 3) }
        }
    },
    "a matching form pairs, re-pairs, unpairs and shares targets" to {
        withTour { tour ->
            val form = tour.form<MatchingAnswer>("tour-match")
            val dog = form.items[0]
            val paired = form.pair(dog.index, "moo")
            check(paired.targetOf(dog.index) == "moo" && paired.label(dog) == "dog, matched with moo") { paired.label(dog) }
            val repaired = paired.pair(dog.index, "bark")
            check(repaired.targetOf(dog.index) == "bark" && repaired.chosen.size == 1) { "${repaired.chosen}" }
            check(repaired.unpair(dog.index).label(dog) == "dog, not matched yet") { "unpair" }
            val shared = form.pair(0u, "bark").pair(1u, "bark").pair(2u, "bark")
            check(shared.ready && shared.response() == dev.tidbit.ffi.core.Response.Matching(listOf("bark", "bark", "bark"))) { "${shared.response()}" }
            expectThrows<IllegalArgumentException> { form.pair(0u, "quack") }
            expectThrows<IllegalArgumentException> { form.pair(7u, "bark") }
        }
    },
    "a number that does not parse gives a clear message and sends nothing" to {
        withTour { tour ->
            val form = tour.form<NumericAnswer>("tour-numeric")
            check(form.missing == "Type a number.") { "${form.missing}" }
            for (text in listOf("12o", "1.2.3", "1,000.5", "NaN", "Infinity", "1e3", "0x10", "12d", "--4", "+", ".")) {
                val typed = form.type(text)
                check(typed.value == null && typed.response() == null) { "'$text' parsed as ${typed.value}" }
                check(typed.missing == "\"$text\" is not a number: type digits, with one point or comma before any decimals (such as 12.5).") { "${typed.missing}" }
            }
            check(form.type("9".repeat(400)).response() == null) { "an infinite number is sent" }
            val parsed = listOf("120", " 120 ", "120,0", "-3.5", "\u22122", ".5", "+7", "12.").map { NumericAnswer.parse(it) }
            check(parsed == listOf(120.0, 120.0, 120.0, -3.5, -2.0, 0.5, 7.0, 12.0)) { "$parsed" }
            check(tour.tidbit.mastery(COURSE).single().evidence.isEmpty()) { "nothing was answered" }
        }
    },
    "a scenario form follows the branches and takes a choice back" to {
        withTour { tour ->
            val form = tour.form<ScenarioAnswer>("tour-scenario")
            val atThanked = form.pick(0)
            check(atThanked.current?.situation == "The officer thanks you. Then?") { "${atThanked.current}" }
            check(atThanked.current?.choices?.map { it.next } == listOf(null, null)) { "both choices end it" }
            val ended = atThanked.pick(1)
            check(ended.ended && ended.response() == dev.tidbit.ffi.core.Response.Scenario(listOf(0u, 1u))) { "$ended" }
            expectThrows<IllegalStateException> { ended.pick(0) }
            check(ended.back() == atThanked && ended.back().back() == form) { "back" }
            expectThrows<IllegalArgumentException> { form.pick(2) }
        }
    },
    "when an item comes back reads in minutes, hours, days or months" to {
        val now = START_MS
        val minute = 60_000L
        val cases = listOf(
            0L to "due again now", 30_000L to "back in under a minute", minute to "back in 1 minute",
            10 * minute to "back in 10 minutes", 90 * minute to "back in 2 hours", 3 * 24 * 60 * minute to "back in 3 days",
            90L * 24 * 60 * minute to "back in 3 months",
        )
        for ((wait, words) in cases) {
            check(ItemFeedback.describeReturn(now, now + wait) == words) { "$wait: ${ItemFeedback.describeReturn(now, now + wait)}" }
        }
    },
)
