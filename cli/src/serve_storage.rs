//! `tidbit serve migrate` and `tidbit serve copy`: a server's storage brought to this build's
//! schema, and a SQLite server's data copied into PostgreSQL and verified learner by learner.

use std::sync::Arc;

use crate::serve::StoreArgs;

/// Brings the server's storage to this build's schema.
pub fn migrate(store: &StoreArgs) -> Result<(), String> {
    let where_ = |e: String| format!("{}: {e}", store.data.display());
    match store.database.config()? {
        tidbit_server::StorageConfig::Sqlite => {
            store.open()?;
            println!("the SQLite store is at this build's schema");
        }
        tidbit_server::StorageConfig::Postgres { url, pool_size } => {
            let database = tidbit_server::storage::postgres::Database::connect(&url, pool_size)
                .map_err(|e| where_(e.to_string()))?;
            let applied = database.migrate().map_err(|e| where_(e.to_string()))?;
            let version = database
                .schema_version()
                .map_err(|e| where_(e.to_string()))?;
            match applied.as_slice() {
                [] => println!("the database is at schema {version}; nothing to apply"),
                applied => println!(
                    "applied migrations {}; the database is at schema {version}",
                    applied
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    }
    Ok(())
}

/// Copies a SQLite server's data (`sqlite:DIR`) into the PostgreSQL database `to`.
pub fn copy(from: &str, to: &str, json: bool) -> Result<(), String> {
    let dir = from
        .strip_prefix("sqlite:")
        .ok_or("--from takes sqlite:DIR, the SQLite server's data directory")?;
    let dir = std::path::Path::new(dir);
    if !dir.join(tidbit_server::DATABASE_FILE).is_file() {
        return Err(format!(
            "{} holds no SQLite server store ({}): --from takes the data directory of a SQLite server",
            dir.display(),
            tidbit_server::DATABASE_FILE
        ));
    }
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(
            "--to takes a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)".into(),
        );
    }
    let key = tidbit_server::sealing::ServerKey::load_or_create(
        dir,
        std::env::var(tidbit_server::sealing::SERVER_KEY_ENV)
            .ok()
            .as_deref(),
        true,
    )
    .map_err(|e| format!("{}: {e}", dir.display()))?;
    let report = tidbit_server::copy::copy_sqlite_to_postgres(dir, to, Arc::new(key))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    for (table, rows) in &report.tables {
        println!("{table:>16}  {rows} rows");
    }
    println!(
        "copied and verified: {} learners, every digest equal (all learners: {})",
        report.learners, report.digest
    );
    Ok(())
}
