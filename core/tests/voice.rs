//! Spoken answers through the facade, on real store files: a recording is refused with a typed
//! error and changes nothing when it is not audio, too long or not consented to; an accepted one
//! is kept once, sealed in every file of the store, named by its SHA-256 in the answer's event
//! (never carried in it), given back whole, replayed like any answer and erased with the store.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tidbit_core::analytics::xapi::{statements_of, XapiSettings};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::{EventKind, ManualClock};
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::learn::assess::{Outcome, Response, ResponseError};
use tidbit_core::learn::voice::{pcm_wav, sha256_hex, AudioError};
use tidbit_core::privacy::at_rest::AtRestKey;
use tidbit_core::privacy::consent::{ConsentError, ConsentScope};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::store::KeptRecording;
use tidbit_core::tidbit::{Tidbit, TidbitConfig, TidbitError, VoiceError};

const COURSE: &str = "spoken-tour";
const VOICE: &str = "speak-voice";

struct Device {
    dir: tempfile::TempDir,
    pack: PathBuf,
    trusted: TrustedKeys,
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-21T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn key(byte: u8) -> Option<Arc<AtRestKey>> {
    Some(Arc::new(AtRestKey::from_bytes(&[byte; 32]).unwrap()))
}

fn device() -> Device {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bindings/fixtures/spoken");
    let compiled = compile_course(&source).unwrap();
    let author = SigningKey::generate().unwrap();
    let pack = dir.path().join("spoken.tidbit");
    let mut file = std::fs::File::create(&pack).unwrap();
    write_course_pack(&compiled, &author, start(), &mut file, &mut |_, _| {}).unwrap();
    Device {
        dir,
        pack,
        trusted: TrustedKeys::from_keys([author.public_key()]),
    }
}

impl Device {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn open(&self, at_rest_key: Option<Arc<AtRestKey>>) -> Tidbit {
        self.open_on(at_rest_key, Arc::new(ManualClock::new(start())))
    }

    fn open_on(&self, at_rest_key: Option<Arc<AtRestKey>>, clock: Arc<ManualClock>) -> Tidbit {
        let config = TidbitConfig {
            data_dir: self.data(),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: self.trusted.clone(),
            at_rest_key,
        };
        Tidbit::open(config, clock).unwrap()
    }

    /// A learner with the course installed and its module started, with the given scopes.
    fn learner(&self, at_rest_key: Option<Arc<AtRestKey>>, scopes: &[ConsentScope]) -> Tidbit {
        let mut tidbit = self.open(at_rest_key);
        tidbit.install_pack(&self.pack, &mut |_, _| {}).unwrap();
        tidbit.enroll(COURSE, "speaker").unwrap();
        tidbit.start_module(COURSE, "speak").unwrap();
        for scope in scopes {
            tidbit.set_consent(*scope, true).unwrap();
        }
        tidbit
    }

    /// Whether any file under the store's directory holds a 64-byte window of `pattern`.
    fn files_hold(&self, pattern: &[u8]) -> bool {
        let windows: HashSet<&[u8]> = pattern.windows(64).collect();
        files_under(&self.data()).iter().any(|path| {
            let bytes = std::fs::read(path).unwrap();
            bytes.windows(64).any(|w| windows.contains(w))
        })
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// 4 KiB no one would write by chance: every 64-byte window of it is distinct.
fn distinctive() -> Vec<u8> {
    (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i >> 8) as u8)
        .collect()
}

/// A mono 16-bit WAV of `seconds` at 1 kHz (2 000 bytes a second), `pattern` repeated.
fn wav(seconds: u32, pattern: &[u8]) -> Vec<u8> {
    let samples: Vec<u8> = pattern
        .iter()
        .copied()
        .cycle()
        .take(2_000 * seconds as usize)
        .collect();
    pcm_wav(1_000, 1, 16, &samples)
}

/// What a refused answer must leave as it was: the log, the kept recordings, the projections.
fn state(tidbit: &Tidbit) -> (usize, Vec<KeptRecording>, String) {
    (
        tidbit.events().unwrap().len(),
        tidbit.kept_recordings().unwrap(),
        tidbit.projection_digest().unwrap(),
    )
}

fn voice_error(error: TidbitError) -> VoiceError {
    match error {
        TidbitError::Voice(error) => error,
        other => panic!("expected a voice error, got {other}"),
    }
}

#[test]
fn a_spoken_answer_is_scored_kept_and_named_by_its_hash_in_the_event() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Voice, ConsentScope::Analytics]);
    let recording = wav(3, &distinctive());
    let feedback = tidbit
        .answer_voice(COURSE, VOICE, &recording, 0, vec![true, false])
        .unwrap();
    assert_eq!(feedback.assessment.outcome, Outcome::Partial);
    assert!((feedback.assessment.credit - 0.5).abs() < 1e-9);
    assert!(feedback.next_due_ms.is_some());

    let sha = sha256_hex(&recording);
    let event = tidbit.events().unwrap().pop().unwrap();
    let EventKind::ItemAnswered {
        item_kind,
        response,
        response_ms,
        ..
    } = &event.kind
    else {
        panic!("{event:?}");
    };
    assert_eq!(item_kind, "voice");
    assert_eq!(*response_ms, 3_000);
    assert_eq!(
        response,
        &Some(Response::Voice {
            audio: sha.clone(),
            duration_ms: 3_000,
            criteria_met: vec![true, false],
        })
    );
    let body = serde_json::to_vec(&event).unwrap();
    assert!(body.len() < 1_024, "{} bytes", body.len());
    let pattern = distinctive();
    let windows: HashSet<&[u8]> = pattern.windows(64).collect();
    assert!(!body.windows(64).any(|w| windows.contains(w)));

    assert_eq!(tidbit.voice_audio(&sha).unwrap(), recording);
    assert_eq!(
        tidbit.kept_recordings().unwrap(),
        [KeptRecording {
            sha256: sha,
            size: recording.len() as u64
        }]
    );
}

#[test]
fn without_the_voice_consent_a_spoken_answer_is_refused_and_changes_nothing() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Analytics]);
    let before = state(&tidbit);
    let error = tidbit
        .answer_voice(COURSE, VOICE, &wav(2, b"speech"), 0, vec![true, true])
        .unwrap_err();
    assert!(
        matches!(
            error,
            TidbitError::Consent(ConsentError::Required(ConsentScope::Voice))
        ),
        "{error}"
    );
    assert_eq!(state(&tidbit), before);
}

#[test]
fn a_wav_longer_than_the_item_allows_is_refused_and_changes_nothing() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Voice]);
    let before = state(&tidbit);
    // The item takes 30 s; the header says 31, whatever length the app claims.
    let error = tidbit
        .answer_voice(COURSE, VOICE, &wav(31, b"speech"), 10_000, vec![true, true])
        .unwrap_err();
    assert_eq!(
        voice_error(error),
        VoiceError::Audio(AudioError::TooLong {
            duration_ms: 31_000,
            max_seconds: 30
        })
    );
    assert_eq!(state(&tidbit), before);
}

#[test]
fn a_file_that_is_not_audio_is_refused_and_changes_nothing() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Voice]);
    let before = state(&tidbit);
    for (bytes, refusal) in [
        (
            &b"I would say what happened, then what I did."[..],
            AudioError::NotAudio,
        ),
        (&b""[..], AudioError::Empty),
    ] {
        let error = tidbit
            .answer_voice(COURSE, VOICE, bytes, 5_000, vec![true, true])
            .unwrap_err();
        assert_eq!(voice_error(error), VoiceError::Audio(refusal.clone()));
        assert!(refusal.to_string().contains("record"), "{refusal}");
    }
    assert_eq!(state(&tidbit), before);
}

#[test]
fn a_rating_of_the_wrong_length_keeps_no_recording() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Voice]);
    let before = state(&tidbit);
    let error = tidbit
        .answer_voice(COURSE, VOICE, &wav(2, b"speech"), 0, vec![true])
        .unwrap_err();
    assert!(
        matches!(
            error,
            TidbitError::Response(ResponseError::CriteriaCountMismatch {
                expected: 2,
                found: 1
            })
        ),
        "{error}"
    );
    assert_eq!(state(&tidbit), before);
}

#[test]
fn a_voice_item_takes_only_a_recording_and_only_a_voice_item_takes_one() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Voice]);
    let before = state(&tidbit);
    let named = Response::Voice {
        audio: "ab".repeat(32),
        duration_ms: 2_000,
        criteria_met: vec![true, true],
    };
    let error = tidbit.answer(COURSE, VOICE, named, 2_000).unwrap_err();
    assert_eq!(
        voice_error(error),
        VoiceError::RecordingRequired { step: VOICE.into() }
    );
    let error = tidbit
        .answer_voice(COURSE, "speak-single", &wav(2, b"speech"), 0, vec![])
        .unwrap_err();
    assert_eq!(
        voice_error(error),
        VoiceError::NotAVoiceItem {
            step: "speak-single".into()
        }
    );
    assert_eq!(state(&tidbit), before);
}

#[test]
fn the_recording_is_sealed_in_every_file_of_the_store_open_or_closed() {
    let phone = device();
    let pattern = distinctive();
    let mut tidbit = phone.learner(key(2), &[ConsentScope::Voice, ConsentScope::Analytics]);
    let recording = wav(4, &pattern);
    tidbit
        .answer_voice(COURSE, VOICE, &recording, 0, vec![true, true])
        .unwrap();
    assert!(!phone.files_hold(&pattern), "the open store's files");
    drop(tidbit);
    assert!(!phone.files_hold(&pattern), "the closed store's files");
    let tidbit = phone.open(key(2));
    assert_eq!(
        tidbit.voice_audio(&sha256_hex(&recording)).unwrap(),
        recording
    );
}

#[test]
fn a_store_without_a_key_holds_the_recording_in_plain_form() {
    // The scan above can find the recording: without a key it does.
    let phone = device();
    let pattern = distinctive();
    let mut tidbit = phone.learner(None, &[ConsentScope::Voice]);
    tidbit
        .answer_voice(COURSE, VOICE, &wav(4, &pattern), 0, vec![true, true])
        .unwrap();
    drop(tidbit);
    assert!(phone.files_hold(&pattern));
}

#[test]
fn a_plain_store_given_a_key_seals_the_recordings_it_holds() {
    let phone = device();
    let pattern = distinctive();
    let recording = wav(4, &pattern);
    let mut tidbit = phone.learner(None, &[ConsentScope::Voice]);
    tidbit
        .answer_voice(COURSE, VOICE, &recording, 0, vec![true, true])
        .unwrap();
    drop(tidbit);

    let tidbit = phone.open(key(3));
    assert!(!phone.files_hold(&pattern));
    assert_eq!(
        tidbit.voice_audio(&sha256_hex(&recording)).unwrap(),
        recording
    );
}

#[test]
fn the_same_recording_is_kept_once() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Voice]);
    let recording = wav(2, b"the same words");
    for _ in 0..2 {
        tidbit
            .answer_voice(COURSE, VOICE, &recording, 0, vec![true, true])
            .unwrap();
    }
    assert_eq!(
        tidbit.keep_audio(&recording).unwrap(),
        sha256_hex(&recording)
    );
    assert_eq!(tidbit.kept_recordings().unwrap().len(), 1);
}

#[test]
fn a_recording_from_elsewhere_is_kept_sealed_when_it_is_audio() {
    let phone = device();
    let pattern = distinctive();
    // Keeping a peer's recording records no answer and needs no voice consent of this learner.
    let mut tidbit = phone.learner(key(4), &[]);
    let events = tidbit.events().unwrap().len();
    let ogg: Vec<u8> = b"OggS\x00\x02"
        .iter()
        .copied()
        .chain(pattern.clone())
        .collect();
    let sha = tidbit.keep_audio(&ogg).unwrap();
    assert_eq!(sha, sha256_hex(&ogg));
    assert_eq!(tidbit.voice_audio(&sha).unwrap(), ogg);
    assert!(!phone.files_hold(&pattern));
    let error = tidbit.keep_audio(b"<html>not audio</html>").unwrap_err();
    assert_eq!(voice_error(error), VoiceError::Audio(AudioError::NotAudio));
    assert_eq!(tidbit.kept_recordings().unwrap().len(), 1);
    assert_eq!(tidbit.events().unwrap().len(), events);
}

#[test]
fn asking_for_a_recording_not_kept_is_a_typed_error() {
    let phone = device();
    let tidbit = phone.learner(key(1), &[]);
    for name in [sha256_hex(b"never recorded"), "../../etc/passwd".into()] {
        let error = tidbit.voice_audio(&name).unwrap_err();
        assert!(
            matches!(voice_error(error), VoiceError::NoRecording { .. }),
            "{name}"
        );
    }
}

#[test]
fn replaying_a_log_with_spoken_answers_gives_the_state_recorded_live() {
    let phone = device();
    let mut tidbit = phone.learner(key(5), &[ConsentScope::Voice, ConsentScope::Analytics]);
    tidbit
        .answer(
            COURSE,
            "speak-single",
            Response::SingleChoice { choice: 0 },
            6_000,
        )
        .unwrap();
    for (seconds, met) in [(3, vec![true, false]), (5, vec![true, true])] {
        tidbit
            .answer_voice(COURSE, VOICE, &wav(seconds, b"speech"), 0, met)
            .unwrap();
    }
    let live = tidbit.projection_digest().unwrap();
    let events = tidbit.events().unwrap();
    assert_eq!(tidbit.rebuild_projections().unwrap(), events.len() as u64);
    assert_eq!(tidbit.projection_digest().unwrap(), live);

    // A replica holding the same events and course (the server's view) holds the same state,
    // without any recording.
    let replica_device = Device {
        dir: tempfile::tempdir().unwrap(),
        pack: phone.pack.clone(),
        trusted: phone.trusted.clone(),
    };
    let mut replica = replica_device.open(None);
    replica.install_pack(&phone.pack, &mut |_, _| {}).unwrap();
    replica.replay_events(&events).unwrap();
    assert_eq!(replica.projection_digest().unwrap(), live);
    assert!(replica.kept_recordings().unwrap().is_empty());
}

#[test]
fn a_spoken_answer_is_a_learning_record_of_type_other_whose_response_is_the_hash() {
    let phone = device();
    let mut tidbit = phone.learner(key(1), &[ConsentScope::Voice, ConsentScope::Analytics]);
    let recording = wav(2, b"speech");
    tidbit
        .answer_voice(COURSE, VOICE, &recording, 0, vec![true, true])
        .unwrap();
    let events = tidbit.events().unwrap();
    let settings = XapiSettings::new("https://learn.example.org");
    let statements = statements_of(tidbit.store(), "ada", &events, &settings).unwrap();
    let answered = statements
        .iter()
        .find(|s| s.object.id.ends_with(VOICE))
        .unwrap();
    let definition = answered.object.definition.as_ref().unwrap();
    assert_eq!(definition.interaction_type.as_deref(), Some("other"));
    let result = answered.result.as_ref().unwrap();
    assert_eq!(
        result.response.as_deref(),
        Some(sha256_hex(&recording).as_str())
    );
}

#[test]
fn erasing_the_store_removes_its_recordings() {
    let phone = device();
    let pattern = distinctive();
    let mut tidbit = phone.learner(None, &[ConsentScope::Voice]);
    tidbit
        .answer_voice(COURSE, VOICE, &wav(4, &pattern), 0, vec![true, true])
        .unwrap();
    assert!(phone.files_hold(&pattern));
    tidbit.erase(|| Ok(())).unwrap();
    assert!(!phone.data().exists());
}

#[test]
fn a_simulated_learner_answers_a_voice_item_with_a_recording() {
    let phone = device();
    let clock = Arc::new(ManualClock::new(start()));
    let mut tidbit = phone.open_on(key(6), clock.clone());
    tidbit.install_pack(&phone.pack, &mut |_, _| {}).unwrap();
    tidbit.enroll(COURSE, "speaker").unwrap();
    let mut practice = PracticeDevice::new(&tidbit, 3, 1.0).unwrap();
    practice.practise(&mut tidbit, &clock, 10).unwrap();
    let spoken = tidbit.events().unwrap().into_iter().any(|event| {
        matches!(event.kind, EventKind::ItemAnswered { ref item_kind, .. } if item_kind == "voice")
    });
    assert!(spoken, "the voice item was answered");
    assert_eq!(tidbit.kept_recordings().unwrap().len(), 1);
}
