//! Module steps as the UI shows them: lesson cards whole, items without their answers. Every
//! type is the core's own.

pub use tidbit_core::content::model::{LessonCard, Media, MediaKind};
pub use tidbit_core::learn::assess::{IndexedText, ItemView, ScenarioChoiceView, ScenarioNodeView};
pub use tidbit_core::tidbit::StepView;
