//! The store's side of `storekey import`: one batch of customers in one write, each row
//! checked against the email index inside that write (so earlier rows of the batch and earlier
//! batches are seen), and the same decisions on a read snapshot for a dry run.

use super::{Backend, CustomerId, StoreError, Timestamp};
use crate::model::Account;

/// What a row whose email is already in the store does (`--on-conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Leave the stored customer as it is.
    Skip,
    /// Overwrite the profile and flags with the row's; the password hash only when the stored
    /// one is absent or legacy (an argon2 hash is the customer's own by now).
    Update,
    /// Stop the import at this row (rows before it stay written).
    Fail,
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
}

/// A row's outcome, and whether its Multipass identifier was dropped because another customer
/// has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub outcome: RowOutcome,
    pub identifier_taken: bool,
}

/// The decision for one row, on the stored customer with its email (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Create,
    Update(Box<Account>),
    Unchanged,
    Conflict,
}

/// Decides a row: `row` is the account the file describes (id 0).
pub fn decide(
    existing: Option<&Account>,
    row: &Account,
    on_conflict: OnConflict,
    now: Timestamp,
) -> Decision {
    let Some(existing) = existing else {
        return Decision::Create;
    };
    match on_conflict {
        OnConflict::Skip => Decision::Unchanged,
        OnConflict::Fail => Decision::Conflict,
        OnConflict::Update => {
            let after = merged(existing, row, now);
            if after == *existing {
                Decision::Unchanged
            } else {
                Decision::Update(Box::new(after))
            }
        }
    }
}

/// `existing` with what `row` brings: given profile fields, the flags, tags when the row has
/// some, its identifier when it has one, and its hash where the stored one is absent or not
/// argon2 (a hash change bumps the password version, so an in-flight sign-in on the old hash
/// loses its commit). Creation time, email spelling and lockout stay.
fn merged(existing: &Account, row: &Account, now: Timestamp) -> Account {
    let mut after = existing.clone();
    let (c, r) = (&mut after.customer, &row.customer);
    fn take<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
        if v.is_some() {
            slot.clone_from(v);
        }
    }
    let (p, rp) = (&mut c.profile, &r.profile);
    take(&mut p.firstname, &rp.firstname);
    take(&mut p.lastname, &rp.lastname);
    take(&mut p.middlename, &rp.middlename);
    take(&mut p.prefix, &rp.prefix);
    take(&mut p.suffix, &rp.suffix);
    take(&mut p.date_of_birth, &rp.date_of_birth);
    take(&mut p.gender, &rp.gender);
    take(&mut p.taxvat, &rp.taxvat);
    take(&mut p.phone, &rp.phone);
    p.is_subscribed = rp.is_subscribed;
    c.confirmed = r.confirmed;
    c.disabled = r.disabled;
    c.allow_remote_shopping_assistance = r.allow_remote_shopping_assistance;
    if !r.tags.is_empty() {
        c.tags.clone_from(&r.tags);
    }
    take(&mut c.multipass_identifier, &r.multipass_identifier);
    let k = &mut after.credentials;
    let replaceable = k
        .password_hash
        .as_deref()
        .is_none_or(|h| !h.trim_start().starts_with("$argon2"));
    if let (true, Some(new)) = (replaceable, &row.credentials.password_hash) {
        if k.password_hash.as_ref() != Some(new) {
            k.password_hash = Some(new.clone());
            k.password_version = k.password_version.wrapping_add(1);
        }
    }
    if after != *existing {
        after.customer.updated_at = now;
    }
    after
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
