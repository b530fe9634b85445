//! The SQLite file: opening it, its pragmas, and its versioned migrations.
//!
//! There is one writer connection per store. The schema version lives in `PRAGMA user_version`;
//! each migration runs in its own transaction, so a store is always at exactly one version. A
//! store written by a newer Tidbit is refused rather than guessed at.

use rusqlite::Connection;

use super::StoreError;

/// Each entry brings the schema from version `index` to `index + 1`. Never edit a shipped
/// migration: add a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: installed course content and content-addressed assets.
    r#"
    CREATE TABLE courses (
        id TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        title TEXT NOT NULL,
        locale TEXT NOT NULL,
        description TEXT NOT NULL,
        mastery_threshold REAL NOT NULL,
        desired_retention REAL NOT NULL,
        signer_key_id TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        installed_at TEXT NOT NULL
    );
    CREATE TABLE skills (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        PRIMARY KEY (course_id, id)
    );
    CREATE TABLE paths (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        PRIMARY KEY (course_id, id)
    );
    CREATE TABLE stages (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        path_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        position INTEGER NOT NULL,
        title TEXT NOT NULL,
        check_module TEXT,
        PRIMARY KEY (course_id, path_id, kind)
    );
    CREATE TABLE stage_modules (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        path_id TEXT NOT NULL,
        stage_kind TEXT NOT NULL,
        module_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (course_id, path_id, stage_kind, module_id)
    );
    CREATE TABLE modules (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        title TEXT NOT NULL,
        estimated_seconds INTEGER NOT NULL,
        objectives_json TEXT NOT NULL,
        skills_json TEXT NOT NULL,
        prerequisites_json TEXT NOT NULL,
        PRIMARY KEY (course_id, id)
    );
    CREATE TABLE steps (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        module_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        skills_json TEXT NOT NULL,
        body_json TEXT NOT NULL,
        PRIMARY KEY (course_id, id)
    );
    CREATE INDEX steps_by_module ON steps (course_id, module_id, position);
    -- Steps that an upgrade removed. Learner history keyed by their ids is kept, not served.
    CREATE TABLE retired_steps (
        course_id TEXT NOT NULL,
        id TEXT NOT NULL,
        retired_in_version TEXT NOT NULL,
        PRIMARY KEY (course_id, id)
    );
    CREATE TABLE course_assets (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (course_id, path)
    );
    CREATE INDEX course_assets_by_hash ON course_assets (sha256);
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub(crate) fn open_connection(path: &std::path::Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(&mut conn)?;
    Ok(conn)
}

pub(crate) fn schema_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Brings the schema up to [`SCHEMA_VERSION`], one transaction per migration.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, SCHEMA_VERSION)
}

pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<(), StoreError> {
    let found = schema_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_earlier_schema_version_migrates_to_the_current_one() {
        for start in 0..SCHEMA_VERSION {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("store.sqlite3");
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, start).unwrap();
            assert_eq!(schema_version(&conn).unwrap(), start);
            drop(conn);
            let conn = open_connection(&path).unwrap();
            assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
            let tables: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'courses'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(tables, 1);
        }
    }

    #[test]
    fn a_store_from_a_newer_tidbit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = open_connection(&path).unwrap_err();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
    }

    #[test]
    fn the_store_uses_write_ahead_logging() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join("s.sqlite3")).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
