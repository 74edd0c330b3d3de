//! The audit entries the core writes (the store appends them in the same commit as the action).

use super::*;

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
        action,
        subject,
        detail,
    }
}
