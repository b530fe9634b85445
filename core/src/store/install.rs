//! Installing a pack: verify, place assets, then one transaction that swaps the course version.
//!
//! Order matters for atomicity. Verification streams every asset through its hash check into
//! content-addressed files; nothing refers to those files until the transaction commits. A crash
//! before the commit leaves the old version in place (and unreferenced files that the next install
//! collects); a crash after it leaves the new version. Same pack again: a no-op. Newer version:
//! upgrade; step ids that persist keep their learner history, steps that vanish are retired (their
//! history is kept, they are no longer served). Older version: refused.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use super::{Store, StoreError};
use crate::content::{Course, StepBody};
use crate::keys::TrustedKeys;
use crate::pack::{verify_pack_file, PackLimits, PackManifest};

use super::assets::InstallSink;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum InstallOutcome {
    Installed,
    Upgraded {
        /// `from` is a keyword in Python: the bindings call it `previous_version`.
        #[cfg_attr(feature = "ffi", uniffi(name = "previous_version"))]
        from: String,
    },
    AlreadyInstalled,
}

/// A count for a report (a pack holds at most 10,000 assets; no course 4 billion steps).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What an install did, for the person running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct InstallReport {
    pub course_id: String,
    pub title: String,
    pub version: String,
    #[serde(flatten)]
    pub outcome: InstallOutcome,
    /// Steps present before and after (their learner history carries over).
    pub steps_kept: u32,
    pub steps_added: u32,
    /// Steps the new version dropped.
    pub steps_retired: Vec<String>,
    pub assets: u32,
    pub asset_bytes: u64,
    /// Asset files no longer referenced by any course, removed after the install.
    pub assets_collected: u32,
}

impl Store {
    /// Verifies `pack` against `trusted` and installs it atomically.
    pub fn install_pack(
        &mut self,
        pack: &Path,
        trusted: &TrustedKeys,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<InstallReport, StoreError> {
        let mut sink = InstallSink::new(&self.assets);
        let manifest =
            verify_pack_file(pack, trusted, &PackLimits::default(), &mut sink, progress)?;
        let course_json = sink
            .course_json
            .take()
            .ok_or(StoreError::MissingCourseJson)?;
        let course: Course = serde_json::from_slice(&course_json)
            .map_err(|e| StoreError::CourseJson(e.to_string()))?;
        if course.id != manifest.course_id || course.version != manifest.version {
            return Err(StoreError::ManifestMismatch {
                manifest: format!("{} {}", manifest.course_id, manifest.version),
                course: format!("{} {}", course.id, course.version),
            });
        }
        let asset_paths: BTreeSet<String> = manifest
            .assets
            .iter()
            .filter(|a| a.path != "course.json")
            .map(|a| a.path.clone())
            .collect();
        course.check(&asset_paths)?;
        sink.sync_directories()?;
        let fingerprint = manifest.fingerprint()?;

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let installed: Option<(String, String)> = tx
            .query_row(
                "SELECT version, manifest_sha256 FROM courses WHERE id = ?1",
                [&course.id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let old_steps = installed_step_ids(&tx, &course.id)?;
        let outcome = match installed {
            Some((version, hash)) => {
                let installed_version = semver::Version::parse(&version)
                    .map_err(|e| StoreError::CourseJson(e.to_string()))?;
                if installed_version == course.version && hash == fingerprint {
                    InstallOutcome::AlreadyInstalled
                } else if installed_version == course.version {
                    return Err(StoreError::VersionConflict {
                        course: course.id.clone(),
                        version,
                    });
                } else if installed_version > course.version {
                    return Err(StoreError::Downgrade {
                        course: course.id.clone(),
                        installed: version,
                        offered: course.version.to_string(),
                    });
                } else {
                    InstallOutcome::Upgraded { from: version }
                }
            }
            None => InstallOutcome::Installed,
        };
        let new_steps: BTreeSet<String> = course.step_ids().map(|(_, s)| s.to_string()).collect();
        let retired: Vec<String> = old_steps.difference(&new_steps).cloned().collect();
        if outcome != InstallOutcome::AlreadyInstalled {
            tx.execute("DELETE FROM courses WHERE id = ?1", [&course.id])?;
            write_course(&tx, &course, &manifest, &fingerprint)?;
            crate::learn::projection::mark_installed_cards(&tx, &course.id)?;
            for step in &retired {
                tx.execute(
                    "INSERT OR REPLACE INTO retired_steps (course_id, id, retired_in_version) VALUES (?1, ?2, ?3)",
                    params![course.id, step, course.version.to_string()],
                )?;
            }
            for step in &new_steps {
                tx.execute(
                    "DELETE FROM retired_steps WHERE course_id = ?1 AND id = ?2",
                    params![course.id, step],
                )?;
            }
        }
        tx.commit()?;
        let assets_collected = self.collect_unreferenced_assets()?;
        let kept = new_steps.intersection(&old_steps).count();
        Ok(InstallReport {
            course_id: course.id.clone(),
            title: course.title.clone(),
            version: course.version.to_string(),
            steps_kept: count(kept),
            steps_added: count(new_steps.len() - kept),
            steps_retired: if outcome == InstallOutcome::AlreadyInstalled {
                Vec::new()
            } else {
                retired
            },
            outcome,
            assets: count(asset_paths.len()),
            asset_bytes: manifest
                .assets
                .iter()
                .filter(|a| a.path != "course.json")
                .map(|a| a.size)
                .sum(),
            assets_collected: count(assets_collected),
        })
    }

    /// Removes asset files that no installed course refers to.
    fn collect_unreferenced_assets(&self) -> Result<usize, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT DISTINCT sha256 FROM course_assets")?;
        let referenced = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(self.assets.collect_garbage(&referenced)?)
    }
}

fn installed_step_ids(tx: &Transaction<'_>, course: &str) -> Result<BTreeSet<String>, StoreError> {
    let mut statement = tx.prepare("SELECT id FROM steps WHERE course_id = ?1")?;
    let ids = statement
        .query_map([course], |row| row.get::<_, String>(0))?
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(ids)
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::CourseJson(e.to_string()))
}

fn write_course(
    tx: &Transaction<'_>,
    course: &Course,
    manifest: &PackManifest,
    fingerprint: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO courses (id, version, title, locale, description, mastery_threshold,
            desired_retention, signer_key_id, manifest_sha256, manifest_json, created_at, installed_at,
            peer_feedback_weight)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            course.id,
            course.version.to_string(),
            course.title,
            course.locale,
            course.description,
            course.mastery_threshold,
            course.desired_retention,
            manifest.signer_key_id,
            fingerprint,
            to_json(manifest)?,
            manifest.created_at,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            course.peer_feedback_weight,
        ],
    )?;
    for (position, skill) in course.skills.iter().enumerate() {
        tx.execute(
            "INSERT INTO skills (course_id, id, position, name, description) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![course.id, skill.id, position as i64, skill.name, skill.description],
        )?;
    }
    for (position, aid) in course.job_aids.iter().enumerate() {
        tx.execute(
            "INSERT INTO job_aids (course_id, id, position, title, skills_json, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                course.id,
                aid.id,
                position as i64,
                aid.title,
                to_json(&aid.skills)?,
                aid.body
            ],
        )?;
    }
    for (position, path) in course.paths.iter().enumerate() {
        tx.execute(
            "INSERT INTO paths (course_id, id, position, title, description) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![course.id, path.id, position as i64, path.title, path.description],
        )?;
        for (stage_position, stage) in path.stages.iter().enumerate() {
            tx.execute(
                "INSERT INTO stages (course_id, path_id, kind, position, title, check_module)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    course.id,
                    path.id,
                    stage.kind.as_str(),
                    stage_position as i64,
                    stage.title,
                    stage.check
                ],
            )?;
            for (module_position, module) in stage.modules.iter().enumerate() {
                tx.execute(
                    "INSERT INTO stage_modules (course_id, path_id, stage_kind, module_id, position)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        course.id,
                        path.id,
                        stage.kind.as_str(),
                        module,
                        module_position as i64
                    ],
                )?;
            }
        }
    }
    let mut insert_step = tx.prepare(
        "INSERT INTO steps (course_id, id, module_id, position, kind, skills_json, body_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut insert_skill = tx.prepare(
        "INSERT OR IGNORE INTO step_skills (course_id, step_id, skill_id) VALUES (?1, ?2, ?3)",
    )?;
    for (position, module) in course.modules.iter().enumerate() {
        tx.execute(
            "INSERT INTO modules (course_id, id, position, title, estimated_seconds, objectives_json,
                skills_json, prerequisites_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                course.id,
                module.id,
                position as i64,
                module.title,
                module.estimated_seconds,
                to_json(&module.objectives)?,
                to_json(&module.skills)?,
                to_json(&module.prerequisites)?,
            ],
        )?;
        for (step_position, step) in module.steps.iter().enumerate() {
            let kind = match &step.body {
                StepBody::Lesson(card) => match &card.media {
                    Some(media) => match media.kind {
                        crate::content::model::MediaKind::Image => "image",
                        crate::content::model::MediaKind::Audio => "audio",
                        crate::content::model::MediaKind::Video => "video",
                    },
                    None => "lesson",
                },
                StepBody::Item(item) => item.interaction().kind().name(),
            };
            insert_step.execute(params![
                course.id,
                step.id,
                module.id,
                step_position as i64,
                kind,
                to_json(&step.skills)?,
                to_json(&step.body)?,
            ])?;
            for skill in &step.skills {
                insert_skill.execute(params![course.id, step.id, skill])?;
            }
        }
    }
    for asset in manifest.assets.iter().filter(|a| a.path != "course.json") {
        tx.execute(
            "INSERT INTO course_assets (course_id, path, sha256, size) VALUES (?1, ?2, ?3, ?4)",
            params![course.id, asset.path, asset.sha256, asset.size as i64],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::synthetic::synthetic_course;
    use crate::content::write_course_pack;
    use crate::keys::SigningKey;

    fn marks(store: &Store) -> Vec<(String, bool)> {
        store
            .conn()
            .prepare("SELECT step, installed FROM cards ORDER BY step")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn an_install_marks_the_cards_waiting_for_its_steps_and_an_upgrade_those_it_retires() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate().unwrap();
        let trusted = TrustedKeys::from_keys([key.public_key()]);
        let pack = |name: &str, course: &crate::content::CompiledCourse| {
            let path = dir.path().join(name);
            let mut file = std::fs::File::create(&path).unwrap();
            let created = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
            write_course_pack(course, &key, created, &mut file, &mut |_, _| {}).unwrap();
            path
        };
        let mut store = Store::open(&dir.path().join("data")).unwrap();
        // Cards synced from a device that has the course before this device installs it, one
        // for a step no version here has.
        for step in ["q1", "q19", "q99"] {
            store
                .conn()
                .execute(
                    "INSERT INTO cards (course, step, module, item_kind, phase, learning_step,
                        stability, difficulty, reps, lapses, last_review_ms, due_ms, due_day,
                        credit_avg, last_credit, item_rating, installed)
                     VALUES ('syn', ?1, 'm', 'single', 'review', 0, 3.0, 5.0, 2, 0, 10, 500, 0,
                        1.0, 1.0, 0.5, 0)",
                    [step],
                )
                .unwrap();
        }
        let v1 = synthetic_course("syn", "1.0.0", 40, 64);
        store
            .install_pack(&pack("v1.tidbit", &v1), &trusted, &mut |_, _| {})
            .unwrap();
        let yes = |s: &str| (s.to_string(), true);
        let no = |s: &str| (s.to_string(), false);
        assert_eq!(marks(&store), vec![yes("q1"), yes("q19"), no("q99")]);
        // 1.1.0 retires q19.
        let mut v2 = synthetic_course("syn", "1.1.0", 40, 64);
        v2.course.modules[1].steps.pop();
        store
            .install_pack(&pack("v2.tidbit", &v2), &trusted, &mut |_, _| {})
            .unwrap();
        assert_eq!(marks(&store), vec![yes("q1"), no("q19"), no("q99")]);
        // 1.2.0 brings it back.
        let v3 = synthetic_course("syn", "1.2.0", 40, 64);
        store
            .install_pack(&pack("v3.tidbit", &v3), &trusted, &mut |_, _| {})
            .unwrap();
        assert_eq!(marks(&store), vec![yes("q1"), yes("q19"), no("q99")]);
    }
}
