// Interventions beyond modules from Kotlin: the suites' server triggers a job aid intervention
// (the fixture course carries the job aid `tour-card`), the phone gets it with sync, sees its
// kind, opens the card through TidbitClient and that completes it; steps of another kind and
// unknown job aids throw and record nothing.

import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.InterventionAction
import dev.tidbit.ffi.core.InterventionKind
import dev.tidbit.ffi.core.InterventionStep
import java.net.HttpURLConnection
import kotlinx.coroutines.flow.toList
import java.net.URI

/** `POST /v1/admin/learners/ada@example.org/interventions` on the suites' server. */
fun triggerForTheSuitesLearner(body: String): Pair<Int, String> {
    val url = URI("${env("TIDBIT_SYNC_URL")}/v1/admin/learners/ada@example.org/interventions").toURL()
    val connection = url.openConnection() as HttpURLConnection
    try {
        connection.requestMethod = "POST"
        connection.setRequestProperty("Authorization", "Bearer ${env("TIDBIT_ADMIN_TOKEN")}")
        connection.setRequestProperty("Content-Type", "application/json")
        connection.doOutput = true
        connection.outputStream.use { it.write(body.toByteArray()) }
        val status = connection.responseCode
        val text = (if (status < 400) connection.inputStream else connection.errorStream).readBytes().decodeToString()
        return status to text
    } finally {
        connection.disconnect()
    }
}

val interventionTests: List<Pair<String, () -> Unit>> = listOf(
    "a job aid intervention reaches the phone and opening the card completes it" to {
        withPhone { tidbit, clock ->
            val (status, answer) = triggerForTheSuitesLearner(
                """{"kind":"job_aid","module":"tour","course":"$COURSE","aid":"tour-card","reason":"a quick reference","within_hours":48}""",
            )
            check(status == 201) { "trigger: $status $answer" }
            tidbit.installPack(pack.path).toList()
            val id = Regex("\"intervention\":\"([0-9a-f]+)\"").find(answer)!!.groupValues[1]
            clock.ms = System.currentTimeMillis()
            tidbit.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN"))
            val view = tidbit.interventions().single { it.id == id }
            check(view.kind == InterventionKind.JOB_AID && view.doneMs == null) { "$view" }
            check(view.action == InterventionAction.JobAid(COURSE, "tour-card")) { "${view.action}" }
            check(tidbit.jobAids(COURSE).map { it.id } == listOf("tour-card")) { "job aids" }
            val card = tidbit.jobAid(COURSE, "tour-card")
            check(card.title == "The tour on one screen" && card.body.lines().size == 2) { "$card" }
            val done = tidbit.interventions().single { it.id == id }
            check(done.steps == listOf(InterventionStep.JOB_AID_OPENED) && done.doneMs == clock.ms) { "$done" }
            val wrong = expectThrows<TidbitException.InvalidRequest> {
                kotlinx.coroutines.runBlocking { tidbit.acceptMentoring(id) }
            }
            check(wrong.message!!.contains("mentoring_accepted")) { "${wrong.message}" }
            expectThrows<TidbitException.UnknownContent> {
                kotlinx.coroutines.runBlocking { tidbit.jobAid(COURSE, "no-such-card") }
            }
            check(tidbit.interventions().single { it.id == id }.steps.size == 1) { "a refusal recorded a step" }
        }
    },
    "a mentoring request for a skill nobody holds is refused by the server" to {
        val (status, answer) = triggerForTheSuitesLearner(
            """{"kind":"mentoring","module":"tour","course":"$COURSE","skill":"basics","reason":"pair up","within_hours":48}""",
        )
        check(status == 422 && answer.contains("nobody else holds skill 'basics'")) { "$status $answer" }
    },
)
