//! Surviving a failed write (a full disk above all): which redb errors mean "unavailable for
//! now", and the slot that lets the writer thread close the database and open it again.
//!
//! redb latches the first I/O error of its file: from then on every operation of that
//! `Database`, reads included, fails with `PreviousIo` until it is dropped and opened again
//! (the open repairs the file back to its last commit). So the database lives in a [`Slot`]
//! the writer thread can empty and refill, over storage that [`Reopen`] hands out again.

use super::*;
use redb::{StorageError, TransactionError};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// Opens the database again over the same storage (a file: the same file, never a new one).
pub(super) type Reopen = dyn Fn() -> Result<Database, StoreError> + Send + Sync;

/// The open database, or none while the writer reopens it after a failed write.
pub(super) struct Slot {
    db: RwLock<Option<Database>>,
    reopen: Box<Reopen>,
}

/// First wait before opening the database again, and between writes that keep failing.
pub(super) const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest of those waits: a write refused meanwhile is answered at once (503), and once
/// space is freed writes resume within this time.
pub(super) const LAST_RETRY: Duration = Duration::from_secs(2);

impl Slot {
    /// Opens the database the first time.
    pub(super) fn open(reopen: Box<Reopen>) -> Result<Slot, StoreError> {
        let db = reopen()?;
        Ok(Slot {
            db: RwLock::new(Some(db)),
            reopen,
        })
    }

    /// A read snapshot: one shared lock around `begin_read`, nothing held after it.
    pub(super) fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        match db.as_ref() {
            Some(db) => Ok(db.begin_read()?),
            None => Err(reopening()),
        }
    }

    /// Runs `f` with the open database (the writer's batch), or says it is being reopened.
    pub(super) fn with<T>(&self, f: impl FnOnce(&Database) -> T) -> Result<T, StoreError> {
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner);
        match db.as_ref() {
            Some(db) => Ok(f(db)),
            None => Err(reopening()),
        }
    }

    /// Whether redb has latched an I/O error (or otherwise refuses to start a write): the
    /// database must be reopened before anything works again. Asked by the writer after a
    /// batch that did not commit, so it costs nothing while writes succeed.
    pub(super) fn latched(&self) -> bool {
        self.with(|db| match db.begin_write() {
            Ok(txn) => {
                let _ = txn.abort();
                false
            }
            Err(TransactionError::Storage(_)) => true,
            Err(_) => false,
        })
        .unwrap_or(true)
    }

    /// Drops the database: its storage is closed (redb releases the file's locks), and read
    /// transactions still alive fail with `DatabaseClosed` from here on, which they report
    /// as unavailable. New reads are told the database is being reopened.
    pub(super) fn close(&self) {
        let old = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(old);
    }

    /// Opens the database again (running redb's repair when the file needs it).
    pub(super) fn reopen(&self) -> Result<(), StoreError> {
        let db = (self.reopen)()?;
        *self.db.write().unwrap_or_else(PoisonError::into_inner) = Some(db);
        Ok(())
    }
}

fn reopening() -> StoreError {
    StoreError::Unavailable(
        "the database file is being reopened after a failed write; try again shortly".into(),
    )
}

/// Whether an I/O error says the file system has no room for the write: no space, or the
/// user's quota spent.
pub(super) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// A redb storage error as the store reports it. A failed read or write of the file, the
/// latch it leaves, and a database closed under a reader are all cured by the writer
/// reopening the file, so they are `Unavailable` (503, ask again later); anything else
/// (a corrupt page, a value too large) is a fault to look at.
pub(super) fn storage_error(e: &StorageError) -> StoreError {
    match e {
        StorageError::Io(io) if is_disk_full(io) => StoreError::Unavailable(format!(
            "the disk is full ({io}); writes are refused until space is freed"
        )),
        StorageError::Io(io) => StoreError::Unavailable(format!(
            "the database file failed a read or write ({io}); it is reopened and writes resume when the file answers again"
        )),
        StorageError::PreviousIo | StorageError::DatabaseClosed => StoreError::Unavailable(
            "an earlier write to the database file failed; it is being reopened, try again shortly".into(),
        ),
        e => StoreError::Io(e.to_string()),
    }
}

impl From<StorageError> for StoreError {
    fn from(e: StorageError) -> Self {
        storage_error(&e)
    }
}

impl From<redb::TableError> for StoreError {
    fn from(e: redb::TableError) -> Self {
        match e {
            redb::TableError::Storage(s) => storage_error(&s),
            e => StoreError::Io(e.to_string()),
        }
    }
}

impl From<TransactionError> for StoreError {
    fn from(e: TransactionError) -> Self {
        match e {
            TransactionError::Storage(s) => storage_error(&s),
            e => StoreError::Io(e.to_string()),
        }
    }
}

impl From<redb::CommitError> for StoreError {
    fn from(e: redb::CommitError) -> Self {
        match e {
            redb::CommitError::Storage(s) => storage_error(&s),
            e => StoreError::Io(e.to_string()),
        }
    }
}

/// Storage held in memory that the slot can open again after a close: the bytes live in the
/// shared [`redb::backends::InMemoryBackend`], not in the `Database` that is dropped.
#[derive(Debug, Clone)]
pub(super) struct SharedMemory(pub(super) Arc<redb::backends::InMemoryBackend>);

impl redb::StorageBackend for SharedMemory {
    fn len(&self) -> std::io::Result<u64> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.0.write(offset, data)
    }
}

/// Waits that double from [`FIRST_RETRY`] up to [`LAST_RETRY`].
pub(super) struct Backoff(Duration);

impl Backoff {
    pub(super) fn new() -> Backoff {
        Backoff(FIRST_RETRY)
    }

    /// The next wait; the one after it is twice as long, up to the cap.
    pub(super) fn next_wait(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(LAST_RETRY);
        wait
    }
}
