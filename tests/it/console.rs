//! The admin console (`/admin`): admin users' setup and sign-in (password + TOTP), sessions,
//! CSRF, Login as Customer from a page, the log, and what the pages may load.

use crate::support::{TestServer, BOB, BOB_PASSWORD, GENERIC};
use serde_json::json;
use storekey::auth::totp::TotpSecret;

const PASSWORD: &str = "correct horse 42";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A browser without redirects followed, carrying the console cookie by hand.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: String,
    set_cookie: String,
    csp: String,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("Cookie", format!("storekey_admin={c}")),
            None => req,
        };
        let resp = req.send().await.unwrap();
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (location, set_cookie, csp) =
            (h("location"), h("set-cookie"), h("content-security-policy"));
        if let Some(rest) = set_cookie.strip_prefix("storekey_admin=") {
            let value = rest.split(';').next().unwrap_or("");
            self.cookie = (!value.is_empty()).then(|| value.to_string());
        }
        Page {
            status: resp.status().as_u16(),
            location,
            set_cookie,
            csp,
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, s: &TestServer, path: &str) -> Page {
        let req = self.http.get(s.url(path));
        self.send(req).await
    }

    async fn post(&mut self, s: &TestServer, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(s.url(path)).form(form);
        self.send(req).await
    }
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

fn totp_from_base32(secret: &str) -> TotpSecret {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    TotpSecret::from_bytes(bytes.try_into().unwrap())
}

/// `storekey admin add` through the REST API: the setup path.
async fn add_admin(s: &TestServer, name: &str) -> String {
    let (status, body) = s
        .admin("POST", "/rest/V1/admin-users", Some(json!({"name": name})))
        .await;
    assert_eq!(status, 200, "{body}");
    let path = body["setup_path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/admin/setup?code="), "{path}");
    path
}

/// Sets up `name` and returns the signed-in browser and the TOTP secret.
async fn set_up(s: &TestServer, name: &str) -> (Browser, TotpSecret) {
    let path = add_admin(s, name).await;
    let mut b = Browser::new();
    let page = b.get(s, &path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = field(&page.body, "secret");
    let totp = totp_from_base32(&secret);
    let code = field(&page.body, "code");
    let now = s.auth().now();
    let done = b
        .post(
            s,
            "/admin/setup",
            &[
                ("code", &code),
                ("secret", &secret),
                ("password", PASSWORD),
                ("confirmation", PASSWORD),
                ("totp", &totp.code_at(now)),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, "/admin/customers");
    assert!(b.cookie.is_some());
    (b, totp)
}

async fn csrf(b: &mut Browser, s: &TestServer) -> String {
    let page = b.get(s, "/admin/customers").await;
    assert_eq!(page.status, 200, "{}", page.body);
    field(&page.body, "csrf")
}

#[tokio::test]
async fn every_console_page_without_a_session_redirects_to_sign_in() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let mut b = Browser::new();
    for path in [
        "/admin".to_string(),
        "/admin/".to_string(),
        "/admin/customers".to_string(),
        format!("/admin/customers/{id}"),
        format!("/admin/customers/{id}/login-as"),
        format!("/admin/customers/{id}/delete"),
        "/admin/log".to_string(),
        "/admin/log.csv".to_string(),
        "/admin/tokens".to_string(),
        "/admin/overview".to_string(),
    ] {
        let page = b.get(&s, &path).await;
        assert_eq!(
            (page.status, page.location.as_str()),
            (303, "/admin/sign-in"),
            "GET {path}"
        );
    }
    for path in [
        "/admin/sign-out".to_string(),
        format!("/admin/customers/{id}"),
        format!("/admin/customers/{id}/disable"),
        format!("/admin/customers/{id}/delete"),
        format!("/admin/customers/{id}/login-as"),
        "/admin/tokens".to_string(),
        "/admin/tokens/1/delete".to_string(),
    ] {
        let page = b.post(&s, &path, &[("reason", "x")]).await;
        assert_eq!(
            (page.status, page.location.as_str()),
            (303, "/admin/sign-in"),
            "POST {path}"
        );
    }
    // A made-up cookie is no session either.
    b.cookie = Some("ska_made_up".into());
    let page = b.get(&s, "/admin/customers").await;
    assert_eq!(page.location, "/admin/sign-in");
    let c = s.auth().customer_by_email(BOB).await.unwrap().unwrap();
    assert!(!c.disabled && c.allow_remote_shopping_assistance);
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let (mut b, _) = set_up(&s, "alice").await;
    let good = csrf(&mut b, &s).await;
    // Another session's token does not fit this one.
    let (mut other, _) = set_up(&s, "carol").await;
    let foreign = csrf(&mut other, &s).await;
    assert_ne!(good, foreign);
    for token in [
        None,
        Some(""),
        Some("0".repeat(64).as_str()),
        Some(&foreign),
    ] {
        let mut form = vec![("reason", "help")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        for path in [
            format!("/admin/customers/{id}/disable"),
            format!("/admin/customers/{id}/delete"),
            format!("/admin/customers/{id}/login-as"),
            "/admin/tokens".to_string(),
            "/admin/sign-out".to_string(),
        ] {
            let mut f = form.clone();
            f.push(("title", "t"));
            let page = b.post(&s, &path, &f).await;
            assert_eq!(page.status, 403, "POST {path} with {token:?}");
            assert!(
                page.body.contains("Invalid security or form key."),
                "{}",
                page.body
            );
            assert_eq!(page.csp, CSP);
        }
    }
    let c = s
        .auth()
        .customer(storekey::model::CustomerId(id))
        .await
        .unwrap()
        .unwrap();
    assert!(!c.disabled);
    assert!(s
        .auth()
        .account(c.id)
        .await
        .unwrap()
        .unwrap()
        .credentials
        .otc
        .is_none());
    assert!(s.auth().storefront_tokens().await.unwrap().is_empty());
    // The session survived the refused sign-out; with the token, the same POST works.
    let page = b
        .post(
            &s,
            &format!("/admin/customers/{id}/disable"),
            &[("csrf", &good)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(s.auth().customer(c.id).await.unwrap().unwrap().disabled);
}

#[tokio::test]
async fn setup_then_sign_in_with_password_and_totp() {
    let s = TestServer::start().await;
    let path = add_admin(&s, "alice").await;
    let mut b = Browser::new();
    let page = b.get(&s, &path).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.csp, CSP);
    assert!(page.body.contains("<svg"), "the QR code is inline SVG");
    let secret = field(&page.body, "secret");
    assert_eq!(secret.len(), 32);
    assert!(page
        .body
        .contains(&format!("<code id=\"totp-secret\">{secret}</code>")));
    let totp = totp_from_base32(&secret);
    let code = field(&page.body, "code");
    let now = s.auth().now();
    let done = b
        .post(
            &s,
            "/admin/setup",
            &[
                ("code", &code),
                ("secret", &secret),
                ("password", PASSWORD),
                ("confirmation", PASSWORD),
                ("totp", &totp.code_at(now)),
            ],
        )
        .await;
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/admin/customers")
    );
    let cookie = done.set_cookie.clone();
    assert!(cookie.starts_with("storekey_admin=ska_"), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    // No Max-Age: the server ends the session when idle; a fixed browser lifetime would sign
    // out an admin who is still working.
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    // The setup link works once.
    assert_eq!(b.get(&s, &path).await.status, 404);
    // Signed in: pages render and name the admin.
    let customers = b.get(&s, "/admin/customers").await;
    assert_eq!(customers.status, 200);
    assert!(customers.body.contains("alice"));
    // Sign out ends the session.
    let token = field(&customers.body, "csrf");
    let out = b.post(&s, "/admin/sign-out", &[("csrf", &token)]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/admin/sign-in"));
    assert!(out.set_cookie.contains("Max-Age=0"));
    assert!(b.cookie.is_none());
    // The old cookie no longer works, even presented again.
    let old = cookie
        .trim_start_matches("storekey_admin=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    b.cookie = Some(old);
    assert_eq!(
        b.get(&s, "/admin/customers").await.location,
        "/admin/sign-in"
    );
    // A later step's code signs in again.
    s.clock.advance(30);
    let mut b = Browser::new();
    let signin = b
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
    assert_eq!(
        (signin.status, signin.location.as_str()),
        (303, "/admin/customers")
    );
    assert_eq!(b.get(&s, "/admin/customers").await.status, 200);
}

#[tokio::test]
async fn setup_applies_adobe_commerces_admin_password_rules() {
    let s = TestServer::start().await;
    let path = add_admin(&s, "alice").await;
    let mut b = Browser::new();
    let page = b.get(&s, &path).await;
    let (secret, code) = (field(&page.body, "secret"), field(&page.body, "code"));
    let totp = totp_from_base32(&secret);
    for (password, confirmation, message) in [
        (
            "short1",
            "short1",
            "Your password must be at least 12 characters.",
        ),
        (
            "only letters here",
            "only letters here",
            "Your password must include both numeric and alphabetic characters.",
        ),
        (
            PASSWORD,
            "correct horse 43",
            "Your password confirmation must match your password.",
        ),
    ] {
        let done = b
            .post(
                &s,
                "/admin/setup",
                &[
                    ("code", &code),
                    ("secret", &secret),
                    ("password", password),
                    ("confirmation", confirmation),
                    ("totp", &totp.code_at(s.auth().now())),
                ],
            )
            .await;
        assert_eq!(done.status, 400, "{password}");
        assert!(
            done.body.contains(message),
            "{message} not in {}",
            done.body
        );
        assert!(b.cookie.is_none());
    }
    // A wrong first code: nothing is enrolled.
    let wrong = b
        .post(
            &s,
            "/admin/setup",
            &[
                ("code", &code),
                ("secret", &secret),
                ("password", PASSWORD),
                ("confirmation", PASSWORD),
                ("totp", "000000"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong
        .body
        .contains("The code from the authenticator app is not correct."));
    let stored = s.auth().admin_users().await.unwrap();
    assert!(stored[0].password_hash.is_none() && stored[0].totp_secret.is_none());
}

#[tokio::test]
async fn a_totp_code_signs_in_once() {
    let s = TestServer::start().await;
    let (_, totp) = set_up(&s, "alice").await;
    s.clock.advance(30);
    let code = totp.code_at(s.auth().now());
    let form = [
        ("name", "alice"),
        ("password", PASSWORD),
        ("code", code.as_str()),
    ];
    let first = Browser::new().post(&s, "/admin/sign-in", &form).await;
    assert_eq!(first.status, 303);
    let again = Browser::new().post(&s, "/admin/sign-in", &form).await;
    assert_eq!(again.status, 401);
    assert!(again.body.contains(GENERIC), "{}", again.body);
    assert!(again.set_cookie.is_empty());
    // The code of the setup step itself was used by the setup.
    let mut fresh = Browser::new();
    let before = fresh
        .post(
            &s,
            "/admin/sign-in",
            &[
                ("name", "alice"),
                ("password", PASSWORD),
                ("code", &totp.code_at(s.auth().now() - 30)),
            ],
        )
        .await;
    assert_eq!(before.status, 401);
}

#[tokio::test]
async fn unknown_name_wrong_password_and_wrong_code_get_one_answer_and_lock_the_admin() {
    let s = TestServer::start_with(|c| {
        c.lockout.max_failures = 3;
        c.lockout.lock_minutes = 10;
    })
    .await;
    let (_, totp) = set_up(&s, "alice").await;
    s.clock.advance(30);
    let code = totp.code_at(s.auth().now());
    for (name, password, code) in [
        ("nobody", PASSWORD, code.as_str()),
        ("alice", "wrong password 1", code.as_str()),
        ("alice", PASSWORD, "123456"),
        ("alice", PASSWORD, "12"),
    ] {
        let page = Browser::new()
            .post(
                &s,
                "/admin/sign-in",
                &[("name", name), ("password", password), ("code", code)],
            )
            .await;
        assert_eq!(page.status, 401, "{name} {password} {code}");
        assert!(page.body.contains(GENERIC));
    }
    // Three failures of alice's: locked, so the right password and code are refused too.
    let locked = Browser::new()
        .post(
            &s,
            "/admin/sign-in",
            &[("name", "alice"), ("password", PASSWORD), ("code", &code)],
        )
        .await;
    assert_eq!(locked.status, 401);
    assert!(locked.body.contains(GENERIC));
    let entries = s.auth().audit_page(0, 100).await.unwrap();
    assert!(entries
        .iter()
        .any(|(_, e)| e.action == "admin_user_locked" && e.actor == "alice"));
    // After the lock ends, a fresh code works.
    s.clock.advance(10 * 60 + 1);
    let ok = Browser::new()
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
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test]
async fn a_session_ends_after_admin_session_minutes_idle() {
    let s = TestServer::start_with(|c| c.admin.session_minutes = 15).await;
    let (mut b, _) = set_up(&s, "alice").await;
    s.clock.advance(14 * 60);
    assert_eq!(b.get(&s, "/admin/customers").await.status, 200);
    // Seen 14 minutes in: idle time counts from there.
    s.clock.advance(14 * 60);
    assert_eq!(b.get(&s, "/admin/customers").await.status, 200);
    s.clock.advance(15 * 60);
    let page = b.get(&s, "/admin/customers").await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/admin/sign-in")
    );
}

#[tokio::test]
async fn login_as_customer_is_offered_and_refused_with_the_rest_messages() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, false).await;
    let (mut b, _) = set_up(&s, "alice").await;
    let token = csrf(&mut b, &s).await;
    let page = b.get(&s, &format!("/admin/customers/{id}")).await;
    assert!(page
        .body
        .contains("Login as Customer assistance is disabled for this customer."));
    // What the ID token would say of the address, beside "Confirmed".
    let verified = storekey::store::Backend::customer(s.store(), storekey::model::CustomerId(id))
        .await
        .unwrap()
        .unwrap()
        .customer
        .email_verified;
    let shown = if verified { "Yes" } else { "No" };
    assert!(
        page.body
            .contains(&format!("<dt>Email verified</dt><dd>{shown}</dd>")),
        "{}",
        page.body
    );
    assert!(!page
        .body
        .contains(&format!("/admin/customers/{id}/login-as")));
    let refused = b
        .post(
            &s,
            &format!("/admin/customers/{id}/login-as"),
            &[("csrf", &token), ("reason", "help")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused
        .body
        .contains("Login as Customer assistance is disabled for this customer."));
    let account = s
        .auth()
        .account(storekey::model::CustomerId(id))
        .await
        .unwrap()
        .unwrap();
    assert!(account.credentials.otc.is_none());

    let off = TestServer::start_with(|c| c.otc.enabled = false).await;
    let id = off.admin_customer(BOB, BOB_PASSWORD, true).await;
    let (mut b, _) = set_up(&off, "alice").await;
    let token = csrf(&mut b, &off).await;
    let page = b.get(&off, &format!("/admin/customers/{id}")).await;
    assert!(page.body.contains("Login as Customer is disabled."));
    let refused = b
        .post(
            &off,
            &format!("/admin/customers/{id}/login-as"),
            &[("csrf", &token), ("reason", "help")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("Login as Customer is disabled."));
}

#[tokio::test]
async fn a_code_issued_in_the_console_signs_the_customer_in_and_the_log_shows_both() {
    let s = TestServer::start_with(|c| {
        c.admin.storefront_login_url = "https://shop.example/lac?email={email}&otc={otc}".into();
    })
    .await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let (mut b, _) = set_up(&s, "alice").await;
    let token = csrf(&mut b, &s).await;
    // Found by name.
    let found = b.get(&s, "/admin/customers?q=loblaw").await;
    assert!(found
        .body
        .contains(&format!("href=\"/admin/customers/{id}\"")));
    let confirm = b.get(&s, &format!("/admin/customers/{id}/login-as")).await;
    assert!(confirm.body.contains("You are about to Login as Customer"));
    assert!(confirm
        .body
        .contains("<label for=\"reason\">Reason</label>"));
    let issued = b
        .post(
            &s,
            &format!("/admin/customers/{id}/login-as"),
            &[("csrf", &token), ("reason", "ticket 42")],
        )
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let start = issued.body.find("<code id=\"otc\">").unwrap() + "<code id=\"otc\">".len();
    let code = issued.body[start..start + 32].to_string();
    assert!(code.bytes().all(|c| c.is_ascii_hexdigit()));
    assert!(issued.body.contains("data-expires-in=\"30\""));
    assert!(issued.body.contains("data-copy=\"otc\""));
    let storefront =
        format!("href=\"https://shop.example/lac?email=bobloblaw%40example.com&#38;otc={code}\"");
    assert!(issued.body.contains(&storefront), "{}", issued.body);
    // The code signs Bob in once, through generateCustomerToken.
    let (status, body) = s.sign_in(BOB, &code).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["generateCustomerToken"]["token"].is_string());
    // The audit log names the admin user.
    let entries = s.auth().audit_page(0, 100).await.unwrap();
    let issue = entries
        .iter()
        .find(|(_, e)| e.action == "otc_issued")
        .map(|(_, e)| e.clone())
        .unwrap();
    assert_eq!(
        (issue.actor.as_str(), issue.detail.as_deref()),
        ("alice", Some("ticket 42"))
    );
    // The log grid shows the issue and the use, newest first.
    let log = b.get(&s, "/admin/log?admin=alice").await;
    assert_eq!(log.status, 200);
    let used = log.body.find("Code used").unwrap();
    let issue_row = log.body.find("Code issued").unwrap();
    assert!(used < issue_row);
    assert!(log.body.contains("<td>bobloblaw@example.com</td>"));
    assert!(log.body.contains("<td>ticket 42</td>"));
    let none = b.get(&s, "/admin/log?admin=carol").await;
    assert!(!none.body.contains("Code issued"));
    let csv = b.get(&s, &format!("/admin/log.csv?customer={id}")).await;
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "time,admin,customer_id,customer_email,action,reason"
    );
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[2].ends_with(&format!(
        "\"alice\",{id},\"bobloblaw@example.com\",\"Code issued\",\"ticket 42\""
    )));
}

#[tokio::test]
async fn console_actions_are_audited_under_the_admin_users_name() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let (mut b, _) = set_up(&s, "alice").await;
    let token = csrf(&mut b, &s).await;
    for action in ["disable", "enable", "revoke"] {
        let page = b
            .post(
                &s,
                &format!("/admin/customers/{id}/{action}"),
                &[("csrf", &token)],
            )
            .await;
        assert_eq!(page.status, 303, "{action}");
    }
    let saved = b
        .post(
            &s,
            &format!("/admin/customers/{id}"),
            &[
                ("csrf", &token),
                ("firstname", "Robert"),
                ("lastname", "Loblaw"),
                ("email", BOB),
                ("assistance", "1"),
            ],
        )
        .await;
    assert_eq!(
        saved.location,
        format!("/admin/customers/{id}?notice=saved")
    );
    let page = b.get(&s, &saved.location).await;
    assert!(page.body.contains("You saved the customer."));
    assert!(page.body.contains("value=\"Robert\""));
    let created = b
        .post(
            &s,
            "/admin/tokens",
            &[
                ("csrf", &token),
                ("title", "Hydrogen"),
                ("kind", "public"),
                ("scope", "unauthenticated_read_customers"),
                ("scope", "unauthenticated_write_customers"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let tokens = s.auth().storefront_tokens().await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].scopes.len(), 2);
    let deleted = b
        .post(
            &s,
            &format!("/admin/customers/{id}/delete"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(deleted.location, "/admin/customers?notice=deleted");
    let entries = s.auth().audit_page(0, 100).await.unwrap();
    let by_alice: Vec<&str> = entries
        .iter()
        .filter(|(_, e)| e.actor == "alice")
        .map(|(_, e)| e.action.as_str())
        .collect();
    for action in [
        "customer_updated",
        "customer_tokens_revoked",
        "storefront_token_created",
        "customer_deleted",
    ] {
        assert!(by_alice.contains(&action), "{action} not in {by_alice:?}");
    }
}

const CONSENT_REFUSED: &str = "You are not allowed to change a customer&#39;s consent to remote shopping assistance: ask an administrator with that permission. Nothing was saved.";

/// Granting a customer's consent to remote assistance opens Login as Customer, so it is a
/// permission of its own: an admin without it is refused (nothing saved, no way to sign in as
/// the customer); given it (audited), the change is its own audit entry naming it.
#[tokio::test]
async fn changing_a_customers_assistance_consent_is_its_own_permission_and_audit_entry() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, false).await;
    let (mut b, _) = set_up(&s, "alice").await;
    let token = csrf(&mut b, &s).await;
    let save = |assistance: bool, firstname: &'static str| {
        let mut form = vec![
            ("csrf", token.clone()),
            ("firstname", firstname.to_string()),
            ("lastname", "Loblaw".to_string()),
            ("email", BOB.to_string()),
        ];
        if assistance {
            form.push(("assistance", "1".to_string()));
        }
        form
    };
    async fn post(b: &mut Browser, s: &TestServer, id: u64, form: Vec<(&str, String)>) -> Page {
        let req = b
            .http
            .post(s.url(&format!("/admin/customers/{id}")))
            .form(&form);
        b.send(req).await
    }
    let consent = || async {
        s.auth()
            .customer(storekey::model::CustomerId(id))
            .await
            .unwrap()
            .unwrap()
            .allow_remote_shopping_assistance
    };

    let refused = post(&mut b, &s, id, save(true, "Robert")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains(CONSENT_REFUSED), "{}", refused.body);
    assert!(!consent().await);
    let unchanged = s
        .auth()
        .customer(storekey::model::CustomerId(id))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(unchanged.profile.firstname.as_deref(), Some("Robert"));
    let lac = b
        .post(
            &s,
            &format!("/admin/customers/{id}/login-as"),
            &[("csrf", &token), ("reason", "help")],
        )
        .await;
    assert_eq!(lac.status, 403);
    // Other fields still save when the consent is left as it is.
    let saved = post(&mut b, &s, id, save(false, "Rob")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    // Given the permission through the REST API (audited), alice may grant it.
    let (status, body) = s
        .admin(
            "PUT",
            "/rest/V1/admin-users/alice",
            Some(json!({"assistance_consent": true})),
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"name": "alice", "assistance_consent": true}))
    );
    let granted = post(&mut b, &s, id, save(true, "Rob")).await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    assert!(consent().await);
    let withdrawn = post(&mut b, &s, id, save(false, "Rob")).await;
    assert_eq!(withdrawn.status, 303, "{}", withdrawn.body);
    assert!(!consent().await);

    let entries = s.auth().audit_page(0, 100).await.unwrap();
    let log: Vec<(String, String, Option<u64>, Option<String>)> = entries
        .iter()
        .map(|(_, e)| {
            (
                e.actor.clone(),
                e.action.clone(),
                e.subject.map(|c| c.0),
                e.detail.clone(),
            )
        })
        .collect();
    for wanted in [
        ("alice", "assistance_consent_granted", Some(id), None),
        ("alice", "assistance_consent_withdrawn", Some(id), None),
    ] {
        let wanted = (
            wanted.0.to_string(),
            wanted.1.to_string(),
            wanted.2,
            wanted.3,
        );
        assert!(log.contains(&wanted), "{wanted:?} not in {log:?}");
    }
    assert!(
        log.iter().any(|e| e.1 == "admin_permission_changed"
            && e.3.as_deref() == Some("alice: remote assistance consent granted")),
        "{log:?}"
    );
    let consent_entries = log
        .iter()
        .filter(|e| e.1.starts_with("assistance_consent"))
        .count();
    assert_eq!(consent_entries, 2, "{log:?}");
}

/// Every `src` and `href` attribute value of a page.
fn urls(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = body;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            out.push(rest.split('"').next().unwrap().to_string());
        }
    }
    out
}

#[tokio::test]
async fn console_pages_load_nothing_from_elsewhere_and_carry_the_csp() {
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let setup_path = add_admin(&s, "bob-admin").await;
    let mut anonymous = Browser::new();
    let mut pages = vec![
        anonymous.get(&s, "/admin/sign-in").await,
        anonymous.get(&s, &setup_path).await,
    ];
    let (mut b, _) = set_up(&s, "alice").await;
    for path in [
        "/admin/customers".to_string(),
        format!("/admin/customers/{id}"),
        format!("/admin/customers/{id}/login-as"),
        format!("/admin/customers/{id}/delete"),
        "/admin/log".to_string(),
        "/admin/tokens".to_string(),
        "/admin/overview".to_string(),
    ] {
        pages.push(b.get(&s, &path).await);
    }
    let mut assets = std::collections::BTreeSet::new();
    for page in &pages {
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.csp, CSP);
        assert!(page.body.contains("<meta name=\"viewport\""));
        assert!(!page.body.contains("<script>") && !page.body.contains("style="));
        for url in urls(&page.body) {
            assert!(
                url.starts_with('/') && !url.starts_with("//"),
                "{url} leaves the server"
            );
            if url.starts_with("/admin/assets/") {
                assets.insert(url);
            }
        }
    }
    assert_eq!(assets.len(), 2, "{assets:?}");
    for url in assets {
        let resp = reqwest::get(s.url(&url)).await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn admin_users_are_added_once_with_a_valid_name() {
    let s = TestServer::start().await;
    add_admin(&s, "alice").await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/admin-users",
            Some(json!({"name": "alice"})),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (409, Some("An admin user named \"alice\" already exists."))
    );
    let (status, body) = s
        .admin("POST", "/rest/V1/admin-users", Some(json!({"name": "a b"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "\"a b\" is not a valid admin name: use 1 to 64 letters, digits, '.', '_', '-' or '@'."
    );
    let (status, _) = s
        .rest(
            "POST",
            "/rest/V1/admin-users",
            Some(json!({"name": "x"})),
            None,
        )
        .await;
    assert_eq!(status, 401);
    let entries = s.auth().audit_page(0, 10).await.unwrap();
    assert!(entries
        .iter()
        .any(|(_, e)| e.action == "admin_user_added" && e.actor == "env"));
}

#[test]
fn storekey_admin_add_prints_a_setup_link_that_works_once() {
    use crate::support::{bin, bin_env};
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = bin();
        bin_env(&mut cmd, dir.path());
        cmd.args(args).output().unwrap()
    };
    let out = run(&["admin", "add", "--name", "ops"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let link = text.lines().nth(1).unwrap();
    assert!(
        link.starts_with("http://127.0.0.1:8080/admin/setup?code="),
        "{text}"
    );
    assert_eq!(
        link.len(),
        "http://127.0.0.1:8080/admin/setup?code=".len() + 32
    );
    let again = run(&["admin", "add", "--name", "ops"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim(),
        "storekey: An admin user named \"ops\" already exists."
    );
}

#[tokio::test]
async fn a_cross_site_sign_in_is_refused() {
    let s = TestServer::start().await;
    let (_, totp) = set_up(&s, "alice").await;
    s.clock.advance(30);
    let code = totp.code_at(s.auth().now());
    let form = [
        ("name", "alice"),
        ("password", PASSWORD),
        ("code", code.as_str()),
    ];
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(s.url("/admin/sign-in"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("set-cookie").is_none());
    // The same form from the console's own page signs in (the code was not used).
    let resp = client
        .post(s.url("/admin/sign-in"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn the_log_page_is_fifty_lines_newest_first_with_a_link_to_older_ones() {
    use storekey::model::{AuditEntry, CustomerId, OtcIssue};
    use storekey::store::Backend as _;
    let s = TestServer::start().await;
    let id = s.admin_customer(BOB, BOB_PASSWORD, true).await;
    let (mut b, _) = set_up(&s, "alice").await;
    let now = s.auth().now();
    for n in 0..60 {
        let reason = format!("ticket {n}");
        s.store()
            .append_audit(AuditEntry {
                at: now + n,
                actor: "alice".into(),
                action: "otc_issued".into(),
                subject: Some(CustomerId(id)),
                detail: Some(reason.clone()),
                otc: Some(OtcIssue {
                    issued_by: "alice".into(),
                    reason,
                }),
            })
            .await
            .unwrap();
    }
    let reasons = |body: &str| -> Vec<String> {
        body.split("<td>Code issued</td><td>")
            .skip(1)
            .map(|r| r.split("</td>").next().unwrap().to_string())
            .collect()
    };
    let first = b.get(&s, "/admin/log?admin=alice").await;
    assert_eq!(first.status, 200);
    let expected: Vec<String> = (10..60).rev().map(|n| format!("ticket {n}")).collect();
    assert_eq!(reasons(&first.body), expected);
    let entries = s.auth().audit_page(0, 1000).await.unwrap();
    let tenth = entries
        .iter()
        .find(|(_, e)| e.detail.as_deref() == Some("ticket 10"))
        .map(|(seq, _)| *seq)
        .unwrap();
    let older = format!("/admin/log?admin=alice&customer=&from=&to=&before={tenth}");
    assert!(
        first.body.contains(&format!(
            "<a href=\"{}\" rel=\"next\">Older entries</a>",
            older.replace('&', "&#38;")
        )),
        "{}",
        first.body
    );
    let second = b.get(&s, &older).await;
    let expected: Vec<String> = (0..10).rev().map(|n| format!("ticket {n}")).collect();
    assert_eq!(reasons(&second.body), expected);
    assert!(!second.body.contains("Older entries"));
    // The CSV is still the whole filtered log.
    let csv = b.get(&s, "/admin/log.csv?admin=alice").await;
    assert_eq!(csv.body.lines().count(), 61, "{}", csv.body);
}

#[tokio::test]
async fn a_search_page_looks_at_a_bounded_stretch_of_customers_and_links_on() {
    use storekey::auth::console_queries::SEARCH_EXAMINE;
    use storekey::model::Account;
    use storekey::store::import::OnConflict;
    use storekey::store::Backend as _;
    let s = TestServer::start().await;
    let (mut b, _) = set_up(&s, "alice").await;
    let now = s.auth().now();
    let total = SEARCH_EXAMINE + 2;
    let rows: Vec<Account> = (1..=total)
        .map(|n| {
            let mut a = Account::default();
            a.customer.email = if n == total {
                "needle@example.com".into()
            } else {
                format!("hay{n}@example.com")
            };
            a.customer.created_at = now;
            a.customer.updated_at = now;
            a
        })
        .collect();
    for batch in rows.chunks(1000) {
        s.store()
            .import_batch(batch.to_vec(), OnConflict::Skip, now)
            .await
            .unwrap();
    }
    // The first page looks at SEARCH_EXAMINE customers, finds none and links on from there.
    let first = b.get(&s, "/admin/customers?q=Needle").await;
    assert_eq!(first.status, 200);
    assert!(first
        .body
        .contains("No matches among these customers; the search goes on at the next page."));
    let next = format!("/admin/customers?q=needle&#38;after={SEARCH_EXAMINE}");
    assert!(
        first
            .body
            .contains(&format!("<a href=\"{next}\" rel=\"next\">Next page</a>")),
        "{}",
        first.body
    );
    let second = b
        .get(
            &s,
            &format!("/admin/customers?q=needle&after={SEARCH_EXAMINE}"),
        )
        .await;
    assert!(second.body.contains(&format!(
        "<a href=\"/admin/customers/{total}\">needle@example.com</a>"
    )));
    assert!(!second.body.contains("Next page"));
    // Where matches are dense the page is the same as ever: 25 and a link after the 25th.
    let all = b.get(&s, "/admin/customers?q=hay").await;
    assert_eq!(all.body.matches("<tr><td>").count(), 25);
    assert!(all
        .body
        .contains("<a href=\"/admin/customers?q=hay&#38;after=25\" rel=\"next\">Next page</a>"));
}
