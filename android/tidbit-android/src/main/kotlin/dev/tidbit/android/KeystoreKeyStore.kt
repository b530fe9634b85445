// The key store backed by the Android Keystore: secrets are kept in EncryptedSharedPreferences,
// whose master key never leaves the Keystore. Tidbit asks it for the certificate signing key.

package dev.tidbit.android

import android.content.Context
import androidx.security.crypto.EncryptedSharedPreferences
import androidx.security.crypto.MasterKey
import dev.tidbit.ffi.KeyStore
import dev.tidbit.ffi.KeyStoreException

class KeystoreKeyStore(context: Context) : KeyStore {
    private val preferences = EncryptedSharedPreferences.create(
        context,
        "tidbit-keys",
        MasterKey.Builder(context).setKeyScheme(MasterKey.KeyScheme.AES256_GCM).build(),
        EncryptedSharedPreferences.PrefKeyEncryptionScheme.AES256_SIV,
        EncryptedSharedPreferences.PrefValueEncryptionScheme.AES256_GCM,
    )

    override fun certificateSigningKey(): String? = try {
        preferences.getString(SIGNING_KEY, null)
    } catch (e: Exception) {
        throw KeyStoreException.Unavailable("the Android Keystore refused: ${e.message}")
    }

    /** Stores the issuer's private key file text (from `tidbit keygen`). */
    fun storeCertificateSigningKey(keyFileText: String) {
        preferences.edit().putString(SIGNING_KEY, keyFileText).apply()
    }

    private companion object {
        const val SIGNING_KEY = "certificate-signing-key"
    }
}
