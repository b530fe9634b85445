// What a Tidbit push is on Android. Platform-independent: compiled on the JVM by
// tests/bindings/kotlin.sh and on Android, where dev.tidbit.android.TidbitMessagingService
// hands it the data of each FCM message.
//
// The server's FCM message is data only, `{"kind": "sync", "intervention"?, "deadline_ms"?}`:
// it asks the device to sync, and nothing in it is shown to the learner (an intervention
// reaches them as a local notification the nudge planner schedules after that sync).

package dev.tidbit

/** The push platform Android devices register with (Firebase Cloud Messaging). */
const val FCM_PLATFORM = "fcm"

/** True when an FCM message's [data] is Tidbit's request to sync now. */
fun isTidbitSyncPush(data: Map<String, String>): Boolean = data["kind"] == "sync"
