// The platform's HTTP transport (dev.tidbit.PlatformHttp, HttpURLConnection): every request the
// core makes travels through it, and it keeps the bounds each request carries. The library
// under test is built without the core's own HTTP client (tests/bindings/common.sh), as apps
// get it, so a request this transport did not carry could not be made at all.

import com.sun.net.httpserver.HttpServer
import dev.tidbit.PlatformHttp
import dev.tidbit.TidbitClient
import dev.tidbit.TidbitSignIn
import dev.tidbit.ffi.HttpException
import dev.tidbit.ffi.HttpHead
import dev.tidbit.ffi.HttpHeader
import dev.tidbit.ffi.HttpRequest
import dev.tidbit.ffi.core.SignInSettings
import dev.tidbit.ffi.setHttpTransport
import java.net.InetSocketAddress
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlinx.coroutines.runBlocking

/** The platform's transport, noting each request's method and path. */
class RecordingHttp : PlatformHttp() {
    val sent = java.util.Collections.synchronizedList(mutableListOf<String>())

    override fun send(call: ULong, request: HttpRequest): HttpHead {
        sent += "${request.method} /${request.url.split("/", limit = 4).last()}"
        return super.send(call, request)
    }
}

/**
 * A server on 127.0.0.1: /hop/N redirects N more times, /body answers 100,000 bytes, /stall
 * announces 10 bytes and sends none, /cut sends 5 of them and closes; every answer names the
 * request's method and the length of the body it received.
 */
fun withLocalServer(body: (String) -> Unit) {
    val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    val released = CountDownLatch(1)
    server.executor = Executors.newCachedThreadPool { Thread(it).apply { isDaemon = true } }
    server.createContext("/") { exchange ->
        val received = exchange.requestBody.readBytes().size
        val path = exchange.requestURI.path
        exchange.responseHeaders.add("x-method", exchange.requestMethod)
        exchange.responseHeaders.add("x-received", received.toString())
        when {
            path.startsWith("/hop/") -> {
                val left = path.removePrefix("/hop/").toInt()
                if (left > 0) exchange.responseHeaders.add("Location", "/hop/${left - 1}")
                exchange.sendResponseHeaders(if (left > 0) 302 else 200, -1)
            }
            path == "/body" -> {
                val bytes = ByteArray(100_000) { 'x'.code.toByte() }
                if (exchange.requestMethod == "HEAD") {
                    exchange.sendResponseHeaders(200, -1)
                } else {
                    exchange.sendResponseHeaders(200, bytes.size.toLong())
                    exchange.responseBody.write(bytes)
                }
            }
            path == "/.well-known/openid-configuration" -> {
                val base = "http://127.0.0.1:${exchange.localAddress.port}"
                val discovery = """{"issuer":"$base","authorization_endpoint":"$base/authorize","token_endpoint":"$base/token"}"""
                    .toByteArray()
                exchange.sendResponseHeaders(200, discovery.size.toLong())
                exchange.responseBody.write(discovery)
            }
            path == "/stall" -> {
                exchange.sendResponseHeaders(200, 10)
                exchange.responseBody.flush()
                released.await(GUARD_SECONDS, TimeUnit.SECONDS)
            }
            path == "/cut" -> {
                exchange.sendResponseHeaders(200, 10)
                exchange.responseBody.write("12345".toByteArray())
                exchange.responseBody.flush()
                // The server closes a connection whose handler fails: 5 bytes short.
                throw java.io.IOException("cut")
            }
            else -> exchange.sendResponseHeaders(200, -1)
        }
        exchange.close()
    }
    server.start()
    try {
        body("http://127.0.0.1:${server.address.port}")
    } finally {
        released.countDown()
        server.stop(0)
    }
}

fun httpRequest(
    url: String,
    method: String = "GET",
    body: ByteArray = ByteArray(0),
    timeoutMs: ULong? = null,
    readTimeoutMs: ULong? = null,
    maxRedirects: UInt = 0u,
) = HttpRequest(method, url, listOf(HttpHeader("authorization", "Bearer t")), body, 5_000u, timeoutMs, readTimeoutMs, maxRedirects)

fun HttpHead.header(name: String) = headers.first { it.name.equals(name, ignoreCase = true) }.value

fun failure(block: () -> Unit): String = try {
    block()
    error("expected HttpException.Failed")
} catch (e: HttpException.Failed) {
    e.reason
}

/** Why a read of a body the server never sends failed, for the request `to` makes of a URL. */
fun stalledRead(to: (String) -> HttpRequest): String {
    var reason = ""
    withLocalServer { server ->
        val http = PlatformHttp()
        http.send(1u, to("$server/stall"))
        reason = failure { http.read(1u, 1_000u) }
        http.finish(1u)
    }
    return reason
}

val transportTests: List<Pair<String, () -> Unit>> = listOf(
    "a sync travels through the platform's transport" to {
        val recording = RecordingHttp()
        setHttpTransport(recording)
        val dir = Files.createTempDirectory("tidbit-transport").toFile()
        try {
            runBlocking {
                TidbitClient.open(config(dir), MemoryKeyStore(null), ManualClock()).use { phone ->
                    val report = phone.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
                    val syncs = recording.sent.count { it == "POST /v1/learners/ada@example.org/sync" }
                    check(report.roundTrips >= 1u && syncs.toUInt() == report.roundTrips + report.retries) {
                        "${recording.sent} for $report"
                    }
                }
            }
        } finally {
            setHttpTransport(PlatformHttp())
            dir.deleteRecursively()
        }
    },
    "a sign-in begins through the platform's transport, installed by TidbitSignIn" to {
        // Installed once: TidbitSignIn then leaves the recording transport set below in place.
        PlatformHttp.install()
        val recording = RecordingHttp()
        setHttpTransport(recording)
        try {
            withLocalServer { server ->
                val settings = SignInSettings(server, "tidbit-app", "dev.tidbit.app:/signed-in", server, "ada-phone")
                val signIn = runBlocking { TidbitSignIn.begin(settings) }
                check(signIn.authorizationUrl().startsWith("$server/authorize?")) { signIn.authorizationUrl() }
                check(recording.sent == listOf("GET /.well-known/openid-configuration")) { "${recording.sent}" }
            }
        } finally {
            setHttpTransport(PlatformHttp())
        }
    },
    "the body arrives in pieces no larger than asked" to {
        withLocalServer { server ->
            val http = PlatformHttp()
            val head = http.send(1u, httpRequest("$server/body"))
            val pieces = generateSequence { http.read(1u, 30_000u).takeIf { it.isNotEmpty() }?.size }.toList()
            http.finish(1u)
            check(head.status.toInt() == 200 && pieces.sum() == 100_000 && pieces.max() <= 30_000 && pieces.size >= 4) {
                "${head.status} $pieces"
            }
        }
    },
    "methods and bodies reach the server" to {
        withLocalServer { server ->
            val http = PlatformHttp()
            val put = http.send(1u, httpRequest("$server/echo", method = "PUT", body = "12345".toByteArray()))
            http.finish(1u)
            val head = http.send(2u, httpRequest("$server/body", method = "HEAD"))
            val nothing = http.read(2u, 1_000u)
            http.finish(2u)
            check(put.header("x-method") == "PUT" && put.header("x-received") == "5") { "${put.headers}" }
            check(head.header("x-method") == "HEAD" && nothing.isEmpty()) { "${head.headers} ${nothing.size}" }
        }
    },
    "redirects are followed up to the request's bound" to {
        withLocalServer { server ->
            val http = PlatformHttp()
            val followed = http.send(1u, httpRequest("$server/hop/2", maxRedirects = 2u))
            http.finish(1u)
            check(followed.status.toInt() == 200) { "${followed.status}" }
            expectThrows<HttpException.TooManyRedirects> { http.send(2u, httpRequest("$server/hop/3", maxRedirects = 2u)) }
            http.finish(2u)
            expectThrows<HttpException.TooManyRedirects> { http.send(3u, httpRequest("$server/hop/1")) }
            http.finish(3u)
        }
    },
    "a stalled body fails at the read timeout" to {
        val reason = stalledRead { httpRequest(it, readTimeoutMs = 200u) }
        check(reason == "timed out") { reason }
    },
    "the whole call fails at its deadline" to {
        val reason = stalledRead { httpRequest(it, timeoutMs = 300u) }
        check(reason == "timed out") { reason }
    },
    "cancel from another thread ends a blocked read" to {
        withLocalServer { server ->
            val http = PlatformHttp()
            http.send(1u, httpRequest("$server/stall"))
            var outcome: String? = null
            val reader = thread { outcome = failure { http.read(1u, 1_000u) } }
            // Blocked (the server sent its headers and nothing more), or about to be: either
            // way the cancel ends the read.
            http.cancel(1u)
            reader.join(GUARD_SECONDS * 1000)
            http.finish(1u)
            check(!reader.isAlive && outcome == "the call was cancelled") { "$outcome" }
        }
    },
    "a body cut short of its length is an error, not an end" to {
        withLocalServer { server ->
            val http = PlatformHttp()
            http.send(1u, httpRequest("$server/cut"))
            val reason = failure { while (http.read(1u, 1_000u).isNotEmpty()) Unit }
            http.finish(1u)
            check(reason == "the answer was cut off 5 bytes short") { reason }
        }
    },
)
