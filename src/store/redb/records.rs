//! The records the store keeps, and their byte encodings. Customers are JSON (rarely read on a
//! hot path, easy to evolve); access tokens are a fixed 25-byte layout because every
//! authenticated request reads one.

use serde::{Deserialize, Serialize};

pub use crate::model::{
    AccessToken as AccessTokenRecord, CustomerId, Digest, Timestamp, TokenKind,
};
use crate::model::{
    Account, Address, AddressBook, AddressId, AuditEntry, Credentials, Customer, Lockout,
    LoginCode, OneTimeSecret, Profile, StorefrontToken, StorefrontTokenKind,
};
use crate::store::Expiring;

/// A customer as stored: one flat JSON object (the layout of files written before the domain
/// model existed, kept so they open unchanged). Only `encode_customer` and `decode_customer`
/// see it; the rest of the store works on `model::Account`.
#[derive(Default, Serialize, Deserialize)]
#[serde(
    default,
    bound(serialize = "A: Serialize + Addresses, K: Serialize + Passkeys")
)]
struct StoredCustomer<A = Vec<StoredAddress>, K = Vec<crate::model::passkey::Passkey>> {
    id: u64,
    email: String,
    firstname: Option<String>,
    lastname: Option<String>,
    middlename: Option<String>,
    prefix: Option<String>,
    suffix: Option<String>,
    date_of_birth: Option<String>,
    gender: Option<i32>,
    taxvat: Option<String>,
    is_subscribed: bool,
    phone: Option<String>,
    password_hash: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    confirmed: bool,
    /// Absent in records written before it was its own fact: read as `confirmed`, what the
    /// ID token asserted for them until then.
    email_verified: Option<bool>,
    disabled: bool,
    allow_remote_shopping_assistance: bool,
    multipass_identifier: Option<String>,
    tags: Vec<String>,
    lockout: StoredLockout,
    reset_token: Option<StoredSecret>,
    otc: Option<StoredSecret>,
    confirmation: Option<StoredSecret>,
    password_version: u32,
    /// Absent in records written before account invites (read as none).
    #[serde(skip_serializing_if = "Option::is_none")]
    activation: Option<StoredSecret>,
    /// A mailed sign-in code (absent in records written before the hosted pages had them).
    #[serde(skip_serializing_if = "Option::is_none")]
    login_code: Option<StoredSecret>,
    /// Hex; absent until the first passkey (and in records written before passkeys).
    #[serde(skip_serializing_if = "Option::is_none")]
    passkey_handle: Option<String>,
    #[serde(skip_serializing_if = "Passkeys::is_none")]
    passkeys: K,
    /// Records written before addresses existed have none.
    #[serde(skip_serializing_if = "Addresses::is_none")]
    addresses: A,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_billing: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_shipping: Option<u64>,
}

/// An address inside its customer's record.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct StoredAddress {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    firstname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lastname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    street: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    telephone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    middlename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suffix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fax: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vat_id: Option<String>,
}

impl From<&Address> for StoredAddress {
    fn from(a: &Address) -> Self {
        StoredAddress {
            id: a.id.0,
            firstname: a.firstname.clone(),
            lastname: a.lastname.clone(),
            company: a.company.clone(),
            street: a.street.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            region_code: a.region_code.clone(),
            postcode: a.postcode.clone(),
            country_code: a.country_code.clone(),
            telephone: a.telephone.clone(),
            middlename: a.middlename.clone(),
            prefix: a.prefix.clone(),
            suffix: a.suffix.clone(),
            fax: a.fax.clone(),
            vat_id: a.vat_id.clone(),
        }
    }
}

impl From<StoredAddress> for Address {
    fn from(a: StoredAddress) -> Self {
        Address {
            id: AddressId(a.id),
            firstname: a.firstname,
            lastname: a.lastname,
            company: a.company,
            street: a.street,
            city: a.city,
            region: a.region,
            region_code: a.region_code,
            postcode: a.postcode,
            country_code: a.country_code,
            telephone: a.telephone,
            middlename: a.middlename,
            prefix: a.prefix,
            suffix: a.suffix,
            fax: a.fax,
            vat_id: a.vat_id,
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
struct StoredLockout {
    failures: u32,
    first_failure: Option<Timestamp>,
    lock_expires: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct StoredSecret {
    #[serde(with = "hex_digest")]
    digest: Digest,
    created_at: Timestamp,
    expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// A sign-in code's wrong guesses so far (absent: none, and on every other secret).
    #[serde(default, skip_serializing_if = "is_zero")]
    attempts: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl From<&LoginCode> for StoredSecret {
    fn from(c: &LoginCode) -> Self {
        StoredSecret {
            attempts: c.attempts,
            ..StoredSecret::from(&c.secret)
        }
    }
}

impl From<StoredSecret> for LoginCode {
    fn from(s: StoredSecret) -> Self {
        LoginCode {
            attempts: s.attempts,
            secret: OneTimeSecret::from(s),
        }
    }
}

impl From<&OneTimeSecret> for StoredSecret {
    fn from(s: &OneTimeSecret) -> Self {
        StoredSecret {
            digest: s.digest,
            created_at: s.created_at,
            expires_at: s.expires_at,
            issued_by: s.issued_by.clone(),
            reason: s.reason.clone(),
            attempts: 0,
        }
    }
}

impl From<StoredSecret> for OneTimeSecret {
    fn from(s: StoredSecret) -> Self {
        OneTimeSecret {
            digest: s.digest,
            created_at: s.created_at,
            expires_at: s.expires_at,
            issued_by: s.issued_by,
            reason: s.reason,
        }
    }
}

/// The bytes a customer is stored as.
pub(super) fn encode_customer(a: &Account) -> Vec<u8> {
    let (c, p, k) = (&a.customer, &a.customer.profile, &a.credentials);
    let stored: StoredCustomer = StoredCustomer {
        id: c.id.0,
        email: c.email.clone(),
        firstname: p.firstname.clone(),
        lastname: p.lastname.clone(),
        middlename: p.middlename.clone(),
        prefix: p.prefix.clone(),
        suffix: p.suffix.clone(),
        date_of_birth: p.date_of_birth.clone(),
        gender: p.gender,
        taxvat: p.taxvat.clone(),
        is_subscribed: p.is_subscribed,
        phone: p.phone.clone(),
        password_hash: k.password_hash.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        confirmed: c.confirmed,
        email_verified: Some(c.email_verified),
        disabled: c.disabled,
        allow_remote_shopping_assistance: c.allow_remote_shopping_assistance,
        multipass_identifier: c.multipass_identifier.clone(),
        tags: c.tags.clone(),
        lockout: StoredLockout {
            failures: k.lockout.failures,
            first_failure: k.lockout.first_failure,
            lock_expires: k.lockout.lock_expires,
        },
        reset_token: k.reset_token.as_ref().map(StoredSecret::from),
        otc: k.otc.as_ref().map(StoredSecret::from),
        confirmation: k.confirmation.as_ref().map(StoredSecret::from),
        password_version: k.password_version,
        activation: k.activation.as_ref().map(StoredSecret::from),
        login_code: k.login_code.as_ref().map(StoredSecret::from),
        passkey_handle: k.passkey_handle.map(hex::encode),
        passkeys: k.passkeys.clone(),
        addresses: a
            .addresses
            .addresses
            .iter()
            .map(StoredAddress::from)
            .collect(),
        default_billing: a.addresses.default_billing.map(|id| id.0),
        default_shipping: a.addresses.default_shipping.map(|id| id.0),
    };
    // A struct of strings, numbers and options always serializes.
    serde_json::to_vec(&stored).unwrap_or_default()
}

/// What a decode keeps of a customer's addresses: all of them, or nothing (a session never
/// shows them: the parser skips them without building them).
trait Addresses: Default + serde::de::DeserializeOwned {
    fn is_none(&self) -> bool;
    fn into_book(self, billing: Option<u64>, shipping: Option<u64>) -> AddressBook;
}

impl Addresses for Vec<StoredAddress> {
    fn is_none(&self) -> bool {
        self.is_empty()
    }
    fn into_book(self, billing: Option<u64>, shipping: Option<u64>) -> AddressBook {
        AddressBook {
            addresses: self.into_iter().map(Address::from).collect(),
            default_billing: billing.map(AddressId),
            default_shipping: shipping.map(AddressId),
        }
    }
}

/// The passkeys as decoded: all of them, or (a session's decode) skipped unparsed.
trait Passkeys: Default + serde::de::DeserializeOwned {
    fn is_none(&self) -> bool;
    fn into_list(self) -> Vec<crate::model::passkey::Passkey>;
}

impl Passkeys for Vec<crate::model::passkey::Passkey> {
    fn is_none(&self) -> bool {
        self.is_empty()
    }
    fn into_list(self) -> Vec<crate::model::passkey::Passkey> {
        self
    }
}

impl Passkeys for serde::de::IgnoredAny {
    fn is_none(&self) -> bool {
        true
    }
    fn into_list(self) -> Vec<crate::model::passkey::Passkey> {
        Vec::new()
    }
}

impl Addresses for serde::de::IgnoredAny {
    fn is_none(&self) -> bool {
        true
    }
    fn into_book(self, _: Option<u64>, _: Option<u64>) -> AddressBook {
        AddressBook::default()
    }
}

/// The customer stored as `bytes`.
pub(super) fn decode_customer(bytes: &[u8]) -> Result<Account, super::StoreError> {
    decode::<Vec<StoredAddress>, Vec<crate::model::passkey::Passkey>>(bytes)
}

/// The customer stored as `bytes` without its addresses (an empty address book) and passkeys
/// (none): what an authenticated request needs, decoded for every request.
pub(super) fn decode_customer_for_session(bytes: &[u8]) -> Result<Account, super::StoreError> {
    decode::<serde::de::IgnoredAny, serde::de::IgnoredAny>(bytes)
}

fn decode<A: Addresses, K: Passkeys>(bytes: &[u8]) -> Result<Account, super::StoreError> {
    let s: StoredCustomer<A, K> = serde_json::from_slice(bytes)
        .map_err(|e| super::StoreError::Corrupt(format!("customer record: {e}")))?;
    Ok(Account {
        customer: Customer {
            id: CustomerId(s.id),
            email: s.email,
            profile: Profile {
                firstname: s.firstname,
                lastname: s.lastname,
                middlename: s.middlename,
                prefix: s.prefix,
                suffix: s.suffix,
                date_of_birth: s.date_of_birth,
                gender: s.gender,
                taxvat: s.taxvat,
                is_subscribed: s.is_subscribed,
                phone: s.phone,
            },
            created_at: s.created_at,
            updated_at: s.updated_at,
            confirmed: s.confirmed,
            email_verified: s.email_verified.unwrap_or(s.confirmed),
            disabled: s.disabled,
            allow_remote_shopping_assistance: s.allow_remote_shopping_assistance,
            multipass_identifier: s.multipass_identifier,
            tags: s.tags,
        },
        credentials: Credentials {
            password_hash: s.password_hash,
            password_version: s.password_version,
            lockout: Lockout {
                failures: s.lockout.failures,
                first_failure: s.lockout.first_failure,
                lock_expires: s.lockout.lock_expires,
            },
            reset_token: s.reset_token.map(OneTimeSecret::from),
            otc: s.otc.map(OneTimeSecret::from),
            confirmation: s.confirmation.map(OneTimeSecret::from),
            activation: s.activation.map(OneTimeSecret::from),
            login_code: s.login_code.map(LoginCode::from),
            passkey_handle: match &s.passkey_handle {
                None => None,
                Some(h) => Some(crate::store::codec::decode_handle(h).ok_or_else(|| {
                    super::StoreError::Corrupt(format!("customer {}: passkey handle", s.id))
                })?),
            },
            passkeys: s.passkeys.into_list(),
        },
        addresses: s.addresses.into_book(s.default_billing, s.default_shipping),
    })
}

/// An audit entry as stored: JSON with an RFC 3339 time, `customer_id` 0 when it names none
/// (the admin API shows this object as it is, with the entry's sequence number as `id`).
#[derive(Serialize, Deserialize)]
struct StoredAudit {
    at: String,
    actor: String,
    action: String,
    customer_id: u64,
    detail: Option<String>,
    /// Login as Customer entries: who issued the code and why (absent in entries written
    /// before these were fields; `decode_audit` reads those from `detail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

pub(super) fn encode_audit(entry: &AuditEntry) -> Vec<u8> {
    let stored = StoredAudit {
        at: crate::model::rfc3339(entry.at),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        customer_id: entry.subject.map_or(0, |id| id.0),
        detail: entry.detail.clone(),
        issued_by: entry.otc.as_ref().map(|o| o.issued_by.clone()),
        reason: entry.otc.as_ref().map(|o| o.reason.clone()),
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

pub(super) fn decode_audit(bytes: &[u8]) -> Result<AuditEntry, super::StoreError> {
    let s: StoredAudit = serde_json::from_slice(bytes)
        .map_err(|e| super::StoreError::Corrupt(format!("audit entry: {e}")))?;
    let at = time::OffsetDateTime::parse(&s.at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0);
    let otc = match (s.issued_by, s.reason) {
        (Some(issued_by), reason) => Some(crate::model::OtcIssue {
            issued_by,
            reason: reason.unwrap_or_default(),
        }),
        (None, _) => crate::model::OtcIssue::from_legacy(&s.action, &s.actor, s.detail.as_deref()),
    };
    Ok(AuditEntry {
        at,
        actor: s.actor,
        action: s.action,
        subject: (s.customer_id != 0).then_some(CustomerId(s.customer_id)),
        detail: s.detail,
        otc,
    })
}

impl AccessTokenRecord {
    pub(crate) fn encode(&self) -> [u8; 25] {
        let mut out = [0u8; 25];
        out[0..8].copy_from_slice(&self.customer_id.0.to_be_bytes());
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
            customer_id: CustomerId(u64::from_be_bytes(word(0))),
            issued_at: i64::from_be_bytes(word(8)),
            expires_at: i64::from_be_bytes(word(16)),
            kind,
        })
    }
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
            7 => Expiring::MailLimit,
            8 => Expiring::Activation,
            9 => Expiring::OidcCode,
            10 => Expiring::BrowserSession,
            11 => Expiring::OidcGrant,
            12 => Expiring::LoginCode,
            13 => Expiring::PasskeyChallenge,
            _ => return None,
        })
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
    s[24..32].copy_from_slice(&id.0.to_be_bytes());
    s
}

pub(crate) fn subject_customer(s: &[u8; 32]) -> CustomerId {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[24..32]);
    CustomerId(u64::from_be_bytes(w))
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

/// A storefront token as stored (JSON, keyed by the token's digest).
#[derive(Serialize, Deserialize)]
struct StoredStorefrontToken {
    id: u64,
    title: String,
    scopes: Vec<String>,
    created_at: i64,
    /// Records stored before kinds existed have none and read as public, the kind that
    /// trusts the least.
    #[serde(default = "public")]
    kind: String,
}

fn public() -> String {
    StorefrontTokenKind::Public.name().to_string()
}

pub(super) fn encode_storefront_token(t: &StorefrontToken) -> Vec<u8> {
    let stored = StoredStorefrontToken {
        id: t.id,
        title: t.title.clone(),
        scopes: t.scopes.clone(),
        created_at: t.created_at,
        kind: t.kind.name().to_string(),
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

/// `None` for a record this build cannot read (it then grants nothing).
pub(super) fn decode_storefront_token(bytes: &[u8]) -> Option<StorefrontToken> {
    let s: StoredStorefrontToken = serde_json::from_slice(bytes).ok()?;
    Some(StorefrontToken {
        id: s.id,
        title: s.title,
        scopes: s.scopes,
        created_at: s.created_at,
        kind: StorefrontTokenKind::from_name(&s.kind)?,
    })
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
    fn a_customer_record_without_addresses_reads_as_none_and_addresses_round_trip() {
        let old = br#"{"id":3,"email":"ann@example.com","confirmed":true}"#;
        let account = decode_customer(old).unwrap();
        assert_eq!(account.customer.id, CustomerId(3));
        assert_eq!(account.addresses, AddressBook::default());
        // A customer without addresses is stored as before addresses existed.
        let bytes = encode_customer(&account);
        assert!(!String::from_utf8_lossy(&bytes).contains("address"));
        let mut with = account.clone();
        with.addresses = AddressBook {
            addresses: vec![Address {
                id: AddressId(9),
                street: vec!["1 Main St".into()],
                country_code: Some("US".into()),
                ..Address::default()
            }],
            default_billing: None,
            default_shipping: Some(AddressId(9)),
        };
        assert_eq!(decode_customer(&encode_customer(&with)).unwrap(), with);
        // A session's decode skips the addresses and keeps everything else.
        let session = decode_customer_for_session(&encode_customer(&with)).unwrap();
        assert_eq!(session.addresses, AddressBook::default());
        assert_eq!(
            (session.customer, session.credentials),
            (with.customer.clone(), with.credentials.clone())
        );
    }

    #[test]
    fn passkeys_round_trip_and_a_sessions_decode_skips_them() {
        let mut with = Account::default();
        with.customer.id = CustomerId(5);
        with.customer.email = "ann@example.com".into();
        with.credentials.passkey_handle = Some([3; 16]);
        with.credentials.passkeys = vec![crate::model::passkey::Passkey {
            id: vec![1, 2, 3],
            name: "Phone".into(),
            created_at: 10,
            last_used_at: Some(20),
            counter: 4,
            backup_eligible: true,
            backup_state: true,
            transports: vec!["internal".into()],
            credential: r#"{"cred_id":"AQID"}"#.into(),
        }];
        let bytes = encode_customer(&with);
        assert_eq!(decode_customer(&bytes).unwrap(), with);
        let session = decode_customer_for_session(&bytes).unwrap();
        assert!(session.credentials.passkeys.is_empty());
        assert_eq!(session.credentials.passkey_handle, Some([3; 16]));
        assert_eq!(session.customer, with.customer);
        // A record without passkeys writes no passkey fields (files from before read alike).
        let plain = encode_customer(&Account::default());
        assert!(!String::from_utf8_lossy(&plain).contains("passkey"));
    }

    #[test]
    fn a_customer_record_without_email_verified_reads_it_as_confirmed() {
        let confirmed = br#"{"id":3,"email":"ann@example.com","confirmed":true}"#;
        assert!(decode_customer(confirmed).unwrap().customer.email_verified);
        let unconfirmed = br#"{"id":4,"email":"bo@example.com","confirmed":false}"#;
        assert!(
            !decode_customer(unconfirmed)
                .unwrap()
                .customer
                .email_verified
        );
        // Once written with the field, it is its own fact: confirmed but not verified stays so.
        let mut account = decode_customer(confirmed).unwrap();
        account.customer.email_verified = false;
        let bytes = encode_customer(&account);
        assert!(String::from_utf8_lossy(&bytes).contains(r#""email_verified":false"#));
        let back = decode_customer_for_session(&bytes).unwrap().customer;
        assert!(back.confirmed && !back.email_verified);
    }

    #[test]
    fn token_record_round_trips() {
        let r = AccessTokenRecord {
            customer_id: CustomerId(7),
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
        let token = decode_storefront_token(old).unwrap();
        assert_eq!(token.kind, StorefrontTokenKind::Public);
        let private = StorefrontToken {
            kind: StorefrontTokenKind::Private,
            ..token
        };
        let bytes = encode_storefront_token(&private);
        assert!(String::from_utf8_lossy(&bytes).contains(r#""kind":"private""#));
        assert_eq!(decode_storefront_token(&bytes), Some(private));
        assert_eq!(
            decode_storefront_token(
                br#"{"id":1,"title":"x","scopes":[],"created_at":0,"kind":"root"}"#
            ),
            None
        );
    }
}
