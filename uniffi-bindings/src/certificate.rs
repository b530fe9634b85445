//! Offline certificate verification for apps and L&D tooling: the core checks, this converts.

use tidbit_core::keys::{PublicKey, TrustedKeys};

use crate::error::TidbitError;
use crate::records::VerifiedCertificate;

/// Checks a certificate (the JSON `Tidbit.issueCertificate` returned) against the issuers'
/// public key files (`NAME.pub` text) and says what it certifies.
#[uniffi::export]
pub fn verify_certificate(
    json: String,
    trusted_keys: Vec<String>,
) -> Result<VerifiedCertificate, TidbitError> {
    let trusted = parse_trusted_keys(&trusted_keys)?;
    Ok(tidbit_core::certificate::verify_certificate(
        json.as_bytes(),
        &trusted,
    )?)
}

/// Parses public key files; the error names which one is wrong.
pub(crate) fn parse_trusted_keys(files: &[String]) -> Result<TrustedKeys, TidbitError> {
    files
        .iter()
        .enumerate()
        .map(|(index, text)| {
            PublicKey::from_file_text(text).map_err(|e| {
                TidbitError::InvalidSettings(format!("trusted key {}: {e}", index + 1))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedKeys::from_keys)
}
