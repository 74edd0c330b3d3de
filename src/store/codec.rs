//! Encodings both backends store as they are: the admin console's records, as JSON (a handful
//! of rows, never on a customer's hot path). redb keeps the bytes as a table value; PostgreSQL
//! in a `BYTEA` column, so `storekey migrate` copies them unchanged.

use super::StoreError;
use crate::model::passkey::{Passkey, UserHandle};
use crate::model::{AdminSession, AdminUser, Lockout, OneTimeSecret, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct StoredAdmin {
    name: String,
    password_hash: Option<String>,
    /// Hex.
    totp_secret: Option<String>,
    totp_last_step: Option<i64>,
    failures: u32,
    first_failure: Option<Timestamp>,
    lock_expires: Option<Timestamp>,
    /// Hex digest of the setup code, with its times.
    setup_digest: Option<String>,
    setup_created_at: Timestamp,
    setup_expires_at: Timestamp,
    created_at: Timestamp,
    /// Absent in records written before the permission existed: not given.
    assistance_consent: bool,
    /// Hex; absent until the first passkey.
    #[serde(skip_serializing_if = "Option::is_none")]
    passkey_handle: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    passkeys: Vec<Passkey>,
}

/// A user handle from its hex form.
pub(crate) fn decode_handle(hex_text: &str) -> Option<UserHandle> {
    let mut handle = [0u8; 16];
    hex::decode_to_slice(hex_text, &mut handle).ok()?;
    Some(handle)
}

pub(super) fn encode_admin(a: &AdminUser) -> Vec<u8> {
    let stored = StoredAdmin {
        name: a.name.clone(),
        password_hash: a.password_hash.clone(),
        totp_secret: a.totp_secret.map(hex::encode),
        totp_last_step: a.totp_last_step,
        failures: a.lockout.failures,
        first_failure: a.lockout.first_failure,
        lock_expires: a.lockout.lock_expires,
        setup_digest: a.setup.as_ref().map(|s| hex::encode(s.digest)),
        setup_created_at: a.setup.as_ref().map_or(0, |s| s.created_at),
        setup_expires_at: a.setup.as_ref().map_or(0, |s| s.expires_at),
        created_at: a.created_at,
        assistance_consent: a.assistance_consent,
        passkey_handle: a.passkey_handle.map(hex::encode),
        passkeys: a.passkeys.clone(),
    };
    // Strings, numbers and options always serialize.
    serde_json::to_vec(&stored).unwrap_or_default()
}

pub(super) fn decode_admin(bytes: &[u8]) -> Result<AdminUser, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("admin user record: {what}"));
    let s: StoredAdmin = serde_json::from_slice(bytes).map_err(|e| corrupt(&e.to_string()))?;
    let totp_secret = match &s.totp_secret {
        None => None,
        Some(h) => {
            let mut b = [0u8; 20];
            hex::decode_to_slice(h, &mut b).map_err(|_| corrupt("totp secret"))?;
            Some(b)
        }
    };
    let setup = match &s.setup_digest {
        None => None,
        Some(h) => {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(h, &mut digest).map_err(|_| corrupt("setup digest"))?;
            Some(OneTimeSecret {
                digest,
                created_at: s.setup_created_at,
                expires_at: s.setup_expires_at,
                issued_by: None,
                reason: None,
            })
        }
    };
    Ok(AdminUser {
        name: s.name,
        password_hash: s.password_hash,
        totp_secret,
        totp_last_step: s.totp_last_step,
        lockout: Lockout {
            failures: s.failures,
            first_failure: s.first_failure,
            lock_expires: s.lock_expires,
        },
        setup,
        created_at: s.created_at,
        assistance_consent: s.assistance_consent,
        passkey_handle: match &s.passkey_handle {
            None => None,
            Some(h) => Some(decode_handle(h).ok_or_else(|| corrupt("passkey handle"))?),
        },
        passkeys: s.passkeys,
    })
}

#[derive(Serialize, Deserialize)]
struct StoredSession {
    admin: String,
    created_at: Timestamp,
    last_seen: Timestamp,
}

pub(super) fn encode_session(s: &AdminSession) -> Vec<u8> {
    serde_json::to_vec(&StoredSession {
        admin: s.admin.clone(),
        created_at: s.created_at,
        last_seen: s.last_seen,
    })
    .unwrap_or_default()
}

pub(super) fn decode_session(bytes: &[u8]) -> Result<AdminSession, StoreError> {
    let s: StoredSession = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("admin session record: {e}")))?;
    Ok(AdminSession {
        admin: s.admin,
        created_at: s.created_at,
        last_seen: s.last_seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_user_survives_its_encoding() {
        let user = AdminUser {
            name: "alice".into(),
            password_hash: Some("$argon2id$x".into()),
            totp_secret: Some([7; 20]),
            totp_last_step: Some(56_666_666),
            lockout: Lockout {
                failures: 2,
                first_failure: Some(10),
                lock_expires: None,
            },
            setup: Some(OneTimeSecret {
                digest: [9; 32],
                created_at: 5,
                expires_at: 50,
                issued_by: None,
                reason: None,
            }),
            created_at: 5,
            assistance_consent: true,
            passkey_handle: Some([4; 16]),
            passkeys: vec![Passkey {
                id: vec![1, 2, 3],
                name: "Phone".into(),
                created_at: 6,
                last_used_at: Some(8),
                counter: 4,
                backup_eligible: true,
                backup_state: false,
                transports: vec!["internal".into()],
                credential: "{}".into(),
            }],
        };
        assert_eq!(decode_admin(&encode_admin(&user)).ok(), Some(user));
    }

    #[test]
    fn an_admin_user_stored_before_the_consent_permission_has_none() {
        let old = br#"{"name":"bob","password_hash":null,"created_at":5}"#;
        let user = decode_admin(old).unwrap();
        assert_eq!(
            (user.name.as_str(), user.assistance_consent),
            ("bob", false)
        );
    }
}
