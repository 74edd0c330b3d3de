//! The messages several adapters answer in the same words: the Commerce dialect, the admin REST
//! API, the console and the CLI. Each adapter's error map picks from these; none imports
//! another adapter for its wording.

use crate::auth::admin_users::AddAdminError;
use crate::auth::ProfileField;
use crate::model::MAX_FIELD_CHARS;

pub const EMAIL_TAKEN: &str =
    "A customer with the same email address already exists in an associated website.";
/// Over `throttle.create_account_per_ip_per_hour`. Magento has no registration limit; these are
/// the words of its password-reset limit (Magento_Security), for every email alike.
pub const CREATE_LIMIT: &str =
    "We received too many requests to create an account. Please wait and try again later.";
/// Login as Customer (`generateCustomerTokenAsAdmin`, the admin REST code, the console and the
/// CLI).
pub const LAC_DISABLED: &str = "Login as Customer is disabled.";
pub const LAC_NOT_ALLOWED: &str = "Login as Customer assistance is disabled for this customer.";
/// Adobe Commerce's `graphql-internal` message, also the admin REST API's 500.
pub const INTERNAL: &str = "Internal server error";
/// The admin REST API's and the console's answer to a full hash pool.
pub const BUSY: &str = "The server is busy. Please try again shortly.";
/// The admin REST API's message while the store is unavailable.
pub const STORAGE_UNAVAILABLE: &str =
    "The database is unavailable. Please wait and try again later.";
/// A storefront token without a title (REST and console).
pub const TITLE_REQUIRED: &str = "\"title\" is required.";

/// Magento's refusal of a malformed email (the Commerce dialect, REST and the console).
pub fn invalid_email(email: &str) -> String {
    format!("\"{email}\" is not a valid email address.")
}

/// A storefront token scope that does not exist (REST and console).
pub fn unknown_scope(scope: &str) -> String {
    format!(
        "Unknown scope \"{scope}\". Known scopes: {}.",
        crate::auth::storefront_tokens::KNOWN_SCOPES.join(", ")
    )
}

/// Magento's label of a customer attribute (its `store_label`).
fn field_label(field: ProfileField) -> &'static str {
    match field {
        ProfileField::Firstname => "First Name",
        ProfileField::Lastname => "Last Name",
        ProfileField::Middlename => "Middle Name/Initial",
        ProfileField::Prefix => "Name Prefix",
        ProfileField::Suffix => "Name Suffix",
        ProfileField::DateOfBirth => "Date of Birth",
        ProfileField::Taxvat => "Tax/VAT number",
        ProfileField::Phone => "Phone Number",
    }
}

/// Magento's refusal of an attribute over its `max_text_length` (`Eav\Model\Attribute\Data\Text`),
/// also the admin REST API's, the console's and the CLI's.
pub fn field_too_long(field: ProfileField) -> String {
    format!(
        "\"{}\" length must be equal or less than {MAX_FIELD_CHARS} characters.",
        field_label(field)
    )
}

/// The message for a refused `add_admin`, shared by the CLI and the REST call.
pub fn add_admin_message(e: &AddAdminError, name: &str) -> String {
    match e {
        AddAdminError::InvalidName => format!(
            "\"{}\" is not a valid admin name: use 1 to 64 letters, digits, '.', '_', '-' or '@'.",
            name.trim()
        ),
        AddAdminError::NameTaken => {
            format!("An admin user named \"{}\" already exists.", name.trim())
        }
        AddAdminError::Failure(f) => f.to_string(),
    }
}
