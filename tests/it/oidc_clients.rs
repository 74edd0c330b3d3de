//! OpenID Connect clients (SPEC §2, §10): registered, listed and removed through the CLI, the
//! admin REST API and the console; a confidential client's secret is shown once and stored only
//! as its digest.

use crate::support::*;
use serde_json::{json, Value};
use storekey::auth::oidc::clients::secret_matches;
use storekey::store::Backend as _;

const SHOP_CALLBACK: &str = "https://shop.example/account/callback";
const HTTP_REFUSED: &str = "redirect_uris: \"http://shop.example/cb\" must use https (http only to localhost, 127.0.0.1 or [::1])";

/// What every answer shows of a client: these keys, no secret and no digest.
const CLIENT_KEYS: [&str; 10] = [
    "access_token_minutes",
    "client_id",
    "created_at",
    "first_party",
    "name",
    "post_logout_redirect_uris",
    "public",
    "redirect_uris",
    "refresh_token_days",
    "scopes",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// The audit log's client entries, oldest first: `[actor, action, detail]`.
async fn client_audit(s: &TestServer) -> Vec<Value> {
    let (status, audit) = s.admin("GET", "/rest/V1/audit", None).await;
    assert_eq!(status, 200);
    audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("oidc_client_"))
        .map(|e| json!([e["actor"], e["action"], e["detail"]]))
        .collect()
}

fn all_scopes() -> Value {
    json!([
        "openid",
        "email",
        "profile",
        "address",
        "phone",
        "offline_access"
    ])
}

// ---------------------------------------------------------------- admin REST

#[tokio::test]
async fn rest_creates_a_confidential_client_with_its_secret_shown_once() {
    let s = TestServer::start().await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/oidc/clients",
            Some(json!({
                "name": "  Hydrogen shop ",
                "redirect_uris": [SHOP_CALLBACK, "http://localhost:3000/callback"],
                "post_logout_redirect_uris": ["https://shop.example/"],
                "first_party": true,
                "access_token_minutes": 15,
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut expected_keys: Vec<String> = CLIENT_KEYS.iter().map(|k| k.to_string()).collect();
    expected_keys.push("client_secret".into());
    expected_keys.sort();
    assert_eq!(keys(&body), expected_keys);
    let id = body["client_id"].as_str().unwrap().to_string();
    let secret = body["client_secret"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 16, "{id}");
    assert_eq!(secret.len(), 43, "{secret}");
    let created_at = body["created_at"].as_str().unwrap().to_string();
    assert_eq!(
        body,
        json!({
            "client_id": id,
            "client_secret": secret,
            "name": "Hydrogen shop",
            "public": false,
            "first_party": true,
            "redirect_uris": [SHOP_CALLBACK, "http://localhost:3000/callback"],
            "post_logout_redirect_uris": ["https://shop.example/"],
            "scopes": all_scopes(),
            "access_token_minutes": 15,
            "refresh_token_days": null,
            "created_at": created_at,
        })
    );

    // The list shows the same client without the secret.
    let (status, list) = s.admin("GET", "/rest/V1/oidc/clients", None).await;
    assert_eq!(status, 200);
    let mut shown = body.clone();
    shown.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(list, json!([shown]));
    assert!(!list.to_string().contains(&secret));

    // Stored: the digest of the secret, never the secret.
    let stored = s.auth().oidc_clients().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(secret_matches(&stored[0], &secret));
    assert!(!secret_matches(&stored[0], "not the secret"));
    assert_ne!(stored[0].secret_sha256.as_deref(), Some(secret.as_str()));
    assert_eq!(stored[0].client_id, id);

    // Audited under the admin key's name, without the secret.
    assert_eq!(
        client_audit(&s).await,
        vec![json!([
            "env",
            "oidc_client_added",
            format!("{id} (Hydrogen shop)")
        ])]
    );
    let (_, audit) = s.admin("GET", "/rest/V1/audit", None).await;
    assert!(!audit.to_string().contains(&secret));
}

#[tokio::test]
async fn rest_creates_a_public_client_without_a_secret() {
    let s = TestServer::start().await;
    let (status, body) = s
        .admin(
            "POST",
            "/rest/V1/oidc/clients",
            Some(json!({
                "name": "App",
                "redirect_uris": ["com.example.app:/oauth2redirect"],
                "public": true,
                "scopes": ["openid", "email", "openid"],
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let expected: Vec<String> = CLIENT_KEYS.iter().map(|k| k.to_string()).collect();
    assert_eq!(keys(&body), expected);
    assert_eq!(body["public"], json!(true));
    assert_eq!(body["first_party"], json!(false));
    assert_eq!(body["scopes"], json!(["openid", "email"]));
    assert_eq!(body["post_logout_redirect_uris"], json!([]));
    let stored = s.auth().oidc_clients().await.unwrap();
    assert_eq!(stored[0].secret_sha256, None);
}

#[tokio::test]
async fn rest_refuses_an_invalid_client_with_400_and_stores_nothing() {
    let s = TestServer::start().await;
    let cases = [
        (
            json!({"name": "Shop", "redirect_uris": ["http://shop.example/cb"]}),
            HTTP_REFUSED.to_string(),
        ),
        (
            json!({"name": "Shop"}),
            "redirect_uris: at least one is required".to_string(),
        ),
        (
            json!({"name": "   ", "redirect_uris": [SHOP_CALLBACK]}),
            "name: must be 1 to 200 characters".to_string(),
        ),
        (
            json!({"name": "Shop", "redirect_uris": [SHOP_CALLBACK], "scopes": ["email"]}),
            "scopes: must include openid".to_string(),
        ),
        (
            json!({"name": "Shop", "redirect_uris": [SHOP_CALLBACK], "scopes": ["admin"]}),
            "scopes: \"admin\" is not one of openid, email, profile, address, phone, offline_access"
                .to_string(),
        ),
        (
            json!({"name": "Shop", "redirect_uris": [SHOP_CALLBACK], "refresh_token_days": 0}),
            "refresh_token_days: must be at least 1".to_string(),
        ),
        (
            json!({"name": "Shop", "redirect_uris": [SHOP_CALLBACK], "post_logout_redirect_uris": ["https://shop.example/#x"]}),
            "post_logout_redirect_uris: \"https://shop.example/#x\" must have no fragment and no whitespace".to_string(),
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = s
            .admin("POST", "/rest/V1/oidc/clients", Some(body.clone()))
            .await;
        assert_eq!(
            (status, answer),
            (400, json!({ "message": message })),
            "{body}"
        );
    }
    // A misspelt field is refused, not ignored.
    let (status, answer) = s
        .admin(
            "POST",
            "/rest/V1/oidc/clients",
            Some(json!({"name": "Shop", "redirect_uri": [SHOP_CALLBACK]})),
        )
        .await;
    assert_eq!(status, 400);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("The request body is not valid: unknown field `redirect_uri`"),
        "{message}"
    );
    assert!(s.auth().oidc_clients().await.unwrap().is_empty());
    let (_, list) = s.admin("GET", "/rest/V1/oidc/clients", None).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn rest_client_calls_need_the_admin_key() {
    let s = TestServer::start().await;
    let body = json!({"name": "Shop", "redirect_uris": [SHOP_CALLBACK]});
    let unauthorized = json!({"message": "The consumer isn't authorized to access %resources."});
    for key in [None, Some("wrong-key")] {
        for (method, path, b) in [
            ("POST", "/rest/V1/oidc/clients", Some(body.clone())),
            ("GET", "/rest/V1/oidc/clients", None),
            ("DELETE", "/rest/V1/oidc/clients/abc", None),
        ] {
            let answer = s.rest(method, path, b, key).await;
            assert_eq!(answer, (401, unauthorized.clone()), "{method} {path}");
        }
    }
    assert!(s.auth().oidc_clients().await.unwrap().is_empty());
}

#[tokio::test]
async fn rest_removes_a_client_once() {
    let s = TestServer::start().await;
    let (_, a) = s
        .admin(
            "POST",
            "/rest/V1/oidc/clients",
            Some(json!({"name": "A", "redirect_uris": [SHOP_CALLBACK]})),
        )
        .await;
    let (_, b) = s
        .admin(
            "POST",
            "/rest/V1/oidc/clients",
            Some(json!({"name": "B", "redirect_uris": [SHOP_CALLBACK], "public": true})),
        )
        .await;
    let id = a["client_id"].as_str().unwrap();
    let path = format!("/rest/V1/oidc/clients/{id}");
    assert_eq!(s.admin("DELETE", &path, None).await, (200, json!(true)));
    assert_eq!(
        s.admin("DELETE", &path, None).await,
        (
            404,
            json!({"message": format!("No OpenID Connect client with client_id = {id}")})
        )
    );
    let (_, list) = s.admin("GET", "/rest/V1/oidc/clients", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["client_id"], b["client_id"]);
    assert_eq!(
        client_audit(&s).await[2..],
        [json!(["env", "oidc_client_removed", id])]
    );
}

// ---------------------------------------------------------------- CLI

/// Runs the real binary on the store in `dir`: (exit code, stdout, stderr).
fn storekey(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = bin();
    bin_env(&mut cmd, dir);
    let out = cmd.args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The value of `key: value` on the line `line` of `out`.
fn value_of(out: &str, line: usize, key: &str) -> String {
    let text = out.lines().nth(line).unwrap_or_default();
    text.strip_prefix(&format!("{key}: "))
        .unwrap_or_else(|| panic!("line {line} is not {key}: {out:?}"))
        .to_string()
}

#[test]
fn client_add_prints_the_id_and_the_secret_once_list_shows_it_and_remove_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = storekey(
        dir.path(),
        &[
            "client",
            "add",
            "--name",
            "Hydrogen shop",
            "--redirect-uri",
            SHOP_CALLBACK,
            "--redirect-uri",
            "http://localhost:3000/callback",
            "--post-logout-uri",
            "https://shop.example/",
            "--first-party",
        ],
    );
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert_eq!(out.lines().count(), 2, "{out:?}");
    let id = value_of(&out, 0, "client_id");
    let secret = value_of(&out, 1, "client_secret");
    assert_eq!(out, format!("client_id: {id}\nclient_secret: {secret}\n"));
    assert_eq!((id.len(), secret.len()), (16, 43));

    // A public client: the id alone.
    let (code, out, _) = storekey(
        dir.path(),
        &[
            "client",
            "add",
            "--name",
            "App",
            "--redirect-uri",
            "com.example.app:/cb",
            "--public",
            "--scope",
            "openid",
            "--scope",
            "email",
        ],
    );
    assert_eq!(code, Some(0));
    let app = value_of(&out, 0, "client_id");
    assert_eq!(out, format!("client_id: {app}\n"));

    let (code, list, _) = storekey(dir.path(), &["client", "list"]);
    assert_eq!(code, Some(0));
    assert!(!list.contains(&secret), "{list}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["CLIENT_ID", "TYPE", "FIRST_PARTY", "NAME", "REDIRECT_URIS"]
    );
    let row = |id: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} not in {list}"))
    };
    let shop: Vec<&str> = row(&id).split_whitespace().collect();
    assert_eq!(
        shop,
        [
            id.as_str(),
            "confidential",
            "yes",
            "Hydrogen",
            "shop",
            &format!("{SHOP_CALLBACK},"),
            "http://localhost:3000/callback"
        ]
    );
    let public: Vec<&str> = row(&app).split_whitespace().collect();
    assert_eq!(
        public,
        [app.as_str(), "public", "no", "App", "com.example.app:/cb"]
    );
    // The columns line up: every row's TYPE starts where the header's does.
    let at = lines[0].find("TYPE").unwrap();
    for line in &lines[1..] {
        assert!(line[at..].starts_with("confidential") || line[at..].starts_with("public"));
    }

    let (code, out, err) = storekey(dir.path(), &["client", "remove", &id]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert_eq!(
        out,
        format!("client {id} (Hydrogen shop) removed; its sign-ins have ended\n")
    );
    let (_, list, _) = storekey(dir.path(), &["client", "list"]);
    assert!(!list.contains(&id), "{list}");
    assert!(list.contains(&app), "{list}");

    // Removing it again: nothing to remove.
    let (code, out, err) = storekey(dir.path(), &["client", "remove", &id]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            Some(2),
            "",
            format!("storekey: no client with client_id {id}\n").as_str()
        )
    );

    let (_, after, _) = storekey(dir.path(), &["client", "remove", &app]);
    assert!(after.starts_with(&format!("client {app} (App) removed")));
    let (_, list, _) = storekey(dir.path(), &["client", "list"]);
    assert_eq!(list, "no clients (storekey client add registers one)\n");

    // Every change is in the audit log, by "cli".
    if !on_postgres() {
        let store = storekey::store::RedbStore::open(&dir.path().join("storekey.redb")).unwrap();
        let audit: Vec<(String, String, String)> = store
            .read()
            .unwrap()
            .audit(0, 100)
            .unwrap()
            .into_iter()
            .map(|(_, e)| (e.actor, e.action, e.detail.unwrap_or_default()))
            .collect();
        let cli = |action: &str, detail: String| ("cli".to_string(), action.to_string(), detail);
        assert_eq!(
            audit,
            [
                cli("oidc_client_added", format!("{id} (Hydrogen shop)")),
                cli("oidc_client_added", format!("{app} (App)")),
                cli("oidc_client_removed", id.clone()),
                cli("oidc_client_removed", app.clone()),
            ]
        );
    }
}

#[test]
fn client_add_refuses_an_http_redirect_uri_to_another_host_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = storekey(
        dir.path(),
        &[
            "client",
            "add",
            "--name",
            "Shop",
            "--redirect-uri",
            "http://shop.example/cb",
        ],
    );
    assert_eq!(
        (code, out.as_str(), err),
        (Some(2), "", format!("storekey: {HTTP_REFUSED}\n"))
    );
    // Without any redirect URI: clap's one line.
    let (code, _, err) = storekey(dir.path(), &["client", "add", "--name", "Shop"]);
    assert_eq!(code, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--redirect-uri"), "{err}");
    let (code, _, err) = storekey(
        dir.path(),
        &[
            "client",
            "add",
            "--name",
            "Shop",
            "--redirect-uri",
            SHOP_CALLBACK,
            "--scope",
            "email",
        ],
    );
    assert_eq!(
        (code, err.as_str()),
        (Some(2), "storekey: scopes: must include openid\n")
    );
    let (_, list, _) = storekey(dir.path(), &["client", "list"]);
    assert_eq!(list, "no clients (storekey client add registers one)\n");
}

#[test]
fn client_commands_while_a_server_holds_the_file_name_the_admin_api() {
    if redb_only("a PostgreSQL store has no file to hold") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _server = BinServer::spawn(dir.path(), &[]);
    for args in [
        &["client", "list"][..],
        &[
            "client",
            "add",
            "--name",
            "S",
            "--redirect-uri",
            SHOP_CALLBACK,
        ][..],
        &["oidc", "rotate-key"][..],
    ] {
        let (code, out, err) = storekey(dir.path(), args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("in use by a running storekey server") && err.contains("/rest/V1/"),
            "{err}"
        );
    }
}

#[test]
fn oidc_rotate_key_prints_the_new_kid_and_when_it_signs() {
    let dir = tempfile::tempdir().unwrap();
    first_key(dir.path());
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (code, out, err) = storekey(dir.path(), &["oidc", "rotate-key"]);
    assert_eq!((code, err.as_str()), (Some(0), ""), "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let kid = value_of(&out, 0, "kid");
    assert!(!kid.is_empty());
    let signs_from = value_of(&out, 1, "signs_from");
    let signs_from = signs_from
        .strip_suffix(" UTC")
        .unwrap_or_else(|| panic!("{signs_from}"));
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let at = time::PrimitiveDateTime::parse(signs_from, &fmt)
        .unwrap()
        .assume_utc()
        .unix_timestamp();
    // oidc.key_publish_minutes (10) from now.
    assert!(
        (before + 600..=before + 605).contains(&at),
        "{at} vs {before}"
    );
    // A second rotation is another key; both are stored as printed, beside the first.
    let (code, again, _) = storekey(dir.path(), &["oidc", "rotate-key"]);
    assert_eq!(code, Some(0));
    let second = value_of(&again, 0, "kid");
    assert_ne!(second, kid);
    let keys = stored_keys(dir.path());
    let stored: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(stored.contains(&kid.as_str()) && stored.contains(&second.as_str()));
    let rotated = keys.iter().find(|k| k.kid == kid).unwrap();
    assert_eq!(rotated.signs_from, at);
}

// ---------------------------------------------------------------- console

/// A browser without redirects followed, carrying the console cookie by hand.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: String,
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
        let (location, set_cookie) = (h("location"), h("set-cookie"));
        if let Some(rest) = set_cookie.strip_prefix("storekey_admin=") {
            let value = rest.split(';').next().unwrap_or("");
            self.cookie = (!value.is_empty()).then(|| value.to_string());
        }
        Page {
            status: resp.status().as_u16(),
            location,
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

/// The text of the element `<code id="ID">` of a page.
fn code(body: &str, id: &str) -> Option<String> {
    let marker = format!("<code id=\"{id}\">");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split('<').next()?.to_string())
}

/// An admin user `name`, set up and signed in: the browser and its CSRF token.
async fn signed_in(s: &TestServer, name: &str) -> (Browser, String) {
    let (status, body) = s
        .admin("POST", "/rest/V1/admin-users", Some(json!({"name": name})))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut b = Browser::new();
    let page = b.get(s, body["setup_path"].as_str().unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = field(&page.body, "secret");
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let totp = storekey::auth::totp::TotpSecret::from_bytes(bytes.try_into().unwrap());
    let setup_code = field(&page.body, "code");
    let password = "correct horse 42";
    let done = b
        .post(
            s,
            "/admin/setup",
            &[
                ("code", &setup_code),
                ("secret", &secret),
                ("password", password),
                ("confirmation", password),
                ("totp", &totp.code_at(s.auth().now())),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = b.get(s, "/admin/clients").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = field(&page.body, "csrf");
    (b, csrf)
}

#[tokio::test]
async fn the_console_lists_a_client_registered_through_rest_and_removes_it_after_confirming() {
    let s = TestServer::start().await;
    let (_, created) = s
        .admin(
            "POST",
            "/rest/V1/oidc/clients",
            Some(json!({"name": "Hydrogen <shop>", "redirect_uris": [SHOP_CALLBACK, "http://localhost:3000/cb"], "first_party": true})),
        )
        .await;
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let (mut b, csrf) = signed_in(&s, "alice").await;

    let page = b.get(&s, "/admin/customers").await;
    assert!(
        page.body
            .contains("<a href=\"/admin/clients\">Sign-in apps</a>"),
        "the nav links the page"
    );
    let page = b.get(&s, "/admin/clients").await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("<title>Sign-in apps · storekey admin</title>"));
    let row = format!(
        "<tr><td><code>{id}</code></td><td>Hydrogen &#60;shop&#62;</td><td>confidential</td><td>yes</td><td>{SHOP_CALLBACK}<br>http://localhost:3000/cb</td>"
    );
    assert!(page.body.contains(&row), "{}", page.body);
    assert!(!page.body.contains(&secret));
    assert_eq!(code(&page.body, "client-secret"), None);

    // The link asks first; the question names the app.
    let remove = format!("/admin/clients/{id}/remove");
    assert!(page.body.contains(&format!("href=\"{remove}\"")));
    let confirm = b.get(&s, &remove).await;
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains(&format!(
            "Remove Hydrogen &#60;shop&#62; (client ID {id})? It will sign nobody in"
        )),
        "{}",
        confirm.body
    );
    assert!(confirm
        .body
        .contains(&format!("<form method=\"post\" action=\"{remove}\"")));

    // Without the session's CSRF token nothing is removed.
    let refused = b.post(&s, &remove, &[("csrf", "0")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(s.auth().oidc_clients().await.unwrap().len(), 1);

    let done = b.post(&s, &remove, &[("csrf", &csrf)]).await;
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/admin/clients?notice=removed")
    );
    assert!(s.auth().oidc_clients().await.unwrap().is_empty());
    let page = b.get(&s, "/admin/clients?notice=removed").await;
    assert!(page.body.contains(
        "<p class=\"notice\" role=\"status\">The app is removed: it signs nobody in, and its sign-ins have ended.</p>"
    ));
    assert!(!page.body.contains(&id));
    assert_eq!(
        client_audit(&s).await[1],
        json!(["alice", "oidc_client_removed", id])
    );
    // Gone: its pages are not found.
    assert_eq!(b.get(&s, &remove).await.status, 404);
    assert_eq!(b.post(&s, &remove, &[("csrf", &csrf)]).await.status, 404);
}

#[tokio::test]
async fn a_client_added_in_the_console_shows_its_secret_once() {
    let s = TestServer::start().await;
    let (mut b, csrf) = signed_in(&s, "alice").await;
    let page = b
        .post(
            &s,
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "Hydrogen shop"),
                (
                    "redirect_uris",
                    &format!(" {SHOP_CALLBACK}\r\n\r\nhttp://localhost:3000/cb\r\n"),
                ),
                ("post_logout_uris", "https://shop.example/"),
                ("first_party", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let id = code(&page.body, "client-id").unwrap();
    let secret = code(&page.body, "client-secret").unwrap();
    assert!(page.body.contains("it is shown this once"));
    let stored = s.auth().oidc_clients().await.unwrap();
    assert_eq!(stored.len(), 1);
    let client = &stored[0];
    assert_eq!(client.client_id, id);
    assert!(secret_matches(client, &secret));
    assert_eq!(client.name, "Hydrogen shop");
    assert_eq!(
        client.redirect_uris,
        [SHOP_CALLBACK, "http://localhost:3000/cb"]
    );
    assert_eq!(client.post_logout_redirect_uris, ["https://shop.example/"]);
    assert!(client.first_party && !client.is_public());
    assert_eq!(
        client_audit(&s).await,
        [json!([
            "alice",
            "oidc_client_added",
            format!("{id} (Hydrogen shop)")
        ])]
    );
    // The answer's page only: the list shows the client, never the secret again.
    let page = b.get(&s, "/admin/clients").await;
    assert!(page.body.contains(&id));
    assert!(!page.body.contains(&secret));
    assert_eq!(code(&page.body, "client-id"), None);

    // A public app gets no secret.
    let page = b
        .post(
            &s,
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "App"),
                ("redirect_uris", "com.example.app:/cb"),
                ("public", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(code(&page.body, "client-id").is_some());
    assert_eq!(code(&page.body, "client-secret"), None);
    assert!(page
        .body
        .contains("A public app has no secret: it signs in with PKCE."));
}

#[tokio::test]
async fn a_refused_console_client_shows_why_keeps_the_form_and_stores_nothing() {
    let s = TestServer::start().await;
    let (mut b, csrf) = signed_in(&s, "alice").await;
    let page = b
        .post(
            &s,
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "Shop"),
                ("redirect_uris", "http://shop.example/cb"),
                ("first_party", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    let shown = HTTP_REFUSED.replace('"', "&#34;");
    assert!(
        page.body
            .contains(&format!("<p class=\"error\" role=\"alert\">{shown}</p>")),
        "{}",
        page.body
    );
    assert_eq!(field(&page.body, "name"), "Shop");
    assert!(page.body.contains(">http://shop.example/cb</textarea>"));
    assert!(page
        .body
        .contains("name=\"first_party\" type=\"checkbox\" value=\"1\" checked>"));
    assert!(s.auth().oidc_clients().await.unwrap().is_empty());

    // Without the CSRF token the form is refused before anything is read.
    let page = b
        .post(
            &s,
            "/admin/clients",
            &[("name", "Shop"), ("redirect_uris", SHOP_CALLBACK)],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(s.auth().oidc_clients().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_sign_in_apps_pages_need_a_console_session() {
    let s = TestServer::start().await;
    let mut b = Browser::new();
    for page in [
        b.get(&s, "/admin/clients").await,
        b.get(&s, "/admin/clients/abc/remove").await,
        b.post(&s, "/admin/clients", &[("name", "x")]).await,
        b.post(&s, "/admin/clients/abc/remove", &[]).await,
    ] {
        assert_eq!(
            (page.status, page.location.as_str()),
            (303, "/admin/sign-in")
        );
    }
}

#[test]
fn oidc_rotate_key_before_any_key_exists_refuses_and_stores_none() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = storekey(dir.path(), &["oidc", "rotate-key"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            Some(2),
            "",
            "storekey: no signing key to rotate yet: `storekey serve` makes the first one when it starts, signing at once\n"
        )
    );
    // Once the provider has made its first key (which signs at once), rotation works.
    first_key(dir.path());
    let (code, _, err) = storekey(dir.path(), &["oidc", "rotate-key"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
}

/// The signing keys stored in `dir`'s database, oldest first.
fn stored_keys(dir: &std::path::Path) -> Vec<storekey::model::oidc::SigningKey> {
    let config = test_config(&dir.join("storekey.redb"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = storekey::server::open_store(&config).await.unwrap();
        store.oidc_keys().await.unwrap()
    })
}

/// What the provider does when it starts on a store without keys: its first signing key, under
/// the key-encryption key the binary run in `dir` uses (`data/oidc.kek` there).
fn first_key(dir: &std::path::Path) {
    let mut config = test_config(&dir.join("storekey.redb"));
    config.oidc.key_file = dir.join("data/oidc.kek").to_string_lossy().into_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = storekey::server::open_store(&config).await.unwrap();
        assert_eq!(store.oidc_keys().await.unwrap(), [], "a store without keys");
        let auth = storekey::auth::Auth::from_config(
            std::sync::Arc::new(config.clone()),
            store,
            std::sync::Arc::new(storekey::auth::clock::SystemClock),
            std::sync::Arc::new(storekey::metrics::Metrics::new()),
        )
        .unwrap();
        storekey::auth::oidc::Provider::start(
            std::sync::Arc::new(auth),
            &config.oidc,
            "http://127.0.0.1".into(),
        )
        .await
        .unwrap();
    });
}
