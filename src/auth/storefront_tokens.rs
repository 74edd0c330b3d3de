//! Storefront access tokens: the keys a storefront presents in `X-Shopify-Storefront-Access-Token`
//! (public) or `Shopify-Storefront-Private-Token` (private), each with Shopify access scopes.
//! Created by an admin; only the SHA-256 of a token is stored and the token is shown once.
//! A token's kind is chosen at creation and decides the one header it works in: a public token
//! lives in browser JavaScript, so nothing it says about the buyer (their IP) is trusted.

use super::secret::{self, Secret};
use super::{audit_entry, Auth};
pub use crate::model::{StorefrontToken, StorefrontTokenKind};
use crate::store::{Digest, StoreError};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a cache of the storefront tokens is used before the store's generation counter is
/// read again (PostgreSQL; on redb this process makes every change and drops the cache itself).
pub const SHARED_CHECK: Duration = Duration::from_secs(1);

/// The storefront tokens as last loaded, with the store's generation counter at that moment.
pub struct Cache {
    tokens: HashMap<Digest, StorefrontToken>,
    shared: Option<u64>,
    checked: Instant,
}

pub const READ_CUSTOMERS: &str = "unauthenticated_read_customers";
pub const WRITE_CUSTOMERS: &str = "unauthenticated_write_customers";
pub const READ_CUSTOMER_TAGS: &str = "unauthenticated_read_customer_tags";

/// Scopes an admin may grant (the customer-related unauthenticated scopes of the Storefront API).
pub const KNOWN_SCOPES: &[&str] = &[READ_CUSTOMERS, WRITE_CUSTOMERS, READ_CUSTOMER_TAGS];

impl StorefrontToken {
    /// Whether the token grants `scope`. A write scope implies the matching read scope.
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s == scope || (scope == READ_CUSTOMERS && s == WRITE_CUSTOMERS))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorefrontTokenError {
    EmptyTitle,
    UnknownScope(String),
    Storage(StoreError),
}

storage_error!(StorefrontTokenError);

impl Auth {
    /// Creates a storefront token for `admin`, audited in the same commit; returns its record
    /// and the token itself (shown only now).
    pub async fn create_storefront_token(
        &self,
        admin: &str,
        title: &str,
        scopes: Vec<String>,
        kind: StorefrontTokenKind,
    ) -> Result<(StorefrontToken, Secret), StorefrontTokenError> {
        let title = title.trim().to_string();
        if title.is_empty() {
            return Err(StorefrontTokenError::EmptyTitle);
        }
        if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return Err(StorefrontTokenError::UnknownScope(bad.clone()));
        }
        let token = secret::key_from(self.random.as_ref(), "");
        let digest = token.digest();
        let now = self.now();
        let admin = admin.to_string();
        let draft = StorefrontToken {
            id: 0,
            title,
            scopes,
            created_at: now,
            kind,
        };
        let record = self
            .store
            .create_storefront_token(digest, draft, move |t| {
                let detail = format!("id {}: {} ({})", t.id, t.title, t.kind.name());
                audit_entry(now, &admin, "storefront_token_created", None, Some(detail))
            })
            .await?;
        self.forget_storefront_tokens();
        Ok((record, token))
    }

    /// The storefront token a request presents, if it exists. Every Storefront request asks,
    /// so the (few) tokens are kept in memory, loaded from the store on first use and dropped
    /// whenever one is created or deleted here; the store stays the only source of truth. With
    /// several instances on one database, another instance's change bumps a generation counter
    /// in the same transaction: a cache older than `SHARED_CHECK` reads that counter (one small
    /// query) and reloads when it moved, so a token deleted elsewhere stops working here within
    /// a second.
    pub async fn storefront_token(
        &self,
        presented: &str,
    ) -> Result<Option<StorefrontToken>, StoreError> {
        if presented.is_empty() || presented.len() > 256 {
            return Ok(None);
        }
        let digest = secret::digest(presented);
        if let Ok(cache) = self.storefront_cache.read() {
            if let Some(c) = cache.as_ref() {
                if c.shared.is_none() || c.checked.elapsed() < SHARED_CHECK {
                    return Ok(c.tokens.get(&digest).cloned());
                }
            }
        }
        // A change committed while this snapshot loads must not be cached over: remember the
        // generations first (the local one and the store's), and keep the map only if no local
        // change bumped it meanwhile; a change elsewhere after the read shows at the next check.
        let generation = self.storefront_generation.load(Ordering::SeqCst);
        let shared = self.store.storefront_generation().await?;
        if let (Some(now_shared), Ok(mut cache)) = (shared, self.storefront_cache.write()) {
            if let Some(c) = cache.as_mut().filter(|c| c.shared == Some(now_shared)) {
                c.checked = Instant::now();
                return Ok(c.tokens.get(&digest).cloned());
            }
        }
        let tokens: HashMap<Digest, StorefrontToken> =
            self.store.storefront_tokens().await?.into_iter().collect();
        let found = tokens.get(&digest).cloned();
        if let Ok(mut cache) = self.storefront_cache.write() {
            if self.storefront_generation.load(Ordering::SeqCst) == generation {
                *cache = Some(Cache {
                    tokens,
                    shared,
                    checked: Instant::now(),
                });
            }
        }
        Ok(found)
    }

    fn forget_storefront_tokens(&self) {
        if let Ok(mut cache) = self.storefront_cache.write() {
            self.storefront_generation.fetch_add(1, Ordering::SeqCst);
            *cache = None;
        }
    }

    pub async fn storefront_tokens(&self) -> Result<Vec<StorefrontToken>, StoreError> {
        let mut all: Vec<StorefrontToken> = self
            .store
            .storefront_tokens()
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        all.sort_by_key(|t| t.id);
        Ok(all)
    }

    /// Deletes a storefront token by id for `admin`, audited in the same commit; false when
    /// there is none.
    pub async fn delete_storefront_token(&self, admin: &str, id: u64) -> Result<bool, StoreError> {
        let now = self.now();
        let entry = audit_entry(
            now,
            admin,
            "storefront_token_deleted",
            None,
            Some(format!("id {id}")),
        );
        let deleted = self.store.delete_storefront_token(id, entry).await;
        self.forget_storefront_tokens();
        deleted
    }
}
