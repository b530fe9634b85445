//! Spoken answers shared with a cohort, through the real server: the recording is uploaded in
//! chunks that resume after a cut, a peer fetches it and keeps it sealed (no audio bytes in
//! plain form anywhere in their store), rates it, and the recording is deleted once its share
//! is hidden.

mod support;

use std::sync::Arc;

use tidbit_core::community::SharedAnswer;
use tidbit_core::events::ManualClock;
use tidbit_core::learn::voice::{pcm_wav, sha256_hex};
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_core::tidbit::{fetch_shared_audio, CommunityError, SyncOptions, TidbitError};

use support::cohort::{form, Member, SPOKEN, VOICE_ITEM};
use support::{open_hub, start, TestServer};

/// Three seconds of 8 kHz 16-bit mono whose samples never repeat a 64-byte window.
fn recording() -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    let samples: Vec<u8> = (0..48_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    pcm_wav(8_000, 1, 16, &samples)
}

/// Every file under `dir` that holds some 64-byte window of `needle` in plain form.
fn files_holding_bytes(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let windows: Vec<&[u8]> = needle
        .chunks(64)
        .filter(|w| w.len() == 64)
        .step_by(16)
        .collect();
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if windows
                .iter()
                .any(|w| bytes.windows(w.len()).any(|b| b == *w))
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Syncs `member`'s documents and spaces, round trip by round trip, without the uploads that
/// follow a sync.
fn exchange_only(member: &Member, server: &TestServer) {
    let mut session = tidbit_core::tidbit::SyncSession::new(&server.url());
    for _ in 0..32 {
        let request = member
            .tidbit
            .lock()
            .unwrap()
            .sync_outgoing(&mut session)
            .unwrap();
        if request.listing.is_none() && request.messages.is_empty() {
            return;
        }
        let (status, body) = support::post_sync(
            &server.url(),
            &member.learner,
            Some(&format!("Bearer {}", member.token)),
            request.encode(),
        );
        assert_eq!(status, 200);
        let reply = tidbit_core::sync::exchange::Exchange::decode(&body).unwrap();
        member
            .tidbit
            .lock()
            .unwrap()
            .sync_incoming(&mut session, reply)
            .unwrap();
    }
    panic!("the exchange did not settle");
}

/// Sends a share of "recording" `sha` (`bytes` long) into the space `voices` as `member`'s
/// phone, the way a modified app would, without any recording kept behind it.
fn share_crafted(server: &TestServer, member: &Member, sha: &str, bytes: u64) {
    use tidbit_core::community::{self, Entry, EntryKind};
    let name = tidbit_core::sync::documents::cohort_document("voices");
    let stored = server
        .hub
        .storage
        .load(&tidbit_server::cohorts::owner("voices"), &name)
        .unwrap()
        .unwrap();
    let mut doc = automerge::AutoCommit::load(&stored.snapshot).unwrap();
    for chunk in &stored.chunks {
        doc.load_incremental(chunk).unwrap();
    }
    let before = doc.get_heads();
    let entry = Entry {
        id: String::new(),
        author: member.learner.clone(),
        device: member.device.clone(),
        incarnation: "c0ffee".into(),
        sequence: 1,
        at_ms: start().timestamp_millis() + 3_600_000,
        kind: EntryKind::Share {
            course: SPOKEN.into(),
            step: VOICE_ITEM.into(),
            answer_event: "e".into(),
            prompt: "Hand over".into(),
            criteria: vec!["said what happened".into()],
            answer: SharedAnswer::Voice {
                audio: sha.into(),
                duration_ms: 1_000,
                bytes,
            },
        },
    };
    community::append(&mut doc, &name, &entry).unwrap();
    let (status, body) = support::post_sync(
        &server.url(),
        &member.learner,
        Some(&format!("Bearer {}", member.token)),
        support::exchange_with(&name, support::message_after(&mut doc, &before)),
    );
    assert_eq!(status, 200);
    let reply = tidbit_core::sync::exchange::Exchange::decode(&body).unwrap();
    assert!(reply.refused.is_empty(), "{:?}", reply.refused);
}

fn audio_url(server: &TestServer, cohort: &str, sha: &str) -> String {
    format!("{}/v1/cohorts/{cohort}/audio/{sha}", server.url())
}

#[test]
fn a_spoken_answer_is_shared_resumed_rated_kept_sealed_and_deleted_when_hidden() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let clock = Arc::new(ManualClock::new(start()));
    let server = TestServer::start_with(&data, Arc::new(open_hub(&data).with_clock(clock)));
    assert_eq!(form(&server, "voices", &["ana", "ben"]).0, 200);
    let ana = Member::new(root.path(), &server, "ana", "ana-phone", true);
    let ben = Member::new(root.path(), &server, "ben", "ben-phone", true);
    ana.sync(&server);
    ben.sync(&server);

    let audio = recording();
    let sha = sha256_hex(&audio);
    let share = {
        let mut tidbit = ana.tidbit.lock().unwrap();
        tidbit.set_consent(ConsentScope::Voice, true).unwrap();
        tidbit.enroll(SPOKEN, "speaker").unwrap();
        let answered = tidbit
            .answer_voice(SPOKEN, VOICE_ITEM, &audio, 3_000, vec![true, false])
            .unwrap();
        // A length past what the item takes, or a recording not kept here, is refused.
        let too_long = SharedAnswer::Voice {
            audio: sha.clone(),
            duration_ms: 31_000,
            bytes: audio.len() as u64,
        };
        assert!(matches!(
            tidbit.share_answer("voices", &answered.answer_event, too_long),
            Err(TidbitError::Community(CommunityError::AnswerMismatch(_)))
        ));
        let elsewhere = SharedAnswer::Voice {
            audio: "0".repeat(64),
            duration_ms: 3_000,
            bytes: audio.len() as u64,
        };
        assert!(tidbit
            .share_answer("voices", &answered.answer_event, elsewhere)
            .is_err());
        tidbit
            .share_answer(
                "voices",
                &answered.answer_event,
                SharedAnswer::Voice {
                    audio: sha.clone(),
                    duration_ms: 3_000,
                    bytes: audio.len() as u64,
                },
            )
            .unwrap()
    };

    // The share reaches the server; its recording's upload is cut after 1,000 bytes; the next
    // sync resumes from there.
    exchange_only(&ana, &server);
    let http = reqwest::blocking::Client::new();
    let cut = http
        .put(audio_url(&server, "voices", &sha))
        .bearer_auth(&ana.token)
        .header("upload-offset", "0")
        .header("upload-length", audio.len().to_string())
        .body(audio[..1000].to_vec())
        .send()
        .unwrap();
    assert_eq!(cut.status().as_u16(), 202);
    let head = http
        .head(audio_url(&server, "voices", &sha))
        .bearer_auth(&ana.token)
        .send()
        .unwrap();
    assert_eq!(head.status().as_u16(), 404);
    assert_eq!(head.headers()["upload-offset"], "1000");
    let report = ana.sync(&server);
    assert_eq!(report.audio_uploaded, 1);
    let stored = data.join("cohort-audio/voices").join(&sha);
    assert_eq!(std::fs::read(&stored).unwrap(), audio);

    // Ben fetches it, keeps it sealed, and rates it against the item's two criteria.
    ben.sync(&server);
    let view = ben.tidbit.lock().unwrap().cohort("voices").unwrap();
    assert_eq!(view.shares.len(), 1);
    assert_eq!(view.shares[0].criteria.len(), 2);
    let options = SyncOptions::new(&server.url(), &ben.token);
    let fetched = tidbit_core::runtime::runtime()
        .unwrap()
        .block_on(fetch_shared_audio(&ben.tidbit, &options, "voices", &sha))
        .unwrap();
    assert_eq!(fetched, audio);
    assert_eq!(ben.tidbit.lock().unwrap().voice_audio(&sha).unwrap(), audio);
    for member in [&ana, &ben] {
        let plain = files_holding_bytes(&member.dir, &audio[64..]);
        assert!(plain.is_empty(), "audio in plain form: {plain:?}");
    }
    ben.tidbit
        .lock()
        .unwrap()
        .give_feedback("voices", &share, vec![true, true], "Clear and in order")
        .unwrap();
    ben.sync(&server);
    ana.sync(&server);
    let mine = ana.tidbit.lock().unwrap().cohort("voices").unwrap();
    assert_eq!(mine.shares[0].feedback[0].criteria_met, vec![true, true]);

    // Bytes that are not audio are refused when the upload completes, and nothing is kept: a
    // modified app shares a "recording" that is text, then uploads it.
    let text = b"not a recording at all".to_vec();
    let text_sha = sha256_hex(&text);
    let unshared = http
        .put(audio_url(&server, "voices", &text_sha))
        .bearer_auth(&ana.token)
        .header("upload-offset", "0")
        .header("upload-length", text.len().to_string())
        .body(text.clone())
        .send()
        .unwrap();
    assert_eq!(unshared.status().as_u16(), 409, "no share names it yet");
    share_crafted(&server, &ana, &text_sha, text.len() as u64);
    let refused = http
        .put(audio_url(&server, "voices", &text_sha))
        .bearer_auth(&ana.token)
        .header("upload-offset", "0")
        .header("upload-length", text.len().to_string())
        .body(text)
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    assert!(!data.join("cohort-audio/voices").join(&text_sha).exists());

    // Hidden by its author, the share leaves every view and its recording leaves the server.
    ana.tidbit
        .lock()
        .unwrap()
        .hide_in_cohort("voices", &share, "")
        .unwrap();
    ana.sync(&server);
    ben.sync(&server);
    let shares = ben.tidbit.lock().unwrap().cohort("voices").unwrap().shares;
    assert!(
        shares.iter().all(|s| s.id != share),
        "the hidden share still shows"
    );
    assert!(!stored.exists());
    let gone = http
        .get(audio_url(&server, "voices", &sha))
        .bearer_auth(&ben.token)
        .send()
        .unwrap();
    assert_eq!(gone.status().as_u16(), 404);
}

#[test]
fn a_peers_rating_counts_towards_mastery_where_the_course_says_so_and_below_an_answer() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let clock = Arc::new(ManualClock::new(start()));
    let server = TestServer::start_with(&data, Arc::new(open_hub(&data).with_clock(clock)));
    assert_eq!(form(&server, "pairs", &["ana", "ben"]).0, 200);
    let ana = Member::new(root.path(), &server, "ana", "ana-phone", true);
    let tablet = Member::new(root.path(), &server, "ana", "ana-tablet", true);
    let ben = Member::new(root.path(), &server, "ben", "ben-phone", true);
    for device in [&ana, &tablet, &ben] {
        device.sync(&server);
    }
    // Ana meets every criterion of the reflection (customer-objections: ratings count 0.4) and
    // of the spoken item (spoken-tour: they do not count), and shares both.
    let text = "Outcomes, one honest weakness, a trial on their data";
    let reflection = ana.reflect(text);
    let audio = recording();
    let (reflection_share, voice_share) = {
        let mut tidbit = ana.tidbit.lock().unwrap();
        tidbit.set_consent(ConsentScope::Voice, true).unwrap();
        tidbit.enroll(SPOKEN, "speaker").unwrap();
        let spoken = tidbit
            .answer_voice(SPOKEN, VOICE_ITEM, &audio, 3_000, vec![true, true])
            .unwrap();
        let shared = SharedAnswer::Reflection { text: text.into() };
        let voice = SharedAnswer::Voice {
            audio: sha256_hex(&audio),
            duration_ms: 3_000,
            bytes: audio.len() as u64,
        };
        (
            tidbit.share_answer("pairs", &reflection, shared).unwrap(),
            tidbit
                .share_answer("pairs", &spoken.answer_event, voice)
                .unwrap(),
        )
    };
    let credit_of = |device: &Member, course: &str, step: &str| -> f64 {
        device
            .tidbit
            .lock()
            .unwrap()
            .mastery(course)
            .unwrap()
            .into_iter()
            .flat_map(|m| m.evidence)
            .find(|e| e.step == step)
            .map(|e| e.credit)
            .unwrap()
    };
    assert_eq!(
        credit_of(&ana, support::cohort::COURSE, "comp-reflect"),
        1.0
    );
    ana.sync(&server);
    ben.sync(&server);
    {
        let mut tidbit = ben.tidbit.lock().unwrap();
        tidbit
            .give_feedback(
                "pairs",
                &reflection_share,
                vec![false, false, false],
                "Name the criteria",
            )
            .unwrap();
        tidbit
            .give_feedback("pairs", &voice_share, vec![false, false], "Too fast")
            .unwrap();
    }
    ben.sync(&server);
    // The sharing device records the one rating that counts; the tablet records none.
    assert_eq!(ana.sync(&server).peer_ratings, 1);
    assert_eq!(tablet.sync(&server).peer_ratings, 0);
    ana.sync(&server);
    tablet.sync(&server);
    // A rating of 0 pulls the credit 0.2 of the way (half an answer's pull, times 0.4): 0.8,
    // where an automatic wrong answer would have made it 0.5. Once, on both devices.
    for device in [&ana, &tablet] {
        let credit = credit_of(device, support::cohort::COURSE, "comp-reflect");
        assert!((credit - 0.8).abs() < 1e-9, "{}: {credit}", device.device);
        assert_eq!(credit_of(device, SPOKEN, VOICE_ITEM), 1.0);
    }
    assert_eq!(ana.sync(&server).peer_ratings, 0, "counted once");
    // Replaying the log gives the same projections.
    let before = ana.tidbit.lock().unwrap().projection_digest().unwrap();
    ana.tidbit.lock().unwrap().rebuild_projections().unwrap();
    assert_eq!(
        ana.tidbit.lock().unwrap().projection_digest().unwrap(),
        before
    );
}
