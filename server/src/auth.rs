//! Bearer tokens: HMAC-SHA256 over (learner, device, expiry), issued and checked by the server.
//!
//! A token is `v1.<hex payload>.<hex mac>`; the payload is `learner\ndevice\nexpiry` with the
//! expiry in Unix seconds. The key is 32 random bytes kept in the server's data directory and
//! created on first use. A token names exactly one learner: it can never open another's
//! documents. Admin tokens carry the device `*admin*` and may only call admin endpoints.

use std::path::Path;

use ring::hmac;
use ring::rand::SecureRandom;

const KEY_FILE: &str = "token.key";
/// The device name an admin token carries.
pub const ADMIN_DEVICE: &str = "*admin*";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("no bearer token: send Authorization: Bearer <token>")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token expired; issue a new one")]
    Expired,
    #[error("the token stays valid for {days} more days, longer than this server allows ({max_days}): issue one that expires sooner")]
    TooLongLived { days: i64, max_days: i64 },
    #[error("the token key could not be read or created: {0}")]
    Key(String),
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub learner: String,
    pub device: String,
    pub expires_unix: i64,
}

/// The server's token key.
#[derive(Clone)]
pub struct TokenKey {
    key: hmac::Key,
}

impl TokenKey {
    /// Reads the key from `data_dir`, creating it (readable by its owner only) if absent.
    /// The key in `data_dir/token.key`, made (atomically, `0600`) when the directory holds
    /// neither a key nor a store. A store without its key is refused rather than given a new
    /// key, which would silently invalidate every token the learners' devices hold.
    pub fn load_or_create(data_dir: &Path) -> Result<TokenKey, TokenError> {
        let path = data_dir.join(KEY_FILE);
        let key_error = |e: std::io::Error| TokenError::Key(format!("{}: {e}", path.display()));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(bytes) => {
                return Err(TokenError::Key(format!(
                    "{} holds {} bytes, not 32: restore it from a backup (a new key would invalidate every token)",
                    path.display(),
                    bytes.len()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if data_dir.join(crate::DATABASE_FILE).exists() {
                    return Err(TokenError::Key(format!(
                        "{} is missing but {} holds a store: restore the key from a backup (a new key would invalidate every token)",
                        path.display(),
                        data_dir.display()
                    )));
                }
                crate::files::private_dir(data_dir).map_err(key_error)?;
                let mut fresh = [0u8; 32];
                ring::rand::SystemRandom::new()
                    .fill(&mut fresh)
                    .map_err(|_| TokenError::Key("no randomness".into()))?;
                crate::files::write_atomically(&path, &fresh).map_err(key_error)?;
                fresh.to_vec()
            }
            Err(e) => return Err(key_error(e)),
        };
        Ok(TokenKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        })
    }

    pub fn issue(&self, learner: &str, device: &str, expires_unix: i64) -> String {
        let payload = format!("{learner}\n{device}\n{expires_unix}");
        let tag = hmac::sign(&self.key, payload.as_bytes());
        format!("v1.{}.{}", hex::encode(payload), hex::encode(tag.as_ref()))
    }

    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some("v1"), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let payload = hex::decode(payload).map_err(|_| TokenError::Malformed)?;
        let tag = hex::decode(tag).map_err(|_| TokenError::Malformed)?;
        hmac::verify(&self.key, &payload, &tag).map_err(|_| TokenError::BadSignature)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
        let mut fields = payload.split('\n');
        let (Some(learner), Some(device), Some(expiry), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(TokenError::Malformed);
        };
        let expires_unix: i64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        if expires_unix <= now_unix {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            learner: learner.into(),
            device: device.into(),
            expires_unix,
        })
    }
}

/// Refuses `claims` if its token stays valid for longer than `max` after `now_unix`: the
/// server's retention limit on tokens (see `server/DATA_RIGHTS.md`).
pub fn check_lifetime(
    claims: &Claims,
    now_unix: i64,
    max: std::time::Duration,
) -> Result<(), TokenError> {
    let max_secs = i64::try_from(max.as_secs()).unwrap_or(i64::MAX);
    let left = claims.expires_unix.saturating_sub(now_unix);
    if left > max_secs {
        return Err(TokenError::TooLongLived {
            days: left / 86_400,
            max_days: max_secs / 86_400,
        });
    }
    Ok(())
}

pub fn valid_id(id: &str) -> bool {
    tidbit_core::sync::peer::valid_device_id(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires_and_not_after_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let key = TokenKey::load_or_create(dir.path()).unwrap();
        let token = key.issue("ana", "phone", 2_000);
        let claims = key.verify(&token, 1_000).unwrap();
        assert_eq!(
            (claims.learner.as_str(), claims.device.as_str()),
            ("ana", "phone")
        );
        assert_eq!(key.verify(&token, 2_000), Err(TokenError::Expired));
        let forged = token.replace(&hex::encode("ana"), &hex::encode("bob"));
        assert_eq!(key.verify(&forged, 1_000), Err(TokenError::BadSignature));
        assert_eq!(key.verify("v1.zz.zz", 1_000), Err(TokenError::Malformed));
        // The key persists: a restarted server accepts the same token.
        let again = TokenKey::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&token, 1_000).is_ok());
    }

    #[test]
    fn a_token_valid_for_longer_than_the_servers_limit_is_refused() {
        let day = 86_400;
        let claims = |expires_unix| Claims {
            learner: "ana".into(),
            device: "phone".into(),
            expires_unix,
        };
        let max = std::time::Duration::from_secs(90 * day as u64);
        assert_eq!(
            check_lifetime(&claims(1_000 + 90 * day), 1_000, max),
            Ok(())
        );
        assert_eq!(
            check_lifetime(&claims(1_000 + 91 * day), 1_000, max),
            Err(TokenError::TooLongLived {
                days: 91,
                max_days: 90
            })
        );
    }

    #[test]
    fn a_store_whose_key_is_missing_or_torn_is_refused_instead_of_given_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        TokenKey::load_or_create(dir.path()).unwrap();
        std::fs::write(dir.path().join(crate::DATABASE_FILE), b"").unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"").unwrap();
        assert!(matches!(
            TokenKey::load_or_create(dir.path()),
            Err(TokenError::Key(message)) if message.contains("0 bytes")
        ));
        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        assert!(matches!(
            TokenKey::load_or_create(dir.path()),
            Err(TokenError::Key(message)) if message.contains("is missing")
        ));
        assert!(!dir.path().join(KEY_FILE).exists(), "a new key was made");
    }
}
