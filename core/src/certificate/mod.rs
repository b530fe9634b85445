//! Certificates for a finished role path: signed credentials a learner can show anyone, checked
//! offline with nothing but the issuer's public key.
//!
//! A certificate is a JSON document shaped like an Open Badges 3.0 `OpenBadgeCredential` (a W3C
//! Verifiable Credential, data model 2.0): issuer profile, `validFrom`, an `AchievementSubject`
//! naming the learner, the achievement (course, path and course version, with its criteria and one
//! `ResultDescription` per skill) and one `Result` per skill holding the learner's mastery when the
//! path was completed. Its proof is **Tidbit's own proof suite**, `tidbit-ed25519-jcs-2026`, carried
//! in a `DataIntegrityProof`: it is not a W3C-registered cryptosuite, so a generic VC verifier will
//! not check it; anyone with the issuer's public key can, by following this procedure:
//!
//! 1. parse the document; an object may not name a member twice;
//! 2. take `proof` out; it must be one object with `type` `DataIntegrityProof`, `cryptosuite`
//!    `tidbit-ed25519-jcs-2026`, `proofPurpose` `assertionMethod`, `verificationMethod` equal to
//!    `issuer.id` followed by `#key`, `created` equal to `validFrom`, and `proofValue` the 64-byte
//!    Ed25519 signature in lowercase hex;
//! 3. `issuer.id` is `urn:tidbit:issuer:<key id>`, the key id being the first 16 hex characters of
//!    the SHA-256 of the issuer's 32-byte public key; look that key up among the trusted keys;
//! 4. serialize what remains canonically: object members sorted by their names' UTF-16 code units,
//!    no whitespace, strings escaped as JSON requires and nothing more (this is RFC 8785 JCS for
//!    documents without non-integer numbers; a Tidbit certificate holds no JSON numbers at all);
//! 5. check the Ed25519 signature over `b"tidbit-certificate-v1\0"` followed by those bytes;
//! 6. remove `id` as well, serialize canonically again, and check that `id` is
//!    `urn:tidbit:credential:` followed by the first 32 hex characters of the SHA-256 of those bytes.
//!
//! Issuing is deterministic: the same request and key give the same bytes (Ed25519 signatures are
//! deterministic and `proof.created` is the completion time, not the wall clock).
//!
//! This module must never report a certificate as valid before its signature has been checked
//! against a trusted key, and never let an unsigned member (only `proof` is unsigned) change what
//! the verified certificate says.
//!
//! Canonical serialization and the strict, duplicate-refusing parser live in `canonical.rs`.

mod canonical;

#[cfg(test)]
mod tests;

use chrono::{DateTime, SecondsFormat, Utc};
use ring::digest;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::content::model::is_valid_id;
use crate::content::StageKind;
use crate::keys::{KeyError, SigningKey, TrustedKeys, KEY_ID_LEN, SIGNATURE_LEN};

use canonical::{canonical_json, parse_strict};

/// Signature domain of a certificate.
pub const CERTIFICATE_SIGNATURE_DOMAIN: &[u8] = b"tidbit-certificate-v1\0";
/// The proof suite Tidbit certificates use (Tidbit's own, not W3C-registered).
pub const CRYPTOSUITE: &str = "tidbit-ed25519-jcs-2026";
/// The W3C Verifiable Credentials 2.0 context; always first.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The Open Badges 3.0 context.
pub const OPEN_BADGES_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// Largest certificate file accepted; real ones are a few kilobytes.
pub const MAX_CERTIFICATE_BYTES: usize = 256 * 1024;

const PROOF_TYPE: &str = "DataIntegrityProof";
const PROOF_PURPOSE: &str = "assertionMethod";
const CREDENTIAL_ID_PREFIX: &str = "urn:tidbit:credential:";
const ISSUER_ID_PREFIX: &str = "urn:tidbit:issuer:";
pub(crate) const LEARNER_ID_PREFIX: &str = "urn:tidbit:learner:";
const ACHIEVEMENT_ID_PREFIX: &str = "urn:tidbit:achievement:";
/// Hex characters of the content hash kept in a credential id (128 bits).
const CREDENTIAL_ID_HEX_LEN: usize = 32;
const MAX_LEARNER_ID_LEN: usize = 128;
const MAX_TEXT_LEN: usize = 500;

/// Why a certificate could not be issued or verified. Every message says what is wrong and what
/// to do.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot issue the certificate: {reason}")]
    InvalidRequest { reason: String },
    #[error(
        "the file is {size} bytes, but a Tidbit certificate is at most {max} bytes: this is not a \
         certificate; check that you chose the certificate file"
    )]
    TooLarge { size: usize, max: usize },
    #[error(
        "not a certificate: the file is not valid JSON ({reason}); check that you chose the \
         certificate file and that it was copied completely"
    )]
    NotJson { reason: String },
    #[error(
        "not a Tidbit certificate: `{member}` {problem}; check that you chose a certificate \
         issued by Tidbit, and ask the issuer for a fresh copy if this one was edited"
    )]
    NotACredential { member: String, problem: String },
    #[error(
        "the certificate's proof is '{found}', but Tidbit checks only '{PROOF_TYPE}' proofs with \
         cryptosuite '{CRYPTOSUITE}': verify it with the software of whoever issued it"
    )]
    UnknownProofSuite { found: String },
    #[error(
        "the certificate was signed by key {key_id}, which is not one of the trusted keys: if you \
         trust this issuer, get their public key file (NAME.pub) from them through a channel you \
         trust and add it to the trusted keys"
    )]
    UntrustedIssuer { key_id: String },
    #[error(
        "the signature does not match the certificate's content: the certificate was altered \
         after it was issued (or damaged in transit); do not accept it, and ask the learner for \
         the original file"
    )]
    SignatureInvalid,
    #[error(
        "the certificate id is '{found}', but its content hashes to '{expected}': the issuing \
         software produced an inconsistent certificate; do not accept it, and report this to the \
         issuer"
    )]
    IdMismatch { found: String, expected: String },
    /// For callers that read the signing key and issue in one step.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// What a certificate states: who finished which path of which course, when, and how well.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateRequest<'a> {
    /// Shown as the issuer, e.g. the L&D team's name.
    pub issuer_name: &'a str,
    /// Letters, digits and `-._~@+`, at most 128 characters.
    pub learner_id: &'a str,
    pub course_id: &'a str,
    pub course_title: &'a str,
    /// A semantic version, e.g. `1.2.0`.
    pub course_version: &'a str,
    pub path_id: &'a str,
    pub path_title: &'a str,
    /// The course's mastery threshold, in (0, 1].
    pub mastery_threshold: f64,
    /// Each skill the path teaches (its name) with the learner's mastery at completion, in
    /// [threshold, 1]: a certificate is only issued for a path actually finished.
    pub skills: Vec<(String, f64)>,
    /// When the last stage was passed; becomes `validFrom` (whole seconds, UTC).
    pub completed_at: DateTime<Utc>,
}

/// What a verified certificate says, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
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

/// Issues a signed certificate; returns it as pretty-printed JSON.
pub fn issue_certificate(
    request: &CertificateRequest,
    key: &SigningKey,
) -> Result<String, CertificateError> {
    check_request(request)?;
    let valid_from = request
        .completed_at
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    if DateTime::parse_from_rfc3339(&valid_from).is_err() {
        return Err(invalid_request(format!(
            "the completion time {valid_from} cannot be written as an RFC 3339 date; \
             check the device clock"
        )));
    }
    let credential = unsigned_credential(request, &key.key_id(), &valid_from);
    Ok(format!(
        "{:#}",
        sign_credential(credential, key, &valid_from)
    ))
}

/// Checks a certificate's signature against the trusted keys, then its id and structure.
pub fn verify_certificate(
    json: &[u8],
    trusted: &TrustedKeys,
) -> Result<VerifiedCertificate, CertificateError> {
    if json.len() > MAX_CERTIFICATE_BYTES {
        return Err(CertificateError::TooLarge {
            size: json.len(),
            max: MAX_CERTIFICATE_BYTES,
        });
    }
    let mut credential = match parse_strict(json)? {
        Value::Object(credential) => credential,
        _ => return Err(not_a_credential("(document)", "is not a JSON object")),
    };
    check_context(&credential)?;
    require_types(
        &credential,
        "type",
        &["VerifiableCredential", "OpenBadgeCredential"],
    )?;
    let proof = credential
        .remove("proof")
        .ok_or_else(|| not_a_credential("proof", "is missing: the certificate is not signed"))?;
    let proof = read_proof(proof)?;
    let issuer_id = text(&credential, "issuer.id")?;
    let key_id = issuer_key_id(issuer_id)?;
    let expected_method = format!("{issuer_id}#key");
    if proof.verification_method != expected_method {
        return Err(not_a_credential(
            "proof.verificationMethod",
            format!(
                "is '{}', but the issuer's key is '{expected_method}'",
                proof.verification_method
            ),
        ));
    }
    let public_key = trusted
        .find(key_id)
        .ok_or_else(|| CertificateError::UntrustedIssuer {
            key_id: key_id.to_string(),
        })?;
    let signed = canonical_json(&Value::Object(credential.clone()));
    if !public_key.verify(
        CERTIFICATE_SIGNATURE_DOMAIN,
        signed.as_bytes(),
        &proof.signature,
    ) {
        return Err(CertificateError::SignatureInvalid);
    }
    // Everything below was signed by a trusted key; what remains is checking it is well formed.
    let found_id = text(&credential, "id")?.to_string();
    let mut content = credential.clone();
    content.remove("id");
    let expected_id = credential_id(&content);
    if found_id != expected_id {
        return Err(CertificateError::IdMismatch {
            found: found_id,
            expected: expected_id,
        });
    }
    let valid_from = text(&credential, "validFrom")?;
    if DateTime::parse_from_rfc3339(valid_from).is_err() {
        return Err(not_a_credential(
            "validFrom",
            format!("is '{valid_from}', not an RFC 3339 date and time"),
        ));
    }
    if proof.created != valid_from {
        return Err(not_a_credential(
            "proof.created",
            format!(
                "is '{}', but a Tidbit proof is created at validFrom '{valid_from}': \
                 the proof was edited",
                proof.created
            ),
        ));
    }
    require_types(&credential, "issuer.type", &["Profile"])?;
    require_types(
        &credential,
        "credentialSubject.type",
        &["AchievementSubject"],
    )?;
    require_types(
        &credential,
        "credentialSubject.achievement.type",
        &["Achievement"],
    )?;
    let learner_id = text(&credential, "credentialSubject.id")?
        .strip_prefix(LEARNER_ID_PREFIX)
        .filter(|id| is_valid_learner_id(id))
        .ok_or_else(|| {
            not_a_credential(
                "credentialSubject.id",
                format!("must be '{LEARNER_ID_PREFIX}<learner id>'"),
            )
        })?;
    let (course_id, path_id) =
        parse_achievement_id(text(&credential, "credentialSubject.achievement.id")?)?;
    Ok(VerifiedCertificate {
        issuer_key_id: key_id.to_string(),
        issuer_name: text(&credential, "issuer.name")?.to_string(),
        learner_id: learner_id.to_string(),
        achievement_name: text(&credential, "credentialSubject.achievement.name")?.to_string(),
        course_id: course_id.to_string(),
        path_id: path_id.to_string(),
        valid_from: valid_from.to_string(),
    })
}

fn invalid_request(reason: impl Into<String>) -> CertificateError {
    CertificateError::InvalidRequest {
        reason: reason.into(),
    }
}

fn not_a_credential(member: &str, problem: impl Into<String>) -> CertificateError {
    CertificateError::NotACredential {
        member: member.to_string(),
        problem: problem.into(),
    }
}

fn check_request(request: &CertificateRequest) -> Result<(), CertificateError> {
    for (what, value) in [
        ("issuer name", request.issuer_name),
        ("course title", request.course_title),
        ("path title", request.path_title),
    ] {
        check_display_text(what, value)?;
    }
    if !is_valid_learner_id(request.learner_id) {
        return Err(invalid_request(format!(
            "learner id '{}' must be 1 to {MAX_LEARNER_ID_LEN} letters, digits or '-._~@+'",
            request.learner_id
        )));
    }
    for (what, id) in [
        ("course id", request.course_id),
        ("path id", request.path_id),
    ] {
        if !is_valid_id(id) {
            return Err(invalid_request(format!(
                "{what} '{id}' is not a Tidbit id (lowercase letters, digits and '-'); \
                 pass the id from the installed course"
            )));
        }
    }
    if semver::Version::parse(request.course_version).is_err() {
        return Err(invalid_request(format!(
            "course version '{}' is not a semantic version such as 1.2.0",
            request.course_version
        )));
    }
    let threshold = request.mastery_threshold;
    if !(threshold.is_finite() && threshold > 0.0 && threshold <= 1.0) {
        return Err(invalid_request(format!(
            "mastery threshold {threshold} must be above 0 and at most 1"
        )));
    }
    if request.skills.is_empty() {
        return Err(invalid_request(
            "no skills given: list every skill the path teaches with the learner's mastery",
        ));
    }
    for (name, mastery) in &request.skills {
        check_display_text("skill name", name)?;
        if !(mastery.is_finite() && (0.0..=1.0).contains(mastery)) {
            return Err(invalid_request(format!(
                "mastery {mastery} of skill '{name}' must be between 0 and 1"
            )));
        }
        if *mastery < threshold {
            return Err(invalid_request(format!(
                "skill '{name}' has mastery {mastery:.2}, below the threshold {threshold:.2}: \
                 the path is not finished"
            )));
        }
    }
    Ok(())
}

fn check_display_text(what: &str, value: &str) -> Result<(), CertificateError> {
    if value.trim().is_empty() {
        return Err(invalid_request(format!("the {what} is empty")));
    }
    if value.chars().count() > MAX_TEXT_LEN {
        return Err(invalid_request(format!(
            "the {what} is longer than {MAX_TEXT_LEN} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid_request(format!(
            "the {what} '{}' contains control characters such as line breaks",
            value.escape_debug()
        )));
    }
    Ok(())
}

fn is_valid_learner_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEARNER_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~@+".contains(&b))
}

/// A mastery or threshold as written in a certificate: two decimals, never a JSON number.
/// A score in [0, 1] as Open Badges `Result` values are written: text, two decimals.
pub(crate) fn score_text(value: f64) -> String {
    format!("{value:.2}")
}

fn unsigned_credential(
    request: &CertificateRequest,
    key_id: &str,
    valid_from: &str,
) -> Map<String, Value> {
    let achievement_id = format!(
        "{ACHIEVEMENT_ID_PREFIX}{}:{}:{}",
        request.course_id, request.path_id, request.course_version
    );
    let name = format!("{} — {}", request.path_title, request.course_title);
    let threshold = score_text(request.mastery_threshold);
    let stages: Vec<&str> = StageKind::ALL.iter().map(|kind| kind.as_str()).collect();
    let narrative = format!(
        "Passed the stage checks of every stage ({}) of the {} path in {}, version {}, with skill \
         mastery of at least {threshold} (on a scale from 0 to 1) in every skill the path teaches.",
        stages.join(", "),
        request.path_title,
        request.course_title,
        request.course_version
    );
    let description = format!(
        "Awarded for completing the {} role path of the course {} (version {}).",
        request.path_title, request.course_title, request.course_version
    );
    let mut result_descriptions = Vec::with_capacity(request.skills.len());
    let mut results = Vec::with_capacity(request.skills.len());
    for (index, (skill, mastery)) in request.skills.iter().enumerate() {
        let id = format!("{achievement_id}#skill-{}", index + 1);
        result_descriptions.push(json!({
            "id": id,
            "type": ["ResultDescription"],
            "name": format!("Mastery of {skill}"),
            "resultType": "ScaledScore",
            "valueMin": score_text(0.0),
            "valueMax": score_text(1.0),
            "requiredValue": threshold,
        }));
        results.push(json!({
            "type": ["Result"],
            "resultDescription": id,
            "value": score_text(*mastery),
        }));
    }
    let issuer_id = format!("{ISSUER_ID_PREFIX}{key_id}");
    let members = [
        ("@context", json!([VC_CONTEXT, OPEN_BADGES_CONTEXT])),
        (
            "type",
            json!(["VerifiableCredential", "OpenBadgeCredential"]),
        ),
        (
            "issuer",
            json!({"id": issuer_id, "type": ["Profile"], "name": request.issuer_name}),
        ),
        ("validFrom", json!(valid_from)),
        ("name", json!(name)),
        (
            "credentialSubject",
            json!({
                "id": format!("{LEARNER_ID_PREFIX}{}", request.learner_id),
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": achievement_id,
                    "type": ["Achievement"],
                    "achievementType": "Certificate",
                    "name": name,
                    "description": description,
                    "criteria": {"narrative": narrative},
                    "resultDescription": result_descriptions,
                },
                "result": results,
            }),
        ),
    ];
    members
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// Adds the content-derived `id` and the proof, `created` at `valid_from`. `credential` must
/// hold no `id` or `proof`.
fn sign_credential(
    mut credential: Map<String, Value>,
    key: &SigningKey,
    valid_from: &str,
) -> Value {
    let issuer_id = format!("{ISSUER_ID_PREFIX}{}", key.key_id());
    credential.insert("id".into(), Value::String(credential_id(&credential)));
    let signature = key.sign(
        CERTIFICATE_SIGNATURE_DOMAIN,
        canonical_json(&Value::Object(credential.clone())).as_bytes(),
    );
    credential.insert(
        "proof".into(),
        json!({
            "type": PROOF_TYPE,
            "cryptosuite": CRYPTOSUITE,
            "created": valid_from,
            "verificationMethod": format!("{issuer_id}#key"),
            "proofPurpose": PROOF_PURPOSE,
            "proofValue": hex::encode(signature),
        }),
    );
    Value::Object(credential)
}

/// `urn:tidbit:credential:` and the first 32 hex characters of the SHA-256 of the canonical JSON
/// of the credential without `id` and `proof`.
fn credential_id(content: &Map<String, Value>) -> String {
    let canonical = canonical_json(&Value::Object(content.clone()));
    let hash = digest::digest(&digest::SHA256, canonical.as_bytes());
    let hex = hex::encode(hash.as_ref());
    format!("{CREDENTIAL_ID_PREFIX}{}", &hex[..CREDENTIAL_ID_HEX_LEN])
}

/// The member at a dotted path, e.g. `issuer.id`.
fn member<'a>(object: &'a Map<String, Value>, path: &str) -> Result<&'a Value, CertificateError> {
    let mut names = path.split('.');
    let first = names.next().unwrap_or_default();
    let mut value = object
        .get(first)
        .ok_or_else(|| not_a_credential(path, "is missing"))?;
    for name in names {
        value = value
            .get(name)
            .ok_or_else(|| not_a_credential(path, "is missing"))?;
    }
    Ok(value)
}

fn text<'a>(object: &'a Map<String, Value>, path: &str) -> Result<&'a str, CertificateError> {
    member(object, path)?
        .as_str()
        .ok_or_else(|| not_a_credential(path, "must be a string"))
}

/// The member at `path` must be an array of strings holding every one of `wanted`.
fn require_types(
    object: &Map<String, Value>,
    path: &str,
    wanted: &[&str],
) -> Result<(), CertificateError> {
    let types = member(object, path)?
        .as_array()
        .ok_or_else(|| not_a_credential(path, "must be an array of type names"))?;
    for name in wanted {
        if !types.iter().any(|t| t.as_str() == Some(name)) {
            return Err(not_a_credential(
                path,
                format!("must include '{name}' (expected {wanted:?})"),
            ));
        }
    }
    Ok(())
}

fn check_context(credential: &Map<String, Value>) -> Result<(), CertificateError> {
    let contexts = member(credential, "@context")?
        .as_array()
        .ok_or_else(|| not_a_credential("@context", "must be an array"))?;
    if contexts.first().and_then(Value::as_str) != Some(VC_CONTEXT) {
        return Err(not_a_credential(
            "@context",
            format!("must start with '{VC_CONTEXT}' (a Verifiable Credential 2.0)"),
        ));
    }
    if !contexts
        .iter()
        .any(|c| c.as_str() == Some(OPEN_BADGES_CONTEXT))
    {
        return Err(not_a_credential(
            "@context",
            format!("must include '{OPEN_BADGES_CONTEXT}' (an Open Badges 3.0 credential)"),
        ));
    }
    Ok(())
}

struct Proof {
    verification_method: String,
    created: String,
    signature: [u8; SIGNATURE_LEN],
}

const PROOF_MEMBERS: [&str; 6] = [
    "type",
    "cryptosuite",
    "created",
    "verificationMethod",
    "proofPurpose",
    "proofValue",
];

/// Checks the proof's suite and shape. Every member is pinned to a constant or to a signed
/// member, so nothing unsigned can change what the certificate says.
fn read_proof(proof: Value) -> Result<Proof, CertificateError> {
    let proof = match proof {
        Value::Object(proof) => proof,
        Value::Array(_) => {
            return Err(not_a_credential(
                "proof",
                "is a list, but a Tidbit certificate carries exactly one proof object",
            ))
        }
        _ => return Err(not_a_credential("proof", "must be an object")),
    };
    let field = |name: &str| text(&proof, name).map_err(|e| rename_member(e, "proof."));
    let suite = (field("type")?, field("cryptosuite")?);
    if suite != (PROOF_TYPE, CRYPTOSUITE) {
        return Err(CertificateError::UnknownProofSuite {
            found: format!("{} / {}", suite.0, suite.1),
        });
    }
    if let Some(extra) = proof
        .keys()
        .find(|name| !PROOF_MEMBERS.contains(&name.as_str()))
    {
        return Err(not_a_credential(
            &format!("proof.{extra}"),
            "is not part of a Tidbit proof (proof members are not signed)",
        ));
    }
    let purpose = field("proofPurpose")?;
    if purpose != PROOF_PURPOSE {
        return Err(not_a_credential(
            "proof.proofPurpose",
            format!("is '{purpose}', but must be '{PROOF_PURPOSE}'"),
        ));
    }
    let signature = hex::decode(field("proofValue")?)
        .ok()
        .and_then(|bytes| <[u8; SIGNATURE_LEN]>::try_from(bytes).ok())
        .ok_or_else(|| {
            not_a_credential(
                "proof.proofValue",
                format!(
                    "must be a {SIGNATURE_LEN}-byte Ed25519 signature in hex ({} characters)",
                    SIGNATURE_LEN * 2
                ),
            )
        })?;
    Ok(Proof {
        verification_method: field("verificationMethod")?.to_string(),
        created: field("created")?.to_string(),
        signature,
    })
}

fn rename_member(error: CertificateError, prefix: &str) -> CertificateError {
    match error {
        CertificateError::NotACredential { member, problem } => CertificateError::NotACredential {
            member: format!("{prefix}{member}"),
            problem,
        },
        other => other,
    }
}

fn issuer_key_id(issuer_id: &str) -> Result<&str, CertificateError> {
    issuer_id
        .strip_prefix(ISSUER_ID_PREFIX)
        .filter(|id| {
            id.len() == KEY_ID_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .ok_or_else(|| {
            not_a_credential(
                "issuer.id",
                format!(
                    "is '{issuer_id}', but must be '{ISSUER_ID_PREFIX}' followed by the \
                     {KEY_ID_LEN}-character key id of the issuer's key"
                ),
            )
        })
}

/// `urn:tidbit:achievement:<course id>:<path id>:<course version>` → (course id, path id).
fn parse_achievement_id(id: &str) -> Result<(&str, &str), CertificateError> {
    let parts: Option<Vec<&str>> = id
        .strip_prefix(ACHIEVEMENT_ID_PREFIX)
        .map(|rest| rest.split(':').collect());
    match parts.as_deref() {
        Some([course, path, version])
            if is_valid_id(course)
                && is_valid_id(path)
                && semver::Version::parse(version).is_ok() =>
        {
            Ok((course, path))
        }
        _ => Err(not_a_credential(
            "credentialSubject.achievement.id",
            format!(
                "is '{id}', but must be '{ACHIEVEMENT_ID_PREFIX}<course id>:<path id>:<course \
                 version>'"
            ),
        )),
    }
}
