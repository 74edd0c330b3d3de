//! Creating an account on the hosted pages, with the address verified first (Shopify requires
//! `email_verified: true`): the email gets a six-digit code (or, when it already has an
//! account, a mail saying so with where to sign in or reset: the page answers the same either
//! way), and the code with a password creates the account confirmed and starts the browser
//! session.
//!
//! Where the pending verification lives: nowhere. The code is an HMAC of the address's lookup
//! key and the moment it was issued, under a key derived from the key-encryption key
//! (`Kek::derive`), and the page carries the moment beside the address. Every instance that
//! opens the provider shares that key (they must, to sign with the stored keys), so every
//! instance accepts the code, and nothing is written for an address that may never register
//! (a stranger's "create account" for a thousand addresses stores nothing but the mail
//! limits' counts). What a stateless code cannot do by itself is stay single-use and bounded
//! in guesses; the store does both: creating the account is the one use (the address is then
//! taken, so the code does nothing a second time, on any instance), and every guess at one
//! code (address + moment) is counted in the store's atomic per-key counter, the one the mail
//! limits use (`count_mail_request`), so `MAX_ATTEMPTS` guesses void it across instances. The
//! code lives `oidc.login_code_minutes`.

use super::login_code::{well_formed, MAX_ATTEMPTS};
use super::Provider;
use crate::auth::notify::Notice;
use crate::auth::one_time::{url_encode, REFUSAL_FLOOR, RESET_REQUEST_FLOOR};
use crate::auth::password::{check_policy, PolicyError};
use crate::auth::secret::{self, Secret};
use crate::auth::{
    valid_email, AccountError, Failure, IssuedToken, Method, NewCustomer, ProfileField,
};
use crate::model::{email_key, normalize_email, Profile, Timestamp};
use crate::store::{Backend as _, Change, Effects, MailLimit, StoreError, Updated, Who};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationError {
    InvalidEmail,
    /// A wrong, expired, voided or spent code: one answer for all.
    Code,
    Policy(PolicyError),
    TooLong(ProfileField),
    /// The client has spent its registration budget (`throttle.create_account_per_ip_per_hour`).
    Throttled,
    Failure(Failure),
}

impl From<StoreError> for RegistrationError {
    fn from(e: StoreError) -> Self {
        RegistrationError::Failure(e.into())
    }
}

/// What the page carries from the request to the completion (besides the address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub issued_at: Timestamp,
}

impl Provider {
    fn registration_key(&self) -> ring::hmac::Key {
        self.kek.derive("storekey registration code v1")
    }

    /// The code for `email` issued at `issued_at`.
    fn registration_code(&self, email: &str, issued_at: Timestamp) -> Secret {
        let message = format!("{}\n{issued_at}", email_key(email));
        let tag = ring::hmac::sign(&self.registration_key(), message.as_bytes());
        let mut word = [0u8; 8];
        word.copy_from_slice(&tag.as_ref()[..8]);
        // 64 bits reduced to six digits: the bias is below 2^-40.
        Secret::new(format!("{:06}", u64::from_be_bytes(word) % 1_000_000))
    }

    fn code_ttl(&self) -> i64 {
        i64::from(self.config.login_code_minutes) * 60
    }

    /// "Create account": a malformed address is told; any other gets the same answer after the
    /// same floor, and beside it (within the confirmation mail's limits) a code, or, for an
    /// address with an account, the mail that says so.
    pub async fn request_registration(
        &self,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<Pending, RegistrationError> {
        let email = normalize_email(email);
        if !valid_email(&email) {
            return Err(RegistrationError::InvalidEmail);
        }
        let started = Instant::now();
        let auth = self.auth.clone();
        let now = auth.now();
        let code = self.registration_code(&email, now);
        let minutes = self.config.login_code_minutes;
        let sign_in = format!("{}/account/sign-in", self.issuer);
        let forgot = format!(
            "{}/account/forgot?email={}",
            self.issuer,
            url_encode(&email)
        );
        tokio::spawn(async move {
            let work = async {
                let allowed = auth
                    .mail_limits
                    .confirmation
                    .allow(&auth.store, &email_key(&email), ip, now)
                    .await?;
                if !allowed {
                    tracing::debug!("registration mail over its limit: not sent");
                    return Ok::<(), StoreError>(());
                }
                match auth.customer_by_email(&email).await? {
                    Some(customer) => auth.notify(Notice::AlreadyRegistered {
                        customer: &customer,
                        sign_in: &sign_in,
                        forgot: &forgot,
                    }),
                    None => auth.notify(Notice::RegistrationCode {
                        to: &email,
                        code: &code,
                        minutes,
                    }),
                }
                Ok(())
            };
            if let Err(e) = work.await {
                tracing::error!("registration request not completed: {e}");
            }
        });
        wait_until(started, RESET_REQUEST_FLOOR).await;
        Ok(Pending { issued_at: now })
    }

    /// Creates the account with the mailed code: confirmed, with `password` and `profile`,
    /// signed in to a new browser session. The password policy is checked before the code
    /// (a policy refusal spends no guess); every refusal of the code is one answer. Without a
    /// password (the customer adds a passkey next), the account signs in with passkeys and
    /// mailed codes until a password is set.
    pub async fn complete_registration(
        &self,
        email: &str,
        pending: Pending,
        code: &Secret,
        password: Option<&Secret>,
        profile: Profile,
        ip: Option<IpAddr>,
    ) -> Result<IssuedToken, RegistrationError> {
        let started = Instant::now();
        let result = self
            .complete_registration_now(email, pending, code, password, profile, ip)
            .await;
        if result.is_err() {
            wait_until(started, REFUSAL_FLOOR).await;
        }
        result
    }

    async fn complete_registration_now(
        &self,
        email: &str,
        pending: Pending,
        code: &Secret,
        password: Option<&Secret>,
        profile: Profile,
        ip: Option<IpAddr>,
    ) -> Result<IssuedToken, RegistrationError> {
        let auth = &self.auth;
        let email = normalize_email(email);
        if !valid_email(&email) {
            return Err(RegistrationError::InvalidEmail);
        }
        if let Some(field) = profile.too_long() {
            return Err(RegistrationError::TooLong(field));
        }
        if let Some(password) = password {
            check_policy(&auth.policy.password, password.expose(), &email)
                .map_err(RegistrationError::Policy)?;
        }
        let now = auth.now();
        let ttl = self.code_ttl();
        let issued_at = pending.issued_at;
        if issued_at > now || issued_at <= now - ttl || !well_formed(code.expose()) {
            return Err(RegistrationError::Code);
        }
        // Every guess at this code counts, on every instance; the last allowed is the last.
        let guesses = secret::digest(&format!(
            "registration guess\n{}\n{issued_at}",
            email_key(&email)
        ));
        let limit = MailLimit {
            cap: MAX_ATTEMPTS,
            window: ttl,
            gap: 0,
        };
        if !auth.store.count_mail_request(guesses, limit, now).await? {
            return Err(RegistrationError::Code);
        }
        let expected = self.registration_code(&email, issued_at);
        let presented = code.expose().trim();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.expose().as_bytes(),
            presented.as_bytes(),
        )) {
            return Err(RegistrationError::Code);
        }
        let created = auth
            .create_customer(NewCustomer {
                email: email.clone(),
                password: password.cloned(),
                profile,
                confirmed: Some(true),
                email_verified: true,
                requested_from: ip,
                ..NewCustomer::default()
            })
            .await
            .map_err(|e| match e {
                // The code was spent (the account exists now), or the address was taken
                // meanwhile: either way this code does nothing.
                AccountError::EmailTaken | AccountError::NotFound => RegistrationError::Code,
                AccountError::InvalidEmail => RegistrationError::InvalidEmail,
                AccountError::TooLong(f) => RegistrationError::TooLong(f),
                AccountError::Throttled => RegistrationError::Throttled,
                AccountError::Policy(p) => RegistrationError::Policy(p),
                AccountError::Failure(f) => RegistrationError::Failure(f),
                AccountError::WrongPassword | AccountError::Locked => RegistrationError::Code,
            })?;
        auth.metrics.login("registration", "success");
        // Without a password (a passkey comes next), the mailed code is what proved it.
        let method = match password {
            Some(_) => Method::Password,
            None => Method::LoginCode,
        };
        let (cookie, digest, session) = auth.mint_browser_session(created.id, method, now);
        let expires_at = session.expires_at;
        let started = Box::new((digest, session));
        let outcome = auth
            .store
            .update_customer(Who::Id(created.id), move |_| {
                Change::Save(
                    (),
                    Effects {
                        browser_session: Some(started.clone()),
                        ..Effects::default()
                    },
                )
            })
            .await?;
        let Updated::Saved(account, ()) = outcome else {
            return Err(RegistrationError::Code);
        };
        Ok(IssuedToken {
            customer: account.customer,
            token: cookie,
            expires_at,
            method,
        })
    }
}

async fn wait_until(started: Instant, floor: Duration) {
    if let Some(rest) = floor.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}
