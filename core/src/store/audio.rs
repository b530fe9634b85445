//! Recordings of spoken answers in the store: the `voice_audio` table, content-addressed.
//!
//! A recording is named by the SHA-256 of its bytes (64 lowercase hex digits, what a voice
//! answer's event carries) and its bytes are sealed under the store's at-rest key, bound to that
//! name (`audio@<sha256>`), so a sealed recording cannot be passed off under another name. The
//! same recording kept twice is kept once. Callers check that the bytes are audio and that the
//! name is their hash before keeping them (`learn::voice`); this module only stores and reads,
//! inside whatever transaction it is given, and never decides whether a recording may be kept.
//! The table is not a projection: a replay leaves it alone. Erasing the store removes it with
//! the database file.

use rusqlite::{params, Connection, OptionalExtension};

/// A kept recording, as an export or a listing names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRecording {
    pub sha256: String,
    pub size: u64,
}

/// Keeps `bytes` under `sha256`, sealed; true when it was not kept already (then nothing is
/// written).
pub(crate) fn keep(conn: &Connection, sha256: &str, bytes: &[u8]) -> rusqlite::Result<bool> {
    if holds(conn, sha256)? {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO voice_audio (sha256, size, bytes)
         VALUES (?1, ?2, tidbit_seal('audio@' || ?1, ?3))",
    )?
    .execute(params![sha256, bytes.len() as i64, bytes])?;
    Ok(true)
}

/// Whether a recording named `sha256` is kept.
pub(crate) fn holds(conn: &Connection, sha256: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM voice_audio WHERE sha256 = ?1")?
        .query_row([sha256], |_| Ok(()))
        .optional()
        .map(|row| row.is_some())
}

/// The bytes of the recording named `sha256`, unsealed, if it is kept.
pub(crate) fn load(conn: &Connection, sha256: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached(
        "SELECT tidbit_open('audio@' || sha256, bytes) FROM voice_audio WHERE sha256 = ?1",
    )?
    .query_row([sha256], |r| r.get(0))
    .optional()
}

/// Every kept recording by name, in name order.
pub(crate) fn kept(conn: &Connection) -> rusqlite::Result<Vec<KeptRecording>> {
    conn.prepare_cached("SELECT sha256, size FROM voice_audio ORDER BY sha256")?
        .query_map([], |r| {
            Ok(KeptRecording {
                sha256: r.get(0)?,
                size: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
            })
        })?
        .collect()
}
