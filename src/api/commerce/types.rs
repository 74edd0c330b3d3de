//! Adobe Commerce GraphQL types, with upstream names, snake_case fields and nullability.

use crate::model;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ConfirmationStatusEnum")]
pub enum ConfirmationStatus {
    /// Account confirmed
    AccountConfirmed,
    /// Account confirmation not required
    AccountConfirmationNotRequired,
    /// Account confirmation required: the value Magento's `AccountManagement` reports for a
    /// customer still waiting for confirmation (not in the published enum).
    AccountConfirmationRequired,
}

/// The message magento2-pwa's `is_confirmed` resolver answers for a pending confirmation.
pub const CONFIRMATION_PENDING: &str = "Your account is created, You must confirm your account. Please check your email for the confirmation link.";

/// Magento's uid for an entity id: the base64 of its decimal form (`Magento\Framework\GraphQl\Query\Uid`).
pub fn uid(id: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(id.to_string())
}

/// Defines the customer name, addresses, and other details.
pub struct Customer {
    pub customer: model::Customer,
    pub confirmation_required: bool,
    /// The customer's addresses, read when a field first asks for them.
    pub addresses: tokio::sync::OnceCell<model::AddressBook>,
}

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl Customer {
    async fn created_at(&self) -> Option<String> {
        Some(crate::api::kit::timestamp(self.customer.created_at))
    }
    async fn prefix(&self) -> Option<&str> {
        self.customer.profile.prefix.as_deref()
    }
    async fn firstname(&self) -> Option<&str> {
        self.customer.profile.firstname.as_deref()
    }
    async fn middlename(&self) -> Option<&str> {
        self.customer.profile.middlename.as_deref()
    }
    async fn lastname(&self) -> Option<&str> {
        self.customer.profile.lastname.as_deref()
    }
    async fn suffix(&self) -> Option<&str> {
        self.customer.profile.suffix.as_deref()
    }
    /// The customer's email address. Required.
    async fn email(&self) -> Option<&str> {
        Some(&self.customer.email)
    }
    #[graphql(deprecation = "Use `date_of_birth` instead.")]
    async fn dob(&self) -> Option<&str> {
        self.customer.profile.date_of_birth.as_deref()
    }
    async fn date_of_birth(&self) -> Option<&str> {
        self.customer.profile.date_of_birth.as_deref()
    }
    async fn taxvat(&self) -> Option<&str> {
        self.customer.profile.taxvat.as_deref()
    }
    /// The customer's gender (Male - 1, Female - 2).
    async fn gender(&self) -> Option<i32> {
        self.customer.profile.gender
    }
    async fn is_subscribed(&self) -> Option<bool> {
        Some(self.customer.profile.is_subscribed)
    }
    #[graphql(
        deprecation = "`id` is not needed as part of `Customer`, because on the server side, it can be identified based on the customer token used for authentication. There is no need to know customer ID on the client side."
    )]
    async fn id(&self) -> Option<ID> {
        Some(ID(uid(self.customer.id.0)))
    }
    /// Customer orders: storekey keeps none, so selecting this is an error naming the field.
    async fn orders(
        &self,
        #[graphql(name = "filter")] _filter: Option<super::CustomerOrdersFilterInput>,
        #[graphql(name = "currentPage", default = 1)] _current_page: Option<i32>,
        #[graphql(name = "pageSize", default = 20)] _page_size: Option<i32>,
        #[graphql(name = "sort")] _sort: Option<super::CustomerOrderSortInput>,
        #[graphql(name = "scope")] _scope: Option<super::ScopeTypeEnum>,
    ) -> async_graphql::Result<Option<super::CustomerOrders>> {
        Err(super::orders::no_orders())
    }
    /// The customer's confirmation status (Magento's `AccountManagement::getConfirmationStatus`).
    async fn confirmation_status(&self) -> ConfirmationStatus {
        match (self.customer.confirmed, self.confirmation_required) {
            (false, true) => ConfirmationStatus::AccountConfirmationRequired,
            (true, true) => ConfirmationStatus::AccountConfirmed,
            (_, false) => ConfirmationStatus::AccountConfirmationNotRequired,
        }
    }
    /// Whether the account is confirmed (magento2-pwa): an error while confirmation is pending.
    async fn is_confirmed(&self) -> async_graphql::Result<Option<bool>> {
        if !self.customer.confirmed && self.confirmation_required {
            Err(super::error("graphql-input", CONFIRMATION_PENDING))
        } else {
            Ok(Some(true))
        }
    }
    /// Indicates whether the customer has enabled remote shopping assistance.
    async fn allow_remote_shopping_assistance(&self) -> bool {
        self.customer.allow_remote_shopping_assistance
    }
    /// The ID assigned to the billing address.
    async fn default_billing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let book = super::addresses::book(auth(ctx), &self.addresses, self.customer.id).await?;
        Ok(super::addresses::default_id(book.default_billing))
    }
    /// The ID assigned to the shipping address.
    async fn default_shipping(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let book = super::addresses::book(auth(ctx), &self.addresses, self.customer.id).await?;
        Ok(super::addresses::default_id(book.default_shipping))
    }
    /// An array containing the customer's shipping and billing addresses.
    async fn addresses(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<Option<super::CustomerAddress>>>> {
        let book = super::addresses::book(auth(ctx), &self.addresses, self.customer.id).await?;
        Ok(Some(super::addresses::addresses(book, self.customer.id)))
    }
}

fn auth<'a>(ctx: &'a Context<'_>) -> &'a crate::auth::Auth {
    ctx.data_unchecked::<std::sync::Arc<crate::auth::Auth>>()
}

/// Contains a customer authorization token.
#[derive(SimpleObject)]
pub struct CustomerToken {
    /// The customer authorization token.
    pub token: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct IsEmailAvailableOutput {
    /// Indicates whether the specified email address can be used to create a customer.
    pub is_email_available: Option<bool>,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct StoreConfig {
    /// The minimum number of characters required for a valid password.
    pub minimum_password_length: Option<String>,
    /// The number of different character classes (lowercase, uppercase, digits, special characters) required in a password.
    pub required_character_classes_number: Option<String>,
    /// Indicates if the new accounts need confirmation.
    pub create_account_confirmation: Option<bool>,
    /// The store view code: storekey has one, `default`.
    pub store_code: Option<String>,
    /// Customer access token lifetime, in hours (`tokens.commerce_ttl_minutes` / 60).
    pub customer_access_token_lifetime: Option<f64>,
    /// Whether browsers may autocomplete the sign-in form.
    pub autocomplete_on_storefront: Option<bool>,
}

/// The forms reCAPTCHA v3 may protect.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ReCaptchaFormEnum {
    PlaceOrder,
    Contact,
    CustomerLogin,
    CustomerForgotPassword,
    CustomerCreate,
    CustomerEdit,
    Newsletter,
    ProductReview,
    Sendfriend,
    Braintree,
}

/// reCAPTCHA v3 settings (magento2-pwa `ReCaptchaGraphQlPwa`). storekey has no reCAPTCHA, so it
/// answers disabled, with no key and no protected form.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ReCaptchaConfigurationV3 {
    /// Whether reCAPTCHA v3 is enabled: always false here.
    pub is_enabled: bool,
    /// The website key from Google's reCAPTCHA admin.
    pub website_key: String,
    /// The minimum score that identifies a user interaction as a potential risk.
    pub minimum_score: f64,
    /// The position of the invisible reCAPTCHA badge on each page.
    pub badge_position: String,
    /// A two-character code for the reCAPTCHA language.
    pub language_code: Option<String>,
    /// The message shown when reCAPTCHA validation fails.
    pub failure_message: String,
    /// The forms that reCAPTCHA protects.
    pub forms: Vec<Option<ReCaptchaFormEnum>>,
    /// The badge theme.
    pub theme: String,
}

#[derive(SimpleObject)]
pub struct RevokeCustomerTokenOutput {
    /// The result of a request to revoke a customer token.
    pub result: bool,
}

/// Contains details about a newly-created or updated customer.
#[derive(SimpleObject)]
pub struct CustomerOutput {
    /// Customer details after creating or updating a customer.
    pub customer: Customer,
}

/// An input object for creating a customer.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerCreateInput {
    pub prefix: Option<String>,
    pub firstname: String,
    pub middlename: Option<String>,
    pub lastname: String,
    pub suffix: Option<String>,
    pub email: String,
    #[graphql(deprecation = "Use `date_of_birth` instead.")]
    pub dob: Option<String>,
    pub date_of_birth: Option<String>,
    pub taxvat: Option<String>,
    pub gender: Option<i32>,
    pub password: Option<String>,
    pub is_subscribed: Option<bool>,
    pub allow_remote_shopping_assistance: Option<bool>,
}

/// An input object for updating a customer.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerUpdateInput {
    pub date_of_birth: Option<String>,
    #[graphql(deprecation = "Use `date_of_birth` instead.")]
    pub dob: Option<String>,
    pub firstname: Option<String>,
    pub gender: Option<i32>,
    pub is_subscribed: Option<bool>,
    pub lastname: Option<String>,
    pub middlename: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub taxvat: Option<String>,
    pub allow_remote_shopping_assistance: Option<bool>,
}

/// The deprecated input of `createCustomer` and `updateCustomer`: every field optional. On
/// update, `password` is the current password, needed only to change `email`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerInput {
    pub prefix: Option<String>,
    pub firstname: Option<String>,
    pub middlename: Option<String>,
    pub lastname: Option<String>,
    pub suffix: Option<String>,
    pub email: Option<String>,
    #[graphql(deprecation = "Use `date_of_birth` instead.")]
    pub dob: Option<String>,
    pub date_of_birth: Option<String>,
    pub taxvat: Option<String>,
    pub gender: Option<i32>,
    pub password: Option<String>,
    pub is_subscribed: Option<bool>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ConfirmEmailInput {
    /// The email address to be confirmed.
    pub email: String,
    /// The key to confirm the email address.
    pub confirmation_key: String,
}

/// Identifies which customer requires remote shopping assistance.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateCustomerTokenAsAdminInput {
    /// The email address of the customer requesting remote shopping assistance.
    pub customer_email: String,
}

/// Contains the generated customer token.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GenerateCustomerTokenAsAdminOutput {
    /// The generated customer token.
    pub customer_token: String,
}
