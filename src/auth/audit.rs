//! The audit entries the core writes (the store appends them in the same commit as the action).

use super::*;
use crate::store::Backend as _;

/// An audit entry written by the core.
pub(crate) fn audit_entry(
    at: Timestamp,
    actor: impl Into<String>,
    action: &'static str,
    subject: Option<CustomerId>,
    detail: Option<String>,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.into(),
        action: action.to_string(),
        subject,
        detail,
        otc: None,
    }
}

impl Auth {
    /// Writes a consistent copy of the database named `name` inside `dir` (off the runtime: it
    /// reads the whole file) and records who asked. The copy writes nothing into the store, so
    /// its audit entry follows it; a refused backup records nothing.
    pub async fn backup(
        &self,
        dir: std::path::PathBuf,
        name: String,
        overwrite: bool,
        admin: &str,
    ) -> Result<(std::path::PathBuf, BackupSummary), BackupError> {
        let backups = self.store.backups().ok_or(BackupError::NotRedb)?;
        let (path, summary) =
            tokio::task::spawn_blocking(move || backups.backup_into(&dir, &name, overwrite))
                .await
                .map_err(|e| BackupError::Io(e.to_string()))??;
        let path = std::path::absolute(&path).unwrap_or(path);
        let entry = audit_entry(
            self.now(),
            admin,
            "backup",
            None,
            Some(path.to_string_lossy().into_owned()),
        );
        self.store
            .append_audit(entry)
            .await
            .map_err(|e| BackupError::Io(e.to_string()))?;
        Ok((path, summary))
    }
}
