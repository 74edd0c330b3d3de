//! `email_verified` in ID tokens and userinfo (SPEC §10): true only once the address is proven
//! (a mailed code, confirmation key, reset or activation token used with it) or vouched for
//! by the merchant (admin or CLI creation, import, Multipass); a self-registration through a
//! dialect is not verified, and an email change unverifies the account.

use crate::account_code::{enter_code, mailed_code, return_to_of};
use crate::oidc::{
    add_client, browser_sign_in, claims_of, location, oidc_server, signed_in_browser, tokens_for,
    Browser,
};
use crate::support::*;
use serde_json::{json, Value};
use storekey::auth::multipass::MultipassKey;
use storekey::auth::storefront_tokens::WRITE_CUSTOMERS;

const RESET_REQUEST: &str = "mutation($e:String!){ requestPasswordResetEmail(email:$e) }";
const RESET: &str = "mutation($e:String!,$t:String!,$p:String!){ resetPassword(email:$e, resetPasswordToken:$t, newPassword:$p) }";
const CHANGE_EMAIL: &str = "mutation($e:String!,$p:String!){ updateCustomerEmail(email:$e, password:$p) { customer { email } } }";
const NEW_PASSWORD: &str = "N3w-passw0rd";

/// The `email_verified` claim of the ID token a browser signed in as `email` gets.
async fn verified_claim(s: &TestServer, email: &str, password: &str) -> Value {
    let client = add_client(s, true).await;
    let mut b = Browser::new();
    let resp = browser_sign_in(s, &mut b, email, password).await;
    assert_eq!(resp.status(), 303);
    let tokens = tokens_for(s, &mut b, &client).await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["email"], email);
    id["email_verified"].clone()
}

async fn stored_verified(s: &TestServer, email: &str) -> bool {
    s.auth()
        .customer_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .email_verified
}

async fn mailed_reset_token(s: &TestServer, email: &str, mails_before: usize) -> String {
    let (status, body) = s.gql(RESET_REQUEST, json!({"e": email}), None).await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"requestPasswordResetEmail": true}}))
    );
    let mails = wait_for_mail(&s.outbox_dir(), mails_before + 1).await;
    link_param(mails.last().unwrap(), "token").unwrap()
}

#[tokio::test]
async fn a_dialect_sign_up_is_not_verified_until_a_mailed_code_signs_in() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    assert_eq!(
        verified_claim(&s, BOB, BOB_PASSWORD).await,
        false,
        "createCustomerV2 proves nothing about the address"
    );
    // The hosted pages' "email me a code": the code was read from that mailbox.
    let client = add_client(&s, true).await;
    let mut b = Browser::new();
    let return_to = return_to_of(&s, &mut b, &client.0).await;
    let code = mailed_code(&s, &mut b, &return_to).await;
    let resp = enter_code(&s, &mut b, BOB, &code, &return_to).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), return_to);
    let tokens = tokens_for(&s, &mut b, &client).await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (&id["email"], &id["email_verified"]),
        (&json!(BOB), &json!(true))
    );
    // It is stored: a later password sign-in says so too.
    assert_eq!(verified_claim(&s, BOB, BOB_PASSWORD).await, true);
}

#[tokio::test]
async fn a_password_reset_with_the_mailed_token_verifies_the_address() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    assert!(!stored_verified(&s, BOB).await);
    let token = mailed_reset_token(&s, BOB, 0).await;
    let (status, body) = s
        .gql(
            RESET,
            json!({"e": BOB, "t": token, "p": NEW_PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"resetPassword": true}}))
    );
    assert_eq!(verified_claim(&s, BOB, NEW_PASSWORD).await, true);
}

#[tokio::test]
async fn an_email_change_unverifies_and_voids_a_reset_token_mailed_to_the_old_address() {
    let s = oidc_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    assert_eq!(verified_claim(&s, BOB, BOB_PASSWORD).await, true);
    let token = mailed_reset_token(&s, BOB, 0).await;
    let bearer = s.token(BOB, BOB_PASSWORD).await;
    let taken_over = "victim@example.com";
    let (status, body) = s
        .gql(
            CHANGE_EMAIL,
            json!({"e": taken_over, "p": BOB_PASSWORD}),
            Some(&bearer),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(verified_claim(&s, taken_over, BOB_PASSWORD).await, false);
    // The token went to the old mailbox: it proves nothing about the new address.
    let (_, body) = s
        .gql(
            RESET,
            json!({"e": taken_over, "t": token, "p": NEW_PASSWORD}),
            None,
        )
        .await;
    assert_eq!(
        first_error(&body),
        (
            "Cannot set the customer's password".into(),
            "graphql-input".into()
        ),
        "{body}"
    );
    assert!(!stored_verified(&s, taken_over).await);
    // A reset mailed to the new address verifies it.
    let token = mailed_reset_token(&s, taken_over, 1).await;
    let (_, body) = s
        .gql(
            RESET,
            json!({"e": taken_over, "t": token, "p": NEW_PASSWORD}),
            None,
        )
        .await;
    assert_eq!(body, json!({"data": {"resetPassword": true}}));
    assert_eq!(verified_claim(&s, taken_over, NEW_PASSWORD).await, true);
}

#[tokio::test]
async fn an_admin_email_change_unverifies_and_the_same_address_keeps_it() {
    let s = oidc_server().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, false).await;
    assert!(stored_verified(&s, BOB).await, "the merchant's word");
    let path = format!("/rest/V1/customers/{id}");
    // Re-sending the address it has is no change.
    let (status, _) = s
        .admin("PUT", &path, Some(json!({"customer": {"email": BOB}})))
        .await;
    assert_eq!(status, 200);
    assert!(stored_verified(&s, BOB).await);
    let (status, _) = s
        .admin(
            "PUT",
            &path,
            Some(json!({"customer": {"email": "robert@example.com", "confirmed": true}})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(!stored_verified(&s, "robert@example.com").await);
    assert_eq!(
        verified_claim(&s, "robert@example.com", BOB_PASSWORD).await,
        false
    );
}

#[tokio::test]
async fn a_multipass_customer_is_verified_and_multipass_verifies_a_sign_up() {
    const SECRET: &str = "multipass secret from shop admin";
    let s = TestServer::start_with(|c| c.multipass.secret = SECRET.into()).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    assert!(!stored_verified(&s, BOB).await);
    let sf_token = s.storefront_token(&[WRITE_CUSTOMERS]).await;
    let now = time::OffsetDateTime::from_unix_timestamp(s.auth().now()).unwrap();
    let created_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for email in ["ann@example.com", BOB] {
        let claims = json!({"email": email, "created_at": created_at});
        let token = MultipassKey::new(SECRET)
            .unwrap()
            .encode(&claims.to_string());
        let body: Value = s
            .http
            .post(s.url("/api/2026-04/graphql.json"))
            .header("X-Shopify-Storefront-Access-Token", &sf_token)
            .json(&json!({
                "query": "mutation($t:String!){ customerAccessTokenCreateWithMultipass(multipassToken:$t) { customerAccessToken { accessToken } customerUserErrors { code } } }",
                "variables": {"t": token},
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let payload = &body["data"]["customerAccessTokenCreateWithMultipass"];
        assert_eq!(payload["customerUserErrors"], json!([]), "{body}");
        assert!(
            stored_verified(&s, email).await,
            "{email}: the shop's sign-in vouches"
        );
    }
}

#[tokio::test]
async fn a_confirmation_key_verifies_the_address() {
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.account.require_confirmation = true;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    assert!(!stored_verified(&s, BOB).await);
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    let key = mails[0]
        .lines()
        .find_map(|l| l.strip_prefix("Confirmation key: "))
        .expect("the mail carries the key")
        .trim()
        .to_string();
    let (status, body) = s
        .gql(
            "mutation($e:String!,$k:String!){ confirmEmail(input:{email:$e, confirmation_key:$k}) { customer { email } } }",
            json!({"e": BOB, "k": key}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(verified_claim(&s, BOB, BOB_PASSWORD).await, true);
}

/// The signed-in browser of the other OpenID Connect tests gets a verified claim when the
/// merchant created the customer (the helper those tests use).
#[tokio::test]
async fn an_admin_created_confirmed_customer_is_verified() {
    let s = oidc_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let tokens = tokens_for(&s, &mut b, &client).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["email_verified"],
        true
    );
}

#[tokio::test]
async fn an_invite_activated_with_its_mailed_token_verifies_the_address() {
    let s = TestServer::start().await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({"customer": {"email": BOB, "firstname": "Bob", "lastname": "Loblaw", "confirmed": false}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_u64().unwrap();
    assert!(
        !stored_verified(&s, BOB).await,
        "not confirmed: not vouched for"
    );
    let (status, _) = s
        .admin("POST", &format!("/rest/V1/customers/{id}/invite"), None)
        .await;
    assert_eq!(status, 200);
    let mails = wait_for_mail(&s.outbox_dir(), 1).await;
    let link = mails[0]
        .lines()
        .find(|l| l.contains("/account/activate/"))
        .expect("an activation link")
        .trim()
        .to_string();
    let token = link.rsplit('/').next().unwrap();
    let sf_token = s.storefront_token(&[WRITE_CUSTOMERS]).await;
    let body = sf(
        &s,
        &sf_token,
        "mutation($id:ID!,$t:String!,$p:String!){ customerActivate(id:$id, input:{activationToken:$t, password:$p}) { customerUserErrors { code } } }",
        json!({"id": format!("gid://shopify/Customer/{id}"), "t": token, "p": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        body["data"]["customerActivate"]["customerUserErrors"],
        json!([]),
        "{body}"
    );
    assert!(stored_verified(&s, BOB).await);
}
