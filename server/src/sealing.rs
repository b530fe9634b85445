//! Learners' data at rest on the server: sealed under a key per learner, which a server key wraps.
//!
//! Every learner gets a random 32-byte data key on their first write. Their documents
//! (Automerge snapshots and chunks, which hold every event: answers, reflection texts,
//! intervention reasons) and their devices' sync states are sealed with it (AES-256-GCM, a fresh
//! random nonce per value), each bound to its place (learner, document, position) as associated
//! data, so a value moved to another row, learner or position no longer opens. The data key is
//! kept in the database only wrapped (sealed) by the server key, which lives outside the
//! database: `server.key` (32 bytes, `0600`) in the data directory, or the environment variable
//! `TIDBIT_SERVER_KEY` (64 hex digits), which takes precedence and is never written anywhere.
//!
//! Erasing a learner deletes their wrapped key with their rows (crypto-shredding): whatever
//! copy of their sealed bytes survives somewhere (a page SQLite has not reused yet, a file-system
//! block) can no longer be opened by anyone. What stays in plain form is what indexes need: the
//! learner id, document names, heads (hashes) and event ids.
//!
//! The server key also derives, through HKDF, two keys that never seal anything: the key of
//! erasure tombstones (an HMAC of an erased learner id, so tokens of that learner are refused
//! without the id being kept) and the key of the pseudonyms that access logs print instead of
//! learner ids. Never mint a new server key over a store sealed with another one: every learner's
//! data would be lost; [`ServerKey::load_or_create`] refuses.

use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The server key's file in the data directory.
pub const SERVER_KEY_FILE: &str = "server.key";
/// The environment variable that holds the server key (hex) instead of the file.
pub const SERVER_KEY_ENV: &str = "TIDBIT_SERVER_KEY";
/// Bytes in a key.
pub const KEY_LEN: usize = 32;

/// The first byte of a sealed value: format version 1.
const SEALED_V1: u8 = 0x53;
/// What sealing adds to a value: the marker, the nonce and GCM's tag.
pub const SEALED_OVERHEAD: usize = 1 + NONCE_LEN + 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the server key could not be read or created: {0}")]
    Key(String),
    #[error("this store was sealed with another server key: restore the right key (server.key or TIDBIT_SERVER_KEY) from a backup")]
    WrongKey,
    #[error("a sealed value in the server's store cannot be opened ({0}): the store is damaged; restore it from a backup")]
    Unreadable(&'static str),
    #[error("learner data is stored without its learner key: the store is damaged; restore it from a backup")]
    MissingLearnerKey,
    #[error("the system's random number generator failed")]
    Random,
}

/// Where a sealed value belongs: its associated data.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    Snapshot {
        learner: &'a str,
        doc: &'a str,
    },
    /// The `index`-th chunk appended after the snapshot sealed with `snapshot_nonce`.
    Chunk {
        learner: &'a str,
        doc: &'a str,
        index: u64,
        snapshot_nonce: &'a [u8],
    },
    SyncState {
        learner: &'a str,
        device: &'a str,
        doc: &'a str,
    },
    /// A learning record waiting in the LRS outbox.
    Statement {
        learner: &'a str,
        id: &'a str,
    },
}

impl Place<'_> {
    fn aad(&self) -> Vec<u8> {
        // Ids never hold a NUL (see `peer::valid_device_id`, `documents::check_name`).
        let mut aad = b"tidbit-server v1\0".to_vec();
        let mut field = |bytes: &[u8]| {
            aad.extend_from_slice(bytes);
            aad.push(0);
        };
        match self {
            Place::Snapshot { learner, doc } => {
                field(b"snapshot");
                field(learner.as_bytes());
                field(doc.as_bytes());
            }
            Place::Chunk {
                learner,
                doc,
                index,
                snapshot_nonce,
            } => {
                field(b"chunk");
                field(learner.as_bytes());
                field(doc.as_bytes());
                field(&index.to_be_bytes());
                field(snapshot_nonce);
            }
            Place::SyncState {
                learner,
                device,
                doc,
            } => {
                field(b"sync-state");
                field(learner.as_bytes());
                field(device.as_bytes());
                field(doc.as_bytes());
            }
            Place::Statement { learner, id } => {
                field(b"statement");
                field(learner.as_bytes());
                field(id.as_bytes());
            }
        }
        aad
    }
}

/// The nonce a sealed value was made with (chunks are bound to their snapshot's).
pub fn nonce_of(sealed: &[u8]) -> &[u8] {
    sealed.get(1..1 + NONCE_LEN).unwrap_or(&[])
}

/// An AES-256-GCM key with the system's randomness for nonces.
struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl Sealer {
    fn new(bytes: &[u8]) -> Result<Sealer, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| SealError::Key(format!("a key has {} bytes, not 32", bytes.len())))?;
        Ok(Sealer {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut sealed = Vec::with_capacity(plain.len() + SEALED_OVERHEAD);
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed[1 + NONCE_LEN..],
            )
            .map_err(|_| SealError::Unreadable("too large to seal"))?;
        sealed.extend_from_slice(tag.as_ref());
        Ok(sealed)
    }

    fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < SEALED_OVERHEAD {
            return Err(SealError::Unreadable("too short"));
        }
        if sealed[0] != SEALED_V1 {
            return Err(SealError::Unreadable("not a sealed value"));
        }
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
            .map_err(|_| SealError::Unreadable("it fails authentication"))?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

/// One learner's data key, unwrapped for the duration of one read or write.
pub struct LearnerKey(Sealer);

impl LearnerKey {
    pub fn seal(&self, place: Place<'_>, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        self.0.seal(&place.aad(), plain)
    }

    pub fn open(&self, place: Place<'_>, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.0.open(&place.aad(), sealed)
    }
}

/// The server key and the keys derived from it. Its bytes are kept nowhere else in memory.
pub struct ServerKey {
    wrap: Sealer,
    tombstones: hmac::Key,
    pseudonyms: hmac::Key,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

/// HKDF output of one HMAC-SHA256 key's length.
struct HmacKeyLen;

impl hkdf::KeyType for HmacKeyLen {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

const CHECK: &[u8] = b"tidbit-server key check";

impl ServerKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<ServerKey, SealError> {
        if bytes.len() != KEY_LEN {
            return Err(SealError::Key(format!(
                "the server key has {} bytes, not {KEY_LEN}",
                bytes.len()
            )));
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tidbit-server v1").extract(bytes);
        let derive = |info: &'static [u8]| -> Result<[u8; KEY_LEN], SealError> {
            let mut out = [0u8; KEY_LEN];
            prk.expand(&[info], HmacKeyLen)
                .and_then(|okm| okm.fill(&mut out))
                .map_err(|_| SealError::Key("key derivation failed".into()))?;
            Ok(out)
        };
        Ok(ServerKey {
            wrap: Sealer::new(&derive(b"learner key wrapping")?)?,
            tombstones: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"erasure tombstones")?),
            pseudonyms: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"log pseudonyms")?),
        })
    }

    /// The server key: from `from_env` (the value of [`SERVER_KEY_ENV`], 64 hex digits) if
    /// given, else from `data_dir/server.key`, else a new random one written there (atomically,
    /// `0600`) when `store_is_sealed` is false. A sealed store whose key file is missing or torn
    /// is refused: a new key would make every learner's data unreadable.
    pub fn load_or_create(
        data_dir: &Path,
        from_env: Option<&str>,
        store_is_sealed: bool,
    ) -> Result<ServerKey, SealError> {
        if let Some(text) = from_env {
            let bytes = hex::decode(text.trim()).map_err(|_| {
                SealError::Key(format!("{SERVER_KEY_ENV} is not hex (64 hex digits)"))
            })?;
            return ServerKey::from_bytes(&bytes);
        }
        let path = data_dir.join(SERVER_KEY_FILE);
        let key_error = |e: std::io::Error| SealError::Key(format!("{}: {e}", path.display()));
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == KEY_LEN => ServerKey::from_bytes(&bytes),
            Ok(bytes) => Err(SealError::Key(format!(
                "{} holds {} bytes, not {KEY_LEN}: restore it from a backup (a new key would make every learner's data unreadable)",
                path.display(),
                bytes.len()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if store_is_sealed {
                    return Err(SealError::Key(format!(
                        "{} is missing but {} holds a sealed store: restore the key from a backup or set {SERVER_KEY_ENV} (a new key would make every learner's data unreadable)",
                        path.display(),
                        data_dir.display()
                    )));
                }
                crate::files::private_dir(data_dir).map_err(key_error)?;
                let mut fresh = [0u8; KEY_LEN];
                SystemRandom::new()
                    .fill(&mut fresh)
                    .map_err(|_| SealError::Random)?;
                crate::files::write_atomically(&path, &fresh).map_err(key_error)?;
                ServerKey::from_bytes(&fresh)
            }
            Err(e) => Err(key_error(e)),
        }
    }

    fn wrap_aad(learner: &str) -> Vec<u8> {
        let mut aad = b"tidbit-server v1\0learner key\0".to_vec();
        aad.extend_from_slice(learner.as_bytes());
        aad
    }

    /// A new random data key for `learner`, and its wrapped form to store.
    pub fn new_learner_key(&self, learner: &str) -> Result<(LearnerKey, Vec<u8>), SealError> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Random)?;
        let wrapped = self.wrap.seal(&Self::wrap_aad(learner), &bytes)?;
        Ok((LearnerKey(Sealer::new(&bytes)?), wrapped))
    }

    /// The data key `wrapped` holds, if it is `learner`'s and was wrapped with this key.
    pub fn unwrap_learner_key(
        &self,
        learner: &str,
        wrapped: &[u8],
    ) -> Result<LearnerKey, SealError> {
        let bytes = self.wrap.open(&Self::wrap_aad(learner), wrapped)?;
        Ok(LearnerKey(Sealer::new(&bytes)?))
    }

    /// The tombstone of an erased learner: an HMAC of the id, which names no one by itself.
    pub fn tombstone(&self, learner: &str) -> Vec<u8> {
        hmac::sign(&self.tombstones, learner.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// What logs print instead of a learner id: 12 hex digits of a keyed hash, the same for one
    /// learner on one server key, and unrelated to the learner's tombstone.
    pub fn pseudonym(&self, learner: &str) -> String {
        pseudonym(&self.pseudonyms, learner)
    }

    /// The key the pseudonyms are made with (for the access log, which outlives no one).
    pub fn pseudonym_key(&self) -> hmac::Key {
        self.pseudonyms.clone()
    }

    /// A sealed value only this key opens, kept in the store to recognise its key.
    pub fn key_check(&self) -> Result<Vec<u8>, SealError> {
        self.wrap.seal(CHECK, CHECK)
    }

    /// Whether `check` (from [`ServerKey::key_check`]) was made with this key.
    pub fn verify_check(&self, check: &[u8]) -> Result<(), SealError> {
        match self.wrap.open(CHECK, check) {
            Ok(plain) if plain == CHECK => Ok(()),
            _ => Err(SealError::WrongKey),
        }
    }
}

/// 12 hex digits of HMAC-SHA256(`key`, `learner`).
pub fn pseudonym(key: &hmac::Key, learner: &str) -> String {
    let tag = hmac::sign(key, learner.as_bytes());
    hex::encode(&tag.as_ref()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> ServerKey {
        ServerKey::from_bytes(&[byte; KEY_LEN]).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_place_with_its_learners_key() {
        let server = key(1);
        let (ana, wrapped) = server.new_learner_key("ana").unwrap();
        let place = Place::Snapshot {
            learner: "ana",
            doc: "events-2026-09",
        };
        let sealed = ana.seal(place, b"my reflection").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"reflection"));
        assert_eq!(ana.open(place, &sealed).unwrap(), b"my reflection");
        let elsewhere = Place::Snapshot {
            learner: "ana",
            doc: "events-2026-10",
        };
        assert_eq!(
            ana.open(elsewhere, &sealed).err(),
            Some(SealError::Unreadable("it fails authentication"))
        );
        let (bob, _) = server.new_learner_key("bob").unwrap();
        assert!(bob.open(place, &sealed).is_err());
        // The wrapped key is bound to its learner and opens with this server key only.
        assert!(server.unwrap_learner_key("bob", &wrapped).is_err());
        assert!(key(2).unwrap_learner_key("ana", &wrapped).is_err());
        let again = server.unwrap_learner_key("ana", &wrapped).unwrap();
        assert_eq!(again.open(place, &sealed).unwrap(), b"my reflection");
    }

    #[test]
    fn a_chunk_is_bound_to_its_index_and_its_snapshot() {
        let (ana, _) = key(1).new_learner_key("ana").unwrap();
        let chunk = |index, snapshot_nonce| Place::Chunk {
            learner: "ana",
            doc: "events-2026-09",
            index,
            snapshot_nonce,
        };
        let sealed = ana.seal(chunk(0, &[1; 12]), b"chunk").unwrap();
        assert!(ana.open(chunk(0, &[1; 12]), &sealed).is_ok());
        assert!(ana.open(chunk(1, &[1; 12]), &sealed).is_err());
        assert!(ana.open(chunk(0, &[2; 12]), &sealed).is_err());
    }

    #[test]
    fn tombstones_and_pseudonyms_are_keyed_distinct_and_stable() {
        let server = key(1);
        assert_eq!(server.tombstone("ana"), server.tombstone("ana"));
        assert_ne!(server.tombstone("ana"), server.tombstone("bob"));
        assert_ne!(server.tombstone("ana"), key(2).tombstone("ana"));
        let pseudonym = server.pseudonym("ana");
        assert_eq!(pseudonym.len(), 12);
        assert!(!hex::encode(server.tombstone("ana")).contains(&pseudonym));
        assert_ne!(pseudonym, key(2).pseudonym("ana"));
    }

    #[test]
    fn the_key_check_tells_the_right_server_key_from_another() {
        let check = key(3).key_check().unwrap();
        assert_eq!(key(3).verify_check(&check), Ok(()));
        assert_eq!(key(4).verify_check(&check), Err(SealError::WrongKey));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_key_file_is_private_and_a_sealed_store_without_it_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = ServerKey::load_or_create(dir.path(), None, false).unwrap();
        let path = dir.path().join(SERVER_KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let check = first.key_check().unwrap();
        let again = ServerKey::load_or_create(dir.path(), None, true).unwrap();
        assert_eq!(again.verify_check(&check), Ok(()));
        std::fs::remove_file(&path).unwrap();
        let refused = ServerKey::load_or_create(dir.path(), None, true).unwrap_err();
        assert!(refused.to_string().contains("is missing"), "{refused}");
        assert!(!path.exists(), "a new key was made over a sealed store");
        std::fs::write(&path, b"short").unwrap();
        let torn = ServerKey::load_or_create(dir.path(), None, false).unwrap_err();
        assert!(torn.to_string().contains("5 bytes"), "{torn}");
    }

    #[test]
    fn the_environment_key_is_used_and_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let hex_key = hex::encode([9u8; KEY_LEN]);
        let from_env = ServerKey::load_or_create(dir.path(), Some(&hex_key), true).unwrap();
        assert_eq!(from_env.tombstone("ana"), key(9).tombstone("ana"));
        assert!(!dir.path().join(SERVER_KEY_FILE).exists());
        assert!(ServerKey::load_or_create(dir.path(), Some("not hex"), false).is_err());
        assert!(ServerKey::load_or_create(dir.path(), Some("abcd"), false).is_err());
    }
}
