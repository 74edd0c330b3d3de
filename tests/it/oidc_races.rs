//! One winner per code and per refresh token, on one server and across three instances on one
//! PostgreSQL database; and the provider's counters in `/metrics`.

use crate::oidc::*;
use crate::support::*;
use serde_json::Value;

const RACERS: usize = 8;

/// `RACERS` token requests with `form` at once, spread over `servers`: the statuses and bodies.
async fn race(
    servers: &[&TestServer],
    client: &(String, String),
    form: &[(&str, &str)],
) -> Vec<(u16, Value)> {
    let tries = (0..RACERS).map(|i| {
        let s = servers[i % servers.len()];
        exchange(s, client, form)
    });
    futures_util::future::join_all(tries).await
}

/// Exactly one 200; every other answer `invalid_grant`. The winner's body.
fn one_winner(results: Vec<(u16, Value)>) -> Value {
    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|(s, _)| *s == 200);
    assert_eq!(won.len(), 1, "winners: {won:?}, losers: {lost:?}");
    for (status, body) in &lost {
        assert_eq!(
            (*status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    won.into_iter().next().unwrap().1
}

/// Races a code, then a refresh token, over `servers` (the browser signs in on the first).
async fn races_have_one_winner(servers: &[&TestServer]) {
    let s = servers[0];
    let client = add_client(s, true).await;
    let mut b = signed_in_browser(s).await;
    let code = code_for(&mut b, &authorize_url(s, &client.0, "")).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let won = one_winner(race(servers, &client, &form).await);
    // Every loser after the winner's commit is a reuse (RFC 6749 §4.1.2): what the code issued
    // is revoked, so a client that sends its code several times ends up with nothing.
    let access = won["access_token"].as_str().unwrap();
    assert_eq!(userinfo(s, access).await.0, 401);
    let (status, body) = refresh(s, &client, won["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let tokens = tokens_for(s, &mut b, &client).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let won = one_winner(race(servers, &client, &form).await);
    // Losers within the grace end nothing: the winner's refresh token works, on every server.
    let mut next = won["refresh_token"].as_str().unwrap().to_string();
    for s in servers {
        let (status, body) = refresh(s, &client, &next).await;
        assert_eq!(status, 200, "{body}");
        next = body["refresh_token"].as_str().unwrap().to_string();
    }
}

#[tokio::test]
async fn eight_concurrent_redemptions_and_refreshes_have_one_winner() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    races_have_one_winner(&[&s]).await;
}

#[tokio::test]
async fn one_winner_across_three_instances_on_one_postgresql_database() {
    if !on_postgres() {
        eprintln!("skipped on redb: several instances share only a PostgreSQL database");
        return;
    }
    let Some(db) = crate::postgres::database(crate::postgres::Schema::Migrated).await else {
        return;
    };
    let storage = db.storage();
    let mut servers = Vec::new();
    for _ in 0..3 {
        let storage = storage.clone();
        servers.push(
            TestServer::start_with(move |c| {
                c.storage = storage;
                c.oidc.enabled = true;
                c.oidc.issuer = "https://id.shop.example".into();
                // One key-encryption key for the instances (each test server has its own
                // directory, so its own key file otherwise).
                c.oidc.key_encryption_key = "5a".repeat(32);
            })
            .await,
        );
    }
    servers[0].create_customer(BOB, BOB_PASSWORD).await;
    // The instances agreed on one signing key.
    let jwks: Vec<Value> = futures_util::future::join_all(
        servers
            .iter()
            .map(|s| get_json_owned(s.url("/.well-known/jwks.json"))),
    )
    .await;
    assert_eq!(jwks[0]["keys"].as_array().unwrap().len(), 1, "{}", jwks[0]);
    assert!(jwks.iter().all(|j| *j == jwks[0]), "{jwks:?}");
    let refs: Vec<&TestServer> = servers.iter().collect();
    races_have_one_winner(&refs).await;
}

async fn get_json_owned(url: String) -> Value {
    get_json(&url).await
}

#[tokio::test]
async fn the_provider_counts_its_outcomes_in_metrics() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let code = code_for(&mut b, &authorize_url(&s, &client.0, "")).await;
    let (_, tokens) = redeem(&s, &client, &code).await;
    userinfo(&s, tokens["access_token"].as_str().unwrap()).await;
    redeem(&s, &client, &code).await;
    exchange(
        &s,
        &(client.0.clone(), "wrong".into()),
        &[("grant_type", "refresh_token")],
    )
    .await;
    userinfo(&s, "nope").await;
    Browser::new()
        .get(&authorize_url(&s, &client.0, "&prompt=none"))
        .await;
    Browser::new()
        .get(&authorize_url(&s, "unknown-client", ""))
        .await;
    b.get(&s.url(&format!(
        "/oauth/logout?id_token_hint={}",
        tokens["id_token"].as_str().unwrap()
    )))
    .await;
    let text = s.metrics().await;
    for line in [
        r#"storekey_oidc_total{endpoint="authorize",outcome="code"} 1"#,
        r#"storekey_oidc_total{endpoint="authorize",outcome="login_required"} 1"#,
        r#"storekey_oidc_total{endpoint="authorize",outcome="refused"} 1"#,
        r#"storekey_oidc_total{endpoint="token",outcome="issued"} 1"#,
        r#"storekey_oidc_total{endpoint="token",outcome="invalid_grant"} 1"#,
        r#"storekey_oidc_total{endpoint="token",outcome="invalid_client"} 1"#,
        r#"storekey_oidc_total{endpoint="userinfo",outcome="ok"} 1"#,
        r#"storekey_oidc_total{endpoint="userinfo",outcome="invalid_token"} 1"#,
        r#"storekey_oidc_total{endpoint="logout",outcome="signed_out"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
}
