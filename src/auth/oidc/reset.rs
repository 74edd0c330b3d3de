//! "Forgot password" on the hosted pages: the core's reset request with the mailed link to
//! the hosted reset page (on this provider's issuer), and the reset that then signs the
//! customer in to a browser session, as Shopify's reset signs in.

use super::Provider;
use crate::auth::one_time::{url_encode, ResetError};
use crate::auth::secret::Secret;
use crate::auth::{Accept, IssuedToken, Mint, SignInRequest};
use crate::store::StoreError;
use std::net::IpAddr;

impl Provider {
    /// The reset request (`Auth::request_password_reset`: one answer for every email, its
    /// limits) with the link to `/account/reset`, carrying `return_to` through.
    pub async fn request_hosted_reset(
        &self,
        email: &str,
        ip: Option<IpAddr>,
        return_to: &str,
    ) -> Result<bool, StoreError> {
        let template = format!(
            "{}/account/reset?email={{email}}&token={{token}}&return_to={}",
            self.issuer,
            url_encode(return_to)
        );
        self.auth
            .request_password_reset_to(email, ip, Some(template))
            .await
    }

    /// Sets the new password with the mailed token (`Auth::reset_password`), then signs in
    /// with it to a browser session. `Ok(None)`: the password is set but no session started
    /// (the account must be confirmed first, or the sign-in was refused): the page says so.
    pub async fn reset_into_session(
        &self,
        email: &str,
        token: &Secret,
        new_password: &Secret,
        ip: Option<IpAddr>,
    ) -> Result<Option<IssuedToken>, ResetError> {
        self.auth
            .reset_password(email, token, new_password, None)
            .await?;
        let signed_in = self
            .auth
            .sign_in(SignInRequest {
                email: email.to_string(),
                secret: new_password.clone(),
                ip,
                accept: Accept::Any,
                mint: Mint::BrowserSession,
            })
            .await;
        Ok(signed_in.ok())
    }
}
