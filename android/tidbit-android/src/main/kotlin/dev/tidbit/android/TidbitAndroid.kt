// Opening Tidbit the Android way: the store in the app's private files, a device id kept in
// preferences, the system time zone, Keystore-backed secrets.

package dev.tidbit.android

import android.content.Context
import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitConfig
import java.util.TimeZone
import java.util.UUID

object TidbitAndroid {
    /** Opens the learner's Tidbit; `trustedKeys` are the pack authors' public key files. */
    suspend fun open(context: Context, learnerId: String, trustedKeys: List<String>): TidbitClient {
        val config = TidbitConfig(
            dataDir = context.filesDir.resolve("tidbit").path,
            learnerId = learnerId,
            deviceId = deviceId(context),
            timeZone = TimeZone.getDefault().id,
            trustedKeys = trustedKeys,
        )
        return TidbitClient.open(config, KeystoreKeyStore(context))
    }

    private fun deviceId(context: Context): String {
        val preferences = context.getSharedPreferences("tidbit", Context.MODE_PRIVATE)
        preferences.getString("device-id", null)?.let { return it }
        val id = UUID.randomUUID().toString()
        preferences.edit().putString("device-id", id).apply()
        return id
    }
}
