//! The Shopify Storefront dialect on `POST /api/{version}/graphql.json`: storefront-token and
//! scope checks, the schema, and the mapping of core errors to Shopify's codes and messages
//! (`errors.rs`: every message once, one function per core error enum).

mod addresses;
mod codes;
mod errors;
mod in_context;
mod orders;
mod reset_url;
mod types;

use super::kit::graphql::{finish, lookup_failed, Dialect};
use super::{client_ip, parse_graphql_body, HttpResponse};
use crate::auth::multipass_sign_in::MultipassSignInError;
use crate::auth::secret::{self, Secret};
use crate::auth::storefront_tokens::{
    StorefrontToken, StorefrontTokenKind, READ_CUSTOMERS, WRITE_CUSTOMERS,
};
use crate::auth::StoreError;
use crate::auth::{
    valid_email, Accept, Auth, CustomerChanges, IssuedToken, NewCustomer, ProfileChanges,
    SignInError, SignInRequest,
};
use crate::model::Profile;
use crate::model::{self, CustomerId, TokenKind};
pub use addresses::{
    CustomerAddressCreatePayload, CustomerAddressDeletePayload, CustomerAddressUpdatePayload,
    CustomerDefaultAddressUpdatePayload, MailingAddress, MailingAddressConnection,
    MailingAddressInput,
};
use async_graphql::{Context, EmptySubscription, Object, Schema, ID};
use bytes::Bytes;
pub use errors::*;
pub use orders::*;
use reset_url::ResetSubject;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
pub use types::*;
use warp::http::{HeaderMap, StatusCode};
use warp::Filter;

pub type StorefrontSchema = Schema<QueryRoot, Mutation, EmptySubscription>;

pub const PUBLIC_TOKEN_HEADER: &str = "x-shopify-storefront-access-token";
pub const PRIVATE_TOKEN_HEADER: &str = "shopify-storefront-private-token";
/// With a private token (a server-to-server context) the buyer's IP may be passed along, as
/// Shopify allows, so per-IP throttles see the shopper rather than the storefront server.
/// Ignored with a public token.
pub const BUYER_IP_HEADER: &str = "shopify-storefront-buyer-ip";

/// Sign-in fields are expensive: with the default complexity limit (1000) a request holds at
/// most five of them, whatever aliases it uses.
const SIGN_IN_COMPLEXITY: usize = 200;

/// Who is calling: the storefront token that let the request in, and the client address.
pub struct StorefrontCaller {
    pub token: StorefrontToken,
    pub ip: Option<IpAddr>,
}

pub fn build_schema(auth: &Arc<Auth>, server: &crate::config::ServerConfig) -> StorefrontSchema {
    Schema::build(QueryRoot, Mutation, EmptySubscription)
        .data(auth.clone())
        .register_output_type::<DisplayableError>()
        .directive(in_context::InContext)
        .limit_depth(server.max_query_depth)
        .limit_complexity(server.max_query_complexity)
        .finish()
}

/// `YYYY-MM` (any month) or `unstable`, as in Shopify's versioned endpoint.
pub fn valid_version(version: &str) -> bool {
    if version == "unstable" {
        return true;
    }
    let b = version.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(version[5..].parse::<u8>(), Ok(1..=12))
}

/// The routes of this dialect: POST runs operations, GET shows the explorer. An unknown
/// version is a 404 whatever the method.
pub fn routes(
    state: Arc<super::AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    let limit = super::BodyLimits::of(&state.config.server);
    let graphiql = state.config.server.graphiql;
    let with_state = warp::any().map(move || state.clone());
    let versioned = warp::path!("api" / String / "graphql.json").and_then(|v: String| async move {
        if valid_version(&v) {
            Ok(v)
        } else {
            Err(warp::reject::not_found())
        }
    });
    let post = versioned
        .and(warp::post())
        .and(with_state)
        .and(warp::header::headers_cloned())
        .and(super::remote())
        .and(warp::body::stream())
        .then(
            move |_version: String,
                  state: Arc<super::AppState>,
                  headers: HeaderMap,
                  remote: Option<SocketAddr>,
                  body| {
                super::boxed(async move {
                    match super::read_body(body, limit).await {
                        Ok(bytes) => handle(&state, &headers, remote, bytes).await,
                        Err(e) => e.graphql(),
                    }
                })
            },
        );
    let get = versioned.and(warp::get()).map(move |v: String| {
        let endpoint = format!("/api/{v}/graphql.json");
        super::explorer::page(graphiql, super::explorer::Dialect::Storefront, &endpoint)
    });
    post.or(get).unify()
}

/// Shopify's answer to a missing or unknown storefront token, byte for byte (key order
/// included, which a `serde_json::Value` would sort).
pub const UNAUTHORIZED_BODY: &str =
    r#"{"errors":[{"message":"","extensions":{"code":"UNAUTHORIZED"}}]}"#;

fn unauthorized() -> HttpResponse {
    let mut resp = warp::http::Response::new(warp::hyper::Body::from(UNAUTHORIZED_BODY));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    resp.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Why a request gets no further than its headers.
#[derive(Debug)]
enum Refusal {
    /// Shopify's 401: no token, an unknown one, or one sent in the other kind's header.
    Unauthorized,
    Lookup(StoreError),
}

/// The token a header presents, which must exist and be of `kind`; `None` when the header is
/// absent or blank. A present value that is not text is refused like an unknown token.
async fn presented_token<F, L>(
    headers: &HeaderMap,
    name: &str,
    kind: StorefrontTokenKind,
    lookup: &F,
) -> Result<Option<StorefrontToken>, Refusal>
where
    F: Fn(String) -> L,
    L: std::future::Future<Output = Result<Option<StorefrontToken>, StoreError>>,
{
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let presented = value.to_str().map_err(|_| Refusal::Unauthorized)?.trim();
    if presented.is_empty() {
        return Ok(None);
    }
    match lookup(presented.to_string())
        .await
        .map_err(Refusal::Lookup)?
    {
        Some(token) if token.kind == kind => Ok(Some(token)),
        _ => Err(Refusal::Unauthorized),
    }
}

/// Who a request's headers say is calling. A token counts only in its own kind's header, and
/// answers the same 401 as an unknown one in the other. When both headers are sent, each must
/// hold a valid token of its kind, and the private one is the caller (its scopes, and the
/// `Shopify-Storefront-Buyer-IP` it may carry). Only a private token's Buyer-IP is believed: a
/// public token sits in browsers, so anyone may send it with any IP. Without a (readable)
/// Buyer-IP the TCP peer is the client.
async fn caller_from_headers<F, L>(
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    lookup: F,
) -> Result<StorefrontCaller, Refusal>
where
    F: Fn(String) -> L,
    L: std::future::Future<Output = Result<Option<StorefrontToken>, StoreError>>,
{
    let public = presented_token(
        headers,
        PUBLIC_TOKEN_HEADER,
        StorefrontTokenKind::Public,
        &lookup,
    )
    .await?;
    let private = presented_token(
        headers,
        PRIVATE_TOKEN_HEADER,
        StorefrontTokenKind::Private,
        &lookup,
    )
    .await?;
    let (token, buyer_ip) = match (private, public) {
        (Some(token), _) => {
            let buyer_ip = header(headers, BUYER_IP_HEADER).and_then(|v| v.parse::<IpAddr>().ok());
            (token, buyer_ip)
        }
        (None, Some(token)) => (token, None),
        (None, None) => return Err(Refusal::Unauthorized),
    };
    Ok(StorefrontCaller {
        token,
        ip: buyer_ip.or_else(|| client_ip(remote)),
    })
}

pub async fn handle(
    state: &super::AppState,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: Bytes,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let auth = &state.auth;
    let lookup = |t: String| async move { auth.storefront_token(&t).await };
    let caller = match caller_from_headers(headers, remote, lookup).await {
        Ok(caller) => caller,
        Err(Refusal::Unauthorized) => {
            auth.metrics
                .request(Storefront::NAME, "", "unauthenticated");
            return unauthorized();
        }
        Err(Refusal::Lookup(e)) => return lookup_failed::<Storefront>(&e),
    };
    let request = match parse_graphql_body(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let gate = &state.storefront_gate;
    let outcome = gate
        .run(request, |r| state.storefront.execute(r.data(caller)))
        .await;
    finish::<Storefront>(auth, gate, outcome, started)
}

fn ctx_parts<'a>(ctx: &'a Context<'_>) -> (&'a Arc<Auth>, &'a StorefrontCaller) {
    // Both are inserted for every request by `build_schema` and `handle`.
    (
        ctx.data_unchecked::<Arc<Auth>>(),
        ctx.data_unchecked::<StorefrontCaller>(),
    )
}

/// The caller's storefront token must grant `scope` for the field being resolved.
fn require_scope<'a>(
    ctx: &'a Context<'_>,
    scope: &str,
) -> Result<(&'a Arc<Auth>, &'a StorefrontCaller), async_graphql::Error> {
    let (auth, caller) = ctx_parts(ctx);
    if caller.token.allows(scope) {
        Ok((auth, caller))
    } else {
        Err(access_denied(ctx.field().name(), scope))
    }
}

fn access_token(issued: &IssuedToken) -> CustomerAccessToken {
    CustomerAccessToken {
        access_token: issued.token.expose().to_string(),
        expires_at: DateTime(issued.expires_at),
    }
}

fn customer(customer: model::Customer) -> Customer {
    Customer {
        customer,
        addresses: Default::default(),
    }
}

/// `gid://shopify/Customer/<n>`; also the base64 form older API versions used, and a bare number.
/// `None` for anything else, including signs, spaces inside, and ids longer than any real one.
fn parse_customer_gid(id: &str) -> Option<CustomerId> {
    use base64::Engine as _;
    const PREFIX: &str = "gid://shopify/Customer/";
    let id = id.trim();
    if id.len() > 128 {
        return None;
    }
    let number = |n: &str| -> Option<CustomerId> {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n.parse().ok().map(CustomerId)
    };
    if let Some(n) = id.strip_prefix(PREFIX) {
        return number(n);
    }
    if let Some(n) = number(id) {
        return Some(n);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(id)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    number(decoded.strip_prefix(PREFIX)?)
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// Retrieves the `Customer` associated with the provided access token. `null` when the
    /// token is unknown, expired or deleted.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer access token.")] customer_access_token: String,
    ) -> async_graphql::Result<Option<Customer>> {
        let (auth, _) = require_scope(ctx, READ_CUSTOMERS)?;
        let session = auth
            .authenticate(customer_access_token.trim())
            .await
            .map_err(internal)?;
        Ok(session.map(|s| customer(s.customer)))
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates a customer access token using a Multipass token instead of email and password.
    /// A customer record is created if the customer doesn't exist; a disabled one is
    /// re-enabled. Multipass tokens are only valid for 15 minutes and can only be used once.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_access_token_create_with_multipass(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A valid Multipass token to be authenticated.")] multipass_token: String,
    ) -> async_graphql::Result<Option<CustomerAccessTokenCreateWithMultipassPayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        use CustomerErrorCode as C;
        let refused = |code, message| CustomerAccessTokenCreateWithMultipassPayload {
            customer_access_token: None,
            customer_user_errors: vec![CustomerUserError::new(
                code,
                Some(&["multipassToken"]),
                message,
            )],
        };
        Ok(Some(match auth.sign_in_multipass(&multipass_token).await {
            Ok(issued) => CustomerAccessTokenCreateWithMultipassPayload {
                customer_access_token: Some(access_token(&issued)),
                customer_user_errors: vec![],
            },
            Err(MultipassSignInError::Invalid) => {
                refused(C::InvalidMultipassRequest, INVALID_MULTIPASS)
            }
            Err(MultipassSignInError::Taken) => refused(C::Taken, MULTIPASS_TAKEN),
            Err(MultipassSignInError::Storage(m)) => return Err(internal(m)),
        }))
    }

    /// Creates a customer access token. The password may be the account password, a live
    /// password-reset token or a live admin one-time code, tried in that order.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_access_token_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields used to create a customer access token.")]
        input: CustomerAccessTokenCreateInput,
    ) -> async_graphql::Result<Option<CustomerAccessTokenCreatePayload>> {
        let (auth, caller) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let payload = |token, errors: Vec<CustomerUserError>| CustomerAccessTokenCreatePayload {
            customer_access_token: token,
            user_errors: user_errors(&errors),
            customer_user_errors: errors,
        };
        let unidentified = || {
            CustomerUserError::new(
                CustomerErrorCode::UnidentifiedCustomer,
                None,
                UNIDENTIFIED_CUSTOMER,
            )
        };
        if input.email.trim().is_empty() || input.password.is_empty() {
            return Ok(Some(payload(None, vec![unidentified()])));
        }
        let result = auth
            .sign_in(SignInRequest {
                email: input.email,
                secret: Secret::new(input.password),
                ip: caller.ip,
                accept: Accept::Any,
                kind: TokenKind::Storefront,
            })
            .await;
        Ok(Some(match result {
            Ok(issued) => payload(Some(access_token(&issued)), vec![]),
            Err(SignInError::NotConfirmed) => payload(
                None,
                vec![CustomerUserError::new(
                    CustomerErrorCode::CustomerDisabled,
                    None,
                    NOT_CONFIRMED,
                )],
            ),
            Err(SignInError::Busy) => return Err(busy()),
            Err(SignInError::Storage(m)) => return Err(internal(m)),
            Err(SignInError::Internal(m)) => return Err(internal(m)),
            Err(_) => payload(None, vec![unidentified()]),
        }))
    }

    /// Renews a customer access token. Renewal must happen before the token expires.
    async fn customer_access_token_renew(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The access token used to identify the customer.")]
        customer_access_token: String,
    ) -> async_graphql::Result<Option<CustomerAccessTokenRenewPayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let token = customer_access_token.trim();
        match auth.renew(token).await.map_err(internal)? {
            Some(expires_at) => Ok(Some(CustomerAccessTokenRenewPayload {
                customer_access_token: Some(CustomerAccessToken {
                    access_token: token.to_string(),
                    expires_at: DateTime(expires_at),
                }),
                user_errors: vec![],
            })),
            None => Err(token_denied("CustomerAccessTokenRenew")),
        }
    }

    /// Permanently destroys a customer access token.
    async fn customer_access_token_delete(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The access token used to identify the customer.")]
        customer_access_token: String,
    ) -> async_graphql::Result<Option<CustomerAccessTokenDeletePayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let token = customer_access_token.trim();
        if !auth.delete_token(token).await.map_err(internal)? {
            return Err(token_denied("CustomerAccessTokenDelete"));
        }
        Ok(Some(CustomerAccessTokenDeletePayload {
            deleted_access_token: Some(token.to_string()),
            // The token's own id: the first half of its digest, which names nothing else.
            deleted_customer_access_token_id: Some(hex::encode(&secret::digest(token)[..16])),
            user_errors: vec![],
        }))
    }

    /// Creates a new customer.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields used to create a new customer.")] input: CustomerCreateInput,
    ) -> async_graphql::Result<Option<CustomerCreatePayload>> {
        let (auth, caller) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let payload = |customer, errors: Vec<CustomerUserError>| CustomerCreatePayload {
            customer,
            user_errors: user_errors(&errors),
            customer_user_errors: errors,
        };
        let email = input.email.trim().to_string();
        if email.is_empty() {
            let blank = CustomerUserError::new(
                CustomerErrorCode::Blank,
                Some(&["input", "email"]),
                EMAIL_BLANK,
            );
            return Ok(Some(payload(None, vec![blank])));
        }
        let new = NewCustomer {
            email: email.clone(),
            password: Some(Secret::new(input.password)),
            profile: Profile {
                firstname: input.first_name,
                lastname: input.last_name,
                phone: input.phone,
                is_subscribed: input.accepts_marketing.unwrap_or(false),
                ..Profile::default()
            },
            requested_from: caller.ip,
            ..NewCustomer::default()
        };
        match auth.create_customer(new).await {
            // With `account.require_confirmation`, Shopify answers a sign-up that needs email
            // verification with CUSTOMER_DISABLED and no customer.
            Ok(record) if !record.confirmed => Ok(Some(payload(
                None,
                vec![CustomerUserError::new(
                    CustomerErrorCode::CustomerDisabled,
                    None,
                    format!("We have sent an email to {email}, please click the link included to verify your email address."),
                )],
            ))),
            Ok(record) => Ok(Some(payload(Some(customer(record)), vec![]))),
            Err(e) => Ok(Some(payload(None, vec![account_user_error(e, "input")?]))),
        }
    }

    /// Updates an existing customer. If the password changes, every previous access token
    /// (including the one used here) becomes invalid and a new one is returned.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The access token used to identify the customer.")]
        customer_access_token: String,
        #[graphql(desc = "The customer object input.")] customer: CustomerUpdateInput,
    ) -> async_graphql::Result<Option<CustomerUpdatePayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let Some(session) = auth
            .authenticate(customer_access_token.trim())
            .await
            .map_err(internal)?
        else {
            return Err(token_denied("CustomerUpdate"));
        };
        let id = session.customer.id;
        let failed = |errors: Vec<CustomerUserError>| CustomerUpdatePayload {
            customer: None,
            customer_access_token: None,
            user_errors: user_errors(&errors),
            customer_user_errors: errors,
        };

        // Check everything first, so a bad password does not leave a half-applied update.
        let mut errors = Vec::new();
        let email = customer.email.as_deref().map(str::trim);
        match email {
            Some("") => errors.push(CustomerUserError::new(
                CustomerErrorCode::Blank,
                Some(&["customer", "email"]),
                EMAIL_BLANK,
            )),
            Some(e) if !valid_email(e) => errors.push(CustomerUserError::new(
                CustomerErrorCode::Invalid,
                Some(&["customer", "email"]),
                EMAIL_INVALID,
            )),
            _ => {}
        }
        let new_password = customer.password.map(Secret::new);
        if let Some(pw) = &new_password {
            let for_email = email.unwrap_or(&session.customer.email);
            if let Err(p) = auth.check_new_password(pw, for_email) {
                errors.push(policy_user_error(&p, &["customer", "password"]));
            }
        }
        if !errors.is_empty() {
            return Ok(Some(failed(errors)));
        }

        let changes = CustomerChanges {
            profile: ProfileChanges {
                firstname: customer.first_name,
                lastname: customer.last_name,
                phone: customer.phone,
                is_subscribed: customer.accepts_marketing,
                ..ProfileChanges::default()
            },
            email: email.map(str::to_owned),
            ..CustomerChanges::default()
        };
        // One write: the profile, the email, the password and the new token, or nothing.
        let update = match auth
            .update_account(id, changes, new_password, Some(TokenKind::Storefront))
            .await
        {
            Ok(u) => u,
            Err(e) => return Ok(Some(failed(vec![account_user_error(e, "customer")?]))),
        };
        Ok(Some(CustomerUpdatePayload {
            customer: Some(self::customer(update.customer)),
            customer_access_token: update.token.as_ref().map(access_token),
            customer_user_errors: vec![],
            user_errors: vec![],
        }))
    }

    /// Sends a reset password email to the customer. The answer is the same whether or not
    /// the email has an account.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_recover(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The email address of the customer to recover.")] email: String,
    ) -> async_graphql::Result<Option<CustomerRecoverPayload>> {
        let (auth, caller) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let email = email.trim();
        if !valid_email(email) {
            let errors = vec![CustomerUserError::new(
                CustomerErrorCode::Invalid,
                Some(&["email"]),
                EMAIL_INVALID,
            )];
            return Ok(Some(CustomerRecoverPayload {
                user_errors: user_errors(&errors),
                customer_user_errors: errors,
            }));
        }
        if !auth
            .request_password_reset(email, caller.ip)
            .await
            .map_err(internal)?
        {
            return Err(async_graphql::Error::new(RESET_LIMIT));
        }
        Ok(Some(CustomerRecoverPayload {
            customer_user_errors: vec![],
            user_errors: vec![],
        }))
    }

    /// Resets a customer's password with the token received from a reset password email.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Specifies the customer to reset.")] id: ID,
        #[graphql(desc = "The fields used to reset a customer’s password.")]
        input: CustomerResetInput,
    ) -> async_graphql::Result<Option<CustomerResetPayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let token_field: &[&str] = &["input", "resetToken"];
        let result = match parse_customer_gid(&id) {
            Some(n) => {
                reset_and_sign_in(
                    auth,
                    ResetSubject::Id(n),
                    input.reset_token,
                    input.password,
                    token_field,
                    &["input", "password"],
                )
                .await?
            }
            None => Err(CustomerUserError::new(
                CustomerErrorCode::Invalid,
                Some(&["id"]),
                CUSTOMER_ID_INVALID,
            )),
        };
        Ok(Some(result.into()))
    }

    /// Resets a customer's password with the reset password URL received from a reset
    /// password email.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_reset_by_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer's reset password url.")] reset_url: Url,
        #[graphql(desc = "New password that will be set as part of the reset password process.")]
        password: String,
    ) -> async_graphql::Result<Option<CustomerResetByUrlPayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let url_field: &[&str] = &["resetUrl"];
        let result = match reset_url::parse(&reset_url.0, &auth.policy.reset_url_template) {
            Some(link) => {
                reset_and_sign_in(
                    auth,
                    link.subject,
                    link.token,
                    password,
                    url_field,
                    &["password"],
                )
                .await?
            }
            None => Err(CustomerUserError::new(
                CustomerErrorCode::Invalid,
                Some(url_field),
                RESET_URL_INVALID,
            )),
        };
        Ok(Some(result.into()))
    }

    // -------------------------------------------------------------- addresses (addresses.rs)

    /// Creates a new address for a customer.
    async fn customer_address_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The access token used to identify the customer.")]
        customer_access_token: String,
        #[graphql(desc = "The customer mailing address to create.")] address: MailingAddressInput,
    ) -> async_graphql::Result<Option<CustomerAddressCreatePayload>> {
        addresses::create(ctx, &customer_access_token, address)
            .await
            .map(Some)
    }

    /// Updates the address of an existing customer.
    async fn customer_address_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer’s mailing address.")] address: MailingAddressInput,
        #[graphql(desc = "The access token used to identify the customer.")]
        customer_access_token: String,
        #[graphql(desc = "Specifies the customer address to update.")] id: ID,
    ) -> async_graphql::Result<Option<CustomerAddressUpdatePayload>> {
        addresses::update(ctx, &customer_access_token, &id, address)
            .await
            .map(Some)
    }

    /// Permanently deletes the address of an existing customer.
    async fn customer_address_delete(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The access token used to identify the customer.")]
        customer_access_token: String,
        #[graphql(desc = "Specifies the address to delete.")] id: ID,
    ) -> async_graphql::Result<Option<CustomerAddressDeletePayload>> {
        addresses::delete(ctx, &customer_access_token, &id)
            .await
            .map(Some)
    }

    /// Updates the default address of an existing customer.
    async fn customer_default_address_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ID of the address to set as the new default for the customer.")]
        address_id: ID,
        #[graphql(desc = "The access token used to identify the customer.")]
        customer_access_token: String,
    ) -> async_graphql::Result<Option<CustomerDefaultAddressUpdatePayload>> {
        addresses::set_default(ctx, &customer_access_token, &address_id)
            .await
            .map(Some)
    }

    /// Activates a customer (an admin's account invite): sets the first password, confirms
    /// and enables the account, and returns a fresh customer access token.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_activate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Specifies the customer to activate.")] id: ID,
        #[graphql(desc = "The fields used to activate a customer.")] input: CustomerActivateInput,
    ) -> async_graphql::Result<Option<CustomerActivatePayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let result = match parse_customer_gid(&id) {
            Some(n) => {
                activate_and_sign_in(
                    auth,
                    ResetSubject::Id(n),
                    input.activation_token,
                    input.password,
                    &["input", "activationToken"],
                    &["input", "password"],
                )
                .await?
            }
            None => Err(CustomerUserError::new(
                CustomerErrorCode::Invalid,
                Some(&["id"]),
                CUSTOMER_ID_INVALID,
            )),
        };
        Ok(Some(result.into()))
    }

    /// Activates a customer with the activation url received from an account invite: the link
    /// storekey mailed, or Shopify's `/account/activate/<id>/<token>` on any host.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn customer_activate_by_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer activation URL.")] activation_url: Url,
        #[graphql(desc = "A new password set during activation.")] password: String,
    ) -> async_graphql::Result<Option<CustomerActivateByUrlPayload>> {
        let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
        let url_field: &[&str] = &["activationUrl"];
        let template = &auth.policy.activation_url_template;
        let result = match reset_url::parse_activation(&activation_url.0, template) {
            Some(link) => {
                activate_and_sign_in(
                    auth,
                    link.subject,
                    link.token,
                    password,
                    url_field,
                    &["password"],
                )
                .await?
            }
            None => Err(CustomerUserError::new(
                CustomerErrorCode::Invalid,
                Some(url_field),
                ACTIVATION_URL_INVALID,
            )),
        };
        Ok(Some(result.into()))
    }
}

/// Activates with an invite's token and signs the customer in, in one write. Outer error:
/// transport-level; inner: the customer's error.
async fn activate_and_sign_in(
    auth: &Auth,
    subject: ResetSubject,
    token: String,
    password: String,
    token_field: &[&str],
    password_field: &[&str],
) -> Result<ResetOutcome, async_graphql::Error> {
    let token = Secret::new(token);
    let password = Secret::new(password);
    let kind = Some(TokenKind::Storefront);
    let activated = match subject {
        ResetSubject::Id(id) => auth.activate(id, &token, &password, kind).await,
        ResetSubject::Email(email) => {
            auth.activate_by_email(&email, &token, &password, kind)
                .await
        }
    };
    let update = match activated {
        Ok(u) => u,
        Err(e) => return Ok(Err(activation_user_error(e, token_field, password_field)?)),
    };
    let Some(issued) = update.token else {
        return Err(internal("an activation asked for a token and minted none"));
    };
    Ok(Ok((issued.customer.clone(), access_token(&issued))))
}

/// What a reset comes to: the customer and a fresh token, or the customer's error.
type ResetOutcome = Result<(model::Customer, CustomerAccessToken), CustomerUserError>;

/// `customerReset` and `customerResetByUrl` answer with payloads of the same shape under two
/// Shopify type names.
macro_rules! reset_payload_from_outcome {
    ($($payload:ident),*) => {$(
        impl From<ResetOutcome> for $payload {
            fn from(outcome: ResetOutcome) -> Self {
                match outcome {
                    Ok((record, token)) => $payload {
                        customer: Some(customer(record)),
                        customer_access_token: Some(token),
                        customer_user_errors: vec![],
                        user_errors: vec![],
                    },
                    Err(error) => $payload {
                        customer: None,
                        customer_access_token: None,
                        user_errors: user_errors(std::slice::from_ref(&error)),
                        customer_user_errors: vec![error],
                    },
                }
            }
        }
    )*};
}
reset_payload_from_outcome!(
    CustomerResetPayload,
    CustomerResetByUrlPayload,
    CustomerActivatePayload
);

/// `CustomerActivateByUrlPayload` has no deprecated `userErrors` (Shopify's shape).
impl From<ResetOutcome> for CustomerActivateByUrlPayload {
    fn from(outcome: ResetOutcome) -> Self {
        match outcome {
            Ok((record, token)) => CustomerActivateByUrlPayload {
                customer: Some(customer(record)),
                customer_access_token: Some(token),
                customer_user_errors: vec![],
            },
            Err(error) => CustomerActivateByUrlPayload {
                customer: None,
                customer_access_token: None,
                customer_user_errors: vec![error],
            },
        }
    }
}

/// Sets the new password with the reset token and signs the customer in, in one write
/// (Shopify's reset returns a fresh access token). Outer error: transport-level; inner: the
/// customer's error.
async fn reset_and_sign_in(
    auth: &Auth,
    subject: ResetSubject,
    token: String,
    password: String,
    token_field: &[&str],
    password_field: &[&str],
) -> Result<ResetOutcome, async_graphql::Error> {
    let token = Secret::new(token);
    let password = Secret::new(password);
    // One write: the new password, the consumed reset token and the new access token.
    let kind = Some(TokenKind::Storefront);
    let reset = match subject {
        ResetSubject::Email(email) => auth.reset_password(&email, &token, &password, kind).await,
        ResetSubject::Id(id) => auth.reset_password_by_id(id, &token, &password, kind).await,
    };
    let update = match reset {
        Ok(u) => u,
        Err(e) => return Ok(Err(reset_user_error(e, token_field, password_field)?)),
    };
    let Some(issued) = update.token else {
        return Err(internal("a reset asked for a token and minted none"));
    };
    Ok(Ok((issued.customer.clone(), access_token(&issued))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::collections::HashMap;

    #[test]
    fn versions() {
        for ok in ["2026-04", "2024-01", "2025-12", "unstable"] {
            assert!(valid_version(ok), "{ok}");
        }
        for bad in [
            "2026-4", "2026-13", "2026-00", "latest", "", "20260-4", "2026_04",
        ] {
            assert!(!valid_version(bad), "{bad}");
        }
    }

    #[test]
    fn customer_gids() {
        assert_eq!(
            parse_customer_gid("gid://shopify/Customer/42"),
            Some(CustomerId(42))
        );
        assert_eq!(parse_customer_gid("42"), Some(CustomerId(42)));
        assert_eq!(
            parse_customer_gid("Z2lkOi8vc2hvcGlmeS9DdXN0b21lci80Mg=="),
            Some(CustomerId(42))
        );
        assert_eq!(parse_customer_gid("gid://shopify/Product/42"), None);
        assert_eq!(parse_customer_gid("gid://shopify/Customer/x"), None);
        assert_eq!(parse_customer_gid("+42"), None);
        assert_eq!(parse_customer_gid("gid://shopify/Customer/+42"), None);
        assert_eq!(parse_customer_gid("18446744073709551616"), None);
    }

    // ------------------------------------------------------------- fuzzing the decoders
    //
    // Generated inputs from a seeded PRNG (the same every run, so a failure reproduces): random
    // bytes and mutations of valid inputs. Each decoder must answer, never panic, and give its
    // clear refusal (`None`, Shopify's 401) for what it cannot read.

    /// The shared seeded source, plus the draws these decoders care about.
    struct Rng(crate::auth::secret::SeededRandom);

    impl std::ops::Deref for Rng {
        type Target = crate::auth::secret::SeededRandom;
        fn deref(&self) -> &Self::Target {
            &self.0
        }
    }

    impl Rng {
        /// Text made of pieces that matter to URL and id parsers, and of stray characters.
        fn tricky(&mut self, max: usize) -> String {
            const PIECES: &[&str] = &[
                "%",
                "%2",
                "%ZZ",
                "%40",
                "%C3%A9",
                "%FF",
                "&",
                "=",
                "?",
                "#",
                "/",
                "{",
                "}",
                "{email}",
                "{token}",
                "{id}",
                "@",
                "+",
                "-",
                " ",
                "\t",
                "é",
                "日本",
                "\u{1F600}",
                "\0",
                "0",
                "42",
                "99999999999999999999",
                "gid://shopify/Customer/",
                "==",
                "A",
            ];
            let n = self.below(max + 1);
            (0..n).map(|_| *self.pick(PIECES)).collect()
        }

        /// `valid` with a few random edits: insertions, deletions, replacements, truncation.
        fn mutate(&mut self, valid: &str) -> String {
            let mut chars: Vec<char> = valid.chars().collect();
            for _ in 0..=self.below(4) {
                let at = self.below(chars.len() + 1);
                match self.below(5) {
                    0 => chars.truncate(at),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    2 if at < chars.len() => chars[at] = char::from(self.byte()),
                    _ => {
                        let piece = self.tricky(2);
                        for (i, c) in piece.chars().enumerate() {
                            chars.insert(at + i, c);
                        }
                    }
                }
            }
            chars.into_iter().collect()
        }
    }

    const RUNS: usize = 20_000;

    #[test]
    fn reset_url_parser_survives_generated_links() {
        use crate::auth::one_time::url_encode;
        const TEMPLATES: &[&str] = &[
            "http://localhost:3000/customer/account/createPassword/?email={email}&token={token}",
            "https://shop.example/reset/{id}/{token}",
            "https://shop.example/r?t={token}#{email}",
            "{token}",
            "{email}{token}",
            "https://shop.example/{",
            "",
        ];
        let mut rng = Rng(crate::auth::secret::SeededRandom::new(0x5eed_0001));
        for run in 0..RUNS {
            let template = rng_pick_owned(&mut rng, TEMPLATES);
            let template = if rng.below(4) == 0 {
                rng.mutate(&template)
            } else {
                template
            };
            let email = format!("{}@example.com", rng.tricky(3)).trim().to_string();
            let token = format!("{:x}", rng.next_u64());
            let id = rng.next_u64();
            let valid = TEMPLATES[0]
                .replace("{email}", &url_encode(&email))
                .replace("{token}", &token);
            let shopify = format!("https://s.myshopify.com/account/reset/{id}/{token}");
            let url = match run % 4 {
                0 => String::from_utf8_lossy(&rng.bytes(80)).into_owned(),
                1 => rng.tricky(12),
                2 => rng.mutate(&valid),
                _ => rng.mutate(&shopify),
            };
            if let Some(link) = reset_url::parse(&url, &template) {
                assert!(!link.token.is_empty(), "{url:?} {template:?}");
                if let ResetSubject::Email(e) = &link.subject {
                    assert!(!e.is_empty(), "{url:?} {template:?}");
                }
            }
            // What storekey mails, and Shopify's own form, always read back exactly.
            if !email.is_empty() {
                assert_eq!(
                    reset_url::parse(&valid, TEMPLATES[0]).map(|l| (l.subject, l.token)),
                    Some((ResetSubject::Email(email.clone()), token.clone())),
                    "{valid:?}"
                );
            }
            assert_eq!(
                reset_url::parse(&shopify, TEMPLATES[0]).map(|l| (l.subject, l.token)),
                Some((ResetSubject::Id(CustomerId(id)), token.clone())),
                "{shopify:?}"
            );
        }
    }

    fn rng_pick_owned(rng: &mut Rng, items: &[&str]) -> String {
        rng.pick(items).to_string()
    }

    #[test]
    fn customer_id_decoder_survives_generated_ids() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut rng = Rng(crate::auth::secret::SeededRandom::new(0x5eed_0002));
        for run in 0..RUNS {
            let n = rng.next_u64();
            let gid = format!("gid://shopify/Customer/{n}");
            assert_eq!(parse_customer_gid(&gid), Some(CustomerId(n)));
            assert_eq!(parse_customer_gid(&b64(&gid)), Some(CustomerId(n)));
            assert_eq!(parse_customer_gid(&format!(" {n} ")), Some(CustomerId(n)));
            let input = match run % 4 {
                0 => String::from_utf8_lossy(&rng.bytes(64)).into_owned(),
                1 => rng.mutate(&gid),
                2 => rng.mutate(&b64(&gid)),
                _ => b64(&rng.mutate(&gid)),
            };
            // Whatever it decodes to is spelled in the input, as it is or base64-decoded.
            if let Some(found) = parse_customer_gid(&input) {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(input.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default();
                let digits = |t: &str| {
                    t.trim_start_matches("gid://shopify/Customer/")
                        .trim_start_matches('0')
                        .to_string()
                };
                let want = digits(&found.to_string());
                assert!(
                    digits(input.trim()) == want || digits(&decoded) == want,
                    "{input:?} decoded to {found}"
                );
            }
        }
    }

    fn token(id: u64, kind: StorefrontTokenKind) -> StorefrontToken {
        StorefrontToken {
            id,
            title: format!("token {id}"),
            scopes: vec![WRITE_CUSTOMERS.to_string()],
            created_at: 0,
            kind,
        }
    }

    /// A header's text, if it is all visible ASCII, spaces and tabs (what HTTP calls readable).
    fn readable(bytes: &[u8]) -> Option<&str> {
        if bytes
            .iter()
            .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            std::str::from_utf8(bytes).ok()
        } else {
            None
        }
    }

    /// What the headers should come to, worked out separately from `caller_from_headers`:
    /// `Some((token id, trusted buyer IP))`, or `None` for the 401.
    fn expected_caller(
        public: Option<&[u8]>,
        private: Option<&[u8]>,
        buyer_ip: Option<&[u8]>,
        tokens: &HashMap<&str, StorefrontToken>,
    ) -> Option<(u64, Option<IpAddr>)> {
        // Absent or blank: not sent; unreadable or wrong: refused.
        let check = |value: Option<&[u8]>, kind| -> Result<Option<u64>, ()> {
            let Some(bytes) = value else { return Ok(None) };
            let text = readable(bytes).ok_or(())?.trim_matches([' ', '\t']);
            if text.is_empty() {
                return Ok(None);
            }
            match tokens.get(text) {
                Some(t) if t.kind == kind => Ok(Some(t.id)),
                _ => Err(()),
            }
        };
        let public = check(public, StorefrontTokenKind::Public).ok()?;
        let private = check(private, StorefrontTokenKind::Private).ok()?;
        match (private, public) {
            (Some(id), _) => {
                let ip = buyer_ip
                    .and_then(readable)
                    .and_then(|s| s.trim_matches([' ', '\t']).parse().ok());
                Some((id, ip))
            }
            (None, Some(id)) => Some((id, None)),
            (None, None) => None,
        }
    }

    #[test]
    fn storefront_headers_survive_generated_values() {
        let tokens: HashMap<&str, StorefrontToken> = HashMap::from([
            ("pub-token-1", token(1, StorefrontTokenKind::Public)),
            ("priv-token-2", token(2, StorefrontTokenKind::Private)),
        ]);
        let lookup = |t: String| {
            let found = if t == "store-down" {
                Err(StoreError::Corrupt("down".into()))
            } else {
                Ok(tokens.get(t.as_str()).cloned())
            };
            std::future::ready(found)
        };
        let remote: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        const VALUES: &[&str] = &[
            "pub-token-1",
            "priv-token-2",
            " pub-token-1\t",
            "priv-token-2 ",
            "",
            "   ",
            "unknown",
            "pub-token-1x",
            "198.51.100.7",
            "2001:db8::1",
            "::ffff:203.0.113.1",
            "198.51.100.7, 10.0.0.1",
            "[2001:db8::1]",
            "999.1.1.1",
        ];
        let mut rng = Rng(crate::auth::secret::SeededRandom::new(0x5eed_0003));
        for _ in 0..RUNS {
            let value = |rng: &mut Rng| -> Option<Vec<u8>> {
                match rng.below(5) {
                    0 => None,
                    1 => Some(rng.bytes(24)),
                    2 => {
                        let valid = rng_pick_owned(rng, VALUES);
                        Some(rng.mutate(&valid).into_bytes())
                    }
                    _ => Some(rng.pick(VALUES).as_bytes().to_vec()),
                }
            };
            let public = value(&mut rng);
            let private = value(&mut rng);
            let buyer_ip = value(&mut rng);
            let mut headers = HeaderMap::new();
            let mut sent = |name: &'static str, v: &Option<Vec<u8>>| -> Option<Vec<u8>> {
                let bytes = v.as_ref()?;
                // Bytes no HTTP header can carry never reach us; leave the header out.
                let value = warp::http::HeaderValue::from_bytes(bytes).ok()?;
                headers.insert(name, value);
                Some(bytes.clone())
            };
            let public = sent(PUBLIC_TOKEN_HEADER, &public);
            let private = sent(PRIVATE_TOKEN_HEADER, &private);
            let buyer_ip = sent(BUYER_IP_HEADER, &buyer_ip);
            let got = caller_from_headers(&headers, Some(remote), lookup)
                .now_or_never()
                .expect("the lookup is ready at once");
            let expected = expected_caller(
                public.as_deref(),
                private.as_deref(),
                buyer_ip.as_deref(),
                &tokens,
            );
            match (got, expected) {
                (Ok(caller), Some((id, ip))) => {
                    assert_eq!(caller.token.id, id, "{headers:?}");
                    assert_eq!(caller.ip, Some(ip.unwrap_or(remote.ip())), "{headers:?}");
                }
                (Err(Refusal::Unauthorized), None) => {}
                (got, expected) => panic!(
                    "{headers:?}: got {got:?}, expected {expected:?}",
                    got = got.map(|c| (c.token.id, c.ip))
                ),
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(PUBLIC_TOKEN_HEADER, "store-down".parse().unwrap());
        assert!(matches!(
            caller_from_headers(&headers, Some(remote), lookup)
                .now_or_never()
                .expect("the lookup is ready at once"),
            Err(Refusal::Lookup(_))
        ));
    }

    #[test]
    fn scope_error_wording() {
        let e = access_denied("customer", READ_CUSTOMERS);
        assert_eq!(
            e.message,
            "Access denied for customer field. Required access: `unauthenticated_read_customers` access scope."
        );
    }
}
