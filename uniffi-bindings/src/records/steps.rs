//! Module steps as the UI shows them: lesson cards whole, items without their answers.

use tidbit_core::learn::assess as core_assess;
use tidbit_core::tidbit::StepView as CoreStepView;

use super::count;

pub use tidbit_core::content::model::{LessonCard, Media, MediaKind};
pub use tidbit_core::learn::assess::{ScenarioChoiceView, ScenarioNodeView};

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum StepView {
    Lesson {
        id: String,
        card: LessonCard,
    },
    Item {
        id: String,
        skills: Vec<String>,
        view: ItemView,
    },
}

/// An item before it is answered. It never carries an answer, a feedback text or the
/// explanation.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ItemView {
    /// Options in authored order; answer with the index.
    SingleChoice {
        prompt: String,
        choices: Vec<String>,
    },
    /// Options in authored order; answer with the selected indices.
    MultipleResponse {
        prompt: String,
        choices: Vec<String>,
    },
    TrueFalse {
        statement: String,
    },
    /// The prompt holds `{{1}}`, `{{2}}`, ... markers; `blanks` is how many answers to send.
    FillBlanks {
        prompt: String,
        blanks: u32,
    },
    /// Entries shuffled; answer with their indices in the chosen order.
    Ordering {
        prompt: String,
        entries: Vec<IndexedText>,
    },
    /// Items in authored order and every distinct target; answer with a target per item.
    Matching {
        prompt: String,
        items: Vec<IndexedText>,
        targets: Vec<String>,
    },
    Numeric {
        prompt: String,
        unit: Option<String>,
    },
    /// Start at `start`; each choice leads to `next` or ends the scenario.
    Scenario {
        prompt: String,
        start: String,
        nodes: Vec<ScenarioNodeView>,
    },
    Flashcard {
        front: String,
    },
    /// The prompt and the criteria the learner rates their own answer against.
    Reflection {
        prompt: String,
        criteria: Vec<String>,
    },
}

/// A text with its authored index, which is what the response refers to.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IndexedText {
    pub index: u32,
    pub text: String,
}

impl From<CoreStepView> for StepView {
    fn from(view: CoreStepView) -> Self {
        match view {
            CoreStepView::Lesson { id, card } => StepView::Lesson { id, card },
            CoreStepView::Item { id, skills, view } => StepView::Item {
                id,
                skills,
                view: view.into(),
            },
        }
    }
}

impl From<core_assess::ItemView> for ItemView {
    fn from(view: core_assess::ItemView) -> Self {
        use core_assess::ItemView as V;
        match view {
            V::SingleChoice { prompt, choices } => ItemView::SingleChoice { prompt, choices },
            V::MultipleResponse { prompt, choices } => {
                ItemView::MultipleResponse { prompt, choices }
            }
            V::TrueFalse { statement } => ItemView::TrueFalse { statement },
            V::FillBlanks { prompt, blanks } => ItemView::FillBlanks {
                prompt,
                blanks: count(blanks),
            },
            V::Ordering { prompt, entries } => ItemView::Ordering {
                prompt,
                entries: entries.into_iter().map(Into::into).collect(),
            },
            V::Matching {
                prompt,
                items,
                targets,
            } => ItemView::Matching {
                prompt,
                items: items.into_iter().map(Into::into).collect(),
                targets,
            },
            V::Numeric { prompt, unit } => ItemView::Numeric { prompt, unit },
            V::Scenario {
                prompt,
                start,
                nodes,
            } => ItemView::Scenario {
                prompt,
                start,
                nodes,
            },
            V::Flashcard { front } => ItemView::Flashcard { front },
            V::Reflection { prompt, criteria } => ItemView::Reflection { prompt, criteria },
        }
    }
}

impl From<core_assess::IndexedText> for IndexedText {
    fn from(indexed: core_assess::IndexedText) -> Self {
        let core_assess::IndexedText { index, text } = indexed;
        IndexedText {
            index: count(index),
            text,
        }
    }
}
