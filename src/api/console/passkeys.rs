//! An admin's passkeys (SPEC §11, issue 26): the Passkeys page (list, add, remove), the
//! passkey second factor after the password, and the passkey-only sign-in
//! (`admin.passkey_only`). The JSON calls are the page script's (`assets/passkeys.js`), the
//! ceremonies the core's (`auth::passkeys`).
//!
//! Where the password step is remembered until the passkey answers: in the core's challenge.
//! The password step (`POST /admin/sign-in` with `factor=passkey`) is the only caller of
//! `admin_passkey_sign_in_options(Some(name))`, so a challenge naming an admin exists only once
//! that admin's password was right, and the answer is refused unless it signs such a challenge
//! (the core checks the name, the one-time challenge and that the passkey is that admin's).
//! The browser carries what the password step minted (the name and the options) to the two
//! JSON calls in a short-lived cookie (`PENDING_COOKIE`, the challenge's lifetime, only for
//! `/admin/sign-in`); it is trusted for nothing: a forged one names an admin whose challenge
//! the forger could not mint.

use super::errors::{internal, SIGN_IN_REFUSED};
use super::frame::{render, Frame};
use super::{redirect, session_cookie, AppState, HttpResponse, Signed, CONTENT_SECURITY_POLICY};
use crate::api::kit::{messages::BUSY, timestamp};
use crate::auth::passkeys::PasskeyError;
use crate::auth::secret::Secret;
use crate::auth::Failure;
use askama::Template;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use warp::http::{header, HeaderMap, HeaderValue, StatusCode};

/// The cookie that carries the password step's outcome to the passkey calls.
pub(super) const PENDING_COOKIE: &str = "storekey_admin_passkey";

const NOT_ADDED: &str = "The passkey was not added. Try again.";
const TOO_MANY: &str = "You have the most passkeys an admin may have: remove one first.";
const BAD_NAME: &str = "Name the passkey (1 to 64 characters), for example the device it is on.";
const LAST_WAY_IN: &str =
    "This is your last passkey, and sign-in is by passkey only: add another before you remove it.";
const SIGNED_OUT: &str = "Your session has ended. Sign in again.";
const ENROL_FIRST: &str =
    "Sign-in is by passkey only: add a passkey to this account before you use the console.";

// ---------------------------------------------------------------- JSON answers

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    crate::api::kit::json_answer(status, body, CONTENT_SECURITY_POLICY)
}

fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    json_response(status, &json!({ "error": message }))
}

/// What no caller can mend: 503 (with `Retry-After`) when it may pass, else 500.
fn json_failure(f: Failure) -> HttpResponse {
    if f.is_retryable() {
        let mut resp = json_error(StatusCode::SERVICE_UNAVAILABLE, BUSY);
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(crate::api::RETRY_AFTER_SECONDS),
        );
        return resp;
    }
    tracing::error!("admin console passkey call: {f}");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        crate::api::kit::messages::INTERNAL,
    )
}

/// A refused sign-in: one answer for every reason (Adobe Commerce's admin sign-in words).
fn sign_in_refused(e: PasskeyError) -> HttpResponse {
    match e {
        PasskeyError::Failure(f) => json_failure(f),
        e => {
            tracing::debug!("admin passkey sign-in refused: {}", e.label());
            json_error(StatusCode::UNAUTHORIZED, SIGN_IN_REFUSED)
        }
    }
}

/// A refused enrolment or removal, said as it is (the admin is signed in).
fn edit_refused(e: PasskeyError) -> (StatusCode, &'static str) {
    match e {
        PasskeyError::TooMany => (StatusCode::CONFLICT, TOO_MANY),
        PasskeyError::BadName => (StatusCode::BAD_REQUEST, BAD_NAME),
        PasskeyError::LastWayIn => (StatusCode::CONFLICT, LAST_WAY_IN),
        _ => (StatusCode::BAD_REQUEST, NOT_ADDED),
    }
}

/// The answer to a passkey JSON call without a session.
pub(super) fn signed_out() -> HttpResponse {
    json_error(StatusCode::UNAUTHORIZED, SIGNED_OUT)
}

// ---------------------------------------------------------------- the Passkeys page

struct PasskeyRow {
    id: String,
    name: String,
    added: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "console/passkeys.html")]
struct PasskeysPage {
    frame: Frame,
    rows: Vec<PasskeyRow>,
    passkey_only: bool,
}

fn page_notice(q: &HashMap<String, String>) -> Option<String> {
    let text = match q.get("notice").map(String::as_str) {
        Some("added") => "The passkey is added.",
        Some("removed") => "The passkey is removed.",
        _ => return None,
    };
    Some(text.into())
}

async fn passkeys_page(
    state: &AppState,
    s: &Signed,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let user = match state.auth.admin_user(&s.admin).await {
        Ok(u) => u.unwrap_or_default(),
        Err(e) => return internal(e),
    };
    let passkey_only = state.auth.admin.policy.passkey_only;
    let error = error
        .or_else(|| (passkey_only && user.passkeys.is_empty()).then(|| ENROL_FIRST.to_string()));
    let mut frame = Frame::new("Passkeys", Some(s)).notice(notice).error(error);
    frame.passkeys_js = Some(super::asset_path("passkeys.js"));
    let page = PasskeysPage {
        frame,
        rows: user
            .passkeys
            .iter()
            .map(|p| PasskeyRow {
                id: URL_SAFE_NO_PAD.encode(&p.id),
                name: p.name.clone(),
                added: timestamp(p.created_at),
                last_used: p.last_used_at.map(timestamp).unwrap_or_default(),
            })
            .collect(),
        passkey_only,
    };
    render(status, &page)
}

/// `GET /admin/passkeys`.
pub(super) async fn page(
    state: &AppState,
    s: &Signed,
    q: &HashMap<String, String>,
) -> HttpResponse {
    if !state.auth.passkeys_enabled() {
        return super::not_found();
    }
    passkeys_page(state, s, page_notice(q), None, StatusCode::OK).await
}

/// `POST /admin/passkeys/register/options` (JSON, `X-CSRF-Token`).
pub(super) async fn register_options(state: &AppState, s: &Signed) -> HttpResponse {
    match state
        .auth
        .admin_passkey_registration_options(&s.admin)
        .await
    {
        Ok(options) => json_response(StatusCode::OK, &options),
        Err(PasskeyError::Off) => json_error(StatusCode::NOT_FOUND, "Passkeys are off."),
        Err(PasskeyError::Failure(f)) => json_failure(f),
        Err(e) => {
            let (status, message) = edit_refused(e);
            json_error(status, message)
        }
    }
}

/// `POST /admin/passkeys/register` with `{"name", "credential"}` (JSON, `X-CSRF-Token`).
pub(super) async fn register(state: &AppState, s: &Signed, body: &[u8]) -> HttpResponse {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return json_error(StatusCode::BAD_REQUEST, NOT_ADDED);
    };
    let name = request["name"].as_str().unwrap_or("");
    let credential = request["credential"].to_string();
    match state
        .auth
        .admin_register_passkey(&s.admin, name, &credential)
        .await
    {
        Ok(_) => json_response(
            StatusCode::OK,
            &json!({ "location": "/admin/passkeys?notice=added" }),
        ),
        Err(PasskeyError::Off) => json_error(StatusCode::NOT_FOUND, "Passkeys are off."),
        Err(PasskeyError::Failure(f)) => json_failure(f),
        Err(e) => {
            let (status, message) = edit_refused(e);
            json_error(status, message)
        }
    }
}

/// `POST /admin/passkeys/{id}/remove` (a form).
pub(super) async fn remove(state: &AppState, s: &Signed, id: &str) -> HttpResponse {
    let Ok(id) = URL_SAFE_NO_PAD.decode(id.as_bytes()) else {
        return super::not_found();
    };
    match state.auth.admin_remove_passkey(&s.admin, id).await {
        Ok(()) => redirect("/admin/passkeys?notice=removed"),
        Err(PasskeyError::NotFound) | Err(PasskeyError::Off) => super::not_found(),
        Err(PasskeyError::Failure(f)) => internal(f),
        Err(e) => {
            let (status, message) = edit_refused(e);
            passkeys_page(state, s, None, Some(message.into()), status).await
        }
    }
}

/// With `admin.passkey_only`, whether `admin` has yet to add a passkey (then the console is
/// the Passkeys page until they do).
pub(super) async fn must_enrol(state: &AppState, admin: &str) -> Result<bool, HttpResponse> {
    if !state.auth.admin.policy.passkey_only {
        return Ok(false);
    }
    match state.auth.admin_user(admin).await {
        Ok(u) => Ok(u.is_none_or(|u| u.passkeys.is_empty())),
        Err(e) => Err(internal(e)),
    }
}

// ---------------------------------------------------------------- signing in

/// What the password step minted, as the pending cookie carries it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    admin: String,
    options: Value,
}

fn pending_cookie(value: &str, max_age: u32, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{PENDING_COOKIE}={value}; Path=/admin/sign-in; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    )
}

fn read_pending(headers: &HeaderMap) -> Option<Pending> {
    let value = crate::api::kit::cookie(headers, PENDING_COOKIE)?;
    let bytes = URL_SAFE_NO_PAD.decode(value.as_bytes()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[derive(Template)]
#[template(path = "console/passkey_step.html")]
struct PasskeyStepPage {
    frame: Frame,
    admin: String,
}

/// `POST /admin/sign-in` with `factor=passkey`: the password step. Right, it mints the passkey
/// options for this admin and shows the page that asks for the passkey; wrong, the sign-in
/// page again with the one refusal.
pub(super) async fn password_step(
    state: &AppState,
    f: &HashMap<String, String>,
    ip: Option<IpAddr>,
    secure: bool,
) -> HttpResponse {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let password = Secret::new(get("password"));
    let (admin, options) = match state
        .auth
        .admin_password_step(get("name"), &password, ip)
        .await
    {
        Ok(minted) => minted,
        Err(e) => {
            return match super::errors::sign_in_refusal(e) {
                Ok((message, status)) => super::sign_in::sign_in_page(state, Some(message), status),
                Err(resp) => *resp,
            }
        }
    };
    let pending = Pending {
        admin: admin.clone(),
        options,
    };
    let Ok(json) = serde_json::to_vec(&pending) else {
        return internal(Failure::Internal("pending passkey sign-in".into()));
    };
    let mut frame = Frame::new("Confirm with a passkey", None);
    frame.passkeys_js = Some(super::asset_path("passkeys.js"));
    let mut resp = render(StatusCode::OK, &PasskeyStepPage { frame, admin });
    let cookie = pending_cookie(
        &URL_SAFE_NO_PAD.encode(json),
        state.config.webauthn.challenge_seconds,
        secure,
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Whether an anonymous JSON call says it is JSON: a cross-origin page cannot send that
/// without the browser asking first (CORS), and the console answers no such question.
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// `POST /admin/sign-in/passkey/options`: with `admin.passkey_only`, options any admin's
/// passkey answers; else the options the password step minted (its cookie).
pub(super) async fn sign_in_options(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> HttpResponse {
    if !state.auth.passkeys_enabled() {
        return json_error(StatusCode::NOT_FOUND, "Passkeys are off.");
    }
    if state.auth.admin.policy.passkey_only {
        return match state.auth.admin_discoverable_options(ip).await {
            Ok(options) => json_response(StatusCode::OK, &options),
            Err(e) => sign_in_refused(e),
        };
    }
    match read_pending(headers) {
        Some(p) => json_response(StatusCode::OK, &p.options),
        None => sign_in_refused(PasskeyError::Refused),
    }
}

/// Where a signed-in admin goes next: a console path, else the customers.
fn return_to(q: &HashMap<String, String>) -> &str {
    match q.get("return_to").map(String::as_str) {
        Some(p) if p.starts_with("/admin/") && !p.contains("//") && !p.contains('\\') => p,
        _ => "/admin/customers",
    }
}

/// `POST /admin/sign-in/passkey` with the `AuthenticationResponseJSON`: the session, and
/// `{"location"}` to go on to.
pub(super) async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    body: &[u8],
    ip: Option<IpAddr>,
    secure: bool,
) -> HttpResponse {
    if !state.auth.passkeys_enabled() {
        return json_error(StatusCode::NOT_FOUND, "Passkeys are off.");
    }
    let expected = if state.auth.admin.policy.passkey_only {
        None
    } else {
        match read_pending(headers) {
            Some(p) => Some(p.admin),
            None => return sign_in_refused(PasskeyError::Refused),
        }
    };
    let response = String::from_utf8_lossy(body);
    let signed = match state
        .auth
        .admin_sign_in_by_passkey(expected.as_deref(), &response, ip)
        .await
    {
        Ok(s) => s,
        Err(e) => return sign_in_refused(e),
    };
    let mut resp = json_response(StatusCode::OK, &json!({ "location": return_to(q) }));
    let cookies = [
        session_cookie(signed.token.expose(), secure),
        pending_cookie("", 0, secure),
    ];
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// A sign-in refused before the core was asked (not JSON, cross-site).
pub(super) fn refused_call() -> HttpResponse {
    json_error(StatusCode::FORBIDDEN, SIGN_IN_REFUSED)
}
