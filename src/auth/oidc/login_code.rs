//! Sign-in with a code mailed to the address (the hosted pages' "email me a code", what
//! Shopify's new customer accounts do): six digits, `oidc.login_code_minutes`, single use, a
//! few wrong guesses void it. The request answers alike for every email (the mail, its limit
//! and the lookup run beside the answer, as a reset request's do); the code is consumed in the
//! one write that starts the browser session, so two racing uses cannot both win.
//!
//! Six digits are few: the code is kept as a digest keyed by the customer's id (no table of
//! the million digests fits every account), it lives minutes, and each wrong guess is counted
//! in the same atomic write that judges it (`MAX_ATTEMPTS` void it), on every backend and
//! across instances. A code proves the customer reads the address, so a successful sign-in
//! also confirms an unconfirmed account and marks the address verified (what an ID token's
//! `email_verified` says). A password lockout does not stop it: the code is a
//! factor of its own with its own limit (as a reset link is).

use crate::auth::limits;
use crate::auth::notify::Notice;
use crate::auth::one_time::RESET_REQUEST_FLOOR;
use crate::auth::secret::{self, RandomSource, Secret};
use crate::auth::{valid_email, Auth, IssuedToken, Method, SignInError};
use crate::model::oidc::BrowserSession;
use crate::model::{email_key, Account, CustomerId, Digest, LoginCode, OneTimeSecret, Timestamp};
use crate::store::{Backend as _, Change, Effects, StoreError, Updated, Who};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Wrong guesses that void a code (the customer asks for a new one).
pub const MAX_ATTEMPTS: u32 = 5;

/// Six decimal digits, uniform (bytes past the last whole million are drawn again).
pub fn six_digits(random: &dyn RandomSource) -> Secret {
    const LIMIT: u32 = 4_294_000_000;
    loop {
        let mut bytes = [0u8; 4];
        random.fill(&mut bytes);
        let n = u32::from_be_bytes(bytes);
        if n < LIMIT {
            return Secret::new(format!("{:06}", n % 1_000_000));
        }
    }
}

/// Whether `code` has the shape of a code (six ASCII digits, surrounding space ignored).
pub fn well_formed(code: &str) -> bool {
    let code = code.trim();
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The digest a code is kept as: keyed by its customer.
fn code_digest(customer: CustomerId, code: &str) -> Digest {
    secret::digest(&format!("login-code\n{customer}\n{}", code.trim()))
}

impl Auth {
    /// "Email me a code": answers after the same floor for every email; an enabled account
    /// within the mail limits (`reset.*`, counted per address in the store whether or not it
    /// has an account, and per client) gets a fresh code, which replaces any earlier one.
    pub async fn request_login_code(self: &Arc<Self>, email: &str, ip: Option<IpAddr>) {
        let started = Instant::now();
        let auth = self.clone();
        let email = email.trim().to_string();
        tokio::spawn(async move {
            if let Err(e) = auth.mail_login_code(&email, ip).await {
                tracing::error!("sign-in code request not completed: {e}");
            }
        });
        if let Some(rest) = RESET_REQUEST_FLOOR.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }

    async fn mail_login_code(&self, email: &str, ip: Option<IpAddr>) -> Result<(), StoreError> {
        if !valid_email(email) {
            return Ok(());
        }
        let now = self.now();
        let allowed = self
            .mail_limits
            .login_code
            .allow(&self.store, &email_key(email), ip, now)
            .await?;
        if !allowed {
            tracing::debug!("sign-in code mail over its limit: not sent");
            return Ok(());
        }
        let Some(customer) = self.customer_by_email(email).await?.filter(|c| !c.disabled) else {
            return Ok(());
        };
        let code = six_digits(self.random.as_ref());
        let slot = LoginCode {
            secret: OneTimeSecret {
                digest: code_digest(customer.id, code.expose()),
                created_at: now,
                expires_at: now + self.policy.login_code_ttl,
                issued_by: None,
                reason: None,
            },
            attempts: 0,
        };
        let stored = self
            .store
            .update_customer(Who::Id(customer.id), move |a| {
                if a.customer.disabled {
                    return Change::Refuse(());
                }
                a.credentials.login_code = Some(slot.clone());
                Change::Save((), Effects::default())
            })
            .await?;
        if let Updated::Saved(account, ()) = stored {
            self.notify(Notice::LoginCode {
                customer: &account.customer,
                code: &code,
                minutes: u32::try_from(self.policy.login_code_ttl / 60).unwrap_or(u32::MAX),
            });
        }
        Ok(())
    }

    /// Signs in with a mailed code into a new browser session (`amr` `otp`). Every refusal
    /// (no such account, no code, a wrong, spent, voided or expired one, the client's
    /// throttle) is one `WrongSecret`-like error to the page and waits for the sign-in
    /// refusal floor, so neither answer nor time tells them apart.
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        code: &Secret,
        ip: Option<IpAddr>,
    ) -> Result<IssuedToken, SignInError> {
        let started = Instant::now();
        let result = self.sign_in_with_code_now(email, code, ip).await;
        match &result {
            Ok(_) => self.metrics.login(Method::LoginCode.label(), "success"),
            Err(e) => {
                self.pad_failure(started).await;
                let outcome = match e {
                    SignInError::Failure(crate::auth::Failure::Busy) => "busy",
                    SignInError::Failure(_) => "error",
                    _ => "failure",
                };
                self.metrics.login(Method::LoginCode.label(), outcome);
                tracing::debug!(reason = e.label(), "sign-in code refused");
            }
        }
        result
    }

    async fn sign_in_with_code_now(
        &self,
        email: &str,
        code: &Secret,
        ip: Option<IpAddr>,
    ) -> Result<IssuedToken, SignInError> {
        let now = self.now();
        if let Some(ip) = ip.map(limits::ip_key) {
            if !self.sign_ins.login_throttle.allow(&ip, now) {
                return Err(SignInError::Throttled);
            }
        }
        let account = if well_formed(code.expose()) && valid_email(email.trim()) {
            self.account_by_email(email).await?
        } else {
            None
        };
        let Some(account) = account.filter(|a| a.credentials.login_code.is_some()) else {
            // The write a wrong guess at a real code costs.
            self.store.record_refusal().await?;
            return Err(SignInError::WrongSecret);
        };
        let id = account.customer.id;
        let digest = code_digest(id, code.expose());
        let (cookie, cookie_digest, session) =
            self.mint_browser_session(id, Method::LoginCode, now);
        let expires_at = session.expires_at;
        let started = Box::new((cookie_digest, session));
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |a| spend_code(a, &digest, now, &started))
            .await?;
        match outcome {
            Updated::Saved(after, Ok(())) => Ok(IssuedToken {
                customer: after.customer,
                token: cookie,
                expires_at,
                method: Method::LoginCode,
            }),
            Updated::Saved(_, Err(e)) | Updated::Refused(Err(e)) => Err(e),
            Updated::Refused(Ok(())) => Err(SignInError::Raced),
            Updated::NotFound | Updated::EmailTaken => Err(SignInError::WrongSecret),
        }
    }
}

/// The decision on the stored record: an expired code is cleared, a wrong guess counted (the
/// `MAX_ATTEMPTS`th voids the code), the right one consumed with the session started in the
/// same commit (and the account confirmed, its address verified: the code proves it).
fn spend_code(
    a: &mut Account,
    digest: &Digest,
    now: Timestamp,
    session: &(Digest, BrowserSession),
) -> Change<Result<(), SignInError>> {
    let Some(code) = a.credentials.login_code.as_mut() else {
        return Change::Refuse(Err(SignInError::Raced));
    };
    if code.secret.expires_at <= now {
        a.credentials.login_code = None;
        return Change::Save(Err(SignInError::WrongSecret), Effects::default());
    }
    if !secret::digests_equal(&code.secret.digest, digest) {
        code.attempts = code.attempts.saturating_add(1);
        if code.attempts >= MAX_ATTEMPTS {
            a.credentials.login_code = None;
        }
        return Change::Save(Err(SignInError::WrongSecret), Effects::default());
    }
    if a.customer.disabled {
        return Change::Refuse(Err(SignInError::Disabled));
    }
    a.credentials.login_code = None;
    if !(a.customer.confirmed && a.customer.email_verified) {
        a.customer.confirmed = true;
        a.customer.email_verified = true;
        a.customer.updated_at = now;
    }
    Change::Save(
        Ok(()),
        Effects {
            browser_session: Some(Box::new(session.clone())),
            ..Effects::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::secret::SeededRandom;

    fn with_code(code: &str, expires_at: Timestamp) -> Account {
        let mut a = Account::default();
        a.customer.id = CustomerId(4);
        a.credentials.login_code = Some(LoginCode {
            secret: OneTimeSecret {
                digest: code_digest(CustomerId(4), code),
                created_at: 0,
                expires_at,
                issued_by: None,
                reason: None,
            },
            attempts: 0,
        });
        a
    }

    fn session() -> (Digest, BrowserSession) {
        let s = BrowserSession {
            sid: "sid".into(),
            customer: CustomerId(4),
            auth_time: 10,
            amr: vec!["otp".into()],
            created_at: 10,
            last_seen: 10,
            expires_at: 100,
        };
        ([9; 32], s)
    }

    fn outcome(c: Change<Result<(), SignInError>>) -> (Result<(), SignInError>, bool) {
        match c {
            Change::Refuse(r) => (r, false),
            Change::Save(r, e) => (r, e.browser_session.is_some()),
        }
    }

    #[test]
    fn codes_are_six_digits() {
        let random = SeededRandom::new(7);
        for _ in 0..200 {
            let code = six_digits(&random);
            assert!(well_formed(code.expose()), "{}", code.expose());
        }
        assert!(!well_formed("12345"));
        assert!(!well_formed("12345a"));
        assert!(well_formed(" 012345 "));
    }

    #[test]
    fn the_right_code_is_spent_once_and_starts_the_session_and_confirms_and_verifies() {
        let mut a = with_code("123456", 50);
        let digest = code_digest(CustomerId(4), "123456");
        assert_eq!(
            outcome(spend_code(&mut a, &digest, 10, &session())),
            (Ok(()), true)
        );
        assert_eq!(a.credentials.login_code, None);
        assert!(a.customer.confirmed && a.customer.email_verified);
        assert_eq!(
            outcome(spend_code(&mut a, &digest, 10, &session())),
            (Err(SignInError::Raced), false)
        );
    }

    #[test]
    fn the_fifth_wrong_guess_voids_the_code() {
        let mut a = with_code("123456", 50);
        let wrong = code_digest(CustomerId(4), "000000");
        for n in 1..MAX_ATTEMPTS {
            let (r, _) = outcome(spend_code(&mut a, &wrong, 10, &session()));
            assert_eq!(r, Err(SignInError::WrongSecret));
            assert_eq!(a.credentials.login_code.as_ref().unwrap().attempts, n);
        }
        let (r, _) = outcome(spend_code(&mut a, &wrong, 10, &session()));
        assert_eq!(r, Err(SignInError::WrongSecret));
        assert_eq!(a.credentials.login_code, None);
    }

    #[test]
    fn an_expired_code_is_refused_and_cleared() {
        let mut a = with_code("123456", 50);
        let digest = code_digest(CustomerId(4), "123456");
        let (r, started) = outcome(spend_code(&mut a, &digest, 50, &session()));
        assert_eq!((r, started), (Err(SignInError::WrongSecret), false));
        assert_eq!(a.credentials.login_code, None);
    }

    #[test]
    fn a_code_is_keyed_by_its_customer() {
        assert_ne!(
            code_digest(CustomerId(4), "123456"),
            code_digest(CustomerId(5), "123456")
        );
    }
}
