-- Passkeys (DDL only). A customer's passkeys live in their row, as the JSON array the redb
-- backend keeps in its record (model::passkey::Passkey), so a sign-in's counter check and a
-- removal's "not the last way in" check are one row update under the row lock; the WebAuthn
-- user handle given with the first passkey is unique and indexed (discoverable sign-in finds
-- the customer by it). A started ceremony waits in passkey_challenges under the digest of its
-- challenge until one DELETE … RETURNING takes it or the sweeper does.
ALTER TABLE customers ADD COLUMN IF NOT EXISTS passkey_handle BYTEA UNIQUE
    CHECK (length(passkey_handle) = 16);
ALTER TABLE customers ADD COLUMN IF NOT EXISTS passkeys BYTEA;

CREATE TABLE IF NOT EXISTS passkey_challenges (
    digest BYTEA PRIMARY KEY CHECK (length(digest) = 32),
    expires_at INT8 NOT NULL,
    record BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS passkey_challenges_expires ON passkey_challenges (expires_at);
