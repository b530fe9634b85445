//! What the server's push senders reported, as `PushOutcomeRecorded` events carry it, and the
//! shape a push token must have. Part of the event log's format: the server writes these events
//! (a device never may), the nudge planner and `Tidbit::push_token_needed` read them.
//!
//! A push token never appears in an outcome: only its SHA-256 ([`push_token_sha256`]), which the
//! device that registered the token recomputes to find the outcomes of its own token.

use serde::{Deserialize, Serialize};

/// The longest push token accepted (FCM's are about 160 characters, APNs' 64 hex digits).
pub const MAX_PUSH_TOKEN_BYTES: usize = 4096;

/// What the push vendor (FCM or APNs) answered when the server asked it to wake a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum PushOutcome {
    /// The vendor accepted the message for the device.
    Delivered,
    /// The vendor says the token is dead (the app was uninstalled or the token rotated): the
    /// server stops using it until the device registers a newer one.
    Unregistered,
    /// The vendor could not be reached or refused the message for another reason (after the
    /// retries the server allows itself).
    Failed,
}

impl PushOutcome {
    pub fn name(self) -> &'static str {
        match self {
            PushOutcome::Delivered => "delivered",
            PushOutcome::Unregistered => "unregistered",
            PushOutcome::Failed => "failed",
        }
    }
}

/// The SHA-256 of a push token, in lowercase hex: how outcomes name a token.
pub fn push_token_sha256(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

/// Checks that `token` has the shape `platform`'s tokens have; the error says what is wrong.
///
/// - `apns`: the device token as hex digits, 32 to 100 bytes (64 to 200 digits, an even count);
/// - `fcm`: 1 to [`MAX_PUSH_TOKEN_BYTES`] of letters, digits, `-`, `_`, `:` and `.`.
///
/// Either way the token can be put in a URL path or a JSON string as it is.
pub fn check_push_token(platform: &str, token: &str) -> Result<(), String> {
    match platform {
        "apns" => {
            let hex = token.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex || !token.len().is_multiple_of(2) || !(64..=200).contains(&token.len()) {
                return Err(format!(
                    "an APNs device token is 64 to 200 hex digits (an even count), not {} characters{}",
                    token.len(),
                    if hex { "" } else { " holding other characters" }
                ));
            }
            Ok(())
        }
        "fcm" => {
            let shaped = token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'));
            if token.is_empty() || token.len() > MAX_PUSH_TOKEN_BYTES || !shaped {
                return Err(format!(
                    "an FCM registration token is 1 to {MAX_PUSH_TOKEN_BYTES} letters, digits, '-', '_', ':' or '.'"
                ));
            }
            Ok(())
        }
        _ => Err("the platform is neither 'fcm' (Android) nor 'apns' (iOS)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hash_is_sha256_in_hex() {
        // SHA-256("abc"), the FIPS 180-2 example.
        assert_eq!(
            push_token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tokens_of_the_wrong_shape_are_refused_with_a_reason() {
        assert!(check_push_token("apns", &"ab".repeat(32)).is_ok());
        assert!(check_push_token("fcm", "dGVzdA:APA91b-x_y.z").is_ok());
        let short = check_push_token("apns", "abcd").unwrap_err();
        assert!(short.contains("64 to 200 hex digits"), "{short}");
        let path = check_push_token("apns", &format!("../{}", "a".repeat(62))).unwrap_err();
        assert!(path.contains("other characters"), "{path}");
        assert!(check_push_token("fcm", "a token").is_err());
        assert!(check_push_token("fcm", "").is_err());
        assert!(check_push_token("fcm", &"a".repeat(MAX_PUSH_TOKEN_BYTES + 1)).is_err());
        assert!(check_push_token("webpush", "abc")
            .unwrap_err()
            .contains("neither"));
    }
}
