//! The hosted sign-in page: one refusal for every failure (no account oracle), CSRF, the
//! cookies' attributes and the page's policy, where a sign-in may send the browser, lockout and
//! disabled customers through the page.

use crate::oidc::*;
use crate::support::*;
use serde_json::json;

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Posts the sign-in form with the browser's CSRF token.
async fn post_sign_in(
    s: &TestServer,
    b: &mut Browser,
    email: &str,
    password: &str,
    return_to: &str,
) -> reqwest::Response {
    let page = b
        .get(&s.url("/account/sign-in"))
        .await
        .text()
        .await
        .unwrap();
    b.post(
        &s.url("/account/sign-in"),
        &[
            ("csrf", &csrf_of(&page)),
            ("return_to", return_to),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test]
async fn sign_in_page_refusals_are_one_page_for_every_failure() {
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let mut bodies = Vec::new();
    for (email, password) in [
        (BOB, "wrong-password"),
        ("nobody-here@example.com", BOB_PASSWORD),
    ] {
        let resp = post_sign_in(&s, &mut b, email, password, "/account").await;
        assert_eq!(resp.status(), 401, "{email}");
        assert!(resp.headers().get("location").is_none());
        assert!(
            resp.headers()
                .get_all("set-cookie")
                .iter()
                .all(|c| !c.to_str().unwrap().starts_with("storekey_account=")),
            "no session"
        );
        let body = resp.text().await.unwrap();
        assert!(body.contains(GENERIC), "{body}");
        // The form is shown again with the email typed; nothing else may differ.
        bodies.push(body.replace(email, "EMAIL"));
    }
    assert_eq!(bodies[0], bodies[1], "the two refusals differ");
    assert_eq!(b.cookie("storekey_account"), None);
}

#[tokio::test]
async fn sign_in_page_needs_its_csrf_token_and_sets_strict_cookies() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;

    // The page: its policy and headers, and the CSRF cookie.
    let mut b = Browser::new();
    let resp = b.get(&s.url("/account/sign-in")).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["content-security-policy"], CSP);
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csrf_cookie = h["set-cookie"].to_str().unwrap().to_string();
    let page = resp.text().await.unwrap();
    let token = csrf_of(&page);
    assert_eq!(
        csrf_cookie,
        format!("storekey_csrf={token}; Path=/; HttpOnly; SameSite=Lax")
    );
    // Passkeys are off here: no script at all (with them, only /account/assets/…/passkeys.js).
    assert!(!page.contains("<script"), "no script on the page");

    // Missing, wrong, or without its cookie: 403 and no session.
    let cases: Vec<(Option<String>, bool)> = vec![
        (None, true),
        (Some("x".repeat(43)), true),
        (Some(token.clone()), false),
    ];
    for (csrf, with_cookie) in cases {
        let mut form = vec![
            ("return_to", "/account"),
            ("email", BOB),
            ("password", BOB_PASSWORD),
        ];
        if let Some(c) = &csrf {
            form.push(("csrf", c));
        }
        let mut poster = if with_cookie {
            b.clone_cookies()
        } else {
            Browser::new()
        };
        let resp = poster.post(&s.url("/account/sign-in"), &form).await;
        assert_eq!(resp.status(), 403, "{csrf:?} {with_cookie}");
        let set: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert!(
            set.iter().all(|c| !c.starts_with("storekey_account=")),
            "{set:?}"
        );
        let body = resp.text().await.unwrap();
        assert!(
            body.contains("This form has expired. Please try again."),
            "{body}"
        );
    }
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(
        stored.credentials.lockout,
        Default::default(),
        "no attempt counted"
    );

    s.clock.set(s.auth().now());
    // The right token: the session cookie, HttpOnly, SameSite=Lax, Path=/, not Secure on
    // loopback, living as long as the session.
    let resp = b
        .post(
            &s.url("/account/sign-in"),
            &[
                ("csrf", &token),
                ("return_to", "/account"),
                ("email", BOB),
                ("password", BOB_PASSWORD),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/account");
    assert_eq!(resp.headers()["content-security-policy"], CSP);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let value = b.cookie("storekey_account").unwrap().clone();
    let max_age = i64::from(
        s.config
            .oidc
            .session_idle_days
            .min(s.config.oidc.session_max_days),
    ) * 86_400;
    assert_eq!(
        cookie,
        format!("storekey_account={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax")
    );
    let account = b.get(&s.url("/account")).await;
    assert_eq!(account.status(), 200);
    assert!(account.text().await.unwrap().contains(BOB));
}

#[tokio::test]
async fn a_sign_in_returns_only_to_the_authorization_endpoint() {
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    for (return_to, expected) in [
        ("https://evil.example/", "/account"),
        ("//evil.example/oauth/authorize?x=1", "/account"),
        ("/\\evil.example", "/account"),
        ("/oauth/authorize", "/account"),
        ("/account/../oauth/authorize?x=1", "/account"),
        ("javascript:alert(1)", "/account"),
        (
            "/oauth/authorize?client_id=abc",
            "/oauth/authorize?client_id=abc",
        ),
    ] {
        let mut b = Browser::new();
        let resp = post_sign_in(&s, &mut b, BOB, BOB_PASSWORD, return_to).await;
        assert_eq!(resp.status(), 303, "{return_to}");
        assert_eq!(location(&resp), expected, "{return_to}");
    }
    // The page itself does not carry a foreign return_to into its form.
    let page = Browser::new()
        .get(&s.url("/account/sign-in?return_to=https%3A%2F%2Fevil.example%2F"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"name="return_to" value="/account""#),
        "{page}"
    );
    assert!(!page.contains("evil.example"), "{page}");
}

#[tokio::test]
async fn the_sign_in_page_locks_the_account_and_refuses_disabled_customers() {
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.throttle.login_per_ip_per_minute = 0;
        c.lockout.max_failures = 3;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    for i in 0..3 {
        let resp = post_sign_in(&s, &mut b, BOB, &format!("wrong-{i}"), "/account").await;
        assert_eq!(resp.status(), 401);
    }
    let stored = s.auth().account_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(stored.credentials.lockout.failures, 3);
    assert!(stored.credentials.lockout.lock_expires.is_some());
    let resp = post_sign_in(&s, &mut b, BOB, BOB_PASSWORD, "/account").await;
    assert_eq!(resp.status(), 401, "locked: the right password is refused");
    assert!(resp.text().await.unwrap().contains(GENERIC));
    assert_eq!(b.cookie("storekey_account"), None);
    // The Commerce dialect sees the same lock.
    assert_eq!(s.sign_in(BOB, BOB_PASSWORD).await.0, 401);

    // A disabled customer: the same refusal, even with the right password.
    let id = s
        .admin_customer("dis@example.com", BOB_PASSWORD, false)
        .await;
    let (status, _) = s
        .admin(
            "PUT",
            &format!("/rest/V1/customers/{id}"),
            Some(json!({"customer": {"disabled": true}})),
        )
        .await;
    assert_eq!(status, 200);
    let resp = post_sign_in(&s, &mut b, "dis@example.com", BOB_PASSWORD, "/account").await;
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains(GENERIC));
    assert_eq!(b.cookie("storekey_account"), None);
}
