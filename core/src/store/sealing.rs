//! Bringing the store under the learner's at-rest key (see `privacy::at_rest`).
//!
//! Sealed columns: `events.body` (bound to the event id), `sync_documents.snapshot` (bound to
//! the document name and its generation, `name@generation`) and `sync_chunks.bytes` (bound to
//! the name, the generation and the chunk's place in it, `name@generation#position`), so a
//! sealed chunk or snapshot cannot be moved to another document, reordered, or put back from
//! an earlier compaction unnoticed; the decision audit trail's `reason`,
//! `inputs` and `output`; and the recordings of spoken answers, `voice_audio.bytes` (bound to
//! the recording's name, `audio@sha256`). A store is sealed from its first open with a
//! key: the key check is written then, and a store that already holds plain rows has them sealed
//! in one transaction, after which the WAL is truncated so no plain copy stays behind. Freed
//! pages are zeroed (`secure_delete`) while a key is in use. Opening a sealed store without its
//! key, or with another, fails before anything is read or written.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;
use crate::privacy::at_rest::{self, AtRestError, AtRestKey};

/// The `learner_settings` key of the sealed key check.
const KEY_CHECK: &str = "at_rest_key_check";

/// Registers the sealing functions on `conn` and checks, or adopts, `key`.
pub(crate) fn apply_key(
    conn: &mut Connection,
    key: Option<Arc<AtRestKey>>,
) -> Result<(), StoreError> {
    let check: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM learner_settings WHERE key = ?1",
            [KEY_CHECK],
            |r| r.get(0),
        )
        .optional()?;
    at_rest::register_functions(conn, key.clone())?;
    let Some(key) = key else {
        return match check {
            Some(_) => Err(AtRestError::KeyRequired.into()),
            None => bind_positions(conn, false),
        };
    };
    conn.pragma_update(None, "secure_delete", "ON")?;
    match check {
        Some(check) => {
            at_rest::verify_key(&key, &check)?;
            bind_positions(conn, true)?;
        }
        None => {
            bind_positions(conn, false)?;
            seal_plain_rows(conn, &key)?;
        }
    }
    Ok(())
}

/// Gives every document row written before positions were bound its generation (0) and every
/// chunk its place, sealing them again under their new binding when `sealed`; one transaction.
fn bind_positions(conn: &mut Connection, sealed: bool) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let legacy: Vec<String> = tx
        .prepare("SELECT name FROM sync_documents WHERE generation IS NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for name in legacy {
        let reseal = |column: &str, aad: &str| {
            if sealed {
                format!("tidbit_seal({aad}, tidbit_open(name, {column}))")
            } else {
                column.to_string()
            }
        };
        tx.execute(
            &format!(
                "UPDATE sync_documents SET snapshot = {}, generation = 0 WHERE name = ?1",
                reseal("snapshot", "name || '@0'")
            ),
            [&name],
        )?;
        let chunks: Vec<i64> = tx
            .prepare("SELECT id FROM sync_chunks WHERE name = ?1 ORDER BY id")?
            .query_map([&name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for (position, id) in chunks.into_iter().enumerate() {
            tx.execute(
                &format!(
                    "UPDATE sync_chunks SET bytes = {}, position = ?2 WHERE name = ?3 AND id = ?1",
                    reseal("bytes", "name || '@0#' || ?2")
                ),
                rusqlite::params![id, position as i64, name],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Seals every row written before the store had a key, and records the key check.
fn seal_plain_rows(conn: &mut Connection, key: &AtRestKey) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let sealed = tx.execute("UPDATE events SET body = tidbit_seal(id, body)", [])?
        + tx.execute(
            "UPDATE sync_documents SET snapshot = tidbit_seal(name || '@' || generation, snapshot)",
            [],
        )?
        + tx.execute(
            "UPDATE sync_chunks SET bytes = tidbit_seal(
                 name || '@' || (SELECT generation FROM sync_documents d WHERE d.name = sync_chunks.name)
                 || '#' || position, bytes)",
            [],
        )?
        + tx.execute(
            "UPDATE decisions SET reason = tidbit_seal('decision', reason),
             inputs = tidbit_seal('decision', inputs), output = tidbit_seal('decision', output)",
            [],
        )?
        + tx.execute(
            "UPDATE voice_audio SET bytes = tidbit_seal('audio@' || sha256, bytes)",
            [],
        )?;
    tx.execute(
        "INSERT INTO learner_settings (key, value) VALUES (?1, ?2)",
        rusqlite::params![KEY_CHECK, at_rest::key_check(key)?],
    )?;
    tx.commit()?;
    if sealed > 0 {
        // The WAL still holds the plain pages until it starts over: copy it into the database
        // (whose freed space secure_delete has zeroed) and cut it to nothing.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}
