//! The hosted pages' passkey calls (SPEC §11): JSON in and out for the page's script
//! (`assets/passkeys.js`), each carrying the page's CSRF token in `X-CSRF-Token`; removal is a
//! plain form. The ceremonies themselves are the core's (`auth::passkeys`).

use super::{
    current_session, safe_return, secure, see_other, session_cookie, set_cookie, texts,
    AccountView, Csrf,
};
use crate::api::{client_ip, AppState, HttpResponse};
use crate::auth::oidc::authorize::Params;
use crate::auth::passkeys::PasskeyError;
use crate::auth::{Failure, SignInError};
use crate::model::CustomerId;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};
use std::net::SocketAddr;
use warp::http::{HeaderMap, StatusCode};

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    crate::api::kit::json_answer(status, body, super::CONTENT_SECURITY_POLICY)
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    json_response(status, &json!({ "error": message }))
}

fn failure(e: &Failure) -> HttpResponse {
    let t = texts::for_locales(None);
    if e.is_retryable() {
        return crate::api::kit::retry_later(error(StatusCode::SERVICE_UNAVAILABLE, t.unavailable));
    }
    tracing::error!("passkey call: {e}");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        crate::api::kit::messages::INTERNAL,
    )
}

/// The answer to a refused ceremony or edit.
fn refusal(e: &PasskeyError, refused: &str) -> HttpResponse {
    let t = texts::for_locales(None);
    match e {
        PasskeyError::Off => error(StatusCode::NOT_FOUND, t.passkeys_off),
        PasskeyError::Refused | PasskeyError::Cloned | PasskeyError::NotFound => {
            error(StatusCode::BAD_REQUEST, refused)
        }
        PasskeyError::TooMany => error(StatusCode::CONFLICT, t.passkey_too_many),
        PasskeyError::BadName => error(StatusCode::BAD_REQUEST, t.passkey_bad_name),
        PasskeyError::LastWayIn => error(StatusCode::CONFLICT, t.passkey_last_way_in),
        PasskeyError::Throttled => error(StatusCode::TOO_MANY_REQUESTS, t.passkey_throttled),
        PasskeyError::Failure(f) => failure(f),
    }
}

/// The CSRF header of a JSON call (the page's `<meta name="csrf-token">`, which is the
/// `storekey_csrf` cookie's value).
fn csrf_ok(headers: &HeaderMap) -> bool {
    let presented = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    Csrf::of(headers).accepts(presented)
}

/// The signed-in customer, or the answer to give instead.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<CustomerId, HttpResponse> {
    let t = texts::for_locales(None);
    match current_session(state, headers).await {
        Ok(Some((_, session))) => Ok(session.customer),
        Ok(None) => Err(error(StatusCode::UNAUTHORIZED, t.signed_out_json)),
        Err(e) => Err(failure(&e)),
    }
}

/// `POST /account/passkeys/…`: `rest` is the path after `passkeys/`.
pub async fn handle(
    state: &AppState,
    rest: &[&str],
    query: &str,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: &[u8],
) -> HttpResponse {
    let t = texts::for_locales(None);
    if rest == ["remove"] {
        return remove(state, headers, body).await;
    }
    if !csrf_ok(headers) {
        return error(StatusCode::FORBIDDEN, t.form_expired);
    }
    match rest {
        ["register", "options"] => {
            let customer = match signed_in(state, headers).await {
                Ok(c) => c,
                Err(resp) => return resp,
            };
            match state.auth.passkey_registration_options(customer).await {
                Ok(options) => json_response(StatusCode::OK, &options),
                Err(e) => refusal(&e, t.passkey_not_added),
            }
        }
        ["register"] => {
            let customer = match signed_in(state, headers).await {
                Ok(c) => c,
                Err(resp) => return resp,
            };
            let Ok(request) = serde_json::from_slice::<Value>(body) else {
                return error(StatusCode::BAD_REQUEST, t.passkey_not_added);
            };
            let name = request["name"].as_str().unwrap_or("");
            let credential = request["credential"].to_string();
            // From the page after "Create account with a passkey": on to the app.
            let next = match Params::parse(query).get("return_to").map(safe_return) {
                Some(to) if to != "/account" => to.to_string(),
                _ => "/account?passkey=added".to_string(),
            };
            match state
                .auth
                .register_passkey(customer, name, &credential)
                .await
            {
                Ok(_) => json_response(StatusCode::OK, &json!({ "location": next })),
                Err(e) => refusal(&e, t.passkey_not_added),
            }
        }
        ["sign-in", "options"] => match state.auth.passkey_sign_in_options(client_ip(remote)).await
        {
            Ok(options) => json_response(StatusCode::OK, &options),
            Err(e) => refusal(&e, t.passkey_refused),
        },
        ["sign-in"] => {
            let return_to = Params::parse(query)
                .get("return_to")
                .map_or("/account", safe_return)
                .to_string();
            let response = String::from_utf8_lossy(body);
            match state
                .auth
                .sign_in_with_passkey(&response, client_ip(remote))
                .await
            {
                Ok(issued) => {
                    let max_age = issued.expires_at - state.auth.now();
                    let mut resp = json_response(StatusCode::OK, &json!({ "location": return_to }));
                    set_cookie(
                        resp.headers_mut(),
                        &session_cookie(issued.token.expose(), max_age.max(0), secure(state)),
                    );
                    resp
                }
                Err(SignInError::Failure(f)) => failure(&f),
                Err(SignInError::Throttled) => {
                    error(StatusCode::TOO_MANY_REQUESTS, t.passkey_throttled)
                }
                Err(_) => error(StatusCode::UNAUTHORIZED, t.passkey_refused),
            }
        }
        _ => error(StatusCode::NOT_FOUND, t.not_found),
    }
}

/// `POST /account/passkeys/remove` (a form: `csrf`, `id` base64url): back to the account page.
async fn remove(state: &AppState, headers: &HeaderMap, body: &[u8]) -> HttpResponse {
    let t = texts::for_locales(None);
    let fields = Params::parse(&String::from_utf8_lossy(body));
    if !Csrf::of(headers).accepts(fields.get("csrf")) {
        return AccountView::new(None, Some(t.form_expired))
            .render(state, headers)
            .await;
    }
    let customer = match current_session(state, headers).await {
        Ok(Some((_, s))) => s.customer,
        Ok(None) => return see_other("/account/sign-in", StatusCode::SEE_OTHER),
        Err(e) => return super::failure_page(state, headers, &e),
    };
    let id = fields
        .get("id")
        .and_then(|id| URL_SAFE_NO_PAD.decode(id.as_bytes()).ok())
        .unwrap_or_default();
    match state.auth.remove_passkey(customer, id).await {
        Ok(()) => see_other("/account?passkey=removed", StatusCode::SEE_OTHER),
        Err(PasskeyError::Failure(f)) => super::failure_page(state, headers, &f),
        Err(PasskeyError::LastWayIn) => {
            AccountView::new(None, Some(t.passkey_last_way_in))
                .render(state, headers)
                .await
        }
        Err(_) => {
            AccountView::new(None, Some(t.passkey_refused))
                .render(state, headers)
                .await
        }
    }
}
