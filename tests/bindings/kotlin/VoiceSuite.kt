// Spoken answers from Kotlin: a voice item's form takes the recording the app made, the wrapper
// sends it with `answerVoice`, and `voiceAudio` gives the same bytes back; without the voice
// consent, or with a file that is not audio, the core refuses and keeps nothing.

import dev.tidbit.ItemAnswer
import dev.tidbit.TidbitClient
import dev.tidbit.VoiceAnswer
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.ConsentScope
import dev.tidbit.ffi.core.Outcome
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.core.StepView
import java.io.ByteArrayOutputStream
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking

const val SPOKEN = "spoken-tour"
val voicePack = File(env("TIDBIT_VOICE_PACK"))

/** A mono 16-bit PCM WAV of [seconds] at 8 kHz holding a tone, as a recorder writes it. */
fun wav(seconds: Int): ByteArray {
    val samples = ByteArray(16_000 * seconds) { i -> ((i * 37) % 251).toByte() }
    fun le(size: Int, fill: ByteBuffer.() -> Unit) =
        ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN).apply(fill).array()
    return ByteArrayOutputStream().apply {
        write("RIFF".toByteArray()); write(le(4) { putInt(36 + samples.size) })
        write("WAVEfmt ".toByteArray())
        write(le(20) { putInt(16); putShort(1); putShort(1); putInt(8_000); putInt(16_000); putShort(2); putShort(16) })
        write("data".toByteArray()); write(le(4) { putInt(samples.size) })
        write(samples)
    }.toByteArray()
}

val voiceTests: List<Pair<String, () -> Unit>> = listOf(
    "a voice item is answered through its form with a recording, which comes back whole" to {
        val dir = Files.createTempDirectory("tidbit-voice").toFile()
        try {
            runBlocking {
                TidbitClient.open(config(dir), MemoryKeyStore(null), ManualClock()).use { tidbit ->
                    tidbit.installPack(voicePack.path).toList()
                    tidbit.enroll(SPOKEN, "speaker")
                    val view = tidbit.startModule(SPOKEN, "speak")
                        .filterIsInstance<StepView.Item>().single { it.id == "speak-voice" }.view
                    val form = ItemAnswer.of(view) as VoiceAnswer
                    check(form.maxSeconds == 30 && form.criteria.size == 2) { "$form" }
                    check(!form.ready && form.missing!!.startsWith("Record your answer")) { "${form.missing}" }
                    val recording = wav(3)
                    val ready = form.record(recording, 3_000).toggle(0)
                    check(ready.ready) { "${ready.missing}" }
                    check(form.record(recording, 31_000).missing!!.contains("longer than 30 seconds")) { "too long" }

                    expectThrows<TidbitException.ConsentRequired> {
                        runBlocking { tidbit.answerVoice(SPOKEN, "speak-voice", ready) }
                    }
                    tidbit.setConsent(ConsentScope.VOICE, true)
                    expectThrows<TidbitException.InvalidAnswer> {
                        runBlocking { tidbit.answerVoice(SPOKEN, "speak-voice", "not audio".toByteArray(), 1_000, listOf(true, true)) }
                    }
                    expectThrows<TidbitException.InvalidAnswer> {
                        runBlocking { tidbit.answerVoice(SPOKEN, "speak-voice", wav(31), 1_000, listOf(true, true)) }
                    }
                    expectThrows<TidbitException.WrongStepKind> {
                        runBlocking { tidbit.answer(SPOKEN, "speak-voice", ready.response()!!, 3_000) }
                    }

                    val feedback = tidbit.answerVoice(SPOKEN, "speak-voice", ready)
                    check(feedback.assessment.outcome == Outcome.PARTIAL && feedback.assessment.credit == 0.5) { "$feedback" }
                    val sha = (ready.response() as Response.Voice).audio
                    check(sha.length == 64) { sha }
                    check(tidbit.voiceAudio(sha).contentEquals(recording)) { "the recording came back changed" }
                    expectThrows<TidbitException.UnknownContent> {
                        runBlocking { tidbit.voiceAudio("0".repeat(64)) }
                    }
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    },
)
