//! PostgreSQL down under a running server (issue 23, finding 1): every dialect answers 503 with
//! `Retry-After` in its own shape (never a 401, never a 500), and once the database is back the
//! same tokens work, with no restart of storekey.

use crate::postgres::OwnCluster;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;
use storekey::auth::storefront_tokens::WRITE_CUSTOMERS;

pub(crate) const SF_PATH: &str = "/api/2026-04/graphql.json";
pub(crate) const SF_CUSTOMER: &str =
    "query($t:String!){ customer(customerAccessToken:$t) { email } }";
pub(crate) const SF_SIGN_IN: &str = "mutation($e:String!,$p:String!){ customerAccessTokenCreate(input:{email:$e, password:$p}) { customerAccessToken { accessToken } customerUserErrors { code message } } }";
const SF_RENEW: &str = "mutation($t:String!){ customerAccessTokenRenew(customerAccessToken:$t) { customerAccessToken { accessToken } userErrors { message } } }";
const UPDATE: &str =
    "mutation{ updateCustomerV2(input:{firstname:\"Robert\"}) { customer { firstname } } }";
const SIGN_IN: &str =
    "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }";

/// POST a GraphQL request; returns (status, `Retry-After`, body).
pub(crate) async fn post(
    s: &TestServer,
    path: &str,
    header: Option<(&str, String)>,
    query: &str,
    variables: Value,
) -> (u16, Option<String>, Value) {
    let mut req = s
        .http
        .post(s.url(path))
        .json(&json!({"query": query, "variables": variables}));
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, resp.json().await.unwrap())
}

/// While the database is down: 503, `Retry-After: 1`, one error with `message` whose
/// `extensions[key]` is `value`.
fn assert_unavailable(
    what: &str,
    (status, retry_after, body): (u16, Option<String>, Value),
    message: &str,
    (key, value): (&str, &str),
) {
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(retry_after.as_deref(), Some("1"), "{what}: {body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{what}: {body}");
    assert_eq!(errors[0]["message"], message, "{what}: {body}");
    assert_eq!(errors[0]["extensions"][key], value, "{what}: {body}");
}

/// Commerce: one `graphql-internal` error.
pub(crate) fn assert_commerce_unavailable(what: &str, answer: (u16, Option<String>, Value)) {
    let internal = ("category", "graphql-internal");
    assert_unavailable(what, answer, "Internal server error", internal);
}

/// Storefront: Shopify's internal error.
pub(crate) fn assert_storefront_unavailable(what: &str, answer: (u16, Option<String>, Value)) {
    let message = "Internal error. Looks like something went wrong on our end.";
    assert_unavailable(what, answer, message, ("code", "INTERNAL_SERVER_ERROR"));
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_down_is_a_503_with_retry_after_in_each_dialect_and_tokens_work_after() {
    let Some(cluster) = OwnCluster::start() else {
        return;
    };
    let s = TestServer::start_with(|c| c.storage = cluster.storage()).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let sf_token = s.storefront_token(&[WRITE_CUSTOMERS]).await;
    let sf_header = || Some(("X-Shopify-Storefront-Access-Token", sf_token.clone()));
    let bearer = || Some(("Authorization", format!("Bearer {token}")));
    let sf_customer = || json!({"t": token});
    let credentials = json!({"e": BOB, "p": BOB_PASSWORD});

    let (status, _, body) = post(&s, SF_PATH, sf_header(), SF_CUSTOMER, sf_customer()).await;
    assert_eq!(
        (status, &body["data"]["customer"]["email"]),
        (200, &json!(BOB))
    );

    cluster.stop();
    // Twice each: the first meets the pool's dead connections, the second a refused connect.
    for _ in 0..2 {
        assert_commerce_unavailable(
            "token holder's customer query",
            post(
                &s,
                "/graphql",
                bearer(),
                "{ customer { email } }",
                json!({}),
            )
            .await,
        );
        assert_commerce_unavailable(
            "sign-in",
            post(&s, "/graphql", None, SIGN_IN, credentials.clone()).await,
        );
        assert_storefront_unavailable(
            "token holder's customer query",
            post(&s, SF_PATH, sf_header(), SF_CUSTOMER, sf_customer()).await,
        );
        assert_storefront_unavailable(
            "sign-in",
            post(&s, SF_PATH, sf_header(), SF_SIGN_IN, credentials.clone()).await,
        );
        assert_commerce_unavailable(
            "mutation",
            post(&s, "/graphql", bearer(), UPDATE, json!({})).await,
        );
        assert_storefront_unavailable(
            "mutation",
            post(&s, SF_PATH, sf_header(), SF_RENEW, sf_customer()).await,
        );
        let rest = s
            .http
            .get(s.url("/rest/V1/customers/1"))
            .header("Authorization", format!("Bearer {ADMIN_KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(rest.status().as_u16(), 503);
        assert_eq!(rest.headers()["retry-after"], "1");
        let body: Value = rest.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "The database is unavailable. Please wait and try again later."})
        );
    }
    let health = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);

    cluster.start_again();
    // No restart of storekey: the same token works as soon as the pool reconnects.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let (status, body) = s.whoami(&token).await;
        if status == 200 || std::time::Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["customer"]["email"], BOB);
    let (status, _, body) = post(&s, SF_PATH, sf_header(), SF_CUSTOMER, sf_customer()).await;
    assert_eq!(
        (status, &body["data"]["customer"]["email"]),
        (200, &json!(BOB)),
        "{body}"
    );
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["generateCustomerToken"]["token"].is_string(),
        "{body}"
    );
}
