//! The admin console's users and sessions on PostgreSQL: the same named operations as redb's
//! (`store/redb/admin.rs`), with the same JSON records, in `admin_users` / `admin_sessions`.

use super::ops::{append, revoke_tokens};
use super::read::id_param;
use super::{PgError, Postgres, Retry};
use crate::model::{AdminSession, AdminUser, AuditEntry};
use crate::store::codec::{decode_admin, decode_session, encode_admin, encode_session};
use crate::store::{AdminEdit, CustomerId, Digest, StoreError, Timestamp};
use std::sync::{Arc, Mutex, PoisonError};

impl Postgres {
    /// Stores a new admin user; false (nothing written) when the name is taken.
    pub async fn create_admin_user(
        &self,
        user: AdminUser,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        let created = self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (user, audit) = (user.clone(), audit.clone());
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached(
                            "INSERT INTO admin_users (name, record) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                        )
                        .await?;
                    let n = tx
                        .execute(&statement, &[&user.name, &encode_admin(&user)])
                        .await?;
                    if n == 0 {
                        return Ok(false);
                    }
                    append(tx, &audit).await?;
                    Ok(true)
                })
            })
            .await?;
        Ok(created)
    }

    /// Edits one admin user under its row lock: `edit` decides on a copy; `None` when there
    /// is no such user. Opening a session also drops every session idle for `idle_seconds`.
    /// `edit` runs once: a transaction the database asks to retry after it ran fails instead.
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
        let edit = Arc::new(Mutex::new(Some(edit)));
        let outcome = self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (name, edit) = (name.clone(), edit.clone());
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached("SELECT record FROM admin_users WHERE name = $1 FOR UPDATE")
                        .await?;
                    let Some(row) = tx.query_opt(&statement, &[&name]).await? else {
                        return Ok(None);
                    };
                    let bytes: Vec<u8> = row.try_get(0)?;
                    let mut user = decode_admin(&bytes).map_err(|e| PgError::Corrupt(e.to_string()))?;
                    let Some(edit) = edit.lock().unwrap_or_else(PoisonError::into_inner).take() else {
                        return Err(PgError::Corrupt(
                            "an admin edit cannot run twice; try again".into(),
                        ));
                    };
                    let decided = edit(&mut user);
                    if decided.save {
                        user.name = name.clone();
                        let statement = tx
                            .prepare_cached("UPDATE admin_users SET record = $2 WHERE name = $1")
                            .await?;
                        tx.execute(&statement, &[&name, &encode_admin(&user)]).await?;
                    }
                    if let Some((digest, session)) = &decided.session {
                        let stale = tx
                            .prepare_cached("DELETE FROM admin_sessions WHERE last_seen + $1 <= $2")
                            .await?;
                        tx.execute(&stale, &[&idle_seconds, &session.created_at]).await?;
                        let insert = tx
                            .prepare_cached(
                                "INSERT INTO admin_sessions (digest, admin, last_seen, record) VALUES ($1, $2, $3, $4)",
                            )
                            .await?;
                        tx.execute(
                            &insert,
                            &[
                                &digest.as_slice(),
                                &session.admin,
                                &session.last_seen,
                                &encode_session(session),
                            ],
                        )
                        .await?;
                    }
                    if let Some(entry) = &decided.audit {
                        append(tx, entry).await?;
                    }
                    Ok(Some(decided.outcome))
                })
            })
            .await?;
        Ok(outcome)
    }

    pub async fn admin_user(&self, name: &str) -> Result<Option<AdminUser>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM admin_users WHERE name = $1")
            .await
            .map_err(PgError::from)?;
        let row = client
            .query_opt(&statement, &[&name])
            .await
            .map_err(PgError::from)?;
        row.map(|r| {
            let bytes: Vec<u8> = r.try_get(0).map_err(PgError::from)?;
            decode_admin(&bytes)
        })
        .transpose()
    }

    /// Every admin user, by name.
    pub async fn admin_users(&self) -> Result<Vec<AdminUser>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM admin_users ORDER BY name")
            .await
            .map_err(PgError::from)?;
        let rows = client.query(&statement, &[]).await.map_err(PgError::from)?;
        rows.iter()
            .map(|r| {
                let bytes: Vec<u8> = r.try_get(0).map_err(PgError::from)?;
                decode_admin(&bytes)
            })
            .collect()
    }

    pub async fn admin_session(&self, digest: &Digest) -> Result<Option<AdminSession>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM admin_sessions WHERE digest = $1")
            .await
            .map_err(PgError::from)?;
        let row = client
            .query_opt(&statement, &[&digest.as_slice()])
            .await
            .map_err(PgError::from)?;
        row.map(|r| {
            let bytes: Vec<u8> = r.try_get(0).map_err(PgError::from)?;
            decode_session(&bytes)
        })
        .transpose()
    }

    /// Marks a session seen at `now`, unless it has been idle `idle_seconds` or more (then it
    /// is deleted). The session as it now is, or `None`.
    pub async fn touch_admin_session(
        &self,
        digest: Digest,
        now: Timestamp,
        idle_seconds: i64,
    ) -> Result<Option<AdminSession>, StoreError> {
        let session = self
            .transaction(Retry::CONFLICTS, move |tx| {
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached(
                            "SELECT record FROM admin_sessions WHERE digest = $1 FOR UPDATE",
                        )
                        .await?;
                    let Some(row) = tx.query_opt(&statement, &[&digest.as_slice()]).await? else {
                        return Ok(None);
                    };
                    let bytes: Vec<u8> = row.try_get(0)?;
                    let mut session =
                        decode_session(&bytes).map_err(|e| PgError::Corrupt(e.to_string()))?;
                    if session.last_seen + idle_seconds <= now {
                        let delete = tx
                            .prepare_cached("DELETE FROM admin_sessions WHERE digest = $1")
                            .await?;
                        tx.execute(&delete, &[&digest.as_slice()]).await?;
                        return Ok(None);
                    }
                    session.last_seen = now;
                    let update = tx
                        .prepare_cached(
                            "UPDATE admin_sessions SET last_seen = $2, record = $3 WHERE digest = $1",
                        )
                        .await?;
                    tx.execute(
                        &update,
                        &[&digest.as_slice(), &now, &encode_session(&session)],
                    )
                    .await?;
                    Ok(Some(session))
                })
            })
            .await?;
        Ok(session)
    }

    /// Revokes every access token of a customer with the admin's audit entry, in one commit.
    pub async fn revoke_customer_tokens_audited(
        &self,
        id: CustomerId,
        audit: AuditEntry,
    ) -> Result<u64, StoreError> {
        let id = id_param(id)?;
        let n = self
            .transaction(Retry::CONFLICTS, move |tx| {
                let audit = audit.clone();
                Box::pin(async move {
                    let n = revoke_tokens(tx, id).await?;
                    append(tx, &audit).await?;
                    Ok(n)
                })
            })
            .await?;
        Ok(n)
    }

    /// Deletes a session; false when there was none.
    pub async fn delete_admin_session(&self, digest: Digest) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("DELETE FROM admin_sessions WHERE digest = $1")
            .await
            .map_err(PgError::from)?;
        let n = client
            .execute(&statement, &[&digest.as_slice()])
            .await
            .map_err(PgError::from)?;
        Ok(n > 0)
    }
}
