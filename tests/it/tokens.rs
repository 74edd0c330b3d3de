//! Access tokens: revoke, password change, expiry, restart, and what is (not) stored.

use crate::support::*;
use serde_json::json;
use storekey::store::Backend as _;

const REVOKE: &str = "mutation { revokeCustomerToken { result } }";
const CHANGE: &str = "mutation($c:String!,$n:String!){ changeCustomerPassword(currentPassword:$c, newPassword:$n) { email } }";

#[tokio::test]
async fn revoke_kills_the_presented_token_only() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let a = s.token(BOB, BOB_PASSWORD).await;
    let b = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s.gql(REVOKE, json!({}), Some(&a)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"data": {"revokeCustomerToken": {"result": true}}})
    );
    let (status, body) = s.whoami(&a).await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).1, "graphql-authentication");
    assert_eq!(s.whoami(&b).await.0, 200);
}

#[tokio::test]
async fn revoke_all_on_logout_kills_every_token() {
    let s = TestServer::start_with(|c| c.tokens.revoke_all_on_logout = true).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let a = s.token(BOB, BOB_PASSWORD).await;
    let b = s.token(BOB, BOB_PASSWORD).await;
    s.gql(REVOKE, json!({}), Some(&a)).await;
    assert_eq!(s.whoami(&b).await.0, 401);
}

#[tokio::test]
async fn guest_cannot_revoke() {
    let s = TestServer::start().await;
    let (_, body) = s.gql(REVOKE, json!({}), None).await;
    assert_eq!(
        first_error(&body),
        (
            "The current customer isn't authorized.".into(),
            "graphql-authorization".into()
        )
    );
}

#[tokio::test]
async fn password_change_kills_every_token_and_keeps_the_new_password() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let a = s.token(BOB, BOB_PASSWORD).await;
    let b = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            CHANGE,
            json!({"c": BOB_PASSWORD, "n": "N3w-passw0rd"}),
            Some(&a),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["changeCustomerPassword"]["email"], BOB);
    assert_eq!(s.whoami(&a).await.0, 401);
    assert_eq!(s.whoami(&b).await.0, 401);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);
    assert_eq!(s.sign_in(BOB, "N3w-passw0rd").await.0, 200);
}

#[tokio::test]
async fn password_change_with_wrong_current_password_changes_nothing() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let a = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(CHANGE, json!({"c": "wrong", "n": "N3w-passw0rd"}), Some(&a))
        .await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, "Invalid login or password.");
    let (_, body) = s
        .gql(CHANGE, json!({"c": BOB_PASSWORD, "n": "short"}), Some(&a))
        .await;
    assert_eq!(
        first_error(&body),
        (
            "The password needs at least 8 characters. Create a new password and try again.".into(),
            "graphql-input".into()
        )
    );
    assert_eq!(s.whoami(&a).await.0, 200);
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn tokens_expire_after_the_commerce_ttl_even_before_the_sweeper() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let t = s.token(BOB, BOB_PASSWORD).await;
    s.clock.advance(59 * 60);
    assert_eq!(s.whoami(&t).await.0, 200);
    s.clock.advance(61);
    let (status, body) = s.whoami(&t).await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).1, "graphql-authentication");
}

#[tokio::test]
async fn tokens_and_customers_survive_a_restart() {
    let mut s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let t = s.token(BOB, BOB_PASSWORD).await;
    s.restart().await;
    assert_eq!(
        s.whoami(&t).await,
        (200, json!({"data": {"customer": {"email": BOB}}}))
    );
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn the_database_holds_no_plaintext_password_or_token() {
    if redb_only("it reads the redb file's bytes") {
        return;
    }
    let mut s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let t = s.token(BOB, BOB_PASSWORD).await;
    s.stop().await;
    let bytes = std::fs::read(s.db_path()).unwrap();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(BOB.as_bytes()), "sanity: the email is stored");
    assert!(!contains(BOB_PASSWORD.as_bytes()));
    assert!(!contains(t.as_bytes()));
    assert!(contains(b"$argon2id$"));
}

/// A token stored by an earlier build (keyed by its plain SHA-256, with no mint time in front)
/// still signs its customer in, renews and revokes after the upgrade; new tokens are keyed by
/// their mint time and are never stored under the plain digest.
#[tokio::test]
async fn a_token_stored_by_an_earlier_build_still_works_after_the_upgrade() {
    use storekey::auth::secret;
    use storekey::model::{AccessToken, TokenKind};
    use storekey::store::{Change, Effects, NewToken, Who};

    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    // Any 32 lowercase letters and digits: what earlier builds minted.
    let old = "zq9kx2m4p7w1c8v3b6n5t0y2r4e6u8i1".to_string();
    let now = s.auth().now();
    let token = NewToken {
        digest: secret::digest(&old),
        record: AccessToken {
            customer_id: Default::default(),
            issued_at: now,
            expires_at: now + 3600,
            kind: TokenKind::Commerce,
        },
    };
    s.store()
        .update_customer(Who::Email(BOB.into()), move |c| {
            let mut token = token.clone();
            token.record.customer_id = c.customer.id;
            Change::Save(
                (),
                Effects {
                    token: Some(token),
                    ..Effects::default()
                },
            )
        })
        .await
        .unwrap();
    assert_eq!(
        s.whoami(&old).await,
        (200, json!({"data": {"customer": {"email": BOB}}}))
    );
    let fresh = s.token(BOB, BOB_PASSWORD).await;
    let store = s.store();
    assert!(store
        .access_token(&secret::digest(&fresh))
        .await
        .unwrap()
        .is_none());
    let key = secret::access_token_key(&fresh).unwrap();
    assert!(store.access_token(&key).await.unwrap().is_some());
    // Revoking the old token removes the row it was stored under, and nothing else.
    let (_, body) = s.gql(REVOKE, json!({}), Some(&old)).await;
    assert_eq!(
        body,
        json!({"data": {"revokeCustomerToken": {"result": true}}})
    );
    assert!(store
        .access_token(&secret::digest(&old))
        .await
        .unwrap()
        .is_none());
    assert_eq!(s.whoami(&old).await.0, 401);
    assert_eq!(s.whoami(&fresh).await.0, 200);
}
