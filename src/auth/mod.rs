//! The sign-in core: everything about customers, credentials and tokens, with no HTTP and no
//! dialect in it. Both GraphQL dialects and the admin API call these functions, so a rule fixed
//! here is fixed everywhere.
//!
//! One `sign_in` evaluates a presented secret in Adobe Commerce's order (account password, then
//! the live reset token, then the live admin one-time code), applies lockout and the per-IP
//! throttle, and ends in one `issue_token`. Multipass ends in the same `issue_token`.

/// Every error enum of the core has a `Storage(String)` variant for failures of the store.
macro_rules! storage_error {
    ($error:ident) => {
        impl From<crate::store::StoreError> for $error {
            fn from(e: crate::store::StoreError) -> Self {
                $error::Storage(e.to_string())
            }
        }
    };
}

pub mod clock;
pub mod limits;
pub mod multipass;
pub mod multipass_sign_in;
pub mod one_time;
pub mod password;
pub mod secret;
pub mod storefront_tokens;
pub mod turns;

use crate::config::Config;
use crate::metrics::Metrics;
pub use crate::model::{AuditEntry, Customer, Profile};
pub use crate::store::StoreError;
use crate::store::{
    AccessTokenRecord, Change, Created, CustomerId, CustomerRecord, Digest, Effects, Lockout,
    NewToken, OneTimeSecret, Store, Timestamp, TokenKind, Updated, Who,
};
use clock::Clock;
use limits::{RateLimiter, RecentFailures};
use password::{check_policy, HashError, PasswordPool, PolicyError};
use secret::{digests_equal, Secret};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a sign-in failed. Dialects show one generic message for every variant but
/// `NotConfirmed` and `Busy`; the variant goes to metrics and debug logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    UnknownEmail,
    WrongSecret,
    Locked,
    Disabled,
    Throttled,
    /// The one-time credential was consumed by a concurrent request first.
    Raced,
    NotConfirmed,
    Busy,
    Storage(String),
}

impl SignInError {
    pub fn label(&self) -> &'static str {
        match self {
            SignInError::UnknownEmail => "unknown_email",
            SignInError::WrongSecret => "wrong_secret",
            SignInError::Locked => "locked",
            SignInError::Disabled => "disabled",
            SignInError::Throttled => "throttled",
            SignInError::Raced => "raced",
            SignInError::NotConfirmed => "not_confirmed",
            SignInError::Busy => "busy",
            SignInError::Storage(_) => "error",
        }
    }
}

storage_error!(SignInError);

/// Errors of customer management (create, update, password and email changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    InvalidEmail,
    EmailTaken,
    Policy(PolicyError),
    /// The current password presented for a change is wrong (counts toward lockout).
    WrongPassword,
    Locked,
    NotFound,
    Busy,
    Storage(String),
}

storage_error!(AccountError);

impl From<HashError> for AccountError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AccountError::Busy,
            HashError::Failed(m) => AccountError::Storage(m),
        }
    }
}

/// Which secrets `sign_in` may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// `generateCustomerToken` / `customerAccessTokenCreate`: password, reset token, admin code.
    Any,
    /// `exchangeOtpForCustomerToken`: reset token or admin code only.
    OneTimeOnly,
}

/// The credential that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    ResetToken,
    Otc,
    Multipass,
    Admin,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::ResetToken => "reset_token",
            Method::Otc => "otc",
            Method::Multipass => "multipass",
            Method::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SignInRequest {
    pub email: String,
    pub secret: Secret,
    pub ip: Option<IpAddr>,
    pub accept: Accept,
    pub kind: TokenKind,
}

/// A minted access token and whom it signs in.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub customer: Customer,
    pub token: Secret,
    pub expires_at: Timestamp,
    pub method: Method,
}

/// Why a live session is refused (see `Auth::session_refusal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRefusal {
    Locked,
    NotConfirmed,
}

/// A request authenticated by an access token.
#[derive(Debug, Clone)]
pub struct Session {
    pub customer: Customer,
    pub token_digest: Digest,
    pub token: AccessTokenRecord,
    /// The account's lock as it was when the token was read (see `session_refusal`).
    lock_expires: Option<Timestamp>,
}

/// Fields a customer may give at creation.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    pub email: String,
    pub password: Option<Secret>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub middlename: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<i32>,
    pub taxvat: Option<String>,
    pub is_subscribed: bool,
    pub phone: Option<String>,
    pub allow_remote_shopping_assistance: bool,
    /// Admin-created customers may be marked confirmed; self-registered ones are confirmed
    /// unless `account.require_confirmation` is on.
    pub confirmed: Option<bool>,
    pub disabled: bool,
    /// The admin creating the customer: the audit entry goes into the same commit.
    pub audit_by: Option<String>,
    /// Where a self-registration came from: its confirmation mail counts toward that
    /// address's mail limit.
    pub requested_from: Option<IpAddr>,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub middlename: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<i32>,
    pub taxvat: Option<String>,
    pub is_subscribed: Option<bool>,
    pub phone: Option<String>,
    pub allow_remote_shopping_assistance: Option<bool>,
    pub confirmed: Option<bool>,
    pub disabled: Option<bool>,
    pub email: Option<String>,
    /// The admin making the change: the audit entry goes into the same commit.
    pub audit_by: Option<String>,
}

/// What `update_account` saved: the customer as it is now, and the token minted in the same
/// write when one was asked for and the password changed.
#[derive(Debug, Clone)]
pub struct AccountUpdate {
    pub customer: Customer,
    pub token: Option<IssuedToken>,
}

/// The sign-in core. One per server, shared by all requests.
pub struct Auth {
    pub config: Arc<Config>,
    pub store: Store,
    pub passwords: PasswordPool,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    login_throttle: RateLimiter<IpAddr>,
    /// Failed sign-ins of the last `lockout.repeat_window_seconds`, as keyed tags: an identical
    /// retry counts once toward lockout and the throttle.
    recent_failures: RecentFailures,
    /// Moving average of one argon2 verify, in microseconds: failures that skip the hash
    /// (locked, throttled, disabled) are padded to it so timing reveals nothing.
    verify_micros: AtomicU64,
    /// Admin keys as (name, SHA-256): from `[admin] keys`, plus `STOREKEY_ADMIN_KEY` as "env".
    admin_keys: Vec<(String, Digest)>,
    /// Reset mails and confirmation mails, each limited per email and per IP.
    reset_mail: one_time::MailLimits,
    confirmation_mail: one_time::MailLimits,
    pub mailer: Arc<dyn crate::mail::MailTransport>,
    /// Storefront tokens by digest; `None` until first use and after any change.
    storefront_cache: std::sync::RwLock<
        Option<std::collections::HashMap<Digest, storefront_tokens::StorefrontToken>>,
    >,
    storefront_generation: AtomicU64,
    /// One credential check at a time per email (see `turns`).
    sign_in_turns: turns::Turns,
}

impl Auth {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Result<Auth, String> {
        let passwords = PasswordPool::new(&config.password, config.hash_workers())
            .map_err(|e| format!("password pool: {e:?}"))?;
        let mut admin_keys = Vec::new();
        for key in &config.admin.keys {
            let mut d = [0u8; 32];
            // Validated as 64 hex characters by Config::validate.
            if hex::decode_to_slice(&key.sha256, &mut d).is_ok() {
                admin_keys.push((key.name.clone(), d));
            }
        }
        if let Some(key) = &config.admin.env_key {
            admin_keys.push(("env".to_string(), secret::digest(key)));
        }
        let mailer = crate::mail::transport_from_config(&config.mail).map_err(|e| e.to_string())?;
        let per_hour = config.reset.max_requests_per_hour;
        Ok(Auth {
            reset_mail: one_time::MailLimits::new(per_hour, config.reset.min_minutes_between),
            confirmation_mail: one_time::MailLimits::new(
                per_hour,
                config.reset.min_minutes_between,
            ),
            mailer,
            storefront_cache: std::sync::RwLock::new(None),
            storefront_generation: AtomicU64::new(0),
            sign_in_turns: turns::Turns::default(),
            admin_keys,
            login_throttle: RateLimiter::new(config.throttle.login_per_ip_per_minute, 60),
            recent_failures: RecentFailures::new(config.lockout.repeat_window_seconds)?,
            config,
            store,
            passwords,
            clock,
            metrics,
            verify_micros: AtomicU64::new(0),
        })
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    // ------------------------------------------------------------------ sign-in

    /// Signs a customer in with a password, reset token or admin code, in that order.
    pub async fn sign_in(&self, req: SignInRequest) -> Result<IssuedToken, SignInError> {
        let started = Instant::now();
        let result = self.sign_in_inner(&req, started).await;
        match &result {
            Ok(t) => self.metrics.login(t.method.label(), "success"),
            Err(e) => {
                // One outcome for every refusal: which one it was would tell which emails have
                // accounts (the reason is in the debug log, never in the answer or metrics).
                let outcome = match e {
                    SignInError::Busy => "busy",
                    SignInError::Storage(_) => "error",
                    _ => "failure",
                };
                self.metrics.login("credentials", outcome);
                tracing::debug!(reason = e.label(), "sign-in refused");
            }
        }
        result
    }

    async fn sign_in_inner(
        &self,
        req: &SignInRequest,
        started: Instant,
    ) -> Result<IssuedToken, SignInError> {
        let now = self.now();
        let ip = req.ip.map(limits::ip_key);
        // An address that has spent its limit is refused before anything else; it is counted
        // below, once the attempt is known not to repeat one already counted.
        if let Some(ip) = ip {
            if self.login_throttle.over(&ip, now) {
                self.pad_failure(started).await;
                return Err(SignInError::Throttled);
            }
        }
        // One check at a time per email, known or not: each sees the lockout the last left.
        let email_key = CustomerRecord::email_key(&req.email);
        let _turn = self.sign_in_turns.take(&email_key).await;
        let customer = self.record_by_email(&req.email)?;
        // Every refusal below costs what a wrong password for a real account costs: one argon2
        // verify (or a wait as long as one) and one durable write (the failure count, or a
        // decoy write where there is nothing to count), so no amount of work tells them apart.
        let refusal = match &customer {
            None => Some(SignInError::UnknownEmail),
            Some(c) if c.disabled => Some(SignInError::Disabled),
            Some(c) if is_locked(&c.lockout, now) => Some(SignInError::Locked),
            Some(_) => None,
        };

        // The attempt as a keyed tag: email, secret, client address, what is accepted, and the
        // account's state (a new password, an ended lock or a new account is a new attempt).
        let state = match &customer {
            None => Vec::new(),
            Some(c) => [
                c.id.to_be_bytes().as_slice(),
                &c.password_version.to_be_bytes(),
                &[u8::from(c.disabled), u8::from(is_locked(&c.lockout, now))],
            ]
            .concat(),
        };
        let ip_bytes = match ip {
            Some(IpAddr::V4(v4)) => v4.octets().to_vec(),
            Some(IpAddr::V6(v6)) => v6.octets().to_vec(),
            None => Vec::new(),
        };
        let accept: &[u8] = match req.accept {
            Accept::Any => b"any",
            Accept::OneTimeOnly => b"one-time",
        };
        let attempt = self.recent_failures.tag(&[
            email_key.as_bytes(),
            req.secret.expose().as_bytes(),
            &ip_bytes,
            accept,
            &state,
        ]);
        if self.recent_failures.seen(&attempt, now) {
            // A retry of a refusal counted moments ago: the same answer at the same cost (a
            // wait as long as a verify, one decoy write), counted toward nothing. No verify: a
            // retry is not counted by the throttle, so it must not buy argon2 work either.
            self.pad_failure(started).await;
            self.decoy_write().await?;
            return Err(refusal.unwrap_or(SignInError::WrongSecret));
        }
        if let Some(ip) = ip {
            if !self.login_throttle.allow(&ip, now) {
                self.pad_failure(started).await;
                return Err(SignInError::Throttled);
            }
        }
        let (Some(customer), None) = (customer, refusal.clone()) else {
            // A real verify against the dummy hash where passwords are accepted, the same
            // padding as a one-time-only refusal where not.
            match req.accept {
                Accept::Any => {
                    self.timed_verify(None, &req.secret).await?;
                }
                Accept::OneTimeOnly => self.pad_failure(started).await,
            }
            self.decoy_write().await?;
            self.recent_failures.remember(attempt, now);
            return Err(refusal.unwrap_or(SignInError::UnknownEmail));
        };

        let digest = req.secret.digest();
        let mut method = None;
        if req.accept == Accept::Any
            && self
                .timed_verify(customer.password_hash.as_deref(), &req.secret)
                .await?
        {
            method = Some(Method::Password);
        }
        if method.is_none() && live_matches(&customer.reset_token, &digest, now) {
            method = Some(Method::ResetToken);
        }
        if method.is_none()
            && self.otc_usable(&customer)
            && live_matches(&customer.otc, &digest, now)
        {
            method = Some(Method::Otc);
        }

        let Some(method) = method else {
            // Without a password verify, a refusal still waits as long as one: a success
            // needs no padding, it announces itself.
            if req.accept == Accept::OneTimeOnly {
                self.pad_failure(started).await;
            }
            self.record_failure(customer.id).await?;
            self.recent_failures.remember(attempt, now);
            return Err(SignInError::WrongSecret);
        };
        if self.config.account.require_confirmation && !customer.confirmed {
            return Err(SignInError::NotConfirmed);
        }

        // Commit: consume a one-time credential (only if still the live one), clear the
        // lockout, mint the token. All in one write, so concurrent uses of one code cannot
        // both win.
        let password_version = customer.password_version;
        let otc_enabled = self.config.otc.enabled;
        let (token, new_token) = self.mint(customer.id, req.kind, now);
        let expires_at = new_token.record.expires_at;
        let outcome = self
            .store
            .update_customer(Who::Id(customer.id), move |c| {
                match commit_sign_in(c, method, &digest, password_version, otc_enabled, now) {
                    Err(refusal) => Change::Refuse(Err(refusal)),
                    Ok(audit) => Change::Save(
                        Ok(()),
                        Effects {
                            token: Some(new_token.clone()),
                            audit,
                            ..Effects::default()
                        },
                    ),
                }
            })
            .await?;
        match outcome {
            Updated::Saved(after, _) => Ok(IssuedToken {
                customer: after.customer(),
                token,
                expires_at,
                method,
            }),
            Updated::Refused(refusal) => Err(refusal.err().unwrap_or(SignInError::Raced)),
            Updated::NotFound | Updated::EmailTaken => Err(SignInError::UnknownEmail),
        }
    }

    fn otc_usable(&self, customer: &CustomerRecord) -> bool {
        self.config.otc.enabled && customer.allow_remote_shopping_assistance
    }

    async fn timed_verify(&self, phc: Option<&str>, secret: &Secret) -> Result<bool, SignInError> {
        let started = Instant::now();
        let ok = self
            .passwords
            .verify(phc, secret)
            .await
            .map_err(|e| match e {
                HashError::Busy => SignInError::Busy,
                HashError::Failed(m) => SignInError::Storage(m),
            })?;
        let micros = started.elapsed().as_micros() as u64;
        let old = self.verify_micros.load(Ordering::Relaxed);
        let avg = if old == 0 {
            micros
        } else {
            (old * 7 + micros) / 8
        };
        self.verify_micros.store(avg, Ordering::Relaxed);
        Ok(ok)
    }

    /// Waits until a refusal has taken about as long as a password verify would have.
    async fn pad_failure(&self, started: Instant) {
        let target = Duration::from_micros(self.verify_micros.load(Ordering::Relaxed));
        if let Some(rest) = target.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }

    /// Adobe Commerce's `processAuthenticationFailure`: counts a failure and locks the account
    /// at `max_failures` for `lock_minutes`; a failure after an expired lock starts over at 1.
    async fn record_failure(&self, id: CustomerId) -> Result<(), SignInError> {
        let max = self.config.lockout.max_failures;
        let minutes = self.config.lockout.lock_minutes;
        if max == 0 || minutes == 0 {
            // Nothing to count, but the same durable work as when there is.
            return self.decoy_write().await;
        }
        let now = self.now();
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |c| {
                let locked_now = count_failure(&mut c.lockout, now, max, minutes);
                Change::Save(locked_now, Effects::default())
            })
            .await?;
        let locked = matches!(outcome, Updated::Saved(_, true));
        if locked {
            self.metrics.lockouts.inc();
            tracing::info!(
                customer = id,
                "account locked after repeated sign-in failures"
            );
        }
        Ok(())
    }

    /// One small durable write that changes nothing a client can see (a counter in the store's
    /// metadata): refusals that have nothing to record still cost what a recorded one costs.
    async fn decoy_write(&self) -> Result<(), SignInError> {
        Ok(self.store.record_refusal().await?)
    }

    /// A fresh access token for `id`: the token for the client, its digest and record for
    /// the store.
    pub(crate) fn mint(
        &self,
        id: CustomerId,
        kind: TokenKind,
        now: Timestamp,
    ) -> (Secret, NewToken) {
        let token = secret::new_access_token();
        let record = AccessTokenRecord {
            customer_id: id,
            issued_at: now,
            expires_at: now + self.token_ttl(kind),
            kind,
        };
        let new = NewToken {
            digest: token.digest(),
            record,
        };
        (token, new)
    }

    pub(crate) fn token_ttl(&self, kind: TokenKind) -> i64 {
        match kind {
            TokenKind::Commerce => i64::from(self.config.tokens.commerce_ttl_minutes) * 60,
            TokenKind::Storefront => i64::from(self.config.tokens.storefront_ttl_days) * 86_400,
        }
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
            customer: customer.customer(),
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
        for (name, key) in &self.admin_keys {
            if digests_equal(key, &d) && found.is_none() {
                found = Some(name.clone());
            }
        }
        found
    }

    /// The session behind an access token, if it is live and its customer enabled. Expiry is
    /// checked here on every use, whether or not the sweeper has run.
    pub fn authenticate(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let digest = secret::digest(token);
        let reader = self.store.read()?;
        let Some(record) = reader.access_token(&digest)? else {
            return Ok(None);
        };
        if record.expires_at <= self.now() {
            return Ok(None);
        }
        let Some(customer) = reader.customer(record.customer_id)? else {
            return Ok(None);
        };
        if customer.disabled {
            return Ok(None);
        }
        Ok(Some(Session {
            lock_expires: customer.lockout.lock_expires,
            customer: customer.customer(),
            token_digest: digest,
            token: record,
        }))
    }

    /// Why a live session may not act as its customer right now: the account is locked, or it
    /// is unconfirmed while confirmation is required. `None` when it may.
    pub fn session_refusal(&self, session: &Session) -> Option<SessionRefusal> {
        let customer = &session.customer;
        if matches!(session.lock_expires, Some(t) if t > self.now()) {
            Some(SessionRefusal::Locked)
        } else if !customer.confirmed && self.config.account.require_confirmation {
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
        let Some(session) = self.authenticate(token)? else {
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
        if self.authenticate(token)?.is_none() {
            return Ok(false);
        }
        self.store.delete_token(secret::digest(token)).await
    }

    // ------------------------------------------------------------------ customers

    pub async fn create_customer(&self, new: NewCustomer) -> Result<Customer, AccountError> {
        let email = normalize_email(&new.email);
        if !valid_email(&email) {
            return Err(AccountError::InvalidEmail);
        }
        let hash = match &new.password {
            Some(pw) => {
                check_policy(&self.config.password, pw.expose(), &email)
                    .map_err(AccountError::Policy)?;
                Some(self.passwords.hash(pw).await?)
            }
            None => None,
        };
        let now = self.now();
        let confirmed = new
            .confirmed
            .unwrap_or(!self.config.account.require_confirmation);
        let record = CustomerRecord {
            email,
            firstname: new.firstname,
            lastname: new.lastname,
            middlename: new.middlename,
            prefix: new.prefix,
            suffix: new.suffix,
            date_of_birth: new.date_of_birth,
            gender: new.gender,
            taxvat: new.taxvat,
            is_subscribed: new.is_subscribed,
            phone: new.phone,
            password_hash: hash,
            created_at: now,
            updated_at: now,
            confirmed,
            disabled: new.disabled,
            allow_remote_shopping_assistance: new.allow_remote_shopping_assistance,
            ..CustomerRecord::default()
        };
        let audit = new
            .audit_by
            .map(|admin| audit_entry(now, admin, "customer_created", None, None));
        let created = match self.store.create_customer(record, audit).await? {
            Created::Created(c) => c,
            Created::EmailTaken => return Err(AccountError::EmailTaken),
        };
        if !created.confirmed && self.config.account.require_confirmation {
            self.send_confirmation(created.id, new.requested_from)
                .await?;
        }
        Ok(created.customer())
    }

    pub fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        Ok(self.record(id)?.map(|r| r.customer()))
    }

    pub fn customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError> {
        Ok(self.record_by_email(email)?.map(|r| r.customer()))
    }

    /// The stored record, credentials included: for the core's own decisions, the CLI and
    /// tests. Never handed to a dialect, which sees `Customer`.
    pub fn record(&self, id: CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        self.store.read()?.customer(id)
    }

    pub fn record_by_email(&self, email: &str) -> Result<Option<CustomerRecord>, StoreError> {
        self.store.read()?.customer_by_email(email)
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
        check_policy(&self.config.password, password.expose(), email)
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
                let current = self.customer(id)?.ok_or(AccountError::NotFound)?;
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
                let before_disabled = after.disabled;
                if let Some(email) = &new_email {
                    after.email = email.clone();
                }
                apply_changes(after, &changes);
                let mut revoke = after.disabled && !before_disabled;
                let password_changed = hash.is_some();
                if let Some(hash) = &hash {
                    after.password_hash = Some(hash.clone());
                    after.password_version = after.password_version.wrapping_add(1);
                    after.reset_token = None;
                    after.lockout = Lockout::default();
                    revoke = true;
                }
                if !after.allow_remote_shopping_assistance {
                    after.otc = None;
                }
                after.updated_at = now;
                let token = new_token
                    .clone()
                    .filter(|_| password_changed && !after.disabled);
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
                        customer: after.customer(),
                        token,
                        expires_at: new.record.expires_at,
                        method: Method::Password,
                    }),
                    _ => None,
                };
                Ok(AccountUpdate {
                    customer: after.customer(),
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
            .take(&CustomerRecord::email_key(&customer.email))
            .await;
        // Re-read under the turn: the lockout may have moved since the session was loaded.
        let customer = self.record(customer.id)?.ok_or(AccountError::NotFound)?;
        let now = self.now();
        if is_locked(&customer.lockout, now) {
            return Err(AccountError::Locked);
        }
        let ok = self
            .passwords
            .verify(customer.password_hash.as_deref(), current)
            .await?;
        if !ok {
            self.record_failure(customer.id)
                .await
                .map_err(|e| AccountError::Storage(format!("{e:?}")))?;
            return Err(AccountError::WrongPassword);
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

/// The commit of a sign-in, decided on the stored record: the credential that matched on the
/// snapshot must still be the live one (else another request won it, `Raced`), and the
/// account must still be enabled and unlocked. Consumes a one-time credential, clears the
/// lockout, and returns the audit entry that the use of a reset token or admin code writes.
fn commit_sign_in(
    c: &mut CustomerRecord,
    method: Method,
    digest: &Digest,
    password_version: u32,
    otc_enabled: bool,
    now: Timestamp,
) -> Result<Option<AuditEntry>, SignInError> {
    let mut audit = None;
    match method {
        Method::Password => {
            if c.password_version != password_version {
                return Err(SignInError::Raced);
            }
        }
        Method::ResetToken => {
            if !live_matches(&c.reset_token, digest, now) {
                return Err(SignInError::Raced);
            }
            c.reset_token = None;
            audit = Some(audit_entry(
                now,
                "customer",
                "reset_token_used",
                Some(c.id),
                None,
            ));
        }
        Method::Otc => {
            if !(otc_enabled
                && c.allow_remote_shopping_assistance
                && live_matches(&c.otc, digest, now))
            {
                return Err(SignInError::Raced);
            }
            let (by, reason) = c
                .otc
                .take()
                .map(|o| (o.issued_by, o.reason))
                .unwrap_or_default();
            let detail = format!(
                "issued by {}; reason: {}",
                by.unwrap_or_default(),
                reason.unwrap_or_default()
            );
            audit = Some(audit_entry(
                now,
                "customer",
                "otc_used",
                Some(c.id),
                Some(detail),
            ));
        }
        Method::Multipass | Method::Admin => {}
    }
    if c.disabled {
        return Err(SignInError::Disabled);
    }
    // The lock may have been reached since the read (another instance, or a failure committed
    // meanwhile): the commit decides.
    if is_locked(&c.lockout, now) {
        return Err(SignInError::Locked);
    }
    c.lockout = Lockout::default();
    Ok(audit)
}

/// Adobe Commerce's `processAuthenticationFailure` on the lockout columns: counts a failure and
/// locks at `max` failures for `minutes`; the first failure, or one after an expired lock,
/// starts over at 1. True when this failure engaged the lock.
pub fn count_failure(l: &mut Lockout, now: Timestamp, max: u32, minutes: u32) -> bool {
    let mut failures = l.failures + 1;
    let lock_expired = matches!(l.lock_expires, Some(t) if now > t);
    let mut locked_now = false;
    if failures == 1 || l.first_failure.is_none() || lock_expired {
        l.first_failure = Some(now);
        failures = 1;
        l.lock_expires = None;
    } else if failures >= max {
        l.lock_expires = Some(now + i64::from(minutes) * 60);
        locked_now = true;
    }
    l.failures = failures;
    locked_now
}

/// An audit entry written by the core.
pub(crate) fn audit_entry(
    at: Timestamp,
    actor: impl Into<String>,
    action: &'static str,
    subject: Option<CustomerId>,
    detail: Option<String>,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.into(),
        action,
        subject,
        detail,
    }
}

pub fn is_locked(lockout: &Lockout, now: Timestamp) -> bool {
    matches!(lockout.lock_expires, Some(t) if t > now)
}

/// A one-time secret matches when it is live and its digest equals, compared in constant time.
pub fn live_matches(slot: &Option<OneTimeSecret>, digest: &Digest, now: Timestamp) -> bool {
    match slot {
        Some(s) => s.expires_at > now && digests_equal(&s.digest, digest),
        None => false,
    }
}

/// An email as storekey keeps it: trimmed and in Unicode NFC, so a composed and a decomposed
/// `josé@` are one address (lookups also lower-case it: `CustomerRecord::email_key`).
pub fn normalize_email(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    email.trim().nfc().collect()
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

/// Copies every given field except the email, which `update_customer` checks for uniqueness.
fn apply_changes(r: &mut CustomerRecord, c: &CustomerChanges) {
    fn set<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
        if let Some(v) = v {
            *slot = Some(v.clone());
        }
    }
    set(&mut r.firstname, &c.firstname);
    set(&mut r.lastname, &c.lastname);
    set(&mut r.middlename, &c.middlename);
    set(&mut r.prefix, &c.prefix);
    set(&mut r.suffix, &c.suffix);
    set(&mut r.date_of_birth, &c.date_of_birth);
    set(&mut r.gender, &c.gender);
    set(&mut r.taxvat, &c.taxvat);
    set(&mut r.phone, &c.phone);
    if let Some(v) = c.is_subscribed {
        r.is_subscribed = v;
    }
    if let Some(v) = c.allow_remote_shopping_assistance {
        r.allow_remote_shopping_assistance = v;
    }
    if let Some(v) = c.confirmed {
        r.confirmed = v;
    }
    if let Some(v) = c.disabled {
        r.disabled = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_engages_at_max_failures_and_an_expired_lock_starts_over() {
        let mut l = Lockout::default();
        assert!(!count_failure(&mut l, 100, 3, 10));
        assert_eq!(
            (l.failures, l.first_failure, l.lock_expires),
            (1, Some(100), None)
        );
        assert!(!count_failure(&mut l, 101, 3, 10));
        assert!(count_failure(&mut l, 102, 3, 10));
        assert_eq!((l.failures, l.lock_expires), (3, Some(102 + 600)));
        assert!(is_locked(&l, 702 - 1));
        assert!(!is_locked(&l, 702));
        // A failure after the lock ended counts from 1 again.
        assert!(!count_failure(&mut l, 703, 3, 10));
        assert_eq!(
            (l.failures, l.first_failure, l.lock_expires),
            (1, Some(703), None)
        );
    }

    fn slot(digest: Digest, expires_at: Timestamp) -> Option<OneTimeSecret> {
        Some(OneTimeSecret {
            digest,
            created_at: 0,
            expires_at,
            issued_by: Some("ops".into()),
            reason: Some("call".into()),
        })
    }

    #[test]
    fn a_sign_in_commit_consumes_the_code_and_clears_the_lockout() {
        let mut c = CustomerRecord {
            id: 7,
            allow_remote_shopping_assistance: true,
            otc: slot([1; 32], 50),
            lockout: Lockout {
                failures: 2,
                first_failure: Some(1),
                lock_expires: None,
            },
            ..CustomerRecord::default()
        };
        let audit = commit_sign_in(&mut c, Method::Otc, &[1; 32], 0, true, 10).unwrap();
        assert_eq!(c.otc, None);
        assert_eq!(c.lockout, Lockout::default());
        let audit = audit.unwrap();
        assert_eq!((audit.action, audit.subject), ("otc_used", Some(7)));
        assert_eq!(audit.detail.as_deref(), Some("issued by ops; reason: call"));
        // The second use of the same code lost the race.
        assert_eq!(
            commit_sign_in(&mut c, Method::Otc, &[1; 32], 0, true, 10),
            Err(SignInError::Raced)
        );
    }

    #[test]
    fn a_sign_in_commit_refuses_a_changed_password_then_disabled_then_locked() {
        let mut c = CustomerRecord {
            password_version: 2,
            disabled: true,
            lockout: Lockout {
                failures: 5,
                first_failure: Some(1),
                lock_expires: Some(100),
            },
            ..CustomerRecord::default()
        };
        let commit = |c: &mut CustomerRecord, version| {
            commit_sign_in(c, Method::Password, &[0; 32], version, true, 10)
        };
        assert_eq!(commit(&mut c, 1), Err(SignInError::Raced));
        assert_eq!(commit(&mut c, 2), Err(SignInError::Disabled));
        c.disabled = false;
        assert_eq!(commit(&mut c, 2), Err(SignInError::Locked));
        c.lockout.lock_expires = Some(5);
        assert_eq!(commit(&mut c, 2), Ok(None));
    }

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
