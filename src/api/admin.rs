//! The admin REST API under `/rest/V1/` (SPEC §7): customers, account invites, Login-as-Customer codes,
//! storefront tokens, the audit log and online backups. Every call needs an admin key as a
//! Bearer token. Requests are routed by hand from the path segments: the table is short, and
//! one `match` shows all of it.

use super::kit::messages::{
    field_too_long, CREATE_LIMIT, EMAIL_TAKEN, LAC_DISABLED, LAC_NOT_ALLOWED,
};
use super::{json_response, HttpResponse};
use crate::auth::activation::InviteError;
use crate::auth::one_time::OtcError;
use crate::auth::secret::Secret;
use crate::auth::storefront_tokens::{StorefrontTokenError, StorefrontTokenKind};
use crate::auth::BackupError;
use crate::auth::{AccountError, Auth, CustomerChanges, NewCustomer};
use crate::model::{CustomerId, Profile, ProfileChanges};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use warp::http::{HeaderMap, Method, StatusCode};

const UNAUTHORIZED: &str = "The consumer isn't authorized to access %resources.";
/// An invite to a customer who can already sign in (Shopify refuses to activate an enabled
/// account; the customer resets their password instead).
pub const ALREADY_ENABLED: &str =
    "The customer's account is already enabled: they can sign in or reset their password.";

type Reply = Result<(StatusCode, Value), (StatusCode, String)>;

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

pub async fn handle(
    auth: &Auth,
    backup_dir: &str,
    method: Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> HttpResponse {
    let Some(admin) = super::kit::bearer(headers).and_then(|k| auth.admin_key_name(&k)) else {
        auth.metrics.request("admin", "", "unauthorized");
        return unauthorized();
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let query: HashMap<String, String> = query_pairs(query);
    let result = route(auth, backup_dir, &admin, &method, &segments, &query, body).await;
    let operation = crate::metrics::admin_resource(segments.first().copied().unwrap_or(""));
    match result {
        Ok((status, value)) => {
            auth.metrics.request("admin", operation, "ok");
            json_response(status, &value)
        }
        Err((status, message)) => {
            auth.metrics.request("admin", operation, "error");
            let mut resp = json_response(status, &json!({ "message": message }));
            if status == StatusCode::SERVICE_UNAVAILABLE {
                resp.headers_mut().insert(
                    warp::http::header::RETRY_AFTER,
                    warp::http::HeaderValue::from_static(super::RETRY_AFTER_SECONDS),
                );
            }
            resp
        }
    }
}

async fn route(
    auth: &Auth,
    backup_dir: &str,
    admin: &str,
    method: &Method,
    segments: &[&str],
    query: &HashMap<String, String>,
    body: &[u8],
) -> Reply {
    match (method.as_str(), segments) {
        ("POST", ["customers"]) => create_customer(auth, admin, body).await,
        ("GET", ["customers"]) => {
            let Some(email) = query.get("email") else {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "The \"email\" query parameter is required.",
                );
            };
            match auth.customer_by_email(email).await.map_err(internal)? {
                Some(c) => ok(super::customer_json(&c)),
                None => fail(
                    StatusCode::NOT_FOUND,
                    format!("No such entity with email = {email}"),
                ),
            }
        }
        ("GET", ["customers", id]) => {
            let id = CustomerId(parse_id(id)?);
            match auth.customer(id).await.map_err(internal)? {
                Some(c) => ok(super::customer_json(&c)),
                None => not_found(id),
            }
        }
        ("PUT", ["customers", id]) => {
            update_customer(auth, admin, CustomerId(parse_id(id)?), body).await
        }
        ("DELETE", ["customers", id]) => {
            let id = CustomerId(parse_id(id)?);
            if !auth
                .delete_customer(id, Some(admin.to_string()))
                .await
                .map_err(internal)?
            {
                return not_found(id);
            }
            ok(json!(true))
        }
        ("POST", ["customers", id, "invite"]) => {
            let id = CustomerId(parse_id(id)?);
            match auth.invite(id, admin).await {
                Ok(()) => ok(json!(true)),
                Err(InviteError::NotFound) => not_found(id),
                Err(InviteError::AlreadyEnabled) => fail(StatusCode::CONFLICT, ALREADY_ENABLED),
                Err(InviteError::Storage(e)) => Err(internal(e)),
            }
        }
        ("POST", ["customer", id, "otp"]) => {
            let id = CustomerId(parse_id(id)?);
            #[derive(Deserialize, Default)]
            struct OtpBody {
                #[serde(default)]
                reason: String,
            }
            let req: OtpBody = if body.is_empty() {
                OtpBody::default()
            } else {
                parse_body(body)?
            };
            match auth.issue_otc(id, admin, req.reason.trim()).await {
                Ok(code) => ok(json!({ "otp": code.expose() })),
                Err(e) => otc_error(e, id),
            }
        }
        ("POST", ["admin-users"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct AdminUserBody {
                name: String,
                #[serde(default)]
                assistance_consent: bool,
            }
            let req: AdminUserBody = parse_body(body)?;
            match auth
                .add_admin(&req.name, admin, req.assistance_consent)
                .await
            {
                Ok(code) => ok(json!({
                    "name": req.name.trim(),
                    "setup_path": super::console::setup_path(code.expose()),
                })),
                Err(crate::auth::admin_users::AddAdminError::Storage(e)) => Err(internal(e)),
                Err(e @ crate::auth::admin_users::AddAdminError::NameTaken) => fail(
                    StatusCode::CONFLICT,
                    super::kit::messages::add_admin_message(&e, &req.name),
                ),
                Err(e) => fail(
                    StatusCode::BAD_REQUEST,
                    super::kit::messages::add_admin_message(&e, &req.name),
                ),
            }
        }
        ("PUT", ["admin-users", name]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct PermissionsBody {
                assistance_consent: bool,
            }
            let req: PermissionsBody = parse_body(body)?;
            match auth
                .set_admin_assistance_consent(name, req.assistance_consent, admin)
                .await
            {
                Ok(Some(())) => ok(json!({
                    "name": name,
                    "assistance_consent": req.assistance_consent,
                })),
                Ok(None) => fail(
                    StatusCode::NOT_FOUND,
                    format!("No admin user is named \"{name}\"."),
                ),
                Err(e) => Err(internal(e)),
            }
        }
        ("POST", ["storefront-tokens"]) => {
            #[derive(Deserialize)]
            struct TokenBody {
                title: String,
                #[serde(default)]
                scopes: Vec<String>,
                kind: Option<String>,
            }
            let req: TokenBody = parse_body(body)?;
            let kind = match req.kind.as_deref() {
                None => StorefrontTokenKind::default(),
                Some(name) => match StorefrontTokenKind::from_name(name) {
                    Some(kind) => kind,
                    None => {
                        return fail(
                            StatusCode::BAD_REQUEST,
                            format!(
                                "Unknown kind \"{name}\". Known kinds: {}.",
                                StorefrontTokenKind::NAMES.join(", ")
                            ),
                        )
                    }
                },
            };
            match auth
                .create_storefront_token(admin, &req.title, req.scopes, kind)
                .await
            {
                Ok((record, token)) => ok(json!({
                    "id": record.id,
                    "title": record.title,
                    "scopes": record.scopes,
                    "kind": record.kind.name(),
                    "access_token": token.expose(),
                })),
                Err(e) => storefront_token_error(e),
            }
        }
        ("GET", ["storefront-tokens"]) => {
            let all = auth.storefront_tokens().await.map_err(internal)?;
            ok(json!(all
                .iter()
                .map(|t| json!({"id": t.id, "title": t.title, "scopes": t.scopes, "kind": t.kind.name()}))
                .collect::<Vec<_>>()))
        }
        ("DELETE", ["storefront-tokens", id]) => {
            let id = parse_id(id)?;
            if !auth
                .delete_storefront_token(admin, id)
                .await
                .map_err(internal)?
            {
                return fail(
                    StatusCode::NOT_FOUND,
                    format!("No storefront token with id = {id}"),
                );
            }
            ok(json!(true))
        }
        ("GET", ["audit"]) => {
            let after = number(query, "after", 0)?;
            let limit = number(query, "limit", 100)?.clamp(1, 1000) as usize;
            let entries = auth.audit_page(after, limit).await.map_err(internal)?;
            let list: Vec<Value> = entries
                .into_iter()
                .map(|(seq, e)| {
                    json!({
                        "at": crate::model::rfc3339(e.at),
                        "actor": e.actor,
                        "action": e.action,
                        "customer_id": e.subject.map_or(0, |id| id.0),
                        "detail": e.detail,
                        "id": seq,
                    })
                })
                .collect();
            ok(json!(list))
        }
        ("POST", ["backup"]) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct BackupBody {
                path: String,
                #[serde(default)]
                overwrite: bool,
            }
            let req: BackupBody = parse_body(body)?;
            let dir = std::path::PathBuf::from(backup_dir);
            let (path, summary) = auth
                .backup(dir, req.path.clone(), req.overwrite, admin)
                .await
                .map_err(|e| match e {
                    BackupError::BadName(why) => (StatusCode::BAD_REQUEST, why),
                    BackupError::LiveDatabase => (
                        StatusCode::BAD_REQUEST,
                        "Refusing to write a backup over the live database file.".into(),
                    ),
                    BackupError::Exists(_) => (
                        StatusCode::CONFLICT,
                        format!(
                            "A backup named \"{}\" already exists; send \"overwrite\": true to replace it.",
                            req.path
                        ),
                    ),
                    BackupError::Io(e) => internal(format!("Backup failed: {e}")),
                    BackupError::NotRedb => (
                        StatusCode::NOT_IMPLEMENTED,
                        "Backups copy the redb file; this server keeps its data in PostgreSQL: back the database up with pg_dump.".into(),
                    ),
                })?;
            let path = path.to_string_lossy().into_owned();
            ok(json!({
                "path": path,
                "customers": summary.customers,
                "access_tokens": summary.access_tokens,
            }))
        }
        _ => fail(StatusCode::NOT_FOUND, "Request does not match any route."),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerFields {
    email: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    confirmed: Option<bool>,
    disabled: Option<bool>,
    allow_remote_shopping_assistance: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerBody {
    customer: CustomerFields,
    password: Option<String>,
}

async fn create_customer(auth: &Auth, admin: &str, body: &[u8]) -> Reply {
    let req: CustomerBody = parse_body(body)?;
    let c = req.customer;
    let email = c.email.clone().unwrap_or_default();
    if email.trim().is_empty() {
        return fail(StatusCode::BAD_REQUEST, "\"customer.email\" is required.");
    }
    let record = auth
        .create_customer(NewCustomer {
            email: email.clone(),
            password: req.password.filter(|p| !p.is_empty()).map(Secret::new),
            profile: Profile {
                firstname: c.firstname,
                lastname: c.lastname,
                ..Profile::default()
            },
            allow_remote_shopping_assistance: c.allow_remote_shopping_assistance.unwrap_or(false),
            confirmed: Some(c.confirmed.unwrap_or(true)),
            disabled: c.disabled.unwrap_or(false),
            audit_by: Some(admin.to_string()),
            ..NewCustomer::default()
        })
        .await
        .map_err(|e| account_error(e, &email))?;
    ok(super::customer_json(&record))
}

async fn update_customer(auth: &Auth, admin: &str, id: CustomerId, body: &[u8]) -> Reply {
    let req: CustomerBody = parse_body(body)?;
    let c = req.customer;
    let email = c.email.clone().unwrap_or_default();
    let update = auth
        .update_account(
            id,
            CustomerChanges {
                email: c.email,
                profile: ProfileChanges {
                    firstname: c.firstname,
                    lastname: c.lastname,
                    ..ProfileChanges::default()
                },
                confirmed: c.confirmed,
                disabled: c.disabled,
                allow_remote_shopping_assistance: c.allow_remote_shopping_assistance,
                audit_by: Some(admin.to_string()),
            },
            req.password.filter(|p| !p.is_empty()).map(Secret::new),
            None,
        )
        .await
        .map_err(|e| account_error(e, &email))?;
    ok(super::customer_json(&update.customer))
}

// ---------------------------------------------------------------- errors: one map per core
// error enum, every message once.

const NO_SUCH_CUSTOMER: &str = "No such customer.";
const BUSY: &str = "The server is busy. Please try again shortly.";
const TITLE_REQUIRED: &str = "\"title\" is required.";

fn account_error(e: AccountError, email: &str) -> (StatusCode, String) {
    match e {
        AccountError::InvalidEmail => (
            StatusCode::BAD_REQUEST,
            format!("\"{email}\" is not a valid email address."),
        ),
        AccountError::EmailTaken => (StatusCode::CONFLICT, EMAIL_TAKEN.into()),
        AccountError::TooLong(field) => (StatusCode::BAD_REQUEST, field_too_long(field)),
        // Admin creation is exempt from the registration limit; should that change, this.
        AccountError::Throttled => (StatusCode::TOO_MANY_REQUESTS, CREATE_LIMIT.into()),
        AccountError::Policy(p) => (StatusCode::BAD_REQUEST, p.to_string()),
        AccountError::NotFound => (StatusCode::NOT_FOUND, NO_SUCH_CUSTOMER.into()),
        AccountError::Busy => (StatusCode::SERVICE_UNAVAILABLE, BUSY.into()),
        AccountError::Storage(e) => internal(e),
        other => internal(format!("{other:?}")),
    }
}

fn otc_error(e: OtcError, id: CustomerId) -> Reply {
    match e {
        OtcError::NotFound => not_found(id),
        OtcError::AssistanceNotAllowed => fail(StatusCode::FORBIDDEN, LAC_NOT_ALLOWED),
        OtcError::Disabled => fail(StatusCode::FORBIDDEN, LAC_DISABLED),
        OtcError::Storage(e) => Err(internal(e)),
    }
}

fn storefront_token_error(e: StorefrontTokenError) -> Reply {
    match e {
        StorefrontTokenError::EmptyTitle => fail(StatusCode::BAD_REQUEST, TITLE_REQUIRED),
        StorefrontTokenError::UnknownScope(s) => fail(
            StatusCode::BAD_REQUEST,
            format!(
                "Unknown scope \"{s}\". Known scopes: {}.",
                crate::auth::storefront_tokens::KNOWN_SCOPES.join(", ")
            ),
        ),
        StorefrontTokenError::Storage(e) => Err(internal(e)),
    }
}

fn not_found(id: CustomerId) -> Reply {
    fail(
        StatusCode::NOT_FOUND,
        format!("No such entity with customerId = {id}"),
    )
}

fn parse_id(text: &str) -> Result<u64, (StatusCode, String)> {
    text.parse::<u64>().map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            format!("\"{text}\" is not a valid id."),
        )
    })
}

fn number(
    query: &HashMap<String, String>,
    key: &str,
    default: u64,
) -> Result<u64, (StatusCode, String)> {
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

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, (StatusCode, String)> {
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("The request body is not valid: {e}"),
        )
    })
}

/// Any failure the caller cannot mend: 500, or 503 (with `Retry-After`, set by `handle`) for a
/// `StoreError` that is unavailable.
fn internal<E: std::fmt::Display + 'static>(e: E) -> (StatusCode, String) {
    if crate::store::StoreError::unavailable_in(&e) {
        tracing::warn!("admin API: storage unavailable: {e}");
        return (StatusCode::SERVICE_UNAVAILABLE, STORAGE_UNAVAILABLE.into());
    }
    tracing::error!("admin API internal error: {e}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal server error".into(),
    )
}

/// The admin REST API's message while the store is unavailable.
pub const STORAGE_UNAVAILABLE: &str =
    "The database is unavailable. Please wait and try again later.";

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
