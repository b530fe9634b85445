//! Session plans, due counts, the recommended next activity and the decision audit trail.

use tidbit_core::learn::recommend::Recommendation as CoreRecommendation;
use tidbit_core::tidbit::Decision as CoreDecision;

pub use tidbit_core::learn::plan::{DueCounts, PlannedStep, Purpose, SessionPlan};
pub use tidbit_core::learn::recommend::Activity;
use tidbit_core::tidbit::Streak;

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

impl From<CoreRecommendation> for Recommendation {
    fn from(recommendation: CoreRecommendation) -> Self {
        let CoreRecommendation {
            activity,
            reason,
            inputs,
        } = recommendation;
        Recommendation {
            activity,
            reason,
            inputs_json: inputs.to_string(),
        }
    }
}

impl From<CoreDecision> for Decision {
    fn from(decision: CoreDecision) -> Self {
        let CoreDecision {
            at_ms,
            kind,
            reason,
            inputs,
            output,
        } = decision;
        Decision {
            at_ms,
            kind,
            reason,
            inputs_json: inputs.to_string(),
            output_json: output.to_string(),
        }
    }
}
