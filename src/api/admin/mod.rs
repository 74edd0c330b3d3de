//! The admin REST API under `/rest/V1/` (SPEC §7, §10): customers, account invites,
//! Login-as-Customer codes, admin users, storefront tokens, OpenID Connect clients, the audit
//! log and online backups. Every call needs an admin key as a Bearer token. Requests are routed
//! by hand from the path segments: the table is short, and one `match` (`route`) shows all of
//! it; each resource's calls are in its own file, and `errors.rs` maps the core's errors to
//! statuses and messages.

mod admin_users;
mod audit;
mod backup;
mod customers;
mod errors;
mod oidc_clients;
mod storefront_tokens;

use super::kit::{bearer, retry_later};
use super::{json_response, HttpResponse};
use crate::auth::Auth;
use crate::model::CustomerId;
pub use errors::ALREADY_ENABLED;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use warp::http::{HeaderMap, Method, StatusCode};

const UNAUTHORIZED: &str = "The consumer isn't authorized to access %resources.";

/// A refusal: its status and message (`{"message": ...}` on the wire).
type HttpError = (StatusCode, String);
type Reply = Result<(StatusCode, Value), HttpError>;

fn fail(status: StatusCode, message: impl Into<String>) -> Reply {
    Err((status, message.into()))
}

fn ok(value: Value) -> Reply {
    Ok((StatusCode::OK, value))
}

/// The answer to a missing or wrong admin key (also on `/metrics`).
pub fn unauthorized() -> HttpResponse {
    json_response(
        StatusCode::UNAUTHORIZED,
        &json!({ "message": UNAUTHORIZED }),
    )
}

/// One authorised call: who made it, and what it sent.
struct Call<'a> {
    auth: &'a Auth,
    /// The name of the admin key presented.
    admin: &'a str,
    backup_dir: &'a str,
    /// The OpenID Connect provider, when it is on (key rotation).
    oidc: Option<&'a crate::auth::oidc::Provider>,
    query: HashMap<String, String>,
    body: &'a [u8],
}

pub async fn handle(
    state: &super::AppState,
    method: Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResponse {
    let auth: &Auth = &state.auth;
    let Some(admin) = bearer(headers).and_then(|k| auth.admin_key_name(&k)) else {
        auth.metrics.request("admin", "", "unauthorized");
        return unauthorized();
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let call = Call {
        auth,
        admin: &admin,
        backup_dir: &state.config.storage.backup_dir,
        oidc: state.oidc.as_deref(),
        query: query_pairs(query),
        body,
    };
    let result = route(&call, &method, &segments).await;
    let operation = crate::metrics::admin_resource(segments.first().copied().unwrap_or(""));
    match result {
        Ok((status, value)) => {
            auth.metrics.request("admin", operation, "ok");
            json_response(status, &value)
        }
        Err((status, message)) => {
            auth.metrics.request("admin", operation, "error");
            let resp = json_response(status, &json!({ "message": message }));
            if status == StatusCode::SERVICE_UNAVAILABLE {
                retry_later(resp)
            } else {
                resp
            }
        }
    }
}

async fn route(call: &Call<'_>, method: &Method, segments: &[&str]) -> Reply {
    match (method.as_str(), segments) {
        ("POST", ["customers"]) => customers::create(call).await,
        ("GET", ["customers"]) => customers::find_by_email(call).await,
        ("GET", ["customers", id]) => customers::get(call, customer_id(id)?).await,
        ("PUT", ["customers", id]) => customers::update(call, customer_id(id)?).await,
        ("DELETE", ["customers", id]) => customers::delete(call, customer_id(id)?).await,
        ("POST", ["customers", id, "invite"]) => customers::invite(call, customer_id(id)?).await,
        ("POST", ["customer", id, "otp"]) => customers::issue_code(call, customer_id(id)?).await,
        ("POST", ["admin-users"]) => admin_users::add(call).await,
        ("PUT", ["admin-users", name]) => admin_users::set_permissions(call, name).await,
        ("POST", ["storefront-tokens"]) => storefront_tokens::create(call).await,
        ("GET", ["storefront-tokens"]) => storefront_tokens::list(call).await,
        ("DELETE", ["storefront-tokens", id]) => {
            storefront_tokens::delete(call, parse_id(id)?).await
        }
        ("POST", ["oidc", "clients"]) => oidc_clients::add(call).await,
        ("GET", ["oidc", "clients"]) => oidc_clients::list(call).await,
        ("DELETE", ["oidc", "clients", id]) => oidc_clients::remove(call, id).await,
        ("POST", ["oidc", "keys", "rotate"]) => oidc_clients::rotate_key(call).await,
        ("GET", ["audit"]) => audit::page(call).await,
        ("POST", ["backup"]) => backup::write(call).await,
        _ => fail(StatusCode::NOT_FOUND, "Request does not match any route."),
    }
}

// ---------------------------------------------------------------- reading a call

fn parse_id(text: &str) -> Result<u64, HttpError> {
    text.parse::<u64>().map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            format!("\"{text}\" is not a valid id."),
        )
    })
}

fn customer_id(text: &str) -> Result<CustomerId, HttpError> {
    parse_id(text).map(CustomerId)
}

/// The query parameter `key` as a number, `default` when absent.
fn number(query: &HashMap<String, String>, key: &str, default: u64) -> Result<u64, HttpError> {
    match query.get(key) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().map_err(|_| {
            (
                StatusCode::BAD_REQUEST,
                format!("\"{key}\" must be a non-negative integer."),
            )
        }),
    }
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, HttpError> {
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("The request body is not valid: {e}"),
        )
    })
}

/// Decodes `a=1&b=x%40y` (the query string of a REST call). `+` is kept, not read as a space:
/// `?email=bob+shop@example.com` means that address.
fn query_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((super::percent_decode(k)?, super::percent_decode(v)?))
        })
        .collect()
}
