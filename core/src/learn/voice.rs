//! Recordings of spoken answers: telling real audio from anything else by its first bytes,
//! measuring a WAV from its own header, and the bounds every recording keeps.
//!
//! Accepted containers: WAV (`RIFF....WAVE`), Ogg (`OggS`), MP4/M4A (`ftyp` at offset 4), AMR
//! (`#!AMR`), WebM/Matroska (`1A 45 DF A3`) and MP3 (`ID3`, or an MPEG frame sync). A WAV says
//! how long it lasts (its data chunk over its byte rate), so its header is believed over what
//! the app says; for the other containers the app passes the length its recorder reported.
//! This module only reads bytes: it never decodes audio, never stores it and never reads the
//! clock. Refusals are [`AudioError`]s whose messages say what to do.

use crate::content::items::MAX_VOICE_SECONDS;

/// The largest recording Tidbit keeps: ten minutes of 16 kHz 16-bit mono WAV with room to spare.
pub const MAX_AUDIO_BYTES: usize = 16 * 1024 * 1024;

/// A container Tidbit takes a recording in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    Wav,
    Ogg,
    Mp4,
    Amr,
    WebM,
    Mp3,
}

impl AudioFormat {
    /// The container's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            AudioFormat::Wav => "WAV",
            AudioFormat::Ogg => "Ogg",
            AudioFormat::Mp4 => "MP4/M4A",
            AudioFormat::Amr => "AMR",
            AudioFormat::WebM => "WebM",
            AudioFormat::Mp3 => "MP3",
        }
    }

    /// The container `bytes` start like, if any Tidbit takes.
    pub fn of(bytes: &[u8]) -> Option<AudioFormat> {
        let at =
            |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
        if at(0, b"RIFF") && at(8, b"WAVE") {
            Some(AudioFormat::Wav)
        } else if at(0, b"OggS") {
            Some(AudioFormat::Ogg)
        } else if at(4, b"ftyp") {
            Some(AudioFormat::Mp4)
        } else if at(0, b"#!AMR") {
            Some(AudioFormat::Amr)
        } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
            Some(AudioFormat::WebM)
        } else if at(0, b"ID3") || (bytes.len() >= 4 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
        {
            Some(AudioFormat::Mp3)
        } else {
            None
        }
    }
}

/// Why a recording is refused. Nothing is stored or recorded when one is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("the recording is empty: record the answer again")]
    Empty,
    #[error("the recording has {bytes} bytes, more than the {max} Tidbit keeps: record a shorter answer, or at a lower quality")]
    TooLarge { bytes: usize, max: usize },
    #[error("this is not a recording Tidbit takes: send the WAV, Ogg, MP4/M4A, AMR, WebM or MP3 file the recorder made")]
    NotAudio,
    #[error("the WAV file is damaged ({0}): record the answer again")]
    DamagedWav(&'static str),
    #[error("no length was given for this {format} recording: pass the length in milliseconds that the recorder reported")]
    NoDuration { format: &'static str },
    #[error("the recording lasts {duration_ms} ms, longer than the {max_seconds} s this item takes: record a shorter answer")]
    TooLong { duration_ms: u32, max_seconds: u32 },
}

/// A recording that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub format: AudioFormat,
    /// The SHA-256 of the bytes, 64 lowercase hex digits: the recording's name.
    pub sha256: String,
    /// The length: a WAV's by its header, any other's as the app gave it (`None`: not given).
    pub duration_ms: Option<u32>,
}

/// Checks that `bytes` are a recording Tidbit keeps (not empty, not over [`MAX_AUDIO_BYTES`],
/// a container it takes, a WAV no longer than any voice item allows) and names it. A length
/// the app supplies (`supplied_ms`, 0 for none) counts for containers without one in a header.
pub fn recognise(bytes: &[u8], supplied_ms: u32) -> Result<Recording, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if bytes.len() > MAX_AUDIO_BYTES {
        return Err(AudioError::TooLarge {
            bytes: bytes.len(),
            max: MAX_AUDIO_BYTES,
        });
    }
    let format = AudioFormat::of(bytes).ok_or(AudioError::NotAudio)?;
    let duration_ms = match format {
        AudioFormat::Wav => Some(wav_duration_ms(bytes)?),
        _ => (supplied_ms > 0).then_some(supplied_ms),
    };
    let recording = Recording {
        format,
        sha256: sha256_hex(bytes),
        duration_ms,
    };
    if format == AudioFormat::Wav {
        fits(&recording, MAX_VOICE_SECONDS)?;
    }
    Ok(recording)
}

/// A spoken answer to an item taking at most `max_seconds`: [`recognise`]d, with a known
/// length (the WAV header's, else `supplied_ms`) no longer than the item allows. Returns the
/// recording and its length.
pub fn check_answer(
    bytes: &[u8],
    supplied_ms: u32,
    max_seconds: u32,
) -> Result<(Recording, u32), AudioError> {
    let recording = recognise(bytes, supplied_ms)?;
    let duration_ms = fits(&recording, max_seconds)?;
    Ok((recording, duration_ms))
}

/// The recording's length, if it has one and lasts at most `max_seconds`.
fn fits(recording: &Recording, max_seconds: u32) -> Result<u32, AudioError> {
    let duration_ms = recording.duration_ms.ok_or(AudioError::NoDuration {
        format: recording.format.name(),
    })?;
    if u64::from(duration_ms) > u64::from(max_seconds) * 1000 {
        return Err(AudioError::TooLong {
            duration_ms,
            max_seconds,
        });
    }
    Ok(duration_ms)
}

/// The SHA-256 of `bytes` in lowercase hex: how a recording is named in stores and answers.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// A WAV's length from its `fmt ` chunk (the byte rate) and its `data` chunk (the samples'
/// bytes, counting only those the file holds: recorders cut off mid-write leave a larger size).
fn wav_duration_ms(bytes: &[u8]) -> Result<u32, AudioError> {
    let mut byte_rate = None;
    let mut data_len = None;
    let mut at: usize = 12;
    while let Some(header) = at.checked_add(8).and_then(|end| bytes.get(at..end)) {
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let body = at + 8;
        let held = size.min(bytes.len() - body);
        match &header[..4] {
            b"fmt " => {
                let fmt = bytes
                    .get(body..body + 16)
                    .ok_or(AudioError::DamagedWav("its fmt chunk is cut short"))?;
                byte_rate = Some(u32::from_le_bytes([fmt[8], fmt[9], fmt[10], fmt[11]]));
            }
            b"data" => data_len = Some(held),
            _ => {}
        }
        if byte_rate.is_some() && data_len.is_some() {
            break;
        }
        // Chunks are padded to an even length.
        at = body.saturating_add(size).saturating_add(size & 1);
    }
    let byte_rate = byte_rate.ok_or(AudioError::DamagedWav("it has no fmt chunk"))?;
    let data_len = data_len.ok_or(AudioError::DamagedWav("it has no data chunk"))?;
    if byte_rate == 0 {
        return Err(AudioError::DamagedWav("its byte rate is 0"));
    }
    if data_len == 0 {
        return Err(AudioError::Empty);
    }
    let ms = (data_len as u64 * 1000).div_ceil(u64::from(byte_rate));
    Ok(u32::try_from(ms).unwrap_or(u32::MAX))
}

/// A PCM WAV holding `samples` (already interleaved, `bits_per_sample` wide): what simulated
/// learners and tests record.
pub fn pcm_wav(sample_rate: u32, channels: u16, bits_per_sample: u16, samples: &[u8]) -> Vec<u8> {
    let block_align = channels * bits_per_sample.div_ceil(8);
    let byte_rate = sample_rate * u32::from(block_align);
    let data_len = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36u32.saturating_add(data_len)).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&channels.to_le_bytes());
    wav.extend_from_slice(&sample_rate.to_le_bytes());
    wav.extend_from_slice(&byte_rate.to_le_bytes());
    wav.extend_from_slice(&block_align.to_le_bytes());
    wav.extend_from_slice(&bits_per_sample.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(samples);
    wav
}

#[cfg(test)]
mod tests;
