//! Admins' passkeys in the console (issue 26, SPEC §11): the Passkeys page's JSON calls with
//! the session's CSRF header, the passkey as the second factor after the password, the
//! passkey-only sign-in (`admin.passkey_only`), and what is refused: another origin, a replayed
//! answer, a removed passkey, the last passkey under passkey-only, a skipped password step.

use crate::soft_passkey::{SoftAuthenticator, ORIGIN, RP_ID};
use crate::support::{TestServer, GENERIC};
use serde_json::{json, Value};
use std::collections::HashMap;
use storekey::auth::totp::TotpSecret;
use storekey::config::Config;

const PASSWORD: &str = "correct horse 42";
const SESSION: &str = "storekey_admin";
const PENDING: &str = "storekey_admin_passkey";

/// A browser that keeps cookies by name (no paths: every call here is under /admin) and
/// follows no redirect.
struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, String>,
}

struct Answer {
    status: u16,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = if cookies.is_empty() {
            req
        } else {
            req.header("Cookie", cookies.join("; "))
        };
        let resp = req.send().await.unwrap();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || c.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        Answer {
            status: resp.status().as_u16(),
            location,
            set_cookies,
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, s: &TestServer, path: &str) -> Answer {
        let req = self.http.get(s.url(path));
        self.send(req).await
    }

    async fn post(&mut self, s: &TestServer, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self.http.post(s.url(path)).form(form);
        self.send(req).await
    }

    /// A JSON call as `assets/passkeys.js` makes it.
    async fn call(&mut self, s: &TestServer, path: &str, csrf: &str, body: &Value) -> Answer {
        let req = self
            .http
            .post(s.url(path))
            .header("Content-Type", "application/json")
            .header("X-CSRF-Token", csrf)
            .body(body.to_string());
        self.send(req).await
    }
}

fn passkeys_on(c: &mut Config) {
    c.webauthn.rp_id = RP_ID.into();
    c.webauthn.origins = vec![ORIGIN.into()];
}

fn passkey_only(c: &mut Config) {
    passkeys_on(c);
    c.admin.passkey_only = true;
}

/// The value of the first `name="NAME" value="…"` field of a page.
fn field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

/// The page's `<meta name="csrf-token">`, which the passkey script sends.
fn meta_csrf(body: &str) -> String {
    let marker = "<meta name=\"csrf-token\" content=\"";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf meta in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

/// Adds `name` (REST), sets it up (password + TOTP, as today) and returns the signed-in browser
/// and the TOTP secret.
async fn set_up(s: &TestServer, name: &str) -> (Browser, TotpSecret) {
    let (status, body) = s
        .admin("POST", "/rest/V1/admin-users", Some(json!({"name": name})))
        .await;
    assert_eq!(status, 200, "{body}");
    let path = body["setup_path"].as_str().unwrap().to_string();
    let mut b = Browser::new();
    let page = b.get(s, &path).await;
    let secret = field(&page.body, "secret");
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let totp = TotpSecret::from_bytes(bytes.try_into().unwrap());
    let code = field(&page.body, "code");
    let done = b
        .post(
            s,
            "/admin/setup",
            &[
                ("code", &code),
                ("secret", &secret),
                ("password", PASSWORD),
                ("confirmation", PASSWORD),
                ("totp", &totp.code_at(s.auth().now())),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(b.jar.contains_key(SESSION));
    (b, totp)
}

/// Adds a passkey named `name` on the Passkeys page, as its script does.
async fn enrol(s: &TestServer, b: &mut Browser, key: &mut SoftAuthenticator, name: &str) {
    let page = b.get(s, "/admin/passkeys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = meta_csrf(&page.body);
    let options = b
        .call(s, "/admin/passkeys/register/options", &csrf, &json!({}))
        .await;
    assert_eq!(options.status, 200, "{}", options.body);
    let credential = key.register(&options.json());
    let done = b
        .call(
            s,
            "/admin/passkeys/register",
            &csrf,
            &json!({ "name": name, "credential": credential }),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        done.json(),
        json!({ "location": "/admin/passkeys?notice=added" })
    );
}

async fn sign_out(s: &TestServer, b: &mut Browser) {
    let page = b.get(s, "/admin/passkeys").await;
    let csrf = field(&page.body, "csrf");
    let out = b.post(s, "/admin/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(!b.jar.contains_key(SESSION));
}

/// The password step with a passkey as the second factor: the options it minted.
async fn password_step(s: &TestServer, b: &mut Browser, name: &str, password: &str) -> Answer {
    b.post(
        s,
        "/admin/sign-in",
        &[
            ("name", name),
            ("password", password),
            ("factor", "passkey"),
        ],
    )
    .await
}

async fn sign_in_options(s: &TestServer, b: &mut Browser) -> Answer {
    b.call(s, "/admin/sign-in/passkey/options", "", &json!({}))
        .await
}

async fn finish(s: &TestServer, b: &mut Browser, response: &Value) -> Answer {
    b.call(
        s,
        "/admin/sign-in/passkey?return_to=%2Fadmin%2Fcustomers",
        "",
        response,
    )
    .await
}

async fn audit_actions(s: &TestServer) -> Vec<(String, String, String)> {
    s.auth()
        .audit_page(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| (e.actor, e.action, e.detail.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn an_admin_adds_a_passkey_and_signs_in_with_the_password_then_the_passkey() {
    let s = TestServer::start_with(passkeys_on).await;
    let (mut b, totp) = set_up(&s, "alice").await;
    // The navigation links the page; the page loads the script from the console and carries
    // the session's CSRF token where the script reads it.
    let customers = b.get(&s, "/admin/customers").await;
    assert!(customers
        .body
        .contains("<a href=\"/admin/passkeys\">Passkeys</a>"));
    let page = b.get(&s, "/admin/passkeys").await;
    assert_eq!(page.status, 200);
    assert_eq!(meta_csrf(&page.body), field(&page.body, "csrf"));
    assert!(page.body.contains("No passkeys yet."));
    let script = page
        .body
        .split("<script src=\"")
        .map(|p| p.split('"').next().unwrap())
        .find(|src| src.ends_with("/passkeys.js"))
        .expect("the page loads passkeys.js")
        .to_string();
    assert!(script.starts_with("/admin/assets/"), "{script}");
    let js = b.get(&s, &script).await;
    assert_eq!(js.status, 200);
    assert!(js.body.contains("data-passkey-add"));
    // The JSON calls need the CSRF header.
    let no_csrf = b
        .call(&s, "/admin/passkeys/register/options", "", &json!({}))
        .await;
    assert_eq!(no_csrf.status, 403);

    let mut key = SoftAuthenticator::new();
    enrol(&s, &mut b, &mut key, "Laptop").await;
    let page = b.get(&s, "/admin/passkeys?notice=added").await;
    assert!(page.body.contains("The passkey is added."));
    assert!(page.body.contains("<td>Laptop</td>"), "{}", page.body);
    sign_out(&s, &mut b).await;

    // The sign-in page offers the passkey beside the code.
    let mut b = Browser::new();
    let form = b.get(&s, "/admin/sign-in").await;
    assert!(form.body.contains("name=\"factor\" value=\"passkey\""));
    // Password first: no session yet, the page that asks for the passkey.
    let step = password_step(&s, &mut b, "alice", PASSWORD).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.body.contains("data-passkey-sign-in"));
    assert!(!b.jar.contains_key(SESSION));
    let pending = step
        .set_cookies
        .iter()
        .find(|c| c.starts_with(PENDING))
        .expect("the pending cookie");
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin/sign-in",
        "Max-Age=",
    ] {
        assert!(pending.contains(part), "{pending} lacks {part}");
    }
    assert_eq!(b.get(&s, "/admin/customers").await.status, 303);
    let options = sign_in_options(&s, &mut b).await;
    assert_eq!(options.status, 200, "{}", options.body);
    let options = options.json();
    assert_eq!(options["allowCredentials"].as_array().unwrap().len(), 1);
    assert_eq!(options["rpId"], RP_ID);
    let response = key.sign_in(&options);
    let pending_value = b.jar[PENDING].clone();
    let done = finish(&s, &mut b, &response).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json(), json!({ "location": "/admin/customers" }));
    assert!(b.jar.contains_key(SESSION));
    assert!(
        !b.jar.contains_key(PENDING),
        "the pending cookie is cleared"
    );
    let console = b.get(&s, "/admin/customers").await;
    assert_eq!(console.status, 200);
    assert!(console.body.contains("alice"));
    let page = b.get(&s, "/admin/passkeys").await;
    assert!(
        !page.body.contains("<td></td><td><form"),
        "last used is shown"
    );

    // The same answer again, pending cookie and all: the challenge was taken.
    let mut replay = Browser::new();
    replay.jar.insert(PENDING.into(), pending_value);
    let again = finish(&s, &mut replay, &response).await;
    assert_eq!(again.status, 401);
    assert_eq!(again.json(), json!({ "error": GENERIC }));
    assert!(!replay.jar.contains_key(SESSION));

    // TOTP still signs in too.
    s.clock.advance(30);
    let mut b = Browser::new();
    let with_code = b
        .post(
            &s,
            "/admin/sign-in",
            &[
                ("name", "alice"),
                ("password", PASSWORD),
                ("code", &totp.code_at(s.auth().now())),
            ],
        )
        .await;
    assert_eq!(with_code.status, 303, "{}", with_code.body);

    let audit = audit_actions(&s).await;
    assert!(audit.contains(&(
        "alice".into(),
        "admin_passkey_added".into(),
        "alice: Laptop".into()
    )));
    assert!(audit.contains(&(
        "alice".into(),
        "admin_passkey_sign_in".into(),
        "Laptop".into()
    )));
}

#[tokio::test]
async fn the_passkey_step_cannot_skip_the_password() {
    // The hosted pages are on too: their passkey sign-in mints a challenge of another kind.
    let s = TestServer::start_with(|c| {
        passkeys_on(c);
        c.oidc.enabled = true;
    })
    .await;
    let (mut b, _) = set_up(&s, "alice").await;
    let mut key = SoftAuthenticator::new();
    enrol(&s, &mut b, &mut key, "Laptop").await;
    set_up(&s, "bob").await;

    // A wrong password: the sign-in page with the one refusal, nothing pending.
    let mut b = Browser::new();
    let wrong = password_step(&s, &mut b, "alice", "wrong horse 42").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains(GENERIC));
    assert!(!b.jar.contains_key(PENDING));
    // An admin without a passkey gets the same answer after a right password.
    let none = password_step(&s, &mut b, "bob", PASSWORD).await;
    assert_eq!(none.status, 401);
    assert!(none.body.contains(GENERIC));
    assert!(!b.jar.contains_key(PENDING));
    // No password step: no options, and no answer is taken.
    let options = sign_in_options(&s, &mut b).await;
    assert_eq!(options.status, 401);
    assert_eq!(options.json(), json!({ "error": GENERIC }));

    // A forged pending cookie naming alice, with a challenge minted elsewhere (the hosted
    // pages' anonymous passkey sign-in): the key answers it, and the console refuses it.
    let token = "a".repeat(43);
    let customer_options: Value = reqwest::Client::new()
        .post(s.url("/account/passkeys/sign-in/options"))
        .header("Content-Type", "application/json")
        .header("Cookie", format!("storekey_csrf={token}"))
        .header("X-CSRF-Token", &token)
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let forged = json!({ "admin": "alice", "options": customer_options });
    b.jar.insert(
        PENDING.into(),
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            forged.to_string(),
        ),
    );
    let response = key.sign_in(&customer_options);
    let done = finish(&s, &mut b, &response).await;
    assert_eq!(done.status, 401, "{}", done.body);
    assert_eq!(done.json(), json!({ "error": GENERIC }));
    assert!(!b.jar.contains_key(SESSION));
    // Not JSON (what a cross-origin form could send): refused before anything is looked at.
    let form = b.post(&s, "/admin/sign-in/passkey", &[("x", "y")]).await;
    assert_eq!(form.status, 403);
}

#[tokio::test]
async fn an_answer_from_another_origin_or_a_removed_passkey_is_refused() {
    let s = TestServer::start_with(passkeys_on).await;
    let (mut admin, _) = set_up(&s, "alice").await;
    let mut key = SoftAuthenticator::new();
    enrol(&s, &mut admin, &mut key, "Laptop").await;
    let mut other = SoftAuthenticator::new();
    enrol(&s, &mut admin, &mut other, "Phone").await;

    // Another origin.
    let mut b = Browser::new();
    assert_eq!(
        password_step(&s, &mut b, "alice", PASSWORD).await.status,
        200
    );
    let options = sign_in_options(&s, &mut b).await.json();
    // A subdomain of the RP id (the authenticator signs for it) that is not in
    // webauthn.origins.
    key.origin = "https://evil.id.shop.example".parse().unwrap();
    let response = key.sign_in(&options);
    key.origin = ORIGIN.parse().unwrap();
    let done = finish(&s, &mut b, &response).await;
    assert_eq!(done.status, 401, "{}", done.body);
    assert_eq!(done.json(), json!({ "error": GENERIC }));
    assert!(!b.jar.contains_key(SESSION));

    // Options minted, then the passkey removed on the Passkeys page: its answer is refused.
    let mut b = Browser::new();
    assert_eq!(
        password_step(&s, &mut b, "alice", PASSWORD).await.status,
        200
    );
    let options = sign_in_options(&s, &mut b).await.json();
    let page = admin.get(&s, "/admin/passkeys").await;
    let csrf = field(&page.body, "csrf");
    let id = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        key.credential_id.clone().unwrap(),
    );
    let removed = admin
        .post(
            &s,
            &format!("/admin/passkeys/{id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        (removed.status, removed.location.as_str()),
        (303, "/admin/passkeys?notice=removed")
    );
    let page = admin.get(&s, "/admin/passkeys").await;
    assert!(!page.body.contains("<td>Laptop</td>"));
    assert!(page.body.contains("<td>Phone</td>"));
    let done = finish(&s, &mut b, &key.sign_in(&options)).await;
    assert_eq!(done.status, 401, "{}", done.body);
    assert_eq!(done.json(), json!({ "error": GENERIC }));
    // The other passkey still signs in.
    let mut b = Browser::new();
    assert_eq!(
        password_step(&s, &mut b, "alice", PASSWORD).await.status,
        200
    );
    let options = sign_in_options(&s, &mut b).await.json();
    let done = finish(&s, &mut b, &other.sign_in(&options)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(audit_actions(&s)
        .await
        .iter()
        .any(|(_, action, detail)| action == "admin_passkey_removed" && detail == "alice: Laptop"));
}

#[tokio::test]
async fn with_passkey_only_a_new_admin_enrols_first_and_then_signs_in_with_the_passkey_alone() {
    let s = TestServer::start_with(passkey_only).await;
    // Setup is as today (password and TOTP), and then the console is the Passkeys page until
    // a passkey is added.
    let (mut b, totp) = set_up(&s, "alice").await;
    let customers = b.get(&s, "/admin/customers").await;
    assert_eq!(
        (customers.status, customers.location.as_str()),
        (303, "/admin/passkeys")
    );
    let page = b.get(&s, "/admin/passkeys").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("add a passkey to this account before you use the console"));
    let mut key = SoftAuthenticator::new();
    enrol(&s, &mut b, &mut key, "Laptop").await;
    assert_eq!(b.get(&s, "/admin/customers").await.status, 200);

    // The last passkey stays.
    let page = b.get(&s, "/admin/passkeys").await;
    let csrf = field(&page.body, "csrf");
    let id = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        key.credential_id.clone().unwrap(),
    );
    let refused = b
        .post(
            &s,
            &format!("/admin/passkeys/{id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("This is your last passkey"));
    assert!(refused.body.contains("<td>Laptop</td>"));
    sign_out(&s, &mut b).await;

    // The sign-in page is a passkey button and no password form.
    let mut b = Browser::new();
    let form = b.get(&s, "/admin/sign-in").await;
    assert!(form.body.contains("Sign in with a passkey"));
    assert!(!form.body.contains("name=\"password\""));
    // Password and code are refused, as is the password step.
    let with_code = b
        .post(
            &s,
            "/admin/sign-in",
            &[
                ("name", "alice"),
                ("password", PASSWORD),
                ("code", &totp.code_at(s.auth().now() + 30)),
            ],
        )
        .await;
    assert_eq!(with_code.status, 401);
    assert!(with_code.body.contains(GENERIC));
    assert!(!b.jar.contains_key(SESSION));
    let step = password_step(&s, &mut b, "alice", PASSWORD).await;
    assert_eq!(step.status, 401);
    assert!(!b.jar.contains_key(PENDING));

    // The passkey alone: any admin's passkey may answer (no allowCredentials).
    let options = sign_in_options(&s, &mut b).await;
    assert_eq!(options.status, 200, "{}", options.body);
    let options = options.json();
    assert!(options["allowCredentials"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    let done = finish(&s, &mut b, &key.sign_in(&options)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json(), json!({ "location": "/admin/customers" }));
    let console = b.get(&s, "/admin/customers").await;
    assert_eq!(console.status, 200);
    assert!(console.body.contains("alice"), "the session is alice's");
    let audit = audit_actions(&s).await;
    assert!(audit.contains(&(
        "alice".into(),
        "admin_passkey_sign_in".into(),
        "Laptop".into()
    )));
}

#[tokio::test]
async fn passkey_sign_ins_share_the_consoles_per_ip_throttle() {
    let s = TestServer::start_with(|c| {
        passkey_only(c);
        c.throttle.login_per_ip_per_minute = 2;
    })
    .await;
    let mut b = Browser::new();
    assert_eq!(sign_in_options(&s, &mut b).await.status, 200);
    assert_eq!(sign_in_options(&s, &mut b).await.status, 200);
    let third = sign_in_options(&s, &mut b).await;
    assert_eq!(third.status, 401);
    assert_eq!(third.json(), json!({ "error": GENERIC }));
    let answer = finish(&s, &mut b, &json!({})).await;
    assert_eq!(answer.json(), json!({ "error": GENERIC }));
}
