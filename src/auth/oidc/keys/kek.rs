//! The key-encryption key: 32 bytes that seal the signing keys' private halves (AES-256-GCM)
//! before they enter the store. It comes from `oidc.key_encryption_key` or from `oidc.key_file`,
//! which is created (0600) on first start and never lives inside the database.

use super::KeyError;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

/// What a well-formed key looks like, for every refusal (the input itself is never echoed).
const EXPECTED_FORM: &str =
    "the key-encryption key must be 32 bytes, written as 64 hex digits or in base64/base64url";

/// A key file is a line of text: anything much longer is not one (and is not read whole).
const MAX_FILE_BYTES: u64 = 1024;

/// AES-256-GCM tag length (ring's `AES_256_GCM.tag_len()`, a constant here for the length check).
const TAG_LEN: usize = 16;

/// The key-encryption key. `Debug` shows no byte of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(…)")
    }
}

impl Kek {
    /// A key for `purpose` derived from this one (HMAC-SHA256 of the purpose under it): a
    /// secret every instance that shares the key-encryption key agrees on, stored nowhere.
    pub fn derive(&self, purpose: &str) -> ring::hmac::Key {
        let root = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        let derived = ring::hmac::sign(&root, purpose.as_bytes());
        ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref())
    }

    /// A new random key (the system's random source).
    pub fn generate() -> Result<Kek, KeyError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| KeyError::Random)?;
        Ok(Kek(bytes))
    }

    /// Reads a key written as 64 hex digits, or as base64 or base64url (padded or not) of
    /// exactly 32 bytes; surrounding whitespace is ignored. The error says what is expected and
    /// never repeats the input (it is a secret, possibly mistyped).
    pub fn parse(text: &str) -> Result<Kek, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        };
        bytes
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .map(Kek)
            .ok_or_else(|| EXPECTED_FORM.to_string())
    }

    /// The key in `path`, or, when there is no such file, a new random key written there (hex and
    /// a newline, mode 0600, parent directories created). The new key is written whole to a
    /// private temporary file beside it, synced, then hard-linked to `path`, which fails when
    /// `path` exists: `path` only ever appears complete, so of processes starting at once one
    /// key wins and every other reads that one. A file that other users may read is refused (on
    /// unix), not silently tightened.
    pub fn load_or_create(path: &Path) -> Result<Kek, String> {
        match std::fs::File::open(path) {
            Ok(file) => return read_key_file(path, file),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let kek = Kek::generate().map_err(|e| e.to_string())?;
        let mut tag = [0u8; 8];
        SystemRandom::new()
            .fill(&mut tag)
            .map_err(|_| KeyError::Random.to_string())?;
        let name = path
            .file_name()
            .map_or_else(|| "oidc.kek".into(), |n| n.to_string_lossy().into_owned());
        let temporary = path.with_file_name(format!(".{name}.{}.partial", hex::encode(tag)));
        let written = write_private(&temporary, format!("{}\n", hex::encode(kek.0)).as_bytes())
            .and_then(|()| std::fs::hard_link(&temporary, path));
        let _ = std::fs::remove_file(&temporary);
        match written {
            Ok(()) => Ok(kek),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let file = std::fs::File::open(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                read_key_file(path, file)
            }
            Err(e) => Err(format!("cannot create {}: {e}", path.display())),
        }
    }

    /// Encrypts `plaintext` (AES-256-GCM, a random 96-bit nonce) bound to `aad`: the result is
    /// nonce ‖ ciphertext ‖ tag. Fails only when the system's random source does.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Random)?;
        let mut in_out = plaintext.to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| KeyError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        Ok(sealed)
    }

    /// The plaintext `seal` was given, if `sealed` came from `seal` with this key and this `aad`
    /// unchanged; any other input (another key, a changed byte, another `aad`, too short) is
    /// `KeyError::Unseal`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(KeyError::Unseal);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unseal)?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .aead()?
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .map_err(|_| KeyError::Unseal)?;
        Ok(plaintext.to_vec())
    }

    fn aead(&self) -> Result<LessSafeKey, KeyError> {
        // Fails only on a key of the wrong length, which a `[u8; 32]` is not.
        let key = UnboundKey::new(&AES_256_GCM, &self.0).map_err(|_| KeyError::Seal)?;
        Ok(LessSafeKey::new(key))
    }
}

/// Reads a key file whose creator may still be writing it: `create_new` lost the race, so the
/// file exists but may be empty for a moment. Waits a bounded time for its line.
/// Creates `path` (it must not exist) with mode 0600 holding `bytes`, synced.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn read_key_file(path: &Path, file: std::fs::File) -> Result<Kek, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} is open to other users (mode {:o}): chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Kek::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> Kek {
        Kek::generate().unwrap()
    }

    #[test]
    fn sealed_bytes_open_with_the_same_key_and_aad() {
        let kek = kek();
        let sealed = kek.seal(b"private key", b"kid-1").unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + b"private key".len() + TAG_LEN);
        assert_eq!(kek.open(&sealed, b"kid-1").unwrap(), b"private key");
    }

    #[test]
    fn sealing_twice_uses_two_nonces() {
        let kek = kek();
        assert_ne!(
            kek.seal(b"same", b"kid").unwrap(),
            kek.seal(b"same", b"kid").unwrap()
        );
    }

    #[test]
    fn another_kek_cannot_open() {
        let sealed = kek().seal(b"private key", b"kid-1").unwrap();
        assert_eq!(kek().open(&sealed, b"kid-1"), Err(KeyError::Unseal));
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let kek = kek();
        let sealed = kek.seal(b"private key", b"kid-1").unwrap();
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(kek.open(&tampered, b"kid-1"), Err(KeyError::Unseal), "{i}");
        }
    }

    #[test]
    fn another_aad_is_refused() {
        let kek = kek();
        let sealed = kek.seal(b"private key", b"kid-1").unwrap();
        assert_eq!(kek.open(&sealed, b"kid-2"), Err(KeyError::Unseal));
        assert_eq!(kek.open(&sealed, b""), Err(KeyError::Unseal));
    }

    #[test]
    fn short_input_is_refused_without_panic() {
        let kek = kek();
        for len in 0..NONCE_LEN + TAG_LEN + 1 {
            assert_eq!(kek.open(&vec![0u8; len], b"kid"), Err(KeyError::Unseal));
        }
        // The empty plaintext seals to exactly nonce + tag, and opens.
        let sealed = kek.seal(b"", b"kid").unwrap();
        assert_eq!(sealed.len(), NONCE_LEN + TAG_LEN);
        assert_eq!(kek.open(&sealed, b"kid").unwrap(), b"");
    }

    #[test]
    fn parse_accepts_hex_base64_and_base64url() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xfb);
        let expected = Kek(bytes);
        let forms = [
            hex::encode(bytes),
            hex::encode_upper(bytes),
            STANDARD.encode(bytes),
            STANDARD_NO_PAD.encode(bytes),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
            format!("  {}\n", hex::encode(bytes)),
        ];
        // The bytes were chosen so that base64 and base64url differ (a '+' or '/').
        assert_ne!(STANDARD.encode(bytes), URL_SAFE.encode(bytes));
        for form in forms {
            assert_eq!(Kek::parse(&form), Ok(expected.clone()), "{form}");
        }
    }

    #[test]
    fn parse_refuses_31_or_33_bytes_and_garbage_without_echoing() {
        let wrong = [
            hex::encode([7u8; 31]),
            hex::encode([7u8; 33]),
            STANDARD.encode([7u8; 31]),
            STANDARD.encode([7u8; 33]),
            URL_SAFE_NO_PAD.encode([7u8; 33]),
            "not a key at all".to_string(),
            format!("{}zz", &hex::encode([7u8; 32])[..62]),
            String::new(),
        ];
        for text in wrong {
            let error = Kek::parse(&text).unwrap_err();
            assert_eq!(error, EXPECTED_FORM);
            assert!(text.is_empty() || !error.contains(text.trim()));
        }
    }

    #[test]
    fn debug_shows_no_key_byte() {
        let kek = Kek([0xab; 32]);
        assert_eq!(format!("{kek:?}"), "Kek(…)");
    }

    #[cfg(unix)]
    #[test]
    fn load_or_create_creates_a_0600_file_and_reads_the_same_key_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/oidc.kek");
        let created = Kek::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", hex::encode(created.0)));
        assert_eq!(Kek::load_or_create(&path).unwrap(), created);
    }

    #[test]
    fn processes_starting_together_get_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oidc.kek");
        let keys: Vec<Kek> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| Kek::load_or_create(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
        assert_eq!(Kek::load_or_create(&path).unwrap(), keys[0]);
    }

    #[cfg(unix)]
    #[test]
    fn load_or_create_refuses_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oidc.kek");
        std::fs::write(&path, format!("{}\n", hex::encode([1u8; 32]))).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = Kek::load_or_create(&path).unwrap_err();
        assert_eq!(
            error,
            format!(
                "{p} is open to other users (mode 644): chmod 600 {p}",
                p = path.display()
            )
        );
        // Nothing was rewritten.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", hex::encode([1u8; 32]))
        );
    }

    #[test]
    fn load_or_create_reads_a_base64_key_written_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oidc.kek");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).unwrap();
        writeln!(file, "{}", URL_SAFE_NO_PAD.encode([9u8; 32])).unwrap();
        assert_eq!(Kek::load_or_create(&path).unwrap(), Kek([9u8; 32]));
    }

    #[test]
    fn load_or_create_names_the_file_and_the_expected_form_for_a_bad_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oidc.kek");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .unwrap()
            .write_all(b"hunter2\n")
            .unwrap();
        let error = Kek::load_or_create(&path).unwrap_err();
        assert_eq!(error, format!("{}: {EXPECTED_FORM}", path.display()));
    }
}
