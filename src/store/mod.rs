//! The only code that knows redb: the tables, typed reads and writes over them, and the single
//! writer thread that batches concurrent writes into one durable commit (group commit).
//!
//! Reads run on the caller's thread in their own MVCC snapshot and never wait for the writer.
//! The core writes through the named operations of `ops.rs`; each is a closure over [`Tx`] sent
//! to the writer thread, which drains its queue, runs the closures in order inside one
//! transaction, commits once (one fsync) and answers them all. A closure that returns an error
//! aborts the whole batch, and every request in it fails: nothing half-done is ever committed.

mod ops;
mod records;

pub use ops::*;

pub use records::*;

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

/// Most writes a single commit takes; bounds one batch's latency under a flood.
const MAX_BATCH: usize = 512;

/// Writes that may wait for the writer; beyond this, `write` waits (asynchronously) for room.
const QUEUE_CAPACITY: usize = 4096;

#[derive(Debug, Clone)]
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
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Locked => f.write_str(
                "the database file is in use by a running storekey server; stop it, or use the admin REST API (/rest/V1/...) instead",
            ),
            StoreError::NewerSchema(v) => write!(
                f,
                "the database was written by a newer storekey (schema {v}, this build reads {SCHEMA_VERSION})"
            ),
            StoreError::Corrupt(what) => write!(f, "corrupt record: {what}"),
            StoreError::Io(e) => write!(f, "storage error: {e}"),
            StoreError::Unavailable(e) => write!(f, "storage unavailable: {e}"),
        }
    }
}
impl std::error::Error for StoreError {}

macro_rules! io_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Io(e.to_string()) }
        }
    )*};
}
io_err!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&mut Tx<'_>) -> (bool, Completion) + Send>;

/// Handle to the database: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    /// Device and inode of the open database file: a backup must never replace it.
    file_id: FileId,
    jobs: mpsc::Sender<Job>,
    stats: Arc<WriterStats>,
}

#[derive(Default)]
pub struct WriterStats {
    pub commits: std::sync::atomic::AtomicU64,
    pub writes: std::sync::atomic::AtomicU64,
}

impl Store {
    /// Opens (or creates, mode 0600, in a directory created 0700) the file, checks the schema
    /// version, and starts the writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                private_dir(parent)
                    .map_err(|e| StoreError::Io(format!("{}: {e}", parent.display())))?;
            }
        }
        // Opened here rather than by redb so a new file is private from its first byte and so
        // the backup can recognise this very file (device + inode) behind any path.
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        private_mode(&mut options);
        let file = options.open(path).map_err(io)?;
        let file_id = FileId::of(&file.metadata().map_err(io)?);
        let backend = redb::backends::FileBackend::new(file)
            .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
        let db = redb::Builder::new()
            .create_with_backend(backend)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked,
                e => StoreError::Io(format!("{}: {e}", path.display())),
            })?;
        init_schema(&db)?;
        let db = Arc::new(db);
        // Bounded so a write flood applies back-pressure instead of growing memory; async
        // callers wait for room without holding a runtime thread.
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE_CAPACITY);
        let stats = Arc::new(WriterStats::default());
        let writer_db = db.clone();
        let writer_stats = stats.clone();
        std::thread::Builder::new()
            .name("storekey-writer".into())
            .spawn(move || run_writer(&writer_db, queue, &writer_stats))
            .map_err(|e| StoreError::Io(format!("cannot start writer thread: {e}")))?;
        Ok(Store {
            db,
            file_id,
            jobs,
            stats,
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

    /// Runs `op` on the writer thread inside a batch and returns once its batch is durable.
    /// `op` must decide before writing: return `Ok` with a domain outcome (even a refusal), and
    /// `Err` only for storage failures, which abort the batch.
    pub async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(job(op, reply))
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    /// The same, for callers without an async runtime (the offline CLI). Never call it on a
    /// runtime thread: it blocks while the queue is full.
    pub fn write_blocking<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .blocking_send(job(op, reply))
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        answer
            .blocking_recv()
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    /// Writes a backup named `name` into `dir` (created 0700 when missing); see
    /// [`Store::backup_to`]. `name` must pass [`backup_file_name`]. Returns the path written.
    pub fn backup_into(
        &self,
        dir: &Path,
        name: &str,
        overwrite: bool,
    ) -> Result<(PathBuf, BackupSummary), BackupError> {
        backup_file_name(name).map_err(|why| BackupError::BadName(why.into()))?;
        private_dir(dir).map_err(|e| BackupError::Io(format!("{}: {e}", dir.display())))?;
        let dest = dir.join(name);
        let summary = self.backup_to(&dest, overwrite)?;
        Ok((dest, summary))
    }

    /// Writes a consistent copy of the whole database to `dest` from one read snapshot, so it
    /// can run while the server keeps writing. The copy goes to a new private temporary file
    /// beside `dest` (mode 0600), is synced and then renamed into place. Refuses the live
    /// database file (by device and inode, so also through links), and an existing `dest`
    /// unless `overwrite`. Only the temporary file it created itself is ever deleted.
    pub fn backup_to(&self, dest: &Path, overwrite: bool) -> Result<BackupSummary, BackupError> {
        let io =
            |what: &Path, e: std::io::Error| BackupError::Io(format!("{}: {e}", what.display()));
        // Following links: a link to the live file is the live file.
        match std::fs::metadata(dest) {
            Ok(m) if FileId::of(&m) == self.file_id => return Err(BackupError::LiveDatabase),
            Ok(_) if !overwrite => return Err(BackupError::Exists(dest.to_path_buf())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling link or anything else in the way still counts as existing.
                if !overwrite && std::fs::symlink_metadata(dest).is_ok() {
                    return Err(BackupError::Exists(dest.to_path_buf()));
                }
            }
            Err(e) => return Err(io(dest, e)),
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tmp, file) = create_temp(&dir).map_err(|e| io(&dir, e))?;
        let written = self
            .copy_into(file)
            .and_then(|summary| {
                let placed = if overwrite {
                    std::fs::rename(&tmp, dest).map_err(|e| io(dest, e))
                } else {
                    // A hard link fails instead of replacing a file that appeared meanwhile.
                    match std::fs::hard_link(&tmp, dest) {
                        Ok(()) => std::fs::remove_file(&tmp).map_err(|e| io(&tmp, e)),
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            Err(BackupError::Exists(dest.to_path_buf()))
                        }
                        Err(e) => Err(io(dest, e)),
                    }
                };
                placed.map(|()| summary)
            })
            .and_then(|summary| {
                std::fs::File::open(&dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io(&dir, e))?;
                Ok(summary)
            });
        if written.is_err() {
            // Ours alone: created with create_new under a random name.
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Copies every table from one read snapshot into a new database in `file`, then syncs it.
    fn copy_into(&self, file: std::fs::File) -> Result<BackupSummary, BackupError> {
        let store_err = |e: StoreError| BackupError::Io(e.to_string());
        let sync = file
            .try_clone()
            .map_err(|e| BackupError::Io(format!("backup file: {e}")))?;
        let snapshot = self.db.begin_read().map_err(|e| store_err(e.into()))?;
        let backend = redb::backends::FileBackend::new(file)
            .map_err(|e| BackupError::Io(format!("backup file: {e}")))?;
        let copy = redb::Builder::new()
            .create_with_backend(backend)
            .map_err(|e| BackupError::Io(format!("backup file: {e}")))?;
        let summary = copy_tables(&snapshot, &copy).map_err(store_err)?;
        drop(copy);
        sync.sync_all()
            .map_err(|e| BackupError::Io(format!("backup file: {e}")))?;
        Ok(summary)
    }
}

fn copy_tables(snapshot: &ReadTransaction, copy: &Database) -> Result<BackupSummary, StoreError> {
    let txn = copy.begin_write()?;
    let customers = copy_table(snapshot, &txn, CUSTOMERS)?;
    copy_table(snapshot, &txn, META)?;
    copy_table(snapshot, &txn, EMAILS)?;
    copy_table(snapshot, &txn, IDENTIFIERS)?;
    let access_tokens = copy_table(snapshot, &txn, TOKENS)?;
    copy_table(snapshot, &txn, EXPIRY)?;
    copy_table(snapshot, &txn, REPLAY)?;
    copy_table(snapshot, &txn, STOREFRONT_TOKENS)?;
    copy_table(snapshot, &txn, AUDIT)?;
    {
        let src = snapshot.open_multimap_table(CUSTOMER_TOKENS)?;
        let mut dst = txn.open_multimap_table(CUSTOMER_TOKENS)?;
        for entry in src.iter()? {
            let (k, values) = entry?;
            for v in values {
                dst.insert(k.value(), v?.value())?;
            }
        }
    }
    txn.commit()?;
    Ok(BackupSummary {
        customers,
        access_tokens,
    })
}

/// Wraps a write closure as a writer job that answers on `reply` once its batch is settled.
fn job<T, F>(op: F, reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    Box::new(move |tx: &mut Tx<'_>| {
        let outcome = op(tx);
        let ok = outcome.is_ok();
        let complete: Completion = Box::new(move |commit: Result<(), StoreError>| {
            let result = match (outcome, commit) {
                (Err(e), _) => Err(e),
                (Ok(_), Err(e)) => Err(e),
                (Ok(v), Ok(())) => Ok(v),
            };
            let _ = reply.send(result);
        });
        (ok, complete)
    })
}

/// Why a backup was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupError {
    /// The requested name is not a plain file name (the reason, phrased for the caller).
    BadName(String),
    /// The target is the database file the store has open.
    LiveDatabase,
    /// The target exists and overwriting was not asked for.
    Exists(PathBuf),
    /// Reading the snapshot or writing the copy failed.
    Io(String),
}

impl std::fmt::Display for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupError::BadName(why) => f.write_str(why),
            BackupError::LiveDatabase => {
                f.write_str("refusing to write a backup over the live database file")
            }
            BackupError::Exists(p) => write!(
                f,
                "{} already exists; ask for \"overwrite\" to replace it",
                p.display()
            ),
            BackupError::Io(e) => write!(f, "backup failed: {e}"),
        }
    }
}
impl std::error::Error for BackupError {}

/// Checks that `name` is a plain, visible file name: no directories, no `..`, no NUL.
pub fn backup_file_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("\"path\" must be a file name, for example \"storekey-2024-05-01.redb\".");
    }
    if name.contains(['/', '\\', '\0']) || name == ".." {
        return Err(
            "\"path\" must be a plain file name inside storage.backup_dir: no '/', '\\' or '..'.",
        );
    }
    if name.starts_with('.') {
        return Err(
            "\"path\" must not start with '.' (hidden names are reserved for temporary files).",
        );
    }
    Ok(())
}

/// Identity of a file independent of its path: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[cfg(unix)]
    fn of(m: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
    #[cfg(not(unix))]
    fn of(_m: &std::fs::Metadata) -> FileId {
        FileId { dev: 0, ino: 0 }
    }
}

/// New files hold customer data or live links: readable by the owner only.
pub fn private_mode(options: &mut std::fs::OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// Creates `dir` and any missing parents with mode 0700; an existing directory is left as is.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A new hidden file under a random name in `dir`, created exclusively with mode 0600.
fn create_temp(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    let mut last = None;
    for _ in 0..8 {
        let mut bytes = [0u8; 12];
        rng.fill(&mut bytes)
            .map_err(|_| std::io::Error::other("no randomness for a temporary name"))?;
        let path = dir.join(format!(".storekey-backup-{}.partial", hex::encode(bytes)));
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        private_mode(&mut options);
        match options.open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    pub customers: u64,
    pub access_tokens: u64,
}

fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let from = src.open_table(def)?;
    let mut to = dst.open_table(def)?;
    let mut n = 0;
    for entry in from.iter()? {
        let (k, v) = entry?;
        to.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
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
        // Create every table up front so readers never meet a missing one.
        txn.open_table(CUSTOMERS)?;
        txn.open_table(EMAILS)?;
        txn.open_table(IDENTIFIERS)?;
        txn.open_table(TOKENS)?;
        txn.open_multimap_table(CUSTOMER_TOKENS)?;
        txn.open_table(EXPIRY)?;
        txn.open_table(REPLAY)?;
        txn.open_table(STOREFRONT_TOKENS)?;
        txn.open_table(AUDIT)?;
    }
    txn.commit()?;
    Ok(())
}

fn run_writer(db: &Database, mut queue: mpsc::Receiver<Job>, stats: &WriterStats) {
    use std::sync::atomic::Ordering;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let n = batch.len();
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => {
                // No transaction to run the batch in: fail every request of it.
                let err = StoreError::Io(e.to_string());
                fail_all(batch, &err);
                continue;
            }
        };
        let mut completions = Vec::with_capacity(n);
        let mut all_ok = true;
        {
            let mut tx = match Tx::open(&txn) {
                Ok(tx) => tx,
                Err(e) => {
                    fail_all(batch, &e);
                    continue;
                }
            };
            for job in batch {
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
                match ran {
                    Ok((ok, complete)) => {
                        all_ok &= ok;
                        completions.push(complete);
                    }
                    Err(_) => {
                        // The job's reply sender was dropped with it: its caller sees
                        // "writer stopped". The batch must not commit.
                        tracing::error!("a write operation panicked; aborting its batch");
                        all_ok = false;
                    }
                }
            }
        }
        let outcome = if all_ok {
            txn.commit().map_err(StoreError::from)
        } else {
            let _ = txn.abort();
            Err(StoreError::Unavailable(
                "another write in the same batch failed; nothing was written".into(),
            ))
        };
        if outcome.is_ok() {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.writes.fetch_add(n as u64, Ordering::Relaxed);
        }
        for complete in completions {
            complete(outcome.clone());
        }
    }
}

fn fail_all(batch: Vec<Job>, err: &StoreError) {
    // Jobs can only be answered through their completion, which needs a transaction; dropping
    // them drops their reply senders, which their callers see as an error.
    drop(batch);
    tracing::error!("write batch failed before it started: {err}");
}

/// Typed reads over any readable table: shared by [`Reader`] (a snapshot) and [`Tx`] (inside a
/// write, where the tables are opened once per batch).
mod read {
    use super::*;

    pub fn customer(
        t: &impl ReadableTable<u64, &'static [u8]>,
        id: CustomerId,
    ) -> Result<Option<CustomerRecord>, StoreError> {
        let found = t.get(id)?;
        found.map(|v| CustomerRecord::decode(v.value())).transpose()
    }

    pub fn id_by(
        t: &impl ReadableTable<&'static str, u64>,
        key: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        Ok(t.get(key)?.map(|v| v.value()))
    }

    pub fn access_token(
        t: &impl ReadableTable<&'static [u8], &'static [u8]>,
        digest: &Digest,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        let found = t.get(digest.as_slice())?;
        found
            .map(|v| AccessTokenRecord::decode(v.value()))
            .transpose()
    }

    pub fn customers(
        t: &impl ReadableTable<u64, &'static [u8]>,
        after: CustomerId,
        limit: usize,
    ) -> Result<Vec<CustomerRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in t.range((after + 1)..)? {
            if out.len() >= limit {
                break;
            }
            let (_, v) = entry?;
            out.push(CustomerRecord::decode(v.value())?);
        }
        Ok(out)
    }

    pub fn storefront_tokens(
        t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    ) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            let mut d = [0u8; 32];
            // A record this build cannot read is skipped: it grants nothing.
            if let (32, Ok(token)) = (
                k.value().len(),
                serde_json::from_slice::<StorefrontToken>(v.value()),
            ) {
                d.copy_from_slice(k.value());
                out.push((d, token));
            }
        }
        Ok(out)
    }

    pub fn audit(
        t: &impl ReadableTable<u64, &'static [u8]>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for entry in t.range((after + 1)..)? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }
}

/// A read snapshot. Each call opens the tables it needs (cheap in a read transaction).
pub struct Reader {
    txn: ReadTransaction,
}

impl Reader {
    pub fn customer(&self, id: CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        read::customer(&self.txn.open_table(CUSTOMERS)?, id)
    }

    pub fn customer_id_by_email(&self, email: &str) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(
            &self.txn.open_table(EMAILS)?,
            &CustomerRecord::email_key(email),
        )
    }

    pub fn customer_by_email(&self, email: &str) -> Result<Option<CustomerRecord>, StoreError> {
        match self.customer_id_by_email(email)? {
            Some(id) => self.customer(id),
            None => Ok(None),
        }
    }

    pub fn customer_id_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(&self.txn.open_table(IDENTIFIERS)?, identifier)
    }

    pub fn access_token(&self, digest: &Digest) -> Result<Option<AccessTokenRecord>, StoreError> {
        read::access_token(&self.txn.open_table(TOKENS)?, digest)
    }

    pub fn customers(
        &self,
        after: CustomerId,
        limit: usize,
    ) -> Result<Vec<CustomerRecord>, StoreError> {
        read::customers(&self.txn.open_table(CUSTOMERS)?, after, limit)
    }

    pub fn customer_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(CUSTOMERS)?.len()?)
    }

    pub fn access_token_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(TOKENS)?.len()?)
    }

    pub fn expiry_index_len(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(EXPIRY)?.len()?)
    }

    pub fn replay_seen(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self
            .txn
            .open_table(REPLAY)?
            .get(digest.as_slice())?
            .is_some())
    }

    /// Every storefront token with its digest.
    pub fn storefront_tokens(&self) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
        read::storefront_tokens(&self.txn.open_table(STOREFRONT_TOKENS)?)
    }

    pub fn audit(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        read::audit(&self.txn.open_table(AUDIT)?, after, limit)
    }
}

/// The write side, handed to the closures of one batch. Every table is opened once per batch:
/// opening a table in a write transaction costs a lookup and a write-back, which dominated
/// small writes when each operation opened its own.
pub struct Tx<'a> {
    meta: Table<'a, &'static str, u64>,
    customers: Table<'a, u64, &'static [u8]>,
    emails: Table<'a, &'static str, u64>,
    identifiers: Table<'a, &'static str, u64>,
    tokens: Table<'a, &'static [u8], &'static [u8]>,
    customer_tokens: MultimapTable<'a, u64, &'static [u8]>,
    expiry: Table<'a, &'static [u8], ()>,
    replay: Table<'a, &'static [u8], i64>,
    storefront: Table<'a, &'static [u8], &'static [u8]>,
    audit: Table<'a, u64, &'static [u8]>,
}

impl<'a> Tx<'a> {
    fn open(txn: &'a WriteTransaction) -> Result<Tx<'a>, StoreError> {
        Ok(Tx {
            meta: txn.open_table(META)?,
            customers: txn.open_table(CUSTOMERS)?,
            emails: txn.open_table(EMAILS)?,
            identifiers: txn.open_table(IDENTIFIERS)?,
            tokens: txn.open_table(TOKENS)?,
            customer_tokens: txn.open_multimap_table(CUSTOMER_TOKENS)?,
            expiry: txn.open_table(EXPIRY)?,
            replay: txn.open_table(REPLAY)?,
            storefront: txn.open_table(STOREFRONT_TOKENS)?,
            audit: txn.open_table(AUDIT)?,
        })
    }
}

impl Tx<'_> {
    pub fn customer(&self, id: CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        read::customer(&self.customers, id)
    }

    pub fn customer_id_by_email(&self, email: &str) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(&self.emails, &CustomerRecord::email_key(email))
    }

    pub fn customer_id_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(&self.identifiers, identifier)
    }

    pub fn access_token(&self, digest: &Digest) -> Result<Option<AccessTokenRecord>, StoreError> {
        read::access_token(&self.tokens, digest)
    }

    /// Every storefront token with its digest.
    pub fn storefront_tokens(&self) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
        read::storefront_tokens(&self.storefront)
    }

    /// The next value of a named sequence (1, 2, 3, ...).
    pub fn next_id(&mut self, sequence: &str) -> Result<u64, StoreError> {
        let next = self.meta.get(sequence)?.map(|v| v.value()).unwrap_or(1);
        self.meta.insert(sequence, next + 1)?;
        Ok(next)
    }

    /// Stores a new customer under a fresh id. The caller has checked the email is free.
    pub fn insert_customer(
        &mut self,
        mut record: CustomerRecord,
    ) -> Result<CustomerRecord, StoreError> {
        record.id = self.next_id("next_customer_id")?;
        self.put_customer(&record, None)?;
        Ok(record)
    }

    /// Saves `record`, keeping the email and identifier indexes in step with `previous`.
    pub fn put_customer(
        &mut self,
        record: &CustomerRecord,
        previous: Option<&CustomerRecord>,
    ) -> Result<(), StoreError> {
        let email_key = CustomerRecord::email_key(&record.email);
        let mut email_changed = true;
        if let Some(prev) = previous {
            let old_key = CustomerRecord::email_key(&prev.email);
            email_changed = old_key != email_key;
            if email_changed {
                self.emails.remove(old_key.as_str())?;
            }
            if let Some(old) = &prev.multipass_identifier {
                if record.multipass_identifier.as_ref() != Some(old) {
                    self.identifiers.remove(old.as_str())?;
                }
            }
        }
        if email_changed {
            self.emails.insert(email_key.as_str(), record.id)?;
        }
        if let Some(ident) = &record.multipass_identifier {
            if previous.and_then(|p| p.multipass_identifier.as_ref()) != Some(ident) {
                self.identifiers.insert(ident.as_str(), record.id)?;
            }
        }
        self.customers
            .insert(record.id, record.encode().as_slice())?;
        // Per-customer one-time secrets and lockouts are found by the sweeper through the
        // index; only new deadlines need an entry.
        let subject = customer_subject(record.id);
        let before = |f: fn(&CustomerRecord) -> Option<Timestamp>| previous.and_then(f);
        for (now, was, kind) in [
            (
                record.reset_token.as_ref().map(|s| s.expires_at),
                before(|p| p.reset_token.as_ref().map(|s| s.expires_at)),
                Expiring::ResetToken,
            ),
            (
                record.otc.as_ref().map(|s| s.expires_at),
                before(|p| p.otc.as_ref().map(|s| s.expires_at)),
                Expiring::Otc,
            ),
            (
                record.confirmation.as_ref().map(|s| s.expires_at),
                before(|p| p.confirmation.as_ref().map(|s| s.expires_at)),
                Expiring::Confirmation,
            ),
            (
                record.lockout.lock_expires,
                before(|p| p.lockout.lock_expires),
                Expiring::Lockout,
            ),
        ] {
            if let Some(at) = now {
                if was != Some(at) {
                    self.expiry
                        .insert(expiry_key(at, kind, &subject).as_slice(), ())?;
                }
            }
        }
        Ok(())
    }

    /// Deletes a customer with its indexes and every access token it had.
    pub fn delete_customer(&mut self, id: CustomerId) -> Result<bool, StoreError> {
        let Some(record) = self.customer(id)? else {
            return Ok(false);
        };
        self.revoke_customer_tokens(id)?;
        self.emails
            .remove(CustomerRecord::email_key(&record.email).as_str())?;
        if let Some(ident) = &record.multipass_identifier {
            self.identifiers.remove(ident.as_str())?;
        }
        self.customers.remove(id)?;
        Ok(true)
    }

    pub fn insert_access_token(
        &mut self,
        digest: &Digest,
        record: &AccessTokenRecord,
    ) -> Result<(), StoreError> {
        self.tokens
            .insert(digest.as_slice(), record.encode().as_slice())?;
        self.customer_tokens
            .insert(record.customer_id, digest.as_slice())?;
        self.expiry.insert(
            expiry_key(record.expires_at, Expiring::AccessToken, digest).as_slice(),
            (),
        )?;
        Ok(())
    }

    pub fn delete_access_token(&mut self, digest: &Digest) -> Result<bool, StoreError> {
        let removed = {
            let old = self.tokens.remove(digest.as_slice())?;
            old.map(|v| AccessTokenRecord::decode(v.value()))
                .transpose()?
        };
        if let Some(record) = removed {
            self.customer_tokens
                .remove(record.customer_id, digest.as_slice())?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Revokes every access token of a customer; returns how many there were.
    pub fn revoke_customer_tokens(&mut self, id: CustomerId) -> Result<u64, StoreError> {
        let digests: Vec<Vec<u8>> = {
            let values = self.customer_tokens.remove_all(id)?;
            let mut out = Vec::new();
            for v in values {
                out.push(v?.value().to_vec());
            }
            out
        };
        for d in &digests {
            self.tokens.remove(d.as_slice())?;
        }
        Ok(digests.len() as u64)
    }

    /// Records a Multipass token as used until `expires_at`. Returns false when it already was.
    pub fn record_replay(
        &mut self,
        digest: &Digest,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        if self.replay.get(digest.as_slice())?.is_some() {
            return Ok(false);
        }
        self.replay.insert(digest.as_slice(), expires_at)?;
        self.expiry.insert(
            expiry_key(expires_at, Expiring::MultipassReplay, digest).as_slice(),
            (),
        )?;
        Ok(true)
    }

    pub fn put_storefront_token(
        &mut self,
        digest: &Digest,
        token: &StorefrontToken,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(token).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.storefront
            .insert(digest.as_slice(), bytes.as_slice())?;
        Ok(())
    }

    pub fn delete_storefront_token(&mut self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.storefront.remove(digest.as_slice())?.is_some())
    }

    /// Appends one audit entry; returns its sequence number.
    pub fn append_audit(&mut self, entry: &[u8]) -> Result<u64, StoreError> {
        let next = self.audit.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
        self.audit.insert(next, entry)?;
        Ok(next)
    }

    /// Purges up to `batch` expiry-index entries due at or before `now`. Each entry is checked
    /// against the live record first: a renewed token or a replaced code stays.
    pub fn sweep(&mut self, now: Timestamp, batch: usize) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        let due: Vec<Vec<u8>> = {
            let upper = expiry_key_bound(now + 1);
            let mut keys = Vec::new();
            for entry in self.expiry.range::<&[u8]>(..upper.as_slice())? {
                if keys.len() >= batch {
                    report.more = true;
                    break;
                }
                keys.push(entry?.0.value().to_vec());
            }
            keys
        };
        for key in &due {
            if let Some((_, kind, subject)) = parse_expiry_key(key) {
                if self.purge_one(kind, &subject, now)? {
                    report.count(kind);
                }
            }
            self.expiry.remove(key.as_slice())?;
        }
        Ok(report)
    }

    fn purge_one(
        &mut self,
        kind: Expiring,
        subject: &Digest,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        match kind {
            Expiring::AccessToken => match self.access_token(subject)? {
                Some(t) if t.expires_at <= now => self.delete_access_token(subject),
                _ => Ok(false),
            },
            Expiring::MultipassReplay => {
                let expired = matches!(self.replay.get(subject.as_slice())?.map(|v| v.value()), Some(at) if at <= now);
                if expired {
                    self.replay.remove(subject.as_slice())?;
                }
                Ok(expired)
            }
            Expiring::ResetToken | Expiring::Otc | Expiring::Confirmation | Expiring::Lockout => {
                let id = subject_customer(subject);
                let Some(mut record) = self.customer(id)? else {
                    return Ok(false);
                };
                let slot = match kind {
                    Expiring::ResetToken => Some(&mut record.reset_token),
                    Expiring::Otc => Some(&mut record.otc),
                    Expiring::Confirmation => Some(&mut record.confirmation),
                    _ => None,
                };
                let purged = match slot {
                    Some(slot) => match slot {
                        Some(s) if s.expires_at <= now => {
                            *slot = None;
                            true
                        }
                        _ => false,
                    },
                    None => match record.lockout.lock_expires {
                        Some(until) if until <= now => {
                            record.lockout = Lockout::default();
                            true
                        }
                        _ => false,
                    },
                };
                if purged {
                    self.customers.insert(id, record.encode().as_slice())?;
                }
                Ok(purged)
            }
        }
    }
}

/// What one sweep removed, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub access_tokens: u64,
    pub reset_tokens: u64,
    pub otcs: u64,
    pub confirmations: u64,
    pub multipass_replays: u64,
    pub lockouts: u64,
    /// More was due than one batch allows.
    pub more: bool,
}

impl SweepReport {
    fn count(&mut self, kind: Expiring) {
        match kind {
            Expiring::AccessToken => self.access_tokens += 1,
            Expiring::ResetToken => self.reset_tokens += 1,
            Expiring::Otc => self.otcs += 1,
            Expiring::Confirmation => self.confirmations += 1,
            Expiring::MultipassReplay => self.multipass_replays += 1,
            Expiring::Lockout => self.lockouts += 1,
        }
    }

    pub fn by_kind(&self) -> [(Expiring, u64); 6] {
        [
            (Expiring::AccessToken, self.access_tokens),
            (Expiring::ResetToken, self.reset_tokens),
            (Expiring::Otc, self.otcs),
            (Expiring::Confirmation, self.confirmations),
            (Expiring::MultipassReplay, self.multipass_replays),
            (Expiring::Lockout, self.lockouts),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = Store::open(&path).err().expect("refused");
        assert!(matches!(err, StoreError::NewerSchema(v) if v == SCHEMA_VERSION + 1));
        assert!(err.to_string().contains("newer storekey"), "{err}");
    }

    #[test]
    fn a_full_write_queue_does_not_block_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
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
        assert!(backup_file_name("storekey-2024-05-01.redb").is_ok());
        assert!(backup_file_name("a..b").is_ok());
    }

    #[test]
    fn backup_refuses_the_live_file_and_existing_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("s.redb");
        let store = Store::open(&live).unwrap();
        assert_eq!(
            std::fs::metadata(&live).unwrap().permissions().mode() & 0o777,
            0o600
        );
        store
            .write_blocking(|tx| {
                tx.insert_customer(CustomerRecord {
                    email: "a@example.com".into(),
                    ..CustomerRecord::default()
                })
            })
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
            FileId::of(&std::fs::metadata(&live).unwrap()),
            store.file_id
        );
        assert_eq!(store.read().unwrap().customer_count().unwrap(), 1);
    }

    #[test]
    fn a_failing_operation_fails_its_whole_batch_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb")).unwrap();
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
            let ok1 = store.write(|tx| {
                tx.insert_customer(CustomerRecord {
                    email: "a@example.com".into(),
                    ..CustomerRecord::default()
                })
            });
            let bad = store.write(|_tx| -> Result<(), StoreError> {
                Err(StoreError::Corrupt("injected".into()))
            });
            let ok2 = store.write(|tx| {
                tx.insert_customer(CustomerRecord {
                    email: "b@example.com".into(),
                    ..CustomerRecord::default()
                })
            });
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
