//! Backups: a consistent copy of every table from one snapshot, written to a private temp file
//! and renamed into place; never over the live database.

use super::*;
use crate::store::backups::{backup_file_name, BackupError, BackupSummary, Backups};

impl Backups for RedbStore {
    fn backup_into(
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
}

impl RedbStore {
    /// Writes a consistent copy of the whole database to `dest` from one read snapshot, so it
    /// can run while the server keeps writing. The copy goes to a new private temporary file
    /// beside `dest` (mode 0600), is synced and then renamed into place. Refuses the live
    /// database file (by device and inode, so also through links), and an existing `dest`
    /// unless `overwrite`. Only the temporary file it created itself is ever deleted.
    pub fn backup_to(&self, dest: &Path, overwrite: bool) -> Result<BackupSummary, BackupError> {
        let io =
            |what: &Path, e: std::io::Error| BackupError::Io(format!("{}: {e}", what.display()));
        let Some(live) = self.file_id else {
            return Err(BackupError::Io(
                "this store has no database file to copy (it is held in memory)".into(),
            ));
        };
        // Following links: a link to the live file is the live file.
        match std::fs::metadata(dest) {
            Ok(m) if FileId::of(&m) == live => return Err(BackupError::LiveDatabase),
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
        let snapshot = self.db.begin_read().map_err(store_err)?;
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
    let mut copied: Vec<(&str, u64)> = Vec::new();
    macro_rules! copy {
        ($($table:ident),*) => {
            $(copied.push((stringify!($table), copy_table(snapshot, &txn, $table)?));)*
        };
    }
    plain_tables!(copy);
    let count = |name: &str| {
        copied
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, rows)| *rows)
            .unwrap_or(0)
    };
    let (customers, access_tokens) = (count("CUSTOMERS"), count("TOKENS"));
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

/// Identity of a file independent of its path: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[cfg(unix)]
    pub(super) fn of(m: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
    #[cfg(not(unix))]
    pub(super) fn of(_m: &std::fs::Metadata) -> FileId {
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
