//! Access tokens: minting, authenticating, renewing and revoking, and admin keys.

use super::*;
use crate::store::Backend as _;

impl Auth {
    /// A fresh access token for `id`: the token for the client, its digest and record for
    /// the store.
    pub(crate) fn mint(
        &self,
        id: CustomerId,
        kind: TokenKind,
        now: Timestamp,
    ) -> (Secret, NewToken) {
        let (token, digest) = secret::mint_access_token(self.random.as_ref());
        let record = AccessToken {
            customer_id: id,
            issued_at: now,
            expires_at: now + self.token_ttl(kind),
            kind,
        };
        let new = NewToken { digest, record };
        (token, new)
    }

    pub(crate) fn token_ttl(&self, kind: TokenKind) -> i64 {
        self.policy.token_ttl(kind)
    }

    /// Mints a token for a customer without a credential: used after Multipass has been
    /// verified and by admin "Login as Customer".
    pub async fn issue_for(
        &self,
        id: CustomerId,
        kind: TokenKind,
        method: Method,
    ) -> Result<IssuedToken, SignInError> {
        let (token, new_token) = self.mint(id, kind, self.now());
        let expires_at = new_token.record.expires_at;
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |_| {
                Change::Save(
                    (),
                    Effects {
                        token: Some(new_token.clone()),
                        ..Effects::default()
                    },
                )
            })
            .await?;
        let Updated::Saved(customer, ()) = outcome else {
            return Err(SignInError::UnknownEmail);
        };
        let issued = IssuedToken {
            customer: customer.customer,
            token,
            expires_at,
            method,
        };
        self.metrics.login(method.label(), "success");
        Ok(issued)
    }

    // ------------------------------------------------------------------ tokens

    /// The name of the admin key `presented` is, if any (compared as digests, in constant time).
    pub fn admin_key_name(&self, presented: &str) -> Option<String> {
        let d = secret::digest(presented);
        let mut found = None;
        for (name, key) in &self.admin.keys {
            if digests_equal(key, &d) && found.is_none() {
                found = Some(name.clone());
            }
        }
        found
    }

    /// The session behind an access token, if it is live and its customer enabled. Expiry is
    /// checked here on every use, whether or not the sweeper has run. A token is looked up by
    /// its key, then by its plain digest (how earlier builds stored tokens): a live token costs
    /// one read, an unknown one two.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        for digest in secret::access_token_lookups(token) {
            let Some((
                record,
                Account {
                    customer,
                    credentials,
                    ..
                },
            )) = self.store.session(&digest).await?
            else {
                continue;
            };
            if record.expires_at <= self.now() || customer.disabled {
                return Ok(None);
            }
            return Ok(Some(Session {
                lock_expires: credentials.lockout.lock_expires,
                customer,
                token_digest: digest,
                token: record,
            }));
        }
        Ok(None)
    }

    /// Why a live session may not act as its customer right now: the account is locked, or it
    /// is unconfirmed while confirmation is required. `None` when it may.
    pub fn session_refusal(&self, session: &Session) -> Option<SessionRefusal> {
        let customer = &session.customer;
        if matches!(session.lock_expires, Some(t) if t > self.now()) {
            Some(SessionRefusal::Locked)
        } else if !customer.confirmed && self.policy.require_confirmation {
            Some(SessionRefusal::NotConfirmed)
        } else {
            None
        }
    }

    /// Revokes one token, or all the customer's tokens when `all`.
    pub async fn revoke(&self, session: &Session, all: bool) -> Result<(), StoreError> {
        let digest = session.token_digest;
        let id = session.customer.id;
        if all {
            self.store.revoke_customer_tokens(id).await?;
        } else {
            self.store.delete_token(digest).await?;
        }
        Ok(())
    }

    /// Extends a live token by its kind's lifetime from now. `None` when it is not live.
    pub async fn renew(&self, token: &str) -> Result<Option<Timestamp>, StoreError> {
        let Some(session) = self.authenticate(token).await? else {
            return Ok(None);
        };
        let now = self.now();
        let mut record = session.token;
        record.expires_at = now + self.token_ttl(record.kind);
        let renewed = self
            .store
            .renew_token(NewToken {
                digest: session.token_digest,
                record,
            })
            .await?;
        Ok(renewed.then_some(record.expires_at))
    }

    /// Deletes a token by its value; false when it was not live.
    pub async fn delete_token(&self, token: &str) -> Result<bool, StoreError> {
        let Some(session) = self.authenticate(token).await? else {
            return Ok(false);
        };
        self.store.delete_token(session.token_digest).await
    }
}
