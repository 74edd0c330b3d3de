//! Passkey ceremonies on PostgreSQL (migration 0013): the same operations as redb's
//! (`store/redb/passkeys.rs`). A challenge is taken by one `DELETE … RETURNING`, so of N
//! racing answers on any instances exactly one gets the row. The passkeys themselves are
//! columns of their customer's row (`read.rs`, `ops.rs`).

use super::Postgres;
use crate::model::passkey::{PasskeyChallenge, UserHandle};
use crate::model::{CustomerId, Digest, Timestamp};
use crate::store::StoreError;

fn decode(bytes: &[u8]) -> Result<PasskeyChallenge, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("passkey challenge: {e}")))
}

impl Postgres {
    pub async fn save_passkey_challenge(
        &self,
        digest: Digest,
        challenge: PasskeyChallenge,
    ) -> Result<(), StoreError> {
        // Plain data: serialising cannot fail.
        let record = serde_json::to_vec(&challenge).unwrap_or_default();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO passkey_challenges (digest, expires_at, record) VALUES ($1, $2, $3) \
                 ON CONFLICT (digest) DO UPDATE SET expires_at = $2, record = $3",
            )
            .await?;
        client
            .execute(
                &statement,
                &[&digest.as_slice(), &challenge.expires_at, &record],
            )
            .await?;
        Ok(())
    }

    pub async fn take_passkey_challenge(
        &self,
        digest: Digest,
        now: Timestamp,
    ) -> Result<Option<PasskeyChallenge>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("DELETE FROM passkey_challenges WHERE digest = $1 RETURNING record")
            .await?;
        let Some(row) = client.query_opt(&statement, &[&digest.as_slice()]).await? else {
            return Ok(None);
        };
        let bytes: Vec<u8> = row.try_get(0)?;
        let challenge = decode(&bytes)?;
        Ok((challenge.expires_at > now).then_some(challenge))
    }

    pub async fn customer_id_by_passkey_handle(
        &self,
        handle: &UserHandle,
    ) -> Result<Option<CustomerId>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT id FROM customers WHERE passkey_handle = $1")
            .await?;
        let Some(row) = client.query_opt(&statement, &[&handle.as_slice()]).await? else {
            return Ok(None);
        };
        let id: i64 = row.try_get(0)?;
        u64::try_from(id)
            .map(|id| Some(CustomerId(id)))
            .map_err(|_| StoreError::Corrupt(format!("customer id {id}")))
    }
}
