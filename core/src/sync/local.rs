//! The device's copy of the learner's documents, kept in the store's SQLite file.
//!
//! A document is a snapshot (`save()` at its last compaction) plus the incremental chunks
//! written since, one per recorded event or received message, always in the same transaction
//! as the events and projections they carry. Compaction folds a document back into one snapshot:
//! a sync does it for every document it touched with more than [`COMPACT_DURING_SYNC`] chunks,
//! off the learning loop; an answer does it only past [`COMPACT_WHEN_RECORDING`] chunks (a
//! device that never syncs), so answering almost never pays for a `save()`. Documents are loaded lazily, on the first write or sync
//! that needs them; opening Tidbit never loads one.
//!
//! Each process writes under a fresh random Automerge actor, its *incarnation*: a device
//! restored from a backup can never reuse an (actor, sequence) pair, or an event id, that it
//! had already sent before the backup was restored.

use std::collections::HashMap;

use super::exchange::{pack_heads, unpack_heads};
use automerge::{sync, ActorId, AutoCommit, ChangeHash};
use ring::rand::SecureRandom;
use rusqlite::{params, Connection, OptionalExtension};

use super::documents::{self, DocumentError};
use crate::events::Event;

/// Chunks past which a sync folds a document into a new snapshot.
pub const COMPACT_DURING_SYNC: u32 = 32;
/// Chunks past which recording an event folds its document into a new snapshot.
pub const COMPACT_WHEN_RECORDING: u32 = 2048;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("database error while saving sync documents: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the stored document '{doc}' cannot be loaded ({message}): restore it from the server by syncing with a fresh store")]
    Unloadable { doc: String, message: String },
    #[error("the system random number generator failed")]
    Random,
}

struct OpenDocument {
    doc: AutoCommit,
    /// Compactions so far: the stored snapshot's generation, which binds it and its chunks.
    generation: i64,
    /// Heads when the document was last written to SQLite: later changes go into the next chunk.
    saved_heads: Vec<ChangeHash>,
    chunks: u32,
}

/// The learner's documents this process has loaded, and its incarnation.
pub struct LocalDocuments {
    actor: ActorId,
    incarnation: String,
    open: HashMap<String, OpenDocument>,
    /// The sequence of this incarnation's last cohort entry (entries' ids are derived from it).
    entries_written: u64,
}

impl LocalDocuments {
    pub fn new() -> Result<LocalDocuments, LocalError> {
        let mut bytes = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| LocalError::Random)?;
        Ok(LocalDocuments {
            actor: ActorId::from(bytes.as_slice()),
            incarnation: hex::encode(bytes),
            open: HashMap::new(),
            entries_written: 0,
        })
    }

    /// This process's writer identity, part of every event id it makes.
    pub fn incarnation(&self) -> &str {
        &self.incarnation
    }

    /// Every stored document with its heads, without loading any.
    pub fn stored_heads(conn: &Connection) -> Result<Vec<(String, Vec<ChangeHash>)>, LocalError> {
        let rows: Vec<(String, Vec<u8>)> = conn
            .prepare_cached("SELECT name, heads FROM sync_documents ORDER BY name")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .map(|(name, bytes)| (name, unpack_heads(&bytes)))
            .collect())
    }

    /// The document `name`, loading it from the store, or starting it from its genesis.
    pub fn document(
        &mut self,
        conn: &Connection,
        name: &str,
    ) -> Result<&mut AutoCommit, LocalError> {
        Ok(&mut self.open_document(conn, name)?.doc)
    }

    fn open_document(
        &mut self,
        conn: &Connection,
        name: &str,
    ) -> Result<&mut OpenDocument, LocalError> {
        if !self.open.contains_key(name) {
            let loaded = load(conn, name)?;
            let (mut doc, chunks, generation, saved) = match loaded {
                Some((doc, chunks, generation)) => (doc, chunks, generation, true),
                None => (documents::genesis(name)?, 0, -1, false),
            };
            doc.set_actor(self.actor.clone());
            let saved_heads = if saved { doc.get_heads() } else { Vec::new() };
            self.open.insert(
                name.to_string(),
                OpenDocument {
                    doc,
                    generation,
                    saved_heads,
                    chunks,
                },
            );
        }
        self.open
            .get_mut(name)
            .ok_or_else(|| LocalError::Unloadable {
                doc: name.into(),
                message: "it vanished while loading".into(),
            })
    }

    /// Appends `event` to its period document and writes the change; the caller's transaction
    /// holds the event and its projections too.
    pub fn record(
        &mut self,
        conn: &Connection,
        sequence: u64,
        event: &Event,
    ) -> Result<(), LocalError> {
        let name = documents::period_of(event.at_ms);
        let incarnation = self.incarnation.clone();
        let open = self.open_document(conn, &name)?;
        documents::append(&mut open.doc, &incarnation, sequence, event)?;
        self.save(conn, &name, COMPACT_WHEN_RECORDING)
    }

    /// The sequence for this incarnation's next cohort entry: never the same twice in a process,
    /// and a new process writes under a new incarnation.
    pub fn next_entry_sequence(&mut self) -> u64 {
        self.entries_written += 1;
        self.entries_written
    }

    /// Appends one encoded element to the stored document `name` (a cohort's space) and writes
    /// the change in the caller's transaction; if it does not commit, the caller calls
    /// [`LocalDocuments::forget`].
    pub fn append_element(
        &mut self,
        conn: &Connection,
        name: &str,
        bytes: Vec<u8>,
        at_ms: i64,
    ) -> Result<(), LocalError> {
        let open = self.open_document(conn, name)?;
        documents::append_element(&mut open.doc, name, bytes, at_ms)?;
        self.save(conn, name, COMPACT_WHEN_RECORDING)
    }

    /// Writes what changed in `name` since it was last saved: a chunk, or a new snapshot when
    /// the document already has `compact_after` chunks.
    pub fn save(
        &mut self,
        conn: &Connection,
        name: &str,
        compact_after: u32,
    ) -> Result<(), LocalError> {
        let Some(open) = self.open.get_mut(name) else {
            return Ok(());
        };
        let heads = open.doc.get_heads();
        let compact = open.chunks >= compact_after;
        if heads == open.saved_heads && !compact {
            return Ok(());
        }
        if open.saved_heads.is_empty() || compact {
            let snapshot = open.doc.save();
            let generation = open.generation + 1;
            conn.prepare_cached(
                "INSERT INTO sync_documents (name, snapshot, chunks, heads, generation)
                 VALUES (?1, tidbit_seal(?1 || '@' || ?4, ?2), 0, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET snapshot = excluded.snapshot, chunks = 0,
                 heads = excluded.heads, generation = excluded.generation",
            )?
            .execute(params![name, snapshot, pack_heads(&heads), generation])?;
            conn.prepare_cached("DELETE FROM sync_chunks WHERE name = ?1")?
                .execute([name])?;
            open.chunks = 0;
            open.generation = generation;
        } else {
            let chunk = open.doc.save_after(&open.saved_heads);
            conn.prepare_cached(
                "INSERT INTO sync_chunks (name, id, bytes, position)
                 VALUES (?1, (SELECT coalesce(max(id), 0) + 1 FROM sync_chunks WHERE name = ?1),
                         tidbit_seal(?1 || '@' || ?3 || '#' || ?4, ?2), ?4)",
            )?
            .execute(params![
                name,
                chunk,
                open.generation,
                i64::from(open.chunks)
            ])?;
            conn.prepare_cached(
                "UPDATE sync_documents SET chunks = chunks + 1, heads = ?2 WHERE name = ?1",
            )?
            .execute(params![name, pack_heads(&heads)])?;
            open.chunks += 1;
        }
        open.saved_heads = heads;
        Ok(())
    }

    /// Drops the in-memory copy of `name` (after a rolled-back transaction, or a refused
    /// message): the next use reloads what the store holds.
    pub fn forget(&mut self, name: &str) {
        self.open.remove(name);
    }

    /// Drops every in-memory copy.
    pub fn forget_all(&mut self) {
        self.open.clear();
    }

    /// The stored sync state for `name` with `peer`, or a new one.
    pub fn sync_state(
        conn: &Connection,
        peer: &str,
        name: &str,
    ) -> Result<sync::State, LocalError> {
        let bytes: Option<Vec<u8>> = conn
            .prepare_cached("SELECT state FROM sync_peers WHERE peer = ?1 AND name = ?2")?
            .query_row(params![peer, name], |r| r.get(0))
            .optional()?;
        // A state that no longer decodes only costs a longer next sync.
        Ok(bytes
            .and_then(|b| sync::State::decode(&b).ok())
            .unwrap_or_default())
    }

    pub fn save_sync_state(
        conn: &Connection,
        peer: &str,
        name: &str,
        state: &sync::State,
    ) -> Result<(), LocalError> {
        conn.prepare_cached(
            "INSERT INTO sync_peers (peer, name, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (peer, name) DO UPDATE SET state = excluded.state",
        )?
        .execute(params![peer, name, state.encode()])?;
        Ok(())
    }
}

/// Loads a stored document: its snapshot, then its chunks in order, each opened under its
/// binding; a chunk missing, out of place or from another generation makes it unloadable.
/// Returns the document, its chunk count and its generation.
fn load(conn: &Connection, name: &str) -> Result<Option<(AutoCommit, u32, i64)>, LocalError> {
    let unloadable = |message: String| LocalError::Unloadable {
        doc: name.into(),
        message,
    };
    let stored: Option<(i64, u32, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT generation, chunks, tidbit_open(name || '@' || generation, snapshot)
             FROM sync_documents WHERE name = ?1",
        )?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((generation, expected_chunks, snapshot)) = stored else {
        return Ok(None);
    };
    let mut doc = AutoCommit::load(&snapshot).map_err(|e| unloadable(e.to_string()))?;
    let mut statement = conn.prepare_cached(
        "SELECT position, tidbit_open(name || '@' || ?2 || '#' || position, bytes)
         FROM sync_chunks WHERE name = ?1 ORDER BY id",
    )?;
    let mut rows = statement.query(params![name, generation])?;
    let mut chunks = 0u32;
    while let Some(row) = rows.next()? {
        let position: i64 = row.get(0)?;
        if position != i64::from(chunks) {
            return Err(unloadable(format!(
                "chunk {chunks} is stored as chunk {position}"
            )));
        }
        let bytes: Vec<u8> = row.get(1)?;
        doc.load_incremental(&bytes)
            .map_err(|e| unloadable(e.to_string()))?;
        chunks += 1;
    }
    if chunks != expected_chunks {
        return Err(unloadable(format!(
            "{chunks} chunks are stored where {expected_chunks} were written"
        )));
    }
    Ok(Some((doc, chunks, generation)))
}
