//! Transport rules (SPEC §4): body limit, non-JSON, batches, GET, depth, complexity, aliases,
//! the hash queue's fail-fast, health and metrics.

use crate::support::*;
use serde_json::{json, Value};
use storekey::store::Backend as _;

#[tokio::test]
async fn oversized_body_is_413_and_nothing_runs() {
    let s = TestServer::start().await;
    let padding = "x".repeat(70_000);
    let body = json!({"query": format!("mutation {{ createCustomerV2(input:{{firstname:\"a\",lastname:\"b\",email:\"big@example.com\",password:\"B1g-passw0rd\"}}) {{ customer {{ email }} }} }} # {padding}")});
    let resp = s
        .http
        .post(s.url("/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("65536"));
    assert_eq!(s.store().customer_count().await.unwrap(), 0);
}

#[tokio::test]
async fn non_json_body_is_400_with_a_graphql_error() {
    let s = TestServer::start().await;
    let resp = s
        .http
        .post(s.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        "The request body is not valid JSON."
    );
}

#[tokio::test]
async fn batches_are_refused() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let op = json!({"query": "mutation { generateCustomerToken(email:\"bobloblaw@example.com\", password:\"wrong\") { token } }"});
    let resp = s
        .http
        .post(s.url("/graphql"))
        .json(&json!([op, op, op]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 0);
}

#[tokio::test]
async fn a_mutation_over_get_never_executes() {
    let s = TestServer::start().await;
    let q = "mutation { createCustomerV2(input:{firstname:\"a\",lastname:\"b\",email:\"get@example.com\",password:\"G3t-passw0rd\"}) { customer { email } } }";
    let resp = s
        .http
        .get(s.url("/graphql"))
        .query(&[("query", q)])
        .send()
        .await
        .unwrap();
    // GET runs queries only (SPEC §4; tests/it/transport.rs has the rest).
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(s.store().customer_count().await.unwrap(), 0);
}

#[tokio::test]
async fn over_deep_query_is_refused_before_execution() {
    let s = TestServer::start_with(|c| c.server.max_query_depth = 3).await;
    let (status, body) = s
        .gql(
            "{ __schema { types { fields { type { name } } } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["message"], "Query is nested too deep.");
    assert!(body.get("data").is_none() || body["data"].is_null());
}

#[tokio::test]
async fn the_explorers_introspection_query_passes_the_default_limits() {
    let s = TestServer::start().await;
    let (status, body) = s.gql(INTROSPECTION, json!({}), None).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "CustomerToken"));
}

#[tokio::test]
async fn aliases_cannot_multiply_sign_in_attempts() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let aliased: String = (0..10)
        .map(|i| {
            format!(
                "a{i}: generateCustomerToken(email:\"{BOB}\", password:\"wrong{i}\") {{ token }} "
            )
        })
        .collect();
    let (status, body) = s
        .gql(&format!("mutation {{ {aliased} }}"), json!({}), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["message"], "Query is too complex.");
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 0, "nothing executed");

    // A handful fits, and each one counts.
    let three: String = (0..3)
        .map(|i| {
            format!(
                "a{i}: generateCustomerToken(email:\"{BOB}\", password:\"wrong{i}\") {{ token }} "
            )
        })
        .collect();
    let (status, _) = s
        .gql(&format!("mutation {{ {three} }}"), json!({}), None)
        .await;
    assert_eq!(status, 401);
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 3);
}

#[tokio::test]
async fn a_full_hash_queue_fails_fast_with_busy() {
    let s = TestServer::start_with(|c| {
        c.password.argon2_memory_kib = 16384;
        c.password.argon2_iterations = 3;
        c.password.hash_workers = 1;
        c.password.hash_queue = 1;
        c.throttle.login_per_ip_per_minute = 0;
        c.lockout.max_failures = 0;
    })
    .await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..12 {
        let http = s.http.clone();
        let url = s.url("/graphql");
        set.spawn(async move {
            // Twelve addresses: one address's checks take turns, so they would never queue up.
            let resp = http
                .post(url)
                .json(&json!({"query": format!("mutation {{ generateCustomerToken(email:\"x{i}@example.com\", password:\"whatever1\") {{ token }} }}")}))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            (status, body)
        });
    }
    let mut busy = 0;
    while let Some(r) = set.join_next().await {
        let (status, body) = r.unwrap();
        if status == 503 {
            busy += 1;
            assert_eq!(
                body["errors"][0]["message"],
                "The server is busy signing other customers in. Please try again shortly."
            );
        } else {
            assert_eq!(status, 401);
        }
    }
    assert!(
        busy > 0,
        "a queue of one cannot hold twelve concurrent verifies"
    );
    // Health keeps answering.
    let resp = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn health_and_metrics() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    s.sign_in(BOB, BOB_PASSWORD).await;
    s.sign_in(BOB, "wrong").await;
    let resp = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
    let text = s.metrics().await;
    assert!(
        text.contains("storekey_logins_total{method=\"password\",outcome=\"success\"} 1"),
        "{text}"
    );
    assert!(text.contains("storekey_logins_total{method=\"credentials\",outcome=\"failure\"} 1"));
    assert!(text.contains("storekey_hash_queue_depth"));
    assert!(text.contains("storekey_request_duration_seconds_bucket"));
}

const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

#[tokio::test]
async fn cors_answers_configured_origins_only() {
    let s = TestServer::start_with(|c| c.server.cors_origins = vec!["https://shop.example".into()])
        .await;
    let preflight = |origin: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, s.url("/graphql"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type, authorization",
            )
            .send()
    };
    let ok = preflight("https://shop.example").await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(
        ok.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        "https://shop.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert_eq!(refused.status().as_u16(), 403);
}

/// Sends one keep-alive request on a fresh connection, reads its whole answer, then waits up
/// to `wait` for the server to close the idle connection; returns how long that took (`None`
/// when it was still open).
async fn idle_close_after_one_request(
    addr: std::net::SocketAddr,
    wait: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).ends_with("\r\n\r\nok") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed before the answer: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    let idle = std::time::Instant::now();
    match tokio::time::timeout(wait, conn.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Some(idle.elapsed()),
        Ok(Ok(n)) => panic!("unexpected bytes: {:?}", &buf[..n]),
        Err(_) => None,
    }
}

/// An idle keep-alive connection is closed after `server.keep_alive_seconds`, not before, and
/// even when `request_timeout_seconds` (hyper's header timeout, which covers only a
/// connection's first request) is longer.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_keep_alive_seconds() {
    let s = TestServer::start_with(|c| {
        c.server.request_timeout_seconds = 30;
        c.server.keep_alive_seconds = 1;
    })
    .await;
    let addr = s.server.as_ref().unwrap().addr;
    let closed = idle_close_after_one_request(addr, std::time::Duration::from_secs(5))
        .await
        .expect("the idle connection was still open after 5 s");
    assert!(
        closed >= std::time::Duration::from_millis(900),
        "closed after {closed:?}"
    );
}

/// A request that runs longer than `keep_alive_seconds` is not cut: the connection is idle
/// only with no request in flight.
#[tokio::test]
async fn a_slow_request_is_not_cut_by_the_keep_alive_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(|c| c.server.keep_alive_seconds = 1).await;
    let addr = s.server.as_ref().unwrap().addr;
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The body arrives after 2 s: the request is in flight (its body being read) meanwhile.
    conn.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    conn.write_all(br#"{"query":"{__typename}"}"#)
        .await
        .unwrap();
    let mut got = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut got))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&got[..n]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

/// Sends `GET /healthz` on `conn` and waits up to `wait` for the answer's first bytes.
async fn healthz_on(conn: &mut tokio::net::TcpStream, wait: std::time::Duration) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    match tokio::time::timeout(wait, conn.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Ok(_) => Some(String::new()),
        Err(_) => None,
    }
}

/// With `server.max_connections = 2`, a third connection is not served while two are held
/// open (it waits in the listen backlog), and is served as soon as one of them closes.
#[tokio::test]
async fn connections_past_max_connections_wait_until_one_closes() {
    use std::time::Duration;
    let s = TestServer::start_with(|c| c.server.max_connections = 2).await;
    let addr = s.server.as_ref().unwrap().addr;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let answer = healthz_on(&mut conn, Duration::from_secs(5)).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(conn);
    }
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    let waiting = healthz_on(&mut third, Duration::from_secs(1)).await;
    assert_eq!(waiting, None, "served past the cap");
    drop(held.pop());
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut third, &mut buf),
    )
    .await
    .expect("not served after a connection closed")
    .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
