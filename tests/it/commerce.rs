//! The Commerce dialect's contract: the seed example and SPEC §5 messages, categories, statuses.

use crate::support::*;
use serde_json::json;
use storekey::store::Backend as _;

#[tokio::test]
async fn seed_example_signs_bob_in() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            r#"mutation {
  generateCustomerToken(
    email: "bobloblaw@example.com"
    password: "b0bl0bl@w"
  ) {
    token
  }
}"#,
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let token = body["data"]["generateCustomerToken"]["token"]
        .as_str()
        .unwrap();
    assert_eq!(token.len(), 32);
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let (status, body) = s.whoami(token).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"data": {"customer": {"email": BOB}}}));
}

#[tokio::test]
async fn empty_email_and_password_are_input_errors() {
    let s = TestServer::start().await;
    let (status, body) = s.sign_in("", "x").await;
    assert_eq!(status, 200);
    assert_eq!(
        first_error(&body),
        (
            "Specify the \"email\" value.".into(),
            "graphql-input".into()
        )
    );
    assert_eq!(body["data"], json!({"generateCustomerToken": null}));
    let (status, body) = s.sign_in(BOB, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        first_error(&body),
        (
            "Specify the \"password\" value.".into(),
            "graphql-input".into()
        )
    );
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (s1, wrong) = s.sign_in(BOB, "not-the-password").await;
    let (s2, unknown) = s.sign_in("nobody@example.com", "not-the-password").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(
        first_error(&wrong),
        (GENERIC.into(), "graphql-authentication".into())
    );
    assert_eq!(first_error(&wrong), first_error(&unknown));
    assert_eq!(wrong["data"], unknown["data"]);
}

#[tokio::test]
async fn disabled_customer_gets_the_generic_message() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let id = s.auth().customer_by_email(BOB).await.unwrap().unwrap().id;
    s.auth()
        .update_customer(
            id,
            storekey::auth::CustomerChanges {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(first_error(&body).0, GENERIC);
    // Disabling revoked the token it had.
    assert_eq!(s.whoami(&token).await.0, 401);
}

#[tokio::test]
async fn unconfirmed_account_is_told_so_only_with_the_right_password() {
    let s = TestServer::start_with(|c| c.account.require_confirmation = true).await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (status, body) = s.sign_in(BOB, BOB_PASSWORD).await;
    assert_eq!(status, 401);
    assert_eq!(
        first_error(&body),
        (
            "This account isn't confirmed. Verify and try again.".into(),
            "graphql-authentication".into()
        )
    );
    let (_, body) = s.sign_in(BOB, "wrong-password").await;
    assert_eq!(first_error(&body).0, GENERIC);
    let (_, body) = s
        .gql("{ storeConfig { create_account_confirmation minimum_password_length required_character_classes_number } }", json!({}), None)
        .await;
    assert_eq!(
        body["data"]["storeConfig"],
        json!({"create_account_confirmation": true, "minimum_password_length": "8", "required_character_classes_number": "3"})
    );
}

#[tokio::test]
async fn guest_cannot_read_customer() {
    let s = TestServer::start().await;
    let (status, body) = s.gql("{ customer { email } }", json!({}), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        first_error(&body),
        (
            "The current customer isn't authorized.".into(),
            "graphql-authorization".into()
        )
    );
    assert_eq!(body["data"], json!({"customer": null}));
    assert_eq!(body["errors"][0]["path"], json!(["customer"]));
}

#[tokio::test]
async fn unknown_bearer_fails_the_whole_request_even_for_guest_fields() {
    let s = TestServer::start().await;
    let (status, body) = s
        .gql(
            "{ isEmailAvailable(email:\"a@example.com\") { is_email_available } }",
            json!({}),
            Some("abcdefghijklmnopqrstuvwxyz012345"),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(first_error(&body).1, "graphql-authentication");
    assert!(body.get("data").is_none());
}

#[tokio::test]
async fn is_email_available_never_reveals_accounts() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for email in [BOB, "free@example.com"] {
        let (_, body) = s
            .gql(
                "query($e:String!){ isEmailAvailable(email:$e) { is_email_available } }",
                json!({"e": email}),
                None,
            )
            .await;
        assert_eq!(
            body["data"]["isEmailAvailable"]["is_email_available"],
            json!(true)
        );
    }
    let (_, body) = s
        .gql(
            "{ isEmailAvailable(email:\"not-an-email\") { is_email_available } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        first_error(&body),
        ("Email is invalid".into(), "graphql-input".into())
    );
}

#[tokio::test]
async fn create_customer_with_taken_email_is_refused() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            "mutation { createCustomerV2(input:{firstname:\"B\", lastname:\"L\", email:\"BobLoblaw@Example.com\", password:\"An0ther!pw\"}) { customer { email } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        first_error(&body),
        (
            "A customer with the same email address already exists in an associated website."
                .into(),
            "graphql-already-exists".into()
        )
    );
    assert_eq!(s.store().customer_count().await.unwrap(), 1);
}

#[tokio::test]
async fn password_policy_uses_adobe_commerce_messages() {
    let s = TestServer::start().await;
    let cases = [
        ("Sh0rt!", "The password needs at least 8 characters. Create a new password and try again."),
        ("alllowercase", "Minimum of different classes of characters in password is 3. Classes of characters: Lower Case, Upper Case, Digits, Special Characters."),
        (" Leading1!", "The password can't begin or end with a space. Verify the password and try again."),
    ];
    for (pw, msg) in cases {
        let (_, body) = s
            .gql(
                "mutation($p:String!){ createCustomerV2(input:{firstname:\"B\", lastname:\"L\", email:\"p@example.com\", password:$p}) { customer { email } } }",
                json!({"p": pw}),
                None,
            )
            .await;
        assert_eq!(first_error(&body), (msg.into(), "graphql-input".into()));
    }
    assert_eq!(s.store().customer_count().await.unwrap(), 0);
}

#[tokio::test]
async fn update_customer_sets_remote_assistance_and_names() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let (_, body) = s
        .gql(
            "mutation { updateCustomerV2(input:{ allow_remote_shopping_assistance: true, firstname: \"Robert\" }) { customer { firstname allow_remote_shopping_assistance } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(
        body["data"]["updateCustomerV2"]["customer"],
        json!({"firstname": "Robert", "allow_remote_shopping_assistance": true})
    );
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert!(stored.customer.allow_remote_shopping_assistance);
    assert_eq!(stored.customer.profile.firstname.as_deref(), Some("Robert"));
}

#[tokio::test]
async fn update_customer_email_needs_the_password() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    s.create_customer("taken@example.com", BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let q = "mutation($e:String!,$p:String!){ updateCustomerEmail(email:$e, password:$p) { customer { email } } }";
    let (status, body) = s
        .gql(
            q,
            json!({"e": "new@example.com", "p": "wrong-password"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        first_error(&body),
        (
            "Invalid login or password.".into(),
            "graphql-authentication".into()
        )
    );
    let (_, body) = s
        .gql(
            q,
            json!({"e": "taken@example.com", "p": BOB_PASSWORD}),
            Some(&token),
        )
        .await;
    assert_eq!(first_error(&body).1, "graphql-already-exists");
    let (status, body) = s
        .gql(
            q,
            json!({"e": "new@example.com", "p": BOB_PASSWORD}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["updateCustomerEmail"]["customer"]["email"],
        "new@example.com"
    );
    // The old email no longer signs in; the new one does.
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);
    assert_eq!(s.sign_in("new@example.com", BOB_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn customer_shape_has_the_commerce_fields() {
    let s = TestServer::start().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let (_, body) = s
        .gql(
            "{ customer { firstname lastname middlename prefix suffix email created_at date_of_birth gender is_subscribed confirmation_status allow_remote_shopping_assistance id } }",
            json!({}),
            Some(&token),
        )
        .await;
    let c = &body["data"]["customer"];
    assert_eq!(c["firstname"], "Bob");
    assert_eq!(
        c["confirmation_status"],
        "ACCOUNT_CONFIRMATION_NOT_REQUIRED"
    );
    assert_eq!(c["allow_remote_shopping_assistance"], false);
    assert_eq!(c["is_subscribed"], false);
    assert_eq!(c["id"], "MQ==", "base64 of the id, Magento's uid");
    let created = c["created_at"].as_str().unwrap();
    assert_eq!(created.len(), "2026-01-01 00:00:00".len(), "{created}");
}
