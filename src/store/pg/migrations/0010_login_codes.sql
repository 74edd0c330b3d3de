-- The hosted pages' sign-in codes (six digits mailed to the address) are one more kind of
-- one-time secret, 5, in customer_secrets, so they follow every rule of the others (digest at
-- rest, one per customer, decided under the row lock, swept by expires_at). A code counts its
-- wrong guesses (a few void it), so the table gains `attempts` (0 for every other kind). DDL
-- only. The kind check's name is PostgreSQL's or CockroachDB's (see 0005); whichever exists goes.
ALTER TABLE customer_secrets ADD COLUMN IF NOT EXISTS attempts INT4 NOT NULL DEFAULT 0
    CHECK (attempts >= 0);
ALTER TABLE customer_secrets DROP CONSTRAINT IF EXISTS customer_secrets_kind_check;
ALTER TABLE customer_secrets DROP CONSTRAINT IF EXISTS check_kind;
ALTER TABLE customer_secrets ADD CONSTRAINT customer_secrets_kind_check
    CHECK (kind IN (1, 2, 3, 4, 5));
