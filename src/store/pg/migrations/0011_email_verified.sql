-- Whether a customer's address is proven (a mailed key, code or reset token was used with it)
-- or vouched for by the merchant: what an ID token's `email_verified` says, apart from
-- `confirmed` (which an email change keeps). DDL only: 0012 fills it for the rows already there.
ALTER TABLE customers ADD COLUMN IF NOT EXISTS email_verified BOOL NOT NULL DEFAULT false;
