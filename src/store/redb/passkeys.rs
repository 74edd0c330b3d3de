//! Passkey ceremonies on redb: started challenges by the digest of their challenge (taken once,
//! swept at expiry), and the index from a customer's WebAuthn user handle to the customer
//! (kept in step by `Tx::put_customer` and `Tx::delete_customer`). The passkeys themselves are
//! in their owner's record.

use super::*;
use crate::model::passkey::{PasskeyChallenge, UserHandle};

pub(super) const PASSKEY_CHALLENGES: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("passkey_challenges");
pub(super) const PASSKEY_HANDLES: TableDefinition<&[u8], u64> =
    TableDefinition::new("passkey_handles");

fn decode(bytes: &[u8]) -> Result<PasskeyChallenge, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("passkey challenge: {e}")))
}

impl Tx<'_> {
    /// The sweep of one challenge past its expiry.
    pub(super) fn purge_passkey_challenge(
        &mut self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let expired = match self.passkey_challenges()?.get(digest.as_slice())? {
            Some(v) => decode(v.value())?.expires_at <= now,
            None => false,
        };
        if expired {
            self.passkey_challenges()?.remove(digest.as_slice())?;
        }
        Ok(expired)
    }
}

impl RedbStore {
    pub async fn save_passkey_challenge(
        &self,
        digest: Digest,
        challenge: PasskeyChallenge,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            // Plain data: serialising cannot fail.
            let bytes = serde_json::to_vec(&challenge).unwrap_or_default();
            tx.passkey_challenges()?
                .insert(digest.as_slice(), bytes.as_slice())?;
            tx.expiry()?.insert(
                expiry_key(challenge.expires_at, Expiring::PasskeyChallenge, &digest).as_slice(),
                (),
            )?;
            Ok(())
        })
        .await
    }

    pub async fn take_passkey_challenge(
        &self,
        digest: Digest,
        now: Timestamp,
    ) -> Result<Option<PasskeyChallenge>, StoreError> {
        self.write(move |tx| {
            let Some(taken) = tx.passkey_challenges()?.remove(digest.as_slice())? else {
                return Ok(None);
            };
            let challenge = decode(taken.value())?;
            Ok((challenge.expires_at > now).then_some(challenge))
        })
        .await
    }
}

impl Reader {
    pub fn customer_id_by_passkey_handle(
        &self,
        handle: &UserHandle,
    ) -> Result<Option<CustomerId>, StoreError> {
        let table = self.txn.open_table(PASSKEY_HANDLES)?;
        let found = table.get(handle.as_slice())?;
        Ok(found.map(|v| CustomerId(v.value())))
    }
}
