//! The admin console's list reads, each one bounded read of the store: a page of the customer
//! search and a page of the Login as Customer log. The console pages with what they return.

use super::*;
use crate::model::{LacEntry, LacFilter};
use crate::store::Scanned;

/// Most customers one search page looks at: a rare term shows a short (even empty) page with
/// a link on, rather than reading the whole store for one page.
pub const SEARCH_EXAMINE: usize = 5_000;

/// Most audit entries one page of the Login as Customer log looks at.
pub const LOG_EXAMINE: usize = 5_000;

impl Auth {
    /// Up to `limit` customers with ids above `after` whose email or name contains `term` (in
    /// any case; every customer for an empty term), in id order, looking at no more than
    /// [`SEARCH_EXAMINE`] of them; `resume` is where the next page starts (`None`: no more).
    pub async fn search_customers(
        &self,
        term: &str,
        after: CustomerId,
        limit: usize,
    ) -> Result<Scanned<Customer, CustomerId>, StoreError> {
        let scan = self
            .store
            .search_customers(term.trim(), after, limit + 1, SEARCH_EXAMINE)
            .await?;
        let Scanned { found, resume } = scan.page(limit, |a| a.customer.id);
        Ok(Scanned {
            found: found.into_iter().map(|a| a.customer).collect(),
            resume,
        })
    }

    /// Up to `limit` lines of the Login as Customer log below sequence number `before`, newest
    /// first, that `filter` admits, looking at no more than [`LOG_EXAMINE`] audit entries;
    /// `resume` is where the next (older) page starts (`None`: no more).
    pub async fn lac_log(
        &self,
        filter: &LacFilter,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Scanned<LacEntry, u64>, StoreError> {
        let scan = self
            .store
            .lac_log(filter, before, limit + 1, LOG_EXAMINE)
            .await?;
        Ok(scan.page(limit, |e| e.seq))
    }
}
