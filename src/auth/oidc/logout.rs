//! RP-Initiated Logout 1.0: ends the browser session (and, with `oidc.logout_ends_grants`, the
//! client's grants made in it), then sends the browser to a registered
//! `post_logout_redirect_uri` (with `state`) or shows that the customer is signed out.

use super::authorize::{escape, Params};
use super::Provider;
use crate::auth::{audit_entry, Failure};
use crate::model::oidc::BrowserSession;
use crate::model::Digest;
use crate::store::Backend as _;

#[derive(Debug, PartialEq, Eq)]
pub enum Logout {
    /// Signed out; send the browser here.
    Redirect(String),
    /// Signed out; show that.
    SignedOut,
    /// Nothing ended yet: the request does not name this browser's session (no
    /// `id_token_hint`, or one of another session), so the customer is asked first
    /// (RP-Initiated Logout §2), then the same request comes back `confirmed`.
    Confirm,
    /// The request is refused (shown, never redirected): why.
    Refuse(String),
}

impl Provider {
    pub async fn logout(
        &self,
        params: &Params,
        session: Option<(Digest, BrowserSession)>,
        confirmed: bool,
    ) -> Result<Logout, Failure> {
        let now = self.auth.now();
        let refuse = |why: &str| {
            self.auth.metrics.oidc("logout", "refused");
            Ok(Logout::Refuse(why.to_string()))
        };
        // The hint's audience names the client; its signature must be ours (its expiry does
        // not matter: logging out with an old ID token is the normal case).
        let hinted = match params.get("id_token_hint") {
            None => None,
            Some(hint) => match self.keyring().verify(hint, now) {
                Some(claims)
                    if claims.get("iss").and_then(|i| i.as_str()) == Some(&self.issuer) =>
                {
                    Some(claims)
                }
                _ => return refuse("The id_token_hint was not issued by this provider."),
            },
        };
        let hinted_client = hinted
            .as_ref()
            .and_then(|c| c.get("aud"))
            .and_then(|a| a.as_str())
            .map(str::to_string);
        let client_id = match (hinted_client, params.get("client_id")) {
            (Some(h), Some(c)) if h != c => {
                return refuse("The client_id does not match the id_token_hint.")
            }
            (Some(h), _) => Some(h),
            (None, c) => c.map(str::to_string),
        };
        let client = match &client_id {
            Some(id) => self.auth.oidc_client(id).await?,
            None => None,
        };
        let redirect = match params.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => match &client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => Some(uri),
                Some(_) => {
                    return refuse(
                        "The post_logout_redirect_uri is not registered for this client.",
                    )
                }
                None => {
                    return refuse(
                        "A post_logout_redirect_uri needs an id_token_hint or client_id.",
                    )
                }
            },
        };
        let names_this_session = match (&hinted, &session) {
            (Some(claims), Some((_, current))) => {
                claims.get("sid").and_then(|s| s.as_str()) == Some(current.sid.as_str())
            }
            _ => false,
        };
        if session.is_some() && !confirmed && !names_this_session {
            self.auth.metrics.oidc("logout", "asked");
            return Ok(Logout::Confirm);
        }
        if let Some((digest, current)) = session {
            let end_grants = match &client {
                Some(c) if self.config.logout_ends_grants => Some(c.client_id.clone()),
                _ => None,
            };
            let audit = audit_entry(
                now,
                "customer",
                "oidc_logout",
                Some(current.customer),
                client.as_ref().map(|c| c.client_id.clone()),
            );
            self.auth
                .store
                .end_browser_session(digest, end_grants, Some(audit))
                .await?;
        }
        self.auth.metrics.oidc("logout", "signed_out");
        Ok(match redirect {
            None => Logout::SignedOut,
            Some(uri) => {
                let mut url = uri.to_string();
                if let Some(state) = params.get("state") {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    url.push(sep);
                    url.push_str("state=");
                    url.push_str(&escape(state));
                }
                Logout::Redirect(url)
            }
        })
    }
}
