//! The OpenID Connect provider end to end: a browser (cookies kept by hand, redirects not
//! followed) signs in through the hosted pages, a relying party redeems the code, refreshes,
//! reads userinfo and logs out.

use crate::support::{TestServer, BOB, BOB_PASSWORD};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use storekey::auth::oidc::clients::NewClient;

pub const CALLBACK: &str = "https://shop.example/account/callback";
pub const AFTER_LOGOUT: &str = "https://shop.example/goodbye";

/// A browser: keeps cookies, never follows a redirect on its own.
pub struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let text = v.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
    }

    /// Another browser with this one's cookies (the same person on a second tab).
    pub fn clone_cookies(&self) -> Browser {
        Browser {
            http: self.http.clone(),
            cookies: self.cookies.clone(),
        }
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.into(), value.into());
    }

    pub fn cookie(&self, name: &str) -> Option<&String> {
        self.cookies.get(name)
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        resp
    }

    /// A JSON call of a page's script: the body, and the page's CSRF token in `X-CSRF-Token`.
    pub async fn post_json(&mut self, url: &str, csrf: &str, body: &Value) -> reqwest::Response {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("x-csrf-token", csrf)
            .json(body)
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        resp
    }

    /// A JSON call whose body is sent as given (it may not be JSON at all).
    pub async fn http_post_raw(
        &mut self,
        url: &str,
        csrf: &str,
        body: String,
    ) -> reqwest::Response {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("x-csrf-token", csrf)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        resp
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let resp = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        resp
    }
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {}", resp.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// The value of `name` in the query of `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    storekey::auth::oidc::authorize::url_pairs(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The hidden `csrf` field of a page.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..at + 43].to_string()
}

pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub async fn oidc_server() -> TestServer {
    TestServer::start_with(|c| c.oidc.enabled = true).await
}

/// A confidential first-party client: (client_id, secret).
pub async fn add_client(s: &TestServer, first_party: bool) -> (String, String) {
    let created = s
        .auth()
        .add_oidc_client(
            NewClient {
                name: "Shop".into(),
                redirect_uris: vec![CALLBACK.into()],
                post_logout_redirect_uris: vec![AFTER_LOGOUT.into()],
                first_party,
                ..NewClient::default()
            },
            "test",
        )
        .await
        .unwrap();
    (
        created.client.client_id,
        created.secret.unwrap().expose().to_string(),
    )
}

pub fn authorize_url(s: &TestServer, client_id: &str, extra: &str) -> String {
    s.url(&format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email%20profile&state=st-1&nonce=n-1{extra}",
        storekey::auth::oidc::authorize::escape(CALLBACK)
    ))
}

/// Signs the browser in through the sign-in page an authorization request led to; the code.
pub async fn sign_in_for_code(s: &TestServer, b: &mut Browser, authorize: &str) -> String {
    let resp = b.get(authorize).await;
    assert_eq!(resp.status(), 302);
    let to_sign_in = location(&resp);
    assert!(
        to_sign_in.starts_with("/account/sign-in?return_to="),
        "{to_sign_in}"
    );
    let page = b.get(&s.url(&to_sign_in)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let return_to = query_param(&to_sign_in, "return_to").unwrap();
    let resp = b
        .post(
            &s.url("/account/sign-in"),
            &[
                ("csrf", &csrf_of(&html)),
                ("return_to", &return_to),
                ("email", BOB),
                ("password", BOB_PASSWORD),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let back = location(&resp);
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    let resp = b.get(&s.url(&back)).await;
    assert_eq!(resp.status(), 302);
    let to_client = location(&resp);
    assert!(to_client.starts_with(CALLBACK), "{to_client}");
    assert_eq!(query_param(&to_client, "state").as_deref(), Some("st-1"));
    query_param(&to_client, "code").unwrap()
}

pub async fn exchange(
    s: &TestServer,
    client: &(String, String),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(s.url("/oauth/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_customer_signs_in_and_the_client_gets_tokens_userinfo_refresh_and_logout() {
    let s = oidc_server().await;
    s.create_verified_customer(BOB, BOB_PASSWORD).await;
    let client = add_client(&s, true).await;

    let discovery: Value = reqwest::get(s.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], json!(s.url("")));
    assert_eq!(discovery["token_endpoint"], json!(s.url("/oauth/token")));

    let mut b = Browser::new();
    let code = sign_in_for_code(&s, &mut b, &authorize_url(&s, &client.0, "")).await;
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
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid email profile");
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    // The ID token of this browser's session: the logout hint below.
    let hint = tokens["id_token"].as_str().unwrap().to_string();
    assert_eq!(id["iss"], json!(s.url("")));
    assert_eq!(id["aud"], json!(client.0));
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["email"], BOB);
    assert_eq!(id["email_verified"], true);

    // The access token works in the Commerce dialect and at userinfo.
    let access = tokens["access_token"].as_str().unwrap();
    let (_, me) = s
        .gql("{ customer { email } }", json!({}), Some(access))
        .await;
    assert_eq!(me["data"]["customer"]["email"], BOB);
    let info: Value = reqwest::Client::new()
        .get(s.url("/oauth/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], BOB);
    assert_eq!(info["sub"], id["sub"]);

    // The code works once.
    let (status, again) = exchange(
        &s,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A second sign-in, then a refresh.
    let code = sign_in_for_code(&s, &mut Browser::new(), &authorize_url(&s, &client.0, "")).await;
    let (_, tokens) = exchange(
        &s,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let (status, renewed) = exchange(
        &s,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(renewed["refresh_token"], json!(refresh));

    // Logout with the ID token as hint goes back to the registered URI with the state.
    let resp = b
        .get(&s.url(&format!(
            "/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
            storekey::auth::oidc::authorize::escape(AFTER_LOGOUT)
        )))
        .await;
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), format!("{AFTER_LOGOUT}?state=bye"));
    assert_eq!(b.cookie("storekey_account"), None);
}

// ---------------------------------------------------------------- helpers for the oidc_* suites

/// A client registered with `new` (its redirect URIs default to `CALLBACK`, its logout URIs to
/// `AFTER_LOGOUT`): (client_id, secret or "" for a public client).
pub async fn add_client_with(s: &TestServer, mut new: NewClient) -> (String, String) {
    if new.name.is_empty() {
        new.name = "Shop".into();
    }
    if new.redirect_uris.is_empty() {
        new.redirect_uris = vec![CALLBACK.into()];
    }
    if new.post_logout_redirect_uris.is_empty() {
        new.post_logout_redirect_uris = vec![AFTER_LOGOUT.into()];
    }
    let created = s.auth().add_oidc_client(new, "test").await.unwrap();
    (
        created.client.client_id,
        created
            .secret
            .map(|s| s.expose().to_string())
            .unwrap_or_default(),
    )
}

/// Signs the browser in on the sign-in page itself (no pending authorization): the answer.
pub async fn browser_sign_in(
    s: &TestServer,
    b: &mut Browser,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = b.get(&s.url("/account/sign-in")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    b.post(
        &s.url("/account/sign-in"),
        &[
            ("csrf", &csrf_of(&html)),
            ("return_to", "/account"),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

/// A browser signed in as Bob.
pub async fn signed_in_browser(s: &TestServer) -> Browser {
    let mut b = Browser::new();
    let resp = browser_sign_in(s, &mut b, BOB, BOB_PASSWORD).await;
    assert_eq!(resp.status(), 303);
    assert!(b.cookie("storekey_account").is_some());
    b
}

/// The code an authorization request gives a signed-in browser at once.
pub async fn code_for(b: &mut Browser, authorize: &str) -> String {
    let resp = b.get(authorize).await;
    assert_eq!(resp.status(), 302, "{:?}", resp.text().await);
    let to = location(&resp);
    assert!(to.starts_with(CALLBACK), "{to}");
    query_param(&to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

/// POST /oauth/token with optional Basic credentials: (status, headers, body).
pub async fn post_token(
    s: &TestServer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .post(s.url("/oauth/token"))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap())
}

/// Redeems `code` with Basic credentials: (status, body).
pub async fn redeem(s: &TestServer, client: &(String, String), code: &str) -> (u16, Value) {
    exchange(
        s,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await
}

/// Refreshes with Basic credentials: (status, body).
pub async fn refresh(s: &TestServer, client: &(String, String), token: &str) -> (u16, Value) {
    exchange(
        s,
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// A signed-in browser's tokens for `client` (scope `openid email profile`).
pub async fn tokens_for(s: &TestServer, b: &mut Browser, client: &(String, String)) -> Value {
    let code = code_for(b, &authorize_url(s, &client.0, "")).await;
    let (status, tokens) = redeem(s, client, &code).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// GET /oauth/userinfo with a bearer token: (status, body).
pub async fn userinfo(s: &TestServer, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(s.url("/oauth/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

pub async fn get_json(url: &str) -> Value {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The claims of `jwt` when its RS256 signature verifies under the key of the JWKS its `kid`
/// names (checked with ring from the JWK's `n` and `e`, as a relying party would).
pub fn verify_with_jwks(jwks: &Value, jwt: &str) -> Option<Value> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (signed, signature) = jwt.rsplit_once('.')?;
    let header: Value = serde_json::from_slice(&b64.decode(jwt.split('.').next()?).ok()?).ok()?;
    if header["alg"] != "RS256" {
        return None;
    }
    let key = jwks["keys"]
        .as_array()?
        .iter()
        .find(|k| k["kid"] == header["kid"])?;
    let n = b64.decode(key["n"].as_str()?).ok()?;
    let e = b64.decode(key["e"].as_str()?).ok()?;
    ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &b64.decode(signature).ok()?,
        )
        .ok()?;
    Some(claims_of(jwt))
}

/// The `kid` in a JWT's header.
pub fn kid_of(jwt: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value =
        serde_json::from_slice(&b64.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_string()
}
