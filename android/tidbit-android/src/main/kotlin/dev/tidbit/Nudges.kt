// Applying a nudge plan to the platform's notification scheduler, idempotently.
//
// Platform-independent: this file compiles on the JVM (tests/bindings/kotlin.sh runs it there
// against a recording scheduler) and on Android, where dev.tidbit.android.AlarmManagerNudgeScheduler
// implements NudgeScheduler. The plan itself (which nudges, when, ids) is the Rust core's.

package dev.tidbit

import dev.tidbit.ffi.Nudge
import dev.tidbit.ffi.NudgeMessage
import dev.tidbit.ffi.NudgePlan

/** Where notifications are handed to the operating system (AlarmManager, or a test recorder). */
interface NudgeScheduler {
    /** Holds a notification to fire at `fireAtUtcMs` (replacing any held under `id`). */
    fun schedule(id: String, fireAtUtcMs: Long, title: String, body: String, deepLink: String)

    /** Drops the notification held under `id`, if any. */
    fun cancel(id: String)

    /** The ids currently held. */
    fun pendingIds(): Set<String>
}

/** What one [NudgePlanApplier.apply] changed. */
data class NudgeApplyResult(
    /** Newly scheduled, in firing order. */
    val scheduled: List<String>,
    /** Cancelled because they vanished from the plan, sorted. */
    val cancelled: List<String>,
    /** Same id, different text or deep link: cancelled and scheduled again. */
    val rescheduled: List<String>,
    /** Left alone. */
    val unchanged: List<String>,
) {
    val changed: Boolean get() = scheduled.isNotEmpty() || cancelled.isNotEmpty() || rescheduled.isNotEmpty()
}

/**
 * Brings a [NudgeScheduler] in line with a plan: cancels pending ids the plan no longer holds,
 * schedules the nudges that are new, and leaves the others alone. A nudge's id covers its kind,
 * subject, fire time and variant, so a moved nudge has a new id; a nudge whose text changed
 * under the same id (say, more items due) is rescheduled when this applier saw it scheduled
 * (`fingerprints` remembers that; pass a persistent map to carry it across restarts).
 * Applying the same plan twice changes nothing.
 */
class NudgePlanApplier(
    private val scheduler: NudgeScheduler,
    private val fingerprints: MutableMap<String, String> = mutableMapOf(),
    /** Turns a localisable message into the text shown; the core's English text by default. */
    private val localize: (NudgeMessage) -> String = { it.text },
) {
    fun apply(plan: NudgePlan): NudgeApplyResult = apply(plan.nudges)

    fun apply(nudges: List<Nudge>): NudgeApplyResult {
        val wanted = LinkedHashMap<String, Nudge>()
        for (nudge in nudges) wanted.putIfAbsent(nudge.id, nudge)
        val pending = scheduler.pendingIds()

        val cancelled = pending.filter { it !in wanted }.sorted()
        for (id in cancelled) {
            scheduler.cancel(id)
            fingerprints.remove(id)
        }

        val scheduled = mutableListOf<String>()
        val rescheduled = mutableListOf<String>()
        val unchanged = mutableListOf<String>()
        for ((id, nudge) in wanted) {
            val title = localize(nudge.title)
            val body = localize(nudge.body)
            val print = fingerprint(nudge, title, body)
            when {
                id !in pending -> {
                    scheduler.schedule(id, nudge.fireAtUtcMs, title, body, nudge.deepLink)
                    scheduled += id
                }
                fingerprints[id].let { it != null && it != print } -> {
                    scheduler.cancel(id)
                    scheduler.schedule(id, nudge.fireAtUtcMs, title, body, nudge.deepLink)
                    rescheduled += id
                }
                else -> unchanged += id
            }
            fingerprints[id] = print
        }
        return NudgeApplyResult(scheduled, cancelled, rescheduled, unchanged)
    }

    private fun fingerprint(nudge: Nudge, title: String, body: String): String =
        listOf(nudge.fireAtUtcMs.toString(), title, body, nudge.deepLink).joinToString("\u0000")
}
