//! The sign-in core: everything about customers, credentials and tokens, with no HTTP and no
//! dialect in it. Both GraphQL dialects and the admin API call these functions, so a rule fixed
//! here is fixed everywhere.
//!
//! One `sign_in` (`sign_in.rs`) evaluates a presented secret in Adobe Commerce's order (account
//! password, then the live reset token, then the live admin one-time code), applies lockout
//! (`lockout.rs`) and the per-IP throttle, and commits in one write that mints the token.
//! Tokens are `tokens.rs`, customers `customers.rs`, one-time secrets and their mail
//! `one_time.rs` (account invites `activation.rs`), Multipass `multipass_sign_in.rs`, audit entries `audit.rs`. Every write goes
//! through the store's named operations and every read through its async reads (the
//! `store::Store` facade), so the core runs unchanged on either backend.

pub mod activation;
pub mod addresses;
pub mod admin_users;
mod audit;
pub mod clock;
pub mod console_queries;
mod customers;
mod failure;
pub mod legacy_hash;
pub mod limits;
mod lockout;
pub mod multipass;
pub mod multipass_sign_in;
mod notify;
pub mod oidc;
pub mod one_time;
pub mod passkeys;
pub mod password;
mod policy;
pub mod refusal_floor;
pub mod secret;
mod sign_in;
pub mod storefront_tokens;
mod tokens;
pub mod totp;
pub mod turns;

pub use crate::model::normalize_email;
pub(crate) use audit::audit_entry;
pub use customers::valid_email;
use failure::failure_variant;
pub use failure::Failure;
pub use lockout::{count_failure, is_locked, Strike};
pub use policy::Policy;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::{AccessToken, Credentials, Lockout, OneTimeSecret};
pub use crate::model::{Account, AuditEntry, Customer, Profile, ProfileChanges, ProfileField};
use crate::store::Backend as _;
pub use crate::store::StoreError;
pub use crate::store::{BackupError, BackupSummary};
use crate::store::{
    Change, Created, CustomerId, Digest, Effects, NewToken, Store, Timestamp, TokenKind, Updated,
    Who,
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
    /// What no client can mend (see `Failure`).
    Failure(Failure),
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
            SignInError::Failure(Failure::Busy) => "busy",
            SignInError::Failure(_) => "error",
        }
    }
}

failure_variant!(SignInError);

/// Errors of customer management (create, update, password and email changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    InvalidEmail,
    EmailTaken,
    /// A profile field over `model::MAX_FIELD_CHARS` characters.
    TooLong(ProfileField),
    /// The client has spent its self-registration budget
    /// (`throttle.create_account_per_ip_per_hour`): the same answer for every email.
    Throttled,
    Policy(PolicyError),
    /// The current password presented for a change is wrong (counts toward lockout).
    WrongPassword,
    Locked,
    NotFound,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(AccountError);

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
    /// An account invite's activation token (`customerActivate`).
    Activation,
    /// A six-digit code mailed to the address (the hosted pages, `oidc/login_code.rs`).
    LoginCode,
    /// A passkey (the hosted pages, `passkeys/`).
    Passkey,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::ResetToken => "reset_token",
            Method::Otc => "otc",
            Method::Multipass => "multipass",
            Method::Admin => "admin",
            Method::Activation => "activation",
            Method::LoginCode => "login_code",
            Method::Passkey => "passkey",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SignInRequest {
    pub email: String,
    pub secret: Secret,
    pub ip: Option<IpAddr>,
    pub accept: Accept,
    pub mint: Mint,
}

/// What a successful sign-in mints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mint {
    /// An access token of this dialect.
    Token(TokenKind),
    /// A browser session of the hosted pages (`IssuedToken::token` is its cookie).
    BrowserSession,
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
    pub token: AccessToken,
    /// The account's lock as it was when the token was read (see `session_refusal`).
    lock_expires: Option<Timestamp>,
}

/// Fields a customer may give at creation.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    pub email: String,
    pub password: Option<Secret>,
    pub profile: Profile,
    pub allow_remote_shopping_assistance: bool,
    /// Admin-created customers may be marked confirmed; self-registered ones are confirmed
    /// unless `account.require_confirmation` is on.
    pub confirmed: Option<bool>,
    /// The address is proven (the hosted registration's mailed code). An admin or CLI
    /// creation (no `requested_from`) marked confirmed is the merchant's word and verified
    /// too; any other creation is not, until a mailed secret is used.
    pub email_verified: bool,
    pub disabled: bool,
    /// The admin creating the customer: the audit entry goes into the same commit.
    pub audit_by: Option<String>,
    /// Where a self-registration came from: it counts toward that client's registration
    /// budget, and its confirmation mail toward that address's mail limit. `None` (admin,
    /// CLI, import, Multipass) is exempt from both.
    pub requested_from: Option<IpAddr>,
}

/// A partial update: `None` leaves a field as it is. The email is applied by `update_account`,
/// which checks it (the store refuses one another customer has).
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    pub profile: ProfileChanges,
    pub allow_remote_shopping_assistance: Option<bool>,
    pub confirmed: Option<bool>,
    pub disabled: Option<bool>,
    pub email: Option<String>,
    /// The admin making the change: the audit entry goes into the same commit.
    pub audit_by: Option<String>,
}

impl CustomerChanges {
    /// Copies every given field except the email into `c`.
    fn apply(&self, c: &mut Customer) {
        self.profile.apply(&mut c.profile);
        for (slot, value) in [
            (
                &mut c.allow_remote_shopping_assistance,
                self.allow_remote_shopping_assistance,
            ),
            (&mut c.confirmed, self.confirmed),
            (&mut c.disabled, self.disabled),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
    }
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
    // The shared context every service uses.
    /// The rules the core applies, built once from the configuration.
    pub policy: Policy,
    store: Store,
    pub passwords: PasswordPool,
    pub clock: Arc<dyn Clock>,
    /// Where tokens, codes and keys come from (the OS; a seeded source in tests).
    random: Arc<dyn secret::RandomSource>,
    pub mailer: Arc<dyn crate::mail::MailTransport>,
    pub metrics: Arc<Metrics>,
    // Each service's own state, in its own file.
    /// Sign-in (`sign_in.rs`): throttle, recent failures, turns, the refusal floor.
    sign_ins: sign_in::SignIns,
    /// Accounts (`customers.rs`): the self-registration limit.
    accounts: customers::Accounts,
    /// One-time secrets (`one_time.rs`): the reset and confirmation mail limits.
    mail_limits: one_time::MailLimitPair,
    /// Admin users and keys (`admin_users.rs`, `tokens.rs`).
    pub admin: admin_users::Admins,
    /// Storefront keys (`storefront_tokens.rs`): the cache and what it knows to be unknown.
    storefront: storefront_tokens::StorefrontKeys,
    /// Passkeys (`passkeys/`): the relying party, `None` when `webauthn.rp_id` is empty.
    passkeys: Option<passkeys::RelyingParty>,
}

impl Auth {
    /// The core as a server or a command runs it: the mail transport `mail.*` names and the
    /// system's random source.
    pub fn from_config(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Result<Auth, String> {
        let mailer = crate::mail::transport_from_config(&config.mail).map_err(|e| e.to_string())?;
        Auth::new(
            config,
            store,
            clock,
            Arc::new(secret::OsRandom),
            mailer,
            metrics,
        )
    }

    /// The core over what it is given and nothing else: no file, no socket, no thread but
    /// the hash workers. A unit test passes an in-memory store (`RedbStore::in_memory`), a
    /// frozen clock, a seeded random source and a captured mailer (`mail::Captured`).
    pub fn new(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
        random: Arc<dyn secret::RandomSource>,
        mailer: Arc<dyn crate::mail::MailTransport>,
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
        let per_hour = config.reset.max_requests_per_hour;
        let passkeys = passkeys::RelyingParty::from_config(&config.webauthn)?;
        Ok(Auth {
            passkeys,
            sign_ins: sign_in::SignIns {
                login_throttle: RateLimiter::new(config.throttle.login_per_ip_per_minute, 60),
                recent_failures: RecentFailures::new(config.lockout.repeat_window_seconds)?,
                verify_micros: AtomicU64::new(0),
                refusal_floor: refusal_floor::RefusalFloor::default(),
                legacy_lane: tokio::sync::Semaphore::new((config.hash_workers() / 2).max(1)),
                turns: turns::Turns::default(),
            },
            accounts: customers::Accounts {
                registrations: RateLimiter::new(
                    config.throttle.create_account_per_ip_per_hour,
                    3600,
                ),
            },
            mail_limits: one_time::MailLimitPair {
                reset: one_time::MailLimits::new(
                    "reset",
                    per_hour,
                    config.reset.min_minutes_between,
                ),
                confirmation: one_time::MailLimits::new(
                    "confirmation",
                    per_hour,
                    config.reset.min_minutes_between,
                ),
                login_code: one_time::MailLimits::new(
                    "login_code",
                    per_hour,
                    config.reset.min_minutes_between,
                ),
            },
            admin: admin_users::Admins {
                keys: admin_keys,
                policy: admin_users::AdminPolicy::from_config(&config),
            },
            storefront: storefront_tokens::StorefrontKeys {
                cache: std::sync::RwLock::new(None),
                generation: AtomicU64::new(0),
                unknown: std::sync::Mutex::new(storefront_tokens::Unknown::new(
                    config.server.unknown_storefront_tokens,
                )),
                check: tokio::sync::Mutex::new(None),
            },
            policy: Policy::from_config(&config),
            store,
            passwords,
            clock,
            random,
            mailer,
            metrics,
        })
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Up to `limit` audit entries after sequence number `after`, oldest first.
    pub async fn audit_page(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        self.store.audit(after, limit).await
    }

    /// Whether the store answers reads (`/healthz`).
    pub async fn healthy(&self) -> bool {
        self.store.check().await.is_ok()
    }

    /// Sets the gauges that are read rather than counted: the hash queue and, on a backend
    /// with a group-commit writer (redb), its writes and commits.
    pub fn refresh_gauges(&self) {
        let m = &self.metrics;
        m.hash_queue_depth.set(self.passwords.queue_depth() as i64);
        if let Some(stats) = self.store.writer_stats() {
            m.store_commits
                .set(stats.commits.load(Ordering::Relaxed) as i64);
            m.store_writes
                .set(stats.writes.load(Ordering::Relaxed) as i64);
            m.store_reopens
                .set(stats.reopens.load(Ordering::Relaxed) as i64);
        }
        if let Some(pool) = self.store.pool_status() {
            let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            m.store_pool_in_use.set(gauge(pool.in_use));
            m.store_pool_idle.set(gauge(pool.idle));
            m.store_pool_waiting.set(gauge(pool.waiting));
            m.store_retries
                .set(i64::try_from(pool.retries).unwrap_or(i64::MAX));
        }
    }

    /// Whether this instance sweeps now (see `sweeper::run`).
    pub async fn sweep_lease(
        &self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.store.try_lease("sweeper", holder, ttl).await
    }

    /// Gives the sweeper lease up if `holder` has it (a clean stop; see `sweeper::run`).
    pub async fn release_sweep_lease(&self, holder: &str) -> Result<(), StoreError> {
        self.store.release_lease("sweeper", holder).await.map(drop)
    }

    /// One write of the sweeper: purges up to `sweep_batch` entries expired by now.
    pub async fn sweep_expired(&self) -> Result<crate::store::SweepReport, StoreError> {
        self.store.sweep(self.now(), self.policy.sweep_batch).await
    }
}

/// A one-time secret matches when it is live and its digest equals, compared in constant time.
pub fn live_matches(slot: &Option<OneTimeSecret>, digest: &Digest, now: Timestamp) -> bool {
    match slot {
        Some(s) => s.expires_at > now && digests_equal(&s.digest, digest),
        None => false,
    }
}
