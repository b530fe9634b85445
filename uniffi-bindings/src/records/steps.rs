//! Module steps as the UI shows them: lesson cards whole, items without their answers.

use tidbit_core::content::model as content;
use tidbit_core::learn::assess as core_assess;
use tidbit_core::tidbit::StepView as CoreStepView;

use super::count;

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

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LessonCard {
    /// Markdown segments revealed one after another.
    pub segments: Vec<String>,
    pub media: Option<Media>,
    /// Asset paths referenced from the Markdown (images); resolve with `Tidbit.assetFile`.
    pub inline_assets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Media {
    pub kind: MediaKind,
    /// Path of the asset inside the pack, under `assets/`.
    pub src: String,
    pub caption: String,
    pub transcript: Option<String>,
    pub duration_seconds: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MediaKind {
    Image,
    Audio,
    Video,
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

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScenarioNodeView {
    pub id: String,
    pub situation: String,
    pub choices: Vec<ScenarioChoiceView>,
}

/// A scenario choice; `next` is the node it leads to, or `None` when it ends the scenario.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScenarioChoiceView {
    pub text: String,
    pub next: Option<String>,
}

impl From<CoreStepView> for StepView {
    fn from(view: CoreStepView) -> Self {
        match view {
            CoreStepView::Lesson { id, card } => StepView::Lesson {
                id,
                card: card.into(),
            },
            CoreStepView::Item { id, skills, view } => StepView::Item {
                id,
                skills,
                view: view.into(),
            },
        }
    }
}

impl From<content::LessonCard> for LessonCard {
    fn from(card: content::LessonCard) -> Self {
        LessonCard {
            segments: card.segments,
            media: card.media.map(Into::into),
            inline_assets: card.inline_assets,
        }
    }
}

impl From<content::Media> for Media {
    fn from(media: content::Media) -> Self {
        Media {
            kind: match media.kind {
                content::MediaKind::Image => MediaKind::Image,
                content::MediaKind::Audio => MediaKind::Audio,
                content::MediaKind::Video => MediaKind::Video,
            },
            src: media.src,
            caption: media.caption,
            transcript: media.transcript,
            duration_seconds: media.duration_seconds,
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
                nodes: nodes.into_iter().map(Into::into).collect(),
            },
            V::Flashcard { front } => ItemView::Flashcard { front },
            V::Reflection { prompt, criteria } => ItemView::Reflection { prompt, criteria },
        }
    }
}

impl From<core_assess::IndexedText> for IndexedText {
    fn from(t: core_assess::IndexedText) -> Self {
        IndexedText {
            index: count(t.index),
            text: t.text,
        }
    }
}

impl From<core_assess::ScenarioNodeView> for ScenarioNodeView {
    fn from(node: core_assess::ScenarioNodeView) -> Self {
        ScenarioNodeView {
            id: node.id,
            situation: node.situation,
            choices: node
                .choices
                .into_iter()
                .map(|c| ScenarioChoiceView {
                    text: c.text,
                    next: c.next,
                })
                .collect(),
        }
    }
}
