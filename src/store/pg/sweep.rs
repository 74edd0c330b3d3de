//! The sweep on PostgreSQL: batched deletes of what expired (scale-out.md §6.3, Kratos'
//! `DELETE … WHERE key IN (SELECT … ORDER BY expires_at LIMIT n)`), each table's own
//! `expires_at` index standing in for redb's expiry index. Each statement commits on its own;
//! the outer WHERE repeats the expiry test, so a token renewed or a lock re-set while the sweep
//! waited for its row stays. Correctness never depends on the sweep: every use checks expiry.
//! Expired grants are the exception to one statement: one transaction locks them and ends them
//! with their access tokens (`oidc::purge_grants`), as every other end of a grant does.
//!
//! One instance sweeps at a time: the caller takes `try_lease("sweeper", holder, ttl)` before
//! each pass and skips the pass when another instance holds it.

use super::oidc::purge_grants;
use super::read::{ACTIVATION, CONFIRMATION, LOGIN_CODE, OTC, RESET_TOKEN};
use super::{Postgres, Retry};
use crate::store::{StoreError, SweepReport, Timestamp};

/// Runs one bounded purge (`$1` = now, `$2` = at most this many rows) while budget is left,
/// and takes what it purged from the budget.
async fn purge(
    client: &deadpool_postgres::Object,
    sql: &str,
    now: Timestamp,
    budget: &mut i64,
) -> Result<u64, StoreError> {
    if *budget <= 0 {
        return Ok(0);
    }
    let statement = client.prepare_cached(sql).await?;
    let purged = client.execute(&statement, &[&now, &*budget]).await?;
    *budget -= i64::try_from(purged).unwrap_or(*budget);
    Ok(purged)
}

impl Postgres {
    /// Purges up to `batch` expired rows in all (access tokens, one-time secrets, Multipass
    /// replay records, ended lockouts, spent mail limits, authorization codes, browser
    /// sessions, then grants with their refresh and access tokens) and says how many of each;
    /// `more` when rows were still due after the batch ran out.
    pub async fn sweep(&self, now: Timestamp, batch: usize) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        let mut budget = i64::try_from(batch).unwrap_or(i64::MAX);
        self.purge_statements(now, &mut budget, &mut report).await?;
        if budget > 0 {
            let limit = budget;
            report.oidc_grants = self
                .transaction(Retry::CONFLICTS, move |tx| {
                    Box::pin(async move { purge_grants(tx, now, limit).await })
                })
                .await?;
            budget -= i64::try_from(report.oidc_grants).unwrap_or(budget);
        }
        if budget <= 0 {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM access_tokens WHERE expires_at <= $1)
                         OR EXISTS (SELECT 1 FROM customer_secrets WHERE expires_at <= $1)
                         OR EXISTS (SELECT 1 FROM multipass_replay WHERE expires_at <= $1)
                         OR EXISTS (SELECT 1 FROM customers WHERE lock_expires <= $1)
                         OR EXISTS (SELECT 1 FROM rate_limits WHERE expires_at <= $1)
                         OR EXISTS (SELECT 1 FROM oidc_codes WHERE expires_at <= $1)
                         OR EXISTS (SELECT 1 FROM browser_sessions WHERE expires_at <= $1)
                         OR EXISTS (SELECT 1 FROM oidc_grants WHERE expires_at <= $1)
                         OR EXISTS (SELECT 1 FROM passkey_challenges WHERE expires_at <= $1)",
                )
                .await?;
            report.more = client.query_one(&statement, &[&now]).await?.try_get(0)?;
        }
        Ok(report)
    }

    /// The purges that are one statement each, on one connection (given back before the
    /// grants' transaction takes one of its own).
    async fn purge_statements(
        &self,
        now: Timestamp,
        budget: &mut i64,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        report.access_tokens = purge(
            &client,
            "DELETE FROM access_tokens WHERE expires_at <= $1 AND digest IN (
                       SELECT digest FROM access_tokens WHERE expires_at <= $1
                       ORDER BY expires_at LIMIT $2)",
            now,
            budget,
        )
        .await?;
        if *budget > 0 {
            let statement = client
                .prepare_cached(
                    "DELETE FROM customer_secrets WHERE expires_at <= $1
                       AND (customer_id, kind) IN (
                         SELECT customer_id, kind FROM customer_secrets WHERE expires_at <= $1
                         ORDER BY expires_at LIMIT $2)
                     RETURNING kind",
                )
                .await?;
            let rows = client.query(&statement, &[&now, &*budget]).await?;
            for row in &rows {
                match row.try_get::<_, i16>(0)? {
                    RESET_TOKEN => report.reset_tokens += 1,
                    OTC => report.otcs += 1,
                    CONFIRMATION => report.confirmations += 1,
                    ACTIVATION => report.activations += 1,
                    LOGIN_CODE => report.login_codes += 1,
                    _ => {}
                }
            }
            *budget -= i64::try_from(rows.len()).unwrap_or(*budget);
        }
        report.multipass_replays = purge(
            &client,
            "DELETE FROM multipass_replay WHERE expires_at <= $1 AND digest IN (
                       SELECT digest FROM multipass_replay WHERE expires_at <= $1
                       ORDER BY expires_at LIMIT $2)",
            now,
            budget,
        )
        .await?;
        report.lockouts = purge(
            &client,
            "UPDATE customers SET failures = 0, first_failure = NULL, lock_expires = NULL
                     WHERE lock_expires <= $1 AND id IN (
                       SELECT id FROM customers WHERE lock_expires <= $1
                       ORDER BY lock_expires LIMIT $2)",
            now,
            budget,
        )
        .await?;
        report.mail_limits = purge(
            &client,
            "DELETE FROM rate_limits WHERE expires_at <= $1 AND key IN (
                       SELECT key FROM rate_limits WHERE expires_at <= $1
                       ORDER BY expires_at LIMIT $2)",
            now,
            budget,
        )
        .await?;
        report.oidc_codes = purge(
            &client,
            "DELETE FROM oidc_codes WHERE expires_at <= $1 AND digest IN (
                       SELECT digest FROM oidc_codes WHERE expires_at <= $1
                       ORDER BY expires_at LIMIT $2)",
            now,
            budget,
        )
        .await?;
        report.browser_sessions = purge(
            &client,
            "DELETE FROM browser_sessions WHERE expires_at <= $1 AND digest IN (
                       SELECT digest FROM browser_sessions WHERE expires_at <= $1
                       ORDER BY expires_at LIMIT $2)",
            now,
            budget,
        )
        .await?;
        report.passkey_challenges = purge(
            &client,
            "DELETE FROM passkey_challenges WHERE expires_at <= $1 AND digest IN (
                       SELECT digest FROM passkey_challenges WHERE expires_at <= $1
                       ORDER BY expires_at LIMIT $2)",
            now,
            budget,
        )
        .await?;
        Ok(())
    }
}
