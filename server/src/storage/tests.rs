use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use super::sqlite::SCHEMA;
use super::*;
use crate::sealing::ServerKey;

const MARKER: &[u8] = b"reflection: I skipped the second glove check";

fn key(byte: u8) -> Arc<ServerKey> {
    Arc::new(ServerKey::from_bytes(&[byte; 32]).unwrap())
}

fn snapshot(doc: &str, bytes: &[u8]) -> DocumentUpdate {
    DocumentUpdate {
        doc: doc.into(),
        expected: None,
        write: DocumentWrite::Snapshot(bytes.to_vec()),
        heads: Vec::new(),
    }
}

fn chunk(doc: &str, bytes: &[u8]) -> DocumentUpdate {
    DocumentUpdate {
        doc: doc.into(),
        expected: Some(Vec::new()),
        write: DocumentWrite::Chunk(bytes.to_vec()),
        heads: Vec::new(),
    }
}

/// Whether any file in `dir` holds `needle`.
fn any_file_holds(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

#[test]
fn documents_and_sync_states_are_stored_sealed_and_read_back_plain() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("db"), key(1)).unwrap();
    let states = [StateUpdate {
        doc: "events-2026-09".into(),
        state: MARKER.to_vec(),
    }];
    storage
        .commit(
            "ana",
            "phone",
            &[snapshot("events-2026-09", MARKER)],
            &states,
            &[],
        )
        .unwrap();
    storage
        .commit(
            "ana",
            "phone",
            &[chunk("events-2026-09", b"chunk one")],
            &[],
            &[],
        )
        .unwrap();
    storage
        .commit(
            "ana",
            "phone",
            &[chunk("events-2026-09", b"chunk two")],
            &[],
            &[],
        )
        .unwrap();
    let stored = storage.load("ana", "events-2026-09").unwrap().unwrap();
    assert_eq!(stored.snapshot, MARKER);
    assert_eq!(
        stored.chunks,
        vec![b"chunk one".to_vec(), b"chunk two".to_vec()]
    );
    assert_eq!(
        storage
            .sync_state("ana", "phone", "events-2026-09")
            .unwrap(),
        Some(MARKER.to_vec())
    );
    drop(storage);
    assert!(!any_file_holds(dir.path(), MARKER));
    assert!(!any_file_holds(dir.path(), b"chunk one"));
}

#[test]
fn a_store_sealed_with_one_server_key_is_refused_with_another() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    assert!(!SqliteStorage::is_sealed(&path).unwrap());
    drop(SqliteStorage::open(&path, key(1)).unwrap());
    assert!(SqliteStorage::is_sealed(&path).unwrap());
    assert!(matches!(
        SqliteStorage::open(&path, key(2)),
        Err(StorageError::Sealing(SealError::WrongKey))
    ));
}

#[test]
fn a_store_from_before_sealing_is_sealed_when_it_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        // Schema 0, as every server wrote before sealing: plain bytes.
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(
            &SCHEMA[..SCHEMA
                .find("CREATE TABLE IF NOT EXISTS learner_keys")
                .unwrap()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO documents (learner, name, snapshot, heads) VALUES ('ana', 'events-2026-09', ?1, x'')",
            [MARKER],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO chunks (learner, name, bytes) VALUES ('ana', 'events-2026-09', CAST('plain chunk' AS BLOB))",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sync_states (learner, device, name, state) VALUES ('ana', 'phone', 'events-2026-09', CAST('plain state' AS BLOB))",
            [],
        )
        .unwrap();
    }
    assert!(any_file_holds(dir.path(), MARKER));
    let storage = SqliteStorage::open(&path, key(1)).unwrap();
    let stored = storage.load("ana", "events-2026-09").unwrap().unwrap();
    assert_eq!(stored.snapshot, MARKER);
    assert_eq!(stored.chunks, vec![b"plain chunk".to_vec()]);
    assert_eq!(
        storage
            .sync_state("ana", "phone", "events-2026-09")
            .unwrap(),
        Some(b"plain state".to_vec())
    );
    drop(storage);
    for plain in [MARKER, b"plain chunk", b"plain state"] {
        assert!(!any_file_holds(dir.path(), plain), "{plain:?}");
    }
    // Opened again, nothing is sealed twice.
    let storage = SqliteStorage::open(&path, key(1)).unwrap();
    assert_eq!(
        storage
            .load("ana", "events-2026-09")
            .unwrap()
            .unwrap()
            .snapshot,
        MARKER
    );
}

#[test]
fn erasure_deletes_the_learner_once_and_refuses_their_writes_after() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("db"), key(1)).unwrap();
    for learner in ["ana", "bob"] {
        storage
            .commit(
                learner,
                "phone",
                &[snapshot("events-2026-09", MARKER)],
                &[StateUpdate {
                    doc: "events-2026-09".into(),
                    state: b"state".to_vec(),
                }],
                &[format!("{learner}-event-1")],
            )
            .unwrap();
    }
    let Erasure::Erased { record, .. } = storage.erase("ana", 1_000).unwrap() else {
        panic!("ana was not erased");
    };
    assert_eq!(
        (
            record.at_ms,
            record.documents,
            record.chunks,
            record.sync_states,
            record.event_ids
        ),
        (1_000, 1, 0, 1, 1)
    );
    assert_eq!(record.erasure.len(), 32);
    assert!(storage.is_erased("ana").unwrap());
    assert!(!storage.is_erased("bob").unwrap());
    assert_eq!(storage.erase("ana", 2_000).unwrap(), Erasure::AlreadyErased);
    assert_eq!(storage.erase("carol", 2_000).unwrap(), Erasure::NeverSeen);
    assert_eq!(storage.erasures().unwrap(), vec![record]);
    assert!(storage.load("ana", "events-2026-09").unwrap().is_none());
    assert!(matches!(
        storage.commit(
            "ana",
            "phone",
            &[snapshot("events-2026-09", b"x")],
            &[],
            &[]
        ),
        Err(StorageError::Erased)
    ));
    assert_eq!(storage.learners().unwrap(), vec!["bob".to_string()]);
    assert_eq!(
        storage
            .load("bob", "events-2026-09")
            .unwrap()
            .unwrap()
            .snapshot,
        MARKER
    );
}
