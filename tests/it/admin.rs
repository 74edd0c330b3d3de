//! The admin REST API (SPEC §7).

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn every_call_needs_an_admin_key() {
    let s = TestServer::start().await;
    for key in [None, Some("wrong-key")] {
        let (status, body) = s.rest("GET", "/rest/V1/customers/1", None, key).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"message": "The consumer isn't authorized to access %resources."})
        );
    }
}

#[tokio::test]
async fn customers_crud() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, false).await;
    let (status, c) = s
        .admin("GET", &format!("/rest/V1/customers/{id}"), None)
        .await;
    assert_eq!(status, 200);
    for key in [
        "id",
        "email",
        "firstname",
        "lastname",
        "created_at",
        "confirmed",
        "disabled",
        "allow_remote_shopping_assistance",
        "multipass_identifier",
        "tags",
    ] {
        assert!(c.get(key).is_some(), "missing {key}: {c}");
    }
    assert_eq!(c["email"], BOB);
    let (status, by_email) = s
        .admin(
            "GET",
            "/rest/V1/customers?email=bobloblaw%40example.com",
            None,
        )
        .await;
    assert_eq!((status, &by_email["id"]), (200, &json!(id)));
    let (status, _) = s
        .admin("GET", "/rest/V1/customers?email=ghost%40example.com", None)
        .await;
    assert_eq!(status, 404);

    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": BOB}})),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    let token = s.token(BOB, BOB_PASSWORD).await;
    let (status, c) = s
        .admin(
            "PUT",
            &format!("/rest/V1/customers/{id}"),
            Some(json!({"customer": {"firstname": "Robert", "disabled": true}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (c["firstname"].clone(), c["disabled"].clone()),
        (json!("Robert"), json!(true))
    );
    assert_eq!(s.whoami(&token).await.0, 401, "disabling revokes tokens");
    s.admin(
        "PUT",
        &format!("/rest/V1/customers/{id}"),
        Some(json!({"customer": {"disabled": false}})),
    )
    .await;
    let token = s.token(BOB, BOB_PASSWORD).await;

    let (status, body) = s
        .admin("DELETE", &format!("/rest/V1/customers/{id}"), None)
        .await;
    assert_eq!((status, body), (200, json!(true)));
    assert_eq!(s.whoami(&token).await.0, 401, "its tokens went with it");
    let (status, _) = s
        .admin("GET", &format!("/rest/V1/customers/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = s
        .admin(
            "PUT",
            "/rest/V1/customers/999",
            Some(json!({"customer": {"firstname": "x"}})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_bodies_are_400_and_change_nothing() {
    let s = TestServer::start().await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "x@example.com", "nope": 1}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": "x@example.com"}, "password": "weak"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(s.auth().store.read().unwrap().customer_count().unwrap(), 0);
}

#[tokio::test]
async fn storefront_tokens_are_shown_once() {
    let s = TestServer::start().await;
    let (status, created) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(json!({"title": "web", "scopes": ["unauthenticated_read_customers", "unauthenticated_write_customers"]})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let token = created["access_token"].as_str().unwrap();
    assert!(s.auth().storefront_token(token).unwrap().is_some());
    let (_, list) = s.admin("GET", "/rest/V1/storefront-tokens", None).await;
    assert_eq!(
        list,
        json!([{"id": created["id"], "title": "web", "scopes": created["scopes"], "kind": "public"}])
    );
    let (status, _) = s
        .admin(
            "POST",
            "/rest/V1/storefront-tokens",
            Some(json!({"title": "x", "scopes": ["write_everything"]})),
        )
        .await;
    assert_eq!(status, 400);
    let id = created["id"].as_u64().unwrap();
    let (status, _) = s
        .admin("DELETE", &format!("/rest/V1/storefront-tokens/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(s.auth().storefront_token(token).unwrap().is_none());
    let (status, _) = s
        .admin("DELETE", &format!("/rest/V1/storefront-tokens/{id}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn lookup_by_email_keeps_a_plus_sign() {
    let s = TestServer::start().await;
    let id = s
        .admin_customer("bob+shop@example.com", BOB_PASSWORD, false)
        .await;
    for query in [
        "email=bob+shop@example.com",
        "email=bob%2Bshop%40example.com",
    ] {
        let (status, body) = s
            .admin("GET", &format!("/rest/V1/customers?{query}"), None)
            .await;
        assert_eq!((status, &body["id"]), (200, &json!(id)), "{query}: {body}");
    }
}
