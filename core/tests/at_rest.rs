//! Encryption at rest through the facade, on real store files: what the learner wrote never sits
//! in the files in plain form once a key is given, the right key opens the store and nothing
//! else does, and a store written before it had a key is sealed when it gets one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::learn::assess::Response;
use tidbit_core::privacy::at_rest::{AtRestError, AtRestKey};
use tidbit_core::store::StoreError;
use tidbit_core::tidbit::{Tidbit, TidbitConfig, TidbitError};

const COURSE: &str = "binding-tour";
const SECRET: &str = "Quokka-lighthouse-7731 is where I would use this";

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
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bindings/fixtures/every-kind");
    let compiled = compile_course(&source).unwrap();
    let author = SigningKey::generate().unwrap();
    let pack = dir.path().join("tour.tidbit");
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

    fn open(&self, at_rest_key: Option<Arc<AtRestKey>>) -> Result<Tidbit, TidbitError> {
        let config = TidbitConfig {
            data_dir: self.data(),
            learner_id: "ada".into(),
            device_id: "phone".into(),
            time_zone: "Europe/Berlin".into(),
            trusted_keys: self.trusted.clone(),
            at_rest_key,
        };
        Tidbit::open(config, Arc::new(ManualClock::new(start())))
    }

    /// Installs the course and writes a reflection holding [`SECRET`].
    fn reflect(&self, tidbit: &mut Tidbit) {
        tidbit.install_pack(&self.pack, &mut |_, _| {}).unwrap();
        tidbit.enroll(COURSE, "tourist").unwrap();
        tidbit.start_module(COURSE, "tour").unwrap();
        // Under the analytics scope the reflection's text is recorded (and synced) with it.
        tidbit
            .set_consent(tidbit_core::privacy::consent::ConsentScope::Analytics, true)
            .unwrap();
        let response = Response::Reflection {
            text: SECRET.into(),
            criteria_met: vec![true, false],
        };
        tidbit
            .answer(COURSE, "tour-reflection", response, 40_000)
            .unwrap();
    }

    /// Whether any file of the store (database, WAL, shared memory) holds [`SECRET`].
    fn files_hold_the_secret(&self) -> bool {
        std::fs::read_dir(self.data())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .any(|path| {
                let bytes = std::fs::read(&path).unwrap();
                bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
            })
    }

    fn database_bytes(&self) -> Vec<u8> {
        std::fs::read(self.data().join(tidbit_core::store::DATABASE_FILE)).unwrap()
    }
}

fn reflection_text(tidbit: &Tidbit) -> Option<String> {
    tidbit.events().unwrap().into_iter().find_map(|event| {
        let json = serde_json::to_string(&event).unwrap();
        json.contains(SECRET).then(|| SECRET.to_string())
    })
}

fn at_rest_error(result: Result<Tidbit, TidbitError>) -> AtRestError {
    match result {
        Err(TidbitError::Store(StoreError::AtRest(error))) => error,
        Err(other) => panic!("expected an at-rest error, got {other}"),
        Ok(_) => panic!("expected an at-rest error, the store opened"),
    }
}

#[test]
fn a_sealed_store_keeps_no_answer_text_in_its_files_while_open_or_closed() {
    let phone = device();
    let mut tidbit = phone.open(key(1)).unwrap();
    phone.reflect(&mut tidbit);
    assert!(!phone.files_hold_the_secret(), "the WAL of an open store");
    let digest = tidbit.projection_digest().unwrap();
    let reason = tidbit.next_activity().unwrap().reason;
    drop(tidbit);
    assert!(!phone.files_hold_the_secret(), "the closed store");

    let tidbit = phone.open(key(1)).unwrap();
    assert_eq!(reflection_text(&tidbit).as_deref(), Some(SECRET));
    assert_eq!(tidbit.projection_digest().unwrap(), digest);
    let [decision] = tidbit.decisions(1).unwrap().try_into().unwrap();
    assert_eq!(
        (decision.kind.as_str(), decision.reason),
        ("next_activity", reason)
    );
}

#[test]
fn a_store_without_a_key_holds_the_text_in_plain_form() {
    // The scan above can find the text: without a key it does.
    let phone = device();
    let mut tidbit = phone.open(None).unwrap();
    phone.reflect(&mut tidbit);
    drop(tidbit);
    assert!(phone.files_hold_the_secret());
}

#[test]
fn another_key_is_refused_and_changes_nothing() {
    let phone = device();
    let mut tidbit = phone.open(key(1)).unwrap();
    phone.reflect(&mut tidbit);
    let digest = tidbit.projection_digest().unwrap();
    drop(tidbit);
    let before = phone.database_bytes();

    assert_eq!(at_rest_error(phone.open(key(2))), AtRestError::WrongKey);
    assert_eq!(at_rest_error(phone.open(None)), AtRestError::KeyRequired);
    assert!(
        phone.database_bytes() == before,
        "a refused open wrote to the store"
    );

    let tidbit = phone.open(key(1)).unwrap();
    assert_eq!(tidbit.projection_digest().unwrap(), digest);
}

#[test]
fn a_plain_store_given_a_key_seals_what_it_already_holds() {
    let phone = device();
    let mut tidbit = phone.open(None).unwrap();
    phone.reflect(&mut tidbit);
    tidbit.next_activity().unwrap();
    let digest = tidbit.projection_digest().unwrap();
    let events = tidbit.events().unwrap();
    let decisions = tidbit.decisions(10).unwrap();
    drop(tidbit);
    assert!(phone.files_hold_the_secret());

    let mut tidbit = phone.open(key(9)).unwrap();
    assert!(!phone.files_hold_the_secret());
    assert_eq!(tidbit.events().unwrap(), events);
    assert_eq!(tidbit.decisions(10).unwrap(), decisions);
    assert_eq!(tidbit.rebuild_projections().unwrap(), events.len() as u64);
    assert_eq!(tidbit.projection_digest().unwrap(), digest);
    drop(tidbit);
    assert_eq!(at_rest_error(phone.open(None)), AtRestError::KeyRequired);
}

#[test]
fn replaying_a_sealed_log_gives_the_state_recorded_live() {
    let phone = device();
    let mut tidbit = phone.open(key(4)).unwrap();
    phone.reflect(&mut tidbit);
    for step in ["tour-single", "tour-truefalse"] {
        let response = match step {
            "tour-single" => Response::SingleChoice { choice: 1 },
            _ => Response::TrueFalse { answer: true },
        };
        tidbit.answer(COURSE, step, response, 5_000).unwrap();
    }
    let live = tidbit.projection_digest().unwrap();
    assert_eq!(
        tidbit.rebuild_projections().unwrap(),
        tidbit.events().unwrap().len() as u64
    );
    assert_eq!(tidbit.projection_digest().unwrap(), live);
}

#[test]
fn a_changed_sealed_event_is_an_error_and_never_read_as_something_else() {
    let phone = device();
    let mut tidbit = phone.open(key(5)).unwrap();
    phone.reflect(&mut tidbit);
    drop(tidbit);
    let raw =
        rusqlite::Connection::open(phone.data().join(tidbit_core::store::DATABASE_FILE)).unwrap();
    let (id, mut body): (String, Vec<u8>) = raw
        .query_row(
            "SELECT id, body FROM events WHERE kind = 'item_answered'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    body[20] ^= 0x40;
    raw.execute(
        "UPDATE events SET body = ?2 WHERE id = ?1",
        rusqlite::params![id, body],
    )
    .unwrap();
    drop(raw);

    let mut tidbit = phone.open(key(5)).unwrap();
    let error = tidbit.rebuild_projections().unwrap_err();
    assert!(error.to_string().contains("cannot be opened"), "{error}");
    assert!(tidbit.events().is_err());
}

/// The current month's chunks: (id, position, sealed bytes), in order.
fn sealed_chunks(raw: &rusqlite::Connection) -> Vec<(i64, i64, Vec<u8>)> {
    raw.prepare("SELECT id, position, bytes FROM sync_chunks ORDER BY name, id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn sealed_chunks_swapped_or_dropped_make_their_document_unloadable() {
    for tamper in ["swap", "drop the last"] {
        let phone = device();
        let mut tidbit = phone.open(key(6)).unwrap();
        phone.reflect(&mut tidbit);
        drop(tidbit);
        let raw = rusqlite::Connection::open(phone.data().join(tidbit_core::store::DATABASE_FILE))
            .unwrap();
        let chunks = sealed_chunks(&raw);
        assert!(chunks.len() >= 2, "{} chunks", chunks.len());
        match tamper {
            "swap" => {
                let (a, b) = (&chunks[0], &chunks[1]);
                for (id, bytes) in [(a.0, &b.2), (b.0, &a.2)] {
                    raw.execute(
                        "UPDATE sync_chunks SET bytes = ?2 WHERE id = ?1",
                        rusqlite::params![id, bytes],
                    )
                    .unwrap();
                }
            }
            _ => {
                let last = chunks.last().unwrap().0;
                raw.execute("DELETE FROM sync_chunks WHERE id = ?1", [last])
                    .unwrap();
            }
        }
        drop(raw);
        let mut tidbit = phone.open(key(6)).unwrap();
        let error = tidbit
            .answer(
                COURSE,
                "tour-truefalse",
                Response::TrueFalse { answer: true },
                5_000,
            )
            .unwrap_err();
        // A swapped chunk fails authentication; a missing one leaves the count short.
        let message = error.to_string();
        assert!(
            message.contains("cannot be opened") || message.contains("cannot be loaded"),
            "{tamper}: {message}"
        );
    }
}

#[test]
fn a_store_sealed_before_positions_were_bound_is_bound_when_opened() {
    let phone = device();
    let mut tidbit = phone.open(key(7)).unwrap();
    phone.reflect(&mut tidbit);
    let events = tidbit.events().unwrap();
    drop(tidbit);
    // Rewrite the documents as an earlier version sealed them: bound to the name alone.
    let sealer = AtRestKey::from_bytes(&[7; 32]).unwrap();
    let raw =
        rusqlite::Connection::open(phone.data().join(tidbit_core::store::DATABASE_FILE)).unwrap();
    let (name, generation, snapshot): (String, i64, Vec<u8>) = raw
        .query_row(
            "SELECT name, generation, snapshot FROM sync_documents",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let rebind = |from: String, sealed: &[u8]| {
        let (kind, plain) = sealer.open(from.as_bytes(), sealed).unwrap();
        sealer.seal(name.as_bytes(), kind, &plain).unwrap()
    };
    raw.execute(
        "UPDATE sync_documents SET snapshot = ?1, generation = NULL",
        [rebind(format!("{name}@{generation}"), &snapshot)],
    )
    .unwrap();
    for (id, position, bytes) in sealed_chunks(&raw) {
        raw.execute(
            "UPDATE sync_chunks SET bytes = ?2, position = NULL WHERE id = ?1",
            rusqlite::params![
                id,
                rebind(format!("{name}@{generation}#{position}"), &bytes)
            ],
        )
        .unwrap();
    }
    drop(raw);
    let mut tidbit = phone.open(key(7)).unwrap();
    tidbit
        .answer(
            COURSE,
            "tour-truefalse",
            Response::TrueFalse { answer: true },
            5_000,
        )
        .unwrap();
    assert_eq!(tidbit.events().unwrap().len(), events.len() + 1);
    drop(tidbit);
    let raw =
        rusqlite::Connection::open(phone.data().join(tidbit_core::store::DATABASE_FILE)).unwrap();
    let unbound: i64 = raw
        .query_row(
            "SELECT count(*) FROM sync_chunks WHERE position IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unbound, 0);
}
