//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1): what is shown, what is
//! redirected, prompt and max_age, consent for third-party clients. Named after the OpenID
//! conformance suite's modules where one applies.

use crate::oidc::*;
use crate::support::*;
use serde_json::json;
use storekey::auth::oidc::authorize::escape;
use storekey::auth::oidc::clients::NewClient;

/// `/oauth/authorize?` with `pairs`, each escaped.
fn authorize_with(s: &TestServer, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect();
    s.url(&format!("/oauth/authorize?{}", query.join("&")))
}

fn base(client_id: &str) -> Vec<(&str, &str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("scope", "openid email"),
        ("state", "st-1"),
    ]
}

/// `pairs` with `name` replaced by `value` (or removed, with `None`).
fn with<'a>(
    mut pairs: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    pairs.retain(|(k, _)| *k != name);
    if let Some(v) = value {
        pairs.push((name, v));
    }
    pairs
}

/// A refusal page: 400, HTML, no Location, the reason in the body.
async fn assert_shown(resp: reqwest::Response, why: &str) {
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let body = resp.text().await.unwrap();
    assert!(body.contains(why), "{why} not in {body}");
}

/// A redirect to the client with `error` (and the state and issuer).
fn assert_error_redirect(s: &TestServer, resp: &reqwest::Response, error: &str) {
    assert_eq!(resp.status(), 302, "{error}");
    let to = location(resp);
    assert!(
        to.starts_with(&format!("{CALLBACK}?error={error}&")),
        "{to}"
    );
    assert!(query_param(&to, "error_description").is_some(), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("st-1"), "{to}");
    assert_eq!(query_param(&to, "iss"), Some(s.url("")), "{to}");
    assert_eq!(query_param(&to, "code"), None, "{to}");
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri_and_bad_clients_are_shown_never_redirected() {
    let s = oidc_server().await;
    let client = add_client(&s, true).await;
    let id = client.0.as_str();
    let mut b = Browser::new();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            with(base(id), "client_id", None),
            "The request names no client (client_id is missing).",
        ),
        (
            with(base(id), "client_id", Some("no-such-client")),
            "The request names an unknown client.",
        ),
        (
            with(base(id), "redirect_uri", None),
            "The request has no redirect_uri.",
        ),
        (
            with(base(id), "redirect_uri", Some("https://evil.example/cb")),
            "The redirect_uri is not registered for this client.",
        ),
        (
            with(
                base(id),
                "redirect_uri",
                Some("https://shop.example/account/callback/more"),
            ),
            "The redirect_uri is not registered for this client.",
        ),
        (
            with(
                base(id),
                "redirect_uri",
                Some("https://shop.example/account/callback?x=1"),
            ),
            "The redirect_uri is not registered for this client.",
        ),
        (
            with(
                base(id),
                "redirect_uri",
                Some("HTTPS://SHOP.EXAMPLE/account/callback"),
            ),
            "The redirect_uri is not registered for this client.",
        ),
        (
            [base(id), vec![("client_id", id)]].concat(),
            "The parameter client_id was given more than once.",
        ),
        (
            [base(id), vec![("redirect_uri", CALLBACK)]].concat(),
            "The parameter redirect_uri was given more than once.",
        ),
    ];
    for (pairs, why) in cases {
        assert_shown(b.get(&authorize_with(&s, &pairs)).await, why).await;
    }
    // An invalid request with a bad redirect URI is still shown, not redirected.
    let pairs = with(
        with(base(id), "response_type", Some("token")),
        "redirect_uri",
        Some("https://evil.example/cb"),
    );
    assert_shown(
        b.get(&authorize_with(&s, &pairs)).await,
        "The redirect_uri is not registered for this client.",
    )
    .await;
}

#[tokio::test]
async fn invalid_requests_are_redirected_with_the_error_state_and_iss() {
    let s = oidc_server().await;
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
    let id = client.0.as_str();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let mut b = Browser::new();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with(base(id), "response_type", None), "invalid_request"),
        (
            with(base(id), "response_type", Some("token")),
            "unsupported_response_type",
        ),
        (
            with(base(id), "response_type", Some("code id_token")),
            "unsupported_response_type",
        ),
        (
            with(base(id), "scope", Some("email profile")),
            "invalid_scope",
        ),
        (with(base(id), "scope", None), "invalid_scope"),
        (
            [
                base(id),
                vec![
                    ("code_challenge", challenge),
                    ("code_challenge_method", "plain"),
                ],
            ]
            .concat(),
            "invalid_request",
        ),
        (
            [base(id), vec![("code_challenge", challenge)]].concat(),
            "invalid_request",
        ),
        (
            with(base(&public.0), "state", Some("st-1")),
            "invalid_request",
        ),
        (
            [base(id), vec![("request", "eyJhbGciOiJub25lIn0.e30.")]].concat(),
            "request_not_supported",
        ),
        (
            [base(id), vec![("request_uri", "https://rp.example/r")]].concat(),
            "request_uri_not_supported",
        ),
        (
            [base(id), vec![("scope", "openid")]].concat(),
            "invalid_request",
        ),
        (
            [base(id), vec![("nonce", "a"), ("nonce", "b")]].concat(),
            "invalid_request",
        ),
        (
            [base(id), vec![("prompt", "none login")]].concat(),
            "invalid_request",
        ),
        (
            [base(id), vec![("max_age", "-1")]].concat(),
            "invalid_request",
        ),
        (
            [base(id), vec![("response_mode", "fragment")]].concat(),
            "invalid_request",
        ),
    ];
    for (pairs, error) in cases {
        let resp = b.get(&authorize_with(&s, &pairs)).await;
        assert_error_redirect(&s, &resp, error);
    }
    // A public client with PKCE S256 gets to the sign-in page.
    let pairs = [
        base(&public.0),
        vec![
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    ]
    .concat();
    let resp = b.get(&authorize_with(&s, &pairs)).await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with("/account/sign-in?return_to="));
}

#[tokio::test]
async fn prompt_none_unknown_parameters_post_and_login_hint() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;

    // OIDCCPromptNoneNotLoggedIn
    let mut anonymous = Browser::new();
    let resp = anonymous
        .get(&authorize_url(&s, &client.0, "&prompt=none"))
        .await;
    assert_error_redirect(&s, &resp, "login_required");

    // login_hint: the sign-in page is filled in with it.
    let resp = anonymous
        .get(&authorize_url(
            &s,
            &client.0,
            "&login_hint=someone%40example.com",
        ))
        .await;
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(
        query_param(&to, "login_hint").as_deref(),
        Some("someone@example.com")
    );
    let page = anonymous.get(&s.url(&to)).await.text().await.unwrap();
    assert!(
        page.contains(
            r#"name="email" type="email" autocomplete="username" value="someone@example.com""#
        ),
        "{page}"
    );
    assert!(
        page.contains("<strong>Shop</strong>"),
        "the app is named: {page}"
    );

    // OIDCCPromptNoneLoggedIn
    let mut b = signed_in_browser(&s).await;
    let resp = b.get(&authorize_url(&s, &client.0, "&prompt=none")).await;
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert!(query_param(&to, "code").is_some(), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("st-1"));
    assert_eq!(query_param(&to, "iss"), Some(s.url("")));
    assert_eq!(query_param(&to, "error"), None);

    // OIDCCEnsureRequestWithUnknownParameterSucceeds
    let code = code_for(
        &mut b,
        &authorize_url(&s, &client.0, "&foo=bar&claims_locales=xx&acr_values=1"),
    )
    .await;
    let (status, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(status, 200, "{tokens}");

    // OIDCCEnsurePostRequestSucceeds
    let resp = b
        .post(
            &s.url("/oauth/authorize"),
            &[
                ("response_type", "code"),
                ("client_id", &client.0),
                ("redirect_uri", CALLBACK),
                ("scope", "openid"),
                ("state", "posted state & more"),
                ("nonce", "n-post"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some("posted state & more"),
        "{to}"
    );
    let code = query_param(&to, "code").unwrap();
    let (status, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid");
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["nonce"],
        "n-post"
    );

    // No state: none comes back.
    let resp = b
        .get(&authorize_with(&s, &with(base(&client.0), "state", None)))
        .await;
    let to = location(&resp);
    assert!(query_param(&to, "code").is_some());
    assert_eq!(query_param(&to, "state"), None, "{to}");
}

/// Signs in again on the page an authorization request led to; the code at the end.
async fn sign_in_again(s: &TestServer, b: &mut Browser, authorize: &str) -> String {
    sign_in_for_code(s, b, authorize).await
}

#[tokio::test]
async fn oidcc_prompt_login_and_oidcc_max_age_1_sign_in_again() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let start = s.auth().now();
    s.clock.set(start);
    let mut b = signed_in_browser(&s).await;
    let first = tokens_for(&s, &mut b, &client).await;
    assert_eq!(
        claims_of(first["id_token"].as_str().unwrap())["auth_time"],
        start
    );

    // OIDCCPromptLogin: signed in, yet asked to sign in again; the new auth_time.
    s.clock.advance(5);
    let code = sign_in_again(&s, &mut b, &authorize_url(&s, &client.0, "&prompt=login")).await;
    let (_, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["auth_time"],
        start + 5
    );

    // max_age the session meets: a code at once.
    s.clock.advance(2);
    let code = code_for(&mut b, &authorize_url(&s, &client.0, "&max_age=100")).await;
    let (_, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["auth_time"],
        start + 5
    );

    // OIDCCMaxAge1: two seconds after the sign-in, max_age=1 asks again.
    let code = sign_in_again(&s, &mut b, &authorize_url(&s, &client.0, "&max_age=1")).await;
    let (_, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["auth_time"],
        start + 7
    );

    // prompt=none with max_age the session fails: login_required.
    s.clock.advance(2);
    let resp = b
        .get(&authorize_url(&s, &client.0, "&max_age=1&prompt=none"))
        .await;
    assert_error_redirect(&s, &resp, "login_required");
}

/// The consent page's hidden `request` value, unescaped.
fn request_field(page: &str) -> String {
    let at = page
        .find(r#"name="request" value=""#)
        .expect("a request field")
        + r#"name="request" value=""#.len();
    let end = at + page[at..].find('"').unwrap();
    page[at..end]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x3d;", "=")
        .replace("&#61;", "=")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
}

#[tokio::test]
async fn third_party_clients_ask_for_consent() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, false).await;
    let mut b = signed_in_browser(&s).await;

    // prompt=none cannot ask: consent_required.
    let resp = b.get(&authorize_url(&s, &client.0, "&prompt=none")).await;
    assert_error_redirect(&s, &resp, "consent_required");

    let resp = b.get(&authorize_url(&s, &client.0, "")).await;
    assert_eq!(resp.status(), 200);
    // The consent form leads on to the app: form-action reaches its origin too.
    assert_eq!(
        resp.headers()["content-security-policy"],
        storekey::api::account::CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'",
            "form-action 'self' https://shop.example"
        )
    );
    let page = resp.text().await.unwrap();
    assert!(page.contains("<strong>Shop</strong>"), "{page}");
    assert!(page.contains(BOB), "{page}");
    let request = request_field(&page);
    let csrf = csrf_of(&page);

    // Deny: access_denied with the state.
    let resp = b
        .post(
            &s.url("/oauth/authorize/consent"),
            &[("csrf", &csrf), ("request", &request), ("decision", "deny")],
        )
        .await;
    assert_error_redirect(&s, &resp, "access_denied");

    // Without the CSRF token: 403, no redirect.
    let resp = b
        .post(
            &s.url("/oauth/authorize/consent"),
            &[("request", &request), ("decision", "allow")],
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("location").is_none());

    // Allow: a code that redeems, with the nonce of the request.
    let resp = b
        .post(
            &s.url("/oauth/authorize/consent"),
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    assert_eq!(query_param(&to, "state").as_deref(), Some("st-1"));
    let code = query_param(&to, "code").unwrap();
    let (status, tokens) = redeem(&s, &client, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["nonce"],
        json!("n-1")
    );

    // Consent posted without a session: the sign-in page, no code.
    let mut stranger = Browser::new();
    let page = stranger
        .get(&s.url("/account/sign-in"))
        .await
        .text()
        .await
        .unwrap();
    let resp = stranger
        .post(
            &s.url("/oauth/authorize/consent"),
            &[
                ("csrf", &csrf_of(&page)),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with("/account/sign-in?"));
}
