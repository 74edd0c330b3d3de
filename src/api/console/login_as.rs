//! Login as Customer from the console: the confirmation (with a reason) and the code page.

use super::customers::{customer_page, lac_refusal, with_customer};
use super::errors::{internal, otc_refusal};
use super::frame::{confirm_page, render, Frame};
use super::not_found;
use super::{AppState, HttpResponse, Signed};
use crate::auth::one_time::url_encode;
use crate::model::CustomerId;
use askama::Template;
use std::collections::HashMap;
use warp::http::StatusCode;

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

/// `POST /admin/customers/{id}/login-as`: issues a code, with the reason given.
pub(super) async fn issue(
    state: &AppState,
    s: &Signed,
    id: CustomerId,
    f: &HashMap<String, String>,
) -> HttpResponse {
    let reason = f.get("reason").map(|r| r.trim()).unwrap_or("");
    let customer = match state.auth.customer(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    match state.auth.issue_otc(id, &s.admin, reason).await {
        Ok(code) => {
            let template = &state.auth.admin.policy.storefront_login_url;
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
            let message = match otc_refusal(e) {
                Ok(message) => message,
                Err(resp) => return *resp,
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

/// `GET /admin/customers/{id}/login-as`: the question (and the reason) before a code is issued,
/// or the customer's page saying why Login as Customer is not offered.
pub(super) async fn confirm(state: &AppState, s: &Signed, id: &str) -> HttpResponse {
    with_customer(state, id, |c| {
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
    .await
}
