//! RP-Initiated Logout 1.0 (OIDCCRpInitiatedLogout*): what ends, where the browser goes, what is
//! refused (shown, never redirected), and `oidc.logout_ends_grants`.

use crate::oidc::*;
use crate::support::*;
use storekey::auth::oidc::authorize::escape;
use storekey::auth::oidc::clients::NewClient;

const WITH_QUERY: &str = "https://shop.example/bye?from=op";

/// Whether the response clears the session cookie.
fn clears_session(resp: &reqwest::Response) -> bool {
    resp.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap() == "storekey_account=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    })
}

/// Whether a browser with `cookie` as its session is signed in (authorize gives a code).
async fn signed_in(s: &TestServer, cookie: &str, client_id: &str) -> bool {
    let mut b = Browser::new();
    b.set_cookie("storekey_account", cookie);
    let resp = b.get(&authorize_url(s, client_id, "")).await;
    assert_eq!(resp.status(), 302);
    let to = location(&resp);
    if to.starts_with("/account/sign-in?") {
        return false;
    }
    assert!(query_param(&to, "code").is_some(), "{to}");
    true
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_pages_refusals_and_redirects() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let other = add_client_with(
        &s,
        NewClient {
            first_party: true,
            post_logout_redirect_uris: vec![WITH_QUERY.into()],
            ..NewClient::default()
        },
    )
    .await;

    // No parameters: nothing names this session, so the customer is asked first (RP-Initiated
    // Logout §2); nothing has ended yet. The answer needs the page's CSRF token.
    let mut b = signed_in_browser(&s).await;
    let cookie = b.cookie("storekey_account").unwrap().clone();
    assert!(signed_in(&s, &cookie, &client.0).await);
    let resp = b.get(&s.url("/oauth/logout")).await;
    assert_eq!(resp.status(), 200);
    assert!(!clears_session(&resp));
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("Sign out of your store account on this device?"),
        "{page}"
    );
    assert!(signed_in(&s, &cookie, &client.0).await, "asked, not ended");
    let resp = b
        .post(
            &s.url("/oauth/logout"),
            &[("confirm", "yes"), ("request", ""), ("csrf", "wrong")],
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert!(signed_in(&s, &cookie, &client.0).await);
    let resp = b
        .post(
            &s.url("/oauth/logout"),
            &[
                ("confirm", "yes"),
                ("request", ""),
                ("csrf", &csrf_of(&page)),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(clears_session(&resp));
    assert!(resp.text().await.unwrap().contains("You are signed out."));
    assert!(
        !signed_in(&s, &cookie, &client.0).await,
        "the session ended"
    );

    // Refusals: 400 pages, the session kept, the cookie kept.
    let mut b = signed_in_browser(&s).await;
    let cookie = b.cookie("storekey_account").unwrap().clone();
    let tokens = tokens_for(&s, &mut b, &client).await;
    let hint = tokens["id_token"].as_str().unwrap().to_string();
    let mut parts: Vec<&str> = hint.split('.').collect();
    let forged_payload = storekey::auth::oidc::keys::b64url(
        claims_of(&hint).to_string().replace(&client.0, &other.0),
    );
    parts[1] = &forged_payload;
    let forged = parts.join(".");
    let cut = &hint[..hint.len() - 4];
    // The same claims, unsigned (`alg: none`).
    let unsigned = format!(
        "{}.{}.",
        storekey::auth::oidc::keys::b64url(r#"{"alg":"none"}"#),
        hint.split('.').nth(1).unwrap()
    );
    let after = escape(AFTER_LOGOUT);
    for (query, why) in [
        (
            format!("id_token_hint={forged}"),
            "The id_token_hint was not issued by this provider.",
        ),
        (
            format!("id_token_hint={cut}"),
            "The id_token_hint was not issued by this provider.",
        ),
        (
            format!("id_token_hint={unsigned}"),
            "The id_token_hint was not issued by this provider.",
        ),
        (
            "id_token_hint=garbage".to_string(),
            "The id_token_hint was not issued by this provider.",
        ),
        (
            format!(
                "id_token_hint={hint}&post_logout_redirect_uri={}",
                escape("https://evil.example/")
            ),
            "The post_logout_redirect_uri is not registered for this client.",
        ),
        (
            format!(
                "id_token_hint={hint}&post_logout_redirect_uri={}",
                escape(WITH_QUERY)
            ),
            "The post_logout_redirect_uri is not registered for this client.",
        ),
        (
            format!("post_logout_redirect_uri={after}"),
            "A post_logout_redirect_uri needs an id_token_hint or client_id.",
        ),
        (
            format!(
                "id_token_hint={hint}&client_id={}&post_logout_redirect_uri={after}",
                other.0
            ),
            "The client_id does not match the id_token_hint.",
        ),
    ] {
        let resp = b.get(&s.url(&format!("/oauth/logout?{query}"))).await;
        assert_eq!(resp.status(), 400, "{query}");
        assert!(resp.headers().get("location").is_none(), "{query}");
        assert!(!clears_session(&resp), "{query}");
        let body = resp.text().await.unwrap();
        assert!(body.contains(why), "{query}: {why} not in {body}");
        assert!(
            signed_in(&s, &cookie, &client.0).await,
            "{query}: session kept"
        );
    }

    // The hint, a registered URI and a state: back to the client with the state.
    let resp = b
        .get(&s.url(&format!(
            "/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={after}&state=a%20b%26c"
        )))
        .await;
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), format!("{AFTER_LOGOUT}?state=a%20b%26c"));
    assert!(clears_session(&resp));
    assert!(!signed_in(&s, &cookie, &client.0).await);

    // client_id instead of a hint (asked first: no hint names the session), a registered URI
    // with a query: the state joins with &.
    let mut b = signed_in_browser(&s).await;
    let resp = b
        .post(
            &s.url("/oauth/logout"),
            &[
                ("client_id", other.0.as_str()),
                ("post_logout_redirect_uri", WITH_QUERY),
                ("state", "s1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let request = {
        let at = page.find("name=\"request\" value=\"").unwrap() + 22;
        let end = page[at..].find('"').unwrap();
        // As a browser reads the attribute: askama writes `&` as `&#38;`.
        page[at..at + end].replace("&#38;", "&")
    };
    let resp = b
        .post(
            &s.url("/oauth/logout"),
            &[
                ("confirm", "yes"),
                ("request", &request),
                ("csrf", &csrf_of(&page)),
            ],
        )
        .await;
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), format!("{WITH_QUERY}&state=s1"));
    // Without a state: the URI as registered.
    let resp = b
        .get(&s.url(&format!(
            "/oauth/logout?client_id={}&post_logout_redirect_uri={}",
            other.0,
            escape(WITH_QUERY)
        )))
        .await;
    assert_eq!(location(&resp), WITH_QUERY);

    // An expired hint is still a hint (the normal case when logging out later).
    s.clock
        .advance(i64::from(s.config.oidc.id_token_minutes) * 60 + 60);
    let resp = Browser::new()
        .get(&s.url(&format!(
            "/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={after}"
        )))
        .await;
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), AFTER_LOGOUT);
}

async fn logout_with_hint(s: &TestServer, ends_grants: bool) {
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(s, true).await;
    let other = add_client(s, true).await;
    let mut b = signed_in_browser(s).await;
    let tokens = tokens_for(s, &mut b, &client).await;
    let others = tokens_for(s, &mut b, &other).await;
    // Another session's grant of the same client.
    let mut elsewhere = signed_in_browser(s).await;
    let elsewhere = tokens_for(s, &mut elsewhere, &client).await;

    let hint = tokens["id_token"].as_str().unwrap();
    let resp = b
        .get(&s.url(&format!(
            "/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            escape(AFTER_LOGOUT)
        )))
        .await;
    assert_eq!(resp.status(), 302);

    let refreshed = refresh(s, &client, tokens["refresh_token"].as_str().unwrap()).await;
    let access = userinfo(s, tokens["access_token"].as_str().unwrap())
        .await
        .0;
    if ends_grants {
        assert_eq!(
            (refreshed.0, refreshed.1["error"].as_str()),
            (400, Some("invalid_grant")),
            "the client's grant of that session ends"
        );
        assert_eq!(access, 401);
    } else {
        assert_eq!(refreshed.0, 200, "{}", refreshed.1);
        assert_eq!(access, 200);
    }
    // Other clients' grants and other sessions' grants live on either way.
    let (status, body) = refresh(s, &other, others["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = refresh(s, &client, elsewhere["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn logout_ends_the_clients_grants_of_that_session() {
    let s = oidc_server().await;
    assert!(s.config.oidc.logout_ends_grants, "the default");
    logout_with_hint(&s, true).await;
}

#[tokio::test]
async fn logout_keeps_the_grants_when_logout_ends_grants_is_off() {
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.oidc.logout_ends_grants = false;
    })
    .await;
    logout_with_hint(&s, false).await;
}
