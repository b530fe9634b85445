//! Compact JSON Web Tokens, signed with ring: RS256 for the OAuth 2.0 JWT-bearer grant of an
//! FCM service account, ES256 for APNs provider tokens. Only what the two vendors need: a
//! header, claims, a signature; nothing here parses or verifies a token.
//!
//! Also the one PEM reader the credential files need: a single `PRIVATE KEY` (PKCS#8) block.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::Value;

/// Base64url without padding, as JWTs encode their parts.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims` of a JWT, each part JSON in base64url.
fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    )
}

/// A JWT signed with RSASSA-PKCS1-v1_5 and SHA-256 (`alg: RS256`).
pub fn sign_rs256(key: &RsaKeyPair, header: &Value, claims: &Value) -> Result<String, String> {
    let input = signing_input(header, claims);
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "the RSA key could not sign".to_string())?;
    Ok(format!("{input}.{}", base64url(&signature)))
}

/// A JWT signed with ECDSA on P-256 and SHA-256 (`alg: ES256`), the signature as the 64 bytes
/// `r || s` that JWS requires (not DER).
pub fn sign_es256(key: &EcdsaKeyPair, header: &Value, claims: &Value) -> Result<String, String> {
    let input = signing_input(header, claims);
    let signature = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| "the EC key could not sign".to_string())?;
    Ok(format!("{input}.{}", base64url(signature.as_ref())))
}

/// The DER bytes of the one `-----BEGIN PRIVATE KEY-----` (PKCS#8) block in `pem`.
pub fn pkcs8_from_pem(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem.find(BEGIN).ok_or_else(|| {
        if pem.contains("-----BEGIN RSA PRIVATE KEY-----")
            || pem.contains("-----BEGIN EC PRIVATE KEY-----")
        {
            "the key is in a legacy PEM format, not PKCS#8 ('BEGIN PRIVATE KEY'); convert it with `openssl pkcs8 -topk8 -nocrypt`".to_string()
        } else {
            "no '-----BEGIN PRIVATE KEY-----' block".to_string()
        }
    })?;
    let body = &pem[start + BEGIN.len()..];
    let end = body
        .find(END)
        .ok_or("the PRIVATE KEY block has no END line")?;
    let base64: String = body[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(base64)
        .map_err(|e| format!("the PRIVATE KEY block is not base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair as _;
    use ring::signature::{
        UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
    };

    #[test]
    fn an_es256_token_verifies_with_the_public_key_and_carries_its_parts() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let token = sign_es256(
            &key,
            &serde_json::json!({"alg": "ES256", "kid": "K"}),
            &serde_json::json!({"iss": "T", "iat": 1}),
        )
        .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        assert_eq!(claims, br#"{"iat":1,"iss":"T"}"#);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(signature.len(), 64);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref())
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn a_pem_block_decodes_and_other_text_is_refused_with_a_reason() {
        let pem = "junk\n-----BEGIN PRIVATE KEY-----\nAAEC\nAw==\n-----END PRIVATE KEY-----\n";
        assert_eq!(pkcs8_from_pem(pem).unwrap(), vec![0, 1, 2, 3]);
        assert!(pkcs8_from_pem("-----BEGIN RSA PRIVATE KEY-----")
            .unwrap_err()
            .contains("legacy"));
        assert!(pkcs8_from_pem("hello")
            .unwrap_err()
            .contains("no '-----BEGIN"));
        assert!(
            pkcs8_from_pem("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----")
                .unwrap_err()
                .contains("not base64")
        );
    }
}
