//! The learner's store: one directory with a SQLite file and content-addressed asset files.
//!
//! [`Store`] owns the one writer connection. It installs verified packs atomically
//! ([`Store::install_pack`]) and answers catalog queries ([`Store::catalog`]). A failed or killed
//! install leaves the previous state intact: asset files are placed under their hash before the
//! single SQLite transaction that makes a course version visible commits. The learner's events
//! enter and leave it through one owner, [`event_log`]; the recordings of their spoken answers
//! through another, `audio`.

mod assets;
pub(crate) mod audio;
mod catalog;
mod checkpoint;
mod db;
mod erase;
pub mod event_log;
mod frames;
mod install;
mod on_demand;
mod sealing;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;

pub use audio::KeptRecording;
pub use catalog::{
    CourseSummary, InstalledVersion, ModuleSummary, PathSummary, SkillSummary, StageSummary,
};
pub use db::{PROJECTIONS, SCHEMA_VERSION};
pub use erase::{remove_store_files, RemovedFiles};
pub use install::{InstallOutcome, InstallReport};
pub use on_demand::{CourseSource, MissingAsset};

use crate::content::CourseError;
use crate::pack::PackError;
use crate::privacy::at_rest::{AtRestError, AtRestKey};

/// The name of the SQLite file inside a data directory.
pub const DATABASE_FILE: &str = "tidbit.sqlite3";
/// Where course downloads wait, whole or in part, until they are installed (see
/// `tidbit::delivery`).
pub const DOWNLOADS_DIR: &str = "downloads";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory {path} cannot be used: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the store was written by a newer Tidbit (schema {found}, this build knows {supported}): update the app")]
    NewerSchema { found: u32, supported: u32 },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file error while installing: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error("the pack's course.json is not a valid course: {0}")]
    CourseJson(String),
    #[error("the pack's course is inconsistent: {0}")]
    Course(#[from] CourseError),
    #[error("the pack has no course.json: it was not built by `tidbit pack build`")]
    MissingCourseJson,
    #[error(
        "the manifest says course '{manifest}' but course.json holds '{course}': rebuild the pack"
    )]
    ManifestMismatch { manifest: String, course: String },
    #[error("course '{course}' {installed} is installed; this pack holds the older {offered}: install a newer pack")]
    Downgrade {
        course: String,
        installed: String,
        offered: String,
    },
    #[error("course '{course}' {version} is installed with different content: the author must publish changes under a new version")]
    VersionConflict { course: String, version: String },
    #[error("no installed course '{0}': run `tidbit catalog` to list installed courses")]
    UnknownCourse(String),
    #[error(transparent)]
    AtRest(#[from] AtRestError),
}

/// A learner's store on this device.
pub struct Store {
    // Declared first so it stops before the writer connection closes.
    _checkpointer: checkpoint::Checkpointer,
    dir: PathBuf,
    conn: Connection,
    assets: assets::AssetFiles,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, migrating its schema; nothing is sealed.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_sealed(dir, None)
    }

    /// Opens (creating if needed) the store in `dir`, migrating its schema, with the learner's
    /// data sealed under `key` (a store once sealed needs its key to open).
    pub fn open_sealed(dir: &Path, key: Option<Arc<AtRestKey>>) -> Result<Store, StoreError> {
        let data_dir = |source| StoreError::DataDir {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(data_dir)?;
        let assets = assets::AssetFiles::open(dir).map_err(data_dir)?;
        let database = dir.join(DATABASE_FILE);
        let mut conn = db::open_connection(&database)?;
        sealing::apply_key(&mut conn, key)?;
        let checkpointer = checkpoint::Checkpointer::start(&conn, &database)?;
        Ok(Store {
            _checkpointer: checkpointer,
            dir: dir.to_path_buf(),
            conn,
            assets,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        db::schema_version(&self.conn)
    }

    /// The one connection; the learning engine writes through it inside its transactions.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// A SHA-256 over every projection table, every row in the order of all its columns, every value
/// in an exact text form. Two stores with equal digests hold the same learner state.
pub fn projection_digest(conn: &Connection) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for table in PROJECTIONS {
        let columns: i64 = conn.query_row(
            &format!("SELECT count(*) FROM pragma_table_info('{table}')"),
            [],
            |r| r.get(0),
        )?;
        let order: Vec<String> = (1..=columns).map(|c| c.to_string()).collect();
        let mut statement = conn.prepare(&format!(
            "SELECT * FROM {table} ORDER BY {}",
            order.join(", ")
        ))?;
        let mut rows = statement.query([])?;
        digest.update(table.as_bytes());
        while let Some(row) = rows.next()? {
            for column in 0..columns as usize {
                let text = match row.get_ref(column)? {
                    ValueRef::Null => "null".to_string(),
                    ValueRef::Integer(i) => i.to_string(),
                    ValueRef::Real(f) => format!("{:e}", f),
                    ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => hex::encode(b),
                };
                digest.update(text.as_bytes());
                digest.update(b"\x1f");
            }
            digest.update(b"\x1e");
        }
    }
    Ok(hex::encode(digest.finish().as_ref()))
}
