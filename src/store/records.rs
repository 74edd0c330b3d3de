//! The records the store keeps, and their byte encodings. Customers are JSON (rarely read on a
//! hot path, easy to evolve); access tokens are a fixed 25-byte layout because every
//! authenticated request reads one.

use serde::{Deserialize, Serialize};

pub use crate::model::{
    AccessToken as AccessTokenRecord, CustomerId, Digest, Timestamp, TokenKind,
};
use crate::model::{Customer, Profile};

/// Adobe Commerce's lockout columns (`failures_num`, `first_failure`, `lock_expires`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    pub failures: u32,
    pub first_failure: Option<Timestamp>,
    pub lock_expires: Option<Timestamp>,
}

/// A live one-time secret attached to a customer (reset token, admin code, confirmation key):
/// only its digest, so a copy of the database signs nobody in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeSecret {
    #[serde(with = "hex_digest")]
    pub digest: Digest,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// For admin codes: the admin key's name and the reason given, repeated in the audit entry
    /// written when the code is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl std::fmt::Debug for OneTimeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimeSecret")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerRecord {
    pub id: CustomerId,
    /// As the customer typed it; uniqueness is on the lower-cased form.
    pub email: String,
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
    /// argon2id PHC string; `None` for customers created by Multipass or by an admin without one.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub confirmed: bool,
    pub disabled: bool,
    pub allow_remote_shopping_assistance: bool,
    pub multipass_identifier: Option<String>,
    pub tags: Vec<String>,
    pub lockout: Lockout,
    pub reset_token: Option<OneTimeSecret>,
    pub otc: Option<OneTimeSecret>,
    pub confirmation: Option<OneTimeSecret>,
    /// Bumped on every password change; lets in-flight sign-ins notice they raced a change.
    pub password_version: u32,
}

impl std::fmt::Debug for CustomerRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("disabled", &self.disabled)
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

impl CustomerRecord {
    /// The lookup key of an email: trimmed, NFC, lower case (then NFC again: lower-casing can
    /// leave a sequence that composes), so case and Unicode form never make two accounts.
    pub fn email_key(email: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        crate::auth::normalize_email(email)
            .to_lowercase()
            .nfc()
            .collect()
    }

    /// What a dialect may see of this customer.
    pub fn customer(&self) -> Customer {
        Customer {
            id: self.id,
            email: self.email.clone(),
            profile: self.profile(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            confirmed: self.confirmed,
            disabled: self.disabled,
            allow_remote_shopping_assistance: self.allow_remote_shopping_assistance,
            multipass_identifier: self.multipass_identifier.clone(),
            tags: self.tags.clone(),
        }
    }

    pub fn profile(&self) -> Profile {
        Profile {
            firstname: self.firstname.clone(),
            lastname: self.lastname.clone(),
            middlename: self.middlename.clone(),
            prefix: self.prefix.clone(),
            suffix: self.suffix.clone(),
            date_of_birth: self.date_of_birth.clone(),
            gender: self.gender,
            taxvat: self.taxvat.clone(),
            is_subscribed: self.is_subscribed,
            phone: self.phone.clone(),
        }
    }

    pub fn set_profile(&mut self, p: Profile) {
        self.firstname = p.firstname;
        self.lastname = p.lastname;
        self.middlename = p.middlename;
        self.prefix = p.prefix;
        self.suffix = p.suffix;
        self.date_of_birth = p.date_of_birth;
        self.gender = p.gender;
        self.taxvat = p.taxvat;
        self.is_subscribed = p.is_subscribed;
        self.phone = p.phone;
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // A struct of strings, numbers and options always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, super::StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| super::StoreError::Corrupt(format!("customer record: {e}")))
    }
}

impl AccessTokenRecord {
    pub(crate) fn encode(&self) -> [u8; 25] {
        let mut out = [0u8; 25];
        out[0..8].copy_from_slice(&self.customer_id.to_be_bytes());
        out[8..16].copy_from_slice(&self.issued_at.to_be_bytes());
        out[16..24].copy_from_slice(&self.expires_at.to_be_bytes());
        out[24] = self.kind as u8;
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, super::StoreError> {
        let corrupt = || super::StoreError::Corrupt("access token record".into());
        if bytes.len() != 25 {
            return Err(corrupt());
        }
        let word = |i: usize| -> [u8; 8] {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i..i + 8]);
            w
        };
        let kind = match bytes[24] {
            1 => TokenKind::Commerce,
            2 => TokenKind::Storefront,
            _ => return Err(corrupt()),
        };
        Ok(AccessTokenRecord {
            customer_id: u64::from_be_bytes(word(0)),
            issued_at: i64::from_be_bytes(word(8)),
            expires_at: i64::from_be_bytes(word(16)),
            kind,
        })
    }
}

/// What an expiry-index entry points at, so the sweeper knows where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiring {
    AccessToken = 1,
    ResetToken = 2,
    Otc = 3,
    Confirmation = 4,
    MultipassReplay = 5,
    Lockout = 6,
}

impl Expiring {
    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Expiring::AccessToken,
            2 => Expiring::ResetToken,
            3 => Expiring::Otc,
            4 => Expiring::Confirmation,
            5 => Expiring::MultipassReplay,
            6 => Expiring::Lockout,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Expiring::AccessToken => "access_token",
            Expiring::ResetToken => "reset_token",
            Expiring::Otc => "otc",
            Expiring::Confirmation => "confirmation",
            Expiring::MultipassReplay => "multipass_replay",
            Expiring::Lockout => "lockout",
        }
    }
}

/// Expiry-index key: big-endian expiry first so a range scan from the start finds exactly what
/// has expired; the kind and the 32-byte subject make it unique.
pub(crate) fn expiry_key(expires_at: Timestamp, kind: Expiring, subject: &[u8; 32]) -> [u8; 41] {
    let mut key = [0u8; 41];
    // Offset so negative times (never expected) still sort before positive ones.
    key[0..8].copy_from_slice(&((expires_at as u64) ^ (1 << 63)).to_be_bytes());
    key[8] = kind as u8;
    key[9..41].copy_from_slice(subject);
    key
}

pub(crate) fn expiry_key_bound(expires_at: Timestamp) -> [u8; 8] {
    ((expires_at as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn parse_expiry_key(key: &[u8]) -> Option<(Timestamp, Expiring, Digest)> {
    if key.len() != 41 {
        return None;
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&key[0..8]);
    let expires_at = (u64::from_be_bytes(t) ^ (1 << 63)) as i64;
    let kind = Expiring::from_byte(key[8])?;
    let mut subject = [0u8; 32];
    subject.copy_from_slice(&key[9..41]);
    Some((expires_at, kind, subject))
}

/// A customer id as an expiry subject (lockout and per-customer codes are keyed by customer).
pub(crate) fn customer_subject(id: CustomerId) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[24..32].copy_from_slice(&id.to_be_bytes());
    s
}

pub(crate) fn subject_customer(s: &[u8; 32]) -> CustomerId {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[24..32]);
    u64::from_be_bytes(w)
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("digest must be 32 bytes"))
    }
}

/// Which header a token works in: public in `X-Shopify-Storefront-Access-Token` (browsers),
/// private in `Shopify-Storefront-Private-Token` (servers, which may pass the buyer's IP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// A storefront token as stored (keyed by the token's digest). Its `id` is assigned by the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorefrontToken {
    pub id: u64,
    pub title: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    /// Records stored before kinds existed have none and read as public, the kind that
    /// trusts the least.
    #[serde(default)]
    pub kind: StorefrontTokenKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_keys_sort_by_time() {
        let a = expiry_key(100, Expiring::Otc, &[9; 32]);
        let b = expiry_key(101, Expiring::AccessToken, &[0; 32]);
        assert!(a < b);
        assert!(expiry_key(-5, Expiring::Otc, &[0; 32]) < a);
        assert_eq!(parse_expiry_key(&a), Some((100, Expiring::Otc, [9; 32])));
    }

    #[test]
    fn token_record_round_trips() {
        let r = AccessTokenRecord {
            customer_id: 7,
            issued_at: 1,
            expires_at: 99,
            kind: TokenKind::Storefront,
        };
        assert_eq!(AccessTokenRecord::decode(&r.encode()).unwrap(), r);
        assert!(AccessTokenRecord::decode(&[0; 3]).is_err());
    }

    #[test]
    fn a_stored_token_without_a_kind_reads_as_public() {
        let old = br#"{"id":7,"title":"web","scopes":["unauthenticated_write_customers"],"created_at":0}"#;
        let token: StorefrontToken = serde_json::from_slice(old).unwrap();
        assert_eq!(token.kind, StorefrontTokenKind::Public);
        let private = StorefrontToken {
            kind: StorefrontTokenKind::Private,
            ..token
        };
        let bytes = serde_json::to_vec(&private).unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains(r#""kind":"private""#));
        assert_eq!(
            serde_json::from_slice::<StorefrontToken>(&bytes).unwrap(),
            private
        );
    }
}
