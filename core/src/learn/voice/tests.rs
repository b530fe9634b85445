//! Recognising recordings: each container by its first bytes, a WAV's length from its header,
//! and every refusal with the error that says what to do.

use super::*;

/// `seconds` of 8 kHz 16-bit mono silence: 16 000 bytes a second.
fn wav_of(seconds: u32) -> Vec<u8> {
    pcm_wav(8_000, 1, 16, &vec![0; 16_000 * seconds as usize])
}

#[test]
fn a_wav_is_measured_from_its_header() {
    let recording = recognise(&wav_of(3), 0).unwrap();
    assert_eq!(recording.format, AudioFormat::Wav);
    assert_eq!(recording.duration_ms, Some(3_000));
    assert_eq!(recording.sha256, sha256_hex(&wav_of(3)));
    // Stereo 44.1 kHz 16-bit: 176 400 bytes a second; half a second of it.
    let stereo = pcm_wav(44_100, 2, 16, &vec![0; 88_200]);
    assert_eq!(recognise(&stereo, 0).unwrap().duration_ms, Some(500));
}

#[test]
fn a_wav_header_counts_over_the_length_the_app_supplies() {
    let (_, duration_ms) = check_answer(&wav_of(2), 60_000, 30).unwrap();
    assert_eq!(duration_ms, 2_000);
}

#[test]
fn a_wav_whose_data_size_runs_past_the_file_counts_the_bytes_it_holds() {
    let mut cut = wav_of(2);
    cut.truncate(44 + 8_000);
    assert_eq!(recognise(&cut, 0).unwrap().duration_ms, Some(500));
}

#[test]
fn a_wav_with_other_chunks_before_its_samples_is_measured() {
    let plain = wav_of(1);
    let mut listed = plain[..36].to_vec();
    listed.extend_from_slice(b"LIST\x05\x00\x00\x00abcde\x00");
    listed.extend_from_slice(&plain[36..]);
    assert_eq!(recognise(&listed, 0).unwrap().duration_ms, Some(1_000));
}

#[test]
fn a_sha256_is_named_in_lowercase_hex() {
    assert_eq!(
        sha256_hex(b"test"),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
}

#[test]
fn every_other_container_is_known_by_its_magic_bytes() {
    let cases: [(&[u8], AudioFormat); 7] = [
        (b"OggS\x00\x02rest", AudioFormat::Ogg),
        (b"\x00\x00\x00\x20ftypM4A rest", AudioFormat::Mp4),
        (b"#!AMR\n rest", AudioFormat::Amr),
        (b"#!AMR-WB\n rest", AudioFormat::Amr),
        (&[0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42], AudioFormat::WebM),
        (b"ID3\x04\x00 rest", AudioFormat::Mp3),
        (&[0xFF, 0xFB, 0x90, 0x64, 0x00], AudioFormat::Mp3),
    ];
    for (bytes, format) in cases {
        let recording = recognise(bytes, 12_000).unwrap();
        assert_eq!(recording.format, format, "{bytes:?}");
        assert_eq!(recording.duration_ms, Some(12_000), "{bytes:?}");
    }
}

#[test]
fn text_images_and_other_files_are_not_audio() {
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";
    let riff_video = b"RIFF\x10\x00\x00\x00AVI LIST";
    for bytes in [
        &b"hello, this is my answer"[..],
        &png[..],
        &riff_video[..],
        &b"%PDF-1.7"[..],
        &[0xFF, 0xD8, 0xFF, 0xE0][..], // JPEG
        &[0xFF, 0xE0][..],
    ] {
        assert_eq!(
            recognise(bytes, 5_000),
            Err(AudioError::NotAudio),
            "{bytes:?}"
        );
    }
}

#[test]
fn an_empty_file_or_a_wav_without_samples_is_empty() {
    assert_eq!(recognise(&[], 5_000), Err(AudioError::Empty));
    assert_eq!(
        recognise(&pcm_wav(8_000, 1, 16, &[]), 0),
        Err(AudioError::Empty)
    );
}

#[test]
fn a_recording_over_the_byte_cap_is_refused_before_it_is_read() {
    let mut huge = wav_of(1);
    huge.resize(MAX_AUDIO_BYTES + 1, 0);
    assert_eq!(
        recognise(&huge, 0),
        Err(AudioError::TooLarge {
            bytes: MAX_AUDIO_BYTES + 1,
            max: MAX_AUDIO_BYTES
        })
    );
}

#[test]
fn a_wav_longer_than_the_item_allows_is_refused_by_its_header() {
    let error = check_answer(&wav_of(6), 1_000, 5).unwrap_err();
    assert_eq!(
        error,
        AudioError::TooLong {
            duration_ms: 6_000,
            max_seconds: 5
        }
    );
    assert!(
        error.to_string().contains("record a shorter answer"),
        "{error}"
    );
}

#[test]
fn a_wav_longer_than_any_voice_item_allows_is_refused_even_without_an_item() {
    // Ten minutes and a second at 100 bytes a second: a small file, a long recording.
    let long = pcm_wav(100, 1, 8, &vec![0x80; 100 * 601]);
    assert_eq!(
        recognise(&long, 0),
        Err(AudioError::TooLong {
            duration_ms: 601_000,
            max_seconds: MAX_VOICE_SECONDS
        })
    );
}

#[test]
fn another_container_is_measured_by_the_supplied_length() {
    let ogg = b"OggS\x00\x02 a spoken answer";
    assert_eq!(check_answer(ogg, 5_000, 5).unwrap().1, 5_000);
    assert_eq!(
        check_answer(ogg, 5_001, 5).unwrap_err(),
        AudioError::TooLong {
            duration_ms: 5_001,
            max_seconds: 5
        }
    );
    assert_eq!(
        check_answer(ogg, 0, 5).unwrap_err(),
        AudioError::NoDuration { format: "Ogg" }
    );
}

#[test]
fn a_damaged_wav_header_is_refused_and_never_panics() {
    let whole = wav_of(1);
    let mut zero_rate = whole.clone();
    zero_rate[28..32].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(
        recognise(&zero_rate, 0),
        Err(AudioError::DamagedWav("its byte rate is 0"))
    );
    assert_eq!(
        recognise(&whole[..12], 0),
        Err(AudioError::DamagedWav("it has no fmt chunk"))
    );
    assert_eq!(
        recognise(&whole[..30], 0),
        Err(AudioError::DamagedWav("its fmt chunk is cut short"))
    );
    // A chunk claiming 4 GiB: the walk stops at the end of the file.
    let mut giant = whole[..12].to_vec();
    giant.extend_from_slice(b"junk\xFF\xFF\xFF\xFF");
    assert_eq!(
        recognise(&giant, 0),
        Err(AudioError::DamagedWav("it has no fmt chunk"))
    );
}
