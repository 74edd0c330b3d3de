//! The OpenID Connect provider's HTTP endpoints (SPEC §4, §10): discovery and JWKS (from
//! memory), authorize, token, userinfo and logout. Each turns the request into the core's
//! terms (`auth::oidc`), and the core's answer into the protocol's: JSON with RFC 6749 §5.2
//! errors at the token endpoint, RFC 6750 errors at userinfo, redirects or the hosted pages
//! (`account`) for the browser.

use super::account::{self, current_session, see_other};
use super::{kit, AppState, HttpResponse};
use crate::auth::oidc::authorize::{Authorize, Params};
use crate::auth::oidc::claims::UserinfoError;
use crate::auth::oidc::grants::{TokenError, TokenRequest};
use crate::auth::oidc::logout::Logout;
use crate::auth::oidc::Provider;
use bytes::Bytes;
use std::sync::Arc;
use warp::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use warp::hyper::Body;

/// Whether `path` (the whole request path) is one of the provider's.
pub fn serves(path: &str) -> bool {
    path.starts_with("/oauth/")
        || path.starts_with("/.well-known/")
        || path == "/account"
        || path.starts_with("/account/")
}

/// The provider's routes and the hosted pages.
pub async fn handle(
    state: &AppState,
    method: Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    remote: Option<std::net::SocketAddr>,
    body: Bytes,
) -> HttpResponse {
    let Some(provider) = state.oidc.clone() else {
        return super::rest_not_found();
    };
    if let Some(tail) = path.strip_prefix("/account") {
        return account::handle(state, method, tail, query, headers, remote, body).await;
    }
    match (&method, path) {
        (&Method::GET, "/.well-known/openid-configuration")
        | (&Method::GET, "/.well-known/oauth-authorization-server") => {
            public_json(provider.discovery_json(), "public, max-age=300")
        }
        (&Method::GET, "/.well-known/jwks.json") => {
            public_json(provider.jwks_json(), "public, max-age=300")
        }
        (&Method::GET, "/oauth/authorize") => authorize(state, &provider, headers, query).await,
        (&Method::POST, "/oauth/authorize") => {
            authorize(state, &provider, headers, &String::from_utf8_lossy(&body)).await
        }
        (&Method::POST, "/oauth/authorize/consent") => {
            consent(state, &provider, headers, &body).await
        }
        (&Method::POST, "/oauth/token") => token(&provider, headers, &body).await,
        (&Method::GET, "/oauth/userinfo") => userinfo(&provider, headers, None).await,
        (&Method::POST, "/oauth/userinfo") => userinfo(&provider, headers, Some(&body)).await,
        (&Method::GET, "/oauth/logout") => logout(state, &provider, headers, query, false).await,
        (&Method::POST, "/oauth/logout") => {
            let form = Params::parse(&String::from_utf8_lossy(&body));
            if form.get("confirm") != Some("yes") {
                return logout(
                    state,
                    &provider,
                    headers,
                    &String::from_utf8_lossy(&body),
                    false,
                )
                .await;
            }
            // The customer's answer to the question: it carries the request and the CSRF token.
            if !account::Csrf::of(headers).accepts(form.get("csrf")) {
                let t = account::texts::for_locales(None);
                return account::message(
                    state,
                    headers,
                    StatusCode::FORBIDDEN,
                    t.signed_out_title,
                    t.form_expired,
                );
            }
            let request = form.get("request").unwrap_or("").to_string();
            logout(state, &provider, headers, &request, true).await
        }
        (&Method::OPTIONS, _) => preflight(),
        _ => super::rest_not_found(),
    }
}

/// JSON any origin may read (discovery, JWKS, token and userinfo answers carry no cookie).
fn public_json(body: Bytes, cache: &'static str) -> HttpResponse {
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

fn json(status: StatusCode, value: &serde_json::Value) -> HttpResponse {
    let mut resp = public_json(Bytes::from(value.to_string()), "no-store");
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// CORS preflight for the JSON endpoints (browser apps call token and userinfo).
fn preflight() -> HttpResponse {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    resp
}

async fn authorize(
    state: &AppState,
    provider: &Arc<Provider>,
    headers: &HeaderMap,
    query: &str,
) -> HttpResponse {
    let params = Params::parse(query);
    let session = match current_session(state, headers).await {
        Ok(s) => s,
        Err(e) => return account::failure_page(state, headers, &e),
    };
    match provider.authorize(&params, session).await {
        Ok(decided) => answer(state, headers, decided, &params),
        Err(e) => account::failure_page(state, headers, &e),
    }
}

/// The browser's answer to an authorization decision.
fn answer(
    state: &AppState,
    headers: &HeaderMap,
    decided: Authorize,
    params: &Params,
) -> HttpResponse {
    let t = account::texts::for_locales(None);
    match decided {
        Authorize::Refuse(why) => account::message(
            state,
            headers,
            StatusCode::BAD_REQUEST,
            t.refused_title,
            &why,
        ),
        Authorize::Redirect(url) => see_other(&url, StatusCode::FOUND),
        Authorize::SignIn { request, return_to } => {
            let mut to = format!(
                "/account/sign-in?return_to={}",
                crate::auth::oidc::authorize::escape(&return_to)
            );
            if let Some(hint) = &request.login_hint {
                to.push_str("&login_hint=");
                to.push_str(&crate::auth::oidc::authorize::escape(hint));
            }
            see_other(&to, StatusCode::FOUND)
        }
        Authorize::Consent { request, account } => account::consent_page(
            state,
            headers,
            &request.client.name,
            &request.scope,
            &account.customer.email,
            &params.query_without(&[]),
        ),
    }
}

async fn consent(
    state: &AppState,
    provider: &Arc<Provider>,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResponse {
    let t = account::texts::for_locales(None);
    let fields = Params::parse(&String::from_utf8_lossy(body));
    if !account::Csrf::of(headers).accepts(fields.get("csrf")) {
        return account::message(
            state,
            headers,
            StatusCode::FORBIDDEN,
            t.consent_title,
            t.form_expired,
        );
    }
    let params = Params::parse(fields.get("request").unwrap_or(""));
    let allow = fields.get("decision") == Some("allow");
    let session = match current_session(state, headers).await {
        Ok(s) => s,
        Err(e) => return account::failure_page(state, headers, &e),
    };
    match provider.consent(&params, session, allow).await {
        Ok(decided) => answer(state, headers, decided, &params),
        Err(e) => account::failure_page(state, headers, &e),
    }
}

async fn token(provider: &Provider, headers: &HeaderMap, body: &[u8]) -> HttpResponse {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let result = match TokenRequest::parse(body, authorization) {
        Ok(req) => provider.token(req).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(tokens) => json(StatusCode::OK, &tokens.to_json()),
        Err(e) => token_error(&e),
    }
}

/// RFC 6749 §5.2: 400 (401 for `invalid_client`, with `WWW-Authenticate`), the store's
/// trouble as 503 with `Retry-After` or 500.
fn token_error(e: &TokenError) -> HttpResponse {
    let body = serde_json::json!({
        "error": e.code(),
        "error_description": e.description(),
    });
    match e {
        TokenError::InvalidClient(_) => {
            let mut resp = json(StatusCode::UNAUTHORIZED, &body);
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"storekey\""),
            );
            resp
        }
        TokenError::Failure(f) if f.is_retryable() => {
            kit::retry_later(json(StatusCode::SERVICE_UNAVAILABLE, &body))
        }
        TokenError::Failure(f) => {
            tracing::error!("token endpoint: {f}");
            json(StatusCode::INTERNAL_SERVER_ERROR, &body)
        }
        _ => json(StatusCode::BAD_REQUEST, &body),
    }
}

async fn userinfo(provider: &Provider, headers: &HeaderMap, body: Option<&[u8]>) -> HttpResponse {
    let from_body = body
        .map(|b| Params::parse(&String::from_utf8_lossy(b)))
        .and_then(|p| p.get("access_token").map(str::to_string));
    let token = match (kit::bearer(headers), from_body) {
        (Some(t), None) | (None, Some(t)) => Some(t),
        // RFC 6750 §2: a client MUST NOT use more than one method; §3.1: invalid_request.
        (Some(_), Some(_)) => return userinfo_invalid_request(),
        (None, None) => None,
    };
    let result = match token {
        Some(t) => provider.userinfo(&t).await,
        None => Err(UserinfoError::InvalidToken),
    };
    match result {
        Ok(claims) => json(StatusCode::OK, &claims),
        Err(UserinfoError::InvalidToken) => {
            let body = serde_json::json!({
                "error": "invalid_token",
                "error_description": "the access token is missing, invalid, expired or revoked",
            });
            let mut resp = json(StatusCode::UNAUTHORIZED, &body);
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            resp
        }
        Err(UserinfoError::Failure(f)) => {
            let body = serde_json::json!({"error": "server_error"});
            if f.is_retryable() {
                kit::retry_later(json(StatusCode::SERVICE_UNAVAILABLE, &body))
            } else {
                tracing::error!("userinfo: {f}");
                json(StatusCode::INTERNAL_SERVER_ERROR, &body)
            }
        }
    }
}

/// 400 `invalid_request` (RFC 6750 §3.1): the token was presented more than one way.
fn userinfo_invalid_request() -> HttpResponse {
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": "present the access token one way: the Authorization header or the form body",
    });
    let mut resp = json(StatusCode::BAD_REQUEST, &body);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_request\""),
    );
    resp
}

async fn logout(
    state: &AppState,
    provider: &Provider,
    headers: &HeaderMap,
    query: &str,
    confirmed: bool,
) -> HttpResponse {
    let t = account::texts::for_locales(None);
    let params = Params::parse(query);
    let session = match current_session(state, headers).await {
        Ok(s) => s,
        Err(e) => return account::failure_page(state, headers, &e),
    };
    let secure = account::secure(state);
    let mut resp = match provider.logout(&params, session, confirmed).await {
        Ok(Logout::Confirm) => {
            return account::confirm_sign_out_page(state, headers, &params.query_without(&[]))
        }
        Ok(Logout::Redirect(url)) => see_other(&url, StatusCode::FOUND),
        Ok(Logout::SignedOut) => account::message(
            state,
            headers,
            StatusCode::OK,
            t.signed_out_title,
            t.signed_out,
        ),
        Ok(Logout::Refuse(why)) => {
            return account::message(
                state,
                headers,
                StatusCode::BAD_REQUEST,
                t.refused_title,
                &why,
            )
        }
        Err(e) => return account::failure_page(state, headers, &e),
    };
    account::set_cookie(resp.headers_mut(), &account::clear_session_cookie(secure));
    resp
}
