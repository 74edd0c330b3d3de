//! The provider's published metadata and keys: the discovery document (OpenID Connect
//! Discovery 1.0), the JWKS a relying party verifies ID tokens with, key rotation
//! (OIDCCServerRotateKeys) and the signing keys at rest (sealed under the key-encryption key).

use crate::oidc::*;
use crate::support::*;
use serde_json::{json, Value};
use storekey::auth::oidc::keys::{rsa_public_jwk, Kek};
use storekey::store::Backend as _;

fn expected_discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{issuer}/oauth/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone", "offline_access"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr",
            "email", "email_verified", "given_name", "family_name", "name", "phone_number",
            "address"
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}

/// Both well-known paths: (status, content type, body text).
async fn well_known(s: &TestServer) -> [String; 2] {
    let mut out = Vec::new();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let resp = reqwest::get(s.url(path)).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/json", "{path}");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*", "{path}");
        out.push(resp.text().await.unwrap());
    }
    out.try_into().unwrap()
}

#[tokio::test]
async fn oidcc_discovery_document_is_exact_and_the_jwks_verifies_an_id_token() {
    let s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;

    let [openid, oauth] = well_known(&s).await;
    assert_eq!(openid, oauth, "both well-known paths serve one document");
    let issuer = s.url("");
    assert_eq!(
        serde_json::from_str::<Value>(&openid).unwrap(),
        expected_discovery(&issuer),
        "the issuer defaults to the bound address"
    );

    let jwks = get_json(&s.url("/.well-known/jwks.json")).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    let mut fields: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    fields.sort();
    assert_eq!(fields, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(
        (&key["kty"], &key["alg"], &key["use"], &key["e"]),
        (
            &json!("RSA"),
            &json!("RS256"),
            &json!("sig"),
            &json!("AQAB")
        )
    );
    // 2048-bit modulus: 256 bytes, 342 base64url characters.
    assert_eq!(key["n"].as_str().unwrap().len(), 342);

    let mut b = signed_in_browser(&s).await;
    let tokens = tokens_for(&s, &mut b, &client).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(kid_of(id_token), key["kid"].as_str().unwrap());
    let claims = verify_with_jwks(&jwks, id_token).expect("the ID token verifies");
    assert_eq!(claims["iss"], json!(issuer));

    // A changed payload does not verify (the check above is a real one).
    let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
    let mut forged = claims.clone();
    forged["sub"] = json!("999999");
    parts[1] = storekey::auth::oidc::keys::b64url(forged.to_string());
    assert_eq!(verify_with_jwks(&jwks, &parts.join(".")), None);
}

#[tokio::test]
async fn a_configured_issuer_is_the_iss_everywhere() {
    const ISSUER: &str = "https://id.shop.example";
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.oidc.issuer = ISSUER.into();
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let [openid, oauth] = well_known(&s).await;
    assert_eq!(openid, oauth);
    assert_eq!(
        serde_json::from_str::<Value>(&openid).unwrap(),
        expected_discovery(ISSUER)
    );
    let mut b = signed_in_browser(&s).await;
    let resp = b.get(&authorize_url(&s, &client.0, "")).await;
    assert_eq!(
        query_param(&location(&resp), "iss").as_deref(),
        Some(ISSUER)
    );
    let tokens = tokens_for(&s, &mut b, &client).await;
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["iss"],
        ISSUER
    );
}

#[tokio::test]
async fn oidcc_server_rotate_keys() {
    let mut s = oidc_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut b = signed_in_browser(&s).await;
    let before = tokens_for(&s, &mut b, &client).await;
    let old_token = before["id_token"].as_str().unwrap().to_string();
    let old_kid = kid_of(&old_token);

    // The clock stands still: every time the rotation writes is known.
    let rotated_at = s.auth().now();
    s.clock.set(rotated_at);
    let new_key = storekey::auth::oidc::rotate_key(s.auth(), &s.config.oidc, "test")
        .await
        .unwrap();
    assert_ne!(new_key.kid, old_kid);
    let publish = i64::from(s.config.oidc.key_publish_minutes) * 60;
    assert_eq!(new_key.signs_from, rotated_at + publish);
    // The old key stays published until the last ID token it may sign has expired, plus the
    // margin.
    let stored = s.store().oidc_keys().await.unwrap();
    let old = stored.iter().find(|k| k.kid == old_kid).unwrap();
    assert_eq!(
        old.published_until,
        Some(new_key.signs_from + i64::from(s.config.oidc.id_token_minutes) * 60 + publish)
    );

    // A server that reads the keys again (the minute's reload, here a restart) publishes the
    // new key at once, but signs with it only from signs_from on.
    s.restart().await;
    let jwks = get_json(&s.url("/.well-known/jwks.json")).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "{jwks}");
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_key.kid.as_str()));
    let still_old = tokens_for(&s, &mut b, &client).await;
    assert_eq!(kid_of(still_old["id_token"].as_str().unwrap()), old_kid);

    s.clock.advance(publish + 1);
    let after = tokens_for(&s, &mut b, &client).await;
    let new_token = after["id_token"].as_str().unwrap();
    assert_eq!(kid_of(new_token), new_key.kid);
    let jwks = get_json(&s.url("/.well-known/jwks.json")).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
    assert!(verify_with_jwks(&jwks, new_token).is_some());
    assert!(
        verify_with_jwks(&jwks, &old_token).is_some(),
        "tokens of the old key still verify"
    );
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest_and_another_kek_cannot_start_the_server() {
    let mut s = oidc_server().await;
    let key_file = std::path::PathBuf::from(&s.config.oidc.key_file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let stored = s.store().oidc_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    let key = &stored[0];
    let kek = Kek::load_or_create(&key_file).unwrap();
    let pkcs8 = kek.open(&key.sealed_private, key.kid.as_bytes()).unwrap();
    assert!(
        !key.sealed_private
            .windows(pkcs8.len())
            .any(|w| w == pkcs8.as_slice()),
        "the private key is not stored in the clear"
    );
    assert!(
        !key.sealed_private
            .windows(32)
            .any(|w| pkcs8.windows(32).any(|p| p == w)),
        "not even a 32-byte run of it"
    );
    let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
    assert_eq!(rsa_public_jwk(&pair, &key.kid), key.public_jwk);
    let jwks = get_json(&s.url("/.well-known/jwks.json")).await;
    assert_eq!(jwks, json!({"keys": [key.public_jwk]}));

    s.stop().await;
    let mut other = s.config.clone();
    other.oidc.key_encryption_key = "ab".repeat(32);
    let refused = storekey::server::start(other, std::sync::Arc::new(s.clock.clone()))
        .await
        .err()
        .expect("a server with another key-encryption key does not start");
    assert!(refused.contains(&key.kid), "{refused}");
    assert!(refused.contains("key_encryption_key"), "{refused}");
    // The right key still opens them. (A refused start may release the database file a
    // moment after it returns: a few tries, not one.)
    let mut tries = 0;
    let server = loop {
        match storekey::server::start(s.config.clone(), std::sync::Arc::new(s.clock.clone())).await
        {
            Ok(server) => break server,
            Err(e) if tries < 20 => {
                tries += 1;
                eprintln!("start after a refused start, try {tries}: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the right key-encryption key does not start the server: {e}"),
        }
    };
    s.server = Some(server);
    assert_eq!(get_json(&s.url("/.well-known/jwks.json")).await, jwks);
}
