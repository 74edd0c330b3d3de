//! Reads from a snapshot: never wait for the writer.

use super::*;

/// A read snapshot. Each call opens the tables it needs (cheap in a read transaction).
pub struct Reader {
    pub(super) txn: ReadTransaction,
}

impl Reader {
    /// The snapshot opened: the file answers.
    pub fn check(&self) -> Result<(), StoreError> {
        Ok(())
    }

    pub fn customer(&self, id: CustomerId) -> Result<Option<Account>, StoreError> {
        read::customer(&self.txn.open_table(CUSTOMERS)?, id)
    }

    pub fn customer_id_by_email(&self, email: &str) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(&self.txn.open_table(EMAILS)?, &email_key(email))
    }

    pub fn customer_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        match self.customer_id_by_email(email)? {
            Some(id) => self.customer(id),
            None => Ok(None),
        }
    }

    pub fn customer_id_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(&self.txn.open_table(IDENTIFIERS)?, identifier)
    }

    pub fn access_token(&self, digest: &Digest) -> Result<Option<AccessTokenRecord>, StoreError> {
        read::access_token(&self.txn.open_table(TOKENS)?, digest)
    }

    /// A token and its customer from this one snapshot; `None` when either is gone.
    pub fn session(
        &self,
        digest: &Digest,
    ) -> Result<Option<(AccessTokenRecord, Account)>, StoreError> {
        let Some(token) = self.access_token(digest)? else {
            return Ok(None);
        };
        let customers = self.txn.open_table(CUSTOMERS)?;
        let found = customers.get(token.customer_id.0)?;
        found
            .map(|v| {
                records::decode_customer_for_session(v.value()).map(|account| (token, account))
            })
            .transpose()
    }

    pub fn customers(&self, after: CustomerId, limit: usize) -> Result<Vec<Account>, StoreError> {
        read::customers(&self.txn.open_table(CUSTOMERS)?, after, limit)
    }

    pub fn search_customers(
        &self,
        term: &str,
        after: CustomerId,
        limit: usize,
        examine: usize,
    ) -> Result<Scanned<Account, CustomerId>, StoreError> {
        read::search_customers(
            &self.txn.open_table(CUSTOMERS)?,
            term,
            after,
            limit,
            examine,
        )
    }

    pub fn lac_log(
        &self,
        filter: &crate::model::LacFilter,
        before: Option<u64>,
        limit: usize,
        examine: usize,
    ) -> Result<Scanned<crate::model::LacEntry, u64>, StoreError> {
        read::lac_log(
            &self.txn.open_table(AUDIT)?,
            &self.txn.open_table(CUSTOMERS)?,
            filter,
            before,
            limit,
            examine,
        )
    }

    pub fn customer_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(CUSTOMERS)?.len()?)
    }

    pub fn access_token_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(TOKENS)?.len()?)
    }

    pub fn expiry_index_len(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(EXPIRY)?.len()?)
    }

    pub fn replay_seen(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self
            .txn
            .open_table(REPLAY)?
            .get(digest.as_slice())?
            .is_some())
    }

    /// Every storefront token with its digest.
    pub fn storefront_tokens(&self) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
        read::storefront_tokens(&self.txn.open_table(STOREFRONT_TOKENS)?)
    }

    pub fn audit(&self, after: u64, limit: usize) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        read::audit(&self.txn.open_table(AUDIT)?, after, limit)
    }
}
