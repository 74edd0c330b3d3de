//! The Storefront dialect's GraphQL roots: each field checks the storefront token's scope and
//! calls the core; `errors.rs` words what the core refuses.

use super::addresses::{
    self, CustomerAddressCreatePayload, CustomerAddressDeletePayload, CustomerAddressUpdatePayload,
    CustomerDefaultAddressUpdatePayload, MailingAddressInput,
};
use super::errors::*;
use super::reset_url::{self, ResetSubject};
use super::types::*;
use super::StorefrontCaller;
use crate::auth::multipass_sign_in::MultipassSignInError;
use crate::auth::secret::{self, Secret};
use crate::auth::storefront_tokens::{READ_CUSTOMERS, WRITE_CUSTOMERS};
use crate::auth::{
    valid_email, Accept, Auth, CustomerChanges, IssuedToken, NewCustomer, ProfileChanges,
    SignInError, SignInRequest,
};
use crate::model::Profile;
use crate::model::{self, CustomerId, TokenKind};
use async_graphql::{Context, Object, ID};
use std::sync::Arc;

/// Sign-in fields are expensive: with the default complexity limit (1000) a request holds at
/// most five of them, whatever aliases it uses.
const SIGN_IN_COMPLEXITY: usize = 200;

fn ctx_parts<'a>(ctx: &'a Context<'_>) -> (&'a Arc<Auth>, &'a StorefrontCaller) {
    // Both are inserted for every request by `build_schema` and `handle`.
    (
        ctx.data_unchecked::<Arc<Auth>>(),
        ctx.data_unchecked::<StorefrontCaller>(),
    )
}

/// The caller's storefront token must grant `scope` for the field being resolved.
pub(super) fn require_scope<'a>(
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
pub(super) fn parse_customer_gid(id: &str) -> Option<CustomerId> {
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
            Err(MultipassSignInError::Failure(f)) => return Err(internal(f)),
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
                mint: crate::auth::Mint::Token(TokenKind::Storefront),
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
            Err(SignInError::Failure(f)) => return Err(internal(f)),
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
