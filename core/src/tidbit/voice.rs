//! Spoken answers through the facade: [`Tidbit::answer_voice`] records one,
//! [`Tidbit::voice_audio`] gives a kept recording back, [`Tidbit::keep_audio`] keeps a recording
//! received from elsewhere (a peer's shared answer).
//!
//! A recording is checked first (`learn::voice`: real audio, not empty, not too large, no longer
//! than the item allows), then kept sealed in the store under its SHA-256 (`store::audio`); the
//! answer's event names it by that hash and never carries its bytes. Recording needs the
//! learner's `voice` consent. The answer and its recording commit in one transaction, so a
//! refused answer keeps no recording and a kept one always has its answer. As for every answer,
//! what exactly was answered (the hash, the length, the criteria met) enters the event only
//! under the `analytics` scope; the recording itself never leaves this device through the log.

use super::{Feedback, Tidbit, TidbitError};
use crate::content::items::Interaction;
use crate::events::{is_recording_name, Response};
use crate::learn::voice::{self, AudioError};
use crate::privacy::consent::ConsentScope;
use crate::store::{audio, KeptRecording};

/// Why a spoken answer or a recording was refused; nothing was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("step '{step}' is not a voice item: answer it with `answer`")]
    NotAVoiceItem { step: String },
    #[error("step '{step}' is a voice item: send the learner's recording with `answer_voice`")]
    RecordingRequired { step: String },
    #[error("no recording '{sha256}' is kept on this device: it was never recorded or received here; name a recording by the SHA-256 its answer carries")]
    NoRecording { sha256: String },
}

impl Tidbit {
    /// Scores and records a spoken answer to the voice item at `step`: `audio` is the recording
    /// (WAV, Ogg, MP4/M4A, AMR, WebM or MP3), `duration_ms` its length as the recorder reported
    /// it (a WAV's own header counts instead), `criteria_met` the learner's rating of it against
    /// each criterion, in authored order. Needs the `voice` consent scope. The recording is kept
    /// sealed and the answer recorded in one transaction, committed before this returns; any
    /// refusal (no consent, not audio, too long, a rating of the wrong length) stores nothing.
    pub fn answer_voice(
        &mut self,
        course: &str,
        step: &str,
        audio: &[u8],
        duration_ms: u32,
        criteria_met: Vec<bool>,
    ) -> Result<Feedback, TidbitError> {
        let (module, item) = self.load_item(course, step)?;
        let Interaction::Voice { max_seconds, .. } = item.interaction() else {
            return Err(VoiceError::NotAVoiceItem { step: step.into() }.into());
        };
        self.require_consent(ConsentScope::Voice)?;
        let (recording, duration_ms) =
            voice::check_answer(audio, duration_ms, *max_seconds).map_err(VoiceError::from)?;
        let response = Response::Voice {
            audio: recording.sha256.clone(),
            duration_ms,
            criteria_met,
        };
        // The time spent answering is the time spent speaking.
        self.record_answer(course, step, module, &item, response, duration_ms, |tx| {
            audio::keep(tx, &recording.sha256, audio)?;
            Ok(())
        })
    }

    /// The bytes of the recording named `sha256` (as a voice answer names it), unsealed.
    pub fn voice_audio(&self, sha256: &str) -> Result<Vec<u8>, TidbitError> {
        let missing = || VoiceError::NoRecording {
            sha256: sha256.chars().take(64).collect(),
        };
        if !is_recording_name(sha256) {
            return Err(missing().into());
        }
        let bytes = audio::load(self.store.conn(), sha256)?.ok_or_else(missing)?;
        if voice::sha256_hex(&bytes) != sha256 {
            return Err(TidbitError::Corrupt(format!(
                "recording {sha256} does not hash to its name"
            )));
        }
        Ok(bytes)
    }

    /// Keeps a recording received from elsewhere (a peer's shared spoken answer), checked as
    /// audio, sealed and named by its SHA-256, which is returned; keeping it again changes
    /// nothing. Durable when it returns. Consent to share or receive is the caller's to check:
    /// this keeps no recording of the learner's own voice.
    pub fn keep_audio(&mut self, bytes: &[u8]) -> Result<String, TidbitError> {
        let recording = voice::recognise(bytes, 0).map_err(VoiceError::from)?;
        let tx = self.store.conn_mut().transaction()?;
        audio::keep(&tx, &recording.sha256, bytes)?;
        tx.commit()?;
        Ok(recording.sha256)
    }

    /// Every recording kept on this device, by name.
    pub fn kept_recordings(&self) -> Result<Vec<KeptRecording>, TidbitError> {
        Ok(audio::kept(self.store.conn())?)
    }
}
