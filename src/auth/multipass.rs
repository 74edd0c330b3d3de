//! Shopify Multipass tokens: key derivation from the shop's secret, verification and
//! decryption of incoming tokens into sign-in claims, and encoding for tests and benchmarks.

use std::fmt;

use aes::Aes128;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use serde_json::Value;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Duration, OffsetDateTime};

const IV_LEN: usize = 16;
const BLOCK_LEN: usize = 16;
const TAG_LEN: usize = 32;
/// IV, at least one ciphertext block (PKCS#7 always adds one) and the tag.
const MIN_TOKEN_BYTES: usize = IV_LEN + BLOCK_LEN + TAG_LEN;
/// Real tokens are a few hundred bytes even with addresses; the cap keeps a hostile
/// request from making us base64-decode and MAC megabytes before we can say no.
const MAX_TOKEN_CHARS: usize = 64 * 1024;

// Shopify emits padded base64url, but tokens get re-encoded by proxies, form posts and
// hand-written integrations, so padding and alphabet are accepted either way.
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

type Aes128CbcEnc = cbc::Encryptor<Aes128>;
type Aes128CbcDec = cbc::Decryptor<Aes128>;

/// Keys derived from the shop's Multipass secret. Debug must NOT print key bytes.
#[derive(Clone)]
pub struct MultipassKey {
    enc_key: [u8; 16],
    sig_key: hmac::Key,
}

impl fmt::Debug for MultipassKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultipassKey").finish_non_exhaustive()
    }
}

/// Shopify's derivation: the secret string itself (not hex-decoded) is hashed, and the
/// hash is split into the AES key and the HMAC key.
fn derive_keys(secret: &str) -> ([u8; 16], [u8; 16]) {
    let km = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut enc = [0u8; 16];
    let mut sig = [0u8; 16];
    let (a, b) = km.as_ref().split_at(16);
    enc.copy_from_slice(a);
    sig.copy_from_slice(b);
    (enc, sig)
}

impl MultipassKey {
    /// None when the secret is empty (Multipass off).
    pub fn new(secret: &str) -> Option<MultipassKey> {
        if secret.is_empty() {
            return None;
        }
        let (enc_key, sig_key) = derive_keys(secret);
        Some(MultipassKey {
            enc_key,
            sig_key: hmac::Key::new(hmac::HMAC_SHA256, &sig_key),
        })
    }

    /// Encrypts and signs `json` with the given IV; returns padded base64url. Used by tests and benchmarks.
    pub fn encode_with_iv(&self, json: &str, iv: [u8; 16]) -> String {
        let ct = Aes128CbcEnc::new(&self.enc_key.into(), &iv.into())
            .encrypt_padded_vec::<Pkcs7>(json.as_bytes());
        self.seal(iv, &ct)
    }

    /// Same with a random IV from ring's SystemRandom.
    pub fn encode(&self, json: &str) -> String {
        let mut iv = [0u8; IV_LEN];
        // A broken OS RNG is not recoverable here, and silently reusing a fixed IV
        // would be worse than failing loudly; this path only serves tests and benches.
        SystemRandom::new()
            .fill(&mut iv)
            .expect("OS random number generator failed");
        self.encode_with_iv(json, iv)
    }

    /// Signs `iv || ciphertext` as-is, so tests can build envelopes whose plaintext is
    /// deliberately malformed yet carries a valid signature.
    fn seal(&self, iv: [u8; 16], ciphertext: &[u8]) -> String {
        let mut out = Vec::with_capacity(IV_LEN + ciphertext.len() + TAG_LEN);
        out.extend_from_slice(&iv);
        out.extend_from_slice(ciphertext);
        let tag = hmac::sign(&self.sig_key, &out);
        out.extend_from_slice(tag.as_ref());
        URL_SAFE.encode(out)
    }
}

/// What a verified Multipass token asserts about the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipassClaims {
    pub email: String,
    pub created_at: OffsetDateTime,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub tag_string: Option<String>,
    /// JSON string or number (Shopify allows numeric ids); an empty string is treated as absent.
    pub identifier: Option<String>,
    /// SHA-256 of the decoded token bytes: the replay-record key (same for padded/unpadded/standard encodings of one token).
    pub digest: [u8; 32],
}

/// Why a token was refused. Deliberately carries no token content so it is safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipassError {
    NotBase64,
    BadLength,
    BadSignature,
    BadPadding,
    BadJson,
    MissingEmail,
    MissingCreatedAt,
    BadCreatedAt,
    Expired,
    FromTheFuture,
}

impl fmt::Display for MultipassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MultipassError::NotBase64 => "multipass token is not base64",
            MultipassError::BadLength => "multipass token has an impossible length",
            MultipassError::BadSignature => "multipass signature mismatch",
            MultipassError::BadPadding => "multipass plaintext padding invalid",
            MultipassError::BadJson => "multipass payload is not a valid JSON object",
            MultipassError::MissingEmail => "multipass payload lacks email",
            MultipassError::MissingCreatedAt => "multipass payload lacks created_at",
            MultipassError::BadCreatedAt => "multipass created_at is not an ISO 8601 timestamp",
            MultipassError::Expired => "multipass token expired",
            MultipassError::FromTheFuture => "multipass created_at is too far in the future",
        })
    }
}

impl std::error::Error for MultipassError {}

/// Verifies, decrypts and checks the freshness of a Multipass token.
///
/// The signature is checked (in constant time) before any decryption so that padding and
/// JSON errors can never act as an oracle for forged ciphertexts.
pub fn decode(
    key: &MultipassKey,
    token: &str,
    now: OffsetDateTime,
    max_age: Duration,
    max_skew: Duration,
) -> Result<MultipassClaims, MultipassError> {
    let bytes = decode_base64(token.trim())?;
    if bytes.len() < MIN_TOKEN_BYTES || !(bytes.len() - IV_LEN - TAG_LEN).is_multiple_of(BLOCK_LEN)
    {
        return Err(MultipassError::BadLength);
    }
    let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    hmac::verify(&key.sig_key, signed, tag).map_err(|_| MultipassError::BadSignature)?;

    let (iv, ciphertext) = signed.split_at(IV_LEN);
    let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| MultipassError::BadLength)?;
    let plaintext = Aes128CbcDec::new(&key.enc_key.into(), &iv.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| MultipassError::BadPadding)?;

    let mut claims = parse_claims(&plaintext)?;
    check_window(claims.created_at, now, max_age, max_skew)?;
    claims.digest = sha256(&bytes);
    Ok(claims)
}

fn decode_base64(token: &str) -> Result<Vec<u8>, MultipassError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(MultipassError::BadLength);
    }
    URL_LENIENT
        .decode(token)
        .or_else(|_| STD_LENIENT.decode(token))
        .map_err(|_| MultipassError::NotBase64)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Leaves `digest` zeroed; the caller fills it from the token bytes, which this function
/// never sees.
fn parse_claims(plaintext: &[u8]) -> Result<MultipassClaims, MultipassError> {
    let value: Value = serde_json::from_slice(plaintext).map_err(|_| MultipassError::BadJson)?;
    let Value::Object(obj) = value else {
        return Err(MultipassError::BadJson);
    };

    let email = match obj.get("email") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => return Err(MultipassError::MissingEmail),
    };
    let created_at = match obj.get("created_at") {
        None | Some(Value::Null) => return Err(MultipassError::MissingCreatedAt),
        Some(Value::String(s)) => parse_timestamp(s).ok_or(MultipassError::BadCreatedAt)?,
        Some(_) => return Err(MultipassError::BadCreatedAt),
    };
    let identifier = match obj.get("identifier") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        // Only integers: a float id would stringify ambiguously ("1e21", "7.0").
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(_) => return Err(MultipassError::BadJson),
    };

    Ok(MultipassClaims {
        email,
        created_at,
        first_name: optional_string(obj.get("first_name"))?,
        last_name: optional_string(obj.get("last_name"))?,
        tag_string: optional_string(obj.get("tag_string"))?,
        identifier,
        digest: [0u8; 32],
    })
}

/// A wrongly typed field in a signed payload means the shop's integration is broken;
/// refusing surfaces that instead of silently signing someone in with partial data.
fn optional_string(v: Option<&Value>) -> Result<Option<String>, MultipassError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MultipassError::BadJson),
    }
}

/// RFC 3339 covers what Shopify's own libraries emit; the ISO 8601 fallback admits the
/// basic and reduced-precision forms other integrations produce. Both demand an offset,
/// since a bare local time cannot be placed on the timeline.
fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(s, &Iso8601::PARSING).ok())
}

/// Compares durations rather than computing `now - max_age`, because date arithmetic
/// with caller-supplied durations can overflow and panic, while the difference of two
/// valid datetimes always fits.
fn check_window(
    created_at: OffsetDateTime,
    now: OffsetDateTime,
    max_age: Duration,
    max_skew: Duration,
) -> Result<(), MultipassError> {
    let age = now - created_at;
    if age > max_age {
        return Err(MultipassError::Expired);
    }
    if -age > max_skew {
        return Err(MultipassError::FromTheFuture);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use cbc::cipher::block_padding::NoPadding;
    use time::macros::datetime;

    const SECRET: &str = "multipass secret from shop admin";
    const VECTOR_JSON: &str =
        r#"{"email":"nicpotts@example.com","created_at":"2013-04-11T15:16:23-04:00"}"#;
    const VECTOR_IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const VECTOR_TOKEN: &str = "AAECAwQFBgcICQoLDA0OD5wvArRdxuLHfSVLTdRSb80pVhAt3Gz4SnITNlOketdg79sj2EYFqINRPvsMiMWwCy_pb6NH5vDStVwioPJCJpqyn6DXn5yyYvCjhP6VlSnLYZw4Qsr04V1MqnwMiKmkyHxqkTQJoaKw-a5NseIPefU=";
    const VECTOR_NOW: OffsetDateTime = datetime!(2013-04-11 19:20:00 UTC);

    fn key() -> MultipassKey {
        MultipassKey::new(SECRET).expect("non-empty secret")
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn hour() -> Duration {
        Duration::hours(1)
    }

    fn dec(token: &str) -> Result<MultipassClaims, MultipassError> {
        decode(&key(), token, VECTOR_NOW, hour(), Duration::minutes(5))
    }

    fn dec_at(json: &str, now: OffsetDateTime) -> Result<MultipassClaims, MultipassError> {
        let k = key();
        decode(&k, &k.encode(json), now, hour(), Duration::minutes(5))
    }

    fn claims_json(created_at: &str) -> String {
        format!(r#"{{"email":"a@example.com","created_at":"{created_at}"}}"#)
    }

    /// Encrypts block-aligned bytes without adding padding and signs them properly.
    fn sealed_raw(k: &MultipassKey, plaintext_blocks: &[u8]) -> String {
        assert!(plaintext_blocks.len().is_multiple_of(16));
        let ct = Aes128CbcEnc::new(&k.enc_key.into(), &VECTOR_IV.into())
            .encrypt_padded_vec::<NoPadding>(plaintext_blocks);
        k.seal(VECTOR_IV, &ct)
    }

    fn raw_bytes(token: &str) -> Vec<u8> {
        URL_SAFE.decode(token).expect("test token is base64url")
    }

    #[test]
    fn shopify_vector_decodes() {
        let c = dec(VECTOR_TOKEN).expect("vector decodes");
        assert_eq!(c.email, "nicpotts@example.com");
        assert_eq!(c.created_at, datetime!(2013-04-11 15:16:23 -04:00));
        assert_eq!(c.created_at.offset(), time::macros::offset!(-04:00));
        assert_eq!(c.first_name, None);
        assert_eq!(c.last_name, None);
        assert_eq!(c.tag_string, None);
        assert_eq!(c.identifier, None);
        assert_eq!(c.digest, sha256(&raw_bytes(VECTOR_TOKEN)));
    }

    #[test]
    fn shopify_vector_encodes() {
        assert_eq!(key().encode_with_iv(VECTOR_JSON, VECTOR_IV), VECTOR_TOKEN);
    }

    #[test]
    fn key_derivation() {
        assert_eq!(
            hex(digest::digest(&digest::SHA256, SECRET.as_bytes()).as_ref()),
            "a0be85479454894aecee3f6f4da2bc634e3f66eb7ff56318cf8af37489a3c6a9"
        );
        let (enc, sig) = derive_keys("1234567890abcdef1234567890abcdef");
        assert_eq!(hex(&enc), "cc75443d8979fe5cdbdf2de55b822ec8");
        assert_eq!(hex(&sig), "b63bc55348c2e451b46b19f4746885ca");
        let k = MultipassKey::new("1234567890abcdef1234567890abcdef").expect("key");
        assert_eq!(k.enc_key, enc);
    }

    #[test]
    fn empty_secret_disables() {
        assert!(MultipassKey::new("").is_none());
    }

    #[test]
    fn key_debug_hides_bytes() {
        let k = MultipassKey::new("1234567890abcdef1234567890abcdef").expect("key");
        let shown = format!("{k:?}");
        assert!(!shown.contains("cc75"), "{shown}");
        assert!(!shown.contains("204"), "{shown}"); // 0xcc as decimal
        assert!(!shown.contains("enc_key"), "{shown}");
    }

    #[test]
    fn random_iv_round_trips_and_varies() {
        let k = key();
        let a = k.encode(VECTOR_JSON);
        let b = k.encode(VECTOR_JSON);
        assert_ne!(a, b);
        let ca = dec(&a).expect("a");
        let cb = dec(&b).expect("b");
        assert_eq!(ca.email, cb.email);
        assert_ne!(ca.digest, cb.digest);
    }

    #[test]
    fn all_encodings_of_one_token_accepted_with_same_digest() {
        let bytes = raw_bytes(VECTOR_TOKEN);
        let want = dec(VECTOR_TOKEN).expect("padded").digest;
        let variants = [
            URL_SAFE_NO_PAD.encode(&bytes),
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            format!("  {VECTOR_TOKEN}\r\n"),
            format!("\t{}\n", STANDARD.encode(&bytes)),
        ];
        // The vector must actually exercise both alphabets for this test to mean anything.
        assert!(VECTOR_TOKEN.contains('-') && VECTOR_TOKEN.contains('_'));
        assert!(variants[1].contains('+') && variants[1].contains('/'));
        for v in &variants {
            assert_eq!(dec(v).expect("variant decodes").digest, want, "{v}");
        }
    }

    #[test]
    fn timestamp_forms_accepted() {
        let now = datetime!(2024-01-01 00:00:30 UTC);
        let cases = [
            ("2024-01-01T00:00:00Z", datetime!(2024-01-01 00:00:00 UTC)),
            ("2024-01-01T00:00:00z", datetime!(2024-01-01 00:00:00 UTC)),
            (
                "2024-01-01T00:00:00.123456+00:00",
                datetime!(2024-01-01 00:00:00.123456 UTC),
            ),
            (
                "2023-12-31T20:00:10-04:00",
                datetime!(2024-01-01 00:00:10 UTC),
            ),
            (
                "2024-01-01T05:30:00+05:30",
                datetime!(2024-01-01 00:00:00 UTC),
            ),
            (
                "2024-01-01T00:00:00.5Z",
                datetime!(2024-01-01 00:00:00.5 UTC),
            ),
            ("20240101T000000Z", datetime!(2024-01-01 00:00:00 UTC)),
            (
                "2023-12-31T19:00:00-0500",
                datetime!(2024-01-01 00:00:00 UTC),
            ),
        ];
        for (s, want) in cases {
            let c = dec_at(&claims_json(s), now).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(c.created_at, want, "{s}");
        }
        let c =
            dec(&key()
                .encode(r#"{"email":"x@example.com","created_at":"2013-04-11T19:19:42.177Z"}"#))
            .expect("millis");
        assert_eq!(c.created_at, datetime!(2013-04-11 19:19:42.177 UTC));
    }

    #[test]
    fn optional_fields_parsed_and_extras_ignored() {
        let json = r#"{
            "email": "  jane@example.com ",
            "created_at": "2013-04-11T19:00:00Z",
            "first_name": "Jane",
            "last_name": "Doe",
            "tag_string": "vip, wholesale",
            "identifier": "bob123",
            "remote_ip": "203.0.113.9",
            "return_to": "https://shop.example/account",
            "addresses": [{"address1": "1 Main St", "city": "Ottawa", "default": true}],
            "accepts_marketing": false
        }"#;
        let c = dec(&key().encode(json)).expect("full payload");
        assert_eq!(c.email, "jane@example.com");
        assert_eq!(c.first_name.as_deref(), Some("Jane"));
        assert_eq!(c.last_name.as_deref(), Some("Doe"));
        assert_eq!(c.tag_string.as_deref(), Some("vip, wholesale"));
        assert_eq!(c.identifier.as_deref(), Some("bob123"));

        let nulls = r#"{"email":"j@example.com","created_at":"2013-04-11T19:00:00Z",
            "first_name":null,"last_name":null,"tag_string":null,"identifier":null}"#;
        let c = dec(&key().encode(nulls)).expect("nulls");
        assert_eq!(
            (c.first_name, c.last_name, c.tag_string, c.identifier),
            (None, None, None, None)
        );
    }

    #[test]
    fn identifier_forms() {
        let with = |id: &str| {
            dec(&key().encode(&format!(
                r#"{{"email":"j@example.com","created_at":"2013-04-11T19:00:00Z","identifier":{id}}}"#
            )))
        };
        assert_eq!(
            with("4242").expect("num").identifier.as_deref(),
            Some("4242")
        );
        assert_eq!(
            with("18446744073709551615")
                .expect("u64")
                .identifier
                .as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(with("-7").expect("neg").identifier.as_deref(), Some("-7"));
        assert_eq!(with(r#""""#).expect("empty").identifier, None);
        assert_eq!(with("1.5"), Err(MultipassError::BadJson));
        assert_eq!(with("true"), Err(MultipassError::BadJson));
        assert_eq!(with("[1]"), Err(MultipassError::BadJson));
    }

    #[test]
    fn freshness_window() {
        let now = datetime!(2024-06-01 12:00:00 UTC);
        let k = key();
        let at = |s: &str, age: Duration, skew: Duration| {
            decode(&k, &k.encode(&claims_json(s)), now, age, skew)
        };
        let m5 = Duration::minutes(5);
        assert!(
            at("2024-06-01T11:00:00Z", hour(), m5).is_ok(),
            "exactly max_age"
        );
        assert_eq!(
            at("2024-06-01T10:59:59Z", hour(), m5),
            Err(MultipassError::Expired)
        );
        assert_eq!(
            at("2013-04-11T15:16:23-04:00", hour(), m5),
            Err(MultipassError::Expired)
        );
        assert!(
            at("2024-06-01T12:05:00Z", hour(), m5).is_ok(),
            "exactly skew"
        );
        assert_eq!(
            at("2024-06-01T12:05:00.001Z", hour(), m5),
            Err(MultipassError::FromTheFuture)
        );
        assert_eq!(
            at("2024-06-01T09:00:00-04:00", hour(), m5),
            Err(MultipassError::FromTheFuture)
        );
        // Extreme caller durations must not overflow.
        assert!(at("0001-01-01T00:00:00Z", Duration::MAX, Duration::MAX).is_ok());
        assert!(at("9999-12-31T23:59:59Z", Duration::MAX, Duration::MAX).is_ok());
        // A negative window admits nothing; the point here is that nothing panics.
        assert!(at("9999-12-31T23:59:59Z", Duration::MIN, Duration::MIN).is_err());
        assert!(at("0001-01-01T00:00:00Z", Duration::MIN, Duration::MIN).is_err());
    }

    #[test]
    fn tampering_detected_before_decryption() {
        let bytes = raw_bytes(VECTOR_TOKEN);
        for idx in [
            0,
            15,
            16,
            40,
            bytes.len() - 33,
            bytes.len() - 32,
            bytes.len() - 1,
        ] {
            let mut b = bytes.clone();
            b[idx] ^= 0x01;
            assert_eq!(
                dec(&URL_SAFE.encode(&b)),
                Err(MultipassError::BadSignature),
                "byte {idx}"
            );
        }
    }

    #[test]
    fn wrong_secret_refused() {
        let other = MultipassKey::new("some other shop's secret").expect("key");
        assert_eq!(
            decode(&other, VECTOR_TOKEN, VECTOR_NOW, hour(), hour()),
            Err(MultipassError::BadSignature)
        );
    }

    #[test]
    fn truncation_refused() {
        let bytes = raw_bytes(VECTOR_TOKEN);
        let enc = |n: usize| URL_SAFE.encode(&bytes[..n]);
        assert_eq!(dec(&enc(bytes.len() - 1)), Err(MultipassError::BadLength));
        assert_eq!(dec(&enc(63)), Err(MultipassError::BadLength));
        assert_eq!(dec(&enc(10)), Err(MultipassError::BadLength));
        assert_eq!(dec(&enc(0)), Err(MultipassError::BadLength));
        assert_eq!(
            dec(&enc(bytes.len() - 16)),
            Err(MultipassError::BadSignature)
        );
        assert_eq!(dec(&enc(64)), Err(MultipassError::BadSignature));
        let long = "A".repeat(MAX_TOKEN_CHARS + 4);
        assert_eq!(dec(&long), Err(MultipassError::BadLength));
    }

    #[test]
    fn garbage_is_not_base64() {
        let mixed = format!("{}+{}", &VECTOR_TOKEN[..20], &VECTOR_TOKEN[21..]);
        let inner_space = format!("{} {}", &VECTOR_TOKEN[..20], &VECTOR_TOKEN[20..]);
        for t in [
            "not a token!",
            "%%%%",
            "A",
            "AAAAA",
            "é",
            "AA==AA==",
            mixed.as_str(),
            inner_space.as_str(),
        ] {
            assert_eq!(dec(t), Err(MultipassError::NotBase64), "{t:?}");
        }
    }

    #[test]
    fn signed_envelope_with_bad_padding() {
        let k = key();
        let mut block = *b"{\"email\":\"x\"}AAA";
        for last in [0u8, 17, 255] {
            block[15] = last;
            assert_eq!(
                dec(&sealed_raw(&k, &block)),
                Err(MultipassError::BadPadding)
            );
        }
        // Right count, wrong filler byte: only strict PKCS#7 catches this.
        let inconsistent = *b"{\"a\":1}\x09\x09\x09\x09\x08\x09\x09\x09\x09";
        assert_eq!(
            dec(&sealed_raw(&k, &inconsistent)),
            Err(MultipassError::BadPadding)
        );
        // A well-padded envelope through the same path succeeds, proving the helper is sound.
        let mut ok = b"{\"email\":\"a@b.c\",\"created_at\":\"2013-04-11T19:00:00Z\"}".to_vec();
        let pad = 16 - ok.len() % 16;
        ok.extend(std::iter::repeat_n(
            u8::try_from(pad).expect("pad < 17"),
            pad,
        ));
        assert!(dec(&sealed_raw(&k, &ok)).is_ok());
    }

    #[test]
    fn signed_envelope_with_bad_json() {
        let k = key();
        let cases: &[(&[u8], MultipassError)] = &[
            (b"{\"email\":", MultipassError::BadJson),
            (b"not json at all", MultipassError::BadJson),
            (b"", MultipassError::BadJson),
            (b"{\"email\":\"\xff\xfe\"}", MultipassError::BadJson),
            (b"[\"a@example.com\"]", MultipassError::BadJson),
            (b"\"a@example.com\"", MultipassError::BadJson),
            (b"42", MultipassError::BadJson),
            (b"null", MultipassError::BadJson),
            (
                br#"{"email":"a@b.c","created_at":"2013-04-11T19:00:00Z","first_name":5}"#,
                MultipassError::BadJson,
            ),
            (
                br#"{"created_at":"2013-04-11T19:00:00Z"}"#,
                MultipassError::MissingEmail,
            ),
            (
                br#"{"email":"","created_at":"2013-04-11T19:00:00Z"}"#,
                MultipassError::MissingEmail,
            ),
            (
                br#"{"email":"   ","created_at":"2013-04-11T19:00:00Z"}"#,
                MultipassError::MissingEmail,
            ),
            (
                br#"{"email":7,"created_at":"2013-04-11T19:00:00Z"}"#,
                MultipassError::MissingEmail,
            ),
            (br#"{"email":"a@b.c"}"#, MultipassError::MissingCreatedAt),
            (
                br#"{"email":"a@b.c","created_at":null}"#,
                MultipassError::MissingCreatedAt,
            ),
            (
                br#"{"email":"a@b.c","created_at":"yesterday"}"#,
                MultipassError::BadCreatedAt,
            ),
            (
                br#"{"email":"a@b.c","created_at":"2013-04-11T19:00:00"}"#,
                MultipassError::BadCreatedAt,
            ),
            (
                br#"{"email":"a@b.c","created_at":"2013-02-30T19:00:00Z"}"#,
                MultipassError::BadCreatedAt,
            ),
            (
                br#"{"email":"a@b.c","created_at":1365707783}"#,
                MultipassError::BadCreatedAt,
            ),
        ];
        for (pt, want) in cases {
            let token = k.seal(
                VECTOR_IV,
                &Aes128CbcEnc::new(&k.enc_key.into(), &VECTOR_IV.into())
                    .encrypt_padded_vec::<Pkcs7>(pt),
            );
            assert_eq!(dec(&token), Err(*want), "{}", String::from_utf8_lossy(pt));
        }
    }

    #[test]
    fn errors_display_distinctly() {
        use MultipassError::*;
        let all = [
            NotBase64,
            BadLength,
            BadSignature,
            BadPadding,
            BadJson,
            MissingEmail,
            MissingCreatedAt,
            BadCreatedAt,
            Expired,
            FromTheFuture,
        ];
        let shown: std::collections::HashSet<String> = all.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), all.len());
    }

    #[test]
    fn fuzz_never_panics_and_never_forges() {
        let k = key();
        let now = VECTOR_NOW;
        let run = |t: &str| decode(&k, t, now, hour(), hour());
        let orig_bytes = raw_bytes(VECTOR_TOKEN);
        let orig_digest = sha256(&orig_bytes);
        let rng = crate::auth::secret::SeededRandom::new(0x9e37_79b9_7f4a_7c15);
        let mut count = 0usize;

        // Random byte strings in both alphabets, with lengths biased toward plausible tokens.
        for i in 0..6000 {
            let len = if i % 2 == 0 {
                64 + 16 * rng.below(8)
            } else {
                rng.below(200)
            };
            let bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            let t = if i % 3 == 0 {
                STANDARD.encode(&bytes)
            } else {
                URL_SAFE_NO_PAD.encode(&bytes)
            };
            assert!(run(&t).is_err());
            count += 1;
        }

        // Random printable ASCII, plus a sprinkle of the base64 alphabets' edge characters.
        const CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \t\n!@#%.";
        for _ in 0..6000 {
            let len = rng.below(180);
            let s: String = (0..len)
                .map(|_| {
                    if rng.below(4) == 0 {
                        char::from(0x20 + u8::try_from(rng.below(95)).unwrap_or(0))
                    } else {
                        char::from(CHARS[rng.below(CHARS.len())])
                    }
                })
                .collect();
            assert!(run(&s).is_err());
            count += 1;
        }

        // Mutations of the valid token's text: flips, truncations, insertions, deletions.
        let text = VECTOR_TOKEN.as_bytes();
        for _ in 0..6000 {
            let mut m = text.to_vec();
            for _ in 0..=rng.below(3) {
                match rng.below(5) {
                    0 if !m.is_empty() => {
                        let i = rng.below(m.len());
                        m[i] ^= 1 << rng.below(8);
                    }
                    1 => m.truncate(rng.below(m.len() + 1)),
                    2 => {
                        let i = rng.below(m.len() + 1);
                        m.insert(i, CHARS[rng.below(CHARS.len())]);
                    }
                    3 if !m.is_empty() => {
                        let i = rng.below(m.len());
                        m.remove(i);
                    }
                    _ => {
                        let i = rng.below(m.len() + 1);
                        m.insert(i, rng.byte());
                    }
                }
            }
            let s = String::from_utf8_lossy(&m);
            if let Ok(c) = run(&s) {
                assert_eq!(c.digest, orig_digest, "mutant {s:?} decoded to other bytes");
            }
            count += 1;
        }

        // Mutations in the byte domain, re-encoded cleanly: any change must be refused.
        for _ in 0..3000 {
            let mut b = orig_bytes.clone();
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
            if rng.below(4) == 0 {
                let j = rng.below(b.len());
                b[j] = rng.byte();
            }
            let res = run(&URL_SAFE.encode(&b));
            if b == orig_bytes {
                assert!(res.is_ok());
            } else {
                assert!(matches!(res, Err(MultipassError::BadSignature)), "{res:?}");
            }
            count += 1;
        }

        // Correctly signed but mutated plaintexts exercise the JSON and timestamp parsers,
        // which random envelopes can never reach past the signature check.
        let json = br#"{"email":"nicpotts@example.com","created_at":"2013-04-11T19:16:23.5+00:00","identifier":12,"first_name":"N"}"#;
        for _ in 0..1000 {
            let mut pt = json.to_vec();
            for _ in 0..=rng.below(3) {
                let i = rng.below(pt.len());
                if rng.below(2) == 0 {
                    pt[i] = CHARS[rng.below(CHARS.len())];
                } else {
                    pt[i] = rng.byte();
                }
            }
            let ct = Aes128CbcEnc::new(&k.enc_key.into(), &VECTOR_IV.into())
                .encrypt_padded_vec::<Pkcs7>(&pt);
            let _ = run(&k.seal(VECTOR_IV, &ct));
            count += 1;
        }

        assert!(count >= 20_000, "{count}");
    }
}
