//! The store's side of `storekey import`: one batch of customers in one write, each row
//! checked against the email index inside that write (so earlier rows of the batch and earlier
//! batches are seen), and the same decisions on a read snapshot for a dry run.

use super::{Backend, CustomerId, StoreError, Timestamp};
pub use crate::model::import::{decide, Decision, OnConflict};
use crate::model::Account;

/// What one row did (in a dry run: would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    /// A new customer (0 in a dry run: no id is assigned).
    Created(CustomerId),
    Updated(CustomerId),
    /// The email is in the store and nothing changed (`skip`, or `update` with nothing new).
    Skipped(CustomerId),
    /// `fail`: the email is in the store. The batch ends here.
    Conflict(CustomerId),
}

/// A row's outcome, and whether its Multipass identifier was dropped because another customer
/// has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub outcome: RowOutcome,
    pub identifier_taken: bool,
}

/// `Backend::import_batch`'s decisions on committed data, writing nothing (`--dry-run`). The caller
/// leaves out rows whose email came earlier in the file, as it does for a real import, so
/// both report the same counts.
pub async fn dry_run<B: Backend>(
    store: &B,
    rows: &[Account],
    on_conflict: OnConflict,
    now: Timestamp,
) -> Result<Vec<Imported>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let existing = store.customer_by_email(&row.customer.email).await?;
        let id = existing.as_ref().map_or(CustomerId(0), |e| e.customer.id);
        let owner = match &row.customer.multipass_identifier {
            Some(ident) => store.customer_id_by_identifier(ident).await?,
            None => None,
        };
        let identifier_taken = owner.is_some_and(|o| o != id);
        let outcome = match decide(existing.as_ref(), row, on_conflict, now) {
            Decision::Create => RowOutcome::Created(CustomerId(0)),
            Decision::Update(_) => RowOutcome::Updated(id),
            Decision::Unchanged => RowOutcome::Skipped(id),
            Decision::Conflict => {
                out.push(Imported {
                    outcome: RowOutcome::Conflict(id),
                    identifier_taken: false,
                });
                break;
            }
        };
        out.push(Imported {
            outcome,
            identifier_taken,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(email: &str, hash: Option<&str>) -> Account {
        let mut a = Account::default();
        a.customer.email = email.into();
        a.customer.confirmed = true;
        a.credentials.password_hash = hash.map(str::to_owned);
        a
    }

    const MD5: &str = "magento:67a1e09bb1f83f5007dc119c14d663aa:salt:0";
    const OWN: &str = "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

    #[test]
    fn update_keeps_an_argon2_hash_and_replaces_a_legacy_one() {
        let mut row = account("a@example.com", Some(MD5));
        row.customer.profile.firstname = Some("Ann".into());
        // The customer signed in since the last import: the hash is argon2 now.
        let mut stored = account("A@example.com", Some(OWN));
        stored.customer.id = CustomerId(4);
        stored.customer.created_at = 5;
        let Decision::Update(after) = decide(Some(&stored), &row, OnConflict::Update, 99) else {
            panic!("expected an update");
        };
        assert_eq!(after.credentials.password_hash.as_deref(), Some(OWN));
        assert_eq!(after.customer.profile.firstname.as_deref(), Some("Ann"));
        assert_eq!(
            (after.customer.email.as_str(), after.customer.created_at),
            ("A@example.com", 5)
        );
        assert_eq!(after.customer.updated_at, 99);
        // A legacy or absent hash is replaced, with a version bump.
        for old in [
            None,
            Some("magento:13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322:salt:1"),
        ] {
            let stored = account("a@example.com", old);
            let Decision::Update(after) = decide(Some(&stored), &row, OnConflict::Update, 99)
            else {
                panic!("expected an update");
            };
            assert_eq!(after.credentials.password_hash.as_deref(), Some(MD5));
            assert_eq!(after.credentials.password_version, 1);
        }
    }

    #[test]
    fn a_row_with_nothing_new_is_unchanged_and_skip_and_fail_decide_on_presence() {
        let row = account("a@example.com", Some(MD5));
        let stored = row.clone();
        assert_eq!(
            decide(Some(&stored), &row, OnConflict::Update, 99),
            Decision::Unchanged
        );
        assert_eq!(
            decide(Some(&stored), &row, OnConflict::Skip, 99),
            Decision::Unchanged
        );
        assert_eq!(
            decide(Some(&stored), &row, OnConflict::Fail, 99),
            Decision::Conflict
        );
        assert_eq!(decide(None, &row, OnConflict::Fail, 99), Decision::Create);
    }
}
