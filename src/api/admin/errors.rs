//! The admin REST API's answers to the core's errors (SPEC §7): one function per core error
//! enum, each a status and a message; the words several adapters share come from the kit.

use super::HttpError;
use crate::api::kit::messages::{
    add_admin_message, field_too_long, invalid_email, unknown_scope, BUSY, CREATE_LIMIT,
    EMAIL_TAKEN, INTERNAL, LAC_DISABLED, LAC_NOT_ALLOWED, STORAGE_UNAVAILABLE, TITLE_REQUIRED,
};
use crate::auth::activation::InviteError;
use crate::auth::admin_users::AddAdminError;
use crate::auth::oidc::clients::ClientError;
use crate::auth::one_time::OtcError;
use crate::auth::storefront_tokens::StorefrontTokenError;
use crate::auth::{AccountError, BackupError, Failure};
use crate::model::CustomerId;
use warp::http::StatusCode;

/// An invite to a customer who can already sign in (Shopify refuses to activate an enabled
/// account; the customer resets their password instead).
pub const ALREADY_ENABLED: &str =
    "The customer's account is already enabled: they can sign in or reset their password.";
const NO_SUCH_CUSTOMER: &str = "No such customer.";
const LIVE_DATABASE: &str = "Refusing to write a backup over the live database file.";
const BACKUP_NOT_REDB: &str = "Backups copy the redb file; this server keeps its data in PostgreSQL: back the database up with pg_dump.";

fn failure(status: StatusCode, message: impl Into<String>) -> HttpError {
    (status, message.into())
}

/// No customer has the id `id`.
pub(super) fn not_found(id: CustomerId) -> HttpError {
    failure(
        StatusCode::NOT_FOUND,
        format!("No such entity with customerId = {id}"),
    )
}

pub(super) fn account_error(e: AccountError, email: &str) -> HttpError {
    match e {
        AccountError::InvalidEmail => failure(StatusCode::BAD_REQUEST, invalid_email(email)),
        AccountError::EmailTaken => failure(StatusCode::CONFLICT, EMAIL_TAKEN),
        AccountError::TooLong(field) => failure(StatusCode::BAD_REQUEST, field_too_long(field)),
        // Admin creation is exempt from the registration limit; should that change, this.
        AccountError::Throttled => failure(StatusCode::TOO_MANY_REQUESTS, CREATE_LIMIT),
        AccountError::Policy(p) => failure(StatusCode::BAD_REQUEST, p.to_string()),
        AccountError::NotFound => failure(StatusCode::NOT_FOUND, NO_SUCH_CUSTOMER),
        AccountError::WrongPassword | AccountError::Locked => {
            internal(format!("an admin edit was refused as {e:?}"))
        }
        AccountError::Failure(f) => internal(f),
    }
}

pub(super) fn otc_error(e: OtcError, id: CustomerId) -> HttpError {
    match e {
        OtcError::NotFound => not_found(id),
        OtcError::AssistanceNotAllowed => failure(StatusCode::FORBIDDEN, LAC_NOT_ALLOWED),
        OtcError::Disabled => failure(StatusCode::FORBIDDEN, LAC_DISABLED),
        OtcError::Failure(f) => internal(f),
    }
}

pub(super) fn invite_error(e: InviteError, id: CustomerId) -> HttpError {
    match e {
        InviteError::NotFound => not_found(id),
        InviteError::AlreadyEnabled => failure(StatusCode::CONFLICT, ALREADY_ENABLED),
        InviteError::Failure(f) => internal(f),
    }
}

pub(super) fn add_admin_error(e: AddAdminError, name: &str) -> HttpError {
    match e {
        AddAdminError::Failure(f) => internal(f),
        AddAdminError::NameTaken => failure(StatusCode::CONFLICT, add_admin_message(&e, name)),
        AddAdminError::InvalidName => failure(StatusCode::BAD_REQUEST, add_admin_message(&e, name)),
    }
}

pub(super) fn storefront_token_error(e: StorefrontTokenError) -> HttpError {
    match e {
        StorefrontTokenError::EmptyTitle => failure(StatusCode::BAD_REQUEST, TITLE_REQUIRED),
        StorefrontTokenError::UnknownScope(s) => {
            failure(StatusCode::BAD_REQUEST, unknown_scope(&s))
        }
        StorefrontTokenError::Failure(f) => internal(f),
    }
}

/// `client_id` is the one the path named (removal).
pub(super) fn client_error(e: ClientError, client_id: &str) -> HttpError {
    match e {
        ClientError::Invalid(why) => failure(StatusCode::BAD_REQUEST, why),
        ClientError::NotFound => failure(
            StatusCode::NOT_FOUND,
            format!("No OpenID Connect client with client_id = {client_id}"),
        ),
        ClientError::Failure(f) => internal(f),
    }
}

/// `name` is the backup's name as the request gave it.
pub(super) fn backup_error(e: BackupError, name: &str) -> HttpError {
    match e {
        BackupError::BadName(why) => failure(StatusCode::BAD_REQUEST, why),
        BackupError::LiveDatabase => failure(StatusCode::BAD_REQUEST, LIVE_DATABASE),
        BackupError::Exists(_) => failure(
            StatusCode::CONFLICT,
            format!(
                "A backup named \"{name}\" already exists; send \"overwrite\": true to replace it."
            ),
        ),
        BackupError::Io(e) => internal(format!("Backup failed: {e}")),
        BackupError::NotRedb => failure(StatusCode::NOT_IMPLEMENTED, BACKUP_NOT_REDB),
    }
}

/// What no client can mend (`auth::Failure`), mapped once: a full hash queue and an
/// unavailable store are 503 (with `Retry-After`, set by `handle`); anything else 500.
pub(super) fn internal(f: impl Into<Failure>) -> HttpError {
    match f.into() {
        Failure::Busy => failure(StatusCode::SERVICE_UNAVAILABLE, BUSY),
        f if f.is_retryable() => {
            tracing::warn!("admin API: storage unavailable: {f}");
            failure(StatusCode::SERVICE_UNAVAILABLE, STORAGE_UNAVAILABLE)
        }
        f => {
            tracing::error!("admin API internal error: {f}");
            failure(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
        }
    }
}
