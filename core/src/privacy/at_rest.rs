//! Encryption at rest: the learner's answers and sync documents sealed with the app's key.
//!
//! The platform keeps a 32-byte key (Android Keystore, iOS Keychain) and hands it over when the
//! store opens; it is never written to disk or logged. Sealed with AES-256-GCM: every event's
//! body (the learner's responses and texts, grades, times), every Automerge snapshot and chunk
//! (the same events, for sync), the reasons, inputs and outputs of the decision audit trail, and
//! the recordings of spoken answers. Each sealed value is bound to its row (the event id, the
//! document name) as associated data, so values cannot be moved between rows unnoticed. What
//! indexes and queries need stays in plain form: event ids, times, kinds, course and step ids; so
//! do the installed course content (public in its signed pack) and the projections derived from
//! the events (card states, mastery numbers, streak days).
//!
//! The store reaches this module through two SQL functions registered on its connection,
//! `tidbit_seal(aad, value)` and `tidbit_open(aad, value)`, so every statement that writes or
//! reads a sealed column says so in its SQL. Without a key both pass values through unchanged
//! (stores made by the authoring CLI and tests). A key check sealed into the store tells a wrong
//! key from a right one before anything is read or written.

use std::sync::Arc;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

/// Bytes in a key.
pub const KEY_LEN: usize = 32;

/// The first byte of a sealed value: format version 1, and what the plain value was.
const SEALED_TEXT: u8 = 0x51;
const SEALED_BLOB: u8 = 0x52;

/// What [`AtRestKey::seal`] adds to a value: the marker, the nonce and GCM's tag.
pub const SEALED_OVERHEAD: usize = 1 + NONCE_LEN + 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtRestError {
    #[error("the at-rest key has {0} bytes; it must have 32: the app's key store returned a damaged key")]
    KeyLength(usize),
    #[error("this store was sealed with a different key: restore the app's key (or erase the store and sync it again)")]
    WrongKey,
    #[error("this store is sealed and no key was given: the app's key store must hand over the store's key")]
    KeyRequired,
    #[error("a sealed value in the store cannot be opened ({0}): the store is damaged; erase it and sync it again")]
    Unreadable(&'static str),
    #[error("the system's random number generator failed: try again")]
    Random,
    #[error("a value of {0} bytes is too large to seal")]
    TooLarge(usize),
}

/// The key the learner's data is sealed with. Its bytes are not kept anywhere else.
pub struct AtRestKey {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AtRestKey(..)")
    }
}

/// What a sealed value held before it was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    Text,
    Blob,
}

impl AtRestKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<AtRestKey, AtRestError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| AtRestError::KeyLength(bytes.len()))?;
        Ok(AtRestKey {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    /// `plain` sealed under a fresh random nonce, bound to `aad`.
    pub fn seal(&self, aad: &[u8], kind: Plain, plain: &[u8]) -> Result<Vec<u8>, AtRestError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| AtRestError::Random)?;
        let mut sealed = Vec::with_capacity(plain.len() + SEALED_OVERHEAD);
        sealed.push(match kind {
            Plain::Text => SEALED_TEXT,
            Plain::Blob => SEALED_BLOB,
        });
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed[1 + NONCE_LEN..],
            )
            .map_err(|_| AtRestError::TooLarge(plain.len()))?;
        sealed.extend_from_slice(tag.as_ref());
        Ok(sealed)
    }

    /// The plain value `sealed` holds, if it was sealed with this key and bound to `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<(Plain, Vec<u8>), AtRestError> {
        if sealed.len() < SEALED_OVERHEAD {
            return Err(AtRestError::Unreadable("too short"));
        }
        let kind = match sealed[0] {
            SEALED_TEXT => Plain::Text,
            SEALED_BLOB => Plain::Blob,
            _ => return Err(AtRestError::Unreadable("not a sealed value")),
        };
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut body = sealed[1 + NONCE_LEN..].to_vec();
        let plain_len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| AtRestError::Unreadable("it fails authentication"))?
            .len();
        body.truncate(plain_len);
        Ok((kind, body))
    }
}

/// The associated data of the key check.
const CHECK_AAD: &[u8] = b"tidbit at-rest key check";

/// A sealed value that only `key` opens, kept in the store to recognise its key.
pub(crate) fn key_check(key: &AtRestKey) -> Result<Vec<u8>, AtRestError> {
    key.seal(CHECK_AAD, Plain::Blob, CHECK_AAD)
}

/// Whether `check` (from [`key_check`]) was made with `key`.
pub(crate) fn verify_key(key: &AtRestKey, check: &[u8]) -> Result<(), AtRestError> {
    match key.open(CHECK_AAD, check) {
        Ok((_, plain)) if plain == CHECK_AAD => Ok(()),
        _ => Err(AtRestError::WrongKey),
    }
}

/// Registers `tidbit_seal(aad, value)` and `tidbit_open(aad, value)` on `conn`: sealing with
/// `key`, or passing values through when there is none. NULL stays NULL.
pub(crate) fn register_functions(
    conn: &Connection,
    key: Option<Arc<AtRestKey>>,
) -> rusqlite::Result<()> {
    let sealing = key.clone();
    conn.create_scalar_function(
        "tidbit_seal",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY,
        move |ctx| seal_value(ctx, sealing.as_deref()),
    )?;
    conn.create_scalar_function(
        "tidbit_open",
        2,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_DIRECTONLY,
        move |ctx| open_value(ctx, key.as_deref()),
    )
}

fn user_error(error: AtRestError) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(Box::new(error))
}

fn aad<'a>(ctx: &'a Context<'_>) -> rusqlite::Result<&'a [u8]> {
    match ctx.get_raw(0) {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Ok(bytes),
        _ => Err(user_error(AtRestError::Unreadable("its row has no name"))),
    }
}

fn owned(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn seal_value(ctx: &Context<'_>, key: Option<&AtRestKey>) -> rusqlite::Result<Value> {
    let value = ctx.get_raw(1);
    let Some(key) = key else {
        return Ok(owned(value));
    };
    let (kind, plain) = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Text(text) => (Plain::Text, text),
        ValueRef::Blob(blob) => (Plain::Blob, blob),
        ValueRef::Integer(_) | ValueRef::Real(_) => {
            return Err(user_error(AtRestError::Unreadable(
                "numbers are not sealed",
            )))
        }
    };
    key.seal(aad(ctx)?, kind, plain)
        .map(Value::Blob)
        .map_err(user_error)
}

fn open_value(ctx: &Context<'_>, key: Option<&AtRestKey>) -> rusqlite::Result<Value> {
    let value = ctx.get_raw(1);
    let Some(key) = key else {
        return Ok(owned(value));
    };
    let sealed = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Blob(sealed) => sealed,
        _ => {
            return Err(user_error(AtRestError::Unreadable(
                "a value is in plain form",
            )))
        }
    };
    match key.open(aad(ctx)?, sealed).map_err(user_error)? {
        (Plain::Blob, plain) => Ok(Value::Blob(plain)),
        (Plain::Text, plain) => String::from_utf8(plain)
            .map(Value::Text)
            .map_err(|_| user_error(AtRestError::Unreadable("its text is not UTF-8"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> AtRestKey {
        AtRestKey::from_bytes(&[byte; KEY_LEN]).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_row_only() {
        let sealed = key(1)
            .seal(b"event-1", Plain::Text, b"{\"grade\":3}")
            .unwrap();
        assert_eq!(sealed.len(), 11 + SEALED_OVERHEAD);
        assert!(!sealed.windows(5).any(|w| w == b"grade"));
        assert_eq!(
            key(1).open(b"event-1", &sealed).unwrap(),
            (Plain::Text, b"{\"grade\":3}".to_vec())
        );
        assert_eq!(
            key(2).open(b"event-1", &sealed),
            Err(AtRestError::Unreadable("it fails authentication"))
        );
        assert_eq!(
            key(1).open(b"event-2", &sealed),
            Err(AtRestError::Unreadable("it fails authentication"))
        );
    }

    #[test]
    fn sealing_twice_gives_different_bytes() {
        let k = key(1);
        let a = k.seal(b"row", Plain::Blob, b"same").unwrap();
        let b = k.seal(b"row", Plain::Blob, b"same").unwrap();
        assert_ne!(a, b);
        assert_eq!(k.open(b"row", &a).unwrap(), k.open(b"row", &b).unwrap());
    }

    #[test]
    fn a_changed_or_cut_value_is_unreadable() {
        let k = key(1);
        let mut sealed = k
            .seal(b"row", Plain::Blob, b"the learner's answer")
            .unwrap();
        sealed[20] ^= 1;
        assert!(matches!(
            k.open(b"row", &sealed),
            Err(AtRestError::Unreadable(_))
        ));
        assert!(matches!(
            k.open(b"row", &sealed[..10]),
            Err(AtRestError::Unreadable(_))
        ));
        assert!(matches!(
            k.open(b"row", b"{\"plain\": true, \"long enough\": 1}"),
            Err(AtRestError::Unreadable(_))
        ));
    }

    #[test]
    fn a_key_must_have_32_bytes() {
        assert_eq!(
            AtRestKey::from_bytes(&[0; 16]).unwrap_err(),
            AtRestError::KeyLength(16)
        );
    }

    #[test]
    fn the_key_check_tells_the_right_key_from_another() {
        let check = key_check(&key(7)).unwrap();
        assert_eq!(verify_key(&key(7), &check), Ok(()));
        assert_eq!(verify_key(&key(8), &check), Err(AtRestError::WrongKey));
    }

    #[test]
    fn the_sql_functions_seal_and_open_text_and_blobs() {
        let conn = Connection::open_in_memory().unwrap();
        register_functions(&conn, Some(Arc::new(key(3)))).unwrap();
        let (sealed, text, blob, null): (Vec<u8>, String, Vec<u8>, Option<String>) = conn
            .query_row(
                "SELECT tidbit_seal('a', 'hello'),
                        tidbit_open('a', tidbit_seal('a', 'hello')),
                        tidbit_open('b', tidbit_seal('b', x'0001')),
                        tidbit_open('c', tidbit_seal('c', NULL))",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(sealed.len(), 5 + SEALED_OVERHEAD);
        assert_eq!((text.as_str(), blob, null), ("hello", vec![0, 1], None));
        let error = conn
            .query_row("SELECT tidbit_open('a', 'plain text')", [], |r| {
                r.get::<_, String>(0)
            })
            .unwrap_err();
        assert!(error.to_string().contains("plain form"), "{error}");
    }

    #[test]
    fn without_a_key_the_sql_functions_pass_values_through() {
        let conn = Connection::open_in_memory().unwrap();
        register_functions(&conn, None).unwrap();
        let (text, blob): (String, Vec<u8>) = conn
            .query_row(
                "SELECT tidbit_open('a', tidbit_seal('a', 'hello')), tidbit_seal('b', x'0102')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((text.as_str(), blob), ("hello", vec![1, 2]));
    }
}
