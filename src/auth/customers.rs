//! Customers: create, read, update (one write per use case), password changes, delete; the
//! email rules.

use super::*;

impl Auth {
    pub async fn create_customer(&self, new: NewCustomer) -> Result<Customer, AccountError> {
        let email = normalize_email(&new.email);
        if !valid_email(&email) {
            return Err(AccountError::InvalidEmail);
        }
        let hash = match &new.password {
            Some(pw) => {
                check_policy(&self.policy.password, pw.expose(), &email)
                    .map_err(AccountError::Policy)?;
                Some(self.passwords.hash(pw).await?)
            }
            None => None,
        };
        let now = self.now();
        let confirmed = new.confirmed.unwrap_or(!self.policy.require_confirmation);
        let account = Account {
            customer: Customer {
                email,
                profile: new.profile,
                created_at: now,
                updated_at: now,
                confirmed,
                disabled: new.disabled,
                allow_remote_shopping_assistance: new.allow_remote_shopping_assistance,
                ..Customer::default()
            },
            credentials: Credentials {
                password_hash: hash,
                ..Credentials::default()
            },
            ..Account::default()
        };
        let audit = new
            .audit_by
            .map(|admin| audit_entry(now, admin, "customer_created", None, None));
        let created = match self.store.create_customer(account, audit).await? {
            Created::Created(c) => c,
            Created::EmailTaken => return Err(AccountError::EmailTaken),
        };
        let created = created.customer;
        if !created.confirmed && self.policy.require_confirmation {
            self.send_confirmation(created.id, new.requested_from)
                .await?;
        }
        Ok(created)
    }

    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        Ok(self.account(id).await?.map(|a| a.customer))
    }

    pub async fn customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError> {
        Ok(self.account_by_email(email).await?.map(|a| a.customer))
    }

    /// The customer with their credentials: for the core's own decisions, the CLI and tests.
    /// Never handed to a dialect, which sees `Customer`.
    pub async fn account(&self, id: CustomerId) -> Result<Option<Account>, StoreError> {
        self.store.customer(id).await
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        self.store.customer_by_email(email).await
    }

    /// Up to `limit` customers with ids above `after`, in id order (keyset paging).
    pub async fn customers_page(
        &self,
        after: CustomerId,
        limit: usize,
    ) -> Result<Vec<Customer>, StoreError> {
        let page = self.store.customers(after, limit).await?;
        Ok(page.into_iter().map(|a| a.customer).collect())
    }

    /// Counts the stored password hashes a sign-in would replace (legacy schemes, argon2 at
    /// another cost), by scheme, and sets `storekey_legacy_password_hashes` to it. One read
    /// of every customer (see `scan_password_hashes`), so it runs after an import, not per
    /// request.
    pub async fn refresh_legacy_hash_gauge(&self) -> Result<u64, StoreError> {
        Ok(self.scan_password_hashes().await?.0)
    }

    /// Every customer read and decoded once, in keyset pages of 1,000: time linear in
    /// customers, memory one page. Sets the legacy-hash gauge and returns its total, with the
    /// costliest hash of each kind for the refusal floor.
    pub(super) async fn scan_password_hashes(
        &self,
    ) -> Result<(u64, super::refusal_floor::Census), StoreError> {
        use super::legacy_hash::{classify, needs_rehash, Argon2Cost, Limits, Scheme};
        let cost = Argon2Cost::from(&self.policy.password);
        let accept_legacy = self.policy.password.accept_legacy_hashes;
        let limits = Limits::default();
        let mut census = super::refusal_floor::Census::default();
        let mut counts: Vec<(&'static str, u64)> =
            Scheme::ALL.iter().map(|s| (s.label(), 0)).collect();
        let mut after = CustomerId(0);
        loop {
            let page = self.store.customers(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.customer.id;
            for account in &page {
                let Some(hash) = account.credentials.password_hash.as_deref() else {
                    continue;
                };
                if needs_rehash(hash, &cost) {
                    census.consider(hash, &cost, accept_legacy);
                    let label = classify(hash, &limits).label();
                    if let Some(slot) = counts.iter_mut().find(|(l, _)| *l == label) {
                        slot.1 += 1;
                    }
                }
            }
        }
        self.metrics.set_legacy_password_hashes(&counts);
        Ok((counts.iter().map(|(_, n)| n).sum(), census))
    }

    /// Applies `changes` in one write (see `update_account`).
    pub async fn update_customer(
        &self,
        id: CustomerId,
        changes: CustomerChanges,
    ) -> Result<Customer, AccountError> {
        Ok(self.update_account(id, changes, None, None).await?.customer)
    }

    /// The password rule, written once: every new password (sign-up, change, reset, admin)
    /// passes it. `email` is the address the account will have.
    pub fn check_new_password(&self, password: &Secret, email: &str) -> Result<(), PolicyError> {
        check_policy(&self.policy.password, password.expose(), email)
    }

    /// Storefront `customerUpdate` and admin `PUT`: the profile, email and password changes
    /// and, when the password changed and `reissue` names a kind, a fresh token, all in one
    /// write (a refusal or a full hash queue leaves nothing half-saved). Disabling revokes every
    /// token; withdrawing remote-assistance permission voids a live admin code; a new password
    /// (policy checked) revokes every token and any live reset token and clears the lockout.
    pub async fn update_account(
        &self,
        id: CustomerId,
        changes: CustomerChanges,
        new_password: Option<Secret>,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, AccountError> {
        let new_email = changes.email.as_deref().map(normalize_email);
        if let Some(email) = &new_email {
            if !valid_email(email) {
                return Err(AccountError::InvalidEmail);
            }
        }
        let hash = match &new_password {
            Some(pw) => {
                let current = self.customer(id).await?.ok_or(AccountError::NotFound)?;
                let email = new_email.as_deref().unwrap_or(&current.email);
                self.check_new_password(pw, email)
                    .map_err(AccountError::Policy)?;
                Some(self.passwords.hash(pw).await?)
            }
            None => None,
        };
        let now = self.now();
        let minted = reissue.map(|kind| self.mint(id, kind, now));
        let new_token = minted.as_ref().map(|(_, t)| t.clone());
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |after| {
                let Account {
                    customer: c,
                    credentials: k,
                    ..
                } = after;
                let before_disabled = c.disabled;
                if let Some(email) = &new_email {
                    c.email = email.clone();
                }
                changes.apply(c);
                let mut revoke = c.disabled && !before_disabled;
                let password_changed = hash.is_some();
                if let Some(hash) = &hash {
                    k.set_password(hash.clone());
                    revoke = true;
                }
                if !c.allow_remote_shopping_assistance {
                    k.otc = None;
                }
                c.updated_at = now;
                let token = new_token
                    .clone()
                    .filter(|_| password_changed && !c.disabled);
                let audit = changes
                    .audit_by
                    .clone()
                    .map(|admin| audit_entry(now, admin, "customer_updated", Some(id), None));
                Change::Save(
                    token.is_some(),
                    Effects {
                        revoke_tokens: revoke,
                        token,
                        audit,
                    },
                )
            })
            .await?;
        match outcome {
            Updated::Saved(after, minted_now) => {
                let token = match minted {
                    Some((token, new)) if minted_now => Some(IssuedToken {
                        customer: after.customer.clone(),
                        token,
                        expires_at: new.record.expires_at,
                        method: Method::Password,
                    }),
                    _ => None,
                };
                Ok(AccountUpdate {
                    customer: after.customer,
                    token,
                })
            }
            Updated::NotFound | Updated::Refused(_) => Err(AccountError::NotFound),
            Updated::EmailTaken => Err(AccountError::EmailTaken),
        }
    }

    /// Checks a signed-in customer's current password the way a sign-in does: a wrong one
    /// counts toward lockout, and a locked account is refused.
    pub async fn check_current_password(
        &self,
        customer: &Customer,
        current: &Secret,
    ) -> Result<(), AccountError> {
        let _turn = self
            .sign_in_turns
            .take(&crate::model::email_key(&customer.email))
            .await;
        // Re-read under the turn: the lockout may have moved since the session was loaded.
        let account = self
            .account(customer.id)
            .await?
            .ok_or(AccountError::NotFound)?;
        let now = self.now();
        if is_locked(&account.credentials.lockout, now) {
            return Err(AccountError::Locked);
        }
        let verified = self
            .passwords
            .verify(account.credentials.password_hash.as_deref(), current)
            .await?;
        if !verified.ok {
            let failure = self
                .record_failure(customer.id)
                .await
                .map_err(|e| match e {
                    SignInError::Storage(s) => AccountError::Storage(s),
                    other => AccountError::Internal(format!("{other:?}")),
                })?;
            return Err(match failure {
                Failure::WhileLocked => AccountError::Locked,
                Failure::Counted | Failure::Locked => AccountError::WrongPassword,
            });
        }
        if let (true, Some(old)) = (verified.needs_rehash, &account.credentials.password_hash) {
            // The check stands whether or not the new hash could be stored.
            let stored = self
                .rehash_after_check(
                    customer.id,
                    old,
                    account.credentials.password_version,
                    current,
                )
                .await;
            if let Err(e) = stored {
                tracing::warn!(customer = customer.id.0, "password rehash not stored: {e}");
            }
        }
        Ok(())
    }

    /// Sets a new password (policy checked) and revokes every token the customer had, plus any
    /// live reset token. Returns the updated record.
    pub async fn set_password(
        &self,
        id: CustomerId,
        new_password: &Secret,
    ) -> Result<Customer, AccountError> {
        let update = self
            .update_account(
                id,
                CustomerChanges::default(),
                Some(new_password.clone()),
                None,
            )
            .await?;
        Ok(update.customer)
    }

    /// Deletes a customer with its tokens and codes; `audit_by` names the admin, whose audit
    /// entry is written in the same commit. False when there was no such customer.
    pub async fn delete_customer(
        &self,
        id: CustomerId,
        audit_by: Option<String>,
    ) -> Result<bool, StoreError> {
        let audit = audit_by
            .map(|admin| audit_entry(self.now(), admin, "customer_deleted", Some(id), None));
        self.store.delete_customer(id, audit).await
    }
}

/// A practical email check: one `@`, a non-empty local part, a dotted domain, no spaces or
/// control characters, at most 254 characters.
pub fn valid_email(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_syntax() {
        assert!(valid_email("bobloblaw@example.com"));
        assert!(!valid_email("bob"));
        assert!(!valid_email("bob@localhost"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email("a@b@example.com"));
        assert!(!valid_email("@example.com"));
    }
}
