//! Several storekey instances on one PostgreSQL database (issue 12): the promises hold across
//! instances. Each test starts two real servers on a fresh database of the test cluster
//! (skipped with one line when this machine has no PostgreSQL, unless `STOREKEY_REQUIRE_PG=1`).

use crate::postgres::{database, Schema, TestDatabase};
use crate::support::*;
use serde_json::{json, Value};
use storekey::auth::storefront_tokens::{StorefrontTokenKind, WRITE_CUSTOMERS};

const MULTIPASS_SECRET: &str = "multipass secret shared by both instances";

async fn two_instances() -> Option<(TestDatabase, TestServer, TestServer)> {
    let db = database(Schema::Migrated).await?;
    let storage = db.storage();
    let a = TestServer::start_with({
        let storage = storage.clone();
        move |c| {
            c.storage = storage;
            c.multipass.secret = MULTIPASS_SECRET.into();
        }
    })
    .await;
    let b = TestServer::start_with(move |c| {
        c.storage = storage;
        c.multipass.secret = MULTIPASS_SECRET.into();
    })
    .await;
    Some((db, a, b))
}

/// Sends `q` with `variables` to whichever of the two answers for `i`, 16 times at once.
async fn race(
    a: &TestServer,
    b: &TestServer,
    path: &str,
    header: Option<(&str, &str)>,
    q: &str,
    variables: Value,
) -> Vec<Value> {
    let tries = (0..16).map(|i| {
        let server = if i % 2 == 0 { a } else { b };
        let body = json!({ "query": q, "variables": variables });
        async move {
            let mut req = server.http.post(server.url(path)).json(&body);
            if let Some((name, value)) = header {
                req = req.header(name, value);
            }
            req.send().await.unwrap().json::<Value>().await.unwrap()
        }
    });
    futures_util::future::join_all(tries).await
}

async fn sf(s: &TestServer, token: &str, query: &str) -> u16 {
    s.http
        .post(s.url("/api/2026-04/graphql.json"))
        .header("X-Shopify-Storefront-Access-Token", token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_storefront_token_deleted_on_one_instance_is_refused_by_the_other_within_a_second() {
    let Some((_db, a, b)) = two_instances().await else {
        return;
    };
    let (record, token) = a
        .auth()
        .create_storefront_token(
            "test",
            "shop",
            vec![WRITE_CUSTOMERS.into()],
            StorefrontTokenKind::Public,
        )
        .await
        .unwrap();
    let token = token.expose().to_string();
    assert_eq!(sf(&b, &token, "{ __typename }").await, 200);
    assert!(a
        .auth()
        .delete_storefront_token("test", record.id)
        .await
        .unwrap());
    assert_eq!(sf(&a, &token, "{ __typename }").await, 401);
    // B's cache is at most SHARED_CHECK old before it reads the generation counter again.
    tokio::time::sleep(storekey::auth::storefront_tokens::SHARED_CHECK * 2).await;
    assert_eq!(sf(&b, &token, "{ __typename }").await, 401);
}

#[tokio::test]
async fn one_admin_code_signs_in_once_across_instances() {
    let Some((_db, a, b)) = two_instances().await else {
        return;
    };
    let id = a.admin_customer(BOB, BOB_PASSWORD, true).await;
    let code = a.issue_otc(id, "phone support").await;
    let q =
        "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }";
    let tries = (0..16).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        let code = code.clone();
        async move { server.gql(q, json!({"e": BOB, "p": code}), None).await }
    });
    let answers: Vec<(u16, Value)> = futures_util::future::join_all(tries).await;
    let winners = answers
        .iter()
        .filter(|(_, body)| body["data"]["generateCustomerToken"]["token"].is_string())
        .count();
    assert_eq!(winners, 1, "{answers:?}");
}

#[tokio::test]
async fn lockout_counts_failures_made_on_either_instance() {
    let Some((_db, a, b)) = two_instances().await else {
        return;
    };
    a.create_customer(BOB, BOB_PASSWORD).await;
    let max = a.config.lockout.max_failures;
    for i in 0..max {
        let server = if i % 2 == 0 { &a } else { &b };
        // Distinct wrong passwords: an identical retry counts once.
        let (_, body) = server
            .gql(
                "mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }",
                json!({"e": BOB, "p": format!("wrong-{i}")}),
                None,
            )
            .await;
        assert!(body["errors"].is_array(), "{body}");
    }
    let stored = b.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert!(
        stored.credentials.lockout.lock_expires.is_some(),
        "{:?}",
        stored.credentials.lockout
    );
}

#[tokio::test]
async fn only_one_instance_holds_the_sweeper_lease() {
    let Some((_db, a, b)) = two_instances().await else {
        return;
    };
    let ttl = std::time::Duration::from_secs(30);
    assert!(a.auth().sweep_lease("instance-a", ttl).await.unwrap());
    assert!(!b.auth().sweep_lease("instance-b", ttl).await.unwrap());
    assert!(
        a.auth().sweep_lease("instance-a", ttl).await.unwrap(),
        "the holder renews"
    );
}

#[tokio::test]
async fn health_and_metrics_report_the_database_pool() {
    let Some((_db, a, _b)) = two_instances().await else {
        return;
    };
    let health = a.http.get(a.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    a.create_customer(BOB, BOB_PASSWORD).await;
    let metrics = a.metrics().await;
    for line in [
        "storekey_store_retries 0",
        "storekey_store_pool_waiting 0",
        "storekey_store_pool_in_use 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let idle = metrics
        .lines()
        .find_map(|l| l.strip_prefix("storekey_store_pool_idle "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(idle.is_some_and(|n| n >= 1), "{metrics}");
}

#[tokio::test]
async fn one_multipass_token_signs_in_once_across_instances() {
    let Some((_db, a, b)) = two_instances().await else {
        return;
    };
    let (_, sf) = a
        .auth()
        .create_storefront_token(
            "test",
            "shop",
            vec![WRITE_CUSTOMERS.into()],
            StorefrontTokenKind::Public,
        )
        .await
        .unwrap();
    let created_at = time::OffsetDateTime::from_unix_timestamp(a.auth().now())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let token = storekey::auth::multipass::MultipassKey::new(MULTIPASS_SECRET)
        .unwrap()
        .encode(&json!({"email": "nic@example.com", "created_at": created_at}).to_string());
    let q = "mutation($t:String!){ customerAccessTokenCreateWithMultipass(multipassToken:$t) { customerAccessToken { accessToken } } }";
    let answers = race(
        &a,
        &b,
        "/api/2026-04/graphql.json",
        Some(("X-Shopify-Storefront-Access-Token", sf.expose())),
        q,
        json!({ "t": token }),
    )
    .await;
    let winners = answers
        .iter()
        .filter(|body| {
            body["data"]["customerAccessTokenCreateWithMultipass"]["customerAccessToken"]
                ["accessToken"]
                .is_string()
        })
        .count();
    assert_eq!(winners, 1, "{answers:?}");
    assert_eq!(b.store().customer_count().await.unwrap(), 1);
}

#[tokio::test]
async fn one_reset_token_resets_once_across_instances() {
    let Some((_db, a, b)) = two_instances().await else {
        return;
    };
    a.create_customer(BOB, BOB_PASSWORD).await;
    let (status, _) = a
        .gql(
            "mutation($e:String!){ requestPasswordResetEmail(email:$e) }",
            json!({ "e": BOB }),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mails = wait_for_mail(&a.outbox_dir(), 1).await;
    let reset = link_param(mails.last().unwrap(), "token").unwrap();
    let q = "mutation($e:String!,$t:String!,$p:String!){ resetPassword(email:$e, resetPasswordToken:$t, newPassword:$p) }";
    let answers = race(
        &a,
        &b,
        "/graphql",
        None,
        q,
        json!({"e": BOB, "t": reset, "p": "N3w-passw0rd-raced"}),
    )
    .await;
    let winners = answers
        .iter()
        .filter(|body| body["data"]["resetPassword"] == json!(true))
        .count();
    assert_eq!(winners, 1, "{answers:?}");
}
