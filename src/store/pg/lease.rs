//! Named leases: at most one live holder per name across every instance on the database, taken
//! over once it expires. Times are the database's (`now()`), so instances' clocks may disagree.
//! One guarded upsert, no advisory lock: CockroachDB runs it too (scale-out.md §6.3).

use super::{PgError, Postgres};
use crate::store::StoreError;
use std::time::Duration;

/// The table, created before any migration runs (migrations themselves run under a lease).
pub(super) const CREATE_LEASES: &str = "CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
)";

impl Postgres {
    /// Takes or renews the lease `name` for `ttl`: true when `holder` now holds it (it was free,
    /// expired, or already `holder`'s), false while another holder's lease is live.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, PgError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO leases (name, holder, expires_at)
                 VALUES ($1, $2, now() + $3::INT8 * INTERVAL '1 millisecond')
                 ON CONFLICT (name) DO UPDATE
                   SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                   WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= now()",
            )
            .await?;
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let rows = client
            .execute(&statement, &[&name, &holder, &millis])
            .await?;
        Ok(rows == 1)
    }

    /// Gives the lease up if `holder` holds it, so another instance need not wait for expiry.
    pub async fn give_up_lease(&self, name: &str, holder: &str) -> Result<bool, PgError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .await?;
        Ok(client.execute(&statement, &[&name, &holder]).await? == 1)
    }

    /// `take_lease` for the `Backend` contract.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.take_lease(name, holder, ttl).await?)
    }

    /// `give_up_lease` for the `Backend` contract.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        Ok(self.give_up_lease(name, holder).await?)
    }
}
