//! The OpenID Connect provider's use cases (SPEC §10): the discovery document and the keys
//! (`Provider`, here), the authorization request (`authorize.rs`), the token endpoint
//! (`grants.rs`), the claims of ID tokens and userinfo (`claims.rs`), RP-initiated logout
//! (`logout.rs`), the browser session behind the hosted pages (`session.rs`) and the client
//! registry (`clients.rs`). ID-token keys are `keys/`: sealed in the store under the
//! key-encryption key, opened into memory here.
//!
//! The provider signs customers in through the one sign-in core (`Auth::sign_in` with
//! `Mint::BrowserSession`), and the access tokens it issues are the core's own: the Commerce
//! and Storefront dialects accept them, and every revocation ends them with the customer's
//! browser sessions and grants (the store does that in the revocation's commit).

pub mod authorize;
pub mod claims;
pub mod clients;
pub mod grants;
pub mod keys;
pub mod login_code;
pub mod logout;
pub mod registration;
pub mod reset;
pub mod session;

use crate::auth::Auth;
use crate::config::OidcConfig;
use crate::model::oidc::SigningKey;
use crate::model::Timestamp;
use crate::store::Backend as _;
use bytes::Bytes;
use keys::{Kek, Keyring};
use serde_json::json;
use std::sync::{Arc, RwLock};

/// The provider: its issuer, settings and opened keys. One per server.
pub struct Provider {
    auth: Arc<Auth>,
    issuer: String,
    config: OidcConfig,
    kek: Kek,
    keyring: RwLock<Arc<Keyring>>,
    discovery: Bytes,
    jwks: RwLock<Bytes>,
}

/// The key-encryption key `[oidc]` names: `key_encryption_key` (or its environment variable),
/// else the file `key_file`, created on first use.
pub fn load_kek(config: &OidcConfig) -> Result<Kek, String> {
    if config.key_encryption_key.is_empty() {
        Kek::load_or_create(std::path::Path::new(&config.key_file))
            .map_err(|e| format!("oidc.key_file: {e}"))
    } else {
        Kek::parse(&config.key_encryption_key).map_err(|e| format!("oidc.key_encryption_key: {e}"))
    }
}

/// A new RS256 key, generated off the async threads (it takes a fraction of a second).
async fn generate_key(kek: &Kek, now: Timestamp) -> Result<SigningKey, String> {
    let kek = kek.clone();
    tokio::task::spawn_blocking(move || {
        let kid = keys::new_kid().map_err(|e| e.to_string())?;
        keys::generate_rs256(&kek, kid, now).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("signing key generation stopped: {e}"))?
}

impl Provider {
    /// Opens the provider for `issuer`: loads the key-encryption key, creates the first
    /// signing key when the store has none (instances starting together agree on one), and
    /// opens the keys. Fails when a stored key does not open (another key-encryption key).
    pub async fn start(
        auth: Arc<Auth>,
        config: &OidcConfig,
        issuer: String,
    ) -> Result<Arc<Provider>, String> {
        let kek = load_kek(config)?;
        let now = auth.now();
        let mut stored = auth.store.oidc_keys().await.map_err(|e| e.to_string())?;
        if stored.is_empty() {
            let key = generate_key(&kek, now).await?;
            let audit = crate::auth::audit_entry(
                now,
                "system",
                "oidc_key_created",
                None,
                Some(key.kid.clone()),
            );
            stored = auth
                .store
                .add_oidc_key(key, None, Some(audit))
                .await
                .map_err(|e| e.to_string())?;
        }
        let keyring = Keyring::open(&kek, &stored, now).map_err(|e| e.to_string())?;
        let jwks = Bytes::from(keyring.jwks(now).to_string());
        let provider = Provider {
            discovery: Bytes::from(discovery(&issuer).to_string()),
            auth,
            issuer,
            config: config.clone(),
            kek,
            keyring: RwLock::new(Arc::new(keyring)),
            jwks: RwLock::new(jwks),
        };
        Ok(Arc::new(provider))
    }

    /// Reads the keys again (a rotation by another process, a key past its publication).
    pub async fn reload_keys(&self) -> Result<(), String> {
        let now = self.auth.now();
        let stored = self
            .auth
            .store
            .oidc_keys()
            .await
            .map_err(|e| e.to_string())?;
        let keyring = Keyring::open(&self.kek, &stored, now).map_err(|e| e.to_string())?;
        let jwks = Bytes::from(keyring.jwks(now).to_string());
        *self.keyring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keyring);
        *self.jwks.write().unwrap_or_else(|e| e.into_inner()) = jwks;
        Ok(())
    }

    /// Rotates the signing key (see [`rotate_key`]) and loads the keys again at once, so this
    /// instance publishes the new key now (others within a minute).
    pub async fn rotate_key(&self, actor: &str) -> Result<SigningKey, String> {
        let key = rotate_key(&self.auth, &self.config, actor).await?;
        self.reload_keys().await?;
        Ok(key)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    pub fn auth(&self) -> &Arc<Auth> {
        &self.auth
    }

    /// `/.well-known/openid-configuration` (and RFC 8414's path), built once.
    pub fn discovery_json(&self) -> Bytes {
        self.discovery.clone()
    }

    /// `/.well-known/jwks.json`, as of the last key load.
    pub fn jwks_json(&self) -> Bytes {
        self.jwks.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn keyring(&self) -> Arc<Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Publishes a new signing key that signs from `key_publish_minutes` on; the keys signing
/// now stay published until the last ID token they may sign has expired (plus the same
/// margin). `storekey oidc rotate-key`.
pub async fn rotate_key(
    auth: &Auth,
    config: &OidcConfig,
    actor: &str,
) -> Result<SigningKey, String> {
    let kek = load_kek(config)?;
    let now = auth.now();
    let lead = i64::from(config.key_publish_minutes) * 60;
    let mut key = generate_key(&kek, now).await?;
    key.signs_from = now + lead;
    let retire = key.signs_from + i64::from(config.id_token_minutes) * 60 + lead;
    let audit =
        crate::auth::audit_entry(now, actor, "oidc_key_rotated", None, Some(key.kid.clone()));
    // The keys as they are must open with this key-encryption key: a rotation under a wrong
    // one would publish a key the server cannot use.
    let stored = auth.store.oidc_keys().await.map_err(|e| e.to_string())?;
    Keyring::open(&kek, &stored, now).map_err(|e| e.to_string())?;
    auth.store
        .add_oidc_key(key.clone(), Some(retire), Some(audit))
        .await
        .map_err(|e| e.to_string())?;
    Ok(key)
}

/// The discovery document: exactly what is served (SPEC §10).
fn discovery(issuer: &str) -> serde_json::Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{issuer}/oauth/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": clients::SCOPES,
        "claims_supported": claims::SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}
