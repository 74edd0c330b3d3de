//! Storefront token kinds (SPEC §6.1, §7): a public token works only in
//! `X-Shopify-Storefront-Access-Token`, a private one only in `Shopify-Storefront-Private-Token`,
//! and `Shopify-Storefront-Buyer-IP` is trusted only with a private token, so a browser's public
//! token cannot choose the IP the per-IP throttles count.

use crate::support::*;
use serde_json::{json, Value};

const PATH: &str = "/api/2026-04/graphql.json";
const PUBLIC: &str = "X-Shopify-Storefront-Access-Token";
const PRIVATE: &str = "Shopify-Storefront-Private-Token";
const BUYER_IP: &str = "Shopify-Storefront-Buyer-IP";
const UNAUTHORIZED: &str = r#"{"errors":[{"message":"","extensions":{"code":"UNAUTHORIZED"}}]}"#;
const CUSTOMER: &str = "query($t:String!){ customer(customerAccessToken:$t) { email } }";
const TOKEN_CREATE: &str = "mutation($e:String!,$p:String!){ customerAccessTokenCreate(input:{email:$e, password:$p}) { customerAccessToken { accessToken } customerUserErrors { code field message } } }";
const RECOVER: &str =
    "mutation($e:String!){ customerRecover(email:$e) { customerUserErrors { code field message } } }";
const RESET_LIMIT: &str = "Resetting password limit exceeded. Please try again later.";

/// Creates a storefront token through the admin API; `kind` None leaves the field out.
async fn create_token(s: &TestServer, kind: Option<&str>) -> Value {
    let mut body = json!({"title": "shop", "scopes": ["unauthenticated_write_customers"]});
    if let Some(k) = kind {
        body["kind"] = json!(k);
    }
    let (status, created) = s
        .admin("POST", "/rest/V1/storefront-tokens", Some(body))
        .await;
    assert_eq!(status, 200, "{created}");
    created
}

async fn token(s: &TestServer, kind: &str) -> String {
    create_token(s, Some(kind)).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// POSTs a Storefront operation with the given headers; returns (status, raw body).
async fn post(s: &TestServer, headers: &[(&str, &str)], query: &str, vars: Value) -> (u16, String) {
    let mut req = s
        .http
        .post(s.url(PATH))
        .header("Content-Type", "application/json")
        .body(json!({"query": query, "variables": vars}).to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// Signs BOB in with his right password; true when a customer access token comes back.
async fn signs_in(s: &TestServer, headers: &[(&str, &str)]) -> bool {
    let (status, text) = post(
        s,
        headers,
        TOKEN_CREATE,
        json!({"e": BOB, "p": BOB_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let payload = &body["data"]["customerAccessTokenCreate"];
    if payload["customerAccessToken"].is_null() {
        // A throttled sign-in looks like a wrong password to the client.
        assert_eq!(
            payload["customerUserErrors"][0]["message"],
            "Unidentified customer"
        );
        false
    } else {
        true
    }
}

/// Asks for a password reset of a fresh address; true when the request is not rate-limited.
async fn recovers(s: &TestServer, headers: &[(&str, &str)], n: usize) -> bool {
    let email = format!("shopper{n}@example.com");
    let (status, text) = post(s, headers, RECOVER, json!({"e": email})).await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    match body.get("errors") {
        None => {
            assert_eq!(
                body["data"]["customerRecover"]["customerUserErrors"],
                json!([])
            );
            true
        }
        Some(errors) => {
            assert_eq!(errors[0]["message"], RESET_LIMIT);
            false
        }
    }
}

#[tokio::test]
async fn public_token_in_the_private_header_is_unauthorized() {
    let s = TestServer::start().await;
    let public = token(&s, "public").await;
    let (status, text) = post(&s, &[(PRIVATE, &public)], CUSTOMER, json!({"t": "x"})).await;
    assert_eq!((status, text.as_str()), (401, UNAUTHORIZED));
    let (status, text) = post(&s, &[(PUBLIC, &public)], CUSTOMER, json!({"t": "x"})).await;
    assert_eq!(
        (status, text.as_str()),
        (200, r#"{"data":{"customer":null}}"#)
    );
}

#[tokio::test]
async fn private_token_in_the_public_header_is_unauthorized() {
    let s = TestServer::start().await;
    let private = token(&s, "private").await;
    let (status, text) = post(&s, &[(PUBLIC, &private)], CUSTOMER, json!({"t": "x"})).await;
    assert_eq!((status, text.as_str()), (401, UNAUTHORIZED));
    let (status, text) = post(&s, &[(PRIVATE, &private)], CUSTOMER, json!({"t": "x"})).await;
    assert_eq!(
        (status, text.as_str()),
        (200, r#"{"data":{"customer":null}}"#)
    );
}

#[tokio::test]
async fn with_both_headers_each_token_must_be_valid_in_its_own_header() {
    let s = TestServer::start().await;
    let public = token(&s, "public").await;
    let private = token(&s, "private").await;
    let vars = json!({"t": "x"});
    let (status, _) = post(
        &s,
        &[(PUBLIC, &public), (PRIVATE, &private)],
        CUSTOMER,
        vars.clone(),
    )
    .await;
    assert_eq!(status, 200);
    for headers in [
        [(PUBLIC, public.as_str()), (PRIVATE, "not-a-token")],
        [(PUBLIC, "not-a-token"), (PRIVATE, private.as_str())],
        [(PUBLIC, private.as_str()), (PRIVATE, public.as_str())],
    ] {
        let (status, text) = post(&s, &headers, CUSTOMER, vars.clone()).await;
        assert_eq!((status, text.as_str()), (401, UNAUTHORIZED), "{headers:?}");
    }
}

#[tokio::test]
async fn buyer_ip_with_a_public_token_does_not_escape_the_sign_in_throttle() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 3).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let public = token(&s, "public").await;
    for i in 1..=3 {
        let ip = format!("203.0.113.{i}");
        assert!(
            signs_in(&s, &[(PUBLIC, &public), (BUYER_IP, &ip)]).await,
            "sign-in {i}"
        );
    }
    assert!(!signs_in(&s, &[(PUBLIC, &public), (BUYER_IP, "203.0.113.4")]).await);
    // Sent in the private header, the public token is no way around it either.
    let (status, text) = post(
        &s,
        &[(PRIVATE, &public), (BUYER_IP, "203.0.113.5")],
        TOKEN_CREATE,
        json!({"e": BOB, "p": BOB_PASSWORD}),
    )
    .await;
    assert_eq!((status, text.as_str()), (401, UNAUTHORIZED));
}

#[tokio::test]
async fn buyer_ip_with_a_public_token_does_not_escape_the_recover_limit() {
    let s = TestServer::start_with(|c| {
        c.reset.max_requests_per_hour = 3;
        c.reset.min_minutes_between = 0;
    })
    .await;
    let public = token(&s, "public").await;
    for i in 1..=3 {
        let ip = format!("203.0.113.{i}");
        assert!(
            recovers(&s, &[(PUBLIC, &public), (BUYER_IP, &ip)], i).await,
            "request {i}"
        );
    }
    assert!(!recovers(&s, &[(PUBLIC, &public), (BUYER_IP, "203.0.113.4")], 4).await);
    let (status, text) = post(
        &s,
        &[(PRIVATE, &public), (BUYER_IP, "203.0.113.5")],
        RECOVER,
        json!({"e": "shopper5@example.com"}),
    )
    .await;
    assert_eq!((status, text.as_str()), (401, UNAUTHORIZED));
}

#[tokio::test]
async fn with_a_private_token_the_buyer_ip_is_throttled() {
    let s = TestServer::start_with(|c| {
        c.throttle.login_per_ip_per_minute = 3;
        c.reset.max_requests_per_hour = 3;
        c.reset.min_minutes_between = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let private = token(&s, "private").await;
    let first = [(PRIVATE, private.as_str()), (BUYER_IP, "198.51.100.7")];
    let second = [(PRIVATE, private.as_str()), (BUYER_IP, "198.51.100.8")];
    for i in 1..=3 {
        assert!(signs_in(&s, &first).await, "sign-in {i}");
    }
    assert!(!signs_in(&s, &first).await);
    assert!(signs_in(&s, &second).await);

    for i in 1..=3 {
        assert!(recovers(&s, &first, i).await, "request {i}");
    }
    assert!(!recovers(&s, &first, 4).await);
    assert!(recovers(&s, &second, 5).await);
}

#[tokio::test]
async fn with_both_headers_the_private_token_carries_the_buyer_ip() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 1).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let public = token(&s, "public").await;
    let private = token(&s, "private").await;
    for ip in ["198.51.100.1", "198.51.100.2"] {
        let headers = [
            (PUBLIC, public.as_str()),
            (PRIVATE, private.as_str()),
            (BUYER_IP, ip),
        ];
        assert!(signs_in(&s, &headers).await, "{ip}");
    }
}

#[tokio::test]
async fn ipv6_buyers_in_one_64_share_a_budget() {
    let s = TestServer::start_with(|c| c.throttle.login_per_ip_per_minute = 1).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let private = token(&s, "private").await;
    let a = [(PRIVATE, private.as_str()), (BUYER_IP, "2001:db8:1:2::1")];
    let b = [
        (PRIVATE, private.as_str()),
        (BUYER_IP, "2001:db8:1:2:ffff::9"),
    ];
    let c = [(PRIVATE, private.as_str()), (BUYER_IP, "2001:db8:1:3::1")];
    assert!(signs_in(&s, &a).await);
    assert!(!signs_in(&s, &b).await);
    assert!(signs_in(&s, &c).await);
}

#[tokio::test]
async fn listing_shows_the_kind_and_a_token_made_without_one_is_public() {
    let s = TestServer::start().await;
    let plain = create_token(&s, None).await;
    assert_eq!(plain["kind"], "public");
    let private = create_token(&s, Some("private")).await;
    assert_eq!(
        private.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["access_token", "id", "kind", "scopes", "title"]
    );
    assert_eq!(private["kind"], "private");
    let (status, list) = s.admin("GET", "/rest/V1/storefront-tokens", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!([
            {"id": plain["id"], "title": "shop", "scopes": ["unauthenticated_write_customers"], "kind": "public"},
            {"id": private["id"], "title": "shop", "scopes": ["unauthenticated_write_customers"], "kind": "private"},
        ])
    );
    let plain_token = plain["access_token"].as_str().unwrap();
    let (status, _) = post(&s, &[(PUBLIC, plain_token)], CUSTOMER, json!({"t": "x"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_kind_is_refused_and_nothing_is_created() {
    let s = TestServer::start().await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(json!({"title": "shop", "scopes": [], "kind": "secret"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"message": "Unknown kind \"secret\". Known kinds: public, private."})
        )
    );
    let (_, list) = s.admin("GET", "/rest/V1/storefront-tokens", None).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn creating_and_deleting_a_token_is_audited_with_the_admin_name() {
    let s = TestServer::start().await;
    let created = create_token(&s, Some("private")).await;
    let id = created["id"].as_u64().unwrap();
    let (status, _) = s
        .admin("DELETE", &format!("/rest/V1/storefront-tokens/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let (_, audit) = s.admin("GET", "/rest/V1/audit", None).await;
    let entries: Vec<(Value, Value, Value)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].clone(), e["action"].clone(), e["detail"].clone()))
        .collect();
    assert_eq!(
        entries,
        [
            (
                json!("env"),
                json!("storefront_token_created"),
                json!(format!("id {id}: shop (private)"))
            ),
            (
                json!("env"),
                json!("storefront_token_deleted"),
                json!(format!("id {id}"))
            ),
        ]
    );
}
