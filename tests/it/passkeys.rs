//! Customers' passkeys on the hosted pages (SPEC §11), driven by a software authenticator
//! (`soft_passkey.rs`) against the real server: add one on the account page, sign in with it
//! through an OpenID Connect flow, and every way a response is refused (another origin or RP
//! id, a replayed challenge, a cloned key, a removed passkey); a passwordless customer on the
//! legacy dialect. On redb, and on PostgreSQL in its suite.

use crate::account_code::{code_in, csrf, enter_code, mails_with};
use crate::oidc::{
    add_client, authorize_url, claims_of, exchange, location, query_param, Browser, CALLBACK,
};
use crate::soft_passkey::{SoftAuthenticator, ORIGIN, RP_ID};
use crate::support::{TestServer, BOB, BOB_PASSWORD, GENERIC};
use serde_json::{json, Value};
use storekey::auth::secret::SeededRandom;
use storekey::store::Backend as _;

const REFUSED: &str = "That passkey was not accepted. Please try again, or sign in another way.";

async fn passkey_server() -> TestServer {
    TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.webauthn.rp_id = RP_ID.into();
        c.webauthn.origins = vec![ORIGIN.into()];
    })
    .await
}

/// Signs `b` in with BOB's password on the hosted pages.
async fn signed_in(s: &TestServer, b: &mut Browser) {
    let token = csrf(s, b, "/account/sign-in").await;
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
}

/// The page's CSRF token (what the script reads from `<meta name="csrf-token">`).
async fn page_csrf(s: &TestServer, b: &mut Browser, path: &str) -> String {
    let page = b.get(&s.url(path)).await.text().await.unwrap();
    let at = page
        .find("<meta name=\"csrf-token\" content=\"")
        .expect("the csrf meta tag")
        + 33;
    page[at..at + 43].to_string()
}

async fn call(s: &TestServer, b: &mut Browser, path: &str, body: &Value) -> (u16, Value) {
    let token = page_csrf(s, b, "/account/sign-in").await;
    let resp = b.post_json(&s.url(path), &token, body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Adds a passkey named `name` with `key` to the browser's signed-in customer.
async fn add_passkey(s: &TestServer, b: &mut Browser, key: &mut SoftAuthenticator, name: &str) {
    let (status, options) = call(s, b, "/account/passkeys/register/options", &json!({})).await;
    assert_eq!(status, 200, "{options}");
    let credential = key.register(&options);
    let (status, done) = call(
        s,
        b,
        "/account/passkeys/register",
        &json!({ "name": name, "credential": credential }),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done, json!({ "location": "/account?passkey=added" }));
}

/// BOB's first passkey's id, as the removal form carries it (base64url).
async fn first_passkey_id(s: &TestServer) -> String {
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    let id = &account.credentials.passkeys[0].id;
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id)
}

/// Posts the account page's removal form for passkey `id` with the page's CSRF token.
async fn remove(s: &TestServer, b: &mut Browser, id: &str) -> reqwest::Response {
    let token = csrf(s, b, "/account").await;
    b.post(
        &s.url("/account/passkeys/remove"),
        &[("csrf", &token), ("id", id)],
    )
    .await
}

async fn sign_in_options(s: &TestServer, b: &mut Browser) -> Value {
    let (status, options) = call(s, b, "/account/passkeys/sign-in/options", &json!({})).await;
    assert_eq!(status, 200, "{options}");
    options
}

/// Posts an assertion; the status and answer.
async fn finish(
    s: &TestServer,
    b: &mut Browser,
    assertion: &Value,
    return_to: &str,
) -> (u16, Value) {
    let path = format!(
        "/account/passkeys/sign-in?return_to={}",
        storekey::auth::oidc::authorize::escape(return_to)
    );
    call(s, b, &path, assertion).await
}

async fn audit_actions(s: &TestServer) -> Vec<String> {
    s.store()
        .audit(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.action)
        .collect()
}

#[tokio::test]
async fn options_ask_for_a_discoverable_verified_key_under_an_opaque_handle() {
    let s = passkey_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    signed_in(&s, &mut b).await;
    let (status, o) = call(&s, &mut b, "/account/passkeys/register/options", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(o["rp"]["id"], json!(RP_ID));
    assert_eq!(o["user"]["name"], json!(BOB));
    let handle = o["user"]["id"].as_str().unwrap();
    assert!(!handle.contains("bob"), "{handle}");
    assert_eq!(handle.len(), 22, "16 bytes, base64url: {handle}");
    let algs: Vec<i64> = o["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert!(algs.contains(&-7) && algs.contains(&-257), "{algs:?}");
    assert_eq!(
        o["authenticatorSelection"]["residentKey"],
        json!("required")
    );
    assert_eq!(
        o["authenticatorSelection"]["userVerification"],
        json!("required")
    );

    // Sign-in options: anonymous, a fresh challenge each time, no credentials listed.
    let mut anon = Browser::new();
    let first = sign_in_options(&s, &mut anon).await;
    let second = sign_in_options(&s, &mut anon).await;
    assert_ne!(first["challenge"], second["challenge"]);
    assert!(first["allowCredentials"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    assert_eq!(first["userVerification"], json!("required"));
    assert_eq!(first["rpId"], json!(RP_ID));
}

#[tokio::test]
async fn a_customer_adds_a_passkey_and_signs_in_with_it_through_openid_connect() {
    let s = passkey_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;
    let mut key = SoftAuthenticator::new();

    let mut b = Browser::new();
    signed_in(&s, &mut b).await;
    add_passkey(&s, &mut b, &mut key, "Work laptop").await;
    let page = b
        .get(&s.url("/account?passkey=added"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your passkey is added."), "{page}");
    assert!(page.contains("<strong>Work laptop</strong>"), "{page}");
    assert!(page.contains("not used yet"), "{page}");
    assert!(page.contains("/passkeys.js\" defer></script>"), "{page}");

    // A new browser: the authorization request leads to the sign-in page, which offers the
    // passkey; the passkey's answer starts the session and goes back to the request.
    let mut b = Browser::new();
    let resp = b.get(&authorize_url(&s, &client.0, "")).await;
    assert_eq!(resp.status(), 302);
    let to_sign_in = location(&resp);
    let page = b.get(&s.url(&to_sign_in)).await.text().await.unwrap();
    assert!(page.contains("data-passkey-sign-in"), "{page}");
    assert!(
        page.contains("autocomplete=\"username webauthn\""),
        "{page}"
    );
    let return_to = query_param(&to_sign_in, "return_to").unwrap();
    let options = sign_in_options(&s, &mut b).await;
    let assertion = key.sign_in(&options);
    let (status, done) = finish(&s, &mut b, &assertion, &return_to).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["location"], json!(return_to));
    assert!(b.cookie("storekey_account").is_some());

    let resp = b.get(&s.url(done["location"].as_str().unwrap())).await;
    assert_eq!(resp.status(), 302);
    let to_client = location(&resp);
    assert!(to_client.starts_with(CALLBACK), "{to_client}");
    let code = query_param(&to_client, "code").unwrap();
    let (status, tokens) = exchange(
        &s,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], json!(BOB));
    assert_eq!(claims["amr"], json!(["hwk"]));

    // Stored: the counter moved, the use is recorded and audited.
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    let stored = &account.credentials.passkeys;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name, "Work laptop");
    assert!(stored[0].counter >= 1);
    assert!(stored[0].last_used_at.is_some());
    let actions = audit_actions(&s).await;
    assert!(
        actions.contains(&"passkey_added".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"passkey_sign_in".to_string()),
        "{actions:?}"
    );
    let metrics = s.metrics().await;
    assert!(
        metrics.contains(r#"storekey_logins_total{method="passkey",outcome="success"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_response_from_another_origin_or_for_another_rp_id_is_refused() {
    let s = passkey_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut key = SoftAuthenticator::new();
    let mut b = Browser::new();
    signed_in(&s, &mut b).await;

    // Registration from an origin not listed (a subdomain of the RP id, which a browser lets
    // ask for it: only the server's exact list stops it).
    let (_, options) = call(&s, &mut b, "/account/passkeys/register/options", &json!({})).await;
    key.origin = "https://promo.id.shop.example".parse().unwrap();
    let credential = key.register(&options);
    let (status, body) = call(
        &s,
        &mut b,
        "/account/passkeys/register",
        &json!({ "name": "Phone", "credential": credential }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        json!("The passkey was not added. Please try again.")
    );
    key.origin = ORIGIN.parse().unwrap();
    add_passkey(&s, &mut b, &mut key, "Phone").await;

    // Sign-in from another origin (same port rules: exact).
    let mut anon = Browser::new();
    let options = sign_in_options(&s, &mut anon).await;
    key.origin = "https://id.shop.example:8443".parse().unwrap();
    let assertion = key.sign_in(&options);
    let (status, body) = finish(&s, &mut anon, &assertion, "/account").await;
    assert_eq!((status, &body["error"]), (401, &json!(REFUSED)));
    key.origin = ORIGIN.parse().unwrap();

    // Signed for another RP id (the authenticator hashes the rpId it is given).
    let mut options = sign_in_options(&s, &mut anon).await;
    options["rpId"] = json!("shop.example");
    let assertion = key.sign_in(&options);
    let (status, body) = finish(&s, &mut anon, &assertion, "/account").await;
    assert_eq!((status, &body["error"]), (401, &json!(REFUSED)));
    assert_eq!(anon.cookie("storekey_account"), None);

    // The right origin and RP id still work.
    let options = sign_in_options(&s, &mut anon).await;
    let assertion = key.sign_in(&options);
    assert_eq!(finish(&s, &mut anon, &assertion, "/account").await.0, 200);
}

#[tokio::test]
async fn an_answer_is_taken_once_even_by_racing_requests() {
    let s = passkey_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut key = SoftAuthenticator::new();
    let mut b = Browser::new();
    signed_in(&s, &mut b).await;
    add_passkey(&s, &mut b, &mut key, "Phone").await;

    let mut anon = Browser::new();
    let options = sign_in_options(&s, &mut anon).await;
    let assertion = key.sign_in(&options);
    let token = page_csrf(&s, &mut anon, "/account/sign-in").await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let mut racer = anon.clone_cookies();
        let (url, token, assertion) = (
            s.url("/account/passkeys/sign-in"),
            token.clone(),
            assertion.clone(),
        );
        tasks.push(tokio::spawn(async move {
            racer
                .post_json(&url, &token, &assertion)
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 401, 401, 401, 401, 401]);
    // And later, replayed again.
    let (status, _) = finish(&s, &mut anon, &assertion, "/account").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_a_cloned_key_refused_and_audited() {
    let s = passkey_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut key = SoftAuthenticator::new();
    let mut b = Browser::new();
    signed_in(&s, &mut b).await;
    add_passkey(&s, &mut b, &mut key, "Phone").await;

    // Two answers signed in turn (counters n and n+1); the later one is used first, so the
    // earlier one arrives with a counter the server has already seen: what a copy of the key
    // on another device looks like.
    let mut anon = Browser::new();
    let first = key.sign_in(&sign_in_options(&s, &mut anon).await);
    let second = key.sign_in(&sign_in_options(&s, &mut anon).await);
    assert_eq!(finish(&s, &mut anon, &second, "/account").await.0, 200);
    let mut other = Browser::new();
    let (status, body) = finish(&s, &mut other, &first, "/account").await;
    assert_eq!((status, &body["error"]), (401, &json!(REFUSED)));
    assert_eq!(other.cookie("storekey_account"), None);
    let actions = audit_actions(&s).await;
    assert!(
        actions.contains(&"passkey_clone_refused".to_string()),
        "{actions:?}"
    );
    let metrics = s.metrics().await;
    assert!(
        metrics.contains(r#"storekey_logins_total{method="passkey",outcome="cloned"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_removed_passkey_no_longer_signs_in() {
    let s = passkey_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut key = SoftAuthenticator::new();
    let mut b = Browser::new();
    signed_in(&s, &mut b).await;
    add_passkey(&s, &mut b, &mut key, "Phone").await;
    let encoded = first_passkey_id(&s).await;

    // The removal form needs its CSRF token.
    let resp = b
        .post(&s.url("/account/passkeys/remove"), &[("id", &encoded)])
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("This form has expired."));
    let resp = remove(&s, &mut b, &encoded).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/account?passkey=removed");
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert!(account.credentials.passkeys.is_empty());

    let mut anon = Browser::new();
    let assertion = key.sign_in(&sign_in_options(&s, &mut anon).await);
    let (status, body) = finish(&s, &mut anon, &assertion, "/account").await;
    assert_eq!((status, &body["error"]), (401, &json!(REFUSED)));
    assert!(audit_actions(&s)
        .await
        .contains(&"passkey_removed".to_string()));
}

#[tokio::test]
async fn calls_need_the_pages_csrf_token_and_adding_needs_a_session() {
    let s = passkey_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut b = Browser::new();
    let resp = b
        .post_json(
            &s.url("/account/passkeys/sign-in/options"),
            "not-the-token",
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({ "error": "This form has expired. Please try again." })
    );
    let (status, body) = call(&s, &mut b, "/account/passkeys/register/options", &json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({ "error": "Your session has ended. Please sign in again." })
    );
    // Not JSON, or not WebAuthn's: the one refusal, nothing stored.
    for junk in [json!("x"), json!({ "response": {} }), json!([1, 2])] {
        let (status, body) = finish(&s, &mut b, &junk, "/account").await;
        assert_eq!((status, &body["error"]), (401, &json!(REFUSED)), "{junk}");
    }
}

#[tokio::test]
async fn passkeys_off_means_no_script_and_no_calls() {
    let s = crate::oidc::oidc_server().await;
    let mut b = Browser::new();
    let page = b
        .get(&s.url("/account/sign-in"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script"), "{page}");
    let (status, body) = call(&s, &mut b, "/account/passkeys/sign-in/options", &json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], json!("Passkeys are not available here."));
}

#[tokio::test]
async fn a_passwordless_customer_keeps_their_last_passkey_and_the_legacy_dialect_refuses_them_as_any_wrong_password(
) {
    let s = passkey_server().await;
    // An account without a password (created by an admin), signed in with a mailed code.
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/customers",
            Some(json!({ "customer": { "email": BOB, "firstname": "Bob", "lastname": "Loblaw" } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut b = Browser::new();
    let token = csrf(&s, &mut b, "/account/code").await;
    b.post(
        &s.url("/account/code"),
        &[("csrf", &token), ("return_to", "/account"), ("email", BOB)],
    )
    .await;
    let code = code_in(&mails_with(&s, 1, "Your sign-in code").await[0]);
    let resp = enter_code(&s, &mut b, BOB, &code, "/account").await;
    assert_eq!(resp.status(), 303);
    let mut key = SoftAuthenticator::new();
    add_passkey(&s, &mut b, &mut key, "Phone").await;

    // generateCustomerToken: exactly a wrong password's answer (another customer's), for any
    // password.
    s.create_customer("alice@example.com", BOB_PASSWORD).await;
    let (wrong_status, wrong) = s.sign_in("alice@example.com", "anything").await;
    assert_eq!(wrong["errors"][0]["message"], json!(GENERIC), "{wrong}");
    for password in ["anything", BOB_PASSWORD] {
        let (status, body) = s.sign_in(BOB, password).await;
        assert_eq!((status, &body), (wrong_status, &wrong));
    }

    // The last passkey of a passwordless account stays.
    let encoded = first_passkey_id(&s).await;
    let resp = remove(&s, &mut b, &encoded).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("This is your only passkey and your account has no password."),
        "{page}"
    );
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(account.credentials.passkeys.len(), 1);

    // An admin sends a reset mail (the console's button); its link sets a password, and then
    // the passkey may go.
    assert!(s
        .auth()
        .send_reset_as_admin(&account.customer, "ops")
        .await
        .unwrap());
    let mails = mails_with(&s, 2, "Reset your password").await;
    let link = mails[0]
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("http"))
        .unwrap()
        .to_string();
    // The link is the storefront's (the admin's mail); its token works on the hosted page too.
    let reset_token = query_param(&link, "token").unwrap_or_else(|| panic!("{link}"));
    let token = csrf(&s, &mut b, "/account/forgot").await;
    let resp = b
        .post(
            &s.url("/account/reset"),
            &[
                ("csrf", &token),
                ("return_to", "/account"),
                ("email", BOB),
                ("token", &reset_token),
                ("password", "N3w-passw0rd"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    assert_eq!(s.sign_in(BOB, "N3w-passw0rd").await.0, 200);
    let resp = remove(&s, &mut b, &encoded).await;
    assert_eq!(resp.status(), 303);
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert!(account.credentials.passkeys.is_empty());
}

#[tokio::test]
async fn an_account_created_with_a_passkey_has_no_password_and_goes_on_to_the_app() {
    let s = passkey_server().await;
    let client = add_client(&s, true).await;
    let mut b = Browser::new();
    let return_to = crate::account_code::return_to_of(&s, &mut b, &client.0).await;
    let (status, page, issued) = crate::account_register::ask(&s, &mut b, BOB, &return_to).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Create account with a passkey instead"),
        "{page}"
    );
    let code = code_in(&mails_with(&s, 1, "Verify your email address").await[0]);
    let resp = crate::account_register::complete(
        &s,
        &mut b,
        &[
            ("return_to", &return_to),
            ("email", BOB),
            ("issued", &issued),
            ("code", &code),
            ("password", ""),
            ("use", "passkey"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let next = location(&resp);
    assert!(
        next.starts_with("/account?passkey=create&return_to="),
        "{next}"
    );
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(account.credentials.password_hash, None);
    assert!(account.customer.email_verified);

    // The account page asks for the passkey, and offers to go on without one.
    let page = b.get(&s.url(&next)).await.text().await.unwrap();
    assert!(
        page.contains("Your account is created. Add a passkey now"),
        "{page}"
    );
    assert!(page.contains("Continue without a passkey"), "{page}");
    let finish = format!(
        "/account/passkeys/register?return_to={}",
        storekey::auth::oidc::authorize::escape(&return_to)
    );
    assert!(
        page.contains(&format!("data-finish=\"{}\"", finish.replace('&', "&amp;"))),
        "{page}"
    );
    let mut key = SoftAuthenticator::new();
    let (_, options) = call(&s, &mut b, "/account/passkeys/register/options", &json!({})).await;
    let credential = key.register(&options);
    let (status, done) = call(
        &s,
        &mut b,
        &finish,
        &json!({ "name": "Phone", "credential": credential }),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["location"], json!(return_to));
    let resp = b.get(&s.url(&return_to)).await;
    assert_eq!(resp.status(), 302);
    assert!(location(&resp).starts_with(CALLBACK));
}

/// `storekey import` of `file` into `s`'s store, as the CLI runs it; the report.
async fn import_into(
    s: &TestServer,
    file: &std::path::Path,
    on_conflict: storekey::store::import::OnConflict,
    dry_run: bool,
) -> storekey::import::run::Report {
    let options = storekey::import::run::ImportOptions {
        path: file.to_path_buf(),
        format: None,
        on_conflict,
        dry_run,
        batch: 100,
        send_reset: false,
        progress: false,
    };
    let finished = storekey::import::run::import(s.auth(), s.store(), &options)
        .await
        .unwrap();
    assert_eq!(finished.failure, None);
    finished.report
}

/// The report's invalid rows by line (a row refused as it is read is listed before one the
/// store refuses when its batch is written).
fn invalid_rows(report: &storekey::import::run::Report) -> Vec<(u64, &str)> {
    let mut rows: Vec<_> = report
        .invalid_rows
        .iter()
        .map(|n| (n.line, n.reason.as_str()))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_store_keeps_passkeys_that_sign_in_there_and_no_handle_is_taken(
) {
    use storekey::store::import::OnConflict;
    let from = passkey_server().await;
    from.create_customer(BOB, BOB_PASSWORD).await;
    from.create_customer("alice@example.com", BOB_PASSWORD)
        .await;
    let mut key = SoftAuthenticator::new();
    let mut b = Browser::new();
    signed_in(&from, &mut b).await;
    add_passkey(&from, &mut b, &mut key, "Work laptop").await;
    let source = from.store().customer_by_email(BOB).await.unwrap().unwrap();
    let handle = source.credentials.passkey_handle.unwrap();

    let mut out = Vec::new();
    let written = storekey::import::export::export(from.store(), &mut out, |_| {})
        .await
        .unwrap();
    assert_eq!(written, 2);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let bob_line = lines.iter().find(|l| l["email"] == json!(BOB)).unwrap();
    assert_eq!(bob_line["passkeys"][0]["name"], json!("Work laptop"));
    assert!(lines
        .iter()
        .all(|l| l["email"] == json!(BOB) || l.get("passkeys").is_none()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &text).unwrap();

    // A fresh store: the passkey, its handle and the handle's lookup arrive, and it signs in.
    let to = passkey_server().await;
    let report = import_into(&to, &file, OnConflict::Skip, false).await;
    assert_eq!((report.created, report.invalid), (2, 0), "{report:?}");
    let copied = to.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(copied.credentials.passkey_handle, Some(handle));
    assert_eq!(copied.credentials.passkeys, source.credentials.passkeys);
    assert_eq!(
        to.store()
            .customer_id_by_passkey_handle(&handle)
            .await
            .unwrap(),
        Some(copied.customer.id)
    );
    let mut anon = Browser::new();
    let assertion = key.sign_in(&sign_in_options(&to, &mut anon).await);
    let (status, body) = finish(&to, &mut anon, &assertion, "/account").await;
    assert_eq!((status, &body["location"]), (200, &json!("/account")));

    // Imported again with update, with another passkey for bob: he keeps his own.
    let mut other = bob_line.clone();
    other["passkey_handle"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    other["passkeys"][0]["name"] = json!("Not mine");
    let again = dir.path().join("again.jsonl");
    std::fs::write(&again, format!("{other}\n")).unwrap();
    let report = import_into(&to, &again, OnConflict::Update, false).await;
    assert_eq!((report.updated, report.skipped), (0, 1), "{report:?}");
    let kept = to.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(kept.credentials.passkey_handle, Some(handle));
    assert_eq!(kept.credentials.passkeys[0].name, "Work laptop");
    assert_eq!(kept.credentials.passkeys.len(), 1);

    // Alice, who has none, gets bob's through an update: the handle is his, the row refused
    // and nothing of it written, in a dry run and a real one alike.
    let mut stolen = bob_line.clone();
    stolen["email"] = json!("alice@example.com");
    stolen["firstname"] = json!("Mallory");
    let steal = dir.path().join("steal.jsonl");
    std::fs::write(&steal, format!("{stolen}\n")).unwrap();
    for dry_run in [true, false] {
        let report = import_into(&to, &steal, OnConflict::Update, dry_run).await;
        assert_eq!(
            (report.updated, report.invalid),
            (0, 1),
            "dry run {dry_run}: {report:?}"
        );
        assert_eq!(
            invalid_rows(&report),
            [(
                1,
                "passkey_handle belongs to another customer in the store; row not imported"
            )]
        );
    }
    let alice = to
        .store()
        .customer_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(alice.credentials.passkeys.is_empty());
    assert_eq!(alice.credentials.passkey_handle, None);
    assert_ne!(alice.customer.profile.firstname.as_deref(), Some("Mallory"));
    assert_eq!(
        to.store()
            .customer_id_by_passkey_handle(&handle)
            .await
            .unwrap(),
        Some(copied.customer.id)
    );

    // The same refusal for a new customer, and for a second line of one file with the handle.
    let mut carol = bob_line.clone();
    carol["email"] = json!("carol@example.com");
    let mut dave = bob_line.clone();
    dave["email"] = json!("dave@example.com");
    let both = dir.path().join("both.jsonl");
    std::fs::write(&both, format!("{carol}\n{dave}\n")).unwrap();
    let report = import_into(&to, &both, OnConflict::Skip, false).await;
    assert_eq!((report.created, report.invalid), (0, 2), "{report:?}");
    assert_eq!(
        invalid_rows(&report),
        [
            (
                1,
                "passkey_handle belongs to another customer in the store; row not imported"
            ),
            (2, "passkey_handle already on line 1 of the file")
        ]
    );
    assert!(to
        .store()
        .customer_by_email("carol@example.com")
        .await
        .unwrap()
        .is_none());
    let fresh = passkey_server().await;
    let report = import_into(&fresh, &both, OnConflict::Skip, false).await;
    assert_eq!((report.created, report.invalid), (1, 1), "{report:?}");
    assert_eq!(
        invalid_rows(&report),
        [(2, "passkey_handle already on line 1 of the file")]
    );
}

// ---------------------------------------------------------------- generated hostile answers

/// The parts of an assertion a mutation may touch: the bytes the verdict rests on.
const SIGNED_PARTS: &[&[&str]] = &[
    &["rawId"],
    &["response", "authenticatorData"],
    &["response", "clientDataJSON"],
    &["response", "signature"],
    &["response", "userHandle"],
];

fn part<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(v, |v, key| &mut v[*key])
}

/// One hostile change to a valid assertion (seeded, so a failure reproduces): a flipped bit,
/// bytes cut or added, junk or a value of another JSON type in place of a part, a part gone,
/// the authenticator flags or counter rewritten, another client data JSON around the same
/// challenge, a user handle of any length, or a body that is not an assertion at all.
fn hostile(rng: &SeededRandom, valid: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    let mut v = valid.clone();
    let path = SIGNED_PARTS[rng.below(SIGNED_PARTS.len())];
    let bytes_of = |v: &mut Value| {
        B64.decode(part(v, path).as_str().unwrap_or(""))
            .unwrap_or_default()
    };
    match rng.below(11) {
        0 => {
            let mut b = bytes_of(&mut v);
            if !b.is_empty() {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            *part(&mut v, path) = json!(B64.encode(b));
        }
        1 => {
            let mut b = bytes_of(&mut v);
            b.truncate(rng.below(b.len() + 1));
            *part(&mut v, path) = json!(B64.encode(b));
        }
        2 => {
            let mut b = bytes_of(&mut v);
            b.extend((0..1 + rng.below(64)).map(|_| rng.next_u64() as u8));
            *part(&mut v, path) = json!(B64.encode(b));
        }
        3 => {
            let junk = ["", "=", "!!!!", "a+b/c==", "\u{0}", "é", "AAAA.AAAA"];
            *part(&mut v, path) = json!(junk[rng.below(junk.len())]);
        }
        4 => {
            let other = [
                json!(null),
                json!(7),
                json!(-1.5e300),
                json!(true),
                json!([1, 2]),
                json!({"a": "b"}),
                json!("A".repeat(40_000)),
            ];
            *part(&mut v, path) = other[rng.below(other.len())].clone();
        }
        5 => {
            let (parent, last) = path.split_at(path.len() - 1);
            if let Some(o) = part(&mut v, parent).as_object_mut() {
                o.remove(last[0]);
            }
        }
        6 => {
            // Flags (UP, UV, BE, BS, AT, ED) and the signature counter: signed, so any change
            // breaks the signature.
            let at = ["response", "authenticatorData"];
            let mut b = B64.decode(part(&mut v, &at).as_str().unwrap()).unwrap();
            b[32] = rng.next_u64() as u8;
            b[33..37].copy_from_slice(&(rng.next_u64() as u32).to_be_bytes());
            if b == B64
                .decode(valid["response"]["authenticatorData"].as_str().unwrap())
                .unwrap()
            {
                b[36] ^= 1;
            }
            *part(&mut v, &at) = json!(B64.encode(b));
        }
        7 => {
            // The same challenge under another origin, type or cross-origin claim.
            let at = ["response", "clientDataJSON"];
            let mut data: Value =
                serde_json::from_slice(&B64.decode(part(&mut v, &at).as_str().unwrap()).unwrap())
                    .unwrap();
            match rng.below(3) {
                0 => data["origin"] = json!("https://id.shop.example.evil.test"),
                1 => data["type"] = json!("webauthn.create"),
                _ => data["crossOrigin"] = json!(true),
            }
            *part(&mut v, &at) = json!(B64.encode(data.to_string()));
        }
        8 => {
            let n = rng.below(40);
            let handle: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            v["response"]["userHandle"] = json!(B64.encode(handle));
        }
        9 => {
            let depth = 1 + rng.below(5000);
            return format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        }
        _ => {
            let n = rng.below(300);
            return (0..n)
                .map(|_| (rng.next_u64() as u8 % 95 + 32) as char)
                .collect();
        }
    }
    v.to_string()
}

#[tokio::test]
async fn generated_hostile_answers_are_refused_alike_and_never_sign_in() {
    let s = TestServer::start_with(|c| {
        c.oidc.enabled = true;
        c.webauthn.rp_id = RP_ID.into();
        c.webauthn.origins = vec![ORIGIN.into()];
        // Every answer here comes from 127.0.0.1.
        c.throttle.login_per_ip_per_minute = 0;
    })
    .await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut key = SoftAuthenticator::new();
    let mut b = Browser::new();
    signed_in(&s, &mut b).await;
    add_passkey(&s, &mut b, &mut key, "Phone").await;
    let counter_before = s
        .store()
        .customer_by_email(BOB)
        .await
        .unwrap()
        .unwrap()
        .credentials
        .passkeys[0]
        .counter;

    let rng = SeededRandom::new(0x9a55_4e75);
    let mut anon = Browser::new();
    let token = page_csrf(&s, &mut anon, "/account/sign-in").await;
    let mut changed = 0;
    for round in 0..160 {
        let options = sign_in_options(&s, &mut anon).await;
        let valid = key.sign_in(&options);
        let body = hostile(&rng, &valid);
        let unchanged = valid.to_string();
        if body == unchanged {
            // A cut at the full length, or a flip in nothing: no change made.
            continue;
        }
        changed += 1;
        let resp = anon
            .http_post_raw(&s.url("/account/passkeys/sign-in"), &token, body.clone())
            .await;
        let status = resp.status().as_u16();
        let set_cookie = resp.headers().get_all("set-cookie").iter().count();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status, &answer["error"], set_cookie),
            (401, &json!(REFUSED), 0),
            "round {round}: {}\nvalid: {}",
            &body[..body.len().min(1200)],
            valid
        );
    }
    assert!(changed > 140, "{changed} answers changed");
    assert_eq!(anon.cookie("storekey_account"), None);
    // Nothing moved: the stored counter is the registration's, and the key still signs in.
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert_eq!(account.credentials.passkeys[0].counter, counter_before);
    assert_eq!(account.credentials.passkeys[0].last_used_at, None);
    let options = sign_in_options(&s, &mut anon).await;
    let assertion = key.sign_in(&options);
    assert_eq!(finish(&s, &mut anon, &assertion, "/account").await.0, 200);
    let metrics = s.metrics().await;
    assert!(
        !metrics.contains(r#"storekey_logins_total{method="passkey",outcome="error"}"#),
        "{metrics}"
    );
}

/// The parts of a registration response a mutation may touch.
const REGISTRATION_PARTS: &[&[&str]] = &[
    &["rawId"],
    &["response", "attestationObject"],
    &["response", "clientDataJSON"],
];

#[tokio::test]
async fn generated_hostile_registrations_get_a_clean_answer_and_cbor_bombs_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    let s = passkey_server().await;
    s.create_customer(BOB, BOB_PASSWORD).await;
    let mut key = SoftAuthenticator::new();
    let mut b = Browser::new();
    signed_in(&s, &mut b).await;
    let rng = SeededRandom::new(0x5e9_1577);
    let (mut bombs, mut accepted) = (0, 0);
    for round in 0..80 {
        let (_, options) = call(&s, &mut b, "/account/passkeys/register/options", &json!({})).await;
        let valid = key.register(&options);
        let mut bad = valid.clone();
        let path = REGISTRATION_PARTS[rng.below(REGISTRATION_PARTS.len())];
        let bomb = match rng.below(4) {
            // CBOR nested far deeper than any parser's stack allows without a limit: an array
            // of one element, again and again.
            0 => {
                // Within the 64 KiB body limit once in base64 (a larger body is 413 before any parse).
                let depth = 1_000 + rng.below(44_000);
                let mut cbor = vec![0x81u8; depth];
                cbor.push(0x00);
                bad["response"]["attestationObject"] = json!(B64.encode(cbor));
                true
            }
            // A map that claims more entries than it holds, or a huge byte string length.
            1 => {
                let claims = [
                    vec![0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                    vec![0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                ];
                bad["response"]["attestationObject"] =
                    json!(B64.encode(&claims[rng.below(claims.len())]));
                true
            }
            2 => {
                let mut bytes = B64.decode(part(&mut bad, path).as_str().unwrap()).unwrap();
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
                *part(&mut bad, path) = json!(B64.encode(bytes));
                false
            }
            _ => {
                let mut bytes = B64.decode(part(&mut bad, path).as_str().unwrap()).unwrap();
                bytes.truncate(rng.below(bytes.len()));
                *part(&mut bad, path) = json!(B64.encode(bytes));
                false
            }
        };
        let (status, body) = call(
            &s,
            &mut b,
            "/account/passkeys/register",
            &json!({ "name": "Phone", "credential": bad }),
        )
        .await;
        if bomb {
            bombs += 1;
            assert_eq!(
                (status, &body["error"]),
                (400, &json!("The passkey was not added. Please try again.")),
                "round {round}"
            );
            continue;
        }
        // With attestation "none" nothing signs what the client registers: a flipped bit in
        // the attested key or in rawId (which webauthn-rs ignores for the id it stores) may
        // register a key that can never sign in. What matters is a clean answer.
        match status {
            200 => {
                // Removed again, so the options keep coming (10 is the most one may hold).
                accepted += 1;
                let resp = remove(&s, &mut b, &first_passkey_id(&s).await).await;
                assert_eq!(resp.status(), 303);
            }
            400 | 409 => assert!(body["error"].is_string(), "round {round}: {body}"),
            other => panic!("round {round}: {other} {body}"),
        }
    }
    assert!(bombs > 30, "{bombs}");
    let account = s.store().customer_by_email(BOB).await.unwrap().unwrap();
    assert!(
        account.credentials.passkeys.is_empty(),
        "{accepted} accepted, all removed"
    );
    // The server still answers, and a good registration still works.
    add_passkey(&s, &mut b, &mut key, "Phone").await;
}

#[tokio::test]
async fn across_three_instances_a_ceremony_started_on_one_finishes_on_another_once() {
    if !crate::support::on_postgres() {
        eprintln!("skipped on redb: several instances share only a PostgreSQL database");
        return;
    }
    let Some(db) = crate::postgres::database(crate::postgres::Schema::Migrated).await else {
        return;
    };
    let mut servers = Vec::new();
    for _ in 0..3 {
        let storage = db.storage();
        servers.push(
            TestServer::start_with(move |c| {
                c.storage = storage;
                c.oidc.enabled = true;
                c.oidc.key_encryption_key = "5a".repeat(32);
                c.webauthn.rp_id = RP_ID.into();
                c.webauthn.origins = vec![ORIGIN.into()];
            })
            .await,
        );
    }
    servers[0].create_customer(BOB, BOB_PASSWORD).await;
    let mut key = SoftAuthenticator::new();

    // Registration: options from instance 0, the answer to instance 1.
    let mut b = Browser::new();
    signed_in(&servers[0], &mut b).await;
    let (_, options) = call(
        &servers[0],
        &mut b,
        "/account/passkeys/register/options",
        &json!({}),
    )
    .await;
    let credential = key.register(&options);
    let (status, body) = call(
        &servers[1],
        &mut b,
        "/account/passkeys/register",
        &json!({ "name": "Phone", "credential": credential }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Sign-in: options from instance 2; one answer raced to all three, twice each.
    let mut anon = Browser::new();
    let options = sign_in_options(&servers[2], &mut anon).await;
    let assertion = key.sign_in(&options);
    let token = page_csrf(&servers[0], &mut anon, "/account/sign-in").await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let mut racer = anon.clone_cookies();
        let url = servers[i % 3].url("/account/passkeys/sign-in");
        let (token, assertion) = (token.clone(), assertion.clone());
        tasks.push(tokio::spawn(async move {
            racer
                .post_json(&url, &token, &assertion)
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 401, 401, 401, 401, 401]);
    let stored = servers[0]
        .store()
        .customer_by_email(BOB)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.credentials.passkeys[0].last_used_at.is_some());
}
