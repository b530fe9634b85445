//! Synthetic courses of any size, for benchmarks and load tests.
//!
//! The course is valid (it passes every check a real one does) and deterministic for the same
//! arguments; its text is filler, never shown to learners.

use super::items::{Choice, Interaction, Item};
use super::model::{
    Course, LearningPath, LessonCard, Media, MediaKind, Module, Skill, Stage, StageKind, Step,
    StepBody,
};
use super::source::CompiledCourse;

/// A course with `items` single-choice items spread evenly over modules of about ten items (at
/// least four modules), one skill per module, four stages, and one image asset of `asset_bytes` bytes per module.
pub fn synthetic_course(
    id: &str,
    version: &str,
    items: usize,
    asset_bytes: usize,
) -> CompiledCourse {
    let module_count = items.div_ceil(10).max(4);
    let mut modules = Vec::with_capacity(module_count);
    let mut assets = Vec::new();
    let mut skills = Vec::new();
    for m in 0..module_count {
        let skill = format!("skill-{m}");
        skills.push(Skill {
            id: skill.clone(),
            name: format!("Skill {m}"),
            description: String::new(),
        });
        let asset = format!("assets/module-{m}.bin");
        // Incompressible but deterministic bytes, like real media.
        let mut state = (m as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bytes: Vec<u8> = (0..asset_bytes)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assets.push((asset.clone(), bytes));
        let mut steps = vec![Step {
            id: format!("m{m}-card"),
            skills: vec![skill.clone()],
            body: StepBody::Lesson(LessonCard {
                segments: vec![format!("Lesson {m}: what to know."), "More detail.".into()],
                media: Some(Media {
                    kind: MediaKind::Image,
                    src: asset,
                    caption: format!("Diagram {m}"),
                    transcript: None,
                    duration_seconds: None,
                }),
                inline_assets: vec![],
            }),
        }];
        for i in (m * items / module_count)..((m + 1) * items / module_count) {
            let choice = |text: String, correct: bool| Choice {
                feedback: Some(format!("Feedback on {text}")),
                text,
                correct,
            };
            let item = Item::new(
                format!("Question {i}: which is right?"),
                format!("Option A is right for question {i}."),
                Interaction::SingleChoice {
                    choices: vec![
                        choice(format!("A{i}"), true),
                        choice(format!("B{i}"), false),
                        choice(format!("C{i}"), false),
                    ],
                },
            );
            if let Ok(item) = item {
                steps.push(Step {
                    id: format!("q{i}"),
                    skills: vec![skill.clone()],
                    body: StepBody::Item(item),
                });
            }
        }
        let seconds = super::estimate::estimate_module_seconds(&steps);
        modules.push(Module {
            id: format!("module-{m}"),
            title: format!("Module {m}"),
            objectives: vec![format!("Objective {m}")],
            skills: vec![skill],
            prerequisites: vec![],
            estimated_seconds: seconds,
            steps,
        });
    }
    let per_stage = module_count.div_ceil(4);
    let stages = StageKind::ALL
        .iter()
        .enumerate()
        .map(|(s, kind)| {
            let ids: Vec<String> = modules
                .iter()
                .skip(s * per_stage)
                .take(per_stage)
                .map(|m| m.id.clone())
                .collect();
            Stage {
                kind: *kind,
                title: kind.as_str().to_string(),
                check: ids.last().cloned(),
                modules: ids[..ids.len().saturating_sub(1)].to_vec(),
            }
        })
        .collect();
    CompiledCourse {
        course: Course {
            id: id.to_string(),
            version: semver::Version::parse(version)
                .unwrap_or_else(|_| semver::Version::new(1, 0, 0)),
            title: format!("Synthetic course of {items} items"),
            locale: "en".into(),
            description: String::new(),
            mastery_threshold: super::model::DEFAULT_MASTERY_THRESHOLD,
            desired_retention: super::model::DEFAULT_DESIRED_RETENTION,
            peer_feedback_weight: 0.0,
            job_aids: Vec::new(),
            skills,
            paths: vec![LearningPath {
                id: "everyone".into(),
                title: "Everyone".into(),
                description: String::new(),
                stages,
            }],
            modules,
        },
        assets,
        media_on_demand: false,
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_synthetic_course_passes_the_course_checks() {
        let compiled = synthetic_course("synthetic", "1.0.0", 1000, 64);
        let assets: BTreeSet<String> = compiled.assets.iter().map(|(p, _)| p.clone()).collect();
        compiled.course.check(&assets).unwrap();
        let items: usize = compiled
            .course
            .modules
            .iter()
            .map(|m| m.items().count())
            .sum();
        assert_eq!(items, 1000);
    }
}
