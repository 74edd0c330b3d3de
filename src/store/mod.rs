//! The storage interface the core uses, and the only code that knows a backend. [`Store`] is a
//! facade over the backend `storage.backend` names: one async method per named operation and
//! per read the core needs, each a `match` that forwards to the backend. Nothing outside this
//! module sees redb or SQL.
//!
//! Files: `StoreError` and the facade here; `ops.rs` (the vocabulary of the operations and their
//! outcomes, shared by every backend); `redb/` (the embedded file: tables, the group-commit
//! writer, backups); `pg/` (PostgreSQL: pool, migrations, lease, retries).

mod backend;
pub mod backups;
mod codec;
pub mod copy;
pub mod import;
mod ops;
pub mod pg;
pub mod redb;

pub use self::redb::{private_dir, private_mode, RedbStore, WriterStats};
pub use crate::model::{
    AccessToken as AccessTokenRecord, CustomerId, Digest, Timestamp, TokenKind,
};
pub use backend::Backend;
pub use backups::{backup_file_name, BackupError, BackupSummary, Backups};
pub use ops::*;

use crate::config::{StorageBackend, StorageConfig};
use crate::model::{Address, AddressChanges, AddressId};
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
pub struct Store(Inner);

#[derive(Clone)]
enum Inner {
    Redb(RedbStore),
    Postgres(pg::Postgres),
}

impl From<RedbStore> for Store {
    fn from(redb: RedbStore) -> Store {
        Store(Inner::Redb(redb))
    }
}

impl From<pg::Postgres> for Store {
    fn from(pg: pg::Postgres) -> Store {
        Store(Inner::Postgres(pg))
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
                Ok(Store(Inner::Postgres(pg)))
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
            Inner::Redb(s) => Some(s),
            Inner::Postgres(_) => None,
        }
    }

    /// Backups, when the backend writes them (redb); `None` on PostgreSQL, which is backed up
    /// with its own tools.
    pub fn backups(&self) -> Option<std::sync::Arc<dyn Backups>> {
        self.redb()
            .map(|s| std::sync::Arc::new(s.clone()) as std::sync::Arc<dyn Backups>)
    }

    /// The connection pool's state, when the backend has one (PostgreSQL).
    pub fn pool_status(&self) -> Option<PoolStatus> {
        match &self.0 {
            Inner::Redb(_) => None,
            Inner::Postgres(p) => Some(p.pool_status()),
        }
    }

    /// The group-commit writer's counters, when the backend has one (redb).
    pub fn writer_stats(&self) -> Option<&WriterStats> {
        self.redb().map(RedbStore::stats)
    }

    // ------------------------------------------------------------------ conveniences
    //
    // Built on the `Backend` operations, for every backend at once.

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
