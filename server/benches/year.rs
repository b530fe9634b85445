//! A year of daily use on the server, on SQLite or PostgreSQL: what the server stores per
//! learner, and how long a new device's first sync of that year takes.
//!
//! ```text
//! cargo bench -p tidbit-server --bench year                                # SQLite
//! scripts/postgres.sh run cargo bench -p tidbit-server --bench year         # PostgreSQL
//! ```
//!
//! A phone practises 5 minutes a day for 365 days on the real engine and syncs once a day
//! through the real client and server over 127.0.0.1, as a phone with a daily signal would.
//! Then the server's rows for the learner are measured (every column's bytes, and the tables'
//! size on disk with their indexes), and a new tablet of the same learner syncs the whole year.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use chrono::Duration;
use support::*;
use tidbit_core::simulate::PracticeDevice;

const LEARNER: &str = "learner-year-1";
const DAYS: i64 = 365;

/// The learner's stored bytes (every column of every row of theirs) and the tables' size on
/// disk with indexes (the whole store: it holds this learner only).
fn stored_bytes(data: &std::path::Path) -> (Vec<(&'static str, u64)>, u64) {
    const TABLES: [(&str, &str); 6] = [
        ("documents", "learner || name || snapshot || heads"),
        ("chunks", "learner || name || bytes"),
        ("event_ids", "learner || id"),
        ("sync_states", "learner || device || name || state"),
        ("learner_keys", "learner || wrapped"),
        ("records_due", "learner"),
    ];
    match storage_config(data) {
        tidbit_server::StorageConfig::Sqlite => {
            let path = data.join(tidbit_server::DATABASE_FILE);
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
            let mut rows = Vec::new();
            for (table, columns) in TABLES {
                let columns = columns.replace(" || ", ") + length(");
                let sum: i64 = conn
                    .query_row(
                        &format!(
                            "SELECT coalesce(sum(length({columns})), 0) FROM {table} WHERE learner = ?1"
                        ),
                        [LEARNER],
                        |r| r.get(0),
                    )
                    .unwrap();
                rows.push((table, sum as u64));
            }
            (rows, std::fs::metadata(&path).unwrap().len())
        }
        tidbit_server::StorageConfig::Postgres { url, .. } => postgres(&url, |client| async move {
            client.simple_query("VACUUM ANALYZE").await.unwrap();
            let mut rows = Vec::new();
            let mut disk = 0u64;
            for (table, columns) in TABLES {
                let columns = columns.replace(" || ", ") + octet_length(");
                let row = client
                    .query_one(
                        &format!(
                            "SELECT coalesce(sum(octet_length({columns})), 0)::bigint,
                                        pg_total_relation_size('{table}')
                                 FROM {table} WHERE learner = $1"
                        ),
                        &[&LEARNER],
                    )
                    .await
                    .unwrap();
                rows.push((table, row.get::<_, i64>(0) as u64));
                disk += row.get::<_, i64>(1) as u64;
            }
            (rows, disk)
        }),
    }
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let server = TestServer::start(&data);
    let storage = if on_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let phone = Device::new(root.path(), LEARNER, "phone");
    let token = server.token(LEARNER, "phone");
    phone
        .tidbit
        .lock()
        .unwrap()
        .enroll(COURSE, "field-volunteer")
        .unwrap();
    let mut learner = PracticeDevice::new(&phone.tidbit.lock().unwrap(), 11, 0.8).unwrap();
    let began = Instant::now();
    for day in 0..DAYS {
        phone
            .clock
            .set(start() + Duration::days(day) + Duration::hours(7));
        learner
            .practise(&mut phone.tidbit.lock().unwrap(), &phone.clock, 5)
            .unwrap();
        phone.sync(&server.url(), &token).unwrap();
    }
    let events = phone.event_ids().len();
    let simulated = began.elapsed().as_secs_f64();
    let (tables, disk) = stored_bytes(&data);
    let rows: u64 = tables.iter().map(|(_, bytes)| bytes).sum();

    let tablet = Device::new(root.path(), LEARNER, "tablet");
    let began = Instant::now();
    let report = tablet
        .sync(&server.url(), &server.token(LEARNER, "tablet"))
        .unwrap();
    let first_sync = began.elapsed();
    assert_eq!(tablet.event_ids(), phone.event_ids());
    println!(
        "a year of daily use ({storage}): {DAYS} days x 5 minutes, {events} events, synced daily ({simulated:.0} s simulated); stored for the learner: {rows} B of rows ({:.0} B per event; {tables:?}), {disk} B on disk with indexes; a new device's first sync of the year: {:.0} ms, {} exchanges, {} B down",
        rows as f64 / events as f64,
        first_sync.as_secs_f64() * 1000.0,
        report.round_trips,
        report.bytes_down
    );
}
