//! One-time credentials other than Multipass: password-reset tokens, admin one-time codes
//! (Login as Customer) and account-confirmation keys; the mail that carries them; and the audit
//! log of their issue and use. Each is 32 hex characters, stored as a SHA-256 digest on the
//! customer record (so a new one replaces the old), checked for expiry on every use, and
//! consumed inside the same write that signs in or resets, so exactly one racing request wins.

use super::failure::failure_variant;
use super::limits::RateLimiter;
use super::notify::Notice;
use super::password::{check_policy, HashError, PolicyError};
use super::secret::{self, Secret};
use super::Failure;
use super::{audit_entry, live_matches, valid_email, AccountUpdate, Auth, IssuedToken, Method};
use crate::model::{
    email_key, AccessToken, Account, Credentials, Customer, OneTimeSecret, OtcIssue,
};
use crate::store::{Backend as _, Digest, Timestamp};
use crate::store::{
    Change, CustomerId, Effects, MailLimit, NewToken, Store, StoreError, TokenKind, Updated, Who,
};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Confirmation links stay valid this long (Adobe Commerce's keys never expire; a week is a
/// bound that still covers a slow inbox).
const CONFIRMATION_TTL: i64 = 7 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetError {
    InvalidEmail,
    /// Unknown email or wrong token: one answer, so resets do not reveal which emails exist.
    Mismatch,
    Expired,
    Policy(PolicyError),
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(ResetError);

impl From<SpendError> for ResetError {
    fn from(e: SpendError) -> Self {
        match e {
            SpendError::Mismatch => ResetError::Mismatch,
            SpendError::Expired => ResetError::Expired,
            SpendError::Policy(p) => ResetError::Policy(p),
            SpendError::Hash(e) => ResetError::Failure(e.into()),
            SpendError::Storage(e) => ResetError::Failure(e.into()),
        }
    }
}

/// A one-time secret spent for a new password: where it lives on the customer, and what its
/// use changes besides the password.
#[derive(Clone, Copy)]
pub(super) struct PasswordSpend {
    pub slot: fn(&Credentials) -> &Option<OneTimeSecret>,
    /// The method a token minted by the spend is issued with.
    pub method: Method,
    pub audit_action: &'static str,
    /// An invite's activation token also confirms and enables the account, and its audit entry
    /// names who invited.
    pub activates: bool,
}

/// Why a spend was refused; each use case maps it onto its own error.
pub(super) enum SpendError {
    /// No live secret of that kind, or a different one (also: spent by a racing request).
    Mismatch,
    Expired,
    Policy(PolicyError),
    Hash(HashError),
    Storage(StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtcError {
    NotFound,
    AssistanceNotAllowed,
    Disabled,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(OtcError);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmError {
    InvalidKey,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(ConfirmError);

/// What a value in the reset link keeps unescaped: RFC 3986's unreserved characters.
const URL_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a value for a URL query (`bob+shop@example.com` → `bob%2Bshop%40example.com`).
pub fn url_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, URL_VALUE).to_string()
}

/// How often one address may be mailed, and one client may ask for mail: Adobe Commerce's
/// reset limits (`reset.max_requests_per_hour`, `reset.min_minutes_between`), used for reset
/// and confirmation mail alike. The address's cap and gap are kept in the store, so every
/// instance on one database shares them; the client's budget stays in memory, per instance.
pub struct MailLimits {
    /// Which mail: reset and confirmation counts are kept apart.
    purpose: &'static str,
    per_ip: RateLimiter<IpAddr>,
    per_address: MailLimit,
}

impl MailLimits {
    pub fn new(purpose: &'static str, per_hour: u32, min_minutes_between: u32) -> MailLimits {
        MailLimits {
            purpose,
            per_ip: RateLimiter::new(per_hour, 3600),
            per_address: MailLimit {
                cap: per_hour,
                window: 3600,
                gap: i64::from(min_minutes_between) * 60,
            },
        }
    }

    /// Counts one request. The client's budget is checked first (in memory), so a client over
    /// its limit cannot fill the store with new addresses; then the address's, in one atomic
    /// store write. The store keeps a digest of the address, never the address itself.
    pub async fn allow(
        &self,
        store: &Store,
        email_key: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<bool, StoreError> {
        if ip.is_some_and(|ip| !self.per_ip.allow(&super::limits::ip_key(ip), now)) {
            return Ok(false);
        }
        if self.per_address.cap == 0 && self.per_address.gap <= 0 {
            return Ok(true);
        }
        let key = secret::digest(&format!("{}\n{email_key}", self.purpose));
        store.count_mail_request(key, self.per_address, now).await
    }
}

/// The one-time secrets service's own state: reset mails and confirmation mails, each
/// limited per email and per IP.
pub(super) struct MailLimitPair {
    pub(super) reset: MailLimits,
    pub(super) confirmation: MailLimits,
    /// The hosted pages' sign-in codes (`oidc/login_code.rs`).
    pub(super) login_code: MailLimits,
}

impl Auth {
    /// Starts a password reset. `false` means rate-limited (for every email alike: the
    /// per-address limit is counted in the store, shared by every instance, whether or not the
    /// address has an account). The answer is given before anything that depends on whether the
    /// email has an account: the lookup, the token write and the mail run afterwards, so neither
    /// the answer nor its timing tells.
    pub async fn request_password_reset(
        self: &Arc<Self>,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<bool, StoreError> {
        self.request_password_reset_to(email, ip, None).await
    }

    /// The same with the mailed link made from `link_template` (`{email}`, `{token}`, `{id}`
    /// filled in) instead of `reset.url_template`: the hosted pages link to their own page.
    pub async fn request_password_reset_to(
        self: &Arc<Self>,
        email: &str,
        ip: Option<IpAddr>,
        link_template: Option<String>,
    ) -> Result<bool, StoreError> {
        let started = Instant::now();
        let now = self.now();
        let key = email_key(email);
        let auth = self.clone();
        let email = email.to_string();
        let (decided, decision) = tokio::sync::oneshot::channel();
        // The limit is per address whether or not it has an account: its store write is the
        // same for a known and an unknown email. A known email's lookup, write and mail run
        // after it, beside this answer.
        tokio::spawn(async move {
            let allowed = auth
                .mail_limits
                .reset
                .allow(&auth.store, &key, ip, now)
                .await;
            if let Err(e) = &allowed {
                tracing::error!("password reset limit not checked: {e}");
            }
            let go = matches!(allowed, Ok(true));
            let _ = decided.send(allowed);
            if go {
                if let Err(e) = auth
                    .store_reset_token(&email, now, link_template.as_deref())
                    .await
                {
                    tracing::error!("password reset request not completed: {e}");
                }
            }
        });
        // Every answer waits for a floor well past that work, so neither its cost nor the
        // runtime being busy (which makes timers fire more promptly) can show. The decision
        // (or the store's failure) is told when it comes within `RESET_DECISION_LIMIT`; a
        // store slower than that is answered as accepted, and the decision still governs the
        // mail. Nothing in either depends on whether the email has an account.
        let limit = tokio::time::sleep_until((started + RESET_DECISION_LIMIT).into());
        let answer = tokio::select! {
            decision = decision => decision.ok(),
            () = limit => None,
        };
        wait_for(started, RESET_REQUEST_FLOOR).await;
        answer.unwrap_or(Ok(true))
    }

    /// The work of a reset request: a fresh token for an enabled account, and its mail.
    async fn store_reset_token(
        &self,
        email: &str,
        now: i64,
        link_template: Option<&str>,
    ) -> Result<(), StoreError> {
        let customer = self.customer_by_email(email).await?.filter(|c| !c.disabled);
        let Some(customer) = customer else {
            return Ok(());
        };
        let token = secret::hex_code_from(self.random.as_ref());
        let slot = OneTimeSecret {
            digest: token.digest(),
            created_at: now,
            expires_at: now + i64::from(self.policy.reset_ttl_hours) * 3600,
            issued_by: None,
            reason: None,
        };
        let stored = self
            .store
            .update_customer(Who::Id(customer.id), move |c| {
                c.credentials.reset_token = Some(slot.clone());
                Change::Save((), Effects::default())
            })
            .await?;
        if let Updated::Saved(account, ()) = stored {
            let customer = account.customer;
            let link = link_template
                .unwrap_or(&self.policy.reset_url_template)
                .replace("{email}", &url_encode(&customer.email))
                .replace("{token}", &url_encode(token.expose()))
                .replace("{id}", &customer.id.to_string());
            self.notify(Notice::Reset {
                customer: &customer,
                link: &link,
                ttl_hours: self.policy.reset_ttl_hours,
            });
        }
        Ok(())
    }

    /// Sets a new password with a reset token: consumes the token, clears the lockout and
    /// revokes every access token; with `reissue`, mints a fresh token of that kind in the
    /// same write (Shopify's reset signs the customer in). Adobe Commerce's `resetPassword`.
    pub async fn reset_password(
        &self,
        email: &str,
        token: &Secret,
        new_password: &Secret,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, ResetError> {
        if !valid_email(email.trim()) {
            return Err(ResetError::InvalidEmail);
        }
        let started = Instant::now();
        let result = match self.account_by_email(email).await? {
            Some(account) => {
                self.reset_password_of(account, token, new_password, reissue)
                    .await
            }
            None => Err(ResetError::Mismatch),
        };
        pad_refusal(result, started).await
    }

    /// The same for a customer known by id (Shopify's `customerReset(id, ...)`).
    pub async fn reset_password_by_id(
        &self,
        id: CustomerId,
        token: &Secret,
        new_password: &Secret,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, ResetError> {
        let started = Instant::now();
        let result = match self.account(id).await? {
            Some(account) => {
                self.reset_password_of(account, token, new_password, reissue)
                    .await
            }
            None => Err(ResetError::Mismatch),
        };
        pad_refusal(result, started).await
    }

    async fn reset_password_of(
        &self,
        account: Account,
        token: &Secret,
        new_password: &Secret,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, ResetError> {
        // A locked account may reset: that is how a locked-out customer gets back in (the
        // reset clears the lockout, as Adobe Commerce fixed in magento/magento2#15255).
        let spend = PasswordSpend {
            slot: |c| &c.reset_token,
            method: Method::ResetToken,
            audit_action: "password_reset",
            activates: false,
        };
        let update = self
            .spend_for_password(account, token, new_password, reissue, spend)
            .await?;
        self.metrics.login("reset_password", "success");
        Ok(update)
    }

    /// Spends a live one-time secret of `account` (its reset token, its invite's activation
    /// token) for `new_password`: the password policy, the hash, then one write that checks
    /// the secret again (a racing request may have spent it meanwhile), sets the password
    /// (which voids the secret and ends any lockout), revokes every access token, audits the
    /// use and, with `reissue`, mints a fresh token of that kind.
    pub(super) async fn spend_for_password(
        &self,
        account: Account,
        token: &Secret,
        new_password: &Secret,
        reissue: Option<TokenKind>,
        spend: PasswordSpend,
    ) -> Result<AccountUpdate, SpendError> {
        let now = self.now();
        let digest = token.digest();
        // Only a secret that matches on the snapshot gets the policy check and the hash.
        match (spend.slot)(&account.credentials) {
            Some(slot) if secret::digests_equal(&slot.digest, &digest) => {
                if slot.expires_at <= now {
                    return Err(SpendError::Expired);
                }
            }
            _ => return Err(SpendError::Mismatch),
        }
        check_policy(
            &self.policy.password,
            new_password.expose(),
            &account.customer.email,
        )
        .map_err(SpendError::Policy)?;
        let hash = self
            .passwords
            .hash(new_password)
            .await
            .map_err(SpendError::Hash)?;
        let id = account.customer.id;
        let minted = reissue.map(|kind| self.mint(id, kind, now));
        let new_token = minted.as_ref().map(|(_, t)| t.clone());
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |a| {
                spend_on_record(a, &spend, &digest, &hash, new_token.clone(), now)
            })
            .await
            .map_err(SpendError::Storage)?;
        let Updated::Saved(updated, ()) = outcome else {
            return Err(SpendError::Mismatch);
        };
        let token = minted.map(|(token, new)| IssuedToken {
            customer: updated.customer.clone(),
            token,
            expires_at: new.record.expires_at,
            method: spend.method,
        });
        if token.is_some() {
            self.metrics.login(spend.method.label(), "success");
        }
        Ok(AccountUpdate {
            customer: updated.customer,
            token,
        })
    }

    /// Issues an admin one-time code for Login as Customer. Replaces any live code.
    pub async fn issue_otc(
        &self,
        id: CustomerId,
        admin: &str,
        reason: &str,
    ) -> Result<Secret, OtcError> {
        let code = secret::hex_code_from(self.random.as_ref());
        let now = self.now();
        let slot = OneTimeSecret {
            digest: code.digest(),
            created_at: now,
            expires_at: now + self.policy.otc_ttl,
            issued_by: Some(admin.to_string()),
            reason: Some(reason.to_string()),
        };
        // The switch first, as Adobe Commerce checks it: with the feature off, every request gets
        // one answer, whoever it names.
        if !self.policy.otc_enabled {
            return Err(OtcError::Disabled);
        }
        let admin = admin.to_string();
        let reason = reason.to_string();
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |c| {
                if !c.customer.allow_remote_shopping_assistance {
                    return Change::Refuse(());
                }
                c.credentials.otc = Some(slot.clone());
                let mut entry =
                    audit_entry(now, &admin, "otc_issued", Some(id), Some(reason.clone()));
                entry.otc = Some(OtcIssue {
                    issued_by: admin.clone(),
                    reason: reason.clone(),
                });
                Change::Save(
                    (),
                    Effects {
                        audit: vec![entry],
                        ..Effects::default()
                    },
                )
            })
            .await?;
        match outcome {
            Updated::Saved(..) => Ok(code),
            Updated::Refused(()) => Err(OtcError::AssistanceNotAllowed),
            Updated::NotFound | Updated::EmailTaken => Err(OtcError::NotFound),
        }
    }

    /// Login as Customer without a code: an admin mints a customer token directly (Adobe
    /// Commerce's `generateCustomerTokenAsAdmin`). The same rules as `issue_otc`, in the same
    /// order; the token and its audit entry are one write.
    pub async fn token_as_admin(
        &self,
        email: &str,
        admin: &str,
        kind: TokenKind,
    ) -> Result<IssuedToken, OtcError> {
        if !self.policy.otc_enabled {
            return Err(OtcError::Disabled);
        }
        let now = self.now();
        let admin = admin.to_string();
        // The customer's id is known only inside the write: the token is minted for it there
        // (its digest decided here, so the write stays a pure decision).
        let (token, digest) = secret::mint_access_token(self.random.as_ref());
        let ttl = self.token_ttl(kind);
        let outcome = self
            .store
            .update_customer(Who::Email(email.to_string()), move |c| {
                if !c.customer.allow_remote_shopping_assistance {
                    return Change::Refuse(());
                }
                let record = AccessToken {
                    customer_id: c.customer.id,
                    issued_at: now,
                    expires_at: now + ttl,
                    kind,
                };
                let entry = audit_entry(now, &admin, "token_as_admin", Some(c.customer.id), None);
                Change::Save(
                    (),
                    Effects {
                        token: Some(NewToken { digest, record }),
                        audit: vec![entry],
                        ..Effects::default()
                    },
                )
            })
            .await?;
        match outcome {
            Updated::Saved(customer, ()) => Ok(IssuedToken {
                customer: customer.customer,
                token,
                expires_at: now + ttl,
                method: Method::Admin,
            }),
            Updated::Refused(()) => Err(OtcError::AssistanceNotAllowed),
            Updated::NotFound | Updated::EmailTaken => Err(OtcError::NotFound),
        }
    }

    /// Sends the confirmation mail with a fresh key, if the customer still needs one and the
    /// address (and the asking client) are within the mail limits.
    pub async fn send_confirmation(
        &self,
        id: CustomerId,
        ip: Option<IpAddr>,
    ) -> Result<(), StoreError> {
        let Some(customer) = self.customer(id).await? else {
            return Ok(());
        };
        let now = self.now();
        let email_key = email_key(&customer.email);
        if !self
            .mail_limits
            .confirmation
            .allow(&self.store, &email_key, ip, now)
            .await?
        {
            tracing::debug!(
                customer = id.0,
                "confirmation mail over its limit: not sent"
            );
            return Ok(());
        }
        let key = secret::hex_code_from(self.random.as_ref());
        let slot = OneTimeSecret {
            digest: key.digest(),
            created_at: now,
            expires_at: now + CONFIRMATION_TTL,
            issued_by: None,
            reason: None,
        };
        let stored = self
            .store
            .update_customer(Who::Id(id), move |c| {
                if c.customer.confirmed {
                    return Change::Refuse(());
                }
                c.credentials.confirmation = Some(slot.clone());
                Change::Save((), Effects::default())
            })
            .await?;
        if let Updated::Saved(account, ()) = stored {
            let customer = account.customer;
            self.notify(Notice::Confirmation {
                customer: &customer,
                key: &key,
            });
        }
        Ok(())
    }

    /// `resendConfirmationEmail`: answers the same for every well-formed email, limited like
    /// reset mail. As a reset request, the answer does not wait for anything that depends on
    /// whether the email has an account awaiting confirmation: the lookup, the limit's write,
    /// the key's write and the mail run beside it, and every answer waits for the same floor.
    pub async fn resend_confirmation(self: &Arc<Self>, email: &str, ip: Option<IpAddr>) {
        let started = Instant::now();
        let auth = self.clone();
        let email = email.to_string();
        tokio::spawn(async move {
            if let Err(e) = auth.resend_confirmation_now(&email, ip).await {
                tracing::error!("confirmation resend not completed: {e}");
            }
        });
        wait_for(started, RESET_REQUEST_FLOOR).await;
    }

    async fn resend_confirmation_now(
        &self,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), StoreError> {
        if let Some(c) = self.customer_by_email(email).await? {
            if !c.confirmed && self.policy.require_confirmation {
                self.send_confirmation(c.id, ip).await?;
            }
        }
        Ok(())
    }

    /// `confirmEmail`: marks the account confirmed, its address verified (the key was mailed
    /// to it), and consumes the key.
    pub async fn confirm_email(&self, email: &str, key: &Secret) -> Result<Customer, ConfirmError> {
        let started = Instant::now();
        let result = self.confirm_email_now(email, key).await;
        pad_refusal(result, started).await
    }

    async fn confirm_email_now(&self, email: &str, key: &Secret) -> Result<Customer, ConfirmError> {
        // Unknown, already active and wrong key answer alike, and only a key that matches on
        // the snapshot goes to the writer: no answer or timing tells which emails exist.
        let digest = key.digest();
        let now = self.now();
        let account = self.account_by_email(email).await?;
        let Some(account) =
            account.filter(|a| live_matches(&a.credentials.confirmation, &digest, now))
        else {
            return Err(ConfirmError::InvalidKey);
        };
        let outcome = self
            .store
            .update_customer(Who::Id(account.customer.id), move |c| {
                if !live_matches(&c.credentials.confirmation, &digest, now) {
                    return Change::Refuse(());
                }
                c.customer.confirmed = true;
                c.customer.email_verified = true;
                c.credentials.confirmation = None;
                c.customer.updated_at = now;
                Change::Save((), Effects::default())
            })
            .await?;
        match outcome {
            Updated::Saved(after, ()) => Ok(after.customer),
            _ => Err(ConfirmError::InvalidKey),
        }
    }
}

/// How long a refusal of `confirmEmail` or `resetPassword` takes at least: it costs a read for
/// a known email and an index miss for an unknown one (about 0.1 ms apart on the development
/// machine, see BENCHMARKS.md). A success needs no padding: it announces itself.
pub const REFUSAL_FLOOR: Duration = Duration::from_millis(3);

/// How long every answer to a reset request takes at least (see `request_password_reset`).
pub const RESET_REQUEST_FLOOR: Duration = Duration::from_millis(10);

/// How long a reset request waits for the store's limit decision before answering "accepted"
/// anyway: a store that slow (or stalled) must not hold every reset request.
pub const RESET_DECISION_LIMIT: Duration = Duration::from_secs(1);

async fn wait_for(started: Instant, floor: Duration) {
    if let Some(rest) = floor.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

async fn pad_refusal<T, E>(result: Result<T, E>, started: Instant) -> Result<T, E> {
    if result.is_err() {
        wait_for(started, REFUSAL_FLOOR).await;
    }
    result
}

/// The commit of `spend_for_password` on the stored record: refused unless the secret still
/// matches and is live; else the password is set (voiding the secret, ending any lockout), the
/// address verified (the secret was mailed to it, and an email change voids it), an invite's
/// account is confirmed and enabled, every token revoked, `new_token` minted and the
/// use audited (an invite's with who invited).
fn spend_on_record(
    a: &mut Account,
    spend: &PasswordSpend,
    digest: &Digest,
    hash: &str,
    new_token: Option<NewToken>,
    now: Timestamp,
) -> Change<()> {
    let slot = (spend.slot)(&a.credentials);
    if !live_matches(slot, digest, now) {
        return Change::Refuse(());
    }
    let detail = match (spend.activates, slot) {
        (true, Some(s)) => s.issued_by.as_ref().map(|by| format!("invited by {by}")),
        _ => None,
    };
    a.credentials.set_password(hash.to_owned());
    a.customer.email_verified = true;
    if spend.activates {
        a.customer.confirmed = true;
        a.customer.disabled = false;
    }
    a.customer.updated_at = now;
    let audit = audit_entry(
        now,
        "customer",
        spend.audit_action,
        Some(a.customer.id),
        detail,
    );
    Change::Save(
        (),
        Effects {
            revoke_tokens: true,
            token: new_token,
            audit: vec![audit],
            ..Effects::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::clock::FrozenClock;
    use crate::auth::secret::{hex_code_from, SeededRandom};
    use crate::auth::NewCustomer;

    const NOW: i64 = 1_700_000_000;

    #[tokio::test]
    async fn with_a_frozen_clock_and_a_seeded_source_an_admin_code_is_known_in_advance() {
        // The core on nothing but memory: an in-memory store, a captured mailer.
        let config = crate::config::Config::default();
        let ttl = i64::from(config.otc.ttl_seconds);
        let store = crate::store::Store::from(crate::store::RedbStore::in_memory().unwrap());
        let auth = Auth::new(
            Arc::new(config),
            store,
            Arc::new(FrozenClock(NOW)),
            Arc::new(SeededRandom::new(42)),
            Arc::new(crate::mail::Captured::default()),
            Arc::new(crate::metrics::Metrics::new()),
        )
        .unwrap();
        let customer = auth
            .create_customer(NewCustomer {
                email: "bob@example.com".into(),
                allow_remote_shopping_assistance: true,
                confirmed: Some(true),
                ..NewCustomer::default()
            })
            .await
            .unwrap();
        let code = auth.issue_otc(customer.id, "ops", "call").await.unwrap();
        assert_eq!(
            code.expose(),
            hex_code_from(&SeededRandom::new(42)).expose()
        );
        let stored = auth.account(customer.id).await.unwrap().unwrap();
        let otc = stored.credentials.otc.unwrap();
        assert_eq!((otc.created_at, otc.expires_at), (NOW, NOW + ttl));
        assert_eq!(otc.digest, code.digest());
    }
}
