//! Session plans, due counts, the recommended next activity and the decision audit trail.

use tidbit_core::learn::{plan, recommend};
use tidbit_core::tidbit::Decision as CoreDecision;

use super::progress::Streak;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SessionPlan {
    pub budget_seconds: u32,
    pub total_seconds: u32,
    pub steps: Vec<PlannedStep>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlannedStep {
    pub course: String,
    pub module: String,
    pub step: String,
    /// `lesson`, `image`, `audio`, `video` or an item kind (`single`, `order`, ...).
    pub kind: String,
    pub purpose: Purpose,
    pub estimated_seconds: u32,
    /// Expected chance of answering right, for items the learner has a history with.
    pub expected_success: Option<f64>,
}

/// Why a step is in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Purpose {
    Reinforcement,
    Remediation,
    New,
}

/// Counts for the home screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct DueCounts {
    pub due_now: u32,
    /// Due before the end of the learner's local day.
    pub due_today: u32,
    pub remediations: u32,
}

/// What the learner should do next.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Activity {
    Remediation {
        course: String,
        skill: String,
        plan: SessionPlan,
    },
    Reinforcement {
        due: u32,
        plan: SessionPlan,
    },
    Booster {
        course: String,
        module: String,
        plan: SessionPlan,
    },
    Module {
        course: String,
        module: String,
        stage_check: bool,
    },
    Enroll {
        course: String,
        path: String,
    },
    PathComplete {
        course: String,
        path: String,
    },
    NothingInstalled,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Recommendation {
    pub activity: Activity,
    /// A sentence for the learner.
    pub reason: String,
    /// The inputs the decision was taken on (JSON), as recorded in the audit trail.
    pub inputs_json: String,
}

/// The home screen in one call: what to do next and why, what is due, the streak.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Home {
    pub recommendation: Recommendation,
    pub due: DueCounts,
    pub streak: Streak,
}

/// A recorded automated decision.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Decision {
    pub at_ms: i64,
    pub kind: String,
    pub reason: String,
    pub inputs_json: String,
    pub output_json: String,
}

impl From<plan::SessionPlan> for SessionPlan {
    fn from(p: plan::SessionPlan) -> Self {
        SessionPlan {
            budget_seconds: p.budget_seconds,
            total_seconds: p.total_seconds,
            steps: p.steps.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<plan::PlannedStep> for PlannedStep {
    fn from(s: plan::PlannedStep) -> Self {
        PlannedStep {
            course: s.course,
            module: s.module,
            step: s.step,
            kind: s.kind,
            purpose: match s.purpose {
                plan::Purpose::Reinforcement => Purpose::Reinforcement,
                plan::Purpose::Remediation => Purpose::Remediation,
                plan::Purpose::New => Purpose::New,
            },
            estimated_seconds: s.estimated_seconds,
            expected_success: s.expected_success,
        }
    }
}

impl From<plan::DueCounts> for DueCounts {
    fn from(d: plan::DueCounts) -> Self {
        DueCounts {
            due_now: d.due_now,
            due_today: d.due_today,
            remediations: d.remediations,
        }
    }
}

impl From<recommend::Activity> for Activity {
    fn from(activity: recommend::Activity) -> Self {
        use recommend::Activity as A;
        match activity {
            A::Remediation {
                course,
                skill,
                plan,
            } => Activity::Remediation {
                course,
                skill,
                plan: plan.into(),
            },
            A::Reinforcement { due, plan } => Activity::Reinforcement {
                due,
                plan: plan.into(),
            },
            A::Booster {
                course,
                module,
                plan,
            } => Activity::Booster {
                course,
                module,
                plan: plan.into(),
            },
            A::Module {
                course,
                module,
                stage_check,
            } => Activity::Module {
                course,
                module,
                stage_check,
            },
            A::Enroll { course, path } => Activity::Enroll { course, path },
            A::PathComplete { course, path } => Activity::PathComplete { course, path },
            A::NothingInstalled => Activity::NothingInstalled,
        }
    }
}

impl From<recommend::Recommendation> for Recommendation {
    fn from(r: recommend::Recommendation) -> Self {
        Recommendation {
            activity: r.activity.into(),
            reason: r.reason,
            inputs_json: r.inputs.to_string(),
        }
    }
}

impl From<CoreDecision> for Decision {
    fn from(d: CoreDecision) -> Self {
        Decision {
            at_ms: d.at_ms,
            kind: d.kind,
            reason: d.reason,
            inputs_json: d.inputs.to_string(),
            output_json: d.output.to_string(),
        }
    }
}
