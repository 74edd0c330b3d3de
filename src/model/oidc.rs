//! The OpenID Connect provider's vocabulary: the clients that may ask for a sign-in, the keys
//! that sign ID tokens, the browser sessions behind the hosted pages, the authorization codes
//! and the grants (refresh-token families) they turn into.
//!
//! Every secret here (client secret, session cookie, code, refresh token, access token) is kept
//! only as its SHA-256 digest, by the store's key; a signing key's private half only sealed under
//! the key-encryption key, which never enters the store. The records are stored as JSON (serde):
//! a handful of fields each, the same bytes on both backends.

use super::{CustomerId, Timestamp};
use serde::{Deserialize, Serialize};

/// A relying party registered by the merchant (`storekey client add`, the admin API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcClient {
    /// Public, random, what the merchant pastes into the relying party.
    pub client_id: String,
    pub name: String,
    /// SHA-256 (hex) of the client secret; `None` for a public client (PKCE, no secret).
    pub secret_sha256: Option<String>,
    /// First-party clients (the merchant's own apps) skip the consent page.
    pub first_party: bool,
    /// Compared exactly, byte for byte, with the request's `redirect_uri`.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// The scopes this client may be granted; a request's other scopes are dropped.
    pub scopes: Vec<String>,
    /// Per-client lifetimes; `None` takes `[oidc]`'s.
    pub access_token_minutes: Option<u32>,
    pub refresh_token_days: Option<u32>,
    pub created_at: Timestamp,
}

impl OidcClient {
    pub fn is_public(&self) -> bool {
        self.secret_sha256.is_none()
    }
}

/// One ID-token signing key. Rotation adds a key that is published at once and signs from
/// `signs_from`; the key it replaces keeps being published until `published_until`, when no
/// token it signed can still be valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    /// `RS256`.
    pub alg: String,
    pub created_at: Timestamp,
    pub signs_from: Timestamp,
    /// Set when a newer key takes over; `None` while this is the newest key.
    pub published_until: Option<Timestamp>,
    /// The public key as a JWK (`kty`, `n`, `e`, …), served as it is in `/.well-known/jwks.json`.
    pub public_jwk: serde_json::Value,
    /// The PKCS#8 private key, sealed under the key-encryption key (AES-256-GCM, the `kid` as
    /// associated data): a copy of the store alone cannot sign.
    pub sealed_private: Vec<u8>,
}

/// A customer signed in to the hosted pages (cookie `storekey_account`, kept as its digest).
/// `sid` names it in ID tokens and logout; it is not the cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserSession {
    pub sid: String,
    pub customer: CustomerId,
    /// When the customer last proved who they are (`auth_time`, `max_age`, `prompt=login`).
    pub auth_time: Timestamp,
    /// How: `pwd`, `otp`, `hwk` (RFC 8176 `amr` values).
    pub amr: Vec<String>,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    /// The earlier of the idle and the absolute expiry, moved on by each use.
    pub expires_at: Timestamp,
}

/// What an authorization code stands for until the token endpoint redeems it (once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub customer: CustomerId,
    pub redirect_uri: String,
    /// Space-separated, as granted.
    pub scope: String,
    pub nonce: Option<String>,
    /// The S256 challenge, when the request carried one.
    pub code_challenge: Option<String>,
    pub sid: String,
    pub auth_time: Timestamp,
    pub amr: Vec<String>,
    pub expires_at: Timestamp,
    /// The grant this code was redeemed for: a second redemption ends it.
    pub redeemed: Option<u64>,
}

/// A grant: what one code redemption issued, renewed by refresh tokens (one family).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: u64,
    pub client_id: String,
    pub customer: CustomerId,
    pub scope: String,
    pub sid: String,
    pub auth_time: Timestamp,
    pub amr: Vec<String>,
    /// The authorization request's nonce: in the ID token of the code's redemption only.
    #[serde(default)]
    pub nonce: Option<String>,
    pub created_at: Timestamp,
    /// No refresh token of this family works past this (the client's refresh lifetime, from
    /// the code's redemption); also when the store may purge it.
    pub expires_at: Timestamp,
}

impl Grant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// One refresh token of a grant. Using it rotates it: it is marked `rotated_at` and a new one
/// is issued. Presented again shortly after (the grace) it is refused without harm; later, it
/// is a replay and ends the grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub grant: u64,
    pub expires_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
}
