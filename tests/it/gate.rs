//! The GraphQL gate and the transport deadlines (hostile input): nesting that would overflow the
//! parser's stack, fragment bombs, a request that outlives its deadline, slow bodies and headers,
//! the metrics labels a client cannot grow, and the admin API's 413 shape.

use crate::support::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::Duration;
use storekey::store::Backend as _;

const SF_PATH: &str = "/api/2026-04/graphql.json";
const TOO_DEEP: &str =
    "The query is nested too deeply: more than 64 levels of brackets (server.max_value_depth).";
const TOO_LARGE: &str = "The query has more than 2000 selections once its fragments are spread (server.max_expanded_selections).";

/// A public storefront token with every customer scope, made through the admin API.
async fn storefront_token(s: &TestServer) -> String {
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(json!({
                "title": "gate tests",
                "scopes": ["unauthenticated_write_customers", "unauthenticated_read_customer_tags"],
                "kind": "public"
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// POST a GraphQL body to the Storefront endpoint; returns (status, body).
async fn sf(s: &TestServer, token: &str, body: Value) -> (u16, Value) {
    let resp = s
        .http
        .post(s.url(SF_PATH))
        .header("X-Shopify-Storefront-Access-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn assert_healthy(s: &TestServer) {
    let resp = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
}

fn deep_list(depth: usize) -> String {
    format!(
        "{}\"a@example.com\"{}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

fn deep_object(depth: usize) -> String {
    format!("{}1{}", "{a:".repeat(depth), "}".repeat(depth))
}

/// `levels` fragments, each spreading the previous one twice, on the given root type.
fn fragment_bomb(levels: usize, root: &str) -> String {
    let mut q = format!("query {{ ...f{levels} }}\nfragment f0 on {root} {{ __typename }}\n");
    for i in 1..=levels {
        q.push_str(&format!(
            "fragment f{i} on {root} {{ ...f{p} ...f{p} }}\n",
            p = i - 1
        ));
    }
    q
}

fn assert_commerce_refusal(status: u16, body: &Value, message: &str) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["message"], message, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["category"], "graphql-input");
    assert!(
        body.get("data").is_none() || body["data"].is_null(),
        "{body}"
    );
}

fn assert_storefront_refusal(status: u16, body: &Value, message: &str, code: &str) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["message"], message, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], code);
    assert!(
        body.get("data").is_none() || body["data"].is_null(),
        "{body}"
    );
}

#[tokio::test]
async fn a_2000_deep_list_is_refused_on_commerce_and_the_server_lives() {
    let s = TestServer::start().await;
    let q = format!(
        "{{ isEmailAvailable(email: {}) {{ is_email_available }} }}",
        deep_list(2000)
    );
    let (status, body) = s.gql(&q, json!({}), None).await;
    assert_commerce_refusal(status, &body, TOO_DEEP);
    assert_healthy(&s).await;
}

#[tokio::test]
async fn a_5000_deep_object_is_refused_on_commerce_and_the_server_lives() {
    let s = TestServer::start().await;
    let q = format!(
        "{{ isEmailAvailable(email: {}) {{ is_email_available }} }}",
        deep_object(5000)
    );
    let (status, body) = s.gql(&q, json!({}), None).await;
    assert_commerce_refusal(status, &body, TOO_DEEP);
    assert_healthy(&s).await;
}

#[tokio::test]
async fn a_2000_deep_list_is_refused_on_storefront_and_the_server_lives() {
    let s = TestServer::start().await;
    let token = storefront_token(&s).await;
    let q = format!(
        "{{ customer(customerAccessToken: {}) {{ email }} }}",
        deep_list(2000)
    );
    let (status, body) = sf(&s, &token, json!({ "query": q })).await;
    assert_storefront_refusal(status, &body, TOO_DEEP, "MAX_DEPTH_EXCEEDED");
    assert_healthy(&s).await;
}

#[tokio::test]
async fn a_5000_deep_object_is_refused_on_storefront_and_the_server_lives() {
    let s = TestServer::start().await;
    let token = storefront_token(&s).await;
    let q = format!(
        "{{ customer(customerAccessToken: {}) {{ email }} }}",
        deep_object(5000)
    );
    let (status, body) = sf(&s, &token, json!({ "query": q })).await;
    assert_storefront_refusal(status, &body, TOO_DEEP, "MAX_DEPTH_EXCEEDED");
    assert_healthy(&s).await;
}

/// Issue 22's crash: a block string pest abandons (`"""x"` is read as `""` and `"x"`), with the
/// nesting behind it. A scanner that skipped "the block string" saw none of it.
fn hidden_behind_a_block_string(depth: usize) -> String {
    format!(
        "{{ isEmailAvailable(email: [\"\"\"x\", {}\"a\"{}]) {{ is_email_available }} }}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[tokio::test]
async fn nesting_behind_an_abandoned_block_string_is_refused_on_every_endpoint() {
    let s = TestServer::start().await;
    let q = hidden_behind_a_block_string(2000);
    let (status, body) = s.gql(&q, json!({}), None).await;
    assert_commerce_refusal(status, &body, TOO_DEEP);
    let resp = s
        .http
        .get(s.url("/graphql"))
        .query(&[("query", q.as_str())])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_commerce_refusal(status, &resp.json().await.unwrap(), TOO_DEEP);
    let token = storefront_token(&s).await;
    let (status, body) = sf(&s, &token, json!({ "query": q })).await;
    assert_storefront_refusal(status, &body, TOO_DEEP, "MAX_DEPTH_EXCEEDED");
    assert_healthy(&s).await;
}

#[tokio::test]
async fn nesting_at_the_body_limit_is_refused_and_the_server_lives() {
    let s = TestServer::start().await;
    let token = storefront_token(&s).await;
    // As deep as 64 KiB allows: an object value closed, nesting behind a block string left
    // open (gate_fuzz.rs gates every construct at the limit; this is the server around it).
    let all = crate::gate_fuzz::deepest_documents(s.config.server.body_limit_bytes - 64);
    for q in [&all[2], &all[17]] {
        let (status, body) = s.gql(q, json!({}), None).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
        let (status, body) = sf(&s, &token, json!({ "query": q })).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
    }
    assert_healthy(&s).await;
}

/// Issue 22's CPU bomb: fragments spreading the one before twice, the innermost spreading a
/// fragment that does not exist, and not one field: counting fields alone found nothing.
fn bomb_over_an_undefined_fragment(levels: usize, root: &str) -> String {
    let mut q = format!("query {{ nope ...F{levels} }}\nfragment F0 on {root} {{ ...Nope }}\n");
    for i in 1..=levels {
        q.push_str(&format!(
            "fragment F{i} on {root} {{ ...F{p} ...F{p} }}\n",
            p = i - 1
        ));
    }
    q
}

#[tokio::test]
async fn a_bomb_over_an_undefined_fragment_is_answered_without_validation() {
    let s = TestServer::start().await;
    let token = storefront_token(&s).await;
    // Validation would also name the unknown field `nope`: the gate's answer names only the
    // fragment, so nothing was validated.
    let (status, body) = s
        .gql(
            &bomb_over_an_undefined_fragment(26, "Query"),
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"],
        json!([{
            "message": "Unknown fragment: \"Nope\"",
            "locations": [{"line": 2, "column": 24}]
        }]),
        "{body}"
    );
    let q = bomb_over_an_undefined_fragment(26, "QueryRoot");
    let (status, body) = sf(&s, &token, json!({ "query": q })).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["errors"][0]["message"], "Unknown fragment: \"Nope\"");
    // Defined all the way down, the same shape is refused by its count.
    let defined = bomb_over_an_undefined_fragment(26, "Query").replace("query { nope ", "query { ")
        + "fragment Nope on Query { __typename }\n";
    let (status, body) = s.gql(&defined, json!({}), None).await;
    assert_commerce_refusal(status, &body, TOO_LARGE);
    assert_healthy(&s).await;
}

#[tokio::test]
async fn nesting_at_the_limit_reaches_validation() {
    let s = TestServer::start().await;
    // 2 levels for the selection set and the arguments, 62 for the list.
    let q = format!(
        "{{ isEmailAvailable(email: {}) {{ is_email_available }} }}",
        deep_list(62)
    );
    let (status, body) = s.gql(&q, json!({}), None).await;
    assert_eq!(status, 200);
    let message = body["errors"][0]["message"].as_str().unwrap();
    // Validation's answer, in graphql-php's words on the Commerce endpoint.
    assert!(
        message.starts_with("String cannot represent a non string value: [[["),
        "{body}"
    );
    // Brackets inside strings, block strings and comments do not count.
    let q = format!(
        "{{ isEmailAvailable(email: \"{}\") {{ is_email_available }} }} # {}",
        "[".repeat(500),
        "{".repeat(500)
    );
    let (status, body) = s.gql(&q, json!({}), None).await;
    assert_eq!(status, 200);
    assert_ne!(body["errors"][0]["message"], TOO_DEEP, "{body}");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
}

#[tokio::test]
async fn the_deepest_nesting_the_config_allows_is_validated_on_a_worker() {
    let s = TestServer::start_with(|c| {
        c.server.max_value_depth = storekey::config::MAX_VALUE_DEPTH;
        c.server.max_query_depth = 64;
    })
    .await;
    let depth = storekey::config::MAX_VALUE_DEPTH;
    // Selection set and arguments: 2 levels; the rest a list value, then an object value.
    for value in [deep_list(depth - 2), deep_object(depth - 2)] {
        let q = format!("{{ isEmailAvailable(email: {value}) {{ is_email_available }} }}");
        let (status, body) = s.gql(&q, json!({}), None).await;
        assert_eq!(status, 200);
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("String cannot represent a non string value: "),
            "{body}"
        );
    }
    assert_healthy(&s).await;
}

#[tokio::test]
async fn a_syntax_error_is_answered_in_async_graphqls_words() {
    let s = TestServer::start().await;
    let (status, body) = s
        .gql(
            "{ isEmailAvailable(email: ) { is_email_available } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with(" --> 1:27"), "{body}");
    assert_eq!(
        body["errors"][0]["locations"],
        json!([{"line": 1, "column": 27}])
    );
    assert!(
        body.get("data").is_none() || body["data"].is_null(),
        "{body}"
    );
}

#[tokio::test]
async fn fragment_bombs_are_refused_before_validation_on_commerce() {
    let s = TestServer::start().await;
    for levels in [20, 30] {
        let (status, body) = s
            .gql(&fragment_bomb(levels, "Query"), json!({}), None)
            .await;
        assert_commerce_refusal(status, &body, TOO_LARGE);
    }
    assert_healthy(&s).await;
}

#[tokio::test]
async fn fragment_bombs_are_refused_before_validation_on_storefront() {
    let s = TestServer::start().await;
    let token = storefront_token(&s).await;
    for levels in [20, 30] {
        let q = fragment_bomb(levels, "QueryRoot");
        let (status, body) = sf(&s, &token, json!({ "query": q })).await;
        assert_storefront_refusal(status, &body, TOO_LARGE, "MAX_COMPLEXITY_EXCEEDED");
    }
}

#[tokio::test]
async fn a_fragment_cycle_is_refused() {
    let s = TestServer::start().await;
    let q = "query { ...a } fragment a on Query { ...b } fragment b on Query { __typename ...a }";
    let (status, body) = s.gql(q, json!({}), None).await;
    assert_commerce_refusal(status, &body, "Cannot spread fragment \"a\" within itself.");
}

#[tokio::test]
async fn the_explorers_introspection_query_passes_the_gate_on_both_dialects() {
    let s = TestServer::start().await;
    let (status, body) = s.gql(GRAPHIQL_INTROSPECTION, json!({}), None).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    let token = storefront_token(&s).await;
    let (status, body) = sf(
        &s,
        &token,
        json!({"query": GRAPHIQL_INTROSPECTION, "operationName": "IntrospectionQuery"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "QueryRoot");
}

fn slow_hash(c: &mut storekey::config::Config) {
    c.server.request_timeout_seconds = 1;
    c.password.argon2_memory_kib = 262_144;
    c.password.argon2_iterations = 32;
}

#[tokio::test]
async fn a_request_past_its_deadline_answers_503_and_frees_the_worker() {
    // One argon2 hash at 256 MiB and 32 passes takes seconds even optimised (the test profile
    // builds argon2 at opt-level 3); the deadline is 1 s.
    let s = TestServer::start_with(slow_hash).await;
    let (status, body) = s
        .gql(
            "mutation { createCustomerV2(input:{firstname:\"a\",lastname:\"b\",email:\"slow@example.com\",password:\"Sl0w-passw0rd\"}) { customer { email } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "The request took longer than the limit of 1 seconds (server.request_timeout_seconds) and was stopped."
    );
    assert_eq!(body["errors"][0]["extensions"]["category"], "graphql-busy");
    assert_healthy(&s).await;
    assert_eq!(s.store().customer_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_storefront_request_past_its_deadline_answers_503() {
    let s = TestServer::start_with(slow_hash).await;
    let token = storefront_token(&s).await;
    let q = "mutation { customerCreate(input:{email:\"slow@example.com\", password:\"Sl0w-passw0rd\"}) { customer { email } } }";
    let (status, body) = sf(&s, &token, json!({ "query": q })).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "The request took longer than the limit of 1 seconds (server.request_timeout_seconds) and was stopped."
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");
    assert_healthy(&s).await;
    assert_eq!(s.store().customer_count().await.unwrap(), 0);
}

/// Sends `request` on a raw connection and reads until the server closes it. The read timeout
/// only keeps a broken server from hanging the test.
async fn raw_exchange(addr: std::net::SocketAddr, request: &'static [u8]) -> String {
    tokio::task::spawn_blocking(move || {
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        conn.write_all(request).unwrap();
        let mut out = Vec::new();
        match conn.read_to_end(&mut out) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_incomplete_body_is_answered_408_and_closed_after_the_deadline() {
    let s = TestServer::start_with(|c| c.server.request_timeout_seconds = 1).await;
    let addr = s.server.as_ref().unwrap().addr;
    let answer = raw_exchange(
        addr,
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("The request body was not received within 1 seconds."),
        "{answer}"
    );
    assert_healthy(&s).await;
}

#[tokio::test]
async fn slow_headers_are_closed_after_the_deadline() {
    let s = TestServer::start_with(|c| c.server.request_timeout_seconds = 1).await;
    let addr = s.server.as_ref().unwrap().addr;
    let answer = raw_exchange(addr, b"POST /graphql HTTP/1.1\r\nHost: x\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A connection that never sends a byte is closed too.
    let answer = raw_exchange(addr, b"").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert_healthy(&s).await;
}

#[tokio::test]
async fn the_client_remote_address_still_reaches_the_throttle() {
    // Served through hyper's builder, the peer address must still reach the per-IP throttle.
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 2).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for i in 0..2 {
        s.sign_in(BOB, &format!("wrong-password-{i}")).await;
    }
    let (_, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert!(body.get("errors").is_some(), "{body}");
}

#[tokio::test]
async fn an_admin_413_has_the_rest_error_shape() {
    let s = TestServer::start().await;
    let padding = "x".repeat(70_000);
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "big@example.com", "firstname": padding, "lastname": "b"}})),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(
        body,
        json!({"message": "The request body is larger than the limit of 65536 bytes."})
    );
}

#[tokio::test]
async fn long_operation_names_do_not_grow_the_metrics() {
    let s = TestServer::start().await;
    let metrics = || s.metrics();
    // One request of each kind first, so the label sets that stay exist before the baseline.
    let name = |i: usize| format!("N{i:05}{}", "x".repeat(60_000));
    let send = |i: usize| {
        let body = json!({"query": "{ isEmailAvailable(email: \"a@example.com\") { is_email_available } }", "operationName": name(i)});
        s.http.post(s.url("/graphql")).json(&body).send()
    };
    send(0).await.unwrap();
    let before = metrics().await.len();
    for i in 1..=300 {
        assert_eq!(send(i).await.unwrap().status().as_u16(), 200);
    }
    let after = metrics().await;
    assert!(after.len() < before + 2048, "{} -> {}", before, after.len());
    assert!(!after.contains("xxxxxxxx"));
    assert!(after.contains("operation=\"other\""), "{after}");
}

#[tokio::test]
async fn metrics_label_requests_by_root_field() {
    let s = TestServer::start().await;
    s.gql(
        "{ isEmailAvailable(email: \"a@example.com\") { is_email_available } }",
        json!({}),
        None,
    )
    .await;
    s.gql(
        "{ a: isEmailAvailable(email: \"a@example.com\") { is_email_available } __typename }",
        json!({}),
        None,
    )
    .await;
    let token = storefront_token(&s).await;
    sf(
        &s,
        &token,
        json!({"query": "query($t:String!){ customer(customerAccessToken:$t) { email } }", "variables": {"t": "nope"}}),
    )
    .await;
    let text = s.metrics().await;
    assert!(
        text.contains(
            "storekey_requests_total{dialect=\"commerce\",operation=\"isEmailAvailable\",outcome=\"ok\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "storekey_requests_total{dialect=\"commerce\",operation=\"multiple\",outcome=\"ok\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "storekey_requests_total{dialect=\"storefront\",operation=\"customer\",outcome=\"ok\"} 1"
        ),
        "{text}"
    );
}

/// graphql-js 16's `getIntrospectionQuery()` with its defaults, which GraphiQL sends.
const GRAPHIQL_INTROSPECTION: &str = r#"
    query IntrospectionQuery {
      __schema {
        
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types {
          ...FullType
        }
        directives {
          name
          description
          
          locations
          args {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      
      fields(includeDeprecated: true) {
        name
        description
        args {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      
      
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                  }
                }
              }
            }
          }
        }
      }
    }
  "#;
