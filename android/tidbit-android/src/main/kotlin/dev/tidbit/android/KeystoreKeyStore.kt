// The key store backed by the Android Keystore: secrets are kept in EncryptedSharedPreferences,
// whose master key never leaves the Keystore. Tidbit asks it for the store's at-rest key (made
// here once, at random) and the certificate signing key.

package dev.tidbit.android

import android.content.Context
import android.util.Base64
import java.security.SecureRandom
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

    /**
     * The 32 bytes Tidbit seals the learner's store with, created at random on first use. Losing
     * them (app data cleared) makes the store unreadable: it is then erased and synced again.
     */
    @Synchronized
    override fun atRestKey(): ByteArray? = try {
        preferences.getString(AT_REST_KEY, null)?.let { Base64.decode(it, Base64.NO_WRAP) }
            ?: ByteArray(32).also { key ->
                SecureRandom().nextBytes(key)
                // commit(), not apply(): the key must be on disk before a store is sealed with it.
                check(preferences.edit().putString(AT_REST_KEY, Base64.encodeToString(key, Base64.NO_WRAP)).commit()) {
                    "the at-rest key could not be saved"
                }
            }
    } catch (e: Exception) {
        throw KeyStoreException.Unavailable("the Android Keystore refused: ${e.message}")
    }

    /**
     * Destroys the at-rest key (`TidbitClient.erase` asks once the store is closed): no copy of
     * the sealed store can be opened afterwards. A later `atRestKey()` makes a new one.
     */
    @Synchronized
    override fun destroyAtRestKey() {
        val removed = try {
            preferences.edit().remove(AT_REST_KEY).commit()
        } catch (e: Exception) {
            throw KeyStoreException.Unavailable("the Android Keystore refused: ${e.message}")
        }
        if (!removed) throw KeyStoreException.Unavailable("the at-rest key could not be removed")
    }

    /** Stores the issuer's private key file text (from `tidbit keygen`). */
    fun storeCertificateSigningKey(keyFileText: String) {
        preferences.edit().putString(SIGNING_KEY, keyFileText).apply()
    }

    private companion object {
        const val SIGNING_KEY = "certificate-signing-key"
        const val AT_REST_KEY = "at-rest-key"
    }
}
