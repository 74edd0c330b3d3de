//! The customer pages: the searchable list, one customer's page and its form, and the actions
//! on a customer (confirm, disable, enable, sign out everywhere, reset mail, delete).

use super::errors::{account_failure, account_refusal, internal};
use super::frame::{confirm_page, render, Frame};
use super::{login_as, not_found, redirect};
use super::{AppState, HttpResponse, Signed};
use crate::api::kit::messages::{LAC_DISABLED, LAC_NOT_ALLOWED};
use crate::api::kit::timestamp;
use crate::auth::one_time::url_encode;
use crate::auth::{AccountError, CustomerChanges};
use crate::model::{Customer, CustomerId, ProfileChanges};
use askama::Template;
use std::collections::HashMap;
use warp::http::StatusCode;

const PAGE_SIZE: usize = 25;

pub(super) fn parse_id(id: &str) -> Option<CustomerId> {
    id.parse::<u64>().ok().map(CustomerId)
}

pub(super) async fn with_customer(
    state: &AppState,
    id: &str,
    then: impl FnOnce(Customer) -> HttpResponse,
) -> HttpResponse {
    let Some(id) = parse_id(id) else {
        return not_found();
    };
    match state.auth.customer(id).await {
        Ok(Some(c)) => then(c),
        Ok(None) => not_found(),
        Err(e) => internal(e),
    }
}

/// Notices come back through a redirect as a fixed word, never as text from the URL.
pub(super) fn notice(q: &HashMap<String, String>) -> Option<String> {
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
    /// What an ID token's `email_verified` says (a mailed secret was used, or the merchant
    /// vouched for the address).
    email_verified: &'static str,
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
            email_verified: yes_no(c.email_verified),
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

/// `GET /admin/customers`: the list, searched by email or name, a page at a time.
pub(super) async fn list(
    state: &AppState,
    s: &Signed,
    q: &HashMap<String, String>,
) -> HttpResponse {
    let term = q.get("q").map(|t| t.trim()).unwrap_or_default();
    let after = CustomerId(q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0));
    // One bounded read: a page of matches, or fewer when the search stopped at its bound; the
    // next page goes on from where it stopped.
    let page = match state.auth.search_customers(term, after, PAGE_SIZE).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let next = page.resume.map(|last| {
        // The link carries the term as the search compares it: in lower case.
        let term = url_encode(&term.to_lowercase());
        format!("/admin/customers?q={term}&after={last}")
    });
    let page = CustomersPage {
        frame: Frame::new("Customers", Some(s)),
        q: term.to_string(),
        rows: page.found.iter().map(CustomerView::from).collect(),
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
pub(super) fn lac_refusal(state: &AppState, c: &Customer) -> Option<&'static str> {
    if !state.auth.policy.otc_enabled {
        Some(LAC_DISABLED)
    } else if !c.allow_remote_shopping_assistance {
        Some(LAC_NOT_ALLOWED)
    } else {
        None
    }
}

pub(super) fn customer_page(
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

/// `POST /admin/customers/{id}`: the customer form.
pub(super) async fn save(
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
            Ok(None) => return not_found(),
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
            let message = match account_refusal(e, &email) {
                Ok(message) => message,
                Err(resp) => return *resp,
            };
            match state.auth.customer(id).await {
                Ok(Some(c)) => {
                    customer_page(state, s, &c, None, Some(message), StatusCode::BAD_REQUEST)
                }
                Ok(None) => not_found(),
                Err(e) => internal(e),
            }
        }
    }
}

/// `POST /admin/customers/{id}/{action}`.
pub(super) async fn action(
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
        Err(e) => account_failure(e),
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
            Ok(None) => not_found(),
            Err(e) => internal(e),
        },
        "delete" => match state.auth.delete_customer(id, admin.clone()).await {
            Ok(true) => redirect("/admin/customers?notice=deleted"),
            Ok(false) => not_found(),
            Err(e) => internal(e),
        },
        "login-as" => login_as::issue(state, s, id, f).await,
        _ => not_found(),
    }
}

/// `GET /admin/customers/{id}`.
pub(super) async fn show(
    state: &AppState,
    s: &Signed,
    id: &str,
    q: &HashMap<String, String>,
) -> HttpResponse {
    with_customer(state, id, |c| {
        customer_page(state, s, &c, notice(q), None, StatusCode::OK)
    })
    .await
}

/// `GET /admin/customers/{id}/delete`: the question before the delete.
pub(super) async fn confirm_delete(state: &AppState, s: &Signed, id: &str) -> HttpResponse {
    with_customer(state, id, |c| {
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
    .await
}
