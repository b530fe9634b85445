//! Catalog queries: installed courses, their paths, stages and modules with durations and
//! skills, a module's steps, and where an asset lives on disk. Read-only.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Store, StoreError};
use crate::content::job_aid::JobAid;
use crate::content::model::{
    Course, LearningPath, Module, Skill, Stage, StageKind, Step, StepBody,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct CourseSummary {
    pub id: String,
    pub version: String,
    pub title: String,
    pub locale: String,
    pub description: String,
    pub signer_key_id: String,
    pub installed_at: String,
    pub skills: Vec<SkillSummary>,
    pub paths: Vec<PathSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct SkillSummary {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct PathSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    pub estimated_minutes: f64,
    pub stages: Vec<StageSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct StageSummary {
    pub kind: StageKind,
    pub title: String,
    pub modules: Vec<ModuleSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<ModuleSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ModuleSummary {
    pub id: String,
    pub title: String,
    pub estimated_minutes: f64,
    pub skills: Vec<String>,
    pub prerequisites: Vec<String>,
    pub objectives: Vec<String>,
    pub steps: u32,
    pub items: u32,
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::CourseJson(e.to_string()))
}

fn stage_kind(text: &str) -> Result<StageKind, StoreError> {
    StageKind::parse(text).ok_or_else(|| StoreError::CourseJson(format!("unknown stage '{text}'")))
}

/// One installed course's version and the fingerprint of the manifest it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledVersion {
    pub course_id: String,
    pub version: semver::Version,
    pub manifest_sha256: String,
}

impl Store {
    /// Each installed course's version and manifest fingerprint, by course id.
    pub fn installed_versions(&self) -> Result<Vec<InstalledVersion>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT id, version, manifest_sha256 FROM courses ORDER BY id")?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(course_id, version, manifest_sha256)| {
                let version = semver::Version::parse(&version)
                    .map_err(|e| StoreError::CourseJson(format!("{course_id}: {e}")))?;
                Ok(InstalledVersion {
                    course_id,
                    version,
                    manifest_sha256,
                })
            })
            .collect()
    }

    /// Every installed course with its paths, stages and modules, ordered by title.
    pub fn catalog(&self) -> Result<Vec<CourseSummary>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT id, version, title, locale, description, signer_key_id, installed_at
             FROM courses ORDER BY title, id",
        )?;
        let courses = statement
            .query_map([], |row| {
                Ok(CourseSummary {
                    id: row.get(0)?,
                    version: row.get(1)?,
                    title: row.get(2)?,
                    locale: row.get(3)?,
                    description: row.get(4)?,
                    signer_key_id: row.get(5)?,
                    installed_at: row.get(6)?,
                    skills: Vec::new(),
                    paths: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        courses
            .into_iter()
            .map(|mut course| {
                course.skills = self
                    .skills(&course.id)?
                    .into_iter()
                    .map(|s| SkillSummary {
                        id: s.id,
                        name: s.name,
                    })
                    .collect();
                course.paths = self.path_summaries(&course.id)?;
                Ok(course)
            })
            .collect()
    }

    /// The skills of `course`, in course order (none for a course not installed).
    pub fn skills(&self, course: &str) -> Result<Vec<Skill>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, name, description FROM skills WHERE course_id = ?1 ORDER BY position",
        )?;
        let skills = statement
            .query_map([course], |row| {
                Ok(Skill {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    description: row.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(skills)
    }

    /// The job aids of an installed course, in the course's order.
    pub fn job_aids(&self, course: &str) -> Result<Vec<JobAid>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id, title, skills_json, body FROM job_aids WHERE course_id = ?1
                 ORDER BY position",
            )?
            .query_map([course], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get::<_, String>(2)?,
                    row.get(3)?,
                ))
            })?
            .map(|row| {
                let (id, title, skills, body) = row?;
                Ok(JobAid {
                    id,
                    title,
                    skills: from_json(&skills)?,
                    body,
                })
            })
            .collect()
    }

    fn module_summary(&self, course: &str, module: &str) -> Result<ModuleSummary, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT m.title, m.estimated_seconds, m.skills_json, m.prerequisites_json,
                        m.objectives_json,
                        (SELECT count(*) FROM steps s WHERE s.course_id = m.course_id AND s.module_id = m.id),
                        (SELECT count(*) FROM steps s WHERE s.course_id = m.course_id AND s.module_id = m.id
                            AND s.kind NOT IN ('lesson', 'image', 'audio', 'video'))
                 FROM modules m WHERE m.course_id = ?1 AND m.id = ?2",
            )?
            .query_row(params![course, module], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u32>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, u32>(5)?,
                    row.get::<_, u32>(6)?,
                ))
            })?;
        Ok(ModuleSummary {
            id: module.to_string(),
            title: row.0,
            estimated_minutes: (f64::from(row.1) / 6.0).round() / 10.0,
            skills: from_json(&row.2)?,
            prerequisites: from_json(&row.3)?,
            objectives: from_json(&row.4)?,
            steps: row.5,
            items: row.6,
        })
    }

    fn path_summaries(&self, course: &str) -> Result<Vec<PathSummary>, StoreError> {
        self.paths(course)?
            .into_iter()
            .map(|path| {
                let mut stages = Vec::new();
                for stage in &path.stages {
                    let modules = stage
                        .modules
                        .iter()
                        .map(|m| self.module_summary(course, m))
                        .collect::<Result<Vec<_>, _>>()?;
                    let check = stage
                        .check
                        .as_deref()
                        .map(|m| self.module_summary(course, m))
                        .transpose()?;
                    stages.push(StageSummary {
                        kind: stage.kind,
                        title: stage.title.clone(),
                        modules,
                        check,
                    });
                }
                let minutes: f64 = stages
                    .iter()
                    .flat_map(|s| s.modules.iter().chain(s.check.iter()))
                    .map(|m| m.estimated_minutes)
                    .sum();
                Ok(PathSummary {
                    id: path.id,
                    title: path.title,
                    description: path.description,
                    estimated_minutes: (minutes * 10.0).round() / 10.0,
                    stages,
                })
            })
            .collect()
    }

    fn paths(&self, course: &str) -> Result<Vec<LearningPath>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, title, description FROM paths WHERE course_id = ?1 ORDER BY position",
        )?;
        let mut paths = statement
            .query_map([course], |row| {
                Ok(LearningPath {
                    id: row.get(0)?,
                    title: row.get(1)?,
                    description: row.get(2)?,
                    stages: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stages = self.conn.prepare_cached(
            "SELECT kind, title, check_module FROM stages
             WHERE course_id = ?1 AND path_id = ?2 ORDER BY position",
        )?;
        let mut stage_modules = self.conn.prepare_cached(
            "SELECT module_id FROM stage_modules
             WHERE course_id = ?1 AND path_id = ?2 AND stage_kind = ?3 ORDER BY position",
        )?;
        for path in &mut paths {
            let rows = stages
                .query_map(params![course, path.id], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<String>>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            for (kind, title, check) in rows {
                let modules = stage_modules
                    .query_map(params![course, path.id, kind], |row| row.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                path.stages.push(Stage {
                    kind: stage_kind(&kind)?,
                    title,
                    modules,
                    check,
                });
            }
        }
        Ok(paths)
    }

    /// The steps of one module, in order.
    pub fn module_steps(&self, course: &str, module: &str) -> Result<Vec<Step>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, skills_json, body_json FROM steps
             WHERE course_id = ?1 AND module_id = ?2 ORDER BY position",
        )?;
        let rows = statement
            .query_map(params![course, module], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, skills, body)| {
                Ok(Step {
                    id,
                    skills: from_json(&skills)?,
                    body: from_json::<StepBody>(&body)?,
                })
            })
            .collect()
    }

    /// The installed course, rebuilt from the store.
    pub fn load_course(&self, id: &str) -> Result<Course, StoreError> {
        let head = self
            .conn
            .query_row(
                "SELECT version, title, locale, description, mastery_threshold, desired_retention,
                        peer_feedback_weight
                 FROM courses WHERE id = ?1",
                [id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, f64>(4)?,
                        row.get::<_, f64>(5)?,
                        row.get::<_, f64>(6)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownCourse(id.to_string()))?;
        let mut statement = self.conn.prepare_cached(
            "SELECT id, title, estimated_seconds, objectives_json, skills_json, prerequisites_json
             FROM modules WHERE course_id = ?1 ORDER BY position",
        )?;
        let rows = statement
            .query_map([id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, u32>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut modules = Vec::new();
        for (module_id, title, seconds, objectives, skills, prerequisites) in rows {
            modules.push(Module {
                steps: self.module_steps(id, &module_id)?,
                id: module_id,
                title,
                objectives: from_json(&objectives)?,
                skills: from_json(&skills)?,
                prerequisites: from_json(&prerequisites)?,
                estimated_seconds: seconds,
            });
        }
        Ok(Course {
            id: id.to_string(),
            version: semver::Version::parse(&head.0)
                .map_err(|e| StoreError::CourseJson(e.to_string()))?,
            title: head.1,
            locale: head.2,
            description: head.3,
            mastery_threshold: head.4,
            desired_retention: head.5,
            peer_feedback_weight: head.6,
            skills: self.skills(id)?,
            paths: self.paths(id)?,
            modules,
            job_aids: self.job_aids(id)?,
        })
    }

    /// The file holding asset `path` of an installed course, for the platform's media player;
    /// `None` for an on-demand asset not fetched yet (see `missing_assets`).
    pub fn asset_file(&self, course: &str, path: &str) -> Result<Option<PathBuf>, StoreError> {
        let sha: Option<String> = self
            .conn
            .query_row(
                "SELECT sha256 FROM course_assets WHERE course_id = ?1 AND path = ?2",
                params![course, path],
                |row| row.get(0),
            )
            .optional()?;
        Ok(sha
            .map(|sha| self.assets.path_of(&sha))
            .filter(|file| file.exists()))
    }

    /// Step ids that an upgrade removed from `course`.
    pub fn retired_steps(&self, course: &str) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT id FROM retired_steps WHERE course_id = ?1 ORDER BY id")?;
        let ids = statement
            .query_map([course], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }
}
