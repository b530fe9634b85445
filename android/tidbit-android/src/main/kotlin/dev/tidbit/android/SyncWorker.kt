// Background sync with WorkManager: runs only with a network connection, retries with
// exponential backoff when the server cannot be reached, and stops (asking the app for a new
// token) when the server refuses the token. The app's Application implements [SyncWorker.Host]:
// it hands over the Tidbit it already has open and the server and token to use, so the worker
// never opens a second copy of the store and never stores credentials itself.
// When WorkManager stops the worker (the network constraint lost, the system's time limit),
// it cancels `doWork`'s coroutine, and with it the sync on the core's runtime, at the sync's
// next network wait; whatever reply was being applied is applied whole first. The
// CancellationException is left to WorkManager, which runs the work again later.
// A sync may bring the server's word that this device's push token is dead
// (`TidbitClient.pushTokenNeeded()`): the worker then asks the app for a fresh one
// (`Host.onPushTokenNeeded`; see TidbitMessagingService). A push from the server enqueues the
// one-off sync (`syncSoon`).
// Not compiled here (no Android SDK); `TidbitClient.sync` and `pushTokenNeeded` are
// platform-independent and run on the JVM in tests/bindings/kotlin.

package dev.tidbit.android

import android.content.Context
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
import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitException
import java.util.concurrent.TimeUnit

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {

    /** Where and how to sync: the server's base URL and this device's bearer token. */
    data class SyncServer(val url: String, val token: String)

    /** What the app provides; implemented by its `Application` class. */
    interface Host {
        /** The learner's open Tidbit, or null when nobody is signed in (nothing to sync). */
        suspend fun tidbitForSync(): TidbitClient?

        /** The server and this device's token, or null when sync is not set up. */
        suspend fun syncServer(): SyncServer?

        /** The server refused the token: fetch a new one for this learner and device. */
        fun onSyncTokenRejected(message: String) {}

        /**
         * The organisation erased this learner on the server, which syncs them no more: stop
         * syncing, and decide what becomes of the data on this device (`TidbitClient.erase()`).
         */
        fun onLearnerErasedOnServer(message: String) {}

        /**
         * The sync brought the server's word that this device's push token is dead: register a
         * fresh one (`TidbitMessagingService.registerFreshTokenIfNeeded(context, tidbit)`).
         * Apps without push leave this as it is.
         */
        suspend fun onPushTokenNeeded(tidbit: TidbitClient) {}
    }

    override suspend fun doWork(): Result {
        val host = applicationContext as? Host ?: run {
            Log.e(TAG, "the Application does not implement SyncWorker.Host; sync is off")
            return Result.failure()
        }
        val tidbit = host.tidbitForSync() ?: return Result.success()
        val server = host.syncServer() ?: return Result.success()
        return try {
            val report = tidbit.sync(server.url, server.token)
            Log.i(TAG, "synced: ${report.roundTrips} round trips, ${report.eventsReceived} events received")
            askForPushTokenIfNeeded(host, tidbit)
            Result.success(
                workDataOf(
                    "round_trips" to report.roundTrips.toInt(),
                    "events_received" to report.eventsReceived.toLong(),
                )
            )
        } catch (error: TidbitException.Network) {
            Log.w(TAG, error.message ?: "sync failed")
            Result.retry()
        } catch (error: TidbitException.Unauthorized) {
            host.onSyncTokenRejected(error.message ?: "the server refused the token")
            Result.failure()
        } catch (error: TidbitException.Erased) {
            host.onLearnerErasedOnServer(error.message ?: "the server erased this learner")
            Result.failure()
        } catch (error: TidbitException) {
            Log.e(TAG, error.message ?: "sync failed")
            Result.failure()
        }
    }

    /** After a sync: the push token question must not turn a finished sync into a failure. */
    private suspend fun askForPushTokenIfNeeded(host: Host, tidbit: TidbitClient) {
        val needed = try {
            tidbit.pushTokenNeeded()
        } catch (error: TidbitException) {
            Log.w(TAG, error.message ?: "could not read whether a push token is needed")
            false
        }
        if (needed) host.onPushTokenNeeded(tidbit)
    }

    companion object {
        private const val TAG = "TidbitSync"
        private const val PERIODIC = "tidbit-sync"
        private const val NOW = "tidbit-sync-now"

        private val online = Constraints.Builder()
            .setRequiredNetworkType(NetworkType.CONNECTED)
            .build()

        /** Syncs every `hours` hours while a network is available (call at start-up). */
        fun schedulePeriodic(context: Context, hours: Long = 6) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(hours, TimeUnit.HOURS)
                .setConstraints(online)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        /** Syncs as soon as a network is available (after a session, on a push). */
        fun syncSoon(context: Context) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(online)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.KEEP, request)
        }
    }
}
