// Learning together from Kotlin: two learners of a cohort, each on a phone of their own, share
// an answer, rate it, post, react and hide through the suites' server (tests/bindings/common.sh),
// and see the same space and the same rota of the week; a spoken answer shared is uploaded by
// sync and fetched whole by a peer; what a space does not take is TidbitException.Community and
// writes nothing.
//
// The cohorts are formed as the L&D team forms them, `POST /v1/admin/cohorts` with the admin
// token; the members' devices have the customer-objections sample course (its reflection
// `comp-reflect` has three criteria) and the community consent scope. Their clocks start at the
// real time: the server dates the roster by its own clock and takes no entry dated a day ahead
// of it. The two phones share one clock moved forward between steps, so each entry follows the
// one it answers.

import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitConfig
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.ConsentScope
import dev.tidbit.ffi.core.Reaction
import dev.tidbit.ffi.core.ReactionCount
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.core.SharedAnswer
import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.security.MessageDigest
import kotlinx.coroutines.runBlocking

const val COHORT_COURSE = "customer-objections"
const val COHORT_PATH = "sales-executive"
const val COHORT_REFLECTION = "comp-reflect"

val cohortPack = File(env("TIDBIT_COHORT_PACK"))

/** `POST {server}{path}` with a JSON body and the admin token: the status and the body. */
fun adminPost(path: String, json: String): Pair<Int, String> {
    val connection = URI("${env("TIDBIT_SYNC_URL")}$path").toURL().openConnection() as HttpURLConnection
    try {
        connection.requestMethod = "POST"
        connection.setRequestProperty("Authorization", "Bearer ${env("TIDBIT_ADMIN_TOKEN")}")
        connection.setRequestProperty("Content-Type", "application/json")
        connection.doOutput = true
        connection.outputStream.use { it.write(json.toByteArray()) }
        val status = connection.responseCode
        val body = (if (status < 400) connection.inputStream else connection.errorStream).readBytes().decodeToString()
        return status to body
    } finally {
        connection.disconnect()
    }
}

/** Forms cohort [id] of [members] on the customer-objections course's sales-executive path. */
fun formCohort(id: String, members: List<String>) {
    val listed = members.joinToString(",") { "\"$it\"" }
    val (status, body) = adminPost(
        "/v1/admin/cohorts",
        """{"id":"$id","course":"$COHORT_COURSE","path":"$COHORT_PATH","members":[$listed]}""",
    )
    check(status == 200) { "forming $id: $status $body" }
    check(body.contains("\"members\":[$listed]")) { "forming $id: $body" }
}

/** [learner]'s [device] with a fresh store in [dir]: the course installed, enrolled, community given. */
suspend fun openMember(dir: File, learner: String, device: String, clock: ManualClock): TidbitClient {
    val config = TidbitConfig(
        dataDir = dir.resolve(device).path,
        learnerId = learner,
        deviceId = device,
        timeZone = "Europe/Berlin",
        trustedKeys = listOf(authorPub),
    )
    val member = TidbitClient.open(config, MemoryKeyStore(null), clock)
    member.installPack(cohortPack.path).collect {}
    member.enroll(COHORT_COURSE, COHORT_PATH)
    member.setConsent(ConsentScope.COMMUNITY, true)
    return member
}

fun withCohortDir(body: suspend (File) -> Unit) {
    val dir = Files.createTempDirectory("tidbit-cohort").toFile()
    try {
        runBlocking { body(dir) }
    } finally {
        dir.deleteRecursively()
    }
}

const val ANA_REFLECTION =
    "Kestrel: stronger on onboarding time and on support hours; they are stronger on price per seat. " +
        "Fair test: a two-week pilot on their own routes."

val cohortTests: List<Pair<String, () -> Unit>> = listOf(
    "two members share an answer, rate it, post, react and hide, and see one space and one rota" to {
        withCohortDir { dir ->
            val server = env("TIDBIT_SYNC_URL")
            formCohort("north-1", listOf("ana", "ben"))
            val clock = ManualClock(System.currentTimeMillis())
            openMember(dir, "ana", "ana-phone", clock).use { ana ->
                openMember(dir, "ben", "ben-phone", clock).use { ben ->
                    suspend fun anaSyncs() = ana.sync(server, env("TIDBIT_ANA_TOKEN"))
                    suspend fun benSyncs() = ben.sync(server, env("TIDBIT_BEN_TOKEN"))

                    val unsynced = ana.cohorts()
                    check(unsynced.isEmpty()) { "a cohort before any sync: $unsynced" }
                    anaSyncs()
                    benSyncs()
                    val anaCohorts = ana.cohorts()
                    val benCohorts = ben.cohorts()
                    check(anaCohorts == listOf("north-1")) { "ana's cohorts: $anaCohorts" }
                    check(benCohorts == listOf("north-1")) { "ben's cohorts: $benCohorts" }
                    val formed = ana.cohort("north-1")
                    check(formed.course == COHORT_COURSE && formed.path == COHORT_PATH) { "$formed" }
                    check(formed.members.map { it.learner } == listOf("ana", "ben")) { "${formed.members}" }
                    check(formed.roles == listOf("facilitator", "reviewer", "summariser")) { "${formed.roles}" }
                    check(formed.posts.isEmpty() && formed.shares.isEmpty()) { "$formed" }

                    // ana answers the reflection on her own and shares it.
                    clock.ms += 60_000
                    val answered = ana.answer(
                        COHORT_COURSE, COHORT_REFLECTION, Response.Reflection(ANA_REFLECTION, listOf(true, true, true)), 90_000,
                    )
                    check(answered.answerEvent.isNotEmpty()) { "no answer id: $answered" }
                    val share = ana.shareAnswer("north-1", answered.answerEvent, SharedAnswer.Reflection(ANA_REFLECTION))
                    anaSyncs()

                    // ben sees it, rates it against its three criteria and posts.
                    clock.ms += 60_000
                    benSyncs()
                    val shared = ben.cohort("north-1").shares
                    check(shared.map { it.id } == listOf(share)) { "ben sees shares $shared" }
                    check(shared[0].author == "ana" && shared[0].step == COHORT_REFLECTION) { "${shared[0]}" }
                    check(shared[0].answerEvent == answered.answerEvent) { "${shared[0]}" }
                    check(shared[0].answer == SharedAnswer.Reflection(ANA_REFLECTION)) { "${shared[0].answer}" }
                    check(shared[0].criteria.size == 3) { "${shared[0].criteria}" }
                    check(shared[0].criteria[1] == "I named at least one area where the competitor is genuinely stronger.") {
                        "${shared[0].criteria}"
                    }
                    check(shared[0].feedback.isEmpty()) { "${shared[0].feedback}" }
                    val rating = ben.giveFeedback(
                        "north-1", share, listOf(true, false, true), "Outcomes, not features; the pilot is a fair test",
                    )
                    val post = ben.postToCohort("north-1", "Tried a buyer-run pilot on a price call today", module = "competitor-comparisons")
                    benSyncs()

                    // ana sees the feedback on her share, and ben's post; she finds it helpful.
                    clock.ms += 60_000
                    anaSyncs()
                    val seen = ana.cohort("north-1")
                    val feedback = seen.shares.single().feedback
                    check(feedback.map { it.id } == listOf(rating)) { "ana sees feedback $feedback" }
                    check(feedback[0].reviewer == "ben" && feedback[0].criteriaMet == listOf(true, false, true)) { "${feedback[0]}" }
                    check(feedback[0].comment == "Outcomes, not features; the pilot is a fair test") { "${feedback[0]}" }
                    check(seen.posts.map { it.id } == listOf(post)) { "ana sees posts ${seen.posts}" }
                    check(seen.posts[0].author == "ben" && seen.posts[0].module == "competitor-comparisons" && !seen.posts[0].summary) {
                        "${seen.posts[0]}"
                    }
                    ana.react("north-1", post, Reaction.HELPFUL)
                    anaSyncs()
                    benSyncs()
                    val reacted = ben.cohort("north-1").posts
                    check(reacted.single().reactions == listOf(ReactionCount(Reaction.HELPFUL, 1u))) { "$reacted" }

                    // ben takes his post back: gone from his view at once, from ana's after both sync.
                    clock.ms += 60_000
                    ben.hideInCohort("north-1", post, "posted it in the wrong cohort")
                    val benAfterHiding = ben.cohort("north-1").posts
                    check(benAfterHiding.isEmpty()) { "ben still sees $benAfterHiding" }
                    val anaBeforeSyncing = ana.cohort("north-1").posts
                    check(anaBeforeSyncing.map { it.id } == listOf(post)) { "ana before syncing the hide: $anaBeforeSyncing" }
                    benSyncs()
                    anaSyncs()
                    val anaView = ana.cohort("north-1")
                    val benView = ben.cohort("north-1")
                    check(anaView.posts.isEmpty()) { "ana still sees ${anaView.posts}" }
                    check(anaView.shares.single().feedback.single().id == rating) { "the share lost its feedback: ${anaView.shares}" }

                    // The week's rota: two members fill facilitator and reviewer, summariser stays open.
                    val rota = anaView.rota
                    check(rota.duties.map { it.role } == listOf("facilitator", "reviewer")) { "$rota" }
                    check(rota.duties.map { it.learner }.toSet() == setOf("ana", "ben")) { "$rota" }
                    check(rota.openRoles == listOf("summariser") && rota.skipped.isEmpty()) { "$rota" }
                    check(anaView.metrics.members == 2u && anaView.metrics.shares == 1u && anaView.metrics.sharesWithFeedback == 1u) {
                        "${anaView.metrics}"
                    }
                    // Both devices show the same space: rota, members, shares, metrics.
                    check(benView.rota == rota) { "ben's rota ${benView.rota} differs from ana's $rota" }
                    check(benView == anaView) { "the views differ:\n$anaView\n$benView" }
                }
            }
        }
    },
    "a spoken answer shared with the cohort is uploaded by sync and fetched whole by a peer" to {
        withCohortDir { dir ->
            val server = env("TIDBIT_SYNC_URL")
            formCohort("north-1", listOf("ana", "ben"))
            val clock = ManualClock(System.currentTimeMillis())
            // Fresh stores for devices the first test used: the server starts them over.
            openMember(dir, "ana", "ana-phone", clock).use { ana ->
                openMember(dir, "ben", "ben-phone", clock).use { ben ->
                    ana.sync(server, env("TIDBIT_ANA_TOKEN"))
                    ben.sync(server, env("TIDBIT_BEN_TOKEN"))
                    ana.installPack(voicePack.path).collect {}
                    ana.enroll(SPOKEN, "speaker")
                    ana.setConsent(ConsentScope.VOICE, true)

                    clock.ms += 60_000
                    val recording = wav(3)
                    val sha = MessageDigest.getInstance("SHA-256").digest(recording).joinToString("") { "%02x".format(it) }
                    val answered = ana.answerVoice(SPOKEN, "speak-voice", recording, 3_000, listOf(true, false))
                    val spoken = SharedAnswer.Voice(sha, 3_000u, recording.size.toULong())
                    val share = ana.shareAnswer("north-1", answered.answerEvent, spoken)
                    val uploaded = ana.sync(server, env("TIDBIT_ANA_TOKEN"))
                    check(uploaded.audioUploaded == 1u) { "$uploaded" }

                    clock.ms += 60_000
                    ben.sync(server, env("TIDBIT_BEN_TOKEN"))
                    val heard = ben.cohort("north-1").shares.single { it.id == share }
                    check(heard.answer == spoken && heard.author == "ana" && heard.criteria.size == 2) { "$heard" }
                    val fetched = ben.fetchSharedAudio(server, env("TIDBIT_BEN_TOKEN"), "north-1", sha)
                    check(fetched.contentEquals(recording)) { "fetched ${fetched.size} bytes, shared ${recording.size}" }
                    check(ben.voiceAudio(sha).contentEquals(recording)) { "ben's device did not keep the recording" }
                    val unshared = expectThrows<TidbitException.Community> {
                        runBlocking { ben.fetchSharedAudio(server, env("TIDBIT_BEN_TOKEN"), "north-1", "0".repeat(64)) }
                    }
                    check(unshared.message!!.contains("no member shared this recording")) { "${unshared.message}" }
                }
            }
        }
    },
    "the facilitator's duty is done, a post is reported, a member steps out of the rota and another leaves" to {
        withCohortDir { dir ->
            val server = env("TIDBIT_SYNC_URL")
            formCohort("north-3", listOf("ana", "ben"))
            val clock = ManualClock(System.currentTimeMillis())
            // Fresh stores for devices the first test used: the server starts them over.
            openMember(dir, "ana", "ana-phone", clock).use { ana ->
                openMember(dir, "ben", "ben-phone", clock).use { ben ->
                    suspend fun anaSyncs() = ana.sync(server, env("TIDBIT_ANA_TOKEN"))
                    suspend fun benSyncs() = ben.sync(server, env("TIDBIT_BEN_TOKEN"))
                    anaSyncs()
                    benSyncs()
                    val devices = mapOf("ana" to ana, "ben" to ben)
                    val rota = ana.cohort("north-3").rota
                    val facilitator = rota.duties.single { it.role == "facilitator" }.learner
                    clock.ms += 60_000
                    devices.getValue(facilitator).markDutyDone("north-3", "facilitator")
                    val notTheirs = expectThrows<TidbitException.Community> {
                        runBlocking { devices.getValue(facilitator).markDutyDone("north-3", "summariser") }
                    }
                    check(notTheirs.message!!.contains("$facilitator was not the summariser of week ${rota.week}")) {
                        "${notTheirs.message}"
                    }

                    val post = ben.postToCohort("north-3", "Discount first, then value: worked for me")
                    benSyncs()
                    anaSyncs()
                    clock.ms += 60_000
                    val report = ana.reportInCohort("north-3", post, "advice against the course's method")
                    ben.setRotaAvailability("north-3", false)
                    anaSyncs()
                    benSyncs()
                    val reports = ben.cohort("north-3").openReports
                    check(reports.map { Triple(it.id, it.target, it.reporter) } == listOf(Triple(report, post, "ana"))) { "$reports" }
                    check(reports[0].reason == "advice against the course's method") { "${reports[0]}" }
                    val members = ben.cohort("north-3").members
                    check(members.map { it.learner to it.available } == listOf("ana" to true, "ben" to false)) { "$members" }

                    clock.ms += 60_000
                    ana.leaveCohort("north-3")
                    anaSyncs()
                    benSyncs()
                    val anaCohorts = ana.cohorts()
                    check("north-3" !in anaCohorts && "north-1" in anaCohorts) { "ana's cohorts after leaving: $anaCohorts" }
                    val left = ben.cohort("north-3").members
                    check(left.map { it.learner } == listOf("ben")) { "members after ana left: $left" }
                    val gone = expectThrows<TidbitException.Community> {
                        runBlocking { ana.postToCohort("north-3", "one more thing") }
                    }
                    check(gone.message!!.contains("not a member of cohort 'north-3'")) { "${gone.message}" }
                }
            }
        }
    },
    "what a space does not take is TidbitException.Community and writes nothing" to {
        withCohortDir { dir ->
            formCohort("north-2", listOf("ana"))
            openMember(dir, "ana", "ana-tablet", ManualClock(System.currentTimeMillis())).use { tablet ->
                tablet.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_ANA_TABLET_TOKEN"))
                val cohorts = tablet.cohorts()
                check("north-2" in cohorts) { "$cohorts" }
                val post = tablet.postToCohort("north-2", "Who has met Vantora on price this month?")
                val before = tablet.cohort("north-2")

                val notAShare = expectThrows<TidbitException.Community> {
                    runBlocking { tablet.giveFeedback("north-2", post, listOf(true, true, true), "rating a post") }
                }
                check(notAShare.message!!.contains("it rates an entry that is not a shared answer")) { "${notAShare.message}" }
                val nothing = expectThrows<TidbitException.Community> {
                    runBlocking { tablet.giveFeedback("north-2", "0".repeat(32), listOf(true), "rating nothing") }
                }
                check(nothing.message!!.contains("it rates an answer that is not shared")) { "${nothing.message}" }
                val malformed = expectThrows<TidbitException.Community> {
                    runBlocking { tablet.giveFeedback("north-2", "not-an-entry", listOf(true), "rating nothing") }
                }
                check(malformed.message!!.contains("not an entry id")) { "${malformed.message}" }
                val unknown = expectThrows<TidbitException.Community> {
                    runBlocking { tablet.postToCohort("south-9", "anyone here?") }
                }
                check(unknown.message!!.contains("this device holds no cohort 'south-9'")) { "${unknown.message}" }
                check(tablet.cohort("north-2") == before) { "a refused call changed the space" }
                expectThrows<TidbitException.Community> { runBlocking { tablet.cohort("south-9") } }

                // Without the community scope nothing is shared; taking one's own post back still works.
                tablet.setConsent(ConsentScope.COMMUNITY, false)
                expectThrows<TidbitException.ConsentRequired> {
                    runBlocking { tablet.postToCohort("north-2", "shared without consent") }
                }
                check(tablet.recordPracticeDays() == 0) { "practice days recorded without consent" }
                tablet.hideInCohort("north-2", post, "asked in the wrong place")
                val hidden = tablet.cohort("north-2").posts
                check(hidden.isEmpty()) { "the tablet still sees $hidden" }
            }
        }
    },
)
