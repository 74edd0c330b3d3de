//! Signing in (name, password, authenticator code), the first-time setup from an invite link,
//! and signing out: the pages a visitor without a session may see.

use super::errors::{internal, setup_invalid, setup_refusal, sign_in_refusal, SETUP_INVALID};
use super::frame::{message_page, render, Frame};
use super::{clear_session_cookie, redirect, session_cookie};
use super::{AppState, HttpResponse, Signed};
use crate::auth::secret::Secret;
use crate::auth::totp::TotpSecret;
use askama::Template;
use std::collections::HashMap;
use std::net::IpAddr;
use warp::http::{header, HeaderValue, StatusCode};

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    frame: Frame,
    /// Passkeys are on: the form offers one instead of the authenticator code.
    passkeys: bool,
    /// `admin.passkey_only`: a passkey button and no form.
    passkey_only: bool,
}

pub(super) fn sign_in_page(
    state: &AppState,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let passkeys = state.auth.passkeys_enabled();
    let mut frame = Frame::new("Sign in", None).error(error.map(str::to_string));
    if passkeys {
        frame.passkeys_js = Some(super::asset_path("passkeys.js"));
    }
    let page = SignInPage {
        frame,
        passkeys,
        passkey_only: state.auth.admin.policy.passkey_only,
    };
    render(status, &page)
}

fn signed_in(token: &Secret, secure: bool, to: &str) -> HttpResponse {
    let mut resp = redirect(to);
    if let Ok(v) = HeaderValue::from_str(&session_cookie(token.expose(), secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

pub(super) async fn sign_in(
    state: &AppState,
    f: &HashMap<String, String>,
    ip: Option<IpAddr>,
    secure: bool,
) -> HttpResponse {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let password = Secret::new(get("password"));
    match state
        .auth
        .admin_sign_in(get("name"), &password, get("code"), ip)
        .await
    {
        Ok(s) => signed_in(&s.token, secure, "/admin/customers"),
        Err(e) => match sign_in_refusal(e) {
            Ok((message, status)) => sign_in_page(state, Some(message), status),
            Err(resp) => *resp,
        },
    }
}

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage {
    frame: Frame,
    name: String,
    code: String,
    secret: String,
    qr_svg: String,
    min_length: usize,
}

fn setup_form(
    state: &AppState,
    name: String,
    code: &str,
    secret: &TotpSecret,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let uri = secret.otpauth_uri(crate::auth::admin_users::TOTP_ISSUER, &name);
    let qr_svg = match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(qr) => {
            let svg = qr
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build();
            // The XML declaration is for a file; inline SVG starts at <svg.
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    };
    let page = SetupPage {
        frame: Frame::new("Set up your admin account", None).error(error),
        name,
        code: code.to_string(),
        secret: secret.to_base32(),
        qr_svg,
        min_length: state.auth.admin.policy.password_min_length,
    };
    render(status, &page)
}

pub(super) async fn setup_page(state: &AppState, q: &HashMap<String, String>) -> HttpResponse {
    let code = q.get("code").map(String::as_str).unwrap_or("");
    match state.auth.admin_for_setup(code).await {
        Ok(Some(name)) => {
            let secret = state.auth.new_totp_secret();
            setup_form(state, name, code, &secret, None, StatusCode::OK)
        }
        Ok(None) => setup_invalid(),
        Err(e) => internal(e),
    }
}

pub(super) async fn setup(
    state: &AppState,
    f: &HashMap<String, String>,
    secure: bool,
) -> HttpResponse {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let code = get("code");
    let Some(secret) = data_encoding::BASE32_NOPAD
        .decode(get("secret").as_bytes())
        .ok()
        .and_then(|b| <[u8; 20]>::try_from(b).ok())
        .map(TotpSecret::from_bytes)
    else {
        return message_page(StatusCode::BAD_REQUEST, "Setup", SETUP_INVALID);
    };
    let result = state
        .auth
        .complete_admin_setup(
            code,
            &Secret::new(get("password")),
            &Secret::new(get("confirmation")),
            secret.clone(),
            get("totp"),
        )
        .await;
    let again = async |message: String| match state.auth.admin_for_setup(code).await {
        Ok(Some(name)) => setup_form(
            state,
            name,
            code,
            &secret,
            Some(message),
            StatusCode::BAD_REQUEST,
        ),
        Ok(None) => setup_invalid(),
        Err(e) => internal(e),
    };
    match result {
        Ok(s) => signed_in(&s.token, secure, "/admin/customers"),
        Err(e) => match setup_refusal(e) {
            Ok(message) => again(message).await,
            Err(resp) => *resp,
        },
    }
}

/// `POST /admin/sign-out`: ends the session and deletes the cookie.
pub(super) async fn sign_out(state: &AppState, s: &Signed, secure: bool) -> HttpResponse {
    if let Err(e) = state.auth.admin_sign_out(&s.token).await {
        return internal(e);
    }
    let mut resp = redirect("/admin/sign-in");
    if let Ok(v) = HeaderValue::from_str(&clear_session_cookie(secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}
