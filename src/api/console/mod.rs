//! The admin console under `/admin`: server-rendered pages (askama templates in `templates/`)
//! for people signed in as admin users. Every asset is embedded and served from `/admin/assets/`
//! under a strict Content-Security-Policy (no inline script or style); every form carries a
//! CSRF token derived from the session, checked on every POST. The pages call the sign-in core
//! (`auth`), never the store. Routing is by hand over the path segments, as in the REST API: one
//! `match` (`route`) over the pages, each area (sign-in, customers, Login as Customer, its log,
//! storefront tokens, sign-in apps, the overview, the admin's passkeys) in its own file;
//! `errors.rs` words the core's refusals.

mod clients;
mod customers;
mod errors;
mod frame;
mod log;
mod login_as;
mod overview;
mod passkeys;
mod sign_in;
mod tokens;

use super::{AppState, HttpResponse};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use warp::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use warp::hyper::Body;

/// The console's cookie: its token is kept in the store only as a SHA-256 digest.
pub const COOKIE: &str = "storekey_admin";

/// No inline script, no inline style, nothing from another host; forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The path of a setup link (the CLI and `POST /rest/V1/admin-users` print it).
pub fn setup_path(code: &str) -> String {
    format!("/admin/setup?code={code}")
}

// ---------------------------------------------------------------- embedded assets

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../assets/console/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/console/console.js"),
    },
    // The hosted pages' passkey script, served here too so the console loads only from /admin.
    Asset {
        name: "passkeys.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: crate::api::account::PASSKEYS_JS,
    },
];

/// A digest of the files' content in their path, so a year-long cache never serves a stale one.
fn assets_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for a in &ASSETS {
            ctx.update(a.name.as_bytes());
            ctx.update(a.bytes);
        }
        hex::encode(ctx.finish())[..12].to_string()
    })
}

pub(crate) fn asset_path(name: &str) -> String {
    format!("/admin/assets/{}/{name}", assets_tag())
}

fn asset(tag: &str, name: &str) -> HttpResponse {
    let Some(a) = ASSETS
        .iter()
        .find(|a| tag == assets_tag() && a.name == name)
    else {
        return not_found();
    };
    super::explorer::embedded_file(a.content_type, a.bytes)
}

// ---------------------------------------------------------------- responses

/// An HTML page with the console's security headers.
pub(crate) fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    secure_headers(resp.headers_mut());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The kit's page headers with the console's policy, never cached, never framed.
fn secure_headers(h: &mut HeaderMap) {
    super::kit::security_headers(h, CONTENT_SECURITY_POLICY, "no-store");
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// 303 See Other to `location` (a path on this server).
pub(crate) fn redirect(location: &str) -> HttpResponse {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    secure_headers(resp.headers_mut());
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn not_found() -> HttpResponse {
    frame::message_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}

// ---------------------------------------------------------------- cookie, CSRF, forms

/// How the session cookie is written: `Secure` unless the listener is loopback (the rule of
/// the customer session cookie, `super::cookie_is_secure`: storekey speaks plain HTTP, so a
/// listener others reach sits behind a TLS proxy; there is no trusted-proxy setting to read
/// `X-Forwarded-Proto` from).
///
/// A new session's cookie has no `Max-Age`: it lives as long as the browser session, and the
/// server ends it after `admin.session_minutes` idle (a fixed lifetime would sign out an admin
/// who is still working). `clear` deletes it.
pub(crate) fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that deletes the session cookie.
pub(crate) fn clear_session_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

/// The CSRF token of a session: SHA-256 of a fixed label and the session's token, so nothing
/// more is stored and it cannot be computed without the (HttpOnly) cookie.
pub(crate) fn csrf_token(session_token: &str) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"storekey admin console csrf\0");
    ctx.update(session_token.as_bytes());
    hex::encode(ctx.finish())
}

/// A signed-in request: who, the CSRF token its forms carry, and whether passkeys are on (the
/// navigation links the Passkeys page).
pub(crate) struct Signed {
    pub admin: String,
    pub csrf: String,
    pub token: String,
    pub passkeys: bool,
}

/// `application/x-www-form-urlencoded` (and query strings): `+` is a space here. A name given
/// more than once (ticked checkboxes) keeps every value, joined by newlines.
pub(crate) fn form(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body);
    let mut out: HashMap<String, String> = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| super::percent_decode(&s.replace('+', " "));
        let (Some(k), Some(v)) = (decode(k), decode(v)) else {
            continue;
        };
        out.entry(k)
            .and_modify(|all| {
                all.push('\n');
                all.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

// ---------------------------------------------------------------- the handler

/// Everything under `/admin`.
pub async fn handle(
    state: &AppState,
    method: Method,
    tail: &str,
    query: &str,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: Bytes,
) -> HttpResponse {
    let segments: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    let query = form(query.as_bytes());
    let secure = super::cookie_is_secure(&state.config.server.listen);
    let ip = super::client_ip(remote);
    let m = method.as_str();
    // The forms without a session (no CSRF token to check): a browser marks a cross-site POST
    // in Sec-Fetch-Site, and such a sign-in (logging the victim into someone else's account)
    // or setup is refused.
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if m == "POST" && cross_site && matches!(segments.as_slice(), ["sign-in", ..] | ["setup"]) {
        return frame::message_page(
            StatusCode::FORBIDDEN,
            "Invalid form key",
            "Invalid security or form key. Please refresh the page.",
        );
    }
    // Pages for people without a session.
    match (m, segments.as_slice()) {
        ("GET", ["assets", tag, name]) => return asset(tag, name),
        ("GET", ["sign-in"]) => return sign_in::sign_in_page(state, None, StatusCode::OK),
        ("POST", ["sign-in"]) => {
            let f = form(&body);
            if f.get("factor").is_some_and(|v| v == "passkey") {
                return passkeys::password_step(state, &f, ip, secure).await;
            }
            return sign_in::sign_in(state, &f, ip, secure).await;
        }
        // The passkey sign-in's JSON calls: only as JSON (a cross-origin page cannot send that
        // without asking first).
        ("POST", ["sign-in", "passkey", ..]) if !passkeys::is_json(headers) => {
            return passkeys::refused_call();
        }
        ("POST", ["sign-in", "passkey", "options"]) => {
            return passkeys::sign_in_options(state, headers, ip).await;
        }
        ("POST", ["sign-in", "passkey"]) => {
            return passkeys::sign_in(state, headers, &query, &body, ip, secure).await;
        }
        ("GET", ["setup"]) => return sign_in::setup_page(state, &query).await,
        ("POST", ["setup"]) => return sign_in::setup(state, &form(&body), secure).await,
        _ => {}
    }
    let token = super::kit::cookie(headers, COOKIE);
    let session = match &token {
        Some(t) => match state.auth.admin_session(t).await {
            Ok(s) => s,
            Err(e) => return errors::internal(e),
        },
        None => None,
    };
    let (Some(token), Some(session)) = (token, session) else {
        if m == "POST" && segments.starts_with(&["passkeys", "register"]) {
            return passkeys::signed_out();
        }
        return redirect("/admin/sign-in");
    };
    let signed = Signed {
        admin: session.admin.clone(),
        csrf: csrf_token(&token),
        token,
        passkeys: state.auth.passkeys_enabled(),
    };
    let fields = form(&body);
    if m == "POST" {
        // A form carries the token in `csrf`; the passkey script's JSON calls in `X-CSRF-Token`.
        let presented = fields
            .get("csrf")
            .map(String::as_str)
            .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
            .unwrap_or("");
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), signed.csrf.as_bytes()).into();
        if !same {
            return frame::message_page(
                StatusCode::FORBIDDEN,
                "Invalid form key",
                "Invalid security or form key. Please refresh the page.",
            );
        }
    }
    // With `admin.passkey_only`, an admin without a passkey (just set up) has the Passkeys
    // page and sign-out only, until they add one.
    let enrolling = matches!(segments.as_slice(), ["passkeys", ..] | ["sign-out"]);
    if !enrolling {
        match passkeys::must_enrol(state, &signed.admin).await {
            Ok(false) => {}
            Ok(true) => return redirect("/admin/passkeys"),
            Err(resp) => return resp,
        }
    }
    if segments.as_slice() == ["passkeys", "register"] && m == "POST" {
        return passkeys::register(state, &signed, &body).await;
    }
    route(state, &signed, m, &segments, &query, &fields, secure).await
}

/// The pages of a signed-in admin.
async fn route(
    state: &AppState,
    s: &Signed,
    method: &str,
    segments: &[&str],
    q: &HashMap<String, String>,
    f: &HashMap<String, String>,
    secure: bool,
) -> HttpResponse {
    match (method, segments) {
        ("GET", []) => redirect("/admin/customers"),
        ("POST", ["sign-out"]) => sign_in::sign_out(state, s, secure).await,
        ("GET", ["customers"]) => customers::list(state, s, q).await,
        ("GET", ["customers", id]) => customers::show(state, s, id, q).await,
        ("POST", ["customers", id]) => match customers::parse_id(id) {
            Some(id) => customers::save(state, s, id, f).await,
            None => not_found(),
        },
        ("POST", ["customers", id, action]) => match customers::parse_id(id) {
            Some(id) => customers::action(state, s, id, action, f).await,
            None => not_found(),
        },
        ("GET", ["customers", id, "delete"]) => customers::confirm_delete(state, s, id).await,
        ("GET", ["customers", id, "login-as"]) => login_as::confirm(state, s, id).await,
        ("GET", ["log"]) => log::page(state, s, q).await,
        ("GET", ["log.csv"]) => log::csv(state, q).await,
        ("GET", ["tokens"]) => tokens::page(state, s, q).await,
        ("POST", ["tokens"]) => tokens::create(state, s, f).await,
        ("POST", ["tokens", id, "delete"]) => tokens::delete(state, s, id).await,
        ("GET", ["clients"]) => clients::page(state, s, q).await,
        ("POST", ["clients"]) => clients::create(state, s, f).await,
        ("GET", ["clients", id, "remove"]) => clients::confirm_remove(state, s, id).await,
        ("POST", ["clients", id, "remove"]) => clients::remove(state, s, id).await,
        ("GET", ["overview"]) => overview::page(state, s).await,
        ("GET", ["passkeys"]) => passkeys::page(state, s, q).await,
        ("POST", ["passkeys", "register", "options"]) => passkeys::register_options(state, s).await,
        ("POST", ["passkeys", id, "remove"]) => passkeys::remove(state, s, id).await,
        _ => not_found(),
    }
}
