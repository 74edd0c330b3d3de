//! The PostgreSQL backend's foundations: the connection pool (TLS through rustls), the embedded
//! migrations applied at start under a lease, the lease itself (database time, no advisory
//! locks, so CockroachDB accepts it) and the one transaction helper that retries what a
//! concurrent engine asks to be retried. The storage operations come on top of these.
//!
//! Files: `pool.rs` (config → pool, TLS), `migrate.rs` (the version table and the SQL files in
//! `migrations/`), `lease.rs` (`try_lease`), `retry.rs` (`transaction` and its test hook),
//! `ops.rs` (the store's named operations), `read.rs` (the reads, and rows ↔ `Account`),
//! `sweep.rs` (the batched purge of what expired), `addresses.rs` (customer addresses).

mod addresses;
mod admin;
mod copy;
mod import;
mod lease;
mod mail_limits;
mod migrate;
mod oidc;
mod ops;
mod passkeys;
mod pool;
mod read;
mod retry;
mod sweep;

pub use migrate::{MigrationReport, MIGRATIONS};
pub use retry::{Retry, TxFuture};

use deadpool_postgres::Pool;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::Arc;
use tokio_postgres::error::SqlState;

/// A failure of the PostgreSQL backend, phrased for the operator; never holds the password.
#[derive(Debug)]
pub enum PgError {
    /// `storage.*` settings the client cannot use (an unreadable CA file, …).
    Config(String),
    /// No connection could be had from the pool (server down, refused, timed out).
    Connect(String),
    /// The database refused or failed a statement.
    Db(tokio_postgres::Error),
    /// The schema cannot be brought to this build's version.
    Migration(String),
    /// A stored row this build cannot read (an id out of range, a digest not 32 bytes, …).
    Corrupt(String),
}

impl PgError {
    /// The SQLSTATE of a database error, if this is one.
    pub fn code(&self) -> Option<&SqlState> {
        match self {
            PgError::Db(e) => e.code(),
            _ => None,
        }
    }
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PgError::Config(m) | PgError::Connect(m) | PgError::Migration(m) => f.write_str(m),
            PgError::Corrupt(m) => write!(f, "corrupt record: {m}"),
            PgError::Db(e) => match e.as_db_error() {
                Some(db) => write!(f, "PostgreSQL: {} ({})", db.message(), db.code().code()),
                None => write!(f, "PostgreSQL: {e}"),
            },
        }
    }
}

impl std::error::Error for PgError {}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

/// One instance's handle on the database: a pool of connections plus the retry bookkeeping.
/// Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    /// Test hook: transactions still to be failed with SQLSTATE 40001 (see
    /// [`Postgres::inject_serialization_failures`]).
    injected_failures: Arc<AtomicU32>,
    retries: Arc<AtomicU64>,
}

impl Postgres {
    /// The pool behind this handle (statements through `prepare_cached`).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Transaction attempts retried since start (serialization failures, deadlocks and allowed
    /// unique violations).
    pub fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The pool as `/metrics` shows it: connections in use, idle, requests waiting for one,
    /// and transactions retried since start.
    pub fn pool_status(&self) -> crate::store::PoolStatus {
        let s = self.pool.status();
        crate::store::PoolStatus {
            in_use: s.size.saturating_sub(s.available),
            idle: s.available,
            waiting: s.waiting,
            retries: self.retries(),
        }
    }

    /// One round trip (`/healthz`): the database answers.
    pub async fn check(&self) -> Result<(), crate::store::StoreError> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(PgError::from)?;
        Ok(())
    }
}

/// A random id for a lease holder (one per instance or per migrator).
pub fn new_holder_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    // The system RNG failing is not a reason to stop: the holder id need only differ between
    // instances, so fall back to the process id and the time.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..4].copy_from_slice(&std::process::id().to_be_bytes());
        bytes[4..].copy_from_slice(&nanos.to_be_bytes()[4..]);
    }
    hex::encode(bytes)
}
