// The platform's HTTP stack for the Rust core: every request Tidbit makes (sync, course
// updates, shared recordings, sign-in) travels through java.net.HttpURLConnection, so HTTPS
// follows the system's trust store, proxies and VPNs, and the library carries no TLS stack of
// its own. TidbitClient puts it in place when first used; an app that drives the generated
// bindings directly calls `PlatformHttp.install()` first.
//
// Platform-independent: HttpURLConnection is the JVM's and Android's. The core calls these
// methods on its own background threads, never the main thread.

package dev.tidbit

import dev.tidbit.ffi.HttpException
import dev.tidbit.ffi.HttpHead
import dev.tidbit.ffi.HttpHeader
import dev.tidbit.ffi.HttpRequest
import dev.tidbit.ffi.HttpTransport
import dev.tidbit.ffi.setHttpTransport
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.URL
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledFuture
import java.util.concurrent.TimeUnit

/** HttpURLConnection as the core's [HttpTransport]: one connection per call. */
open class PlatformHttp : HttpTransport {
    private class Call {
        @Volatile var connection: HttpURLConnection? = null
        @Volatile var body: InputStream? = null
        @Volatile var cancelled = false
        @Volatile var timedOut = false
        /** The body's announced length (-1: not announced), and the bytes read of it. */
        var expected = -1L
        var received = 0L
        var deadline: ScheduledFuture<*>? = null
    }

    private val calls = ConcurrentHashMap<ULong, Call>()

    override fun send(call: ULong, request: HttpRequest): HttpHead {
        val state = Call()
        calls[call] = state
        request.timeoutMs?.let { ms ->
            state.deadline = deadlines.schedule({
                state.timedOut = true
                cancel(call)
            }, ms.toLong(), TimeUnit.MILLISECONDS)
        }
        var url = URL(request.url)
        var method = request.method
        var body = request.body
        try {
            for (hop in 0..request.maxRedirects.toInt()) {
                val connection = open(state, url, method, request)
                if (body.isNotEmpty() || method == "POST" || method == "PUT") {
                    connection.doOutput = true
                    connection.setFixedLengthStreamingMode(body.size)
                    connection.outputStream.use { it.write(body) }
                }
                val status = connection.responseCode
                val location = connection.getHeaderField("Location")
                if (status in REDIRECTS && location != null) {
                    connection.disconnect()
                    url = URL(url, location)
                    if (status == 303) {
                        method = "GET"
                        body = ByteArray(0)
                    }
                    continue
                }
                state.body = if (status >= 400) connection.errorStream else connection.inputStream
                state.expected = if (method == "HEAD" || status == 204 || status == 304) 0 else connection.contentLengthLong
                val headers = connection.headerFields.flatMap { (name, values) ->
                    if (name == null) emptyList() else values.map { HttpHeader(name, it) }
                }
                return HttpHead(status.toUShort(), headers)
            }
            throw HttpException.TooManyRedirects("more than ${request.maxRedirects} for ${request.url}")
        } catch (error: IOException) {
            throw failed(state, error)
        } catch (error: IllegalArgumentException) {
            throw failed(state, error)
        }
    }

    private fun open(state: Call, url: URL, method: String, request: HttpRequest): HttpURLConnection {
        if (url.protocol != "http" && url.protocol != "https") {
            throw HttpException.Failed("'$url' is not an http or https URL")
        }
        val connection = url.openConnection() as HttpURLConnection
        state.connection = connection
        if (state.cancelled) throw failed(state, null)
        connection.instanceFollowRedirects = false
        connection.useCaches = false
        connection.requestMethod = method
        connection.connectTimeout = request.connectTimeoutMs.toInt().coerceAtLeast(1)
        connection.readTimeout = (request.readTimeoutMs ?: request.timeoutMs)?.toInt()?.coerceAtLeast(1) ?: 0
        for (header in request.headers) connection.setRequestProperty(header.name, header.value)
        return connection
    }

    override fun read(call: ULong, max: UInt): ByteArray {
        val state = calls[call] ?: throw HttpException.Failed("no such call")
        val body = state.body ?: return ByteArray(0)
        val buffer = ByteArray(max.toInt())
        val n = try {
            body.read(buffer, 0, buffer.size)
        } catch (error: IOException) {
            throw failed(state, error)
        }
        if (state.cancelled) throw failed(state, null)
        if (n <= 0) {
            // A body that ends short of the length the server announced was cut off.
            if (state.expected > state.received) {
                throw HttpException.Failed("the answer was cut off ${state.expected - state.received} bytes short")
            }
            return ByteArray(0)
        }
        state.received += n
        return buffer.copyOf(n)
    }

    override fun finish(call: ULong) {
        val state = calls.remove(call) ?: return
        state.deadline?.cancel(false)
        try {
            state.body?.close()
        } catch (_: IOException) {
        }
        if (state.cancelled) state.connection?.disconnect()
    }

    override fun cancel(call: ULong) {
        val state = calls[call] ?: return
        state.cancelled = true
        // Closes the socket: a send or read blocked on it in another thread throws.
        state.connection?.disconnect()
    }

    private fun failed(state: Call, error: Exception?): HttpException = when {
        state.timedOut -> HttpException.Failed("timed out")
        state.cancelled -> HttpException.Failed("the call was cancelled")
        error is java.net.SocketTimeoutException -> HttpException.Failed("timed out")
        else -> HttpException.Failed("${error?.javaClass?.simpleName}: ${error?.message}")
    }

    companion object {
        private val REDIRECTS = setOf(301, 302, 303, 307, 308)

        /** Cancels calls at their deadline. */
        private val deadlines = Executors.newSingleThreadScheduledExecutor { task ->
            Thread(task, "tidbit-http-deadlines").apply { isDaemon = true }
        }

        @Volatile private var installed = false

        /** Puts HttpURLConnection in place for every request the core makes (once). */
        fun install() {
            if (installed) return
            synchronized(this) {
                if (!installed) {
                    setHttpTransport(PlatformHttp())
                    installed = true
                }
            }
        }
    }
}
