//! Storefront access tokens: the keys a storefront presents in `X-Shopify-Storefront-Access-Token`
//! (public) or `Shopify-Storefront-Private-Token` (private), each with Shopify access scopes.
//! Created by an admin; only the SHA-256 of a token is stored and the token is shown once.
//! A token's kind is chosen at creation and decides the one header it works in: a public token
//! lives in browser JavaScript, so nothing it says about the buyer (their IP) is trusted.

use super::failure::failure_variant;
use super::secret::{self, Secret};
use super::Failure;
use super::{audit_entry, Auth};
pub use crate::model::{StorefrontToken, StorefrontTokenKind};
use crate::store::Backend as _;
use crate::store::{Digest, StoreError};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a cache of the storefront tokens answers for a token it holds before the store's
/// generation counter is read again (PostgreSQL; on redb this process makes every change and
/// drops the cache itself): the bound on a token deleted by another instance.
pub const SHARED_CHECK: Duration = Duration::from_secs(1);

/// How long an instance refuses an unknown token from memory (`Unknown`) before it asks the
/// store again.
pub const UNKNOWN_REMEMBERED_FOR: Duration = Duration::from_secs(10);

/// The storefront tokens as last loaded, with the store's generation counter at that moment.
pub struct Cache {
    tokens: HashMap<Digest, StorefrontToken>,
    shared: Option<u64>,
    /// When the generation read that confirmed `tokens` began: a request that arrived before
    /// it is answered by it.
    checked: Instant,
}

impl Cache {
    /// What this cache says about `digest` without asking the store, if it can say: a token it
    /// holds while fresh (`SHARED_CHECK`), or anything once it was confirmed after `asked`;
    /// on redb (no other writer) always.
    fn answer(&self, digest: &Digest, asked: Instant) -> Option<Option<StorefrontToken>> {
        let confirmed = self.shared.is_none() || self.checked >= asked;
        match self.tokens.get(digest) {
            Some(t) if confirmed || self.checked.elapsed() < SHARED_CHECK => Some(Some(t.clone())),
            None if confirmed => Some(None),
            _ => None,
        }
    }
}

/// Digests of tokens found unknown lately, each with when it stops being trusted: at most
/// `server.unknown_storefront_tokens` of them, so a flood of bad tokens costs bounded memory
/// and a repeated one no query.
pub struct Unknown {
    until: HashMap<Digest, Instant>,
    max: usize,
}

impl Unknown {
    pub fn new(max: usize) -> Unknown {
        Unknown {
            until: HashMap::new(),
            max,
        }
    }

    fn contains(&self, digest: &Digest) -> bool {
        self.until.get(digest).is_some_and(|t| *t > Instant::now())
    }

    /// Remembers `digest` as unknown. When full, the expired go first, then everything: a
    /// flood of distinct bad tokens never holds more than `max`, and costs at most one query at
    /// a time (see `storefront_token`).
    fn insert(&mut self, digest: Digest) {
        if self.max == 0 {
            return;
        }
        let now = Instant::now();
        if self.until.len() >= self.max {
            self.until.retain(|_, t| *t > now);
            if self.until.len() >= self.max {
                self.until.clear();
            }
        }
        self.until.insert(digest, now + UNKNOWN_REMEMBERED_FOR);
    }

    fn clear(&mut self) {
        self.until.clear();
    }
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
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(StorefrontTokenError);

/// The storefront keys service's own state.
pub(super) struct StorefrontKeys {
    /// Storefront tokens by digest; `None` until first use and after any change here.
    pub(super) cache: std::sync::RwLock<Option<Cache>>,
    pub(super) generation: std::sync::atomic::AtomicU64,
    /// Storefront tokens lately found unknown (`Unknown`).
    pub(super) unknown: std::sync::Mutex<Unknown>,
    /// One confirmation of the cache at a time (`storefront_token`), with when the last one
    /// began if it failed, and how.
    pub(super) check: tokio::sync::Mutex<Option<(std::time::Instant, StoreError)>>,
}

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
    /// several instances on one database, every change bumps a generation counter in its
    /// transaction, and the cache is confirmed by reading that counter (one small query; a
    /// reload when it moved):
    /// - a token the cache holds is trusted for `SHARED_CHECK`, then confirmed: a token deleted
    ///   on another instance stops working here within that bound;
    /// - a token the cache lacks is refused only once a read that began after the request
    ///   arrived confirmed the cache: a token created on another instance works here at once.
    ///   Those reads take turns (requests that queued behind one share the next), and a token
    ///   found unknown is remembered for `UNKNOWN_REMEMBERED_FOR` (`Unknown`), so bad tokens
    ///   cost at most one query at a time and a repeated one none.
    pub async fn storefront_token(
        &self,
        presented: &str,
    ) -> Result<Option<StorefrontToken>, StoreError> {
        if presented.is_empty() || presented.len() > 256 {
            return Ok(None);
        }
        let digest = secret::digest(presented);
        let arrived = Instant::now();
        if let Some(answer) = self.cached_storefront_token(&digest, arrived) {
            return Ok(answer);
        }
        if self
            .storefront
            .unknown
            .lock()
            .is_ok_and(|u| u.contains(&digest))
        {
            return Ok(None);
        }
        let mut turn = self.storefront.check.lock().await;
        // A read that began while this request waited for its turn may have answered it, or
        // failed: then it fails alike rather than queue for a read of its own (a database that
        // is down must not make each waiting request wait for its own timeout in turn).
        let found = match self.cached_storefront_token(&digest, arrived) {
            Some(answer) => answer,
            None => {
                if let Some((began, e)) = turn.as_ref() {
                    if *began >= arrived {
                        return Err(e.clone());
                    }
                }
                let began = Instant::now();
                match self.check_storefront_tokens(&digest).await {
                    Ok(found) => {
                        *turn = None;
                        found
                    }
                    Err(e) => {
                        *turn = Some((began, e.clone()));
                        return Err(e);
                    }
                }
            }
        };
        drop(turn);
        if found.is_none() {
            if let Ok(mut unknown) = self.storefront.unknown.lock() {
                unknown.insert(digest);
            }
        }
        Ok(found)
    }

    /// What the cache says about `digest` for a request that arrived at `arrived`, if it can.
    fn cached_storefront_token(
        &self,
        digest: &Digest,
        arrived: Instant,
    ) -> Option<Option<StorefrontToken>> {
        let cache = self.storefront.cache.read().ok()?;
        cache.as_ref()?.answer(digest, arrived)
    }

    /// Reads the store's generation counter and reloads the tokens when it moved (or nothing is
    /// cached); returns the token `digest` names, as of a read that began now.
    async fn check_storefront_tokens(
        &self,
        digest: &Digest,
    ) -> Result<Option<StorefrontToken>, StoreError> {
        // A change committed while this snapshot loads must not be cached over: remember the
        // generations first (the local one and the store's), and keep the map only if no local
        // change bumped it meanwhile; a change elsewhere after the read shows at the next check.
        let generation = self.storefront.generation.load(Ordering::SeqCst);
        let checked = Instant::now();
        let shared = self.store.storefront_generation().await?;
        if let (Some(now_shared), Ok(mut cache)) = (shared, self.storefront.cache.write()) {
            if let Some(c) = cache.as_mut().filter(|c| c.shared == Some(now_shared)) {
                c.checked = c.checked.max(checked);
                return Ok(c.tokens.get(digest).cloned());
            }
        }
        let tokens: HashMap<Digest, StorefrontToken> =
            self.store.storefront_tokens().await?.into_iter().collect();
        let found = tokens.get(digest).cloned();
        if let Ok(mut cache) = self.storefront.cache.write() {
            if self.storefront.generation.load(Ordering::SeqCst) == generation {
                *cache = Some(Cache {
                    tokens,
                    shared,
                    checked,
                });
                // The set changed: what was unknown may not be now.
                if let Ok(mut unknown) = self.storefront.unknown.lock() {
                    unknown.clear();
                }
            }
        }
        Ok(found)
    }

    fn forget_storefront_tokens(&self) {
        if let Ok(mut cache) = self.storefront.cache.write() {
            self.storefront.generation.fetch_add(1, Ordering::SeqCst);
            *cache = None;
        }
        if let Ok(mut unknown) = self.storefront.unknown.lock() {
            unknown.clear();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tokens_are_remembered_up_to_the_bound_the_expired_going_first() {
        let mut unknown = Unknown::new(3);
        for d in 1..=3u8 {
            unknown.insert([d; 32]);
        }
        assert!((1..=3u8).all(|d| unknown.contains(&[d; 32])));
        // One has expired: it makes the room.
        unknown
            .until
            .insert([2; 32], Instant::now() - Duration::from_millis(1));
        assert!(!unknown.contains(&[2; 32]));
        unknown.insert([4; 32]);
        assert_eq!(unknown.until.len(), 3);
        assert!([1u8, 3, 4].iter().all(|&d| unknown.contains(&[d; 32])));
        // None has: all go, and the bound holds.
        unknown.insert([5; 32]);
        assert_eq!(unknown.until.len(), 1);
        assert!(unknown.contains(&[5; 32]));
        // 0 remembers nothing.
        let mut none = Unknown::new(0);
        none.insert([1; 32]);
        assert!(!none.contains(&[1; 32]));
    }

    #[test]
    fn a_cache_refuses_an_unknown_token_only_once_confirmed_after_the_request_arrived() {
        let token = StorefrontToken {
            id: 1,
            title: "shop".into(),
            scopes: Vec::new(),
            created_at: 0,
            kind: StorefrontTokenKind::Public,
        };
        let checked = Instant::now();
        let cache = Cache {
            tokens: HashMap::from([([1; 32], token.clone())]),
            shared: Some(7),
            checked,
        };
        let later = checked + Duration::from_millis(1);
        // Held and fresh: answered, whenever the request arrived.
        assert_eq!(cache.answer(&[1; 32], later), Some(Some(token.clone())));
        // Not held: known to be unknown only for requests that arrived before the check.
        assert_eq!(cache.answer(&[2; 32], checked), Some(None));
        assert_eq!(cache.answer(&[2; 32], later), None);
        // On redb this process made every change: the cache is the answer.
        let alone = Cache {
            shared: None,
            ..cache
        };
        assert_eq!(alone.answer(&[2; 32], later), Some(None));
        assert_eq!(alone.answer(&[1; 32], later), Some(Some(token)));
    }
}
