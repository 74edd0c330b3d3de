//! The hosted pages' browser session (cookie `storekey_account`): started by a sign-in there
//! (`Mint::BrowserSession`), read by the authorization endpoint, ended by sign-out and logout.
//! Idle and absolute expiry (`oidc.session_idle_days`, `oidc.session_max_days`).

use crate::auth::secret::{self, Secret};
use crate::auth::{Auth, Failure, Method};
use crate::model::oidc::BrowserSession;
use crate::model::{CustomerId, Digest, Timestamp};
use crate::store::Backend as _;

/// The cookie's name (SPEC §10).
pub const COOKIE: &str = "storekey_account";

/// A session is marked seen at most this often (each mark is a write).
const TOUCH_EVERY: i64 = 300;

/// RFC 8176 `amr` of a sign-in method.
pub fn amr(method: Method) -> &'static str {
    match method {
        Method::Password => "pwd",
        // RFC 8176: proof of possession of a key in a device.
        Method::Passkey => "hwk",
        _ => "otp",
    }
}

impl Auth {
    /// A new session for `customer` signed in by `method` now: the cookie, its digest, the
    /// record.
    pub(crate) fn mint_browser_session(
        &self,
        customer: CustomerId,
        method: Method,
        now: Timestamp,
    ) -> (Secret, Digest, BrowserSession) {
        let cookie = secret::url_token(self.random.as_ref());
        let digest = cookie.digest();
        let session = BrowserSession {
            sid: secret::url_id(self.random.as_ref()),
            customer,
            auth_time: now,
            amr: vec![amr(method).to_string()],
            created_at: now,
            last_seen: now,
            expires_at: now
                + self
                    .policy
                    .browser_session_idle
                    .min(self.policy.browser_session_max),
        };
        (cookie, digest, session)
    }

    /// The live session a cookie names, marked seen (now and then); `None` when it is
    /// unknown, expired, or its customer is gone or disabled.
    pub async fn browser_session(
        &self,
        cookie: &str,
    ) -> Result<Option<(Digest, BrowserSession)>, Failure> {
        let digest = secret::digest(cookie);
        let now = self.now();
        let Some(mut session) = self.store.browser_session(&digest).await? else {
            return Ok(None);
        };
        if session.expires_at <= now {
            return Ok(None);
        }
        if now - session.last_seen >= TOUCH_EVERY {
            let idle = now + self.policy.browser_session_idle;
            let max = session.created_at + self.policy.browser_session_max;
            session.last_seen = now;
            session.expires_at = idle.min(max);
            if !self
                .store
                .touch_browser_session(digest, now, session.expires_at)
                .await?
            {
                return Ok(None);
            }
        }
        Ok(Some((digest, session)))
    }

    /// Ends the session a cookie names (and, with `end_grants_of`, that client's grants made
    /// in it). The session as it was.
    pub async fn end_browser_session(
        &self,
        digest: Digest,
        end_grants_of: Option<String>,
    ) -> Result<Option<BrowserSession>, Failure> {
        let ended = self
            .store
            .end_browser_session(digest, end_grants_of, None)
            .await?;
        Ok(ended)
    }
}
