-- The Login as Customer log as fields (DDL only): the issue and the use of an admin one-time
-- code record who issued it and why in columns of their audit entry, which the console's log
-- filters and pages on instead of parsing `detail`. NULL on every other entry.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS issued_by TEXT;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS reason TEXT;
