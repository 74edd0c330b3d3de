//! The domain vocabulary every layer shares: customers as a dialect may see them, their
//! credentials (which never leave the core), tokens and audit entries. No storage encoding and
//! no HTTP here: the store converts its records to and from these types, the dialects render them.

/// A customer's number, as the store assigns it.
pub type CustomerId = u64;

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

/// SHA-256 of a secret. Nothing keeps a secret itself, only this.
pub type Digest = [u8; 32];

/// The optional profile fields a customer or an admin may set. A new field is added here, in
/// `auth::CustomerChanges` (with `apply_changes`) and in the store's record (with `profile` and
/// `set_profile`); `auth::NewCustomer` carries a whole `Profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub middlename: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<i32>,
    pub taxvat: Option<String>,
    pub is_subscribed: bool,
    pub phone: Option<String>,
}

/// A customer as a dialect or the admin API may see it: no password hash, no lockout, no live
/// one-time secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    /// As the customer typed it; uniqueness is on the lower-cased form.
    pub email: String,
    pub profile: Profile,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub confirmed: bool,
    pub disabled: bool,
    pub allow_remote_shopping_assistance: bool,
    pub multipass_identifier: Option<String>,
    pub tags: Vec<String>,
}

/// Which dialect minted a token: it decides the default lifetime, not where it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Commerce = 1,
    Storefront = 2,
}

/// A customer access token as stored: whom it signs in and until when (the token itself is
/// only ever held by the client; the store keys it by digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessToken {
    pub customer_id: CustomerId,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub kind: TokenKind,
}

/// One line of the audit log: who did what to whom. Admin actions and the use of admin-issued
/// credentials are written in the same commit as the action itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Timestamp,
    /// The admin key's name, `"customer"` or `"cli"`.
    pub actor: String,
    pub action: &'static str,
    pub subject: Option<CustomerId>,
    pub detail: Option<String>,
}
