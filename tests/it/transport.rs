//! How browser storefronts reach the Commerce dialect: queries over GET (Venia's
//! `useGETForQueries`), CORS for another origin, and the session cookie with its CSRF rule.

use crate::support::*;
use serde_json::{json, Value};

const CSRF: &str = "This request carries the storekey_session cookie but neither a Content-Type of application/json nor an X-Requested-With or apollo-require-preflight header: refused as a possible cross-site request forgery.";
const MUTATION_OVER_GET: &str =
    "Mutations cannot be sent over GET: send them with POST (GraphQL over HTTP).";
const TOO_DEEP: &str =
    "The query is nested too deeply: more than 64 levels of brackets (server.max_value_depth).";
const COOKIE: &str = "storekey_session";

/// GET /graphql with the given query-string pairs (form-encoded, as Venia's fetch sends them).
async fn get(
    s: &TestServer,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = s.http.get(s.url("/graphql")).query(params);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    (status, resp.json().await.unwrap())
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

async fn with_cookies() -> TestServer {
    let s = TestServer::start_with(|c| c.tokens.session_cookie = true).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    s
}

/// Signs Bob in over POST; returns (token, the Set-Cookie headers).
async fn sign_in_for_cookie(s: &TestServer) -> (String, Vec<String>) {
    let resp = s
        .http
        .post(s.url("/graphql"))
        .json(&json!({
            "query": "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }",
            "variables": {"e": BOB, "p": BOB_PASSWORD}
        }))
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&resp);
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["generateCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    (token, cookies)
}

/// POST /graphql with a raw body, content type and extra headers.
async fn post_raw(
    s: &TestServer,
    body: String,
    content_type: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = s
        .http
        .post(s.url("/graphql"))
        .header("Content-Type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_get_query_with_variables_reads_the_customer_with_a_bearer() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    // Venia's GetCustomerAfterSignIn: operationName, JSON variables, __typename, spaces as `+`.
    let query = "query GetCustomerAfterSignIn($withName: Boolean!) { customer { email firstname @include(if: $withName) __typename } }";
    let bearer = format!("Bearer {token}");
    let resp = get(
        &s,
        &[
            ("query", query),
            ("operationName", "GetCustomerAfterSignIn"),
            ("variables", r#"{"withName":true}"#),
        ],
        &[("authorization", &bearer), ("store", "default")],
    )
    .await;
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"customer": {"email": BOB, "firstname": "Bob", "__typename": "Customer"}}})
    );
    let metrics = s.metrics().await;
    assert!(
        metrics.contains(r#"operation="customer",outcome="ok""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_get_query_encoded_with_encode_uri_component_is_decoded() {
    // Apollo's own GET link: encodeURIComponent, so a space is %20 and a `+` is %2B.
    let s = TestServer::start().await;
    let url = s.url(
        "/graphql?query=query%20Q(%24e%3AString!)%7BisEmailAvailable(email%3A%24e)%7Bis_email_available%7D%7D&variables=%7B%22e%22%3A%22a%2Bb%40example.com%22%7D",
    );
    let (status, body) = json_of(s.http.get(url).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"isEmailAvailable": {"is_email_available": true}}})
    );
}

#[tokio::test]
async fn a_get_with_an_invalid_bearer_is_401() {
    let s = TestServer::start().await;
    let resp = get(
        &s,
        &[("query", "{ storeConfig { minimum_password_length } }")],
        &[("authorization", "Bearer nosuchtoken")],
    )
    .await;
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(first_error(&body).1, "graphql-authentication", "{body}");
}

#[tokio::test]
async fn a_get_mutation_is_refused_with_405_and_nothing_is_written() {
    let s = TestServer::start().await;
    let create = r#"mutation { createCustomerV2(input:{firstname:"G", lastname:"E", email:"get@example.com", password:"G3t!passw0rd"}) { customer { email } } }"#;
    let resp = get(&s, &[("query", create)], &[]).await;
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"].to_str().unwrap(), "POST");
    let (_, body) = json_of(resp).await;
    assert_eq!(
        first_error(&body),
        (MUTATION_OVER_GET.to_string(), "graphql-input".to_string())
    );
    // A document holding a query too, with the mutation picked by operationName.
    let both = format!(
        "query Q {{ storeConfig {{ minimum_password_length }} }} {}",
        create.replacen("mutation", "mutation M", 1)
    );
    let resp = get(&s, &[("query", &both), ("operationName", "M")], &[]).await;
    assert_eq!(resp.status().as_u16(), 405);
    assert!(s
        .auth()
        .customer_by_email("get@example.com")
        .await
        .unwrap()
        .is_none());
    // The same document's query still runs over GET.
    let resp = get(&s, &[("query", &both), ("operationName", "Q")], &[]).await;
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["storeConfig"].is_object(), "{body}");
}

#[tokio::test]
async fn a_get_without_query_serves_the_explorer() {
    let s = TestServer::start().await;
    let resp = s.http.get(s.url("/graphql")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(resp.text().await.unwrap().contains("storekey explorer"));
    let off = TestServer::start_with(|c| c.server.graphiql = false).await;
    let resp = off.http.get(off.url("/graphql")).send().await.unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        "The explorer is disabled (server.graphiql = false)."
    );
}

#[tokio::test]
async fn a_hostile_get_document_is_refused_by_the_gate() {
    let s = TestServer::start().await;
    let deep = format!(
        "{{ isEmailAvailable(email: {}\"a@example.com\"{}) {{ is_email_available }} }}",
        "[".repeat(2000),
        "]".repeat(2000)
    );
    let (status, body) = json_of(get(&s, &[("query", &deep)], &[]).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        first_error(&body),
        (TOO_DEEP.to_string(), "graphql-input".to_string())
    );
}

#[tokio::test]
async fn a_get_query_string_over_the_body_limit_is_414() {
    let s = TestServer::start_with(|c| c.server.body_limit_bytes = 1024).await;
    let long = format!(
        "{{ storeConfig {{ minimum_password_length }} }} # {}",
        "x".repeat(1100)
    );
    let (status, body) = json_of(get(&s, &[("query", &long)], &[]).await).await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(
        first_error(&body).0,
        "The query string is longer than the limit of 1024 bytes (server.body_limit_bytes)."
    );
}

#[tokio::test]
async fn malformed_get_parameters_are_400() {
    let s = TestServer::start().await;
    let q = "{ storeConfig { minimum_password_length } }";
    let (status, body) = json_of(get(&s, &[("query", q), ("variables", "{nope")], &[]).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        first_error(&body).0,
        "The \"variables\" parameter is not a JSON object."
    );
    let url = s.url("/graphql?query=%7B%ZZ");
    let (status, body) = json_of(s.http.get(url).send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        first_error(&body).0,
        "The query string is not valid percent-encoded UTF-8."
    );
}

#[tokio::test]
async fn a_cors_preflight_allows_magento_headers_and_credentials() {
    let s = TestServer::start_with(|c| c.server.cors_origins = vec!["https://shop.example".into()])
        .await;
    let preflight = |origin: &'static str, method: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, s.url("/graphql"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type,store,x-magento-cache-id,content-currency,x-recaptcha,accept,x-requested-with,apollo-require-preflight",
            )
            .send()
    };
    for method in ["GET", "POST"] {
        let ok = preflight("https://shop.example", method).await.unwrap();
        assert_eq!(ok.status().as_u16(), 200, "{method}");
        let h = ok.headers();
        assert_eq!(h["access-control-allow-origin"], "https://shop.example");
        assert_eq!(h["access-control-allow-credentials"], "true");
        let allowed = h["access-control-allow-headers"].to_str().unwrap();
        for name in [
            "store",
            "x-magento-cache-id",
            "x-recaptcha",
            "apollo-require-preflight",
        ] {
            assert!(allowed.contains(name), "{allowed}");
        }
    }
    let refused = preflight("https://evil.example", "GET").await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert!(refused
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    // The actual request from the configured origin carries the credentials allowance too.
    let resp = s
        .http
        .get(s.url("/graphql?query=%7BstoreConfig%7Bstore_name%3A__typename%7D%7D"))
        .header("Origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
}

/// The CORS allowance headers a response carries (any `access-control-allow-*`).
fn cors_allowances(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-allow"))
        .collect()
}

#[tokio::test]
async fn cors_covers_the_graphql_endpoints_only() {
    let s = TestServer::start_with(|c| c.server.cors_origins = vec!["https://shop.example".into()])
        .await;
    let preflight = |path: &str, method: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, s.url(path))
            .header("Origin", "https://shop.example")
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    for path in ["/graphql", "/api/2024-01/graphql.json"] {
        let ok = preflight(path, "POST").await.unwrap();
        assert_eq!(ok.status().as_u16(), 200, "{path}");
        assert_eq!(
            ok.headers()["access-control-allow-origin"],
            "https://shop.example"
        );
        assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
        let resp = s
            .http
            .post(s.url(path))
            .header("Origin", "https://shop.example")
            .header("content-type", "application/json")
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers()["access-control-allow-credentials"],
            "true",
            "{path}"
        );
    }
    // The console, the REST API and metrics: no allowance for a preflight, nor on the answer
    // to a request sent with the origin and the admin's credentials.
    for path in [
        "/admin/login",
        "/admin/customers",
        "/rest/V1/customers/1",
        "/rest/V1/backup",
        "/metrics",
    ] {
        for method in ["GET", "POST", "DELETE"] {
            let resp = preflight(path, method).await.unwrap();
            assert_eq!(
                cors_allowances(&resp),
                Vec::<String>::new(),
                "OPTIONS {path}"
            );
        }
        let resp = s
            .http
            .get(s.url(path))
            .header("Origin", "https://shop.example")
            .header("authorization", format!("Bearer {ADMIN_KEY}"))
            .header("cookie", "storekey_admin=x")
            .send()
            .await
            .unwrap();
        assert_eq!(cors_allowances(&resp), Vec::<String>::new(), "GET {path}");
    }
}

#[tokio::test]
async fn sign_in_sets_the_session_cookie() {
    let s = with_cookies().await;
    let (token, cookies) = sign_in_for_cookie(&s).await;
    assert_eq!(
        cookies,
        vec![format!(
            "{COOKIE}={token}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
        )]
    );
    // A sign-in a cross-site form could send (simple content type) plants no session.
    let body = json!({
        "query": "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }",
        "variables": {"e": BOB, "p": BOB_PASSWORD}
    });
    let resp = post_raw(&s, body.to_string(), "text/plain", &[]).await;
    assert!(set_cookies(&resp).is_empty());
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    // Off by default: no cookie.
    let plain = TestServer::start().await;
    plain.create_customer(BOB, BOB_PASSWORD).await;
    let (_, cookies) = sign_in_for_cookie(&plain).await;
    assert!(cookies.is_empty(), "{cookies:?}");
}

#[tokio::test]
async fn a_cookie_only_request_with_a_json_content_type_is_the_customer() {
    let s = with_cookies().await;
    let (token, _) = sign_in_for_cookie(&s).await;
    let cookie = format!("{COOKIE}={token}");
    let resp = post_raw(
        &s,
        json!({"query": "{ customer { email } }"}).to_string(),
        "application/json",
        &[("cookie", &cookie)],
    )
    .await;
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"data": {"customer": {"email": BOB}}}));
    // A GET carrying the preflight header works too (Venia's reads).
    let resp = get(
        &s,
        &[("query", "{ customer { email } }")],
        &[("cookie", &cookie), ("x-requested-with", "XMLHttpRequest")],
    )
    .await;
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"data": {"customer": {"email": BOB}}}));
}

#[tokio::test]
async fn a_cookie_only_get_without_a_preflight_header_is_refused() {
    let s = with_cookies().await;
    let (token, _) = sign_in_for_cookie(&s).await;
    let cookie = format!("{COOKIE}={token}");
    let resp = get(
        &s,
        &[("query", "{ customer { email } }")],
        &[("cookie", &cookie)],
    )
    .await;
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        first_error(&body),
        (CSRF.to_string(), "graphql-authorization".to_string())
    );
    assert!(body.get("data").is_none(), "{body}");
}

#[tokio::test]
async fn a_form_encoded_post_with_the_cookie_is_refused_and_nothing_changes() {
    let s = with_cookies().await;
    let (token, _) = sign_in_for_cookie(&s).await;
    let cookie = format!("{COOKIE}={token}");
    // What a cross-site <form> can send: a simple content type, no custom header.
    let body = json!({"query": "mutation { updateCustomerV2(input:{firstname:\"Mallory\"}) { customer { firstname } } }"}).to_string();
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let resp = post_raw(&s, body.clone(), content_type, &[("cookie", &cookie)]).await;
        let (status, answer) = json_of(resp).await;
        assert_eq!(status, 403, "{content_type}: {answer}");
        assert_eq!(first_error(&answer).0, CSRF);
    }
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.customer.profile.firstname.as_deref(), Some("Bob"));
}

#[tokio::test]
async fn the_authorization_header_wins_over_the_cookie() {
    let s = with_cookies().await;
    s.create_customer("alice@example.com", "Al1ce!passw0rd")
        .await;
    let (bob_token, _) = sign_in_for_cookie(&s).await;
    let alice = s.token("alice@example.com", "Al1ce!passw0rd").await;
    let cookie = format!("{COOKIE}={bob_token}");
    let bearer = format!("Bearer {alice}");
    let resp = post_raw(
        &s,
        json!({"query": "{ customer { email } }"}).to_string(),
        "application/json",
        &[("cookie", &cookie), ("authorization", &bearer)],
    )
    .await;
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["customer"]["email"], "alice@example.com");
    // Venia's guest header, `authorization: ''`, is no Bearer token: the cookie applies.
    let resp = post_raw(
        &s,
        json!({"query": "{ customer { email } }"}).to_string(),
        "application/json",
        &[("cookie", &cookie), ("authorization", "")],
    )
    .await;
    let (_, body) = json_of(resp).await;
    assert_eq!(body["data"]["customer"]["email"], BOB);
}

#[tokio::test]
async fn revoke_clears_the_cookie_and_kills_its_token() {
    let s = with_cookies().await;
    let (token, _) = sign_in_for_cookie(&s).await;
    let cookie = format!("{COOKIE}={token}");
    let resp = post_raw(
        &s,
        json!({"query": "mutation { revokeCustomerToken { result } }"}).to_string(),
        "application/json",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(
        set_cookies(&resp),
        vec![format!(
            "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        )]
    );
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["revokeCustomerToken"]["result"], true);
    assert_eq!(s.whoami(&token).await.0, 401);
}

#[tokio::test]
async fn a_stale_cookie_is_a_guest_and_is_cleared() {
    let s = with_cookies().await;
    let resp = post_raw(
        &s,
        json!({"query": "{ customer { email } }"}).to_string(),
        "application/json",
        &[(
            "cookie",
            "other=1; storekey_session=0123456789abcdef0123456789abcdef",
        )],
    )
    .await;
    assert_eq!(
        set_cookies(&resp),
        vec![format!(
            "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        )]
    );
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        first_error(&body),
        (
            "The current customer isn't authorized.".to_string(),
            "graphql-authorization".to_string()
        )
    );
}
