//! Fuzz-style tests on stable Rust: thousands of generated inputs per run (seeded, so a failure
//! reproduces) for the parsers that read hostile bytes first: the GraphQL gate, the JSON body
//! parser and the Bearer header parser. Inputs mix random bytes, mutations of valid documents
//! and deep or long nestings; each must end in a value or a clear error, never a panic or a
//! stack overflow (the gate runs on a 2 MiB stack, a tokio worker's).

use storekey::api::gate::{Gate, Refusal};
use storekey::api::kit::bearer;
use storekey::api::parse_graphql_body;
use storekey::auth::secret::SeededRandom;
use storekey::config::ServerConfig;
use warp::http::{HeaderMap, HeaderValue};

const DOCUMENTS: &[&str] = &[
    "{ isEmailAvailable(email: \"a@example.com\") { is_email_available } }",
    "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }",
    "query Q { customer { email firstname addresses { city } } } fragment F on Customer { email ...G } fragment G on Customer { firstname }",
    "{ a: isEmailAvailable(email: \"\"\"block \\\"\"\" [[{{\"\"\") { is_email_available } } # comment {{[[",
    "query($t:String!) @inContext(country: CA, language: FR) { customer(customerAccessToken:$t) { id tags } }",
    "{ __schema { types { ...T } } } fragment T on __Type { kind ofType { kind ofType { kind } } }",
    "mutation { createCustomerV2(input:{firstname:\"a\", lastname:\"b\", email:\"c@d.e\", password:\"Xx1-xxxx\", custom: [1, 2.5, true, null, ENUM, {k: [\"v\"]}]}) { customer { email } } }",
];

/// GraphQL-ish bytes: punctuation that opens and closes things, and plain text.
const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "\"\"\"",
    "\\",
    "#",
    "\n",
    "\r",
    "...",
    "$",
    "@",
    ":",
    "!",
    ",",
    "=",
    "|",
    "&",
    "a",
    "on",
    "fragment f on Q",
    "query",
    "mutation",
    "...f",
    "1",
    "-0.5e9",
    "\u{0}",
    "\u{feff}",
    "é",
    "\u{10ffff}",
];

fn random_bytes(rng: &SeededRandom, max: usize) -> Vec<u8> {
    let n = rng.below(max);
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

fn mutate(rng: &SeededRandom, doc: &str) -> String {
    let mut s = doc.to_string();
    for _ in 0..=rng.below(6) {
        let at = floor_char(&s, rng.below(s.len() + 1));
        match rng.below(5) {
            0 => {
                let piece: &&str = rng.pick(PIECES);
                s.insert_str(at, piece)
            }
            1 => {
                let end = floor_char(&s, (at + rng.below(16)).min(s.len()));
                s.replace_range(at..end, "");
            }
            2 => {
                let end = floor_char(&s, (at + rng.below(32)).min(s.len()));
                let part = s[at..end].repeat(1 + rng.below(8));
                s.insert_str(at, &part);
            }
            3 => s.truncate(at),
            _ => {
                let piece = *rng.pick(PIECES);
                s.insert_str(at, &piece.repeat(1 + rng.below(200)));
            }
        }
    }
    s
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Deep or long nestings of mixed brackets, balanced or not, in value or selection position.
fn nesting(rng: &SeededRandom) -> String {
    let depth = rng.below(3000);
    let open: String = (0..depth)
        .map(|_| *rng.pick(&["[", "{a:", "{ a ", "(b:", "[{c:"]))
        .collect();
    let close: String = (0..rng.below(depth + 1))
        .map(|_| *rng.pick(&["]", "}", ")", "}]"]))
        .collect();
    let mut q = String::new();
    if rng.below(2) == 0 {
        q.push_str("{ isEmailAvailable(email: ");
    }
    q.push_str(&open);
    q.push('1');
    q.push_str(&close);
    q
}

/// A fragment chain or bomb of random width and length.
fn fragments(rng: &SeededRandom) -> String {
    let levels = rng.below(60);
    let width = 1 + rng.below(4);
    let mut q = format!("{{ ...f{levels} }} fragment f0 on Query {{ a }} ");
    for i in 1..=levels {
        let p = if rng.below(20) == 0 {
            // Now and then a spread of a later fragment: a cycle.
            i + 1
        } else {
            i - 1
        };
        q.push_str(&format!(
            "fragment f{i} on Query {{ {} }} ",
            format!("...f{p} ").repeat(width)
        ));
    }
    q
}

fn check_refusal(r: &Refusal, input: &str) {
    let m = r.message();
    let clear = m.contains("server.max_value_depth")
        || m.contains("server.max_expanded_selections")
        || m.starts_with("Cannot spread fragment \"");
    assert!(clear, "unclear refusal {m:?} for {input:?}");
}

#[test]
fn the_gate_answers_every_generated_document() {
    // A tokio worker's stack: what the gate must not overflow.
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let gate = Gate::new(&ServerConfig::default(), "type Query { a: Int }");
            let rng = SeededRandom::new(0x5EED_0001);
            let (mut admitted, mut refused) = (0, 0);
            for i in 0..4000 {
                let q = match i % 4 {
                    0 => String::from_utf8_lossy(&random_bytes(&rng, 256)).into_owned(),
                    1 => {
                        let doc = *rng.pick(DOCUMENTS);
                        mutate(&rng, doc)
                    }
                    2 => nesting(&rng),
                    _ => fragments(&rng),
                };
                match gate.admit(async_graphql::Request::new(q.clone())) {
                    Ok(a) => {
                        admitted += 1;
                        assert!(!a.label.is_empty());
                    }
                    Err(r) => {
                        refused += 1;
                        check_refusal(&r, &q);
                    }
                }
            }
            (admitted, refused)
        })
        .unwrap();
    let (admitted, refused) = worker.join().expect("the gate panicked");
    // Both paths were exercised.
    assert!(admitted > 500 && refused > 500, "{admitted} / {refused}");
}

#[test]
fn the_body_parser_answers_every_generated_body() {
    let rng = SeededRandom::new(0x5EED_0002);
    let bodies: Vec<String> = DOCUMENTS
        .iter()
        .map(|d| {
            serde_json::json!({"query": d, "variables": {"e": "a@b.c"}, "operationName": null})
                .to_string()
        })
        .collect();
    let mut ok = 0;
    for i in 0..6000 {
        let body: Vec<u8> = match i % 4 {
            0 => random_bytes(&rng, 256),
            1 => {
                let b = rng.pick(&bodies).clone();
                mutate(&rng, &b).into_bytes()
            }
            2 => {
                // Deep JSON: serde_json's recursion limit must answer, not the stack.
                let depth = rng.below(100_000);
                let open = *rng.pick(&["[", "{\"a\":", "{\"query\":"]);
                format!("{}1", open.repeat(depth)).into_bytes()
            }
            _ => {
                let doc = *rng.pick(DOCUMENTS);
                let wrapped = *rng.pick(&[
                    "{\"query\": %}",
                    "[{\"query\": %}]",
                    "{\"query\": %, \"variables\": [1]}",
                    "{\"query\": %, \"operationName\": 7}",
                    "{\"query\": %, \"extensions\": {}}",
                    "%",
                ]);
                wrapped
                    .replace('%', &serde_json::Value::from(doc).to_string())
                    .into_bytes()
            }
        };
        match parse_graphql_body(&body) {
            Ok(_) => ok += 1,
            Err(resp) => {
                assert_eq!(
                    resp.status().as_u16(),
                    400,
                    "{:?}",
                    String::from_utf8_lossy(&body)
                );
                assert_eq!(resp.headers()["content-type"], "application/json");
            }
        }
    }
    assert!(ok > 100, "{ok}");
}

#[test]
fn the_bearer_parser_answers_every_generated_header() {
    let rng = SeededRandom::new(0x5EED_0003);
    let schemes = [
        "Bearer", "bearer", "BEARER", "Basic", "Bearer\t", "", " Bearer", "Bear",
    ];
    let mut found = 0;
    for i in 0..20_000 {
        let value: Vec<u8> = if i % 2 == 0 {
            random_bytes(&rng, 96)
        } else {
            let mut v = rng.pick(&schemes).as_bytes().to_vec();
            v.extend(std::iter::repeat_n(b' ', rng.below(4)));
            // Mostly visible ASCII (what a header can carry as text), now and then anything.
            let n = rng.below(64);
            v.extend((0..n).map(|_| match rng.below(20) {
                0 => b' ',
                1 => b'\t',
                2 => rng.next_u64() as u8,
                _ => 0x21 + rng.below(94) as u8,
            }));
            v
        };
        let Ok(header) = HeaderValue::from_bytes(&value) else {
            continue;
        };
        let mut headers = HeaderMap::new();
        headers.insert("authorization", header);
        if let Some(token) = bearer(&headers) {
            found += 1;
            let text = String::from_utf8_lossy(&value);
            assert!(!token.is_empty());
            assert_eq!(token, token.trim());
            assert!(
                text.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("bearer "),
                "{text:?} gave {token:?}"
            );
        }
    }
    assert!(found > 1000, "{found}");
}
