//! The Adobe Commerce dialect on `POST /graphql`: schema, Bearer handling and resolvers that
//! call the core. The mapping of core errors to Adobe Commerce's exact messages and categories
//! is `errors.rs`.

mod addresses;
mod errors;
mod orders;
mod types;
mod wording;

use super::gate::{self, Outcome};
use super::kit::bearer;
use super::kit::graphql::{error_response, finish, lookup_failed, Dialect};
use super::{client_ip, parse_graphql_body, HttpResponse};
use crate::auth::one_time::ConfirmError;
use crate::auth::secret::Secret;
use crate::auth::{
    Accept, AccountError, Auth, CustomerChanges, NewCustomer, ProfileChanges, Session,
    SessionRefusal, SignInRequest,
};
use crate::model::Profile;
use crate::model::{Customer as CustomerModel, TokenKind};
pub use addresses::{CountryCodeEnum, CustomerAddress, CustomerAddressInput};
use async_graphql::{Context, EmptySubscription, Object, Schema, ID};
use bytes::Bytes;
pub use errors::*;
pub use orders::*;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
pub use types::*;
use warp::http::{header, HeaderMap, HeaderValue, StatusCode};
pub use wording::{MAX_ERRORS, MAX_SHOWN};

pub type CommerceSchema = Schema<Query, Mutation, EmptySubscription>;

/// Sign-in fields are expensive: with the default complexity limit (1000) a request holds at
/// most five of them, whatever aliases it uses.
const SIGN_IN_COMPLEXITY: usize = 200;

/// Who is calling, decided from the `Authorization` header before anything executes.
pub struct Caller {
    pub session: Option<Session>,
    /// The name of the admin key presented as a Bearer token, if any.
    pub admin: Option<String>,
    pub ip: Option<IpAddr>,
    /// How to write the session cookie, when `tokens.session_cookie` is on and the request
    /// passed the CSRF rule (so a forged cross-site sign-in cannot plant a session).
    pub cookie: Option<super::SessionCookie>,
}

/// The serving schema: no extension, so a request that validates pays for none.
pub fn build_schema(auth: &Arc<Auth>, server: &crate::config::ServerConfig) -> CommerceSchema {
    schema_builder(auth, server).finish()
}

/// The same schema with validation errors in graphql-php's words, as Magento answers
/// (wording.rs). Only a request that failed before anything executed is run on it again
/// (`respond`), so the extension's cost falls on those alone.
pub fn build_wording_schema(
    auth: &Arc<Auth>,
    server: &crate::config::ServerConfig,
) -> CommerceSchema {
    schema_builder(auth, server)
        .extension(wording::GraphqlPhpWording)
        .finish()
}

fn schema_builder(
    auth: &Arc<Auth>,
    server: &crate::config::ServerConfig,
) -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation, EmptySubscription)
        .data(auth.clone())
        .limit_depth(server.max_query_depth)
        .limit_complexity(server.max_query_complexity)
}

const MUTATION_OVER_GET: &str =
    "Mutations cannot be sent over GET: send them with POST (GraphQL over HTTP).";
const CSRF: &str = "This request carries the storekey_session cookie but neither a Content-Type of application/json nor an X-Requested-With or apollo-require-preflight header: refused as a possible cross-site request forgery.";

/// `POST /graphql`.
pub async fn handle(
    state: &super::AppState,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: Bytes,
) -> HttpResponse {
    match parse_graphql_body(&body) {
        Ok(request) => respond(state, headers, remote, request, false).await,
        Err(resp) => *resp,
    }
}

/// `GET /graphql?query=…`: the same rules as POST, but only a query runs.
pub async fn handle_get(
    state: &super::AppState,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    request: async_graphql::Request,
) -> HttpResponse {
    respond(state, headers, remote, request, true).await
}

async fn respond(
    state: &super::AppState,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    request: async_graphql::Request,
    queries_only: bool,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let auth = &state.auth;
    let cookie = super::SessionCookie::of(&state.config);
    let (caller, stale_cookie) = match identify(state, headers, remote, cookie).await {
        Ok(identified) => identified,
        Err(resp) => return resp,
    };
    let gate = &state.commerce_gate;
    let mutation_over_get = std::sync::atomic::AtomicBool::new(false);
    let outcome = gate
        .run(request, |mut r| {
            let refuse = queries_only && !selects_query(&mut r);
            mutation_over_get.store(refuse, std::sync::atomic::Ordering::Relaxed);
            async move {
                if refuse {
                    return async_graphql::Response::default();
                }
                // Kept for the rare rerun (a query's text and variables: no parse, no copy of
                // the document).
                let again =
                    async_graphql::Request::new(r.query.clone()).variables(r.variables.clone());
                let again = match &r.operation_name {
                    Some(name) => again.operation_name(name.clone()),
                    None => again,
                };
                let resp = state.commerce.execute(r.data(caller)).await;
                if gate::failed_before_execution(&resp) {
                    // Nothing ran: the same request on the wording schema fails the same
                    // way, in graphql-php's words.
                    return state.commerce_wording.execute(again).await;
                }
                resp
            }
        })
        .await;
    if matches!(outcome, Outcome::Executed { .. })
        && mutation_over_get.load(std::sync::atomic::Ordering::Relaxed)
    {
        auth.metrics.request(Commerce::NAME, gate::OTHER, "refused");
        let mut resp =
            super::graphql_error_response(StatusCode::METHOD_NOT_ALLOWED, MUTATION_OVER_GET);
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    let mut resp = finish::<Commerce>(auth, gate, outcome, started);
    if let (true, Some(cookie)) = (stale_cookie, cookie) {
        // Unless this very request signed in and set a fresh one.
        if !resp.headers().contains_key(header::SET_COOKIE) {
            if let Ok(v) = HeaderValue::from_str(&cookie.clear()) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
    }
    resp
}

/// Who is calling, from the session cookie (when `tokens.session_cookie` is on and no Bearer
/// token is sent) or the Bearer token, and whether the request's cookie is stale: it no longer
/// names a live token, so the request is answered as a guest and the cookie deleted (script
/// cannot delete an HttpOnly cookie itself). `Err` is the answer that ends the request here: a
/// cookie without the CSRF rule's headers, an unknown Bearer token, a failed lookup.
async fn identify(
    state: &super::AppState,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    cookie: Option<super::SessionCookie>,
) -> Result<(Caller, bool), HttpResponse> {
    let auth = &state.auth;
    let preflighted = super::preflighted(headers);
    let mut caller = Caller {
        session: None,
        admin: None,
        ip: client_ip(remote),
        cookie: cookie.filter(|_| preflighted),
    };
    let session_token = match bearer(headers) {
        Some(_) => None,
        None => cookie.and_then(|_| super::session_token(headers)),
    };
    if let Some(token) = session_token {
        if !preflighted {
            auth.metrics.request(Commerce::NAME, gate::OTHER, "refused");
            return Err(error_response(
                StatusCode::FORBIDDEN,
                CSRF,
                json!({"category": "graphql-authorization"}),
            ));
        }
        match auth.authenticate(&token).await {
            Ok(Some(session)) => caller.session = Some(session),
            Ok(None) => return Ok((caller, true)),
            Err(e) => return Err(lookup_failed::<Commerce>(&e)),
        }
    } else if let Some(token) = bearer(headers) {
        match auth.authenticate(&token).await {
            Ok(Some(session)) => caller.session = Some(session),
            Ok(None) => match auth.admin_key_name(&token) {
                Some(name) => caller.admin = Some(name),
                None => {
                    auth.metrics.request(Commerce::NAME, "", "unauthenticated");
                    return Err(error_response(
                        StatusCode::UNAUTHORIZED,
                        INVALID_TOKEN,
                        json!({"category": "graphql-authentication"}),
                    ));
                }
            },
            Err(e) => return Err(lookup_failed::<Commerce>(&e)),
        }
    }
    Ok((caller, false))
}

/// Whether the operation the request selects is a query (a document that selects none, or an
/// ambiguous one, counts as a query: execution answers it with an error and runs nothing).
fn selects_query(request: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    let name = request.operation_name.clone();
    // The gate has already parsed the document and set it on the request: no second parse.
    let Ok(doc) = request.parsed_query() else {
        return true;
    };
    let mut ops = doc.operations.iter();
    let op = match name {
        Some(name) => ops.find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str())),
        None => match (ops.next(), ops.next()) {
            (Some(op), None) => Some(op),
            _ => None,
        },
    };
    op.is_none_or(|(_, op)| op.node.ty == OperationType::Query)
}

fn ctx_parts<'a>(ctx: &'a Context<'_>) -> (&'a Arc<Auth>, &'a Caller) {
    // Both are inserted for every request by `build_schema` and `handle`.
    (
        ctx.data_unchecked::<Arc<Auth>>(),
        ctx.data_unchecked::<Caller>(),
    )
}

/// The caller's session, whatever state its account is in (signing out always works).
fn require_customer(caller: &Caller) -> Result<&Session, async_graphql::Error> {
    caller
        .session
        .as_ref()
        .ok_or_else(|| error("graphql-authorization", NOT_AUTHORIZED))
}

/// The caller's session, refused with Magento's messages (its `GetCustomer`) while the account
/// is locked or unconfirmed with confirmation required.
fn active_customer<'a>(
    auth: &Auth,
    caller: &'a Caller,
) -> Result<&'a Session, async_graphql::Error> {
    let session = require_customer(caller)?;
    match auth.session_refusal(session) {
        Some(SessionRefusal::Locked) => Err(unauthenticated(LOCKED)),
        Some(SessionRefusal::NotConfirmed) => Err(unauthenticated(NOT_CONFIRMED)),
        None => Ok(session),
    }
}

/// Magento's required-attribute check: a given name may not be blank.
fn require_name(value: Option<&str>, label: &str) -> Result<(), async_graphql::Error> {
    match value {
        Some(v) if v.trim().is_empty() => Err(error(
            "graphql-input",
            format!("\"{label}\" is a required value."),
        )),
        _ => Ok(()),
    }
}

fn check_date_of_birth(value: Option<&str>) -> Result<(), async_graphql::Error> {
    match value {
        Some(v) if !valid_date(v) => Err(error("graphql-input", "Invalid date")),
        _ => Ok(()),
    }
}

/// A calendar date as Magento's storefront sends it: `YYYY-MM-DD` or `M/D/YYYY`.
fn valid_date(value: &str) -> bool {
    let parse = |sep: char| -> Option<(i32, u8, u8)> {
        let mut parts = value.trim().split(sep);
        let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || [a, b, c]
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|x| x.is_ascii_digit()))
        {
            return None;
        }
        if sep == '-' {
            (a.len() == 4).then_some(())?;
            Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?))
        } else {
            (c.len() == 4).then_some(())?;
            Some((c.parse().ok()?, a.parse().ok()?, b.parse().ok()?))
        }
    };
    let Some((year, month, day)) = parse('-').or_else(|| parse('/')) else {
        return false;
    };
    time::Month::try_from(month)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(year, m, day).ok())
        .is_some()
}

fn customer_view(auth: &Auth, customer: CustomerModel) -> Customer {
    Customer {
        customer,
        confirmation_required: auth.policy.require_confirmation,
        addresses: Default::default(),
    }
}

fn require_value(value: &str, name: &str) -> Result<(), async_graphql::Error> {
    if value.trim().is_empty() {
        Err(error(
            "graphql-input",
            format!("Specify the \"{name}\" value."),
        ))
    } else {
        Ok(())
    }
}

pub struct Query;

#[Object]
impl Query {
    /// Return detailed information about a customer account.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Customer>> {
        let (auth, caller) = ctx_parts(ctx);
        let session = active_customer(auth, caller)?;
        Ok(Some(customer_view(auth, session.customer.clone())))
    }

    /// Check whether the specified email can be used to register a new customer. Always true
    /// for a well-formed address: it does not reveal which emails have accounts.
    async fn is_email_available(
        &self,
        email: String,
    ) -> async_graphql::Result<Option<IsEmailAvailableOutput>> {
        if email.trim().is_empty() {
            return Err(error("graphql-input", "Email must be specified"));
        }
        if !crate::auth::valid_email(email.trim()) {
            return Err(error("graphql-input", "Email is invalid"));
        }
        Ok(Some(IsEmailAvailableOutput {
            is_email_available: Some(true),
        }))
    }

    /// The store's password and account rules.
    async fn store_config(&self, ctx: &Context<'_>) -> Option<StoreConfig> {
        let (auth, _) = ctx_parts(ctx);
        let p = &auth.policy;
        Some(StoreConfig {
            minimum_password_length: Some(p.password.min_length.to_string()),
            required_character_classes_number: Some(p.password.required_classes.to_string()),
            create_account_confirmation: Some(p.require_confirmation),
            store_code: Some("default".into()),
            // Hours, as Adobe Commerce reports it.
            customer_access_token_lifetime: Some(p.commerce_token_ttl as f64 / 3600.0),
            autocomplete_on_storefront: Some(true),
        })
    }

    /// reCAPTCHA v3 settings: storekey has no reCAPTCHA, so it is disabled and protects no form.
    async fn recaptcha_v3_config(&self) -> Option<ReCaptchaConfigurationV3> {
        Some(ReCaptchaConfigurationV3 {
            is_enabled: false,
            website_key: String::new(),
            minimum_score: 0.0,
            badge_position: String::new(),
            language_code: None,
            failure_message: String::new(),
            forms: Vec::new(),
            theme: String::new(),
        })
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Generate a token for specified customer. `password` may be the account password, a live
    /// password-reset token or a live admin one-time code, tried in that order.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn generate_customer_token(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<Option<CustomerToken>> {
        require_value(&email, "email")?;
        require_value(&password, "password")?;
        sign_in(ctx, email, password, Accept::Any).await
    }

    /// Exchange an admin one-time code or a password-reset token for a customer token.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn exchange_otp_for_customer_token(
        &self,
        ctx: &Context<'_>,
        email: String,
        otp: String,
    ) -> async_graphql::Result<Option<CustomerToken>> {
        require_value(&email, "email")?;
        require_value(&otp, "otp")?;
        sign_in(ctx, email, otp, Accept::OneTimeOnly).await
    }

    /// Revoke the customer token.
    async fn revoke_customer_token(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RevokeCustomerTokenOutput>> {
        let (auth, caller) = ctx_parts(ctx);
        let session = require_customer(caller)?;
        auth.revoke(session, auth.policy.revoke_all_on_logout)
            .await
            .map_err(internal)?;
        if let Some(cookie) = &caller.cookie {
            ctx.append_http_header("set-cookie", cookie.clear());
        }
        Ok(Some(RevokeCustomerTokenOutput { result: true }))
    }

    /// Create a customer account.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn create_customer_v2(
        &self,
        ctx: &Context<'_>,
        input: CustomerCreateInput,
    ) -> async_graphql::Result<Option<CustomerOutput>> {
        create(
            ctx,
            NewCustomer {
                email: input.email,
                password: input.password.filter(|p| !p.is_empty()).map(Secret::new),
                profile: Profile {
                    firstname: Some(input.firstname),
                    lastname: Some(input.lastname),
                    middlename: input.middlename,
                    prefix: input.prefix,
                    suffix: input.suffix,
                    date_of_birth: input.date_of_birth.or(input.dob),
                    gender: input.gender,
                    taxvat: input.taxvat,
                    is_subscribed: input.is_subscribed.unwrap_or(false),
                    phone: None,
                },
                allow_remote_shopping_assistance: input
                    .allow_remote_shopping_assistance
                    .unwrap_or(false),
                ..NewCustomer::default()
            },
        )
        .await
    }

    /// Create a customer account (deprecated: use `createCustomerV2`; Venia still sends this).
    #[graphql(
        complexity = "SIGN_IN_COMPLEXITY",
        deprecation = "Use `createCustomerV2` instead."
    )]
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        input: CustomerInput,
    ) -> async_graphql::Result<Option<CustomerOutput>> {
        create(
            ctx,
            NewCustomer {
                email: input.email.unwrap_or_default(),
                password: input.password.filter(|p| !p.is_empty()).map(Secret::new),
                // A missing name is as blank as an empty one: both are required attributes.
                profile: Profile {
                    firstname: Some(input.firstname.unwrap_or_default()),
                    lastname: Some(input.lastname.unwrap_or_default()),
                    middlename: input.middlename,
                    prefix: input.prefix,
                    suffix: input.suffix,
                    date_of_birth: input.date_of_birth.or(input.dob),
                    gender: input.gender,
                    taxvat: input.taxvat,
                    is_subscribed: input.is_subscribed.unwrap_or(false),
                    phone: None,
                },
                ..NewCustomer::default()
            },
        )
        .await
    }

    /// Update the customer's personal information (deprecated: use `updateCustomerV2`; Venia
    /// still sends this). A changed `email` needs the current `password`.
    #[graphql(
        complexity = "SIGN_IN_COMPLEXITY",
        deprecation = "Use `updateCustomerV2` instead."
    )]
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        input: CustomerInput,
    ) -> async_graphql::Result<Option<CustomerOutput>> {
        let (auth, caller) = ctx_parts(ctx);
        let session = active_customer(auth, caller)?;
        let CustomerInput {
            prefix,
            firstname,
            middlename,
            lastname,
            suffix,
            email,
            dob,
            date_of_birth,
            taxvat,
            gender,
            password,
            is_subscribed,
        } = input;
        let mut changes = CustomerChanges {
            profile: ProfileChanges {
                firstname,
                lastname,
                middlename,
                prefix,
                suffix,
                date_of_birth: date_of_birth.or(dob),
                gender,
                taxvat,
                is_subscribed,
                phone: None,
            },
            ..CustomerChanges::default()
        };
        let current = &session.customer;
        let new_email = email.filter(|e| {
            crate::auth::normalize_email(e).to_lowercase() != current.email.to_lowercase()
        });
        if is_empty_update(&changes) && new_email.is_none() {
            return Err(error("graphql-input", EMPTY_INPUT));
        }
        validate_update(&changes)?;
        let record = match new_email {
            Some(email) => {
                let password = password.unwrap_or_default();
                if password.is_empty() {
                    return Err(error("graphql-input", PASSWORD_FOR_EMAIL));
                }
                if !crate::auth::valid_email(email.trim()) {
                    return Err(account_error(AccountError::InvalidEmail, &email));
                }
                changes.email = Some(email.clone());
                auth.change_email(current, &Secret::new(password), changes)
                    .await
                    .map_err(|e| account_error(e, &email))?
            }
            None => auth
                .update_customer(current.id, changes)
                .await
                .map_err(|e| account_error(e, ""))?,
        };
        Ok(Some(CustomerOutput {
            customer: customer_view(auth, record),
        }))
    }

    /// Update the customer's personal information.
    async fn update_customer_v2(
        &self,
        ctx: &Context<'_>,
        input: CustomerUpdateInput,
    ) -> async_graphql::Result<Option<CustomerOutput>> {
        let (auth, caller) = ctx_parts(ctx);
        let session = active_customer(auth, caller)?;
        let changes = CustomerChanges {
            profile: ProfileChanges {
                firstname: input.firstname,
                lastname: input.lastname,
                middlename: input.middlename,
                prefix: input.prefix,
                suffix: input.suffix,
                date_of_birth: input.date_of_birth.or(input.dob),
                gender: input.gender,
                taxvat: input.taxvat,
                is_subscribed: input.is_subscribed,
                phone: None,
            },
            allow_remote_shopping_assistance: input.allow_remote_shopping_assistance,
            ..CustomerChanges::default()
        };
        if is_empty_update(&changes) {
            return Err(error("graphql-input", EMPTY_INPUT));
        }
        validate_update(&changes)?;
        let record = auth
            .update_customer(session.customer.id, changes)
            .await
            .map_err(|e| account_error(e, ""))?;
        Ok(Some(CustomerOutput {
            customer: customer_view(auth, record),
        }))
    }

    /// Change the password for the logged-in customer. Every token the customer had is revoked.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn change_customer_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<Option<Customer>> {
        let (auth, caller) = ctx_parts(ctx);
        let session = active_customer(auth, caller)?;
        require_value(&current_password, "currentPassword")?;
        require_value(&new_password, "newPassword")?;
        let customer = &session.customer;
        let record = auth
            .change_password(
                customer,
                &Secret::new(current_password),
                &Secret::new(new_password),
            )
            .await
            .map_err(|e| account_error(e, ""))?;
        Ok(Some(customer_view(auth, record)))
    }

    /// Request an email with a reset password token for the registered customer identified by
    /// the specified email. Always `true`: it does not reveal which emails have accounts.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn request_password_reset_email(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<Option<bool>> {
        let (auth, caller) = ctx_parts(ctx);
        if email.trim().is_empty() {
            return Err(error("graphql-input", "You must specify an email address."));
        }
        if !crate::auth::valid_email(email.trim()) {
            return Err(error(
                "graphql-input",
                "The email address has an invalid format.",
            ));
        }
        let allowed = auth
            .request_password_reset(email.trim(), caller.ip)
            .await
            .map_err(internal)?;
        if !allowed {
            return Err(error(
                "graphql-input",
                "Cannot reset the customer's password",
            ));
        }
        Ok(Some(true))
    }

    /// Reset a customer's password using the reset password token that the customer received
    /// in an email after requesting it using `requestPasswordResetEmail`.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        email: String,
        reset_password_token: String,
        new_password: String,
    ) -> async_graphql::Result<Option<bool>> {
        let (auth, _) = ctx_parts(ctx);
        if email.trim().is_empty() {
            return Err(error("graphql-input", "You must specify an email address."));
        }
        if reset_password_token.trim().is_empty() {
            return Err(error(
                "graphql-input",
                "resetPasswordToken must be specified",
            ));
        }
        if new_password.is_empty() {
            return Err(error("graphql-input", "newPassword must be specified"));
        }
        auth.reset_password(
            email.trim(),
            &Secret::new(reset_password_token.trim()),
            &Secret::new(new_password),
            None,
        )
        .await
        .map_err(reset_error)?;
        Ok(Some(true))
    }

    /// Confirms the email address for a customer.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn confirm_email(
        &self,
        ctx: &Context<'_>,
        input: ConfirmEmailInput,
    ) -> async_graphql::Result<Option<CustomerOutput>> {
        let (auth, _) = ctx_parts(ctx);
        require_value(&input.email, "email")?;
        require_value(&input.confirmation_key, "confirmation_key")?;
        if !crate::auth::valid_email(input.email.trim()) {
            return Err(error("graphql-input", "Email is invalid"));
        }
        match auth
            .confirm_email(
                input.email.trim(),
                &Secret::new(input.confirmation_key.trim()),
            )
            .await
        {
            Ok(record) => Ok(Some(CustomerOutput {
                customer: customer_view(auth, record),
            })),
            Err(ConfirmError::InvalidKey) => Err(error(
                "graphql-input",
                "The confirmation token is invalid. Verify the token and try again.",
            )),
            Err(ConfirmError::Failure(f)) => Err(internal(f)),
        }
    }

    /// Resends the confirmation email to a customer. Always `true` for a well-formed email.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn resend_confirmation_email(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<Option<bool>> {
        let (auth, caller) = ctx_parts(ctx);
        if !crate::auth::valid_email(email.trim()) {
            return Err(error("graphql-input", "Email address is not valid"));
        }
        auth.resend_confirmation(email.trim(), caller.ip).await;
        Ok(Some(true))
    }

    /// Request a customer token so that an administrator can perform remote shopping
    /// assistance. Needs an admin key as the Bearer token.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn generate_customer_token_as_admin(
        &self,
        ctx: &Context<'_>,
        input: GenerateCustomerTokenAsAdminInput,
    ) -> async_graphql::Result<Option<GenerateCustomerTokenAsAdminOutput>> {
        let (auth, caller) = ctx_parts(ctx);
        let Some(admin) = &caller.admin else {
            return Err(error("graphql-authorization", NOT_AUTHORIZED));
        };
        let email = input.customer_email.trim();
        if email.is_empty() {
            return Err(error("graphql-input", LAC_NO_EMAIL));
        }
        let issued = auth
            .token_as_admin(email, admin, TokenKind::Commerce)
            .await
            .map_err(otc_error)?;
        Ok(Some(GenerateCustomerTokenAsAdminOutput {
            customer_token: issued.token.expose().to_string(),
        }))
    }

    /// Change the email address for the logged-in customer.
    #[graphql(complexity = "SIGN_IN_COMPLEXITY")]
    async fn update_customer_email(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<Option<CustomerOutput>> {
        let (auth, caller) = ctx_parts(ctx);
        let session = active_customer(auth, caller)?;
        if password.is_empty() {
            return Err(error("graphql-input", PASSWORD_FOR_EMAIL));
        }
        if !crate::auth::valid_email(email.trim()) {
            return Err(account_error(AccountError::InvalidEmail, &email));
        }
        let changes = CustomerChanges {
            email: Some(email.clone()),
            ..CustomerChanges::default()
        };
        let record = auth
            .change_email(&session.customer, &Secret::new(password), changes)
            .await
            .map_err(|e| account_error(e, &email))?;
        Ok(Some(CustomerOutput {
            customer: customer_view(auth, record),
        }))
    }

    // -------------------------------------------------------------- addresses (addresses.rs)

    /// Create a billing or shipping address for a customer or guest.
    async fn create_customer_address(
        &self,
        ctx: &Context<'_>,
        input: CustomerAddressInput,
    ) -> async_graphql::Result<Option<CustomerAddress>> {
        addresses::create(ctx, input).await
    }

    /// Update the billing or shipping address of a customer or guest.
    #[graphql(deprecation = "Use `updateCustomerAddressV2` instead.")]
    async fn update_customer_address(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ID assigned to the customer address.")] id: i32,
        #[graphql(desc = "An input object that contains changes to the customer address.")]
        input: Option<CustomerAddressInput>,
    ) -> async_graphql::Result<Option<CustomerAddress>> {
        addresses::update(ctx, addresses::by_id(id), input).await
    }

    /// Update the billing or shipping address of a customer or guest.
    #[graphql(name = "updateCustomerAddressV2")]
    async fn update_customer_address_v2(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unique ID of the customer address.")] uid: ID,
        #[graphql(desc = "An input object that contains changes to the customer address.")]
        input: Option<CustomerAddressInput>,
    ) -> async_graphql::Result<Option<CustomerAddress>> {
        addresses::update(ctx, addresses::by_uid(&uid)?, input).await
    }

    /// Delete the billing or shipping address of a customer.
    #[graphql(deprecation = "Use `deleteCustomerAddressV2` instead.")]
    async fn delete_customer_address(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ID of the customer address to be deleted.")] id: i32,
    ) -> async_graphql::Result<Option<bool>> {
        addresses::delete(ctx, addresses::by_id(id)).await
    }

    /// Delete the billing or shipping address of a customer.
    #[graphql(name = "deleteCustomerAddressV2")]
    async fn delete_customer_address_v2(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unique ID of the customer address to be deleted.")] uid: ID,
    ) -> async_graphql::Result<Option<bool>> {
        addresses::delete(ctx, addresses::by_uid(&uid)?).await
    }
}

/// `createCustomerV2` and the deprecated `createCustomer`: the same checks and core call.
async fn create(
    ctx: &Context<'_>,
    mut new: NewCustomer,
) -> async_graphql::Result<Option<CustomerOutput>> {
    let (auth, caller) = ctx_parts(ctx);
    require_value(&new.email, "email")?;
    require_name(new.profile.firstname.as_deref(), "First Name")?;
    require_name(new.profile.lastname.as_deref(), "Last Name")?;
    check_date_of_birth(new.profile.date_of_birth.as_deref())?;
    new.requested_from = caller.ip;
    let email = new.email.clone();
    let record = auth
        .create_customer(new)
        .await
        .map_err(|e| account_error(e, &email))?;
    Ok(Some(CustomerOutput {
        customer: customer_view(auth, record),
    }))
}

fn is_empty_update(c: &CustomerChanges) -> bool {
    c.profile == ProfileChanges::default() && c.allow_remote_shopping_assistance.is_none()
}

fn validate_update(c: &CustomerChanges) -> Result<(), async_graphql::Error> {
    require_name(c.profile.firstname.as_deref(), "First Name")?;
    require_name(c.profile.lastname.as_deref(), "Last Name")?;
    check_date_of_birth(c.profile.date_of_birth.as_deref())
}

async fn sign_in(
    ctx: &Context<'_>,
    email: String,
    secret: String,
    accept: Accept,
) -> async_graphql::Result<Option<CustomerToken>> {
    let (auth, caller) = ctx_parts(ctx);
    let issued = auth
        .sign_in(SignInRequest {
            email,
            secret: Secret::new(secret),
            ip: caller.ip,
            accept,
            mint: crate::auth::Mint::Token(TokenKind::Commerce),
        })
        .await
        .map_err(sign_in_error)?;
    if let Some(cookie) = &caller.cookie {
        ctx.append_http_header("set-cookie", cookie.set(issued.token.expose()));
    }
    Ok(Some(CustomerToken {
        token: Some(issued.token.expose().to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::valid_date;

    #[test]
    fn dates_in_either_storefront_form_are_valid() {
        for d in ["1972-03-11", "3/11/1972", "2000-02-29", "12/31/1999"] {
            assert!(valid_date(d), "{d}");
        }
    }

    #[test]
    fn anything_else_is_an_invalid_date() {
        for d in [
            "bla-bla-bla",
            "",
            "1972-13-01",
            "1999-02-29",
            "11/3/72",
            "1972-03-11x",
            "-1-1-1",
        ] {
            assert!(!valid_date(d), "{d}");
        }
    }
}
