//! Shopify's answers to the core's errors: every message once, as a `const`, and one function
//! per core error enum. The 503 for a full hash pool is decided from a typed error source
//! (`Busy`), never from the error's text or code.

use super::types::{CustomerErrorCode, CustomerUserError};
use crate::api::gate::Refusal;
use crate::api::kit::graphql::{Dialect, Unexecuted};
use crate::auth::activation::ActivationError;
use crate::auth::one_time::ResetError;
use crate::auth::password::PolicyError;
use crate::auth::{AccountError, Failure, ProfileField};
use crate::model::MAX_FIELD_CHARS;
use async_graphql::ErrorExtensions;
use serde_json::{json, Value};
use warp::http::StatusCode;

pub const UNIDENTIFIED_CUSTOMER: &str = "Unidentified customer";
pub const INVALID_MULTIPASS: &str = "Invalid Multipass request";
pub const MULTIPASS_TAKEN: &str = "The given email address is already used by another customer (with a different Multipass identifier)";
pub const EMAIL_TAKEN: &str = "Email has already been taken";
pub const EMAIL_INVALID: &str = "Email is invalid";
pub const EMAIL_BLANK: &str = "Email can't be blank";
pub const NOT_CONFIRMED: &str = "This account isn't confirmed. Verify and try again.";
/// Shopify's answer to a throttled `customerCreate`: a top-level error, the payload null.
pub const CREATE_LIMIT: &str = "Creating Customer Limit exceeded. Please try again later.";
pub const RESET_LIMIT: &str = "Resetting password limit exceeded. Please try again later.";
pub const RESET_TOKEN_INVALID: &str = "Reset password token is invalid";
pub const RESET_TOKEN_EXPIRED: &str = "Reset password token has expired";
pub const RESET_URL_INVALID: &str = "Reset password URL is invalid";
pub const ACTIVATION_TOKEN_INVALID: &str = "Activation token is invalid";
pub const ACTIVATION_TOKEN_EXPIRED: &str = "Activation token has expired";
pub const ACTIVATION_URL_INVALID: &str = "Activation URL is invalid";
pub const CUSTOMER_ID_INVALID: &str = "Customer id is invalid";
pub const LOCKED: &str = "The account is locked. Please wait and try again later.";
pub const BUSY: &str = "The server is busy signing other customers in. Please try again shortly.";
pub const INTERNAL: &str = "Internal error. Looks like something went wrong on our end.";

/// The Shopify Storefront dialect, as the adapter kit writes its answers.
pub struct Storefront;

impl Dialect for Storefront {
    const NAME: &'static str = "storefront";
    const INTERNAL: &'static str = INTERNAL;

    fn extensions(why: Unexecuted<'_>) -> Value {
        let code = match why {
            Unexecuted::Refused(Refusal::TooDeep { .. }) => "MAX_DEPTH_EXCEEDED",
            Unexecuted::Refused(Refusal::TooLarge { .. } | Refusal::TooManyBrackets { .. }) => {
                "MAX_COMPLEXITY_EXCEEDED"
            }
            Unexecuted::Refused(Refusal::FragmentCycle { .. } | Refusal::Unchecked) => {
                "BAD_REQUEST"
            }
            Unexecuted::TimedOut => "THROTTLED",
            Unexecuted::LookupFailed => "INTERNAL_SERVER_ERROR",
        };
        json!({ "code": code })
    }

    /// 503 (with `Retry-After`) when an error asks for it (`Busy`), else 200.
    fn status(response: &async_graphql::Response) -> StatusCode {
        if response.errors.iter().any(|e| e.source::<Busy>().is_some()) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        }
    }
}

/// Marks an error that asks for HTTP 503 with `Retry-After`: the hash pool was full, or the
/// store is unavailable.
#[derive(Debug, Clone, Copy)]
pub struct Busy;

/// A top-level error with Shopify's `extensions.code`.
pub(super) fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", code))
}

/// Shopify's missing-scope error for `field`.
pub fn access_denied(field: &str, scope: &str) -> async_graphql::Error {
    let required = format!("`{scope}` access scope.");
    async_graphql::Error::new(format!(
        "Access denied for {field} field. Required access: {required}"
    ))
    .extend_with(|_, e| {
        e.set("code", "ACCESS_DENIED");
        e.set("requiredAccess", required.clone());
    })
}

/// `CustomerAccessTokenDelete access denied`: a token-bearing mutation given a dead token.
pub(super) fn token_denied(mutation: &str) -> async_graphql::Error {
    coded("ACCESS_DENIED", format!("{mutation} access denied"))
}

/// What no client can mend (`auth::Failure`), mapped once: a full hash queue is `THROTTLED`
/// and an unavailable store `INTERNAL_SERVER_ERROR`, both (through the typed source) with HTTP
/// 503 and `Retry-After`, the status Shopify's clients retry; anything else
/// `INTERNAL_SERVER_ERROR`.
pub(super) fn internal(f: impl Into<Failure>) -> async_graphql::Error {
    match f.into() {
        Failure::Busy => busy(),
        f if f.is_retryable() => {
            tracing::warn!("storage unavailable: {f}");
            async_graphql::Error {
                source: Some(std::sync::Arc::new(Busy)),
                ..coded("INTERNAL_SERVER_ERROR", INTERNAL)
            }
        }
        f => {
            tracing::error!("internal error: {f}");
            coded("INTERNAL_SERVER_ERROR", INTERNAL)
        }
    }
}

/// The hash pool was full: code `THROTTLED`, and (through the typed source) HTTP 503.
pub(super) fn busy() -> async_graphql::Error {
    async_graphql::Error {
        source: Some(std::sync::Arc::new(Busy)),
        ..coded("THROTTLED", BUSY)
    }
}

/// Shopify's password-policy errors, at `field`.
pub(super) fn policy_user_error(p: &PolicyError, field: &[&str]) -> CustomerUserError {
    use CustomerErrorCode as C;
    match p {
        PolicyError::TooShort(n) => CustomerUserError::new(
            C::TooShort,
            Some(field),
            format!("Password is too short (minimum is {n} characters)"),
        ),
        PolicyError::TooLong(n) => CustomerUserError::new(
            C::TooLong,
            Some(field),
            format!("Password is too long (maximum is {n} characters)"),
        ),
        PolicyError::EdgeSpace => CustomerUserError::new(
            C::PasswordStartsOrEndsWithWhitespace,
            Some(field),
            "Password cannot start or end with whitespace",
        ),
        PolicyError::TooFewClasses(_) | PolicyError::SameAsEmail => {
            CustomerUserError::new(C::Invalid, Some(field), p.to_string())
        }
    }
}

/// A profile field as Shopify names it in an input and in a message.
fn field_names(field: ProfileField) -> (&'static str, &'static str) {
    match field {
        ProfileField::Firstname => ("firstName", "First name"),
        ProfileField::Lastname => ("lastName", "Last name"),
        ProfileField::Phone => ("phone", "Phone"),
        ProfileField::Middlename => ("middleName", "Middle name"),
        ProfileField::Prefix => ("prefix", "Prefix"),
        ProfileField::Suffix => ("suffix", "Suffix"),
        ProfileField::DateOfBirth => ("dateOfBirth", "Date of birth"),
        ProfileField::Taxvat => ("taxvat", "Tax number"),
    }
}

/// Account errors as `customerUserErrors` under `input` (`input` or `customer`); transport-level
/// failures as top-level errors.
pub(super) fn account_user_error(
    e: AccountError,
    input: &str,
) -> Result<CustomerUserError, async_graphql::Error> {
    use CustomerErrorCode as C;
    Ok(match e {
        AccountError::InvalidEmail => {
            CustomerUserError::new(C::Invalid, Some(&[input, "email"]), EMAIL_INVALID)
        }
        AccountError::EmailTaken => {
            CustomerUserError::new(C::Taken, Some(&[input, "email"]), EMAIL_TAKEN)
        }
        AccountError::TooLong(field) => {
            let (name, label) = field_names(field);
            CustomerUserError::new(
                C::TooLong,
                Some(&[input, name]),
                format!("{label} is too long (maximum is {MAX_FIELD_CHARS} characters)"),
            )
        }
        // Shopify's throttled `customerCreate`: no payload, one top-level error.
        AccountError::Throttled => return Err(async_graphql::Error::new(CREATE_LIMIT)),
        AccountError::Policy(p) => policy_user_error(&p, &[input, "password"]),
        AccountError::Locked => CustomerUserError::new(C::CustomerDisabled, None, LOCKED),
        AccountError::WrongPassword | AccountError::NotFound => {
            CustomerUserError::new(C::UnidentifiedCustomer, None, UNIDENTIFIED_CUSTOMER)
        }
        AccountError::Failure(f) => return Err(internal(f)),
    })
}

/// Reset errors as `customerUserErrors`; `token_field` names where the reset token came from.
pub(super) fn reset_user_error(
    e: ResetError,
    token_field: &[&str],
    password_field: &[&str],
) -> Result<CustomerUserError, async_graphql::Error> {
    use CustomerErrorCode as C;
    Ok(match e {
        ResetError::InvalidEmail => {
            CustomerUserError::new(C::Invalid, Some(token_field), EMAIL_INVALID)
        }
        ResetError::Mismatch => {
            CustomerUserError::new(C::TokenInvalid, Some(token_field), RESET_TOKEN_INVALID)
        }
        ResetError::Expired => {
            CustomerUserError::new(C::TokenInvalid, Some(token_field), RESET_TOKEN_EXPIRED)
        }
        ResetError::Policy(p) => policy_user_error(&p, password_field),
        ResetError::Failure(f) => return Err(internal(f)),
    })
}

/// Activation errors as `customerUserErrors` (the reset flow's codes, with activation's words);
/// `token_field` names where the activation token came from.
pub(super) fn activation_user_error(
    e: ActivationError,
    token_field: &[&str],
    password_field: &[&str],
) -> Result<CustomerUserError, async_graphql::Error> {
    use CustomerErrorCode as C;
    Ok(match e {
        ActivationError::Mismatch => {
            CustomerUserError::new(C::TokenInvalid, Some(token_field), ACTIVATION_TOKEN_INVALID)
        }
        ActivationError::Expired => {
            CustomerUserError::new(C::TokenInvalid, Some(token_field), ACTIVATION_TOKEN_EXPIRED)
        }
        ActivationError::Policy(p) => policy_user_error(&p, password_field),
        ActivationError::Failure(f) => return Err(internal(f)),
    })
}
