//! The write side of one batch: the only code that changes tables, keeping the indexes in step.

use super::*;

/// Declares [`Tx`]: one slot per table, and an accessor of the same name that opens the table
/// the first time a batch uses it and hands back the open table after that.
macro_rules! tx_tables {
    ($($name:ident: $ty:ty = $open:ident($def:expr),)*) => {
        /// The write side, handed to the closures of one batch. A table is opened when the
        /// batch first uses it and stays open until the commit: opening costs a lookup in
        /// redb's table of tables, and closing a check or a write-back of the table's root,
        /// so each operation opening its own tables dominated small writes, and a batch
        /// opening all of them paid for the ten a sign-in never touches.
        pub struct Tx<'a> {
            txn: &'a WriteTransaction,
            $($name: Option<$ty>,)*
        }

        impl<'a> Tx<'a> {
            pub(super) fn open(txn: &'a WriteTransaction) -> Tx<'a> {
                Tx { txn, $($name: None,)* }
            }

            $(
                pub(super) fn $name(&mut self) -> Result<&mut $ty, StoreError> {
                    let table = match self.$name.take() {
                        Some(table) => table,
                        None => self.txn.$open($def)?,
                    };
                    Ok(self.$name.insert(table))
                }
            )*
        }
    };
}

tx_tables! {
    meta: Table<'a, &'static str, u64> = open_table(META),
    customers: Table<'a, u64, &'static [u8]> = open_table(CUSTOMERS),
    emails: Table<'a, &'static str, u64> = open_table(EMAILS),
    identifiers: Table<'a, &'static str, u64> = open_table(IDENTIFIERS),
    tokens: Table<'a, &'static [u8], &'static [u8]> = open_table(TOKENS),
    customer_tokens: MultimapTable<'a, u64, &'static [u8]> = open_multimap_table(CUSTOMER_TOKENS),
    expiry: Table<'a, &'static [u8], ()> = open_table(EXPIRY),
    replay: Table<'a, &'static [u8], i64> = open_table(REPLAY),
    storefront: Table<'a, &'static [u8], &'static [u8]> = open_table(STOREFRONT_TOKENS),
    audit: Table<'a, u64, &'static [u8]> = open_table(AUDIT),
    admin_users: Table<'a, &'static str, &'static [u8]> = open_table(ADMIN_USERS),
    admin_sessions: Table<'a, &'static [u8], &'static [u8]> = open_table(ADMIN_SESSIONS),
    mail_limits: Table<'a, &'static [u8], mail_limits::Row> = open_table(MAIL_LIMITS),
    address_owners: Table<'a, u64, u64> = open_table(ADDRESS_OWNERS),
    oidc_keys: Table<'a, &'static str, &'static [u8]> = open_table(OIDC_KEYS),
    oidc_clients: Table<'a, &'static str, &'static [u8]> = open_table(OIDC_CLIENTS),
    browser_sessions: Table<'a, &'static [u8], &'static [u8]> = open_table(BROWSER_SESSIONS),
    oidc_codes: Table<'a, &'static [u8], &'static [u8]> = open_table(OIDC_CODES),
    oidc_grants: Table<'a, u64, &'static [u8]> = open_table(OIDC_GRANTS),
    refresh_tokens: Table<'a, &'static [u8], &'static [u8]> = open_table(REFRESH_TOKENS),
    oidc_access: Table<'a, &'static [u8], u64> = open_table(OIDC_ACCESS),
    oidc_index: Table<'a, &'static [u8], ()> = open_table(OIDC_INDEX),
    passkey_challenges: Table<'a, &'static [u8], &'static [u8]> = open_table(PASSKEY_CHALLENGES),
    passkey_handles: Table<'a, &'static [u8], u64> = open_table(PASSKEY_HANDLES),
}

impl Tx<'_> {
    pub fn customer(&mut self, id: CustomerId) -> Result<Option<Account>, StoreError> {
        read::customer(self.customers()?, id)
    }

    pub fn customer_id_by_email(&mut self, email: &str) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(self.emails()?, &email_key(email))
    }

    pub fn customer_id_by_identifier(
        &mut self,
        identifier: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        read::id_by(self.identifiers()?, identifier)
    }

    pub fn access_token(
        &mut self,
        digest: &Digest,
    ) -> Result<Option<AccessTokenRecord>, StoreError> {
        read::access_token(self.tokens()?, digest)
    }

    /// Every storefront token with its digest.
    pub fn storefront_tokens(&mut self) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
        read::storefront_tokens(self.storefront()?)
    }

    /// The next value of a named sequence (1, 2, 3, ...).
    pub fn next_id(&mut self, sequence: &str) -> Result<u64, StoreError> {
        let next = self.meta()?.get(sequence)?.map(|v| v.value()).unwrap_or(1);
        self.meta()?.insert(sequence, next + 1)?;
        Ok(next)
    }

    /// Stores a new customer under a fresh id, its addresses (an import's) under fresh ids
    /// too. The caller has checked the email is free.
    pub fn insert_customer(&mut self, mut account: Account) -> Result<Account, StoreError> {
        account.customer.id = CustomerId(self.next_id("next_customer_id")?);
        let book = &mut account.addresses;
        for address in &mut book.addresses {
            let fresh = AddressId(self.next_id("next_address_id")?);
            for slot in [&mut book.default_billing, &mut book.default_shipping] {
                if *slot == Some(address.id) {
                    *slot = Some(fresh);
                }
            }
            address.id = fresh;
        }
        self.put_customer(&account, None)?;
        Ok(account)
    }

    /// The customer whose record holds address `id`.
    pub fn address_owner(&mut self, id: AddressId) -> Result<Option<CustomerId>, StoreError> {
        Ok(self
            .address_owners()?
            .get(id.0)?
            .map(|v| CustomerId(v.value())))
    }

    /// Saves `record`, keeping the email and identifier indexes in step with `previous`.
    pub fn put_customer(
        &mut self,
        account: &Account,
        previous: Option<&Account>,
    ) -> Result<(), StoreError> {
        let (record, previous_customer) = (&account.customer, previous.map(|p| &p.customer));
        let key = email_key(&record.email);
        let mut email_changed = true;
        if let Some(prev) = previous_customer {
            let old_key = email_key(&prev.email);
            email_changed = old_key != key;
            if email_changed {
                self.emails()?.remove(old_key.as_str())?;
            }
            if let Some(old) = &prev.multipass_identifier {
                if record.multipass_identifier.as_ref() != Some(old) {
                    self.identifiers()?.remove(old.as_str())?;
                }
            }
        }
        if email_changed {
            self.emails()?.insert(key.as_str(), record.id.0)?;
        }
        if let Some(ident) = &record.multipass_identifier {
            if previous_customer.and_then(|p| p.multipass_identifier.as_ref()) != Some(ident) {
                self.identifiers()?.insert(ident.as_str(), record.id.0)?;
            }
        }
        let (handle, old_handle) = (
            account.credentials.passkey_handle,
            previous.and_then(|p| p.credentials.passkey_handle),
        );
        if handle != old_handle {
            if let Some(old) = old_handle {
                self.passkey_handles()?.remove(old.as_slice())?;
            }
            if let Some(h) = handle {
                self.passkey_handles()?.insert(h.as_slice(), record.id.0)?;
            }
        }
        self.customers()?
            .insert(record.id.0, encode_customer(account).as_slice())?;
        let before = previous.map(|p| &p.addresses);
        if before != Some(&account.addresses) {
            for gone in before.iter().flat_map(|b| &b.addresses) {
                if account.addresses.get(gone.id).is_none() {
                    self.address_owners()?.remove(gone.id.0)?;
                }
            }
            for address in &account.addresses.addresses {
                if before.and_then(|b| b.get(address.id)).is_none() {
                    self.address_owners()?.insert(address.id.0, record.id.0)?;
                }
            }
        }
        // Per-customer one-time secrets and lockouts are found by the sweeper through the
        // index; only new deadlines need an entry.
        let subject = customer_subject(record.id);
        let before =
            |f: fn(&Credentials) -> Option<Timestamp>| previous.and_then(|p| f(&p.credentials));
        let record = &account.credentials;
        for (now, was, kind) in [
            (
                record.reset_token.as_ref().map(|s| s.expires_at),
                before(|p| p.reset_token.as_ref().map(|s| s.expires_at)),
                Expiring::ResetToken,
            ),
            (
                record.otc.as_ref().map(|s| s.expires_at),
                before(|p| p.otc.as_ref().map(|s| s.expires_at)),
                Expiring::Otc,
            ),
            (
                record.confirmation.as_ref().map(|s| s.expires_at),
                before(|p| p.confirmation.as_ref().map(|s| s.expires_at)),
                Expiring::Confirmation,
            ),
            (
                record.activation.as_ref().map(|s| s.expires_at),
                before(|p| p.activation.as_ref().map(|s| s.expires_at)),
                Expiring::Activation,
            ),
            (
                record.login_code.as_ref().map(|c| c.secret.expires_at),
                before(|p| p.login_code.as_ref().map(|c| c.secret.expires_at)),
                Expiring::LoginCode,
            ),
            (
                record.lockout.lock_expires,
                before(|p| p.lockout.lock_expires),
                Expiring::Lockout,
            ),
        ] {
            if let Some(at) = now {
                if was != Some(at) {
                    self.expiry()?
                        .insert(expiry_key(at, kind, &subject).as_slice(), ())?;
                }
            }
        }
        Ok(())
    }

    /// Deletes a customer with its indexes and every access token it had.
    pub fn delete_customer(&mut self, id: CustomerId) -> Result<bool, StoreError> {
        let Some(Account {
            customer: record,
            addresses,
            credentials,
            ..
        }) = self.customer(id)?
        else {
            return Ok(false);
        };
        self.revoke_customer_tokens(id)?;
        for address in &addresses.addresses {
            self.address_owners()?.remove(address.id.0)?;
        }
        self.emails()?.remove(email_key(&record.email).as_str())?;
        if let Some(ident) = &record.multipass_identifier {
            self.identifiers()?.remove(ident.as_str())?;
        }
        if let Some(handle) = credentials.passkey_handle {
            self.passkey_handles()?.remove(handle.as_slice())?;
        }
        self.customers()?.remove(id.0)?;
        Ok(true)
    }

    pub fn insert_access_token(
        &mut self,
        digest: &Digest,
        record: &AccessTokenRecord,
    ) -> Result<(), StoreError> {
        self.tokens()?
            .insert(digest.as_slice(), record.encode().as_slice())?;
        self.customer_tokens()?
            .insert(record.customer_id.0, digest.as_slice())?;
        self.expiry()?.insert(
            expiry_key(record.expires_at, Expiring::AccessToken, digest).as_slice(),
            (),
        )?;
        Ok(())
    }

    pub fn delete_access_token(&mut self, digest: &Digest) -> Result<bool, StoreError> {
        let removed = {
            let old = self.tokens()?.remove(digest.as_slice())?;
            old.map(|v| AccessTokenRecord::decode(v.value()))
                .transpose()?
        };
        if let Some(record) = removed {
            self.customer_tokens()?
                .remove(record.customer_id.0, digest.as_slice())?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Revokes every access token of a customer; returns how many there were.
    pub fn revoke_customer_tokens(&mut self, id: CustomerId) -> Result<u64, StoreError> {
        let digests: Vec<Vec<u8>> = {
            let values = self.customer_tokens()?.remove_all(id.0)?;
            let mut out = Vec::new();
            for v in values {
                out.push(v?.value().to_vec());
            }
            out
        };
        for d in &digests {
            self.tokens()?.remove(d.as_slice())?;
        }
        self.end_customer_oidc(id)?;
        Ok(digests.len() as u64)
    }

    /// Records a Multipass token as used until `expires_at`. Returns false when it already was.
    pub fn record_replay(
        &mut self,
        digest: &Digest,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        if self.replay()?.get(digest.as_slice())?.is_some() {
            return Ok(false);
        }
        self.replay()?.insert(digest.as_slice(), expires_at)?;
        self.expiry()?.insert(
            expiry_key(expires_at, Expiring::MultipassReplay, digest).as_slice(),
            (),
        )?;
        Ok(true)
    }

    pub fn put_storefront_token(
        &mut self,
        digest: &Digest,
        token: &StorefrontToken,
    ) -> Result<(), StoreError> {
        let bytes = super::records::encode_storefront_token(token);
        self.storefront()?
            .insert(digest.as_slice(), bytes.as_slice())?;
        Ok(())
    }

    pub fn delete_storefront_token(&mut self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self.storefront()?.remove(digest.as_slice())?.is_some())
    }

    /// Appends one audit entry; returns its sequence number.
    pub fn append_audit(&mut self, entry: &[u8]) -> Result<u64, StoreError> {
        let next = self
            .audit()?
            .last()?
            .map(|(k, _)| k.value() + 1)
            .unwrap_or(1);
        self.audit()?.insert(next, entry)?;
        Ok(next)
    }
}
