//! What the learner answers and the feedback they get back.

use tidbit_core::learn::assess as core_assess;
use tidbit_core::learn::projection::StageCheckResult;
use tidbit_core::tidbit::Feedback as CoreFeedback;

pub use tidbit_core::events::Grade;
pub use tidbit_core::learn::assess::{Assessment, Outcome, SelfRating};
pub use tidbit_core::learn::projection::RemediationInserted as Remediation;

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
            Response::Flashcard { rating } => R::Flashcard { rating },
            Response::Reflection { text, criteria_met } => R::Reflection { text, criteria_met },
        }
    }
}

impl From<CoreFeedback> for Feedback {
    fn from(feedback: CoreFeedback) -> Self {
        let CoreFeedback {
            assessment,
            grade,
            next_due_ms,
            module_completed,
            stage_checks,
            remediations,
        } = feedback;
        Feedback {
            assessment,
            grade,
            next_due_ms,
            module_completed,
            stage_checks: stage_checks.into_iter().map(Into::into).collect(),
            remediations,
        }
    }
}

impl From<StageCheckResult> for StageCheck {
    fn from(check: StageCheckResult) -> Self {
        let StageCheckResult {
            path,
            stage,
            passed,
            skills,
            threshold,
            unlocked,
        } = check;
        StageCheck {
            path,
            stage,
            passed,
            skills: skills
                .into_iter()
                .map(|(skill, mastery)| SkillScore { skill, mastery })
                .collect(),
            threshold,
            unlocked,
        }
    }
}
