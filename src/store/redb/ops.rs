//! The named operations on redb: each one closure run on the writer thread, so it commits
//! (or fails) as a whole with its batch. Their outcomes are the backend-neutral vocabulary of
//! `store::ops`; the closures the core passes in are pure decisions over a copy of the record.

use super::{AccessTokenRecord, CustomerId, Digest, RedbStore, StoreError, Timestamp, Tx};
use crate::model::{email_key, Account, AddressId, AuditEntry, StorefrontToken};
use crate::store::{
    assign_new_id, AddressEdit, AddressOutcome, Change, Created, Effects, MultipassOutcome,
    NewToken, SweepReport, Updated, Upsert, Who,
};

impl RedbStore {
    /// Always `None`: one process owns the file, so its own changes are the only ones.
    pub async fn storefront_generation(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// Always true: one process owns the file.
    pub async fn try_lease(
        &self,
        _name: &str,
        _holder: &str,
        _ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Always true: one process owns the file.
    pub async fn release_lease(&self, _name: &str, _holder: &str) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// One edit of a customer's addresses in one commit, on the book as the commit reads it
    /// (so the count limit holds under any number of concurrent creates).
    pub async fn edit_addresses(
        &self,
        customer: CustomerId,
        edit: AddressEdit,
    ) -> Result<AddressOutcome, StoreError> {
        self.write(move |tx| {
            let Some(before) = tx.customer(customer)? else {
                return Ok(AddressOutcome::CustomerNotFound);
            };
            if let Some(id) = edit.target() {
                if tx.address_owner(id)?.is_some_and(|owner| owner != customer) {
                    return Ok(AddressOutcome::NotYours);
                }
            }
            let mut after = before.clone();
            let mut id = match edit.apply(&mut after.addresses) {
                Ok(id) => id,
                Err(refused) => return Ok(refused),
            };
            if matches!(edit, AddressEdit::Create { .. }) {
                id = AddressId(tx.next_id("next_address_id")?);
                assign_new_id(&mut after.addresses, id);
            }
            if after != before {
                tx.put_customer(&after, Some(&before))?;
            }
            Ok(AddressOutcome::Done(Box::new(after.addresses), id))
        })
        .await
    }

    /// Edits one customer: `edit` decides on a copy (and may refuse); a saved edit keeps the
    /// email and identifier indexes in step, refuses an email another customer has, and
    /// applies its effects (token revocation, a new token, an audit entry) in the same commit.
    pub async fn update_customer<T, F>(
        &self,
        who: Who,
        mut edit: F,
    ) -> Result<Updated<T>, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Account) -> Change<T> + Send + 'static,
    {
        self.write(move |tx| {
            let id = match &who {
                Who::Id(id) => Some(*id),
                Who::Email(email) => tx.customer_id_by_email(email)?,
            };
            let Some(before) = (match id {
                Some(id) => tx.customer(id)?,
                None => None,
            }) else {
                return Ok(Updated::NotFound);
            };
            let mut after = before.clone();
            let (outcome, effects) = match edit(&mut after) {
                Change::Refuse(outcome) => return Ok(Updated::Refused(outcome)),
                Change::Save(outcome, effects) => (outcome, effects),
            };
            after.customer.id = before.customer.id;
            let id = before.customer.id;
            if email_key(&after.customer.email) != email_key(&before.customer.email) {
                if let Some(owner) = tx.customer_id_by_email(&after.customer.email)? {
                    if owner != id {
                        return Ok(Updated::EmailTaken);
                    }
                }
            }
            if after != before {
                tx.put_customer(&after, Some(&before))?;
            }
            apply(tx, id, effects)?;
            Ok(Updated::Saved(Box::new(after), outcome))
        })
        .await
    }

    /// Stores a new customer under a fresh id, unless its email is taken; the audit entry (an
    /// admin's create) goes into the same commit.
    pub async fn create_customer(
        &self,
        record: Account,
        audit: Option<AuditEntry>,
    ) -> Result<Created, StoreError> {
        self.write(move |tx| {
            if tx.customer_id_by_email(&record.customer.email)?.is_some() {
                return Ok(Created::EmailTaken);
            }
            let created = tx.insert_customer(record.clone())?;
            if let Some(mut entry) = audit.clone() {
                entry.subject = Some(created.customer.id);
                append(tx, &entry)?;
            }
            Ok(Created::Created(Box::new(created)))
        })
        .await
    }

    /// Deletes a customer with its tokens and codes, audited in the same commit. False when
    /// there was no such customer.
    pub async fn delete_customer(
        &self,
        id: CustomerId,
        audit: Option<AuditEntry>,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let deleted = tx.delete_customer(id)?;
            if let (true, Some(entry)) = (deleted, &audit) {
                append(tx, entry)?;
            }
            Ok(deleted)
        })
        .await
    }

    /// Extends a live token. False when it is gone (a concurrent delete wins over a renew).
    pub async fn renew_token(&self, token: NewToken) -> Result<bool, StoreError> {
        self.write(move |tx| {
            if tx.access_token(&token.digest)?.is_none() {
                return Ok(false);
            }
            tx.insert_access_token(&token.digest, &token.record)?;
            Ok(true)
        })
        .await
    }

    /// A Multipass sign-in in one write: records the token's replay digest (the first use wins),
    /// finds the customers its identifier and its email name, lets `decide` create or update
    /// one, and mints `token` for that customer (its `customer_id` is filled in here).
    pub async fn multipass_sign_in<R, D>(
        &self,
        replay: Digest,
        replay_until: Timestamp,
        identifier: Option<String>,
        email: String,
        decide: D,
        token: NewToken,
    ) -> Result<MultipassOutcome<R>, StoreError>
    where
        R: Send + 'static,
        D: Fn(Option<&Account>, Option<&Account>) -> Result<Upsert, R> + Send + 'static,
    {
        self.write(move |tx| {
            if !tx.record_replay(&replay, replay_until)? {
                return Ok(MultipassOutcome::Replayed);
            }
            let by_identifier = match &identifier {
                Some(ident) => match tx.customer_id_by_identifier(ident)? {
                    Some(id) => tx.customer(id)?,
                    None => None,
                },
                None => None,
            };
            let by_email =
                match tx.customer_id_by_email(&email)? {
                    Some(id) => Some(tx.customer(id)?.ok_or_else(|| {
                        StoreError::Corrupt("email index names no customer".into())
                    })?),
                    None => None,
                };
            let customer = match decide(by_identifier.as_ref(), by_email.as_ref()) {
                Err(refusal) => return Ok(MultipassOutcome::Refused(refusal)),
                Ok(Upsert::Create(record)) => tx.insert_customer(record)?,
                Ok(Upsert::Update(after)) => {
                    let before = [by_identifier, by_email]
                        .into_iter()
                        .flatten()
                        .find(|c| c.customer.id == after.customer.id)
                        .ok_or_else(|| StoreError::Corrupt("upsert names no customer".into()))?;
                    if after != before {
                        tx.put_customer(&after, Some(&before))?;
                    }
                    after
                }
            };
            let record = AccessTokenRecord {
                customer_id: customer.customer.id,
                ..token.record
            };
            tx.insert_access_token(&token.digest, &record)?;
            Ok(MultipassOutcome::SignedIn(Box::new(customer)))
        })
        .await
    }

    /// Deletes one token; false when there was none.
    pub async fn delete_token(&self, digest: Digest) -> Result<bool, StoreError> {
        self.write(move |tx| tx.delete_access_token(&digest)).await
    }

    /// Deletes every token of a customer; returns how many.
    pub async fn revoke_customer_tokens(&self, id: CustomerId) -> Result<u64, StoreError> {
        self.write(move |tx| tx.revoke_customer_tokens(id)).await
    }

    /// Appends one audit entry on its own.
    pub async fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.write(move |tx| append(tx, &entry)).await
    }

    /// One small durable write that changes nothing a client can see (a counter in the store's
    /// metadata), so a refusal with nothing to record costs what a recorded one costs.
    pub async fn record_refusal(&self) -> Result<(), StoreError> {
        self.write(|tx| tx.next_id("refusals").map(|_| ())).await
    }

    /// Stores a storefront token under the next id, with the audit entry `audit` writes for it.
    pub async fn create_storefront_token<A>(
        &self,
        digest: Digest,
        draft: StorefrontToken,
        audit: A,
    ) -> Result<StorefrontToken, StoreError>
    where
        A: Fn(&StorefrontToken) -> AuditEntry + Send + 'static,
    {
        self.write(move |tx| {
            let token = StorefrontToken {
                id: tx.next_id("next_storefront_token_id")?,
                ..draft.clone()
            };
            tx.put_storefront_token(&digest, &token)?;
            append(tx, &audit(&token))?;
            Ok(token)
        })
        .await
    }

    /// Deletes the storefront token with `id`, audited in the same commit; false when none.
    pub async fn delete_storefront_token(
        &self,
        id: u64,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            for (digest, token) in tx.storefront_tokens()? {
                if token.id == id && tx.delete_storefront_token(&digest)? {
                    append(tx, &audit)?;
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await
    }

    /// Purges up to `batch` expired entries (tokens, codes, replay records, ended locks).
    pub async fn sweep(&self, now: Timestamp, batch: usize) -> Result<SweepReport, StoreError> {
        self.write(move |tx| tx.sweep(now, batch)).await
    }
}

fn apply(tx: &mut Tx<'_>, id: CustomerId, effects: Effects) -> Result<(), StoreError> {
    if effects.revoke_tokens {
        tx.revoke_customer_tokens(id)?;
    }
    if let Some(token) = &effects.token {
        tx.insert_access_token(&token.digest, &token.record)?;
    }
    if let Some(started) = &effects.browser_session {
        tx.start_browser_session(&started.0, &started.1)?;
    }
    for entry in &effects.audit {
        append(tx, entry)?;
    }
    Ok(())
}

/// Appends `entry` to the audit log (its encoding is `records::encode_audit`).
pub(super) fn append(tx: &mut Tx<'_>, entry: &AuditEntry) -> Result<(), StoreError> {
    tx.append_audit(&super::records::encode_audit(entry))?;
    Ok(())
}
