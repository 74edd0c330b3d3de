//! `storekey migrate` on PostgreSQL: pages of typed rows by keyset (`WHERE key > $1 ORDER BY
//! key LIMIT $2`), pages of rows into one transaction each (same ids, sequence numbers and
//! digests; a row with the same key is replaced), and the identity sequences moved past what
//! was copied (`setval`).

use super::ops::{write_secrets, CustomerRow};
use super::read::{account, account_sql, digest, id_param};
use super::{PgError, Postgres, Retry};
use crate::model::{
    Account, AuditEntry, CustomerId, StorefrontToken, StorefrontTokenKind, TokenKind,
};
use crate::store::codec::{decode_admin, decode_session, encode_admin, encode_session};
use crate::store::copy::{Counts, Key, Row, Table};
use crate::store::{AccessTokenRecord, StoreError};
use std::sync::Arc;
use tokio_postgres::types::{FromSql, ToSql};

fn get<'a, T: FromSql<'a>>(row: &'a tokio_postgres::Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("row: {e}")))
}

fn unsigned(row: &tokio_postgres::Row, i: usize, what: &str) -> Result<u64, StoreError> {
    let v: i64 = get(row, i)?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {v}")))
}

/// An audit row's Login as Customer columns as the entry's `otc` (both set, or neither).
pub(super) fn otc_fields(
    issued_by: Option<String>,
    reason: Option<String>,
) -> Option<crate::model::OtcIssue> {
    issued_by.map(|issued_by| crate::model::OtcIssue {
        issued_by,
        reason: reason.unwrap_or_default(),
    })
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What each identity sequence must pass: the table, its column.
const SEQUENCES: [(&str, &str); 5] = [
    ("customers", "id"),
    ("customer_addresses", "id"),
    ("storefront_tokens", "id"),
    ("audit_log", "seq"),
    ("oidc_grants", "id"),
];

impl Postgres {
    /// Up to `limit` rows of `table` after `after`, in key order.
    pub async fn dump_page(
        &self,
        table: Table,
        after: &Key,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let limit = big(limit as u64);
        if let Some(sql) = super::oidc::dump_sql(table) {
            return self.dump_oidc_page(table, sql, after, limit).await;
        }
        let number = match after {
            Key::Number(n) => big(*n),
            _ => 0,
        };
        let bytes: &[u8] = match after {
            Key::Digest(d) => d.as_slice(),
            _ => &[],
        };
        let name = match after {
            Key::Name(n) => n.as_str(),
            _ => "",
        };
        let (sql, params): (&str, [&(dyn ToSql + Sync); 2]) = match table {
            Table::Customers => (
                account_sql!("", "customers c", "WHERE c.id > $1 ORDER BY c.id LIMIT $2"),
                [&number, &limit],
            ),
            Table::Audit => (
                "SELECT seq, at, actor, action, subject, detail, issued_by, reason FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                [&number, &limit],
            ),
            Table::AccessTokens => (
                "SELECT digest, customer_id, issued_at, expires_at, kind FROM access_tokens WHERE digest > $1 ORDER BY digest LIMIT $2",
                [&bytes, &limit],
            ),
            Table::StorefrontTokens => (
                "SELECT digest, id, title, scopes, kind, created_at FROM storefront_tokens WHERE digest > $1 ORDER BY digest LIMIT $2",
                [&bytes, &limit],
            ),
            Table::Replay => (
                "SELECT digest, expires_at FROM multipass_replay WHERE digest > $1 ORDER BY digest LIMIT $2",
                [&bytes, &limit],
            ),
            Table::AdminSessions => (
                "SELECT digest, record FROM admin_sessions WHERE digest > $1 ORDER BY digest LIMIT $2",
                [&bytes, &limit],
            ),
            Table::AdminUsers => (
                "SELECT name, record FROM admin_users WHERE name COLLATE \"C\" > $1 ORDER BY name COLLATE \"C\" LIMIT $2",
                [&name, &limit],
            ),
            _ => return Ok(Vec::new()),
        };
        let statement = client.prepare_cached(sql).await.map_err(PgError::from)?;
        let rows = client
            .query(&statement, &params)
            .await
            .map_err(PgError::from)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let row = match table {
                Table::Customers => Row::Customer(Box::new(account(r)?)),
                Table::Audit => {
                    let subject: Option<i64> = get(r, 4)?;
                    Row::Audit(
                        unsigned(r, 0, "audit seq")?,
                        AuditEntry {
                            at: get(r, 1)?,
                            actor: get(r, 2)?,
                            action: get(r, 3)?,
                            subject: subject
                                .and_then(|s| u64::try_from(s).ok())
                                .filter(|s| *s != 0)
                                .map(CustomerId),
                            detail: get(r, 5)?,
                            otc: otc_fields(get(r, 6)?, get(r, 7)?),
                        },
                    )
                }
                Table::AccessTokens => Row::AccessToken(
                    digest(&get::<Vec<u8>>(r, 0)?)?,
                    AccessTokenRecord {
                        customer_id: CustomerId(unsigned(r, 1, "token customer id")?),
                        issued_at: get(r, 2)?,
                        expires_at: get(r, 3)?,
                        kind: match get::<i16>(r, 4)? {
                            1 => TokenKind::Commerce,
                            2 => TokenKind::Storefront,
                            k => return Err(StoreError::Corrupt(format!("access token kind {k}"))),
                        },
                    },
                ),
                Table::StorefrontTokens => {
                    // A kind this build does not know grants nothing and is left behind.
                    let Some(kind) = StorefrontTokenKind::from_name(&get::<String>(r, 4)?) else {
                        continue;
                    };
                    Row::StorefrontToken(
                        digest(&get::<Vec<u8>>(r, 0)?)?,
                        StorefrontToken {
                            id: unsigned(r, 1, "storefront token id")?,
                            title: get(r, 2)?,
                            scopes: get(r, 3)?,
                            kind,
                            created_at: get(r, 5)?,
                        },
                    )
                }
                Table::Replay => Row::Replay(digest(&get::<Vec<u8>>(r, 0)?)?, get(r, 1)?),
                Table::AdminSessions => Row::AdminSession(
                    digest(&get::<Vec<u8>>(r, 0)?)?,
                    decode_session(&get::<Vec<u8>>(r, 1)?)?,
                ),
                Table::AdminUsers => Row::AdminUser(decode_admin(&get::<Vec<u8>>(r, 1)?)?),
                _ => continue,
            };
            out.push(row);
        }
        Ok(out)
    }

    /// A page of one of the provider's tables (`oidc::dump_sql`), keyed by name, digest or
    /// number as `after` is.
    async fn dump_oidc_page(
        &self,
        table: Table,
        sql: &str,
        after: &Key,
        limit: i64,
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(PgError::from)?;
        let rows = match (table, after) {
            (Table::OidcKeys | Table::OidcClients, key) => {
                let name = match key {
                    Key::Name(n) => n.as_str(),
                    _ => "",
                };
                client.query(&statement, &[&name, &limit]).await
            }
            (Table::OidcGrants, key) => {
                let number = match key {
                    Key::Number(n) => big(*n),
                    _ => 0,
                };
                client.query(&statement, &[&number, &limit]).await
            }
            (_, key) => {
                let bytes: &[u8] = match key {
                    Key::Digest(d) => d.as_slice(),
                    _ => &[],
                };
                client.query(&statement, &[&bytes, &limit]).await
            }
        }
        .map_err(PgError::from)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(super::oidc::dump_row(table, r)?);
        }
        Ok(out)
    }

    /// Rows per table.
    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM access_tokens),
                        (SELECT count(*) FROM storefront_tokens), (SELECT count(*) FROM multipass_replay),
                        (SELECT count(*) FROM audit_log), (SELECT count(*) FROM admin_users),
                        (SELECT count(*) FROM admin_sessions), (SELECT count(*) FROM oidc_keys),
                        (SELECT count(*) FROM oidc_clients), (SELECT count(*) FROM browser_sessions),
                        (SELECT count(*) FROM oidc_codes), (SELECT count(*) FROM oidc_grants),
                        (SELECT count(*) FROM oidc_refresh_tokens), (SELECT count(*) FROM oidc_access)",
            )
            .await
            .map_err(PgError::from)?;
        let r = client
            .query_one(&statement, &[])
            .await
            .map_err(PgError::from)?;
        Ok(Counts {
            customers: unsigned(&r, 0, "count")?,
            access_tokens: unsigned(&r, 1, "count")?,
            storefront_tokens: unsigned(&r, 2, "count")?,
            replay: unsigned(&r, 3, "count")?,
            audit: unsigned(&r, 4, "count")?,
            admin_users: unsigned(&r, 5, "count")?,
            admin_sessions: unsigned(&r, 6, "count")?,
            oidc_keys: unsigned(&r, 7, "count")?,
            oidc_clients: unsigned(&r, 8, "count")?,
            browser_sessions: unsigned(&r, 9, "count")?,
            oidc_codes: unsigned(&r, 10, "count")?,
            oidc_grants: unsigned(&r, 11, "count")?,
            oidc_refresh_tokens: unsigned(&r, 12, "count")?,
            oidc_access: unsigned(&r, 13, "count")?,
        })
    }

    /// Writes `rows` in one transaction (retried as a whole on a serialization failure).
    pub async fn load_page(&self, rows: Vec<Row>) -> Result<(), StoreError> {
        let rows = Arc::new(rows);
        self.transaction(Retry::CONFLICTS, move |tx| {
            let rows = rows.clone();
            Box::pin(async move {
                for row in rows.iter() {
                    load_row(tx, row).await?;
                }
                Ok(())
            })
        })
        .await?;
        Ok(())
    }

    /// Moves every identity sequence past the largest stored value, and bumps the
    /// storefront-token generation so running instances reload their cache.
    pub async fn finish_load(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        for (table, column) in SEQUENCES {
            // Literals only: the names come from the list above.
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), m)
                 FROM (SELECT max({column}) AS m FROM {table}) s
                 WHERE m IS NOT NULL
                   AND m > COALESCE(pg_sequence_last_value(pg_get_serial_sequence('{table}', '{column}')::regclass), 0)"
            );
            client.execute(&sql, &[]).await.map_err(PgError::from)?;
        }
        client
            .execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'storefront_generation'",
                &[],
            )
            .await
            .map_err(PgError::from)?;
        Ok(())
    }
}

async fn load_row(tx: &deadpool_postgres::Transaction<'_>, row: &Row) -> Result<(), PgError> {
    let corrupt = |e: StoreError| PgError::Corrupt(e.to_string());
    match row {
        Row::Customer(a) => load_customer(tx, a).await,
        Row::AccessToken(d, t) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO access_tokens (digest, customer_id, issued_at, expires_at, kind)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (digest) DO UPDATE SET customer_id = EXCLUDED.customer_id,
                       issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, kind = EXCLUDED.kind",
                )
                .await?;
            let customer = id_param(t.customer_id).map_err(corrupt)?;
            tx.execute(
                &statement,
                &[
                    &d.as_slice(),
                    &customer,
                    &t.issued_at,
                    &t.expires_at,
                    &(t.kind as i16),
                ],
            )
            .await?;
            Ok(())
        }
        Row::StorefrontToken(d, t) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO storefront_tokens (digest, id, title, scopes, kind, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (digest) DO UPDATE SET id = EXCLUDED.id, title = EXCLUDED.title,
                       scopes = EXCLUDED.scopes, kind = EXCLUDED.kind, created_at = EXCLUDED.created_at",
                )
                .await?;
            tx.execute(
                &statement,
                &[
                    &d.as_slice(),
                    &big(t.id),
                    &t.title,
                    &t.scopes,
                    &t.kind.name(),
                    &t.created_at,
                ],
            )
            .await?;
            Ok(())
        }
        Row::Replay(d, until) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO multipass_replay (digest, expires_at) VALUES ($1, $2)
                     ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at",
                )
                .await?;
            tx.execute(&statement, &[&d.as_slice(), until]).await?;
            Ok(())
        }
        Row::Audit(seq, e) => {
            let subject = e.subject.map(|id| big(id.0)).filter(|id| *id != 0);
            let statement = tx
                .prepare_cached(
                    "INSERT INTO audit_log (seq, at, actor, action, subject, detail, issued_by, reason)
                     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .await?;
            let otc = e.otc.as_ref();
            tx.execute(
                &statement,
                &[
                    &big(*seq),
                    &e.at,
                    &e.actor,
                    &e.action,
                    &subject,
                    &e.detail,
                    &otc.map(|o| o.issued_by.as_str()),
                    &otc.map(|o| o.reason.as_str()),
                ],
            )
            .await?;
            Ok(())
        }
        Row::AdminUser(u) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO admin_users (name, record) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record",
                )
                .await?;
            tx.execute(&statement, &[&u.name, &encode_admin(u)]).await?;
            Ok(())
        }
        Row::AdminSession(d, s) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO admin_sessions (digest, admin, last_seen, record) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (digest) DO UPDATE SET admin = EXCLUDED.admin,
                       last_seen = EXCLUDED.last_seen, record = EXCLUDED.record",
                )
                .await?;
            tx.execute(
                &statement,
                &[&d.as_slice(), &s.admin, &s.last_seen, &encode_session(s)],
            )
            .await?;
            Ok(())
        }
        _ => super::oidc::load_row(tx, row).await,
    }
}

/// A customer under its own id with its secrets; a target customer with that id is replaced
/// (its secrets and tokens go with it).
async fn load_customer(
    tx: &deadpool_postgres::Transaction<'_>,
    a: &Account,
) -> Result<(), PgError> {
    let id = id_param(a.customer.id).map_err(|e| PgError::Corrupt(e.to_string()))?;
    let delete = tx
        .prepare_cached("DELETE FROM customers WHERE id = $1")
        .await?;
    tx.execute(&delete, &[&id]).await?;
    let row = CustomerRow::new(a);
    let mut params: Vec<&(dyn ToSql + Sync)> = row.params().to_vec();
    params.push(&id);
    let statement = tx
        .prepare_cached(
            "INSERT INTO customers (email, email_key, multipass_identifier, firstname, lastname, \
             middlename, prefix, suffix, date_of_birth, gender, taxvat, phone, is_subscribed, \
             password_hash, password_version, confirmed, disabled, \
             allow_remote_shopping_assistance, tags, failures, first_failure, lock_expires, \
             created_at, updated_at, email_verified, passkey_handle, passkeys, id) VALUES ($1, $2, \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23, $24, $25, $26, $27, $28)",
        )
        .await?;
    tx.execute(&statement, &params).await?;
    write_secrets(tx, id, &Account::default(), a).await?;
    super::addresses::write_book(tx, id, &Default::default(), &a.addresses, true).await?;
    Ok(())
}
