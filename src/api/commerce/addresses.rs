//! Adobe Commerce's customer addresses: `CustomerAddress` and its input, `CountryCodeEnum`,
//! the `Customer.addresses` / `default_billing` / `default_shipping` fields and the address
//! mutations, with Magento's messages (`CustomerGraphQl`'s address resolvers and its
//! api-functional tests). The use cases are `auth::addresses`, shared with the Storefront
//! dialect.

use super::{active_customer, ctx_parts, error, internal, NOT_AUTHORIZED};
use crate::auth::addresses::{AddressEdited, AddressError};
use crate::auth::Auth;
use crate::model::{self, AddressBook, AddressChanges, AddressId, CustomerId};
use crate::store::NewAddressDefaults;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};

/// The attributes Magento requires of an address, in the order its message lists them. A
/// postcode is optional in the countries of Magento's default `general/country/optional_zip_countries`.
const REQUIRED: [&str; 7] = [
    "firstname",
    "lastname",
    "street",
    "city",
    "country_id",
    "postcode",
    "telephone",
];
const OPTIONAL_ZIP_COUNTRIES: [&str; 4] = ["HK", "IE", "MO", "PA"];

pub const EMPTY_ADDRESS_INPUT: &str = "\"input\" value should be specified";
pub const TOO_MANY_ADDRESSES: &str = "A customer can have at most 100 addresses.";

/// Contains detailed information about a customer's billing or shipping address.
pub struct CustomerAddress {
    address: model::Address,
    customer_id: CustomerId,
    default_billing: bool,
    default_shipping: bool,
}

impl CustomerAddress {
    fn new(book: &AddressBook, address: &model::Address, customer_id: CustomerId) -> Self {
        CustomerAddress {
            address: address.clone(),
            customer_id,
            default_billing: book.default_billing == Some(address.id),
            default_shipping: book.default_shipping == Some(address.id),
        }
    }

    fn from_edit(edit: &AddressEdited, customer_id: CustomerId) -> Option<Self> {
        let address = edit.book.get(edit.id)?;
        Some(CustomerAddress::new(&edit.book, address, customer_id))
    }
}

/// Defines the customer's state or province.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerAddressRegion {
    /// The address region code.
    region_code: Option<String>,
    /// The state or province name.
    region: Option<String>,
    /// The unique ID for a pre-defined region.
    region_id: Option<i32>,
}

/// Specifies the attribute code and value of a customer address attribute.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerAddressAttribute {
    /// The name assigned to the customer address attribute.
    attribute_code: Option<String>,
    /// The value assigned to the customer address attribute.
    value: Option<String>,
}

#[Object(rename_fields = "snake_case")]
impl CustomerAddress {
    /// The ID of a `CustomerAddress` object.
    #[graphql(deprecation = "Use `uid` instead.")]
    async fn id(&self) -> Option<i32> {
        i32::try_from(self.address.id.0).ok()
    }
    /// The unique ID for a `CustomerAddress` object.
    async fn uid(&self) -> Option<ID> {
        Some(ID(super::uid(self.address.id.0)))
    }
    /// The customer ID
    #[graphql(
        deprecation = "`customer_id` is not needed as part of `CustomerAddress`. The `id` is a unique identifier for the addresses."
    )]
    async fn customer_id(&self) -> Option<i32> {
        i32::try_from(self.customer_id.0).ok()
    }
    /// An object containing the region name, region code, and region ID.
    async fn region(&self) -> Option<CustomerAddressRegion> {
        Some(CustomerAddressRegion {
            region_code: self.address.region_code.clone(),
            region: self.address.region.clone(),
            region_id: None,
        })
    }
    /// The unique ID for a pre-defined region.
    async fn region_id(&self) -> Option<i32> {
        None
    }
    /// The customer's country.
    #[graphql(deprecation = "Use `country_code` instead.")]
    async fn country_id(&self) -> Option<&str> {
        self.address.country_code.as_deref()
    }
    /// The customer's country.
    async fn country_code(&self) -> Option<CountryCodeEnum> {
        self.address.country_code.as_deref().and_then(country_enum)
    }
    /// An array of strings that define the street number and name.
    async fn street(&self) -> Option<Vec<Option<String>>> {
        Some(self.address.street.iter().cloned().map(Some).collect())
    }
    /// The customer's company.
    async fn company(&self) -> Option<&str> {
        self.address.company.as_deref()
    }
    /// The customer's telephone number.
    async fn telephone(&self) -> Option<&str> {
        self.address.telephone.as_deref()
    }
    /// The customer's fax number.
    async fn fax(&self) -> Option<&str> {
        self.address.fax.as_deref()
    }
    /// The customer's ZIP or postal code.
    async fn postcode(&self) -> Option<&str> {
        self.address.postcode.as_deref()
    }
    /// The customer's city or town.
    async fn city(&self) -> Option<&str> {
        self.address.city.as_deref()
    }
    /// The first name of the person associated with the shipping/billing address.
    async fn firstname(&self) -> Option<&str> {
        self.address.firstname.as_deref()
    }
    /// The family name of the person associated with the shipping/billing address.
    async fn lastname(&self) -> Option<&str> {
        self.address.lastname.as_deref()
    }
    /// The middle name of the person associated with the shipping/billing address.
    async fn middlename(&self) -> Option<&str> {
        self.address.middlename.as_deref()
    }
    /// An honorific, such as Dr., Mr., or Mrs.
    async fn prefix(&self) -> Option<&str> {
        self.address.prefix.as_deref()
    }
    /// A value such as Sr., Jr., or III.
    async fn suffix(&self) -> Option<&str> {
        self.address.suffix.as_deref()
    }
    /// The customer's Value-added tax (VAT) number (for corporate customers).
    async fn vat_id(&self) -> Option<&str> {
        self.address.vat_id.as_deref()
    }
    /// Indicates whether the address is the customer's default shipping address.
    async fn default_shipping(&self) -> Option<bool> {
        Some(self.default_shipping)
    }
    /// Indicates whether the address is the customer's default billing address.
    async fn default_billing(&self) -> Option<bool> {
        Some(self.default_billing)
    }
    #[graphql(deprecation = "Use custom_attributesV2 instead.")]
    async fn custom_attributes(&self) -> Option<Vec<Option<CustomerAddressAttribute>>> {
        Some(Vec::new())
    }
    /// Contains any extension attributes for the address.
    async fn extension_attributes(&self) -> Option<Vec<Option<CustomerAddressAttribute>>> {
        Some(Vec::new())
    }
}

/// Defines the customer's state or province.
#[derive(InputObject, Default)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerAddressRegionInput {
    /// The address region code.
    pub region_code: Option<String>,
    /// The state or province name.
    pub region: Option<String>,
    /// The unique ID for a pre-defined region.
    pub region_id: Option<i32>,
}

/// Contains details about a billing or shipping address.
#[derive(InputObject, Default)]
#[graphql(rename_fields = "snake_case")]
pub struct CustomerAddressInput {
    /// The first name of the person associated with the billing/shipping address.
    pub firstname: Option<String>,
    /// The family name of the person associated with the billing/shipping address.
    pub lastname: Option<String>,
    /// The customer's company.
    pub company: Option<String>,
    /// The customer's telephone number.
    pub telephone: Option<String>,
    /// An array of strings that define the street number and name.
    pub street: Option<Vec<Option<String>>>,
    /// The customer's city or town.
    pub city: Option<String>,
    /// An object containing the region name, region code, and region ID.
    pub region: Option<CustomerAddressRegionInput>,
    /// The customer's ZIP or postal code.
    pub postcode: Option<String>,
    #[graphql(deprecation = "Use `country_code` instead.")]
    pub country_id: Option<CountryCodeEnum>,
    /// The two-letter code representing the customer's country.
    pub country_code: Option<CountryCodeEnum>,
    /// Indicates whether the address is the default shipping address.
    pub default_shipping: Option<bool>,
    /// Indicates whether the address is the default billing address.
    pub default_billing: Option<bool>,
    /// The customer's fax number.
    pub fax: Option<String>,
    /// The middle name of the person associated with the billing/shipping address.
    pub middlename: Option<String>,
    /// An honorific, such as Dr., Mr., or Mrs.
    pub prefix: Option<String>,
    /// A value such as Sr., Jr., or III.
    pub suffix: Option<String>,
    /// The customer's Tax/VAT number (for corporate customers).
    pub vat_id: Option<String>,
}

impl CustomerAddressInput {
    fn is_empty(&self) -> bool {
        let texts = [
            &self.firstname,
            &self.lastname,
            &self.company,
            &self.telephone,
            &self.city,
            &self.postcode,
            &self.fax,
            &self.middlename,
            &self.prefix,
            &self.suffix,
            &self.vat_id,
        ];
        texts.iter().all(|t| t.is_none())
            && self.street.is_none()
            && self.region.is_none()
            && self.country_id.is_none()
            && self.country_code.is_none()
            && self.default_shipping.is_none()
            && self.default_billing.is_none()
    }

    /// `country_code`, else the deprecated `country_id` (as Magento's resolver copies it).
    fn country(&self) -> Option<CountryCodeEnum> {
        self.country_code.or(self.country_id)
    }

    fn changes(&self) -> AddressChanges {
        let region = self.region.as_ref();
        AddressChanges {
            firstname: self.firstname.clone(),
            lastname: self.lastname.clone(),
            company: self.company.clone(),
            street: self.street.as_ref().map(|lines| {
                lines
                    .iter()
                    .map(|l| l.clone().unwrap_or_default())
                    .collect()
            }),
            city: self.city.clone(),
            region: region.map(|r| r.region.clone().unwrap_or_default()),
            region_code: region.map(|r| r.region_code.clone().unwrap_or_default()),
            postcode: self.postcode.clone(),
            country_code: self.country().map(|c| country_code_of(c).to_owned()),
            telephone: self.telephone.clone(),
            middlename: self.middlename.clone(),
            prefix: self.prefix.clone(),
            suffix: self.suffix.clone(),
            fax: self.fax.clone(),
            vat_id: self.vat_id.clone(),
        }
    }

    /// Magento's required attributes: on create, each one absent or empty; on update, each
    /// one given empty (an update leaves absent ones as they are).
    fn missing(&self, creating: bool) -> Vec<&'static str> {
        let blank = |v: &Option<String>| v.as_deref().map(|s| s.trim().is_empty());
        let street = self.street.as_ref().map(|lines| {
            lines
                .first()
                .and_then(|l| l.as_deref())
                .is_none_or(|l| l.trim().is_empty())
        });
        let country = self.country().map(|_| false);
        let zip_optional = self
            .country()
            .is_some_and(|c| OPTIONAL_ZIP_COUNTRIES.contains(&country_code_of(c)));
        REQUIRED
            .into_iter()
            .filter(|name| {
                let state = match *name {
                    "firstname" => blank(&self.firstname),
                    "lastname" => blank(&self.lastname),
                    "street" => street,
                    "city" => blank(&self.city),
                    "country_id" => country,
                    "postcode" if zip_optional => Some(false),
                    "postcode" => blank(&self.postcode),
                    _ => blank(&self.telephone),
                };
                match state {
                    None => creating,
                    Some(empty) => empty,
                }
            })
            .collect()
    }
}

fn required_error(missing: &[&str]) -> async_graphql::Error {
    error(
        "graphql-input",
        format!("Required parameters are missing: {}", missing.join(", ")),
    )
}

/// Magento's answer to each refusal of an address use case about address `id`.
fn address_error(e: AddressError, id: Option<AddressId>) -> async_graphql::Error {
    let id = id.map(|i| i.to_string()).unwrap_or_default();
    match e {
        // Magento answers another customer's address with a permission error; storekey gives
        // the not-found answer for both, so ids cannot be probed for other customers' addresses.
        AddressError::NotFound => error(
            "graphql-no-such-entity",
            format!("Could not find a address with ID \"{id}\""),
        ),
        AddressError::DefaultBilling => error(
            "graphql-input",
            format!(
                "Customer Address {id} is set as default billing address and can not be deleted"
            ),
        ),
        AddressError::DefaultShipping => error(
            "graphql-input",
            format!(
                "Customer Address {id} is set as default shipping address and can not be deleted"
            ),
        ),
        AddressError::CustomerNotFound => error("graphql-authorization", NOT_AUTHORIZED),
        AddressError::TooMany => error("graphql-input", TOO_MANY_ADDRESSES),
        AddressError::TooLong(field) => error(
            "graphql-input",
            format!(
                "\"{field}\" length must be equal or less than {} characters.",
                model::MAX_FIELD_CHARS
            ),
        ),
        AddressError::TooManyStreetLines => error(
            "graphql-input",
            format!(
                "\"Street Address\" cannot contain more than {} lines.",
                model::MAX_STREET_LINES
            ),
        ),
        AddressError::UnknownCountry(code) => error(
            "graphql-input",
            format!("Invalid value of \"{code}\" provided for the countryId field."),
        ),
        AddressError::Failure(f) => internal(f),
    }
}

/// The address id in a `uid` (the base64 of its decimal form), refused as Magento's
/// `Uid::decode` refuses it.
fn decode_uid(uid: &str) -> Result<AddressId, async_graphql::Error> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(uid)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|id| *id > 0)
        .map(AddressId)
        .ok_or_else(|| {
            error(
                "graphql-input",
                format!("Value of uid \"{uid}\" is incorrect."),
            )
        })
}

fn int_id(id: i32) -> AddressId {
    AddressId(u64::try_from(id).unwrap_or(0))
}

/// The customer's book, read once per `Customer` object however many of its fields ask.
pub(super) async fn book<'a>(
    auth: &Auth,
    cell: &'a tokio::sync::OnceCell<AddressBook>,
    customer: CustomerId,
) -> async_graphql::Result<&'a AddressBook> {
    cell.get_or_try_init(|| async { auth.addresses(customer).await.map_err(internal) })
        .await
}

/// `Customer.addresses`.
pub(super) fn addresses(book: &AddressBook, customer: CustomerId) -> Vec<Option<CustomerAddress>> {
    book.addresses
        .iter()
        .map(|a| Some(CustomerAddress::new(book, a, customer)))
        .collect()
}

/// `Customer.default_billing` / `default_shipping`: the address id as a string.
pub(super) fn default_id(id: Option<AddressId>) -> Option<String> {
    id.map(|id| id.to_string())
}

pub(super) async fn create(
    ctx: &Context<'_>,
    input: CustomerAddressInput,
) -> async_graphql::Result<Option<CustomerAddress>> {
    let (auth, caller) = ctx_parts(ctx);
    let customer = active_customer(auth, caller)?.customer.id;
    let missing = input.missing(true);
    if !missing.is_empty() {
        return Err(required_error(&missing));
    }
    let defaults = NewAddressDefaults {
        billing: input.default_billing.unwrap_or(false),
        shipping: input.default_shipping.unwrap_or(false),
        first_is_default: false,
    };
    let edit = auth
        .create_address(customer, input.changes(), defaults)
        .await
        .map_err(|e| address_error(e, None))?;
    Ok(CustomerAddress::from_edit(&edit, customer))
}

pub(super) async fn update(
    ctx: &Context<'_>,
    id: AddressId,
    input: Option<CustomerAddressInput>,
) -> async_graphql::Result<Option<CustomerAddress>> {
    let (auth, caller) = ctx_parts(ctx);
    let customer = active_customer(auth, caller)?.customer.id;
    let input = input.filter(|i| !i.is_empty());
    let Some(input) = input else {
        return Err(error("graphql-input", EMPTY_ADDRESS_INPUT));
    };
    let missing = input.missing(false);
    if !missing.is_empty() {
        return Err(required_error(&missing));
    }
    let edit = auth
        .update_address(
            customer,
            id,
            input.changes(),
            input.default_billing,
            input.default_shipping,
        )
        .await
        .map_err(|e| address_error(e, Some(id)))?;
    Ok(CustomerAddress::from_edit(&edit, customer))
}

pub(super) async fn delete(
    ctx: &Context<'_>,
    id: AddressId,
) -> async_graphql::Result<Option<bool>> {
    let (auth, caller) = ctx_parts(ctx);
    let customer = active_customer(auth, caller)?.customer.id;
    auth.delete_address(customer, id, true)
        .await
        .map_err(|e| address_error(e, Some(id)))?;
    Ok(Some(true))
}

/// The mutations' arguments, decoded: `id: Int!` or `uid: ID!`.
pub(super) fn by_id(id: i32) -> AddressId {
    int_id(id)
}

pub(super) fn by_uid(uid: &ID) -> async_graphql::Result<AddressId> {
    decode_uid(uid)
}

fn country_code_of(c: CountryCodeEnum) -> &'static str {
    use async_graphql::resolver_utils::EnumType;
    CountryCodeEnum::items()
        .iter()
        .find(|item| item.value == c)
        .map_or("", |item| item.name)
}

fn country_enum(code: &str) -> Option<CountryCodeEnum> {
    use async_graphql::resolver_utils::EnumType;
    CountryCodeEnum::items()
        .iter()
        .find(|item| item.name == code)
        .map(|item| item.value)
}

/// The list of country codes.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "CountryCodeEnum")]
pub enum CountryCodeEnum {
    /// Afghanistan
    Af,
    /// Åland Islands
    Ax,
    /// Albania
    Al,
    /// Algeria
    Dz,
    /// American Samoa
    As,
    /// Andorra
    Ad,
    /// Angola
    Ao,
    /// Anguilla
    Ai,
    /// Antarctica
    Aq,
    /// Antigua & Barbuda
    Ag,
    /// Argentina
    Ar,
    /// Armenia
    Am,
    /// Aruba
    Aw,
    /// Australia
    Au,
    /// Austria
    At,
    /// Azerbaijan
    Az,
    /// Bahamas
    Bs,
    /// Bahrain
    Bh,
    /// Bangladesh
    Bd,
    /// Barbados
    Bb,
    /// Belarus
    By,
    /// Belgium
    Be,
    /// Belize
    Bz,
    /// Benin
    Bj,
    /// Bermuda
    Bm,
    /// Bhutan
    Bt,
    /// Bolivia
    Bo,
    /// Bosnia & Herzegovina
    Ba,
    /// Botswana
    Bw,
    /// Bouvet Island
    Bv,
    /// Brazil
    Br,
    /// British Indian Ocean Territory
    Io,
    /// British Virgin Islands
    Vg,
    /// Brunei
    Bn,
    /// Bulgaria
    Bg,
    /// Burkina Faso
    Bf,
    /// Burundi
    Bi,
    /// Cambodia
    Kh,
    /// Cameroon
    Cm,
    /// Canada
    Ca,
    /// Cape Verde
    Cv,
    /// Cayman Islands
    Ky,
    /// Central African Republic
    Cf,
    /// Chad
    Td,
    /// Chile
    Cl,
    /// China
    Cn,
    /// Christmas Island
    Cx,
    /// Cocos (Keeling) Islands
    Cc,
    /// Colombia
    Co,
    /// Comoros
    Km,
    /// Congo-Brazzaville
    Cg,
    /// Congo-Kinshasa
    Cd,
    /// Cook Islands
    Ck,
    /// Costa Rica
    Cr,
    /// Côte d’Ivoire
    Ci,
    /// Croatia
    Hr,
    /// Cuba
    Cu,
    /// Cyprus
    Cy,
    /// Czech Republic
    Cz,
    /// Denmark
    Dk,
    /// Djibouti
    Dj,
    /// Dominica
    Dm,
    /// Dominican Republic
    Do,
    /// Ecuador
    Ec,
    /// Egypt
    Eg,
    /// El Salvador
    Sv,
    /// Equatorial Guinea
    Gq,
    /// Eritrea
    Er,
    /// Estonia
    Ee,
    /// Eswatini
    Sz,
    /// Ethiopia
    Et,
    /// Falkland Islands
    Fk,
    /// Faroe Islands
    Fo,
    /// Fiji
    Fj,
    /// Finland
    Fi,
    /// France
    Fr,
    /// French Guiana
    Gf,
    /// French Polynesia
    Pf,
    /// French Southern Territories
    Tf,
    /// Gabon
    Ga,
    /// Gambia
    Gm,
    /// Georgia
    Ge,
    /// Germany
    De,
    /// Ghana
    Gh,
    /// Gibraltar
    Gi,
    /// Greece
    Gr,
    /// Greenland
    Gl,
    /// Grenada
    Gd,
    /// Guadeloupe
    Gp,
    /// Guam
    Gu,
    /// Guatemala
    Gt,
    /// Guernsey
    Gg,
    /// Guinea
    Gn,
    /// Guinea-Bissau
    Gw,
    /// Guyana
    Gy,
    /// Haiti
    Ht,
    /// Heard & McDonald Islands
    Hm,
    /// Honduras
    Hn,
    /// Hong Kong SAR China
    Hk,
    /// Hungary
    Hu,
    /// Iceland
    Is,
    /// India
    In,
    /// Indonesia
    Id,
    /// Iran
    Ir,
    /// Iraq
    Iq,
    /// Ireland
    Ie,
    /// Isle of Man
    Im,
    /// Israel
    Il,
    /// Italy
    It,
    /// Jamaica
    Jm,
    /// Japan
    Jp,
    /// Jersey
    Je,
    /// Jordan
    Jo,
    /// Kazakhstan
    Kz,
    /// Kenya
    Ke,
    /// Kiribati
    Ki,
    /// Kuwait
    Kw,
    /// Kyrgyzstan
    Kg,
    /// Laos
    La,
    /// Latvia
    Lv,
    /// Lebanon
    Lb,
    /// Lesotho
    Ls,
    /// Liberia
    Lr,
    /// Libya
    Ly,
    /// Liechtenstein
    Li,
    /// Lithuania
    Lt,
    /// Luxembourg
    Lu,
    /// Macau SAR China
    Mo,
    /// Macedonia
    Mk,
    /// Madagascar
    Mg,
    /// Malawi
    Mw,
    /// Malaysia
    My,
    /// Maldives
    Mv,
    /// Mali
    Ml,
    /// Malta
    Mt,
    /// Marshall Islands
    Mh,
    /// Martinique
    Mq,
    /// Mauritania
    Mr,
    /// Mauritius
    Mu,
    /// Mayotte
    Yt,
    /// Mexico
    Mx,
    /// Micronesia
    Fm,
    /// Moldova
    Md,
    /// Monaco
    Mc,
    /// Mongolia
    Mn,
    /// Montenegro
    Me,
    /// Montserrat
    Ms,
    /// Morocco
    Ma,
    /// Mozambique
    Mz,
    /// Myanmar (Burma)
    Mm,
    /// Namibia
    Na,
    /// Nauru
    Nr,
    /// Nepal
    Np,
    /// Netherlands
    Nl,
    /// Netherlands Antilles
    An,
    /// New Caledonia
    Nc,
    /// New Zealand
    Nz,
    /// Nicaragua
    Ni,
    /// Niger
    Ne,
    /// Nigeria
    Ng,
    /// Niue
    Nu,
    /// Norfolk Island
    Nf,
    /// Northern Mariana Islands
    Mp,
    /// North Korea
    Kp,
    /// Norway
    No,
    /// Oman
    Om,
    /// Pakistan
    Pk,
    /// Palau
    Pw,
    /// Palestinian Territories
    Ps,
    /// Panama
    Pa,
    /// Papua New Guinea
    Pg,
    /// Paraguay
    Py,
    /// Peru
    Pe,
    /// Philippines
    Ph,
    /// Pitcairn Islands
    Pn,
    /// Poland
    Pl,
    /// Portugal
    Pt,
    /// Qatar
    Qa,
    /// Réunion
    Re,
    /// Romania
    Ro,
    /// Russia
    Ru,
    /// Rwanda
    Rw,
    /// Samoa
    Ws,
    /// San Marino
    Sm,
    /// São Tomé & Príncipe
    St,
    /// Saudi Arabia
    Sa,
    /// Senegal
    Sn,
    /// Serbia
    Rs,
    /// Seychelles
    Sc,
    /// Sierra Leone
    Sl,
    /// Singapore
    Sg,
    /// Slovakia
    Sk,
    /// Slovenia
    Si,
    /// Solomon Islands
    Sb,
    /// Somalia
    So,
    /// South Africa
    Za,
    /// South Georgia & South Sandwich Islands
    Gs,
    /// South Korea
    Kr,
    /// Spain
    Es,
    /// Sri Lanka
    Lk,
    /// St. Barthélemy
    Bl,
    /// St. Helena
    Sh,
    /// St. Kitts & Nevis
    Kn,
    /// St. Lucia
    Lc,
    /// St. Martin
    Mf,
    /// St. Pierre & Miquelon
    Pm,
    /// St. Vincent & Grenadines
    Vc,
    /// Sudan
    Sd,
    /// Suriname
    Sr,
    /// Svalbard & Jan Mayen
    Sj,
    /// Sweden
    Se,
    /// Switzerland
    Ch,
    /// Syria
    Sy,
    /// Taiwan
    Tw,
    /// Tajikistan
    Tj,
    /// Tanzania
    Tz,
    /// Thailand
    Th,
    /// Timor-Leste
    Tl,
    /// Togo
    Tg,
    /// Tokelau
    Tk,
    /// Tonga
    To,
    /// Trinidad & Tobago
    Tt,
    /// Tunisia
    Tn,
    /// Turkey
    Tr,
    /// Turkmenistan
    Tm,
    /// Turks & Caicos Islands
    Tc,
    /// Tuvalu
    Tv,
    /// Uganda
    Ug,
    /// Ukraine
    Ua,
    /// United Arab Emirates
    Ae,
    /// United Kingdom
    Gb,
    /// United States
    Us,
    /// Uruguay
    Uy,
    /// U.S. Outlying Islands
    Um,
    /// U.S. Virgin Islands
    Vi,
    /// Uzbekistan
    Uz,
    /// Vanuatu
    Vu,
    /// Vatican City
    Va,
    /// Venezuela
    Ve,
    /// Vietnam
    Vn,
    /// Wallis & Futuna
    Wf,
    /// Western Sahara
    Eh,
    /// Yemen
    Ye,
    /// Zambia
    Zm,
    /// Zimbabwe
    Zw,
}
