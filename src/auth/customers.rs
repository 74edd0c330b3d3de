//! Customers: create, read, update (one write per use case), password changes, delete; the
//! email rules.

use super::password::Verified;
use super::sign_in::{apply_rehash, Rehash};
use super::*;
use crate::store::Backend as _;

/// The accounts service's own state.
pub(super) struct Accounts {
    /// Self-registrations per client, created or "already exists" alike.
    pub(super) registrations: RateLimiter<IpAddr>,
}

impl Auth {
    pub async fn create_customer(&self, new: NewCustomer) -> Result<Customer, AccountError> {
        let email = normalize_email(&new.email);
        if !valid_email(&email) {
            return Err(AccountError::InvalidEmail);
        }
        if let Some(field) = new.profile.too_long() {
            return Err(AccountError::TooLong(field));
        }
        if let Some(pw) = &new.password {
            check_policy(&self.policy.password, pw.expose(), &email)
                .map_err(AccountError::Policy)?;
        }
        let now = self.now();
        // A self-registration counts toward its client's budget once its input is known good
        // and before anything asks whether the email has an account: a new account and an
        // "already exists" both count, and a refusal is the same answer, with no lookup behind
        // it, for every email. Admin creation (no `requested_from`) is exempt.
        if let Some(ip) = new.requested_from {
            if !self.accounts.registrations.allow(&limits::ip_key(ip), now) {
                return Err(AccountError::Throttled);
            }
        }
        let hash = match &new.password {
            Some(pw) => Some(self.passwords.hash(pw).await?),
            None => None,
        };
        let confirmed = new.confirmed.unwrap_or(!self.policy.require_confirmation);
        let email_verified =
            new.email_verified || (new.requested_from.is_none() && new.confirmed == Some(true));
        let account = Account {
            customer: Customer {
                email,
                profile: new.profile,
                created_at: now,
                updated_at: now,
                confirmed,
                email_verified,
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
        let new_email = checked_changes(&changes)?;
        let hash = match &new_password {
            Some(pw) => {
                let current = self.customer(id).await?.ok_or(AccountError::NotFound)?;
                let email = new_email.as_deref().unwrap_or(&current.email);
                Some(self.new_password_hash(pw, email).await?)
            }
            None => None,
        };
        let edit = AccountEdit {
            new_email,
            changes,
            hash,
            ..AccountEdit::default()
        };
        self.write_account(id, edit, reissue).await
    }

    /// Commerce's `changeCustomerPassword`, one use case: one turn for the customer's email,
    /// one verify of the current password (a wrong one counts toward lockout, a locked account
    /// is refused), one write of the new hash (policy checked) that revokes every token. The
    /// write confirms the password verified is still the stored one.
    pub async fn change_password(
        &self,
        customer: &Customer,
        current: &Secret,
        new_password: &Secret,
    ) -> Result<Customer, AccountError> {
        let (account, _, _turn) = self.verify_current(customer, current).await?;
        let hash = self
            .new_password_hash(new_password, &account.customer.email)
            .await?;
        let edit = AccountEdit {
            hash: Some(hash),
            verified_version: Some(account.credentials.password_version),
            ..AccountEdit::default()
        };
        Ok(self.write_account(customer.id, edit, None).await?.customer)
    }

    /// Commerce's `updateCustomerEmail` (and `updateCustomer` with an email), one use case:
    /// `changes` (with the new email) are checked, the current password verified as
    /// `change_password` does, and the changes written in one write, with the rehash of a
    /// password that verified against a legacy hash.
    pub async fn change_email(
        &self,
        customer: &Customer,
        password: &Secret,
        changes: CustomerChanges,
    ) -> Result<Customer, AccountError> {
        let new_email = checked_changes(&changes)?;
        let (account, verified, _turn) = self.verify_current(customer, password).await?;
        let version = account.credentials.password_version;
        let rehash = match (verified.needs_rehash, &account.credentials.password_hash) {
            (true, Some(old)) => self.fresh_hash(old, version, password).await,
            _ => None,
        };
        let edit = AccountEdit {
            new_email,
            changes,
            verified_version: Some(version),
            rehash,
            ..AccountEdit::default()
        };
        Ok(self.write_account(customer.id, edit, None).await?.customer)
    }

    /// A new password's hash, after the password rule for an account whose email is `email`.
    async fn new_password_hash(
        &self,
        password: &Secret,
        email: &str,
    ) -> Result<String, AccountError> {
        self.check_new_password(password, email)
            .map_err(AccountError::Policy)?;
        Ok(self.passwords.hash(password).await?)
    }

    /// Writes `edit` (see `apply_account_edit`) with, when the password changed and `reissue`
    /// names a kind, a fresh token of that kind.
    async fn write_account(
        &self,
        id: CustomerId,
        edit: AccountEdit,
        reissue: Option<TokenKind>,
    ) -> Result<AccountUpdate, AccountError> {
        let now = self.now();
        let minted = reissue.map(|kind| self.mint(id, kind, now));
        let new_token = minted.as_ref().map(|(_, t)| t.clone());
        let rehashed_from = edit.rehash.as_ref().map(|r| r.from_scheme);
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |after| {
                apply_account_edit(after, &edit, new_token.clone(), now)
            })
            .await?;
        match outcome {
            Updated::Saved(after, written) => {
                // A saved edit decided `Ok`.
                let written = written.unwrap_or(Written {
                    minted: false,
                    rehashed: false,
                });
                if let (true, Some(from)) = (written.rehashed, rehashed_from) {
                    self.metrics.password_rehashed(from);
                }
                let token = match minted {
                    Some((token, new)) if written.minted => Some(IssuedToken {
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
            Updated::Refused(refusal) => Err(refusal.err().unwrap_or(AccountError::NotFound)),
            Updated::NotFound => Err(AccountError::NotFound),
            Updated::EmailTaken => Err(AccountError::EmailTaken),
        }
    }

    /// The current password of a signed-in customer, checked the way a sign-in checks one, under
    /// the turn for its email (held by the caller through its write): a wrong one counts toward
    /// lockout, and a locked account is refused. The account as read under the turn, with the
    /// verify's result.
    async fn verify_current(
        &self,
        customer: &Customer,
        current: &Secret,
    ) -> Result<(Account, Verified, turns::Turn<'_>), AccountError> {
        let turn = self
            .sign_ins
            .turns
            .take(&crate::model::email_key(&customer.email))
            .await;
        // Re-read under the turn: the lockout may have moved since the session was loaded.
        let account = self
            .account(customer.id)
            .await?
            .ok_or(AccountError::NotFound)?;
        if is_locked(&account.credentials.lockout, self.now()) {
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
                    SignInError::Failure(f) => AccountError::Failure(f),
                    other => AccountError::Failure(Failure::Internal(format!("{other:?}"))),
                })?;
            return Err(match failure {
                Strike::WhileLocked => AccountError::Locked,
                Strike::Counted | Strike::Locked => AccountError::WrongPassword,
            });
        }
        Ok((account, verified, turn))
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

/// An email as an account may hold it: a bare addr-spec (`local@domain`), nothing around it.
/// The local part is a dot-atom (RFC 5322 `atext`, plus letters and digits beyond ASCII for
/// RFC 6531 addresses), at most 64 bytes; the domain is two or more labels of
/// letters, digits and inner hyphens; the whole at most 254 bytes. So no display name, angle
/// brackets, quotes, comments, whitespace, IP literal or second address: what is accepted is
/// exactly the address mail goes to, and lettre, which sends it, parses it to itself.
pub fn valid_email(email: &str) -> bool {
    if email.len() > 254 {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    local.len() <= 64
        && dot_separated(local, 1, |atom| atom.chars().all(is_atext))
        && dot_separated(domain, 2, is_label)
        && email.parse::<lettre::Address>().is_ok()
}

/// `text` is at least `min` non-empty parts joined by single dots, each one `valid`.
fn dot_separated(text: &str, min: usize, valid: impl Fn(&str) -> bool) -> bool {
    let mut parts = 0;
    for part in text.split('.') {
        if part.is_empty() || !valid(part) {
            return false;
        }
        parts += 1;
    }
    parts >= min
}

/// RFC 5322 `atext`, and beyond ASCII letters and digits only: what lettre's address parser
/// takes (no spaces, controls, invisible format characters or punctuation such as `“`).
fn is_atext(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
    } else {
        c.is_alphanumeric()
    }
}

/// A domain label: letters, digits (ASCII or not: IDNA decides the rest) and inner hyphens.
fn is_label(label: &str) -> bool {
    !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| {
            c == '-' || c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_change_after_the_verify_refuses_the_write() {
        let mut a = Account::default();
        a.credentials.password_version = 4;
        let edit = AccountEdit {
            hash: Some("$argon2id$new".into()),
            verified_version: Some(3),
            ..AccountEdit::default()
        };
        let before = a.clone();
        assert!(matches!(
            apply_account_edit(&mut a, &edit, None, 10),
            Change::Refuse(Err(AccountError::WrongPassword))
        ));
        assert_eq!(a, before, "nothing changed");
        let edit = AccountEdit {
            verified_version: Some(4),
            ..edit
        };
        let Change::Save(Ok(written), effects) = apply_account_edit(&mut a, &edit, None, 10) else {
            panic!("refused");
        };
        assert!(!written.minted && effects.revoke_tokens);
        assert_eq!(
            a.credentials.password_hash.as_deref(),
            Some("$argon2id$new")
        );
        assert_eq!(a.credentials.password_version, 5);
    }

    #[test]
    fn email_syntax() {
        assert!(valid_email("bobloblaw@example.com"));
        assert!(!valid_email("bob"));
        assert!(!valid_email("bob@localhost"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email("a@b@example.com"));
        assert!(!valid_email("@example.com"));
        assert!(valid_email("o'brien+shop@mail.example.co.uk"));
        assert!(valid_email("josé@exämple.com"));
        // Magento's CreateCustomerV2Test registers both; lettre cannot address the second
        // (`“` is not atext, and its RFC 6531 check takes letters and digits only).
        assert!(valid_email("jØrgenV2@somedomain.com"));
        assert!(!valid_email("“emailV2”@example.com"));
        assert!("“emailV2”@example.com".parse::<lettre::Address>().is_err());
    }

    #[test]
    fn only_a_bare_address_is_an_email() {
        for hostile in [
            "Eve<x@corp.example>",
            "Eve <x@corp.example>",
            "<x@corp.example>",
            "x@corp.example (Eve)",
            "(Eve)x@corp.example",
            "\"eve x\"@corp.example",
            "\"x@corp.example\"@evil.example",
            "x@corp.example,y@evil.example",
            "x@corp.example;y@evil.example",
            "x@corp.example\r\nBcc: y@evil.example",
            "x@[192.0.2.1]",
            ".x@corp.example",
            "x.@corp.example",
            "x..y@corp.example",
            "x@-corp.example",
            "x@corp..example",
            "x\u{200b}@corp.example",
            "x\u{202e}moc.elpmaxe@corp.example",
            "x\u{a0}y@corp.example",
        ] {
            assert!(!valid_email(hostile), "{hostile:?}");
        }
        // Why the display name matters: lettre's address refuses it, but a mailbox (which is
        // what a `To:` header parses as) takes the name and mails the address inside.
        assert!("Eve<x@corp.example>".parse::<lettre::Address>().is_err());
        let mailbox: lettre::message::Mailbox = "Eve<x@corp.example>".parse().unwrap();
        assert_eq!(mailbox.email.to_string(), "x@corp.example");
    }

    /// xorshift64*: a seeded stream, so a failing case is reproducible from its seed.
    struct Stream(u64);
    impl Stream {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[(self.next() % from.len() as u64) as usize]
        }
    }

    /// Address-like strings: mostly plausible parts, with every kind of RFC 5322 syntax that
    /// changes where mail goes (names, brackets, quotes, comments, lists, folding) mixed in.
    fn candidate(r: &mut Stream) -> String {
        const PIECES: &[&str] = &[
            "a", "bob", "x1", "Z", "9", "o'b", "a+b", "_", "-", "~", "{", "|", "!", "#", "$", "%",
            "&", "*", "/", "=", "?", "^", "`", "}", "é", "ü", "中", "ß", "e\u{301}", ".", ".", "@",
            "<", ">", "\"", "(", ")", ",", ";", ":", "\\", "[", "]", " ", "\t", "\r\n", "\u{200b}",
            "\u{a0}", "\0", "Eve ", "xn--", "-a", "“", "\u{202e}", "\u{3000}", "＠", "．",
        ];
        const DOMAINS: &[&str] = &[
            "example.com",
            "corp.example",
            "b.c",
            "exämple.de",
            "xn--mnchen-3ya.de",
            "a-b.example",
            "[192.0.2.1]",
            "localhost",
            "example.com.",
        ];
        let mut out = String::new();
        for _ in 0..1 + r.next() % 6 {
            out.push_str(r.pick(PIECES));
        }
        if !r.next().is_multiple_of(4) {
            out.push('@');
            out.push_str(r.pick(DOMAINS));
        }
        for _ in 0..r.next() % 3 {
            let at = (r.next() % (out.len() as u64 + 1)) as usize;
            if out.is_char_boundary(at) {
                out.insert_str(at, r.pick(PIECES));
            }
        }
        out
    }

    /// Whatever storekey accepts as an email, lettre (which sends the mail) reads as exactly
    /// that address: as an `Address`, and as a `Mailbox` with no display name.
    #[test]
    fn an_accepted_email_is_the_address_mail_goes_to() {
        use lettre::message::Mailbox;
        let mut accepted = 0;
        for seed in 1..=20u64 {
            let mut r = Stream(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for case in 0..1000 {
                let email = normalize_email(&candidate(&mut r));
                if !valid_email(&email) {
                    continue;
                }
                accepted += 1;
                let why = format!("seed {seed} case {case}: {email:?}");
                let address: lettre::Address = email.parse().expect(&why);
                assert_eq!(address.to_string(), email, "{why}");
                let mailbox: Mailbox = email.parse().expect(&why);
                assert_eq!(mailbox.name, None, "{why}");
                assert_eq!(mailbox.email.to_string(), email, "{why}");
            }
        }
        assert!(accepted > 1000, "only {accepted} of 20,000 cases accepted");
    }
}

/// The new email (normalized) of `changes`, once it and the profile fields pass.
fn checked_changes(changes: &CustomerChanges) -> Result<Option<String>, AccountError> {
    let new_email = changes.email.as_deref().map(normalize_email);
    if let Some(email) = &new_email {
        if !valid_email(email) {
            return Err(AccountError::InvalidEmail);
        }
    }
    if let Some(field) = changes.profile.too_long() {
        return Err(AccountError::TooLong(field));
    }
    Ok(new_email)
}

/// One account write, decided on the stored record by `apply_account_edit`.
#[derive(Default)]
struct AccountEdit {
    new_email: Option<String>,
    changes: CustomerChanges,
    /// A new password's hash.
    hash: Option<String>,
    /// The password version a current-password check verified: the write is refused
    /// (`WrongPassword`) if the password changed since.
    verified_version: Option<u32>,
    /// A legacy hash's replacement, stored if still over the hash verified.
    rehash: Option<Rehash>,
}

/// What an account write did besides saving.
struct Written {
    minted: bool,
    rehashed: bool,
}

/// An account edit on the stored record. Disabling revokes every token; withdrawing
/// remote-assistance permission voids a live admin code; a new password revokes every token,
/// any live reset token and the lockout, and `new_token` is minted with it (unless the account
/// is disabled). An admin's edit is audited; a change of the customer's consent to remote
/// assistance (which opens Login as Customer) is its own entry, named.
fn apply_account_edit(
    after: &mut Account,
    edit: &AccountEdit,
    new_token: Option<NewToken>,
    now: Timestamp,
) -> Change<Result<Written, AccountError>> {
    let Account {
        customer: c,
        credentials: k,
        ..
    } = after;
    if edit
        .verified_version
        .is_some_and(|v| v != k.password_version)
    {
        return Change::Refuse(Err(AccountError::WrongPassword));
    }
    let (before_disabled, before_consent) = (c.disabled, c.allow_remote_shopping_assistance);
    if let Some(email) = edit.new_email.as_ref().filter(|e| **e != c.email) {
        // Nothing proves the new address yet, and a secret mailed to the old one must not
        // prove it: `email_verified` is cleared and those secrets voided, in this write.
        c.email = email.clone();
        c.email_verified = false;
        k.reset_token = None;
        k.confirmation = None;
        k.activation = None;
        k.login_code = None;
    }
    edit.changes.apply(c);
    let mut revoke = c.disabled && !before_disabled;
    if let Some(hash) = &edit.hash {
        k.set_password(hash.clone());
        revoke = true;
    }
    let rehashed = edit.rehash.as_ref().is_some_and(|r| apply_rehash(k, r));
    if !c.allow_remote_shopping_assistance {
        k.otc = None;
    }
    c.updated_at = now;
    let token = new_token.filter(|_| edit.hash.is_some() && !c.disabled);
    let mut audit = Vec::new();
    if let Some(admin) = &edit.changes.audit_by {
        audit.push(audit_entry(
            now,
            admin,
            "customer_updated",
            Some(c.id),
            None,
        ));
        if c.allow_remote_shopping_assistance != before_consent {
            let action = if c.allow_remote_shopping_assistance {
                "assistance_consent_granted"
            } else {
                "assistance_consent_withdrawn"
            };
            audit.push(audit_entry(now, admin, action, Some(c.id), None));
        }
    }
    let written = Written {
        minted: token.is_some(),
        rehashed,
    };
    Change::Save(
        Ok(written),
        Effects {
            revoke_tokens: revoke,
            token,
            audit,
            ..Effects::default()
        },
    )
}
