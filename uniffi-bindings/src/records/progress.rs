//! Progress as the home screen shows it: mastery with evidence, stages, streak, fitted
//! parameters and verified certificates.

use tidbit_core::certificate::VerifiedCertificate as CoreVerifiedCertificate;
use tidbit_core::learn::mastery;
use tidbit_core::learn::personalise::FitReport as CoreFitReport;
use tidbit_core::tidbit::{StageStatus as CoreStageStatus, Streak as CoreStreak};

/// A skill's mastery in [0, 1] and the cards behind it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SkillMastery {
    pub skill: String,
    pub mastery: f64,
    pub evidence: Vec<Evidence>,
}

/// One card's contribution to a skill's mastery.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Evidence {
    pub step: String,
    /// Probability of recall now.
    pub recall: f64,
    /// Recent-weighted credit of the learner's answers to this item.
    pub credit: f64,
    /// Elo-style difficulty of the item (0 is average).
    pub item_rating: f64,
    pub weight: f64,
    pub last_review_ms: i64,
}

/// A learner's progress on one stage of the enrolled path.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageStatus {
    pub stage: String,
    pub unlocked_ms: Option<i64>,
    pub passed_ms: Option<i64>,
    pub checks: u32,
}

/// Practice streak in the learner's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Streak {
    pub current: u32,
    pub longest: u32,
    pub practised_today: bool,
}

/// The result of fitting FSRS parameters to the learner's log.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FitReport {
    pub reviews: u32,
    pub training_items: u32,
    pub parameters: Vec<f32>,
    pub log_loss_before: f32,
    pub log_loss_after: f32,
    pub adopted: bool,
}

/// What a verified certificate says.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedCertificate {
    pub issuer_key_id: String,
    pub issuer_name: String,
    pub learner_id: String,
    pub achievement_name: String,
    pub course_id: String,
    pub path_id: String,
    /// RFC 3339, as written in the certificate.
    pub valid_from: String,
}

impl From<mastery::SkillMastery> for SkillMastery {
    fn from(m: mastery::SkillMastery) -> Self {
        SkillMastery {
            skill: m.skill,
            mastery: m.mastery,
            evidence: m
                .evidence
                .into_iter()
                .map(|e| Evidence {
                    step: e.step,
                    recall: e.recall,
                    credit: e.credit,
                    item_rating: e.item_rating,
                    weight: e.weight,
                    last_review_ms: e.last_review_ms,
                })
                .collect(),
        }
    }
}

impl From<CoreStageStatus> for StageStatus {
    fn from(s: CoreStageStatus) -> Self {
        StageStatus {
            stage: s.stage,
            unlocked_ms: s.unlocked_ms,
            passed_ms: s.passed_ms,
            checks: s.checks,
        }
    }
}

impl From<CoreStreak> for Streak {
    fn from(s: CoreStreak) -> Self {
        Streak {
            current: s.current,
            longest: s.longest,
            practised_today: s.practised_today,
        }
    }
}

impl From<CoreFitReport> for FitReport {
    fn from(r: CoreFitReport) -> Self {
        FitReport {
            reviews: r.reviews,
            training_items: r.training_items,
            parameters: r.parameters,
            log_loss_before: r.log_loss_before,
            log_loss_after: r.log_loss_after,
            adopted: r.adopted,
        }
    }
}

impl From<CoreVerifiedCertificate> for VerifiedCertificate {
    fn from(c: CoreVerifiedCertificate) -> Self {
        VerifiedCertificate {
            issuer_key_id: c.issuer_key_id,
            issuer_name: c.issuer_name,
            learner_id: c.learner_id,
            achievement_name: c.achievement_name,
            course_id: c.course_id,
            path_id: c.path_id,
            valid_from: c.valid_from,
        }
    }
}
