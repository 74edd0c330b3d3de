//! The client registry: relying parties the merchant registers (`storekey client add`, the
//! admin API, the console), and their authentication at the token endpoint.

use crate::auth::secret::{self, Secret};
use crate::auth::{audit_entry, Auth, Failure};
use crate::model::oidc::OidcClient;
use crate::store::Backend as _;

/// The scopes storekey grants (SPEC §10), in the order discovery lists them.
pub const SCOPES: [&str; 6] = [
    "openid",
    "email",
    "profile",
    "address",
    "phone",
    "offline_access",
];

/// Longest redirect URI accepted (browsers handle far longer; a registry needs no more).
const MAX_URI: usize = 2000;
const MAX_NAME: usize = 200;
const MAX_URIS: usize = 20;

/// A client as the merchant describes it.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    /// Empty = every scope storekey grants.
    pub scopes: Vec<String>,
    pub access_token_minutes: Option<u32>,
    pub refresh_token_days: Option<u32>,
}

/// A client just registered, with its secret (confidential clients): shown this once.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: OidcClient,
    pub secret: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The description is refused; the text says which field and why.
    Invalid(String),
    NotFound,
    Failure(Failure),
}

crate::auth::failure::failure_variant!(ClientError);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Invalid(why) => f.write_str(why),
            ClientError::NotFound => f.write_str("no such client"),
            ClientError::Failure(e) => write!(f, "{e}"),
        }
    }
}

/// Why a redirect URI is refused, or `None` when it is fine: absolute, `https` (or `http` to
/// this machine's loopback, for development, or a private-use scheme such as
/// `com.example.app:/callback` for a native app, RFC 8252 §7.1), no fragment, no whitespace.
pub fn redirect_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.is_empty() || uri.len() > MAX_URI {
        return Some("must be 1 to 2000 characters");
    }
    if uri.contains('#') || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must have no fragment and no whitespace");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Some("must be an absolute URI");
    };
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.strip_prefix("//").map(|r| {
        r.split(['/', '?'])
            .next()
            .unwrap_or("")
            .rsplit('@')
            .next()
            .unwrap_or("")
    });
    match (scheme.as_str(), authority) {
        ("https", Some(host)) if !host.is_empty() => None,
        ("http", Some(host)) => {
            let name = host.strip_prefix('[').map_or_else(
                || host.split(':').next().unwrap_or(""),
                |h| h.split(']').next().unwrap_or(""),
            );
            match name {
                "localhost" | "127.0.0.1" | "::1" => None,
                _ => Some("must use https (http only to localhost, 127.0.0.1 or [::1])"),
            }
        }
        ("https" | "http", _) => Some("must name a host"),
        (s, _)
            if s.contains('.')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')) =>
        {
            None
        }
        _ => Some("must use https, http to loopback, or a reverse-domain app scheme"),
    }
}

impl NewClient {
    fn check(&self) -> Result<Vec<String>, ClientError> {
        let bad = |why: String| Err(ClientError::Invalid(why));
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return bad("name: must be 1 to 200 characters".into());
        }
        if self.redirect_uris.is_empty() {
            return bad("redirect_uris: at least one is required".into());
        }
        for (field, uris) in [
            ("redirect_uris", &self.redirect_uris),
            ("post_logout_redirect_uris", &self.post_logout_redirect_uris),
        ] {
            if uris.len() > MAX_URIS {
                return bad(format!("{field}: at most {MAX_URIS}"));
            }
            for uri in uris {
                if let Some(why) = redirect_uri_problem(uri) {
                    return bad(format!("{field}: {uri:?} {why}"));
                }
            }
        }
        let mut scopes = Vec::new();
        for scope in &self.scopes {
            if !SCOPES.contains(&scope.as_str()) {
                return bad(format!(
                    "scopes: {scope:?} is not one of {}",
                    SCOPES.join(", ")
                ));
            }
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        if scopes.is_empty() {
            scopes = SCOPES.iter().map(|s| s.to_string()).collect();
        }
        if !scopes.iter().any(|s| s == "openid") {
            return bad("scopes: must include openid".into());
        }
        for (field, value) in [
            ("access_token_minutes", self.access_token_minutes),
            ("refresh_token_days", self.refresh_token_days),
        ] {
            if value == Some(0) {
                return bad(format!("{field}: must be at least 1"));
            }
        }
        Ok(scopes)
    }
}

impl Auth {
    /// Registers a client; `actor` is the admin (or `cli`) for the audit log.
    pub async fn add_oidc_client(
        &self,
        new: NewClient,
        actor: &str,
    ) -> Result<CreatedClient, ClientError> {
        let scopes = new.check()?;
        let now = self.now();
        let secret = (!new.public).then(|| secret::url_token(self.random.as_ref()));
        let client = OidcClient {
            client_id: secret::url_id(self.random.as_ref()),
            name: new.name.trim().to_string(),
            secret_sha256: secret.as_ref().map(|s| hex::encode(s.digest())),
            first_party: new.first_party,
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            scopes,
            access_token_minutes: new.access_token_minutes,
            refresh_token_days: new.refresh_token_days,
            created_at: now,
        };
        let audit = audit_entry(
            now,
            actor,
            "oidc_client_added",
            None,
            Some(format!("{} ({})", client.client_id, client.name)),
        );
        if !self.store.create_oidc_client(client.clone(), audit).await? {
            // 96 random bits taken: a broken random source, not a client's doing.
            return Err(ClientError::Failure(Failure::Internal(
                "a new client id collided with an existing one".into(),
            )));
        }
        Ok(CreatedClient { client, secret })
    }

    pub async fn oidc_clients(&self) -> Result<Vec<OidcClient>, ClientError> {
        Ok(self.store.oidc_clients().await?)
    }

    /// Removes a client; its grants end (refresh tokens and access tokens stop working).
    pub async fn remove_oidc_client(
        &self,
        client_id: &str,
        actor: &str,
    ) -> Result<(), ClientError> {
        let audit = audit_entry(
            self.now(),
            actor,
            "oidc_client_removed",
            None,
            Some(client_id.to_string()),
        );
        match self
            .store
            .delete_oidc_client(client_id.to_string(), audit)
            .await?
        {
            true => Ok(()),
            false => Err(ClientError::NotFound),
        }
    }

    pub async fn oidc_client(&self, client_id: &str) -> Result<Option<OidcClient>, Failure> {
        if client_id.is_empty() || client_id.len() > 64 {
            return Ok(None);
        }
        Ok(self.store.oidc_client(client_id).await?)
    }
}

/// Whether `presented` is the secret of `client` (constant time over the digests).
pub fn secret_matches(client: &OidcClient, presented: &str) -> bool {
    let Some(stored) = &client.secret_sha256 else {
        return false;
    };
    let mut expected = [0u8; 32];
    if hex::decode_to_slice(stored, &mut expected).is_err() {
        return false;
    }
    secret::digests_equal(&secret::digest(presented), &expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://shop.example/account/authorize",
            "https://shopify.com/12345/account/callback?source=core",
            "http://localhost:3000/callback",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(redirect_uri_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "https://shop.example/cb#frag",
            "http://shop.example/cb",
            "http://localhost.evil.example/cb",
            "https:///nohost",
            "javascript:alert(1)",
            "https://shop.example/a b",
            "data:text/html,hi",
        ] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }
}
