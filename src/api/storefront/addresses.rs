//! Shopify's customer addresses: `MailingAddress` (with the fields derived from the stored
//! address: `formatted`, `formattedArea`, `name`, the country's name, `countryCodeV2`), its
//! connection on `Customer.addresses`, `defaultAddress`, and the four address mutations with
//! `customerUserErrors`. The use cases are `auth::addresses`, shared with the Commerce
//! dialect; Shopify's one default address is the default shipping address.

use super::codes::CountryCode;
use super::errors::{internal, token_denied};
use super::types::{user_errors, Customer, CustomerErrorCode, CustomerUserError, UserError};
use super::{require_scope, READ_CUSTOMERS, WRITE_CUSTOMERS};
use crate::auth::addresses::AddressError;
use crate::auth::Auth;
use crate::model::{self, AddressBook, AddressChanges, AddressId, CustomerId};
use crate::store::NewAddressDefaults;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

/// Most addresses one page of `Customer.addresses` holds (Shopify's connection maximum).
pub const MAX_PAGE: i32 = 250;
pub const ADDRESS_NOT_FOUND: &str = "Address does not exist";
pub const COUNTRY_INVALID: &str = "Country is invalid";
pub const TOO_MANY_ADDRESSES: &str = "Customer can have at most 100 addresses";
pub const PAGE_BOUNDS: &str = "you must provide one of first or last";
pub const PAGE_TOO_BIG: &str = "The maximum number of records per page is 250";

/// `gid://shopify/MailingAddress/<id>?model_name=CustomerAddress`, the global id Shopify gives
/// a customer's address.
pub fn address_gid(id: AddressId) -> String {
    format!("gid://shopify/MailingAddress/{id}?model_name=CustomerAddress")
}

/// The address id in a `MailingAddress` gid (with or without its query string), or in the
/// base64 form older API versions used.
pub fn parse_address_gid(gid: &str) -> Option<AddressId> {
    use base64::Engine as _;
    const PREFIX: &str = "gid://shopify/MailingAddress/";
    let gid = gid.trim();
    if gid.len() > 512 {
        return None;
    }
    let number = |rest: &str| -> Option<AddressId> {
        let digits = rest.split('?').next()?;
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(AddressId)
    };
    if let Some(rest) = gid.strip_prefix(PREFIX) {
        return number(rest);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(gid)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    number(decoded.strip_prefix(PREFIX)?)
}

/// Represents a mailing address for customers and shipping.
pub struct MailingAddress(pub model::Address);

impl MailingAddress {
    fn country_name(&self) -> Option<&'static str> {
        self.0.country_code.as_deref().and_then(model::country_name)
    }

    fn province_text(&self) -> Option<&str> {
        self.0.region.as_deref().or(self.0.region_code.as_deref())
    }

    fn full_name(&self) -> Option<String> {
        let name = [self.0.firstname.as_deref(), self.0.lastname.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    }

    /// `City ProvinceCode Zip`, the locality line of Shopify's default address format.
    fn locality(&self) -> Option<String> {
        let a = &self.0;
        let province = a.region_code.as_deref().or(a.region.as_deref());
        let line = [a.city.as_deref(), province, a.postcode.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!line.is_empty()).then_some(line)
    }
}

#[Object]
impl MailingAddress {
    /// The first line of the address. Typically the street address or PO Box number.
    async fn address1(&self) -> Option<&str> {
        self.0.street.first().map(String::as_str)
    }
    /// The second line of the address. Typically the number of the apartment, suite, or unit.
    async fn address2(&self) -> Option<String> {
        let rest = self.0.street.get(1..).unwrap_or_default().join(", ");
        (!rest.is_empty()).then_some(rest)
    }
    /// The name of the city, district, village, or town.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// The name of the customer's company or organization.
    async fn company(&self) -> Option<&str> {
        self.0.company.as_deref()
    }
    /// The name of the country.
    async fn country(&self) -> Option<&str> {
        self.country_name()
    }
    /// The two-letter code for the country of the address.
    #[graphql(deprecation = "Use `countryCodeV2` instead.")]
    async fn country_code(&self) -> Option<&str> {
        self.0.country_code.as_deref()
    }
    /// The two-letter code for the country of the address.
    #[graphql(name = "countryCodeV2")]
    async fn country_code_v2(&self) -> Option<CountryCode> {
        use async_graphql::resolver_utils::EnumType;
        let code = self.0.country_code.as_deref()?;
        CountryCode::items()
            .iter()
            .find(|item| item.name == code)
            .map(|item| item.value)
    }
    /// The first name of the customer.
    async fn first_name(&self) -> Option<&str> {
        self.0.firstname.as_deref()
    }
    /// A formatted version of the address, customized by the provided arguments.
    async fn formatted(
        &self,
        #[graphql(
            desc = "Whether to include the customer's company in the formatted address.",
            default = true
        )]
        with_company: bool,
        #[graphql(
            desc = "Whether to include the customer's name in the formatted address.",
            default = false
        )]
        with_name: bool,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        if with_name {
            lines.extend(self.full_name());
        }
        if with_company {
            lines.extend(self.0.company.clone());
        }
        lines.extend(self.0.street.iter().filter(|l| !l.is_empty()).cloned());
        lines.extend(self.locality());
        lines.extend(self.country_name().map(str::to_owned));
        lines
    }
    /// A comma-separated list of the values for city, province, and country.
    async fn formatted_area(&self) -> Option<String> {
        let a = &self.0;
        let province = a.region_code.as_deref().or(a.region.as_deref());
        let area = [a.city.as_deref(), province, self.country_name()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        (!area.is_empty()).then_some(area)
    }
    /// A globally-unique ID.
    async fn id(&self) -> ID {
        ID(address_gid(self.0.id))
    }
    /// The last name of the customer.
    async fn last_name(&self) -> Option<&str> {
        self.0.lastname.as_deref()
    }
    /// The latitude coordinate of the customer address.
    async fn latitude(&self) -> Option<f64> {
        None
    }
    /// The longitude coordinate of the customer address.
    async fn longitude(&self) -> Option<f64> {
        None
    }
    /// The full name of the customer, based on firstName and lastName.
    async fn name(&self) -> Option<String> {
        self.full_name()
    }
    /// A unique phone number for the customer.
    async fn phone(&self) -> Option<&str> {
        self.0.telephone.as_deref()
    }
    /// The region of the address, such as the province, state, or district.
    async fn province(&self) -> Option<&str> {
        self.province_text()
    }
    /// The alphanumeric code for the region.
    async fn province_code(&self) -> Option<&str> {
        self.0.region_code.as_deref()
    }
    /// The zip or postal code of the address.
    async fn zip(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
}

/// An auto-generated type which holds one MailingAddress and a cursor during pagination.
#[derive(SimpleObject)]
pub struct MailingAddressEdge {
    /// A cursor for use in pagination.
    pub cursor: String,
    /// The item at the end of MailingAddressEdge.
    pub node: MailingAddress,
}

/// Returns information about pagination in a connection, in accordance with the Relay
/// specification.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// The cursor corresponding to the last node in edges.
    pub end_cursor: Option<String>,
    /// Whether there are more pages to fetch following the current page.
    pub has_next_page: bool,
    /// Whether there are any pages prior to the current page.
    pub has_previous_page: bool,
    /// The cursor corresponding to the first node in edges.
    pub start_cursor: Option<String>,
}

/// An auto-generated type for paginating through multiple MailingAddresses.
pub struct MailingAddressConnection {
    edges: Vec<(String, model::Address)>,
    page_info: PageInfo,
}

#[Object]
impl MailingAddressConnection {
    /// A list of edges.
    async fn edges(&self) -> Vec<MailingAddressEdge> {
        self.edges
            .iter()
            .map(|(cursor, a)| MailingAddressEdge {
                cursor: cursor.clone(),
                node: MailingAddress(a.clone()),
            })
            .collect()
    }
    /// A list of the nodes contained in MailingAddressEdge.
    async fn nodes(&self) -> Vec<MailingAddress> {
        self.edges
            .iter()
            .map(|(_, a)| MailingAddress(a.clone()))
            .collect()
    }
    /// Information to aid in pagination.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// An opaque cursor: the base64 of the address id.
fn cursor(id: AddressId) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("MailingAddress:{id}"))
}

fn cursor_id(cursor: &str) -> Option<AddressId> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD
        .decode(cursor.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    text.strip_prefix("MailingAddress:")?
        .parse()
        .ok()
        .map(AddressId)
}

/// The arguments of `Customer.addresses`.
pub struct Page {
    pub first: Option<i32>,
    pub last: Option<i32>,
    pub after: Option<String>,
    pub before: Option<String>,
    pub reverse: bool,
}

/// One page of the book, Relay-style: the addresses oldest first (newest first with
/// `reverse`), after `after` / before `before`, the first `first` or the last `last` of them.
pub fn page(book: &AddressBook, p: Page) -> async_graphql::Result<MailingAddressConnection> {
    let size = match (p.first, p.last) {
        (None, None) => return Err(async_graphql::Error::new(PAGE_BOUNDS)),
        (Some(n), _) | (None, Some(n)) if !(0..=MAX_PAGE).contains(&n) => {
            return Err(async_graphql::Error::new(PAGE_TOO_BIG))
        }
        (Some(n), _) | (None, Some(n)) => usize::try_from(n).unwrap_or(0),
    };
    let mut all: Vec<&model::Address> = book.addresses.iter().collect();
    if p.reverse {
        all.reverse();
    }
    let position = |c: &Option<String>| {
        c.as_deref()
            .and_then(cursor_id)
            .and_then(|id| all.iter().position(|a| a.id == id))
    };
    let start = position(&p.after).map_or(0, |i| i + 1);
    let end = position(&p.before).unwrap_or(all.len()).max(start);
    let window = &all[start..end];
    let (from, to) = if p.first.is_some() {
        (0, size.min(window.len()))
    } else {
        (window.len().saturating_sub(size), window.len())
    };
    let chosen = &window[from..to];
    let edges: Vec<(String, model::Address)> = chosen
        .iter()
        .map(|a| (cursor(a.id), (*a).clone()))
        .collect();
    let page_info = PageInfo {
        start_cursor: edges.first().map(|(c, _)| c.clone()),
        end_cursor: edges.last().map(|(c, _)| c.clone()),
        has_next_page: start + to < all.len(),
        has_previous_page: start + from > 0,
    };
    Ok(MailingAddressConnection { edges, page_info })
}

/// The customer's book, read once per `Customer` object however many fields ask.
pub(super) async fn book<'a>(
    auth: &Auth,
    cell: &'a tokio::sync::OnceCell<AddressBook>,
    customer: CustomerId,
) -> async_graphql::Result<&'a AddressBook> {
    cell.get_or_try_init(|| async { auth.addresses(customer).await.map_err(internal) })
        .await
}

/// The default address: Shopify's one default is the default shipping address.
pub(super) fn default_address(book: &AddressBook) -> Option<MailingAddress> {
    book.default_shipping
        .and_then(|id| book.get(id))
        .map(|a| MailingAddress(a.clone()))
}

/// The fields used to create or update a mailing address.
#[derive(InputObject, Default)]
pub struct MailingAddressInput {
    /// The first line of the address. Typically the street address or PO Box number.
    pub address1: Option<String>,
    /// The second line of the address. Typically the number of the apartment, suite, or unit.
    pub address2: Option<String>,
    /// The name of the city, district, village, or town.
    pub city: Option<String>,
    /// The name of the customer's company or organization.
    pub company: Option<String>,
    /// The name of the country.
    pub country: Option<String>,
    /// The first name of the customer.
    pub first_name: Option<String>,
    /// The last name of the customer.
    pub last_name: Option<String>,
    /// A unique phone number for the customer.
    pub phone: Option<String>,
    /// The region of the address, such as the province, state, or district.
    pub province: Option<String>,
    /// The zip or postal code of the address.
    pub zip: Option<String>,
}

impl MailingAddressInput {
    /// The changes to `current` (the stored address, on update) this input asks for, or the
    /// `customerUserErrors` it earns.
    fn changes(
        &self,
        current: Option<&model::Address>,
    ) -> Result<AddressChanges, Vec<CustomerUserError>> {
        let mut errors = Vec::new();
        let country = match self.country.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(String::new()),
            Some(given) => match model::country_code(given) {
                Some(code) => Some(code.to_owned()),
                None => {
                    errors.push(CustomerUserError::new(
                        CustomerErrorCode::Invalid,
                        Some(&["address", "country"]),
                        COUNTRY_INVALID,
                    ));
                    None
                }
            },
        };
        for (field, label, value) in [
            ("address1", "Address1", &self.address1),
            ("address2", "Address2", &self.address2),
            ("city", "City", &self.city),
            ("company", "Company", &self.company),
            ("firstName", "First name", &self.first_name),
            ("lastName", "Last name", &self.last_name),
            ("phone", "Phone", &self.phone),
            ("province", "Province", &self.province),
            ("zip", "Zip", &self.zip),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.trim().chars().count() > model::MAX_FIELD_CHARS)
            {
                errors.push(CustomerUserError::new(
                    CustomerErrorCode::TooLong,
                    Some(&["address", field]),
                    format!(
                        "{label} is too long (maximum is {} characters)",
                        model::MAX_FIELD_CHARS
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // address1 and address2 are the first two street lines; an update that gives one keeps
        // the other.
        let street = (self.address1.is_some() || self.address2.is_some()).then(|| {
            let old = current.map(|a| a.street.clone()).unwrap_or_default();
            let line = |given: &Option<String>, i: usize| {
                given
                    .clone()
                    .or_else(|| old.get(i).cloned())
                    .unwrap_or_default()
            };
            vec![line(&self.address1, 0), line(&self.address2, 1)]
        });
        // A short upper-case province is a code (`ON`, `CA`), anything else a name.
        let (region, region_code) = match self.province.as_deref().map(str::trim) {
            None => (None, None),
            Some(p) if is_region_code(p) => (Some(String::new()), Some(p.to_owned())),
            Some(p) => (Some(p.to_owned()), Some(String::new())),
        };
        Ok(AddressChanges {
            firstname: self.first_name.clone(),
            lastname: self.last_name.clone(),
            company: self.company.clone(),
            street,
            city: self.city.clone(),
            region,
            region_code,
            postcode: self.zip.clone(),
            country_code: country,
            telephone: self.phone.clone(),
            // Magento's name parts and tax number: no Shopify field, left as they are.
            ..AddressChanges::default()
        })
    }
}

fn is_region_code(p: &str) -> bool {
    (1..=3).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Shopify's `customerUserErrors` for a refusal of an address use case; `id_field` is the
/// argument naming the address.
fn address_user_error(
    e: AddressError,
    id_field: &str,
) -> async_graphql::Result<Vec<CustomerUserError>> {
    let error = match e {
        AddressError::NotFound => CustomerUserError::new(
            CustomerErrorCode::NotFound,
            Some(&[id_field]),
            ADDRESS_NOT_FOUND,
        ),
        AddressError::TooMany => CustomerUserError::new(
            CustomerErrorCode::Invalid,
            Some(&["address"]),
            TOO_MANY_ADDRESSES,
        ),
        AddressError::TooLong(field) => CustomerUserError::new(
            CustomerErrorCode::TooLong,
            Some(&["address", field]),
            format!(
                "{field} is too long (maximum is {} characters)",
                model::MAX_FIELD_CHARS
            ),
        ),
        AddressError::TooManyStreetLines => CustomerUserError::new(
            CustomerErrorCode::Invalid,
            Some(&["address", "address1"]),
            "Address is invalid",
        ),
        AddressError::UnknownCountry(_) => CustomerUserError::new(
            CustomerErrorCode::Invalid,
            Some(&["address", "country"]),
            COUNTRY_INVALID,
        ),
        AddressError::CustomerNotFound => CustomerUserError::new(
            CustomerErrorCode::UnidentifiedCustomer,
            Some(&["customerAccessToken"]),
            super::errors::UNIDENTIFIED_CUSTOMER,
        ),
        // Defaults are never kept on delete here.
        AddressError::DefaultBilling | AddressError::DefaultShipping => {
            return Err(internal("a Storefront delete kept a default"))
        }
        AddressError::Failure(f) => return Err(internal(f)),
    };
    Ok(vec![error])
}

/// Return type for `customerAddressCreate` mutation.
#[derive(SimpleObject)]
pub struct CustomerAddressCreatePayload {
    /// The new customer address object.
    pub customer_address: Option<MailingAddress>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerAddressUpdate` mutation.
#[derive(SimpleObject)]
pub struct CustomerAddressUpdatePayload {
    /// The customer’s updated mailing address.
    pub customer_address: Option<MailingAddress>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerAddressDelete` mutation.
#[derive(SimpleObject)]
pub struct CustomerAddressDeletePayload {
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// ID of the deleted customer address.
    pub deleted_customer_address_id: Option<String>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// Return type for `customerDefaultAddressUpdate` mutation.
#[derive(SimpleObject)]
pub struct CustomerDefaultAddressUpdatePayload {
    /// The updated customer object.
    pub customer: Option<Customer>,
    /// The list of errors that occurred from executing the mutation.
    pub customer_user_errors: Vec<CustomerUserError>,
    /// The list of errors that occurred from executing the mutation.
    #[graphql(deprecation = "Use `customerUserErrors` instead.")]
    pub user_errors: Vec<UserError>,
}

/// The customer a token-bearing address mutation acts for; a dead token is Shopify's
/// `<Mutation> access denied`.
async fn signed_in(
    ctx: &Context<'_>,
    token: &str,
    mutation: &str,
) -> async_graphql::Result<(std::sync::Arc<Auth>, model::Customer)> {
    let (auth, _) = require_scope(ctx, WRITE_CUSTOMERS)?;
    match auth.authenticate(token.trim()).await.map_err(internal)? {
        Some(session) => Ok((auth.clone(), session.customer)),
        None => Err(token_denied(mutation)),
    }
}

pub(super) async fn create(
    ctx: &Context<'_>,
    token: &str,
    address: MailingAddressInput,
) -> async_graphql::Result<CustomerAddressCreatePayload> {
    let (auth, customer) = signed_in(ctx, token, "CustomerAddressCreate").await?;
    let failed = |errors: Vec<CustomerUserError>| CustomerAddressCreatePayload {
        customer_address: None,
        user_errors: user_errors(&errors),
        customer_user_errors: errors,
    };
    let changes = match address.changes(None) {
        Ok(c) => c,
        Err(errors) => return Ok(failed(errors)),
    };
    let defaults = NewAddressDefaults {
        first_is_default: true,
        ..NewAddressDefaults::default()
    };
    match auth.create_address(customer.id, changes, defaults).await {
        Ok(edit) => Ok(CustomerAddressCreatePayload {
            customer_address: edit.book.get(edit.id).cloned().map(MailingAddress),
            customer_user_errors: vec![],
            user_errors: vec![],
        }),
        Err(e) => Ok(failed(address_user_error(e, "id")?)),
    }
}

pub(super) async fn update(
    ctx: &Context<'_>,
    token: &str,
    id: &ID,
    address: MailingAddressInput,
) -> async_graphql::Result<CustomerAddressUpdatePayload> {
    let (auth, customer) = signed_in(ctx, token, "CustomerAddressUpdate").await?;
    let failed = |errors: Vec<CustomerUserError>| CustomerAddressUpdatePayload {
        customer_address: None,
        user_errors: user_errors(&errors),
        customer_user_errors: errors,
    };
    let not_found = || {
        failed(vec![CustomerUserError::new(
            CustomerErrorCode::NotFound,
            Some(&["id"]),
            ADDRESS_NOT_FOUND,
        )])
    };
    let Some(address_id) = parse_address_gid(id) else {
        return Ok(not_found());
    };
    let book = auth.addresses(customer.id).await.map_err(internal)?;
    let changes = match address.changes(book.get(address_id)) {
        Ok(c) => c,
        Err(errors) => return Ok(failed(errors)),
    };
    match auth
        .update_address(customer.id, address_id, changes, None, None)
        .await
    {
        Ok(edit) => Ok(CustomerAddressUpdatePayload {
            customer_address: edit.book.get(edit.id).cloned().map(MailingAddress),
            customer_user_errors: vec![],
            user_errors: vec![],
        }),
        Err(e) => Ok(failed(address_user_error(e, "id")?)),
    }
}

pub(super) async fn delete(
    ctx: &Context<'_>,
    token: &str,
    id: &ID,
) -> async_graphql::Result<CustomerAddressDeletePayload> {
    let (auth, customer) = signed_in(ctx, token, "CustomerAddressDelete").await?;
    let failed = |errors: Vec<CustomerUserError>| CustomerAddressDeletePayload {
        deleted_customer_address_id: None,
        user_errors: user_errors(&errors),
        customer_user_errors: errors,
    };
    let outcome = match parse_address_gid(id) {
        Some(address_id) => auth.delete_address(customer.id, address_id, false).await,
        None => Err(AddressError::NotFound),
    };
    match outcome {
        Ok(edit) => Ok(CustomerAddressDeletePayload {
            deleted_customer_address_id: Some(address_gid(edit.id)),
            customer_user_errors: vec![],
            user_errors: vec![],
        }),
        Err(e) => Ok(failed(address_user_error(e, "id")?)),
    }
}

pub(super) async fn set_default(
    ctx: &Context<'_>,
    token: &str,
    address_id: &ID,
) -> async_graphql::Result<CustomerDefaultAddressUpdatePayload> {
    let (auth, customer) = signed_in(ctx, token, "CustomerDefaultAddressUpdate").await?;
    let failed = |errors: Vec<CustomerUserError>| CustomerDefaultAddressUpdatePayload {
        customer: None,
        user_errors: user_errors(&errors),
        customer_user_errors: errors,
    };
    let outcome = match parse_address_gid(address_id) {
        Some(id) => auth.set_default_address(customer.id, id, false, true).await,
        None => Err(AddressError::NotFound),
    };
    match outcome {
        Ok(edit) => {
            let view = Customer {
                customer,
                addresses: tokio::sync::OnceCell::new_with(Some(edit.book)),
            };
            Ok(CustomerDefaultAddressUpdatePayload {
                customer: Some(view),
                customer_user_errors: vec![],
                user_errors: vec![],
            })
        }
        Err(e) => Ok(failed(address_user_error(e, "addressId")?)),
    }
}

/// `Customer.addresses` needs the read scope, as `customer` does.
pub(super) fn can_read(ctx: &Context<'_>) -> async_graphql::Result<()> {
    require_scope(ctx, READ_CUSTOMERS).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(n: u64) -> AddressBook {
        AddressBook {
            addresses: (1..=n)
                .map(|i| model::Address {
                    id: AddressId(i),
                    ..model::Address::default()
                })
                .collect(),
            ..AddressBook::default()
        }
    }

    fn ids(c: &MailingAddressConnection) -> Vec<u64> {
        c.edges.iter().map(|(_, a)| a.id.0).collect()
    }

    fn p(first: Option<i32>, last: Option<i32>) -> Page {
        Page {
            first,
            last,
            after: None,
            before: None,
            reverse: false,
        }
    }

    #[test]
    fn address_gids_round_trip_with_or_without_the_model_name() {
        assert_eq!(
            address_gid(AddressId(42)),
            "gid://shopify/MailingAddress/42?model_name=CustomerAddress"
        );
        assert_eq!(
            parse_address_gid("gid://shopify/MailingAddress/42?model_name=CustomerAddress"),
            Some(AddressId(42))
        );
        assert_eq!(
            parse_address_gid("gid://shopify/MailingAddress/42"),
            Some(AddressId(42))
        );
        for bad in [
            "gid://shopify/Customer/42",
            "gid://shopify/MailingAddress/",
            "gid://shopify/MailingAddress/-1",
            "gid://shopify/MailingAddress/0",
            "42",
            "",
        ] {
            assert_eq!(parse_address_gid(bad), None, "{bad}");
        }
    }

    #[test]
    fn pages_follow_the_cursors_both_ways() {
        let b = book(5);
        let first = page(&b, p(Some(2), None)).unwrap();
        assert_eq!(ids(&first), [1, 2]);
        assert!(first.page_info.has_next_page && !first.page_info.has_previous_page);
        let next = page(
            &b,
            Page {
                after: first.page_info.end_cursor.clone(),
                ..p(Some(2), None)
            },
        )
        .unwrap();
        assert_eq!(ids(&next), [3, 4]);
        assert!(next.page_info.has_next_page && next.page_info.has_previous_page);
        let last = page(&b, p(None, Some(2))).unwrap();
        assert_eq!(ids(&last), [4, 5]);
        assert!(!last.page_info.has_next_page && last.page_info.has_previous_page);
        let before = page(
            &b,
            Page {
                before: last.page_info.start_cursor.clone(),
                ..p(None, Some(10))
            },
        )
        .unwrap();
        assert_eq!(ids(&before), [1, 2, 3]);
        let reversed = page(
            &b,
            Page {
                reverse: true,
                ..p(Some(2), None)
            },
        )
        .unwrap();
        assert_eq!(ids(&reversed), [5, 4]);
        assert_eq!(page(&b, p(None, None)).err().unwrap().message, PAGE_BOUNDS);
        assert_eq!(
            page(&b, p(Some(251), None)).err().unwrap().message,
            PAGE_TOO_BIG
        );
    }
}
