//! Reads on PostgreSQL, with the same names and types as the redb `Reader`'s, plus `session`
//! (a token and its customer in one indexed query, the one read every authenticated request
//! makes). Also the row ↔ `Account` conversion the writes share: a customer is one `customers`
//! row plus at most one `customer_secrets` row per kind, read in one query with four
//! left joins on the secrets' primary key.

use super::Postgres;
use crate::model::{
    email_key, Account, Address, AddressBook, AddressId, AuditEntry, Credentials, Customer,
    LacAction, LacEntry, LacFilter, Lockout, LoginCode, OneTimeSecret, Profile, StorefrontToken,
    StorefrontTokenKind,
};
use crate::store::{
    AccessTokenRecord, CustomerId, Digest, Scanned, StoreError, Timestamp, TokenKind,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// `customer_secrets.kind` of each one-time secret (see migration 0001).
pub(super) const RESET_TOKEN: i16 = 1;
pub(super) const OTC: i16 = 2;
pub(super) const CONFIRMATION: i16 = 3;
/// Account-invite activation tokens (migration 0005).
pub(super) const ACTIVATION: i16 = 4;
/// The hosted pages' mailed sign-in codes, with their wrong guesses (migration 0010).
pub(super) const LOGIN_CODE: i16 = 5;

/// `SELECT <account columns> [extra columns] FROM <from> <the secrets' joins> <tail>`: a
/// literal, so each statement is prepared once per connection. The account's columns come
/// first (`ACCOUNT_COLUMNS` of them), extra columns after.
macro_rules! account_sql {
    ($extra:literal, $from:literal, $tail:literal) => {
        $crate::store::pg::read::account_sql!(
            @with ", (SELECT json_agg(json_build_object('id', a.id, 'firstname', a.firstname, \
             'lastname', a.lastname, 'company', a.company, 'street', a.street, 'city', a.city, \
             'region', a.region, 'region_code', a.region_code, 'postcode', a.postcode, \
             'country_code', a.country_code, 'telephone', a.telephone, \
             'middlename', a.middlename, 'prefix', a.prefix, 'suffix', a.suffix, 'fax', a.fax, \
             'vat_id', a.vat_id, \
             'default_billing', a.default_billing, 'default_shipping', a.default_shipping) \
             ORDER BY a.id) FROM customer_addresses a WHERE a.customer_id = c.id)::text",
            ", c.passkeys", $extra, $from, $tail
        )
    };
    // Without the addresses (an empty book) and the passkeys (none): a session never shows
    // them, and every authenticated request reads one.
    (@no_addresses $extra:literal, $from:literal, $tail:literal) => {
        $crate::store::pg::read::account_sql!(
            @with ", NULL::text", ", NULL::bytea", $extra, $from, $tail
        )
    };
    (@with $addresses:literal, $passkeys:literal, $extra:literal, $from:literal, $tail:literal) => {
        concat!(
            "SELECT c.id, c.email, c.multipass_identifier, c.firstname, c.lastname, c.middlename, \
             c.prefix, c.suffix, c.date_of_birth, c.gender, c.taxvat, c.phone, c.is_subscribed, \
             c.password_hash, c.password_version, c.confirmed, c.disabled, \
             c.allow_remote_shopping_assistance, c.tags, c.failures, c.first_failure, \
             c.lock_expires, c.created_at, c.updated_at, \
             r.digest, r.created_at, r.expires_at, r.issued_by, r.reason, \
             o.digest, o.created_at, o.expires_at, o.issued_by, o.reason, \
             f.digest, f.created_at, f.expires_at, f.issued_by, f.reason, \
             v.digest, v.created_at, v.expires_at, v.issued_by, v.reason, \
             lc.digest, lc.created_at, lc.expires_at, lc.attempts",
            $addresses,
            ", c.email_verified, c.passkey_handle",
            $passkeys,
            $extra,
            " FROM ",
            $from,
            " LEFT JOIN customer_secrets r ON r.customer_id = c.id AND r.kind = 1",
            " LEFT JOIN customer_secrets o ON o.customer_id = c.id AND o.kind = 2",
            " LEFT JOIN customer_secrets f ON f.customer_id = c.id AND f.kind = 3",
            " LEFT JOIN customer_secrets v ON v.customer_id = c.id AND v.kind = 4",
            " LEFT JOIN customer_secrets lc ON lc.customer_id = c.id AND lc.kind = 5 ",
            $tail
        )
    };
}
pub(super) use account_sql;

/// How many columns `account_sql!` puts before the extra ones.
pub(super) const ACCOUNT_COLUMNS: usize = 52;

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(|e| corrupt("row", e))
}

pub(super) fn digest(bytes: &[u8]) -> Result<Digest, StoreError> {
    Digest::try_from(bytes).map_err(|_| StoreError::Corrupt("digest is not 32 bytes".into()))
}

/// A non-negative INT8 column as a Rust unsigned integer.
fn unsigned<T: TryFrom<i64>>(row: &Row, i: usize, what: &str) -> Result<T, StoreError> {
    let v: i64 = get(row, i)?;
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {v}")))
}

fn secret(row: &Row, at: usize) -> Result<Option<OneTimeSecret>, StoreError> {
    let Some(bytes) = get::<Option<Vec<u8>>>(row, at)? else {
        return Ok(None);
    };
    Ok(Some(OneTimeSecret {
        digest: digest(&bytes)?,
        created_at: get(row, at + 1)?,
        expires_at: get(row, at + 2)?,
        issued_by: get(row, at + 3)?,
        reason: get(row, at + 4)?,
    }))
}

/// A sign-in code's four columns (digest, created_at, expires_at, attempts) from `at`.
fn login_code(row: &Row, at: usize) -> Result<Option<LoginCode>, StoreError> {
    let Some(bytes) = get::<Option<Vec<u8>>>(row, at)? else {
        return Ok(None);
    };
    let attempts: i32 = get(row, at + 3)?;
    Ok(Some(LoginCode {
        secret: OneTimeSecret {
            digest: digest(&bytes)?,
            created_at: get(row, at + 1)?,
            expires_at: get(row, at + 2)?,
            issued_by: None,
            reason: None,
        },
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Corrupt(format!("attempts out of range: {attempts}")))?,
    }))
}

/// The account in the first `ACCOUNT_COLUMNS` columns of a row made by `account_sql!`.
pub(super) fn account(row: &Row) -> Result<Account, StoreError> {
    Ok(Account {
        customer: Customer {
            id: CustomerId(unsigned(row, 0, "customer id")?),
            email: get(row, 1)?,
            multipass_identifier: get(row, 2)?,
            profile: Profile {
                firstname: get(row, 3)?,
                lastname: get(row, 4)?,
                middlename: get(row, 5)?,
                prefix: get(row, 6)?,
                suffix: get(row, 7)?,
                date_of_birth: get(row, 8)?,
                gender: get(row, 9)?,
                taxvat: get(row, 10)?,
                phone: get(row, 11)?,
                is_subscribed: get(row, 12)?,
            },
            confirmed: get(row, 15)?,
            email_verified: get(row, 49)?,
            disabled: get(row, 16)?,
            allow_remote_shopping_assistance: get(row, 17)?,
            tags: get(row, 18)?,
            created_at: get(row, 22)?,
            updated_at: get(row, 23)?,
        },
        credentials: Credentials {
            password_hash: get(row, 13)?,
            password_version: unsigned(row, 14, "password_version")?,
            lockout: Lockout {
                failures: unsigned(row, 19, "failures")?,
                first_failure: get(row, 20)?,
                lock_expires: get(row, 21)?,
            },
            reset_token: secret(row, 24)?,
            otc: secret(row, 29)?,
            confirmation: secret(row, 34)?,
            activation: secret(row, 39)?,
            login_code: login_code(row, 44)?,
            passkey_handle: passkey_handle(get(row, 50)?)?,
            passkeys: passkeys(get(row, 51)?)?,
        },
        addresses: address_book(get(row, 48)?)?,
    })
}

fn passkey_handle(
    bytes: Option<Vec<u8>>,
) -> Result<Option<crate::model::passkey::UserHandle>, StoreError> {
    bytes
        .map(|b| {
            b.try_into()
                .map_err(|_| StoreError::Corrupt("a passkey handle is not 16 bytes".into()))
        })
        .transpose()
}

/// The passkeys from their JSON array (NULL: none).
fn passkeys(bytes: Option<Vec<u8>>) -> Result<Vec<crate::model::passkey::Passkey>, StoreError> {
    match bytes {
        None => Ok(Vec::new()),
        Some(b) => serde_json::from_slice(&b)
            .map_err(|e| StoreError::Corrupt(format!("customer passkeys: {e}"))),
    }
}

/// One address as `account_sql!` aggregates it.
#[derive(serde::Deserialize)]
struct AddressRow {
    id: i64,
    firstname: Option<String>,
    lastname: Option<String>,
    company: Option<String>,
    street: Vec<String>,
    city: Option<String>,
    region: Option<String>,
    region_code: Option<String>,
    postcode: Option<String>,
    country_code: Option<String>,
    telephone: Option<String>,
    middlename: Option<String>,
    prefix: Option<String>,
    suffix: Option<String>,
    fax: Option<String>,
    vat_id: Option<String>,
    default_billing: bool,
    default_shipping: bool,
}

/// The book from the JSON array `account_sql!` aggregates (NULL: no addresses).
fn address_book(json: Option<String>) -> Result<AddressBook, StoreError> {
    let Some(json) = json else {
        return Ok(AddressBook::default());
    };
    let rows: Vec<AddressRow> =
        serde_json::from_str(&json).map_err(|e| corrupt("customer addresses", e))?;
    let mut book = AddressBook::default();
    for r in rows {
        let id = AddressId(u64::try_from(r.id).map_err(|_| corrupt("address id", r.id))?);
        if r.default_billing {
            book.default_billing = Some(id);
        }
        if r.default_shipping {
            book.default_shipping = Some(id);
        }
        book.addresses.push(Address {
            id,
            firstname: r.firstname,
            lastname: r.lastname,
            company: r.company,
            street: r.street,
            city: r.city,
            region: r.region,
            region_code: r.region_code,
            postcode: r.postcode,
            country_code: r.country_code,
            telephone: r.telephone,
            middlename: r.middlename,
            prefix: r.prefix,
            suffix: r.suffix,
            fax: r.fax,
            vat_id: r.vat_id,
        });
    }
    Ok(book)
}

fn token_kind(kind: i16) -> Result<TokenKind, StoreError> {
    match kind {
        1 => Ok(TokenKind::Commerce),
        2 => Ok(TokenKind::Storefront),
        k => Err(StoreError::Corrupt(format!("access token kind {k}"))),
    }
}

/// An access token from four columns from `at`: customer_id, issued_at, expires_at, kind.
fn access_token_at(row: &Row, at: usize) -> Result<AccessTokenRecord, StoreError> {
    Ok(AccessTokenRecord {
        customer_id: CustomerId(unsigned(row, at, "token customer id")?),
        issued_at: get(row, at + 1)?,
        expires_at: get(row, at + 2)?,
        kind: token_kind(get(row, at + 3)?)?,
    })
}

/// A customer id as the INT8 it is stored as (ids stay far below 2^63).
pub(super) fn id_param(id: CustomerId) -> Result<i64, StoreError> {
    i64::try_from(id.0).map_err(|_| StoreError::Corrupt(format!("customer id {id} too large")))
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl Postgres {
    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.query_opt(&statement, params).await?)
    }

    async fn query_all(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.query(&statement, params).await?)
    }

    pub async fn customer(&self, id: CustomerId) -> Result<Option<Account>, StoreError> {
        let row = self
            .query_opt(
                account_sql!("", "customers c", "WHERE c.id = $1"),
                &[&id_param(id)?],
            )
            .await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn customer_id_by_email(
        &self,
        email: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        let row = self
            .query_opt(
                "SELECT id FROM customers WHERE email_key = $1",
                &[&email_key(email)],
            )
            .await?;
        row.map(|r| unsigned(&r, 0, "customer id").map(CustomerId))
            .transpose()
    }

    pub async fn customer_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let row = self
            .query_opt(
                account_sql!("", "customers c", "WHERE c.email_key = $1"),
                &[&email_key(email)],
            )
            .await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn customer_id_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        let row = self
            .query_opt(
                "SELECT id FROM customers WHERE multipass_identifier = $1",
                &[&identifier],
            )
            .await?;
        row.map(|r| unsigned(&r, 0, "customer id").map(CustomerId))
            .transpose()
    }

    pub async fn access_token(
        &self,
        digest: &Digest,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        let row = self
            .query_opt(
                "SELECT customer_id, issued_at, expires_at, kind FROM access_tokens WHERE digest = $1",
                &[&digest.as_slice()],
            )
            .await?;
        row.map(|r| access_token_at(&r, 0)).transpose()
    }

    /// The token with `digest` and the customer it signs in, in one query: what an
    /// authenticated request needs. Expiry is the caller's to check, as with `access_token`.
    pub async fn session(
        &self,
        digest: &Digest,
    ) -> Result<Option<(AccessTokenRecord, Account)>, StoreError> {
        let row = self
            .query_opt(
                account_sql!(
                    @no_addresses ", t.customer_id, t.issued_at, t.expires_at, t.kind",
                    "access_tokens t JOIN customers c ON c.id = t.customer_id",
                    "WHERE t.digest = $1"
                ),
                &[&digest.as_slice()],
            )
            .await?;
        row.map(|r| Ok((access_token_at(&r, ACCOUNT_COLUMNS)?, account(&r)?)))
            .transpose()
    }

    /// Up to `limit` customers with ids above `after`, by id.
    pub async fn customers(
        &self,
        after: CustomerId,
        limit: usize,
    ) -> Result<Vec<Account>, StoreError> {
        let rows = self
            .query_all(
                account_sql!("", "customers c", "WHERE c.id > $1 ORDER BY c.id LIMIT $2"),
                &[&id_param(after)?, &limit_param(limit)],
            )
            .await?;
        rows.iter().map(account).collect()
    }

    /// `Backend::search_customers`: the window is the first `examine` ids above `after`
    /// (a range of the primary key), the match `strpos` on `lower()` inside it.
    pub async fn search_customers(
        &self,
        term: &str,
        after: CustomerId,
        limit: usize,
        examine: usize,
    ) -> Result<Scanned<Account, CustomerId>, StoreError> {
        let term = term.to_lowercase();
        let (after, examine_param) = (id_param(after)?, limit_param(examine));
        let rows = self
            .query_all(
                account_sql!(
                    "",
                    "customers c",
                    "WHERE c.id > $1 AND c.id <= (SELECT max(w.id) FROM \
                     (SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2) w) \
                     AND (strpos(lower(c.email), $3) > 0 OR strpos(lower(COALESCE(c.firstname, '') \
                     || ' ' || COALESCE(c.lastname, '')), $3) > 0) ORDER BY c.id LIMIT $4"
                ),
                &[&after, &examine_param, &term, &limit_param(limit)],
            )
            .await?;
        let found = rows.iter().map(account).collect::<Result<Vec<_>, _>>()?;
        if found.len() >= limit {
            return Ok(Scanned::of(found, limit, 0, examine, None, |a| {
                a.customer.id
            }));
        }
        let (examined, edge) = self
            .window(
                "SELECT count(*), max(id) FROM \
                 (SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2) w",
                after,
                examine_param,
            )
            .await?;
        Ok(Scanned::of(
            found,
            limit,
            examined,
            examine,
            edge.map(CustomerId),
            |a| a.customer.id,
        ))
    }

    /// How many rows a scan's window holds and its last key.
    async fn window(
        &self,
        sql: &str,
        from: i64,
        examine: i64,
    ) -> Result<(usize, Option<u64>), StoreError> {
        let Some(row) = self.query_opt(sql, &[&from, &examine]).await? else {
            return Ok((0, None));
        };
        let examined: usize = unsigned(&row, 0, "count")?;
        let edge: Option<i64> = get(&row, 1)?;
        Ok((examined, edge.and_then(|e| u64::try_from(e).ok())))
    }

    /// `Backend::lac_log`: the window is the `examine` audit entries below `before` (a range
    /// of the primary key, newest first), the filter in SQL inside it.
    pub async fn lac_log(
        &self,
        filter: &LacFilter,
        before: Option<u64>,
        limit: usize,
        examine: usize,
    ) -> Result<Scanned<LacEntry, u64>, StoreError> {
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let examine_param = limit_param(examine);
        let customer = filter.customer.map(id_param).transpose()?;
        let action = filter.action.map(LacAction::audit_action);
        let rows = self
            .query_all(
                "SELECT a.seq, a.at, a.action, a.subject, a.issued_by, a.reason, c.email \
                 FROM audit_log a LEFT JOIN customers c ON c.id = a.subject \
                 WHERE a.seq < $1 AND a.seq >= (SELECT min(w.seq) FROM \
                 (SELECT seq FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2) w) \
                 AND a.issued_by IS NOT NULL AND a.action IN ('otc_issued', 'otc_used') \
                 AND ($3::INT8 IS NULL OR COALESCE(a.subject, 0) = $3) \
                 AND ($4::TEXT IS NULL OR a.issued_by = $4) \
                 AND ($5::TEXT IS NULL OR a.action = $5) \
                 AND ($6::INT8 IS NULL OR a.at >= $6) AND ($7::INT8 IS NULL OR a.at < $7) \
                 ORDER BY a.seq DESC LIMIT $8",
                &[
                    &before,
                    &examine_param,
                    &customer,
                    &filter.issued_by,
                    &action,
                    &filter.from,
                    &filter.until,
                    &limit_param(limit),
                ],
            )
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let action: String = get(row, 2)?;
            let subject: Option<i64> = get(row, 3)?;
            found.push(LacEntry {
                seq: unsigned(row, 0, "audit seq")?,
                at: get(row, 1)?,
                action: LacAction::from_audit(&action)
                    .ok_or_else(|| corrupt("audit action", &action))?,
                customer: CustomerId(subject.and_then(|s| u64::try_from(s).ok()).unwrap_or(0)),
                customer_email: get(row, 6)?,
                issued_by: get(row, 4)?,
                reason: get::<Option<String>>(row, 5)?.unwrap_or_default(),
            });
        }
        if found.len() >= limit {
            return Ok(Scanned::of(found, limit, 0, examine, None, |e| e.seq));
        }
        let (examined, edge) = self
            .window(
                "SELECT count(*), min(seq) FROM \
                 (SELECT seq FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2) w",
                before,
                examine_param,
            )
            .await?;
        Ok(Scanned::of(found, limit, examined, examine, edge, |e| {
            e.seq
        }))
    }

    pub async fn customer_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT count(*) FROM customers").await
    }

    pub async fn access_token_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT count(*) FROM access_tokens").await
    }

    async fn count(&self, sql: &str) -> Result<u64, StoreError> {
        let row = self.query_opt(sql, &[]).await?;
        match row {
            Some(r) => unsigned(&r, 0, "count"),
            None => Ok(0),
        }
    }

    pub async fn replay_seen(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM multipass_replay WHERE digest = $1",
                &[&digest.as_slice()],
            )
            .await?
            .is_some())
    }

    /// Every storefront token with its digest, in digest order (as redb lists them).
    pub async fn storefront_tokens(&self) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
        let rows = self
            .query_all(
                "SELECT digest, id, title, scopes, kind, created_at FROM storefront_tokens ORDER BY digest",
                &[],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            // A kind this build does not know grants nothing (the redb store skips it too).
            let Some(kind) = StorefrontTokenKind::from_name(&get::<String>(row, 4)?) else {
                continue;
            };
            out.push((
                digest(&get::<Vec<u8>>(row, 0)?)?,
                StorefrontToken {
                    id: unsigned(row, 1, "storefront token id")?,
                    title: get(row, 2)?,
                    scopes: get(row, 3)?,
                    kind,
                    created_at: get(row, 5)?,
                },
            ));
        }
        Ok(out)
    }

    /// The storefront-token generation, bumped in the same transaction as every create and
    /// delete: an instance caching the tokens reloads when it changed.
    pub async fn storefront_generation(&self) -> Result<Option<u64>, StoreError> {
        self.count("SELECT value FROM meta WHERE key = 'storefront_generation'")
            .await
            .map(Some)
    }

    /// Up to `limit` audit entries with sequence numbers above `after`, oldest first.
    pub async fn audit(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = self
            .query_all(
                "SELECT seq, at, actor, action, subject, detail, issued_by, reason FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit_param(limit)],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let subject: Option<i64> = get(row, 4)?;
                Ok((
                    unsigned(row, 0, "audit seq")?,
                    AuditEntry {
                        at: get::<Timestamp>(row, 1)?,
                        actor: get(row, 2)?,
                        action: get(row, 3)?,
                        subject: subject
                            .and_then(|s| u64::try_from(s).ok())
                            .filter(|s| *s != 0)
                            .map(CustomerId),
                        detail: get(row, 5)?,
                        otc: super::copy::otc_fields(get(row, 6)?, get(row, 7)?),
                    },
                ))
            })
            .collect()
    }
}
