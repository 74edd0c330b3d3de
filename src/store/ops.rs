//! The vocabulary of the store's operations, shared by every backend: who an operation is
//! about, what a customer edit decided and what goes into its commit, and what each operation
//! reports back. An outcome (who won a race, whether an email was free) is a value;
//! `StoreError` is only a storage failure. The closures the core passes in are pure decisions
//! over a copy of the record, so an operation can be re-run as a whole (a SQL backend retries a
//! transaction on a serialization failure); mail, metrics and logs happen in the core after
//! the commit.

use crate::model::{AccessToken, Account, AuditEntry, CustomerId, Digest, Timestamp};

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
    pub audit: Option<AuditEntry>,
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
        }
    }

    pub fn by_kind(&self) -> [(Expiring, u64); 8] {
        [
            (Expiring::AccessToken, self.access_tokens),
            (Expiring::ResetToken, self.reset_tokens),
            (Expiring::Otc, self.otcs),
            (Expiring::Confirmation, self.confirmations),
            (Expiring::MultipassReplay, self.multipass_replays),
            (Expiring::Lockout, self.lockouts),
            (Expiring::MailLimit, self.mail_limits),
            (Expiring::Activation, self.activations),
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
