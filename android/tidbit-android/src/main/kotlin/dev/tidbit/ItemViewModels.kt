// What a screen needs to answer an item of any of the eleven kinds, and to show how it went.
//
// [ItemAnswer.of] turns the core's answer-free `ItemView` into the state of one answer form; the
// learner's edits (select, toggle, fill a blank, move an entry, pair, type a number, pick a
// scenario branch, reveal and rate a flashcard, tick a criterion, attach a recording) each return
// the next state; [ItemAnswer.missing] says in words what is still needed, and
// [ItemAnswer.response] builds the `Response` for `TidbitClient.answer` once nothing is (a voice
// item's form goes to `TidbitClient.answerVoice` instead, with its recording). [ItemFeedback.of] turns the core's
// `Feedback` into what the learner reads afterwards: the verdict, the feedback texts, the
// explanation and when the item comes back.
//
// Platform-independent: this file compiles on the JVM, where tests/bindings/kotlin.sh answers
// every kind through it against the real core (tests/bindings/kotlin/ItemKindsSuite.kt); the
// Compose screens of android/sample only draw these states. Every state is immutable, so a
// screen holds one in a `mutableStateOf` and replaces it on each edit. Nothing here scores or
// schedules: whether an answer is right, and when the item comes back, is the core's decision.
// The texts are English, like the sample app; a real app passes them through its resources.

package dev.tidbit

import dev.tidbit.ffi.core.Feedback
import dev.tidbit.ffi.core.IndexedText
import dev.tidbit.ffi.core.ItemView
import dev.tidbit.ffi.core.Outcome
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.core.ScenarioNodeView
import dev.tidbit.ffi.core.SelfRating
import java.text.DateFormat
import java.util.Date

/** The state of one answer form; build it with [ItemAnswer.of]. */
sealed class ItemAnswer {
    /** What the learner reads first: the prompt, the statement or the card's front. */
    abstract val prompt: String

    /** What is still needed before the answer can be sent, for the learner; null when nothing is. */
    abstract val missing: String?

    val ready: Boolean get() = missing == null

    /** The response to send, or null while [missing] says what is needed. */
    fun response(): Response? = if (missing == null) build() else null

    /** The response; called only when [missing] is null. */
    protected abstract fun build(): Response

    companion object {
        /** The empty answer form for [view]. */
        fun of(view: ItemView): ItemAnswer = when (view) {
            is ItemView.SingleChoice -> SingleChoiceAnswer(view.prompt, view.choices)
            is ItemView.MultipleResponse -> MultipleResponseAnswer(view.prompt, view.choices)
            is ItemView.TrueFalse -> TrueFalseAnswer(view.statement)
            is ItemView.FillBlanks -> FillBlanksAnswer.of(view.prompt, view.blanks.toInt())
            is ItemView.Ordering -> OrderingAnswer(view.prompt, view.entries)
            is ItemView.Matching -> MatchingAnswer(view.prompt, view.items, view.targets)
            is ItemView.Numeric -> NumericAnswer(view.prompt, view.unit)
            is ItemView.Scenario -> ScenarioAnswer(view.prompt, view.start, view.nodes)
            is ItemView.Flashcard -> FlashcardAnswer(view.front)
            is ItemView.Reflection -> ReflectionAnswer(view.prompt, view.criteria)
            is ItemView.Voice -> VoiceAnswer(view.prompt, view.criteria, view.maxSeconds.toInt())
        }
    }
}

/** One option of several; the learner selects one. */
data class SingleChoiceAnswer(
    override val prompt: String,
    val choices: List<String>,
    val selected: Int? = null,
) : ItemAnswer() {
    fun select(choice: Int): SingleChoiceAnswer {
        require(choice in choices.indices) { "option $choice is not one of the ${choices.size} options" }
        return copy(selected = choice)
    }

    override val missing: String? get() = if (selected == null) "Choose one option." else null

    override fun build(): Response = Response.SingleChoice(selected?.toUInt() ?: 0u)
}

/** Several options; the learner selects every one that applies. */
data class MultipleResponseAnswer(
    override val prompt: String,
    val choices: List<String>,
    val selected: Set<Int> = emptySet(),
) : ItemAnswer() {
    fun toggle(choice: Int): MultipleResponseAnswer {
        require(choice in choices.indices) { "option $choice is not one of the ${choices.size} options" }
        return copy(selected = if (choice in selected) selected - choice else selected + choice)
    }

    override val missing: String?
        get() = if (selected.isEmpty()) "Select every option that applies (at least one)." else null

    override fun build(): Response = Response.MultipleResponse(selected.sorted().map { it.toUInt() })
}

/** A statement the learner calls true or false. */
data class TrueFalseAnswer(override val prompt: String, val answer: Boolean? = null) : ItemAnswer() {
    fun choose(answer: Boolean) = copy(answer = answer)

    override val missing: String? get() = if (answer == null) "Choose true or false." else null

    override fun build(): Response = Response.TrueFalse(answer ?: false)
}

/** A piece of a fill-in-the-blanks prompt: text, or the gap for blank [Blank.index] (0-based). */
sealed class PromptPart {
    data class Text(val text: String) : PromptPart()
    data class Blank(val index: Int) : PromptPart()
}

/** A prompt with `{{1}}`, `{{2}}`, ... gaps; the learner types one answer per gap. */
data class FillBlanksAnswer(
    override val prompt: String,
    /** The prompt cut at its gaps, for drawing a field in each. */
    val parts: List<PromptPart>,
    /** One answer per blank, in blank order, as typed. */
    val answers: List<String>,
) : ItemAnswer() {
    companion object {
        private val marker = Regex("""\{\{\s*(\d+)\s*\}\}""")

        /** The form for [prompt] with [blanks] gaps; a gap the prompt does not mark goes at its end. */
        fun of(prompt: String, blanks: Int): FillBlanksAnswer {
            val parts = mutableListOf<PromptPart>()
            val marked = mutableSetOf<Int>()
            var rest = 0
            for (match in marker.findAll(prompt)) {
                val index = match.groupValues[1].toIntOrNull()?.minus(1) ?: continue
                if (index !in 0 until blanks) continue
                if (match.range.first > rest) parts += PromptPart.Text(prompt.substring(rest, match.range.first))
                parts += PromptPart.Blank(index)
                marked += index
                rest = match.range.last + 1
            }
            if (rest < prompt.length) parts += PromptPart.Text(prompt.substring(rest))
            for (index in 0 until blanks) if (index !in marked) parts += PromptPart.Blank(index)
            return FillBlanksAnswer(prompt, parts, List(blanks) { "" })
        }
    }

    /** The prompt with each gap written as "___ (n)", for reading aloud or as a heading. */
    val readablePrompt: String
        get() = parts.joinToString("") {
            when (it) {
                is PromptPart.Text -> it.text
                is PromptPart.Blank -> "___ (${it.index + 1})"
            }
        }

    fun fill(blank: Int, text: String): FillBlanksAnswer {
        require(blank in answers.indices) { "blank ${blank + 1} is not one of the ${answers.size} blanks" }
        return copy(answers = answers.toMutableList().also { it[blank] = text })
    }

    /** What a screen reader says for the field of [blank]. */
    fun label(blank: Int): String = "Blank ${blank + 1} of ${answers.size}"

    override val missing: String?
        get() {
            val empty = answers.indexOfFirst { it.isBlank() }
            return if (empty < 0) null else "Fill in every blank (blank ${empty + 1} is empty)."
        }

    override fun build(): Response = Response.FillBlanks(answers)
}

/**
 * Entries the learner puts in order, by dragging or with "move up" / "move down". They start in
 * the core's shuffled order, which is never the right one; any order can be sent.
 */
data class OrderingAnswer(override val prompt: String, val entries: List<IndexedText>) : ItemAnswer() {
    /** The entry at [from] moved to position [to] (both positions in the current order). */
    fun move(from: Int, to: Int): OrderingAnswer {
        require(from in entries.indices && to in entries.indices) {
            "positions $from and $to must both be 0 to ${entries.size - 1}"
        }
        if (from == to) return this
        val order = entries.toMutableList()
        order.add(to, order.removeAt(from))
        return copy(entries = order)
    }

    fun canMoveUp(position: Int) = position in 1 until entries.size
    fun canMoveDown(position: Int) = position in 0 until entries.size - 1
    fun moveUp(position: Int) = if (canMoveUp(position)) move(position, position - 1) else this
    fun moveDown(position: Int) = if (canMoveDown(position)) move(position, position + 1) else this

    /** What a screen reader says for the entry at [position]. */
    fun label(position: Int): String = "${entries[position].text}, position ${position + 1} of ${entries.size}"

    override val missing: String? get() = null

    override fun build(): Response = Response.Ordering(entries.map { it.index })
}

/** Items the learner pairs each with a target; several items may share a target. */
data class MatchingAnswer(
    override val prompt: String,
    /** In authored order. */
    val items: List<IndexedText>,
    val targets: List<String>,
    /** The target chosen for each item, by the item's authored index. */
    val chosen: Map<UInt, String> = emptyMap(),
) : ItemAnswer() {
    fun pair(item: UInt, target: String): MatchingAnswer {
        require(items.any { it.index == item }) { "item $item is not one of this item's entries" }
        require(target in targets) { "'$target' is not one of the targets $targets" }
        return copy(chosen = chosen + (item to target))
    }

    fun unpair(item: UInt) = copy(chosen = chosen - item)

    fun targetOf(item: UInt): String? = chosen[item]

    /** What a screen reader says for [item]. */
    fun label(item: IndexedText): String =
        chosen[item.index]?.let { "${item.text}, matched with $it" } ?: "${item.text}, not matched yet"

    override val missing: String?
        get() {
            val left = items.count { it.index !in chosen }
            return when (left) {
                0 -> null
                1 -> "Match every item (1 is left)."
                else -> "Match every item ($left are left)."
            }
        }

    override fun build(): Response =
        Response.Matching(items.sortedBy { it.index }.map { chosen[it.index] ?: "" })
}

/** A number the learner types; a point or a comma marks the decimals. */
data class NumericAnswer(
    override val prompt: String,
    val unit: String?,
    val text: String = "",
) : ItemAnswer() {
    companion object {
        private val number = Regex("""[+-]?(\d+([.,]\d*)?|[.,]\d+)""")

        /** [text] as a finite number, or null: digits with an optional sign and one decimal mark. */
        fun parse(text: String): Double? {
            val plain = text.trim().replace('\u2212', '-')
            if (!number.matches(plain)) return null
            return plain.replace(',', '.').toDouble().takeIf { it.isFinite() }
        }
    }

    fun type(text: String) = copy(text = text)

    /** The typed number, or null while [text] is not one. */
    val value: Double? get() = parse(text)

    override val missing: String?
        get() = when {
            text.isBlank() -> "Type a number."
            value == null -> "\"${text.trim()}\" is not a number: type digits, with one point or comma before any decimals (such as 12.5)."
            else -> null
        }

    override fun build(): Response = Response.Numeric(value ?: 0.0)
}

/** A decision taken in a scenario: the node the learner was at and the choice they took there. */
data class ScenarioStep(val node: ScenarioNodeView, val choice: Int)

/**
 * A scenario the learner walks from its start node, one choice per node, until a choice ends it.
 * [back] takes the last choice back, so the learner can explore another branch before sending.
 */
data class ScenarioAnswer(
    override val prompt: String,
    val start: String,
    val nodes: List<ScenarioNodeView>,
    /** The choice index taken at each node so far. */
    val path: List<Int> = emptyList(),
) : ItemAnswer() {
    /** The decisions taken so far, in order. */
    val steps: List<ScenarioStep>
        get() = walk().first

    /** The node waiting for the learner's choice; null once a choice has ended the scenario. */
    val current: ScenarioNodeView?
        get() = walk().second

    val ended: Boolean get() = path.isNotEmpty() && current == null

    fun pick(choice: Int): ScenarioAnswer {
        val node = checkNotNull(current) { "the scenario has ended: take a choice back before picking another" }
        require(choice in node.choices.indices) { "node '${node.id}' has ${node.choices.size} choices, not $choice" }
        return copy(path = path + choice)
    }

    fun back() = copy(path = path.dropLast(1))

    private fun walk(): Pair<List<ScenarioStep>, ScenarioNodeView?> {
        val steps = mutableListOf<ScenarioStep>()
        var node = nodes.find { it.id == start }
        for (choice in path) {
            val at = node ?: break
            steps += ScenarioStep(at, choice)
            node = at.choices.getOrNull(choice)?.next?.let { next -> nodes.find { it.id == next } }
        }
        return steps to node
    }

    override val missing: String?
        get() = if (ended) null else "Choose what you do at each step until the scenario ends."

    override fun build(): Response = Response.Scenario(path.map { it.toUInt() })
}

/** A card the learner tries to recall, turns over ([reveal]) and rates themselves on. */
data class FlashcardAnswer(
    override val prompt: String,
    /** The back, once revealed (`TidbitClient.flashcardBack`). */
    val back: String? = null,
    val rating: SelfRating? = null,
) : ItemAnswer() {
    companion object {
        /** The four ratings with what each means, in the order to offer them. */
        val ratings: List<Pair<SelfRating, String>> = listOf(
            SelfRating.AGAIN to "Again: I did not recall it",
            SelfRating.HARD to "Hard: I recalled it with effort",
            SelfRating.GOOD to "Good: I recalled it",
            SelfRating.EASY to "Easy: I recalled it at once",
        )
    }

    fun reveal(back: String) = copy(back = back)

    /** Rates the recall; a rating before the back is revealed is ignored (there is nothing to rate against). */
    fun rate(rating: SelfRating) = if (back == null) this else copy(rating = rating)

    override val missing: String?
        get() = when {
            back == null -> "Show the answer, then rate how well you recalled it."
            rating == null -> "Rate how well you recalled it."
            else -> null
        }

    override fun build(): Response = Response.Flashcard(rating ?: SelfRating.AGAIN)
}

/** A free answer the learner writes, then checks against the item's criteria. */
data class ReflectionAnswer(
    override val prompt: String,
    val criteria: List<String>,
    val text: String = "",
    /** Per criterion, in authored order: whether the learner says their answer meets it. */
    val met: List<Boolean> = List(criteria.size) { false },
) : ItemAnswer() {
    fun write(text: String) = copy(text = text)

    fun check(criterion: Int, met: Boolean): ReflectionAnswer {
        require(criterion in criteria.indices) { "criterion $criterion is not one of the ${criteria.size} criteria" }
        return copy(met = this.met.toMutableList().also { it[criterion] = met })
    }

    fun toggle(criterion: Int) = check(criterion, !met[criterion])

    override val missing: String?
        get() = if (text.isBlank()) "Write your answer, then tick each criterion it meets." else null

    override fun build(): Response = Response.Reflection(text, met)
}

/**
 * A spoken answer: the learner records themselves (at most [maxSeconds]; the app's recorder
 * makes the file), then ticks each criterion the recording meets. Send it with
 * `TidbitClient.answerVoice(course, step, form)`, which carries the recording; [response] is what
 * the core records of it (the recording named by its SHA-256, never its bytes).
 */
class VoiceAnswer(
    override val prompt: String,
    val criteria: List<String>,
    val maxSeconds: Int,
    /** The recorder's file (WAV, Ogg, MP4/M4A, AMR, WebM or MP3), once recorded. */
    val recording: ByteArray? = null,
    /** The recording's length as the recorder reported it. */
    val durationMillis: Int = 0,
    /** Per criterion, in authored order: whether the learner says their recording meets it. */
    val met: List<Boolean> = List(criteria.size) { false },
) : ItemAnswer() {
    private fun copy(
        recording: ByteArray? = this.recording,
        durationMillis: Int = this.durationMillis,
        met: List<Boolean> = this.met,
    ) = VoiceAnswer(prompt, criteria, maxSeconds, recording, durationMillis, met)

    /** Attaches a (new) recording; the ticks stay. */
    fun record(audio: ByteArray, durationMillis: Int) = copy(recording = audio, durationMillis = durationMillis)

    fun check(criterion: Int, met: Boolean): VoiceAnswer {
        require(criterion in criteria.indices) { "criterion $criterion is not one of the ${criteria.size} criteria" }
        return copy(met = this.met.toMutableList().also { it[criterion] = met })
    }

    fun toggle(criterion: Int) = check(criterion, !met[criterion])

    override val missing: String?
        get() = when {
            recording == null || recording.isEmpty() -> "Record your answer (at most $maxSeconds seconds), then tick each point it meets."
            durationMillis > maxSeconds * 1000 -> "The recording is longer than $maxSeconds seconds: record a shorter answer."
            else -> null
        }

    override fun build(): Response = Response.Voice(sha256Hex(recording ?: ByteArray(0)), durationMillis.toUInt(), met)

    override fun equals(other: Any?): Boolean = other is VoiceAnswer && prompt == other.prompt &&
        criteria == other.criteria && maxSeconds == other.maxSeconds && durationMillis == other.durationMillis &&
        met == other.met && recording.contentEqualsOrBothNull(other.recording)

    override fun hashCode(): Int = listOf(prompt, criteria, maxSeconds, durationMillis, met, recording?.contentHashCode()).hashCode()

    override fun toString(): String =
        "VoiceAnswer(prompt=$prompt, criteria=$criteria, maxSeconds=$maxSeconds, recording=${recording?.size} bytes, durationMillis=$durationMillis, met=$met)"

    private companion object {
        fun ByteArray?.contentEqualsOrBothNull(other: ByteArray?) =
            if (this == null || other == null) this === other else contentEquals(other)

        fun sha256Hex(bytes: ByteArray): String =
            java.security.MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }
    }
}

/** What the learner reads after answering, from the core's `Feedback`. */
data class ItemFeedback(
    val outcome: Outcome,
    /** "Right", "Partly right" or "Not right". */
    val verdict: String,
    /** The credit the core gave, 0 to 100. */
    val creditPercent: Int,
    /** The feedback texts the answer triggered, in the order to show them. */
    val feedback: List<String>,
    /** The item's explanation; null when it only repeats what the learner has just seen (a flashcard's back). */
    val explanation: String?,
    /** When the core schedules the item again (UTC milliseconds). */
    val nextReviewAtMs: Long?,
    /** When the item comes back, in words: "Comes back in 3 days (12 Oct 2026)". */
    val comesBack: String?,
    /** The module finished, stage checks, refreshers added. */
    val notes: List<String>,
) {
    /** One sentence for a screen reader to announce when the feedback appears. */
    val announcement: String
        get() = listOfNotNull("$verdict, $creditPercent percent.", comesBack?.let { "$it." }).joinToString(" ")

    companion object {
        /**
         * The feedback for [feedback] at [nowMs]. [alreadyShown] is text the learner saw while
         * answering (a flashcard's back): an explanation that repeats it is left out.
         * [formatDate] writes the review date (by default the device's medium date format).
         */
        fun of(
            feedback: Feedback,
            nowMs: Long,
            alreadyShown: String? = null,
            formatDate: (Long) -> String = { DateFormat.getDateInstance(DateFormat.MEDIUM).format(Date(it)) },
        ): ItemFeedback {
            val assessment = feedback.assessment
            val explanation = assessment.explanation.trim()
            val notes = mutableListOf<String>()
            if (feedback.moduleCompleted) notes += "Module complete."
            for (check in feedback.stageChecks) {
                notes += when {
                    check.passed && check.unlocked != null -> "Stage check passed: the next stage is unlocked."
                    check.passed -> "Stage check passed: the path is complete."
                    else -> "Stage check not passed yet: bring every skill to ${Math.round(check.threshold * 100)} % and take it again."
                }
            }
            if (feedback.remediations.isNotEmpty()) notes += "A short refresher was added to your plan."
            return ItemFeedback(
                outcome = assessment.outcome,
                verdict = when (assessment.outcome) {
                    Outcome.RIGHT -> "Right"
                    Outcome.PARTIAL -> "Partly right"
                    Outcome.WRONG -> "Not right"
                },
                creditPercent = Math.round(assessment.credit * 100).toInt(),
                feedback = assessment.feedback,
                explanation = explanation.takeIf { it.isNotEmpty() && it != alreadyShown?.trim() },
                nextReviewAtMs = feedback.nextDueMs,
                comesBack = feedback.nextDueMs?.let { "Comes ${describeReturn(nowMs, it)} (${formatDate(it)})" },
                notes = notes,
            )
        }

        /**
         * When an item comes back, relative to [nowMs]: "back in 10 minutes", "back in 3 days";
         * the same steps as the terminal learner (`tidbit learn`).
         */
        fun describeReturn(nowMs: Long, dueMs: Long): String {
            val minute = 60_000L
            val hour = 60 * minute
            val day = 24 * hour
            val wait = dueMs - nowMs
            fun rounded(unit: Long) = maxOf((wait + unit / 2) / unit, 1L)
            fun plural(count: Long, unit: String) = if (count == 1L) "1 $unit" else "$count ${unit}s"
            return when {
                wait <= 0 -> "due again now"
                wait < minute -> "back in under a minute"
                wait < 90 * minute -> "back in ${plural(rounded(minute), "minute")}"
                wait < 36 * hour -> "back in ${plural(rounded(hour), "hour")}"
                wait < 60 * day -> "back in ${plural(rounded(day), "day")}"
                else -> "back in ${plural(rounded(30 * day), "month")}"
            }
        }
    }
}
