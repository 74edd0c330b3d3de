//! Per-address mail limits on PostgreSQL: one guarded upsert on `rate_limits` counts a request
//! and decides it, so every instance shares one count and one gap per address.

use super::Postgres;
use crate::store::{Digest, MailLimit, StoreError, Timestamp};

impl Postgres {
    /// `MailLimit::decide` in one statement: a new key is inserted (allowed); an existing one
    /// is updated only when the gap has passed and the window has room (or is over), and the
    /// row comes back only then. Concurrent requests for one key queue on its row lock and
    /// each re-reads the row the previous one left, so the cap is exact.
    pub async fn count_mail_request(
        &self,
        key: Digest,
        limit: MailLimit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO rate_limits AS r (key, window_start, count, last_at, expires_at)
                 VALUES ($1, $2::INT8, 1, $2::INT8, $2::INT8 + GREATEST($3::INT8, $5::INT8))
                 ON CONFLICT (key) DO UPDATE SET
                   window_start = CASE WHEN r.window_start <= $2::INT8 - $3::INT8
                                       THEN $2::INT8 ELSE r.window_start END,
                   count = CASE WHEN r.window_start <= $2::INT8 - $3::INT8
                                THEN 1 ELSE r.count + 1 END,
                   last_at = $2::INT8,
                   expires_at = CASE WHEN r.window_start <= $2::INT8 - $3::INT8
                                     THEN $2::INT8 + GREATEST($3::INT8, $5::INT8)
                                     ELSE GREATEST(r.window_start + $3::INT8, $2::INT8 + $5::INT8) END
                 WHERE r.last_at <= $2::INT8 - $5::INT8
                   AND (r.window_start <= $2::INT8 - $3::INT8
                        OR $4::INT4 = 0 OR r.count < $4::INT4)
                 RETURNING r.count",
            )
            .await?;
        let cap = i32::try_from(limit.cap).unwrap_or(i32::MAX);
        let rows = client
            .query(
                &statement,
                &[&hex::encode(key), &now, &limit.window, &cap, &limit.gap],
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
