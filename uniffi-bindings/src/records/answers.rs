//! What the learner answers and the feedback they get back.

use tidbit_core::events::Grade as CoreGrade;
use tidbit_core::learn::assess as core_assess;
use tidbit_core::learn::projection::{RemediationInserted as CoreRemediation, StageCheckResult};
use tidbit_core::tidbit::Feedback as CoreFeedback;

/// What the learner answered. Indices refer to the item's authored order (as in the view).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Response {
    SingleChoice {
        choice: u32,
    },
    MultipleResponse {
        choices: Vec<u32>,
    },
    TrueFalse {
        answer: bool,
    },
    /// One answer per blank, in blank order.
    FillBlanks {
        answers: Vec<String>,
    },
    /// Entry indices in the order the learner placed them.
    Ordering {
        order: Vec<u32>,
    },
    /// For each item `i` of the view, the target the learner put it on.
    Matching {
        targets: Vec<String>,
    },
    Numeric {
        value: f64,
    },
    /// The choice index taken at each node, from the start node until a choice ends it.
    Scenario {
        path: Vec<u32>,
    },
    Flashcard {
        rating: SelfRating,
    },
    /// The learner's text and, per criterion, whether they say they met it.
    Reflection {
        text: String,
        criteria_met: Vec<bool>,
    },
}

/// How well a learner recalled a flashcard, in their own judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SelfRating {
    Again,
    Hard,
    Good,
    Easy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Outcome {
    Right,
    Partial,
    Wrong,
}

/// FSRS's four grades, as the scheduler took the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Grade {
    Again,
    Hard,
    Good,
    Easy,
}

/// The result of scoring one response.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Assessment {
    /// In [0, 1].
    pub credit: f64,
    pub outcome: Outcome,
    /// The feedback texts this response triggered, in the order to show them.
    pub feedback: Vec<String>,
    /// The item's explanation, always.
    pub explanation: String,
    /// The learner's own rating, for flashcards only.
    pub self_rating: Option<SelfRating>,
}

/// What the learner sees after answering.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Feedback {
    pub assessment: Assessment,
    pub grade: Grade,
    /// When the item comes back (ms since the epoch), if it is scheduled.
    pub next_due_ms: Option<i64>,
    pub module_completed: bool,
    pub stage_checks: Vec<StageCheck>,
    pub remediations: Vec<Remediation>,
}

/// The outcome of a completed stage check.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageCheck {
    pub path: String,
    pub stage: String,
    pub passed: bool,
    /// Mastery of every skill the check assesses.
    pub skills: Vec<SkillScore>,
    pub threshold: f64,
    /// The stage this check unlocked, if it passed and there is a next one.
    pub unlocked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SkillScore {
    pub skill: String,
    pub mastery: f64,
}

/// A lesson and re-test inserted after a miss, due soon.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Remediation {
    pub skill: String,
    pub reason: String,
    pub lesson_step: Option<String>,
    pub item_step: String,
    pub due_ms: i64,
}

fn indices(values: Vec<u32>) -> Vec<usize> {
    values.into_iter().map(|v| v as usize).collect()
}

impl From<Response> for core_assess::Response {
    fn from(response: Response) -> Self {
        use core_assess::Response as R;
        match response {
            Response::SingleChoice { choice } => R::SingleChoice {
                choice: choice as usize,
            },
            Response::MultipleResponse { choices } => R::MultipleResponse {
                choices: indices(choices),
            },
            Response::TrueFalse { answer } => R::TrueFalse { answer },
            Response::FillBlanks { answers } => R::FillBlanks { answers },
            Response::Ordering { order } => R::Ordering {
                order: indices(order),
            },
            Response::Matching { targets } => R::Matching { targets },
            Response::Numeric { value } => R::Numeric { value },
            Response::Scenario { path } => R::Scenario {
                path: indices(path),
            },
            Response::Flashcard { rating } => R::Flashcard {
                rating: rating.into(),
            },
            Response::Reflection { text, criteria_met } => R::Reflection { text, criteria_met },
        }
    }
}

impl From<SelfRating> for core_assess::SelfRating {
    fn from(rating: SelfRating) -> Self {
        match rating {
            SelfRating::Again => core_assess::SelfRating::Again,
            SelfRating::Hard => core_assess::SelfRating::Hard,
            SelfRating::Good => core_assess::SelfRating::Good,
            SelfRating::Easy => core_assess::SelfRating::Easy,
        }
    }
}

impl From<core_assess::SelfRating> for SelfRating {
    fn from(rating: core_assess::SelfRating) -> Self {
        match rating {
            core_assess::SelfRating::Again => SelfRating::Again,
            core_assess::SelfRating::Hard => SelfRating::Hard,
            core_assess::SelfRating::Good => SelfRating::Good,
            core_assess::SelfRating::Easy => SelfRating::Easy,
        }
    }
}

impl From<core_assess::Outcome> for Outcome {
    fn from(outcome: core_assess::Outcome) -> Self {
        match outcome {
            core_assess::Outcome::Right => Outcome::Right,
            core_assess::Outcome::Partial => Outcome::Partial,
            core_assess::Outcome::Wrong => Outcome::Wrong,
        }
    }
}

impl From<CoreGrade> for Grade {
    fn from(grade: CoreGrade) -> Self {
        match grade {
            CoreGrade::Again => Grade::Again,
            CoreGrade::Hard => Grade::Hard,
            CoreGrade::Good => Grade::Good,
            CoreGrade::Easy => Grade::Easy,
        }
    }
}

impl From<core_assess::Assessment> for Assessment {
    fn from(a: core_assess::Assessment) -> Self {
        Assessment {
            credit: a.credit,
            outcome: a.outcome.into(),
            feedback: a.feedback,
            explanation: a.explanation,
            self_rating: a.self_rating.map(Into::into),
        }
    }
}

impl From<CoreFeedback> for Feedback {
    fn from(f: CoreFeedback) -> Self {
        Feedback {
            assessment: f.assessment.into(),
            grade: f.grade.into(),
            next_due_ms: f.next_due_ms,
            module_completed: f.module_completed,
            stage_checks: f.stage_checks.into_iter().map(Into::into).collect(),
            remediations: f.remediations.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<StageCheckResult> for StageCheck {
    fn from(c: StageCheckResult) -> Self {
        StageCheck {
            path: c.path,
            stage: c.stage,
            passed: c.passed,
            skills: c
                .skills
                .into_iter()
                .map(|(skill, mastery)| SkillScore { skill, mastery })
                .collect(),
            threshold: c.threshold,
            unlocked: c.unlocked,
        }
    }
}

impl From<CoreRemediation> for Remediation {
    fn from(r: CoreRemediation) -> Self {
        Remediation {
            skill: r.skill,
            reason: r.reason,
            lesson_step: r.lesson_step,
            item_step: r.item_step,
            due_ms: r.due_ms,
        }
    }
}
