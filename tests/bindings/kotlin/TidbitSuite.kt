// The JVM suite for the Kotlin bindings: the real library through the generated code and the
// wrapper's coroutine API. Run by tests/bindings/kotlin.sh; prints one line per test and
// "N passed, N failed" at the end; exits 1 when any test fails.

import dev.tidbit.NudgePlanApplier
import dev.tidbit.NudgeScheduler
import dev.tidbit.Progress
import dev.tidbit.TidbitClient
import dev.tidbit.ffi.Cancellation
import dev.tidbit.ffi.Clock
import dev.tidbit.ffi.core.ItemView
import dev.tidbit.ffi.KeyStore
import dev.tidbit.ffi.LogLevel
import dev.tidbit.ffi.LogRecord
import dev.tidbit.ffi.Logger
import dev.tidbit.ffi.Nudge
import dev.tidbit.ffi.NudgeMessage
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.core.StepView
import dev.tidbit.ffi.Tidbit
import dev.tidbit.ffi.TidbitConfig
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.Activity
import dev.tidbit.ffi.core.InstallOutcome
import dev.tidbit.ffi.core.NudgeKind
import dev.tidbit.ffi.core.NudgeOutcome
import dev.tidbit.ffi.core.Outcome
import dev.tidbit.ffi.core.SelfRating
import dev.tidbit.ffi.core.StageKind
import dev.tidbit.ffi.defaultNudgePreferences
import dev.tidbit.ffi.setLogger
import dev.tidbit.ffi.verifyCertificate
import java.io.File
import java.io.IOException
import java.net.InetAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlin.concurrent.thread
import kotlin.system.exitProcess

const val COURSE = "binding-tour"
const val START_MS = 1_790_000_000_000L

val pack = File(env("TIDBIT_PACK"))
val authorPub = File(env("TIDBIT_AUTHOR_PUB")).readText()
val issuerKey = File(env("TIDBIT_ISSUER_KEY")).readText()
val issuerPub = File(env("TIDBIT_ISSUER_PUB")).readText()

fun env(name: String): String = System.getenv(name) ?: error("$name is not set: run tests/bindings/kotlin.sh")

class ManualClock(var ms: Long = START_MS) : Clock {
    override fun nowMs(): Long = ms
}

/** The app's key store: the certificate issuer's key and this device's at-rest key (random). */
class MemoryKeyStore(
    private val key: String?,
    private var atRest: ByteArray? = ByteArray(32).also { java.security.SecureRandom().nextBytes(it) },
) : KeyStore {
    var destroyed = 0
    override fun certificateSigningKey(): String? = key
    override fun atRestKey(): ByteArray? = atRest
    override fun destroyAtRestKey() {
        atRest = null
        destroyed++
    }
}

class ListLogger : Logger {
    val records: MutableList<LogRecord> = Collections.synchronizedList(mutableListOf())
    override fun log(record: LogRecord) {
        records.add(record)
    }
}

/** The right answer for every item of the fixture course. */
val right: Map<String, Response> = mapOf(
    "tour-single" to Response.SingleChoice(1u),
    "tour-multiple" to Response.MultipleResponse(listOf(0u, 2u, 3u)),
    "tour-truefalse" to Response.TrueFalse(true),
    "tour-blanks" to Response.FillBlanks(listOf("paris", " Roma ")),
    "tour-order" to Response.Ordering(listOf(0u, 1u, 2u)),
    "tour-match" to Response.Matching(listOf("bark", "meow", "moo")),
    "tour-numeric" to Response.Numeric(120.0),
    "tour-scenario" to Response.Scenario(listOf(0u, 0u)),
    "tour-flashcard" to Response.Flashcard(SelfRating.GOOD),
    "tour-reflection" to Response.Reflection("Mercury is closest; it helps at quiz night.", listOf(true, true)),
    "check-single" to Response.SingleChoice(0u),
    "check-truefalse" to Response.TrueFalse(true),
)

/** A NudgeScheduler that holds ids in memory and logs every call. */
class RecordingScheduler : NudgeScheduler {
    val held = LinkedHashMap<String, Long>()
    val calls = mutableListOf<String>()
    override fun schedule(id: String, fireAtUtcMs: Long, title: String, body: String, deepLink: String) {
        held[id] = fireAtUtcMs
        calls += "schedule $id"
    }
    override fun cancel(id: String) {
        held.remove(id)
        calls += "cancel $id"
    }
    override fun pendingIds(): Set<String> = held.keys.toSet()
}

fun config(dir: File) = TidbitConfig(
    dataDir = dir.resolve("learner").path,
    learnerId = "ada@example.org",
    deviceId = "kotlin-test-device",
    timeZone = "Europe/Berlin",
    trustedKeys = listOf(authorPub),
)

fun check(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}

inline fun <reified E : Throwable> expectThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

/** A server on 127.0.0.1 that accepts connections, reads what comes and never answers. */
class SilentServer : AutoCloseable {
    private val listener = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    val url = "http://127.0.0.1:${listener.localPort}"
    val accepted = AtomicInteger()
    /** Released once for every connection the server accepted. */
    val opened = Semaphore(0)
    /** Released once for every connection the client closed. */
    val closed = Semaphore(0)

    init {
        thread(isDaemon = true) {
            while (true) {
                val socket = try { listener.accept() } catch (e: IOException) { break }
                accepted.incrementAndGet()
                opened.release()
                thread(isDaemon = true) {
                    try {
                        socket.use { it.getInputStream().use { input -> while (input.read(ByteArray(4096)) >= 0) {} } }
                    } catch (e: IOException) {
                    }
                    closed.release()
                }
            }
        }
    }

    override fun close() = listener.close()
}

/** `http://127.0.0.1:PORT` where nothing listens: a port bound, read and let go. */
fun refusingServerUrl(): String =
    ServerSocket(0, 50, InetAddress.getLoopbackAddress()).use { "http://127.0.0.1:${it.localPort}" }

/** Long enough that a wait fails the test rather than hang it; never what a test asserts. */
const val GUARD_SECONDS = 60L

/** Waits off the caller's thread (so the sync's coroutine keeps running) for one permit. */
suspend fun Semaphore.acquireWithin(seconds: Long): Boolean =
    withContext(Dispatchers.IO) { tryAcquire(seconds, TimeUnit.SECONDS) }

/** One device of the suite's learner, with its own store in `dir`. */
suspend fun openDevice(dir: File, device: String, clock: ManualClock): TidbitClient =
    TidbitClient.open(
        config(dir).copy(dataDir = dir.resolve(device).path, deviceId = device),
        MemoryKeyStore(null),
        clock,
    )

/** A fresh learner with the fixture pack installed, closed after `body`. */
fun withLearner(clock: ManualClock = ManualClock(), key: String? = issuerKey, body: suspend (TidbitClient, ManualClock) -> Unit) {
    val dir = Files.createTempDirectory("tidbit-kotlin").toFile()
    try {
        runBlocking {
            TidbitClient.open(config(dir), MemoryKeyStore(key), clock).use { tidbit ->
                val events = tidbit.installPack(pack.path).toList()
                val finished = events.last() as Progress.Finished
                check(finished.result.outcome == InstallOutcome.Installed) { "install: ${finished.result}" }
                body(tidbit, clock)
            }
        }
    } finally {
        dir.deleteRecursively()
    }
}

suspend fun runModule(tidbit: TidbitClient, clock: ManualClock, module: String): dev.tidbit.ffi.core.Feedback? {
    var last: dev.tidbit.ffi.core.Feedback? = null
    for (step in tidbit.startModule(COURSE, module)) {
        clock.ms += 20_000
        when (step) {
            is StepView.Lesson -> tidbit.viewStep(COURSE, step.id)
            is StepView.Item -> {
                if (step.view is ItemView.Flashcard) {
                    check(tidbit.flashcardBack(COURSE, step.id) == "Au, from the Latin aurum.") { "flashcard back" }
                }
                val feedback = tidbit.answer(COURSE, step.id, right.getValue(step.id), 6_000)
                check(feedback.assessment.outcome == Outcome.RIGHT) { "${step.id}: ${feedback.assessment}" }
                last = feedback
            }
        }
    }
    return last
}

val tests: List<Pair<String, () -> Unit>> = listOf(
    "installing a pack reports progress, then the catalog lists it" to {
        val dir = Files.createTempDirectory("tidbit-kotlin").toFile()
        runBlocking {
            TidbitClient.open(config(dir), MemoryKeyStore(null), ManualClock()).use { tidbit ->
                val events = tidbit.installPack(pack.path).toList()
                val working = events.filterIsInstance<Progress.Working>()
                check(working.isNotEmpty() && working.last().done == working.last().total) { "progress: $working" }
                val report = (events.last() as Progress.Finished).result
                check(report.courseId == COURSE && report.outcome == InstallOutcome.Installed) { "$report" }
                val again = (tidbit.installPack(pack.path).toList().last() as Progress.Finished).result
                check(again.outcome == InstallOutcome.AlreadyInstalled) { "$again" }
                val course = tidbit.catalog().single()
                val stage = course.paths.single().stages.single()
                check(stage.kind == StageKind.FOUNDATION && stage.check?.id == "tour-check") { "$stage" }
                check(stage.modules.single().items == 10u) { "${stage.modules}" }
            }
        }
        dir.deleteRecursively()
    },
    "a tampered pack is refused and installs nothing" to {
        val dir = Files.createTempDirectory("tidbit-kotlin").toFile()
        val bytes = pack.readBytes()
        bytes[bytes.size - 10] = (bytes[bytes.size - 10].toInt() xor 0xFF).toByte()
        val tampered = dir.resolve("tampered.tidbit").apply { writeBytes(bytes) }
        runBlocking {
            TidbitClient.open(config(dir), MemoryKeyStore(null), ManualClock()).use { tidbit ->
                expectThrows<TidbitException.PackRejected> { runBlocking { tidbit.installPack(tampered.path).toList() } }
                check(tidbit.catalog().isEmpty()) { "catalog not empty" }
            }
        }
        dir.deleteRecursively()
    },
    "item views never carry answers, feedback or explanations" to {
        withLearner { tidbit, _ ->
            tidbit.enroll(COURSE, "tourist")
            val steps = tidbit.startModule(COURSE, "tour")
            val kinds = steps.filterIsInstance<StepView.Item>().map { it.view::class }.toSet()
            check(kinds.size == 10) { "item kinds: $kinds" }
            val text = steps.toString()
            for (secret in listOf("Right, Mercury is closest", "Mercury orbits", "aurum")) {
                check(secret !in text) { "view reveals '$secret'" }
            }
        }
    },
    "a learner runs the path with every item kind to a verified certificate" to {
        withLearner { tidbit, clock ->
            check(tidbit.nextActivity().activity == Activity.Enroll(COURSE, "tourist")) { "enroll first" }
            tidbit.enroll(COURSE, "tourist")
            val home = tidbit.home()
            check(home.recommendation.activity == Activity.Module(COURSE, "tour", false)) { "${home.recommendation}" }
            val last = runModule(tidbit, clock, "tour")!!
            check(last.moduleCompleted) { "module not completed: $last" }
            check((last.nextDueMs ?: 0) > clock.ms) { "next due: ${last.nextDueMs}" }
            val plan = tidbit.planSession(10)
            check(plan.budgetSeconds == 600u && plan.totalSeconds <= plan.budgetSeconds) { "$plan" }
            check(tidbit.nextActivity().activity == Activity.Module(COURSE, "tour-check", true)) { "check next" }
            val result = runModule(tidbit, clock, "tour-check")!!.stageChecks.single()
            check(result.passed && result.stage == "foundation") { "$result" }
            check(tidbit.stages(COURSE).single().passedMs != null) { "stage not passed" }
            check(tidbit.streak().practisedToday) { "streak" }
            val certificate = tidbit.issueCertificate(COURSE, "Tidbit binding tests")
            val verified = verifyCertificate(certificate, listOf(issuerPub))
            check(verified.learnerId == "ada@example.org" && verified.pathId == "tourist") { "$verified" }
            check(tidbit.decisions(5).first().kind == "next_activity") { "decisions" }
        }
    },
    "wrong and partial answers get their feedback" to {
        withLearner { tidbit, _ ->
            tidbit.enroll(COURSE, "tourist")
            tidbit.startModule(COURSE, "tour")
            val wrong = tidbit.answer(COURSE, "tour-single", Response.SingleChoice(0u), 4_000)
            check(wrong.assessment.outcome == Outcome.WRONG && wrong.assessment.feedback == listOf("Venus is second.")) { "$wrong" }
            val partial = tidbit.answer(COURSE, "tour-multiple", Response.MultipleResponse(listOf(0u, 1u)), 4_000)
            check(partial.assessment.outcome == Outcome.PARTIAL) { "$partial" }
        }
    },
    "a malformed answer is a typed error and records nothing" to {
        withLearner { tidbit, _ ->
            tidbit.enroll(COURSE, "tourist")
            tidbit.startModule(COURSE, "tour")
            val error = expectThrows<TidbitException.InvalidAnswer> {
                runBlocking { tidbit.answer(COURSE, "tour-single", Response.SingleChoice(9u), 1_000) }
            }
            check("out of range" in (error.message ?: "")) { "${error.message}" }
            expectThrows<TidbitException.WrongStepKind> {
                runBlocking { tidbit.answer(COURSE, "tour-intro", Response.TrueFalse(true), 1_000) }
            }
            check(tidbit.mastery(COURSE).single().evidence.isEmpty()) { "evidence recorded" }
        }
    },
    "a bad time zone is refused at open" to {
        val dir = Files.createTempDirectory("tidbit-kotlin").toFile()
        val error = expectThrows<TidbitException.InvalidSettings> {
            Tidbit.openWithClock(config(dir).copy(timeZone = "Mars/Olympus"), MemoryKeyStore(null), ManualClock())
        }
        check("IANA" in (error.message ?: "")) { "${error.message}" }
        dir.deleteRecursively()
    },
    "a certificate needs a key in the key store" to {
        withLearner(key = null) { tidbit, _ ->
            expectThrows<TidbitException.KeyStore> { runBlocking { tidbit.issueCertificate(COURSE, "Issuer") } }
        }
    },
    "fitting parameters waits for enough history" to {
        withLearner { tidbit, _ ->
            runBlocking { tidbit.setConsent(dev.tidbit.ffi.core.ConsentScope.PERSONALISATION, true) }
            val error = expectThrows<TidbitException.NotYet> { runBlocking { tidbit.fitParameters().toList() } }
            check("keep practising" in (error.message ?: "")) { "${error.message}" }
        }
    },
    "the logger receives Tidbit's events at its level" to {
        val logger = ListLogger()
        setLogger(logger, LogLevel.DEBUG)
        withLearner { tidbit, _ ->
            expectThrows<TidbitException.UnknownContent> { runBlocking { tidbit.startModule(COURSE, "missing") } }
            check(logger.records.any { it.level == LogLevel.WARN && "start_module" in it.message }) { "${logger.records}" }
            setLogger(logger, LogLevel.ERROR)
            val before = logger.records.size
            expectThrows<TidbitException.UnknownContent> { runBlocking { tidbit.startModule(COURSE, "missing") } }
            check(logger.records.size == before) { "warn logged at ERROR level" }
        }
    },
    "a forced internal panic is an error and the object keeps working" to {
        withLearner { tidbit, _ ->
            val error = expectThrows<TidbitException.Internal> { tidbit.raw.forceInternalPanic() }
            check("forced internal panic" in (error.message ?: "")) { "${error.message}" }
            check(tidbit.catalog().single().id == COURSE) { "catalog after panic" }
            tidbit.enroll(COURSE, "tourist")
        }
    },
    "two devices of a learner converge through the sync server" to {
        val server = env("TIDBIT_SYNC_URL")
        val dir = Files.createTempDirectory("tidbit-kotlin").toFile()
        try {
            runBlocking {
                val phone = openDevice(dir, "phone", ManualClock())
                val tablet = openDevice(dir, "tablet", ManualClock(START_MS + 60_000))
                phone.use {
                    tablet.use {
                        for (device in listOf(phone, tablet)) {
                            device.installPack(pack.path).toList()
                            device.enroll(COURSE, "tourist")
                            device.startModule(COURSE, "tour")
                        }
                        phone.answer(COURSE, "tour-single", right.getValue("tour-single"), 5_000)
                        tablet.answer(COURSE, "tour-truefalse", right.getValue("tour-truefalse"), 3_000)
                        check(phone.projectionDigest() != tablet.projectionDigest()) { "digests equal before sync" }

                        val first = phone.sync(server, env("TIDBIT_PHONE_TOKEN"))
                        val second = tablet.sync(server, env("TIDBIT_TABLET_TOKEN"))
                        val third = phone.sync(server, env("TIDBIT_PHONE_TOKEN"))

                        check(first.roundTrips >= 1u && first.bytesUp > 0uL && first.retries == 0u) { "first: $first" }
                        check(second.roundTrips >= 1u && second.eventsReceived > 0uL && second.documents >= 1u) { "second: $second" }
                        check(third.eventsReceived > 0uL) { "third: $third" }
                        check(phone.projectionDigest() == tablet.projectionDigest()) { "digests differ after sync" }
                        val steps = phone.mastery(COURSE).flatMap { m -> m.evidence.map { it.step } }.toSet()
                        check(steps.containsAll(listOf("tour-single", "tour-truefalse"))) { "evidence: $steps" }
                    }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
    "a wrong sync token is Unauthorized" to {
        withLearner { tidbit, _ ->
            val error = expectThrows<TidbitException.Unauthorized> {
                runBlocking { tidbit.sync(env("TIDBIT_SYNC_URL"), "not-a-token") }
            }
            check("new token" in (error.message ?: "")) { "${error.message}" }
        }
    },
    "a sync whose coroutine is cancelled stops on a silent server, and a later sync converges" to {
        val dir = Files.createTempDirectory("tidbit-kotlin").toFile()
        try {
            SilentServer().use { silent ->
                runBlocking {
                    val phone = openDevice(dir, "phone", ManualClock(START_MS + 120_000))
                    val tablet = openDevice(dir, "tablet", ManualClock(START_MS + 180_000))
                    phone.use {
                        tablet.use {
                            for (device in listOf(phone, tablet)) {
                                device.installPack(pack.path).toList()
                                device.enroll(COURSE, "tourist")
                            }
                            phone.startModule(COURSE, "tour")
                            phone.answer(COURSE, "tour-numeric", right.getValue("tour-numeric"), 4_000)
                            val nextBefore = phone.nextActivity().activity

                            // The sync runs until the server has its connection; its coroutine
                            // is cancelled there, as a withTimeout or a closed scope does.
                            val sync = async { phone.sync(silent.url, env("TIDBIT_PHONE_TOKEN")) }
                            check(silent.opened.acquireWithin(GUARD_SECONDS)) { "the server never saw the sync's connection" }
                            check(!sync.isCompleted) { "the sync ended against a silent server" }
                            sync.cancel()
                            val outcome = try {
                                "returned ${sync.await()}"
                            } catch (e: CancellationException) {
                                "cancelled"
                            }
                            check(outcome == "cancelled") { "the cancelled sync $outcome" }
                            check(sync.isCancelled) { "the sync's coroutine was not cancelled" }
                            check(silent.closed.acquireWithin(GUARD_SECONDS)) { "the cancelled sync kept its connection open" }
                            check(silent.accepted.get() == 1) { "connections: ${silent.accepted.get()}" }
                            check(phone.nextActivity().activity == nextBefore) { "next activity changed" }

                            val first = phone.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
                            val second = tablet.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_TABLET_TOKEN"))
                            val third = phone.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
                            check(first.roundTrips >= 1u && first.retries == 0u) { "first: $first" }
                            check(second.eventsReceived > 0uL && third.eventsReceived > 0uL) { "second: $second, third: $third" }
                            check(phone.projectionDigest() == tablet.projectionDigest()) { "digests differ after sync" }
                            val steps = tablet.mastery(COURSE).flatMap { m -> m.evidence.map { it.step } }
                            check("tour-numeric" in steps) { "tablet evidence: $steps" }
                        }
                    }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
    "a sync to a port with nothing listening fails with Network after 5 attempts and changes nothing" to {
        withLearner { tidbit, _ ->
            tidbit.enroll(COURSE, "tourist")
            suspend fun state() = listOf(
                tidbit.projectionDigest(), tidbit.nextActivity().activity, tidbit.mastery(COURSE), tidbit.stages(COURSE),
            )
            val before = state()
            val url = refusingServerUrl()
            val error = try {
                tidbit.sync(url, "any-token")
                null
            } catch (e: TidbitException.Network) {
                e
            }
            check(error != null) { "synced with nothing listening" }
            check("could not be reached after 5 attempts" in (error?.message ?: "")) { "${error?.message}" }
            check(state() == before) { "the failed sync changed the device" }
        }
    },
    "cancelling a Cancellation stops a sync in flight with Cancelled" to {
        withLearner { tidbit, _ ->
            SilentServer().use { silent ->
                val cancellation = Cancellation()
                val error = coroutineScope {
                    val sync = async {
                        try {
                            tidbit.raw.sync(silent.url, "any-token", cancellation)
                            null
                        } catch (e: TidbitException.Cancelled) {
                            e
                        }
                    }
                    // Cancelled once the server has the connection: the sync is in flight.
                    check(silent.opened.acquireWithin(GUARD_SECONDS)) { "the server never saw the sync's connection" }
                    check(!sync.isCompleted) { "the sync ended against a silent server" }
                    cancellation.cancel()
                    sync.await()
                }
                check(error != null && "the sync was cancelled" in (error.message ?: "")) { "${error?.message}" }
                check(cancellation.isCancelled()) { "not marked cancelled" }
                check(silent.closed.acquireWithin(GUARD_SECONDS)) { "the cancelled sync kept its connection open" }
                check(silent.accepted.get() == 1) { "connections: ${silent.accepted.get()}" }
                check(tidbit.catalog().single().id == COURSE) { "catalog after cancel" }
            }
        }
    },
    "successive nudge plans are applied idempotently to a scheduler" to {
        withLearner { tidbit, clock ->
            tidbit.enroll(COURSE, "tourist")
            runModule(tidbit, clock, "tour")
            val prefs = defaultNudgePreferences(true).copy(quietHours = "21:00-08:00", dailyCap = 2u)
            val first = tidbit.planNudges(prefs)
            val ids1 = first.nudges.map { it.id }
            check(ids1.isNotEmpty()) { "no nudges planned: ${first.decisions}" }
            check(first.timeZone == "Europe/Berlin") { first.timeZone }
            check(first.nudges.all { it.fireAtUtcMs >= clock.ms && it.fireAtLocal.isNotEmpty() && it.deepLink.isNotEmpty() }) { "${first.nudges}" }

            val scheduler = RecordingScheduler()
            val applier = NudgePlanApplier(scheduler)
            val applied = applier.apply(first)
            check(applied.scheduled == ids1 && applied.cancelled.isEmpty() && applied.unchanged.isEmpty()) { "$applied" }
            check(scheduler.calls == ids1.map { "schedule $it" }) { "${scheduler.calls}" }
            check(scheduler.held == first.nudges.associate { it.id to it.fireAtUtcMs }) { "${scheduler.held}" }

            // The same inputs again: the same ids and times, and nothing touched.
            val again = tidbit.planNudges(prefs)
            check(again.nudges.map { it.id to it.fireAtUtcMs } == first.nudges.map { it.id to it.fireAtUtcMs }) { "re-plan differs" }
            val before = scheduler.calls.size
            val same = applier.apply(again)
            check(!same.changed && same.unchanged == ids1 && scheduler.calls.size == before) { "$same" }

            // Two days later: only the differences are applied.
            clock.ms += 2 * 86_400_000L
            val later = tidbit.planNudges(prefs)
            val ids3 = later.nudges.map { it.id }
            val mark = scheduler.calls.size
            val diff = applier.apply(later)
            check(diff.cancelled == (ids1 - ids3.toSet()).sorted()) { "cancelled ${diff.cancelled}" }
            check(diff.scheduled == ids3.filter { it !in ids1 }) { "scheduled ${diff.scheduled}" }
            check((diff.unchanged + diff.rescheduled).toSet() == ids3.filter { it in ids1 }.toSet()) { "$diff" }
            check(diff.cancelled.isNotEmpty() && diff.scheduled.isNotEmpty()) { "later plan did not move: $diff" }
            val expected = diff.cancelled.map { "cancel $it" } +
                ids3.flatMap { id ->
                    when (id) {
                        in diff.scheduled -> listOf("schedule $id")
                        in diff.rescheduled -> listOf("cancel $id", "schedule $id")
                        else -> emptyList()
                    }
                }
            check(scheduler.calls.drop(mark) == expected) { "calls ${scheduler.calls.drop(mark)}" }
            check(scheduler.held == later.nudges.associate { it.id to it.fireAtUtcMs }) { "held ${scheduler.held}" }
            check(!applier.apply(later).changed) { "second apply of the later plan changed something" }
            println("     (${ids1.size} nudges, then ${ids3.size} two days later: ${diff.cancelled.size} cancelled, " +
                "${diff.scheduled.size} added, ${diff.unchanged.size} unchanged, ${diff.rescheduled.size} rescheduled)")

            tidbit.recordNudgeOutcome(later.nudges.first(), NudgeOutcome.SCHEDULED)
            check(later.nudges.all { it.kind != NudgeKind.COHORT_PROMPT }) { "cohort prompt planned" }
            check(tidbit.planNudges(defaultNudgePreferences(false)).nudges.isEmpty()) { "planned without consent" }
        }
    },
    "the plan applier cancels, adds, replaces changed text and leaves the rest" to {
        fun nudge(id: String, at: Long, body: String = "3 items due") = Nudge(
            id = id, kind = NudgeKind.REINFORCEMENT_DUE, subject = "2026-09-22", fireAtUtcMs = at,
            fireAtLocal = "2026-09-22T10:00:00+02:00",
            title = NudgeMessage("nudge.due.title", mapOf(), "Time for a tidbit"),
            body = NudgeMessage("nudge.due.body", mapOf("count" to "3"), body),
            deepLink = "tidbit://review", variant = "plain", soft = false, value = 1.0, deadlineUtcMs = null,
        )
        val scheduler = RecordingScheduler()
        scheduler.held["foreign-stale"] = 1L // held from an earlier run, absent from every plan
        val applier = NudgePlanApplier(scheduler, localize = { it.key + ":" + it.text })
        val first = applier.apply(listOf(nudge("a", 10), nudge("b", 20), nudge("c", 30)))
        check(first == dev.tidbit.NudgeApplyResult(listOf("a", "b", "c"), listOf("foreign-stale"), listOf(), listOf())) { "$first" }
        scheduler.calls.clear()
        check(!applier.apply(listOf(nudge("a", 10), nudge("b", 20), nudge("c", 30))).changed && scheduler.calls.isEmpty()) { "${scheduler.calls}" }
        val second = applier.apply(listOf(nudge("b", 20, body = "5 items due"), nudge("c", 30), nudge("d", 40)))
        check(second == dev.tidbit.NudgeApplyResult(listOf("d"), listOf("a"), listOf("b"), listOf("c"))) { "$second" }
        check(scheduler.calls == listOf("cancel a", "cancel b", "schedule b", "schedule d")) { "${scheduler.calls}" }
        check(scheduler.held == mapOf("b" to 20L, "c" to 30L, "d" to 40L)) { "${scheduler.held}" }
        check(applier.apply(listOf()).cancelled == listOf("b", "c", "d") && scheduler.held.isEmpty()) { "empty plan" }
    },
    "a closed Tidbit refuses calls" to {
        val dir = Files.createTempDirectory("tidbit-kotlin").toFile()
        val tidbit = Tidbit.openWithClock(config(dir), MemoryKeyStore(null), ManualClock())
        tidbit.closeStore()
        expectThrows<TidbitException.Closed> { tidbit.catalog() }
        tidbit.close()
        expectThrows<IllegalStateException> { tidbit.catalog() }
        dir.deleteRecursively()
    },
)

fun main() {
    var passed = 0
    var failed = 0
    for ((name, test) in tests + atRestTests + eraseTests + dataRightsTests + outcomesTests + inventoryTests + itemKindsTests + courseUpdatesTests + pushTests + interventionTests + voiceTests + cohortTests + goalsTests + transportTests) {
        try {
            test()
            passed++
            println("ok   $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
