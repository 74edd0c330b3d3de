//! Self-registration under hostile input (issue 22, finding 6): a per-client budget that counts
//! a new account and an "already exists" alike and refuses every email with the same answer;
//! every profile field bounded; an email only ever a bare address.

use crate::support::*;
use serde_json::{json, Value};
use storekey::auth::storefront_tokens::WRITE_CUSTOMERS;
use storekey::store::Backend as _;

const PASSWORD: &str = "Regi5ter-me";
const SF_PATH: &str = "/api/2026-04/graphql.json";

const CREATE_V2: &str = "mutation($i:CustomerCreateInput!){ createCustomerV2(input:$i) { customer { email firstname } } }";
const UPDATE_V2: &str = "mutation($i:CustomerUpdateInput!){ updateCustomerV2(input:$i) { customer { firstname lastname } } }";
const SF_CREATE: &str = "mutation($i:CustomerCreateInput!){ customerCreate(input:$i) { customer { email firstName } customerUserErrors { code field message } } }";
const SF_UPDATE: &str = "mutation($t:String!,$c:CustomerUpdateInput!){ customerUpdate(customerAccessToken:$t, customer:$c) { customer { phone } customerUserErrors { code field message } } }";

const COMMERCE_LIMIT: &str =
    "We received too many requests to create an account. Please wait and try again later.";
const SHOPIFY_LIMIT: &str = "Creating Customer Limit exceeded. Please try again later.";

async fn commerce_create(s: &TestServer, email: &str) -> Value {
    let input =
        json!({"firstname": "Reg", "lastname": "Istrant", "email": email, "password": PASSWORD});
    let (status, body) = s.gql(CREATE_V2, json!({"i": input}), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn storefront_token(s: &TestServer) -> String {
    s.storefront_token(&[WRITE_CUSTOMERS]).await
}

/// POST to the Storefront endpoint; asserts HTTP 200 and returns the body as text, so two
/// answers can be compared byte for byte.
async fn storefront(s: &TestServer, token: &str, query: &str, variables: Value) -> String {
    let resp = s
        .http
        .post(s.url(SF_PATH))
        .header("X-Shopify-Storefront-Access-Token", token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.unwrap()
}

async fn storefront_create(s: &TestServer, token: &str, input: Value) -> String {
    storefront(s, token, SF_CREATE, json!({"i": input})).await
}

async fn customers(s: &TestServer) -> u64 {
    s.store().customer_count().await.unwrap()
}

// ---------------------------------------------------------------- the per-client budget

#[tokio::test]
async fn commerce_registration_is_ten_per_client_per_hour_created_or_already_existing() {
    let s = TestServer::start().await;
    // Nine new accounts and one "already exists": the tenth answer spends the budget.
    for n in 0..9 {
        let body = commerce_create(&s, &format!("reg{n}@example.com")).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let body = commerce_create(&s, "reg0@example.com").await;
    assert_eq!(
        first_error(&body),
        (
            "A customer with the same email address already exists in an associated website."
                .to_string(),
            "graphql-already-exists".to_string()
        )
    );

    // The eleventh: the same refusal for a new email and for one that has an account.
    let fresh = commerce_create(&s, "fresh@example.com").await;
    let known = commerce_create(&s, "reg1@example.com").await;
    assert_eq!(
        first_error(&fresh),
        (COMMERCE_LIMIT.to_string(), "graphql-input".to_string())
    );
    assert_eq!(fresh, known);
    assert_eq!(fresh["data"]["createCustomerV2"], Value::Null);
    assert_eq!(customers(&s).await, 9);

    // The deprecated mutation shares the budget.
    let (_, old) = s
        .gql(
            "mutation { createCustomer(input:{firstname:\"a\", lastname:\"b\", email:\"old@example.com\", password:\"Regi5ter-me\"}) { customer { email } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(first_error(&old).0, COMMERCE_LIMIT);

    // An hour later the client has a new budget.
    s.clock.advance(3600);
    let body = commerce_create(&s, "fresh@example.com").await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(customers(&s).await, 10);
}

#[tokio::test]
async fn storefront_registration_is_limited_with_shopifys_answer_for_every_email() {
    let s = TestServer::start_with(|c| c.throttle.create_account_per_ip_per_hour = 2).await;
    let token = storefront_token(&s).await;
    let input = |email: &str| json!({"email": email, "password": PASSWORD, "firstName": "Reg"});
    let created: Value =
        serde_json::from_str(&storefront_create(&s, &token, input("reg@example.com")).await)
            .unwrap();
    assert_eq!(
        created["data"]["customerCreate"]["customer"]["email"],
        "reg@example.com"
    );
    let taken: Value =
        serde_json::from_str(&storefront_create(&s, &token, input("reg@example.com")).await)
            .unwrap();
    assert_eq!(
        taken["data"]["customerCreate"]["customerUserErrors"][0]["code"],
        "TAKEN"
    );

    let fresh = storefront_create(&s, &token, input("fresh@example.com")).await;
    let known = storefront_create(&s, &token, input("reg@example.com")).await;
    assert_eq!(fresh, known);
    let fresh: Value = serde_json::from_str(&fresh).unwrap();
    assert_eq!(fresh["data"]["customerCreate"], Value::Null, "{fresh}");
    assert_eq!(fresh["errors"][0]["message"], SHOPIFY_LIMIT);
    assert_eq!(customers(&s).await, 1);

    // One budget per client, whichever dialect it registers through.
    let body = commerce_create(&s, "other@example.com").await;
    assert_eq!(first_error(&body).0, COMMERCE_LIMIT);
}

#[tokio::test]
async fn invalid_registrations_do_not_spend_the_budget() {
    let s = TestServer::start_with(|c| c.throttle.create_account_per_ip_per_hour = 1).await;
    for email in ["not-an-email", "Eve<x@corp.example>"] {
        let body = commerce_create(&s, email).await;
        assert_eq!(
            first_error(&body).0,
            format!("\"{email}\" is not a valid email address.")
        );
    }
    let body = commerce_create(&s, "reg@example.com").await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn admin_creation_is_not_limited() {
    let s = TestServer::start_with(|c| c.throttle.create_account_per_ip_per_hour = 1).await;
    for n in 0..3 {
        s.admin_customer(&format!("admin{n}@example.com"), PASSWORD, false)
            .await;
    }
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "admin0@example.com"}, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(customers(&s).await, 3);
}

#[tokio::test]
async fn a_zero_limit_turns_the_budget_off() {
    let s = TestServer::start_with(|c| c.throttle.create_account_per_ip_per_hour = 0).await;
    for n in 0..12 {
        let body = commerce_create(&s, &format!("reg{n}@example.com")).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
}

// ---------------------------------------------------------------- bounded profile fields

#[tokio::test]
async fn commerce_profile_fields_are_at_most_255_characters() {
    let s = TestServer::start().await;
    let long = "é".repeat(256);
    for (field, label) in [
        ("firstname", "First Name"),
        ("lastname", "Last Name"),
        ("middlename", "Middle Name/Initial"),
        ("prefix", "Name Prefix"),
        ("suffix", "Name Suffix"),
        ("taxvat", "Tax/VAT number"),
    ] {
        let mut input = json!({"firstname": "Reg", "lastname": "Istrant", "email": "reg@example.com", "password": PASSWORD});
        input[field] = json!(long);
        let (status, body) = s.gql(CREATE_V2, json!({"i": input}), None).await;
        assert_eq!(status, 200);
        assert_eq!(
            first_error(&body),
            (
                format!("\"{label}\" length must be equal or less than 255 characters."),
                "graphql-input".to_string()
            ),
            "{field}"
        );
    }
    // A body-sized name is refused the same way.
    let mut input = json!({"firstname": "x".repeat(60_000), "lastname": "I", "email": "reg@example.com", "password": PASSWORD});
    let (_, body) = s.gql(CREATE_V2, json!({"i": input.clone()}), None).await;
    assert_eq!(
        first_error(&body).0,
        "\"First Name\" length must be equal or less than 255 characters."
    );
    assert_eq!(customers(&s).await, 0);

    // 255 characters (not bytes) is the most.
    input["firstname"] = json!("é".repeat(255));
    let (_, body) = s.gql(CREATE_V2, json!({"i": input}), None).await;
    assert!(body.get("errors").is_none(), "{body}");

    let token = s.token("reg@example.com", PASSWORD).await;
    let (_, body) = s
        .gql(UPDATE_V2, json!({"i": {"lastname": long}}), Some(&token))
        .await;
    assert_eq!(
        first_error(&body).0,
        "\"Last Name\" length must be equal or less than 255 characters."
    );
    let c = s
        .auth()
        .customer_by_email("reg@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.profile.lastname.as_deref(), Some("I"));
}

#[tokio::test]
async fn storefront_profile_fields_are_at_most_255_characters() {
    let s = TestServer::start().await;
    let token = storefront_token(&s).await;
    let long = "x".repeat(256);
    for (field, label) in [
        ("firstName", "First name"),
        ("lastName", "Last name"),
        ("phone", "Phone"),
    ] {
        let mut input = json!({"email": "reg@example.com", "password": PASSWORD});
        input[field] = json!(long);
        let body: Value =
            serde_json::from_str(&storefront_create(&s, &token, input).await).unwrap();
        assert_eq!(
            body["data"]["customerCreate"],
            json!({"customer": null, "customerUserErrors": [{
                "code": "TOO_LONG",
                "field": ["input", field],
                "message": format!("{label} is too long (maximum is 255 characters)"),
            }]}),
            "{body}"
        );
    }
    assert_eq!(customers(&s).await, 0);

    let created = storefront_create(
        &s,
        &token,
        json!({"email": "reg@example.com", "password": PASSWORD, "phone": "+15555550123"}),
    )
    .await;
    assert!(created.contains("\"customerUserErrors\":[]"), "{created}");
    let issued = s
        .auth()
        .sign_in(storekey::auth::SignInRequest {
            email: "reg@example.com".into(),
            secret: storekey::auth::secret::Secret::new(PASSWORD),
            ip: None,
            accept: storekey::auth::Accept::Any,
            mint: storekey::auth::Mint::Token(storekey::model::TokenKind::Storefront),
        })
        .await
        .unwrap();
    let body: Value = serde_json::from_str(
        &storefront(
            &s,
            &token,
            SF_UPDATE,
            json!({"t": issued.token.expose(), "c": {"phone": long}}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(
        body["data"]["customerUpdate"]["customerUserErrors"],
        json!([{"code": "TOO_LONG", "field": ["customer", "phone"], "message": "Phone is too long (maximum is 255 characters)"}]),
        "{body}"
    );
}

#[tokio::test]
async fn rest_profile_fields_are_at_most_255_characters() {
    let s = TestServer::start().await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "reg@example.com", "firstname": "x".repeat(256)}, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "\"First Name\" length must be equal or less than 255 characters."
    );
    let id = s.admin_customer("reg@example.com", PASSWORD, false).await;
    let (status, body) = s
        .admin(
            "PUT",
            &format!("/rest/V1/customers/{id}"),
            Some(json!({"customer": {"lastname": "x".repeat(256)}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "\"Last Name\" length must be equal or less than 255 characters."
    );
}

#[tokio::test]
async fn a_password_longer_than_the_policy_is_refused_before_hashing() {
    let s = TestServer::start().await;
    let input = json!({"firstname": "R", "lastname": "I", "email": "reg@example.com", "password": "Aa1-".repeat(15_000)});
    let (_, body) = s.gql(CREATE_V2, json!({"i": input}), None).await;
    assert_eq!(
        first_error(&body).0,
        "Please enter a password with at most 256 characters."
    );
    assert_eq!(customers(&s).await, 0);
}

// ---------------------------------------------------------------- a bare address only

const HOSTILE_EMAILS: &[&str] = &[
    "Eve<x@corp.example>",
    "Eve <x@corp.example>",
    "x@corp.example (Eve)",
    "\"eve x\"@corp.example",
    "x@corp.example,y@evil.example",
];

#[tokio::test]
async fn commerce_accepts_only_a_bare_address_as_an_email() {
    let s = TestServer::start_with(|c| c.account.require_confirmation = true).await;
    for email in HOSTILE_EMAILS {
        let body = commerce_create(&s, email).await;
        assert_eq!(
            first_error(&body),
            (
                format!("\"{email}\" is not a valid email address."),
                "graphql-input".to_string()
            )
        );
    }
    assert_eq!(customers(&s).await, 0);
    assert!(wait_for_mail(&s.outbox_dir(), 1).await.is_empty());
}

#[tokio::test]
async fn storefront_accepts_only_a_bare_address_as_an_email() {
    let s = TestServer::start().await;
    let token = storefront_token(&s).await;
    for email in HOSTILE_EMAILS {
        let body: Value = serde_json::from_str(
            &storefront_create(&s, &token, json!({"email": email, "password": PASSWORD})).await,
        )
        .unwrap();
        assert_eq!(
            body["data"]["customerCreate"]["customerUserErrors"],
            json!([{"code": "INVALID", "field": ["input", "email"], "message": "Email is invalid"}]),
            "{email}: {body}"
        );
    }
    assert_eq!(customers(&s).await, 0);
}
