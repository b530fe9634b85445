//! Ed25519 keys that sign course packs (and, later, certificates), their text file formats and
//! the set of keys a device trusts.
//!
//! A private key file is one line, `tidbit-ed25519-private-v1 <hex PKCS#8>`, written with mode
//! 0600; a public key file is one line, `tidbit-ed25519-public-v1 <hex 32 bytes> [name]`. A key is
//! named by its key id: the first 16 hex characters of the SHA-256 of the public key bytes.
//! Every signature is made over `domain || message`, so a signature made for one purpose (a pack
//! manifest) can never be replayed as another (a certificate).
//!
//! This module must never print, log or format a private key except through
//! [`SigningKey::to_file_text`], never overwrite an existing key file, and never accept a
//! signature without the domain it was made for.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

/// First word of a private key file.
pub const PRIVATE_KEY_TAG: &str = "tidbit-ed25519-private-v1";
/// First word of a public key file.
pub const PUBLIC_KEY_TAG: &str = "tidbit-ed25519-public-v1";
/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a key id, in hex characters.
pub const KEY_ID_LEN: usize = 16;

/// Why a key could not be read, created or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "not a Tidbit private key file: expected a line starting with '{PRIVATE_KEY_TAG}'; \
         create one with `tidbit keygen NAME`"
    )]
    NotAPrivateKey,
    #[error(
        "not a Tidbit public key file: expected a line starting with '{PUBLIC_KEY_TAG}'; \
         create one with `tidbit keygen NAME`"
    )]
    NotAPublicKey,
    #[error(
        "this is a Tidbit public key file, but signing needs the private key: \
         pass the matching NAME.key file instead of NAME.pub"
    )]
    PublicKeyGivenForPrivate,
    #[error(
        "this is a Tidbit private key file, but a public key is expected here: \
         pass NAME.pub instead, and keep NAME.key secret"
    )]
    PrivateKeyGivenForPublic,
    #[error(
        "the {what} in the key file is missing or is not hexadecimal: the file is damaged; \
         restore it from a backup or create a new key with `tidbit keygen NAME`"
    )]
    BadHex { what: &'static str },
    #[error(
        "the public key in the key file is {found} bytes long, but an Ed25519 public key is \
         {PUBLIC_KEY_LEN} bytes: the file is damaged; ask its owner for a fresh copy"
    )]
    WrongPublicKeyLength { found: usize },
    #[error(
        "the private key file does not hold a valid Ed25519 key ({reason}): the file is damaged; \
         restore it from a backup or create a new key with `tidbit keygen NAME`"
    )]
    PrivateKeyRejected { reason: String },
    #[error(
        "the key file holds more than one key line: a Tidbit key file is exactly one line; \
         split it into one file per key"
    )]
    ExtraLines,
    #[error(
        "unexpected text after the private key: a private key line is \
         '{PRIVATE_KEY_TAG} <hex>'; the file is damaged or was edited by hand"
    )]
    ExtraContent,
    #[error("could not generate a key: the system random number generator failed; try again")]
    RandomFailed,
    #[error(
        "'{}' has no file name: give the key pair a name such as `keys/author` \
         (writes keys/author.key and keys/author.pub)", path.display()
    )]
    MissingName { path: PathBuf },
    #[error(
        "'{}' already exists: refusing to overwrite a key; choose another name, \
         or move the existing file away if you really mean to replace it", path.display()
    )]
    AlreadyExists { path: PathBuf },
    #[error(
        "could not write key file '{}': {source}; check that the folder exists and is writable",
        path.display()
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An Ed25519 key pair able to sign. Its `Debug` shows only the key id.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl SigningKey {
    /// A fresh key from the system's secure random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::RandomFailed)?;
        Self::from_pkcs8(pkcs8.as_ref().to_vec())
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Result<Self, KeyError> {
        let pair =
            Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|e| KeyError::PrivateKeyRejected {
                reason: e.to_string(),
            })?;
        Ok(Self { pair, pkcs8 })
    }

    /// Reads a private key file's text (`tidbit-ed25519-private-v1 <hex pkcs8>`).
    pub fn from_file_text(text: &str) -> Result<Self, KeyError> {
        let line = only_key_line(text)?;
        let (tag, rest) = split_first_word(line);
        match tag {
            PRIVATE_KEY_TAG => {}
            PUBLIC_KEY_TAG => return Err(KeyError::PublicKeyGivenForPrivate),
            _ => return Err(KeyError::NotAPrivateKey),
        }
        let (hex_text, rest) = split_first_word(rest);
        if !rest.is_empty() {
            return Err(KeyError::ExtraContent);
        }
        let pkcs8 = decode_hex(hex_text, "private key")?;
        Self::from_pkcs8(pkcs8)
    }

    /// The private key file's text, ending with a newline. Keep it secret.
    pub fn to_file_text(&self) -> String {
        format!("{PRIVATE_KEY_TAG} {}\n", hex::encode(&self.pkcs8))
    }

    /// The public half of this key.
    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; PUBLIC_KEY_LEN];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey { bytes }
    }

    /// The key id of the public half.
    pub fn key_id(&self) -> String {
        self.public_key().key_id()
    }

    /// Signs `domain || msg`. `domain` names what is signed, e.g. `b"tidbit-pack-manifest-v1\0"`.
    pub fn sign(&self, domain: &[u8], msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let signature = self.pair.sign(&domain_separated(domain, msg));
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(signature.as_ref());
        out
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key: 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey {
    bytes: [u8; PUBLIC_KEY_LEN],
}

impl PublicKey {
    /// Wraps raw public key bytes.
    pub fn from_bytes(bytes: [u8; PUBLIC_KEY_LEN]) -> Self {
        Self { bytes }
    }

    /// The raw public key bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// First 16 hex characters of the SHA-256 of the public key bytes.
    pub fn key_id(&self) -> String {
        let digest = digest::digest(&digest::SHA256, &self.bytes);
        let mut id = hex::encode(digest.as_ref());
        id.truncate(KEY_ID_LEN);
        id
    }

    /// Reads a public key file's text, ignoring the optional name.
    pub fn from_file_text(text: &str) -> Result<Self, KeyError> {
        Self::from_file_text_with_name(text).map(|(key, _)| key)
    }

    /// Reads a public key file's text (`tidbit-ed25519-public-v1 <hex> [name]`) and its name.
    pub fn from_file_text_with_name(text: &str) -> Result<(Self, Option<String>), KeyError> {
        let line = only_key_line(text)?;
        let (tag, rest) = split_first_word(line);
        match tag {
            PUBLIC_KEY_TAG => {}
            PRIVATE_KEY_TAG => return Err(KeyError::PrivateKeyGivenForPublic),
            _ => return Err(KeyError::NotAPublicKey),
        }
        let (hex_text, name) = split_first_word(rest);
        let decoded = decode_hex(hex_text, "public key")?;
        let bytes: [u8; PUBLIC_KEY_LEN] =
            decoded
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::WrongPublicKeyLength {
                    found: decoded.len(),
                })?;
        let name = (!name.is_empty()).then(|| name.to_string());
        Ok((Self { bytes }, name))
    }

    /// The public key file's text, ending with a newline. Control characters in `name` become
    /// spaces so the file stays one line.
    pub fn to_file_text(&self, name: Option<&str>) -> String {
        let name: String = name
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let name = name.trim();
        if name.is_empty() {
            format!("{PUBLIC_KEY_TAG} {}\n", hex::encode(self.bytes))
        } else {
            format!("{PUBLIC_KEY_TAG} {} {name}\n", hex::encode(self.bytes))
        }
    }

    /// Whether `signature` is this key's signature over `domain || msg`.
    pub fn verify(&self, domain: &[u8], msg: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.bytes)
            .verify(&domain_separated(domain, msg), signature)
            .is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

/// The public keys whose signatures this device accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// An empty set: trusts nobody.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding `keys` (duplicates kept once).
    pub fn from_keys(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        let mut set = Self::new();
        for key in keys {
            set.add(key);
        }
        set
    }

    /// Adds a key; adding a key already present changes nothing.
    pub fn add(&mut self, key: PublicKey) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }

    /// The trusted key with this key id, if any.
    pub fn find(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|key| key.key_id() == key_id)
    }

    /// The trusted keys, in the order they were added.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Generates a key pair and writes `NAME.key` (mode 0600) and `NAME.pub` next to each other,
/// where `dir_and_name` is e.g. `keys/author`. Refuses to overwrite either file. Returns the
/// paths of the private and the public key file.
pub fn write_key_pair(dir_and_name: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
    let name = dir_and_name
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| KeyError::MissingName {
            path: dir_and_name.to_path_buf(),
        })?;
    let key_path = with_suffix(dir_and_name, ".key");
    let pub_path = with_suffix(dir_and_name, ".pub");
    for path in [&key_path, &pub_path] {
        if path.exists() {
            return Err(KeyError::AlreadyExists { path: path.clone() });
        }
    }
    let key = SigningKey::generate()?;
    write_new_file(&key_path, key.to_file_text().as_bytes(), 0o600)?;
    let public_text = key.public_key().to_file_text(Some(&name));
    if let Err(e) = write_new_file(&pub_path, public_text.as_bytes(), 0o644) {
        // Leave no half-written pair behind; the private key was never shared.
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    Ok((key_path, pub_path))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut text = path.as_os_str().to_owned();
    text.push(suffix);
    PathBuf::from(text)
}

fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), KeyError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            KeyError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        })
}

fn domain_separated(domain: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut signed = Vec::with_capacity(domain.len() + msg.len());
    signed.extend_from_slice(domain);
    signed.extend_from_slice(msg);
    signed
}

/// The one non-blank line of a key file.
fn only_key_line(text: &str) -> Result<&str, KeyError> {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines.next().unwrap_or("");
    if lines.next().is_some() {
        return Err(KeyError::ExtraLines);
    }
    Ok(first)
}

/// `("word", "rest")`, both trimmed.
fn split_first_word(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

fn decode_hex(text: &str, what: &'static str) -> Result<Vec<u8>, KeyError> {
    if text.is_empty() {
        return Err(KeyError::BadHex { what });
    }
    hex::decode(text).map_err(|_| KeyError::BadHex { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &[u8] = b"tidbit-test-v1\0";

    fn hex32(text: &str) -> [u8; 32] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    fn hex64(text: &str) -> [u8; 64] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    #[test]
    fn key_id_is_first_16_hex_chars_of_sha256_of_public_key() {
        // SHA-256 of 32 zero bytes is 66687aadf862bd776c8fc18b8e9f8e20...
        assert_eq!(
            PublicKey::from_bytes([0u8; 32]).key_id(),
            "66687aadf862bd77"
        );
    }

    #[test]
    fn verify_accepts_rfc8032_test_vector_with_empty_domain() {
        // RFC 8032 section 7.1, TEST 2 (one-byte message 0x72).
        let key = PublicKey::from_bytes(hex32(
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        ));
        let signature = hex64(
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        );
        assert!(key.verify(b"", &[0x72], &signature));
        assert!(!key.verify(b"", &[0x73], &signature));
    }

    #[test]
    fn signature_verifies_over_domain_and_message() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(DOMAIN, b"hello");
        assert!(key.public_key().verify(DOMAIN, b"hello", &signature));
    }

    #[test]
    fn signature_for_one_domain_fails_in_another() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(b"tidbit-pack-manifest-v1\0", b"hello");
        assert!(!key
            .public_key()
            .verify(b"tidbit-certificate-v1\0", b"hello", &signature));
    }

    #[test]
    fn signature_fails_for_altered_message() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(DOMAIN, b"hello");
        assert!(!key.public_key().verify(DOMAIN, b"hellp", &signature));
    }

    #[test]
    fn signature_fails_under_another_key() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let signature = key.sign(DOMAIN, b"hello");
        assert!(!other.public_key().verify(DOMAIN, b"hello", &signature));
    }

    #[test]
    fn private_key_file_text_round_trips() {
        let key = SigningKey::generate().unwrap();
        let text = key.to_file_text();
        assert!(text.starts_with("tidbit-ed25519-private-v1 "));
        assert!(text.ends_with('\n'));
        let read = SigningKey::from_file_text(&text).unwrap();
        assert_eq!(read.public_key(), key.public_key());
        assert_eq!(read.to_file_text(), text);
    }

    #[test]
    fn public_key_file_text_round_trips_with_name() {
        let key = SigningKey::generate().unwrap().public_key();
        let text = key.to_file_text(Some("L&D team 2025"));
        assert_eq!(
            text,
            format!(
                "tidbit-ed25519-public-v1 {} L&D team 2025\n",
                hex::encode(key.as_bytes())
            )
        );
        let (read, name) = PublicKey::from_file_text_with_name(&text).unwrap();
        assert_eq!(read, key);
        assert_eq!(name.as_deref(), Some("L&D team 2025"));
    }

    #[test]
    fn public_key_file_without_name_has_no_name() {
        let key = PublicKey::from_bytes([7u8; 32]);
        let text = key.to_file_text(None);
        assert_eq!(
            text,
            format!("tidbit-ed25519-public-v1 {}\n", "07".repeat(32))
        );
        assert_eq!(PublicKey::from_file_text_with_name(&text).unwrap().1, None);
    }

    #[test]
    fn public_key_name_with_newline_stays_on_one_line() {
        let text = PublicKey::from_bytes([7u8; 32]).to_file_text(Some("evil\ntidbit"));
        assert_eq!(text.lines().count(), 1);
        assert!(text.ends_with(" evil tidbit\n"));
    }

    #[test]
    fn public_key_parser_rejects_other_files_with_keygen_hint() {
        let err = PublicKey::from_file_text("ssh-ed25519 AAAAC3Nz user@host\n").unwrap_err();
        assert!(matches!(err, KeyError::NotAPublicKey));
        let message = err.to_string();
        assert!(message.contains("'tidbit-ed25519-public-v1'"), "{message}");
        assert!(message.contains("tidbit keygen NAME"), "{message}");
    }

    #[test]
    fn public_key_parser_rejects_private_key_file() {
        let key = SigningKey::generate().unwrap();
        let err = PublicKey::from_file_text(&key.to_file_text()).unwrap_err();
        assert!(matches!(err, KeyError::PrivateKeyGivenForPublic));
    }

    #[test]
    fn private_key_parser_rejects_public_key_file() {
        let text = PublicKey::from_bytes([1u8; 32]).to_file_text(None);
        let err = SigningKey::from_file_text(&text).unwrap_err();
        assert!(matches!(err, KeyError::PublicKeyGivenForPrivate));
    }

    #[test]
    fn public_key_of_wrong_length_is_rejected() {
        let text = format!("tidbit-ed25519-public-v1 {}\n", "ab".repeat(31));
        let err = PublicKey::from_file_text(&text).unwrap_err();
        assert!(matches!(err, KeyError::WrongPublicKeyLength { found: 31 }));
    }

    #[test]
    fn public_key_with_non_hex_is_rejected() {
        let text = format!("tidbit-ed25519-public-v1 {}zz\n", "ab".repeat(31));
        let err = PublicKey::from_file_text(&text).unwrap_err();
        assert!(matches!(err, KeyError::BadHex { what: "public key" }));
    }

    #[test]
    fn private_key_with_damaged_pkcs8_is_rejected() {
        let key = SigningKey::generate().unwrap();
        let text = key.to_file_text();
        let damaged = text.replacen(
            "tidbit-ed25519-private-v1 30",
            "tidbit-ed25519-private-v1 31",
            1,
        );
        assert_ne!(damaged, text);
        let err = SigningKey::from_file_text(&damaged).unwrap_err();
        assert!(matches!(err, KeyError::PrivateKeyRejected { .. }));
    }

    #[test]
    fn key_file_with_two_key_lines_is_rejected() {
        let line = PublicKey::from_bytes([1u8; 32]).to_file_text(None);
        let err = PublicKey::from_file_text(&format!("{line}{line}")).unwrap_err();
        assert!(matches!(err, KeyError::ExtraLines));
    }

    #[test]
    fn trusted_keys_find_by_key_id() {
        let a = SigningKey::generate().unwrap().public_key();
        let b = SigningKey::generate().unwrap().public_key();
        let trusted = TrustedKeys::from_keys([a, b, a]);
        assert_eq!(trusted.len(), 2);
        assert_eq!(trusted.find(&b.key_id()), Some(&b));
        assert_eq!(trusted.find("0000000000000000"), None);
    }

    #[test]
    fn write_key_pair_writes_private_key_with_mode_0600_and_matching_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let (key_path, pub_path) = write_key_pair(&dir.path().join("author")).unwrap();
        assert_eq!(key_path, dir.path().join("author.key"));
        assert_eq!(pub_path, dir.path().join("author.pub"));
        let key = SigningKey::from_file_text(&std::fs::read_to_string(&key_path).unwrap()).unwrap();
        let (public, name) =
            PublicKey::from_file_text_with_name(&std::fs::read_to_string(&pub_path).unwrap())
                .unwrap();
        assert_eq!(public, key.public_key());
        assert_eq!(name.as_deref(), Some("author"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn write_key_pair_refuses_to_overwrite_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        let (key_path, _) = write_key_pair(&dir.path().join("author")).unwrap();
        let before = std::fs::read(&key_path).unwrap();
        let err = write_key_pair(&dir.path().join("author")).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { ref path } if *path == key_path));
        assert!(err.to_string().contains("refusing to overwrite"));
        assert_eq!(std::fs::read(&key_path).unwrap(), before);
    }

    #[test]
    fn write_key_pair_refuses_when_only_public_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("author.pub"), "keep me").unwrap();
        let err = write_key_pair(&dir.path().join("author")).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { .. }));
        assert!(!dir.path().join("author.key").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("author.pub")).unwrap(),
            "keep me"
        );
    }
}
