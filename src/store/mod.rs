//! The storage interface the core uses, and the only code that knows a backend. [`Store`] is a
//! facade over the backend `storage.backend` names: one async method per named operation and
//! per read the core needs, each a `match` that forwards to the backend. Nothing outside this
//! module sees redb or SQL.
//!
//! Files: `StoreError` and the facade here; `ops.rs` (the vocabulary of the operations and their
//! outcomes, shared by every backend); `redb/` (the embedded file: tables, the group-commit
//! writer, backups); `pg/` (PostgreSQL: pool, migrations, lease, retries).

pub mod copy;
pub mod import;
mod ops;
pub mod pg;
pub mod redb;

pub use self::redb::{
    backup_file_name, private_dir, private_mode, AdminEdit, BackupError, BackupSummary, RedbStore,
    WriterStats,
};
pub use crate::model::{
    AccessToken as AccessTokenRecord, CustomerId, Digest, Timestamp, TokenKind,
};
pub use ops::*;

use crate::config::{StorageBackend, StorageConfig};
use crate::model::{
    Account, Address, AddressChanges, AddressId, AdminSession, AdminUser, AuditEntry,
    StorefrontToken,
};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The file is held by another process (redb allows one per file).
    Locked,
    /// The file was written by a newer storekey.
    NewerSchema(u64),
    /// A stored value does not decode.
    Corrupt(String),
    /// redb reported an I/O or transaction error.
    Io(String),
    /// The writer thread is gone (shutting down) or another write in the batch failed.
    Unavailable(String),
    /// The PostgreSQL backend failed; the text names PostgreSQL and never holds the password.
    Postgres(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Locked => f.write_str(
                "the database file is in use by a running storekey server; stop it, or use the admin REST API (/rest/V1/...) instead",
            ),
            StoreError::NewerSchema(v) => write!(
                f,
                "the database was written by a newer storekey (schema {v}, this build reads {})",
                self::redb::SCHEMA_VERSION
            ),
            StoreError::Corrupt(what) => write!(f, "corrupt record: {what}"),
            StoreError::Io(e) => write!(f, "storage error: {e}"),
            StoreError::Unavailable(e) => write!(f, "storage unavailable: {e}"),
            StoreError::Postgres(e) => f.write_str(e),
        }
    }
}
impl std::error::Error for StoreError {}

impl StoreError {
    /// The store cannot be reached for now and asking again later may succeed: the API answers
    /// 503 with `Retry-After` (never 401, never 500), the caller stays signed in. On PostgreSQL
    /// that is no connection (refused, reset, closed, the pool's wait timed out), the server
    /// shutting down or starting up, out of resources, a read-only standby, or a serialization
    /// failure or deadlock still there after the retries (see `From<PgError>`); on redb, the
    /// writer gone, or the file failing a read or write (a full disk above all), which the
    /// writer cures by reopening it (`store/redb/recover.rs`). Everything else (a corrupt
    /// record, an SQL error) is a fault to look at: 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// `e` as a `StoreError` that `is_unavailable`, for the adapters' one internal-error
    /// function, which takes any error.
    pub fn unavailable_in(e: &dyn std::any::Any) -> bool {
        e.downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_unavailable)
    }
}

/// redb's page cache for bulk commands (see `Store::open_bulk`).
pub const BULK_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// A connection pool's state (see `Store::pool_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub in_use: usize,
    pub idle: usize,
    pub waiting: usize,
    pub retries: u64,
}

/// The store the core reads and writes: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store(Backend);

#[derive(Clone)]
enum Backend {
    Redb(RedbStore),
    Postgres(pg::Postgres),
}

impl From<RedbStore> for Store {
    fn from(redb: RedbStore) -> Store {
        Store(Backend::Redb(redb))
    }
}

impl From<pg::Postgres> for Store {
    fn from(pg: pg::Postgres) -> Store {
        Store(Backend::Postgres(pg))
    }
}

impl Store {
    /// Opens the backend `config.backend` names: the redb file at `config.path` (created when
    /// missing), or the PostgreSQL database at `config.url`.
    pub async fn open(config: &StorageConfig) -> Result<Store, StoreError> {
        match config.backend {
            StorageBackend::Redb => {
                RedbStore::open_with_cache(Path::new(&config.path), Some(config.cache_mib << 20))
                    .map(Store::from)
            }
            StorageBackend::Postgres => {
                let pg = pg::Postgres::connect(config).await?;
                // Two instances starting together serialise on the migration lease.
                pg.migrate().await?;
                Ok(Store(Backend::Postgres(pg)))
            }
        }
    }

    /// `open` for a bulk command (`import`, `export`): on redb with the page cache bounded to
    /// `BULK_CACHE_BYTES`, so memory stays flat through a million rows.
    pub async fn open_bulk(config: &StorageConfig) -> Result<Store, StoreError> {
        match config.backend {
            StorageBackend::Redb => {
                RedbStore::open_with_cache(Path::new(&config.path), Some(BULK_CACHE_BYTES))
                    .map(Store::from)
            }
            StorageBackend::Postgres => Store::open(config).await,
        }
    }

    /// Opens (or creates) the redb file at `path`.
    pub fn open_redb(path: &Path) -> Result<Store, StoreError> {
        RedbStore::open(path).map(Store::from)
    }

    /// The redb store behind this facade, for what only redb has: backups, writer statistics,
    /// writes from a thread without a runtime (`write_blocking`). `None` on another backend.
    pub fn redb(&self) -> Option<&RedbStore> {
        match &self.0 {
            Backend::Redb(s) => Some(s),
            Backend::Postgres(_) => None,
        }
    }

    /// The connection pool's state, when the backend has one (PostgreSQL).
    pub fn pool_status(&self) -> Option<PoolStatus> {
        match &self.0 {
            Backend::Redb(_) => None,
            Backend::Postgres(p) => Some(p.pool_status()),
        }
    }

    /// The group-commit writer's counters, when the backend has one (redb).
    pub fn writer_stats(&self) -> Option<&WriterStats> {
        self.redb().map(RedbStore::stats)
    }

    // ------------------------------------------------------------------ reads
    //
    // The redb arm of each read is a synchronous snapshot read: it neither spawns nor blocks
    // (a read transaction never waits for the writer), so the hot path stays one lookup.

    /// Whether the store answers a read (`/healthz`).
    pub async fn check(&self) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read().map(|_| ()),
            Backend::Postgres(p) => Ok(p.ping().await?),
        }
    }

    pub async fn customer(&self, id: CustomerId) -> Result<Option<Account>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.customer(id),
            Backend::Postgres(p) => p.customer(id).await,
        }
    }

    pub async fn customer_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.customer_by_email(email),
            Backend::Postgres(p) => p.customer_by_email(email).await,
        }
    }

    pub async fn customer_id_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.customer_id_by_identifier(identifier),
            Backend::Postgres(p) => p.customer_id_by_identifier(identifier).await,
        }
    }

    /// Up to `limit` customers with ids above `after`, in id order.
    pub async fn customers(
        &self,
        after: CustomerId,
        limit: usize,
    ) -> Result<Vec<Account>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.customers(after, limit),
            Backend::Postgres(p) => p.customers(after, limit).await,
        }
    }

    pub async fn access_token(
        &self,
        digest: &Digest,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.access_token(digest),
            Backend::Postgres(p) => p.access_token(digest).await,
        }
    }

    /// An access token and its customer, read together (one snapshot on redb, one query on
    /// SQL); `None` when either is gone. Expiry is the caller's to check.
    pub async fn session(
        &self,
        digest: &Digest,
    ) -> Result<Option<(AccessTokenRecord, Account)>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.session(digest),
            Backend::Postgres(p) => p.session(digest).await,
        }
    }

    /// Every storefront token with its digest.
    pub async fn storefront_tokens(&self) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.storefront_tokens(),
            Backend::Postgres(p) => p.storefront_tokens().await,
        }
    }

    /// Up to `limit` audit entries after sequence number `after`, oldest first.
    pub async fn audit(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.audit(after, limit),
            Backend::Postgres(p) => p.audit(after, limit).await,
        }
    }

    /// Whether a Multipass token's replay record exists.
    pub async fn replay_seen(&self, digest: &Digest) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.replay_seen(digest),
            Backend::Postgres(p) => p.replay_seen(digest).await,
        }
    }

    pub async fn customer_count(&self) -> Result<u64, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.customer_count(),
            Backend::Postgres(p) => p.customer_count().await,
        }
    }

    pub async fn access_token_count(&self) -> Result<u64, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.access_token_count(),
            Backend::Postgres(p) => p.access_token_count().await,
        }
    }

    // ------------------------------------------------------------------ operations
    //
    // Each is one atomic write whose outcome is a value (see `ops.rs`).

    /// Edits one customer: `edit` decides on a copy (and may refuse); a saved edit keeps the
    /// email and identifier indexes in step, refuses an email another customer has, and
    /// applies its effects (token revocation, a new token, an audit entry) in the same commit.
    pub async fn update_customer<T, F>(&self, who: Who, edit: F) -> Result<Updated<T>, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Account) -> Change<T> + Send + 'static,
    {
        match &self.0 {
            Backend::Redb(s) => s.update_customer(who, edit).await,
            Backend::Postgres(p) => p.update_customer(who, edit).await,
        }
    }

    /// Adds an address to a customer's book (the store assigns its id), unless the customer
    /// already has `max`: counted inside the commit, so concurrent creates cannot pass it.
    pub async fn create_address(
        &self,
        customer: CustomerId,
        address: Address,
        defaults: NewAddressDefaults,
        max: usize,
    ) -> Result<AddressOutcome, StoreError> {
        let edit = AddressEdit::Create {
            address,
            default_billing: defaults.billing,
            default_shipping: defaults.shipping,
            first_is_default: defaults.first_is_default,
            max,
        };
        self.edit_addresses(customer, edit).await
    }

    /// Changes the given fields of one of the customer's addresses and, with `Some`, whether
    /// it is the default billing / shipping one.
    pub async fn update_address(
        &self,
        customer: CustomerId,
        id: AddressId,
        changes: AddressChanges,
        default_billing: Option<bool>,
        default_shipping: Option<bool>,
    ) -> Result<AddressOutcome, StoreError> {
        let edit = AddressEdit::Update {
            id,
            changes,
            default_billing,
            default_shipping,
        };
        self.edit_addresses(customer, edit).await
    }

    /// Deletes one of the customer's addresses; with `keep_defaults` a default one is refused.
    pub async fn delete_address(
        &self,
        customer: CustomerId,
        id: AddressId,
        keep_defaults: bool,
    ) -> Result<AddressOutcome, StoreError> {
        self.edit_addresses(customer, AddressEdit::Delete { id, keep_defaults })
            .await
    }

    /// Makes one of the customer's addresses the default billing and/or shipping one.
    pub async fn set_default_address(
        &self,
        customer: CustomerId,
        id: AddressId,
        billing: bool,
        shipping: bool,
    ) -> Result<AddressOutcome, StoreError> {
        let edit = AddressEdit::SetDefaults {
            id,
            billing,
            shipping,
        };
        self.edit_addresses(customer, edit).await
    }

    async fn edit_addresses(
        &self,
        customer: CustomerId,
        edit: AddressEdit,
    ) -> Result<AddressOutcome, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.edit_addresses(customer, edit).await,
            Backend::Postgres(p) => p.edit_addresses(customer, edit).await,
        }
    }

    /// Stores a new customer under a fresh id, unless its email is taken; the audit entry (an
    /// admin's create) goes into the same commit.
    pub async fn create_customer(
        &self,
        record: Account,
        audit: Option<AuditEntry>,
    ) -> Result<Created, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.create_customer(record, audit).await,
            Backend::Postgres(p) => p.create_customer(record, audit).await,
        }
    }

    /// Deletes a customer with its tokens and codes, audited in the same commit. False when
    /// there was no such customer.
    pub async fn delete_customer(
        &self,
        id: CustomerId,
        audit: Option<AuditEntry>,
    ) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.delete_customer(id, audit).await,
            Backend::Postgres(p) => p.delete_customer(id, audit).await,
        }
    }

    /// Extends a live token. False when it is gone (a concurrent delete wins over a renew).
    pub async fn renew_token(&self, token: NewToken) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.renew_token(token).await,
            Backend::Postgres(p) => p.renew_token(token).await,
        }
    }

    /// A Multipass sign-in in one write: records the token's replay digest (the first use wins),
    /// finds the customers its identifier and its email name, lets `decide` create or update
    /// one, and mints `token` for that customer (its `customer_id` is filled in here).
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
        match &self.0 {
            Backend::Redb(s) => {
                s.multipass_sign_in(replay, replay_until, identifier, email, decide, token)
                    .await
            }
            Backend::Postgres(p) => {
                p.multipass_sign_in(replay, replay_until, identifier, email, decide, token)
                    .await
            }
        }
    }

    /// Deletes one token; false when there was none.
    pub async fn delete_token(&self, digest: Digest) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.delete_token(digest).await,
            Backend::Postgres(p) => p.delete_token(digest).await,
        }
    }

    /// Deletes every token of a customer; returns how many.
    pub async fn revoke_customer_tokens(&self, id: CustomerId) -> Result<u64, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.revoke_customer_tokens(id).await,
            Backend::Postgres(p) => p.revoke_customer_tokens(id).await,
        }
    }

    /// Appends one audit entry on its own.
    pub async fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.append_audit(entry).await,
            Backend::Postgres(p) => p.append_audit(entry).await,
        }
    }

    /// One small durable write that changes nothing a client can see, so a refusal with
    /// nothing to record costs what a recorded one costs.
    pub async fn record_refusal(&self) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.record_refusal().await,
            Backend::Postgres(p) => p.record_refusal().await,
        }
    }

    /// Stores a storefront token under the next id, with the audit entry `audit` writes for it.
    pub async fn create_storefront_token<A>(
        &self,
        digest: Digest,
        draft: StorefrontToken,
        audit: A,
    ) -> Result<StorefrontToken, StoreError>
    where
        A: Fn(&StorefrontToken) -> AuditEntry + Send + 'static,
    {
        match &self.0 {
            Backend::Redb(s) => s.create_storefront_token(digest, draft, audit).await,
            Backend::Postgres(p) => p.create_storefront_token(digest, draft, audit).await,
        }
    }

    /// Deletes the storefront token with `id`, audited in the same commit; false when none.
    pub async fn delete_storefront_token(
        &self,
        id: u64,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.delete_storefront_token(id, audit).await,
            Backend::Postgres(p) => p.delete_storefront_token(id, audit).await,
        }
    }

    /// Counts one mail request for the address `key` names and decides in the same atomic
    /// write whether it is allowed under `limit` (a cap per window and a minimum gap, shared
    /// by every instance on the store). A refused request writes nothing.
    pub async fn count_mail_request(
        &self,
        key: Digest,
        limit: MailLimit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.count_mail_request(key, limit, now).await,
            Backend::Postgres(p) => p.count_mail_request(key, limit, now).await,
        }
    }

    /// Purges up to `batch` expired entries (tokens, codes, replay records, ended locks, spent
    /// mail limits).
    pub async fn sweep(&self, now: Timestamp, batch: usize) -> Result<SweepReport, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.sweep(now, batch).await,
            Backend::Postgres(p) => p.sweep(now, batch).await,
        }
    }

    /// Writes one batch of imported rows in one transaction and says what each did (see
    /// `import::decide`). With `fail`, the first row whose email is taken ends the batch.
    pub async fn import_batch(
        &self,
        rows: Vec<Account>,
        on_conflict: import::OnConflict,
        now: Timestamp,
    ) -> Result<Vec<import::Imported>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.import_batch(rows, on_conflict, now).await,
            Backend::Postgres(p) => p.import_batch(rows, on_conflict, now).await,
        }
    }

    /// `import_batch`'s decisions on committed data, writing nothing (`--dry-run`). The caller
    /// leaves out rows whose email came earlier in the file, as it does for a real import, so
    /// both report the same counts.
    pub async fn import_batch_dry_run(
        &self,
        rows: &[Account],
        on_conflict: import::OnConflict,
        now: Timestamp,
    ) -> Result<Vec<import::Imported>, StoreError> {
        use import::{decide, Decision, Imported, RowOutcome};
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let existing = self.customer_by_email(&row.customer.email).await?;
            let id = existing.as_ref().map_or(CustomerId(0), |e| e.customer.id);
            let owner = match &row.customer.multipass_identifier {
                Some(ident) => self.customer_id_by_identifier(ident).await?,
                None => None,
            };
            let identifier_taken = owner.is_some_and(|o| o != id);
            let outcome = match decide(existing.as_ref(), row, on_conflict, now) {
                Decision::Create => RowOutcome::Created(CustomerId(0)),
                Decision::Update(_) => RowOutcome::Updated(id),
                Decision::Unchanged => RowOutcome::Skipped(id),
                Decision::Conflict => {
                    out.push(Imported {
                        outcome: RowOutcome::Conflict(id),
                        identifier_taken: false,
                    });
                    break;
                }
            };
            out.push(Imported {
                outcome,
                identifier_taken,
            });
        }
        Ok(out)
    }

    // ------------------------------------------------------------------ N instances

    /// A counter every storefront-token change bumps in its own transaction, for instances
    /// that cache the tokens to notice another instance's change. `None` on redb: one process
    /// owns the file, so its own changes are the only ones.
    pub async fn storefront_generation(&self) -> Result<Option<u64>, StoreError> {
        match &self.0 {
            Backend::Redb(_) => Ok(None),
            Backend::Postgres(p) => p.storefront_generation().await.map(Some),
        }
    }

    /// Takes or renews the lease `name` for `holder` until `ttl` from now (database time);
    /// false while another live holder has it. Always true on redb (one process).
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(_) => Ok(true),
            Backend::Postgres(p) => Ok(p.try_lease(name, holder, ttl).await?),
        }
    }

    /// Gives up the lease `name` if `holder` holds it, so another instance takes it at its next
    /// try instead of at expiry. Nothing to do on redb.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Redb(_) => Ok(()),
            Backend::Postgres(p) => {
                p.release_lease(name, holder).await?;
                Ok(())
            }
        }
    }

    // ------------------------------------------------------------------ migrate

    /// Up to `limit` rows of `table` after `after`, in key order (`storekey migrate`'s read).
    pub async fn dump_page(
        &self,
        table: copy::Table,
        after: &copy::Key,
        limit: usize,
    ) -> Result<Vec<copy::Row>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.dump_page(table, after, limit),
            Backend::Postgres(p) => p.dump_page(table, after, limit).await,
        }
    }

    /// Writes copied rows in one transaction, each under its own key (ids, sequence numbers
    /// and digests kept); a row the target has under the same key is replaced.
    pub async fn load_page(&self, rows: Vec<copy::Row>) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.load_page(rows).await,
            Backend::Postgres(p) => p.load_page(rows).await,
        }
    }

    /// After the last `load_page`: moves the id sequences past every stored id.
    pub async fn finish_load(&self) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.finish_load().await,
            Backend::Postgres(p) => p.finish_load().await,
        }
    }

    /// Rows per table.
    pub async fn counts(&self) -> Result<copy::Counts, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.read()?.counts(),
            Backend::Postgres(p) => p.counts().await,
        }
    }

    // ------------------------------------------------------------------ admin console

    /// Stores a new admin user; false (nothing written) when the name is taken.
    pub async fn create_admin_user(
        &self,
        user: AdminUser,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.create_admin_user(user, audit).await,
            Backend::Postgres(p) => p.create_admin_user(user, audit).await,
        }
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
        match &self.0 {
            Backend::Redb(s) => s.update_admin_user(name, idle_seconds, edit).await,
            Backend::Postgres(p) => p.update_admin_user(name, idle_seconds, edit).await,
        }
    }

    pub async fn admin_user(&self, name: &str) -> Result<Option<AdminUser>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.admin_user(name),
            Backend::Postgres(p) => p.admin_user(name).await,
        }
    }

    /// Every admin user, by name.
    pub async fn admin_users(&self) -> Result<Vec<AdminUser>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.admin_users(),
            Backend::Postgres(p) => p.admin_users().await,
        }
    }

    pub async fn admin_session(&self, digest: &Digest) -> Result<Option<AdminSession>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.admin_session(digest),
            Backend::Postgres(p) => p.admin_session(digest).await,
        }
    }

    /// Marks a session seen at `now`, unless it has been idle `idle_seconds` or more (then it
    /// is deleted). The session as it now is, or `None`.
    pub async fn touch_admin_session(
        &self,
        digest: Digest,
        now: Timestamp,
        idle_seconds: i64,
    ) -> Result<Option<AdminSession>, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.touch_admin_session(digest, now, idle_seconds).await,
            Backend::Postgres(p) => p.touch_admin_session(digest, now, idle_seconds).await,
        }
    }

    /// Revokes every access token of a customer with the admin's audit entry, in one commit.
    pub async fn revoke_customer_tokens_audited(
        &self,
        id: CustomerId,
        audit: AuditEntry,
    ) -> Result<u64, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.revoke_customer_tokens_audited(id, audit).await,
            Backend::Postgres(p) => p.revoke_customer_tokens_audited(id, audit).await,
        }
    }

    /// Deletes a session; false when there was none.
    pub async fn delete_admin_session(&self, digest: Digest) -> Result<bool, StoreError> {
        match &self.0 {
            Backend::Redb(s) => s.delete_admin_session(digest).await,
            Backend::Postgres(p) => p.delete_admin_session(digest).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_failure_says_postgresql_and_keeps_its_reason() {
        let refused = StoreError::from(pg::PgError::Connect(
            "cannot connect to PostgreSQL: connection refused".into(),
        ));
        assert_eq!(
            refused.to_string(),
            "storage unavailable: cannot connect to PostgreSQL: connection refused"
        );
        let config = StoreError::from(pg::PgError::Config(
            "storage.tls_ca_file /nope.pem: No such file or directory".into(),
        ));
        assert_eq!(
            config.to_string(),
            "storage unavailable: PostgreSQL: storage.tls_ca_file /nope.pem: No such file or directory"
        );
    }

    #[tokio::test]
    async fn an_unreachable_postgres_is_unavailable_and_the_password_stays_out() {
        let config = StorageConfig {
            backend: StorageBackend::Postgres,
            url: Some(crate::config::DatabaseUrl::new(
                "postgresql://storekey:hunter2@127.0.0.1:1/storekey",
            )),
            ..StorageConfig::default()
        };
        let err = Store::open(&config).await.err().expect("refused");
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("PostgreSQL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[tokio::test]
    async fn the_redb_backend_opens_from_the_storage_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig {
            path: dir.path().join("s.redb").to_string_lossy().into_owned(),
            ..StorageConfig::default()
        };
        let store = Store::open(&config).await.unwrap();
        assert!(store.redb().is_some());
        assert_eq!(store.customer_count().await.unwrap(), 0);
        assert!(store.check().await.is_ok());
    }
}
