//! Decoder tests: the version, customer-id and reset-URL parsers and the storefront-token
//! headers, with generated inputs.

use super::http::{caller_from_headers, Refusal};
use super::reset_url::{self, ResetSubject};
use super::resolvers::parse_customer_gid;
use super::*;
use crate::auth::storefront_tokens::StorefrontTokenKind;
use crate::auth::StoreError;
use crate::model::CustomerId;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::net::SocketAddr;
use warp::http::HeaderMap;

#[test]
fn versions() {
    for ok in ["2026-04", "2024-01", "2025-12", "unstable"] {
        assert!(valid_version(ok), "{ok}");
    }
    for bad in [
        "2026-4", "2026-13", "2026-00", "latest", "", "20260-4", "2026_04",
    ] {
        assert!(!valid_version(bad), "{bad}");
    }
}

#[test]
fn customer_gids() {
    assert_eq!(
        parse_customer_gid("gid://shopify/Customer/42"),
        Some(CustomerId(42))
    );
    assert_eq!(parse_customer_gid("42"), Some(CustomerId(42)));
    assert_eq!(
        parse_customer_gid("Z2lkOi8vc2hvcGlmeS9DdXN0b21lci80Mg=="),
        Some(CustomerId(42))
    );
    assert_eq!(parse_customer_gid("gid://shopify/Product/42"), None);
    assert_eq!(parse_customer_gid("gid://shopify/Customer/x"), None);
    assert_eq!(parse_customer_gid("+42"), None);
    assert_eq!(parse_customer_gid("gid://shopify/Customer/+42"), None);
    assert_eq!(parse_customer_gid("18446744073709551616"), None);
}

// ------------------------------------------------------------- fuzzing the decoders
//
// Generated inputs from a seeded PRNG (the same every run, so a failure reproduces): random
// bytes and mutations of valid inputs. Each decoder must answer, never panic, and give its
// clear refusal (`None`, Shopify's 401) for what it cannot read.

/// The shared seeded source, plus the draws these decoders care about.
struct Rng(crate::auth::secret::SeededRandom);

impl std::ops::Deref for Rng {
    type Target = crate::auth::secret::SeededRandom;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Rng {
    /// Text made of pieces that matter to URL and id parsers, and of stray characters.
    fn tricky(&mut self, max: usize) -> String {
        const PIECES: &[&str] = &[
            "%",
            "%2",
            "%ZZ",
            "%40",
            "%C3%A9",
            "%FF",
            "&",
            "=",
            "?",
            "#",
            "/",
            "{",
            "}",
            "{email}",
            "{token}",
            "{id}",
            "@",
            "+",
            "-",
            " ",
            "\t",
            "é",
            "日本",
            "\u{1F600}",
            "\0",
            "0",
            "42",
            "99999999999999999999",
            "gid://shopify/Customer/",
            "==",
            "A",
        ];
        let n = self.below(max + 1);
        (0..n).map(|_| *self.pick(PIECES)).collect()
    }

    /// `valid` with a few random edits: insertions, deletions, replacements, truncation.
    fn mutate(&mut self, valid: &str) -> String {
        let mut chars: Vec<char> = valid.chars().collect();
        for _ in 0..=self.below(4) {
            let at = self.below(chars.len() + 1);
            match self.below(5) {
                0 => chars.truncate(at),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                2 if at < chars.len() => chars[at] = char::from(self.byte()),
                _ => {
                    let piece = self.tricky(2);
                    for (i, c) in piece.chars().enumerate() {
                        chars.insert(at + i, c);
                    }
                }
            }
        }
        chars.into_iter().collect()
    }
}

const RUNS: usize = 20_000;

#[test]
fn reset_url_parser_survives_generated_links() {
    use crate::auth::one_time::url_encode;
    const TEMPLATES: &[&str] = &[
        "http://localhost:3000/customer/account/createPassword/?email={email}&token={token}",
        "https://shop.example/reset/{id}/{token}",
        "https://shop.example/r?t={token}#{email}",
        "{token}",
        "{email}{token}",
        "https://shop.example/{",
        "",
    ];
    let mut rng = Rng(crate::auth::secret::SeededRandom::new(0x5eed_0001));
    for run in 0..RUNS {
        let template = rng_pick_owned(&mut rng, TEMPLATES);
        let template = if rng.below(4) == 0 {
            rng.mutate(&template)
        } else {
            template
        };
        let email = format!("{}@example.com", rng.tricky(3)).trim().to_string();
        let token = format!("{:x}", rng.next_u64());
        let id = rng.next_u64();
        let valid = TEMPLATES[0]
            .replace("{email}", &url_encode(&email))
            .replace("{token}", &token);
        let shopify = format!("https://s.myshopify.com/account/reset/{id}/{token}");
        let url = match run % 4 {
            0 => String::from_utf8_lossy(&rng.bytes(80)).into_owned(),
            1 => rng.tricky(12),
            2 => rng.mutate(&valid),
            _ => rng.mutate(&shopify),
        };
        if let Some(link) = reset_url::parse(&url, &template) {
            assert!(!link.token.is_empty(), "{url:?} {template:?}");
            if let ResetSubject::Email(e) = &link.subject {
                assert!(!e.is_empty(), "{url:?} {template:?}");
            }
        }
        // What storekey mails, and Shopify's own form, always read back exactly.
        if !email.is_empty() {
            assert_eq!(
                reset_url::parse(&valid, TEMPLATES[0]).map(|l| (l.subject, l.token)),
                Some((ResetSubject::Email(email.clone()), token.clone())),
                "{valid:?}"
            );
        }
        assert_eq!(
            reset_url::parse(&shopify, TEMPLATES[0]).map(|l| (l.subject, l.token)),
            Some((ResetSubject::Id(CustomerId(id)), token.clone())),
            "{shopify:?}"
        );
    }
}

fn rng_pick_owned(rng: &mut Rng, items: &[&str]) -> String {
    rng.pick(items).to_string()
}

#[test]
fn customer_id_decoder_survives_generated_ids() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut rng = Rng(crate::auth::secret::SeededRandom::new(0x5eed_0002));
    for run in 0..RUNS {
        let n = rng.next_u64();
        let gid = format!("gid://shopify/Customer/{n}");
        assert_eq!(parse_customer_gid(&gid), Some(CustomerId(n)));
        assert_eq!(parse_customer_gid(&b64(&gid)), Some(CustomerId(n)));
        assert_eq!(parse_customer_gid(&format!(" {n} ")), Some(CustomerId(n)));
        let input = match run % 4 {
            0 => String::from_utf8_lossy(&rng.bytes(64)).into_owned(),
            1 => rng.mutate(&gid),
            2 => rng.mutate(&b64(&gid)),
            _ => b64(&rng.mutate(&gid)),
        };
        // Whatever it decodes to is spelled in the input, as it is or base64-decoded.
        if let Some(found) = parse_customer_gid(&input) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(input.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            let digits = |t: &str| {
                t.trim_start_matches("gid://shopify/Customer/")
                    .trim_start_matches('0')
                    .to_string()
            };
            let want = digits(&found.to_string());
            assert!(
                digits(input.trim()) == want || digits(&decoded) == want,
                "{input:?} decoded to {found}"
            );
        }
    }
}

fn token(id: u64, kind: StorefrontTokenKind) -> StorefrontToken {
    StorefrontToken {
        id,
        title: format!("token {id}"),
        scopes: vec![WRITE_CUSTOMERS.to_string()],
        created_at: 0,
        kind,
    }
}

/// A header's text, if it is all visible ASCII, spaces and tabs (what HTTP calls readable).
fn readable(bytes: &[u8]) -> Option<&str> {
    if bytes
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// What the headers should come to, worked out separately from `caller_from_headers`:
/// `Some((token id, trusted buyer IP))`, or `None` for the 401.
fn expected_caller(
    public: Option<&[u8]>,
    private: Option<&[u8]>,
    buyer_ip: Option<&[u8]>,
    tokens: &HashMap<&str, StorefrontToken>,
) -> Option<(u64, Option<IpAddr>)> {
    // Absent or blank: not sent; unreadable or wrong: refused.
    let check = |value: Option<&[u8]>, kind| -> Result<Option<u64>, ()> {
        let Some(bytes) = value else { return Ok(None) };
        let text = readable(bytes).ok_or(())?.trim_matches([' ', '\t']);
        if text.is_empty() {
            return Ok(None);
        }
        match tokens.get(text) {
            Some(t) if t.kind == kind => Ok(Some(t.id)),
            _ => Err(()),
        }
    };
    let public = check(public, StorefrontTokenKind::Public).ok()?;
    let private = check(private, StorefrontTokenKind::Private).ok()?;
    match (private, public) {
        (Some(id), _) => {
            let ip = buyer_ip
                .and_then(readable)
                .and_then(|s| s.trim_matches([' ', '\t']).parse().ok());
            Some((id, ip))
        }
        (None, Some(id)) => Some((id, None)),
        (None, None) => None,
    }
}

#[test]
fn storefront_headers_survive_generated_values() {
    let tokens: HashMap<&str, StorefrontToken> = HashMap::from([
        ("pub-token-1", token(1, StorefrontTokenKind::Public)),
        ("priv-token-2", token(2, StorefrontTokenKind::Private)),
    ]);
    let lookup = |t: String| {
        let found = if t == "store-down" {
            Err(StoreError::Corrupt("down".into()))
        } else {
            Ok(tokens.get(t.as_str()).cloned())
        };
        std::future::ready(found)
    };
    let remote: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    const VALUES: &[&str] = &[
        "pub-token-1",
        "priv-token-2",
        " pub-token-1\t",
        "priv-token-2 ",
        "",
        "   ",
        "unknown",
        "pub-token-1x",
        "198.51.100.7",
        "2001:db8::1",
        "::ffff:203.0.113.1",
        "198.51.100.7, 10.0.0.1",
        "[2001:db8::1]",
        "999.1.1.1",
    ];
    let mut rng = Rng(crate::auth::secret::SeededRandom::new(0x5eed_0003));
    for _ in 0..RUNS {
        let value = |rng: &mut Rng| -> Option<Vec<u8>> {
            match rng.below(5) {
                0 => None,
                1 => Some(rng.bytes(24)),
                2 => {
                    let valid = rng_pick_owned(rng, VALUES);
                    Some(rng.mutate(&valid).into_bytes())
                }
                _ => Some(rng.pick(VALUES).as_bytes().to_vec()),
            }
        };
        let public = value(&mut rng);
        let private = value(&mut rng);
        let buyer_ip = value(&mut rng);
        let mut headers = HeaderMap::new();
        let mut sent = |name: &'static str, v: &Option<Vec<u8>>| -> Option<Vec<u8>> {
            let bytes = v.as_ref()?;
            // Bytes no HTTP header can carry never reach us; leave the header out.
            let value = warp::http::HeaderValue::from_bytes(bytes).ok()?;
            headers.insert(name, value);
            Some(bytes.clone())
        };
        let public = sent(PUBLIC_TOKEN_HEADER, &public);
        let private = sent(PRIVATE_TOKEN_HEADER, &private);
        let buyer_ip = sent(BUYER_IP_HEADER, &buyer_ip);
        let got = caller_from_headers(&headers, Some(remote), lookup)
            .now_or_never()
            .expect("the lookup is ready at once");
        let expected = expected_caller(
            public.as_deref(),
            private.as_deref(),
            buyer_ip.as_deref(),
            &tokens,
        );
        match (got, expected) {
            (Ok(caller), Some((id, ip))) => {
                assert_eq!(caller.token.id, id, "{headers:?}");
                assert_eq!(caller.ip, Some(ip.unwrap_or(remote.ip())), "{headers:?}");
            }
            (Err(Refusal::Unauthorized), None) => {}
            (got, expected) => panic!(
                "{headers:?}: got {got:?}, expected {expected:?}",
                got = got.map(|c| (c.token.id, c.ip))
            ),
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(PUBLIC_TOKEN_HEADER, "store-down".parse().unwrap());
    assert!(matches!(
        caller_from_headers(&headers, Some(remote), lookup)
            .now_or_never()
            .expect("the lookup is ready at once"),
        Err(Refusal::Lookup(_))
    ));
}

#[test]
fn scope_error_wording() {
    let e = access_denied("customer", READ_CUSTOMERS);
    assert_eq!(
        e.message,
        "Access denied for customer field. Required access: `unauthenticated_read_customers` access scope."
    );
}
