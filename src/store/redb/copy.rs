//! `storekey migrate` on redb: pages of typed rows out of a snapshot, pages of rows into one
//! write transaction each (the indexes kept in step as the named operations keep them), and
//! the id counters moved past what was copied.

use super::records::{decode_storefront_token, encode_audit};
use super::*;
use crate::model::{AdminUser, CustomerId, Digest};
use crate::store::codec::{decode_admin, decode_session, encode_admin, encode_session};
use crate::store::copy::{Counts, Key, Row, Table};
use std::ops::Bound;

/// The rows of a digest-keyed table after `after`, at most `limit`, decoded by `decode`.
pub(super) fn digest_page<T>(
    t: &impl ReadableTable<&'static [u8], T>,
    after: &Key,
    limit: usize,
    decode: impl Fn(Digest, T::SelfType<'_>) -> Result<Option<Row>, StoreError>,
) -> Result<Vec<Row>, StoreError>
where
    T: redb::Value + 'static,
{
    let start = match after {
        Key::Digest(d) => Bound::Excluded(d.as_slice()),
        _ => Bound::Unbounded,
    };
    let mut out = Vec::new();
    for entry in t.range::<&[u8]>((start, Bound::Unbounded))? {
        if out.len() >= limit {
            break;
        }
        let (k, v) = entry?;
        let digest = Digest::try_from(k.value())
            .map_err(|_| StoreError::Corrupt("a key is not a 32-byte digest".into()))?;
        if let Some(row) = decode(digest, v.value())? {
            out.push(row);
        }
    }
    Ok(out)
}

impl Reader {
    /// Up to `limit` rows of `table` after `after`, in key order.
    pub fn dump_page(
        &self,
        table: Table,
        after: &Key,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let number = match after {
            Key::Number(n) => *n,
            _ => 0,
        };
        match table {
            Table::Customers => Ok(self
                .customers(CustomerId(number), limit)?
                .into_iter()
                .map(|a| Row::Customer(Box::new(a)))
                .collect()),
            Table::Audit => Ok(self
                .audit(number, limit)?
                .into_iter()
                .map(|(seq, e)| Row::Audit(seq, e))
                .collect()),
            Table::AccessTokens => {
                digest_page(&self.txn.open_table(TOKENS)?, after, limit, |d, v| {
                    Ok(Some(Row::AccessToken(d, AccessTokenRecord::decode(v)?)))
                })
            }
            // A storefront token this build cannot read grants nothing and is left behind, as
            // every read of the table does.
            Table::StorefrontTokens => digest_page(
                &self.txn.open_table(STOREFRONT_TOKENS)?,
                after,
                limit,
                |d, v| Ok(decode_storefront_token(v).map(|t| Row::StorefrontToken(d, t))),
            ),
            Table::Replay => digest_page(&self.txn.open_table(REPLAY)?, after, limit, |d, v| {
                Ok(Some(Row::Replay(d, v)))
            }),
            Table::AdminSessions => digest_page(
                &self.txn.open_table(ADMIN_SESSIONS)?,
                after,
                limit,
                |d, v| Ok(Some(Row::AdminSession(d, decode_session(v)?))),
            ),
            Table::AdminUsers => {
                let t = self.txn.open_table(ADMIN_USERS)?;
                let start = match after {
                    Key::Name(n) => Bound::Excluded(n.as_str()),
                    _ => Bound::Unbounded,
                };
                let mut out = Vec::new();
                for entry in t.range::<&str>((start, Bound::Unbounded))? {
                    if out.len() >= limit {
                        break;
                    }
                    let (_, v) = entry?;
                    out.push(Row::AdminUser(decode_admin(v.value())?));
                }
                Ok(out)
            }
            Table::OidcKeys
            | Table::OidcClients
            | Table::BrowserSessions
            | Table::OidcCodes
            | Table::OidcGrants
            | Table::OidcRefreshTokens
            | Table::OidcAccess => self.dump_oidc_page(table, after, limit),
        }
    }

    /// Rows per table.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let t = &self.txn;
        Ok(Counts {
            customers: t.open_table(CUSTOMERS)?.len()?,
            access_tokens: t.open_table(TOKENS)?.len()?,
            storefront_tokens: t.open_table(STOREFRONT_TOKENS)?.len()?,
            replay: t.open_table(REPLAY)?.len()?,
            audit: t.open_table(AUDIT)?.len()?,
            admin_users: t.open_table(ADMIN_USERS)?.len()?,
            admin_sessions: t.open_table(ADMIN_SESSIONS)?.len()?,
            oidc_keys: t.open_table(OIDC_KEYS)?.len()?,
            oidc_clients: t.open_table(OIDC_CLIENTS)?.len()?,
            browser_sessions: t.open_table(BROWSER_SESSIONS)?.len()?,
            oidc_codes: t.open_table(OIDC_CODES)?.len()?,
            oidc_grants: t.open_table(OIDC_GRANTS)?.len()?,
            oidc_refresh_tokens: t.open_table(REFRESH_TOKENS)?.len()?,
            oidc_access: t.open_table(OIDC_ACCESS)?.len()?,
        })
    }
}

impl Tx<'_> {
    /// Writes one copied row under its own key, replacing what the target had under it.
    fn load_row(&mut self, row: &Row) -> Result<(), StoreError> {
        match row {
            Row::Customer(account) => {
                let id = account.customer.id;
                if let Some(other) = self.customer_id_by_email(&account.customer.email)? {
                    if other != id {
                        return Err(StoreError::Io(format!(
                            "customer {id}: its email is customer {other}'s in the target"
                        )));
                    }
                }
                // Replacing a customer drops the target's old indexes and tokens for it.
                self.delete_customer(id)?;
                self.put_customer(account, None)
            }
            Row::AccessToken(digest, record) => {
                self.delete_access_token(digest)?;
                self.insert_access_token(digest, record)
            }
            Row::StorefrontToken(digest, token) => self.put_storefront_token(digest, token),
            Row::Replay(digest, until) => {
                self.replay()?.remove(digest.as_slice())?;
                self.record_replay(digest, *until).map(|_| ())
            }
            Row::Audit(seq, entry) => {
                self.audit()?.insert(*seq, encode_audit(entry).as_slice())?;
                Ok(())
            }
            Row::AdminUser(user) => self.put_copied_admin(user),
            Row::AdminSession(digest, session) => {
                self.admin_sessions()?
                    .insert(digest.as_slice(), encode_session(session).as_slice())?;
                Ok(())
            }
            _ => self.load_oidc_row(row),
        }
    }

    fn put_copied_admin(&mut self, user: &AdminUser) -> Result<(), StoreError> {
        self.admin_users()?
            .insert(user.name.as_str(), encode_admin(user).as_slice())?;
        Ok(())
    }

    /// Raises a meta counter to at least `next`.
    fn raise_counter(&mut self, name: &str, next: u64) -> Result<(), StoreError> {
        let now = self.meta()?.get(name)?.map(|v| v.value()).unwrap_or(1);
        if next > now {
            self.meta()?.insert(name, next)?;
        }
        Ok(())
    }
}

impl RedbStore {
    /// Writes `rows` in one transaction.
    pub async fn load_page(&self, rows: Vec<Row>) -> Result<(), StoreError> {
        self.write(move |tx| {
            for row in &rows {
                tx.load_row(row)?;
            }
            Ok(())
        })
        .await
    }

    /// Moves `next_customer_id`, `next_address_id` and `next_storefront_token_id` past every
    /// stored id, so new
    /// rows never take a copied one. (Audit entries take the last sequence number plus one.)
    pub async fn finish_load(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            let last_customer = tx.customers()?.last()?.map_or(0, |(k, _)| k.value());
            tx.raise_counter("next_customer_id", last_customer + 1)?;
            let last_address = tx.address_owners()?.last()?.map_or(0, |(k, _)| k.value());
            tx.raise_counter("next_address_id", last_address + 1)?;
            let last_token = tx
                .storefront_tokens()?
                .iter()
                .map(|(_, t)| t.id)
                .max()
                .unwrap_or(0);
            tx.raise_counter("next_storefront_token_id", last_token + 1)?;
            let last_grant = tx.oidc_grants()?.last()?.map_or(0, |(k, _)| k.value());
            tx.raise_counter("next_oidc_grant", last_grant + 1)
        })
        .await
    }
}
