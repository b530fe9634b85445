//! Learner events: the immutable log that is the truth about a learner's progress.
//!
//! Every learner action becomes one [`Event`] with a globally unique id, the time it happened
//! and the device it happened on. Events are never edited or deleted; projections (card memory,
//! due index, mastery, unlocks, streaks) are derived from them in the total order given by
//! [`Event::order_key`], so every device that holds the same events derives the same state.
//! Time comes from an injected [`Clock`], never from the system directly.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

mod answer;
mod goal;
mod intervention;
mod nudge;
mod push;

pub use answer::{is_recording_name, Outcome, Response, SelfRating, CREDIT_EPSILON};
pub use goal::{check_goal, check_study_time, GoalFieldError, MAX_GOAL_PARTS, MAX_STUDY_MINUTES};
pub use intervention::{
    CoachingTemplate, InterventionAction, InterventionKind, InterventionStep, MentoringInvitation,
    COACHING_PROMPTS,
};
pub use nudge::{NudgeKind, NudgeOutcome, NudgeWording};
pub use push::{check_push_token, push_token_sha256, PushOutcome, MAX_PUSH_TOKEN_BYTES};

use crate::privacy::consent::ConsentScope;

/// The device name under which the server records events (interventions, review decisions); no
/// learner device may use it, and devices accept those events from it alone.
pub const SERVER_DEVICE: &str = "server";

/// Where time comes from. Tests and the simulator inject their own.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The device's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug)]
pub struct ManualClock {
    millis: std::sync::atomic::AtomicI64,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            millis: std::sync::atomic::AtomicI64::new(start.timestamp_millis()),
        }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.millis
            .store(at.timestamp_millis(), std::sync::atomic::Ordering::SeqCst);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.millis
            .fetch_add(by.num_milliseconds(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let millis = self.millis.load(std::sync::atomic::Ordering::SeqCst);
        DateTime::from_timestamp_millis(millis).unwrap_or_default()
    }
}

/// One learner action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 32 hex digits, unique across devices: derived from the device id, the incarnation that
    /// wrote it (a device restored from a backup is a new incarnation) and its sequence number.
    pub id: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub at_ms: i64,
    pub device: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// A course's desired retention as an experiment's arm sets it for one learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionSetting {
    pub course: String,
    /// Between [`RetentionSetting::MIN`] and [`RetentionSetting::MAX`].
    pub desired_retention: f64,
}

impl RetentionSetting {
    pub const MIN: f64 = 0.7;
    pub const MAX: f64 = 0.97;
}

/// FSRS's four grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum Grade {
    Again,
    Hard,
    Good,
    Easy,
}

impl Grade {
    /// FSRS's numeric rating (1–4).
    pub fn rating(self) -> u32 {
        match self {
            Grade::Again => 1,
            Grade::Hard => 2,
            Grade::Good => 3,
            Grade::Easy => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The learner follows `path` of `course`.
    Enrolled { course: String, path: String },
    /// The learner opened a module; a new attempt starts.
    ModuleStarted { course: String, module: String },
    /// A lesson card was read to its end.
    StepViewed {
        course: String,
        module: String,
        step: String,
    },
    /// An item was answered. The assessment is recorded as given, so later content changes never
    /// rewrite history.
    ItemAnswered {
        course: String,
        module: String,
        step: String,
        item_kind: String,
        /// What exactly was answered: withheld (`None`) unless the learner gave the
        /// `analytics` consent scope when answering. Nothing in the projections reads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response: Option<Response>,
        response_ms: u32,
        credit: f64,
        outcome: Outcome,
        grade: Grade,
        /// The learner's local calendar date when answering (for streaks).
        local_date: NaiveDate,
    },
    /// New FSRS parameters fitted from the log replace the old ones for later reviews.
    ParametersAdopted {
        parameters: Vec<f32>,
        reviews: u32,
        log_loss_before: f32,
        log_loss_after: f32,
    },
    /// The L&D team asked the learner to act before `deadline_ms`: revisit `module`, or the
    /// `action` of another kind about it (coaching, mentoring, a job aid). Written by the server
    /// into the learner's current period document; the event's id names the intervention.
    InterventionTriggered {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        course: Option<String>,
        module: String,
        reason: String,
        deadline_ms: i64,
        /// The work-context signal that triggered it (a role change, a customer case), if any:
        /// the device acts on such an intervention only under the `signals` consent scope.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
        /// What is asked; absent (a module to revisit) on every event written before the other
        /// kinds existed, and on module interventions still.
        #[serde(default, skip_serializing_if = "InterventionAction::is_module")]
        action: InterventionAction,
    },
    /// A step of intervention `intervention` was taken: the job aid opened, the mentoring
    /// pairing accepted or held (the learner's device), the coaching conversation held (the
    /// server, when the manager says so).
    InterventionProgressed {
        intervention: String,
        step: InterventionStep,
    },
    /// The server asks the learner to mentor `mentee` on `skill` of `course` (intervention
    /// `intervention`, open until `deadline_ms`). Written by the server into the mentor's
    /// documents.
    MentoringRequested {
        intervention: String,
        mentee: String,
        course: String,
        skill: String,
        deadline_ms: i64,
    },
    /// What became of a planned nudge: the input of fatigue, softening and send-time learning.
    NudgeOutcomeRecorded {
        nudge: String,
        nudge_kind: NudgeKind,
        /// What the nudge was about (a local day, a module, an intervention id).
        subject: String,
        variant: String,
        /// The local hour (0–23) the nudge was planned for.
        local_hour: u8,
        outcome: NudgeOutcome,
        /// Why, for a missed intervention.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The device can receive push messages at `token` (`fcm` or `apns`).
    PushTokenRegistered { platform: String, token: String },
    /// What the push vendor answered when the server pushed to a token. Written by the server;
    /// the token appears only as its SHA-256 (see [`push_token_sha256`]).
    PushOutcomeRecorded {
        /// `fcm` or `apns`.
        platform: String,
        token_sha256: String,
        /// The id of the `PushTokenRegistered` event that gave the token: an outcome belongs to
        /// one registration, whatever the device's and the server's clocks say.
        registration: String,
        /// The intervention the push announced, if it announced one (else a plain wake-up).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        intervention: Option<String>,
        outcome: PushOutcome,
        /// The vendor's reason, for a push not delivered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The learner gave (`granted`) or withdrew a consent scope. The later change in the log's
    /// order wins.
    ConsentChanged { scope: ConsentScope, granted: bool },
    /// A peer rated the learner's shared answer against the item's criteria (`credit`: the
    /// share of them met). It counts towards mastery as the course says (its
    /// `peer_feedback_weight`), once per reviewer and answer (a reviewer who rates again does
    /// not count twice); the device the answer was shared from records it when a sync brings
    /// the rating in.
    PeerRated {
        course: String,
        step: String,
        cohort: String,
        /// The shared answer's and the rating's entry ids in the cohort's space.
        share: String,
        feedback: String,
        reviewer: String,
        credit: f64,
    },
    /// The learner asked a person to review the automated decision that keeps `stage` of their
    /// path locked (or its check failed). The event's id names the review.
    ReviewRequested {
        course: String,
        path: String,
        stage: String,
        /// The learner's own words.
        reason: String,
        /// The engine's decision the learner questions, as the engine stated it when asked.
        questioned: String,
    },
    /// A person decided a review. Written by the server, as its device, into the learner's
    /// documents; `unlock` opens the stage.
    ReviewDecided {
        review: String,
        course: String,
        path: String,
        stage: String,
        unlock: bool,
        reason: String,
        author: String,
    },
    /// The learner met the arm `arm` of experiment `experiment` for the first time where it
    /// matters (the arm is a hash of the learner and experiment ids, so every device and the
    /// server agree offline): the start of the experiment's record for them.
    ExperimentExposed {
        experiment: String,
        arm: String,
        /// For an experiment on nudge wording: the wording this arm gives its kind, which the
        /// planner then uses for the learner.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nudge_wording: Option<NudgeWording>,
        /// For an experiment on a course's desired retention: the retention this arm gives,
        /// which the scheduler then uses for the learner's cards of the course.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retention: Option<RetentionSetting>,
    },
    /// A goal: the stages of `path` (all of them when `stages` and `skills` are empty), and the
    /// modules teaching `skills` with each skill at the course's mastery threshold, reached by
    /// `due`, the learner's local date. Set by the L&D team (written by the server) or by the
    /// learner; a later `GoalSet` with the same `goal` replaces it, and a learner's device never
    /// replaces or withdraws a goal the server set.
    GoalSet {
        goal: String,
        title: String,
        course: String,
        path: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        stages: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skills: Vec<String>,
        due: NaiveDate,
        /// The goal no longer applies.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        withdrawn: bool,
    },
    /// The time the learner gives learning: minutes on a learning day, and the days of the week
    /// (ISO numbers, 1 = Monday to 7 = Sunday) they do not learn. The planner paces goals on it.
    StudyTimeSet {
        minutes_per_day: u32,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        days_off: Vec<u8>,
    },
}

impl EventKind {
    /// Kinds only the server writes (as [`SERVER_DEVICE`]).
    pub fn is_from_server(&self) -> bool {
        matches!(
            self,
            EventKind::InterventionTriggered { .. }
                | EventKind::ReviewDecided { .. }
                | EventKind::PushOutcomeRecorded { .. }
                | EventKind::MentoringRequested { .. }
        ) || matches!(self, EventKind::InterventionProgressed { step, .. } if step.is_from_server())
    }

    /// Kinds both the server and the learner's devices write.
    pub fn is_from_either(&self) -> bool {
        matches!(self, EventKind::GoalSet { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Enrolled { .. } => "enrolled",
            EventKind::ModuleStarted { .. } => "module_started",
            EventKind::StepViewed { .. } => "step_viewed",
            EventKind::ItemAnswered { .. } => "item_answered",
            EventKind::ParametersAdopted { .. } => "parameters_adopted",
            EventKind::InterventionTriggered { .. } => "intervention_triggered",
            EventKind::InterventionProgressed { .. } => "intervention_progressed",
            EventKind::MentoringRequested { .. } => "mentoring_requested",
            EventKind::NudgeOutcomeRecorded { .. } => "nudge_outcome",
            EventKind::PushTokenRegistered { .. } => "push_token_registered",
            EventKind::PushOutcomeRecorded { .. } => "push_outcome",
            EventKind::ConsentChanged { .. } => "consent_changed",
            EventKind::PeerRated { .. } => "peer_rated",
            EventKind::ReviewRequested { .. } => "review_requested",
            EventKind::ReviewDecided { .. } => "review_decided",
            EventKind::ExperimentExposed { .. } => "experiment_exposed",
            EventKind::GoalSet { .. } => "goal_set",
            EventKind::StudyTimeSet { .. } => "study_time_set",
        }
    }
}

impl Event {
    /// The globally unique id of the `sequence`-th event written by `incarnation` on `device`.
    pub fn make_id(device: &str, incarnation: &str, sequence: u64) -> String {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(device.as_bytes());
        context.update(&[0]);
        context.update(incarnation.as_bytes());
        context.update(&[0]);
        context.update(&sequence.to_be_bytes());
        hex::encode(&context.finish().as_ref()[..16])
    }

    /// The total order in which every device applies events: time, then device, then id.
    pub fn order_key(&self) -> (i64, &str, &str) {
        (self.at_ms, &self.device, &self.id)
    }

    pub fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.at_ms).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_differ_across_devices_and_sequence_numbers() {
        let a = Event::make_id("phone", "i1", 1);
        assert_eq!(a.len(), 32);
        assert_ne!(a, Event::make_id("phone", "i1", 2));
        assert_ne!(a, Event::make_id("tablet", "i1", 1));
        assert_ne!(a, Event::make_id("phone", "i2", 1));
        assert_eq!(a, Event::make_id("phone", "i1", 1));
    }

    #[test]
    fn an_event_round_trips_through_json() {
        let event = Event {
            id: Event::make_id("phone", "i1", 7),
            at_ms: 1_790_000_000_000,
            device: "phone".into(),
            kind: EventKind::ItemAnswered {
                course: "c".into(),
                module: "m".into(),
                step: "s".into(),
                item_kind: "single".into(),
                response: Some(Response::SingleChoice { choice: 1 }),
                response_ms: 4200,
                credit: 1.0,
                outcome: Outcome::Right,
                grade: Grade::Good,
                local_date: NaiveDate::from_ymd_opt(2026, 9, 21).unwrap(),
            },
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
