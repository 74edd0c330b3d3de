//! Backups: a capability only some backends have (redb copies its file from one snapshot;
//! PostgreSQL is backed up with its own tools). The core asks `Store::backups` for it.

use std::path::{Path, PathBuf};

/// A backend that writes consistent copies of itself into files.
pub trait Backups: Send + Sync {
    /// Writes a backup named `name` into `dir` (created 0700 when missing). `name` must pass
    /// [`backup_file_name`]. Returns the path written. Blocking: it reads the whole store.
    fn backup_into(
        &self,
        dir: &Path,
        name: &str,
        overwrite: bool,
    ) -> Result<(PathBuf, BackupSummary), BackupError>;
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BackupSummary {
    pub customers: u64,
    pub access_tokens: u64,
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
    /// The store is not a redb file (PostgreSQL is backed up with its own tools).
    NotRedb,
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
            BackupError::NotRedb => f.write_str(
                "backups copy the redb file; with storage.backend = \"postgres\" back up the database with pg_dump",
            ),
        }
    }
}
impl std::error::Error for BackupError {}

/// The longest backup name: well inside every file system's 255-byte limit on a name, and
/// short enough to read in a listing and in the audit log.
pub const MAX_BACKUP_NAME: usize = 128;

/// Checks that `name` is a plain, visible file name of printable ASCII: no directories, no
/// `..`, no control characters (a newline would forge a line in a listing or a log), at most
/// [`MAX_BACKUP_NAME`] characters.
pub fn backup_file_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("\"path\" must be a file name, for example \"storekey-2024-05-01.redb\".");
    }
    if name.contains(['/', '\\', '\0']) || name == ".." {
        return Err(
            "\"path\" must be a plain file name inside storage.backup_dir: no '/', '\\' or '..'.",
        );
    }
    if name.len() > MAX_BACKUP_NAME {
        return Err("\"path\" must be at most 128 characters long.");
    }
    if !name.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(
            "\"path\" may hold only printable ASCII characters (letters, digits, spaces and punctuation); no control characters such as a newline.",
        );
    }
    if name.starts_with('.') {
        return Err(
            "\"path\" must not start with '.' (hidden names are reserved for temporary files).",
        );
    }
    Ok(())
}
