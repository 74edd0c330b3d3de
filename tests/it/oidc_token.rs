//! The token endpoint (RFC 6749 §4.1.3, §5, §6; OIDC Core §3.1.3): client authentication, the
//! code's rules (once, in time, same client, same redirect URI, PKCE), refresh rotation and
//! reuse, and the ID token's claims.

use crate::oidc::*;
use crate::support::*;
use base64::Engine as _;
use serde_json::{json, Value};
use storekey::auth::oidc::clients::NewClient;

const VERIFIER: &str = "a-long-enough-code-verifier-of-forty-three-chars-or-more-0123";

fn challenge(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn code_form(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ]
}

fn assert_error(result: &(u16, reqwest::header::HeaderMap, Value), status: u16, error: &str) {
    assert_eq!(
        (result.0, result.2["error"].as_str()),
        (status, Some(error)),
        "{}",
        result.2
    );
    assert!(result.2["error_description"].is_string(), "{}", result.2);
    assert_eq!(result.1["cache-control"], "no-store");
}

#[tokio::test]
async fn token_client_authentication_basic_post_and_none_with_pkce() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let public = add_client_with(
        &s,
        NewClient {
            public: true,
            first_party: true,
            ..NewClient::default()
        },
    )
    .await;
    let (id, secret) = (client.0.as_str(), client.1.as_str());
    let mut b = signed_in_browser(&s).await;

    // client_secret_basic
    let code = code_for(&mut b, &authorize_url(&s, id, "")).await;
    let ok = post_token(&s, Some((id, secret)), &code_form(&code)).await;
    assert_eq!(ok.0, 200, "{}", ok.2);
    assert_eq!(ok.1["cache-control"], "no-store");
    assert_eq!(ok.1["pragma"], "no-cache");
    let mut fields: Vec<&str> =
        ok.2.as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(
        ok.2["expires_in"],
        json!(s.config.oidc.access_token_minutes * 60)
    );

    // client_secret_post
    let code = code_for(&mut b, &authorize_url(&s, id, "")).await;
    let mut form = code_form(&code);
    form.extend([("client_id", id), ("client_secret", secret)]);
    let ok = post_token(&s, None, &form).await;
    assert_eq!(ok.0, 200, "{}", ok.2);

    // A wrong secret either way, an unknown client, no authentication: 401 invalid_client.
    let code = code_for(&mut b, &authorize_url(&s, id, "")).await;
    for result in [
        post_token(&s, Some((id, "wrong")), &code_form(&code)).await,
        post_token(&s, Some(("nobody", secret)), &code_form(&code)).await,
        post_token(
            &s,
            None,
            &[
                code_form(&code),
                vec![("client_id", id), ("client_secret", "wrong")],
            ]
            .concat(),
        )
        .await,
        post_token(
            &s,
            None,
            &[code_form(&code), vec![("client_id", id)]].concat(),
        )
        .await,
        post_token(&s, None, &code_form(&code)).await,
    ] {
        assert_error(&result, 401, "invalid_client");
        assert_eq!(result.1["www-authenticate"], "Basic realm=\"storekey\"");
    }
    // Both methods at once: invalid_request.
    let both = post_token(
        &s,
        Some((id, secret)),
        &[code_form(&code), vec![("client_secret", secret)]].concat(),
    )
    .await;
    assert_error(&both, 400, "invalid_request");
    // None of those used the code up.
    assert_eq!(
        post_token(&s, Some((id, secret)), &code_form(&code))
            .await
            .0,
        200
    );

    // A public client: none, with PKCE.
    let pkce = format!(
        "&code_challenge={}&code_challenge_method=S256",
        challenge(VERIFIER)
    );
    let public_form = |code: &str| {
        vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.to_string()),
            ("redirect_uri".to_string(), CALLBACK.to_string()),
            ("client_id".to_string(), public.0.clone()),
        ]
    };
    let send = |form: Vec<(String, String)>| {
        let s = &s;
        async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post_token(s, None, &pairs).await
        }
    };
    let code = code_for(&mut b, &authorize_url(&s, &public.0, &pkce)).await;
    assert_error(&send(public_form(&code)).await, 400, "invalid_grant");
    let mut wrong = public_form(&code);
    wrong.push(("code_verifier".into(), format!("{VERIFIER}x")));
    assert_error(&send(wrong).await, 400, "invalid_grant");
    let mut with_secret = public_form(&code);
    with_secret.push(("code_verifier".into(), VERIFIER.into()));
    with_secret.push(("client_secret".into(), "anything".into()));
    assert_error(&send(with_secret).await, 401, "invalid_client");
    // A refused redemption writes nothing: the right verifier still redeems the code.
    let mut right = public_form(&code);
    right.push(("code_verifier".into(), VERIFIER.into()));
    let ok = send(right.clone()).await;
    assert_eq!(ok.0, 200, "{}", ok.2);
    assert_error(&send(right).await, 400, "invalid_grant");

    // A verifier for a request that had no challenge: invalid_grant.
    let code = code_for(&mut b, &authorize_url(&s, id, "")).await;
    let extra = post_token(
        &s,
        Some((id, secret)),
        &[code_form(&code), vec![("code_verifier", VERIFIER)]].concat(),
    )
    .await;
    assert_error(&extra, 400, "invalid_grant");
}

#[tokio::test]
async fn token_code_rules_redirect_uri_client_expiry_and_grant_type() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let other = add_client(&s, true).await;
    let basic = Some((client.0.as_str(), client.1.as_str()));
    let mut b = signed_in_browser(&s).await;

    let code = code_for(&mut b, &authorize_url(&s, &client.0, "")).await;
    let mismatch = post_token(
        &s,
        basic,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://shop.example/other"),
        ],
    )
    .await;
    assert_error(&mismatch, 400, "invalid_grant");
    let missing = post_token(
        &s,
        basic,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_error(&missing, 400, "invalid_request");
    let stolen = post_token(
        &s,
        Some((other.0.as_str(), other.1.as_str())),
        &code_form(&code),
    )
    .await;
    assert_error(&stolen, 400, "invalid_grant");
    assert_eq!(
        stolen.2["error_description"],
        "the grant was issued to another client"
    );
    // Refused redemptions leave the code to its client.
    assert_eq!(redeem(&s, &client, &code).await.0, 200);

    // Expired: oidc.code_seconds after it was issued.
    let code = code_for(&mut b, &authorize_url(&s, &client.0, "")).await;
    s.clock.advance(i64::from(s.config.oidc.code_seconds) + 1);
    let expired = post_token(&s, basic, &code_form(&code)).await;
    assert_error(&expired, 400, "invalid_grant");
    assert_eq!(
        expired.2["error_description"],
        "the authorization code is invalid or expired"
    );
    assert_error(
        &post_token(&s, basic, &code_form("not-a-code")).await,
        400,
        "invalid_grant",
    );

    for (form, error) in [
        (
            vec![("grant_type", "password"), ("username", BOB)],
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "client_credentials")],
            "unsupported_grant_type",
        ),
        (vec![("code", "x")], "invalid_request"),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("grant_type", "refresh_token"),
            ],
            "invalid_request",
        ),
    ] {
        assert_error(&post_token(&s, basic, &form).await, 400, error);
    }
}

#[tokio::test]
async fn oidcc_auth_code_reuse_revokes_what_the_code_issued() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let code = code_for(&mut b, &authorize_url(&s, &client.0, "")).await;
    let (status, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(status, 200);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(userinfo(&s, access).await.0, 200);
    assert_eq!(s.whoami(access).await.0, 200);

    let (status, again) = redeem(&s, &client, &code).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        again["error_description"],
        "the authorization code was already used; the tokens it issued are revoked"
    );
    assert_eq!(
        userinfo(&s, access).await.0,
        401,
        "the access token is revoked"
    );
    let (status, body) = s.whoami(access).await;
    assert_eq!(status, 401, "the Commerce dialect refuses it: {body}");
    let (status, body) = refresh(&s, &client, refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The browser session is not the code's: it still signs in.
    code_for(&mut b, &authorize_url(&s, &client.0, "")).await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_family_after_the_grace() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let other = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let first = tokens_for(&s, &mut b, &client).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let sub = claims_of(first["id_token"].as_str().unwrap())["sub"].clone();

    // Another client cannot use it (and that does not end it).
    let (status, body) = refresh(&s, &other, r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (status, second) = refresh(&s, &client, r1).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    assert_eq!(second["scope"], "openid email profile");
    let id = claims_of(second["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], sub);
    assert_eq!(
        id.get("nonce"),
        None,
        "a refreshed ID token carries no nonce"
    );
    assert_eq!(
        userinfo(&s, second["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );

    // r1 again within the grace: refused, the family lives on.
    let (status, body) = refresh(&s, &client, r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, third) = refresh(&s, &client, r2).await;
    assert_eq!(status, 200, "r2 still works: {third}");
    let r3 = third["refresh_token"].as_str().unwrap();
    let access3 = third["access_token"].as_str().unwrap();

    // r2 again after the grace: a replay; the family ends.
    s.clock
        .advance(i64::from(s.config.oidc.refresh_grace_seconds) + 1);
    let (status, body) = refresh(&s, &client, r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        body["error_description"],
        "the refresh token was already used; the tokens it issued are revoked"
    );
    let (status, body) = refresh(&s, &client, r3).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest refresh token died with its family"
    );
    assert_eq!(userinfo(&s, access3).await.0, 401, "and its access token");
}

/// Creates Bob's default billing address (with a telephone) through the Commerce dialect.
async fn add_address(s: &TestServer) {
    let token = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            "mutation($input: CustomerAddressInput!) { createCustomerAddress(input: $input) { id } }",
            json!({"input": {
                "firstname": "Bob",
                "lastname": "Loblaw",
                "street": ["1 Main St", "Suite 2"],
                "city": "Austin",
                "region": {"region": "Texas", "region_code": "TX"},
                "postcode": "78701",
                "country_code": "US",
                "telephone": "+1 512 555 0100",
                "default_billing": true,
                "default_shipping": true
            }}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

pub fn address_claim() -> Value {
    json!({
        "formatted": "1 Main St\nSuite 2\n78701 Austin\nTexas\nUS",
        "street_address": "1 Main St\nSuite 2",
        "locality": "Austin",
        "region": "TX",
        "postal_code": "78701",
        "country": "US",
    })
}

#[tokio::test]
async fn id_token_claims_are_exact_and_sub_survives_an_email_change() {
    let s = oidc_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    add_address(&s).await;
    let client = add_client(&s, true).await;
    let now = s.auth().now();
    s.clock.set(now);
    let mut b = signed_in_browser(&s).await;
    let code = code_for(
        &mut b,
        &authorize_url(&s, &client.0, "").replace(
            "scope=openid%20email%20profile",
            "scope=openid%20email%20profile%20address%20phone%20offline_access",
        ),
    )
    .await;
    let (status, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        tokens["scope"],
        "openid email profile address phone offline_access"
    );
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    let mut names: Vec<&str> = id.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "address",
            "amr",
            "at_hash",
            "aud",
            "auth_time",
            "email",
            "email_verified",
            "exp",
            "family_name",
            "given_name",
            "iat",
            "iss",
            "name",
            "nonce",
            "phone_number",
            "sid",
            "sub"
        ]
    );
    let access = tokens["access_token"].as_str().unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, access.as_bytes());
    let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
    let sub = id["sub"].as_str().unwrap().to_string();
    assert_ne!(sub, BOB, "sub is not the email");
    assert!(!sub.contains('@'));
    assert_eq!(
        id,
        json!({
            "iss": s.url(""),
            "sub": sub,
            "aud": client.0,
            "iat": now,
            "exp": now + i64::from(s.config.oidc.id_token_minutes) * 60,
            "auth_time": now,
            "nonce": "n-1",
            "at_hash": at_hash,
            "sid": id["sid"],
            "amr": ["pwd"],
            "email": BOB,
            "email_verified": true,
            "given_name": "Bob",
            "family_name": "Loblaw",
            "name": "Bob Loblaw",
            "phone_number": "+1 512 555 0100",
            "address": address_claim(),
        })
    );
    let sid = id["sid"].as_str().unwrap();
    assert!(sid.len() >= 16, "{sid}");

    // OIDCCEnsureRequestWithoutNonceSucceedsForCodeFlow
    let code = code_for(
        &mut b,
        &authorize_url(&s, &client.0, "").replace("&nonce=n-1", ""),
    )
    .await;
    let (status, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id.get("nonce"), None, "{id}");
    assert_eq!(id["sid"], sid, "one browser session, one sid");

    // sub stays when the email changes.
    let token = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            "mutation($e:String!,$p:String!){ updateCustomerEmail(email:$e, password:$p) { customer { email } } }",
            json!({"e": "robert@example.com", "p": BOB_PASSWORD}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut fresh = Browser::new();
    let resp = browser_sign_in(&s, &mut fresh, "robert@example.com", BOB_PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let tokens = tokens_for(&s, &mut fresh, &client).await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], sub);
    assert_eq!(id["email"], "robert@example.com");
}

#[tokio::test]
async fn an_email_change_is_not_verified_until_the_new_address_is() {
    let s = oidc_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let tokens = tokens_for(&s, &mut b, &client).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["email_verified"],
        true
    );
    let token = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            "mutation($e:String!,$p:String!){ updateCustomerEmail(email:$e, password:$p) { customer { email } } }",
            json!({"e": "someone-else@example.com", "p": BOB_PASSWORD}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut fresh = Browser::new();
    browser_sign_in(&s, &mut fresh, "someone-else@example.com", BOB_PASSWORD).await;
    let tokens = tokens_for(&s, &mut fresh, &client).await;
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["email"], "someone-else@example.com");
    assert_eq!(
        id["email_verified"], false,
        "nobody has shown they read that mailbox"
    );
}
