// Push on Android with Firebase Cloud Messaging: the server wakes the device with a data
// message (`{"kind": "sync", ...}`, see dev.tidbit.isTidbitSyncPush) and the app syncs through
// SyncWorker; what the push was about reaches the learner as a local notification the nudge
// planner schedules after that sync, never as push text.
//
// The token goes to the server with the next sync (`TidbitClient.registerPushToken`). Three
// moments register one:
// - Firebase hands the app a new token: `onNewToken` registers it (when a learner is signed in);
// - the learner signs in: the app calls [TidbitMessagingService.registerCurrentToken] (a store
//   that never registered a token does not report one as needed);
// - the server reported the registered token dead (FCM answered UNREGISTERED or
//   INVALID_ARGUMENT; the device learns it through sync): SyncWorker calls the app's
//   `SyncWorker.Host.onPushTokenNeeded` after the sync, and the app calls
//   [TidbitMessagingService.registerFreshTokenIfNeeded], at start too.
// The service reaches the learner's Tidbit through the app's `SyncWorker.Host`, so it never
// opens a second copy of the store and never stores tokens itself.
//
// The library's manifest declares the service for `com.google.firebase.MESSAGING_EVENT`. An app
// that has its own FirebaseMessagingService removes this one (`tools:node="remove"`) and
// forwards: `isTidbitSyncPush(message.data)` → `SyncWorker.syncSoon`, new tokens →
// `TidbitClient.registerPushToken`. The app adds its google-services.json as Firebase asks.
// Not compiled here (no Android SDK); `registerPushToken`, `pushTokenNeeded` and
// `isTidbitSyncPush` are platform-independent and run on the JVM in
// tests/bindings/kotlin/PushSuite.kt.

package dev.tidbit.android

import android.content.Context
import android.util.Log
import com.google.firebase.messaging.FirebaseMessaging
import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitException
import dev.tidbit.isTidbitSyncPush
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.tasks.await

class TidbitMessagingService : FirebaseMessagingService() {

    /** A Tidbit push asks for a sync: enqueued for as soon as a network is available. */
    override fun onMessageReceived(message: RemoteMessage) {
        if (isTidbitSyncPush(message.data)) {
            SyncWorker.syncSoon(applicationContext)
        }
    }

    /**
     * Firebase rotated the token (or made the first one). Called on Firebase's own background
     * thread, so blocking it for the one local write is fine; with nobody signed in there is no
     * store to write to, and the token is registered at sign-in instead.
     */
    override fun onNewToken(token: String) {
        val host = applicationContext as? SyncWorker.Host ?: run {
            Log.e(TAG, "the Application does not implement SyncWorker.Host; push is off")
            return
        }
        runBlocking {
            val tidbit = host.tidbitForSync() ?: return@runBlocking
            register(applicationContext, tidbit, token)
        }
    }

    companion object {
        private const val TAG = "TidbitPush"

        /**
         * Registers the token Firebase holds now; call when the learner signs in. True when a
         * token was registered (a sync is then enqueued to take it to the server).
         */
        suspend fun registerCurrentToken(context: Context, tidbit: TidbitClient): Boolean {
            val token = try {
                FirebaseMessaging.getInstance().token.await()
            } catch (error: Exception) {
                Log.w(TAG, "Firebase gave no push token: ${error.message}")
                return false
            }
            return register(context, tidbit, token)
        }

        /**
         * When [TidbitClient.pushTokenNeeded] (the server reported this device's token dead),
         * drops the dead token in Firebase, registers the fresh one Firebase makes and enqueues
         * a sync to take it to the server. Call at start and from
         * `SyncWorker.Host.onPushTokenNeeded`. True when a token was registered. (Firebase also
         * hands the fresh token to `onNewToken`, which may register it a second time: the
         * server pushes to the latest registration, the same token.)
         */
        suspend fun registerFreshTokenIfNeeded(context: Context, tidbit: TidbitClient): Boolean {
            val needed = try {
                tidbit.pushTokenNeeded()
            } catch (error: TidbitException) {
                Log.w(TAG, error.message ?: "could not read whether a push token is needed")
                return false
            }
            if (!needed) return false
            val messaging = FirebaseMessaging.getInstance()
            val token = try {
                messaging.deleteToken().await()
                messaging.token.await()
            } catch (error: Exception) {
                Log.w(TAG, "Firebase gave no fresh push token: ${error.message}")
                return false
            }
            return register(context, tidbit, token)
        }

        private suspend fun register(context: Context, tidbit: TidbitClient, token: String): Boolean =
            try {
                tidbit.registerPushToken(token)
                SyncWorker.syncSoon(context)
                true
            } catch (error: TidbitException) {
                // InvalidRequest: a token FCM never gives; nothing was recorded.
                Log.e(TAG, error.message ?: "the push token was not registered")
                false
            }
    }
}
