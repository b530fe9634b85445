//! Re-signing mutated inputs with the fuzzing key, so the fuzzer gets past the signature check
//! and reaches what the signature protects: the asset list and stream of a pack, the structure
//! checks of a certificate. Each follows the format's written procedure independently of the
//! code under test, so a refusal of a correctly re-signed input is itself a finding.

use ring::digest;
use serde_json::Value;
use tidbit_core::certificate::CERTIFICATE_SIGNATURE_DOMAIN;
use tidbit_core::pack::{MAGIC, MANIFEST_SIGNATURE_DOMAIN};

const PACK_HEADER_LEN: usize = 8 + 2 + 4;
const SIGNATURE_LEN: usize = 64;

/// `bytes` as a pack whose manifest is in canonical form, names the fuzzing key as its signer
/// and carries that key's signature; `None` if it does not start like a pack.
pub fn resign_pack(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < PACK_HEADER_LEN || &bytes[..8] != MAGIC {
        return None;
    }
    let declared = u32::from_le_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]) as usize;
    let manifest_end = PACK_HEADER_LEN.checked_add(declared)?;
    let manifest = bytes.get(PACK_HEADER_LEN..manifest_end)?;
    let payload = bytes
        .get(manifest_end.saturating_add(SIGNATURE_LEN)..)
        .unwrap_or_default();
    let manifest = match serde_json::from_slice::<Value>(manifest) {
        Ok(Value::Object(mut fields)) => {
            let key_id = crate::signing_key().key_id();
            fields.insert("signer_key_id".into(), Value::String(key_id));
            canonical(&Value::Object(fields), MemberOrder::Bytes).into_bytes()
        }
        _ => manifest.to_vec(),
    };
    let signature = crate::signing_key().sign(MANIFEST_SIGNATURE_DOMAIN, &manifest);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    out.extend_from_slice(&bytes[..10]);
    out.extend_from_slice(&u32::try_from(manifest.len()).ok()?.to_le_bytes());
    out.extend_from_slice(&manifest);
    out.extend_from_slice(&signature);
    out.extend_from_slice(payload);
    Some(out)
}

/// `json` as a certificate signed by the fuzzing key following the procedure documented in
/// `tidbit_core::certificate`: `id` derived from the content, `proof.proofValue` the signature
/// over the canonical form of everything but `proof`. `None` if it is not a JSON object.
pub fn resign_certificate(json: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(mut credential)) = serde_json::from_slice::<Value>(json) else {
        return None;
    };
    let proof = credential.remove("proof");
    credential.remove("id");
    let content_hash = digest::digest(
        &digest::SHA256,
        canonical(&Value::Object(credential.clone()), MemberOrder::Utf16).as_bytes(),
    );
    let mut id = hex::encode(content_hash.as_ref());
    id.truncate(32);
    credential.insert(
        "id".into(),
        Value::String(format!("urn:tidbit:credential:{id}")),
    );
    let signed = canonical(&Value::Object(credential.clone()), MemberOrder::Utf16);
    let signature = crate::signing_key().sign(CERTIFICATE_SIGNATURE_DOMAIN, signed.as_bytes());
    match proof {
        Some(Value::Object(mut proof)) => {
            proof.insert("proofValue".into(), Value::String(hex::encode(signature)));
            credential.insert("proof".into(), Value::Object(proof));
        }
        Some(other) => {
            credential.insert("proof".into(), other);
        }
        None => {}
    }
    serde_json::to_vec(&credential).ok()
}

/// How object members are sorted in a canonical form.
#[derive(Clone, Copy)]
pub enum MemberOrder {
    /// By the UTF-8 bytes of their names (packs).
    Bytes,
    /// By the UTF-16 code units of their names (certificates, as RFC 8785 does).
    Utf16,
}

/// The canonical form both formats document: members sorted, no whitespace, scalars as JSON
/// writes them.
pub fn canonical(value: &Value, order: MemberOrder) -> String {
    match value {
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            match order {
                MemberOrder::Bytes => sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes())),
                MemberOrder::Utf16 => {
                    sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()))
                }
            }
            let inner: Vec<String> = sorted
                .into_iter()
                .map(|(name, member)| {
                    format!(
                        "{}:{}",
                        Value::String(name.clone()),
                        canonical(member, order)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|item| canonical(item, order)).collect();
            format!("[{}]", inner.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// True if `value` holds a non-integer number anywhere: JSON parsing does not promise to read
/// such a number back exactly, so a re-signed document holding one may fairly fail to verify.
pub fn holds_fraction(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(holds_fraction),
        Value::Object(members) => members.values().any(holds_fraction),
        _ => false,
    }
}
