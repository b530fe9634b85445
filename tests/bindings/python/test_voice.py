"""Spoken answers from Python: a voice item answered with a small generated WAV once the learner
gave the voice consent, the recording read back whole and sealed in the store's files, and the
refusals (no consent, not audio, too long) that keep nothing."""

import asyncio
import hashlib
import io
import pathlib
import wave

import pytest

import tidbit as tb
from conftest import ManualClock, MemoryKeyStore, env_path

COURSE = "spoken-tour"
STEP = "speak-voice"
# A run of bytes no store would hold by chance.
PATTERN = bytes((i * 151 + (i >> 8) * 7) % 256 for i in range(4096))


def recording(seconds):
    """A mono 16-bit 8 kHz WAV of `seconds`, its samples PATTERN over and over."""
    samples = (PATTERN * (16_000 * seconds // len(PATTERN) + 1))[: 16_000 * seconds]
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8_000)
        wav.writeframes(samples)
    return out.getvalue()


def files_hold(directory, pattern):
    """Whether any file under `directory` holds a 64-byte window of `pattern`."""
    windows = {pattern[i : i + 64] for i in range(len(pattern) - 63)}
    for path in pathlib.Path(directory).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(data[i : i + 64] in windows for i in range(len(data) - 63)):
                return True
    return False


@pytest.fixture
def learner(config):
    tidbit = tb.Tidbit.open_with_clock(config, MemoryKeyStore(), ManualClock())
    asyncio.run(tidbit.install_pack(str(env_path("TIDBIT_VOICE_PACK")), None))
    tidbit.enroll(COURSE, "speaker")
    views = {view.id: view for view in tidbit.start_module(COURSE, "speak")}
    yield tidbit, views
    tidbit.close_store()


def test_a_voice_item_is_answered_with_a_wav_that_comes_back_whole_and_sealed(learner, config):
    tidbit, views = learner
    view = views[STEP].view
    assert view.is_VOICE() and view.max_seconds == 30 and len(view.criteria) == 2
    tidbit.set_consent(tb.ConsentScope.VOICE, True)
    audio = recording(3)
    feedback = tidbit.answer_voice(COURSE, STEP, audio, 0, [True, True])
    assert feedback.assessment.outcome == tb.Outcome.RIGHT
    assert feedback.assessment.credit == 1.0
    sha = hashlib.sha256(audio).hexdigest()
    assert tidbit.voice_audio(sha) == audio
    assert not files_hold(config.data_dir, PATTERN)


def test_without_the_voice_consent_nothing_is_kept(learner):
    tidbit, _ = learner
    audio = recording(2)
    with pytest.raises(tb.TidbitError.ConsentRequired):
        tidbit.answer_voice(COURSE, STEP, audio, 0, [True, True])
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.voice_audio(hashlib.sha256(audio).hexdigest())


def test_a_file_that_is_not_audio_or_is_too_long_is_refused(learner):
    tidbit, _ = learner
    tidbit.set_consent(tb.ConsentScope.VOICE, True)
    with pytest.raises(tb.TidbitError.InvalidAnswer, match="not a recording"):
        tidbit.answer_voice(COURSE, STEP, b"my answer, typed", 5_000, [True, True])
    too_long = recording(31)
    with pytest.raises(tb.TidbitError.InvalidAnswer, match="longer than the 30 s"):
        tidbit.answer_voice(COURSE, STEP, too_long, 0, [True, True])
    with pytest.raises(tb.TidbitError.UnknownContent):
        tidbit.voice_audio(hashlib.sha256(too_long).hexdigest())
