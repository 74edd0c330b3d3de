//! The backend-neutral rows `storekey migrate` moves between stores: every table as typed
//! records (never a backend's bytes), read in keyset pages from the source (`dump_page`) and
//! written one page per transaction into the target (`load_page`), each backend keeping its
//! own encodings. `finish_load` then moves the target's id sequences past what was copied.

use crate::model::oidc::{
    AuthorizationCode, BrowserSession, Grant, OidcClient, RefreshToken, SigningKey,
};
use crate::model::{
    AccessToken, Account, AdminSession, AdminUser, AuditEntry, Digest, StorefrontToken, Timestamp,
};

/// The tables a migration copies, in the order it copies them (customers before the tokens
/// that name them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Customers,
    AccessTokens,
    StorefrontTokens,
    Replay,
    Audit,
    AdminUsers,
    AdminSessions,
    /// The OpenID Connect provider's: signing keys and clients by name, browser sessions,
    /// codes and refresh tokens by digest, grants by number (before the refresh tokens and
    /// access links that name them), access links by digest (after the access tokens).
    OidcKeys,
    OidcClients,
    BrowserSessions,
    OidcCodes,
    OidcGrants,
    OidcRefreshTokens,
    OidcAccess,
}

impl Table {
    pub const ALL: [Table; 14] = [
        Table::Customers,
        Table::AccessTokens,
        Table::StorefrontTokens,
        Table::Replay,
        Table::Audit,
        Table::AdminUsers,
        Table::AdminSessions,
        Table::OidcKeys,
        Table::OidcClients,
        Table::BrowserSessions,
        Table::OidcCodes,
        Table::OidcGrants,
        Table::OidcRefreshTokens,
        Table::OidcAccess,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Customers => "customers",
            Table::AccessTokens => "access tokens",
            Table::StorefrontTokens => "storefront tokens",
            Table::Replay => "replay records",
            Table::Audit => "audit entries",
            Table::AdminUsers => "admin users",
            Table::AdminSessions => "admin sessions",
            Table::OidcKeys => "signing keys",
            Table::OidcClients => "OpenID Connect clients",
            Table::BrowserSessions => "browser sessions",
            Table::OidcCodes => "authorization codes",
            Table::OidcGrants => "grants",
            Table::OidcRefreshTokens => "refresh tokens",
            Table::OidcAccess => "grant access links",
        }
    }
}

/// Where a page starts: after the row with this key (`Start` for the first page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Start,
    /// A customer id or an audit sequence number.
    Number(u64),
    /// A token's, replay record's or session's digest.
    Digest(Digest),
    /// An admin user's name.
    Name(String),
}

/// One record of one table, as the domain model has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A customer with its credentials and one-time secrets, under its own id.
    Customer(Box<Account>),
    AccessToken(Digest, AccessToken),
    StorefrontToken(Digest, StorefrontToken),
    /// A used Multipass token's digest and until when it is kept.
    Replay(Digest, Timestamp),
    /// An audit entry with its sequence number.
    Audit(u64, AuditEntry),
    AdminUser(AdminUser),
    AdminSession(Digest, AdminSession),
    OidcKey(SigningKey),
    OidcClient(OidcClient),
    BrowserSession(Digest, BrowserSession),
    OidcCode(Digest, AuthorizationCode),
    OidcGrant(Grant),
    OidcRefreshToken(Digest, RefreshToken),
    /// An access token minted by a grant, and the grant.
    OidcAccess(Digest, u64),
}

impl Row {
    /// The key the next page starts after.
    pub fn key(&self) -> Key {
        match self {
            Row::Customer(a) => Key::Number(a.customer.id.0),
            Row::Audit(seq, _) => Key::Number(*seq),
            Row::OidcGrant(g) => Key::Number(g.id),
            Row::AccessToken(d, _)
            | Row::StorefrontToken(d, _)
            | Row::Replay(d, _)
            | Row::AdminSession(d, _)
            | Row::BrowserSession(d, _)
            | Row::OidcCode(d, _)
            | Row::OidcRefreshToken(d, _)
            | Row::OidcAccess(d, _) => Key::Digest(*d),
            Row::AdminUser(u) => Key::Name(u.name.clone()),
            Row::OidcKey(k) => Key::Name(k.kid.clone()),
            Row::OidcClient(c) => Key::Name(c.client_id.clone()),
        }
    }
}

/// How many rows a store holds, table by table: what the count check compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub customers: u64,
    pub access_tokens: u64,
    pub storefront_tokens: u64,
    pub replay: u64,
    pub audit: u64,
    pub admin_users: u64,
    pub admin_sessions: u64,
    pub oidc_keys: u64,
    pub oidc_clients: u64,
    pub browser_sessions: u64,
    pub oidc_codes: u64,
    pub oidc_grants: u64,
    pub oidc_refresh_tokens: u64,
    pub oidc_access: u64,
}

impl Counts {
    pub fn get(&self, table: Table) -> u64 {
        match table {
            Table::Customers => self.customers,
            Table::AccessTokens => self.access_tokens,
            Table::StorefrontTokens => self.storefront_tokens,
            Table::Replay => self.replay,
            Table::Audit => self.audit,
            Table::AdminUsers => self.admin_users,
            Table::AdminSessions => self.admin_sessions,
            Table::OidcKeys => self.oidc_keys,
            Table::OidcClients => self.oidc_clients,
            Table::BrowserSessions => self.browser_sessions,
            Table::OidcCodes => self.oidc_codes,
            Table::OidcGrants => self.oidc_grants,
            Table::OidcRefreshTokens => self.oidc_refresh_tokens,
            Table::OidcAccess => self.oidc_access,
        }
    }

    /// Whether a target holds anything a migration would mix with (a customer, a token or an
    /// audit entry).
    pub fn is_empty(&self) -> bool {
        self.customers == 0
            && self.access_tokens == 0
            && self.storefront_tokens == 0
            && self.replay == 0
            && self.audit == 0
            && self.oidc_clients == 0
    }
}
