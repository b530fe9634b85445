//! How long a module takes: reading time, media durations and a typical time per item kind.
//!
//! Estimates feed the author's 3–10 minute warning and, later, session plans. They are pure
//! functions of the steps, so every device and the authoring tool agree on them.

use super::model::{Step, StepBody};

/// Words a learner reads per minute on a phone.
pub const READING_WORDS_PER_MINUTE: u32 = 200;

fn words(text: &str) -> u32 {
    text.split_whitespace().count() as u32
}

/// Estimated seconds for one step.
pub fn estimate_step_seconds(step: &Step) -> u32 {
    match &step.body {
        StepBody::Lesson(card) => {
            let text_words: u32 = card.segments.iter().map(|s| words(s)).sum();
            let reading = (text_words * 60).div_ceil(READING_WORDS_PER_MINUTE);
            let media = card.media.as_ref().map_or(0, |m| {
                // A still image takes a moment to look at; audio and video take their length.
                m.duration_seconds.unwrap_or(10)
            });
            (reading + media).max(10)
        }
        StepBody::Item(item) => {
            let prompt_words = words(item.prompt());
            let reading = (prompt_words * 60).div_ceil(READING_WORDS_PER_MINUTE);
            item.interaction().typical_seconds() + reading / 2
        }
    }
}

/// Estimated seconds for a module's steps.
pub fn estimate_module_seconds(steps: &[Step]) -> u32 {
    steps.iter().map(estimate_step_seconds).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::{LessonCard, Media, MediaKind};

    fn lesson(words_count: usize, media: Option<Media>) -> Step {
        Step {
            id: "s".into(),
            skills: vec![],
            body: StepBody::Lesson(LessonCard {
                segments: vec!["word ".repeat(words_count)],
                media,
                inline_assets: vec![],
            }),
        }
    }

    #[test]
    fn reading_time_is_two_hundred_words_a_minute() {
        assert_eq!(estimate_step_seconds(&lesson(200, None)), 60);
        assert_eq!(estimate_step_seconds(&lesson(100, None)), 30);
    }

    #[test]
    fn audio_adds_its_duration() {
        let media = Media {
            kind: MediaKind::Audio,
            src: "assets/a.wav".into(),
            caption: "c".into(),
            transcript: Some("t".into()),
            duration_seconds: Some(45),
        };
        assert_eq!(estimate_step_seconds(&lesson(100, Some(media))), 75);
    }
}
