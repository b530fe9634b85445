// Course updates from Kotlin: the suites' server publishes the fixture course and assigns it to
// the learner (tests/bindings/common.sh); TidbitClient.updateCourses fetches it into a fresh
// store within what a CourseUpdatePolicy allows, resuming where a paused or cancelled update
// stopped.

import dev.tidbit.CourseUpdatePolicy
import dev.tidbit.TidbitClient
import dev.tidbit.interrupted
import dev.tidbit.ffi.Cancellation
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.CourseUpdateReport
import dev.tidbit.ffi.core.DownloadProgress
import dev.tidbit.ffi.core.InstallOutcome
import dev.tidbit.ffi.core.PendingDownload
import dev.tidbit.ffi.core.PendingReason
import java.nio.file.Files
import java.util.Collections
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking

/** The learner's phone with a fresh, empty store (the server's phone token is for it). */
fun withFreshPhone(body: suspend (TidbitClient) -> Unit) {
    val dir = Files.createTempDirectory("tidbit-courses").toFile()
    try {
        runBlocking { openDevice(dir, "phone", ManualClock()).use { body(it) } }
    } finally {
        dir.deleteRecursively()
    }
}

/** An update capped at `bytes`: the course's download pauses there. Returns the pack's size. */
suspend fun pauseAt(tidbit: TidbitClient, bytes: Long): Long {
    val settings = CourseUpdatePolicy(wifiOnly = false, bytesPerRun = bytes).settings(onUnmeteredNetwork = true)
    val paused = tidbit.updateCourses(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"), settings)
    val pending = paused.pending.single()
    check(pending.reason == PendingReason.ByteBudget && pending.bytesOnDevice == bytes.toULong()) { "$paused" }
    return pending.bytesTotal.toLong()
}

/** A full update after a paused one: it resumes from `resumed` bytes and installs the course. */
suspend fun finishAfterPause(tidbit: TidbitClient, resumed: Long, total: Long) {
    val done = tidbit.updateCourses(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
    check(done.bytesResumed == resumed.toULong() && done.bytesDownloaded == (total - resumed).toULong()) { "$done" }
    check(done.installed.map { it.courseId to it.outcome } == listOf(COURSE to InstallOutcome.Installed)) { "$done" }
    val catalog = tidbit.catalog().map { it.id }
    check(catalog == listOf(COURSE)) { "catalog: $catalog" }
}

val courseUpdatesTests: List<Pair<String, () -> Unit>> = listOf(
    "the assigned course waits for Wi-Fi, pauses at the byte budget, resumes and installs, then is up to date" to {
        withFreshPhone { tidbit ->
            val server = env("TIDBIT_SYNC_URL")
            val token = env("TIDBIT_PHONE_TOKEN")

            val metered = CourseUpdatePolicy(wifiOnly = true).settings(onUnmeteredNetwork = false)
            val waiting = tidbit.updateCourses(server, token, metered)
            check(waiting.offered == 1u && waiting.bytesDownloaded == 0uL) { "$waiting" }
            check(waiting.pending.map { it.courseId to it.reason } == listOf(COURSE to PendingReason.UnmeteredNetworkOnly)) { "$waiting" }
            check(!waiting.interrupted && tidbit.catalog().isEmpty()) { "$waiting" }

            val heard: MutableList<DownloadProgress> = Collections.synchronizedList(mutableListOf())
            val budget = CourseUpdatePolicy(wifiOnly = false, bytesPerRun = 2_000).settings(onUnmeteredNetwork = false)
            val paused = tidbit.updateCourses(server, token, budget, onDownload = { heard += it })
            check(paused.bytesDownloaded == 2_000uL && paused.bytesResumed == 0uL) { "$paused" }
            val pending = paused.pending.single()
            check(pending.courseId == COURSE && pending.reason == PendingReason.ByteBudget) { "$paused" }
            check(pending.bytesOnDevice == 2_000uL && pending.bytesTotal > 2_000uL) { "$pending" }
            check(!paused.interrupted && paused.installed.isEmpty()) { "$paused" }
            check(heard.isNotEmpty() && heard.all { it.courseId == COURSE && it.bytesTotal == pending.bytesTotal }) { "$heard" }
            check(heard.last().bytesOnDevice == 2_000uL) { "last heard: ${heard.last()}" }
            check(heard.zipWithNext().all { (a, b) -> a.bytesOnDevice <= b.bytesOnDevice }) { "progress went back: $heard" }
            check(tidbit.catalog().isEmpty()) { "a paused download installed something" }

            finishAfterPause(tidbit, 2_000, pending.bytesTotal.toLong())
            tidbit.enroll(COURSE, "tourist")
            check(tidbit.startModule(COURSE, "tour").isNotEmpty()) { "the installed course has no steps" }

            val again = tidbit.updateCourses(server, token, CourseUpdatePolicy().settings(onUnmeteredNetwork = true))
            check(again.upToDate == listOf(COURSE) && again.bytesDownloaded == 0uL) { "$again" }
            check(again.installed.isEmpty() && again.pending.isEmpty() && again.refused.isEmpty()) { "$again" }

            // The fixture course carries its media in the pack: opening a module fetches nothing.
            val media = tidbit.fetchModuleMedia(server, token, COURSE, "tour")
            check(media.fetched.isEmpty() && media.missing.isEmpty() && media.bytesDownloaded == 0uL) { "$media" }
        }
    },
    "course updates with a wrong token are Unauthorized and with a non-http URL InvalidSettings, and change nothing" to {
        withFreshPhone { tidbit ->
            val error = expectThrows<TidbitException.Unauthorized> {
                runBlocking { tidbit.updateCourses(env("TIDBIT_SYNC_URL"), "not-a-token") }
            }
            check("new token" in error.message.orEmpty()) { "${error.message}" }
            expectThrows<TidbitException.InvalidSettings> {
                runBlocking { tidbit.updateCourses("ftp://example.org", env("TIDBIT_PHONE_TOKEN")) }
            }
            val catalog = tidbit.catalog()
            check(catalog.isEmpty()) { "catalog: $catalog" }
        }
    },
    "cancelling a Cancellation stops a course update in flight; the paused download then resumes" to {
        withFreshPhone { tidbit ->
            val total = pauseAt(tidbit, 2_000)
            SilentServer().use { silent ->
                val cancellation = Cancellation()
                val error = coroutineScope {
                    val update = async {
                        try {
                            tidbit.raw.updateCourses(silent.url, env("TIDBIT_PHONE_TOKEN"), cancellation = cancellation)
                            null
                        } catch (e: TidbitException.Cancelled) {
                            e
                        }
                    }
                    // Cancelled once the server has the catalog's connection: the update is in flight.
                    check(silent.opened.acquireWithin(GUARD_SECONDS)) { "the server never saw the update's connection" }
                    check(!update.isCompleted) { "the update ended against a silent server" }
                    cancellation.cancel()
                    update.await()
                }
                check(error != null && "the course update was cancelled" in error.message.orEmpty()) { "${error?.message}" }
                check(silent.closed.acquireWithin(GUARD_SECONDS)) { "the cancelled update kept its connection open" }
                check(silent.accepted.get() == 1) { "connections: ${silent.accepted.get()}" }
            }
            val catalog = tidbit.catalog()
            check(catalog.isEmpty()) { "catalog after cancel: $catalog" }
            finishAfterPause(tidbit, 2_000, total)
        }
    },
    "a course update whose coroutine is cancelled stops; the paused download then resumes" to {
        withFreshPhone { tidbit ->
            val total = pauseAt(tidbit, 1_500)
            SilentServer().use { silent ->
                coroutineScope {
                    val update = async { tidbit.updateCourses(silent.url, env("TIDBIT_PHONE_TOKEN")) }
                    check(silent.opened.acquireWithin(GUARD_SECONDS)) { "the server never saw the update's connection" }
                    check(!update.isCompleted) { "the update ended against a silent server" }
                    update.cancel()
                    val outcome = try {
                        "returned ${update.await()}"
                    } catch (e: CancellationException) {
                        "cancelled"
                    }
                    check(outcome == "cancelled" && update.isCancelled) { "the cancelled update $outcome" }
                }
                check(silent.closed.acquireWithin(GUARD_SECONDS)) { "the cancelled update kept its connection open" }
                check(silent.accepted.get() == 1) { "connections: ${silent.accepted.get()}" }
            }
            val catalog = tidbit.catalog()
            check(catalog.isEmpty()) { "catalog after cancel: $catalog" }
            finishAfterPause(tidbit, 1_500, total)
        }
    },
    "a policy turns into settings; only an interrupted download asks for a retry" to {
        val wifi = CourseUpdatePolicy()
        check(wifi.settings(onUnmeteredNetwork = false).let { it.unmeteredOnly && !it.onUnmeteredNetwork && it.byteBudget == null }) { "$wifi" }
        val capped = CourseUpdatePolicy(wifiOnly = false, bytesPerRun = 50_000_000)
        check(capped.settings(onUnmeteredNetwork = true).let { !it.unmeteredOnly && it.byteBudget == 50_000_000uL }) { "$capped" }
        expectThrows<IllegalArgumentException> { CourseUpdatePolicy(bytesPerRun = 0) }

        fun waiting(reason: PendingReason) = CourseUpdateReport(
            offered = 1u, installed = listOf(), upToDate = listOf(),
            pending = listOf(PendingDownload(COURSE, "1.0.0", 2_000uL, 9_000uL, reason)),
            refused = listOf(), bytesDownloaded = 2_000uL, bytesResumed = 0uL, retries = 4u,
        )
        check(waiting(PendingReason.Interrupted("connection reset")).interrupted) { "interrupted" }
        check(!waiting(PendingReason.ByteBudget).interrupted) { "byte budget" }
        check(!waiting(PendingReason.UnmeteredNetworkOnly).interrupted) { "Wi-Fi only" }
    },
)
