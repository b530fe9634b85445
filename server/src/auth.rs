//! Bearer tokens: HMAC-SHA256 over (learner, device, expiry, issue time, role), issued and
//! checked by the server.
//!
//! A token is `v2.<hex payload>.<hex mac>`; the payload is `learner\ndevice\nexpiry\nissued\nrole`
//! with the expiry in Unix seconds, the issue time in Unix milliseconds (what revocation compares
//! against, see [`crate::identity`]) and the role empty for a device's token. The key is 32 random
//! bytes kept in the server's data directory and created on first use. A token names exactly one
//! learner: it can never open another's documents. Admin tokens carry the device `*admin*`, name
//! their holder in the learner field (the actor the audit log records) and a [`Role`]; they may
//! only call admin endpoints, and only those their role is allowed ([`crate::identity::roles`]).
//!
//! Tokens of the first format, `v1.` (`learner\ndevice\nexpiry`), are still accepted: their issue
//! time counts as 0, so any revocation of their learner or device refuses them, and a `v1` admin
//! token is an operator's.

use std::path::Path;

use ring::hmac;
use ring::rand::SecureRandom;

pub use crate::identity::roles::Role;

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
    #[error("this token was revoked: {0}; sign in again")]
    Revoked(String),
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub learner: String,
    pub device: String,
    pub expires_unix: i64,
    /// When the token was issued, in Unix milliseconds (0 for a `v1` token).
    pub issued_ms: i64,
    /// The role of an admin token; `None` for a device's token.
    pub role: Option<Role>,
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

    /// A device's token for `learner` on `device`, issued now (the system's clock); with the
    /// device [`ADMIN_DEVICE`], an operator's admin token held by `learner` (as before roles).
    pub fn issue(&self, learner: &str, device: &str, expires_unix: i64) -> String {
        self.issue_claims(&Claims {
            learner: learner.into(),
            device: device.into(),
            expires_unix,
            issued_ms: chrono::Utc::now().timestamp_millis(),
            role: (device == ADMIN_DEVICE).then_some(Role::Operator),
        })
    }

    /// An admin token for `actor` (the name the audit log records) with `role`, issued now.
    pub fn issue_admin(&self, actor: &str, role: Role, expires_unix: i64) -> String {
        self.issue_claims(&Claims {
            learner: actor.into(),
            device: ADMIN_DEVICE.into(),
            expires_unix,
            issued_ms: chrono::Utc::now().timestamp_millis(),
            role: Some(role),
        })
    }

    /// A token carrying exactly `claims`.
    pub fn issue_claims(&self, claims: &Claims) -> String {
        let role = claims.role.map_or("", Role::as_str);
        let payload = format!(
            "{}\n{}\n{}\n{}\n{role}",
            claims.learner, claims.device, claims.expires_unix, claims.issued_ms
        );
        let tag = hmac::sign(&self.key, payload.as_bytes());
        format!("v2.{}.{}", hex::encode(payload), hex::encode(tag.as_ref()))
    }

    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(version @ ("v1" | "v2")), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let payload = hex::decode(payload).map_err(|_| TokenError::Malformed)?;
        let tag = hex::decode(tag).map_err(|_| TokenError::Malformed)?;
        hmac::verify(&self.key, &payload, &tag).map_err(|_| TokenError::BadSignature)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
        let fields: Vec<&str> = payload.split('\n').collect();
        let claims = match (version, fields.as_slice()) {
            ("v1", [learner, device, expiry]) => Claims {
                learner: (*learner).into(),
                device: (*device).into(),
                expires_unix: expiry.parse().map_err(|_| TokenError::Malformed)?,
                issued_ms: 0,
                role: (*device == ADMIN_DEVICE).then_some(Role::Operator),
            },
            ("v2", [learner, device, expiry, issued, role]) => Claims {
                learner: (*learner).into(),
                device: (*device).into(),
                expires_unix: expiry.parse().map_err(|_| TokenError::Malformed)?,
                issued_ms: issued.parse().map_err(|_| TokenError::Malformed)?,
                role: match *role {
                    "" => None,
                    role => Some(role.parse().map_err(|_| TokenError::Malformed)?),
                },
            },
            _ => return Err(TokenError::Malformed),
        };
        // An admin token has a role, a device's token none.
        if (claims.device == ADMIN_DEVICE) != claims.role.is_some() {
            return Err(TokenError::Malformed);
        }
        if claims.expires_unix <= now_unix {
            return Err(TokenError::Expired);
        }
        Ok(claims)
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
    fn a_token_carries_its_issue_time_and_an_admin_token_its_role() {
        let dir = tempfile::tempdir().unwrap();
        let key = TokenKey::load_or_create(dir.path()).unwrap();
        let before = chrono::Utc::now().timestamp_millis();
        let claims = key
            .verify(&key.issue("ana", "phone", 2_000), 1_000)
            .unwrap();
        assert!(claims.issued_ms >= before, "{}", claims.issued_ms);
        assert_eq!(claims.role, None);
        let admin = key.issue_admin("lea@example.org", Role::Analyst, 2_000);
        let claims = key.verify(&admin, 1_000).unwrap();
        assert_eq!(
            (claims.learner.as_str(), claims.device.as_str(), claims.role),
            ("lea@example.org", ADMIN_DEVICE, Some(Role::Analyst))
        );
        // A device's token claiming a role is refused, even signed.
        let forged = key.issue_claims(&Claims {
            role: Some(Role::Operator),
            ..key
                .verify(&key.issue("ana", "phone", 2_000), 1_000)
                .unwrap()
        });
        assert_eq!(key.verify(&forged, 1_000), Err(TokenError::Malformed));
    }

    #[test]
    fn a_first_format_token_still_verifies_with_no_issue_time_and_an_admin_one_as_operator() {
        let dir = tempfile::tempdir().unwrap();
        let key = TokenKey::load_or_create(dir.path()).unwrap();
        let v1 = |payload: &str| {
            let tag = hmac::sign(&key.key, payload.as_bytes());
            format!("v1.{}.{}", hex::encode(payload), hex::encode(tag.as_ref()))
        };
        let device = key.verify(&v1("ana\nphone\n2000"), 1_000).unwrap();
        assert_eq!((device.issued_ms, device.role), (0, None));
        let admin = key.verify(&v1("*\n*admin*\n2000"), 1_000).unwrap();
        assert_eq!(admin.role, Some(Role::Operator));
    }

    #[test]
    fn a_token_valid_for_longer_than_the_servers_limit_is_refused() {
        let day = 86_400;
        let claims = |expires_unix| Claims {
            learner: "ana".into(),
            device: "phone".into(),
            expires_unix,
            issued_ms: 0,
            role: None,
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
