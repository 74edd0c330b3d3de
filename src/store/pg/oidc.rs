//! The OpenID Connect provider's records on PostgreSQL: not stored yet (the redb backend holds
//! them; see `store/redb/oidc.rs`). Every operation answers that PostgreSQL does not hold them.

use super::Postgres;
use crate::model::oidc::{AuthorizationCode, BrowserSession, Grant, OidcClient, SigningKey};
use crate::model::{AccessToken as AccessTokenRecord, Account, AuditEntry, Digest, Timestamp};
use crate::store::{Granted, Issue, StoreError};

fn not_yet<T>() -> Result<T, StoreError> {
    Err(StoreError::Postgres(
        "the OpenID Connect provider's records are not stored on PostgreSQL yet".into(),
    ))
}

impl Postgres {
    pub async fn oidc_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        not_yet()
    }
    pub async fn oidc_client(&self, _: &str) -> Result<Option<OidcClient>, StoreError> {
        not_yet()
    }
    pub async fn oidc_clients(&self) -> Result<Vec<OidcClient>, StoreError> {
        not_yet()
    }
    pub async fn browser_session(&self, _: &Digest) -> Result<Option<BrowserSession>, StoreError> {
        not_yet()
    }
    pub async fn oidc_access(
        &self,
        _: &Digest,
    ) -> Result<Option<(AccessTokenRecord, Grant, Account)>, StoreError> {
        not_yet()
    }
    pub async fn add_oidc_key(
        &self,
        _: SigningKey,
        _: Option<Timestamp>,
        _: Option<AuditEntry>,
    ) -> Result<Vec<SigningKey>, StoreError> {
        not_yet()
    }
    pub async fn create_oidc_client(
        &self,
        _: OidcClient,
        _: AuditEntry,
    ) -> Result<bool, StoreError> {
        not_yet()
    }
    pub async fn delete_oidc_client(&self, _: String, _: AuditEntry) -> Result<bool, StoreError> {
        not_yet()
    }
    pub async fn create_browser_session(
        &self,
        _: Digest,
        _: BrowserSession,
        _: Option<AuditEntry>,
    ) -> Result<(), StoreError> {
        not_yet()
    }
    pub async fn touch_browser_session(
        &self,
        _: Digest,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<bool, StoreError> {
        not_yet()
    }
    pub async fn end_browser_session(
        &self,
        _: Digest,
        _: Option<String>,
        _: Option<AuditEntry>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        not_yet()
    }
    pub async fn save_oidc_code(&self, _: Digest, _: AuthorizationCode) -> Result<(), StoreError> {
        not_yet()
    }
    pub async fn redeem_oidc_code<R, D>(
        &self,
        _: Digest,
        _: Timestamp,
        _: D,
    ) -> Result<Granted<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(&AuthorizationCode, Option<&Account>) -> Result<Issue, R> + Send + 'static,
    {
        not_yet()
    }
    pub async fn refresh_oidc<R, D>(
        &self,
        _: Digest,
        _: Timestamp,
        _: i64,
        _: D,
    ) -> Result<Granted<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(&Grant, Option<&Account>) -> Result<Issue, R> + Send + 'static,
    {
        not_yet()
    }
}
