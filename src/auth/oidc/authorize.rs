//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2): checks it, and decides
//! whether to show an error (bad client or redirect URI: never redirected to), redirect an
//! error to the client (§4.1.2.1), ask the customer to sign in (first, or again: `prompt=login`,
//! `max_age`), ask for consent (third-party clients), or issue a code.

use super::clients::SCOPES;
use super::Provider;
use crate::auth::secret;
use crate::auth::Failure;
use crate::model::oidc::{AuthorizationCode, BrowserSession, OidcClient};
use crate::model::{Account, Digest};
use crate::store::Backend as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What is escaped in a query value: everything but RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub fn escape(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

const MAX_STATE: usize = 2048;
const MAX_NONCE: usize = 512;

/// The parameters of one request, in order (a parameter given twice is an error, RFC 6749
/// §3.1).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Params {
        Params(
            url_pairs(query)
                .into_iter()
                .filter(|(k, _)| !k.is_empty())
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn repeated(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (k, _))| {
            self.0[..i]
                .iter()
                .any(|(e, _)| e == k)
                .then_some(k.as_str())
        })
    }

    /// The query string again, without the named parameters.
    pub fn query_without(&self, drop: &[&str]) -> String {
        self.0
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()))
            .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space).
pub fn url_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub struct Request {
    pub client: OidcClient,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The granted scopes: those asked for that the client may have, space-separated.
    pub scope: String,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
}

/// What to do with an authorization request.
#[derive(Debug)]
pub enum Authorize {
    /// Show an error page: the client or redirect URI is not one to send anything to.
    Refuse(String),
    /// Send the browser here (a code, or an error for the client).
    Redirect(String),
    /// The customer must sign in (again), then come back to `return_to` (a path here).
    SignIn {
        request: Box<Request>,
        return_to: String,
    },
    /// A third-party client: the customer decides (`consent` then issues or refuses).
    Consent {
        request: Box<Request>,
        account: Box<Account>,
    },
}

/// Where the customer comes back to after signing in: the same request without what the
/// sign-in just satisfied (`prompt=login`, `max_age`), so it is not asked again.
fn return_to(params: &Params) -> String {
    let mut kept = Params(
        params
            .0
            .iter()
            .filter(|(k, _)| k != "max_age")
            .cloned()
            .collect(),
    );
    for (k, v) in kept.0.iter_mut() {
        if k == "prompt" {
            *v = v
                .split(' ')
                .filter(|p| *p != "login")
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    format!("/oauth/authorize?{}", kept.query_without(&[]))
}

/// The redirect carrying `pairs` (then `state` and `iss`) to the client.
fn to_client(request: &Request, issuer: &str, pairs: &[(&str, &str)]) -> String {
    let mut query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", escape(v)))
        .collect();
    if let Some(state) = &request.state {
        query.push(format!("state={}", escape(state)));
    }
    query.push(format!("iss={}", escape(issuer)));
    let sep = if request.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}{}", request.redirect_uri, query.join("&"))
}

/// An error sent to the client (RFC 6749 §4.1.2.1).
pub fn error_redirect(request: &Request, issuer: &str, error: &str, description: &str) -> String {
    to_client(
        request,
        issuer,
        &[("error", error), ("error_description", description)],
    )
}

/// An authorization request after its checks.
enum Checked {
    Valid(Box<Request>),
    /// Shown, never redirected (bad client or redirect URI).
    Refuse(String),
    /// Redirected to the client: the URL.
    Redirect(String),
}

impl Provider {
    /// Checks the client and redirect URI (errors shown), then the rest (errors redirected).
    async fn check_request(&self, params: &Params) -> Result<Checked, Failure> {
        let refuse = |why: &str| Ok(Checked::Refuse(why.to_string()));
        if let Some(name) = params.repeated() {
            if name == "client_id" || name == "redirect_uri" {
                return refuse(&format!("The parameter {name} was given more than once."));
            }
        }
        let Some(client_id) = params.get("client_id") else {
            return refuse("The request names no client (client_id is missing).");
        };
        let Some(client) = self.auth.oidc_client(client_id).await? else {
            return refuse("The request names an unknown client.");
        };
        let Some(redirect_uri) = params.get("redirect_uri") else {
            return refuse("The request has no redirect_uri.");
        };
        if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
            return refuse("The redirect_uri is not registered for this client.");
        }
        let mut request = Request {
            client,
            redirect_uri: redirect_uri.to_string(),
            state: params
                .get("state")
                .filter(|s| s.len() <= MAX_STATE)
                .map(str::to_string),
            nonce: params.get("nonce").map(str::to_string),
            scope: String::new(),
            code_challenge: params.get("code_challenge").map(str::to_string),
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
            login_hint: params.get("login_hint").map(str::to_string),
            ui_locales: params.get("ui_locales").map(str::to_string),
        };
        Ok(match self.check_rest(params, &mut request) {
            Ok(()) => Checked::Valid(Box::new(request)),
            Err((error, why)) => {
                Checked::Redirect(error_redirect(&request, &self.issuer, error, &why))
            }
        })
    }

    /// Everything after the client and redirect URI; an error names the RFC 6749 code.
    fn check_rest(&self, params: &Params, r: &mut Request) -> Result<(), (&'static str, String)> {
        let invalid = |why: &str| Err(("invalid_request", why.to_string()));
        if let Some(name) = params.repeated() {
            return invalid(&format!("the parameter {name} was given more than once"));
        }
        if params.get("state").is_some_and(|s| s.len() > MAX_STATE) {
            return invalid("state is longer than 2048 characters");
        }
        if params.get("request").is_some() {
            return Err((
                "request_not_supported",
                "request objects are not supported".into(),
            ));
        }
        if params.get("request_uri").is_some() {
            return Err((
                "request_uri_not_supported",
                "request_uri is not supported".into(),
            ));
        }
        match params.get("response_type") {
            None => return invalid("response_type is missing"),
            Some("code") => {}
            Some(_) => {
                return Err((
                    "unsupported_response_type",
                    "only response_type=code is supported".into(),
                ))
            }
        }
        if params.get("response_mode").is_some_and(|m| m != "query") {
            return invalid("only response_mode=query is supported");
        }
        if r.nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE) {
            return invalid("nonce is longer than 512 characters");
        }
        let asked: Vec<&str> = params.get("scope").unwrap_or("").split(' ').collect();
        if !asked.contains(&"openid") {
            return Err(("invalid_scope", "the openid scope is required".into()));
        }
        let granted: Vec<&str> = SCOPES
            .iter()
            .copied()
            .filter(|s| asked.contains(s) && r.client.scopes.iter().any(|c| c == s))
            .collect();
        r.scope = granted.join(" ");
        match (
            r.code_challenge.as_deref(),
            params.get("code_challenge_method"),
        ) {
            (None, Some(_)) => return invalid("code_challenge_method without code_challenge"),
            (None, None) if r.client.is_public() => {
                return invalid("a public client must send a PKCE code_challenge (S256)")
            }
            (None, None) => {}
            (Some(_), None) => {
                return invalid("code_challenge_method is required and must be S256")
            }
            (Some(_), Some(m)) if m != "S256" => {
                return invalid("code_challenge_method must be S256")
            }
            (Some(c), Some(_)) => {
                let ok = c.len() == 43
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return invalid("code_challenge must be 43 base64url characters (S256)");
                }
            }
        }
        for p in params.get("prompt").unwrap_or("").split(' ') {
            match p {
                "" | "select_account" => {}
                "none" => r.prompt_none = true,
                "login" => r.prompt_login = true,
                "consent" => r.prompt_consent = true,
                _ => return invalid("prompt must be none, login, consent or select_account"),
            }
        }
        if r.prompt_none && (r.prompt_login || r.prompt_consent) {
            return invalid("prompt=none cannot be combined with other values");
        }
        if let Some(age) = params.get("max_age") {
            match age.parse::<i64>() {
                Ok(a) if a >= 0 => r.max_age = Some(a),
                _ => return invalid("max_age must be a non-negative integer"),
            }
        }
        Ok(())
    }

    /// Decides an authorization request for the browser session `session` (if any).
    pub async fn authorize(
        &self,
        params: &Params,
        session: Option<(Digest, BrowserSession)>,
    ) -> Result<Authorize, Failure> {
        let request = match self.check_request(params).await? {
            Checked::Valid(r) => *r,
            Checked::Redirect(url) => {
                self.auth.metrics.oidc("authorize", "invalid_request");
                return Ok(Authorize::Redirect(url));
            }
            Checked::Refuse(why) => {
                self.auth.metrics.oidc("authorize", "refused");
                return Ok(Authorize::Refuse(why));
            }
        };
        let now = self.auth.now();
        let live = match session {
            Some((_, s)) => match self.auth.store.customer(s.customer).await? {
                Some(a) if !a.customer.disabled => Some((s, a)),
                _ => None,
            },
            None => None,
        };
        let fresh = |s: &BrowserSession| {
            !request.prompt_login && request.max_age.is_none_or(|age| now - s.auth_time <= age)
        };
        let Some((session, account)) = live.filter(|(s, _)| fresh(s)) else {
            if request.prompt_none {
                self.auth.metrics.oidc("authorize", "login_required");
                return Ok(Authorize::Redirect(error_redirect(
                    &request,
                    &self.issuer,
                    "login_required",
                    "the customer is not signed in",
                )));
            }
            return Ok(Authorize::SignIn {
                request: Box::new(request),
                return_to: return_to(params),
            });
        };
        if !request.client.first_party {
            if request.prompt_none {
                self.auth.metrics.oidc("authorize", "consent_required");
                return Ok(Authorize::Redirect(error_redirect(
                    &request,
                    &self.issuer,
                    "consent_required",
                    "the customer has not agreed to this client",
                )));
            }
            return Ok(Authorize::Consent {
                request: Box::new(request),
                account: Box::new(account),
            });
        }
        self.issue_code(&request, &session)
            .await
            .map(Authorize::Redirect)
    }

    /// Issues a code for `request` in `session`: the redirect carrying it.
    pub async fn issue_code(
        &self,
        request: &Request,
        session: &BrowserSession,
    ) -> Result<String, Failure> {
        let now = self.auth.now();
        let code = secret::url_token(self.auth.random.as_ref());
        let record = AuthorizationCode {
            client_id: request.client.client_id.clone(),
            customer: session.customer,
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            sid: session.sid.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            expires_at: now + i64::from(self.config.code_seconds),
            redeemed: None,
        };
        self.auth
            .store
            .save_oidc_code(code.digest(), record)
            .await?;
        self.auth.metrics.oidc("authorize", "code");
        Ok(to_client(request, &self.issuer, &[("code", code.expose())]))
    }

    /// The customer's answer on the consent page: the request is decided again (the session
    /// may have ended meanwhile), then a code or `access_denied`.
    pub async fn consent(
        &self,
        params: &Params,
        session: Option<(Digest, BrowserSession)>,
        allow: bool,
    ) -> Result<Authorize, Failure> {
        let decided = self.authorize(params, session.clone()).await?;
        let (Authorize::Consent { request, .. }, Some((_, session))) = (&decided, session) else {
            return Ok(decided);
        };
        if !allow {
            self.auth.metrics.oidc("authorize", "access_denied");
            return Ok(Authorize::Redirect(error_redirect(
                request,
                &self.issuer,
                "access_denied",
                "the customer declined",
            )));
        }
        self.issue_code(request, &session)
            .await
            .map(Authorize::Redirect)
    }
}
