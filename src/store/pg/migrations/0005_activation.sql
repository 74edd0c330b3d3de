-- Account invites (Shopify's customerActivate): activation tokens are one more kind of
-- one-time secret, 4, in customer_secrets, so they follow every rule of the others (digest at
-- rest, one per customer, consumed under the row lock, swept by expires_at). DDL only: the
-- kind check gains 4. The inline check's name is PostgreSQL's (customer_secrets_kind_check)
-- or CockroachDB's (check_kind); whichever exists goes.
ALTER TABLE customer_secrets DROP CONSTRAINT IF EXISTS customer_secrets_kind_check;
ALTER TABLE customer_secrets DROP CONSTRAINT IF EXISTS check_kind;
ALTER TABLE customer_secrets ADD CONSTRAINT customer_secrets_kind_check
    CHECK (kind IN (1, 2, 3, 4));
