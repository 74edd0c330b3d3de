//! The console's pages: one askama template each (`templates/console/`), one function per
//! page or form. Forms post, then redirect to a page (post/redirect/get); refusals render the
//! page again with the message the REST API gives.

use super::{
    asset_path, clear_session_cookie, html, redirect, session_cookie, AppState, HttpResponse,
    Signed,
};
use crate::api::kit::messages::{field_too_long, EMAIL_TAKEN, LAC_DISABLED, LAC_NOT_ALLOWED};
use crate::api::kit::timestamp;
use crate::auth::admin_users::{AdminSignInError, SetupError};
use crate::auth::one_time::{url_encode, OtcError};
use crate::auth::secret::Secret;
use crate::auth::storefront_tokens::{StorefrontTokenError, StorefrontTokenKind, KNOWN_SCOPES};
use crate::auth::totp::TotpSecret;
use crate::auth::{AccountError, CustomerChanges};
use crate::model::{Customer, CustomerId, ProfileChanges};
use askama::Template;
use std::collections::HashMap;
use std::net::IpAddr;
use warp::http::{header, HeaderValue, StatusCode};

/// Adobe Commerce's admin sign-in refusal, for every reason alike.
pub const SIGN_IN_REFUSED: &str = "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.";
const SETUP_INVALID: &str = "This setup link is invalid or has expired. Ask another admin for a new one (storekey admin add).";
const TOTP_WRONG: &str = "The code from the authenticator app is not correct. Check the time on your phone and try again.";
const BUSY: &str = "The server is busy. Please try again shortly.";
const PAGE_SIZE: usize = 25;

/// What every page's frame shows.
pub struct Frame {
    pub title: String,
    pub admin: Option<String>,
    pub csrf: String,
    pub css: String,
    pub js: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Frame {
    fn new(title: impl Into<String>, signed: Option<&Signed>) -> Frame {
        Frame {
            title: title.into(),
            admin: signed.map(|s| s.admin.clone()),
            csrf: signed.map(|s| s.csrf.clone()).unwrap_or_default(),
            css: asset_path("console.css"),
            js: asset_path("console.js"),
            notice: None,
            error: None,
        }
    }

    fn error(mut self, e: Option<String>) -> Frame {
        self.error = e;
        self
    }

    fn notice(mut self, n: Option<String>) -> Frame {
        self.notice = n;
        self
    }
}

fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => internal(e),
    }
}

/// Any failure the operator cannot mend from the page: 500, or 503 with `Retry-After` for a
/// `StoreError` that is unavailable.
pub(super) fn internal<E: std::fmt::Display + 'static>(e: E) -> HttpResponse {
    if crate::store::StoreError::unavailable_in(&e) {
        tracing::warn!("admin console: storage unavailable: {e}");
        let mut resp = message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Database unavailable",
            "The database cannot be reached; try again in a moment.",
        );
        resp.headers_mut().insert(
            warp::http::header::RETRY_AFTER,
            warp::http::HeaderValue::from_static(crate::api::RETRY_AFTER_SECONDS),
        );
        return resp;
    }
    tracing::error!("admin console internal error: {e}");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        "Something went wrong; the server log has the details.",
    )
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage {
    frame: Frame,
    text: String,
}

pub(super) fn message_page(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let page = MessagePage {
        frame: Frame::new(title, None),
        text: text.into(),
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(_) => html(status, text.to_string()),
    }
}

// ---------------------------------------------------------------- sign-in and setup

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    frame: Frame,
}

pub(super) fn sign_in_page(error: Option<&str>, status: StatusCode) -> HttpResponse {
    let page = SignInPage {
        frame: Frame::new("Sign in", None).error(error.map(str::to_string)),
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
        Err(AdminSignInError::Busy) => sign_in_page(Some(BUSY), StatusCode::SERVICE_UNAVAILABLE),
        Err(AdminSignInError::Storage(e)) => internal(e),
        Err(AdminSignInError::Internal(e)) => internal(e),
        Err(_) => sign_in_page(Some(SIGN_IN_REFUSED), StatusCode::UNAUTHORIZED),
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
        min_length: state.auth.admin_policy.password_min_length,
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
        Ok(None) => message_page(StatusCode::NOT_FOUND, "Setup", SETUP_INVALID),
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
        Ok(None) => message_page(StatusCode::NOT_FOUND, "Setup", SETUP_INVALID),
        Err(e) => internal(e),
    };
    match result {
        Ok(s) => signed_in(&s.token, secure, "/admin/customers"),
        Err(SetupError::InvalidCode) => message_page(StatusCode::NOT_FOUND, "Setup", SETUP_INVALID),
        Err(SetupError::Password(p)) => again(p.to_string()).await,
        Err(SetupError::WrongTotp) => again(TOTP_WRONG.into()).await,
        Err(SetupError::Busy) => again(BUSY.into()).await,
        Err(SetupError::Storage(e)) => internal(e),
        Err(SetupError::Internal(e)) => internal(e),
    }
}

// ---------------------------------------------------------------- signed-in pages

pub(super) async fn route(
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
        ("POST", ["sign-out"]) => {
            if let Err(e) = state.auth.admin_sign_out(&s.token).await {
                return internal(e);
            }
            let mut resp = redirect("/admin/sign-in");
            if let Ok(v) = HeaderValue::from_str(&clear_session_cookie(secure)) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        ("GET", ["customers"]) => customers(state, s, q).await,
        ("GET", ["customers", id]) => with_customer(state, id, |c| {
            customer_page(state, s, &c, notice(q), None, StatusCode::OK)
        })
        .await,
        ("POST", ["customers", id]) => match parse_id(id) {
            Some(id) => save_customer(state, s, id, f).await,
            None => super::not_found(),
        },
        ("POST", ["customers", id, action]) => match parse_id(id) {
            Some(id) => customer_action(state, s, id, action, f).await,
            None => super::not_found(),
        },
        ("GET", ["customers", id, "delete"]) => with_customer(state, id, |c| {
            confirm_page(
                s,
                "Delete customer",
                format!(
                    "Delete {} (ID {})? Their tokens and codes go with them. This cannot be undone.",
                    c.email, c.id
                ),
                format!("/admin/customers/{}/delete", c.id),
                false,
                "Delete customer",
                format!("/admin/customers/{}", c.id),
            )
        })
        .await,
        ("GET", ["customers", id, "login-as"]) => with_customer(state, id, |c| {
            if let Some(refusal) = lac_refusal(state, &c) {
                return customer_page(
                    state,
                    s,
                    &c,
                    None,
                    Some(refusal.into()),
                    StatusCode::FORBIDDEN,
                );
            }
            confirm_page(
                s,
                "Login as Customer",
                format!(
                    "You are about to Login as Customer {}. Actions taken while in \"Login as Customer\" will affect actual customer data.",
                    c.email
                ),
                format!("/admin/customers/{}/login-as", c.id),
                true,
                "Login as Customer",
                format!("/admin/customers/{}", c.id),
            )
        })
        .await,
        ("GET", ["log"]) => log_page(state, s, q).await,
        ("GET", ["log.csv"]) => log_csv(state, q).await,
        ("GET", ["tokens"]) => tokens_page(state, s, None, notice(q), None, StatusCode::OK).await,
        ("POST", ["tokens"]) => create_token(state, s, f).await,
        ("POST", ["tokens", id, "delete"]) => {
            let Ok(id) = id.parse::<u64>() else {
                return super::not_found();
            };
            match state.auth.delete_storefront_token(&s.admin, id).await {
                Ok(_) => redirect("/admin/tokens?notice=deleted"),
                Err(e) => internal(e),
            }
        }
        ("GET", ["overview"]) => overview(state, s).await,
        _ => super::not_found(),
    }
}

fn parse_id(id: &str) -> Option<CustomerId> {
    id.parse::<u64>().ok().map(CustomerId)
}

async fn with_customer(
    state: &AppState,
    id: &str,
    then: impl FnOnce(Customer) -> HttpResponse,
) -> HttpResponse {
    let Some(id) = parse_id(id) else {
        return super::not_found();
    };
    match state.auth.customer(id).await {
        Ok(Some(c)) => then(c),
        Ok(None) => super::not_found(),
        Err(e) => internal(e),
    }
}

/// Notices come back through a redirect as a fixed word, never as text from the URL.
fn notice(q: &HashMap<String, String>) -> Option<String> {
    let text = match q.get("notice").map(String::as_str) {
        Some("saved") => "You saved the customer.",
        Some("confirmed") => "The account is confirmed.",
        Some("disabled") => "The customer is disabled and signed out everywhere.",
        Some("enabled") => "The customer is enabled.",
        Some("revoked") => "The customer is signed out everywhere.",
        Some("reset") => "The password reset mail is on its way.",
        Some("reset_limited") => "No mail sent: this customer asked for too many resets recently.",
        Some("deleted") => "Deleted.",
        _ => return None,
    };
    Some(text.into())
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// A customer as the pages show it.
struct CustomerView {
    id: u64,
    name: String,
    email: String,
    firstname: String,
    lastname: String,
    confirmed: &'static str,
    disabled: &'static str,
    assistance: &'static str,
    confirmed_on: bool,
    disabled_on: bool,
    assistance_on: bool,
    identifier: String,
    created: String,
}

impl From<&Customer> for CustomerView {
    fn from(c: &Customer) -> Self {
        let first = c.profile.firstname.clone().unwrap_or_default();
        let last = c.profile.lastname.clone().unwrap_or_default();
        CustomerView {
            id: c.id.0,
            name: format!("{first} {last}").trim().to_string(),
            email: c.email.clone(),
            firstname: first,
            lastname: last,
            confirmed: yes_no(c.confirmed),
            disabled: yes_no(c.disabled),
            assistance: yes_no(c.allow_remote_shopping_assistance),
            confirmed_on: c.confirmed,
            disabled_on: c.disabled,
            assistance_on: c.allow_remote_shopping_assistance,
            identifier: c.multipass_identifier.clone().unwrap_or_default(),
            created: timestamp(c.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "console/customers.html")]
struct CustomersPage {
    frame: Frame,
    q: String,
    rows: Vec<CustomerView>,
    next: Option<String>,
}

async fn customers(state: &AppState, s: &Signed, q: &HashMap<String, String>) -> HttpResponse {
    let term = q
        .get("q")
        .map(|t| t.trim().to_lowercase())
        .unwrap_or_default();
    let mut after = CustomerId(q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0));
    let matches = |c: &Customer| {
        term.is_empty()
            || c.email.to_lowercase().contains(&term)
            || [&c.profile.firstname, &c.profile.lastname]
                .iter()
                .filter_map(|n| n.as_deref())
                .any(|n| n.to_lowercase().contains(&term))
            || format!(
                "{} {}",
                c.profile.firstname.as_deref().unwrap_or(""),
                c.profile.lastname.as_deref().unwrap_or("")
            )
            .to_lowercase()
            .contains(&term)
    };
    // Keyset paging in id order: read on past the last id until a page of matches (one more
    // tells whether there is a next page) or the end.
    let mut found: Vec<Customer> = Vec::new();
    loop {
        let batch = match state.auth.customers_page(after, 500).await {
            Ok(b) => b,
            Err(e) => return internal(e),
        };
        let Some(last) = batch.last().map(|c| c.id) else {
            break;
        };
        found.extend(batch.into_iter().filter(|c| matches(c)));
        if found.len() > PAGE_SIZE {
            break;
        }
        after = last;
    }
    let next = (found.len() > PAGE_SIZE).then(|| {
        found.truncate(PAGE_SIZE);
        let last = found.last().map_or(0, |c| c.id.0);
        format!("/admin/customers?q={}&after={last}", url_encode(&term))
    });
    let page = CustomersPage {
        frame: Frame::new("Customers", Some(s)),
        q: q.get("q").map(|t| t.trim().to_string()).unwrap_or_default(),
        rows: found.iter().map(CustomerView::from).collect(),
        next,
    };
    render(StatusCode::OK, &page)
}

/// An admin without the permission tried to change a customer's remote-assistance consent.
pub const ASSISTANCE_CONSENT_REFUSED: &str = "You are not allowed to change a customer's consent to remote shopping assistance: ask an administrator with that permission. Nothing was saved.";

#[derive(Template)]
#[template(path = "console/customer.html")]
struct CustomerPage {
    frame: Frame,
    c: CustomerView,
    lac_available: bool,
    lac_unavailable: &'static str,
}

/// Why Login as Customer is not offered, as the REST API words it.
fn lac_refusal(state: &AppState, c: &Customer) -> Option<&'static str> {
    if !state.auth.policy.otc_enabled {
        Some(LAC_DISABLED)
    } else if !c.allow_remote_shopping_assistance {
        Some(LAC_NOT_ALLOWED)
    } else {
        None
    }
}

fn customer_page(
    state: &AppState,
    s: &Signed,
    c: &Customer,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let refusal = lac_refusal(state, c);
    let page = CustomerPage {
        frame: Frame::new(format!("Customer {}", c.email), Some(s))
            .notice(notice)
            .error(error),
        c: CustomerView::from(c),
        lac_available: refusal.is_none(),
        lac_unavailable: refusal.unwrap_or(""),
    };
    render(status, &page)
}

async fn save_customer(
    state: &AppState,
    s: &Signed,
    id: CustomerId,
    f: &HashMap<String, String>,
) -> HttpResponse {
    let text = |k: &str| f.get(k).map(|v| v.trim().to_string());
    let email = text("email").unwrap_or_default();
    // The remote-assistance consent is the customer's to give: changing it (and so opening
    // Login as Customer) is its own permission; without it the form's value must be the stored
    // one, and is not written.
    let assistance = f.contains_key("assistance");
    let permitted = match state
        .auth
        .admin_may_change_assistance_consent(&s.admin)
        .await
    {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    if !permitted {
        match state.auth.customer(id).await {
            Ok(Some(c)) if c.allow_remote_shopping_assistance != assistance => {
                return customer_page(
                    state,
                    s,
                    &c,
                    None,
                    Some(ASSISTANCE_CONSENT_REFUSED.to_string()),
                    StatusCode::FORBIDDEN,
                );
            }
            Ok(Some(_)) => {}
            Ok(None) => return super::not_found(),
            Err(e) => return internal(e),
        }
    }
    let changes = CustomerChanges {
        email: Some(email.clone()).filter(|e| !e.is_empty()),
        profile: ProfileChanges {
            firstname: text("firstname"),
            lastname: text("lastname"),
            ..ProfileChanges::default()
        },
        allow_remote_shopping_assistance: Some(assistance).filter(|_| permitted),
        audit_by: Some(s.admin.clone()),
        ..CustomerChanges::default()
    };
    match state.auth.update_customer(id, changes).await {
        Ok(_) => redirect(&format!("/admin/customers/{id}?notice=saved")),
        Err(e) => {
            let message = match e {
                AccountError::InvalidEmail => format!("\"{email}\" is not a valid email address."),
                AccountError::EmailTaken => EMAIL_TAKEN.to_string(),
                AccountError::TooLong(field) => field_too_long(field),
                AccountError::NotFound => return super::not_found(),
                AccountError::Busy => BUSY.to_string(),
                other => return internal(format!("{other:?}")),
            };
            match state.auth.customer(id).await {
                Ok(Some(c)) => {
                    customer_page(state, s, &c, None, Some(message), StatusCode::BAD_REQUEST)
                }
                Ok(None) => super::not_found(),
                Err(e) => internal(e),
            }
        }
    }
}

async fn customer_action(
    state: &AppState,
    s: &Signed,
    id: CustomerId,
    action: &str,
    f: &HashMap<String, String>,
) -> HttpResponse {
    let admin = Some(s.admin.clone());
    let change = |confirmed: Option<bool>, disabled: Option<bool>| CustomerChanges {
        confirmed,
        disabled,
        audit_by: admin.clone(),
        ..CustomerChanges::default()
    };
    let back = |notice: &str| redirect(&format!("/admin/customers/{id}?notice={notice}"));
    let updated = |r: Result<Customer, AccountError>, notice: &str| match r {
        Ok(_) => back(notice),
        Err(AccountError::NotFound) => super::not_found(),
        Err(e) => internal(format!("{e:?}")),
    };
    match action {
        "confirm" => updated(
            state
                .auth
                .update_customer(id, change(Some(true), None))
                .await,
            "confirmed",
        ),
        "disable" => updated(
            state
                .auth
                .update_customer(id, change(None, Some(true)))
                .await,
            "disabled",
        ),
        "enable" => updated(
            state
                .auth
                .update_customer(id, change(None, Some(false)))
                .await,
            "enabled",
        ),
        "revoke" => match state.auth.revoke_customer_sessions(id, &s.admin).await {
            Ok(_) => back("revoked"),
            Err(e) => internal(e),
        },
        "reset" => match state.auth.customer(id).await {
            Ok(Some(c)) => match state.auth.send_reset_as_admin(&c, &s.admin).await {
                Ok(true) => back("reset"),
                Ok(false) => back("reset_limited"),
                Err(e) => internal(e),
            },
            Ok(None) => super::not_found(),
            Err(e) => internal(e),
        },
        "delete" => match state.auth.delete_customer(id, admin.clone()).await {
            Ok(true) => redirect("/admin/customers?notice=deleted"),
            Ok(false) => super::not_found(),
            Err(e) => internal(e),
        },
        "login-as" => login_as(state, s, id, f).await,
        _ => super::not_found(),
    }
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    frame: Frame,
    question: String,
    action: String,
    ask_reason: bool,
    button: &'static str,
    button_class: &'static str,
    cancel: String,
}

fn confirm_page(
    s: &Signed,
    title: &str,
    question: String,
    action: String,
    ask_reason: bool,
    button: &'static str,
    cancel: String,
) -> HttpResponse {
    let page = ConfirmPage {
        frame: Frame::new(title, Some(s)),
        question,
        action,
        ask_reason,
        button,
        button_class: if ask_reason { "primary" } else { "danger" },
        cancel,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "console/code.html")]
struct CodePage {
    frame: Frame,
    id: u64,
    email: String,
    code: String,
    ttl: i64,
    storefront_url: Option<String>,
}

async fn login_as(
    state: &AppState,
    s: &Signed,
    id: CustomerId,
    f: &HashMap<String, String>,
) -> HttpResponse {
    let reason = f.get("reason").map(|r| r.trim()).unwrap_or("");
    let customer = match state.auth.customer(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return super::not_found(),
        Err(e) => return internal(e),
    };
    match state.auth.issue_otc(id, &s.admin, reason).await {
        Ok(code) => {
            let template = &state.auth.admin_policy.storefront_login_url;
            let storefront_url = (!template.is_empty()).then(|| {
                template
                    .replace("{email}", &url_encode(&customer.email))
                    .replace("{otc}", code.expose())
            });
            let page = CodePage {
                frame: Frame::new("Login as Customer", Some(s)),
                id: id.0,
                email: customer.email.clone(),
                code: code.expose().to_string(),
                ttl: state.auth.policy.otc_ttl,
                storefront_url,
            };
            render(StatusCode::OK, &page)
        }
        Err(e) => {
            let message = match e {
                OtcError::NotFound => return super::not_found(),
                OtcError::AssistanceNotAllowed => LAC_NOT_ALLOWED,
                OtcError::Disabled => LAC_DISABLED,
                OtcError::Storage(e) => return internal(e),
            };
            customer_page(
                state,
                s,
                &customer,
                None,
                Some(message.into()),
                StatusCode::FORBIDDEN,
            )
        }
    }
}

// ---------------------------------------------------------------- the Login as Customer log

struct LogRow {
    time: String,
    admin: String,
    customer_id: u64,
    email: String,
    action: &'static str,
    reason: String,
}

#[derive(Template)]
#[template(path = "console/log.html")]
struct LogPage {
    frame: Frame,
    f_admin: String,
    f_customer: String,
    f_from: String,
    f_to: String,
    csv: String,
    rows: Vec<LogRow>,
}

fn day_start(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// The code issues and uses, newest first, filtered as asked.
async fn log_rows(state: &AppState, q: &HashMap<String, String>) -> Result<Vec<LogRow>, String> {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let (f_admin, f_customer) = (get("admin"), get("customer"));
    let from = day_start(&get("from"));
    let to = day_start(&get("to")).map(|t| t + 86_400);
    let customer_filter: Option<u64> = if f_customer.is_empty() {
        None
    } else if let Ok(id) = f_customer.parse::<u64>() {
        Some(id)
    } else {
        match state.auth.customer_by_email(&f_customer).await {
            Ok(c) => Some(c.map_or(0, |c| c.id.0)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let mut rows = Vec::new();
    let mut emails: HashMap<u64, String> = HashMap::new();
    let mut after = 0;
    loop {
        let page = state
            .auth
            .audit_page(after, 1000)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last().map(|(seq, _)| *seq) else {
            break;
        };
        after = last;
        for (_, e) in page {
            let (action, admin, reason) = match e.action.as_str() {
                "otc_issued" => ("Code issued", e.actor.clone(), e.detail.unwrap_or_default()),
                "otc_used" => {
                    // "issued by NAME; reason: TEXT" (sign_in.rs writes it).
                    let detail = e.detail.unwrap_or_default();
                    let rest = detail.strip_prefix("issued by ").unwrap_or(&detail);
                    let (by, reason) = rest.split_once("; reason: ").unwrap_or((rest, ""));
                    ("Code used", by.to_string(), reason.to_string())
                }
                _ => continue,
            };
            let id = e.subject.map_or(0, |c| c.0);
            if (!f_admin.is_empty() && admin != f_admin)
                || customer_filter.is_some_and(|c| c != id)
                || from.is_some_and(|t| e.at < t)
                || to.is_some_and(|t| e.at >= t)
            {
                continue;
            }
            let email = match emails.get(&id) {
                Some(m) => m.clone(),
                None => {
                    let m = state
                        .auth
                        .customer(CustomerId(id))
                        .await
                        .ok()
                        .flatten()
                        .map(|c| c.email)
                        .unwrap_or_default();
                    emails.insert(id, m.clone());
                    m
                }
            };
            rows.push(LogRow {
                time: crate::model::rfc3339(e.at),
                admin,
                customer_id: id,
                email,
                action,
                reason,
            });
        }
    }
    rows.reverse();
    Ok(rows)
}

async fn log_page(state: &AppState, s: &Signed, q: &HashMap<String, String>) -> HttpResponse {
    let rows = match log_rows(state, q).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let csv = format!(
        "/admin/log.csv?admin={}&customer={}&from={}&to={}",
        url_encode(&get("admin")),
        url_encode(&get("customer")),
        url_encode(&get("from")),
        url_encode(&get("to"))
    );
    let page = LogPage {
        frame: Frame::new("Login as Customer log", Some(s)),
        f_admin: get("admin"),
        f_customer: get("customer"),
        f_from: get("from"),
        f_to: get("to"),
        csv,
        rows,
    };
    render(StatusCode::OK, &page)
}

/// One CSV field: quoted, and a leading `=`, `+`, `-` or `@` defused so a spreadsheet does not
/// run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn log_csv(state: &AppState, q: &HashMap<String, String>) -> HttpResponse {
    let rows = match log_rows(state, q).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut out = String::from("time,admin,customer_id,customer_email,action,reason\r\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            csv_field(&r.time),
            csv_field(&r.admin),
            r.customer_id,
            csv_field(&r.email),
            csv_field(r.action),
            csv_field(&r.reason)
        ));
    }
    let mut resp = html(StatusCode::OK, out);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"login-as-customer-log.csv\""),
    );
    resp
}

// ---------------------------------------------------------------- storefront tokens

struct TokenRow {
    id: u64,
    title: String,
    kind: &'static str,
    scopes: String,
    created: String,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    frame: Frame,
    created: Option<String>,
    scopes: Vec<&'static str>,
    tokens: Vec<TokenRow>,
}

async fn tokens_page(
    state: &AppState,
    s: &Signed,
    created: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let tokens = match state.auth.storefront_tokens().await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let page = TokensPage {
        frame: Frame::new("Storefront tokens", Some(s))
            .notice(notice)
            .error(error),
        created,
        scopes: KNOWN_SCOPES.to_vec(),
        tokens: tokens
            .iter()
            .map(|t| TokenRow {
                id: t.id,
                title: t.title.clone(),
                kind: t.kind.name(),
                scopes: t.scopes.join(", "),
                created: timestamp(t.created_at),
            })
            .collect(),
    };
    render(status, &page)
}

async fn create_token(state: &AppState, s: &Signed, f: &HashMap<String, String>) -> HttpResponse {
    // One `scope` per ticked box, joined by `form`.
    let scopes: Vec<String> = f
        .get("scope")
        .map(|l| l.split('\n').map(str::to_string).collect())
        .unwrap_or_default();
    let kind = f
        .get("kind")
        .and_then(|k| StorefrontTokenKind::from_name(k))
        .unwrap_or_default();
    let title = f.get("title").map(String::as_str).unwrap_or("");
    match state
        .auth
        .create_storefront_token(&s.admin, title, scopes, kind)
        .await
    {
        Ok((_, token)) => {
            tokens_page(
                state,
                s,
                Some(token.expose().to_string()),
                None,
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(StorefrontTokenError::EmptyTitle) => {
            tokens_page(
                state,
                s,
                None,
                None,
                Some("\"title\" is required.".into()),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(StorefrontTokenError::UnknownScope(sc)) => {
            tokens_page(
                state,
                s,
                None,
                None,
                Some(format!(
                    "Unknown scope \"{sc}\". Known scopes: {}.",
                    KNOWN_SCOPES.join(", ")
                )),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(StorefrontTokenError::Storage(e)) => internal(e),
    }
}

// ---------------------------------------------------------------- overview

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    frame: Frame,
    customers: u64,
    tokens: u64,
    storefront_tokens: usize,
    chart: String,
}

async fn overview(state: &AppState, s: &Signed) -> HttpResponse {
    let counts = state.auth.counts().await;
    let (customers, tokens) = match counts {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let storefront_tokens = state.auth.storefront_tokens().await.map_or(0, |t| t.len());
    // The activity counters run on the wall clock (they live in `metrics`, which has no other).
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let page = OverviewPage {
        frame: Frame::new("Overview", Some(s)),
        customers,
        tokens,
        storefront_tokens,
        chart: activity_chart(&state.auth.metrics.activity.last_24_hours(now)),
    };
    render(StatusCode::OK, &page)
}

const COLORS: [&str; 3] = ["#1e8e3e", "#d93025", "#7b1fa2"];
const KINDS: [&str; 3] = ["sign-ins", "failures", "lockouts"];

/// A bar chart of per-hour counts as inline SVG: three bars an hour (sign-ins, failures,
/// lockouts), scaled to the largest count, hours labelled every three (UTC). Colours are
/// presentation attributes, which the CSP's `style-src` does not govern.
pub(super) fn activity_chart(hours: &[(i64, [u64; 3])]) -> String {
    const SLOT: usize = 30;
    const TOP: u64 = 10;
    const HEIGHT: u64 = 160;
    let width = SLOT * hours.len() + 40;
    let max = hours
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} 215\" role=\"img\" aria-label=\"Sign-ins, failures and lockouts per hour over the last 24 hours\">"
    );
    svg.push_str(&format!(
        "<text x=\"0\" y=\"{}\" font-size=\"10\">{max}</text><line x1=\"34\" y1=\"{}\" x2=\"{width}\" y2=\"{}\" stroke=\"#d0d4d9\"/>",
        TOP + 4,
        TOP + HEIGHT,
        TOP + HEIGHT
    ));
    for (i, (start, counts)) in hours.iter().enumerate() {
        let x0 = 36 + i * SLOT;
        let hour = start.div_euclid(3600).rem_euclid(24);
        svg.push_str(&format!(
            "<g><title>{hour:02}:00 UTC: {} sign-ins, {} failures, {} lockouts</title>",
            counts[0], counts[1], counts[2]
        ));
        for (k, count) in counts.iter().enumerate() {
            let h = count * HEIGHT / max;
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"8\" height=\"{h}\" fill=\"{}\"/>",
                x0 + k * 9,
                TOP + HEIGHT - h,
                COLORS[k]
            ));
        }
        svg.push_str("</g>");
        if i % 3 == 0 {
            svg.push_str(&format!(
                "<text x=\"{x0}\" y=\"{}\" font-size=\"10\">{hour:02}:00</text>",
                TOP + HEIGHT + 16
            ));
        }
    }
    for (k, name) in KINDS.iter().enumerate() {
        let x = 36 + k * 90;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"202\" width=\"8\" height=\"8\" fill=\"{}\"/><text x=\"{}\" y=\"210\" font-size=\"10\">{name}</text>",
            COLORS[k],
            x + 12
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Activity;

    #[test]
    fn activity_is_counted_per_hour_for_the_last_24_hours() {
        let a = Activity::default();
        let t = 1_700_000_000 - 1_700_000_000 % 3600;
        a.record(t - 25 * 3600, Activity::SIGN_IN);
        a.record(t - 3600, Activity::FAILURE);
        a.record(t + 5, Activity::SIGN_IN);
        a.record(t + 3599, Activity::SIGN_IN);
        a.record(t + 10, Activity::LOCKOUT);
        let hours = a.last_24_hours(t + 100);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[23], (t, [2, 0, 1]));
        assert_eq!(hours[22], (t - 3600, [0, 1, 0]));
        assert_eq!(hours[0].0, t - 23 * 3600);
        let total: u64 = hours.iter().map(|(_, c)| c.iter().sum::<u64>()).sum();
        assert_eq!(total, 4, "the hour 25 hours ago is out of the window");
    }

    #[test]
    fn the_chart_scales_bars_to_the_busiest_hour() {
        let mut hours: Vec<(i64, [u64; 3])> = (0..24).map(|h| (h * 3600, [0, 0, 0])).collect();
        hours[5].1 = [4, 2, 1];
        let svg = activity_chart(&hours);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>05:00 UTC: 4 sign-ins, 2 failures, 1 lockouts</title>"));
        assert!(svg.contains("height=\"160\" fill=\"#1e8e3e\""), "{svg}");
        assert!(svg.contains("height=\"80\" fill=\"#d93025\""));
        assert!(svg.contains("height=\"40\" fill=\"#7b1fa2\""));
        assert!(!svg.contains("style"));
    }
}
