//! Course content: the model ([`model`], [`items`]), the author's source format ([`source`]) and
//! time estimates ([`estimate`]). Packing and installing live in [`crate::pack`] and
//! [`crate::store`].

pub mod estimate;
pub mod items;
pub mod model;
pub mod source;

pub use items::{AnswerKeyError, Interaction, Item};
pub use model::{Course, CourseError, LearningPath, Module, Stage, StageKind, Step, StepBody};
pub use source::{compile_course, AuthoringErrors, CompiledCourse, Diagnostic};
