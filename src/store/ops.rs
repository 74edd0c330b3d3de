//! The vocabulary of the store's operations, shared by every backend: who an operation is
//! about, what a customer edit decided and what goes into its commit, and what each operation
//! reports back. An outcome (who won a race, whether an email was free) is a value;
//! `StoreError` is only a storage failure. The closures the core passes in are pure decisions
//! over a copy of the record, so an operation can be re-run as a whole (a SQL backend retries a
//! transaction on a serialization failure); mail, metrics and logs happen in the core after
//! the commit.

use crate::model::{AccessToken, Account, AuditEntry, CustomerId, Digest};

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
            Expiring::Activation => self.activations += 1,
        }
    }

    pub fn by_kind(&self) -> [(Expiring, u64); 7] {
        [
            (Expiring::AccessToken, self.access_tokens),
            (Expiring::ResetToken, self.reset_tokens),
            (Expiring::Otc, self.otcs),
            (Expiring::Confirmation, self.confirmations),
            (Expiring::MultipassReplay, self.multipass_replays),
            (Expiring::Lockout, self.lockouts),
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
    Activation = 7,
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
            Expiring::Activation => "activation",
        }
    }
}
