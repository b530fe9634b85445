//! What Tidbit's fuzz targets and their seed generator share: a fixed signing key (public, for
//! fuzzing only: never trust it anywhere else), a small sample course, re-signing of mutated
//! packs and certificates so the fuzzer reaches the checks behind a signature, real sync
//! messages, and the mapping from fuzz bytes to an HTTP request. Nothing here ships.

pub mod course_source;
pub mod http_request;
pub mod known_issues;
pub mod resign;
pub mod sync_messages;

use std::io::Write;
use std::sync::OnceLock;

use tidbit_core::keys::{SigningKey, TrustedKeys};

/// Derived from a published phrase; its private half is in this file on purpose.
const FUZZ_KEY_TEXT: &str = "tidbit-ed25519-private-v1 \
    3053020101300506032b657004220420c5b2a895ae3eb229e9f6838c48b82939f1af927a027224723eb8617768e3\
    2309a1230321006e3544bda09a9333c0da86fe5b4ceb24ea89ba96cdf3243ce31a49c53f8c085c\n";

/// The fuzzing key: it signs the seed pack and certificate and every re-signed input.
pub fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SigningKey::from_file_text(FUZZ_KEY_TEXT).expect("the fixed fuzzing key is valid")
    })
}

/// The fuzzing key as the only trusted key.
pub fn trusted_keys() -> &'static TrustedKeys {
    static TRUSTED: OnceLock<TrustedKeys> = OnceLock::new();
    TRUSTED.get_or_init(|| TrustedKeys::from_keys([signing_key().public_key()]))
}

/// `bytes` deflated (raw deflate, as sync bodies are).
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}
