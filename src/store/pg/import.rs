//! `storekey import` on PostgreSQL: one batch in one transaction, each row's email looked up
//! (and locked) inside it, so earlier rows of the batch and earlier batches are seen; the
//! decisions are `store::import::decide`, shared with redb. A concurrent writer taking one of
//! the batch's emails makes the insert a unique violation, and the batch runs again whole.

use super::ops::{insert_customer, lock_customer, write_changes};
use super::{PgError, Postgres, Retry};
use crate::model::passkey::UserHandle;
use crate::model::Account;
use crate::store::import::{claimed_handle, decide, Decision, Imported, OnConflict, RowOutcome};
use crate::store::{CustomerId, StoreError, Timestamp, Who};
use deadpool_postgres::Transaction;

impl Postgres {
    /// Writes one batch of imported rows in one transaction and says what each did. With
    /// `fail`, the first row whose email is taken ends the batch (rows before it are written).
    pub async fn import_batch(
        &self,
        rows: Vec<Account>,
        on_conflict: OnConflict,
        now: Timestamp,
    ) -> Result<Vec<Imported>, StoreError> {
        let out = self
            .transaction(Retry::CONFLICTS_AND_UNIQUE, move |tx| {
                let rows = rows.clone();
                Box::pin(async move {
                    let mut out = Vec::with_capacity(rows.len());
                    for mut row in rows {
                        let existing =
                            lock_customer(tx, &Who::Email(row.customer.email.clone())).await?;
                        let decision = decide(existing.as_ref(), &row, on_conflict, now);
                        if let Some(handle) = claimed_handle(&decision, &row, existing.as_ref()) {
                            if handle_owner(tx, &handle).await?.is_some() {
                                out.push(Imported {
                                    outcome: RowOutcome::PasskeyHandleTaken,
                                    identifier_taken: false,
                                });
                                continue;
                            }
                        }
                        let imported = match (decision, existing) {
                            (Decision::Create, _) => {
                                let taken = identifier_owner(tx, &row).await?.is_some();
                                if taken {
                                    row.customer.multipass_identifier = None;
                                }
                                let created =
                                    insert_customer(tx, &row, false).await?.ok_or_else(|| {
                                        PgError::Corrupt("an insert returned no id".into())
                                    })?;
                                Imported {
                                    outcome: RowOutcome::Created(created.customer.id),
                                    identifier_taken: taken,
                                }
                            }
                            (Decision::Update(mut after), Some(before)) => {
                                let id = before.customer.id;
                                let owner = identifier_owner(tx, &after).await?;
                                let taken = owner.is_some_and(|o| o != id);
                                if taken {
                                    after.customer.multipass_identifier =
                                        before.customer.multipass_identifier.clone();
                                }
                                write_changes(tx, &before, &after).await?;
                                Imported {
                                    outcome: RowOutcome::Updated(id),
                                    identifier_taken: taken,
                                }
                            }
                            (Decision::Conflict, Some(before)) => {
                                out.push(Imported {
                                    outcome: RowOutcome::Conflict(before.customer.id),
                                    identifier_taken: false,
                                });
                                break;
                            }
                            (_, existing) => Imported {
                                outcome: RowOutcome::Skipped(
                                    existing.map_or(CustomerId(0), |e| e.customer.id),
                                ),
                                identifier_taken: false,
                            },
                        };
                        out.push(imported);
                    }
                    Ok(out)
                })
            })
            .await?;
        Ok(out)
    }
}

/// The customer that already has the row's Multipass identifier, if any.
async fn identifier_owner(
    tx: &Transaction<'_>,
    account: &Account,
) -> Result<Option<CustomerId>, PgError> {
    let Some(ident) = &account.customer.multipass_identifier else {
        return Ok(None);
    };
    let statement = tx
        .prepare_cached("SELECT id FROM customers WHERE multipass_identifier = $1")
        .await?;
    let Some(row) = tx.query_opt(&statement, &[ident]).await? else {
        return Ok(None);
    };
    let id: i64 = row.try_get(0)?;
    Ok(u64::try_from(id).ok().map(CustomerId))
}

/// The customer that holds the passkey user handle, if any. A concurrent write giving the
/// handle to someone after this read makes the insert a unique violation, and the batch runs
/// again whole (then finds it here).
async fn handle_owner(
    tx: &Transaction<'_>,
    handle: &UserHandle,
) -> Result<Option<CustomerId>, PgError> {
    let statement = tx
        .prepare_cached("SELECT id FROM customers WHERE passkey_handle = $1")
        .await?;
    let Some(row) = tx.query_opt(&statement, &[&handle.as_slice()]).await? else {
        return Ok(None);
    };
    let id: i64 = row.try_get(0)?;
    Ok(u64::try_from(id).ok().map(CustomerId))
}
