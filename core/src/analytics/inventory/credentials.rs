//! The skills inventory as credentials other systems read: one Open Badges 3.0
//! `OpenBadgeCredential` (an `AchievementCredential`, W3C Verifiable Credentials data model 2.0)
//! per skill the learner holds (mastery at or above the course's threshold), with the skill as
//! a `Competency` achievement, the mastery as a `Result` against a `ScaledScore`
//! `ResultDescription` and the evidence (answers, passed stage checks, finished paths, peer
//! feedback) as `Evidence`; all of them wrapped in one Comprehensive Learner Record 2.0
//! `ClrCredential` whose `ClrSubject` is the learner.
//!
//! These credentials are **unsigned**: they carry no `proof`. The learner's device compiles
//! them from the learner's own record and the learner holds them; the issuer named is the
//! learner themself (a self-held record), not the organisation. A verifier may read them as a
//! well-formed, shaped account of the evidence, but must not treat them as the organisation's
//! attestation: what Tidbit signs is the path certificate ([`crate::certificate`]), which the
//! evidence here names and which is checked offline with the issuer's key.

use chrono::{DateTime, SecondsFormat};
use ring::digest;
use serde_json::{json, Value};

use super::{InventorySkill, SkillInventory};
use crate::certificate::{score_text, LEARNER_ID_PREFIX, OPEN_BADGES_CONTEXT, VC_CONTEXT};

/// The Comprehensive Learner Record 2.0 context.
pub const CLR_CONTEXT: &str = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json";
const SKILL_ACHIEVEMENT_PREFIX: &str = "urn:tidbit:skill:";
const SKILL_CREDENTIAL_PREFIX: &str = "urn:tidbit:skill-credential:";
const RECORD_PREFIX: &str = "urn:tidbit:skills-record:";

/// The CLR holding one Open Badges credential per held skill of `inventory`.
pub fn credentials(inventory: &SkillInventory) -> Value {
    let learner = format!("{LEARNER_ID_PREFIX}{}", inventory.learner);
    let issuer = json!({
        "id": learner,
        "type": ["Profile"],
        "name": format!("{} (self-held Tidbit skills record)", inventory.learner),
    });
    let held: Vec<&InventorySkill> = inventory.skills.iter().filter(|s| s.held).collect();
    let badges: Vec<Value> = held
        .iter()
        .map(|skill| badge(skill, &learner, &issuer, inventory.at_ms))
        .collect();
    let achievements: Vec<Value> = badges
        .iter()
        .map(|b| b["credentialSubject"]["achievement"].clone())
        .collect();
    json!({
        "@context": [VC_CONTEXT, CLR_CONTEXT, OPEN_BADGES_CONTEXT],
        "id": urn(RECORD_PREFIX, &[&inventory.learner, &inventory.at_ms.to_string()]),
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": format!("Skills record of {}", inventory.learner),
        "description": "Skills demonstrated in Tidbit, compiled on the learner's device from their \
            own learning record. Unsigned: a self-held record, not an attestation by the \
            organisation; the path certificates named as evidence are signed and verify offline.",
        "issuer": issuer,
        "validFrom": time(inventory.at_ms),
        "credentialSubject": {
            "id": learner,
            "type": ["ClrSubject"],
            "achievement": achievements,
            "verifiableCredential": badges,
        },
    })
}

/// One skill's `OpenBadgeCredential`.
fn badge(skill: &InventorySkill, learner: &str, issuer: &Value, at_ms: i64) -> Value {
    // Readable and stable: the same skill is the same achievement for every learner.
    let achievement_id = format!("{SKILL_ACHIEVEMENT_PREFIX}{}:{}", skill.course, skill.skill);
    let threshold = score_text(skill.threshold);
    let result_id = format!("{achievement_id}#mastery");
    let description = if skill.description.is_empty() {
        format!(
            "The skill {} of the course {}.",
            skill.name, skill.course_title
        )
    } else {
        skill.description.clone()
    };
    json!({
        "@context": [VC_CONTEXT, OPEN_BADGES_CONTEXT],
        "id": urn(SKILL_CREDENTIAL_PREFIX, &[learner, &skill.course, &skill.skill, &at_ms.to_string()]),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": format!("{} — {}", skill.name, skill.course_title),
        "issuer": issuer,
        "validFrom": time(skill.last_demonstrated_ms.unwrap_or(at_ms)),
        "credentialSubject": {
            "id": learner,
            "type": ["AchievementSubject"],
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": skill.name,
                "description": description,
                "criteria": {"narrative": format!(
                    "Mastery of at least {threshold} (on a scale from 0 to 1) in {}, measured by \
                     Tidbit from the learner's answers to the skill's items in {} (version {}): \
                     how likely they are to recall each item now, how well they answered it, and \
                     how hard it is.",
                    skill.name, skill.course_title, skill.course_version
                )},
                "resultDescription": [{
                    "id": result_id,
                    "type": ["ResultDescription"],
                    "name": format!("Mastery of {}", skill.name),
                    "resultType": "ScaledScore",
                    "valueMin": score_text(0.0),
                    "valueMax": score_text(1.0),
                    "requiredValue": threshold,
                }],
            },
            "result": [{
                "type": ["Result"],
                "resultDescription": result_id,
                "value": score_text(skill.mastery),
            }],
        },
        "evidence": evidence(skill),
    })
}

/// The skill's evidence as Open Badges `Evidence`, most telling first.
fn evidence(skill: &InventorySkill) -> Vec<Value> {
    let e = &skill.evidence;
    let mut out = Vec::new();
    for path in &skill.certificates {
        out.push(json!({
            "type": ["Evidence"],
            "name": format!("Certificate: {}", path.path_title),
            "narrative": format!(
                "Finished every stage of the {} path on {}; its certificate is signed by the \
                 course's issuer and verifies offline.",
                path.path_title,
                time(path.completed_ms)
            ),
        }));
    }
    for check in &e.checks {
        out.push(json!({
            "type": ["Evidence"],
            "name": format!("Stage check: {} of {}", check.stage, check.path),
            "narrative": format!(
                "Passed on {} with a measured mastery of {}.",
                time(check.at_ms),
                score_text(check.mastery)
            ),
        }));
    }
    if let (Some(first), Some(last)) = (e.first_answer_ms, e.last_answer_ms) {
        out.push(json!({
            "type": ["Evidence"],
            "name": "Answers",
            "narrative": format!(
                "{} answers to {} items of the skill, {} right, from {} to {}.",
                e.answers,
                e.items,
                e.right,
                time(first),
                time(last)
            ),
        }));
    }
    if let Some(mean) = e.peer_mean_credit {
        out.push(json!({
            "type": ["Evidence"],
            "name": "Peer feedback",
            "narrative": format!(
                "{} ratings by peers of the learner's shared answers, meeting {} of the items' \
                 criteria on average.",
                e.peer_ratings,
                score_text(mean)
            ),
        }));
    }
    out
}

/// RFC 3339 in whole seconds, UTC.
fn time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `prefix` and the first 32 hex characters of the SHA-256 of `parts`, NUL-separated.
fn urn(prefix: &str, parts: &[&str]) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(part.as_bytes());
        context.update(&[0]);
    }
    let hex = hex::encode(context.finish().as_ref());
    format!("{prefix}{}", &hex[..32])
}
