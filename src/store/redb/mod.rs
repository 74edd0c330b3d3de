//! The redb backend: the tables, typed reads and writes over them, and the single writer
//! thread that batches concurrent writes into one durable commit (group commit).
//!
//! Reads run on the caller's thread in their own MVCC snapshot and never wait for the writer.
//! The facade (`store::Store`) writes through the named operations of `ops.rs`; each is a
//! closure over [`Tx`] sent to the writer thread, which drains its queue, runs the closures in
//! order inside one transaction, commits once (one fsync) and answers them all. A closure that
//! returns an error aborts the whole batch, and every request in it fails: nothing half-done is
//! ever committed.
//!
//! Files: the tables and `RedbStore::open` here; `ops.rs` (the named operations), `writer.rs`
//! (the group-commit thread), `recover.rs` (a failed write such as a full disk: 503 and the
//! reopen), `tx.rs` (the write side of a batch), `reader.rs` and `read.rs` (snapshot reads),
//! `expiry.rs` (the sweep), `backup.rs`, `records.rs` (stored records and their encodings).

mod admin;
mod backup;
mod copy;
mod expiry;
mod import;
mod mail_limits;
mod oidc;
mod ops;
mod passkeys;
mod read;
mod reader;
mod records;
mod recover;
mod tx;
mod writer;

use admin::{ADMIN_SESSIONS, ADMIN_USERS};
use backup::FileId;
pub use backup::{private_dir, private_mode};
use mail_limits::MAIL_LIMITS;
use oidc::{
    BROWSER_SESSIONS, OIDC_ACCESS, OIDC_CLIENTS, OIDC_CODES, OIDC_GRANTS, OIDC_INDEX, OIDC_KEYS,
    REFRESH_TOKENS,
};
use passkeys::{PASSKEY_CHALLENGES, PASSKEY_HANDLES};
pub use reader::Reader;
pub use records::*;
use recover::{SharedMemory, Slot};
pub use tx::Tx;
use writer::{run_writer, Job};

use super::{Expiring, Scanned, StoreError, SweepReport};
use crate::model::{
    email_key, Account, AddressId, AuditEntry, Credentials, Lockout, StorefrontToken,
};
use records::{decode_customer, encode_customer};

use redb::{
    Database, MultimapTable, MultimapTableDefinition, ReadTransaction, ReadableDatabase,
    ReadableMultimapTable, ReadableTable, ReadableTableMetadata, Table, TableDefinition,
    WriteTransaction,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Version of the table layout this build writes. Files from a newer build are refused.
pub const SCHEMA_VERSION: u64 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CUSTOMERS: TableDefinition<u64, &[u8]> = TableDefinition::new("customers");
const EMAILS: TableDefinition<&str, u64> = TableDefinition::new("customer_emails");
const IDENTIFIERS: TableDefinition<&str, u64> = TableDefinition::new("multipass_identifiers");
const TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("access_tokens");
const CUSTOMER_TOKENS: MultimapTableDefinition<u64, &[u8]> =
    MultimapTableDefinition::new("customer_access_tokens");
const EXPIRY: TableDefinition<&[u8], ()> = TableDefinition::new("expiry_index");
const REPLAY: TableDefinition<&[u8], i64> = TableDefinition::new("multipass_replay");
const STOREFRONT_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storefront_tokens");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_log");
/// Address id → the customer whose record holds it (the addresses themselves are in the
/// customer's record), so an edit of someone else's address is told from a missing one.
const ADDRESS_OWNERS: TableDefinition<u64, u64> = TableDefinition::new("address_owners");

/// Every table except the customer→tokens multimap, listed once: schema creation and backup go
/// through this list, so a new table is created and backed up by adding it here (and opened
/// for writes by adding it to `Tx`).
macro_rules! plain_tables {
    ($apply:ident) => {
        $apply!(
            META,
            CUSTOMERS,
            EMAILS,
            IDENTIFIERS,
            TOKENS,
            EXPIRY,
            REPLAY,
            STOREFRONT_TOKENS,
            AUDIT,
            ADMIN_USERS,
            ADMIN_SESSIONS,
            MAIL_LIMITS,
            ADDRESS_OWNERS,
            OIDC_KEYS,
            OIDC_CLIENTS,
            BROWSER_SESSIONS,
            OIDC_CODES,
            OIDC_GRANTS,
            REFRESH_TOKENS,
            OIDC_ACCESS,
            OIDC_INDEX,
            PASSKEY_CHALLENGES,
            PASSKEY_HANDLES
        )
    };
}
pub(crate) use plain_tables;

/// Most writes a single commit takes; bounds one batch's latency under a flood.
const MAX_BATCH: usize = 512;

/// Writes that may wait for the writer; beyond this, `write` waits (asynchronously) for room.
const QUEUE_CAPACITY: usize = 4096;

/// Handle to the database: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct RedbStore {
    /// The database, which the writer thread reopens after a failed write (see `recover.rs`).
    db: Arc<Slot>,
    /// Device and inode of the open database file: a backup must never replace it. `None`
    /// when the store has no file (in memory), which backups refuse.
    file_id: Option<FileId>,
    jobs: mpsc::Sender<Job>,
    stats: Arc<WriterStats>,
    /// Declared after `jobs`: when the last handle drops, the queue closes first and then the
    /// writer thread is joined, so the file is released once the last `RedbStore` is gone.
    _writer: Arc<WriterThread>,
}

/// The writer thread, joined when the last [`RedbStore`] handle is dropped.
struct WriterThread(Option<std::thread::JoinHandle<()>>);

impl Drop for WriterThread {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            // A write that held the last handle cannot wait for its own thread.
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

#[derive(Default)]
pub struct WriterStats {
    pub commits: std::sync::atomic::AtomicU64,
    pub writes: std::sync::atomic::AtomicU64,
    /// Times the database was closed and opened again after a failed write.
    pub reopens: std::sync::atomic::AtomicU64,
}

impl RedbStore {
    /// Opens (or creates, mode 0600, in a directory created 0700) the file, checks the schema
    /// version, and starts the writer thread. redb's in-process page cache keeps its default.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        RedbStore::open_with_cache(path, None)
    }

    /// `open` with redb's in-process page cache bounded to `cache_bytes` (a bulk import or
    /// export writes or reads every page once: a small cache keeps its memory flat).
    pub fn open_with_cache(
        path: &Path,
        cache_bytes: Option<usize>,
    ) -> Result<RedbStore, StoreError> {
        let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                private_dir(parent)
                    .map_err(|e| StoreError::Io(format!("{}: {e}", parent.display())))?;
            }
        }
        // Created here rather than by redb so a new file is private from its first byte and so
        // the backup can recognise this very file (device + inode) behind any path.
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        private_mode(&mut options);
        let file = options.open(path).map_err(io)?;
        let file_id = FileId::of(&file.metadata().map_err(io)?);
        let first = std::sync::Mutex::new(Some(file));
        let path = path.to_path_buf();
        // Every later open (after a failed write) opens the same file again, never creates
        // one: a file removed or replaced meanwhile is refused rather than served empty.
        let reopen = move || {
            let taken = first
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let file = match taken {
                Some(file) => file,
                None => reopen_file(&path, file_id)?,
            };
            let backend = redb::backends::FileBackend::new(file)
                .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
            build(backend, cache_bytes, &path.display())
        };
        RedbStore::start(Box::new(reopen), Some(file_id))
    }

    /// A store held in memory only (no file): for tests of the core without a file system.
    /// Backups refuse it.
    pub fn in_memory() -> Result<RedbStore, StoreError> {
        let memory = Arc::new(redb::backends::InMemoryBackend::new());
        let reopen = move || build(SharedMemory(memory.clone()), None, &"memory");
        RedbStore::start(Box::new(reopen), None)
    }

    /// A store over the storage `open` hands out, for tests that make the storage fail (a
    /// full disk). `open` is called again whenever the writer reopens the database after a
    /// failed write, and must hand out the same storage. Backups refuse such a store.
    #[doc(hidden)]
    pub fn open_with_backend<B: redb::StorageBackend>(
        open: impl Fn() -> std::io::Result<B> + Send + Sync + 'static,
    ) -> Result<RedbStore, StoreError> {
        let reopen = move || {
            let backend = open().map_err(|e| StoreError::Io(format!("storage: {e}")))?;
            build(backend, None, &"storage")
        };
        RedbStore::start(Box::new(reopen), None)
    }

    /// Opens the database through `reopen`, checks the schema version, and starts the writer.
    fn start(
        reopen: Box<recover::Reopen>,
        file_id: Option<FileId>,
    ) -> Result<RedbStore, StoreError> {
        let db = Arc::new(Slot::open(reopen)?);
        db.with(init_schema)??;
        // Bounded so a write flood applies back-pressure instead of growing memory; async
        // callers wait for room without holding a runtime thread.
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE_CAPACITY);
        let stats = Arc::new(WriterStats::default());
        let writer_db = db.clone();
        let writer_stats = stats.clone();
        let writer = std::thread::Builder::new()
            .name("storekey-writer".into())
            .spawn(move || run_writer(&writer_db, queue, &writer_stats))
            .map_err(|e| StoreError::Io(format!("cannot start writer thread: {e}")))?;
        Ok(RedbStore {
            db,
            file_id,
            jobs,
            stats,
            _writer: Arc::new(WriterThread(Some(writer))),
        })
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// A consistent snapshot for reads.
    pub fn read(&self) -> Result<Reader, StoreError> {
        Ok(Reader {
            txn: self.db.begin_read()?,
        })
    }
}

/// The database over `backend`: redb runs its repair here when the file was left mid-write.
fn build(
    backend: impl redb::StorageBackend,
    cache_bytes: Option<usize>,
    name: &dyn std::fmt::Display,
) -> Result<Database, StoreError> {
    let mut builder = redb::Builder::new();
    if let Some(bytes) = cache_bytes {
        builder.set_cache_size(bytes);
    }
    builder.create_with_backend(backend).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked,
        // A file that does not read back (cut short, not a database) is a fault, not an outage.
        redb::DatabaseError::Storage(redb::StorageError::Io(e)) if recover::is_disk_full(&e) => {
            StoreError::Unavailable(format!("{name}: the disk is full ({e})"))
        }
        e => StoreError::Io(format!("{name}: {e}")),
    })
}

/// The database file at `path` opened again, if it is still the file first opened (`id`).
fn reopen_file(path: &Path, id: FileId) -> Result<std::fs::File, StoreError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .and_then(|f| Ok((FileId::of(&f.metadata()?), f)));
    match file {
        Ok((found, file)) if found == id => Ok(file),
        Ok(_) => Err(StoreError::Unavailable(format!(
            "{}: the database file was replaced while the server ran; restart storekey to open the new one",
            path.display()
        ))),
        Err(e) => Err(StoreError::Unavailable(format!("{}: {e}", path.display()))),
    }
}

fn init_schema(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta.get("schema_version")?.map(|v| v.value());
        match found {
            Some(v) if v > SCHEMA_VERSION => return Err(StoreError::NewerSchema(v)),
            Some(_) => {}
            None => {
                meta.insert("schema_version", SCHEMA_VERSION)?;
            }
        }
    }
    // Create every table up front so readers never meet a missing one.
    macro_rules! create {
        ($($table:ident),*) => {
            $(txn.open_table($table)?;)*
        };
    }
    plain_tables!(create);
    txn.open_multimap_table(CUSTOMER_TOKENS)?;
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::backups::{backup_file_name, BackupError};

    fn test_account(email: &str) -> Account {
        let mut a = Account::default();
        a.customer.email = email.into();
        a
    }

    #[test]
    fn a_file_from_a_newer_schema_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert("schema_version", SCHEMA_VERSION + 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = RedbStore::open(&path).err().expect("refused");
        assert!(matches!(err, StoreError::NewerSchema(v) if v == SCHEMA_VERSION + 1));
        assert!(err.to_string().contains("newer storekey"), "{err}");
    }

    #[test]
    fn a_full_write_queue_does_not_block_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("s.redb")).unwrap();
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Hold the writer inside one job until `release` fires, so the queue fills up.
        let (started, running) = std::sync::mpsc::channel();
        let (release, hold_until) = std::sync::mpsc::channel::<()>();
        let holder = store.clone();
        let hold = std::thread::spawn(move || {
            holder.write_blocking(move |_tx| {
                let _ = started.send(());
                let _ = hold_until.recv();
                Ok(())
            })
        });
        running.recv().unwrap();
        // If the runtime thread blocks on the queue, nothing below could release the writer;
        // this watchdog turns that hang into a failed assertion instead of a stuck test.
        let watchdog = {
            let release = release.clone();
            let released = released.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(20));
                released.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = release.send(());
            })
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut writes = Vec::new();
            for _ in 0..QUEUE_CAPACITY + 50 {
                let store = store.clone();
                writes.push(tokio::spawn(async move { store.write(|_tx| Ok(())).await }));
            }
            let (probe_tx, probe_rx) = tokio::sync::oneshot::channel();
            let seen_released = released.clone();
            tokio::spawn(async move {
                let _ = probe_tx.send(seen_released.load(std::sync::atomic::Ordering::SeqCst));
            });
            let writer_was_released = probe_rx.await.unwrap();
            assert!(
                !writer_was_released,
                "another task on the runtime ran only after the writer was released"
            );
            released.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = release.send(());
            for w in writes {
                assert!(w.await.unwrap().is_ok());
            }
        });
        assert!(hold.join().unwrap().is_ok());
        drop(watchdog);
    }

    #[test]
    fn an_in_memory_store_reads_what_it_wrote_and_refuses_backups() {
        let store = RedbStore::in_memory().unwrap();
        store
            .write_blocking(|tx| tx.insert_customer(test_account("a@example.com")))
            .unwrap();
        let found = store
            .read()
            .unwrap()
            .customer_by_email("A@example.com")
            .unwrap();
        assert_eq!(found.unwrap().customer.email, "a@example.com");
        let dir = tempfile::tempdir().unwrap();
        let err = store
            .backup_to(&dir.path().join("b.redb"), false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "backup failed: this store has no database file to copy (it is held in memory)"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn backup_names_must_be_plain_file_names() {
        for bad in [
            "",
            ".",
            "..",
            "../x.redb",
            "a/b.redb",
            "/abs.redb",
            "a\\b.redb",
            "x\0y",
            ".hidden",
        ] {
            assert!(backup_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            backup_file_name("").unwrap_err(),
            "\"path\" must be a file name, for example \"storekey-2024-05-01.redb\"."
        );
        assert_eq!(
            backup_file_name("../x.redb").unwrap_err(),
            "\"path\" must be a plain file name inside storage.backup_dir: no '/', '\\' or '..'."
        );
        assert_eq!(
            backup_file_name(".x").unwrap_err(),
            "\"path\" must not start with '.' (hidden names are reserved for temporary files)."
        );
        assert!(backup_file_name(&"a".repeat(129)).is_err());
        assert!(backup_file_name("a\nb.redb").is_err());
        assert!(backup_file_name(&"a".repeat(128)).is_ok());
        assert!(backup_file_name("storekey-2024-05-01.redb").is_ok());
        assert!(backup_file_name("a..b").is_ok());
    }

    #[test]
    fn backup_refuses_the_live_file_and_existing_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("s.redb");
        let store = RedbStore::open(&live).unwrap();
        assert_eq!(
            std::fs::metadata(&live).unwrap().permissions().mode() & 0o777,
            0o600
        );
        store
            .write_blocking(|tx| tx.insert_customer(test_account("a@example.com")))
            .unwrap();
        // The live file, by its own path and through a symlink, even with overwrite.
        let link = dir.path().join("link.redb");
        std::os::unix::fs::symlink(&live, &link).unwrap();
        for target in [&live, &link] {
            for overwrite in [false, true] {
                let err = store.backup_to(target, overwrite).unwrap_err();
                assert!(matches!(err, BackupError::LiveDatabase), "{err:?}");
            }
        }
        // An existing file stays untouched unless overwrite is asked for.
        let other = dir.path().join("other.txt");
        std::fs::write(&other, "keep me").unwrap();
        let partial = dir.path().join("other.partial");
        std::fs::write(&partial, "mine too").unwrap();
        let err = store.backup_to(&other, false).unwrap_err();
        assert!(matches!(err, BackupError::Exists(_)), "{err:?}");
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&partial).unwrap(), "mine too");
        // The server keeps writing to the file it has open, and those writes survive a reopen.
        let copy = dir.path().join("copy.redb");
        assert_eq!(store.backup_to(&copy, false).unwrap().customers, 1);
        assert_eq!(
            std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(store.backup_to(&copy, true).is_ok());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "temporary files left behind: {names:?}");
        // The live file is still the one the store writes to.
        assert_eq!(
            Some(FileId::of(&std::fs::metadata(&live).unwrap())),
            store.file_id
        );
        assert_eq!(store.read().unwrap().customer_count().unwrap(), 1);
    }

    #[test]
    fn a_failing_operation_fails_its_whole_batch_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("s.redb")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            // Hold the writer busy so the next three writes queue up and share one batch.
            let holder = store.clone();
            let (started, running) = std::sync::mpsc::channel();
            let hold = std::thread::spawn(move || {
                holder.write_blocking(move |_tx| {
                    let _ = started.send(());
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
            });
            running.recv().unwrap();
            let ok1 = store.write(|tx| tx.insert_customer(test_account("a@example.com")));
            let bad = store.write(|_tx| -> Result<(), StoreError> {
                Err(StoreError::Corrupt("injected".into()))
            });
            let ok2 = store.write(|tx| tx.insert_customer(test_account("b@example.com")));
            let (r1, r2, r3) = futures_util::join!(ok1, bad, ok2);
            assert!(hold.join().unwrap().is_ok());
            assert!(
                r1.is_err(),
                "a batch with a failing write fails every request in it"
            );
            assert!(r3.is_err());
            let reader = store.read().unwrap();
            assert_eq!(
                reader.customer_count().unwrap(),
                0,
                "nothing of it was written"
            );
            assert!(r2.is_err());
        });
    }
}
