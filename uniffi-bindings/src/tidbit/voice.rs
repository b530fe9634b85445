//! Spoken answers across the FFI: `answer_voice` records a voice item's answer with its
//! recording, `voice_audio` gives a kept recording back. Thin: the core checks the recording,
//! asks for the `voice` consent, keeps it sealed and records the answer in one transaction
//! (`tidbit_core::tidbit::Tidbit::answer_voice`); refusals arrive as `InvalidAnswer` (not audio,
//! too long, a rating of the wrong length), `ConsentRequired`, `WrongStepKind` or
//! `UnknownContent` (no such recording), and store nothing.

use super::Tidbit;
use crate::error::TidbitError;
use crate::records::Feedback;

#[uniffi::export]
impl Tidbit {
    /// Scores and records the learner's spoken answer to the voice item `step`: `audio` is the
    /// recorder's file (WAV, Ogg, MP4/M4A, AMR, WebM or MP3), `duration_ms` the length the
    /// recorder reported (a WAV's header counts instead), `criteria_met` the learner's rating
    /// against each criterion, in the order the item view lists them. Needs the `voice` consent.
    pub fn answer_voice(
        &self,
        course: String,
        step: String,
        audio: Vec<u8>,
        duration_ms: u32,
        criteria_met: Vec<bool>,
    ) -> Result<Feedback, TidbitError> {
        self.session.run("answer_voice", |core| {
            Ok(core.answer_voice(&course, &step, &audio, duration_ms, criteria_met)?)
        })
    }

    /// The recording a voice answer names by `sha256` (64 lowercase hex digits), for playback.
    pub fn voice_audio(&self, sha256: String) -> Result<Vec<u8>, TidbitError> {
        self.session
            .run("voice_audio", |core| Ok(core.voice_audio(&sha256)?))
    }
}
