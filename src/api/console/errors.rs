//! The console's answers to the core's errors: a message shown on the page again (in the REST
//! API's words, from the kit), or a whole page when there is nothing to show it on.

use super::frame::message_page;
use super::{not_found, HttpResponse};
use crate::api::kit::messages::{
    field_too_long, invalid_email, unknown_scope, BUSY, EMAIL_TAKEN, LAC_DISABLED, LAC_NOT_ALLOWED,
    TITLE_REQUIRED,
};
use crate::auth::admin_users::{AdminSignInError, SetupError};
use crate::auth::one_time::OtcError;
use crate::auth::storefront_tokens::StorefrontTokenError;
use crate::auth::AccountError;
use warp::http::StatusCode;

/// Adobe Commerce's admin sign-in refusal, for every reason alike.
pub const SIGN_IN_REFUSED: &str = "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.";
pub(super) const SETUP_INVALID: &str = "This setup link is invalid or has expired. Ask another admin for a new one (storekey admin add).";
const TOTP_WRONG: &str = "The code from the authenticator app is not correct. Check the time on your phone and try again.";

/// What a refused sign-in shows on the sign-in page, and with which status.
pub(super) fn sign_in_refusal(
    e: AdminSignInError,
) -> Result<(&'static str, StatusCode), Box<HttpResponse>> {
    match e {
        AdminSignInError::Busy => Ok((BUSY, StatusCode::SERVICE_UNAVAILABLE)),
        AdminSignInError::Storage(e) => Err(Box::new(internal(e))),
        AdminSignInError::Internal(e) => Err(Box::new(internal(e))),
        _ => Ok((SIGN_IN_REFUSED, StatusCode::UNAUTHORIZED)),
    }
}

/// What a refused setup shows on the setup form; `Err` when the link itself is no good.
pub(super) fn setup_refusal(e: SetupError) -> Result<String, Box<HttpResponse>> {
    match e {
        SetupError::InvalidCode => Err(Box::new(setup_invalid())),
        SetupError::Password(p) => Ok(p.to_string()),
        SetupError::WrongTotp => Ok(TOTP_WRONG.into()),
        SetupError::Busy => Ok(BUSY.into()),
        SetupError::Storage(e) => Err(Box::new(internal(e))),
        SetupError::Internal(e) => Err(Box::new(internal(e))),
    }
}

/// The page for a setup link that is unknown or expired.
pub(super) fn setup_invalid() -> HttpResponse {
    message_page(StatusCode::NOT_FOUND, "Setup", SETUP_INVALID)
}

/// What a refused customer form shows on the customer's page (`email` as the form sent it).
pub(super) fn account_refusal(e: AccountError, email: &str) -> Result<String, Box<HttpResponse>> {
    match e {
        AccountError::InvalidEmail => Ok(invalid_email(email)),
        AccountError::EmailTaken => Ok(EMAIL_TAKEN.to_string()),
        AccountError::TooLong(field) => Ok(field_too_long(field)),
        AccountError::NotFound => Err(Box::new(not_found())),
        AccountError::Busy => Ok(BUSY.to_string()),
        other => Err(Box::new(internal(format!("{other:?}")))),
    }
}

/// A customer action (confirm, disable, enable) that failed: nothing to show on the form.
pub(super) fn account_failure(e: AccountError) -> HttpResponse {
    match e {
        AccountError::NotFound => not_found(),
        e => internal(format!("{e:?}")),
    }
}

/// Why no Login-as-Customer code was issued, as the REST API words it.
pub(super) fn otc_refusal(e: OtcError) -> Result<&'static str, Box<HttpResponse>> {
    match e {
        OtcError::NotFound => Err(Box::new(not_found())),
        OtcError::AssistanceNotAllowed => Ok(LAC_NOT_ALLOWED),
        OtcError::Disabled => Ok(LAC_DISABLED),
        OtcError::Storage(e) => Err(Box::new(internal(e))),
    }
}

/// Why no storefront token was created, as the REST API words it.
pub(super) fn token_refusal(e: StorefrontTokenError) -> Result<String, Box<HttpResponse>> {
    match e {
        StorefrontTokenError::EmptyTitle => Ok(TITLE_REQUIRED.into()),
        StorefrontTokenError::UnknownScope(s) => Ok(unknown_scope(&s)),
        StorefrontTokenError::Storage(e) => Err(Box::new(internal(e))),
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
