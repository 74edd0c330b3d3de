//! The JOSE pieces an OpenID Provider needs: compact RS256 JWS (ID tokens), the public key as a
//! JWK (the JWKS), `at_hash` (OIDC Core §3.1.3.6) and the PKCE S256 check (RFC 7636 §4.6).

use super::KeyError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256};
use serde_json::{json, Value};
use std::fmt::Write;
use subtle::ConstantTimeEq;

/// base64url without padding (RFC 7515 §2), as every JOSE field is written.
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `value` as JSON text in which every byte is ASCII: each non-ASCII character is a `\uXXXX`
/// escape (a surrogate pair above U+FFFF), and so are `<`, `>` and `&`. The same value for any
/// JSON parser, but safe for relying parties that decode a token's payload with `atob` (Latin-1
/// bytes, not UTF-8: Shopify's Hydrogen) and for those that refuse anything resembling HTML.
pub fn to_ascii_json(value: &Value) -> String {
    // serde_json writes only ASCII outside strings, so escaping characters anywhere in its
    // output escapes them inside strings (keys and values), where `\uXXXX` means the same.
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && !matches!(c, '<' | '>' | '&') {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// `claims` (a JSON object) signed with `key` as a compact JWS: `header.payload.signature`, the
/// header `{"alg":"RS256","kid":kid,"typ":"JWT"}`, header and payload in ASCII-only JSON.
pub fn sign_rs256(key: &RsaKeyPair, kid: &str, claims: &Value) -> Result<String, KeyError> {
    if !claims.is_object() {
        return Err(KeyError::ClaimsNotObject);
    }
    let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
    let signing_input = format!(
        "{}.{}",
        b64url(to_ascii_json(&header)),
        b64url(to_ascii_json(claims))
    );
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| KeyError::Sign)?;
    Ok(format!("{signing_input}.{}", b64url(signature)))
}

/// The ID token's `at_hash` for `access_token` (OIDC Core §3.1.3.6, RS256): base64url of the
/// left half of the SHA-256 of its ASCII bytes.
pub fn at_hash(access_token: &str) -> String {
    let hash = digest(&SHA256, access_token.as_bytes());
    b64url(&hash.as_ref()[..16])
}

/// Whether `verifier` is the PKCE `code_verifier` behind the S256 `challenge` (RFC 7636 §4.6):
/// base64url(SHA-256(verifier)) equals the challenge, compared in constant time. A verifier that
/// is not 43 to 128 characters of `[A-Za-z0-9-._~]` (§4.1) never matches.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = b64url(digest(&SHA256, verifier.as_bytes()));
    // `ct_eq` on slices of different lengths is false (the length is no secret).
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// `key`'s public half as the JWK a relying party verifies with (RFC 7517/7518 §6.3.1):
/// `kty`, `use`, `alg`, `kid`, and `n`, `e` in base64url of their big-endian bytes without
/// leading zeros.
pub fn rsa_public_jwk(key: &RsaKeyPair, kid: &str) -> Value {
    let components: RsaPublicKeyComponents<Vec<u8>> = key.public_key().into();
    json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": b64url(without_leading_zeros(&components.n)),
        "e": b64url(without_leading_zeros(&components.e)),
    })
}

fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::super::test_key::{test_key, test_pkcs8};
    use super::*;
    // Verified with another implementation than the one that signs: ring.
    use ring::signature::{
        RsaPublicKeyComponents as RingComponents, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    };

    fn decode(part: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(part).unwrap()
    }

    fn jwk_component(jwk: &Value, name: &str) -> Vec<u8> {
        decode(jwk[name].as_str().unwrap())
    }

    #[test]
    fn ascii_json_escapes_every_non_ascii_character_and_round_trips() {
        let value = json!({
            "name": "Zoë Émile",
            "emoji": "shop 🛍️ 😀",
            "quotes": "say \"hi\" \\ back",
            "controls": "tab\tnew\nline\u{0}nul\u{1f}",
            "html": "<script>&amp;</script>",
            "clé": ["é", 1, null, true, {"ü": "\u{ffff}\u{10ffff}"}],
        });
        let text = to_ascii_json(&value);
        assert!(text.is_ascii(), "{text}");
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        assert!(text.contains(r#""Zo\u00eb \u00c9mile""#), "{text}");
        // U+1F600 is a surrogate pair.
        assert!(text.contains(r"\ud83d\ude00"), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn ascii_json_leaves_ascii_json_as_serde_writes_it() {
        let value = json!({"sub": "abc", "n": 12, "ok": true});
        assert_eq!(to_ascii_json(&value), value.to_string());
    }

    #[test]
    fn signed_jws_verifies_with_ring_from_the_jwk() {
        let key = test_key();
        let claims = json!({"iss": "https://id.example", "sub": "c-1", "name": "Zoë 😀"});
        let jws = sign_rs256(key, "kid-1", &claims).unwrap();
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);

        let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
        assert_eq!(
            header,
            json!({"alg": "RS256", "kid": "kid-1", "typ": "JWT"})
        );
        let payload = decode(parts[1]);
        assert!(payload.is_ascii());
        assert_eq!(serde_json::from_slice::<Value>(&payload).unwrap(), claims);

        let jwk = rsa_public_jwk(key, "kid-1");
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        let signature = decode(parts[2]);
        let public = RingComponents {
            n: jwk_component(&jwk, "n"),
            e: jwk_component(&jwk, "e"),
        };
        public
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &signature,
            )
            .unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key().as_ref())
            .verify(signing_input.as_bytes(), &signature)
            .unwrap();

        // PKCS#1 v1.5 is deterministic: ring signs the same input with the same key to the
        // same bytes.
        let ring_pair = ring::signature::RsaKeyPair::from_pkcs8(test_pkcs8()).unwrap();
        let mut by_ring = vec![0u8; ring_pair.public().modulus_len()];
        ring_pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut by_ring,
            )
            .unwrap();
        assert_eq!(by_ring, signature);

        // One changed payload byte and the signature no longer verifies.
        let mut changed = signing_input.into_bytes();
        changed[parts[0].len() + 3] ^= 0x01;
        assert!(public
            .verify(&RSA_PKCS1_2048_8192_SHA256, &changed, &signature)
            .is_err());
    }

    #[test]
    fn only_an_object_is_signed() {
        assert_eq!(
            sign_rs256(test_key(), "kid", &json!("just a string")),
            Err(KeyError::ClaimsNotObject)
        );
    }

    #[test]
    fn jwk_n_and_e_are_the_generated_key_s_own() {
        // Differential: the rsa crate's view of the key that ring parsed from the same PKCS#8.
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::from_pkcs8_der(test_pkcs8()).unwrap();
        let jwk = rsa_public_jwk(test_key(), "kid-9");
        assert_eq!(jwk_component(&jwk, "n"), private.n().to_bytes_be());
        assert_eq!(jwk_component(&jwk, "e"), private.e().to_bytes_be());
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk_component(&jwk, "n").len(), 256);
        assert_eq!(
            (&jwk["kty"], &jwk["use"], &jwk["alg"], &jwk["kid"]),
            (
                &json!("RSA"),
                &json!("sig"),
                &json!("RS256"),
                &json!("kid-9")
            )
        );
    }

    #[test]
    fn leading_zeros_are_stripped() {
        assert_eq!(without_leading_zeros(&[0, 0, 1, 0]), &[1, 0]);
        assert_eq!(without_leading_zeros(&[0, 0]), &[] as &[u8]);
    }

    #[test]
    fn at_hash_matches_oidc_core_example() {
        // OIDC Core 1.0 Appendix A, the `id_token token` response's access token and at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches(verifier, &challenge[..42]));
        assert!(!pkce_s256_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_s256_matches(&verifier.replace('d', "e"), challenge));
    }

    #[test]
    fn pkce_refuses_malformed_verifiers() {
        let challenge_of = |v: &str| b64url(digest(&SHA256, v.as_bytes()));
        let short = "a".repeat(42);
        let long = "a".repeat(129);
        let bad_char = format!("{}+", "a".repeat(42));
        let non_ascii = format!("{}é", "a".repeat(42));
        for verifier in [&short, &long, &bad_char, &non_ascii] {
            assert!(
                !pkce_s256_matches(verifier, &challenge_of(verifier)),
                "{verifier}"
            );
        }
        for verifier in ["a".repeat(43), "~._-".repeat(32)] {
            assert!(pkce_s256_matches(&verifier, &challenge_of(&verifier)));
        }
    }
}
