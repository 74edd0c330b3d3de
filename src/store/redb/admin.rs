//! The admin console's records: admin users (by name) and their sessions (by the digest of the
//! cookie token), with the named operations the core's `auth::admin_users` calls. Both are JSON
//! (a handful of rows, never on a customer's hot path).

use super::*;
use crate::model::{AdminSession, AdminUser};
use crate::store::codec::{decode_admin, decode_session, encode_admin, encode_session};
use crate::store::AdminEdit;

pub(super) const ADMIN_USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("admin_users");
pub(super) const ADMIN_SESSIONS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("admin_sessions");

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
