//! Adobe Commerce's answers to the core's errors: every message once, as a `const`, and one
//! function per core error enum. The HTTP status of an answer is carried as a typed source of
//! the error (`Status`), never read back from its text or category.

use crate::api::kit::graphql::{Dialect, Unexecuted};
pub use crate::api::kit::messages::{
    field_too_long, invalid_email, CREATE_LIMIT, EMAIL_TAKEN, INTERNAL, LAC_DISABLED,
    LAC_NOT_ALLOWED,
};
use crate::auth::one_time::{OtcError, ResetError};
use crate::auth::{AccountError, Failure, SignInError};
use async_graphql::ErrorExtensions;
use serde_json::{json, Value};
use std::sync::Arc;
use warp::http::StatusCode;

/// The Adobe Commerce dialect, as the adapter kit writes its answers.
pub struct Commerce;

impl Dialect for Commerce {
    const NAME: &'static str = "commerce";
    const INTERNAL: &'static str = INTERNAL;

    fn extensions(why: Unexecuted<'_>) -> Value {
        let category = match why {
            Unexecuted::Refused(_) => "graphql-input",
            Unexecuted::TimedOut => "graphql-busy",
            Unexecuted::LookupFailed => "graphql-internal",
        };
        json!({ "category": category })
    }

    fn status(response: &async_graphql::Response) -> StatusCode {
        status_for(response)
    }
}

pub const GENERIC_SIGN_IN: &str = "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.";
pub const NOT_CONFIRMED: &str = "This account isn't confirmed. Verify and try again.";
pub const NOT_AUTHORIZED: &str = "The current customer isn't authorized.";
pub const BUSY: &str = "The server is busy signing other customers in. Please try again shortly.";
pub const LOCKED: &str = "The account is locked.";
pub(super) const EMPTY_INPUT: &str = "\"input\" value should be specified";
pub(super) const PASSWORD_FOR_EMAIL: &str = "Provide the current \"password\" to change \"email\".";
pub(super) const INVALID_TOKEN: &str =
    "The request is allowed for logged in customer only: the token is invalid, expired or revoked.";

pub const WRONG_CURRENT_PASSWORD: &str = "Invalid login or password.";
pub const RESET_INVALID_EMAIL: &str = "The email address has an invalid format.";
pub const RESET_FAILED: &str = "Cannot set the customer's password";
pub const LAC_NO_EMAIL: &str = "Specify the \"customer email\" value.";
pub const LAC_NO_CUSTOMER: &str = "Customer email provided does not exist";
pub const LAC_FAILED: &str = "Unable to generate tokens. Please wait and try again later.";

/// The HTTP status an error asks for (Adobe Commerce answers 401 to any authentication error
/// and storekey 503 when the hash pool was full or the store is unavailable); everything else
/// is 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unauthorized,
    Busy,
    /// The store cannot be reached for now (`StoreError::is_unavailable`).
    StorageUnavailable,
}

/// HTTP 503 when the store was unavailable (whatever else failed: a customer is never told to
/// sign in again because the database is down), 401 when any error is an authentication error,
/// 503 when the hash pool was full, else 200 (Adobe Commerce's mapping).
pub(super) fn status_for(resp: &async_graphql::Response) -> StatusCode {
    let statuses = || resp.errors.iter().filter_map(|e| e.source::<Status>());
    if statuses().any(|s| *s == Status::StorageUnavailable) {
        StatusCode::SERVICE_UNAVAILABLE
    } else if statuses().any(|s| *s == Status::Unauthorized) {
        StatusCode::UNAUTHORIZED
    } else if statuses().any(|s| *s == Status::Busy) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

fn with_status(e: async_graphql::Error, status: Status) -> async_graphql::Error {
    async_graphql::Error {
        source: Some(Arc::new(status)),
        ..e
    }
}

/// An authentication error: category `graphql-authentication`, HTTP 401.
pub fn unauthenticated(message: &str) -> async_graphql::Error {
    with_status(
        error("graphql-authentication", message),
        Status::Unauthorized,
    )
}

/// The hash pool was full: category `graphql-busy`, HTTP 503 with `Retry-After`.
pub fn busy() -> async_graphql::Error {
    with_status(error("graphql-busy", BUSY), Status::Busy)
}

/// An error with Adobe Commerce's `extensions.category`.
pub fn error(category: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("category", category))
}

/// What no client can mend (`auth::Failure`), mapped once: a full hash queue is
/// `graphql-busy` with HTTP 503; an unavailable store `graphql-internal` with HTTP 503 (both with
/// `Retry-After`); anything else `graphql-internal`.
pub(super) fn internal(f: impl Into<Failure>) -> async_graphql::Error {
    match f.into() {
        Failure::Busy => busy(),
        f if f.is_retryable() => {
            tracing::warn!("storage unavailable: {f}");
            with_status(
                error("graphql-internal", INTERNAL),
                Status::StorageUnavailable,
            )
        }
        f => {
            tracing::error!("internal error: {f}");
            error("graphql-internal", INTERNAL)
        }
    }
}

pub(super) fn sign_in_error(e: SignInError) -> async_graphql::Error {
    match e {
        SignInError::NotConfirmed => unauthenticated(NOT_CONFIRMED),
        SignInError::Failure(f) => internal(f),
        _ => unauthenticated(GENERIC_SIGN_IN),
    }
}

pub(super) fn account_error(e: AccountError, email: &str) -> async_graphql::Error {
    match e {
        AccountError::InvalidEmail => error("graphql-input", invalid_email(email)),
        AccountError::EmailTaken => error("graphql-already-exists", EMAIL_TAKEN),
        AccountError::TooLong(field) => error("graphql-input", field_too_long(field)),
        AccountError::Throttled => error("graphql-input", CREATE_LIMIT),
        AccountError::Policy(p) => error("graphql-input", p.to_string()),
        AccountError::WrongPassword => unauthenticated(WRONG_CURRENT_PASSWORD),
        AccountError::Locked => unauthenticated(LOCKED),
        AccountError::NotFound => error("graphql-authorization", NOT_AUTHORIZED),
        AccountError::Failure(f) => internal(f),
    }
}

pub(super) fn reset_error(e: ResetError) -> async_graphql::Error {
    let message = match e {
        ResetError::InvalidEmail => RESET_INVALID_EMAIL,
        // Every failure after the argument checks, as Magento's `ResetPassword` resolver
        // answers (SPEC §5.3): which one it was is not the caller's to learn.
        ResetError::Mismatch | ResetError::Expired | ResetError::Policy(_) => RESET_FAILED,
        ResetError::Failure(f) => return internal(f),
    };
    error("graphql-input", message)
}

pub(super) fn otc_error(e: OtcError) -> async_graphql::Error {
    match e {
        OtcError::Disabled => error("graphql-authorization", LAC_DISABLED),
        OtcError::AssistanceNotAllowed => error("graphql-authorization", LAC_NOT_ALLOWED),
        OtcError::NotFound => error("graphql-input", LAC_NO_CUSTOMER),
        OtcError::Failure(f) if f.is_retryable() => internal(f),
        OtcError::Failure(m) => {
            tracing::error!("token as admin not issued: {m}");
            error("graphql-input", LAC_FAILED)
        }
    }
}
