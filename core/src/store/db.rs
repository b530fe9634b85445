//! The SQLite file: opening it, its pragmas, and its versioned migrations.
//!
//! There is one writer connection per store. The schema version lives in `PRAGMA user_version`;
//! each migration runs in its own transaction, so a store is always at exactly one version. A
//! store written by a newer Tidbit is refused rather than guessed at.

use rusqlite::config::DbConfig;
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
    // 2: the learner's event log, the projections derived from it, and the decision audit trail.
    r#"
    CREATE TABLE step_skills (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        step_id TEXT NOT NULL,
        skill_id TEXT NOT NULL,
        PRIMARY KEY (course_id, skill_id, step_id)
    );
    INSERT INTO step_skills (course_id, step_id, skill_id)
        SELECT s.course_id, s.id, j.value FROM steps s, json_each(s.skills_json) j;
    CREATE TABLE learner_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        device TEXT NOT NULL,
        kind TEXT NOT NULL,
        course TEXT,
        step TEXT,
        body TEXT NOT NULL
    );
    CREATE INDEX events_in_order ON events (at_ms, device, id);
    CREATE INDEX events_by_step ON events (course, step, at_ms);

    -- Projections: derived from events only, dropped and rebuilt by a replay.
    CREATE TABLE enrollments (
        course TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE TABLE cards (
        course TEXT NOT NULL,
        step TEXT NOT NULL,
        module TEXT NOT NULL,
        item_kind TEXT NOT NULL,
        phase TEXT NOT NULL,
        learning_step INTEGER NOT NULL,
        stability REAL NOT NULL,
        difficulty REAL NOT NULL,
        reps INTEGER NOT NULL,
        lapses INTEGER NOT NULL,
        last_review_ms INTEGER NOT NULL,
        due_ms INTEGER NOT NULL,
        due_day INTEGER NOT NULL,
        credit_avg REAL NOT NULL,
        last_credit REAL NOT NULL,
        item_rating REAL NOT NULL,
        PRIMARY KEY (course, step)
    );
    CREATE INDEX cards_by_due ON cards (due_ms);
    CREATE INDEX cards_by_due_day ON cards (due_day);
    CREATE TABLE skill_ratings (
        course TEXT NOT NULL,
        skill TEXT NOT NULL,
        ability REAL NOT NULL,
        answers INTEGER NOT NULL,
        PRIMARY KEY (course, skill)
    );
    CREATE TABLE response_times (
        item_kind TEXT PRIMARY KEY,
        typical_ms REAL NOT NULL,
        answers INTEGER NOT NULL
    );
    CREATE TABLE module_progress (
        course TEXT NOT NULL,
        module TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        completed_ms INTEGER,
        completions INTEGER NOT NULL,
        PRIMARY KEY (course, module)
    );
    CREATE TABLE attempt_steps (
        course TEXT NOT NULL,
        module TEXT NOT NULL,
        step TEXT NOT NULL,
        credit REAL,
        PRIMARY KEY (course, module, step)
    );
    CREATE TABLE attempt_misses (
        course TEXT NOT NULL,
        module TEXT NOT NULL,
        skill TEXT NOT NULL,
        wrong INTEGER NOT NULL,
        remediated INTEGER NOT NULL,
        PRIMARY KEY (course, module, skill)
    );
    CREATE TABLE stage_progress (
        course TEXT NOT NULL,
        path TEXT NOT NULL,
        stage TEXT NOT NULL,
        unlocked_ms INTEGER,
        passed_ms INTEGER,
        checks INTEGER NOT NULL,
        last_check_ms INTEGER,
        last_check_passed INTEGER,
        -- Skill masteries (JSON) measured by the first passing check.
        passed_skills TEXT,
        PRIMARY KEY (course, path, stage)
    );
    CREATE TABLE remediations (
        id INTEGER PRIMARY KEY,
        course TEXT NOT NULL,
        module TEXT NOT NULL,
        skill TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        due_ms INTEGER NOT NULL,
        lesson_step TEXT,
        item_step TEXT NOT NULL,
        resolved_ms INTEGER,
        resolved_credit REAL
    );
    CREATE TABLE activity_days (
        day TEXT PRIMARY KEY,
        answers INTEGER NOT NULL
    );
    CREATE TABLE fsrs_parameters (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        parameters TEXT NOT NULL,
        adopted_ms INTEGER NOT NULL
    );

    -- Why each automated decision was taken: its inputs and its plain-language reason.
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        reason TEXT NOT NULL,
        inputs TEXT NOT NULL,
        output TEXT NOT NULL
    );
    "#,
    // 3: indexes for the learning loop's lookups, which otherwise scan a whole course or table
    // on every answer and every replayed event.
    r#"
    -- A step's skills (the primary key serves a skill's steps).
    CREATE INDEX step_skills_by_step ON step_skills (course_id, step_id, skill_id);
    -- Pending remediations: resolved on each answer, counted on the home screen.
    CREATE INDEX remediations_pending ON remediations (course, item_step) WHERE resolved_ms IS NULL;
    -- Cards due per day (a projection), for load balancing without counting the cards table.
    CREATE TABLE due_load (
        due_day INTEGER PRIMARY KEY,
        cards INTEGER NOT NULL
    );
    INSERT INTO due_load (due_day, cards) SELECT due_day, count(*) FROM cards GROUP BY due_day;
    "#,
    // 4: the learner's Automerge documents and the sync state kept per document and peer.
    r#"
    CREATE TABLE sync_documents (
        name TEXT PRIMARY KEY,
        snapshot BLOB NOT NULL,
        chunks INTEGER NOT NULL,
        -- The document's current heads, 32 bytes each, so a sync can list them without loading it.
        heads BLOB NOT NULL
    );
    CREATE TABLE sync_chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL REFERENCES sync_documents (name),
        bytes BLOB NOT NULL
    );
    CREATE INDEX sync_chunks_by_document ON sync_chunks (name, id);
    CREATE TABLE sync_peers (
        peer TEXT NOT NULL,
        name TEXT NOT NULL,
        state BLOB NOT NULL,
        PRIMARY KEY (peer, name)
    );
    "#,
    // 5: sealed documents bound to their position: a snapshot to its generation (one per
    // compaction), a chunk to its generation and place in it. NULL marks rows written before;
    // opening the store binds them (see `store::sealing`).
    r#"
    ALTER TABLE sync_documents ADD COLUMN generation INTEGER;
    ALTER TABLE sync_chunks ADD COLUMN position INTEGER;
    "#,
    // 6: the due cards' keys in their index, so that counting what is due (the home screen's
    // figures, on every answer) reads the index alone and never the cards' rows.
    r#"
    DROP INDEX cards_by_due;
    CREATE INDEX cards_by_due ON cards (due_ms, course, step);
    "#,
    // 7: the learner's consent scopes and the reviews they asked for (projections).
    r#"
    CREATE TABLE consents (
        scope TEXT PRIMARY KEY,
        granted INTEGER NOT NULL,
        changed_ms INTEGER NOT NULL
    );
    CREATE TABLE reviews (
        -- The id of the ReviewRequested event; its texts stay sealed in the event.
        id TEXT PRIMARY KEY,
        course TEXT NOT NULL,
        path TEXT NOT NULL,
        stage TEXT NOT NULL,
        requested_ms INTEGER NOT NULL,
        -- The ReviewDecided event, when it was taken, and whether it unlocked the stage.
        decision TEXT,
        decided_ms INTEGER,
        unlocked INTEGER
    );
    "#,
    // 8: a course's desired retention set for this learner by an experiment's arm.
    r#"
    CREATE TABLE retention_settings (
        course TEXT PRIMARY KEY,
        desired_retention REAL NOT NULL,
        set_ms INTEGER NOT NULL
    );
    "#,
    // 9: where each course version was downloaded from, for its on-demand assets.
    r#"
    CREATE TABLE course_sources (
        course_id TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        file TEXT NOT NULL,
        etag TEXT NOT NULL
    );
    "#,
    // 10: recordings of spoken answers, named by the SHA-256 of their bytes, the bytes sealed
    // under the at-rest key (see `store::audio`). Not a projection: a replay never touches it.
    r#"
    CREATE TABLE voice_audio (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        bytes BLOB NOT NULL
    );
    "#,
    // 11: how much peers' ratings count towards mastery in a course, and which ratings of the
    // learner's shared answers the projections have counted (one rating arrives once per device
    // of the learner; it counts once).
    r#"
    ALTER TABLE courses ADD COLUMN peer_feedback_weight REAL NOT NULL DEFAULT 0;
    CREATE TABLE peer_ratings (
        rating TEXT PRIMARY KEY,
        course TEXT NOT NULL,
        step TEXT NOT NULL,
        credit REAL NOT NULL
    );
    "#,
    // 12: the learner's goals (the latest `GoalSet` of each) and the time they give learning.
    r#"
    CREATE TABLE goals (
        goal TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        course TEXT NOT NULL,
        path TEXT NOT NULL,
        stages_json TEXT NOT NULL,
        skills_json TEXT NOT NULL,
        due TEXT NOT NULL,
        set_by_server INTEGER NOT NULL,
        set_ms INTEGER NOT NULL,
        withdrawn INTEGER NOT NULL
    );
    CREATE TABLE study_time (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        minutes_per_day INTEGER NOT NULL,
        days_off_json TEXT NOT NULL,
        set_ms INTEGER NOT NULL
    );
    "#,
    // 13: a course's job aids (one-screen reference cards), installed with it.
    r#"
    CREATE TABLE job_aids (
        course_id TEXT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        position INTEGER NOT NULL,
        title TEXT NOT NULL,
        skills_json TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (course_id, id)
    );
    "#,
    // 14: the due index covers what plans read of a due card, so listing the cards due today
    // reads the index alone, not one table page per card. An answer rewrites the card's entry
    // either way (its due time moves), so no page more is written. Nothing reads cards by their
    // due day since `due_load` counts them (6): its index only cost every answer a page.
    r#"
    DROP INDEX cards_by_due_day;
    DROP INDEX cards_by_due;
    CREATE INDEX cards_by_due ON cards (due_ms, course, step, module, item_kind, stability, last_review_ms);
    "#,
    // 15: a document's chunks stored in the order they are read, keyed by document and number:
    // an answer's chunk is written into one b-tree instead of a table, its index and the
    // AUTOINCREMENT counter (two pages fewer per answer). A chunk's number is one more than
    // the document's last (numbers only order a document's chunks); `position` stays the
    // place its sealing is bound to (NULL until `store::sealing` binds a chunk from before 5).
    r#"
    CREATE TABLE sync_chunks_keyed (
        name TEXT NOT NULL REFERENCES sync_documents (name),
        id INTEGER NOT NULL,
        position INTEGER,
        bytes BLOB NOT NULL,
        PRIMARY KEY (name, id)
    ) WITHOUT ROWID;
    INSERT INTO sync_chunks_keyed (name, id, position, bytes)
        SELECT name, id, position, bytes FROM sync_chunks;
    DROP TABLE sync_chunks;
    ALTER TABLE sync_chunks_keyed RENAME TO sync_chunks;
    "#,
    // 16: a course's learning settings beside its id in an index of their own. In the table
    // row they sit after the manifest (hundreds of KiB of overflow pages; the feedback weight
    // was added after it), so every answer reading them walked the whole overflow chain.
    r#"
    CREATE INDEX course_settings ON courses (id, mastery_threshold, desired_retention, peer_feedback_weight);
    "#,
    // 17: an event's sequence lives in memory, counted per incarnation (`EventLog`): the stored
    // counter cost every event a write of the settings page.
    r#"
    DELETE FROM learner_settings WHERE key = 'next_sequence';
    "#,
    // 18: a card knows whether its step is installed, and its due index holds that, so the due
    // cards and their counts are read from the index alone, without looking each card's step up
    // (about 0.3 ms for the 900 cards due in a day of a 20,000-item course). Writing a card sets
    // it (`LiveTables::write_card`); an install marks the course's cards again
    // (`projection::mark_installed_cards`). A card may name a step this device never installed: a
    // device with a newer version of the course answered it.
    r#"
    ALTER TABLE cards ADD COLUMN installed INTEGER NOT NULL DEFAULT 0;
    UPDATE cards SET installed = EXISTS (SELECT 1 FROM steps s WHERE s.course_id = cards.course AND s.id = cards.step);
    DROP INDEX cards_by_due;
    CREATE INDEX cards_by_due ON cards (due_ms, course, step, module, item_kind, stability, last_review_ms, installed);
    "#,
];

/// Tables derived from the event log; a replay empties and rebuilds exactly these.
pub const PROJECTIONS: &[&str] = &[
    "enrollments",
    "cards",
    "skill_ratings",
    "response_times",
    "module_progress",
    "attempt_steps",
    "attempt_misses",
    "stage_progress",
    "remediations",
    "activity_days",
    "fsrs_parameters",
    "consents",
    "reviews",
    "due_load",
    "retention_settings",
    "peer_ratings",
    "goals",
    "study_time",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The page cache per connection, in KiB (negative: SQLite's unit for a size in KiB).
const PAGE_CACHE_KIB: i64 = -8192;

/// Prepared statements kept per connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;

pub(crate) fn open_connection(path: &std::path::Path) -> Result<Connection, StoreError> {
    // SQLite's default VFS, writing each WAL frame in one write (`frames.rs`).
    let mut conn = Connection::open_with_flags_and_vfs(
        path,
        rusqlite::OpenFlags::default(),
        super::frames::vfs_name()?,
    )?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // In WAL mode, NORMAL keeps every committed transaction across an app crash or a killed
    // process (the phone's common failure) without an fsync per answer; a power cut may lose
    // the last transactions before a checkpoint. FULL would fsync every answer.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // An 8 MiB page cache (SQLite's default is 2 MB): the learning loop's working set (the due
    // index, the steps' keys, the cards answered) stays in memory instead of being read again
    // from the file on every answer.
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Query plans that never depend on bound values: otherwise SQLite marks such statements to
    // be re-prepared whenever their bindings are cleared, which rusqlite's statement cache does
    // on every use, so a cached statement would be compiled again on every call.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Room for every statement of the learning loop (one answer uses about twenty): a smaller
    // least-recently-used cache, cycled through in order, misses on every statement.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
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
    fn migrating_to_version_2_indexes_the_skills_of_installed_steps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch(
            r#"INSERT INTO courses VALUES ('c', '1.0.0', 'C', 'en', '', 0.8, 0.9, 'k', 'h', '{}', 't', 't');
               INSERT INTO steps VALUES ('c', 'q1', 'm', 0, 'single', '["listen","ask"]', '{}');
               INSERT INTO steps VALUES ('c', 'q2', 'm', 1, 'single', '["ask"]', '{}');"#,
        )
        .unwrap();
        drop(conn);
        let conn = open_connection(&path).unwrap();
        let mut rows: Vec<(String, String)> = conn
            .prepare("SELECT step_id, skill_id FROM step_skills ORDER BY step_id, skill_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        assert_eq!(
            rows,
            [("q1", "ask"), ("q1", "listen"), ("q2", "ask")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn migrating_to_version_10_adds_the_recordings_and_keeps_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, 9).unwrap();
        conn.execute_batch(
            "INSERT INTO course_sources VALUES ('c', '1.0.0', 'c.tidbit', 'etag-1');",
        )
        .unwrap();
        drop(conn);
        let conn = open_connection(&path).unwrap();
        let kept: (String, i64) = conn
            .query_row(
                "SELECT etag, (SELECT count(*) FROM voice_audio) FROM course_sources",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(kept, ("etag-1".to_string(), 0));
        assert!(!PROJECTIONS.contains(&"voice_audio"));
    }

    #[test]
    fn migrating_to_version_18_marks_each_card_by_whether_its_step_is_installed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, 17).unwrap();
        // q1 is installed; q9 was answered on a device with a newer version of the course.
        conn.execute_batch(
            r#"PRAGMA foreign_keys = OFF;
               INSERT INTO steps VALUES ('c', 'q1', 'm', 0, 'single', '["ask"]', '{}');
               INSERT INTO cards VALUES ('c', 'q1', 'm', 'single', 'review', 0, 3.0, 5.0, 2, 0, 10, 500, 0, 1.0, 1.0, 0.5);
               INSERT INTO cards VALUES ('c', 'q9', 'm', 'single', 'review', 0, 3.0, 5.0, 2, 0, 10, 400, 0, 1.0, 1.0, 0.5);"#,
        )
        .unwrap();
        drop(conn);
        let conn = open_connection(&path).unwrap();
        let marks: Vec<(String, bool)> = conn
            .prepare("SELECT step, installed FROM cards ORDER BY step")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            marks,
            vec![("q1".to_string(), true), ("q9".to_string(), false)]
        );
        // The due cards are listed from the index alone, and only the installed one.
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT course, step, module, item_kind, stability, last_review_ms, due_ms
                 FROM cards WHERE due_ms <= 1000 AND installed ORDER BY due_ms, course, step",
            )
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            vec!["SEARCH cards USING COVERING INDEX cards_by_due (due_ms<?)"]
        );
        let due = crate::learn::projection::read::due_cards(&conn, 1000, None, 10).unwrap();
        assert_eq!(
            due.iter().map(|c| c.step.as_str()).collect::<Vec<_>>(),
            vec!["q1"]
        );
    }

    #[test]
    fn migrating_to_version_15_keys_chunks_by_document_and_keeps_every_chunk_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, 14).unwrap();
        // Two documents whose chunks were numbered by one counter, one chunk not yet bound.
        conn.execute_batch(
            "INSERT INTO sync_documents VALUES ('events-2026-11', x'00', 2, x'', 0);
             INSERT INTO sync_documents VALUES ('events-2026-12', x'01', 1, x'', 0);
             INSERT INTO sync_chunks (name, bytes, position) VALUES ('events-2026-11', x'a0', 0);
             INSERT INTO sync_chunks (name, bytes, position) VALUES ('events-2026-12', x'b0', 0);
             INSERT INTO sync_chunks (name, bytes, position) VALUES ('events-2026-11', x'a1', NULL);",
        )
        .unwrap();
        drop(conn);
        let conn = open_connection(&path).unwrap();
        let chunks: Vec<(String, i64, Option<i64>, Vec<u8>)> = conn
            .prepare("SELECT name, id, position, bytes FROM sync_chunks ORDER BY name, id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [
            ("events-2026-11", 1, Some(0), 0xa0),
            ("events-2026-11", 3, None, 0xa1),
            ("events-2026-12", 2, Some(0), 0xb0),
        ]
        .map(|(n, id, p, b)| (n.to_string(), id, p, vec![b]));
        assert_eq!(chunks, expected);
        let leftovers: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'sync_chunks_by_document')
                      + (SELECT count(*) FROM sqlite_sequence WHERE name = 'sync_chunks')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(leftovers, 0);
        // One b-tree: the table has no rowid of its own.
        assert!(conn.prepare("SELECT rowid FROM sync_chunks").is_err());
        // A chunk without a number is refused rather than numbered by a counter.
        assert!(conn
            .execute(
                "INSERT INTO sync_chunks (name, bytes) VALUES ('events-2026-12', x'b1')",
                []
            )
            .is_err());
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
