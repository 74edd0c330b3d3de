//! The admin console's records: admin users (by name) and their sessions (by the digest of the
//! cookie token), with the named operations the core's `auth::admin_users` calls. Both are JSON
//! (a handful of rows, never on a customer's hot path).

use super::*;
use crate::model::{AdminSession, AdminUser, OneTimeSecret};
use serde::{Deserialize, Serialize};

pub(super) const ADMIN_USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("admin_users");
pub(super) const ADMIN_SESSIONS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("admin_sessions");

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
}

pub(in crate::store) fn encode_admin(a: &AdminUser) -> Vec<u8> {
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
    };
    // Strings, numbers and options always serialize.
    serde_json::to_vec(&stored).unwrap_or_default()
}

pub(in crate::store) fn decode_admin(bytes: &[u8]) -> Result<AdminUser, StoreError> {
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
    })
}

#[derive(Serialize, Deserialize)]
struct StoredSession {
    admin: String,
    created_at: Timestamp,
    last_seen: Timestamp,
}

pub(in crate::store) fn encode_session(s: &AdminSession) -> Vec<u8> {
    serde_json::to_vec(&StoredSession {
        admin: s.admin.clone(),
        created_at: s.created_at,
        last_seen: s.last_seen,
    })
    .unwrap_or_default()
}

pub(in crate::store) fn decode_session(bytes: &[u8]) -> Result<AdminSession, StoreError> {
    let s: StoredSession = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("admin session record: {e}")))?;
    Ok(AdminSession {
        admin: s.admin,
        created_at: s.created_at,
        last_seen: s.last_seen,
    })
}

/// What an edit of an admin user decided: the outcome handed back, whether to save the edited
/// record, a session to open and an audit entry, all in the same commit.
pub struct AdminEdit<T> {
    pub outcome: T,
    pub save: bool,
    pub session: Option<(Digest, AdminSession)>,
    pub audit: Option<AuditEntry>,
}

impl<T> AdminEdit<T> {
    /// Write nothing.
    pub fn refuse(outcome: T) -> Self {
        AdminEdit {
            outcome,
            save: false,
            session: None,
            audit: None,
        }
    }
}

impl Tx<'_> {
    fn admin_user(&mut self, name: &str) -> Result<Option<AdminUser>, StoreError> {
        let found = self.admin_users()?.get(name)?;
        found.map(|v| decode_admin(v.value())).transpose()
    }

    fn put_admin_user(&mut self, a: &AdminUser) -> Result<(), StoreError> {
        self.admin_users()?
            .insert(a.name.as_str(), encode_admin(a).as_slice())?;
        Ok(())
    }
}

impl RedbStore {
    /// Stores a new admin user; false (nothing written) when the name is taken.
    pub async fn create_admin_user(
        &self,
        user: AdminUser,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            if tx.admin_user(&user.name)?.is_some() {
                return Ok(false);
            }
            tx.put_admin_user(&user)?;
            ops::append(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    /// Edits one admin user: `edit` decides on a copy; `None` when there is no such user.
    /// Opening a session also drops every session idle for `idle_seconds` or more.
    pub async fn update_admin_user<T, F>(
        &self,
        name: String,
        idle_seconds: i64,
        edit: F,
    ) -> Result<Option<T>, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AdminUser) -> AdminEdit<T> + Send + 'static,
    {
        self.write(move |tx| {
            let Some(mut user) = tx.admin_user(&name)? else {
                return Ok(None);
            };
            let decided = edit(&mut user);
            if decided.save {
                user.name = name;
                tx.put_admin_user(&user)?;
            }
            if let Some((digest, session)) = &decided.session {
                let stale: Vec<Vec<u8>> = {
                    let mut out = Vec::new();
                    for entry in tx.admin_sessions()?.iter()? {
                        let (k, v) = entry?;
                        let s = decode_session(v.value())?;
                        if s.last_seen + idle_seconds <= session.created_at {
                            out.push(k.value().to_vec());
                        }
                    }
                    out
                };
                for k in stale {
                    tx.admin_sessions()?.remove(k.as_slice())?;
                }
                tx.admin_sessions()?
                    .insert(digest.as_slice(), encode_session(session).as_slice())?;
            }
            if let Some(entry) = &decided.audit {
                ops::append(tx, entry)?;
            }
            Ok(Some(decided.outcome))
        })
        .await
    }

    /// Marks a session seen at `now`, unless it has been idle `idle_seconds` or more, in which
    /// case it is deleted. The session as it now is, or `None`.
    pub async fn touch_admin_session(
        &self,
        digest: Digest,
        now: Timestamp,
        idle_seconds: i64,
    ) -> Result<Option<AdminSession>, StoreError> {
        self.write(move |tx| {
            let found = {
                let v = tx.admin_sessions()?.get(digest.as_slice())?;
                v.map(|v| decode_session(v.value())).transpose()?
            };
            let Some(mut session) = found else {
                return Ok(None);
            };
            if session.last_seen + idle_seconds <= now {
                tx.admin_sessions()?.remove(digest.as_slice())?;
                return Ok(None);
            }
            session.last_seen = now;
            tx.admin_sessions()?
                .insert(digest.as_slice(), encode_session(&session).as_slice())?;
            Ok(Some(session))
        })
        .await
    }

    /// Revokes every access token of a customer with the admin's audit entry, in one commit.
    pub async fn revoke_customer_tokens_audited(
        &self,
        id: CustomerId,
        audit: AuditEntry,
    ) -> Result<u64, StoreError> {
        self.write(move |tx| {
            let n = tx.revoke_customer_tokens(id)?;
            ops::append(tx, &audit)?;
            Ok(n)
        })
        .await
    }

    /// Deletes a session; false when there was none.
    pub async fn delete_admin_session(&self, digest: Digest) -> Result<bool, StoreError> {
        self.write(move |tx| Ok(tx.admin_sessions()?.remove(digest.as_slice())?.is_some()))
            .await
    }
}

impl Reader {
    pub fn admin_user(&self, name: &str) -> Result<Option<AdminUser>, StoreError> {
        let table = self.txn.open_table(ADMIN_USERS)?;
        let found = table.get(name)?;
        found.map(|v| decode_admin(v.value())).transpose()
    }

    /// Every admin user, by name.
    pub fn admin_users(&self) -> Result<Vec<AdminUser>, StoreError> {
        let table = self.txn.open_table(ADMIN_USERS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, v) = entry?;
            out.push(decode_admin(v.value())?);
        }
        Ok(out)
    }

    pub fn admin_session(&self, digest: &Digest) -> Result<Option<AdminSession>, StoreError> {
        let table = self.txn.open_table(ADMIN_SESSIONS)?;
        let found = table.get(digest.as_slice())?;
        found.map(|v| decode_session(v.value())).transpose()
    }
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
