//! The Storefront dialect's contract (SPEC §6): storefront tokens and scopes, Multipass sign-in
//! with every refusal, and the customer-token mutations with Shopify's codes and messages.

use crate::support::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use storekey::auth::multipass::MultipassKey;
use storekey::auth::storefront_tokens::{
    StorefrontTokenKind, READ_CUSTOMERS, READ_CUSTOMER_TAGS, WRITE_CUSTOMERS,
};
use storekey::auth::CustomerChanges;
use storekey::store::Backend as _;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const SECRET: &str = "multipass secret from shop admin";
const PATH: &str = "/api/2026-04/graphql.json";
const UNAUTHORIZED: &str = r#"{"errors":[{"message":"","extensions":{"code":"UNAUTHORIZED"}}]}"#;

const MULTIPASS: &str = "mutation($t:String!){ customerAccessTokenCreateWithMultipass(multipassToken:$t) { customerAccessToken { accessToken expiresAt } customerUserErrors { code field message } } }";
const CUSTOMER: &str = "query($t:String!){ customer(customerAccessToken:$t) { id email firstName lastName displayName phone acceptsMarketing createdAt updatedAt } }";
const CUSTOMER_TAGS: &str = "query($t:String!){ customer(customerAccessToken:$t) { email tags } }";
const TOKEN_CREATE: &str = "mutation($e:String!,$p:String!){ customerAccessTokenCreate(input:{email:$e, password:$p}) { customerAccessToken { accessToken expiresAt } customerUserErrors { code field message } userErrors { field message } } }";
const RENEW: &str = "mutation($t:String!){ customerAccessTokenRenew(customerAccessToken:$t) { customerAccessToken { accessToken expiresAt } userErrors { field message } } }";
const DELETE: &str = "mutation($t:String!){ customerAccessTokenDelete(customerAccessToken:$t) { deletedAccessToken deletedCustomerAccessTokenId userErrors { field message } } }";
const CREATE: &str = "mutation($i:CustomerCreateInput!){ customerCreate(input:$i) { customer { id email firstName lastName acceptsMarketing } customerUserErrors { code field message } } }";
const UPDATE: &str = "mutation($t:String!,$c:CustomerUpdateInput!){ customerUpdate(customerAccessToken:$t, customer:$c) { customer { email firstName } customerAccessToken { accessToken } customerUserErrors { code field message } } }";
const RECOVER: &str =
    "mutation($e:String!){ customerRecover(email:$e) { customerUserErrors { code field message } } }";
const RESET: &str = "mutation($id:ID!,$t:String!,$p:String!){ customerReset(id:$id, input:{resetToken:$t, password:$p}) { customer { email } customerAccessToken { accessToken } customerUserErrors { code field message } } }";
const RESET_BY_URL: &str = "mutation($u:URL!,$p:String!){ customerResetByUrl(resetUrl:$u, password:$p) { customer { email } customerAccessToken { accessToken } customerUserErrors { code field message } } }";

fn key() -> MultipassKey {
    MultipassKey::new(SECRET).unwrap()
}

/// A server with Multipass on, and a storefront token with every customer scope.
async fn start() -> (TestServer, String) {
    start_with(|_| {}).await
}

async fn start_with(tweak: impl FnOnce(&mut storekey::config::Config)) -> (TestServer, String) {
    let s = TestServer::start_with(|c| {
        c.multipass.secret = SECRET.into();
        tweak(c);
    })
    .await;
    let token = storefront_token(&s, &[WRITE_CUSTOMERS, READ_CUSTOMER_TAGS]).await;
    (s, token)
}

async fn storefront_token(s: &TestServer, scopes: &[&str]) -> String {
    storefront_token_of_kind(s, scopes, StorefrontTokenKind::Public).await
}

async fn storefront_token_of_kind(
    s: &TestServer,
    scopes: &[&str],
    kind: StorefrontTokenKind,
) -> String {
    let (_, token) = s
        .auth()
        .create_storefront_token(
            "test",
            "test storefront",
            scopes.iter().map(|x| x.to_string()).collect(),
            kind,
        )
        .await
        .unwrap();
    token.expose().to_string()
}

/// POST to the Storefront endpoint with the public token header; returns (status, body).
async fn sf(s: &TestServer, token: &str, query: &str, variables: Value) -> (u16, Value) {
    sf_with(
        s,
        Some(("X-Shopify-Storefront-Access-Token", token)),
        query,
        variables,
    )
    .await
}

async fn sf_with(
    s: &TestServer,
    header: Option<(&str, &str)>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let (status, text) = sf_raw(
        s,
        PATH,
        header,
        &json!({"query": query, "variables": variables}).to_string(),
    )
    .await;
    (status, serde_json::from_str(&text).unwrap())
}

async fn sf_raw(
    s: &TestServer,
    path: &str,
    header: Option<(&str, &str)>,
    body: &str,
) -> (u16, String) {
    let mut req = s
        .http
        .post(s.url(path))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    (status, resp.text().await.unwrap())
}

fn iso(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

fn server_now(s: &TestServer) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s.auth().now()).unwrap()
}

fn parse_iso(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).unwrap()
}

/// A Multipass token made now (server clock) for `claims` plus `created_at`.
fn mp_token(s: &TestServer, mut claims: Value) -> String {
    if claims.get("created_at").is_none() {
        claims["created_at"] = json!(iso(server_now(s)));
    }
    key().encode(&claims.to_string())
}

/// The multipass mutation's payload.
async fn multipass(s: &TestServer, sf_token: &str, token: &str) -> Value {
    let (status, body) = sf(s, sf_token, MULTIPASS, json!({"t": token})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["customerAccessTokenCreateWithMultipass"].clone()
}

/// Signs in with Multipass and returns the customer access token.
async fn multipass_ok(s: &TestServer, sf_token: &str, token: &str) -> String {
    let payload = multipass(s, sf_token, token).await;
    assert_eq!(payload["customerUserErrors"], json!([]), "{payload}");
    payload["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string()
}

fn invalid_multipass() -> Value {
    json!({
        "customerAccessToken": null,
        "customerUserErrors": [{"code": "INVALID_MULTIPASS_REQUEST", "field": ["multipassToken"], "message": "Invalid Multipass request"}]
    })
}

fn taken_multipass() -> Value {
    json!({
        "customerAccessToken": null,
        "customerUserErrors": [{"code": "TAKEN", "field": ["multipassToken"], "message": "The given email address is already used by another customer (with a different Multipass identifier)"}]
    })
}

async fn customer(s: &TestServer, sf_token: &str, access_token: &str) -> Value {
    let (status, body) = sf(s, sf_token, CUSTOMER, json!({"t": access_token})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["customer"].clone()
}

async fn customer_id(s: &TestServer, email: &str) -> storekey::model::CustomerId {
    s.auth().customer_by_email(email).await.unwrap().unwrap().id
}

// ------------------------------------------------------------------ Multipass: accepted

#[tokio::test]
async fn multipass_token_made_now_signs_in_and_creates_the_customer() {
    let (s, sf_token) = start().await;
    // The clock stands still: the lifetime is asserted to the second.
    let now = s.auth().now();
    s.clock.set(now);
    let token = mp_token(
        &s,
        json!({"email": "nicpotts@example.com", "first_name": "Nic", "last_name": "Potts", "tag_string": "canadian, premium", "identifier": "nic123", "return_to": "http://yourstore.com/some_specific_site"}),
    );
    let payload = multipass(&s, &sf_token, &token).await;
    assert_eq!(payload["customerUserErrors"], json!([]));
    let access = payload["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(access.len(), 32);
    // Valid storefront_ttl_days (42) from now, as an ISO 8601 UTC string.
    let expires = payload["customerAccessToken"]["expiresAt"]
        .as_str()
        .unwrap();
    assert!(expires.ends_with('Z'), "{expires}");
    assert_eq!(
        parse_iso(&payload["customerAccessToken"]["expiresAt"]).unix_timestamp(),
        now + 42 * 86_400
    );

    let c = customer(&s, &sf_token, access).await;
    let id = customer_id(&s, "nicpotts@example.com").await;
    assert_eq!(c["id"], json!(format!("gid://shopify/Customer/{id}")));
    assert_eq!(c["email"], "nicpotts@example.com");
    assert_eq!(c["firstName"], "Nic");
    assert_eq!(c["lastName"], "Potts");
    assert_eq!(c["displayName"], "Nic Potts");
    assert_eq!(c["phone"], Value::Null);
    assert_eq!(c["acceptsMarketing"], false);
    assert!(c["createdAt"].as_str().unwrap().ends_with('Z'));
    parse_iso(&c["updatedAt"]);

    let (_, body) = sf(&s, &sf_token, CUSTOMER_TAGS, json!({"t": access})).await;
    assert_eq!(
        body,
        json!({"data": {"customer": {"email": "nicpotts@example.com", "tags": ["canadian", "premium"]}}})
    );
    let record = s.auth().account(id).await.unwrap().unwrap();
    assert_eq!(
        record.customer.multipass_identifier.as_deref(),
        Some("nic123")
    );
    assert!(record.credentials.password_hash.is_none());
    assert!(record.customer.confirmed);
}

#[tokio::test]
async fn multipass_fixed_iv_token_signs_in() {
    let (s, sf_token) = start().await;
    let json =
        json!({"email": "nicpotts@example.com", "created_at": iso(server_now(&s))}).to_string();
    let token = key().encode_with_iv(
        &json,
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    );
    assert!(token.starts_with("AAECAwQFBgcICQoLDA0OD"));
    multipass_ok(&s, &sf_token, &token).await;
}

#[tokio::test]
async fn multipass_accepts_padded_unpadded_and_standard_base64() {
    let (s, sf_token) = start().await;
    for (i, encode) in [
        (|b: &[u8]| URL_SAFE.encode(b)) as fn(&[u8]) -> String,
        |b| URL_SAFE_NO_PAD.encode(b),
        |b| STANDARD.encode(b),
    ]
    .into_iter()
    .enumerate()
    {
        let padded = mp_token(&s, json!({"email": format!("b64-{i}@example.com")}));
        let raw = URL_SAFE.decode(&padded).unwrap();
        multipass_ok(&s, &sf_token, &encode(&raw)).await;
    }
}

#[tokio::test]
async fn multipass_accepts_fractional_seconds_and_offsets() {
    let (s, sf_token) = start().await;
    let now = server_now(&s);
    let offset = now.to_offset(time::macros::offset!(-04:00));
    let cases = [
        // JavaScript's toISOString(): milliseconds and Z.
        format!(
            "{}.{:03}Z",
            now.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .unwrap(),
            123
        ),
        // Ruby's Time#iso8601 in a shop west of UTC.
        offset.format(&Rfc3339).unwrap(),
        // Microseconds and an explicit +00:00 (Elixir, PHP date("c")).
        format!(
            "{}.123456+00:00",
            now.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .unwrap()
        ),
    ];
    for (i, created_at) in cases.iter().enumerate() {
        let token = mp_token(
            &s,
            json!({"email": format!("ts-{i}@example.com"), "created_at": created_at}),
        );
        multipass_ok(&s, &sf_token, &token).await;
    }
}

#[tokio::test]
async fn multipass_accepts_a_token_within_the_skew_window() {
    let (s, sf_token) = start().await;
    let soon = server_now(&s) + time::Duration::seconds(30);
    let token = mp_token(
        &s,
        json!({"email": "early@example.com", "created_at": iso(soon)}),
    );
    multipass_ok(&s, &sf_token, &token).await;
}

// ------------------------------------------------------------------ Multipass: refused

#[tokio::test]
async fn multipass_replay_is_refused_also_after_a_restart() {
    let (mut s, sf_token) = start().await;
    let token = mp_token(&s, json!({"email": "once@example.com"}));
    multipass_ok(&s, &sf_token, &token).await;
    assert_eq!(multipass(&s, &sf_token, &token).await, invalid_multipass());
    // Another encoding of the same bytes is the same token.
    let unpadded = URL_SAFE_NO_PAD.encode(URL_SAFE.decode(&token).unwrap());
    assert_eq!(
        multipass(&s, &sf_token, &unpadded).await,
        invalid_multipass()
    );
    s.restart().await;
    assert_eq!(multipass(&s, &sf_token, &token).await, invalid_multipass());
}

#[tokio::test]
async fn multipass_expired_token_is_refused() {
    let (s, sf_token) = start().await;
    let old = server_now(&s) - time::Duration::minutes(16);
    let token = mp_token(
        &s,
        json!({"email": "late@example.com", "created_at": iso(old)}),
    );
    assert_eq!(multipass(&s, &sf_token, &token).await, invalid_multipass());

    // A fresh token left unused past max_age_minutes.
    let token = mp_token(&s, json!({"email": "late@example.com"}));
    s.clock.advance(15 * 60 + 2);
    assert_eq!(multipass(&s, &sf_token, &token).await, invalid_multipass());
    assert!(s
        .auth()
        .customer_by_email("late@example.com")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn multipass_token_from_beyond_the_skew_is_refused() {
    let (s, sf_token) = start().await;
    let future = server_now(&s) + time::Duration::seconds(120);
    let token = mp_token(
        &s,
        json!({"email": "future@example.com", "created_at": iso(future)}),
    );
    assert_eq!(multipass(&s, &sf_token, &token).await, invalid_multipass());
}

#[tokio::test]
async fn multipass_tampered_tokens_are_refused() {
    let (s, sf_token) = start().await;
    let token = mp_token(&s, json!({"email": "tamper@example.com"}));
    let raw = URL_SAFE.decode(&token).unwrap();
    let flip = |at: usize| {
        let mut b = raw.clone();
        b[at] ^= 0x01;
        URL_SAFE.encode(b)
    };
    let tampered = [
        ("iv", flip(3)),
        ("ciphertext", flip(20)),
        ("signature", flip(raw.len() - 1)),
        ("truncated", URL_SAFE.encode(&raw[..raw.len() - 16])),
        ("truncated text", token[..token.len() - 10].to_string()),
        ("too short", URL_SAFE.encode(&raw[..40])),
        ("not base64", "this is not base64 at all!".to_string()),
        ("empty", String::new()),
        (
            "wrong secret",
            MultipassKey::new("another shop's secret").unwrap().encode(
                &json!({"email": "tamper@example.com", "created_at": iso(server_now(&s))})
                    .to_string(),
            ),
        ),
    ];
    for (what, t) in &tampered {
        assert_eq!(
            multipass(&s, &sf_token, t).await,
            invalid_multipass(),
            "{what}"
        );
    }
    // None of them used up the real token.
    multipass_ok(&s, &sf_token, &token).await;
}

#[tokio::test]
async fn multipass_signed_payloads_without_valid_claims_are_refused() {
    let (s, sf_token) = start().await;
    let now = iso(server_now(&s));
    let payloads = [
        "not json at all".to_string(),
        "[1,2,3]".to_string(),
        json!({"created_at": now}).to_string(),
        json!({"email": "", "created_at": now}).to_string(),
        json!({"email": "noclock@example.com"}).to_string(),
        json!({"email": "badclock@example.com", "created_at": "yesterday"}).to_string(),
        json!({"email": "local@example.com", "created_at": "2026-01-01T00:00:00"}).to_string(),
        json!({"email": "not-an-email", "created_at": now}).to_string(),
        json!({"email": "typed@example.com", "created_at": now, "first_name": 7}).to_string(),
    ];
    for p in &payloads {
        assert_eq!(
            multipass(&s, &sf_token, &key().encode(p)).await,
            invalid_multipass(),
            "{p}"
        );
    }
    assert_eq!(s.store().customer_count().await.unwrap(), 0);
}

#[tokio::test]
async fn multipass_off_refuses_every_token() {
    let s = TestServer::start().await;
    assert!(s.config.multipass.secret.is_empty());
    let sf_token = storefront_token(&s, &[WRITE_CUSTOMERS]).await;
    let token = mp_token(&s, json!({"email": "off@example.com"}));
    assert_eq!(multipass(&s, &sf_token, &token).await, invalid_multipass());
}

// ------------------------------------------------------------------ Multipass: customers

#[tokio::test]
async fn multipass_re_enables_a_disabled_customer_and_updates_names_and_tags() {
    let (s, sf_token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let id = customer_id(&s, BOB).await;
    s.auth()
        .update_customer(
            id,
            CustomerChanges {
                disabled: Some(true),
                ..CustomerChanges::default()
            },
        )
        .await
        .unwrap();
    let token = mp_token(
        &s,
        json!({"email": "BobLoblaw@Example.com", "first_name": "Robert", "tag_string": "vip"}),
    );
    let access = multipass_ok(&s, &sf_token, &token).await;
    let record = s.auth().account(id).await.unwrap().unwrap();
    assert!(!record.customer.disabled);
    assert_eq!(record.customer.profile.firstname.as_deref(), Some("Robert"));
    assert_eq!(record.customer.profile.lastname.as_deref(), Some("Loblaw"));
    assert_eq!(record.customer.tags, vec!["vip".to_string()]);
    assert_eq!(
        customer(&s, &sf_token, &access).await["displayName"],
        "Robert Loblaw"
    );
    // The password still works: Multipass does not touch it.
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
    // The next token's tag_string replaces the tags.
    let token = mp_token(&s, json!({"email": BOB, "tag_string": " gold , ,silver "}));
    multipass_ok(&s, &sf_token, &token).await;
    let record = s.auth().customer(id).await.unwrap().unwrap();
    assert_eq!(record.tags, vec!["gold".to_string(), "silver".to_string()]);
}

#[tokio::test]
async fn multipass_identifier_follows_an_email_change() {
    let (s, sf_token) = start().await;
    let first = mp_token(
        &s,
        json!({"email": "old@example.com", "identifier": "user-7"}),
    );
    multipass_ok(&s, &sf_token, &first).await;
    let id = customer_id(&s, "old@example.com").await;
    let second = mp_token(
        &s,
        json!({"email": "new@example.com", "identifier": "user-7"}),
    );
    let access = multipass_ok(&s, &sf_token, &second).await;
    assert_eq!(customer_id(&s, "new@example.com").await, id);
    assert!(s
        .auth()
        .customer_by_email("old@example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        customer(&s, &sf_token, &access).await["email"],
        "new@example.com"
    );
    // Numeric identifiers are accepted too.
    let numeric = mp_token(&s, json!({"email": "num@example.com", "identifier": 4711}));
    multipass_ok(&s, &sf_token, &numeric).await;
    let record = s
        .auth()
        .customer_by_email("num@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.multipass_identifier.as_deref(), Some("4711"));
}

#[tokio::test]
async fn multipass_customer_found_by_email_adopts_the_identifier() {
    let (s, sf_token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let id = customer_id(&s, BOB).await;
    let token = mp_token(&s, json!({"email": BOB, "identifier": "bob-1"}));
    multipass_ok(&s, &sf_token, &token).await;
    let record = s.auth().customer(id).await.unwrap().unwrap();
    assert_eq!(record.multipass_identifier.as_deref(), Some("bob-1"));
    assert_eq!(s.store().customer_count().await.unwrap(), 1);
}

#[tokio::test]
async fn multipass_email_of_a_customer_with_another_identifier_is_taken() {
    let (s, sf_token) = start().await;
    let bound = mp_token(
        &s,
        json!({"email": "alice@example.com", "identifier": "alice"}),
    );
    multipass_ok(&s, &sf_token, &bound).await;

    // Another identifier, same email.
    let other = mp_token(
        &s,
        json!({"email": "alice@example.com", "identifier": "mallory"}),
    );
    assert_eq!(multipass(&s, &sf_token, &other).await, taken_multipass());
    // No identifier for a customer who has one.
    let bare = mp_token(&s, json!({"email": "ALICE@example.com"}));
    assert_eq!(multipass(&s, &sf_token, &bare).await, taken_multipass());
    // A known identifier moving to an email someone else owns.
    let carol = mp_token(
        &s,
        json!({"email": "carol@example.com", "identifier": "carol"}),
    );
    multipass_ok(&s, &sf_token, &carol).await;
    let steal = mp_token(
        &s,
        json!({"email": "alice@example.com", "identifier": "carol"}),
    );
    assert_eq!(multipass(&s, &sf_token, &steal).await, taken_multipass());

    let alice = s
        .auth()
        .customer_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.multipass_identifier.as_deref(), Some("alice"));
    assert!(s
        .auth()
        .customer_by_email("carol@example.com")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn multipass_token_raced_sixteen_times_wins_once() {
    let (s, sf_token) = start().await;
    let token = mp_token(&s, json!({"email": "race@example.com"}));
    let attempts = (0..16).map(|_| multipass(&s, &sf_token, &token));
    let results = futures_util::future::join_all(attempts).await;
    let winners = results
        .iter()
        .filter(|p| p["customerAccessToken"].is_object())
        .count();
    assert_eq!(winners, 1, "{results:?}");
    for p in results
        .iter()
        .filter(|p| p["customerAccessToken"].is_null())
    {
        assert_eq!(p, &invalid_multipass());
    }
    assert_eq!(s.store().customer_count().await.unwrap(), 1);
    assert_eq!(s.store().access_token_count().await.unwrap(), 1);
}

// ------------------------------------------------------------------ storefront tokens, scopes

#[tokio::test]
async fn missing_or_unknown_storefront_token_gets_shopifys_401() {
    let (s, _) = start().await;
    let body = json!({"query": "{ customer(customerAccessToken: \"x\") { email } }"}).to_string();
    for header in [
        None,
        Some(("X-Shopify-Storefront-Access-Token", "not-a-token")),
        Some(("Shopify-Storefront-Private-Token", "not-a-token")),
        Some(("X-Shopify-Storefront-Access-Token", "")),
    ] {
        let (status, text) = sf_raw(&s, PATH, header, &body).await;
        assert_eq!((status, text.as_str()), (401, UNAUTHORIZED), "{header:?}");
    }
}

#[tokio::test]
async fn private_token_header_is_accepted() {
    let (s, _) = start().await;
    let sf_token =
        storefront_token_of_kind(&s, &[WRITE_CUSTOMERS], StorefrontTokenKind::Private).await;
    let (status, body) = sf_with(
        &s,
        Some(("Shopify-Storefront-Private-Token", &sf_token)),
        CUSTOMER,
        json!({"t": "nope"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"data": {"customer": null}})));
}

#[tokio::test]
async fn missing_write_scope_is_access_denied() {
    let (s, _) = start().await;
    let read_only = storefront_token(&s, &[READ_CUSTOMERS]).await;
    let token = mp_token(&s, json!({"email": "scoped@example.com"}));
    let (status, body) = sf(&s, &read_only, MULTIPASS, json!({"t": token})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"],
        json!({"customerAccessTokenCreateWithMultipass": null})
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    let e = &body["errors"][0];
    assert_eq!(
        e["message"],
        "Access denied for customerAccessTokenCreateWithMultipass field. Required access: `unauthenticated_write_customers` access scope."
    );
    assert_eq!(
        e["extensions"],
        json!({"code": "ACCESS_DENIED", "requiredAccess": "`unauthenticated_write_customers` access scope."})
    );
    assert_eq!(e["path"], json!(["customerAccessTokenCreateWithMultipass"]));
    // Refused before anything ran: the token is still good.
    assert!(s
        .auth()
        .customer_by_email("scoped@example.com")
        .await
        .unwrap()
        .is_none());

    for (name, query, vars) in [
        (
            "customerAccessTokenCreate",
            TOKEN_CREATE,
            json!({"e": BOB, "p": BOB_PASSWORD}),
        ),
        ("customerAccessTokenRenew", RENEW, json!({"t": "x"})),
        ("customerAccessTokenDelete", DELETE, json!({"t": "x"})),
        ("customerRecover", RECOVER, json!({"e": BOB})),
    ] {
        let (status, body) = sf(&s, &read_only, query, vars).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"][name], Value::Null, "{body}");
        assert_eq!(
            body["errors"][0]["message"],
            json!(format!("Access denied for {name} field. Required access: `unauthenticated_write_customers` access scope.")),
        );
    }
}

#[tokio::test]
async fn missing_read_scope_is_access_denied_and_write_implies_read() {
    let (s, _) = start().await;
    let none = storefront_token(&s, &[]).await;
    let (status, body) = sf(&s, &none, CUSTOMER, json!({"t": "x"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "data": {"customer": null},
            "errors": [{
                "message": "Access denied for customer field. Required access: `unauthenticated_read_customers` access scope.",
                "locations": [{"line": 1, "column": 20}],
                "path": ["customer"],
                "extensions": {"code": "ACCESS_DENIED", "requiredAccess": "`unauthenticated_read_customers` access scope."}
            }]
        })
    );
    let write_only = storefront_token(&s, &[WRITE_CUSTOMERS]).await;
    let (status, body) = sf(&s, &write_only, CUSTOMER, json!({"t": "x"})).await;
    assert_eq!((status, body), (200, json!({"data": {"customer": null}})));
}

#[tokio::test]
async fn tags_need_the_customer_tags_scope() {
    let (s, _) = start().await;
    let plain = storefront_token(&s, &[WRITE_CUSTOMERS]).await;
    let access = multipass_ok(
        &s,
        &plain,
        &mp_token(
            &s,
            json!({"email": "tagged@example.com", "tag_string": "secret-segment"}),
        ),
    )
    .await;
    let (_, body) = sf(&s, &plain, CUSTOMER_TAGS, json!({"t": access})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "Access denied for tags field. Required access: `unauthenticated_read_customer_tags` access scope."
    );
    assert!(!body.to_string().contains("secret-segment"), "{body}");
}

#[tokio::test]
async fn version_must_be_a_quarter_or_unstable_and_get_shows_the_explorer() {
    let (s, sf_token) = start().await;
    let body = json!({"query": "{ customer(customerAccessToken: \"x\") { email } }"}).to_string();
    let header = Some(("X-Shopify-Storefront-Access-Token", sf_token.as_str()));
    for path in ["/api/unstable/graphql.json", "/api/2024-01/graphql.json"] {
        let (status, text) = sf_raw(&s, path, header, &body).await;
        assert_eq!(
            (status, text.as_str()),
            (200, r#"{"data":{"customer":null}}"#)
        );
    }
    for path in [
        "/api/latest/graphql.json",
        "/api/2026-13/graphql.json",
        "/api/2026-04/graphql",
    ] {
        let (status, _) = sf_raw(&s, path, header, &body).await;
        assert_eq!(status, 404, "{path}");
    }
    let page = s.http.get(s.url(PATH)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("/api/2026-04/graphql.json"));
}

#[tokio::test]
async fn batches_and_bad_json_are_refused_before_running() {
    let (s, sf_token) = start().await;
    let header = Some(("X-Shopify-Storefront-Access-Token", sf_token.as_str()));
    let (status, _) = sf_raw(&s, PATH, header, "{not json").await;
    assert_eq!(status, 400);
    let batch =
        json!([{"query": "{ customer(customerAccessToken: \"x\") { email } }"}]).to_string();
    let (status, _) = sf_raw(&s, PATH, header, &batch).await;
    assert_eq!(status, 400);
}

// ------------------------------------------------------------------ customer tokens

#[tokio::test]
async fn access_token_create_signs_in_and_wrong_password_is_unidentified() {
    let (s, sf_token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (status, body) = sf(
        &s,
        &sf_token,
        TOKEN_CREATE,
        json!({"e": BOB, "p": BOB_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    let payload = &body["data"]["customerAccessTokenCreate"];
    assert_eq!(payload["customerUserErrors"], json!([]));
    assert_eq!(payload["userErrors"], json!([]));
    let access = payload["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(customer(&s, &sf_token, access).await["email"], BOB);

    let unidentified = json!({"customerAccessTokenCreate": {
        "customerAccessToken": null,
        "customerUserErrors": [{"code": "UNIDENTIFIED_CUSTOMER", "field": null, "message": "Unidentified customer"}],
        "userErrors": [{"field": null, "message": "Unidentified customer"}],
    }});
    for (e, p) in [
        (BOB, "wrong-password"),
        ("nobody@example.com", BOB_PASSWORD),
        (BOB, ""),
    ] {
        let (status, body) = sf(&s, &sf_token, TOKEN_CREATE, json!({"e": e, "p": p})).await;
        assert_eq!((status, &body["data"]), (200, &unidentified), "{e} {p}");
        assert!(body.get("errors").is_none());
    }
}

#[tokio::test]
async fn access_token_create_counts_toward_lockout() {
    let (s, sf_token) = start_with(|c| c.lockout.max_failures = 3).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for i in 0..3 {
        let (_, body) = sf(
            &s,
            &sf_token,
            TOKEN_CREATE,
            json!({"e": BOB, "p": format!("wrong-password-{i}")}),
        )
        .await;
        assert_eq!(
            body["data"]["customerAccessTokenCreate"]["customerUserErrors"][0]["code"],
            "UNIDENTIFIED_CUSTOMER"
        );
    }
    // Locked: even the right password is refused, in both dialects.
    let (_, body) = sf(
        &s,
        &sf_token,
        TOKEN_CREATE,
        json!({"e": BOB, "p": BOB_PASSWORD}),
    )
    .await;
    assert_eq!(
        body["data"]["customerAccessTokenCreate"]["customerUserErrors"][0]["code"],
        "UNIDENTIFIED_CUSTOMER"
    );
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);
    s.clock.advance(10 * 60 + 1);
    let (_, body) = sf(
        &s,
        &sf_token,
        TOKEN_CREATE,
        json!({"e": BOB, "p": BOB_PASSWORD}),
    )
    .await;
    assert!(
        body["data"]["customerAccessTokenCreate"]["customerAccessToken"].is_object(),
        "{body}"
    );
}

#[tokio::test]
async fn access_token_create_accepts_an_admin_one_time_code() {
    let (s, sf_token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let id = customer_id(&s, BOB).await;
    s.auth()
        .update_customer(
            id,
            CustomerChanges {
                allow_remote_shopping_assistance: Some(true),
                ..CustomerChanges::default()
            },
        )
        .await
        .unwrap();
    let code = s
        .auth()
        .issue_otc(id, "env", "phone support")
        .await
        .unwrap();
    let vars = json!({"e": BOB, "p": code.expose()});
    let (_, body) = sf(&s, &sf_token, TOKEN_CREATE, vars.clone()).await;
    assert!(
        body["data"]["customerAccessTokenCreate"]["customerAccessToken"].is_object(),
        "{body}"
    );
    let (_, body) = sf(&s, &sf_token, TOKEN_CREATE, vars).await;
    assert_eq!(
        body["data"]["customerAccessTokenCreate"]["customerUserErrors"][0]["code"],
        "UNIDENTIFIED_CUSTOMER"
    );
}

#[tokio::test]
async fn unconfirmed_account_is_customer_disabled() {
    let (s, sf_token) = start_with(|c| c.account.require_confirmation = true).await;
    let (_, body) = sf(
        &s,
        &sf_token,
        CREATE,
        json!({"i": {"email": BOB, "password": BOB_PASSWORD}}),
    )
    .await;
    assert_eq!(
        body["data"]["customerCreate"],
        json!({"customer": null, "customerUserErrors": [{"code": "CUSTOMER_DISABLED", "field": null, "message": format!("We have sent an email to {BOB}, please click the link included to verify your email address.")}]})
    );
    let (_, body) = sf(
        &s,
        &sf_token,
        TOKEN_CREATE,
        json!({"e": BOB, "p": BOB_PASSWORD}),
    )
    .await;
    assert_eq!(
        body["data"]["customerAccessTokenCreate"]["customerUserErrors"],
        json!([{"code": "CUSTOMER_DISABLED", "field": null, "message": "This account isn't confirmed. Verify and try again."}])
    );
    let (_, body) = sf(
        &s,
        &sf_token,
        TOKEN_CREATE,
        json!({"e": BOB, "p": "wrong-password"}),
    )
    .await;
    assert_eq!(
        body["data"]["customerAccessTokenCreate"]["customerUserErrors"][0]["code"],
        "UNIDENTIFIED_CUSTOMER"
    );
}

#[tokio::test]
async fn renew_extends_expires_at() {
    let (s, sf_token) = start().await;
    let now = s.auth().now();
    s.clock.set(now);
    let access = multipass_ok(
        &s,
        &sf_token,
        &mp_token(&s, json!({"email": "renew@example.com"})),
    )
    .await;
    s.clock.advance(86_400);
    let (status, body) = sf(&s, &sf_token, RENEW, json!({"t": access})).await;
    assert_eq!(status, 200);
    let payload = &body["data"]["customerAccessTokenRenew"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["customerAccessToken"]["accessToken"], json!(access));
    // Renewed a day later: 42 days from then, to the second.
    assert_eq!(
        parse_iso(&payload["customerAccessToken"]["expiresAt"]).unix_timestamp(),
        now + 86_400 + 42 * 86_400
    );
    // Past the original expiry, the renewed token still works.
    s.clock.advance(41 * 86_400 + 60);
    assert_eq!(
        customer(&s, &sf_token, &access).await["email"],
        "renew@example.com"
    );
    s.clock.advance(86_400);
    assert_eq!(customer(&s, &sf_token, &access).await, Value::Null);
    let (_, body) = sf(&s, &sf_token, RENEW, json!({"t": access})).await;
    assert_eq!(body["data"], json!({"customerAccessTokenRenew": null}));
    assert_eq!(
        body["errors"][0]["message"],
        "CustomerAccessTokenRenew access denied"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "ACCESS_DENIED");
}

#[tokio::test]
async fn delete_kills_the_token() {
    let (s, sf_token) = start().await;
    let access = multipass_ok(
        &s,
        &sf_token,
        &mp_token(&s, json!({"email": "bye@example.com"})),
    )
    .await;
    let (status, body) = sf(&s, &sf_token, DELETE, json!({"t": access})).await;
    assert_eq!(status, 200);
    let payload = &body["data"]["customerAccessTokenDelete"];
    assert_eq!(payload["deletedAccessToken"], json!(access));
    assert!(payload["deletedCustomerAccessTokenId"].is_string());
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(customer(&s, &sf_token, &access).await, Value::Null);

    let (status, body) = sf(&s, &sf_token, DELETE, json!({"t": access})).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!({"customerAccessTokenDelete": null}));
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0]["message"],
        "CustomerAccessTokenDelete access denied"
    );
    assert_eq!(errors[0]["extensions"], json!({"code": "ACCESS_DENIED"}));
    assert_eq!(errors[0]["path"], json!(["customerAccessTokenDelete"]));
}

#[tokio::test]
async fn unknown_token_in_customer_query_is_null_without_error() {
    let (s, sf_token) = start().await;
    for t in ["", "nope", &"x".repeat(500)] {
        let (status, body) = sf(&s, &sf_token, CUSTOMER, json!({"t": t})).await;
        assert_eq!((status, body), (200, json!({"data": {"customer": null}})));
    }
}

#[tokio::test]
async fn tokens_are_shared_between_dialects() {
    let (s, sf_token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    // A Commerce token reads the Storefront customer.
    let commerce = s.token(BOB, BOB_PASSWORD).await;
    assert_eq!(customer(&s, &sf_token, &commerce).await["email"], BOB);
    // A Storefront token (password or Multipass) authenticates on /graphql.
    let (_, body) = sf(
        &s,
        &sf_token,
        TOKEN_CREATE,
        json!({"e": BOB, "p": BOB_PASSWORD}),
    )
    .await;
    let storefront = body["data"]["customerAccessTokenCreate"]["customerAccessToken"]
        ["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = s.whoami(&storefront).await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"customer": {"email": BOB}}}))
    );
    let mp = multipass_ok(&s, &sf_token, &mp_token(&s, json!({"email": BOB}))).await;
    assert_eq!(s.whoami(&mp).await.0, 200);
    // Revoked on one side, dead on the other.
    s.gql(
        "mutation { revokeCustomerToken { result } }",
        json!({}),
        Some(&storefront),
    )
    .await;
    assert_eq!(customer(&s, &sf_token, &storefront).await, Value::Null);
}

// ------------------------------------------------------------------ customers

#[tokio::test]
async fn customer_create_and_its_errors() {
    let (s, sf_token) = start().await;
    let input = json!({"email": BOB, "password": BOB_PASSWORD, "firstName": "Bob", "lastName": "Loblaw", "acceptsMarketing": true});
    let (status, body) = sf(&s, &sf_token, CREATE, json!({"i": input})).await;
    assert_eq!(status, 200);
    let id = customer_id(&s, BOB).await;
    assert_eq!(
        body,
        json!({"data": {"customerCreate": {
            "customer": {"id": format!("gid://shopify/Customer/{id}"), "email": BOB, "firstName": "Bob", "lastName": "Loblaw", "acceptsMarketing": true},
            "customerUserErrors": []
        }}})
    );
    let cases = [
        (
            json!({"email": "BOBLOBLAW@example.com", "password": BOB_PASSWORD}),
            json!({"code": "TAKEN", "field": ["input", "email"], "message": "Email has already been taken"}),
        ),
        (
            json!({"email": "not-an-email", "password": BOB_PASSWORD}),
            json!({"code": "INVALID", "field": ["input", "email"], "message": "Email is invalid"}),
        ),
        (
            json!({"email": " ", "password": BOB_PASSWORD}),
            json!({"code": "BLANK", "field": ["input", "email"], "message": "Email can't be blank"}),
        ),
        (
            json!({"email": "short@example.com", "password": "aB1!"}),
            json!({"code": "TOO_SHORT", "field": ["input", "password"], "message": "Password is too short (minimum is 8 characters)"}),
        ),
        (
            json!({"email": "space@example.com", "password": " aB1!aB1!aB1 "}),
            json!({"code": "PASSWORD_STARTS_OR_ENDS_WITH_WHITESPACE", "field": ["input", "password"], "message": "Password cannot start or end with whitespace"}),
        ),
        (
            json!({"email": "long@example.com", "password": format!("aB1!{}", "x".repeat(300))}),
            json!({"code": "TOO_LONG", "field": ["input", "password"], "message": "Password is too long (maximum is 256 characters)"}),
        ),
    ];
    for (input, error) in cases {
        let (status, body) = sf(&s, &sf_token, CREATE, json!({"i": input})).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["data"]["customerCreate"],
            json!({"customer": null, "customerUserErrors": [error]}),
            "{input}"
        );
    }
}

#[tokio::test]
async fn customer_update_with_a_new_password_returns_a_new_token() {
    let (s, sf_token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let old = s.token(BOB, BOB_PASSWORD).await;
    let (_, body) = sf(
        &s,
        &sf_token,
        UPDATE,
        json!({"t": old, "c": {"firstName": "Robert"}}),
    )
    .await;
    assert_eq!(
        body["data"]["customerUpdate"],
        json!({"customer": {"email": BOB, "firstName": "Robert"}, "customerAccessToken": null, "customerUserErrors": []})
    );

    let (_, body) = sf(
        &s,
        &sf_token,
        UPDATE,
        json!({"t": old, "c": {"password": "N3w-passw0rd"}}),
    )
    .await;
    let payload = &body["data"]["customerUpdate"];
    assert_eq!(payload["customerUserErrors"], json!([]));
    let new = payload["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap();
    assert_ne!(new, old);
    assert_eq!(customer(&s, &sf_token, &old).await, Value::Null);
    assert_eq!(customer(&s, &sf_token, new).await["email"], BOB);
    assert_eq!(s.sign_in(BOB, "N3w-passw0rd").await.0, 200);

    // Errors leave everything as it was.
    let (_, body) = sf(
        &s,
        &sf_token,
        UPDATE,
        json!({"t": new, "c": {"firstName": "X", "password": "short"}}),
    )
    .await;
    assert_eq!(
        body["data"]["customerUpdate"]["customerUserErrors"][0]["field"],
        json!(["customer", "password"])
    );
    assert_eq!(customer(&s, &sf_token, new).await["firstName"], "Robert");
    s.create_customer("other@example.com", BOB_PASSWORD).await;
    let (_, body) = sf(
        &s,
        &sf_token,
        UPDATE,
        json!({"t": new, "c": {"email": "other@example.com"}}),
    )
    .await;
    assert_eq!(
        body["data"]["customerUpdate"]["customerUserErrors"],
        json!([{"code": "TAKEN", "field": ["customer", "email"], "message": "Email has already been taken"}])
    );
    let (_, body) = sf(
        &s,
        &sf_token,
        UPDATE,
        json!({"t": "dead", "c": {"firstName": "X"}}),
    )
    .await;
    assert_eq!(body["data"], json!({"customerUpdate": null}));
    assert_eq!(body["errors"][0]["message"], "CustomerUpdate access denied");
}

#[tokio::test]
async fn customer_recover_does_not_reveal_accounts_and_is_rate_limited() {
    let (s, sf_token) = start_with(|c| c.reset.min_minutes_between = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for email in [BOB, "nobody@example.com"] {
        let (status, body) = sf(&s, &sf_token, RECOVER, json!({"e": email})).await;
        assert_eq!(
            (status, body),
            (
                200,
                json!({"data": {"customerRecover": {"customerUserErrors": []}}})
            )
        );
    }
    assert_eq!(wait_for_mail(&s.outbox_dir(), 1).await.len(), 1);
    let mut limited = None;
    for _ in 0..10 {
        let (_, body) = sf(&s, &sf_token, RECOVER, json!({"e": BOB})).await;
        if body.get("errors").is_some() {
            limited = Some(body);
            break;
        }
    }
    let body = limited.expect("rate limit reached");
    assert_eq!(body["data"], json!({"customerRecover": null}));
    assert_eq!(
        body["errors"][0]["message"],
        "Resetting password limit exceeded. Please try again later."
    );
}

/// The link of the newest reset mail, undoing quoted-printable soft breaks if any.
async fn reset_link(s: &TestServer) -> String {
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    let mail = mails
        .last()
        .expect("a reset mail")
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    mail.split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link in the mail")
        .to_string()
}

#[tokio::test]
async fn customer_reset_by_url_sets_the_password_and_signs_in() {
    let (s, sf_token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let old = s.token(BOB, BOB_PASSWORD).await;
    sf(&s, &sf_token, RECOVER, json!({"e": BOB})).await;
    let url = reset_link(&s).await;
    assert!(
        url.starts_with("http://localhost:3000/customer/account/createPassword/?email="),
        "{url}"
    );

    let (_, body) = sf(&s, &sf_token, RESET_BY_URL, json!({"u": url, "p": "short"})).await;
    assert_eq!(
        body["data"]["customerResetByUrl"]["customerUserErrors"][0]["code"],
        "TOO_SHORT"
    );
    let (_, body) = sf(
        &s,
        &sf_token,
        RESET_BY_URL,
        json!({"u": url, "p": "N3w-passw0rd"}),
    )
    .await;
    let payload = &body["data"]["customerResetByUrl"];
    assert_eq!(payload["customerUserErrors"], json!([]), "{body}");
    assert_eq!(payload["customer"]["email"], BOB);
    let access = payload["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(customer(&s, &sf_token, access).await["email"], BOB);
    assert_eq!(customer(&s, &sf_token, &old).await, Value::Null);
    assert_eq!(s.sign_in(BOB, "N3w-passw0rd").await.0, 200);

    // Used once.
    let (_, body) = sf(
        &s,
        &sf_token,
        RESET_BY_URL,
        json!({"u": url, "p": "An0ther-passw0rd"}),
    )
    .await;
    assert_eq!(
        body["data"]["customerResetByUrl"]["customerUserErrors"],
        json!([{"code": "TOKEN_INVALID", "field": ["resetUrl"], "message": "Reset password token is invalid"}])
    );
    let (_, body) = sf(
        &s,
        &sf_token,
        RESET_BY_URL,
        json!({"u": "https://example.com/", "p": "An0ther-passw0rd"}),
    )
    .await;
    assert_eq!(
        body["data"]["customerResetByUrl"]["customerUserErrors"],
        json!([{"code": "INVALID", "field": ["resetUrl"], "message": "Reset password URL is invalid"}])
    );
}

#[tokio::test]
async fn customer_reset_by_id_and_shopify_path_form() {
    let (s, sf_token) = start_with(|c| c.reset.min_minutes_between = 0).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let id = customer_id(&s, BOB).await;
    sf(&s, &sf_token, RECOVER, json!({"e": BOB})).await;
    let token = link_param(&wait_for_mail(&s.outbox_dir(), 1).await[0], "token").unwrap();
    let gid = format!("gid://shopify/Customer/{id}");
    let (_, body) = sf(
        &s,
        &sf_token,
        RESET,
        json!({"id": gid, "t": "0".repeat(32), "p": "N3w-passw0rd"}),
    )
    .await;
    assert_eq!(
        body["data"]["customerReset"]["customerUserErrors"],
        json!([{"code": "TOKEN_INVALID", "field": ["input", "resetToken"], "message": "Reset password token is invalid"}])
    );
    let (_, body) = sf(
        &s,
        &sf_token,
        RESET,
        json!({"id": gid, "t": token, "p": "N3w-passw0rd"}),
    )
    .await;
    let payload = &body["data"]["customerReset"];
    assert_eq!(payload["customerUserErrors"], json!([]), "{body}");
    assert!(payload["customerAccessToken"]["accessToken"].is_string());

    sf(&s, &sf_token, RECOVER, json!({"e": BOB})).await;
    let mails = wait_for_mail(&s.outbox_dir(), 2).await;
    let token = link_param(&mails[1], "token").unwrap();
    let url = format!("https://shop.example/account/reset/{id}/{token}");
    let (_, body) = sf(
        &s,
        &sf_token,
        RESET_BY_URL,
        json!({"u": url, "p": "Th1rd-passw0rd"}),
    )
    .await;
    assert_eq!(
        body["data"]["customerResetByUrl"]["customerUserErrors"],
        json!([]),
        "{body}"
    );
    assert_eq!(s.sign_in(BOB, "Th1rd-passw0rd").await.0, 200);
}

#[tokio::test]
async fn storefront_requests_are_counted_in_metrics() {
    let (s, sf_token) = start().await;
    multipass_ok(
        &s,
        &sf_token,
        &mp_token(&s, json!({"email": "m@example.com"})),
    )
    .await;
    let text = s.metrics().await;
    assert!(text.contains(r#"dialect="storefront""#), "{text}");
    assert!(
        text.contains(r#"method="multipass",outcome="success""#),
        "{text}"
    );
}

#[tokio::test]
async fn a_customer_update_refused_as_busy_saves_nothing() {
    let (s, sf_token) = start_with(|c| {
        c.password.argon2_memory_kib = 16384;
        c.password.argon2_iterations = 3;
        c.password.hash_workers = 1;
        c.password.hash_queue = 1;
    })
    .await;
    // Twelve customers without passwords, each with a live token: no hashing before the flood.
    let mut sessions = Vec::new();
    for i in 0..12 {
        let customer = s
            .auth()
            .create_customer(storekey::auth::NewCustomer {
                email: format!("c{i}@example.com"),
                confirmed: Some(true),
                ..Default::default()
            })
            .await
            .unwrap();
        let issued = s
            .auth()
            .issue_for(
                customer.id,
                storekey::model::TokenKind::Storefront,
                storekey::auth::Method::Password,
            )
            .await
            .unwrap();
        sessions.push((customer.id, issued.token.expose().to_string()));
    }
    let mut set = tokio::task::JoinSet::new();
    for (id, token) in sessions {
        let http = s.http.clone();
        let url = s.url(PATH);
        let sf_token = sf_token.clone();
        set.spawn(async move {
            let resp = http
                .post(url)
                .header("X-Shopify-Storefront-Access-Token", sf_token)
                .json(&json!({"query": UPDATE, "variables": {"t": token, "c": {"firstName": "Changed", "password": "N3w-passw0rd"}}}))
                .send()
                .await
                .unwrap();
            (id, resp.status().as_u16())
        });
    }
    let mut busy = 0;
    while let Some(r) = set.join_next().await {
        let (id, status) = r.unwrap();
        let stored = s.auth().customer(id).await.unwrap().unwrap();
        if status == 503 {
            busy += 1;
            assert_eq!(
                stored.profile.firstname, None,
                "a refused update changed nothing"
            );
        } else {
            assert_eq!(status, 200);
            assert_eq!(stored.profile.firstname.as_deref(), Some("Changed"));
        }
    }
    assert!(
        busy > 0,
        "a queue of one cannot hold twelve concurrent hashes"
    );
}

/// Hydrogen's account page sends every operation with `@inContext` and `CountryCode` /
/// `LanguageCode` variables (its `CUSTOMER_QUERY` and the sign-in mutation, trimmed to the
/// fields storekey serves).
const HYDROGEN_SIGN_IN: &str = "mutation customerAccessTokenCreate($input: CustomerAccessTokenCreateInput!, $country: CountryCode, $language: LanguageCode) @inContext(country: $country, language: $language) { customerAccessTokenCreate(input: $input) { customerUserErrors { code field message } customerAccessToken { accessToken expiresAt } } }";
const HYDROGEN_CUSTOMER: &str = "query CustomerDetails($customerAccessToken: String!, $country: CountryCode, $language: LanguageCode) @inContext(country: $country, language: $language) { customer(customerAccessToken: $customerAccessToken) { firstName lastName phone email } }";

#[tokio::test]
async fn in_context_is_accepted_on_every_operation_and_changes_nothing() {
    let (s, token) = start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (status, body) = sf(
        &s,
        &token,
        HYDROGEN_SIGN_IN,
        json!({"input": {"email": BOB, "password": BOB_PASSWORD}, "country": "CA", "language": "PT_BR"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let access = body["data"]["customerAccessTokenCreate"]["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let (_, plain) = sf(&s, &token, CUSTOMER, json!({ "t": access })).await;
    let (status, body) = sf(
        &s,
        &token,
        HYDROGEN_CUSTOMER,
        json!({"customerAccessToken": access, "country": "JP", "language": "JA"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["customer"]["email"],
        plain["data"]["customer"]["email"]
    );
    assert_eq!(body["data"]["customer"]["firstName"], "Bob");
    // Literal arguments, the buyer input and no arguments at all validate too.
    for directive in [
        "@inContext(country: ZZ, language: ZH_TW)",
        "@inContext(buyer: {customerAccessToken: \"x\"}, preferredLocationId: \"gid://shopify/Location/1\")",
        "@inContext",
    ] {
        let q = format!("query($t:String!) {directive} {{ customer(customerAccessToken:$t) {{ email }} }}");
        let (status, body) = sf(&s, &token, &q, json!({ "t": access })).await;
        assert_eq!(status, 200, "{directive}: {body}");
        assert_eq!(body["data"]["customer"]["email"], BOB, "{directive}: {body}");
    }
}

#[tokio::test]
async fn in_context_refuses_codes_shopify_does_not_have_and_fields() {
    let (s, token) = start().await;
    let cases = [
        ("query @inContext(country: XX) { __typename }", "XX"),
        (
            "query @inContext(language: KLINGON) { __typename }",
            "KLINGON",
        ),
        (
            "query { customer(customerAccessToken: \"x\") @inContext(country: CA) { email } }",
            "inContext",
        ),
    ];
    for (q, needle) in cases {
        let (_, body) = sf(&s, &token, q, json!({})).await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(body.get("data").is_none_or(Value::is_null), "{q}: {body}");
        assert!(message.contains(needle), "{q}: {body}");
    }
    let (_, body) = sf(
        &s,
        &token,
        "query($c: CountryCode) @inContext(country: $c) { __typename }",
        json!({ "c": "Canada" }),
    )
    .await;
    assert!(body["errors"][0]["message"].as_str().is_some(), "{body}");
}

/// The Storefront endpoint keeps the engine's validation wording (graphql-php's is the Commerce
/// endpoint's, for Magento's clients).
#[tokio::test]
async fn validation_wording_is_not_graphql_php_on_the_storefront() {
    let (s, token) = start_with(|_| {}).await;
    let (_, body) = sf(
        &s,
        &token,
        "mutation { customerCreate(input: {}) { customer { id } } }",
        json!({}),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Invalid value for argument \"input\", field \""),
        "{message}"
    );
}
