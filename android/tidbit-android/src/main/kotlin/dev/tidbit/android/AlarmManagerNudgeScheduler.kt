// Android only (needs the Android SDK; not compiled by tests/bindings/kotlin.sh): the
// NudgeScheduler over AlarmManager and NotificationManager.
//
// Alarms are inexact (setWindow, or setAndAllowWhileIdle when asked), so no exact-alarm
// permission (SCHEDULE_EXACT_ALARM / USE_EXACT_ALARM) is needed: a nudge may fire a few minutes
// late, which the planner's slots allow for. What is held is remembered in SharedPreferences,
// because AlarmManager cannot list its alarms: pendingIds() reads it, NudgeAlarmReceiver posts
// the notification when an alarm fires and re-arms everything after a reboot.

package dev.tidbit.android

import android.Manifest
import android.app.Activity
import android.app.AlarmManager
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.SharedPreferences
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import dev.tidbit.NudgeScheduler
import org.json.JSONObject

/**
 * Holds Tidbit's nudges as inexact alarms. Use it with [dev.tidbit.NudgePlanApplier]:
 * `NudgePlanApplier(AlarmManagerNudgeScheduler(context)).apply(client.planNudges(prefs))`,
 * after every sync, app start and planning-relevant change.
 */
class AlarmManagerNudgeScheduler(
    context: Context,
    /** How late the OS may fire an alarm (setWindow's window). */
    private val windowMillis: Long = 10 * 60_000L,
    /** Use setAndAllowWhileIdle (fires in Doze, inexactly) instead of setWindow. */
    private val allowWhileIdle: Boolean = false,
) : NudgeScheduler {
    private val context = context.applicationContext
    private val alarms = this.context.getSystemService(AlarmManager::class.java)
    private val store: SharedPreferences = store(this.context)

    override fun schedule(id: String, fireAtUtcMs: Long, title: String, body: String, deepLink: String) {
        val entry = JSONObject()
            .put("fireAt", fireAtUtcMs).put("title", title).put("body", body).put("deepLink", deepLink)
        store.edit().putString(KEY_PREFIX + id, entry.toString()).apply()
        arm(context, alarms, id, entry, windowMillis, allowWhileIdle)
    }

    override fun cancel(id: String) {
        alarmIntent(context, id, PendingIntent.FLAG_NO_CREATE)?.let { alarms.cancel(it); it.cancel() }
        store.edit().remove(KEY_PREFIX + id).apply()
        context.getSystemService(NotificationManager::class.java).cancel(id, NOTIFICATION_ID)
    }

    override fun pendingIds(): Set<String> =
        store.all.keys.filter { it.startsWith(KEY_PREFIX) }.map { it.removePrefix(KEY_PREFIX) }.toSet()

    companion object {
        const val CHANNEL_ID = "tidbit-nudges"
        internal const val ACTION_FIRE = "dev.tidbit.android.NUDGE_FIRE"
        internal const val EXTRA_ID = "dev.tidbit.android.NUDGE_ID"
        internal const val NOTIFICATION_ID = 7_316
        private const val KEY_PREFIX = "nudge:"
        private const val STORE = "dev.tidbit.nudges"

        internal fun store(context: Context): SharedPreferences =
            context.getSharedPreferences(STORE, Context.MODE_PRIVATE)

        internal fun entry(context: Context, id: String): JSONObject? =
            store(context).getString(KEY_PREFIX + id, null)?.let(::JSONObject)

        internal fun forget(context: Context, id: String) {
            store(context).edit().remove(KEY_PREFIX + id).apply()
        }

        /** Re-arms every held nudge still in the future (alarms do not survive a reboot). */
        internal fun rearmAll(context: Context) {
            val alarms = context.getSystemService(AlarmManager::class.java)
            val now = System.currentTimeMillis()
            for ((key, value) in store(context).all) {
                if (!key.startsWith(KEY_PREFIX) || value !is String) continue
                val entry = JSONObject(value)
                if (entry.getLong("fireAt") < now) forget(context, key.removePrefix(KEY_PREFIX))
                else arm(context, alarms, key.removePrefix(KEY_PREFIX), entry, 10 * 60_000L, false)
            }
        }

        private fun arm(
            context: Context,
            alarms: AlarmManager,
            id: String,
            entry: JSONObject,
            windowMillis: Long,
            allowWhileIdle: Boolean,
        ) {
            val fireAt = entry.getLong("fireAt")
            val intent = alarmIntent(context, id, PendingIntent.FLAG_UPDATE_CURRENT)!!
            // Both calls are inexact: neither needs the exact-alarm permission.
            if (allowWhileIdle) alarms.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, fireAt, intent)
            else alarms.setWindow(AlarmManager.RTC_WAKEUP, fireAt, windowMillis, intent)
        }

        /**
         * The alarm's PendingIntent, distinct per id through its data URI; with FLAG_NO_CREATE,
         * null when none is held.
         */
        private fun alarmIntent(context: Context, id: String, flags: Int): PendingIntent? {
            val intent = Intent(context, NudgeAlarmReceiver::class.java)
                .setAction(ACTION_FIRE)
                .setData(Uri.parse("tidbit-nudge://$id"))
                .putExtra(EXTRA_ID, id)
            return PendingIntent.getBroadcast(context, id.hashCode(), intent, flags or PendingIntent.FLAG_IMMUTABLE)
        }

        /** True when notifications may be posted (POST_NOTIFICATIONS is a runtime permission on Android 13+). */
        fun canPostNotifications(context: Context): Boolean =
            Build.VERSION.SDK_INT < Build.VERSION_CODES.TIRAMISU ||
                context.checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) == PackageManager.PERMISSION_GRANTED

        /**
         * Asks for POST_NOTIFICATIONS on Android 13+ (nothing to ask below); the answer arrives in
         * the activity's onRequestPermissionsResult. Ask after the learner agreed to nudges in the
         * app (their `consent` in NudgePreferences), not at first launch.
         */
        fun requestNotificationPermission(activity: Activity, requestCode: Int = 7_317) {
            if (!canPostNotifications(activity)) {
                activity.requestPermissions(arrayOf(Manifest.permission.POST_NOTIFICATIONS), requestCode)
            }
        }

        internal fun ensureChannel(context: Context) {
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
                val channel = NotificationChannel(CHANNEL_ID, "Learning reminders", NotificationManager.IMPORTANCE_DEFAULT)
                context.getSystemService(NotificationManager::class.java).createNotificationChannel(channel)
            }
        }
    }
}

/**
 * Posts a nudge when its alarm fires, and re-arms held nudges after a reboot. Declared in the
 * library's manifest. Tapping the notification opens the nudge's deep link in the app.
 */
class NudgeAlarmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        when (intent.action) {
            Intent.ACTION_BOOT_COMPLETED -> AlarmManagerNudgeScheduler.rearmAll(context)
            AlarmManagerNudgeScheduler.ACTION_FIRE -> post(context, intent.getStringExtra(AlarmManagerNudgeScheduler.EXTRA_ID) ?: return)
        }
    }

    private fun post(context: Context, id: String) {
        val entry = AlarmManagerNudgeScheduler.entry(context, id) ?: return
        AlarmManagerNudgeScheduler.forget(context, id)
        if (!AlarmManagerNudgeScheduler.canPostNotifications(context)) return
        AlarmManagerNudgeScheduler.ensureChannel(context)
        val open = Intent(Intent.ACTION_VIEW, Uri.parse(entry.getString("deepLink")))
            .setPackage(context.packageName)
            .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)
        val tap = PendingIntent.getActivity(
            context, id.hashCode(), open, PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
        val builder = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            Notification.Builder(context, AlarmManagerNudgeScheduler.CHANNEL_ID)
        } else {
            @Suppress("DEPRECATION") Notification.Builder(context)
        }
        val notification = builder
            .setSmallIcon(context.applicationInfo.icon.takeIf { it != 0 } ?: android.R.drawable.ic_popup_reminder)
            .setContentTitle(entry.getString("title"))
            .setContentText(entry.getString("body"))
            .setContentIntent(tap)
            .setAutoCancel(true)
            .build()
        context.getSystemService(NotificationManager::class.java)
            .notify(id, AlarmManagerNudgeScheduler.NOTIFICATION_ID, notification)
    }
}
