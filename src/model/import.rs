//! What `storekey import` does with a row whose email may already have an account: the
//! domain's decision, which both backends apply inside their write (`store::import_batch`) and
//! the dry run on a snapshot.

use super::{Account, Timestamp};

/// What a row whose email is already in the store does (`--on-conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Leave the stored customer as it is.
    Skip,
    /// Overwrite the profile and flags with the row's; the password hash only when the stored
    /// one is absent or legacy (an argon2 hash is the customer's own by now); the row's passkeys
    /// (and their handle) only when the customer has none.
    Update,
    /// Stop the import at this row (rows before it stay written).
    Fail,
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
/// loses its commit), and its passkeys with their handle when the customer has no passkey.
/// Creation time, email spelling, lockout and any passkey the customer has stay.
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
    c.email_verified = r.email_verified;
    c.disabled = r.disabled;
    c.allow_remote_shopping_assistance = r.allow_remote_shopping_assistance;
    if !r.tags.is_empty() {
        c.tags.clone_from(&r.tags);
    }
    take(&mut c.multipass_identifier, &r.multipass_identifier);
    let k = &mut after.credentials;
    let replaceable = !k.has_password_set_here();
    if let (true, Some(new)) = (replaceable, &row.credentials.password_hash) {
        if k.password_hash.as_ref() != Some(new) {
            k.password_hash = Some(new.clone());
            k.password_version = k.password_version.wrapping_add(1);
        }
    }
    // Passkeys are added only to a customer who has none, with the handle they were registered
    // under; a customer's own passkeys are never removed or replaced by an import.
    if k.passkeys.is_empty() && !row.credentials.passkeys.is_empty() {
        k.passkey_handle = row.credentials.passkey_handle;
        k.passkeys.clone_from(&row.credentials.passkeys);
    }
    if after != *existing {
        after.customer.updated_at = now;
    }
    after
}
