//! The installed content the projection rules read: course settings, the skills of a step, the
//! stages of a course, the steps of a module or a skill.
//!
//! Each read is one SQL query, the only definition of that fact. A live event reads the content
//! afresh, since an install may change it between two calls; a replay runs inside one
//! transaction in which the content cannot change, so it remembers every answer
//! ([`ContentReader::remembering`]) and asks SQLite once per course, step, module or skill.
//! This module only reads: it never writes content or projections.

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::{params, Connection, OptionalExtension};

use super::pair_map::PairMap;

/// Step kinds that are lesson cards rather than assessable items.
pub(super) const LESSON_KINDS: [&str; 4] = ["lesson", "image", "audio", "video"];
/// Item kinds a remediation never re-tests with (self-rated or not scored).
pub(super) const UNSCORED_KINDS: [&str; 3] = ["flashcard", "reflection", "voice"];
/// [`LESSON_KINDS`] as an SQL list.
const LESSON_KINDS_SQL: &str = "('lesson', 'image', 'audio', 'video')";
/// A course's learning settings, from the index that holds them (migration 16): the table's
/// row keeps them behind the manifest's overflow pages, and SQLite would pick the id's own
/// index and read the row.
const SETTINGS_SQL: &str = "SELECT mastery_threshold, desired_retention, peer_feedback_weight
     FROM courses INDEXED BY course_settings WHERE id = ?1";

/// The settings of a course that is not installed (any more).
const DEFAULT_SETTINGS: CourseSettings = CourseSettings {
    mastery_threshold: 0.8,
    desired_retention: 0.9,
    peer_feedback_weight: 0.0,
};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct CourseSettings {
    pub mastery_threshold: f64,
    pub desired_retention: f64,
    pub peer_feedback_weight: f64,
}

/// A stage of one of a course's paths.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StageDefinition {
    pub path: String,
    pub kind: String,
    pub position: i64,
    pub check_module: Option<String>,
}

/// A step tagged with a skill, with what a remediation orders candidates by.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SkillStep {
    pub id: String,
    pub module: String,
    pub module_position: i64,
    pub position: i64,
    pub kind: String,
}

impl SkillStep {
    pub(super) fn is_lesson(&self) -> bool {
        LESSON_KINDS.contains(&self.kind.as_str())
    }
}

/// Answers remembered during a replay.
#[derive(Default)]
struct Remembered {
    settings: HashMap<String, CourseSettings>,
    step_skills: PairMap<Rc<[String]>>,
    stages: HashMap<String, Rc<[StageDefinition]>>,
    module_steps: PairMap<Rc<[String]>>,
    module_item_skills: PairMap<Rc<[String]>>,
    skill_steps: PairMap<Rc<[SkillStep]>>,
    skill_step_ids: PairMap<Rc<[String]>>,
}

/// Reads installed content for the projection rules.
pub(super) struct ContentReader<'c> {
    conn: &'c Connection,
    remembered: Option<Box<Remembered>>,
}

impl<'c> ContentReader<'c> {
    /// Reads every fact afresh: for live events.
    pub(super) fn fresh(conn: &'c Connection) -> Self {
        ContentReader {
            conn,
            remembered: None,
        }
    }

    /// Remembers every fact it reads: only while the content cannot change (one transaction).
    pub(super) fn remembering(conn: &'c Connection) -> Self {
        ContentReader {
            conn,
            remembered: Some(Box::default()),
        }
    }

    /// A remembered fact, or `read` it (and remember it when remembering).
    fn pair_fact<V: Clone>(
        &mut self,
        map: fn(&mut Remembered) -> &mut PairMap<V>,
        first: &str,
        second: &str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<V>,
    ) -> rusqlite::Result<V> {
        let Some(remembered) = self.remembered.as_deref_mut() else {
            return read(self.conn);
        };
        let map = map(remembered);
        if let Some(value) = map.get(first, second) {
            return Ok(value.clone());
        }
        let value = read(self.conn)?;
        map.insert(first, second, value.clone());
        Ok(value)
    }

    pub(super) fn course_settings(&mut self, course: &str) -> rusqlite::Result<CourseSettings> {
        if let Some(settings) = self
            .remembered
            .as_ref()
            .and_then(|r| r.settings.get(course))
        {
            return Ok(*settings);
        }
        let settings = self
            .conn
            .prepare_cached(SETTINGS_SQL)?
            .query_row([course], |r| {
                Ok(CourseSettings {
                    mastery_threshold: r.get(0)?,
                    desired_retention: r.get(1)?,
                    peer_feedback_weight: r.get(2)?,
                })
            })
            .optional()?
            .unwrap_or(DEFAULT_SETTINGS);
        if let Some(remembered) = self.remembered.as_mut() {
            remembered.settings.insert(course.to_string(), settings);
        }
        Ok(settings)
    }

    /// The skills `step` is tagged with, in skill id order.
    pub(super) fn step_skills(
        &mut self,
        course: &str,
        step: &str,
    ) -> rusqlite::Result<Rc<[String]>> {
        self.pair_fact(
            |r| &mut r.step_skills,
            course,
            step,
            |conn| Ok(step_skills(conn, course, step)?.into()),
        )
    }

    /// Every stage of every path of `course`, in path id then position order.
    pub(super) fn stages(&mut self, course: &str) -> rusqlite::Result<Rc<[StageDefinition]>> {
        if let Some(stages) = self.remembered.as_ref().and_then(|r| r.stages.get(course)) {
            return Ok(stages.clone());
        }
        let stages: Rc<[StageDefinition]> = self
            .conn
            .prepare_cached(
                "SELECT path_id, kind, position, check_module FROM stages WHERE course_id = ?1
                 ORDER BY path_id, position, kind",
            )?
            .query_map([course], |r| {
                Ok(StageDefinition {
                    path: r.get(0)?,
                    kind: r.get(1)?,
                    position: r.get(2)?,
                    check_module: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into();
        if let Some(remembered) = self.remembered.as_mut() {
            remembered.stages.insert(course.to_string(), stages.clone());
        }
        Ok(stages)
    }

    /// Whether `module` is the check of a stage of any path of `course`.
    pub(super) fn is_stage_check(&mut self, course: &str, module: &str) -> rusqlite::Result<bool> {
        let stages = self.stages(course)?;
        Ok(stages
            .iter()
            .any(|s| s.check_module.as_deref() == Some(module)))
    }

    /// The ids of the steps of `module`.
    pub(super) fn module_steps(
        &mut self,
        course: &str,
        module: &str,
    ) -> rusqlite::Result<Rc<[String]>> {
        self.pair_fact(
            |r| &mut r.module_steps,
            course,
            module,
            |conn| {
                Ok(conn
                    .prepare_cached("SELECT id FROM steps WHERE course_id = ?1 AND module_id = ?2")?
                    .query_map(params![course, module], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?
                    .into())
            },
        )
    }

    /// The skills the items (not the lesson cards) of `module` assess, in skill id order.
    pub(super) fn module_item_skills(
        &mut self,
        course: &str,
        module: &str,
    ) -> rusqlite::Result<Rc<[String]>> {
        self.pair_fact(
            |r| &mut r.module_item_skills,
            course,
            module,
            |conn| {
                Ok(conn
                    .prepare_cached(&format!(
                        "SELECT DISTINCT k.skill_id FROM steps s
                     JOIN step_skills k ON k.course_id = s.course_id AND k.step_id = s.id
                     WHERE s.course_id = ?1 AND s.module_id = ?2
                       AND s.kind NOT IN {LESSON_KINDS_SQL}
                     ORDER BY k.skill_id"
                    ))?
                    .query_map(params![course, module], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?
                    .into())
            },
        )
    }

    /// The steps tagged with `skill`, lessons and items, with their positions. Starts from the
    /// skill's steps (CROSS JOIN fixes SQLite's join order); started from `steps`, the query
    /// reads every step of the course.
    pub(super) fn skill_steps(
        &mut self,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Rc<[SkillStep]>> {
        self.pair_fact(
            |r| &mut r.skill_steps,
            course,
            skill,
            |conn| {
                Ok(conn
                .prepare_cached(
                    "SELECT s.id, s.module_id, m.position, s.position, s.kind FROM step_skills k
                     CROSS JOIN steps s ON s.course_id = k.course_id AND s.id = k.step_id
                     JOIN modules m ON m.course_id = s.course_id AND m.id = s.module_id
                     WHERE k.course_id = ?1 AND k.skill_id = ?2",
                )?
                .query_map(params![course, skill], |r| {
                    Ok(SkillStep {
                        id: r.get(0)?,
                        module: r.get(1)?,
                        module_position: r.get(2)?,
                        position: r.get(3)?,
                        kind: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into())
            },
        )
    }

    /// The ids of the steps tagged with `skill` (the evidence a mastery measurement reads).
    pub(super) fn skill_step_ids(
        &mut self,
        course: &str,
        skill: &str,
    ) -> rusqlite::Result<Rc<[String]>> {
        self.pair_fact(
            |r| &mut r.skill_step_ids,
            course,
            skill,
            |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT step_id FROM step_skills WHERE course_id = ?1 AND skill_id = ?2",
                    )?
                    .query_map(params![course, skill], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?
                    .into())
            },
        )
    }
}

/// The skills `step` is tagged with, in skill id order.
pub(crate) fn step_skills(
    conn: &Connection,
    course: &str,
    step: &str,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT skill_id FROM step_skills WHERE course_id = ?1 AND step_id = ?2 ORDER BY skill_id",
    )?
    .query_map(params![course, step], |r| r.get(0))?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_list_of_lesson_kinds_names_the_same_kinds() {
        let listed = format!("('{}')", LESSON_KINDS.join("', '"));
        assert_eq!(listed, LESSON_KINDS_SQL);
    }

    #[test]
    fn a_courses_settings_are_read_from_their_index_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let plan: String = store
            .conn()
            .query_row(&format!("EXPLAIN QUERY PLAN {SETTINGS_SQL}"), ["c"], |r| {
                r.get(3)
            })
            .unwrap();
        assert!(plan.contains("COVERING INDEX course_settings"), "{plan}");
    }
}
