// The learner's own engagement and experiments from Kotlin: home-screen numbers counted from
// the learner's answers, and an experiment's arm that is stable and exposed once.

import dev.tidbit.TidbitClient
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.ExperimentArm
import dev.tidbit.ffi.core.NudgeKind
import dev.tidbit.ffi.core.Response
import java.nio.file.Files
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking

val outcomesTests: List<Pair<String, () -> Unit>> = listOf(
    "home metrics count the learner's own days and minutes; an experiment's arm is stable" to {
        val dir = Files.createTempDirectory("tidbit-outcomes").toFile()
        try {
            runBlocking {
                TidbitClient.open(config(dir), MemoryKeyStore(null, null), ManualClock()).use { tidbit ->
                    tidbit.installPack(pack.path).toList()
                    tidbit.enroll(COURSE, "tourist")
                    val before = tidbit.homeMetrics()
                    check(before.activeDays7 == 0u && before.modulesCompleted == 0u) { "$before" }
                    check(before.recall == null) { "$before" }

                    tidbit.startModule(COURSE, "tour")
                    tidbit.answer(COURSE, "tour-reflection", Response.Reflection("A plan", listOf(true, true)), 30_000)
                    val after = tidbit.homeMetrics()
                    check(after.activeDays7 == 1u && after.activeDays30 == 1u) { "$after" }
                    check(after.minutes30 == 0.5) { "30 seconds answering: $after" }

                    val arms = listOf(ExperimentArm("control", 1u, "today's wording"), ExperimentArm("named", 1u, "names the skill"))
                    val arm = tidbit.expose("reminder-wording", arms)
                    check(arm == "control" || arm == "named") { arm }
                    check(tidbit.expose("reminder-wording", arms) == arm) { "the arm is stable" }
                    expectThrows<TidbitException.InvalidRequest> {
                        runBlocking { tidbit.expose("reminder-wording", arms.take(1)) }
                    }
                    val wordings = listOf(ExperimentArm("control", 1u, "count"), ExperimentArm("minutes", 1u, "minutes"))
                    val wordingArm = tidbit.exposeNudgeWording("due-wording", NudgeKind.REINFORCEMENT_DUE, wordings)
                    check(wordingArm == "control" || wordingArm == "minutes") { wordingArm }
                    expectThrows<TidbitException.InvalidRequest> {
                        runBlocking {
                            tidbit.exposeNudgeWording("other", NudgeKind.REINFORCEMENT_DUE, listOf(ExperimentArm("a", 1u, "count"), ExperimentArm("b", 1u, "shout")))
                        }
                    }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
)
