// Encryption at rest from Kotlin: the key store's at-rest key seals the learner's store.

import dev.tidbit.TidbitClient
import dev.tidbit.ffi.KeyStoreException
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.Tidbit
import dev.tidbit.ffi.TidbitException
import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking

const val REFLECTION = "Quokka-lighthouse-7731 is where I would use this"

fun randomKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

/** Whether any file of the store in `dir` holds `text` byte for byte. */
fun storeFilesHold(dir: File, text: String): Boolean {
    val needle = text.toByteArray()
    return dir.walk().filter { it.isFile }.any { file ->
        val bytes = file.readBytes()
        (0..bytes.size - needle.size).any { start -> needle.indices.all { bytes[start + it] == needle[it] } }
    }
}

/** Opens a learner in `dir` with `atRest`, installs the pack and writes the reflection. */
fun reflect(dir: File, atRest: ByteArray?): String = runBlocking {
    TidbitClient.open(config(dir), MemoryKeyStore(null, atRest), ManualClock()).use { tidbit ->
        tidbit.installPack(pack.path).toList()
        tidbit.enroll(COURSE, "tourist")
        tidbit.startModule(COURSE, "tour")
        // Under the analytics scope the reflection's text is recorded with the answer.
        tidbit.setConsent(dev.tidbit.ffi.core.ConsentScope.ANALYTICS, true)
        tidbit.answer(COURSE, "tour-reflection", Response.Reflection(REFLECTION, listOf(true, true)), 30_000)
        check(!storeFilesHold(dir, REFLECTION) || atRest == null) { "the open sealed store shows the reflection" }
        tidbit.projectionDigest()
    }
}

val atRestTests: List<Pair<String, () -> Unit>> = listOf(
    "a sealed store keeps the learner's reflection out of its files; a plain one does not" to {
        val sealed = Files.createTempDirectory("tidbit-sealed").toFile()
        val plain = Files.createTempDirectory("tidbit-plain").toFile()
        try {
            reflect(sealed, randomKey())
            reflect(plain, null)
            check(!storeFilesHold(sealed, REFLECTION)) { "the sealed store's files hold the reflection" }
            check(storeFilesHold(plain, REFLECTION)) { "the plain store's files should hold it" }
        } finally {
            sealed.deleteRecursively()
            plain.deleteRecursively()
        }
    },
    "another at-rest key, or none, is refused with AtRestKey; the store's own key opens it" to {
        val dir = Files.createTempDirectory("tidbit-sealed").toFile()
        try {
            val key = randomKey()
            val digest = reflect(dir, key)
            for (other in listOf(randomKey(), null)) {
                val error = expectThrows<TidbitException.AtRestKey> {
                    Tidbit.openWithClock(config(dir), MemoryKeyStore(null, other), ManualClock())
                }
                check("key" in error.message.orEmpty()) { "${error.message}" }
            }
            Tidbit.openWithClock(config(dir), MemoryKeyStore(null, key), ManualClock()).use { tidbit ->
                check(tidbit.projectionDigest() == digest) { "the digest changed" }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
    "a key store that fails or hands over a short key keeps the store closed" to {
        val dir = Files.createTempDirectory("tidbit-sealed").toFile()
        try {
            expectThrows<TidbitException.KeyStore> {
                Tidbit.openWithClock(config(dir), MemoryKeyStore(null, ByteArray(16)), ManualClock())
            }
            val locked = object : dev.tidbit.ffi.KeyStore {
                override fun certificateSigningKey(): String? = null
                override fun atRestKey(): ByteArray? = throw KeyStoreException.Unavailable("the device is locked")
                override fun destroyAtRestKey() = throw KeyStoreException.Unavailable("the device is locked")
            }
            val error = expectThrows<TidbitException.KeyStore> { Tidbit.openWithClock(config(dir), locked, ManualClock()) }
            check("the device is locked" in error.message.orEmpty()) { "${error.message}" }
            check(!dir.resolve("learner").exists()) { "a refused open created the store" }
        } finally {
            dir.deleteRecursively()
        }
    },
)
