// Push from Kotlin: the FCM token a device registers through TidbitClient, checked for its
// shape by the core and taken to the suites' server by sync; and what a Tidbit FCM message is.
// The server started by tests/bindings/common.sh has no FCM credentials, so its wake-up only
// logs and answers `logged` for each device's token: that shows which token it holds, but no
// vendor answer (a dead token) can come back from it. The dead-token path, from a vendor's
// UNREGISTERED to `push_token_needed()` on the device, runs against a local FCM in
// server/tests/push.rs.

import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitException
import dev.tidbit.isTidbitSyncPush
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.security.MessageDigest
import java.util.UUID
import kotlinx.coroutines.runBlocking

/** An FCM-shaped registration token, different in every test. */
fun fcmToken(): String = "dGVzdA:APA91b" + UUID.randomUUID().toString().replace("-", "_") + "-x.y"

fun sha256Hex(text: String): String =
    MessageDigest.getInstance("SHA-256").digest(text.toByteArray()).joinToString("") { "%02x".format(it) }

/**
 * `POST /v1/admin/learners/ada@example.org/wake` on the suites' server: the body it answers,
 * one push report per device with a live token.
 */
fun wakeTheSuitesLearner(): String {
    val url = URI("${env("TIDBIT_SYNC_URL")}/v1/admin/learners/ada@example.org/wake").toURL()
    val connection = url.openConnection() as HttpURLConnection
    try {
        connection.requestMethod = "POST"
        connection.setRequestProperty("Authorization", "Bearer ${env("TIDBIT_ADMIN_TOKEN")}")
        connection.doOutput = true
        connection.outputStream.close()
        val status = connection.responseCode
        val body = (if (status < 400) connection.inputStream else connection.errorStream).readBytes().decodeToString()
        check(status == 200) { "wake: $status $body" }
        return body
    } finally {
        connection.disconnect()
    }
}

/** What the server answers for the phone's token when no vendor is configured. */
fun loggedPhonePush(token: String) =
    """{"pushes":[{"device":"phone","platform":"fcm","token_sha256":"${sha256Hex(token)}","outcome":"logged"}]}"""

/**
 * When the next phone's clock starts: an hour after the last one's. The server takes each
 * device's latest registration in the log's (time, device, id) order, so the phones of these
 * tests register at times that follow one another, as one real phone's clock would.
 */
var nextPhoneStartMs = START_MS

/** The learner's phone (the server's phone token is for it) with a fresh store. */
fun withPhone(body: suspend (TidbitClient, ManualClock) -> Unit) {
    val dir = Files.createTempDirectory("tidbit-push").toFile()
    val clock = ManualClock(nextPhoneStartMs)
    nextPhoneStartMs += 3_600_000
    try {
        runBlocking { openDevice(dir, "phone", clock).use { body(it, clock) } }
    } finally {
        dir.deleteRecursively()
    }
}

val pushTests: List<Pair<String, () -> Unit>> = listOf(
    "a store that never registered a push token reports none needed" to {
        withPhone { tidbit, _ ->
            check(!tidbit.pushTokenNeeded()) { "a fresh store says a token is needed" }
        }
    },
    "an FCM-shaped token registers and no token is needed after it" to {
        withPhone { tidbit, _ ->
            tidbit.registerPushToken(fcmToken())
            check(!tidbit.pushTokenNeeded()) { "a token is needed right after one registered" }
        }
    },
    "the registered token reaches the suites' server with the next sync" to {
        withPhone { tidbit, _ ->
            val token = fcmToken()
            tidbit.registerPushToken(token)
            val report = tidbit.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
            check(report.roundTrips >= 1u && report.documentsRefused == 0u) { "$report" }
            val woken = wakeTheSuitesLearner()
            check(woken == loggedPhonePush(token)) { "the server holds another token: $woken" }
            check(!tidbit.pushTokenNeeded()) { "a logged push reported the token dead" }
        }
    },
    "a token of the wrong shape is InvalidRequest and the server keeps the token registered before" to {
        withPhone { tidbit, clock ->
            val token = fcmToken()
            tidbit.registerPushToken(token)
            tidbit.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
            clock.ms += 60_000 // a wrong token recorded now would be the latest registration
            for (wrong in listOf("a token with spaces", "", "../${token}", "x".repeat(4097))) {
                val error = expectThrows<TidbitException.InvalidRequest> {
                    runBlocking { tidbit.registerPushToken(wrong) }
                }
                check(error.message!!.contains("FCM registration token")) { "${error.message}" }
            }
            check(!tidbit.pushTokenNeeded()) { "a refused token changed what is needed" }
            tidbit.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
            val woken = wakeTheSuitesLearner()
            check(woken == loggedPhonePush(token)) { "a refused token reached the server: $woken" }
        }
    },
    "the APNs shape the Swift wrapper sends registers; other shapes and platforms are InvalidRequest" to {
        withPhone { tidbit, _ ->
            // What TidbitClient.registerPushToken(_:) in Swift sends for a 32-byte device token.
            tidbit.raw.registerPushToken("apns", ByteArray(32) { it.toByte() }.joinToString("") { "%02x".format(it) })
            check(!tidbit.pushTokenNeeded()) { "a token is needed right after one registered" }
            val short = expectThrows<TidbitException.InvalidRequest> { tidbit.raw.registerPushToken("apns", "abcd") }
            check(short.message!!.contains("64 to 200 hex digits")) { "${short.message}" }
            val platform = expectThrows<TidbitException.InvalidRequest> { tidbit.raw.registerPushToken("webpush", fcmToken()) }
            check(platform.message!!.contains("neither 'fcm'")) { "${platform.message}" }
        }
    },
    "only Tidbit's sync data message asks for a sync" to {
        check(isTidbitSyncPush(mapOf("kind" to "sync"))) { "a bare wake-up" }
        check(isTidbitSyncPush(mapOf("kind" to "sync", "intervention" to "01J9Z3", "deadline_ms" to "1790000000000"))) {
            "an intervention's push"
        }
        check(!isTidbitSyncPush(mapOf())) { "an empty message" }
        check(!isTidbitSyncPush(mapOf("kind" to "chat", "intervention" to "01J9Z3"))) { "another kind" }
    },
)
