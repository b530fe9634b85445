// The skills inventory from Kotlin: after the tour and its check, answered right, the one skill
// of the fixture course shows every answer, the passed check, the finished path and when it was
// last demonstrated; the credentials are one Open Badge in a CLR, unsigned.

import dev.tidbit.TidbitClient
import java.nio.file.Files
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking

val inventoryTests: List<Pair<String, () -> Unit>> = listOf(
    "the inventory states the answers, the check and the path; the credentials name the held skill" to {
        val dir = Files.createTempDirectory("tidbit-inventory").toFile()
        try {
            runBlocking {
                val clock = ManualClock()
                TidbitClient.open(config(dir), MemoryKeyStore(null, null), clock).use { tidbit ->
                    tidbit.installPack(pack.path).toList()
                    tidbit.enroll(COURSE, "tourist")
                    val empty = tidbit.skillsInventory().skills.single()
                    check(empty.evidence.answers == 0u && empty.lastDemonstratedMs == null && !empty.held) { "$empty" }
                    check(tidbit.skillCredentials().contains("\"verifiableCredential\": []")) { "no badge yet" }

                    val start = clock.ms
                    runModule(tidbit, clock, "tour")
                    runModule(tidbit, clock, "tour-check")
                    val inventory = tidbit.skillsInventory()
                    check(inventory.learner == "ada@example.org" && inventory.atMs == clock.ms) { "$inventory" }
                    val basics = inventory.skills.single()
                    val items = right.size.toUInt()
                    val e = basics.evidence
                    check(basics.skill == "basics" && basics.name == "Know the basics") { "$basics" }
                    check(e.answers == items && e.right == items && e.items == items) { "$e" }
                    // The tour opens with a lesson: the first answer is its second step.
                    check(e.firstAnswerMs == start + 40_000 && e.lastAnswerMs == clock.ms) { "$e" }
                    val passed = e.checks.single()
                    check(passed.stage == "foundation" && passed.atMs == clock.ms && passed.mastery >= 0.8) { "$passed" }
                    check(basics.lastDemonstratedMs == clock.ms) { "$basics" }
                    check(basics.certificates.single().let { it.path == "tourist" && it.completedMs == clock.ms }) { "$basics" }
                    val mastery = tidbit.mastery(COURSE).single().mastery
                    check(basics.mastery == mastery && basics.held) { "${basics.mastery} vs $mastery" }

                    val credentials = tidbit.skillCredentials()
                    check(credentials.contains("\"ClrCredential\"") && credentials.contains("\"OpenBadgeCredential\"")) { credentials }
                    check(credentials.contains("\"achievementType\": \"Competency\"")) { credentials }
                    check(credentials.contains("\"value\": \"%.2f\"".format(mastery))) { credentials }
                    check(!credentials.contains("\"proof\"")) { "unsigned" }
                    check(tidbit.skillsInventoryJson().contains("\"last_demonstrated_ms\": ${clock.ms}")) { "json" }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
)
