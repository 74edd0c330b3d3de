//! `storekey import` on redb: one batch of customers in one write, each row checked against the
//! email index inside that write (so earlier rows of the batch and earlier batches are seen),
//! and the same decisions on a read snapshot for a dry run. The decisions are
//! `store::import::decide`, shared with PostgreSQL.

use super::{RedbStore, Tx};
use crate::model::Account;
use crate::store::import::{claimed_handle, decide, Decision, Imported, OnConflict, RowOutcome};
use crate::store::{CustomerId, StoreError, Timestamp};
use redb::ReadableTable as _;

impl RedbStore {
    /// Writes one batch of imported rows in one transaction and says what each did. With
    /// `fail`, the first row whose email is taken ends the batch (rows before it are written).
    pub async fn import_batch(
        &self,
        rows: Vec<Account>,
        on_conflict: OnConflict,
        now: Timestamp,
    ) -> Result<Vec<Imported>, StoreError> {
        self.write(move |tx| {
            let mut out = Vec::with_capacity(rows.len());
            for mut row in rows {
                let existing = match tx.customer_id_by_email(&row.customer.email)? {
                    Some(id) => tx.customer(id)?,
                    None => None,
                };
                let decision = decide(existing.as_ref(), &row, on_conflict, now);
                if let Some(handle) = claimed_handle(&decision, &row, existing.as_ref()) {
                    if tx.passkey_handles()?.get(handle.as_slice())?.is_some() {
                        out.push(Imported {
                            outcome: RowOutcome::PasskeyHandleTaken,
                            identifier_taken: false,
                        });
                        continue;
                    }
                }
                let (outcome, identifier_taken) = match (decision, existing) {
                    (Decision::Create, _) => {
                        let taken = identifier_taken(tx, &row, None)?;
                        if taken {
                            row.customer.multipass_identifier = None;
                        }
                        let created = tx.insert_customer(row)?;
                        (RowOutcome::Created(created.customer.id), taken)
                    }
                    (Decision::Update(mut after), Some(before)) => {
                        let id = before.customer.id;
                        let taken = identifier_taken(tx, &after, Some(id))?;
                        if taken {
                            after.customer.multipass_identifier =
                                before.customer.multipass_identifier.clone();
                        }
                        tx.put_customer(&after, Some(&before))?;
                        (RowOutcome::Updated(id), taken)
                    }
                    (Decision::Conflict, Some(before)) => {
                        out.push(Imported {
                            outcome: RowOutcome::Conflict(before.customer.id),
                            identifier_taken: false,
                        });
                        break;
                    }
                    (_, existing) => (
                        RowOutcome::Skipped(existing.map_or(CustomerId(0), |e| e.customer.id)),
                        false,
                    ),
                };
                out.push(Imported {
                    outcome,
                    identifier_taken,
                });
            }
            Ok(out)
        })
        .await
    }
}

/// Whether the row's Multipass identifier belongs to a customer other than `id`.
fn identifier_taken(
    tx: &mut Tx<'_>,
    account: &Account,
    id: Option<CustomerId>,
) -> Result<bool, StoreError> {
    let Some(ident) = &account.customer.multipass_identifier else {
        return Ok(false);
    };
    Ok(match tx.customer_id_by_identifier(ident)? {
        Some(owner) => Some(owner) != id,
        None => false,
    })
}
