//! The token endpoint (RFC 6749 §4.1.3, §6; errors §5.2): client authentication
//! (`client_secret_basic`, `client_secret_post`, `none` with PKCE), the code's redemption and
//! the refresh, each one store operation that decides the winner (`redeem_oidc_code`,
//! `refresh_oidc`), then the ID token signed after the commit.

use super::authorize::url_pairs;
use super::claims::{customer_claims, subject};
use super::clients::secret_matches;
use super::keys::{at_hash, pkce_s256_matches};
use super::Provider;
use crate::auth::secret::{self, Secret};
use crate::auth::{audit_entry, Failure};
use crate::model::oidc::{Grant, OidcClient};
use crate::model::{AccessToken, Account, Timestamp, TokenKind};
use crate::store::{Backend as _, Granted, Issue, NewToken};
use serde_json::{json, Value};

/// RFC 6749 §5.2's errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    InvalidRequest(String),
    /// 401 with `WWW-Authenticate` (the client tried Basic) or 401 all the same.
    InvalidClient(String),
    InvalidGrant(String),
    UnauthorizedClient(String),
    UnsupportedGrantType,
    Failure(Failure),
}

crate::auth::failure::failure_variant!(TokenError);

impl TokenError {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient(_) => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnauthorizedClient(_) => "unauthorized_client",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::Failure(_) => "server_error",
        }
    }

    /// The `error_description`.
    pub fn description(&self) -> String {
        match self {
            TokenError::InvalidRequest(d)
            | TokenError::InvalidClient(d)
            | TokenError::InvalidGrant(d)
            | TokenError::UnauthorizedClient(d) => d.clone(),
            TokenError::UnsupportedGrantType => {
                "grant_type must be authorization_code or refresh_token".into()
            }
            TokenError::Failure(_) => "the server cannot answer now; try again".into(),
        }
    }
}

/// A token request: the form body and the `Authorization: Basic` credentials, if any.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub form: Vec<(String, String)>,
    pub basic: Option<(String, String)>,
}

impl TokenRequest {
    /// From the body (`application/x-www-form-urlencoded`) and the `Authorization` header.
    pub fn parse(body: &[u8], authorization: Option<&str>) -> Result<TokenRequest, TokenError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| TokenError::InvalidRequest("the body is not UTF-8".into()))?;
        let basic = match authorization {
            None => None,
            Some(value) => Some(parse_basic(value).ok_or_else(|| {
                TokenError::InvalidClient(
                    "the Authorization header is not valid Basic credentials".into(),
                )
            })?),
        };
        Ok(TokenRequest {
            form: url_pairs(text),
            basic,
        })
    }

    fn get(&self, name: &str) -> Result<Option<&str>, TokenError> {
        let mut found = self.form.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.as_str());
        if found.next().is_some() {
            return Err(TokenError::InvalidRequest(format!(
                "the parameter {name} was given more than once"
            )));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    fn require(&self, name: &str) -> Result<&str, TokenError> {
        self.get(name)?
            .ok_or_else(|| TokenError::InvalidRequest(format!("{name} is missing")))
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1); `None` when it is
/// another scheme or malformed.
fn parse_basic(value: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

/// The token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Secret,
    pub expires_in: i64,
    pub refresh_token: Secret,
    pub id_token: String,
    pub scope: String,
}

impl Tokens {
    pub fn to_json(&self) -> Value {
        json!({
            "access_token": self.access_token.expose(),
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token.expose(),
            "id_token": self.id_token,
            "scope": self.scope,
        })
    }
}

/// Why a grant's decision refused.
enum Refused {
    WrongClient,
    RedirectMismatch,
    PkceMissing,
    PkceWrong,
    PkceUnexpected,
    CustomerGone,
}

impl Refused {
    fn error(&self) -> TokenError {
        TokenError::InvalidGrant(
            match self {
                Refused::WrongClient => "the grant was issued to another client",
                Refused::RedirectMismatch => {
                    "redirect_uri does not match the authorization request"
                }
                Refused::PkceMissing => "code_verifier is missing",
                Refused::PkceWrong => "code_verifier does not match the code_challenge",
                Refused::PkceUnexpected => {
                    "code_verifier given, but the authorization request had no code_challenge"
                }
                Refused::CustomerGone => "the customer's account is disabled or gone",
            }
            .into(),
        )
    }
}

/// What a grant mints before the commit decides: the access token, the refresh token.
struct Minted {
    access: Secret,
    refresh: Secret,
    issue: Issue,
}

impl Provider {
    /// Answers a token request.
    pub async fn token(&self, req: TokenRequest) -> Result<Tokens, TokenError> {
        let result = self.token_inner(&req).await;
        let outcome = match &result {
            Ok(_) => "issued",
            Err(e) => e.code(),
        };
        self.auth.metrics.oidc("token", outcome);
        result
    }

    async fn token_inner(&self, req: &TokenRequest) -> Result<Tokens, TokenError> {
        let client = self.authenticate(req).await?;
        match req.get("grant_type")? {
            Some("authorization_code") => self.redeem(req, client).await,
            Some("refresh_token") => self.refresh(req, client).await,
            Some(_) => Err(TokenError::UnsupportedGrantType),
            None => Err(TokenError::InvalidRequest("grant_type is missing".into())),
        }
    }

    /// The client, authenticated by one method (RFC 6749 §2.3).
    async fn authenticate(&self, req: &TokenRequest) -> Result<OidcClient, TokenError> {
        let post_id = req.get("client_id")?;
        let post_secret = req.get("client_secret")?;
        let (id, presented) = match (&req.basic, post_secret) {
            (Some(_), Some(_)) => {
                return Err(TokenError::InvalidRequest(
                    "use one client authentication method, not two".into(),
                ))
            }
            (Some((id, secret)), None) => {
                if post_id.is_some_and(|p| p != id) {
                    return Err(TokenError::InvalidRequest(
                        "client_id differs from the Basic credentials".into(),
                    ));
                }
                (id.as_str(), Some(secret.as_str()))
            }
            (None, secret) => match post_id {
                Some(id) => (id, secret),
                None => {
                    return Err(TokenError::InvalidClient(
                        "client authentication is missing".into(),
                    ))
                }
            },
        };
        let unknown = || TokenError::InvalidClient("client authentication failed".into());
        let client = self.auth.oidc_client(id).await?.ok_or_else(unknown)?;
        match (client.is_public(), presented) {
            (true, None) => Ok(client),
            (false, Some(s)) if secret_matches(&client, s) => Ok(client),
            _ => Err(unknown()),
        }
    }

    fn mint(
        &self,
        client: &OidcClient,
        now: Timestamp,
        audit: Option<crate::model::AuditEntry>,
    ) -> Minted {
        let random = self.auth.random.as_ref();
        let (access, digest) = secret::mint_access_token(random);
        let minutes = client
            .access_token_minutes
            .unwrap_or(self.config.access_token_minutes);
        let days = client
            .refresh_token_days
            .unwrap_or(self.config.refresh_token_days);
        let refresh = secret::url_token(random);
        let issue = Issue {
            access: NewToken {
                digest,
                record: AccessToken {
                    customer_id: Default::default(),
                    issued_at: now,
                    expires_at: now + i64::from(minutes) * 60,
                    kind: TokenKind::Commerce,
                },
            },
            refresh: Some(refresh.digest()),
            grant_expires_at: now + i64::from(days) * 86_400,
            audit,
        };
        Minted {
            access,
            refresh,
            issue,
        }
    }

    async fn redeem(&self, req: &TokenRequest, client: OidcClient) -> Result<Tokens, TokenError> {
        let code = req.require("code")?;
        let redirect_uri = req.require("redirect_uri")?.to_string();
        let verifier = req.get("code_verifier")?.map(str::to_string);
        let now = self.auth.now();
        let audit = audit_entry(
            now,
            "customer",
            "oidc_code_redeemed",
            None,
            Some(client.client_id.clone()),
        );
        let minted = self.mint(&client, now, Some(audit));
        let Minted {
            access,
            refresh,
            issue,
        } = minted;
        let client_id = client.client_id.clone();
        let outcome = self
            .auth
            .store
            .redeem_oidc_code(secret::digest(code), now, move |code, account| {
                if code.client_id != client_id {
                    return Err(Refused::WrongClient);
                }
                if code.redirect_uri != redirect_uri {
                    return Err(Refused::RedirectMismatch);
                }
                match (&code.code_challenge, &verifier) {
                    (Some(_), None) => return Err(Refused::PkceMissing),
                    (Some(c), Some(v)) if !pkce_s256_matches(v, c) => {
                        return Err(Refused::PkceWrong)
                    }
                    (None, Some(_)) => return Err(Refused::PkceUnexpected),
                    _ => {}
                }
                if account.is_none_or(|a| a.customer.disabled) {
                    return Err(Refused::CustomerGone);
                }
                let mut issued = issue.clone();
                if let Some(a) = issued.audit.as_mut() {
                    a.subject = Some(code.customer);
                }
                Ok(issued)
            })
            .await
            .map_err(Failure::from)?;
        self.finish(outcome, &client, access, refresh, now, true)
            .await
    }

    async fn refresh(&self, req: &TokenRequest, client: OidcClient) -> Result<Tokens, TokenError> {
        let presented = req.require("refresh_token")?;
        let now = self.auth.now();
        let audit = audit_entry(
            now,
            "customer",
            "oidc_refreshed",
            None,
            Some(client.client_id.clone()),
        );
        let Minted {
            access,
            refresh,
            issue,
        } = self.mint(&client, now, Some(audit));
        let client_id = client.client_id.clone();
        let grace = i64::from(self.config.refresh_grace_seconds);
        let outcome = self
            .auth
            .store
            .refresh_oidc(
                secret::digest(presented),
                now,
                grace,
                move |grant, account| {
                    if grant.client_id != client_id {
                        return Err(Refused::WrongClient);
                    }
                    if account.is_none_or(|a| a.customer.disabled) {
                        return Err(Refused::CustomerGone);
                    }
                    let mut issue = issue.clone();
                    // The grant keeps its lifetime: a refresh renews the access, not the grant.
                    issue.grant_expires_at = grant.expires_at;
                    if let Some(a) = issue.audit.as_mut() {
                        a.subject = Some(grant.customer);
                    }
                    Ok(issue)
                },
            )
            .await
            .map_err(Failure::from)?;
        self.finish(outcome, &client, access, refresh, now, false)
            .await
    }

    /// The store's decision as the response: tokens (with the ID token signed now), or the
    /// error; a replay is audited (its grant has been ended).
    async fn finish(
        &self,
        outcome: Granted<Refused>,
        client: &OidcClient,
        access: Secret,
        refresh: Secret,
        now: Timestamp,
        code: bool,
    ) -> Result<Tokens, TokenError> {
        let what = if code {
            "authorization code"
        } else {
            "refresh token"
        };
        match outcome {
            Granted::Issued { grant, account } => {
                let nonce = if code { grant.nonce.as_deref() } else { None };
                let id_token = self.id_token(&grant, &account, client, &access, now, nonce)?;
                Ok(Tokens {
                    expires_in: client
                        .access_token_minutes
                        .unwrap_or(self.config.access_token_minutes)
                        as i64
                        * 60,
                    access_token: access,
                    refresh_token: refresh,
                    id_token,
                    scope: grant.scope,
                })
            }
            Granted::Refused(r) => Err(r.error()),
            Granted::Unknown => Err(TokenError::InvalidGrant(format!(
                "the {what} is invalid or expired"
            ))),
            Granted::Raced => Err(TokenError::InvalidGrant(
                "the refresh token was used moments ago; use the one that request received".into(),
            )),
            Granted::Replayed { grant } => {
                let entry = audit_entry(
                    now,
                    "customer",
                    if code {
                        "oidc_code_replayed"
                    } else {
                        "oidc_refresh_replayed"
                    },
                    None,
                    Some(format!("{} grant {grant} ended", client.client_id)),
                );
                if let Err(e) = self.auth.store.append_audit(entry).await {
                    tracing::warn!("audit of a replayed {what} failed: {e}");
                }
                Err(TokenError::InvalidGrant(format!(
                    "the {what} was already used; the tokens it issued are revoked"
                )))
            }
        }
    }

    /// The ID token for `grant` (OIDC Core §2, §3.1.3.6 `at_hash`).
    fn id_token(
        &self,
        grant: &Grant,
        account: &Account,
        client: &OidcClient,
        access: &Secret,
        now: Timestamp,
        nonce: Option<&str>,
    ) -> Result<String, TokenError> {
        let mut claims = customer_claims(account, &grant.scope);
        claims.insert("sub".into(), json!(subject(account)));
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(client.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert(
            "exp".into(),
            json!(now + i64::from(self.config.id_token_minutes) * 60),
        );
        claims.insert("auth_time".into(), json!(grant.auth_time));
        claims.insert("sid".into(), json!(grant.sid));
        claims.insert("amr".into(), json!(grant.amr));
        claims.insert("at_hash".into(), json!(at_hash(access.expose())));
        if let Some(n) = nonce {
            claims.insert("nonce".into(), json!(n));
        }
        self.keyring()
            .sign(now, &Value::Object(claims))
            .map_err(|e| TokenError::Failure(Failure::Internal(e.to_string())))
    }
}
