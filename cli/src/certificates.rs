//! Certificate commands: `cert verify` checks a learner's certificate offline against the
//! issuers' public keys. Issuing happens on the learner's device, from their progress.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use tidbit_core::certificate::{
    verify_certificate, CertificateError, VerifiedCertificate, MAX_CERTIFICATE_BYTES,
};

use crate::authoring::trusted_keys;

/// `tidbit cert verify FILE --trust NAME.pub [--json]`.
pub fn verify(file: &Path, trust: &[PathBuf], as_json: bool) -> Result<(), String> {
    let trusted = trusted_keys(trust)?;
    let bytes = read_limited(file)?;
    let verified =
        verify_certificate(&bytes, &trusted).map_err(|e| format!("{}: {e}", file.display()))?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verified).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", summary(&verified));
    }
    Ok(())
}

fn summary(verified: &VerifiedCertificate) -> String {
    format!(
        "ok: certificate {} for learner {}, issued {} by {} (key {})",
        printable(&verified.achievement_name),
        printable(&verified.learner_id),
        printable(&verified.valid_from),
        printable(&verified.issuer_name),
        verified.issuer_key_id
    )
}

/// Text from a certificate, with control characters (terminal escapes) made harmless.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Reads the file, refusing anything larger than a certificate can be.
fn read_limited(file: &Path) -> Result<Vec<u8>, String> {
    let cannot_read =
        |e: std::io::Error| format!("cannot read certificate {}: {e}", file.display());
    let handle = File::open(file).map_err(cannot_read)?;
    let size = handle.metadata().map_err(cannot_read)?.len();
    let too_large = |size: u64| {
        let error = CertificateError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            max: MAX_CERTIFICATE_BYTES,
        };
        format!("{}: {error}", file.display())
    };
    if size > MAX_CERTIFICATE_BYTES as u64 {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    handle
        .take(MAX_CERTIFICATE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() > MAX_CERTIFICATE_BYTES {
        // The file grew while it was read.
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_achievement_learner_date_issuer_and_key() {
        let verified = VerifiedCertificate {
            issuer_key_id: "0123456789abcdef".into(),
            issuer_name: "Northwind Sales Enablement".into(),
            learner_id: "learner-0042".into(),
            achievement_name: "Account executive — Handling customer objections".into(),
            course_id: "customer-objections".into(),
            path_id: "account-executive".into(),
            valid_from: "2026-03-14T08:30:27Z".into(),
        };
        assert_eq!(
            summary(&verified),
            "ok: certificate Account executive — Handling customer objections for learner \
             learner-0042, issued 2026-03-14T08:30:27Z by Northwind Sales Enablement \
             (key 0123456789abcdef)"
        );
    }

    #[test]
    fn control_characters_from_a_certificate_never_reach_the_terminal() {
        assert_eq!(
            printable("Evil\u{1b}[2J\nCorp"),
            "Evil\u{fffd}[2J\u{fffd}Corp"
        );
    }
}
