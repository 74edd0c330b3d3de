//! Admin users of the console: created with a one-time setup code, set up with a password
//! (Adobe Commerce's admin rules) and a TOTP second factor, signed in with name + password +
//! code under their own lockout and a per-IP throttle, and kept signed in by sessions that end
//! after `admin.session_minutes` idle. Scripts keep using admin keys (`tokens.rs`).

use super::passkeys::PasskeyError;
use super::totp::TotpSecret;
use super::*;
use crate::model::{AdminSession, AdminUser};
use crate::store::AdminEdit;
use crate::store::Backend as _;

/// How long a setup link works.
pub const SETUP_TTL_SECONDS: i64 = 24 * 3600;
/// A session's `last_seen` is written at most this often (each write is a commit).
const TOUCH_EVERY_SECONDS: i64 = 60;
/// The issuer authenticator apps show next to the code.
pub const TOTP_ISSUER: &str = "storekey";

/// The console's settings and its own throttle, built once from the configuration.
pub struct AdminPolicy {
    pub password_min_length: usize,
    pub session_seconds: i64,
    pub storefront_login_url: String,
    /// `admin.passkey_only`: the console's sign-in is a passkey alone.
    pub passkey_only: bool,
    throttle: RateLimiter<IpAddr>,
}

impl AdminPolicy {
    pub fn from_config(c: &Config) -> AdminPolicy {
        AdminPolicy {
            password_min_length: c.admin.password_min_length,
            session_seconds: i64::from(c.admin.session_minutes) * 60,
            storefront_login_url: c.admin.storefront_login_url.clone(),
            passkey_only: c.admin.passkey_only,
            throttle: RateLimiter::new(c.throttle.login_per_ip_per_minute, 60),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddAdminError {
    /// Names are 1 to 64 letters, digits and `.`, `_`, `-`, `@`.
    InvalidName,
    NameTaken,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}
failure_variant!(AddAdminError);

/// Adobe Commerce's admin password rules, in the order it checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminPasswordError {
    TooShort(usize),
    NeedsLettersAndDigits,
    ConfirmationMismatch,
}

impl std::fmt::Display for AdminPasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminPasswordError::TooShort(n) => {
                write!(f, "Your password must be at least {n} characters.")
            }
            AdminPasswordError::NeedsLettersAndDigits => {
                f.write_str("Your password must include both numeric and alphabetic characters.")
            }
            AdminPasswordError::ConfirmationMismatch => {
                f.write_str("Your password confirmation must match your password.")
            }
        }
    }
}

/// Checks a new admin password and its confirmation.
pub fn check_admin_password(
    password: &str,
    confirmation: &str,
    min_length: usize,
) -> Result<(), AdminPasswordError> {
    if password.chars().count() < min_length {
        return Err(AdminPasswordError::TooShort(min_length));
    }
    let letters = password.chars().any(char::is_alphabetic);
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if !(letters && digits) {
        return Err(AdminPasswordError::NeedsLettersAndDigits);
    }
    if password != confirmation {
        return Err(AdminPasswordError::ConfirmationMismatch);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// No admin has this setup code, or it expired or was used.
    InvalidCode,
    Password(AdminPasswordError),
    /// The first code from the authenticator app does not match the secret shown.
    WrongTotp,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}
failure_variant!(SetupError);

/// Why an admin sign-in failed; the console shows one message for all but `Busy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSignInError {
    Refused,
    Locked,
    Throttled,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}
failure_variant!(AdminSignInError);

/// A new console session: the cookie's token (shown to the browser once) and whose it is.
#[derive(Debug, Clone)]
pub struct AdminSignedIn {
    pub token: Secret,
    pub admin: String,
}

fn valid_admin_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

/// The admin service's own state.
pub struct Admins {
    /// Admin keys as (name, SHA-256): from `[admin] keys`, plus `STOREKEY_ADMIN_KEY` as "env".
    pub(super) keys: Vec<(String, Digest)>,
    /// The admin console's rules and throttle.
    pub policy: AdminPolicy,
}

impl Auth {
    /// Creates an admin user that still has to set a password and enrol TOTP; returns the
    /// one-time setup code (shown once: only its digest is kept). `actor` is recorded, and so
    /// is `assistance_consent` (the permission to change customers' remote-assistance consent).
    pub async fn add_admin(
        &self,
        name: &str,
        actor: &str,
        assistance_consent: bool,
    ) -> Result<Secret, AddAdminError> {
        let name = name.trim();
        if !valid_admin_name(name) {
            return Err(AddAdminError::InvalidName);
        }
        let now = self.now();
        let code = secret::hex_code_from(self.random.as_ref());
        let user = AdminUser {
            name: name.to_string(),
            setup: Some(OneTimeSecret {
                digest: code.digest(),
                created_at: now,
                expires_at: now + SETUP_TTL_SECONDS,
                issued_by: Some(actor.to_string()),
                reason: None,
            }),
            created_at: now,
            assistance_consent,
            ..AdminUser::default()
        };
        let detail = match assistance_consent {
            true => format!("{name} (may change remote assistance consent)"),
            false => name.to_string(),
        };
        let entry = audit_entry(now, actor, "admin_user_added", None, Some(detail));
        if !self.store.create_admin_user(user, entry).await? {
            return Err(AddAdminError::NameTaken);
        }
        Ok(code)
    }

    /// Gives or takes away an admin user's permission to change customers' remote-assistance
    /// consent, audited as `admin_permission_changed`; `None` when there is no such user.
    pub async fn set_admin_assistance_consent(
        &self,
        name: &str,
        allowed: bool,
        actor: &str,
    ) -> Result<Option<()>, StoreError> {
        let now = self.now();
        let detail = format!(
            "{name}: remote assistance consent {}",
            if allowed { "granted" } else { "withdrawn" }
        );
        let entry = audit_entry(now, actor, "admin_permission_changed", None, Some(detail));
        self.store
            .update_admin_user(
                name.to_string(),
                self.admin.policy.session_seconds,
                move |u| {
                    if u.assistance_consent == allowed {
                        return AdminEdit::refuse(());
                    }
                    u.assistance_consent = allowed;
                    AdminEdit {
                        outcome: (),
                        save: true,
                        session: None,
                        audit: Some(entry),
                    }
                },
            )
            .await
    }

    /// Whether admin user `name` may change customers' remote-assistance consent.
    pub async fn admin_may_change_assistance_consent(
        &self,
        name: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .store
            .admin_user(name)
            .await?
            .is_some_and(|u| u.assistance_consent))
    }

    /// Every admin user (for listings; no secrets leave the core through `AdminUser`'s Debug).
    pub async fn admin_users(&self) -> Result<Vec<AdminUser>, StoreError> {
        self.store.admin_users().await
    }

    /// The admin whose live setup code this is.
    pub async fn admin_for_setup(&self, code: &str) -> Result<Option<String>, StoreError> {
        let digest = secret::digest(code.trim());
        let now = self.now();
        Ok(self
            .store
            .admin_users()
            .await?
            .into_iter()
            .find(|u| live_matches(&u.setup, &digest, now))
            .map(|u| u.name))
    }

    /// A fresh TOTP secret to show at enrolment.
    pub fn new_totp_secret(&self) -> TotpSecret {
        TotpSecret::generate(self.random.as_ref())
    }

    /// Completes setup: checks the code, the password rules and the first TOTP code against
    /// `totp` (the secret the page showed), then saves the password, the secret and the step
    /// used, voids the setup code and opens a session, in one write.
    pub async fn complete_admin_setup(
        &self,
        code: &str,
        password: &Secret,
        confirmation: &Secret,
        totp: TotpSecret,
        totp_code: &str,
    ) -> Result<AdminSignedIn, SetupError> {
        let Some(name) = self.admin_for_setup(code).await? else {
            return Err(SetupError::InvalidCode);
        };
        check_admin_password(
            password.expose(),
            confirmation.expose(),
            self.admin.policy.password_min_length,
        )
        .map_err(SetupError::Password)?;
        let now = self.now();
        let Some(step) = totp.verify(totp_code, now, None) else {
            return Err(SetupError::WrongTotp);
        };
        let hash = self.passwords.hash(password).await?;
        let digest = secret::digest(code.trim());
        let token = secret::key_from(self.random.as_ref(), "ska_");
        let session = (
            token.digest(),
            AdminSession {
                admin: name.clone(),
                created_at: now,
                last_seen: now,
            },
        );
        let actor = name.clone();
        let outcome = self
            .store
            .update_admin_user(name.clone(), self.admin.policy.session_seconds, move |u| {
                if !live_matches(&u.setup, &digest, now) {
                    return AdminEdit::refuse(false);
                }
                u.password_hash = Some(hash);
                u.totp_secret = Some(*totp.as_bytes());
                u.totp_last_step = Some(step);
                u.lockout = Lockout::default();
                u.setup = None;
                AdminEdit {
                    outcome: true,
                    save: true,
                    session: Some(session),
                    audit: Some(audit_entry(now, actor, "admin_user_set_up", None, None)),
                }
            })
            .await?;
        match outcome {
            Some(true) => Ok(AdminSignedIn { token, admin: name }),
            _ => Err(SetupError::InvalidCode),
        }
    }

    /// Name + password + TOTP code. Unknown names, wrong passwords, wrong or reused codes,
    /// locked users and throttled addresses all fail alike; a failure counts toward the user's
    /// lockout, and the accepted TOTP step is stored in the write that opens the session.
    pub async fn admin_sign_in(
        &self,
        name: &str,
        password: &Secret,
        code: &str,
        ip: Option<IpAddr>,
    ) -> Result<AdminSignedIn, AdminSignInError> {
        let now = self.now();
        let (user, hash, password_ok) = self.admin_password(name, password, ip).await?;
        let token = secret::key_from(self.random.as_ref(), "ska_");
        let attempt = AdminAttempt {
            password_ok,
            hash,
            code: code.to_string(),
            session: (
                token.digest(),
                AdminSession {
                    admin: user.name.clone(),
                    created_at: now,
                    last_seen: now,
                },
            ),
            max: self.policy.lockout_max_failures,
            minutes: self.policy.lockout_minutes,
        };
        let outcome = self
            .store
            .update_admin_user(
                user.name.clone(),
                self.admin.policy.session_seconds,
                move |u| decide_admin_sign_in(u, attempt, now),
            )
            .await?
            .unwrap_or(Err(AdminSignInError::Refused));
        let label = match &outcome {
            Ok(()) => "success",
            Err(AdminSignInError::Locked) => "locked",
            Err(_) => "failure",
        };
        self.metrics.login("admin_console", label);
        outcome.map(|()| AdminSignedIn {
            token,
            admin: user.name,
        })
    }

    /// The first part of both password sign-ins: the client's budget, `admin.passkey_only`
    /// (a password then opens nothing), and the password verified against the set-up user's
    /// hash (against a dummy hash when there is none, so timing does not tell). The user, the
    /// hash verified against (the commit checks it is still the stored one) and the verdict;
    /// an unknown or unfinished user is `Refused`.
    async fn admin_password(
        &self,
        name: &str,
        password: &Secret,
        ip: Option<IpAddr>,
    ) -> Result<(AdminUser, String, bool), AdminSignInError> {
        if !self.admin_throttle_allows(ip) {
            self.metrics.login("admin_console", "throttled");
            return Err(AdminSignInError::Throttled);
        }
        if self.admin.policy.passkey_only {
            self.metrics.login("admin_console", "failure");
            return Err(AdminSignInError::Refused);
        }
        let user = self.store.admin_user(name.trim()).await?;
        let hash = user
            .as_ref()
            .filter(|u| u.is_set_up())
            .and_then(|u| u.password_hash.clone());
        let password_ok = self.passwords.verify(hash.as_deref(), password).await?.ok;
        let (Some(user), Some(hash)) = (user, hash) else {
            self.metrics.login("admin_console", "failure");
            return Err(AdminSignInError::Refused);
        };
        Ok((user, hash, password_ok))
    }

    /// Whether the client may try an admin sign-in now (`throttle.login_per_ip_per_minute`,
    /// the console's own budget); each call spends one.
    fn admin_throttle_allows(&self, ip: Option<IpAddr>) -> bool {
        ip.is_none_or(|ip| {
            self.admin
                .policy
                .throttle
                .allow(&limits::ip_key(ip), self.now())
        })
    }

    /// The password step of a sign-in whose second factor is a passkey: name + password under
    /// the same throttle and lockout as `admin_sign_in` (a wrong password counts a failure; a
    /// locked admin is refused), with one answer for every refusal. Success opens nothing and
    /// clears no lockout: it only allows the passkey options that name this admin
    /// (`admin_passkey_sign_in_options(Some(name))`), returned with the admin's name as stored.
    pub async fn admin_password_step(
        &self,
        name: &str,
        password: &Secret,
        ip: Option<IpAddr>,
    ) -> Result<(String, serde_json::Value), AdminSignInError> {
        let now = self.now();
        let (user, hash, password_ok) = self.admin_password(name, password, ip).await?;
        let (max, minutes) = (
            self.policy.lockout_max_failures,
            self.policy.lockout_minutes,
        );
        let outcome = self
            .store
            .update_admin_user(user.name.clone(), i64::MAX, move |u| {
                if is_locked(&u.lockout, now) {
                    return AdminEdit::refuse(Err(AdminSignInError::Locked));
                }
                if password_ok && u.password_hash.as_deref() == Some(hash.as_str()) {
                    return AdminEdit::refuse(Ok(()));
                }
                refuse_counting(u, max, minutes, now)
            })
            .await?
            .unwrap_or(Err(AdminSignInError::Refused));
        if let Err(e) = outcome {
            let label = match e {
                AdminSignInError::Locked => "locked",
                _ => "failure",
            };
            self.metrics.login("admin_console", label);
            return Err(e);
        }
        // An admin without a passkey is refused as a wrong password is.
        match self.admin_passkey_sign_in_options(Some(&user.name)).await {
            Ok(options) => Ok((user.name, options)),
            Err(PasskeyError::Failure(f)) => Err(AdminSignInError::Failure(f)),
            Err(_) => {
                self.metrics.login("admin_console", "failure");
                Err(AdminSignInError::Refused)
            }
        }
    }

    /// Options for a passkey-only sign-in (`admin.passkey_only`: any admin's passkey), under
    /// the console's throttle.
    pub async fn admin_discoverable_options(
        &self,
        ip: Option<IpAddr>,
    ) -> Result<serde_json::Value, PasskeyError> {
        if !self.admin_throttle_allows(ip) {
            self.metrics.passkey("admin_sign_in_options", "throttled");
            return Err(PasskeyError::Throttled);
        }
        self.admin_passkey_sign_in_options(None).await
    }

    /// A console session from a passkey: the second factor of `expected` (whose password step
    /// minted the options the answer signs), or with `None` the whole sign-in under
    /// `admin.passkey_only`; under the console's throttle.
    pub async fn admin_sign_in_by_passkey(
        &self,
        expected: Option<&str>,
        response: &str,
        ip: Option<IpAddr>,
    ) -> Result<AdminSignedIn, PasskeyError> {
        if !self.admin_throttle_allows(ip) {
            self.metrics.passkey("admin_sign_in", "throttled");
            return Err(PasskeyError::Throttled);
        }
        // A second factor under `admin.passkey_only` (or a passkey-only answer without it)
        // is not a way in.
        if expected.is_some() == self.admin.policy.passkey_only {
            return Err(PasskeyError::Refused);
        }
        let now = self.now();
        let token = secret::key_from(self.random.as_ref(), "ska_");
        let session = (
            token.digest(),
            AdminSession {
                admin: String::new(),
                created_at: now,
                last_seen: now,
            },
        );
        let admin = self
            .admin_sign_in_with_passkey(
                expected,
                response,
                crate::auth::passkeys::AdminPasskeySignIn {
                    session,
                    idle_seconds: self.admin.policy.session_seconds,
                },
            )
            .await?;
        Ok(AdminSignedIn { token, admin })
    }

    /// An admin user's record (the console's passkeys page).
    pub async fn admin_user(&self, name: &str) -> Result<Option<AdminUser>, StoreError> {
        self.store.admin_user(name).await
    }

    /// The session a console cookie carries, unless it has been idle `admin.session_minutes`
    /// (then it is deleted). Marks it seen.
    pub async fn admin_session(&self, token: &str) -> Result<Option<AdminSession>, StoreError> {
        let digest = secret::digest(token);
        let Some(session) = self.store.admin_session(&digest).await? else {
            return Ok(None);
        };
        let now = self.now();
        let idle = self.admin.policy.session_seconds;
        if session.last_seen + idle <= now || now - session.last_seen >= TOUCH_EVERY_SECONDS {
            return self.store.touch_admin_session(digest, now, idle).await;
        }
        Ok(Some(session))
    }

    /// Sign-out: the session is deleted.
    pub async fn admin_sign_out(&self, token: &str) -> Result<bool, StoreError> {
        self.store.delete_admin_session(secret::digest(token)).await
    }

    /// Revokes every access token of a customer, audited with `admin` in the same commit.
    pub async fn revoke_customer_sessions(
        &self,
        id: CustomerId,
        admin: &str,
    ) -> Result<u64, StoreError> {
        let entry = audit_entry(self.now(), admin, "customer_tokens_revoked", Some(id), None);
        self.store.revoke_customer_tokens_audited(id, entry).await
    }

    /// How many customers and stored access tokens there are (the console's overview).
    pub async fn counts(&self) -> Result<(u64, u64), StoreError> {
        Ok((
            self.store.customer_count().await?,
            self.store.access_token_count().await?,
        ))
    }

    /// An admin sends a customer the password-reset mail (the same mail and limits as the
    /// customer's own request), recorded under `admin`.
    pub async fn send_reset_as_admin(
        self: &Arc<Self>,
        customer: &Customer,
        admin: &str,
    ) -> Result<bool, StoreError> {
        let sent = self.request_password_reset(&customer.email, None).await?;
        if sent {
            let entry = audit_entry(
                self.now(),
                admin,
                "reset_mail_sent",
                Some(customer.id),
                None,
            );
            self.store.append_audit(entry).await?;
        }
        Ok(sent)
    }
}

/// An admin sign-in as checked before its commit: whether the password verified against
/// `hash`, the authenticator code, the session to open, and the lockout rule.
struct AdminAttempt {
    password_ok: bool,
    hash: String,
    code: String,
    session: (Digest, AdminSession),
    max: u32,
    minutes: u32,
}

/// The commit of an admin sign-in, decided on the stored admin: refused while locked; with the
/// password still the one verified and an unused authenticator code, the code's step is
/// recorded, the lockout cleared and the session opened; anything else counts a failure (when
/// lockout is on), and the failure that engages the lock is audited.
fn decide_admin_sign_in(
    u: &mut AdminUser,
    attempt: AdminAttempt,
    now: Timestamp,
) -> AdminEdit<Result<(), AdminSignInError>> {
    if is_locked(&u.lockout, now) {
        return AdminEdit::refuse(Err(AdminSignInError::Locked));
    }
    let password_current = u.password_hash.as_deref() == Some(attempt.hash.as_str());
    let step = match (attempt.password_ok, password_current) {
        (true, true) => u
            .totp_secret
            .and_then(|s| TotpSecret::from_bytes(s).verify(&attempt.code, now, u.totp_last_step)),
        _ => None,
    };
    if let Some(step) = step {
        u.totp_last_step = Some(step);
        u.lockout = Lockout::default();
        return AdminEdit {
            outcome: Ok(()),
            save: true,
            session: Some(attempt.session),
            audit: None,
        };
    }
    refuse_counting(u, attempt.max, attempt.minutes, now)
}

/// A refused admin sign-in's commit: the failure counts toward the lockout (when lockout is
/// on), and the failure that engages the lock is audited.
fn refuse_counting(
    u: &mut AdminUser,
    max: u32,
    minutes: u32,
    now: Timestamp,
) -> AdminEdit<Result<(), AdminSignInError>> {
    let counting = max > 0 && minutes > 0;
    let locked = counting && count_failure(&mut u.lockout, now, max, minutes) == Strike::Locked;
    AdminEdit {
        outcome: Err(if locked {
            AdminSignInError::Locked
        } else {
            AdminSignInError::Refused
        }),
        save: counting,
        session: None,
        audit: locked.then(|| audit_entry(now, u.name.clone(), "admin_user_locked", None, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_passwords_follow_adobe_commerces_rules_in_order() {
        assert_eq!(
            check_admin_password("abc1", "abc1", 12).map_err(|e| e.to_string()),
            Err("Your password must be at least 12 characters.".into())
        );
        assert_eq!(
            check_admin_password("abcdefghijkl", "abcdefghijkl", 12).map_err(|e| e.to_string()),
            Err("Your password must include both numeric and alphabetic characters.".into())
        );
        assert_eq!(
            check_admin_password("123456789012", "123456789012", 12).map_err(|e| e.to_string()),
            Err("Your password must include both numeric and alphabetic characters.".into())
        );
        assert_eq!(
            check_admin_password("abcdefghijk1", "abcdefghijk2", 12).map_err(|e| e.to_string()),
            Err("Your password confirmation must match your password.".into())
        );
        assert_eq!(
            check_admin_password("abcdefghijk1", "abcdefghijk1", 12),
            Ok(())
        );
        assert_eq!(check_admin_password("abcdef1", "abcdef1", 7), Ok(()));
    }

    #[test]
    fn admin_names_are_short_plain_words() {
        for good in ["alice", "ops.team", "a_b-c", "x@shop"] {
            assert!(valid_admin_name(good), "{good}");
        }
        for bad in ["", "with space", "é", "a/b", &"x".repeat(65)] {
            assert!(!valid_admin_name(bad), "{bad}");
        }
    }
}
