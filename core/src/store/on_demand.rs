//! On-demand assets of installed courses (`pack::AssetEntry::on_demand`): what a module still
//! lacks, where its bytes lie in the pack the course was downloaded from, and placing one
//! fetched later once it verifies against the course's signed manifest.

use std::io::Read;

use rusqlite::{params, OptionalExtension};

use super::assets::InstallSink;
use super::{Store, StoreError};
use crate::content::model::steps_assets;
use crate::pack::{verify_asset, AssetEntry, PackManifest};

/// Where a course's installed version was downloaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseSource {
    pub version: String,
    /// The pack's file name on the server.
    pub file: String,
    /// The pack file's strong `ETag`.
    pub etag: String,
}

/// An on-demand asset not yet on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingAsset {
    pub entry: AssetEntry,
    /// Where its packed bytes lie in the pack file.
    pub offset: u64,
}

impl Store {
    /// Records where the installed version of `course` came from.
    pub fn record_course_source(
        &self,
        course: &str,
        source: &CourseSource,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO course_sources (course_id, version, file, etag)
             VALUES (?1, ?2, ?3, ?4)",
            params![course, source.version, source.file, source.etag],
        )?;
        Ok(())
    }

    /// Where the installed version of `course` came from, if it was downloaded.
    pub fn course_source(&self, course: &str) -> Result<Option<CourseSource>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT s.version, s.file, s.etag FROM course_sources s
                 JOIN courses c ON c.id = s.course_id AND c.version = s.version
                 WHERE s.course_id = ?1",
                [course],
                |row| {
                    Ok(CourseSource {
                        version: row.get(0)?,
                        file: row.get(1)?,
                        etag: row.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn installed_manifest(&self, course: &str) -> Result<PackManifest, StoreError> {
        let json: String = self
            .conn
            .query_row(
                "SELECT manifest_json FROM courses WHERE id = ?1",
                [course],
                |row| row.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownCourse(course.to_string()))?;
        serde_json::from_str(&json).map_err(|e| StoreError::CourseJson(e.to_string()))
    }

    /// The on-demand assets `module` of `course` refers to that are not on the device yet.
    pub fn missing_assets(
        &self,
        course: &str,
        module: &str,
    ) -> Result<Vec<MissingAsset>, StoreError> {
        let manifest = self.installed_manifest(course)?;
        let steps = self.module_steps(course, module)?;
        let mut missing = Vec::new();
        for path in steps_assets(&steps).keys() {
            let Some(entry) = manifest.asset(path) else {
                continue;
            };
            if !entry.on_demand || self.assets.path_of(&entry.sha256).exists() {
                continue;
            }
            if let Some((offset, _)) = manifest.on_demand_range(path)? {
                missing.push(MissingAsset {
                    entry: entry.clone(),
                    offset,
                });
            }
        }
        Ok(missing)
    }

    /// Verifies the packed bytes of an on-demand asset against `entry` (taken from the
    /// installed manifest by [`Store::missing_assets`]) and places its content among the
    /// store's assets. Nothing is placed unless every byte verifies.
    pub fn place_asset(&self, entry: &AssetEntry, packed: impl Read) -> Result<(), StoreError> {
        let mut sink = InstallSink::new(&self.assets);
        verify_asset(entry, packed, &mut sink)?;
        sink.sync_directories()?;
        Ok(())
    }
}
