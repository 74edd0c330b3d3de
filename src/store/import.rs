//! The store's side of `storekey import`: one batch of customers in one write, each row
//! checked against the email index inside that write (so earlier rows of the batch and earlier
//! batches are seen), and the same decisions on a read snapshot for a dry run.

use super::{Backend, CustomerId, StoreError, Timestamp};
pub use crate::model::import::{decide, Decision, OnConflict};
use crate::model::passkey::UserHandle;
use crate::model::Account;

/// The passkey handle a decided row would give its customer anew (one they do not hold yet).
/// Both backends refuse the row when another customer holds it, looked up in the same write
/// before anything is written: redb's handle index would otherwise be overwritten (the handle
/// silently moved to this customer) and PostgreSQL's unique constraint would fail the batch.
pub fn claimed_handle(
    decision: &Decision,
    row: &Account,
    existing: Option<&Account>,
) -> Option<UserHandle> {
    let held = existing.and_then(|e| e.credentials.passkey_handle);
    let wanted = match decision {
        Decision::Create => row.credentials.passkey_handle,
        Decision::Update(after) => after.credentials.passkey_handle,
        Decision::Unchanged | Decision::Conflict => None,
    };
    wanted.filter(|h| Some(*h) != held)
}

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
    /// Refused, nothing written: the row's passkeys come with a user handle another customer
    /// holds (a handle finds one customer in a passkey sign-in, so it is never moved).
    PasskeyHandleTaken,
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
        let decision = decide(existing.as_ref(), row, on_conflict, now);
        if let Some(handle) = claimed_handle(&decision, row, existing.as_ref()) {
            if store
                .customer_id_by_passkey_handle(&handle)
                .await?
                .is_some()
            {
                out.push(Imported {
                    outcome: RowOutcome::PasskeyHandleTaken,
                    identifier_taken: false,
                });
                continue;
            }
        }
        let outcome = match decision {
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

    fn with_passkey(mut a: Account, handle: u8, id: u8) -> Account {
        a.credentials.passkey_handle = Some([handle; 16]);
        a.credentials.passkeys = vec![crate::model::passkey::Passkey {
            id: vec![id; 16],
            name: format!("Key {id}"),
            created_at: 1,
            last_used_at: None,
            counter: 0,
            backup_eligible: false,
            backup_state: false,
            transports: Vec::new(),
            credential: "{}".into(),
        }];
        a
    }

    #[test]
    fn an_update_adds_passkeys_only_to_a_customer_without_any_and_never_replaces_theirs() {
        let row = with_passkey(account("a@example.com", Some(MD5)), 1, 1);
        // Theirs stay, the row's are not added: nothing new, nothing claimed.
        let mut stored = with_passkey(account("a@example.com", Some(MD5)), 2, 2);
        stored.customer.id = CustomerId(4);
        let decision = decide(Some(&stored), &row, OnConflict::Update, 99);
        assert_eq!(decision, Decision::Unchanged);
        assert_eq!(claimed_handle(&decision, &row, Some(&stored)), None);

        // None yet (a handle left from a removed passkey): the row's come, with their handle.
        stored.credentials.passkeys.clear();
        let decision = decide(Some(&stored), &row, OnConflict::Update, 99);
        let Decision::Update(after) = &decision else {
            panic!("expected an update");
        };
        assert_eq!(after.credentials.passkey_handle, Some([1; 16]));
        assert_eq!(after.credentials.passkeys, row.credentials.passkeys);
        assert_eq!(
            claimed_handle(&decision, &row, Some(&stored)),
            Some([1; 16])
        );

        // The same handle again is no claim; a new customer claims theirs; skip claims nothing.
        stored.credentials.passkey_handle = Some([1; 16]);
        let decision = decide(Some(&stored), &row, OnConflict::Update, 99);
        assert_eq!(claimed_handle(&decision, &row, Some(&stored)), None);
        assert_eq!(claimed_handle(&Decision::Create, &row, None), Some([1; 16]));
        let decision = decide(Some(&stored), &row, OnConflict::Skip, 99);
        assert_eq!(claimed_handle(&decision, &row, Some(&stored)), None);
    }
}
