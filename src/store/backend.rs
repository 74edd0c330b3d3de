//! [`Backend`]: every operation and read the core asks of a store, declared once. The one
//! `operations!` list below is the contract: it declares the trait with each operation's
//! documentation, and implements it for both backends and for the [`Store`] facade.
//!
//! - `Store` forwards each call to the backend it holds (one `match` per operation, generated).
//! - `RedbStore` answers a read from one snapshot (`Reader::<name>`, a synchronous lookup that
//!   never waits for the writer) and a write by its own `RedbStore::<name>`.
//! - `Postgres` answers each by its own `Postgres::<name>`.
//!
//! A backend method named in the list but missing, or with another signature, is a compile
//! error (never a silent forward to the trait itself: that would be a future of infinite size).
//!
//! # Defining a new store operation
//! 1. Add its signature and contract (what is atomic, what is returned on a refusal, what
//!    races decide) to the list below, under `reads` (a snapshot read) or `writes` (one atomic
//!    write whose outcome is a value; vocabulary in `ops.rs`).
//! 2. Implement it on each backend under the same name and signature: a read on
//!    `redb::Reader` and on `pg::Postgres`; a write on `RedbStore` (one closure over `Tx` sent
//!    to the writer) and on `pg::Postgres` (one transaction through `Postgres::transaction`).
//!    Domain decisions stay in the core: pass them in as data or a closure.
//! 3. Write one contract case in `tests/it/pg_store.rs` (`async fn case<B: Backend>(s: B)`)
//!    and add its name to `contract!`: it runs on redb, on redb in memory and on PostgreSQL.

use super::copy::{Counts, Key, Row, Table};
use super::import::{Imported, OnConflict};
use super::{
    AccessTokenRecord, AddressEdit, AddressOutcome, AdminEdit, Change, Created, CustomerId, Digest,
    Granted, Inner, Issue, MailLimit, MultipassOutcome, NewToken, RedbStore, Scanned, Store,
    StoreError, SweepReport, Timestamp, Updated, Upsert, Who,
};
use crate::model::oidc::{AuthorizationCode, BrowserSession, Grant, OidcClient, SigningKey};
use crate::model::passkey::{PasskeyChallenge, UserHandle};
use crate::model::{
    Account, AdminSession, AdminUser, AuditEntry, LacEntry, LacFilter, StorefrontToken,
};
use crate::store::pg::Postgres;
use std::future::Future;
use std::time::Duration;

/// Declares `Backend` from one list of reads and writes and implements it for `Store`,
/// `RedbStore` and `Postgres`. Generic parameters go in brackets (`fn name[T: Send](...)`),
/// since a macro cannot tell where angle brackets end.
macro_rules! operations {
    (
        reads {$(
            $(#[$rdoc:meta])*
            fn $rname:ident(&self $(, $rarg:ident: $rty:ty)* $(,)?) -> $rret:ty;
        )*}
        writes {$(
            $(#[$wdoc:meta])*
            fn $wname:ident $([$($wgen:tt)*])? (&self $(, $warg:ident: $wty:ty)* $(,)?) -> $wret:ty;
        )*}
    ) => {
        /// The store contract (see the module documentation). Every future is `Send`, so a
        /// caller generic over the backend can spawn it.
        pub trait Backend: Clone + Send + Sync + 'static {
            $(
                $(#[$rdoc])*
                fn $rname(&self $(, $rarg: $rty)*)
                    -> impl Future<Output = Result<$rret, StoreError>> + Send;
            )*
            $(
                $(#[$wdoc])*
                fn $wname $(<$($wgen)*>)? (&self $(, $warg: $wty)*)
                    -> impl Future<Output = Result<$wret, StoreError>> + Send;
            )*
        }

        impl Backend for Store {
            $(
                fn $rname(&self $(, $rarg: $rty)*)
                    -> impl Future<Output = Result<$rret, StoreError>> + Send
                {
                    async move {
                        match &self.0 {
                            Inner::Redb(s) => Backend::$rname(s $(, $rarg)*).await,
                            Inner::Postgres(p) => Backend::$rname(p $(, $rarg)*).await,
                        }
                    }
                }
            )*
            $(
                fn $wname $(<$($wgen)*>)? (&self $(, $warg: $wty)*)
                    -> impl Future<Output = Result<$wret, StoreError>> + Send
                {
                    async move {
                        match &self.0 {
                            Inner::Redb(s) => Backend::$wname(s $(, $warg)*).await,
                            Inner::Postgres(p) => Backend::$wname(p $(, $warg)*).await,
                        }
                    }
                }
            )*
        }

        impl Backend for RedbStore {
            $(
                fn $rname(&self $(, $rarg: $rty)*)
                    -> impl Future<Output = Result<$rret, StoreError>> + Send
                {
                    // Ready at once: a snapshot read neither spawns nor blocks.
                    let read = self.read().and_then(|r| r.$rname($($rarg),*));
                    std::future::ready(read)
                }
            )*
            $(
                fn $wname $(<$($wgen)*>)? (&self $(, $warg: $wty)*)
                    -> impl Future<Output = Result<$wret, StoreError>> + Send
                {
                    RedbStore::$wname(self $(, $warg)*)
                }
            )*
        }

        impl Backend for Postgres {
            $(
                fn $rname(&self $(, $rarg: $rty)*)
                    -> impl Future<Output = Result<$rret, StoreError>> + Send
                {
                    Postgres::$rname(self $(, $rarg)*)
                }
            )*
            $(
                fn $wname $(<$($wgen)*>)? (&self $(, $warg: $wty)*)
                    -> impl Future<Output = Result<$wret, StoreError>> + Send
                {
                    Postgres::$wname(self $(, $warg)*)
                }
            )*
        }
    };
}

operations! {
    reads {
        /// Whether the store answers a read (`/healthz`).
        fn check(&self) -> ();

        fn customer(&self, id: CustomerId) -> Option<Account>;

        /// The customer whose email is `email`, compared case-insensitively.
        fn customer_by_email(&self, email: &str) -> Option<Account>;

        fn customer_id_by_email(&self, email: &str) -> Option<CustomerId>;

        /// The customer whose Multipass identifier is `identifier`.
        fn customer_id_by_identifier(&self, identifier: &str) -> Option<CustomerId>;

        /// Up to `limit` customers with ids above `after`, in id order.
        fn customers(&self, after: CustomerId, limit: usize) -> Vec<Account>;

        /// The console's customer search: customers with ids above `after`, in id order, whose
        /// email or "first last" name contains `term` compared in lower case (`model::
        /// customer_matches`; the empty term matches all). Bounded by construction: it looks
        /// at no more than `examine` customers and stops at `limit` matches; `resume` is the
        /// id to search on after (the last match of a full page, else the last customer looked
        /// at when it looked at `examine`), `None` when it reached the last customer. On SQL,
        /// a window of `examine` rows in primary-key order with the match in SQL (`strpos` on
        /// `lower()`, so `%`, `_` and `\` are plain characters); no trigram index.
        fn search_customers(
            &self,
            term: &str,
            after: CustomerId,
            limit: usize,
            examine: usize,
        ) -> Scanned<Account, CustomerId>;

        /// The Login as Customer log, newest first: the audit entries with `otc` fields below
        /// sequence number `before` (`None`: from the newest) that `filter` admits, each with
        /// its customer's current email. Bounded by construction like `search_customers`: it
        /// looks at no more than `examine` audit entries (of any action) and stops at `limit`
        /// lines; `resume` is the sequence number to read on before.
        fn lac_log(
            &self,
            filter: &LacFilter,
            before: Option<u64>,
            limit: usize,
            examine: usize,
        ) -> Scanned<LacEntry, u64>;

        fn access_token(&self, digest: &Digest) -> Option<AccessTokenRecord>;

        /// An access token and its customer, read together (one snapshot on redb, one query
        /// on SQL); `None` when either is gone. Expiry is the caller's to check. The account
        /// comes without its addresses and passkeys (an authenticated request shows neither):
        /// never write it back.
        fn session(&self, digest: &Digest) -> Option<(AccessTokenRecord, Account)>;

        /// Every storefront token with its digest.
        fn storefront_tokens(&self) -> Vec<(Digest, StorefrontToken)>;

        /// Up to `limit` audit entries after sequence number `after`, oldest first.
        fn audit(&self, after: u64, limit: usize) -> Vec<(u64, AuditEntry)>;

        /// Whether a Multipass token's replay record exists.
        fn replay_seen(&self, digest: &Digest) -> bool;

        fn customer_count(&self) -> u64;

        fn access_token_count(&self) -> u64;

        /// Up to `limit` rows of `table` after `after`, in key order (`storekey migrate`'s read).
        fn dump_page(&self, table: Table, after: &Key, limit: usize) -> Vec<Row>;

        /// Rows per table.
        fn counts(&self) -> Counts;

        fn admin_user(&self, name: &str) -> Option<AdminUser>;

        /// Every admin user, by name.
        fn admin_users(&self) -> Vec<AdminUser>;

        fn admin_session(&self, digest: &Digest) -> Option<AdminSession>;

        /// Every ID-token signing key still kept, oldest first.
        fn oidc_keys(&self) -> Vec<SigningKey>;

        fn oidc_client(&self, client_id: &str) -> Option<OidcClient>;

        /// Every OpenID Connect client, by id.
        fn oidc_clients(&self) -> Vec<OidcClient>;

        /// A hosted-pages session by its cookie's digest (expired or not: the caller checks).
        fn browser_session(&self, digest: &Digest) -> Option<BrowserSession>;

        /// An access token minted by a grant, with the grant and its customer, from one
        /// snapshot; `None` when any of them is gone (userinfo).
        fn oidc_access(&self, digest: &Digest) -> Option<(AccessTokenRecord, Grant, Account)>;

        /// The customer whose passkeys carry the WebAuthn user handle `handle`.
        fn customer_id_by_passkey_handle(&self, handle: &UserHandle) -> Option<CustomerId>;
    }
    writes {
        /// Edits one customer: `edit` decides on a copy (and may refuse; it may run more than
        /// once, on SQL after a serialization failure); a saved edit keeps the email and
        /// identifier indexes in step, refuses an email another customer has, and applies its
        /// effects (token revocation, a new token, audit entries) in the same commit.
        fn update_customer[
            T: Send + 'static,
            F: FnMut(&mut Account) -> Change<T> + Send + 'static
        ](&self, who: Who, edit: F) -> Updated<T>;

        /// Creates, changes or deletes one address of a customer's book, in one commit that
        /// also holds the book's limit (counted inside it, so concurrent creates cannot pass
        /// it) and its default billing / shipping flags.
        fn edit_addresses(&self, customer: CustomerId, edit: AddressEdit) -> AddressOutcome;

        /// Stores a new customer under a fresh id, unless its email is taken; the audit entry
        /// (an admin's create) goes into the same commit.
        fn create_customer(&self, record: Account, audit: Option<AuditEntry>) -> Created;

        /// Deletes a customer with its tokens, codes and addresses, audited in the same commit.
        /// False when there was no such customer.
        fn delete_customer(&self, id: CustomerId, audit: Option<AuditEntry>) -> bool;

        /// Extends a live token. False when it is gone (a concurrent delete wins over a renew).
        fn renew_token(&self, token: NewToken) -> bool;

        /// A Multipass sign-in in one write: records the token's replay digest (the first use
        /// wins), finds the customers its identifier and its email name, lets `decide` create
        /// or update one, and mints `token` for that customer (its `customer_id` is filled in
        /// here). A refusal by `decide` still records the replay digest.
        fn multipass_sign_in[
            R: Send + 'static,
            D: Fn(Option<&Account>, Option<&Account>) -> Result<Upsert, R> + Send + 'static
        ](
            &self,
            replay: Digest,
            replay_until: Timestamp,
            identifier: Option<String>,
            email: String,
            decide: D,
            token: NewToken,
        ) -> MultipassOutcome<R>;

        /// Deletes one token; false when there was none.
        fn delete_token(&self, digest: Digest) -> bool;

        /// Deletes every token of a customer; returns how many.
        fn revoke_customer_tokens(&self, id: CustomerId) -> u64;

        /// Appends one audit entry on its own.
        fn append_audit(&self, entry: AuditEntry) -> ();

        /// One small durable write that changes nothing a client can see, so a refusal with
        /// nothing to record costs what a recorded one costs.
        fn record_refusal(&self) -> ();

        /// Stores a storefront token under the next id, with the audit entry `audit` writes
        /// for it.
        fn create_storefront_token[A: Fn(&StorefrontToken) -> AuditEntry + Send + 'static](
            &self,
            digest: Digest,
            draft: StorefrontToken,
            audit: A,
        ) -> StorefrontToken;

        /// Deletes the storefront token with `id`, audited in the same commit; false when none.
        fn delete_storefront_token(&self, id: u64, audit: AuditEntry) -> bool;

        /// Counts one mail request for the address `key` names and decides in the same atomic
        /// write whether it is allowed under `limit` (a cap per window and a minimum gap,
        /// shared by every instance on the store). A refused request writes nothing.
        fn count_mail_request(&self, key: Digest, limit: MailLimit, now: Timestamp) -> bool;

        /// Purges up to `batch` expired entries (tokens, codes, replay records, ended locks,
        /// spent mail limits).
        fn sweep(&self, now: Timestamp, batch: usize) -> SweepReport;

        /// Writes one batch of imported rows in one transaction and says what each did (see
        /// `import::decide`). With `fail`, the first row whose email is taken ends the batch.
        fn import_batch(
            &self,
            rows: Vec<Account>,
            on_conflict: OnConflict,
            now: Timestamp,
        ) -> Vec<Imported>;

        /// A counter every storefront-token change bumps in its own transaction, for instances
        /// that cache the tokens to notice another instance's change. `None` where one process
        /// owns the store (redb): its own changes are the only ones.
        fn storefront_generation(&self) -> Option<u64>;

        /// Takes or renews the lease `name` for `holder` until `ttl` from now (the store's
        /// clock); false while another live holder has it. Always true where one process owns
        /// the store.
        fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> bool;

        /// Gives up the lease `name` if `holder` holds it, so another instance takes it at its
        /// next try instead of at expiry. True when `holder` held it.
        fn release_lease(&self, name: &str, holder: &str) -> bool;

        /// Writes copied rows in one transaction, each under its own key (ids, sequence
        /// numbers and digests kept); a row the target has under the same key is replaced.
        fn load_page(&self, rows: Vec<Row>) -> ();

        /// After the last `load_page`: moves the id sequences past every stored id.
        fn finish_load(&self) -> ();

        /// Stores a new admin user; false (nothing written) when the name is taken.
        fn create_admin_user(&self, user: AdminUser, audit: AuditEntry) -> bool;

        /// Edits one admin user: `edit` decides on a copy; `None` when there is no such user.
        /// Opening a session also drops every session idle for `idle_seconds` or more.
        fn update_admin_user[
            T: Send + 'static,
            F: FnOnce(&mut AdminUser) -> AdminEdit<T> + Send + 'static
        ](&self, name: String, idle_seconds: i64, edit: F) -> Option<T>;

        /// Marks a session seen at `now`, unless it has been idle `idle_seconds` or more (then
        /// it is deleted). The session as it now is, or `None`.
        fn touch_admin_session(
            &self,
            digest: Digest,
            now: Timestamp,
            idle_seconds: i64,
        ) -> Option<AdminSession>;

        /// Revokes every access token of a customer with the admin's audit entry, in one commit.
        fn revoke_customer_tokens_audited(&self, id: CustomerId, audit: AuditEntry) -> u64;

        /// Deletes an admin session; false when there was none.
        fn delete_admin_session(&self, digest: Digest) -> bool;

        /// Stores a signing key. With `retire_others_at` (a rotation) every key still signing
        /// gets `published_until` = that time and `key` is added; without it (the first
        /// start) `key` is added only when the store holds no key at all, so instances
        /// starting together agree on one. Every key after the write, oldest first.
        fn add_oidc_key(
            &self,
            key: SigningKey,
            retire_others_at: Option<Timestamp>,
            audit: Option<AuditEntry>,
        ) -> Vec<SigningKey>;

        /// Stores a new client; false (nothing written) when the id is taken.
        fn create_oidc_client(&self, client: OidcClient, audit: AuditEntry) -> bool;

        /// Deletes a client and ends its grants (refresh and access tokens); false when there
        /// was no such client.
        fn delete_oidc_client(&self, client_id: String, audit: AuditEntry) -> bool;

        fn create_browser_session(
            &self,
            digest: Digest,
            session: BrowserSession,
            audit: Option<AuditEntry>,
        ) -> ();

        /// Moves a live session's `last_seen` and `expires_at` on; false when it is gone.
        fn touch_browser_session(
            &self,
            digest: Digest,
            last_seen: Timestamp,
            expires_at: Timestamp,
        ) -> bool;

        /// Ends a session (sign-out, RP-initiated logout). With `end_grants_of`, also ends
        /// that client's grants made in this session. The session as it was, or `None`.
        fn end_browser_session(
            &self,
            digest: Digest,
            end_grants_of: Option<String>,
            audit: Option<AuditEntry>,
        ) -> Option<BrowserSession>;

        fn save_oidc_code(&self, digest: Digest, code: AuthorizationCode) -> ();

        /// Redeems a code, once: the first redemption lets `decide` check it and its customer
        /// and issue a new grant; any later one ends the grant the first made. One commit.
        fn redeem_oidc_code[
            R: Send + 'static,
            D: Fn(&AuthorizationCode, Option<&Account>) -> Result<Issue, R> + Send + 'static
        ](&self, digest: Digest, now: Timestamp, decide: D) -> Granted<R>;

        /// Uses a refresh token, once: `decide` checks its grant and customer and issues the
        /// next access and refresh token; the presented one is rotated. Presented again within
        /// `grace_seconds` of its rotation it is refused (`Raced`), later it ends the grant.
        fn refresh_oidc[
            R: Send + 'static,
            D: Fn(&Grant, Option<&Account>) -> Result<Issue, R> + Send + 'static
        ](&self, digest: Digest, now: Timestamp, grace_seconds: i64, decide: D) -> Granted<R>;

        /// Keeps a started passkey ceremony under the digest of its challenge until
        /// `take_passkey_challenge` or its expiry.
        fn save_passkey_challenge(&self, digest: Digest, challenge: PasskeyChallenge) -> ();

        /// Takes a ceremony, once: it is deleted in the same atomic write that returns it, so
        /// of N racing answers to one challenge (on any instance) exactly one gets it. `None`
        /// when it is unknown, taken already or expired at `now`.
        fn take_passkey_challenge(&self, digest: Digest, now: Timestamp)
            -> Option<PasskeyChallenge>;
    }
}
