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
    /// whenever one is created or deleted; the store stays the only source of truth.
    pub async fn storefront_token(
        &self,
        presented: &str,
    ) -> Result<Option<StorefrontToken>, StoreError> {
        if presented.is_empty() || presented.len() > 256 {
            return Ok(None);
        }
        let digest = secret::digest(presented);
        if let Ok(cache) = self.storefront_cache.read() {
            if let Some(all) = cache.as_ref() {
                return Ok(all.get(&digest).cloned());
            }
        }
        // A change committed while this snapshot loads must not be cached over: remember the
        // generation first, and keep the map only if no change bumped it meanwhile.
        let generation = self.storefront_generation.load(Ordering::SeqCst);
        let loaded: HashMap<Digest, StorefrontToken> =
            self.store.storefront_tokens().await?.into_iter().collect();
        let found = loaded.get(&digest).cloned();
        if let Ok(mut cache) = self.storefront_cache.write() {
            if self.storefront_generation.load(Ordering::SeqCst) == generation {
                *cache = Some(loaded);
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
