//! The domain vocabulary every layer shares: customers as a dialect may see them, their
//! credentials (which never leave the core), tokens and audit entries. No storage encoding and
//! no HTTP here: the store converts its records to and from these types, the dialects render them.

/// A customer's number, as the store assigns it (1, 2, 3, …; 0 names nobody). Both dialects and
/// the admin API show it as a number (Commerce's `uid` is its base64).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct CustomerId(pub u64);

impl std::fmt::Display for CustomerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

/// SHA-256 of a secret. Nothing keeps a secret itself, only this.
pub type Digest = [u8; 32];

/// The optional profile fields a customer or an admin may set. A new field is added here, in
/// `ProfileChanges` (field and `apply`) and in the store's encoding (`store::records`, the record
/// and its two conversions); every other layer passes a whole `Profile` or `ProfileChanges`.
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
    /// Whether the address is proven to be the customer's (a mailed key, code or reset token
    /// was used with it) or vouched for by the merchant (admin, import, Multipass): what an
    /// ID token's `email_verified` says. Not `confirmed`, which an email change keeps; a
    /// change of address clears this in the same write.
    pub email_verified: bool,
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
    /// What happened: `customer_created`, `otc_issued`, `otc_used`, `token_as_admin`, ….
    pub action: String,
    pub subject: Option<CustomerId>,
    pub detail: Option<String>,
    /// On the issue and the use of an admin one-time code (Login as Customer): who issued it
    /// and why, as fields (the Login as Customer log reads these, never `detail`).
    pub otc: Option<OtcIssue>,
}

/// Who issued an admin one-time code, and the reason they gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtcIssue {
    pub issued_by: String,
    pub reason: String,
}

impl OtcIssue {
    /// The fields of an entry written before they were recorded as such, read once from its
    /// text: an issue's actor and detail, or a use's "issued by NAME; reason: TEXT".
    pub fn from_legacy(action: &str, actor: &str, detail: Option<&str>) -> Option<OtcIssue> {
        let detail = detail.unwrap_or_default();
        match LacAction::from_audit(action)? {
            LacAction::Issued => Some(OtcIssue {
                issued_by: actor.to_string(),
                reason: detail.to_string(),
            }),
            LacAction::Used => {
                let rest = detail.strip_prefix("issued by ").unwrap_or(detail);
                let (by, reason) = rest.split_once("; reason: ").unwrap_or((rest, ""));
                Some(OtcIssue {
                    issued_by: by.to_string(),
                    reason: reason.to_string(),
                })
            }
        }
    }
}

/// What a line of the Login as Customer log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LacAction {
    /// An admin issued a one-time code (`otc_issued`).
    Issued,
    /// The customer's session was opened with it (`otc_used`).
    Used,
}

impl LacAction {
    /// The audit action this is.
    pub fn audit_action(self) -> &'static str {
        match self {
            LacAction::Issued => "otc_issued",
            LacAction::Used => "otc_used",
        }
    }

    pub fn from_audit(action: &str) -> Option<LacAction> {
        match action {
            "otc_issued" => Some(LacAction::Issued),
            "otc_used" => Some(LacAction::Used),
            _ => None,
        }
    }
}

/// One line of the Login as Customer log, with the customer's email as it is now (`None`
/// once the customer is deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LacEntry {
    /// The audit entry's sequence number: the log's key, newest highest.
    pub seq: u64,
    pub at: Timestamp,
    pub action: LacAction,
    pub customer: CustomerId,
    pub customer_email: Option<String>,
    pub issued_by: String,
    pub reason: String,
}

/// Which lines of the Login as Customer log to read; `None` takes every value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LacFilter {
    pub customer: Option<CustomerId>,
    pub issued_by: Option<String>,
    pub action: Option<LacAction>,
    /// From this time on (inclusive).
    pub from: Option<Timestamp>,
    /// Before this time (exclusive).
    pub until: Option<Timestamp>,
}

impl LacFilter {
    /// Whether a line passes: the one definition both backends' results are tested against.
    pub fn admits(&self, e: &LacEntry) -> bool {
        self.customer.is_none_or(|c| c == e.customer)
            && self.issued_by.as_ref().is_none_or(|b| *b == e.issued_by)
            && self.action.is_none_or(|a| a == e.action)
            && self.from.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at < t)
    }
}

/// Whether a customer matches a console search for `term` (already lowercased): its email or
/// its "first last" name contains it, compared in lower case. The empty term matches all.
pub fn customer_matches(c: &Customer, term: &str) -> bool {
    let name = format!(
        "{} {}",
        c.profile.firstname.as_deref().unwrap_or(""),
        c.profile.lastname.as_deref().unwrap_or("")
    );
    term.is_empty() || c.email.to_lowercase().contains(term) || name.to_lowercase().contains(term)
}

/// A partial profile update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub middlename: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<i32>,
    pub taxvat: Option<String>,
    pub is_subscribed: Option<bool>,
    pub phone: Option<String>,
}

impl ProfileChanges {
    /// Copies every given field into `profile`.
    pub fn apply(&self, profile: &mut Profile) {
        fn set<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
            if let Some(v) = v {
                *slot = Some(v.clone());
            }
        }
        set(&mut profile.firstname, &self.firstname);
        set(&mut profile.lastname, &self.lastname);
        set(&mut profile.middlename, &self.middlename);
        set(&mut profile.prefix, &self.prefix);
        set(&mut profile.suffix, &self.suffix);
        set(&mut profile.date_of_birth, &self.date_of_birth);
        set(&mut profile.gender, &self.gender);
        set(&mut profile.taxvat, &self.taxvat);
        set(&mut profile.phone, &self.phone);
        if let Some(v) = self.is_subscribed {
            profile.is_subscribed = v;
        }
    }
}

/// A profile text field, named for the refusal of one that is too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    Firstname,
    Lastname,
    Middlename,
    Prefix,
    Suffix,
    DateOfBirth,
    Taxvat,
    Phone,
}

/// The first field over [`MAX_FIELD_CHARS`] characters, in the order given.
fn first_too_long<'a>(
    fields: impl IntoIterator<Item = (ProfileField, Option<&'a String>)>,
) -> Option<ProfileField> {
    fields
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| v.chars().count() > MAX_FIELD_CHARS))
        .map(|(f, _)| f)
}

/// The text fields of a [`Profile`] or a [`ProfileChanges`] (the same names in both), each with
/// the field it is.
macro_rules! text_fields {
    ($p:expr) => {
        [
            (ProfileField::Firstname, $p.firstname.as_ref()),
            (ProfileField::Lastname, $p.lastname.as_ref()),
            (ProfileField::Middlename, $p.middlename.as_ref()),
            (ProfileField::Prefix, $p.prefix.as_ref()),
            (ProfileField::Suffix, $p.suffix.as_ref()),
            (ProfileField::DateOfBirth, $p.date_of_birth.as_ref()),
            (ProfileField::Taxvat, $p.taxvat.as_ref()),
            (ProfileField::Phone, $p.phone.as_ref()),
        ]
    };
}

impl Profile {
    /// The first text field longer than [`MAX_FIELD_CHARS`], if any.
    pub fn too_long(&self) -> Option<ProfileField> {
        first_too_long(text_fields!(self))
    }
}

impl ProfileChanges {
    /// The first given text field longer than [`MAX_FIELD_CHARS`], if any.
    pub fn too_long(&self) -> Option<ProfileField> {
        first_too_long(text_fields!(self))
    }
}

/// Adobe Commerce's lockout columns (`failures_num`, `first_failure`, `lock_expires`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockout {
    pub failures: u32,
    pub first_failure: Option<Timestamp>,
    pub lock_expires: Option<Timestamp>,
}

/// A live one-time secret attached to a customer (reset token, admin code, confirmation key,
/// account activation token):
/// only its digest, so a copy of the database signs nobody in.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeSecret {
    pub digest: Digest,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// For admin codes: the admin key's name and the reason given, repeated in the audit entry
    /// written when the code is used.
    pub issued_by: Option<String>,
    pub reason: Option<String>,
}

impl std::fmt::Debug for OneTimeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimeSecret")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What proves a customer is who they say: the password hash, the lockout and the live one-time
/// secrets. The core decides with it; it is never handed to a dialect.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A PHC string (argon2id for passwords set here); `None` for customers created by Multipass
    /// or by an admin without one.
    pub password_hash: Option<String>,
    /// Bumped on every password change; lets in-flight sign-ins notice they raced a change.
    pub password_version: u32,
    pub lockout: Lockout,
    pub reset_token: Option<OneTimeSecret>,
    pub otc: Option<OneTimeSecret>,
    pub confirmation: Option<OneTimeSecret>,
    /// An account invite's activation token (Shopify's `customerActivate`): an admin issued it,
    /// the customer sets their first password with it.
    pub activation: Option<OneTimeSecret>,
    /// A sign-in code mailed to the address (the hosted pages' "email me a code").
    pub login_code: Option<LoginCode>,
    /// The customer's WebAuthn user handle, given with their first passkey.
    pub passkey_handle: Option<passkey::UserHandle>,
    /// Registered passkeys, oldest first (at most `passkey::MAX_PASSKEYS`).
    pub passkeys: Vec<passkey::Passkey>,
}

/// A six-digit sign-in code mailed to the customer, and the wrong guesses at it so far (a few
/// void it: six digits cannot stand many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCode {
    pub secret: OneTimeSecret,
    pub attempts: u32,
}

impl Credentials {
    /// Whether the stored hash is one this service wrote (argon2, as every password set,
    /// changed or upgraded here is) rather than one imported from elsewhere: an import's
    /// `update` replaces only the latter, since the former is the customer's own by now.
    pub fn has_password_set_here(&self) -> bool {
        self.password_hash
            .as_deref()
            .is_some_and(|h| h.trim_start().starts_with("$argon2"))
    }

    /// A new password: bumps the version (a sign-in that verified the old one loses its
    /// commit), voids a live reset token and a live activation token (the customer has a
    /// password now, however it was set) and ends the lockout.
    pub fn set_password(&mut self, hash: String) {
        self.password_hash = Some(hash);
        self.password_version = self.password_version.wrapping_add(1);
        self.reset_token = None;
        self.activation = None;
        self.lockout = Lockout::default();
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("password_version", &self.password_version)
            .field("lockout", &self.lockout)
            .finish_non_exhaustive()
    }
}

/// A customer with their credentials: what the store keeps and the core edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    pub customer: Customer,
    pub credentials: Credentials,
    /// The customer's addresses; edited only by the store's address operations (a customer
    /// edit never writes them).
    pub addresses: AddressBook,
}

/// The lookup key of an email: trimmed, NFC, lower case (then NFC again: lower-casing can leave a
/// sequence that composes), so case and Unicode form never make two accounts. ASCII, which is
/// already NFC, skips the normalisation (one pass instead of four, on every sign-in).
pub fn email_key(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut kept = normalize_email(email);
    if kept.is_ascii() {
        kept.make_ascii_lowercase();
        return kept;
    }
    kept.to_lowercase().nfc().collect()
}

/// An email as storekey keeps it: trimmed and in Unicode NFC, so a composed and a decomposed
/// `josé@` are one address (lookups also lower-case it: `email_key`).
pub fn normalize_email(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let trimmed = email.trim();
    if trimmed.is_ascii() {
        return trimmed.to_string();
    }
    trimmed.nfc().collect()
}

/// A time as RFC 3339 (`2026-11-27T12:00:00Z`), as the audit log and the admin API show it.
pub fn rfc3339(t: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Which header a token works in: public in `X-Shopify-Storefront-Access-Token` (browsers),
/// private in `Shopify-Storefront-Private-Token` (servers, which may pass the buyer's IP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorefrontTokenKind {
    #[default]
    Public,
    Private,
}

impl StorefrontTokenKind {
    /// The names an admin may give, in the order error messages list them.
    pub const NAMES: &'static [&'static str] = &["public", "private"];

    pub fn name(self) -> &'static str {
        match self {
            StorefrontTokenKind::Public => "public",
            StorefrontTokenKind::Private => "private",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "public" => Some(StorefrontTokenKind::Public),
            "private" => Some(StorefrontTokenKind::Private),
            _ => None,
        }
    }
}

/// A storefront token: what it may do and in which header (the token itself is shown once and
/// only its digest is kept). Its `id` is assigned by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorefrontToken {
    pub id: u64,
    pub title: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub kind: StorefrontTokenKind,
}

/// A person who signs in to the admin console (`/admin`): a name, a password and a TOTP second
/// factor, both set at first sign-in through a one-time setup code. Scripts use admin keys.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AdminUser {
    pub name: String,
    /// A PHC string; `None` until setup.
    pub password_hash: Option<String>,
    /// The TOTP secret (RFC 6238); `None` until enrolled.
    pub totp_secret: Option<[u8; 20]>,
    /// The last TOTP step accepted: a code signs in once.
    pub totp_last_step: Option<i64>,
    pub lockout: Lockout,
    /// The live setup code (its digest), until setup completes.
    pub setup: Option<OneTimeSecret>,
    pub created_at: Timestamp,
    /// May grant or withdraw a customer's consent to remote shopping assistance (which opens
    /// Login as Customer): its own permission, off unless given, so an admin cannot grant
    /// consent a customer did not and then sign in as them.
    pub assistance_consent: bool,
    /// The admin's WebAuthn user handle, given with their first passkey.
    pub passkey_handle: Option<passkey::UserHandle>,
    /// Registered passkeys (a second factor beside TOTP, or the whole sign-in with
    /// `admin.passkey_only`), oldest first.
    pub passkeys: Vec<passkey::Passkey>,
}

impl AdminUser {
    /// Set up: a password and an enrolled second factor.
    pub fn is_set_up(&self) -> bool {
        self.password_hash.is_some() && self.totp_secret.is_some()
    }
}

impl std::fmt::Debug for AdminUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUser")
            .field("name", &self.name)
            .field("lockout", &self.lockout)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A signed-in console session (its cookie token is kept only as a digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub admin: String,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
}

mod address;
pub mod import;
pub mod oidc;
pub mod passkey;
pub use address::*;

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    /// The normalisation every email went through before the ASCII shortcut.
    fn full_key(email: &str) -> String {
        let kept: String = email.trim().nfc().collect();
        kept.to_lowercase().nfc().collect()
    }

    #[test]
    fn the_ascii_shortcut_gives_the_keys_full_normalisation_gives() {
        let random = crate::auth::secret::SeededRandom::new(11);
        let mut emails: Vec<String> = [
            " Bob@Example.COM\t",
            "bob@example.com",
            "JOSE\u{301}@x.io",
            "jos\u{e9}@x.io",
            "\u{a0}anna@x.io\u{3000}",
            "\u{130}stanbul@x.io",
            "",
            "   ",
        ]
        .map(String::from)
        .to_vec();
        // Random ASCII, control characters and whitespace included.
        for _ in 0..2000 {
            let len = random.below(24);
            emails.push((0..len).map(|_| (random.byte() & 0x7f) as char).collect());
        }
        for email in &emails {
            assert_eq!(email_key(email), full_key(email), "{email:?}");
            let kept: String = email.trim().nfc().collect();
            assert_eq!(normalize_email(email), kept, "{email:?}");
        }
        assert_eq!(email_key(" Bob@Example.COM\t"), "bob@example.com");
        assert_eq!(email_key("JOSE\u{301}@x.io"), "jos\u{e9}@x.io");
    }
}

#[cfg(test)]
mod lac_tests {
    use super::*;

    #[test]
    fn a_legacy_code_entry_reads_its_fields_from_its_text() {
        let used = OtcIssue::from_legacy(
            "otc_used",
            "customer",
            Some("issued by ops; reason: call; reason: twice"),
        );
        assert_eq!(
            used,
            Some(OtcIssue {
                issued_by: "ops".into(),
                reason: "call; reason: twice".into()
            })
        );
        let issued = OtcIssue::from_legacy("otc_issued", "sam", Some("ticket 7"));
        assert_eq!(
            issued,
            Some(OtcIssue {
                issued_by: "sam".into(),
                reason: "ticket 7".into()
            })
        );
        assert_eq!(OtcIssue::from_legacy("customer_updated", "ops", None), None);
    }
}
