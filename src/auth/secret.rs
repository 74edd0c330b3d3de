//! Secrets in transit: types that never print themselves, random generation from ring, and the
//! SHA-256 digests that are all the store ever keeps.

use crate::store::Digest;
use ring::rand::{SecureRandom, SystemRandom};

/// Any secret a client presents (password, token, code). `Debug` shows nothing.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    pub fn digest(&self) -> Digest {
        digest(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

pub fn digest(text: &str) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality of two digests.
pub fn digests_equal(a: &Digest, b: &Digest) -> bool {
    // ring's constant-time compare lives behind hmac::verify; a fold over XOR does the same
    // without branching on the contents.
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Where the core's secrets come from: the operating system in production, a seeded source in
/// tests (so a test knows the code an operation mints without reading it back from a mail).
pub trait RandomSource: Send + Sync {
    fn fill(&self, out: &mut [u8]);
}

/// The operating system's random source.
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, out: &mut [u8]) {
        // SystemRandom reads the OS source; failure means the OS cannot give randomness, which
        // is not recoverable for a service that mints secrets.
        if SystemRandom::new().fill(out).is_err() {
            panic!("the operating system's random source failed");
        }
    }
}

/// A deterministic source (SplitMix64) for tests: the same seed gives the same secrets. Never
/// for minting real secrets.
pub struct SeededRandom(std::sync::Mutex<u64>);

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom(std::sync::Mutex::new(seed))
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, out: &mut [u8]) {
        let mut state = match self.0.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        for chunk in out.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Draws for generated test inputs (the fuzz-style tests of every decoder share this source).
impl SeededRandom {
    pub fn next_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn byte(&self) -> u8 {
        self.next_u64().to_le_bytes()[0]
    }

    /// Up to `max` random bytes.
    pub fn bytes(&self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.byte()).collect()
    }
}

fn random_bytes<const N: usize>(random: &dyn RandomSource) -> [u8; N] {
    let mut buf = [0u8; N];
    random.fill(&mut buf);
    buf
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Digits of the mint time at the front of an access token: milliseconds since the epoch in
/// base 36 (nine digits last until the year 5138).
const TIME_DIGITS: usize = 9;
const ACCESS_TOKEN_LEN: usize = 32;

/// A fresh access token and the key the store keeps it under. The token is 32 lowercase letters
/// and digits, like Adobe Commerce's opaque tokens: the mint time (milliseconds, nine base-36
/// digits) then 23 random ones (about 119 bits). The store keys a token by that time (see
/// [`access_token_key`]), so the tokens one commit writes sit side by side in the index instead
/// of each in a random leaf of it.
pub fn mint_access_token(random: &dyn RandomSource) -> (Secret, Digest) {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let token = access_token_at(random, ms);
    let key = key_at(ms, token.expose());
    (token, key)
}

/// An access token minted at `unix_ms`.
pub fn access_token_at(random: &dyn RandomSource, unix_ms: u64) -> Secret {
    let mut out = String::with_capacity(ACCESS_TOKEN_LEN);
    let mut rest = unix_ms;
    let mut time = [b'0'; TIME_DIGITS];
    for digit in time.iter_mut().rev() {
        *digit = BASE36[(rest % 36) as usize];
        rest /= 36;
    }
    out.extend(time.iter().map(|&b| b as char));
    while out.len() < ACCESS_TOKEN_LEN {
        for b in random_bytes::<48>(random) {
            // Rejection sampling keeps the distribution uniform: 252 = 7 * 36.
            if b < 252 && out.len() < ACCESS_TOKEN_LEN {
                out.push(BASE36[(b % 36) as usize] as char);
            }
        }
    }
    Secret(out)
}

/// The store's key for an access token: the mint time its first nine characters carry (8 bytes,
/// big-endian, so keys sort by time) and the first 24 bytes of the token's SHA-256. `None` for
/// text that is not an access token's shape.
pub fn access_token_key(token: &str) -> Option<Digest> {
    let bytes = token.as_bytes();
    if bytes.len() != ACCESS_TOKEN_LEN {
        return None;
    }
    let mut ms: u64 = 0;
    for &b in &bytes[..TIME_DIGITS] {
        let d = BASE36.iter().position(|&c| c == b)? as u64;
        ms = ms * 36 + d;
    }
    Some(key_at(ms, token))
}

fn key_at(unix_ms: u64, token: &str) -> Digest {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&unix_ms.to_be_bytes());
    key[8..].copy_from_slice(&digest(token)[..24]);
    key
}

/// Where the store may hold an access token, in the order to look: its key, then its plain
/// SHA-256, which is how tokens minted before keys carried the time were stored (files written
/// by earlier builds hold such tokens until they expire). The two never collide: a key and a
/// digest would have to share 24 bytes of SHA-256.
pub fn access_token_lookups(token: &str) -> impl Iterator<Item = Digest> + '_ {
    access_token_key(token)
        .into_iter()
        .chain(std::iter::once_with(|| digest(token)))
}

/// 32 hex characters (128 bits): the shape of Adobe Commerce's reset tokens and admin codes.
pub fn new_hex_code() -> Secret {
    hex_code_from(&OsRandom)
}

pub fn hex_code_from(random: &dyn RandomSource) -> Secret {
    Secret(hex::encode(random_bytes::<16>(random)))
}

/// 32 random bytes as base64url (43 characters, 256 bits): browser-session cookies,
/// authorization codes, refresh tokens, client secrets.
pub fn url_token(random: &dyn RandomSource) -> Secret {
    use base64::Engine as _;
    Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>(random)))
}

/// 12 random bytes as base64url (16 characters): public names (client ids, session ids).
pub fn url_id(random: &dyn RandomSource) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<12>(random))
}

/// A longer random secret for admin and storefront keys.
pub fn new_key(prefix: &str) -> Secret {
    key_from(&OsRandom, prefix)
}

pub fn key_from(random: &dyn RandomSource, prefix: &str) -> Secret {
    Secret(format!(
        "{prefix}{}",
        hex::encode(random_bytes::<24>(random))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_are_32_lowercase_alphanumerics() {
        for _ in 0..100 {
            let (t, key) = mint_access_token(&OsRandom);
            assert_eq!(t.expose().len(), 32);
            assert!(t
                .expose()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            // The key minted with the token is the one a presented token is looked up by.
            assert_eq!(access_token_key(t.expose()), Some(key));
        }
        assert_ne!(
            mint_access_token(&OsRandom).0.expose(),
            mint_access_token(&OsRandom).0.expose()
        );
    }

    #[test]
    fn access_token_keys_sort_by_mint_time_and_name_one_token() {
        let random = SeededRandom::new(3);
        let early = access_token_at(&random, 1_790_000_000_000);
        let late = access_token_at(&random, 1_790_000_000_001);
        assert!(
            early.expose().starts_with("0mubbs7i8"),
            "{}",
            early.expose()
        );
        let (ke, kl) = (
            access_token_key(early.expose()).unwrap(),
            access_token_key(late.expose()).unwrap(),
        );
        assert_eq!(ke[..8], 1_790_000_000_000u64.to_be_bytes());
        assert!(ke < kl);
        assert_eq!(ke[8..], digest(early.expose())[..24]);
        // Same time, other random part: another key.
        let twin = access_token_at(&random, 1_790_000_000_000);
        assert_ne!(access_token_key(twin.expose()).unwrap(), ke);
        // Not a token's shape: no key, only the plain digest is looked up.
        for text in [
            "",
            "short",
            // 32 characters, but the time digits hold one that is not base 36.
            "0mubbs7I8aaaaaaaaaaaaaaaaaaaaaaa",
            &"a".repeat(33),
        ] {
            assert_eq!(access_token_key(text), None, "{text}");
            assert_eq!(
                access_token_lookups(text).collect::<Vec<_>>(),
                vec![digest(text)]
            );
        }
        assert_eq!(
            access_token_lookups(early.expose()).collect::<Vec<_>>(),
            vec![ke, digest(early.expose())]
        );
    }

    #[test]
    fn a_seeded_source_mints_the_same_secrets_and_the_os_source_does_not() {
        let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
        assert_eq!(hex_code_from(&a).expose(), hex_code_from(&b).expose());
        // At one mint time (the clock is not the source's to fix).
        let at = 1_790_000_000_000;
        assert_eq!(
            access_token_at(&a, at).expose(),
            access_token_at(&b, at).expose()
        );
        assert_ne!(hex_code_from(&a).expose(), hex_code_from(&a).expose());
        assert_ne!(new_hex_code().expose(), new_hex_code().expose());
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn digest_compare() {
        assert!(digests_equal(&digest("a"), &digest("a")));
        assert!(!digests_equal(&digest("a"), &digest("b")));
    }
}
