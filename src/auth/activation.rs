//! Account invites (Shopify's account activation): an admin invites a customer, who gets a
//! mailed link with an activation token and sets their first password with it
//! (`customerActivate`, `customerActivateByUrl`), which confirms and enables the account and
//! signs them in. The token follows every rule of the other one-time secrets (`one_time.rs`):
//! 32 hex characters, only its SHA-256 digest kept on the customer (a new invite replaces the
//! old token), expiry checked on every use, consumed inside the write that sets the password
//! (exactly one racing request wins), swept when expired, and its issue and use audited.

use super::failure::failure_variant;
use super::notify::Notice;
use super::one_time::{url_encode, PasswordSpend, SpendError};
use super::password::PolicyError;
use super::secret::{self, Secret};
use super::Failure;
use super::{audit_entry, AccountUpdate, Auth, Method};
use crate::model::{Account, Customer, OneTimeSecret};
use crate::store::Backend as _;
use crate::store::{Change, CustomerId, Effects, TokenKind, Updated, Who};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteError {
    NotFound,
    /// The account already has a password, is confirmed and is not disabled: Shopify refuses an
    /// activation URL for an enabled customer (the customer resets their password instead).
    AlreadyEnabled,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(InviteError);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationError {
    /// Unknown customer, no live invite, or a token that does not match: one answer, so an
    /// activation does not reveal which customers exist or were invited.
    Mismatch,
    Expired,
    Policy(PolicyError),
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(ActivationError);

impl From<SpendError> for ActivationError {
    fn from(e: SpendError) -> Self {
        match e {
            SpendError::Mismatch => ActivationError::Mismatch,
            SpendError::Expired => ActivationError::Expired,
            SpendError::Policy(p) => ActivationError::Policy(p),
            SpendError::Hash(e) => ActivationError::Failure(e.into()),
            SpendError::Storage(e) => ActivationError::Failure(e.into()),
        }
    }
}

/// Shopify's account states, reduced to what an invite asks: a customer who can already sign
/// in with a password needs no invite.
pub fn is_enabled(account: &Account) -> bool {
    account.credentials.password_hash.is_some()
        && account.customer.confirmed
        && !account.customer.disabled
}

impl Auth {
    /// Issues an activation token for customer `id` (replacing a live one) and mails the link
    /// made from `account.activation_url_template`. The token and the audit entry of its issue
    /// are one write; the mail goes after the commit.
    pub async fn invite(&self, id: CustomerId, admin: &str) -> Result<(), InviteError> {
        let token = secret::hex_code_from(self.random.as_ref());
        let now = self.now();
        let ttl_days = self.policy.activation_ttl_days;
        let slot = OneTimeSecret {
            digest: token.digest(),
            created_at: now,
            expires_at: now + i64::from(ttl_days) * 86_400,
            issued_by: Some(admin.to_string()),
            reason: None,
        };
        let admin = admin.to_string();
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |a| {
                if is_enabled(a) {
                    return Change::Refuse(());
                }
                a.credentials.activation = Some(slot.clone());
                Change::Save(
                    (),
                    Effects {
                        audit: vec![audit_entry(
                            now,
                            &admin,
                            "activation_issued",
                            Some(id),
                            None,
                        )],
                        ..Effects::default()
                    },
                )
            })
            .await?;
        let customer = match outcome {
            Updated::Saved(account, ()) => account.customer,
            Updated::Refused(()) => return Err(InviteError::AlreadyEnabled),
            Updated::NotFound | Updated::EmailTaken => return Err(InviteError::NotFound),
        };
        let link = activation_link(&self.policy.activation_url_template, &customer, &token);
        self.notify(Notice::Invite {
            customer: &customer,
            link: &link,
            ttl_days,
        });
        Ok(())
    }

    /// Activates customer `id` with an invite's token: sets the first password (the policy of
    /// every new password), confirms and enables the account, consumes the token and revokes
    /// any token the customer had; with `reissue`, mints a fresh access token of that kind in
    /// the same write (Shopify's activation signs the customer in).
    pub async fn activate(
        &self,
        id: CustomerId,
        token: &Secret,
        new_password: &Secret,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, ActivationError> {
        let started = Instant::now();
        let result = self.activate_now(id, token, new_password, reissue).await;
        if result.is_err() {
            wait_for_floor(started).await;
        }
        result
    }

    /// The same for a link that names the customer by email (a custom
    /// `account.activation_url_template` with `{email}`): an unknown email answers like a
    /// wrong token, after the same floor.
    pub async fn activate_by_email(
        &self,
        email: &str,
        token: &Secret,
        new_password: &Secret,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, ActivationError> {
        let started = Instant::now();
        let result = match self.customer_by_email(email).await? {
            Some(c) => self.activate_now(c.id, token, new_password, reissue).await,
            None => Err(ActivationError::Mismatch),
        };
        if result.is_err() {
            wait_for_floor(started).await;
        }
        result
    }

    async fn activate_now(
        &self,
        id: CustomerId,
        token: &Secret,
        new_password: &Secret,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, ActivationError> {
        let Some(account) = self.account(id).await? else {
            return Err(ActivationError::Mismatch);
        };
        let spend = PasswordSpend {
            slot: |c| &c.activation,
            method: Method::Activation,
            audit_action: "activation_used",
            activates: true,
        };
        Ok(self
            .spend_for_password(account, token, new_password, reissue, spend)
            .await?)
    }
}

/// The activation link for `customer`: the template with `{id}`, `{token}` and `{email}` filled
/// in, each URL-encoded (as the reset link's placeholders).
pub fn activation_link(template: &str, customer: &Customer, token: &Secret) -> String {
    template
        .replace("{email}", &url_encode(&customer.email))
        .replace("{token}", &url_encode(token.expose()))
        .replace("{id}", &customer.id.to_string())
}

async fn wait_for_floor(started: Instant) {
    if let Some(rest) = super::one_time::REFUSAL_FLOOR.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_fills_every_placeholder_url_encoded() {
        let customer = Customer {
            id: CustomerId(42),
            email: "bob+shop@example.com".into(),
            ..Customer::default()
        };
        let token = Secret::new("0123abcd".to_string());
        assert_eq!(
            activation_link(
                "https://shop.example/account/activate/{id}/{token}?e={email}",
                &customer,
                &token
            ),
            "https://shop.example/account/activate/42/0123abcd?e=bob%2Bshop%40example.com"
        );
    }

    #[test]
    fn only_a_password_confirmed_and_not_disabled_account_is_enabled() {
        let mut a = Account::default();
        a.customer.confirmed = true;
        assert!(!is_enabled(&a), "no password yet");
        a.credentials.password_hash = Some("$argon2id$…".into());
        assert!(is_enabled(&a));
        a.customer.disabled = true;
        assert!(!is_enabled(&a), "disabled");
        a.customer.disabled = false;
        a.customer.confirmed = false;
        assert!(!is_enabled(&a), "unconfirmed");
    }
}
