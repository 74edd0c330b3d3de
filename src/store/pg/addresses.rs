//! Customer addresses on PostgreSQL: the `customer_addresses` rows (migration 0006) written
//! from the difference between a customer's book before and after an edit, and the address
//! edit itself, one transaction under the customer's row lock (so the count limit holds under
//! any number of concurrent creates, here and on other instances).

use super::ops::lock_customer;
use super::{PgError, Postgres, Retry};
use crate::model::{Address, AddressBook, AddressId};
use crate::store::{AddressEdit, AddressOutcome, CustomerId, StoreError, Who};
use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;

fn address_id(id: AddressId) -> Result<i64, PgError> {
    i64::try_from(id.0).map_err(|_| PgError::Corrupt(format!("address id {id} too large")))
}

/// An address's columns after the key, as `$2` … `$16` of the statements below.
const COLUMNS: &str = "firstname, lastname, company, street, city, region, region_code, postcode, \
     country_code, telephone, middlename, prefix, suffix, fax, vat_id";

/// The key (`$1`: the customer for an insert, the address for an update), then the address's
/// columns in [`COLUMNS`]' order.
fn params<'a>(key: &'a i64, a: &'a Address) -> Vec<&'a (dyn ToSql + Sync)> {
    vec![
        key,
        &a.firstname,
        &a.lastname,
        &a.company,
        &a.street,
        &a.city,
        &a.region,
        &a.region_code,
        &a.postcode,
        &a.country_code,
        &a.telephone,
        &a.middlename,
        &a.prefix,
        &a.suffix,
        &a.fax,
        &a.vat_id,
    ]
}

/// Inserts one address of `customer`: under its own id with `keep_id` (a migration), else
/// under the next one from the identity. Returns the id.
async fn insert_address(
    tx: &Transaction<'_>,
    customer: i64,
    a: &Address,
    keep_id: bool,
) -> Result<AddressId, PgError> {
    const VALUES: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16";
    let id = address_id(a.id)?;
    let mut values = params(&customer, a);
    let sql = if keep_id {
        values.push(&id);
        format!(
            "INSERT INTO customer_addresses (customer_id, {COLUMNS}, id) VALUES ({VALUES}, $17) \
             RETURNING id"
        )
    } else {
        format!(
            "INSERT INTO customer_addresses (customer_id, {COLUMNS}) VALUES ({VALUES}) RETURNING id"
        )
    };
    let statement = tx.prepare_cached(&sql).await?;
    let row = tx.query_one(&statement, &values).await?;
    let id: i64 = row.try_get(0)?;
    u64::try_from(id)
        .map(AddressId)
        .map_err(|_| PgError::Corrupt(format!("address id {id}")))
}

/// Writes what changed from `before` to `after` for `customer`: deleted rows, changed rows,
/// new ones (every address of `after` that `before` lacks; under fresh ids unless `keep_ids`)
/// and the default flags. Returns `after` with the ids as stored.
pub(super) async fn write_book(
    tx: &Transaction<'_>,
    customer: i64,
    before: &AddressBook,
    after: &AddressBook,
    keep_ids: bool,
) -> Result<AddressBook, PgError> {
    let mut stored = after.clone();
    for gone in &before.addresses {
        if after.get(gone.id).is_none() {
            let statement = tx
                .prepare_cached("DELETE FROM customer_addresses WHERE id = $1")
                .await?;
            tx.execute(&statement, &[&address_id(gone.id)?]).await?;
        }
    }
    for (i, a) in after.addresses.iter().enumerate() {
        match before.get(a.id) {
            Some(old) if old == a => {}
            Some(_) => {
                let sql = format!(
                    "UPDATE customer_addresses SET ({COLUMNS}) = ($2, $3, $4, $5, $6, $7, $8, \
                     $9, $10, $11, $12, $13, $14, $15, $16) WHERE id = $1"
                );
                let statement = tx.prepare_cached(&sql).await?;
                tx.execute(&statement, &params(&address_id(a.id)?, a))
                    .await?;
            }
            None => {
                let id = insert_address(tx, customer, a, keep_ids).await?;
                let old = a.id;
                stored.addresses[i].id = id;
                for slot in [&mut stored.default_billing, &mut stored.default_shipping] {
                    if *slot == Some(old) {
                        *slot = Some(id);
                    }
                }
            }
        }
    }
    let flags_changed = stored.default_billing != before.default_billing
        || stored.default_shipping != before.default_shipping;
    if flags_changed {
        // Cleared first, then set: each partial unique index allows one default per customer
        // at every statement's end.
        let clear = tx
            .prepare_cached(
                "UPDATE customer_addresses SET default_billing = false, default_shipping = false \
                 WHERE customer_id = $1 AND (default_billing OR default_shipping)",
            )
            .await?;
        tx.execute(&clear, &[&customer]).await?;
        if let Some(id) = stored.default_billing {
            let set = tx
                .prepare_cached(
                    "UPDATE customer_addresses SET default_billing = true WHERE id = $1",
                )
                .await?;
            tx.execute(&set, &[&address_id(id)?]).await?;
        }
        if let Some(id) = stored.default_shipping {
            let set = tx
                .prepare_cached(
                    "UPDATE customer_addresses SET default_shipping = true WHERE id = $1",
                )
                .await?;
            tx.execute(&set, &[&address_id(id)?]).await?;
        }
    }
    Ok(stored)
}

impl Postgres {
    /// One edit of a customer's addresses in one transaction, under the customer's row lock.
    pub async fn edit_addresses(
        &self,
        customer: CustomerId,
        edit: AddressEdit,
    ) -> Result<AddressOutcome, StoreError> {
        let outcome = self
            .transaction(Retry::CONFLICTS, move |tx| {
                let edit = edit.clone();
                Box::pin(async move {
                    let Some(account) = lock_customer(tx, &Who::Id(customer)).await? else {
                        return Ok(AddressOutcome::CustomerNotFound);
                    };
                    let id = i64::try_from(customer.0)
                        .map_err(|_| PgError::Corrupt(format!("customer id {customer}")))?;
                    if let Some(target) = edit.target() {
                        let statement = tx
                            .prepare_cached(
                                "SELECT customer_id FROM customer_addresses WHERE id = $1",
                            )
                            .await?;
                        let target = i64::try_from(target.0).unwrap_or(-1);
                        if let Some(row) = tx.query_opt(&statement, &[&target]).await? {
                            let owner: i64 = row.try_get(0)?;
                            if owner != id {
                                return Ok(AddressOutcome::NotYours);
                            }
                        }
                    }
                    let before = account.addresses;
                    let mut after = before.clone();
                    let concerned = match edit.apply(&mut after) {
                        Ok(concerned) => concerned,
                        Err(refused) => return Ok(refused),
                    };
                    let stored = write_book(tx, id, &before, &after, false).await?;
                    let concerned = if matches!(edit, AddressEdit::Create { .. }) {
                        // The one address `before` did not have.
                        let new = stored
                            .addresses
                            .iter()
                            .map(|a| a.id)
                            .find(|a| before.get(*a).is_none())
                            .ok_or_else(|| PgError::Corrupt("a new address has no id".into()))?;
                        new
                    } else {
                        concerned
                    };
                    Ok(AddressOutcome::Done(Box::new(stored), concerned))
                })
            })
            .await?;
        Ok(outcome)
    }
}
