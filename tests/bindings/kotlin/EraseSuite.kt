// Erasure from Kotlin: erase() on the device through the key store, and a learner the server
// erased getting TidbitException.Erased when it syncs.

import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitException
import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import kotlinx.coroutines.runBlocking

/** Opens a learner of `dir` with `keys`, reflects and returns the projection digest. */
fun reflectWith(dir: File, keys: MemoryKeyStore, learner: String = "ada@example.org"): String = runBlocking {
    TidbitClient.open(config(dir).copy(learnerId = learner), keys, ManualClock()).use { tidbit ->
        tidbit.installPack(pack.path).collect {}
        tidbit.enroll(COURSE, "tourist")
        tidbit.startModule(COURSE, "tour")
        tidbit.answer(COURSE, "tour-reflection", dev.tidbit.ffi.core.Response.Reflection(REFLECTION, listOf(true, true)), 30_000)
        tidbit.projectionDigest()
    }
}

val eraseTests: List<Pair<String, () -> Unit>> = listOf(
    "erase destroys the at-rest key, removes the store, leaves another learner's, and every later call is Erased" to {
        val ana = Files.createTempDirectory("tidbit-erase").toFile()
        val bob = Files.createTempDirectory("tidbit-erase").toFile()
        try {
            val anaKeys = MemoryKeyStore(null)
            val bobKeys = MemoryKeyStore(null)
            reflectWith(ana, anaKeys)
            val bobDigest = reflectWith(bob, bobKeys, "bob@example.org")
            runBlocking {
                val tidbit = TidbitClient.open(config(ana), anaKeys, ManualClock())
                tidbit.erase()
                check(anaKeys.destroyed == 1 && anaKeys.atRestKey() == null) { "the key was not destroyed" }
                check(!ana.resolve("learner").exists()) { "the store's directory is still there" }
                val error = expectThrows<TidbitException.Erased> { runBlocking { tidbit.catalog() } }
                check("erased from this device" in error.message.orEmpty()) { "${error.message}" }
                expectThrows<TidbitException.Erased> { runBlocking { tidbit.erase() } }
                tidbit.close()
                TidbitClient.open(config(bob).copy(learnerId = "bob@example.org"), bobKeys, ManualClock()).use { kept ->
                    check(kept.projectionDigest() == bobDigest) { "the other learner's store changed" }
                }
            }
        } finally {
            ana.deleteRecursively()
            bob.deleteRecursively()
        }
    },
    "a learner the server erased gets Erased on sync and keeps the data on the device" to {
        val dir = Files.createTempDirectory("tidbit-erase").toFile()
        try {
            val keys = MemoryKeyStore(null)
            val learner = "erased@example.org"
            reflectWith(dir, keys, learner)
            runBlocking {
                TidbitClient.open(config(dir).copy(learnerId = learner, deviceId = "phone"), keys, ManualClock()).use { tidbit ->
                    tidbit.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_ERASED_TOKEN"))
                    val digest = tidbit.projectionDigest()
                    val connection = URI("${env("TIDBIT_SYNC_URL")}/v1/admin/learners/$learner").toURL()
                        .openConnection() as HttpURLConnection
                    connection.requestMethod = "DELETE"
                    connection.setRequestProperty("Authorization", "Bearer ${env("TIDBIT_ADMIN_TOKEN")}")
                    check(connection.responseCode == 200) { "DELETE answered ${connection.responseCode}" }
                    val error = expectThrows<TidbitException.Erased> {
                        runBlocking { tidbit.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_ERASED_TOKEN")) }
                    }
                    check("erased this learner's data" in error.message.orEmpty()) { "${error.message}" }
                    check(tidbit.projectionDigest() == digest) { "the device's data changed" }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
)
