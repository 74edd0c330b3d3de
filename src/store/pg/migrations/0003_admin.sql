-- The admin console's users (by name) and sessions (by the SHA-256 of the cookie token), each
-- stored as the same JSON record the redb backend keeps (a handful of rows, never on a
-- customer's hot path). DDL only.
CREATE TABLE IF NOT EXISTS admin_users (
    name TEXT PRIMARY KEY,
    record BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_sessions (
    digest BYTEA PRIMARY KEY,
    admin TEXT NOT NULL,
    last_seen INT8 NOT NULL,
    record BYTEA NOT NULL
);
