//! ID-token signing keys: generated once, sealed under the key-encryption key in the store,
//! opened into memory to sign (RS256 with ring) and to publish (the JWKS).

mod jose;
mod kek;
mod keygen;

pub use jose::{at_hash, b64url, pkce_s256_matches, rsa_public_jwk, sign_rs256, to_ascii_json};
pub use kek::Kek;
pub use keygen::{generate_rs256, new_kid, signing_key_from_pkcs8, RSA_BITS};

use crate::model::oidc::SigningKey;
use crate::model::Timestamp;
use aws_lc_rs::signature::RsaKeyPair;
use serde_json::Value;

/// What can go wrong with signing keys. None of them carries key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Sealed bytes that do not open: another key-encryption key, a changed byte, another
    /// associated data (kid), or too short to be sealed bytes at all.
    Unseal,
    /// A stored signing key that does not open (or is not an RSA key ring accepts) with the
    /// configured key-encryption key.
    CannotOpen { kid: String },
    /// A stored signing key of an algorithm this build does not sign with.
    UnsupportedAlg { kid: String, alg: String },
    /// A new key could not be generated or encoded.
    Generate(String),
    /// The system's random source failed.
    Random,
    /// Sealing failed (ring refuses only absurd lengths).
    Seal,
    /// ring refused to sign.
    Sign,
    /// JWT claims must be a JSON object.
    ClaimsNotObject,
    /// No published key signs yet at this time.
    NoSigningKey,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Unseal => f.write_str(
                "the sealed bytes do not open with this key-encryption key (changed, or sealed under another key or kid)",
            ),
            KeyError::CannotOpen { kid } => write!(
                f,
                "signing key {kid} cannot be opened with this key-encryption key: was oidc.key_encryption_key changed?"
            ),
            KeyError::UnsupportedAlg { kid, alg } => {
                write!(f, "signing key {kid} is {alg}: only RS256 keys can sign")
            }
            KeyError::Generate(reason) => write!(f, "cannot generate a signing key: {reason}"),
            KeyError::Random => f.write_str("the system's random source failed"),
            KeyError::Seal => f.write_str("cannot seal under the key-encryption key"),
            KeyError::Sign => f.write_str("signing failed"),
            KeyError::ClaimsNotObject => f.write_str("JWT claims must be a JSON object"),
            KeyError::NoSigningKey => f.write_str("no signing key signs yet"),
        }
    }
}

impl std::error::Error for KeyError {}

/// The published signing keys, opened: what signs ID tokens and what the JWKS lists.
/// Built from the store's `SigningKey` records at start (and again after a rotation).
pub struct Keyring {
    keys: Vec<OpenKey>,
}

struct OpenKey {
    kid: String,
    created_at: Timestamp,
    signs_from: Timestamp,
    published_until: Option<Timestamp>,
    pair: RsaKeyPair,
}

impl OpenKey {
    fn published_at(&self, now: Timestamp) -> bool {
        self.published_until.is_none_or(|until| until > now)
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| &k.kid))
            .finish()
    }
}

impl Keyring {
    /// Opens every key of `keys` still published at `now` (`published_until` unset or later):
    /// retired keys are skipped unopened. One key that does not open fails the whole keyring,
    /// naming its kid: a wrong key-encryption key must stop the server, not silently leave it
    /// without the keys its relying parties know.
    pub fn open(kek: &Kek, keys: &[SigningKey], now: Timestamp) -> Result<Keyring, KeyError> {
        let mut opened = Vec::new();
        for key in keys {
            if key.published_until.is_some_and(|until| until <= now) {
                continue;
            }
            if key.alg != "RS256" {
                return Err(KeyError::UnsupportedAlg {
                    kid: key.kid.clone(),
                    alg: key.alg.clone(),
                });
            }
            let cannot_open = || KeyError::CannotOpen {
                kid: key.kid.clone(),
            };
            let pkcs8 = kek
                .open(&key.sealed_private, key.kid.as_bytes())
                .map_err(|_| cannot_open())?;
            let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| cannot_open())?;
            opened.push(OpenKey {
                kid: key.kid.clone(),
                created_at: key.created_at,
                signs_from: key.signs_from,
                published_until: key.published_until,
                pair,
            });
        }
        Ok(Keyring { keys: opened })
    }

    /// The key that signs at `now`: of the published keys whose `signs_from` has come, the one
    /// that came last (on a tie, the newest `created_at`). `None` before any key signs.
    pub fn signer(&self, now: Timestamp) -> Option<(&str, &RsaKeyPair)> {
        self.keys
            .iter()
            .filter(|k| k.signs_from <= now && k.published_at(now))
            .max_by_key(|k| (k.signs_from, k.created_at))
            .map(|k| (k.kid.as_str(), &k.pair))
    }

    /// `{"keys": [...]}`: every key published at `now`, including those that sign only later
    /// (relying parties fetch a key before the first token it signs), as computed from the
    /// opened private key, so the JWKS cannot list a key other than the one that signs.
    pub fn jwks(&self, now: Timestamp) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .filter(|k| k.published_at(now))
            .map(|k| rsa_public_jwk(&k.pair, &k.kid))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The claims of a compact JWS this keyring signed: RS256 under a key published at `now`
    /// (by its `kid`), the signature checked by ring. Expiry is the caller's to judge (an
    /// expired ID token is still a fine `id_token_hint`). `None` for anything else.
    pub fn verify(&self, jws: &str, now: Timestamp) -> Option<Value> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut parts = jws.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&b64.decode(header).ok()?).ok()?;
        if header.get("alg")?.as_str()? != "RS256" {
            return None;
        }
        let kid = header.get("kid")?.as_str()?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid && k.published_at(now))?;
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            aws_lc_rs::signature::KeyPair::public_key(&key.pair).as_ref(),
        );
        let signed = &jws[..header_len(jws)?];
        public
            .verify(signed.as_bytes(), &b64.decode(signature).ok()?)
            .ok()?;
        serde_json::from_slice(&b64.decode(payload).ok()?).ok()
    }

    /// `claims` signed by the key that signs at `now` (see `signer`), as a compact JWS.
    pub fn sign(&self, now: Timestamp, claims: &Value) -> Result<String, KeyError> {
        let (kid, pair) = self.signer(now).ok_or(KeyError::NoSigningKey)?;
        sign_rs256(pair, kid, claims)
    }
}

/// The length of `header.payload` in a compact JWS.
fn header_len(jws: &str) -> Option<usize> {
    jws.rfind('.')
}

/// One RSA key per test binary: generating one in a debug build is slow.
#[cfg(test)]
pub(crate) mod test_key {
    use aws_lc_rs::signature::RsaKeyPair;
    use rsa::pkcs8::EncodePrivateKey;
    use std::sync::OnceLock;

    static KEY: OnceLock<(Vec<u8>, RsaKeyPair)> = OnceLock::new();

    fn key() -> &'static (Vec<u8>, RsaKeyPair) {
        KEY.get_or_init(|| {
            let private = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, super::RSA_BITS).unwrap();
            let pkcs8 = private.to_pkcs8_der().unwrap().as_bytes().to_vec();
            let pair = RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
            (pkcs8, pair)
        })
    }

    /// The shared key's PKCS#8 DER.
    pub fn test_pkcs8() -> &'static [u8] {
        &key().0
    }

    /// The shared key, parsed by AWS-LC.
    pub fn test_key() -> &'static RsaKeyPair {
        &key().1
    }
}

#[cfg(test)]
mod tests {
    use super::test_key::test_pkcs8;
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    /// A stored key record for the shared test key under `kid` (one RSA key, sealed per kid).
    fn stored(kek: &Kek, kid: &str, created_at: i64, signs_from: i64) -> SigningKey {
        let mut key =
            signing_key_from_pkcs8(kek, test_pkcs8(), kid.to_string(), created_at).unwrap();
        key.signs_from = signs_from;
        key
    }

    fn kids(jwks: &Value) -> Vec<&str> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect()
    }

    fn header_kid(jws: &str) -> String {
        let header = URL_SAFE_NO_PAD
            .decode(jws.split('.').next().unwrap())
            .unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        header["kid"].as_str().unwrap().to_string()
    }

    #[test]
    fn signer_is_the_newest_key_whose_time_has_come() {
        let kek = Kek::generate().unwrap();
        let keys = [
            stored(&kek, "old", 100, 100),
            stored(&kek, "current", 200, 200),
            stored(&kek, "next", 300, 1_000),
        ];
        let ring = Keyring::open(&kek, &keys, 500).unwrap();
        assert_eq!(ring.signer(50).map(|(kid, _)| kid), None);
        assert_eq!(ring.signer(150).map(|(kid, _)| kid), Some("old"));
        assert_eq!(ring.signer(500).map(|(kid, _)| kid), Some("current"));
        assert_eq!(ring.signer(1_000).map(|(kid, _)| kid), Some("next"));

        let token = ring.sign(500, &json!({"sub": "c-1"})).unwrap();
        assert_eq!(header_kid(&token), "current");
        assert_eq!(ring.sign(50, &json!({})), Err(KeyError::NoSigningKey));
    }

    #[test]
    fn a_tie_on_signs_from_goes_to_the_newest_created() {
        let kek = Kek::generate().unwrap();
        let keys = [
            stored(&kek, "earlier", 100, 300),
            stored(&kek, "later", 200, 300),
            stored(&kek, "earliest", 50, 300),
        ];
        let ring = Keyring::open(&kek, &keys, 300).unwrap();
        assert_eq!(ring.signer(300).map(|(kid, _)| kid), Some("later"));
    }

    #[test]
    fn jwks_publishes_future_keys_and_drops_retired_ones() {
        let kek = Kek::generate().unwrap();
        let mut retired = stored(&kek, "retired", 10, 10);
        retired.published_until = Some(400);
        let mut retiring = stored(&kek, "retiring", 100, 100);
        retiring.published_until = Some(600);
        let keys = [
            retired,
            retiring,
            stored(&kek, "current", 200, 200),
            stored(&kek, "next", 300, 1_000),
        ];
        let ring = Keyring::open(&kek, &keys, 500).unwrap();
        let jwks = ring.jwks(500);
        assert_eq!(kids(&jwks), ["retiring", "current", "next"]);
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        // Later, the keyring still in memory stops publishing a key whose time is over.
        assert_eq!(kids(&ring.jwks(600)), ["current", "next"]);
        assert_eq!(ring.signer(600).map(|(kid, _)| kid), Some("current"));
        // The published JWK is the one stored at generation.
        assert_eq!(jwks["keys"][1], keys[2].public_jwk);
    }

    #[test]
    fn a_retired_key_is_not_opened() {
        let kek = Kek::generate().unwrap();
        let mut retired = stored(&kek, "retired", 10, 10);
        retired.published_until = Some(400);
        retired.sealed_private = vec![0; 5];
        let ring = Keyring::open(&kek, &[retired], 500).unwrap();
        assert_eq!(kids(&ring.jwks(500)), Vec::<&str>::new());
        assert!(ring.signer(500).is_none());
    }

    #[test]
    fn another_kek_names_the_key_that_does_not_open() {
        let kek = Kek::generate().unwrap();
        let keys = [stored(&kek, "k-1", 100, 100)];
        let error = Keyring::open(&Kek::generate().unwrap(), &keys, 500).unwrap_err();
        assert_eq!(
            error.to_string(),
            "signing key k-1 cannot be opened with this key-encryption key: was oidc.key_encryption_key changed?"
        );
    }

    #[test]
    fn a_key_sealed_under_another_kid_does_not_open() {
        let kek = Kek::generate().unwrap();
        let mut moved = stored(&kek, "k-1", 100, 100);
        moved.kid = "k-2".to_string();
        assert_eq!(
            Keyring::open(&kek, &[moved], 500).unwrap_err(),
            KeyError::CannotOpen {
                kid: "k-2".to_string()
            }
        );
    }

    #[test]
    fn sealed_bytes_that_are_not_a_key_do_not_open() {
        let kek = Kek::generate().unwrap();
        let mut key = stored(&kek, "k-1", 100, 100);
        key.sealed_private = kek.seal(b"not pkcs8", b"k-1").unwrap();
        assert_eq!(
            Keyring::open(&kek, &[key], 500).unwrap_err(),
            KeyError::CannotOpen {
                kid: "k-1".to_string()
            }
        );
    }

    #[test]
    fn keyring_debug_lists_kids_only() {
        let kek = Kek::generate().unwrap();
        let ring = Keyring::open(&kek, &[stored(&kek, "k-1", 100, 100)], 500).unwrap();
        assert_eq!(format!("{ring:?}"), r#"["k-1"]"#);
    }
}

#[cfg(test)]
mod verify_tests {
    use super::test_key::test_pkcs8;
    use super::*;
    use serde_json::json;

    #[test]
    fn verifies_its_own_tokens_and_nothing_else() {
        let kek = Kek::generate().unwrap();
        let key = signing_key_from_pkcs8(&kek, test_pkcs8(), "k1".into(), 0).unwrap();
        let ring = Keyring::open(&kek, &[key], 10).unwrap();
        let jws = ring.sign(10, &json!({"sub": "1", "n": "é"})).unwrap();
        assert_eq!(ring.verify(&jws, 10), Some(json!({"sub": "1", "n": "é"})));
        // A changed payload, a changed signature, another kid, another alg: refused.
        let parts: Vec<&str> = jws.split('.').collect();
        let other = b64url(br#"{"sub":"2"}"#);
        assert_eq!(
            ring.verify(&format!("{}.{other}.{}", parts[0], parts[2]), 10),
            None
        );
        assert_eq!(
            ring.verify(&format!("{}.{}.AAAA", parts[0], parts[1]), 10),
            None
        );
        let header = b64url(br#"{"alg":"RS256","kid":"k2"}"#);
        assert_eq!(
            ring.verify(&format!("{header}.{}.{}", parts[1], parts[2]), 10),
            None
        );
        let none = b64url(br#"{"alg":"none","kid":"k1"}"#);
        assert_eq!(ring.verify(&format!("{none}.{}.", parts[1]), 10), None);
        assert_eq!(ring.verify("a.b", 10), None);
        assert_eq!(ring.verify("", 10), None);
    }
}
