//! The OpenID Connect provider's records on PostgreSQL (migration 0009): the same named
//! operations as redb's (`store/redb/oidc.rs`, the reference behaviour), with the same JSON
//! records, each write one transaction through [`Postgres::transaction`].
//!
//! Exactly-once, across instances:
//! - `redeem_oidc_code` locks the code row (`SELECT … FOR UPDATE`) before anything else: a
//!   second redemption waits for the first to commit, then reads the code as the first left it
//!   (redeemed) and ends that grant (`Replayed`).
//! - `refresh_oidc` locks, in this order, the customer (`FOR SHARE`), the grant and the
//!   refresh token (`FOR UPDATE`): one use rotates the token, a concurrent one waits and then
//!   finds it rotated (`Raced` within the grace, else `Replayed`).
//! - Whoever ends grants locks them (`FOR UPDATE`) before deleting their access tokens, so a
//!   refresh that issued a token under the grant's lock has committed by then and its token is
//!   seen and deleted (`end_grants`).
//! - `add_oidc_key` first bumps the `meta` row `oidc_keys` (`INSERT … ON CONFLICT DO
//!   UPDATE`), which every key write takes, so two instances starting on an empty table run
//!   one after the other and the second finds the first's key (no advisory lock, no `LOCK
//!   TABLE`: CockroachDB has neither).
//!
//! One lock order everywhere (customer, then grant, then refresh token; a code before its
//! grant) keeps these from deadlocking one another; a deadlock or serialization failure that
//! still happens reruns the whole body, `decide` included: a `decide` may run more than once,
//! and only the run of the committed attempt counts.

use super::ops::append;
use super::read::{account, account_sql, id_param, ACCOUNT_COLUMNS};
use super::{PgError, Postgres, Retry};
use crate::model::oidc::{
    AuthorizationCode, BrowserSession, Grant, OidcClient, RefreshToken, SigningKey,
};
use crate::model::{AccessToken as AccessTokenRecord, Account, AuditEntry, Digest, Timestamp};
use crate::store::{CustomerId, Granted, Issue, StoreError, TokenKind};
use deadpool_postgres::Transaction;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::{Arc, Mutex, PoisonError};

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // The model's records are plain data: serialising them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, PgError> {
    serde_json::from_slice(bytes).map_err(|e| PgError::Corrupt(format!("{what}: {e}")))
}

/// The JSON record in column `at` of `row`.
fn record<T: DeserializeOwned>(
    what: &str,
    row: &tokio_postgres::Row,
    at: usize,
) -> Result<T, PgError> {
    let bytes: Vec<u8> = row.try_get(at)?;
    decode(what, &bytes)
}

fn grant_param(id: u64) -> Result<i64, PgError> {
    i64::try_from(id).map_err(|_| PgError::Corrupt(format!("grant id {id} too large")))
}

fn customer_param(id: CustomerId) -> Result<i64, PgError> {
    id_param(id).map_err(|e| PgError::Corrupt(e.to_string()))
}

fn token_kind(kind: i16) -> Result<TokenKind, PgError> {
    match kind {
        1 => Ok(TokenKind::Commerce),
        2 => Ok(TokenKind::Storefront),
        k => Err(PgError::Corrupt(format!("access token kind {k}"))),
    }
}

/// The customer `id`, its row share-locked until the transaction ends (a concurrent edit that
/// revokes its tokens runs wholly before or wholly after), read by a statement after the lock
/// so that it holds every commit before it (see `ops::lock_customer`).
async fn share_customer(tx: &Transaction<'_>, id: CustomerId) -> Result<Option<Account>, PgError> {
    let id = customer_param(id)?;
    let lock = tx
        .prepare_cached("SELECT id FROM customers WHERE id = $1 FOR SHARE")
        .await?;
    if tx.query_opt(&lock, &[&id]).await?.is_none() {
        return Ok(None);
    }
    let statement = tx
        .prepare_cached(account_sql!("", "customers c", "WHERE c.id = $1"))
        .await?;
    let row = tx.query_opt(&statement, &[&id]).await?;
    row.as_ref()
        .map(|r| account(r).map_err(|e| PgError::Corrupt(e.to_string())))
        .transpose()
}

/// Ends the grants `ids`, which the caller has locked (`FOR UPDATE`) in this transaction: their
/// access tokens, then the grants (their refresh tokens and links go with them). How many
/// grants ended.
async fn end_grants(tx: &Transaction<'_>, ids: &[i64]) -> Result<u64, PgError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let tokens = tx
        .prepare_cached(
            "DELETE FROM access_tokens WHERE digest IN (
               SELECT digest FROM oidc_access WHERE grant_id = ANY($1))",
        )
        .await?;
    tx.execute(&tokens, &[&ids]).await?;
    let grants = tx
        .prepare_cached("DELETE FROM oidc_grants WHERE id = ANY($1)")
        .await?;
    Ok(tx.execute(&grants, &[&ids]).await?)
}

/// The ids of the grants `sql` selects (`SELECT id … FOR UPDATE`), locked.
async fn lock_grants(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<i64>, PgError> {
    let statement = tx.prepare_cached(sql).await?;
    let rows = tx.query(&statement, params).await?;
    rows.iter()
        .map(|r| r.try_get::<_, i64>(0).map_err(PgError::from))
        .collect()
}

/// Ends one grant (locking it first). False when it is gone.
async fn end_grant(tx: &Transaction<'_>, id: i64) -> Result<bool, PgError> {
    let ids = lock_grants(
        tx,
        "SELECT id FROM oidc_grants WHERE id = $1 FOR UPDATE",
        &[&id],
    )
    .await?;
    Ok(end_grants(tx, &ids).await? > 0)
}

/// Ends every browser session and grant of customer `id` (a revocation; `ops::revoke_tokens`
/// calls it after deleting the customer's access tokens). How many ended.
pub(super) async fn end_customer_oidc(tx: &Transaction<'_>, id: i64) -> Result<u64, PgError> {
    let ids = lock_grants(
        tx,
        "SELECT id FROM oidc_grants WHERE customer_id = $1 ORDER BY id FOR UPDATE",
        &[&id],
    )
    .await?;
    let sessions = tx
        .prepare_cached("DELETE FROM browser_sessions WHERE customer_id = $1")
        .await?;
    let n = tx.execute(&sessions, &[&id]).await?;
    Ok(n + end_grants(tx, &ids).await?)
}

/// Up to `limit` grants expired at `now`, ended in one transaction (the sweep). How many.
pub(super) async fn purge_grants(
    tx: &Transaction<'_>,
    now: Timestamp,
    limit: i64,
) -> Result<u64, PgError> {
    let ids = lock_grants(
        tx,
        "SELECT id FROM oidc_grants WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2 FOR UPDATE",
        &[&now, &limit],
    )
    .await?;
    end_grants(tx, &ids).await
}

/// Issues what `issue` holds for `grant`: the access token (for the grant's customer, linked to
/// the grant), the next refresh token, the audit entry.
/// Stores a code (replacing one under the same digest): `save_oidc_code` and the migrate load.
async fn put_code(
    client: &impl deadpool_postgres::GenericClient,
    digest: &Digest,
    code: &AuthorizationCode,
) -> Result<(), PgError> {
    let redeemed = code.redeemed.map(grant_param).transpose()?;
    let statement = client
        .prepare_cached(
            "INSERT INTO oidc_codes (digest, expires_at, redeemed_grant, record)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at,
               redeemed_grant = EXCLUDED.redeemed_grant, record = EXCLUDED.record",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &digest.as_slice(),
                &code.expires_at,
                &redeemed,
                &encode(code),
            ],
        )
        .await?;
    Ok(())
}

/// Stores a browser session (replacing one under the same digest), unless its customer is
/// gone: a sign-in's commit (`Effects::browser_session`) and `create_browser_session`.
pub(super) async fn start_browser_session(
    tx: &Transaction<'_>,
    digest: &Digest,
    session: &BrowserSession,
) -> Result<(), PgError> {
    let customer = customer_param(session.customer)?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO browser_sessions (digest, customer_id, sid, expires_at, record)
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM customers WHERE id = $2)
             ON CONFLICT (digest) DO UPDATE SET customer_id = EXCLUDED.customer_id,
               sid = EXCLUDED.sid, expires_at = EXCLUDED.expires_at,
               record = EXCLUDED.record",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &digest.as_slice(),
            &customer,
            &session.sid,
            &session.expires_at,
            &encode(session),
        ],
    )
    .await?;
    Ok(())
}

async fn issue(tx: &Transaction<'_>, grant: &Grant, issue: &Issue) -> Result<(), PgError> {
    let id = grant_param(grant.id)?;
    let access = &issue.access;
    let r = &access.record;
    let token = tx
        .prepare_cached(
            "INSERT INTO access_tokens (digest, customer_id, issued_at, expires_at, kind)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (digest) DO UPDATE SET customer_id = EXCLUDED.customer_id,
               issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, kind = EXCLUDED.kind",
        )
        .await?;
    tx.execute(
        &token,
        &[
            &access.digest.as_slice(),
            &customer_param(grant.customer)?,
            &r.issued_at,
            &r.expires_at,
            &(r.kind as i16),
        ],
    )
    .await?;
    let link = tx
        .prepare_cached(
            "INSERT INTO oidc_access (digest, grant_id) VALUES ($1, $2)
             ON CONFLICT (digest) DO UPDATE SET grant_id = EXCLUDED.grant_id",
        )
        .await?;
    tx.execute(&link, &[&access.digest.as_slice(), &id]).await?;
    if let Some(refresh) = &issue.refresh {
        let token = RefreshToken {
            grant: grant.id,
            expires_at: grant.expires_at,
            rotated_at: None,
        };
        let statement = tx
            .prepare_cached(
                "INSERT INTO oidc_refresh_tokens (digest, grant_id, expires_at, rotated_at, record)
                 VALUES ($1, $2, $3, NULL, $4)
                 ON CONFLICT (digest) DO UPDATE SET grant_id = EXCLUDED.grant_id,
                   expires_at = EXCLUDED.expires_at, rotated_at = NULL, record = EXCLUDED.record",
            )
            .await?;
        tx.execute(
            &statement,
            &[&refresh.as_slice(), &id, &token.expires_at, &encode(&token)],
        )
        .await?;
    }
    if let Some(entry) = &issue.audit {
        append(tx, entry).await?;
    }
    Ok(())
}

impl Postgres {
    /// Every signing key, oldest first.
    pub async fn oidc_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM oidc_keys ORDER BY created_at, kid")
            .await?;
        let rows = client.query(&statement, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| record("signing key", r, 0))
            .collect::<Result<_, _>>()?)
    }

    pub async fn oidc_client(&self, client_id: &str) -> Result<Option<OidcClient>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM oidc_clients WHERE client_id = $1")
            .await?;
        let row = client.query_opt(&statement, &[&client_id]).await?;
        Ok(row.map(|r| record("client", &r, 0)).transpose()?)
    }

    /// Every client, by id.
    pub async fn oidc_clients(&self) -> Result<Vec<OidcClient>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM oidc_clients ORDER BY client_id")
            .await?;
        let rows = client.query(&statement, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| record("client", r, 0))
            .collect::<Result<_, _>>()?)
    }

    pub async fn browser_session(
        &self,
        digest: &Digest,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM browser_sessions WHERE digest = $1")
            .await?;
        let row = client.query_opt(&statement, &[&digest.as_slice()]).await?;
        Ok(row.map(|r| record("browser session", &r, 0)).transpose()?)
    }

    /// An access token minted by a grant, with the grant and the token's customer, in one
    /// query; `None` when any of them is gone.
    pub async fn oidc_access(
        &self,
        digest: &Digest,
    ) -> Result<Option<(AccessTokenRecord, Grant, Account)>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(account_sql!(
                ", t.customer_id, t.issued_at, t.expires_at, t.kind, g.record",
                "oidc_access l JOIN access_tokens t ON t.digest = l.digest \
                 JOIN oidc_grants g ON g.id = l.grant_id \
                 JOIN customers c ON c.id = t.customer_id",
                "WHERE l.digest = $1"
            ))
            .await?;
        let Some(row) = client.query_opt(&statement, &[&digest.as_slice()]).await? else {
            return Ok(None);
        };
        let at = ACCOUNT_COLUMNS;
        let customer: i64 = row.try_get(at).map_err(PgError::from)?;
        let token = AccessTokenRecord {
            customer_id: CustomerId(
                u64::try_from(customer)
                    .map_err(|_| PgError::Corrupt(format!("token customer id {customer}")))?,
            ),
            issued_at: row.try_get(at + 1).map_err(PgError::from)?,
            expires_at: row.try_get(at + 2).map_err(PgError::from)?,
            kind: token_kind(row.try_get(at + 3).map_err(PgError::from)?)?,
        };
        let grant = record("grant", &row, at + 4)?;
        Ok(Some((token, grant, account(&row)?)))
    }

    /// Stores a signing key (see `Backend::add_oidc_key`). Every key write first takes the
    /// `meta` row `oidc_keys` (an upsert: the row lock of a row that may not exist yet), so
    /// key writes of all instances run one after another and each reads the keys after the
    /// one before committed: two first starts store one key, two rotations retire each other's.
    pub async fn add_oidc_key(
        &self,
        key: SigningKey,
        retire_others_at: Option<Timestamp>,
        audit: Option<AuditEntry>,
    ) -> Result<Vec<SigningKey>, StoreError> {
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (key, audit) = (key.clone(), audit.clone());
                Box::pin(async move {
                    let gate = tx
                        .prepare_cached(
                            "INSERT INTO meta (key, value) VALUES ('oidc_keys', 1)
                             ON CONFLICT (key) DO UPDATE SET value = meta.value + 1",
                        )
                        .await?;
                    tx.execute(&gate, &[]).await?;
                    let all = tx
                        .prepare_cached("SELECT record FROM oidc_keys ORDER BY created_at, kid")
                        .await?;
                    let mut keys: Vec<SigningKey> = tx
                        .query(&all, &[])
                        .await?
                        .iter()
                        .map(|r| record("signing key", r, 0))
                        .collect::<Result<_, _>>()?;
                    let put = tx
                        .prepare_cached(
                            "INSERT INTO oidc_keys (kid, created_at, record) VALUES ($1, $2, $3)
                             ON CONFLICT (kid) DO UPDATE SET created_at = EXCLUDED.created_at,
                               record = EXCLUDED.record",
                        )
                        .await?;
                    match retire_others_at {
                        None if !keys.is_empty() => {}
                        None => {
                            tx.execute(&put, &[&key.kid, &key.created_at, &encode(&key)])
                                .await?;
                            keys.push(key);
                        }
                        Some(at) => {
                            for k in keys.iter_mut().filter(|k| k.published_until.is_none()) {
                                k.published_until = Some(at);
                                tx.execute(&put, &[&k.kid, &k.created_at, &encode(&*k)])
                                    .await?;
                            }
                            tx.execute(&put, &[&key.kid, &key.created_at, &encode(&key)])
                                .await?;
                            keys.push(key);
                        }
                    }
                    if let Some(entry) = &audit {
                        append(tx, entry).await?;
                    }
                    keys.sort_by_key(|k| k.created_at);
                    Ok(keys)
                })
            })
            .await?)
    }

    /// Stores a new client; false (nothing written) when the id is taken (the primary key
    /// decides between concurrent creates).
    pub async fn create_oidc_client(
        &self,
        client: OidcClient,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (client, audit) = (client.clone(), audit.clone());
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached(
                            "INSERT INTO oidc_clients (client_id, record) VALUES ($1, $2)
                             ON CONFLICT (client_id) DO NOTHING",
                        )
                        .await?;
                    if tx
                        .execute(&statement, &[&client.client_id, &encode(&client)])
                        .await?
                        == 0
                    {
                        return Ok(false);
                    }
                    append(tx, &audit).await?;
                    Ok(true)
                })
            })
            .await?)
    }

    /// Deletes a client and ends its grants; false when there was no such client.
    pub async fn delete_oidc_client(
        &self,
        client_id: String,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (client_id, audit) = (client_id.clone(), audit.clone());
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached("DELETE FROM oidc_clients WHERE client_id = $1")
                        .await?;
                    if tx.execute(&statement, &[&client_id]).await? == 0 {
                        return Ok(false);
                    }
                    let ids = lock_grants(
                        tx,
                        "SELECT id FROM oidc_grants WHERE client_id = $1 ORDER BY id FOR UPDATE",
                        &[&client_id],
                    )
                    .await?;
                    end_grants(tx, &ids).await?;
                    append(tx, &audit).await?;
                    Ok(true)
                })
            })
            .await?)
    }

    /// Stores a browser session (replacing one under the same digest). A session of a
    /// customer deleted meanwhile is not stored (its lookup finds nothing, as it would find no
    /// customer on redb).
    pub async fn create_browser_session(
        &self,
        digest: Digest,
        session: BrowserSession,
        audit: Option<AuditEntry>,
    ) -> Result<(), StoreError> {
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (session, audit) = (session.clone(), audit.clone());
                Box::pin(async move {
                    start_browser_session(tx, &digest, &session).await?;
                    if let Some(entry) = &audit {
                        append(tx, entry).await?;
                    }
                    Ok(())
                })
            })
            .await?)
    }

    /// Moves a session's `last_seen` and `expires_at` on, under its row lock; false when it
    /// is gone.
    pub async fn touch_browser_session(
        &self,
        digest: Digest,
        last_seen: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached(
                            "SELECT record FROM browser_sessions WHERE digest = $1 FOR UPDATE",
                        )
                        .await?;
                    let Some(row) = tx.query_opt(&statement, &[&digest.as_slice()]).await? else {
                        return Ok(false);
                    };
                    let mut session: BrowserSession = record("browser session", &row, 0)?;
                    session.last_seen = last_seen;
                    session.expires_at = expires_at;
                    let update = tx
                        .prepare_cached(
                            "UPDATE browser_sessions SET expires_at = $2, record = $3 WHERE digest = $1",
                        )
                        .await?;
                    tx.execute(
                        &update,
                        &[&digest.as_slice(), &expires_at, &encode(&session)],
                    )
                    .await?;
                    Ok(true)
                })
            })
            .await?)
    }

    /// Ends a session; with `end_grants_of`, also that client's grants made in it. The session
    /// as it was, or `None` (nothing written, no audit entry).
    pub async fn end_browser_session(
        &self,
        digest: Digest,
        end_grants_of: Option<String>,
        audit: Option<AuditEntry>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (end_grants_of, audit) = (end_grants_of.clone(), audit.clone());
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached(
                            "DELETE FROM browser_sessions WHERE digest = $1 RETURNING record",
                        )
                        .await?;
                    let Some(row) = tx.query_opt(&statement, &[&digest.as_slice()]).await? else {
                        return Ok(None);
                    };
                    let session: BrowserSession = record("browser session", &row, 0)?;
                    if let Some(client) = &end_grants_of {
                        let ids = lock_grants(
                            tx,
                            "SELECT id FROM oidc_grants
                             WHERE customer_id = $1 AND client_id = $2 AND sid = $3
                             ORDER BY id FOR UPDATE",
                            &[&customer_param(session.customer)?, client, &session.sid],
                        )
                        .await?;
                        end_grants(tx, &ids).await?;
                    }
                    if let Some(entry) = &audit {
                        append(tx, entry).await?;
                    }
                    Ok(Some(session))
                })
            })
            .await?)
    }

    /// Stores a code (replacing one under the same digest): one statement.
    pub async fn save_oidc_code(
        &self,
        digest: Digest,
        code: AuthorizationCode,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        put_code(&client, &digest, &code).await?;
        Ok(())
    }

    /// Redeems a code once (see the module documentation): the code row is locked first, so
    /// of concurrent redemptions on any instances one issues the grant and every later one
    /// finds the code redeemed and ends that grant. Checks in redb's order: unknown or expired
    /// (`Unknown`), redeemed (`Replayed`, the grant ended), `decide` (a refusal writes
    /// nothing), the customer gone (`Unknown`); then the grant, its first tokens and the
    /// code's `redeemed` in the same commit.
    pub async fn redeem_oidc_code<R, D>(
        &self,
        digest: Digest,
        now: Timestamp,
        decide: D,
    ) -> Result<Granted<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(&AuthorizationCode, Option<&Account>) -> Result<Issue, R> + Send + 'static,
    {
        let decide = Arc::new(Mutex::new(decide));
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let decide = decide.clone();
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached("SELECT record FROM oidc_codes WHERE digest = $1 FOR UPDATE")
                        .await?;
                    let Some(row) = tx.query_opt(&statement, &[&digest.as_slice()]).await? else {
                        return Ok(Granted::Unknown);
                    };
                    let mut code: AuthorizationCode = record("code", &row, 0)?;
                    if code.expires_at <= now {
                        return Ok(Granted::Unknown);
                    }
                    if let Some(grant) = code.redeemed {
                        end_grant(tx, grant_param(grant)?).await?;
                        return Ok(Granted::Replayed { grant });
                    }
                    let account = share_customer(tx, code.customer).await?;
                    let decision = {
                        let decide = decide.lock().unwrap_or_else(PoisonError::into_inner);
                        (*decide)(&code, account.as_ref())
                    };
                    let issued = match decision {
                        Ok(issued) => issued,
                        Err(refusal) => return Ok(Granted::Refused(refusal)),
                    };
                    let Some(account) = account else {
                        return Ok(Granted::Unknown);
                    };
                    let next = tx
                        .prepare_cached("SELECT nextval(pg_get_serial_sequence('oidc_grants', 'id'))")
                        .await?;
                    let id: i64 = tx.query_one(&next, &[]).await?.try_get(0)?;
                    let grant = Grant {
                        id: u64::try_from(id)
                            .map_err(|_| PgError::Corrupt(format!("grant id {id}")))?,
                        client_id: code.client_id.clone(),
                        customer: code.customer,
                        scope: code.scope.clone(),
                        sid: code.sid.clone(),
                        auth_time: code.auth_time,
                        amr: code.amr.clone(),
                        nonce: code.nonce.clone(),
                        created_at: now,
                        expires_at: issued.grant_expires_at,
                    };
                    let insert = tx
                        .prepare_cached(
                            "INSERT INTO oidc_grants (id, client_id, customer_id, sid, expires_at, record)
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .await?;
                    tx.execute(
                        &insert,
                        &[
                            &id,
                            &grant.client_id,
                            &customer_param(grant.customer)?,
                            &grant.sid,
                            &grant.expires_at,
                            &encode(&grant),
                        ],
                    )
                    .await?;
                    issue(tx, &grant, &issued).await?;
                    code.redeemed = Some(grant.id);
                    let redeemed = tx
                        .prepare_cached(
                            "UPDATE oidc_codes SET redeemed_grant = $2, record = $3 WHERE digest = $1",
                        )
                        .await?;
                    tx.execute(&redeemed, &[&digest.as_slice(), &id, &encode(&code)])
                        .await?;
                    Ok(Granted::Issued {
                        grant,
                        account: Box::new(account),
                    })
                })
            })
            .await?)
    }

    /// Uses a refresh token once (see the module documentation): the customer, the grant and
    /// the token are locked in that order before anything is decided, so of concurrent uses on
    /// any instances one rotates the token and every later one finds it rotated. Checks in
    /// redb's order: unknown, expired or its grant ended (`Unknown`); rotated within
    /// `grace_seconds` (`Raced`) or before (`Replayed`, the grant ended); `decide` (a refusal
    /// writes nothing); the customer gone (`Unknown`); then the rotation and the next tokens.
    pub async fn refresh_oidc<R, D>(
        &self,
        digest: Digest,
        now: Timestamp,
        grace_seconds: i64,
        decide: D,
    ) -> Result<Granted<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(&Grant, Option<&Account>) -> Result<Issue, R> + Send + 'static,
    {
        let decide = Arc::new(Mutex::new(decide));
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let decide = decide.clone();
                Box::pin(async move {
                    // Whose token it is, unlocked: only to take the locks in order.
                    let owner = tx
                        .prepare_cached(
                            "SELECT g.id, g.customer_id FROM oidc_refresh_tokens r
                             JOIN oidc_grants g ON g.id = r.grant_id WHERE r.digest = $1",
                        )
                        .await?;
                    let Some(row) = tx.query_opt(&owner, &[&digest.as_slice()]).await? else {
                        return Ok(Granted::Unknown);
                    };
                    let (grant_id, customer): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
                    let customer = CustomerId(
                        u64::try_from(customer)
                            .map_err(|_| PgError::Corrupt(format!("customer id {customer}")))?,
                    );
                    let account = share_customer(tx, customer).await?;
                    let lock_grant = tx
                        .prepare_cached("SELECT record FROM oidc_grants WHERE id = $1 FOR UPDATE")
                        .await?;
                    let Some(row) = tx.query_opt(&lock_grant, &[&grant_id]).await? else {
                        return Ok(Granted::Unknown);
                    };
                    let grant: Grant = record("grant", &row, 0)?;
                    let lock_token = tx
                        .prepare_cached(
                            "SELECT record FROM oidc_refresh_tokens WHERE digest = $1 FOR UPDATE",
                        )
                        .await?;
                    let Some(row) = tx.query_opt(&lock_token, &[&digest.as_slice()]).await? else {
                        return Ok(Granted::Unknown);
                    };
                    let mut token: RefreshToken = record("refresh token", &row, 0)?;
                    if token.grant != grant.id || grant.expires_at <= now || token.expires_at <= now
                    {
                        return Ok(Granted::Unknown);
                    }
                    if let Some(rotated) = token.rotated_at {
                        if now < rotated + grace_seconds {
                            return Ok(Granted::Raced);
                        }
                        end_grants(tx, &[grant_id]).await?;
                        return Ok(Granted::Replayed { grant: grant.id });
                    }
                    let decision = {
                        let decide = decide.lock().unwrap_or_else(PoisonError::into_inner);
                        (*decide)(&grant, account.as_ref())
                    };
                    let issued = match decision {
                        Ok(issued) => issued,
                        Err(refusal) => return Ok(Granted::Refused(refusal)),
                    };
                    let Some(account) = account else {
                        return Ok(Granted::Unknown);
                    };
                    token.rotated_at = Some(now);
                    let rotate = tx
                        .prepare_cached(
                            "UPDATE oidc_refresh_tokens SET rotated_at = $2, record = $3 WHERE digest = $1",
                        )
                        .await?;
                    tx.execute(&rotate, &[&digest.as_slice(), &now, &encode(&token)])
                        .await?;
                    issue(tx, &grant, &issued).await?;
                    Ok(Granted::Issued {
                        grant,
                        account: Box::new(account),
                    })
                })
            })
            .await?)
    }
}

// ---------------------------------------------------------------- storekey migrate

/// `storekey migrate`'s page of one of the provider's tables: the SQL, and whether its key is
/// a name, a digest or a number (see `copy.rs`).
pub(super) fn dump_sql(table: crate::store::copy::Table) -> Option<&'static str> {
    use crate::store::copy::Table;
    Some(match table {
        Table::OidcKeys => "SELECT kid, record FROM oidc_keys WHERE kid COLLATE \"C\" > $1 ORDER BY kid COLLATE \"C\" LIMIT $2",
        Table::OidcClients => "SELECT client_id, record FROM oidc_clients WHERE client_id COLLATE \"C\" > $1 ORDER BY client_id COLLATE \"C\" LIMIT $2",
        Table::BrowserSessions => "SELECT digest, record FROM browser_sessions WHERE digest > $1 ORDER BY digest LIMIT $2",
        Table::OidcCodes => "SELECT digest, record FROM oidc_codes WHERE digest > $1 ORDER BY digest LIMIT $2",
        Table::OidcGrants => "SELECT id, record FROM oidc_grants WHERE id > $1 ORDER BY id LIMIT $2",
        Table::OidcRefreshTokens => "SELECT digest, record FROM oidc_refresh_tokens WHERE digest > $1 ORDER BY digest LIMIT $2",
        Table::OidcAccess => "SELECT digest, grant_id FROM oidc_access WHERE digest > $1 ORDER BY digest LIMIT $2",
        _ => return None,
    })
}

/// One row of `dump_sql`'s answer.
pub(super) fn dump_row(
    table: crate::store::copy::Table,
    r: &tokio_postgres::Row,
) -> Result<crate::store::copy::Row, PgError> {
    use crate::store::copy::{Row, Table};
    let digest = |r: &tokio_postgres::Row| -> Result<Digest, PgError> {
        let bytes: Vec<u8> = r.try_get(0)?;
        Digest::try_from(bytes.as_slice())
            .map_err(|_| PgError::Corrupt("a key is not a 32-byte digest".into()))
    };
    Ok(match table {
        Table::OidcKeys => Row::OidcKey(record("signing key", r, 1)?),
        Table::OidcClients => Row::OidcClient(record("client", r, 1)?),
        Table::BrowserSessions => Row::BrowserSession(digest(r)?, record("browser session", r, 1)?),
        Table::OidcCodes => Row::OidcCode(digest(r)?, record("code", r, 1)?),
        Table::OidcGrants => Row::OidcGrant(record("grant", r, 1)?),
        Table::OidcRefreshTokens => {
            Row::OidcRefreshToken(digest(r)?, record("refresh token", r, 1)?)
        }
        Table::OidcAccess => {
            let grant: i64 = r.try_get(1)?;
            Row::OidcAccess(
                digest(r)?,
                u64::try_from(grant).map_err(|_| PgError::Corrupt(format!("grant id {grant}")))?,
            )
        }
        _ => return Err(PgError::Corrupt("not a table of the provider".into())),
    })
}

/// Writes one of the provider's copied rows under its own key.
pub(super) async fn load_row(
    tx: &Transaction<'_>,
    row: &crate::store::copy::Row,
) -> Result<(), PgError> {
    use crate::store::copy::Row;
    match row {
        Row::OidcKey(k) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO oidc_keys (kid, created_at, record) VALUES ($1, $2, $3)
                     ON CONFLICT (kid) DO UPDATE SET created_at = EXCLUDED.created_at,
                       record = EXCLUDED.record",
                )
                .await?;
            tx.execute(&statement, &[&k.kid, &k.created_at, &encode(k)])
                .await?;
        }
        Row::OidcClient(c) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO oidc_clients (client_id, record) VALUES ($1, $2)
                     ON CONFLICT (client_id) DO UPDATE SET record = EXCLUDED.record",
                )
                .await?;
            tx.execute(&statement, &[&c.client_id, &encode(c)]).await?;
        }
        Row::BrowserSession(d, s) => start_browser_session(tx, d, s).await?,
        Row::OidcCode(d, c) => put_code(tx, d, c).await?,
        Row::OidcGrant(g) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO oidc_grants (id, client_id, customer_id, sid, expires_at, record)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO UPDATE SET client_id = EXCLUDED.client_id,
                       customer_id = EXCLUDED.customer_id, sid = EXCLUDED.sid,
                       expires_at = EXCLUDED.expires_at, record = EXCLUDED.record",
                )
                .await?;
            tx.execute(
                &statement,
                &[
                    &grant_param(g.id)?,
                    &g.client_id,
                    &customer_param(g.customer)?,
                    &g.sid,
                    &g.expires_at,
                    &encode(g),
                ],
            )
            .await?;
        }
        Row::OidcRefreshToken(d, t) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO oidc_refresh_tokens (digest, grant_id, expires_at, rotated_at, record)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (digest) DO UPDATE SET grant_id = EXCLUDED.grant_id,
                       expires_at = EXCLUDED.expires_at, rotated_at = EXCLUDED.rotated_at,
                       record = EXCLUDED.record",
                )
                .await?;
            tx.execute(
                &statement,
                &[
                    &d.as_slice(),
                    &grant_param(t.grant)?,
                    &t.expires_at,
                    &t.rotated_at,
                    &encode(t),
                ],
            )
            .await?;
        }
        Row::OidcAccess(d, grant) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO oidc_access (digest, grant_id) VALUES ($1, $2)
                     ON CONFLICT (digest) DO UPDATE SET grant_id = EXCLUDED.grant_id",
                )
                .await?;
            tx.execute(&statement, &[&d.as_slice(), &grant_param(*grant)?])
                .await?;
        }
        _ => {}
    }
    Ok(())
}
