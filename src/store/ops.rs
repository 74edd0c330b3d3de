//! The vocabulary of the store's operations, shared by every backend: who an operation is
//! about, what a customer edit decided and what goes into its commit, and what each operation
//! reports back. An outcome (who won a race, whether an email was free) is a value;
//! `StoreError` is only a storage failure. The closures the core passes in are pure decisions
//! over a copy of the record, so an operation can be re-run as a whole (a SQL backend retries a
//! transaction on a serialization failure); mail, metrics and logs happen in the core after
//! the commit.

use crate::model::{
    AccessToken, Account, Address, AddressBook, AddressChanges, AddressId, AdminSession,
    AuditEntry, CustomerId, Digest, Timestamp,
};

/// Which customer an operation is about.
#[derive(Debug, Clone)]
pub enum Who {
    Id(CustomerId),
    Email(String),
}

/// A token to mint in the same write: its digest (the token itself stays with the caller).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub digest: Digest,
    pub record: AccessToken,
}

/// What a grant issues in the commit that decides it (a code's redemption or a refresh):
/// an access token, the next refresh token when the grant has them, the audit entry.
#[derive(Debug, Clone)]
pub struct Issue {
    pub access: NewToken,
    /// The new refresh token's digest (it lives as long as its grant).
    pub refresh: Option<Digest>,
    /// When a redemption creates the grant: until when its refresh tokens work.
    pub grant_expires_at: Timestamp,
    pub audit: Option<AuditEntry>,
}

/// The result of `redeem_oidc_code` and `refresh_oidc`.
#[derive(Debug)]
pub enum Granted<R> {
    /// No such code or refresh token, or it expired, or its grant ended: nothing written.
    Unknown,
    /// A refresh token rotated moments ago (within the grace) came again: refused, nothing
    /// ended (two tabs refreshing at once).
    Raced,
    /// A redeemed code or a rotated refresh token came again: its grant was ended (refresh
    /// tokens and access tokens), in this commit.
    Replayed { grant: u64 },
    /// The decision refused: nothing written.
    Refused(R),
    /// Issued: the grant (new or renewed) and its customer.
    Issued {
        grant: crate::model::oidc::Grant,
        account: Box<Account>,
    },
}

/// What a customer edit decided.
pub enum Change<T> {
    /// Write nothing; hand `T` back.
    Refuse(T),
    /// Save the edited record (if it changed) and apply the effects, in one commit.
    Save(T, Effects),
}

/// What goes into the same commit as a customer edit.
#[derive(Debug, Default)]
pub struct Effects {
    pub revoke_tokens: bool,
    pub token: Option<NewToken>,
    /// A hosted-pages browser session to start (a sign-in there), by its cookie's digest.
    pub browser_session: Option<Box<(Digest, crate::model::oidc::BrowserSession)>>,
    /// Audit entries, in order (a customer edit that also changes a consent has two).
    pub audit: Vec<AuditEntry>,
}

/// The result of `update_customer`.
#[derive(Debug)]
pub enum Updated<T> {
    NotFound,
    /// The edit moved the email to one another customer has; nothing was written.
    EmailTaken,
    Refused(T),
    /// Saved: the record as committed, and the edit's outcome.
    Saved(Box<Account>, T),
}

/// What a Multipass sign-in does to the customer its token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upsert {
    /// A new customer (the store assigns the id).
    Create(Account),
    /// The existing customer as it should now be (saved only if it changed).
    Update(Account),
}

/// The result of `multipass_sign_in`.
#[derive(Debug)]
pub enum MultipassOutcome<R> {
    /// The token was used before: nothing was written.
    Replayed,
    /// The decision refused (the replay record is kept: the token stays used).
    Refused(R),
    SignedIn(Box<Account>),
}

/// The result of `create_customer`.
#[derive(Debug)]
pub enum Created {
    Created(Box<Account>),
    EmailTaken,
}

/// How often one address may be mailed (`count_mail_request`): at most `cap` allowed requests
/// in a fixed window of `window` seconds that starts with the first (0 = no cap), and at least
/// `gap` seconds between two allowed ones (0 = no gap). A refused request counts for neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimit {
    pub cap: u32,
    pub window: i64,
    pub gap: i64,
}

impl MailLimit {
    /// Whether one request is allowed after `state`, and the state it leaves (`None` when the
    /// request is refused and nothing changes). The rule `count_mail_request` applies: the redb
    /// backend runs it in its write; the SQL backend spells the same rule in one statement.
    pub fn decide(&self, state: Option<MailCount>, now: Timestamp) -> Option<MailCount> {
        let fresh = MailCount {
            window_start: now,
            count: 1,
            last_at: now,
            expires_at: now + self.window.max(self.gap),
        };
        let Some(old) = state else {
            return Some(fresh);
        };
        if old.last_at > now.saturating_sub(self.gap) {
            return None;
        }
        if old.window_start <= now.saturating_sub(self.window) {
            return Some(fresh);
        }
        if self.cap != 0 && old.count >= self.cap {
            return None;
        }
        Some(MailCount {
            count: old.count.saturating_add(1),
            last_at: now,
            expires_at: (old.window_start + self.window).max(now + self.gap),
            ..old
        })
    }
}

/// One address's mail count (`count_mail_request`): its window's start and count, the last
/// allowed request, and when the row no longer limits anything (the sweeper's deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailCount {
    pub window_start: Timestamp,
    pub count: u32,
    pub last_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What one sweep removed, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub access_tokens: u64,
    pub reset_tokens: u64,
    pub otcs: u64,
    pub confirmations: u64,
    pub activations: u64,
    pub multipass_replays: u64,
    pub lockouts: u64,
    pub mail_limits: u64,
    pub oidc_codes: u64,
    pub browser_sessions: u64,
    pub oidc_grants: u64,
    pub login_codes: u64,
    pub passkey_challenges: u64,
    /// More was due than one batch allows.
    pub more: bool,
}

impl SweepReport {
    pub fn count(&mut self, kind: Expiring) {
        match kind {
            Expiring::AccessToken => self.access_tokens += 1,
            Expiring::ResetToken => self.reset_tokens += 1,
            Expiring::Otc => self.otcs += 1,
            Expiring::Confirmation => self.confirmations += 1,
            Expiring::MultipassReplay => self.multipass_replays += 1,
            Expiring::Lockout => self.lockouts += 1,
            Expiring::MailLimit => self.mail_limits += 1,
            Expiring::Activation => self.activations += 1,
            Expiring::OidcCode => self.oidc_codes += 1,
            Expiring::BrowserSession => self.browser_sessions += 1,
            Expiring::OidcGrant => self.oidc_grants += 1,
            Expiring::LoginCode => self.login_codes += 1,
            Expiring::PasskeyChallenge => self.passkey_challenges += 1,
        }
    }

    pub fn by_kind(&self) -> [(Expiring, u64); 13] {
        [
            (Expiring::AccessToken, self.access_tokens),
            (Expiring::ResetToken, self.reset_tokens),
            (Expiring::Otc, self.otcs),
            (Expiring::Confirmation, self.confirmations),
            (Expiring::MultipassReplay, self.multipass_replays),
            (Expiring::Lockout, self.lockouts),
            (Expiring::MailLimit, self.mail_limits),
            (Expiring::Activation, self.activations),
            (Expiring::OidcCode, self.oidc_codes),
            (Expiring::BrowserSession, self.browser_sessions),
            (Expiring::OidcGrant, self.oidc_grants),
            (Expiring::LoginCode, self.login_codes),
            (Expiring::PasskeyChallenge, self.passkey_challenges),
        ]
    }
}

/// What expires and is swept: the kinds a [`SweepReport`] counts (its `label` names the
/// metric). The numbers are redb's stored form of the kind in its expiry index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiring {
    AccessToken = 1,
    ResetToken = 2,
    Otc = 3,
    Confirmation = 4,
    MultipassReplay = 5,
    Lockout = 6,
    /// A per-address mail count (`count_mail_request`) past its window and gap.
    MailLimit = 7,
    Activation = 8,
    /// An authorization code past its lifetime (redeemed or not).
    OidcCode = 9,
    /// A hosted-pages browser session past its idle or absolute expiry.
    BrowserSession = 10,
    /// A grant past its refresh lifetime, with its refresh tokens.
    OidcGrant = 11,
    /// A mailed sign-in code (the hosted pages) past its lifetime.
    LoginCode = 12,
    /// A passkey ceremony's challenge (`save_passkey_challenge`) never answered.
    PasskeyChallenge = 13,
}

impl Expiring {
    pub fn label(self) -> &'static str {
        match self {
            Expiring::AccessToken => "access_token",
            Expiring::ResetToken => "reset_token",
            Expiring::Otc => "otc",
            Expiring::Confirmation => "confirmation",
            Expiring::MultipassReplay => "multipass_replay",
            Expiring::Lockout => "lockout",
            Expiring::MailLimit => "mail_limit",
            Expiring::Activation => "activation",
            Expiring::OidcCode => "oidc_code",
            Expiring::BrowserSession => "browser_session",
            Expiring::OidcGrant => "oidc_grant",
            Expiring::LoginCode => "login_code",
            Expiring::PasskeyChallenge => "passkey_challenge",
        }
    }
}

// ---------------------------------------------------------------------- addresses

/// One edit of a customer's address book: what the four address operations ask the store to do
/// inside one transaction, on the book as it then is.
#[derive(Debug, Clone)]
pub enum AddressEdit {
    /// Adds an address (the store assigns its id), unless the customer has `max` already.
    /// `first_is_default` makes it the default shipping address when there is none (Shopify).
    Create {
        address: Address,
        default_billing: bool,
        default_shipping: bool,
        first_is_default: bool,
        max: usize,
    },
    /// Changes the given fields; a default flag `Some(false)` unsets that default if it was
    /// this address.
    Update {
        id: AddressId,
        changes: AddressChanges,
        default_billing: Option<bool>,
        default_shipping: Option<bool>,
    },
    /// Deletes an address; with `keep_defaults`, a default one is refused (Magento), without,
    /// the default it was is cleared (Shopify).
    Delete { id: AddressId, keep_defaults: bool },
    /// Makes an address the default billing and/or shipping one.
    SetDefaults {
        id: AddressId,
        billing: bool,
        shipping: bool,
    },
}

/// Which defaults a new address becomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewAddressDefaults {
    pub billing: bool,
    pub shipping: bool,
    /// The default shipping address when the customer has none yet (Shopify's first address).
    pub first_is_default: bool,
}

/// What an address edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressOutcome {
    /// Committed: the book as it now is, and the address the edit was about (a deleted one
    /// is no longer in the book).
    Done(Box<AddressBook>, AddressId),
    CustomerNotFound,
    /// No address has this id.
    NotFound,
    /// The address belongs to another customer.
    NotYours,
    /// The customer already has the most addresses allowed.
    TooMany,
    /// `Delete` with `keep_defaults` of the default billing (checked first) or shipping one.
    DefaultBilling,
    DefaultShipping,
}

impl AddressEdit {
    /// The id the edit names, if it names an existing one.
    pub fn target(&self) -> Option<AddressId> {
        match self {
            AddressEdit::Create { .. } => None,
            AddressEdit::Update { id, .. }
            | AddressEdit::Delete { id, .. }
            | AddressEdit::SetDefaults { id, .. } => Some(*id),
        }
    }

    /// Applies the edit to `book`, the customer's book as the transaction read it. A new
    /// address goes in with id 0 (the backend then assigns one with [`assign_new_id`]). `Err`
    /// is a refusal (nothing to write); `NotYours` is the caller's to tell from `NotFound`.
    pub fn apply(&self, book: &mut AddressBook) -> Result<AddressId, AddressOutcome> {
        if let Some(id) = self.target() {
            if book.get(id).is_none() {
                return Err(AddressOutcome::NotFound);
            }
        }
        match self {
            AddressEdit::Create {
                address,
                default_billing,
                default_shipping,
                first_is_default,
                max,
            } => {
                if book.addresses.len() >= *max {
                    return Err(AddressOutcome::TooMany);
                }
                let new = AddressId(0);
                book.addresses.push(Address {
                    id: new,
                    ..address.clone()
                });
                if *default_billing {
                    book.default_billing = Some(new);
                }
                if *default_shipping || (*first_is_default && book.default_shipping.is_none()) {
                    book.default_shipping = Some(new);
                }
                Ok(new)
            }
            AddressEdit::Update {
                id,
                changes,
                default_billing,
                default_shipping,
            } => {
                if let Some(a) = book.addresses.iter_mut().find(|a| a.id == *id) {
                    changes.apply(a);
                }
                set_default(&mut book.default_billing, *id, *default_billing);
                set_default(&mut book.default_shipping, *id, *default_shipping);
                Ok(*id)
            }
            AddressEdit::Delete { id, keep_defaults } => {
                if *keep_defaults && book.default_billing == Some(*id) {
                    return Err(AddressOutcome::DefaultBilling);
                }
                if *keep_defaults && book.default_shipping == Some(*id) {
                    return Err(AddressOutcome::DefaultShipping);
                }
                book.addresses.retain(|a| a.id != *id);
                book.forget_missing_defaults();
                Ok(*id)
            }
            AddressEdit::SetDefaults {
                id,
                billing,
                shipping,
            } => {
                if *billing {
                    book.default_billing = Some(*id);
                }
                if *shipping {
                    book.default_shipping = Some(*id);
                }
                Ok(*id)
            }
        }
    }
}

fn set_default(slot: &mut Option<AddressId>, id: AddressId, flag: Option<bool>) {
    match flag {
        Some(true) => *slot = Some(id),
        Some(false) if *slot == Some(id) => *slot = None,
        _ => {}
    }
}

/// Gives the address added with id 0 its stored id, defaults included.
pub fn assign_new_id(book: &mut AddressBook, id: AddressId) {
    for a in book.addresses.iter_mut().filter(|a| a.id == AddressId(0)) {
        a.id = id;
    }
    for slot in [&mut book.default_billing, &mut book.default_shipping] {
        if *slot == Some(AddressId(0)) {
            *slot = Some(id);
        }
    }
}

/// What an edit of an admin user decided: the outcome handed back, whether to save the edited
/// record, a session to open and an audit entry, all in the same commit.
pub struct AdminEdit<T> {
    pub outcome: T,
    pub save: bool,
    pub session: Option<(Digest, AdminSession)>,
    pub audit: Option<AuditEntry>,
}

impl<T> AdminEdit<T> {
    /// Save the edited record, open `session` if given, append `audit`.
    pub fn save(outcome: T, session: Option<(Digest, AdminSession)>, audit: AuditEntry) -> Self {
        AdminEdit {
            outcome,
            save: true,
            session,
            audit: Some(audit),
        }
    }

    /// Write nothing.
    pub fn refuse(outcome: T) -> Self {
        AdminEdit {
            outcome,
            save: false,
            session: None,
            audit: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_from_one_match_too_many_resumes_after_its_last_and_else_keeps_the_scans() {
        let over = Scanned {
            found: vec![1, 2, 3],
            resume: Some(3),
        }
        .page(2, |n| *n);
        assert_eq!(
            over,
            Scanned {
                found: vec![1, 2],
                resume: Some(2)
            }
        );
        // A scan that stopped at its window keeps where it stopped; one that ended, None.
        let window = Scanned {
            found: vec![1],
            resume: Some(9),
        }
        .page(2, |n| *n);
        assert_eq!(
            window,
            Scanned {
                found: vec![1],
                resume: Some(9)
            }
        );
        let ended = Scanned {
            found: vec![1, 2],
            resume: None::<i32>,
        }
        .page(2, |n| *n);
        assert_eq!(
            ended,
            Scanned {
                found: vec![1, 2],
                resume: None
            }
        );
    }

    /// Runs `decide` over requests at `times`, keeping the state, and says which were allowed.
    fn run(limit: MailLimit, times: &[Timestamp]) -> Vec<bool> {
        let mut state = None;
        times
            .iter()
            .map(|&now| match limit.decide(state, now) {
                Some(next) => {
                    state = Some(next);
                    true
                }
                None => false,
            })
            .collect()
    }

    #[test]
    fn the_cap_counts_allowed_requests_in_a_window_from_the_first() {
        let limit = MailLimit {
            cap: 2,
            window: 3600,
            gap: 0,
        };
        assert_eq!(
            run(limit, &[0, 1, 2, 3599, 3600, 3601, 3602]),
            [true, true, false, false, true, true, false]
        );
    }

    #[test]
    fn the_gap_runs_from_the_last_allowed_request() {
        let limit = MailLimit {
            cap: 0,
            window: 3600,
            gap: 600,
        };
        assert_eq!(
            run(limit, &[0, 599, 600, 1000, 1199, 1200]),
            [true, false, true, false, false, true]
        );
    }

    #[test]
    fn a_count_expires_when_it_limits_nothing_any_more() {
        let limit = MailLimit {
            cap: 5,
            window: 3600,
            gap: 600,
        };
        let first = limit.decide(None, 100).unwrap();
        assert_eq!(first.expires_at, 3700);
        let later = limit.decide(Some(first), 3500).unwrap();
        assert_eq!((later.count, later.expires_at), (2, 4100));
        let long_gap = MailLimit { gap: 7200, ..limit };
        assert_eq!(long_gap.decide(None, 100).unwrap().expires_at, 7300);
    }
}

/// What a bounded scan found: at most the asked number of matches, and where it stopped.
/// `resume` is the key to continue after (the next scan starts past it); `None` when the scan
/// reached the end of what it walks, so there is nothing more to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned<T, K> {
    pub found: Vec<T>,
    pub resume: Option<K>,
}

impl<T, K> Scanned<T, K> {
    /// The answer of a scan that looked at `examined` records of at most `examine`, ending at
    /// `edge` (the last record looked at), having found `found` of at most `limit`: a full
    /// page resumes after its last match, a full window after its edge.
    pub fn of(
        found: Vec<T>,
        limit: usize,
        examined: usize,
        examine: usize,
        edge: Option<K>,
        key: impl Fn(&T) -> K,
    ) -> Scanned<T, K> {
        let resume = if found.len() >= limit && limit > 0 {
            found.last().map(key)
        } else if examined >= examine {
            edge
        } else {
            None
        };
        Scanned { found, resume }
    }

    /// A page of at most `limit` from a scan that was asked for `limit + 1` matches: the extra
    /// match tells that more follow, so the page resumes after its last match; a shorter scan
    /// keeps its own `resume`. No next page is offered that would be empty for want of a match.
    pub fn page(mut self, limit: usize, key: impl Fn(&T) -> K) -> Scanned<T, K> {
        if self.found.len() > limit {
            self.found.truncate(limit);
            self.resume = self.found.last().map(key);
        }
        self
    }
}
