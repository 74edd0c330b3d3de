//! Storefront access tokens: the keys a storefront presents in `X-Shopify-Storefront-Access-Token`
//! (public) or `Shopify-Storefront-Private-Token` (private), each with Shopify access scopes.
//! Created by an admin; only the SHA-256 of a token is stored and the token is shown once.
//! A token's kind is chosen at creation and decides the one header it works in: a public token
//! lives in browser JavaScript, so nothing it says about the buyer (their IP) is trusted.

use super::one_time;
use super::secret::{self, Secret};
use super::Auth;
use crate::store::{Digest, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

pub const READ_CUSTOMERS: &str = "unauthenticated_read_customers";
pub const WRITE_CUSTOMERS: &str = "unauthenticated_write_customers";
pub const READ_CUSTOMER_TAGS: &str = "unauthenticated_read_customer_tags";

/// Scopes an admin may grant (the customer-related unauthenticated scopes of the Storefront API).
pub const KNOWN_SCOPES: &[&str] = &[READ_CUSTOMERS, WRITE_CUSTOMERS, READ_CUSTOMER_TAGS];

/// Which header a token works in: public in `X-Shopify-Storefront-Access-Token` (browsers),
/// private in `Shopify-Storefront-Private-Token` (servers, which may pass the buyer's IP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorefrontTokenKind {
    #[default]
    Public,
    Private,
}

impl StorefrontTokenKind {
    /// The names an admin may give, in the order error messages list them.
    pub const NAMES: &'static [&'static str] = &["public", "private"];

    pub fn name(self) -> &'static str {
        match self {
            StorefrontTokenKind::Public => "public",
            StorefrontTokenKind::Private => "private",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "public" => Some(StorefrontTokenKind::Public),
            "private" => Some(StorefrontTokenKind::Private),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorefrontToken {
    pub id: u64,
    pub title: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    /// Records stored before kinds existed have none and read as public, the kind that
    /// trusts the least.
    #[serde(default)]
    pub kind: StorefrontTokenKind,
}

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
    Storage(String),
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
        let token = secret::new_key("");
        let digest = token.digest();
        let now = self.now();
        let admin = admin.to_string();
        let record = self
            .store
            .write(move |tx| {
                let record = StorefrontToken {
                    id: tx.next_id("next_storefront_token_id")?,
                    title,
                    scopes,
                    created_at: now,
                    kind,
                };
                let bytes =
                    serde_json::to_vec(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                tx.put_storefront_token(&digest, &bytes)?;
                let detail = format!("id {}: {} ({})", record.id, record.title, kind.name());
                one_time::audit(
                    tx,
                    now,
                    &admin,
                    "storefront_token_created",
                    0,
                    Some(&detail),
                )?;
                Ok(record)
            })
            .await?;
        self.forget_storefront_tokens();
        Ok((record, token))
    }

    /// The storefront token a request presents, if it exists. Every Storefront request asks,
    /// so the (few) tokens are kept in memory, loaded from the store on first use and dropped
    /// whenever one is created or deleted; the store stays the only source of truth.
    pub fn storefront_token(&self, presented: &str) -> Result<Option<StorefrontToken>, StoreError> {
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
        let loaded: HashMap<Digest, StorefrontToken> = self
            .store
            .read()?
            .storefront_tokens()?
            .into_iter()
            .filter_map(|(d, bytes)| serde_json::from_slice(&bytes).ok().map(|t| (d, t)))
            .collect();
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

    pub fn storefront_tokens(&self) -> Result<Vec<StorefrontToken>, StoreError> {
        let mut all: Vec<StorefrontToken> = self
            .store
            .read()?
            .storefront_tokens()?
            .iter()
            .filter_map(|(_, bytes)| serde_json::from_slice(bytes).ok())
            .collect();
        all.sort_by_key(|t| t.id);
        Ok(all)
    }

    /// Deletes a storefront token by id for `admin`, audited in the same commit; false when
    /// there is none.
    pub async fn delete_storefront_token(&self, admin: &str, id: u64) -> Result<bool, StoreError> {
        let now = self.now();
        let admin = admin.to_string();
        let deleted = self
            .store
            .write(move |tx| {
                for (digest, bytes) in tx.storefront_tokens()? {
                    let matches = serde_json::from_slice::<StorefrontToken>(&bytes)
                        .map(|t| t.id == id)
                        .unwrap_or(false);
                    if matches && tx.delete_storefront_token(&digest)? {
                        let detail = format!("id {id}");
                        one_time::audit(
                            tx,
                            now,
                            &admin,
                            "storefront_token_deleted",
                            0,
                            Some(&detail),
                        )?;
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .await;
        self.forget_storefront_tokens();
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_token_without_a_kind_reads_as_public() {
        let old = br#"{"id":7,"title":"web","scopes":["unauthenticated_write_customers"],"created_at":0}"#;
        let token: StorefrontToken = serde_json::from_slice(old).unwrap();
        assert_eq!(token.kind, StorefrontTokenKind::Public);
        let private = StorefrontToken {
            kind: StorefrontTokenKind::Private,
            ..token
        };
        let bytes = serde_json::to_vec(&private).unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains(r#""kind":"private""#));
        assert_eq!(
            serde_json::from_slice::<StorefrontToken>(&bytes).unwrap(),
            private
        );
    }
}
