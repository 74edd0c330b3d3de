//! Shopify Storefront API types (2026-04): names, camelCase fields, nullability and the
//! deprecated `userErrors` exactly as Shopify's schema has them.

use super::{access_denied, StorefrontCaller};
use crate::auth::storefront_tokens::READ_CUSTOMER_TAGS;
use crate::model::{self, Timestamp};
use async_graphql::{
    Context, Enum, InputObject, InputValueError, InputValueResult, Interface, Object, Scalar,
    ScalarType, SimpleObject, Value, ID,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `gid://shopify/Customer/<n>`, the Storefront API's global id of a customer.
pub fn customer_gid(id: u64) -> String {
    format!("gid://shopify/Customer/{id}")
}

/// An ISO-8601 encoded UTC date time string. Example value: `"2019-07-03T20:47:55Z"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub Timestamp);

impl DateTime {
    pub fn iso(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default()
    }
}

/// An ISO-8601 encoded UTC date time string. Example value: `"2019-07-03T20:47:55Z"`.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => OffsetDateTime::parse(s, &Rfc3339)
                .map(|t| DateTime(t.unix_timestamp()))
                .map_err(|_| InputValueError::custom("expected an ISO 8601 date time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.iso())
    }
}

/// Represents an RFC 3986 and RFC 3987-compliant URI string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url(pub String);

/// Represents an RFC 3986 and RFC 3987-compliant URI string.
#[Scalar(name = "URL")]
impl ScalarType for Url {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(Url(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// Possible error codes that can be returned by `CustomerUserError`.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum CustomerErrorCode {
    /// Customer already enabled.
    AlreadyEnabled,
    /// Input email contains an invalid domain name.
    BadDomain,
    /// The input value is blank.
    Blank,
    /// Input contains HTML tags.
    ContainsHtmlTags,
    /// Input contains URL.
    ContainsUrl,
    /// Customer is disabled.
    CustomerDisabled,
    /// The input value is invalid.
    Invalid,
    /// Multipass token is not valid.
    InvalidMultipassRequest,
    /// Address does not exist.
    NotFound,
    /// Input password starts or ends with whitespace.
    PasswordStartsOrEndsWithWhitespace,
    /// The input value is already taken.
    Taken,
    /// Invalid activation token.
    TokenInvalid,
    /// The input value is too long.
    TooLong,
    /// The input value is too short.
    TooShort,
    /// Unidentified customer.
    UnidentifiedCustomer,
}

/// Represents an error that happens during execution of a customer mutation.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct CustomerUserError {
    /// The error code.
    pub code: Option<CustomerErrorCode>,
    /// The path to the input field that caused the error.
    pub field: Option<Vec<String>>,
    /// The error message.
    pub message: String,
}

impl CustomerUserError {
    pub fn new(
        code: CustomerErrorCode,
        field: Option<&[&str]>,
        message: impl Into<String>,
    ) -> Self {
        CustomerUserError {
            code: Some(code),
            field: field.map(|f| f.iter().map(|s| (*s).to_owned()).collect()),
            message: message.into(),
        }
    }
}

/// Represents an error in the input of a mutation.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// The path to the input field that caused the error.
    pub field: Option<Vec<String>>,
    /// The error message.
    pub message: String,
}

/// Represents an error in the input of a mutation.
#[derive(Interface)]
#[graphql(
    field(name = "field", ty = "&Option<Vec<String>>"),
    field(name = "message", ty = "&String")
)]
pub enum DisplayableError {
    CustomerUserError(CustomerUserError),
    UserError(UserError),
}

/// Shopify mirrors every `customerUserErrors` entry into the deprecated `userErrors`.
pub fn user_errors(errors: &[CustomerUserError]) -> Vec<UserError> {
    errors
        .iter()
        .map(|e| UserError {
            field: e.field.clone(),
            message: e.message.clone(),
        })
        .collect()
}

/// A CustomerAccessToken represents the unique token required to make modifications to the
/// customer object.
#[derive(SimpleObject, Clone, Debug)]
pub struct CustomerAccessToken {
    /// The customer’s access token.
    pub access_token: String,
    /// The date and time when the customer access token expires.
    pub expires_at: DateTime,
}

/// Return type for `customerAccessTokenCreateWithMultipass` mutation.
#[derive(SimpleObject)]
pub struct CustomerAccessTokenCreateWithMultipassPayload {
    /// An access token object associated with the customer.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
}

/// Return type for `customerAccessTokenCreate` mutation.
#[derive(SimpleObject)]
pub struct CustomerAccessTokenCreatePayload {
    /// The newly created customer access token object.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerAccessTokenRenew` mutation.
#[derive(SimpleObject)]
pub struct CustomerAccessTokenRenewPayload {
    /// The renewed customer access token object.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerAccessTokenDelete` mutation.
#[derive(SimpleObject)]
pub struct CustomerAccessTokenDeletePayload {
    /// The destroyed access token.
    pub deleted_access_token: Option<String>,
    /// ID of the destroyed customer access token.
    pub deleted_customer_access_token_id: Option<String>,
    /// The list of errors that occurred from executing the mutation.
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerCreate` mutation.
#[derive(SimpleObject)]
pub struct CustomerCreatePayload {
    /// The created customer object.
    pub customer: Option<Customer>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerUpdate` mutation.
#[derive(SimpleObject)]
pub struct CustomerUpdatePayload {
    /// The updated customer object.
    pub customer: Option<Customer>,
    /// The newly created customer access token. If the customer's password is updated, all
    /// previous access tokens (including the one used to perform this mutation) become invalid,
    /// and a new token is generated.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerRecover` mutation.
#[derive(SimpleObject)]
pub struct CustomerRecoverPayload {
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerReset` mutation.
#[derive(SimpleObject)]
pub struct CustomerResetPayload {
    /// The customer object which was reset.
    pub customer: Option<Customer>,
    /// A newly created customer access token object for the customer.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerResetByUrl` mutation.
#[derive(SimpleObject)]
pub struct CustomerResetByUrlPayload {
    /// The customer object which was reset.
    pub customer: Option<Customer>,
    /// A newly created customer access token object for the customer.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerActivate` mutation.
#[derive(SimpleObject)]
pub struct CustomerActivatePayload {
    /// The customer object.
    pub customer: Option<Customer>,
    /// A newly created customer access token object for the customer.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerActivateByUrl` mutation.
#[derive(SimpleObject)]
pub struct CustomerActivateByUrlPayload {
    /// The customer that was activated.
    pub customer: Option<Customer>,
    /// A new customer access token for the customer.
    pub customer_access_token: Option<CustomerAccessToken>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
}

/// The input fields to activate a customer.
#[derive(InputObject)]
pub struct CustomerActivateInput {
    /// The activation token required to activate the customer.
    pub activation_token: String,
    /// New password that will be set during activation.
    pub password: String,
}

/// The input fields required to create a customer access token.
#[derive(InputObject)]
pub struct CustomerAccessTokenCreateInput {
    /// The email associated to the customer.
    pub email: String,
    /// The login password to be used by the customer.
    pub password: String,
}

/// The fields used to create a new customer.
#[derive(InputObject)]
pub struct CustomerCreateInput {
    /// Indicates whether the customer has consented to be sent marketing material via email.
    pub accepts_marketing: Option<bool>,
    /// The customer’s email.
    pub email: String,
    /// The customer’s first name.
    pub first_name: Option<String>,
    /// The customer’s last name.
    pub last_name: Option<String>,
    /// The login password used by the customer.
    pub password: String,
    /// A unique phone number for the customer.
    pub phone: Option<String>,
}

/// The input fields to update the Customer information.
#[derive(InputObject)]
pub struct CustomerUpdateInput {
    /// Indicates whether the customer has consented to be sent marketing material via email.
    pub accepts_marketing: Option<bool>,
    /// The customer’s email.
    pub email: Option<String>,
    /// The customer’s first name.
    pub first_name: Option<String>,
    /// The customer’s last name.
    pub last_name: Option<String>,
    /// The login password used by the customer.
    pub password: Option<String>,
    /// A unique phone number for the customer.
    pub phone: Option<String>,
}

/// The input fields to reset a customer's password.
#[derive(InputObject)]
pub struct CustomerResetInput {
    /// New password that will be set as part of the reset password process.
    pub password: String,
    /// The reset token required to reset the customer’s password.
    pub reset_token: String,
}

/// Represents information about a customer of the shop, such as the customer's contact
/// details, their order history, and whether they've agreed to receive marketing material by
/// email.
pub struct Customer {
    pub customer: model::Customer,
    /// The customer's addresses, read when a field first asks for them.
    pub addresses: tokio::sync::OnceCell<model::AddressBook>,
}

#[Object]
impl Customer {
    /// A unique ID for the customer.
    async fn id(&self) -> ID {
        ID(customer_gid(self.customer.id.0))
    }

    /// The orders associated with the customer: storekey keeps none, so selecting this is an
    /// error naming the field.
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        #[graphql(name = "first")] _first: Option<i32>,
        #[graphql(name = "after")] _after: Option<String>,
        #[graphql(name = "last")] _last: Option<i32>,
        #[graphql(name = "before")] _before: Option<String>,
        #[graphql(name = "reverse", default_with = "Some(false)")] _reverse: Option<bool>,
        #[graphql(name = "sortKey", default_with = "Some(super::OrderSortKeys::Id)")]
        _sort_key: Option<super::OrderSortKeys>,
        #[graphql(name = "query")] _query: Option<String>,
    ) -> async_graphql::Result<Option<super::OrderConnection>> {
        Err(super::orders::no_orders())
    }

    /// The number of orders the customer has made: storekey keeps no orders, so always 0
    /// (Hydrogen's account page reads this count beside the addresses; the orders themselves
    /// are refused, see `orders`).
    async fn number_of_orders(&self) -> super::UnsignedInt64 {
        super::UnsignedInt64(0)
    }

    /// The customer’s email address.
    async fn email(&self) -> Option<&str> {
        Some(&self.customer.email)
    }

    /// The customer’s first name.
    async fn first_name(&self) -> Option<&str> {
        self.customer.profile.firstname.as_deref()
    }

    /// The customer’s last name.
    async fn last_name(&self) -> Option<&str> {
        self.customer.profile.lastname.as_deref()
    }

    /// The customer’s name, email or phone number.
    async fn display_name(&self) -> String {
        display_name(&self.customer)
    }

    /// The customer’s phone number.
    async fn phone(&self) -> Option<&str> {
        self.customer.profile.phone.as_deref()
    }

    /// Indicates whether the customer has consented to be sent marketing material via email.
    async fn accepts_marketing(&self) -> bool {
        self.customer.profile.is_subscribed
    }

    /// The date and time when the customer was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.customer.created_at)
    }

    /// The date and time when the customer information was updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.customer.updated_at)
    }

    /// A comma separated list of tags that have been added to the customer. Requires the
    /// `unauthenticated_read_customer_tags` access scope.
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let caller = ctx.data_unchecked::<StorefrontCaller>();
        if !caller.token.allows(READ_CUSTOMER_TAGS) {
            return Err(access_denied(ctx.field().name(), READ_CUSTOMER_TAGS));
        }
        Ok(self.customer.tags.clone())
    }

    /// A list of addresses for the customer.
    async fn addresses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the elements that come after the specified cursor.")]
        after: Option<String>,
        #[graphql(desc = "Returns the elements that come before the specified cursor.")]
        before: Option<String>,
        #[graphql(desc = "Returns up to the first `n` elements from the list.")] first: Option<i32>,
        #[graphql(desc = "Returns up to the last `n` elements from the list.")] last: Option<i32>,
        #[graphql(desc = "Reverse the order of the underlying list.", default = false)]
        reverse: bool,
    ) -> async_graphql::Result<super::MailingAddressConnection> {
        super::addresses::can_read(ctx)?;
        let auth = ctx.data_unchecked::<std::sync::Arc<crate::auth::Auth>>();
        let book = super::addresses::book(auth, &self.addresses, self.customer.id).await?;
        let page = super::addresses::Page {
            first,
            last,
            after,
            before,
            reverse,
        };
        super::addresses::page(book, page)
    }

    /// The customer’s default address.
    async fn default_address(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::MailingAddress>> {
        super::addresses::can_read(ctx)?;
        let auth = ctx.data_unchecked::<std::sync::Arc<crate::auth::Auth>>();
        let book = super::addresses::book(auth, &self.addresses, self.customer.id).await?;
        Ok(super::addresses::default_address(book))
    }
}

/// First and last name when there is one, else the email, else the phone.
fn display_name(c: &model::Customer) -> String {
    let name = [
        c.profile.firstname.as_deref(),
        c.profile.lastname.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    if !name.is_empty() {
        name
    } else if !c.email.is_empty() {
        c.email.clone()
    } else {
        c.profile.phone.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_are_iso_8601_utc() {
        assert_eq!(DateTime(0).iso(), "1970-01-01T00:00:00Z");
        assert_eq!(DateTime(1_365_707_783).iso(), "2013-04-11T19:16:23Z");
    }

    #[test]
    fn display_name_falls_back_to_email() {
        let mut c = model::Customer {
            email: "nic@example.com".into(),
            ..model::Customer::default()
        };
        assert_eq!(display_name(&c), "nic@example.com");
        c.profile.firstname = Some("Nic".into());
        assert_eq!(display_name(&c), "Nic");
        c.profile.lastname = Some("Potts".into());
        assert_eq!(display_name(&c), "Nic Potts");
    }
}
