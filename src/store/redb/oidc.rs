//! The OpenID Connect provider's records on redb: signing keys and clients (by id), browser
//! sessions, codes and refresh tokens (by the digest of their secret), grants (by number), the
//! link from a grant's access tokens to the grant, and one index table that finds a customer's
//! sessions and grants, a client's grants and a grant's tokens by key prefix. Records are the
//! model's JSON (`model::oidc`).

use super::*;
use crate::model::oidc::{AuthorizationCode, BrowserSession, Grant, OidcClient, SigningKey};
use crate::store::{Granted, Issue};
use serde::{de::DeserializeOwned, Serialize};

pub(super) const OIDC_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("oidc_keys");
pub(super) const OIDC_CLIENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("oidc_clients");
pub(super) const BROWSER_SESSIONS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("browser_sessions");
pub(super) const OIDC_CODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("oidc_codes");
pub(super) const OIDC_GRANTS: TableDefinition<u64, &[u8]> = TableDefinition::new("oidc_grants");
pub(super) const REFRESH_TOKENS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("oidc_refresh_tokens");
/// An access token minted by a grant → the grant.
pub(super) const OIDC_ACCESS: TableDefinition<&[u8], u64> = TableDefinition::new("oidc_access");
/// Prefix-searchable links (value `()`): see [`Link`].
pub(super) const OIDC_INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("oidc_index");

/// One row of `OIDC_INDEX`; its key is the prefix of its owner then what it points at.
enum Link<'a> {
    CustomerSession(CustomerId, &'a Digest),
    CustomerGrant(CustomerId, u64),
    ClientGrant(&'a str, u64),
    GrantRefresh(u64, &'a Digest),
    GrantAccess(u64, &'a Digest),
}

const CUSTOMER: u8 = b'c';
const CLIENT: u8 = b'l';
const GRANT: u8 = b'g';
const SESSION: u8 = 1;
const GRANT_ROW: u8 = 2;
const REFRESH: u8 = 1;
const ACCESS: u8 = 2;

impl Link<'_> {
    fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(48);
        match self {
            Link::CustomerSession(c, d) => {
                k.push(CUSTOMER);
                k.extend_from_slice(&c.0.to_be_bytes());
                k.push(SESSION);
                k.extend_from_slice(&d[..]);
            }
            Link::CustomerGrant(c, g) => {
                k.push(CUSTOMER);
                k.extend_from_slice(&c.0.to_be_bytes());
                k.push(GRANT_ROW);
                k.extend_from_slice(&g.to_be_bytes());
            }
            Link::ClientGrant(client, g) => {
                k.push(CLIENT);
                k.extend_from_slice(client.as_bytes());
                k.push(0);
                k.extend_from_slice(&g.to_be_bytes());
            }
            Link::GrantRefresh(g, d) => {
                k.push(GRANT);
                k.extend_from_slice(&g.to_be_bytes());
                k.push(REFRESH);
                k.extend_from_slice(&d[..]);
            }
            Link::GrantAccess(g, d) => {
                k.push(GRANT);
                k.extend_from_slice(&g.to_be_bytes());
                k.push(ACCESS);
                k.extend_from_slice(&d[..]);
            }
        }
        k
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // The model's records are plain data: serialising them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn digest_of(bytes: &[u8]) -> Result<Digest, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("an OpenID Connect index entry is cut short".into()))
}

fn grant_subject(id: u64) -> Digest {
    customer_subject(CustomerId(id))
}

impl Tx<'_> {
    fn link(&mut self, link: Link<'_>) -> Result<(), StoreError> {
        self.oidc_index()?.insert(link.key().as_slice(), ())?;
        Ok(())
    }

    fn unlink(&mut self, link: Link<'_>) -> Result<(), StoreError> {
        self.oidc_index()?.remove(link.key().as_slice())?;
        Ok(())
    }

    /// Every index key under `prefix` (the prefix cut off).
    fn linked(&mut self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        for entry in self.oidc_index()?.range::<&[u8]>(prefix..)? {
            let (k, _) = entry?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            out.push(k[prefix.len()..].to_vec());
        }
        Ok(out)
    }

    fn oidc_grant(&mut self, id: u64) -> Result<Option<Grant>, StoreError> {
        let found = self.oidc_grants()?.get(id)?;
        found.map(|v| decode("grant", v.value())).transpose()
    }

    fn oidc_code(&mut self, digest: &Digest) -> Result<Option<AuthorizationCode>, StoreError> {
        let found = self.oidc_codes()?.get(digest.as_slice())?;
        found.map(|v| decode("code", v.value())).transpose()
    }

    fn put_oidc_code(
        &mut self,
        digest: &Digest,
        code: &AuthorizationCode,
    ) -> Result<(), StoreError> {
        self.oidc_codes()?
            .insert(digest.as_slice(), encode(code).as_slice())?;
        Ok(())
    }

    /// Stores a new code, due for the sweep at its expiry.
    fn start_oidc_code(
        &mut self,
        digest: &Digest,
        code: &AuthorizationCode,
    ) -> Result<(), StoreError> {
        self.put_oidc_code(digest, code)?;
        self.expiry()?.insert(
            expiry_key(code.expires_at, Expiring::OidcCode, digest).as_slice(),
            (),
        )?;
        Ok(())
    }

    /// Stores a new grant, findable by its customer and its client, due for the sweep at its
    /// expiry.
    fn start_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        self.oidc_grants()?
            .insert(grant.id, encode(grant).as_slice())?;
        self.link(Link::CustomerGrant(grant.customer, grant.id))?;
        self.link(Link::ClientGrant(&grant.client_id, grant.id))?;
        self.expiry()?.insert(
            expiry_key(
                grant.expires_at,
                Expiring::OidcGrant,
                &grant_subject(grant.id),
            )
            .as_slice(),
            (),
        )?;
        Ok(())
    }

    fn refresh_token(
        &mut self,
        digest: &Digest,
    ) -> Result<Option<crate::model::oidc::RefreshToken>, StoreError> {
        let found = self.refresh_tokens()?.get(digest.as_slice())?;
        found
            .map(|v| decode("refresh token", v.value()))
            .transpose()
    }

    fn put_refresh_token(
        &mut self,
        digest: &Digest,
        token: &crate::model::oidc::RefreshToken,
    ) -> Result<(), StoreError> {
        self.refresh_tokens()?
            .insert(digest.as_slice(), encode(token).as_slice())?;
        Ok(())
    }

    fn browser_session(&mut self, digest: &Digest) -> Result<Option<BrowserSession>, StoreError> {
        let found = self.browser_sessions()?.get(digest.as_slice())?;
        found
            .map(|v| decode("browser session", v.value()))
            .transpose()
    }

    fn put_browser_session(
        &mut self,
        digest: &Digest,
        session: &BrowserSession,
    ) -> Result<(), StoreError> {
        self.browser_sessions()?
            .insert(digest.as_slice(), encode(session).as_slice())?;
        self.expiry()?.insert(
            expiry_key(session.expires_at, Expiring::BrowserSession, digest).as_slice(),
            (),
        )?;
        Ok(())
    }

    /// Stores a new browser session, findable by its customer.
    pub(super) fn start_browser_session(
        &mut self,
        digest: &Digest,
        session: &BrowserSession,
    ) -> Result<(), StoreError> {
        self.put_browser_session(digest, session)?;
        self.link(Link::CustomerSession(session.customer, digest))
    }

    fn delete_browser_session(
        &mut self,
        digest: &Digest,
    ) -> Result<Option<BrowserSession>, StoreError> {
        let Some(session) = self.browser_session(digest)? else {
            return Ok(None);
        };
        self.browser_sessions()?.remove(digest.as_slice())?;
        self.unlink(Link::CustomerSession(session.customer, digest))?;
        Ok(Some(session))
    }

    /// Issues what `issue` holds for `grant`: the access token (linked to the grant) and the
    /// next refresh token.
    fn issue(&mut self, grant: &Grant, issue: &Issue) -> Result<(), StoreError> {
        let access = &issue.access;
        let record = AccessTokenRecord {
            customer_id: grant.customer,
            ..access.record
        };
        self.insert_access_token(&access.digest, &record)?;
        self.oidc_access()?
            .insert(access.digest.as_slice(), grant.id)?;
        self.link(Link::GrantAccess(grant.id, &access.digest))?;
        if let Some(refresh) = &issue.refresh {
            let token = crate::model::oidc::RefreshToken {
                grant: grant.id,
                expires_at: grant.expires_at,
                rotated_at: None,
            };
            self.put_refresh_token(refresh, &token)?;
            self.link(Link::GrantRefresh(grant.id, refresh))?;
        }
        if let Some(entry) = &issue.audit {
            ops::append(self, entry)?;
        }
        Ok(())
    }

    /// Ends a grant: its refresh tokens, its access tokens, the grant. False when it is gone.
    pub(super) fn end_grant(&mut self, id: u64) -> Result<bool, StoreError> {
        let Some(grant) = self.oidc_grant(id)? else {
            return Ok(false);
        };
        let mut prefix = vec![GRANT];
        prefix.extend_from_slice(&id.to_be_bytes());
        for rest in self.linked(&prefix)? {
            let Some((&kind, digest)) = rest.split_first() else {
                continue;
            };
            let digest = digest_of(digest)?;
            if kind == REFRESH {
                self.refresh_tokens()?.remove(digest.as_slice())?;
                self.unlink(Link::GrantRefresh(id, &digest))?;
            } else {
                self.delete_access_token(&digest)?;
                self.oidc_access()?.remove(digest.as_slice())?;
                self.unlink(Link::GrantAccess(id, &digest))?;
            }
        }
        self.oidc_grants()?.remove(id)?;
        self.unlink(Link::CustomerGrant(grant.customer, id))?;
        self.unlink(Link::ClientGrant(&grant.client_id, id))?;
        Ok(true)
    }

    /// Ends every browser session and grant of a customer (a revocation: password change,
    /// sign out everywhere, disable, delete). How many ended.
    pub(super) fn end_customer_oidc(&mut self, id: CustomerId) -> Result<u64, StoreError> {
        let mut prefix = vec![CUSTOMER];
        prefix.extend_from_slice(&id.0.to_be_bytes());
        let mut n = 0;
        for rest in self.linked(&prefix)? {
            let Some((&kind, key)) = rest.split_first() else {
                continue;
            };
            if kind == SESSION {
                n += u64::from(self.delete_browser_session(&digest_of(key)?)?.is_some());
            } else {
                let grant = u64::from_be_bytes(key.try_into().map_err(|_| {
                    StoreError::Corrupt("an OpenID Connect index entry is cut short".into())
                })?);
                n += u64::from(self.end_grant(grant)?);
            }
        }
        Ok(n)
    }

    /// The sweep of one expired OpenID Connect record (see `expiry.rs`).
    pub(super) fn purge_oidc(
        &mut self,
        kind: Expiring,
        subject: &Digest,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        match kind {
            Expiring::OidcCode => match self.oidc_code(subject)? {
                Some(code) if code.expires_at <= now => {
                    self.oidc_codes()?.remove(subject.as_slice())?;
                    Ok(true)
                }
                _ => Ok(false),
            },
            Expiring::BrowserSession => match self.browser_session(subject)? {
                Some(s) if s.expires_at <= now => {
                    self.delete_browser_session(subject)?;
                    Ok(true)
                }
                _ => Ok(false),
            },
            _ => {
                let id = subject_customer(subject).0;
                match self.oidc_grant(id)? {
                    Some(g) if g.expires_at <= now => self.end_grant(id),
                    _ => Ok(false),
                }
            }
        }
    }
}

impl RedbStore {
    pub async fn add_oidc_key(
        &self,
        key: SigningKey,
        retire_others_at: Option<Timestamp>,
        audit: Option<AuditEntry>,
    ) -> Result<Vec<SigningKey>, StoreError> {
        self.write(move |tx| {
            let mut keys: Vec<SigningKey> = Vec::new();
            for entry in tx.oidc_keys()?.iter()? {
                keys.push(decode("signing key", entry?.1.value())?);
            }
            match retire_others_at {
                None if !keys.is_empty() => {}
                None => {
                    tx.oidc_keys()?
                        .insert(key.kid.as_str(), encode(&key).as_slice())?;
                    keys.push(key);
                }
                Some(at) => {
                    for k in keys.iter_mut().filter(|k| k.published_until.is_none()) {
                        k.published_until = Some(at);
                        tx.oidc_keys()?
                            .insert(k.kid.as_str(), encode(&*k).as_slice())?;
                    }
                    tx.oidc_keys()?
                        .insert(key.kid.as_str(), encode(&key).as_slice())?;
                    keys.push(key);
                }
            }
            if let Some(entry) = &audit {
                ops::append(tx, entry)?;
            }
            keys.sort_by_key(|k| k.created_at);
            Ok(keys)
        })
        .await
    }

    pub async fn create_oidc_client(
        &self,
        client: OidcClient,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            if tx.oidc_clients()?.get(client.client_id.as_str())?.is_some() {
                return Ok(false);
            }
            tx.oidc_clients()?
                .insert(client.client_id.as_str(), encode(&client).as_slice())?;
            ops::append(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    pub async fn delete_oidc_client(
        &self,
        client_id: String,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            if tx.oidc_clients()?.remove(client_id.as_str())?.is_none() {
                return Ok(false);
            }
            let mut prefix = vec![CLIENT];
            prefix.extend_from_slice(client_id.as_bytes());
            prefix.push(0);
            for rest in tx.linked(&prefix)? {
                if let Ok(bytes) = <[u8; 8]>::try_from(rest.as_slice()) {
                    tx.end_grant(u64::from_be_bytes(bytes))?;
                }
            }
            ops::append(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    pub async fn create_browser_session(
        &self,
        digest: Digest,
        session: BrowserSession,
        audit: Option<AuditEntry>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.start_browser_session(&digest, &session)?;
            if let Some(entry) = &audit {
                ops::append(tx, entry)?;
            }
            Ok(())
        })
        .await
    }

    pub async fn touch_browser_session(
        &self,
        digest: Digest,
        last_seen: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let Some(mut session) = tx.browser_session(&digest)? else {
                return Ok(false);
            };
            session.last_seen = last_seen;
            session.expires_at = expires_at;
            tx.put_browser_session(&digest, &session)?;
            Ok(true)
        })
        .await
    }

    pub async fn end_browser_session(
        &self,
        digest: Digest,
        end_grants_of: Option<String>,
        audit: Option<AuditEntry>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        self.write(move |tx| {
            let Some(session) = tx.delete_browser_session(&digest)? else {
                return Ok(None);
            };
            if let Some(client) = &end_grants_of {
                let mut prefix = vec![CUSTOMER];
                prefix.extend_from_slice(&session.customer.0.to_be_bytes());
                prefix.push(GRANT_ROW);
                for rest in tx.linked(&prefix)? {
                    let Ok(bytes) = <[u8; 8]>::try_from(rest.as_slice()) else {
                        continue;
                    };
                    let id = u64::from_be_bytes(bytes);
                    let ends = matches!(tx.oidc_grant(id)?,
                        Some(g) if &g.client_id == client && g.sid == session.sid);
                    if ends {
                        tx.end_grant(id)?;
                    }
                }
            }
            if let Some(entry) = &audit {
                ops::append(tx, entry)?;
            }
            Ok(Some(session))
        })
        .await
    }

    pub async fn save_oidc_code(
        &self,
        digest: Digest,
        code: AuthorizationCode,
    ) -> Result<(), StoreError> {
        self.write(move |tx| tx.start_oidc_code(&digest, &code))
            .await
    }

    pub async fn redeem_oidc_code<R, D>(
        &self,
        digest: Digest,
        now: Timestamp,
        decide: D,
    ) -> Result<Granted<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(&AuthorizationCode, Option<&Account>) -> Result<Issue, R> + Send + 'static,
    {
        self.write(move |tx| {
            let Some(mut code) = tx.oidc_code(&digest)? else {
                return Ok(Granted::Unknown);
            };
            if code.expires_at <= now {
                return Ok(Granted::Unknown);
            }
            if let Some(grant) = code.redeemed {
                tx.end_grant(grant)?;
                return Ok(Granted::Replayed { grant });
            }
            let account = tx.customer(code.customer)?;
            let issue = match decide(&code, account.as_ref()) {
                Ok(issue) => issue,
                Err(refusal) => return Ok(Granted::Refused(refusal)),
            };
            let Some(account) = account else {
                return Ok(Granted::Unknown);
            };
            let grant = Grant {
                id: tx.next_id("next_oidc_grant")?,
                client_id: code.client_id.clone(),
                customer: code.customer,
                scope: code.scope.clone(),
                sid: code.sid.clone(),
                auth_time: code.auth_time,
                amr: code.amr.clone(),
                nonce: code.nonce.clone(),
                created_at: now,
                expires_at: issue.grant_expires_at,
            };
            tx.start_grant(&grant)?;
            tx.issue(&grant, &issue)?;
            code.redeemed = Some(grant.id);
            tx.put_oidc_code(&digest, &code)?;
            Ok(Granted::Issued {
                grant,
                account: Box::new(account),
            })
        })
        .await
    }

    pub async fn refresh_oidc<R, D>(
        &self,
        digest: Digest,
        now: Timestamp,
        grace_seconds: i64,
        decide: D,
    ) -> Result<Granted<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(&Grant, Option<&Account>) -> Result<Issue, R> + Send + 'static,
    {
        self.write(move |tx| {
            let Some(mut token) = tx.refresh_token(&digest)? else {
                return Ok(Granted::Unknown);
            };
            let grant = match tx.oidc_grant(token.grant)? {
                Some(g) if g.expires_at > now && token.expires_at > now => g,
                _ => return Ok(Granted::Unknown),
            };
            if let Some(rotated) = token.rotated_at {
                if now < rotated + grace_seconds {
                    return Ok(Granted::Raced);
                }
                tx.end_grant(grant.id)?;
                return Ok(Granted::Replayed { grant: grant.id });
            }
            let account = tx.customer(grant.customer)?;
            let issue = match decide(&grant, account.as_ref()) {
                Ok(issue) => issue,
                Err(refusal) => return Ok(Granted::Refused(refusal)),
            };
            let Some(account) = account else {
                return Ok(Granted::Unknown);
            };
            token.rotated_at = Some(now);
            tx.put_refresh_token(&digest, &token)?;
            tx.issue(&grant, &issue)?;
            Ok(Granted::Issued {
                grant,
                account: Box::new(account),
            })
        })
        .await
    }
}

impl Reader {
    pub fn oidc_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let table = self.txn.open_table(OIDC_KEYS)?;
        let mut keys: Vec<SigningKey> = Vec::new();
        for entry in table.iter()? {
            keys.push(decode("signing key", entry?.1.value())?);
        }
        keys.sort_by_key(|k| k.created_at);
        Ok(keys)
    }

    pub fn oidc_client(&self, client_id: &str) -> Result<Option<OidcClient>, StoreError> {
        let table = self.txn.open_table(OIDC_CLIENTS)?;
        let found = table.get(client_id)?;
        found.map(|v| decode("client", v.value())).transpose()
    }

    pub fn oidc_clients(&self) -> Result<Vec<OidcClient>, StoreError> {
        let table = self.txn.open_table(OIDC_CLIENTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode("client", entry?.1.value())?);
        }
        Ok(out)
    }

    pub fn browser_session(&self, digest: &Digest) -> Result<Option<BrowserSession>, StoreError> {
        let table = self.txn.open_table(BROWSER_SESSIONS)?;
        let found = table.get(digest.as_slice())?;
        found
            .map(|v| decode("browser session", v.value()))
            .transpose()
    }

    pub fn oidc_access(
        &self,
        digest: &Digest,
    ) -> Result<Option<(AccessTokenRecord, Grant, Account)>, StoreError> {
        let Some(grant_id) = self
            .txn
            .open_table(OIDC_ACCESS)?
            .get(digest.as_slice())?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let Some(token) = self.access_token(digest)? else {
            return Ok(None);
        };
        let grants = self.txn.open_table(OIDC_GRANTS)?;
        let Some(grant) = grants
            .get(grant_id)?
            .map(|v| decode::<Grant>("grant", v.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        Ok(self.customer(token.customer_id)?.map(|a| (token, grant, a)))
    }
}

// ---------------------------------------------------------------- storekey migrate

/// How a digest-keyed record becomes a copied row.
type DigestRow = dyn Fn(Digest, &[u8]) -> Result<crate::store::copy::Row, StoreError>;

impl Reader {
    /// `storekey migrate`'s pages of the provider's tables (see `copy.rs`).
    pub(super) fn dump_oidc_page(
        &self,
        table: crate::store::copy::Table,
        after: &crate::store::copy::Key,
        limit: usize,
    ) -> Result<Vec<crate::store::copy::Row>, StoreError> {
        use crate::store::copy::{Key, Row, Table};
        use std::ops::Bound;
        let by_name = |def: TableDefinition<&str, &[u8]>,
                       row: &dyn Fn(&[u8]) -> Result<Row, StoreError>|
         -> Result<Vec<Row>, StoreError> {
            let t = self.txn.open_table(def)?;
            let start = match after {
                Key::Name(n) => Bound::Excluded(n.as_str()),
                _ => Bound::Unbounded,
            };
            let mut out = Vec::new();
            for entry in t.range::<&str>((start, Bound::Unbounded))?.take(limit) {
                out.push(row(entry?.1.value())?);
            }
            Ok(out)
        };
        let by_digest = |def: TableDefinition<&[u8], &[u8]>, row: &DigestRow| {
            super::copy::digest_page(&self.txn.open_table(def)?, after, limit, |d, v| {
                row(d, v).map(Some)
            })
        };
        match table {
            Table::OidcKeys => by_name(OIDC_KEYS, &|v| Ok(Row::OidcKey(decode("signing key", v)?))),
            Table::OidcClients => {
                by_name(OIDC_CLIENTS, &|v| Ok(Row::OidcClient(decode("client", v)?)))
            }
            Table::BrowserSessions => by_digest(BROWSER_SESSIONS, &|d, v| {
                Ok(Row::BrowserSession(d, decode("browser session", v)?))
            }),
            Table::OidcCodes => {
                by_digest(OIDC_CODES, &|d, v| Ok(Row::OidcCode(d, decode("code", v)?)))
            }
            Table::OidcRefreshTokens => by_digest(REFRESH_TOKENS, &|d, v| {
                Ok(Row::OidcRefreshToken(d, decode("refresh token", v)?))
            }),
            Table::OidcAccess => super::copy::digest_page(
                &self.txn.open_table(OIDC_ACCESS)?,
                after,
                limit,
                |d, g| Ok(Some(Row::OidcAccess(d, g))),
            ),
            Table::OidcGrants => {
                let start = match after {
                    Key::Number(n) => Bound::Excluded(*n),
                    _ => Bound::Unbounded,
                };
                let t = self.txn.open_table(OIDC_GRANTS)?;
                let mut out = Vec::new();
                for entry in t.range::<u64>((start, Bound::Unbounded))?.take(limit) {
                    out.push(Row::OidcGrant(decode("grant", entry?.1.value())?));
                }
                Ok(out)
            }
            _ => Ok(Vec::new()),
        }
    }
}

impl Tx<'_> {
    /// Writes one of the provider's copied rows under its own key, with its indexes.
    pub(super) fn load_oidc_row(
        &mut self,
        row: &crate::store::copy::Row,
    ) -> Result<(), StoreError> {
        use crate::store::copy::Row;
        match row {
            Row::OidcKey(k) => {
                self.oidc_keys()?
                    .insert(k.kid.as_str(), encode(k).as_slice())?;
            }
            Row::OidcClient(c) => {
                self.oidc_clients()?
                    .insert(c.client_id.as_str(), encode(c).as_slice())?;
            }
            Row::BrowserSession(d, s) => self.start_browser_session(d, s)?,
            Row::OidcCode(d, c) => self.start_oidc_code(d, c)?,
            Row::OidcGrant(g) => self.start_grant(g)?,
            Row::OidcRefreshToken(d, t) => {
                self.put_refresh_token(d, t)?;
                self.link(Link::GrantRefresh(t.grant, d))?;
            }
            Row::OidcAccess(d, grant) => {
                self.oidc_access()?.insert(d.as_slice(), *grant)?;
                self.link(Link::GrantAccess(*grant, d))?;
            }
            _ => {}
        }
        Ok(())
    }
}
