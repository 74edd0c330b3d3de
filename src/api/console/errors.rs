//! The console's answers to the core's errors: a message shown on the page again (in the REST
//! API's words, from the kit), or a whole page when there is nothing to show it on.

use super::frame::message_page;
use super::{not_found, HttpResponse};
use crate::api::kit::messages::{
    field_too_long, invalid_email, unknown_scope, BUSY, EMAIL_TAKEN, LAC_DISABLED, LAC_NOT_ALLOWED,
    TITLE_REQUIRED,
};
use crate::auth::admin_users::{AdminSignInError, SetupError};
use crate::auth::oidc::clients::ClientError;
use crate::auth::one_time::OtcError;
use crate::auth::storefront_tokens::StorefrontTokenError;
use crate::auth::{AccountError, Failure};
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
        AdminSignInError::Failure(Failure::Busy) => Ok((BUSY, StatusCode::SERVICE_UNAVAILABLE)),
        AdminSignInError::Failure(f) => Err(Box::new(internal(f))),
        _ => Ok((SIGN_IN_REFUSED, StatusCode::UNAUTHORIZED)),
    }
}

/// What a refused setup shows on the setup form; `Err` when the link itself is no good.
pub(super) fn setup_refusal(e: SetupError) -> Result<String, Box<HttpResponse>> {
    match e {
        SetupError::InvalidCode => Err(Box::new(setup_invalid())),
        SetupError::Password(p) => Ok(p.to_string()),
        SetupError::WrongTotp => Ok(TOTP_WRONG.into()),
        SetupError::Failure(Failure::Busy) => Ok(BUSY.into()),
        SetupError::Failure(f) => Err(Box::new(internal(f))),
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
        AccountError::Failure(Failure::Busy) => Ok(BUSY.to_string()),
        AccountError::Failure(f) => Err(Box::new(internal(f))),
        other => Err(Box::new(internal(format!(
            "a console edit was refused as {other:?}"
        )))),
    }
}

/// A customer action (confirm, disable, enable) that failed: nothing to show on the form.
pub(super) fn account_failure(e: AccountError) -> HttpResponse {
    match e {
        AccountError::NotFound => not_found(),
        AccountError::Failure(f) => internal(f),
        e => internal(format!("a console action was refused as {e:?}")),
    }
}

/// Why no Login-as-Customer code was issued, as the REST API words it.
pub(super) fn otc_refusal(e: OtcError) -> Result<&'static str, Box<HttpResponse>> {
    match e {
        OtcError::NotFound => Err(Box::new(not_found())),
        OtcError::AssistanceNotAllowed => Ok(LAC_NOT_ALLOWED),
        OtcError::Disabled => Ok(LAC_DISABLED),
        OtcError::Failure(f) => Err(Box::new(internal(f))),
    }
}

/// Why no storefront token was created, as the REST API words it.
pub(super) fn token_refusal(e: StorefrontTokenError) -> Result<String, Box<HttpResponse>> {
    match e {
        StorefrontTokenError::EmptyTitle => Ok(TITLE_REQUIRED.into()),
        StorefrontTokenError::UnknownScope(s) => Ok(unknown_scope(&s)),
        StorefrontTokenError::Failure(f) => Err(Box::new(internal(f))),
    }
}

/// Why no client was registered, in the core's words (the REST API's too).
pub(super) fn client_refusal(e: ClientError) -> Result<String, Box<HttpResponse>> {
    match e {
        ClientError::Invalid(why) => Ok(why),
        ClientError::NotFound => Err(Box::new(not_found())),
        ClientError::Failure(Failure::Busy) => Ok(BUSY.into()),
        ClientError::Failure(f) => Err(Box::new(internal(f))),
    }
}

/// What the operator cannot mend from the page (`auth::Failure`), mapped once: 503 with
/// `Retry-After` for a full hash queue or an unavailable store, else 500.
pub(super) fn internal(f: impl Into<Failure>) -> HttpResponse {
    let f = f.into();
    if f.is_retryable() {
        let (title, text) = match &f {
            Failure::Busy => ("Busy", BUSY),
            _ => {
                tracing::warn!("admin console: storage unavailable: {f}");
                (
                    "Database unavailable",
                    "The database cannot be reached; try again in a moment.",
                )
            }
        };
        let mut resp = message_page(StatusCode::SERVICE_UNAVAILABLE, title, text);
        resp.headers_mut().insert(
            warp::http::header::RETRY_AFTER,
            warp::http::HeaderValue::from_static(crate::api::RETRY_AFTER_SECONDS),
        );
        return resp;
    }
    tracing::error!("admin console internal error: {f}");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        "Something went wrong; the server log has the details.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn a_console_action_on_an_unavailable_store_is_503_with_retry_after() {
        // It was 500: the error went through its Debug text, which no longer said "store".
        let down = AccountError::Failure(Failure::Storage(StoreError::Unavailable("x".into())));
        let resp = account_failure(down);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(resp.headers().contains_key(warp::http::header::RETRY_AFTER));
        let corrupt = AccountError::Failure(Failure::Storage(StoreError::Corrupt("x".into())));
        assert_eq!(
            account_failure(corrupt).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let busy = account_failure(AccountError::Failure(Failure::Busy));
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
