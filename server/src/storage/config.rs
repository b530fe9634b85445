//! Which storage a server keeps learners' data in (`--database`), and whether opening it
//! applies the database's pending migrations.

use crate::DATABASE_FILE;

/// Where learners' data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// The embedded default: `server.sqlite3` in the data directory.
    Sqlite,
    /// A PostgreSQL database several server processes share, through a pool of at most
    /// `pool_size` connections per process.
    Postgres { url: String, pool_size: usize },
}

impl StorageConfig {
    /// The storage a `--database` value names: `sqlite` (or nothing) for the embedded file,
    /// `postgres://…` or `postgresql://…` for PostgreSQL.
    pub fn parse(database: Option<&str>, pool_size: usize) -> Result<StorageConfig, String> {
        match database.map(str::trim) {
            None | Some("") | Some("sqlite") => Ok(StorageConfig::Sqlite),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StorageConfig::Postgres {
                    url: url.to_string(),
                    pool_size,
                })
            }
            Some(_) => Err(
                "--database takes `sqlite` or a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
                    .into(),
            ),
        }
    }

    /// What logs may say about it: the kind and the host, never a password.
    pub fn describe(&self) -> String {
        match self {
            StorageConfig::Sqlite => format!("sqlite ({DATABASE_FILE} in the data directory)"),
            StorageConfig::Postgres { url, .. } => {
                let host = url
                    .split_once('@')
                    .map_or(url.split("//").nth(1).unwrap_or(""), |(_, host)| host);
                format!("postgres ({})", host.split('?').next().unwrap_or(""))
            }
        }
    }
}

/// Whether opening a hub applies the database's pending migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    Apply,
    Require,
}
