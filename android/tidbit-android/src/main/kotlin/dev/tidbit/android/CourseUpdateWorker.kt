// Course updates in the background with WorkManager: fetches the courses the server assigns the
// learner through `TidbitClient.updateCourses`, within the learner's CourseUpdatePolicy. Runs
// only on an unmetered network when the learner chose "Wi-Fi only" (any network otherwise) and
// only while storage is not low; tells the core whether the network it runs on is metered, so a
// run that WorkManager starts on the wrong network downloads nothing. Reports each download's
// bytes through `setProgress` (keys PROGRESS_*), retries with exponential backoff when a
// download was interrupted or the catalog could not be fetched, and stops (asking the app for a
// new token) when the server refuses the token. A download paused by the byte budget resumes
// at the next periodic run.
// The app's Application implements [CourseUpdateWorker.Host]: SyncWorker's host (the Tidbit it
// already has open, the server and this device's token: courses come from the sync server)
// plus the learner's policy, so the worker never opens a second copy of the store and never
// stores credentials itself.
// When WorkManager stops the worker (the network constraint lost, the system's time limit), it
// cancels `doWork`'s coroutine, and with it the update at its next network wait; what arrived
// stays on the device and the next run resumes from there. An installed course is always the
// old version or the new one.
// Not compiled here (no Android SDK); the policy, the retry decision and updateCourses itself
// are platform-independent and run on the JVM in tests/bindings/kotlin/CourseUpdatesSuite.kt.

package dev.tidbit.android

import android.content.Context
import android.net.ConnectivityManager
import android.util.Log
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import dev.tidbit.CourseUpdatePolicy
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.CourseUpdateReport
import dev.tidbit.ffi.core.DownloadProgress
import dev.tidbit.interrupted
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.filterNotNull
import kotlinx.coroutines.launch

class CourseUpdateWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    /** What the app provides; implemented by its `Application` class. */
    interface Host : SyncWorker.Host {
        /** What the learner lets downloads spend (their "Wi-Fi only" and bytes per run). */
        suspend fun courseUpdatePolicy(): CourseUpdatePolicy

        /** Courses were installed or upgraded: refresh what the learner sees. */
        fun onCoursesInstalled(report: CourseUpdateReport) {}
    }

    override suspend fun doWork(): Result {
        val host = applicationContext as? Host ?: run {
            Log.e(TAG, "the Application does not implement CourseUpdateWorker.Host; course updates are off")
            return Result.failure()
        }
        val tidbit = host.tidbitForSync() ?: return Result.success()
        val server = host.syncServer() ?: return Result.success()
        val settings = host.courseUpdatePolicy().settings(onUnmeteredNetwork = onUnmeteredNetwork())
        return try {
            // The core calls back on its own threads; the latest progress is handed to setProgress.
            val heard = MutableStateFlow<DownloadProgress?>(null)
            val report = coroutineScope {
                val reporter = launch { heard.filterNotNull().collect { setProgress(progressData(it)) } }
                try {
                    tidbit.updateCourses(server.url, server.token, settings, onDownload = { heard.value = it })
                } finally {
                    reporter.cancel()
                }
            }
            Log.i(
                TAG,
                "courses: ${report.installed.size} installed, ${report.upToDate.size} up to date, " +
                    "${report.pending.size} waiting, ${report.refused.size} refused; ${report.bytesDownloaded} bytes",
            )
            report.refused.forEach { Log.w(TAG, "refused ${it.courseId} ${it.version}: ${it.reason}") }
            if (report.installed.isNotEmpty()) host.onCoursesInstalled(report)
            if (report.interrupted) {
                Result.retry()
            } else {
                Result.success(
                    workDataOf(
                        "installed" to report.installed.size,
                        "waiting" to report.pending.size,
                        "bytes_downloaded" to report.bytesDownloaded.toLong(),
                    )
                )
            }
        } catch (error: TidbitException.Network) {
            Log.w(TAG, error.message ?: "course update failed")
            Result.retry()
        } catch (error: TidbitException.Storage) {
            // Downloads could not be written; the storage constraint holds the retry until the
            // system no longer reports storage as low.
            Log.w(TAG, error.message ?: "course downloads could not be written")
            Result.retry()
        } catch (error: TidbitException.Unauthorized) {
            host.onSyncTokenRejected(error.message ?: "the server refused the token")
            Result.failure()
        } catch (error: TidbitException.Erased) {
            host.onLearnerErasedOnServer(error.message ?: "the server erased this learner")
            Result.failure()
        } catch (error: TidbitException) {
            Log.e(TAG, error.message ?: "course update failed")
            Result.failure()
        }
    }

    /** Whether the network this run has is unmetered (false when there is none). */
    private fun onUnmeteredNetwork(): Boolean {
        val connectivity = applicationContext.getSystemService(ConnectivityManager::class.java) ?: return false
        return !connectivity.isActiveNetworkMetered
    }

    companion object {
        private const val TAG = "TidbitCourses"
        private const val PERIODIC = "tidbit-course-updates"
        private const val NOW = "tidbit-course-updates-now"

        /** Progress keys (observe the work's `WorkInfo.progress`): the course downloading now. */
        const val PROGRESS_COURSE = "course_id"
        const val PROGRESS_VERSION = "version"
        const val PROGRESS_BYTES_ON_DEVICE = "bytes_on_device"
        const val PROGRESS_BYTES_TOTAL = "bytes_total"

        private fun progressData(progress: DownloadProgress) = workDataOf(
            PROGRESS_COURSE to progress.courseId,
            PROGRESS_VERSION to progress.version,
            PROGRESS_BYTES_ON_DEVICE to progress.bytesOnDevice.toLong(),
            PROGRESS_BYTES_TOTAL to progress.bytesTotal.toLong(),
        )

        /** An unmetered network for "Wi-Fi only", any network otherwise; never on low storage. */
        private fun constraints(policy: CourseUpdatePolicy) = Constraints.Builder()
            .setRequiredNetworkType(if (policy.wifiOnly) NetworkType.UNMETERED else NetworkType.CONNECTED)
            .setRequiresStorageNotLow(true)
            .build()

        /**
         * Updates the courses every `hours` hours within `policy`. Call at start-up and whenever
         * the learner changes the policy: the new constraints replace the old ones.
         */
        fun schedulePeriodic(context: Context, policy: CourseUpdatePolicy, hours: Long = 24) {
            val request = PeriodicWorkRequestBuilder<CourseUpdateWorker>(hours, TimeUnit.HOURS)
                .setConstraints(constraints(policy))
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 1, TimeUnit.MINUTES)
                .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.UPDATE, request)
        }

        /**
         * Updates the courses as soon as `policy`'s network is there (the learner opened the
         * catalog, a push said a course was assigned). Replaces an update already asked for or
         * running: a running download stops and the new run resumes it.
         */
        fun updateSoon(context: Context, policy: CourseUpdatePolicy) {
            val request = OneTimeWorkRequestBuilder<CourseUpdateWorker>()
                .setConstraints(constraints(policy))
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 1, TimeUnit.MINUTES)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.REPLACE, request)
        }
    }
}
