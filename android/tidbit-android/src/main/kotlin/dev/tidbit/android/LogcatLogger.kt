// Tidbit's log events in logcat, under the tag "Tidbit".

package dev.tidbit.android

import android.util.Log
import dev.tidbit.ffi.LogLevel
import dev.tidbit.ffi.LogRecord
import dev.tidbit.ffi.Logger
import dev.tidbit.ffi.setLogger

class LogcatLogger(private val tag: String = "Tidbit") : Logger {
    override fun log(record: LogRecord) {
        val text = "${record.target}: ${record.message}"
        when (record.level) {
            LogLevel.ERROR -> Log.e(tag, text)
            LogLevel.WARN -> Log.w(tag, text)
            LogLevel.INFO -> Log.i(tag, text)
            LogLevel.DEBUG -> Log.d(tag, text)
            LogLevel.TRACE -> Log.v(tag, text)
        }
    }

    companion object {
        /** Sends Tidbit's events at `level` and above to logcat. */
        fun install(level: LogLevel = LogLevel.INFO) = setLogger(LogcatLogger(), level)
    }
}
