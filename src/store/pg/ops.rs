//! The store's named operations on PostgreSQL, with the same names, parameters and results as
//! the redb ones (`store/ops.rs`). Each is one statement or one short transaction run through
//! [`Postgres::transaction`], so a serialization failure or deadlock re-runs it whole.
//!
//! Exactly-once: `update_customer` locks the customer row (`SELECT … FOR UPDATE`) before the
//! core's closure decides, so concurrent edits of one customer (an OTC consumed by 32 racers,
//! 16 lockout failures) run one after another on fresh data; `multipass_sign_in` lets
//! `INSERT … ON CONFLICT DO NOTHING` on the replay digest decide the winner.

use super::read::{account_sql, id_param, ACTIVATION, CONFIRMATION, LOGIN_CODE, OTC, RESET_TOKEN};
use super::{PgError, Postgres, Retry};
use crate::model::{email_key, Account, AuditEntry, OneTimeSecret, StorefrontToken};
use crate::store::{
    Change, Created, CustomerId, Digest, Effects, MultipassOutcome, NewToken, StoreError,
    Timestamp, Updated, Upsert, Who,
};
use deadpool_postgres::Transaction;
use std::sync::{Arc, Mutex, PoisonError};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

impl From<PgError> for StoreError {
    /// What asking again later may cure is `Unavailable` (see `StoreError::is_unavailable`):
    /// no connection, a closed or reset one, and the SQLSTATEs of `unavailable_code`; anything
    /// else the database said is `Postgres`. Every text names PostgreSQL and none carries the URL or the password
    /// (`PgError` never holds them).
    fn from(e: PgError) -> Self {
        let text = e.to_string();
        let text = if text.contains("PostgreSQL") {
            text
        } else {
            format!("PostgreSQL: {text}")
        };
        match &e {
            PgError::Connect(_) | PgError::Config(_) => StoreError::Unavailable(text),
            PgError::Db(db) if db.is_closed() || io_failure(db) => StoreError::Unavailable(text),
            PgError::Db(db) if db.code().is_some_and(unavailable_code) => {
                StoreError::Unavailable(text)
            }
            PgError::Corrupt(what) => StoreError::Corrupt(what.clone()),
            _ => StoreError::Postgres(text),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::from(e).into()
    }
}

/// The connection failed under the statement (reset, broken pipe): no answer from the server.
fn io_failure(e: &tokio_postgres::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// SQLSTATEs that say the server cannot serve now rather than that the statement is wrong:
/// class 08 (connection exception), 57P01–57P03 (shutting down, crashed, starting up), class
/// 53 (insufficient resources: disk full, out of memory, too many connections), 25006 (a
/// read-only standby, mid-failover), and 40001/40P01 when they reach here (every retry spent).
fn unavailable_code(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08")
        || c.starts_with("53")
        || matches!(c, "57P01" | "57P02" | "57P03" | "25006" | "40001" | "40P01")
}

/// True when `e` is a unique violation on the customers' email key: the email belongs to
/// another customer.
fn email_taken(e: &PgError) -> bool {
    match e {
        PgError::Db(db) => {
            db.code() == Some(&SqlState::UNIQUE_VIOLATION)
                && db
                    .as_db_error()
                    .and_then(|d| d.constraint())
                    .is_some_and(|c| c.contains("email_key"))
        }
        _ => false,
    }
}

/// An account's values for the `customers` columns (all but `id`), in the order
/// `insert_customer_sql!` and `UPDATE_CUSTOMER` bind them.
pub(super) struct CustomerRow<'a> {
    account: &'a Account,
    email_key: String,
    password_version: i64,
    failures: i64,
    passkey_handle: Option<Vec<u8>>,
    /// The passkeys as a JSON array; NULL when there are none.
    passkeys: Option<Vec<u8>>,
}

impl<'a> CustomerRow<'a> {
    pub(super) fn new(account: &'a Account) -> Self {
        CustomerRow {
            account,
            email_key: email_key(&account.customer.email),
            password_version: i64::from(account.credentials.password_version),
            failures: i64::from(account.credentials.lockout.failures),
            passkey_handle: account.credentials.passkey_handle.map(|h| h.to_vec()),
            passkeys: (!account.credentials.passkeys.is_empty())
                // Plain data: serialising cannot fail.
                .then(|| serde_json::to_vec(&account.credentials.passkeys).unwrap_or_default()),
        }
    }

    /// `$1`…`$27`.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 27] {
        let (c, p, k) = (
            &self.account.customer,
            &self.account.customer.profile,
            &self.account.credentials,
        );
        [
            &c.email,
            &self.email_key,
            &c.multipass_identifier,
            &p.firstname,
            &p.lastname,
            &p.middlename,
            &p.prefix,
            &p.suffix,
            &p.date_of_birth,
            &p.gender,
            &p.taxvat,
            &p.phone,
            &p.is_subscribed,
            &k.password_hash,
            &self.password_version,
            &c.confirmed,
            &c.disabled,
            &c.allow_remote_shopping_assistance,
            &c.tags,
            &self.failures,
            &k.lockout.first_failure,
            &k.lockout.lock_expires,
            &c.created_at,
            &c.updated_at,
            &c.email_verified,
            &self.passkey_handle,
            &self.passkeys,
        ]
    }
}

/// `INSERT INTO customers (every column but id) VALUES ($1 … $25)` and `$tail`, a literal.
macro_rules! insert_customer_sql {
    ($tail:literal) => {
        concat!(
            "INSERT INTO customers (email, email_key, multipass_identifier, firstname, lastname, \
             middlename, prefix, suffix, date_of_birth, gender, taxvat, phone, is_subscribed, \
             password_hash, password_version, confirmed, disabled, \
             allow_remote_shopping_assistance, tags, failures, first_failure, lock_expires, \
             created_at, updated_at, email_verified, passkey_handle, passkeys) VALUES ($1, $2, $3, \
             $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24, $25, $26, $27)",
            $tail
        )
    };
}

const UPDATE_CUSTOMER: &str = "UPDATE customers SET email = $1, email_key = $2, \
    multipass_identifier = $3, firstname = $4, lastname = $5, middlename = $6, prefix = $7, \
    suffix = $8, date_of_birth = $9, gender = $10, taxvat = $11, phone = $12, \
    is_subscribed = $13, password_hash = $14, password_version = $15, confirmed = $16, \
    disabled = $17, allow_remote_shopping_assistance = $18, tags = $19, failures = $20, \
    first_failure = $21, lock_expires = $22, created_at = $23, updated_at = $24, \
    email_verified = $25, passkey_handle = $26, passkeys = $27 WHERE id = $28";

/// Inserts a new customer row (id from the sequence) with its secrets. With
/// `skip_taken_email`, a taken email skips the insert (None); without, it is a unique
/// violation (which a retrying caller turns into a fresh look).
pub(super) async fn insert_customer(
    tx: &Transaction<'_>,
    record: &Account,
    skip_taken_email: bool,
) -> Result<Option<Account>, PgError> {
    let sql = if skip_taken_email {
        insert_customer_sql!(" ON CONFLICT (email_key) DO NOTHING RETURNING id")
    } else {
        insert_customer_sql!(" RETURNING id")
    };
    let row = CustomerRow::new(record);
    let statement = tx.prepare_cached(sql).await?;
    let Some(inserted) = tx.query_opt(&statement, &row.params()).await? else {
        return Ok(None);
    };
    let id: i64 = inserted.try_get(0)?;
    let mut created = record.clone();
    created.customer.id =
        CustomerId(u64::try_from(id).map_err(|_| PgError::Corrupt(format!("customer id {id}")))?);
    write_secrets(tx, id, &Account::default(), &created).await?;
    created.addresses =
        super::addresses::write_book(tx, id, &Default::default(), &record.addresses, false).await?;
    Ok(Some(created))
}

/// Writes what changed between `before` and `after` (one customer, `after`'s id): the row if
/// any column changed, and each one-time secret that was set, replaced or cleared.
pub(super) async fn write_changes(
    tx: &Transaction<'_>,
    before: &Account,
    after: &Account,
) -> Result<(), PgError> {
    let id = id_param(after.customer.id).map_err(corrupt)?;
    let row_changed = before.customer != after.customer
        || before.credentials.password_hash != after.credentials.password_hash
        || before.credentials.password_version != after.credentials.password_version
        || before.credentials.lockout != after.credentials.lockout
        || before.credentials.passkey_handle != after.credentials.passkey_handle
        || before.credentials.passkeys != after.credentials.passkeys;
    if row_changed {
        let row = CustomerRow::new(after);
        let mut params: Vec<&(dyn ToSql + Sync)> = row.params().to_vec();
        params.push(&id);
        let statement = tx.prepare_cached(UPDATE_CUSTOMER).await?;
        tx.execute(&statement, &params).await?;
    }
    write_secrets(tx, id, before, after).await
}

pub(super) async fn write_secrets(
    tx: &Transaction<'_>,
    id: i64,
    before: &Account,
    after: &Account,
) -> Result<(), PgError> {
    let (b, a) = (&before.credentials, &after.credentials);
    for (kind, was, now) in [
        (RESET_TOKEN, &b.reset_token, &a.reset_token),
        (OTC, &b.otc, &a.otc),
        (CONFIRMATION, &b.confirmation, &a.confirmation),
        (ACTIVATION, &b.activation, &a.activation),
    ] {
        if was == now {
            continue;
        }
        match now {
            Some(secret) => put_secret(tx, id, kind, secret, 0).await?,
            None => delete_secret(tx, id, kind).await?,
        }
    }
    if b.login_code != a.login_code {
        match &a.login_code {
            Some(code) => put_secret(tx, id, LOGIN_CODE, &code.secret, code.attempts).await?,
            None => delete_secret(tx, id, LOGIN_CODE).await?,
        }
    }
    Ok(())
}

async fn delete_secret(tx: &Transaction<'_>, id: i64, kind: i16) -> Result<(), PgError> {
    let statement = tx
        .prepare_cached("DELETE FROM customer_secrets WHERE customer_id = $1 AND kind = $2")
        .await?;
    tx.execute(&statement, &[&id, &kind]).await?;
    Ok(())
}

async fn put_secret(
    tx: &Transaction<'_>,
    id: i64,
    kind: i16,
    secret: &OneTimeSecret,
    attempts: u32,
) -> Result<(), PgError> {
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    let statement = tx
        .prepare_cached(
            "INSERT INTO customer_secrets (customer_id, kind, digest, created_at, expires_at, issued_by, reason, attempts)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (customer_id, kind) DO UPDATE SET digest = EXCLUDED.digest,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
               issued_by = EXCLUDED.issued_by, reason = EXCLUDED.reason,
               attempts = EXCLUDED.attempts",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &id,
            &kind,
            &secret.digest.as_slice(),
            &secret.created_at,
            &secret.expires_at,
            &secret.issued_by,
            &secret.reason,
            &attempts,
        ],
    )
    .await?;
    Ok(())
}

/// The customer `who` names, its row locked until the transaction ends.
///
/// Two statements on purpose: at READ COMMITTED a `SELECT … JOIN … FOR UPDATE OF c` that
/// waited for the lock re-reads only the locked row, and the joined secrets would still come
/// from the snapshot taken before the wait (an OTC another edit just consumed would look
/// live). The read after the lock takes a fresh snapshot, which holds every commit before it.
pub(super) async fn lock_customer(
    tx: &Transaction<'_>,
    who: &Who,
) -> Result<Option<Account>, PgError> {
    let row = match who {
        Who::Id(id) => {
            let Ok(id) = i64::try_from(id.0) else {
                return Ok(None);
            };
            let statement = tx
                .prepare_cached("SELECT id FROM customers WHERE id = $1 FOR UPDATE")
                .await?;
            tx.query_opt(&statement, &[&id]).await?
        }
        Who::Email(email) => {
            let statement = tx
                .prepare_cached("SELECT id FROM customers WHERE email_key = $1 FOR UPDATE")
                .await?;
            tx.query_opt(&statement, &[&email_key(email)]).await?
        }
    };
    locked_account(tx, row).await
}

async fn lock_by_identifier(
    tx: &Transaction<'_>,
    identifier: &str,
) -> Result<Option<Account>, PgError> {
    let statement = tx
        .prepare_cached("SELECT id FROM customers WHERE multipass_identifier = $1 FOR UPDATE")
        .await?;
    let row = tx.query_opt(&statement, &[&identifier]).await?;
    locked_account(tx, row).await
}

/// The whole account of the customer whose id `locked` holds, read after its lock was granted.
async fn locked_account(
    tx: &Transaction<'_>,
    locked: Option<tokio_postgres::Row>,
) -> Result<Option<Account>, PgError> {
    let Some(locked) = locked else {
        return Ok(None);
    };
    let id: i64 = locked.try_get(0)?;
    let statement = tx
        .prepare_cached(account_sql!("", "customers c", "WHERE c.id = $1"))
        .await?;
    let row = tx.query_opt(&statement, &[&id]).await?;
    row.as_ref().map(decoded).transpose()
}

fn decoded(row: &tokio_postgres::Row) -> Result<Account, PgError> {
    super::read::account(row).map_err(corrupt)
}

/// A read's `StoreError` inside a transaction body, which fails with `PgError`.
fn corrupt(e: StoreError) -> PgError {
    match e {
        StoreError::Corrupt(what) => PgError::Corrupt(what),
        other => PgError::Corrupt(other.to_string()),
    }
}

async fn insert_token(tx: &Transaction<'_>, token: &NewToken) -> Result<(), PgError> {
    let r = &token.record;
    let customer = i64::try_from(r.customer_id.0).unwrap_or(i64::MAX);
    let statement = tx
        .prepare_cached(
            "INSERT INTO access_tokens (digest, customer_id, issued_at, expires_at, kind)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (digest) DO UPDATE SET customer_id = EXCLUDED.customer_id,
               issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, kind = EXCLUDED.kind",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &token.digest.as_slice(),
            &customer,
            &r.issued_at,
            &r.expires_at,
            &(r.kind as i16),
        ],
    )
    .await?;
    Ok(())
}

/// Deletes every access token of a customer and ends its browser sessions and OpenID Connect
/// grants (what every revocation does: password change, sign out everywhere, disable, delete),
/// as redb's `Tx::revoke_customer_tokens`. How many access tokens.
pub(super) async fn revoke_tokens(tx: &Transaction<'_>, id: i64) -> Result<u64, PgError> {
    let statement = tx
        .prepare_cached("DELETE FROM access_tokens WHERE customer_id = $1")
        .await?;
    let n = tx.execute(&statement, &[&id]).await?;
    super::oidc::end_customer_oidc(tx, id).await?;
    Ok(n)
}

pub(super) async fn append(tx: &Transaction<'_>, entry: &AuditEntry) -> Result<(), PgError> {
    // No subject and subject 0 read back alike (as from the redb log).
    let subject = entry
        .subject
        .and_then(|id| i64::try_from(id.0).ok())
        .filter(|id| *id != 0);
    let statement = tx
        .prepare_cached(
            "INSERT INTO audit_log (at, actor, action, subject, detail, issued_by, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    let otc = entry.otc.as_ref();
    tx.execute(
        &statement,
        &[
            &entry.at,
            &entry.actor,
            &entry.action,
            &subject,
            &entry.detail,
            &otc.map(|o| o.issued_by.as_str()),
            &otc.map(|o| o.reason.as_str()),
        ],
    )
    .await?;
    Ok(())
}

async fn bump_storefront_generation(tx: &Transaction<'_>) -> Result<(), PgError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('storefront_generation', 1)
             ON CONFLICT (key) DO UPDATE SET value = meta.value + 1",
        )
        .await?;
    tx.execute(&statement, &[]).await?;
    Ok(())
}

impl Postgres {
    /// Edits one customer in one transaction: locks its row, lets `edit` decide on a copy,
    /// writes what changed (row, secrets, tokens, audit entry) and commits. The whole body runs
    /// again on a serialization failure or deadlock, `edit` included (it is pure). An email
    /// another customer has is `EmailTaken`, with nothing written.
    pub async fn update_customer<T, F>(&self, who: Who, edit: F) -> Result<Updated<T>, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Account) -> Change<T> + Send + 'static,
    {
        let edit = Arc::new(Mutex::new(edit));
        let result = self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (who, edit) = (who.clone(), edit.clone());
                Box::pin(async move {
                    let Some(before) = lock_customer(tx, &who).await? else {
                        return Ok(Updated::NotFound);
                    };
                    let mut after = before.clone();
                    let decision = {
                        let mut edit = edit.lock().unwrap_or_else(PoisonError::into_inner);
                        (*edit)(&mut after)
                    };
                    let (outcome, effects) = match decision {
                        Change::Refuse(outcome) => return Ok(Updated::Refused(outcome)),
                        Change::Save(outcome, effects) => (outcome, effects),
                    };
                    after.customer.id = before.customer.id;
                    write_changes(tx, &before, &after).await?;
                    apply(tx, after.customer.id, &effects).await?;
                    Ok(Updated::Saved(Box::new(after), outcome))
                })
            })
            .await;
        match result {
            Err(e) if email_taken(&e) => Ok(Updated::EmailTaken),
            other => Ok(other?),
        }
    }

    /// Stores a new customer under the next id from the sequence, unless its email is taken;
    /// the audit entry goes into the same transaction.
    pub async fn create_customer(
        &self,
        record: Account,
        audit: Option<AuditEntry>,
    ) -> Result<Created, StoreError> {
        let created = self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (record, audit) = (record.clone(), audit.clone());
                Box::pin(async move {
                    let Some(created) = insert_customer(tx, &record, true).await? else {
                        return Ok(Created::EmailTaken);
                    };
                    if let Some(mut entry) = audit {
                        entry.subject = Some(created.customer.id);
                        append(tx, &entry).await?;
                    }
                    Ok(Created::Created(Box::new(created)))
                })
            })
            .await?;
        Ok(created)
    }

    /// Deletes a customer (its tokens and secrets go with it: `ON DELETE CASCADE`), audited
    /// in the same transaction. False when there was no such customer.
    pub async fn delete_customer(
        &self,
        id: CustomerId,
        audit: Option<AuditEntry>,
    ) -> Result<bool, StoreError> {
        let id = id_param(id)?;
        let deleted = self
            .transaction(Retry::CONFLICTS, move |tx| {
                let audit = audit.clone();
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached("DELETE FROM customers WHERE id = $1")
                        .await?;
                    let deleted = tx.execute(&statement, &[&id]).await? == 1;
                    if let (true, Some(entry)) = (deleted, &audit) {
                        append(tx, entry).await?;
                    }
                    Ok(deleted)
                })
            })
            .await?;
        Ok(deleted)
    }

    /// Extends a live token. False when it is gone (a concurrent delete wins over a renew).
    pub async fn renew_token(&self, token: NewToken) -> Result<bool, StoreError> {
        let r = &token.record;
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "UPDATE access_tokens SET customer_id = $2, issued_at = $3, expires_at = $4, kind = $5
                 WHERE digest = $1",
            )
            .await?;
        let rows = client
            .execute(
                &statement,
                &[
                    &token.digest.as_slice(),
                    &id_param(r.customer_id)?,
                    &r.issued_at,
                    &r.expires_at,
                    &(r.kind as i16),
                ],
            )
            .await?;
        Ok(rows == 1)
    }

    /// A Multipass sign-in in one transaction: the replay digest's `INSERT … ON CONFLICT DO
    /// NOTHING` decides the first use (a second waits for the first to commit, then finds the
    /// row and is `Replayed`); then the customers its identifier and email name are locked,
    /// `decide` creates or updates one, and `token` is minted for it. A concurrent create of the
    /// same email fails this attempt with a unique violation; the retry finds that customer.
    pub async fn multipass_sign_in<R, D>(
        &self,
        replay: Digest,
        replay_until: Timestamp,
        identifier: Option<String>,
        email: String,
        decide: D,
        token: NewToken,
    ) -> Result<MultipassOutcome<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(Option<&Account>, Option<&Account>) -> Result<Upsert, R> + Send + 'static,
    {
        let decide = Arc::new(Mutex::new(decide));
        let outcome = self
            .transaction(Retry::CONFLICTS_AND_UNIQUE, move |tx| {
                let (identifier, email, decide, token) = (
                    identifier.clone(),
                    email.clone(),
                    decide.clone(),
                    token.clone(),
                );
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached(
                            "INSERT INTO multipass_replay (digest, expires_at) VALUES ($1, $2)
                             ON CONFLICT (digest) DO NOTHING",
                        )
                        .await?;
                    if tx
                        .execute(&statement, &[&replay.as_slice(), &replay_until])
                        .await?
                        == 0
                    {
                        return Ok(MultipassOutcome::Replayed);
                    }
                    let by_identifier = match &identifier {
                        Some(ident) => lock_by_identifier(tx, ident).await?,
                        None => None,
                    };
                    let by_email = lock_customer(tx, &Who::Email(email)).await?;
                    let decision = {
                        let decide = decide.lock().unwrap_or_else(PoisonError::into_inner);
                        (*decide)(by_identifier.as_ref(), by_email.as_ref())
                    };
                    let customer = match decision {
                        Err(refusal) => return Ok(MultipassOutcome::Refused(refusal)),
                        Ok(Upsert::Create(record)) => {
                            insert_customer(tx, &record, false).await?.ok_or_else(|| {
                                PgError::Corrupt("the customer insert returned no id".into())
                            })?
                        }
                        Ok(Upsert::Update(after)) => {
                            let before = [by_identifier, by_email]
                                .into_iter()
                                .flatten()
                                .find(|c| c.customer.id == after.customer.id)
                                .ok_or_else(|| {
                                    PgError::Corrupt("upsert names no customer".into())
                                })?;
                            write_changes(tx, &before, &after).await?;
                            after
                        }
                    };
                    let mut token = token;
                    token.record.customer_id = customer.customer.id;
                    insert_token(tx, &token).await?;
                    Ok(MultipassOutcome::SignedIn(Box::new(customer)))
                })
            })
            .await?;
        Ok(outcome)
    }

    /// Deletes one token; false when there was none.
    pub async fn delete_token(&self, digest: Digest) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("DELETE FROM access_tokens WHERE digest = $1")
            .await?;
        Ok(client.execute(&statement, &[&digest.as_slice()]).await? == 1)
    }

    /// Deletes every token of a customer; returns how many.
    pub async fn revoke_customer_tokens(&self, id: CustomerId) -> Result<u64, StoreError> {
        let id = id_param(id)?;
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                Box::pin(async move { revoke_tokens(tx, id).await })
            })
            .await?)
    }

    /// Appends one audit entry on its own.
    pub async fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let entry = entry.clone();
                Box::pin(async move { append(tx, &entry).await })
            })
            .await?)
    }

    /// One small durable write that changes nothing a client can see (a counter row in
    /// `meta`), so a refusal with nothing to record costs what a recorded one costs.
    pub async fn record_refusal(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('refusals', 1)
                 ON CONFLICT (key) DO UPDATE SET value = meta.value + 1",
            )
            .await?;
        client.execute(&statement, &[]).await?;
        Ok(())
    }

    /// Stores a storefront token under the next id from its sequence, with the audit entry
    /// `audit` writes for it, and bumps the storefront generation, all in one transaction.
    pub async fn create_storefront_token<A>(
        &self,
        digest: Digest,
        draft: StorefrontToken,
        audit: A,
    ) -> Result<StorefrontToken, StoreError>
    where
        A: Fn(&StorefrontToken) -> AuditEntry + Send + 'static,
    {
        let audit = Arc::new(Mutex::new(audit));
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let (draft, audit) = (draft.clone(), audit.clone());
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached(
                            "INSERT INTO storefront_tokens (digest, title, scopes, kind, created_at)
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .await?;
                    let row = tx
                        .query_one(
                            &statement,
                            &[
                                &digest.as_slice(),
                                &draft.title,
                                &draft.scopes,
                                &draft.kind.name(),
                                &draft.created_at,
                            ],
                        )
                        .await?;
                    let id: i64 = row.try_get(0)?;
                    let token = StorefrontToken {
                        id: u64::try_from(id)
                            .map_err(|_| PgError::Corrupt(format!("storefront token id {id}")))?,
                        ..draft
                    };
                    let entry = {
                        let audit = audit.lock().unwrap_or_else(PoisonError::into_inner);
                        (*audit)(&token)
                    };
                    append(tx, &entry).await?;
                    bump_storefront_generation(tx).await?;
                    Ok(token)
                })
            })
            .await?)
    }

    /// Deletes the storefront token with `id`, audited in the same transaction (which also
    /// bumps the storefront generation); false when none.
    pub async fn delete_storefront_token(
        &self,
        id: u64,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(false);
        };
        Ok(self
            .transaction(Retry::CONFLICTS, move |tx| {
                let audit = audit.clone();
                Box::pin(async move {
                    let statement = tx
                        .prepare_cached("DELETE FROM storefront_tokens WHERE id = $1")
                        .await?;
                    if tx.execute(&statement, &[&id]).await? == 0 {
                        return Ok(false);
                    }
                    append(tx, &audit).await?;
                    bump_storefront_generation(tx).await?;
                    Ok(true)
                })
            })
            .await?)
    }
}

/// A customer edit's effects, in the order the redb store applies them.
async fn apply(tx: &Transaction<'_>, id: CustomerId, effects: &Effects) -> Result<(), PgError> {
    if effects.revoke_tokens {
        revoke_tokens(tx, i64::try_from(id.0).unwrap_or(i64::MAX)).await?;
    }
    if let Some(token) = &effects.token {
        insert_token(tx, token).await?;
    }
    if let Some(started) = &effects.browser_session {
        super::oidc::start_browser_session(tx, &started.0, &started.1).await?;
    }
    for entry in &effects.audit {
        append(tx, entry).await?;
    }
    Ok(())
}
