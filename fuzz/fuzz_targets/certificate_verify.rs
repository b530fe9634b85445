//! Certificate verification (`tidbit cert verify`) on arbitrary bytes with the fuzzing key
//! trusted: as they are, then re-signed by the documented procedure so the checks behind the
//! signature are reached. It must never panic, and a document re-signed by that procedure must
//! never be refused for its signature or id (unless it holds a non-integer number, which JSON
//! does not promise to read back exactly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidbit_core::certificate::{verify_certificate, CertificateError};
use tidbit_fuzz::resign::{holds_fraction, resign_certificate};
use tidbit_fuzz::{signing_key, trusted_keys};

fuzz_target!(|data: &[u8]| {
    let _ = verify_certificate(data, trusted_keys());
    let Some(resigned) = resign_certificate(data) else {
        return;
    };
    let result = verify_certificate(&resigned, trusted_keys());
    let exact = serde_json::from_slice(&resigned).is_ok_and(|v| !holds_fraction(&v));
    if exact {
        assert!(
            !matches!(
                result,
                Err(CertificateError::SignatureInvalid | CertificateError::IdMismatch { .. })
            ),
            "a correctly re-signed certificate is refused: {result:?}\n{}",
            String::from_utf8_lossy(&resigned)
        );
    }
    if let Ok(verified) = result {
        assert_eq!(verified.issuer_key_id, signing_key().key_id());
    }
});
