// The learner's data rights from Kotlin: consent scopes (off until given, enforced by the core),
// reviews asked only of decisions that exist, and the export archive.

import dev.tidbit.Progress
import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.ConsentScope
import dev.tidbit.ffi.core.Response
import java.io.File
import java.nio.file.Files
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking

val dataRightsTests: List<Pair<String, () -> Unit>> = listOf(
    "consent scopes are off until given, and without analytics an answer's text is not recorded" to {
        val dir = Files.createTempDirectory("tidbit-rights").toFile()
        try {
            runBlocking {
                TidbitClient.open(config(dir), MemoryKeyStore(null, null), ManualClock()).use { tidbit ->
                    tidbit.installPack(pack.path).toList()
                    val consents = tidbit.consents()
                    check(consents.map { it.scope } == ConsentScope.values().toList()) { "$consents" }
                    check(consents.none { it.granted || it.changedMs != null }) { "$consents" }
                    check(consents.all { it.purpose.length > 10 }) { "$consents" }
                    expectThrows<TidbitException.ConsentRequired> { runBlocking { tidbit.fitParameters().toList() } }

                    tidbit.enroll(COURSE, "tourist")
                    tidbit.startModule(COURSE, "tour")
                    tidbit.answer(COURSE, "tour-reflection", Response.Reflection(REFLECTION, listOf(true, true)), 30_000)
                    check(!storeFilesHold(dir, REFLECTION)) { "the reflection was recorded without analytics" }
                    tidbit.setConsent(ConsentScope.ANALYTICS, true)
                    val analytics = tidbit.consents().first { it.scope == ConsentScope.ANALYTICS }
                    check(analytics.granted && analytics.changedMs != null) { "$analytics" }
                    tidbit.answer(COURSE, "tour-reflection", Response.Reflection(REFLECTION, listOf(true, true)), 30_000)
                    check(storeFilesHold(dir, REFLECTION)) { "under analytics the reflection is recorded" }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
    "a review needs a decision to question; the export is one archive, the same twice" to {
        val dir = Files.createTempDirectory("tidbit-rights").toFile()
        try {
            runBlocking {
                TidbitClient.open(config(dir), MemoryKeyStore(null, null), ManualClock()).use { tidbit ->
                    tidbit.installPack(pack.path).toList()
                    tidbit.enroll(COURSE, "tourist")
                    expectThrows<TidbitException.UnknownContent> {
                        runBlocking { tidbit.requestReview(COURSE, "grandmaster", "why") }
                    }
                    expectThrows<TidbitException.InvalidRequest> {
                        runBlocking { tidbit.requestReview(COURSE, "foundation", "why") }
                    }
                    check(tidbit.reviews().isEmpty()) { "nothing was recorded" }
                    tidbit.setConsent(ConsentScope.SIGNALS, true)

                    val out = dir.resolve("out").apply { mkdirs() }
                    val steps = tidbit.export(out.path).toList()
                    val path = (steps.last() as Progress.Finished).result
                    check(path == out.resolve("tidbit-export-ada@example.org.json").path) { path }
                    check(steps.any { it is Progress.Working }) { "no progress was reported" }
                    val first = File(path).readText()
                    check("\"format\": \"tidbit-learner-export\"" in first) { first.take(200) }
                    check("\"scope\": \"signals\"" in first) { "the consent history is missing" }
                    tidbit.export(out.path).toList()
                    check(File(path).readText() == first) { "a second export differs" }
                    expectThrows<TidbitException.Storage> {
                        runBlocking { tidbit.export(dir.resolve("missing/deeper").path).toList() }
                    }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
)
