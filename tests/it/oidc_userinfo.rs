//! The userinfo endpoint (OIDC Core §5.3, RFC 6750): the three ways to present the token,
//! refusals, claims by scope, and a password change ending what the provider issued.

use crate::oidc::*;
use crate::support::*;
use serde_json::{json, Value};

async fn send(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap())
}

#[tokio::test]
async fn oidcc_user_info_get_post_header_post_body_and_invalid_tokens() {
    let s = oidc_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let tokens = tokens_for(&s, &mut b, &client).await;
    let access = tokens["access_token"].as_str().unwrap();
    let sub = claims_of(tokens["id_token"].as_str().unwrap())["sub"].clone();
    let expected = json!({
        "sub": sub,
        "email": BOB,
        "email_verified": true,
        "given_name": "Bob",
        "family_name": "Loblaw",
        "name": "Bob Loblaw",
    });
    let http = reqwest::Client::new();
    let url = s.url("/oauth/userinfo");
    for (what, req) in [
        ("OIDCCUserInfoGet", http.get(&url).bearer_auth(access)),
        (
            "OIDCCUserInfoPostHeader",
            http.post(&url).bearer_auth(access),
        ),
        (
            "OIDCCUserInfoPostBody",
            http.post(&url).form(&[("access_token", access)]),
        ),
    ] {
        let (status, headers, body) = send(req).await;
        assert_eq!((status, &body), (200, &expected), "{what}");
        assert_eq!(headers["content-type"], "application/json", "{what}");
        assert_eq!(headers["cache-control"], "no-store", "{what}");
    }

    let commerce_token = s.token(BOB, BOB_PASSWORD).await;
    let refused = [
        ("no token", http.get(&url)),
        ("unknown", http.get(&url).bearer_auth("not-a-token")),
        ("changed", http.get(&url).bearer_auth(format!("{access}x"))),
        (
            "a Commerce token is not an OpenID grant's",
            http.get(&url).bearer_auth(&commerce_token),
        ),
        (
            "the refresh token",
            http.get(&url)
                .bearer_auth(tokens["refresh_token"].as_str().unwrap()),
        ),
        (
            "the ID token",
            http.get(&url)
                .bearer_auth(tokens["id_token"].as_str().unwrap()),
        ),
    ];
    for (what, req) in refused {
        let (status, headers, body) = send(req).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"], "invalid_token", "{what}");
        assert_eq!(
            headers["www-authenticate"], "Bearer error=\"invalid_token\"",
            "{what}"
        );
    }

    // Two methods at once (RFC 6750 §2: a client MUST NOT): invalid_request, 400.
    let (status, headers, body) = send(
        http.post(&url)
            .bearer_auth(access)
            .form(&[("access_token", access)]),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"invalid_request\""
    );

    // Expired with the access token's lifetime.
    s.clock
        .advance(i64::from(s.config.oidc.access_token_minutes) * 60 + 1);
    assert_eq!(userinfo(&s, access).await.0, 401);
}

#[tokio::test]
async fn oidcc_scope_profile_email_address_phone_all() {
    let s = oidc_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    let token = s.token(BOB, BOB_PASSWORD).await;
    let (status, body) = s
        .gql(
            "mutation($input: CustomerAddressInput!) { createCustomerAddress(input: $input) { id } }",
            json!({"input": {
                "firstname": "Bob", "lastname": "Loblaw", "street": ["1 Main St", "Suite 2"],
                "city": "Austin", "region": {"region": "Texas", "region_code": "TX"},
                "postcode": "78701", "country_code": "US", "telephone": "+1 512 555 0100",
                "default_billing": true, "default_shipping": true
            }}),
            Some(&token),
        )
        .await;
    assert!(status == 200 && body.get("errors").is_none(), "{body}");
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let address = crate::oidc_token::address_claim();
    let mut sub = None;
    for (scope, expected) in [
        ("openid", json!({})),
        (
            "openid profile",
            json!({"given_name": "Bob", "family_name": "Loblaw", "name": "Bob Loblaw"}),
        ),
        (
            "openid email",
            json!({"email": BOB, "email_verified": true}),
        ),
        ("openid address", json!({"address": address})),
        ("openid phone", json!({"phone_number": "+1 512 555 0100"})),
        (
            "openid email profile address phone offline_access",
            json!({
                "email": BOB, "email_verified": true, "given_name": "Bob",
                "family_name": "Loblaw", "name": "Bob Loblaw", "address": address,
                "phone_number": "+1 512 555 0100",
            }),
        ),
        // Scopes storekey does not grant are left out, not refused.
        (
            "openid groups email",
            json!({"email": BOB, "email_verified": true}),
        ),
    ] {
        let url = authorize_url(&s, &client.0, "").replace(
            "scope=openid%20email%20profile",
            &format!("scope={}", storekey::auth::oidc::authorize::escape(scope)),
        );
        let code = code_for(&mut b, &url).await;
        let (status, tokens) = redeem(&s, &client, &code).await;
        assert_eq!(status, 200, "{scope}: {tokens}");
        let (status, mut claims) = userinfo(&s, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{scope}");
        let this_sub = claims.as_object_mut().unwrap().remove("sub").unwrap();
        assert_eq!(sub.get_or_insert(this_sub.clone()), &this_sub);
        assert_eq!(claims, expected, "{scope}");
        // The ID token says the same (besides its own claims).
        let mut id = claims_of(tokens["id_token"].as_str().unwrap());
        let id = id.as_object_mut().unwrap();
        for k in [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "sid",
            "amr",
        ] {
            id.remove(k);
        }
        assert_eq!(
            Value::Object(id.clone()),
            expected,
            "{scope} in the ID token"
        );
    }
}

#[tokio::test]
async fn a_password_change_ends_the_oidc_tokens_and_the_browser_session() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let tokens = tokens_for(&s, &mut b, &client).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // Changed with the OpenID access token itself, in the Commerce dialect.
    let (status, body) = s
        .gql(
            "mutation($c:String!,$n:String!){ changeCustomerPassword(currentPassword:$c, newPassword:$n) { email } }",
            json!({"c": BOB_PASSWORD, "n": "n3w-Passw0rd!"}),
            Some(access),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["changeCustomerPassword"]["email"], BOB,
        "{body}"
    );

    assert_eq!(userinfo(&s, access).await.0, 401, "the access token ends");
    let (status, body) = refresh(&s, &client, refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the refresh token ends"
    );
    let resp = b.get(&authorize_url(&s, &client.0, "")).await;
    assert_eq!(resp.status(), 302);
    assert!(
        location(&resp).starts_with("/account/sign-in?"),
        "the browser session ends: {}",
        location(&resp)
    );
    let resp = b.get(&s.url("/account")).await;
    assert_eq!(resp.status(), 303);
}
