-- Per-address mail limits (`count_mail_request`, scale-out.md §2): rate_limits gains the time
-- of the last allowed request (the minimum gap) and when the row stops limiting anything (the
-- sweeper deletes it then). DDL only.
ALTER TABLE rate_limits ADD COLUMN last_at INT8 NOT NULL DEFAULT 0;
ALTER TABLE rate_limits ADD COLUMN expires_at INT8 NOT NULL DEFAULT 0;
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);
