//! Sign-in with a password, reset token or admin code: refuse early (throttle, lockout,
//! disabled), match the credential, then commit it in one write (`commit_sign_in`, a pure
//! decision on the stored record). Refusals cost the work a wrong password costs, and all end at
//! one floor (`refusal_floor`), so neither work nor time tells them apart. A password that
//! verified against a legacy or costlier hash is rehashed and stored in that same commit.

use super::legacy_hash;
use super::password::Verified;
use super::*;
use crate::model::OtcIssue;
use crate::store::Backend as _;

/// The sign-in service's own state.
pub(super) struct SignIns {
    pub(super) login_throttle: RateLimiter<IpAddr>,
    /// Failed sign-ins of the last `lockout.repeat_window_seconds`, as keyed tags: an identical
    /// retry counts once toward lockout and the throttle.
    pub(super) recent_failures: RecentFailures,
    /// Moving average of one argon2 verify, in microseconds: failures that skip the hash
    /// (locked, throttled, disabled) are padded to it so timing reveals nothing.
    pub(super) verify_micros: AtomicU64,
    /// The least time any refusal takes: as long as the slowest verify a stored hash costs.
    pub(super) refusal_floor: refusal_floor::RefusalFloor,
    /// Costly verifies (imported slow hashes) run a few at a time: one client's guesses at
    /// such accounts cannot take every hash worker (see `verify_stored`).
    pub(super) legacy_lane: tokio::sync::Semaphore,
    /// One credential check at a time per email (see `turns`).
    pub(super) turns: turns::Turns,
}

impl Auth {
    /// Signs a customer in with a password, reset token or admin code, in that order.
    pub async fn sign_in(&self, req: SignInRequest) -> Result<IssuedToken, SignInError> {
        let started = Instant::now();
        let result = self.sign_in_inner(&req).await;
        if result.is_err() {
            // Every refusal, whatever it was, ends at the same floor (see `pad_failure`).
            self.pad_failure(started).await;
        }
        match &result {
            Ok(t) => self.metrics.login(t.method.label(), "success"),
            Err(e) => {
                // One outcome for every refusal: which one it was would tell which emails have
                // accounts (the reason is in the debug log, never in the answer or metrics).
                let outcome = match e {
                    SignInError::Failure(Failure::Busy) => "busy",
                    SignInError::Failure(_) => "error",
                    _ => "failure",
                };
                self.metrics.login("credentials", outcome);
                tracing::debug!(reason = e.label(), "sign-in refused");
            }
        }
        result
    }

    /// Refuse early, match the credential, commit.
    async fn sign_in_inner(&self, req: &SignInRequest) -> Result<IssuedToken, SignInError> {
        let now = self.now();
        let Admitted {
            account,
            attempt,
            turn: _turn,
        } = self.refuse_early(req, now).await?;
        let digest = req.secret.digest();
        // A password is checked only where passwords are accepted; `checked` is false when a
        // costly verify found the legacy lane full and did not run.
        let (verified, checked) = match req.accept {
            Accept::Any => match self
                .verify_stored(account.credentials.password_hash.as_deref(), &req.secret)
                .await?
            {
                Some(v) => (v, true),
                None => (Verified::default(), false),
            },
            Accept::OneTimeOnly => (Verified::default(), true),
        };
        let otc_enabled = self.policy.otc_enabled;
        let Some(method) = match_credential(&account, verified.ok, &digest, otc_enabled, now)
        else {
            return Err(self
                .refuse_wrong_secret(account.customer.id, checked, attempt, now)
                .await);
        };
        if self.policy.require_confirmation && !account.customer.confirmed {
            return Err(SignInError::NotConfirmed);
        }
        let matched = Matched {
            method,
            digest,
            needs_rehash: verified.needs_rehash,
        };
        self.commit(req, account, matched, now).await
    }

    /// The checks before any credential is matched: the client's throttle, one turn per email,
    /// the account and its state, and a retry of a refusal counted moments ago. Every refusal
    /// here costs what a wrong password for a real account costs: one argon2 verify (or a wait
    /// as long as one) and one durable write (the failure count, or a decoy write where there
    /// is nothing to count), so no amount of work tells them apart; and each then waits for
    /// the refusal floor (in `sign_in`), so no verify's length does either.
    async fn refuse_early(
        &self,
        req: &SignInRequest,
        now: Timestamp,
    ) -> Result<Admitted<'_>, SignInError> {
        let ip = req.ip.map(limits::ip_key);
        // An address that has spent its limit is refused before anything else; it is counted
        // below, once the attempt is known not to repeat one already counted.
        if let Some(ip) = ip {
            if self.sign_ins.login_throttle.over(&ip, now) {
                return Err(SignInError::Throttled);
            }
        }
        // One check at a time per email, known or not: each sees the lockout the last left.
        let email_key = crate::model::email_key(&req.email);
        let turn = self.sign_ins.turns.take(&email_key).await;
        let account = self.account_by_email(&req.email).await?;
        let refusal = match &account {
            None => Some(SignInError::UnknownEmail),
            Some(a) if a.customer.disabled => Some(SignInError::Disabled),
            Some(a) if is_locked(&a.credentials.lockout, now) => Some(SignInError::Locked),
            Some(_) => None,
        };
        let attempt = self.attempt_tag(req, &email_key, ip, account.as_ref(), now);
        if self.sign_ins.recent_failures.seen(&attempt, now) {
            // A retry of a refusal counted moments ago: the same answer at the same cost (a
            // wait for the floor, one decoy write), counted toward nothing. No verify: a
            // retry is not counted by the throttle, so it must not buy argon2 work either.
            self.decoy_write().await?;
            return Err(refusal.unwrap_or(SignInError::WrongSecret));
        }
        if let Some(ip) = ip {
            if !self.sign_ins.login_throttle.allow(&ip, now) {
                return Err(SignInError::Throttled);
            }
        }
        let (Some(account), None) = (account, refusal.clone()) else {
            // A real verify against the dummy hash where passwords are accepted (the work of
            // a wrong password; the floor covers the rest).
            if req.accept == Accept::Any {
                self.timed_verify(None, &req.secret).await?;
            }
            self.decoy_write().await?;
            self.sign_ins.recent_failures.remember(attempt, now);
            return Err(refusal.unwrap_or(SignInError::UnknownEmail));
        };
        Ok(Admitted {
            account,
            attempt,
            turn,
        })
    }

    /// The attempt as a keyed tag: email, secret, client address, what is accepted, and the
    /// account's state (a new password, an ended lock or a new account is a new attempt).
    fn attempt_tag(
        &self,
        req: &SignInRequest,
        email_key: &str,
        ip: Option<IpAddr>,
        account: Option<&Account>,
        now: Timestamp,
    ) -> [u8; 32] {
        let state = match account {
            None => Vec::new(),
            Some(Account {
                customer: c,
                credentials: k,
                ..
            }) => [
                c.id.0.to_be_bytes().as_slice(),
                &k.password_version.to_be_bytes(),
                &[u8::from(c.disabled), u8::from(is_locked(&k.lockout, now))],
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
        self.sign_ins.recent_failures.tag(&[
            email_key.as_bytes(),
            req.secret.expose().as_bytes(),
            &ip_bytes,
            accept,
            &state,
        ])
    }

    /// No credential matched: counts the failure if the guess was checked (a lock that engaged
    /// meanwhile answers as the lock), else the same write as a counted one. The refusal waits
    /// for the floor in `sign_in`: a success needs no padding, it announces itself.
    async fn refuse_wrong_secret(
        &self,
        id: CustomerId,
        checked: bool,
        attempt: [u8; 32],
        now: Timestamp,
    ) -> SignInError {
        if !checked {
            // Not a guess that was checked: nothing to count (a retry must check it).
            return match self.decoy_write().await {
                Ok(()) => SignInError::WrongSecret,
                Err(e) => e,
            };
        }
        match self.record_failure(id).await {
            Ok(Strike::WhileLocked) => SignInError::Locked,
            Ok(_) => {
                self.sign_ins.recent_failures.remember(attempt, now);
                SignInError::WrongSecret
            }
            Err(e) => e,
        }
    }

    /// Commit: consume a one-time credential (only if still the live one), clear the lockout,
    /// store a rehash, mint the token. All in one write, so concurrent uses of one code cannot
    /// both win.
    async fn commit(
        &self,
        req: &SignInRequest,
        account: Account,
        matched: Matched,
        now: Timestamp,
    ) -> Result<IssuedToken, SignInError> {
        let Matched {
            method,
            digest,
            needs_rehash,
        } = matched;
        let credentials = &account.credentials;
        let password_version = credentials.password_version;
        let rehash = match (method, needs_rehash, &credentials.password_hash) {
            (Method::Password, true, Some(old)) => {
                self.fresh_hash(old, password_version, &req.secret).await
            }
            _ => None,
        };
        let rehashed_from = rehash.as_ref().map(|r| r.from_scheme);
        let otc_enabled = self.policy.otc_enabled;
        let (token, new_token, browser_session) = match req.mint {
            Mint::Token(kind) => {
                let (token, new_token) = self.mint(account.customer.id, kind, now);
                (token, Some(new_token), None)
            }
            Mint::BrowserSession => {
                let (cookie, digest, session) =
                    self.mint_browser_session(account.customer.id, method, now);
                (cookie, None, Some(Box::new((digest, session))))
            }
        };
        let expires_at = match (&new_token, &browser_session) {
            (Some(t), _) => t.record.expires_at,
            (None, Some(started)) => started.1.expires_at,
            (None, None) => now,
        };
        let outcome = self
            .store
            .update_customer(Who::Id(account.customer.id), move |c| {
                let decided = commit_sign_in(
                    c,
                    method,
                    &digest,
                    password_version,
                    otc_enabled,
                    now,
                    rehash.as_ref(),
                );
                match decided {
                    Err(refusal) => Change::Refuse(Err(refusal)),
                    Ok((audit, rehashed)) => Change::Save(
                        Ok(rehashed),
                        Effects {
                            token: new_token.clone(),
                            browser_session: browser_session.clone(),
                            audit: audit.into_iter().collect(),
                            ..Effects::default()
                        },
                    ),
                }
            })
            .await?;
        match outcome {
            Updated::Saved(after, rehashed) => {
                if let (Ok(true), Some(from)) = (rehashed, rehashed_from) {
                    self.metrics.password_rehashed(from);
                }
                Ok(IssuedToken {
                    customer: after.customer,
                    token,
                    expires_at,
                    method,
                })
            }
            Updated::Refused(refusal) => Err(refusal.err().unwrap_or(SignInError::Raced)),
            Updated::NotFound | Updated::EmailTaken => Err(SignInError::UnknownEmail),
        }
    }

    async fn timed_verify(
        &self,
        phc: Option<&str>,
        secret: &Secret,
    ) -> Result<Verified, SignInError> {
        let started = Instant::now();
        let verified = self
            .passwords
            .verify(phc, secret)
            .await
            .map_err(SignInError::from)?;
        // Only verifies at the configured cost (or the dummy) set the time refusals wait for:
        // a fast legacy hash would pull it down.
        if verified.needs_rehash {
            return Ok(verified);
        }
        let micros = started.elapsed().as_micros() as u64;
        let old = self.sign_ins.verify_micros.load(Ordering::Relaxed);
        let avg = if old == 0 {
            micros
        } else {
            (old * 7 + micros) / 8
        };
        self.sign_ins.verify_micros.store(avg, Ordering::Relaxed);
        Ok(verified)
    }

    /// Verifies against an account's stored hash. A costly one (an imported slow hash, argon2
    /// at another cost: anything `legacy_hash::verify_cost` prices) takes a place in the
    /// legacy lane first, so only a few run at once; a request that cannot get one within the
    /// floor's slack is not verified (None) and is refused like a wrong password. No answer
    /// of its own ("busy"): only imported accounts would get it, an oracle. The refusal floor
    /// covers the wait, so it does not show in the time either.
    async fn verify_stored(
        &self,
        stored: Option<&str>,
        secret: &Secret,
    ) -> Result<Option<Verified>, SignInError> {
        let password = &self.policy.password;
        let costly = stored.is_some_and(|h| {
            legacy_hash::needs_rehash(h, &legacy_hash::Argon2Cost::from(password))
                && legacy_hash::verify_cost(h, password.accept_legacy_hashes).is_some()
        });
        if !costly {
            return self.timed_verify(stored, secret).await.map(Some);
        }
        let floor = self.sign_ins.refusal_floor.get().await;
        let Ok(Ok(_place)) =
            tokio::time::timeout(floor.slack(), self.sign_ins.legacy_lane.acquire()).await
        else {
            tracing::debug!("costly password verify skipped: the legacy lane is full");
            return Ok(None);
        };
        let started = Instant::now();
        let verified = self.timed_verify(stored, secret).await?;
        self.sign_ins.refusal_floor.observe(started.elapsed());
        Ok(Some(verified))
    }

    /// An argon2id hash of `password` at the configured cost, to replace `from` (which it just
    /// verified against). None when the pool is busy or fails: the sign-in goes on without it
    /// and the next one tries again.
    pub(super) async fn fresh_hash(
        &self,
        from: &str,
        password_version: u32,
        password: &Secret,
    ) -> Option<Rehash> {
        match self.passwords.hash(password).await {
            Ok(to) => Some(Rehash {
                from: from.to_owned(),
                from_scheme: legacy_hash::classify(from, &legacy_hash::Limits::default()).label(),
                to,
                password_version,
            }),
            Err(HashError::Busy) => {
                tracing::debug!("password rehash skipped: the hash pool is busy");
                None
            }
            Err(HashError::Failed(e)) => {
                tracing::warn!("password rehash skipped: {e}");
                None
            }
        }
    }

    /// Waits until a refusal has taken as long as the slowest verify a stored hash could cost
    /// (the refusal floor, waiting for it at start-up) and as long as an argon2 verify at the
    /// configured cost takes of late, whichever is longer.
    pub(super) async fn pad_failure(&self, started: Instant) {
        let floor = self.sign_ins.refusal_floor.get().await.wait;
        let average = Duration::from_micros(self.sign_ins.verify_micros.load(Ordering::Relaxed));
        let target = floor.max(average);
        if let Some(rest) = target.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }

    /// Adobe Commerce's `processAuthenticationFailure`: counts a failure and locks the account
    /// at `max_failures` for `lock_minutes`; a failure after an expired lock starts over at 1.
    /// Decided in the store's update of the record (`count_failure`), so a failure that finds
    /// the lock engaged (one in flight elsewhere when it engaged) is refused uncounted, and
    /// only the failure that engaged a lock counts it in `storekey_lockouts_total`.
    pub(super) async fn record_failure(&self, id: CustomerId) -> Result<Strike, SignInError> {
        let max = self.policy.lockout_max_failures;
        let minutes = self.policy.lockout_minutes;
        if max == 0 || minutes == 0 {
            // Nothing to count, but the same durable work as when there is.
            self.decoy_write().await?;
            return Ok(Strike::Counted);
        }
        let now = self.now();
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |c| {
                match count_failure(&mut c.credentials.lockout, now, max, minutes) {
                    Strike::WhileLocked => Change::Refuse(Strike::WhileLocked),
                    counted => Change::Save(counted, Effects::default()),
                }
            })
            .await?;
        let failure = match outcome {
            Updated::Saved(_, failure) => failure,
            Updated::Refused(failure) => {
                // Nothing written: the same durable work as a counted failure all the same.
                self.decoy_write().await?;
                failure
            }
            Updated::NotFound | Updated::EmailTaken => Strike::Counted,
        };
        if failure == Strike::Locked {
            self.metrics.lockout();
            tracing::info!(
                customer = id.0,
                "account locked after repeated sign-in failures"
            );
        }
        Ok(failure)
    }

    /// One small durable write that changes nothing a client can see (a counter in the store's
    /// metadata): refusals that have nothing to record still cost what a recorded one costs.
    async fn decoy_write(&self) -> Result<(), SignInError> {
        Ok(self.store.record_refusal().await?)
    }
}

/// What passed the early checks: the account (known, enabled, unlocked), the attempt's tag,
/// and the turn held for its email until the sign-in ends.
struct Admitted<'a> {
    account: Account,
    attempt: [u8; 32],
    turn: turns::Turn<'a>,
}

/// The credential that matched on the snapshot read, for the commit to confirm.
struct Matched {
    method: Method,
    digest: Digest,
    needs_rehash: bool,
}

/// Which credential the secret is, on the account as read: the password (`password_ok`, from
/// the verify), else a live reset token, else a live admin code where codes are enabled and
/// the customer allows remote assistance. In that order, so a secret that is both a password
/// and a code signs in as the password and leaves the code unspent.
fn match_credential(
    account: &Account,
    password_ok: bool,
    digest: &Digest,
    otc_enabled: bool,
    now: Timestamp,
) -> Option<Method> {
    let (c, k) = (&account.customer, &account.credentials);
    if password_ok {
        Some(Method::Password)
    } else if live_matches(&k.reset_token, digest, now) {
        Some(Method::ResetToken)
    } else if otc_enabled && c.allow_remote_shopping_assistance && live_matches(&k.otc, digest, now)
    {
        Some(Method::Otc)
    } else {
        None
    }
}

/// A new hash for a password that verified against `from`, made before the commit.
pub(super) struct Rehash {
    from: String,
    /// `from`'s scheme, for the rehash counter.
    pub(super) from_scheme: &'static str,
    to: String,
    password_version: u32,
}

/// Stores the rehash if the password is still the one that was verified (same version, same
/// stored hash): a password changed (or rehashed) meanwhile wins. No version bump, so the
/// customer's tokens and in-flight sign-ins stay valid. True when it was stored.
pub(super) fn apply_rehash(k: &mut Credentials, rehash: &Rehash) -> bool {
    if k.password_version == rehash.password_version
        && k.password_hash.as_deref() == Some(rehash.from.as_str())
    {
        k.password_hash = Some(rehash.to.clone());
        return true;
    }
    false
}

/// The commit of a sign-in, decided on the stored record: the credential that matched on the
/// snapshot must still be the live one (else another request won it, `Raced`), and the
/// account must still be enabled and unlocked. Consumes a one-time credential, clears the
/// lockout, stores a password's rehash (`apply_rehash`), and returns the audit entry that the
/// use of a reset token or admin code writes, and whether the rehash was stored.
fn commit_sign_in(
    account: &mut Account,
    method: Method,
    digest: &Digest,
    password_version: u32,
    otc_enabled: bool,
    now: Timestamp,
    rehash: Option<&Rehash>,
) -> Result<(Option<AuditEntry>, bool), SignInError> {
    let Account {
        customer: c,
        credentials: k,
        ..
    } = account;
    let mut audit = None;
    match method {
        Method::Password => {
            if k.password_version != password_version {
                return Err(SignInError::Raced);
            }
        }
        Method::ResetToken => {
            if !live_matches(&k.reset_token, digest, now) {
                return Err(SignInError::Raced);
            }
            k.reset_token = None;
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
                && live_matches(&k.otc, digest, now))
            {
                return Err(SignInError::Raced);
            }
            let (by, reason) = k
                .otc
                .take()
                .map(|o| (o.issued_by, o.reason))
                .unwrap_or_default();
            let otc = OtcIssue {
                issued_by: by.unwrap_or_default(),
                reason: reason.unwrap_or_default(),
            };
            let detail = format!("issued by {}; reason: {}", otc.issued_by, otc.reason);
            let mut entry = audit_entry(now, "customer", "otc_used", Some(c.id), Some(detail));
            entry.otc = Some(otc);
            audit = Some(entry);
        }
        Method::Multipass
        | Method::Admin
        | Method::Activation
        | Method::LoginCode
        | Method::Passkey => {}
    }
    if c.disabled {
        return Err(SignInError::Disabled);
    }
    // The lock may have been reached since the read (another instance, or a failure committed
    // meanwhile): the commit decides.
    if is_locked(&k.lockout, now) {
        return Err(SignInError::Locked);
    }
    k.lockout = Lockout::default();
    let rehashed = match (method, rehash) {
        (Method::Password, Some(r)) => apply_rehash(k, r),
        _ => false,
    };
    Ok((audit, rehashed))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut c = Account::default();
        c.customer.id = CustomerId(7);
        c.customer.allow_remote_shopping_assistance = true;
        c.credentials.otc = slot([1; 32], 50);
        c.credentials.lockout = Lockout {
            failures: 2,
            first_failure: Some(1),
            lock_expires: None,
        };
        let (audit, rehashed) =
            commit_sign_in(&mut c, Method::Otc, &[1; 32], 0, true, 10, None).unwrap();
        assert!(!rehashed);
        assert_eq!(c.credentials.otc, None);
        assert_eq!(c.credentials.lockout, Lockout::default());
        let audit = audit.unwrap();
        assert_eq!(
            (audit.action.as_str(), audit.subject),
            ("otc_used", Some(CustomerId(7)))
        );
        assert_eq!(audit.detail.as_deref(), Some("issued by ops; reason: call"));
        assert_eq!(
            audit.otc,
            Some(OtcIssue {
                issued_by: "ops".into(),
                reason: "call".into()
            })
        );
        // The second use of the same code lost the race.
        assert_eq!(
            commit_sign_in(&mut c, Method::Otc, &[1; 32], 0, true, 10, None),
            Err(SignInError::Raced)
        );
    }

    #[test]
    fn a_sign_in_commit_refuses_a_changed_password_then_disabled_then_locked() {
        let mut c = Account::default();
        c.credentials.password_version = 2;
        c.customer.disabled = true;
        c.credentials.lockout = Lockout {
            failures: 5,
            first_failure: Some(1),
            lock_expires: Some(100),
        };
        let commit = |c: &mut Account, version| {
            commit_sign_in(c, Method::Password, &[0; 32], version, true, 10, None)
        };
        assert_eq!(commit(&mut c, 1), Err(SignInError::Raced));
        assert_eq!(commit(&mut c, 2), Err(SignInError::Disabled));
        c.customer.disabled = false;
        assert_eq!(commit(&mut c, 2), Err(SignInError::Locked));
        c.credentials.lockout.lock_expires = Some(5);
        assert_eq!(commit(&mut c, 2), Ok((None, false)));
    }

    #[test]
    fn the_password_matches_first_then_a_live_reset_token_then_a_usable_code() {
        let mut a = Account::default();
        a.credentials.reset_token = slot([1; 32], 50);
        a.credentials.otc = slot([2; 32], 50);
        let matched = |a: &Account, ok, d: &Digest, otc, now| match_credential(a, ok, d, otc, now);
        // The password wins even when the secret is also a live token: the token stays unspent.
        assert_eq!(
            matched(&a, true, &[1; 32], true, 10),
            Some(Method::Password)
        );
        assert_eq!(
            matched(&a, false, &[1; 32], true, 10),
            Some(Method::ResetToken)
        );
        // Expired at 50: not at 50 or after.
        assert_eq!(matched(&a, false, &[1; 32], true, 50), None);
        // A code needs codes enabled and the customer's permission.
        assert_eq!(matched(&a, false, &[2; 32], true, 10), None);
        a.customer.allow_remote_shopping_assistance = true;
        assert_eq!(matched(&a, false, &[2; 32], true, 10), Some(Method::Otc));
        assert_eq!(matched(&a, false, &[2; 32], false, 10), None);
        assert_eq!(matched(&a, false, &[3; 32], true, 10), None);
    }

    const LEGACY: &str = "magento:67a1e09bb1f83f5007dc119c14d663aa:salt:0";
    const FRESH: &str = "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

    fn legacy_account() -> Account {
        let mut c = Account::default();
        c.credentials.password_hash = Some(LEGACY.into());
        c.credentials.password_version = 3;
        c
    }

    fn rehash() -> Rehash {
        Rehash {
            from: LEGACY.into(),
            from_scheme: "magento_md5",
            to: FRESH.into(),
            password_version: 3,
        }
    }

    #[test]
    fn a_sign_in_commit_stores_the_rehash_without_a_version_bump() {
        let mut c = legacy_account();
        let r = rehash();
        let committed = commit_sign_in(&mut c, Method::Password, &[0; 32], 3, true, 10, Some(&r));
        assert_eq!(committed, Ok((None, true)));
        assert_eq!(c.credentials.password_hash.as_deref(), Some(FRESH));
        assert_eq!(c.credentials.password_version, 3);
    }

    #[test]
    fn a_rehash_racing_a_password_change_loses() {
        // The change committed between the verify and the sign-in's commit: new hash, new
        // version. The sign-in's commit refuses, and the rehash never overwrites the change.
        let mut c = legacy_account();
        c.credentials
            .set_password("$argon2id$v=19$m=256,t=1,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g".into());
        let changed = c.clone();
        let r = rehash();
        assert_eq!(
            commit_sign_in(&mut c, Method::Password, &[0; 32], 3, true, 10, Some(&r)),
            Err(SignInError::Raced)
        );
        assert!(!apply_rehash(&mut c.credentials, &r));
        assert_eq!(c, changed);
        // A hash replaced without a version bump (a concurrent rehash, an import's update) also
        // wins: the rehash applies only over the very hash that was verified.
        let mut c = legacy_account();
        c.credentials.password_hash = Some(FRESH.replace("aGFzaGhh", "b3RoZXJv"));
        let replaced = c.credentials.password_hash.clone();
        assert!(!apply_rehash(&mut c.credentials, &r));
        assert_eq!(c.credentials.password_hash, replaced);
    }

    #[test]
    fn a_reset_token_sign_in_leaves_the_hash_alone() {
        let mut c = legacy_account();
        c.credentials.reset_token = slot([2; 32], 50);
        let r = rehash();
        let committed = commit_sign_in(&mut c, Method::ResetToken, &[2; 32], 3, true, 10, Some(&r));
        assert!(matches!(committed, Ok((Some(_), false))));
        assert_eq!(c.credentials.password_hash.as_deref(), Some(LEGACY));
    }
}
