//! Copying a SQLite store into PostgreSQL, row for row (`tidbit serve copy`).
//!
//! Rows are copied as stored: sealed values stay sealed under the same learner keys, wrapped by
//! the same server key (the key check is copied too, so the PostgreSQL store opens only with the
//! key the SQLite store was sealed with). Chunks keep their ids, so their order, which their
//! sealing binds, is the same. Everything goes in one transaction into a migrated, empty
//! database: a copy that fails leaves it empty.

use std::path::Path;

use tokio_postgres::types::ToSql;

use super::{Database, StorageError};

/// How a column's values are typed on both sides.
#[derive(Debug, Clone, Copy)]
enum Column {
    Text,
    Int,
    Bytes,
    MaybeText,
    MaybeInt,
}

use Column::{Bytes, Int, MaybeInt, MaybeText, Text};

/// Every table the server has, with its columns, in an order that keeps foreign meaning intact.
const TABLES: &[(&str, &[(&str, Column)])] = &[
    ("server_meta", &[("name", Text), ("value", Bytes)]),
    ("learner_keys", &[("learner", Text), ("wrapped", Bytes)]),
    (
        "documents",
        &[
            ("learner", Text),
            ("name", Text),
            ("snapshot", Bytes),
            ("heads", Bytes),
        ],
    ),
    (
        "chunks",
        &[
            ("id", Int),
            ("learner", Text),
            ("name", Text),
            ("bytes", Bytes),
        ],
    ),
    ("event_ids", &[("learner", Text), ("id", Text)]),
    (
        "sync_states",
        &[
            ("learner", Text),
            ("device", Text),
            ("name", Text),
            ("state", Bytes),
        ],
    ),
    ("erased_learners", &[("tombstone", Bytes)]),
    (
        "erasures",
        &[
            ("id", Text),
            ("at_ms", Int),
            ("documents", Int),
            ("chunks", Int),
            ("sync_states", Int),
            ("event_ids", Int),
        ],
    ),
    (
        "review_queue",
        &[
            ("learner", Text),
            ("review", Text),
            ("requested_ms", Int),
            ("decided_ms", MaybeInt),
        ],
    ),
    ("records_due", &[("learner", Text), ("generation", Int)]),
    ("summaries_due", &[("learner", Text), ("generation", Int)]),
    (
        "experiments",
        &[("id", Text), ("definition", Text), ("created_ms", Int)],
    ),
    (
        "lrs_outbox",
        &[
            ("seq", Int),
            ("id", Text),
            ("learner", Text),
            ("body", Bytes),
            ("state", Text),
            ("attempts", Int),
            ("outcome", MaybeText),
            ("settled_ms", MaybeInt),
        ],
    ),
    (
        "devices",
        &[
            ("learner", Text),
            ("device", Text),
            ("enrolled_ms", Int),
            ("signed_in_ms", MaybeInt),
            ("revoked_ms", MaybeInt),
        ],
    ),
    (
        "learner_revocations",
        &[("learner", Text), ("revoked_ms", Int)],
    ),
    (
        "audit_log",
        &[
            ("seq", Int),
            ("at_ms", Int),
            ("actor", Text),
            ("role", Text),
            ("action", Text),
            ("learner", MaybeText),
            ("target", MaybeText),
            ("status", Int),
        ],
    ),
];

/// The tables whose ids come from a sequence, which must continue after the copied ids.
const SEQUENCES: [(&str, &str); 3] = [
    ("chunks", "id"),
    ("lrs_outbox", "seq"),
    ("audit_log", "seq"),
];

/// One value read from SQLite, typed for PostgreSQL.
fn value(
    row: &rusqlite::Row<'_>,
    index: usize,
    column: Column,
) -> rusqlite::Result<Box<dyn ToSql + Sync>> {
    Ok(match column {
        Text => Box::new(row.get::<_, String>(index)?),
        Int => Box::new(row.get::<_, i64>(index)?),
        Bytes => Box::new(row.get::<_, Vec<u8>>(index)?),
        MaybeText => Box::new(row.get::<_, Option<String>>(index)?),
        MaybeInt => Box::new(row.get::<_, Option<i64>>(index)?),
    })
}

impl Database {
    /// Rows of every table, by table, in [`TABLES`]' order.
    pub fn table_counts(&self) -> Result<Vec<(String, u64)>, StorageError> {
        self.run(async {
            let client = self.client().await?;
            let mut counts = Vec::new();
            for (table, _) in TABLES {
                let row = client
                    .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                    .await?;
                counts.push((table.to_string(), row.get::<_, i64>(0) as u64));
            }
            Ok(counts)
        })
    }

    /// Copies every row of the SQLite store at `sqlite` into this database, which must be
    /// migrated and empty; returns the rows copied per table.
    pub fn copy_from_sqlite(&self, sqlite: &Path) -> Result<Vec<(String, u64)>, StorageError> {
        if self.table_counts()?.iter().any(|(_, rows)| *rows > 0) {
            return Err(StorageError::Postgres(
                "the target database already holds data: copy into a new, empty database".into(),
            ));
        }
        let source = rusqlite::Connection::open_with_flags(
            sqlite,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        // One read transaction: the copy is of one moment of the source.
        source.execute_batch("BEGIN")?;
        self.run(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let mut copied = Vec::new();
            for (table, columns) in TABLES {
                let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
                let placeholders: Vec<String> =
                    (1..=columns.len()).map(|i| format!("${i}")).collect();
                let insert = tx
                    .prepare(&format!(
                        "INSERT INTO {table} ({}) VALUES ({})",
                        names.join(", "),
                        placeholders.join(", ")
                    ))
                    .await?;
                let mut select =
                    source.prepare(&format!("SELECT {} FROM {table}", names.join(", ")))?;
                let mut rows = select.query([])?;
                let mut count = 0u64;
                while let Some(row) = rows.next()? {
                    let values = columns
                        .iter()
                        .enumerate()
                        .map(|(i, (_, column))| value(row, i, *column))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let params: Vec<&(dyn ToSql + Sync)> =
                        values.iter().map(|v| v.as_ref()).collect();
                    tx.execute(&insert, &params).await?;
                    count += 1;
                }
                copied.push((table.to_string(), count));
            }
            for (table, column) in SEQUENCES {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                                       (SELECT coalesce(max({column}), 0) + 1 FROM {table}), false)"
                    ),
                    &[],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(copied)
        })
    }
}
