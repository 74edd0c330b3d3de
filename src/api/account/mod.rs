//! The hosted customer pages under `/account/` (SPEC §10): sign in (the one sign-in core,
//! minting a browser session), the signed-in page, sign out, and the pages the OpenID Connect
//! endpoints show (consent, refusals). Server-rendered with askama (`templates/account/`),
//! one embedded stylesheet, a strict Content-Security-Policy, and a CSRF token on every form
//! (double-submit: the `storekey_csrf` cookie and the form field must match). The one script,
//! `assets/passkeys.js`, is loaded only where passkeys are offered (`passkeys.rs`).

mod flows;
mod passkeys;
pub mod texts;

use super::{client_ip, cookie_is_secure, AppState, HttpResponse};
use crate::auth::oidc::authorize::Params;
use crate::auth::oidc::session::COOKIE;
use crate::auth::secret::{self, Secret};
use crate::auth::{Accept, Failure, Mint, SignInError, SignInRequest};
use crate::model::oidc::BrowserSession;
use crate::model::Digest;
use askama::Template;
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::OnceLock;
use texts::Texts;
use warp::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use warp::hyper::Body;

/// The double-submit CSRF cookie of the hosted pages.
pub const CSRF_COOKIE: &str = "storekey_csrf";

/// Scripts, styles and calls only from here (the one script is the passkeys'), forms post
/// only here, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

const CSS: &[u8] = include_bytes!("../../../assets/account/account.css");
/// The passkey ceremonies' script, shared with the console.
pub const PASSKEYS_JS: &[u8] = include_bytes!("../../../assets/passkeys.js");

/// A short digest of an embedded file, in its path: a new build's file is a new URL, so it
/// may be cached for good.
pub fn asset_tag(bytes: &'static [u8], cell: &'static OnceLock<String>) -> &'static str {
    cell.get_or_init(|| {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        hex::encode(&digest.as_ref()[..6])
    })
}

fn css_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    asset_tag(CSS, &TAG)
}

fn js_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    asset_tag(PASSKEYS_JS, &TAG)
}

fn css_path() -> String {
    format!("/account/assets/{}/account.css", css_tag())
}

/// The passkeys' script, where passkeys are on.
fn js_path(state: &AppState) -> Option<String> {
    state
        .auth
        .passkeys_enabled()
        .then(|| format!("/account/assets/{}/passkeys.js", js_tag()))
}

// ---------------------------------------------------------------- page parts

/// What every page carries besides its own content (`templates/account/base.html` reads it
/// as `page`).
pub struct Page {
    pub title: String,
    pub csrf: String,
    pub css: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Page {
    pub fn new(title: &str, csrf: &Csrf) -> Page {
        Page {
            title: title.to_string(),
            csrf: csrf.value.clone(),
            css: css_path(),
            notice: None,
            error: None,
        }
    }

    pub fn notice(self, notice: Option<String>) -> Page {
        Page { notice, ..self }
    }

    pub fn error(self, error: Option<String>) -> Page {
        Page { error, ..self }
    }
}

#[derive(Template)]
#[template(path = "account/sign_in.html")]
struct SignInPage<'a> {
    t: &'static Texts,
    page: Page,
    app: Option<&'a str>,
    email: &'a str,
    return_to: &'a str,
    links: Vec<flows::Link>,
    js: Option<String>,
}

#[derive(Template)]
#[template(path = "account/message.html")]
struct MessagePage {
    t: &'static Texts,
    page: Page,
    text: String,
}

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage<'a> {
    t: &'static Texts,
    page: Page,
    email: &'a str,
    /// `None` when passkeys are off.
    passkeys: Option<Vec<PasskeyLine>>,
    js: Option<String>,
    /// Where the add form's call sends the browser once the passkey is added.
    add_finish: String,
    /// After "Create account with a passkey": where "Continue without a passkey" goes.
    continue_to: Option<&'a str>,
}

/// One passkey as the account page lists it.
struct PasskeyLine {
    /// base64url, the removal form's `id`.
    id: String,
    name: String,
    added: String,
    last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "account/confirm_sign_out.html")]
struct ConfirmSignOutPage<'a> {
    t: &'static Texts,
    page: Page,
    question: &'a str,
    request: &'a str,
}

/// RP-initiated logout's question when the request does not name this browser's session
/// (`query`: the logout request's parameters, posted back with the answer).
pub fn confirm_sign_out_page(state: &AppState, headers: &HeaderMap, query: &str) -> HttpResponse {
    let t = texts::for_locales(None);
    let csrf = Csrf::of(headers);
    let page = ConfirmSignOutPage {
        t,
        page: Page::new(t.sign_out, &csrf),
        question: t.sign_out_question,
        request: query,
    };
    let next = Params::parse(query)
        .get("post_logout_redirect_uri")
        .map(str::to_string);
    render(StatusCode::OK, &page, &csrf, secure(state), next.as_deref())
}

#[derive(Template)]
#[template(path = "account/consent.html")]
struct ConsentPage<'a> {
    t: &'static Texts,
    page: Page,
    app: &'a str,
    scopes: Vec<&'static str>,
    email: &'a str,
    request: &'a str,
}

/// The CSRF token of this request: the cookie's, or a new one (then set with the page).
pub struct Csrf {
    pub value: String,
    fresh: bool,
}

impl Csrf {
    pub fn of(headers: &HeaderMap) -> Csrf {
        match super::kit::cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 43) {
            Some(value) => Csrf {
                value,
                fresh: false,
            },
            None => Csrf {
                value: secret::url_token(&secret::OsRandom).expose().to_string(),
                fresh: true,
            },
        }
    }

    /// Whether a posted form carries this request's token (and the cookie existed).
    pub fn accepts(&self, presented: Option<&str>) -> bool {
        !self.fresh
            && presented.is_some_and(|p| {
                subtle::ConstantTimeEq::ct_eq(p.as_bytes(), self.value.as_bytes()).into()
            })
    }
}

/// The origin an app's redirect URI names, as a CSP source: `https://host[:port]`,
/// `http://…`, or `scheme:` for an app's own scheme. `None` for anything else, and for any
/// character a CSP source cannot hold (so nothing a request carries can add a directive).
fn csp_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+');
    if scheme.is_empty() || !scheme.chars().all(plain) {
        return None;
    }
    if scheme != "https" && scheme != "http" {
        return Some(format!("{scheme}:"));
    }
    let authority = rest.strip_prefix("//")?.split(['/', '?', '#']).next()?;
    let host_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if authority.is_empty() || !authority.chars().all(host_char) {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

/// Where the redirects after a page's form may end: the app's origin, when the form leads on
/// to an authorization (`/oauth/authorize?…` with its `redirect_uri`) or straight to an app's
/// URI. Chromium applies `form-action` to every redirect after a form post, so without it the
/// last hop to the app (another origin) is cancelled. The authorization endpoint still
/// decides where the browser goes (a registered redirect URI only); this only lets it.
fn app_source(next: Option<&str>) -> Option<String> {
    let next = next?;
    match next.strip_prefix("/oauth/authorize?") {
        Some(query) => csp_source(Params::parse(query).get("redirect_uri")?),
        None => csp_source(next),
    }
}

/// The answer's headers on every page: the policy (its `form-action` widened to the app a
/// form leads to, see `app_source`), no caching, never framed, and the CSRF cookie when it
/// is new.
fn page_response(
    status: StatusCode,
    body: String,
    csrf: &Csrf,
    secure: bool,
    next: Option<&str>,
) -> HttpResponse {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    super::kit::security_headers(h, CONTENT_SECURITY_POLICY, "no-store");
    if let Some(app) = app_source(next) {
        let policy = CONTENT_SECURITY_POLICY
            .replace("form-action 'self'", &format!("form-action 'self' {app}"));
        if let Ok(v) = HeaderValue::from_str(&policy) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if csrf.fresh {
        set_cookie(h, &csrf_cookie(&csrf.value, secure));
    }
    resp
}

/// A page; `next` is where its form leads (see `app_source`), if anywhere beyond this server.
fn render(
    status: StatusCode,
    page: &impl Template,
    csrf: &Csrf,
    secure: bool,
    next: Option<&str>,
) -> HttpResponse {
    match page.render() {
        Ok(body) => page_response(status, body, csrf, secure, next),
        Err(e) => {
            tracing::error!("account page template: {e}");
            page_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error".into(),
                csrf,
                secure,
                None,
            )
        }
    }
}

pub fn set_cookie(h: &mut HeaderMap, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.append(header::SET_COOKIE, v);
    }
}

fn csrf_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// The browser session's cookie (SPEC §10: `HttpOnly`, `SameSite=Lax`, `Secure` unless on
/// loopback), kept as long as the session may live.
pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

pub fn clear_session_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}

/// A message page (signed out, refused, not found, unavailable).
pub fn message(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    title: &str,
    text: &str,
) -> HttpResponse {
    let t = texts::for_locales(None);
    let csrf = Csrf::of(headers);
    let p = Page::new(title, &csrf);
    let page = MessagePage {
        t,
        page: p,
        text: text.to_string(),
    };
    render(status, &page, &csrf, secure(state), None)
}

/// 503 (with `Retry-After`) or 500 for what no customer can mend.
pub fn failure_page(state: &AppState, headers: &HeaderMap, e: &Failure) -> HttpResponse {
    let t = texts::for_locales(None);
    if e.is_retryable() {
        let text = if matches!(e, Failure::Busy) {
            t.busy
        } else {
            t.unavailable
        };
        return super::kit::retry_later(message(
            state,
            headers,
            StatusCode::SERVICE_UNAVAILABLE,
            t.sign_in_title,
            text,
        ));
    }
    tracing::error!("hosted page: {e}");
    message(
        state,
        headers,
        StatusCode::INTERNAL_SERVER_ERROR,
        t.sign_in_title,
        super::kit::messages::INTERNAL,
    )
}

/// 303 See Other to a path here (or the client's URL, for the OpenID Connect endpoints).
pub fn see_other(location: &str, status: StatusCode) -> HttpResponse {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    super::kit::security_headers(resp.headers_mut(), CONTENT_SECURITY_POLICY, "no-store");
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

pub fn secure(state: &AppState) -> bool {
    cookie_is_secure(&state.config.server.listen)
}

/// The live browser session the request's cookie names.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Digest, BrowserSession)>, Failure> {
    match super::kit::cookie(headers, COOKIE) {
        Some(cookie) if cookie.len() <= 64 => state.auth.browser_session(&cookie).await,
        _ => Ok(None),
    }
}

/// Where a sign-in may send the browser next: the authorization endpoint, or the account page.
fn safe_return(to: &str) -> &str {
    let plain = !to.contains(['\\', '\r', '\n']) && !to.starts_with("//");
    if plain && to.starts_with("/oauth/authorize?") {
        to
    } else {
        "/account"
    }
}

// ---------------------------------------------------------------- routes

/// `/account/...`: `tail` is the path after `/account/`.
pub async fn handle(
    state: &AppState,
    method: Method,
    tail: &str,
    query: &str,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: Bytes,
) -> HttpResponse {
    let t = texts::for_locales(None);
    let segments: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, []) => {
            let params = Params::parse(query);
            let (notice, next) = match params.get("passkey") {
                Some("added") => (Some(t.passkey_added), None),
                Some("removed") => (Some(t.passkey_removed), None),
                // Right after "Create account with a passkey": add it, then on to the app.
                Some("create") => (
                    Some(t.passkey_create_now),
                    params.get("return_to").map(safe_return),
                ),
                _ => (None, None),
            };
            AccountView::new(notice, None)
                .continuing_to(next)
                .render(state, headers)
                .await
        }
        (&Method::POST, ["passkeys", rest @ ..]) => {
            passkeys::handle(state, rest, query, headers, remote, &body).await
        }
        (&Method::GET, ["assets", tag, "passkeys.js"]) if *tag == js_tag() => {
            super::explorer::embedded_file("text/javascript; charset=utf-8", PASSKEYS_JS)
        }
        (&Method::GET, ["sign-in"]) => {
            let params = Params::parse(query);
            let return_to = safe_return(params.get("return_to").unwrap_or("/account"));
            let email = params.get("login_hint").unwrap_or("");
            sign_in_page(state, headers, StatusCode::OK, email, return_to, None).await
        }
        (&Method::POST, ["sign-in"]) => sign_in(state, headers, remote, &body).await,
        (&Method::POST, ["sign-out"]) => sign_out(state, headers, &body).await,
        (_, ["code" | "register" | "forgot" | "reset", ..]) => {
            flows::handle(state, &method, &segments, query, headers, remote, &body).await
        }
        (&Method::GET, ["assets", tag, "account.css"]) if *tag == css_tag() => {
            super::explorer::embedded_file("text/css; charset=utf-8", CSS)
        }
        _ => message(
            state,
            headers,
            StatusCode::NOT_FOUND,
            t.not_found_title,
            t.not_found,
        ),
    }
}

/// The name of the app a pending authorization is for (shown above the form).
async fn app_name(state: &AppState, return_to: &str) -> Option<String> {
    let query = return_to.strip_prefix("/oauth/authorize?")?;
    let params = Params::parse(query);
    let client = state
        .auth
        .oidc_client(params.get("client_id")?)
        .await
        .ok()??;
    Some(client.name)
}

async fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    return_to: &str,
    error: Option<String>,
) -> HttpResponse {
    let t = texts::for_locales(None);
    let csrf = Csrf::of(headers);
    let app = app_name(state, return_to).await;
    let p = Page::new(t.sign_in_title, &csrf);
    let page = SignInPage {
        t,
        page: p.error(error),
        app: app.as_deref(),
        email,
        return_to,
        links: flows::links(
            t,
            return_to,
            &[flows::To::Code, flows::To::Forgot, flows::To::Register],
        ),
        js: js_path(state),
    };
    render(status, &page, &csrf, secure(state), Some(return_to))
}

async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: &[u8],
) -> HttpResponse {
    let t = texts::for_locales(None);
    let fields = Params::parse(&String::from_utf8_lossy(body));
    let email = fields.get("email").unwrap_or("").trim().to_string();
    let return_to = safe_return(fields.get("return_to").unwrap_or("/account")).to_string();
    if !Csrf::of(headers).accepts(fields.get("csrf")) {
        let e = Some(t.form_expired.to_string());
        return sign_in_page(state, headers, StatusCode::FORBIDDEN, &email, &return_to, e).await;
    }
    let result = state
        .auth
        .sign_in(SignInRequest {
            email: email.clone(),
            secret: Secret::new(fields.get("password").unwrap_or("")),
            ip: client_ip(remote),
            accept: Accept::Any,
            mint: Mint::BrowserSession,
        })
        .await;
    match result {
        Ok(issued) => {
            let max_age = issued.expires_at - state.auth.now();
            let mut resp = see_other(&return_to, StatusCode::SEE_OTHER);
            set_cookie(
                resp.headers_mut(),
                &session_cookie(issued.token.expose(), max_age.max(0), secure(state)),
            );
            resp
        }
        Err(SignInError::Failure(f)) => failure_page(state, headers, &f),
        Err(SignInError::NotConfirmed) => {
            let e = Some(t.not_confirmed.to_string());
            sign_in_page(
                state,
                headers,
                StatusCode::UNAUTHORIZED,
                &email,
                &return_to,
                e,
            )
            .await
        }
        Err(_) => {
            let e = Some(t.sign_in_refused.to_string());
            sign_in_page(
                state,
                headers,
                StatusCode::UNAUTHORIZED,
                &email,
                &return_to,
                e,
            )
            .await
        }
    }
}

/// What the account page shows besides the customer's own.
struct AccountView<'a> {
    notice: Option<&'a str>,
    error: Option<&'a str>,
    continue_to: Option<&'a str>,
}

impl<'a> AccountView<'a> {
    fn new(notice: Option<&'a str>, error: Option<&'a str>) -> Self {
        AccountView {
            notice,
            error,
            continue_to: None,
        }
    }

    fn continuing_to(mut self, next: Option<&'a str>) -> Self {
        self.continue_to = next;
        self
    }

    async fn render(self, state: &AppState, headers: &HeaderMap) -> HttpResponse {
        account_page(state, headers, self).await
    }
}

async fn account_page(
    state: &AppState,
    headers: &HeaderMap,
    view: AccountView<'_>,
) -> HttpResponse {
    let t = texts::for_locales(None);
    let session = match current_session(state, headers).await {
        Ok(s) => s,
        Err(e) => return failure_page(state, headers, &e),
    };
    // One read: the customer and their passkeys.
    let account = match session {
        Some((_, s)) => match state.auth.account(s.customer).await {
            Ok(a) => a,
            Err(e) => return failure_page(state, headers, &e.into()),
        },
        None => None,
    };
    let Some(account) = account else {
        return see_other("/account/sign-in", StatusCode::SEE_OTHER);
    };
    let customer = &account.customer;
    let passkeys = state.auth.passkeys_enabled().then(|| {
        account
            .credentials
            .passkeys
            .iter()
            .map(|p| PasskeyLine {
                id: base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    &p.id,
                ),
                name: p.name.clone(),
                added: super::kit::timestamp(p.created_at),
                last_used: p.last_used_at.map(super::kit::timestamp),
            })
            .collect()
    });
    let csrf = Csrf::of(headers);
    let p = Page::new(t.account_title, &csrf);
    let page = AccountPage {
        t,
        page: p
            .notice(view.notice.map(str::to_string))
            .error(view.error.map(str::to_string)),
        email: &customer.email,
        passkeys,
        js: js_path(state),
        add_finish: match view.continue_to {
            Some(next) => format!(
                "/account/passkeys/register?return_to={}",
                crate::auth::oidc::authorize::escape(next)
            ),
            None => "/account/passkeys/register".into(),
        },
        continue_to: view.continue_to,
    };
    render(StatusCode::OK, &page, &csrf, secure(state), None)
}

async fn sign_out(state: &AppState, headers: &HeaderMap, body: &[u8]) -> HttpResponse {
    let t = texts::for_locales(None);
    let fields = Params::parse(&String::from_utf8_lossy(body));
    if !Csrf::of(headers).accepts(fields.get("csrf")) {
        return message(
            state,
            headers,
            StatusCode::FORBIDDEN,
            t.signed_out_title,
            t.form_expired,
        );
    }
    if let Some(cookie) = super::kit::cookie(headers, COOKIE) {
        if let Err(e) = state
            .auth
            .end_browser_session(secret::digest(&cookie), None)
            .await
        {
            return failure_page(state, headers, &e);
        }
    }
    let mut resp = message(
        state,
        headers,
        StatusCode::OK,
        t.signed_out_title,
        t.signed_out,
    );
    set_cookie(resp.headers_mut(), &clear_session_cookie(secure(state)));
    resp
}

/// The consent page for a third-party client's request (`query`: the request's parameters).
pub fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    app: &str,
    scope: &str,
    email: &str,
    query: &str,
) -> HttpResponse {
    let t = texts::for_locales(None);
    let csrf = Csrf::of(headers);
    let p = Page::new(t.consent_title, &csrf);
    let page = ConsentPage {
        t,
        page: p,
        app,
        scopes: scope.split(' ').map(|s| t.scope(s)).collect(),
        email,
        request: query,
    };
    let next = format!("/oauth/authorize?{query}");
    render(StatusCode::OK, &page, &csrf, secure(state), Some(&next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_action_source_is_the_apps_origin_and_nothing_more() {
        for (uri, source) in [
            (
                "https://shop.example/account/callback?x=1",
                Some("https://shop.example"),
            ),
            ("http://127.0.0.1:4000/cb", Some("http://127.0.0.1:4000")),
            ("http://[::1]:8080/cb", Some("http://[::1]:8080")),
            ("com.example.app:/oauth2redirect", Some("com.example.app:")),
            ("https://a.example; script-src *", None),
            (
                "https://a.example/'unsafe-inline'",
                Some("https://a.example"),
            ),
            ("https://a.ex ample/", None),
            ("https://\"x\"/", None),
            ("https:///nohost", None),
            ("java script:alert(1)", None),
            ("", None),
        ] {
            assert_eq!(csp_source(uri).as_deref(), source, "{uri}");
        }
        let next = "/oauth/authorize?client_id=c&redirect_uri=https%3A%2F%2Fshop.example%2Fcb";
        assert_eq!(
            app_source(Some(next)).as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(app_source(Some("/account")), None);
        assert_eq!(app_source(None), None);
    }
}
