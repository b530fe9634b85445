//! Course content: the model ([`model`], [`items`]), the author's source format ([`source`]) and
//! time estimates ([`estimate`]). Packing and installing live in [`crate::pack`] and
//! [`crate::store`].

pub mod estimate;
pub mod items;
pub mod job_aid;
pub mod model;
pub mod source;
pub mod synthetic;

pub use items::{AnswerKeyError, Interaction, Item, ItemKind};
pub use job_aid::JobAid;
pub use model::{Course, CourseError, LearningPath, Module, Stage, StageKind, Step, StepBody};
pub use source::{compile_course, AuthoringErrors, CompiledCourse, Diagnostic};

use crate::keys::SigningKey;
use crate::pack::{build_pack, PackError, PackManifest, PackMeta, COURSE_PATH};

/// Writes a compiled course as a signed pack: `course.json` first, then its assets.
pub fn write_course_pack(
    compiled: &CompiledCourse,
    key: &SigningKey,
    created_at: chrono::DateTime<chrono::Utc>,
    out: &mut impl std::io::Write,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PackManifest, PackError> {
    let course = &compiled.course;
    let course_json =
        serde_json::to_vec(course).map_err(|e| PackError::ManifestMalformed(e.to_string()))?;
    let mut files = Vec::with_capacity(compiled.assets.len() + 1);
    files.push((COURSE_PATH.to_string(), course_json));
    files.extend(compiled.assets.iter().cloned());
    let meta = PackMeta {
        course_id: course.id.clone(),
        version: course.version.clone(),
        locale: course.locale.clone(),
        title: course.title.clone(),
        created_at,
        media_on_demand: compiled.media_on_demand,
    };
    build_pack(out, meta, files, key, progress)
}
