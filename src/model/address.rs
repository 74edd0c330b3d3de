//! Customer addresses: one shape for both dialects (Adobe Commerce's `CustomerAddress`,
//! Shopify's `MailingAddress`), the customer's book of them with the default billing and
//! shipping choices (Shopify's one default is the default shipping address), and the limits
//! that keep hostile input small.

/// An address's number, as the store assigns it (unique across customers, as Magento's
/// `entity_id` is). Commerce shows it as `id` and its base64 as `uid`; the Storefront dialect
/// as `gid://shopify/MailingAddress/<id>?model_name=CustomerAddress`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddressId(pub u64);

impl std::fmt::Display for AddressId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One address. Every field is optional at rest: which ones a dialect requires is its rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub id: AddressId,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub company: Option<String>,
    /// Street lines (Magento's `street[]`; Shopify's `address1` and `address2` are the first
    /// two).
    pub street: Vec<String>,
    pub city: Option<String>,
    /// The region's (state's, province's) name.
    pub region: Option<String>,
    /// The region's code (`CA`, `ON`, `BY`).
    pub region_code: Option<String>,
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2, one of [`COUNTRIES`].
    pub country_code: Option<String>,
    pub telephone: Option<String>,
    /// Magento's name parts and tax number (the Commerce dialect reads and writes them).
    pub middlename: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub fax: Option<String>,
    pub vat_id: Option<String>,
}

/// A customer's addresses, oldest first, with the defaults (each the id of one of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressBook {
    pub addresses: Vec<Address>,
    pub default_billing: Option<AddressId>,
    pub default_shipping: Option<AddressId>,
}

impl AddressBook {
    pub fn get(&self, id: AddressId) -> Option<&Address> {
        self.addresses.iter().find(|a| a.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// Drops defaults that name no address (after a delete).
    pub fn forget_missing_defaults(&mut self) {
        let ids: Vec<AddressId> = self.addresses.iter().map(|a| a.id).collect();
        let present = |id: Option<AddressId>| id.filter(|id| ids.contains(id));
        self.default_billing = present(self.default_billing);
        self.default_shipping = present(self.default_shipping);
    }
}

/// A partial address: `None` leaves a field as it is (update) or empty (create).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressChanges {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub company: Option<String>,
    pub street: Option<Vec<String>>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub region_code: Option<String>,
    pub postcode: Option<String>,
    pub country_code: Option<String>,
    pub telephone: Option<String>,
    /// Magento's name parts and tax number (the Commerce dialect reads and writes them).
    pub middlename: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub fax: Option<String>,
    pub vat_id: Option<String>,
}

impl AddressChanges {
    /// Copies every given field into `address` (an empty string clears an optional field).
    pub fn apply(&self, address: &mut Address) {
        fn set(slot: &mut Option<String>, v: &Option<String>) {
            if let Some(v) = v {
                *slot = (!v.is_empty()).then(|| v.clone());
            }
        }
        set(&mut address.firstname, &self.firstname);
        set(&mut address.lastname, &self.lastname);
        set(&mut address.company, &self.company);
        set(&mut address.city, &self.city);
        set(&mut address.region, &self.region);
        set(&mut address.region_code, &self.region_code);
        set(&mut address.postcode, &self.postcode);
        set(&mut address.country_code, &self.country_code);
        set(&mut address.telephone, &self.telephone);
        set(&mut address.middlename, &self.middlename);
        set(&mut address.prefix, &self.prefix);
        set(&mut address.suffix, &self.suffix);
        set(&mut address.fax, &self.fax);
        set(&mut address.vat_id, &self.vat_id);
        if let Some(street) = &self.street {
            address.street = street.clone();
        }
    }

    /// The given fields with their names as Magento spells them, for the limits below.
    pub fn text_fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("firstname", &self.firstname),
            ("lastname", &self.lastname),
            ("company", &self.company),
            ("city", &self.city),
            ("region", &self.region),
            ("region_code", &self.region_code),
            ("postcode", &self.postcode),
            ("country_code", &self.country_code),
            ("telephone", &self.telephone),
            ("middlename", &self.middlename),
            ("prefix", &self.prefix),
            ("suffix", &self.suffix),
            ("fax", &self.fax),
            ("vat_id", &self.vat_id),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (name, v)))
    }
}

/// Most addresses one customer may keep. Shopify documents none for the Storefront API; 100
/// keeps one customer's record (stored and read whole) small whatever a client sends.
pub const MAX_ADDRESSES: usize = 100;
/// Most characters in one text field of an address or a profile (Magento's columns are
/// `varchar(255)`).
pub const MAX_FIELD_CHARS: usize = 255;
/// Most street lines (Magento's `customer/address/street_lines` allows up to 20; 4 is its
/// common storefront maximum and covers Shopify's two).
pub const MAX_STREET_LINES: usize = 4;

/// The English name of an ISO 3166-1 alpha-2 code Magento's `CountryCodeEnum` has.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// The code of a country given by code (any case) or by its English name.
pub fn country_code(code_or_name: &str) -> Option<&'static str> {
    let given = code_or_name.trim();
    COUNTRIES
        .iter()
        .find(|(c, name)| c.eq_ignore_ascii_case(given) || name.eq_ignore_ascii_case(given))
        .map(|(c, _)| *c)
}

/// Magento's `CountryCodeEnum` (ISO 3166-1 alpha-2, in its order) with its English names.
pub const COUNTRIES: &[(&str, &str)] = &[
    ("AF", "Afghanistan"),
    ("AX", "Åland Islands"),
    ("AL", "Albania"),
    ("DZ", "Algeria"),
    ("AS", "American Samoa"),
    ("AD", "Andorra"),
    ("AO", "Angola"),
    ("AI", "Anguilla"),
    ("AQ", "Antarctica"),
    ("AG", "Antigua & Barbuda"),
    ("AR", "Argentina"),
    ("AM", "Armenia"),
    ("AW", "Aruba"),
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("AZ", "Azerbaijan"),
    ("BS", "Bahamas"),
    ("BH", "Bahrain"),
    ("BD", "Bangladesh"),
    ("BB", "Barbados"),
    ("BY", "Belarus"),
    ("BE", "Belgium"),
    ("BZ", "Belize"),
    ("BJ", "Benin"),
    ("BM", "Bermuda"),
    ("BT", "Bhutan"),
    ("BO", "Bolivia"),
    ("BA", "Bosnia & Herzegovina"),
    ("BW", "Botswana"),
    ("BV", "Bouvet Island"),
    ("BR", "Brazil"),
    ("IO", "British Indian Ocean Territory"),
    ("VG", "British Virgin Islands"),
    ("BN", "Brunei"),
    ("BG", "Bulgaria"),
    ("BF", "Burkina Faso"),
    ("BI", "Burundi"),
    ("KH", "Cambodia"),
    ("CM", "Cameroon"),
    ("CA", "Canada"),
    ("CV", "Cape Verde"),
    ("KY", "Cayman Islands"),
    ("CF", "Central African Republic"),
    ("TD", "Chad"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CX", "Christmas Island"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CO", "Colombia"),
    ("KM", "Comoros"),
    ("CG", "Congo-Brazzaville"),
    ("CD", "Congo-Kinshasa"),
    ("CK", "Cook Islands"),
    ("CR", "Costa Rica"),
    ("CI", "Côte d’Ivoire"),
    ("HR", "Croatia"),
    ("CU", "Cuba"),
    ("CY", "Cyprus"),
    ("CZ", "Czech Republic"),
    ("DK", "Denmark"),
    ("DJ", "Djibouti"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("EC", "Ecuador"),
    ("EG", "Egypt"),
    ("SV", "El Salvador"),
    ("GQ", "Equatorial Guinea"),
    ("ER", "Eritrea"),
    ("EE", "Estonia"),
    ("SZ", "Eswatini"),
    ("ET", "Ethiopia"),
    ("FK", "Falkland Islands"),
    ("FO", "Faroe Islands"),
    ("FJ", "Fiji"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GF", "French Guiana"),
    ("PF", "French Polynesia"),
    ("TF", "French Southern Territories"),
    ("GA", "Gabon"),
    ("GM", "Gambia"),
    ("GE", "Georgia"),
    ("DE", "Germany"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GR", "Greece"),
    ("GL", "Greenland"),
    ("GD", "Grenada"),
    ("GP", "Guadeloupe"),
    ("GU", "Guam"),
    ("GT", "Guatemala"),
    ("GG", "Guernsey"),
    ("GN", "Guinea"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HT", "Haiti"),
    ("HM", "Heard & McDonald Islands"),
    ("HN", "Honduras"),
    ("HK", "Hong Kong SAR China"),
    ("HU", "Hungary"),
    ("IS", "Iceland"),
    ("IN", "India"),
    ("ID", "Indonesia"),
    ("IR", "Iran"),
    ("IQ", "Iraq"),
    ("IE", "Ireland"),
    ("IM", "Isle of Man"),
    ("IL", "Israel"),
    ("IT", "Italy"),
    ("JM", "Jamaica"),
    ("JP", "Japan"),
    ("JE", "Jersey"),
    ("JO", "Jordan"),
    ("KZ", "Kazakhstan"),
    ("KE", "Kenya"),
    ("KI", "Kiribati"),
    ("KW", "Kuwait"),
    ("KG", "Kyrgyzstan"),
    ("LA", "Laos"),
    ("LV", "Latvia"),
    ("LB", "Lebanon"),
    ("LS", "Lesotho"),
    ("LR", "Liberia"),
    ("LY", "Libya"),
    ("LI", "Liechtenstein"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("MO", "Macau SAR China"),
    ("MK", "Macedonia"),
    ("MG", "Madagascar"),
    ("MW", "Malawi"),
    ("MY", "Malaysia"),
    ("MV", "Maldives"),
    ("ML", "Mali"),
    ("MT", "Malta"),
    ("MH", "Marshall Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MU", "Mauritius"),
    ("YT", "Mayotte"),
    ("MX", "Mexico"),
    ("FM", "Micronesia"),
    ("MD", "Moldova"),
    ("MC", "Monaco"),
    ("MN", "Mongolia"),
    ("ME", "Montenegro"),
    ("MS", "Montserrat"),
    ("MA", "Morocco"),
    ("MZ", "Mozambique"),
    ("MM", "Myanmar (Burma)"),
    ("NA", "Namibia"),
    ("NR", "Nauru"),
    ("NP", "Nepal"),
    ("NL", "Netherlands"),
    ("AN", "Netherlands Antilles"),
    ("NC", "New Caledonia"),
    ("NZ", "New Zealand"),
    ("NI", "Nicaragua"),
    ("NE", "Niger"),
    ("NG", "Nigeria"),
    ("NU", "Niue"),
    ("NF", "Norfolk Island"),
    ("MP", "Northern Mariana Islands"),
    ("KP", "North Korea"),
    ("NO", "Norway"),
    ("OM", "Oman"),
    ("PK", "Pakistan"),
    ("PW", "Palau"),
    ("PS", "Palestinian Territories"),
    ("PA", "Panama"),
    ("PG", "Papua New Guinea"),
    ("PY", "Paraguay"),
    ("PE", "Peru"),
    ("PH", "Philippines"),
    ("PN", "Pitcairn Islands"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RU", "Russia"),
    ("RW", "Rwanda"),
    ("WS", "Samoa"),
    ("SM", "San Marino"),
    ("ST", "São Tomé & Príncipe"),
    ("SA", "Saudi Arabia"),
    ("SN", "Senegal"),
    ("RS", "Serbia"),
    ("SC", "Seychelles"),
    ("SL", "Sierra Leone"),
    ("SG", "Singapore"),
    ("SK", "Slovakia"),
    ("SI", "Slovenia"),
    ("SB", "Solomon Islands"),
    ("SO", "Somalia"),
    ("ZA", "South Africa"),
    ("GS", "South Georgia & South Sandwich Islands"),
    ("KR", "South Korea"),
    ("ES", "Spain"),
    ("LK", "Sri Lanka"),
    ("BL", "St. Barthélemy"),
    ("SH", "St. Helena"),
    ("KN", "St. Kitts & Nevis"),
    ("LC", "St. Lucia"),
    ("MF", "St. Martin"),
    ("PM", "St. Pierre & Miquelon"),
    ("VC", "St. Vincent & Grenadines"),
    ("SD", "Sudan"),
    ("SR", "Suriname"),
    ("SJ", "Svalbard & Jan Mayen"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("SY", "Syria"),
    ("TW", "Taiwan"),
    ("TJ", "Tajikistan"),
    ("TZ", "Tanzania"),
    ("TH", "Thailand"),
    ("TL", "Timor-Leste"),
    ("TG", "Togo"),
    ("TK", "Tokelau"),
    ("TO", "Tonga"),
    ("TT", "Trinidad & Tobago"),
    ("TN", "Tunisia"),
    ("TR", "Turkey"),
    ("TM", "Turkmenistan"),
    ("TC", "Turks & Caicos Islands"),
    ("TV", "Tuvalu"),
    ("UG", "Uganda"),
    ("UA", "Ukraine"),
    ("AE", "United Arab Emirates"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
    ("UY", "Uruguay"),
    ("UM", "U.S. Outlying Islands"),
    ("VI", "U.S. Virgin Islands"),
    ("UZ", "Uzbekistan"),
    ("VU", "Vanuatu"),
    ("VA", "Vatican City"),
    ("VE", "Venezuela"),
    ("VN", "Vietnam"),
    ("WF", "Wallis & Futuna"),
    ("EH", "Western Sahara"),
    ("YE", "Yemen"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_found_by_code_or_name() {
        assert_eq!(country_name("US"), Some("United States"));
        assert_eq!(country_code("us"), Some("US"));
        assert_eq!(country_code("Canada"), Some("CA"));
        assert_eq!(country_code("XX"), None);
        assert_eq!(COUNTRIES.len(), 245);
    }

    #[test]
    fn changes_fill_and_clear_fields() {
        let mut a = Address {
            company: Some("Acme".into()),
            ..Address::default()
        };
        AddressChanges {
            city: Some("Austin".into()),
            company: Some(String::new()),
            street: Some(vec!["1 Main St".into()]),
            ..AddressChanges::default()
        }
        .apply(&mut a);
        assert_eq!(a.city.as_deref(), Some("Austin"));
        assert_eq!(a.company, None);
        assert_eq!(a.street, vec!["1 Main St".to_string()]);
    }

    #[test]
    fn defaults_naming_a_deleted_address_are_dropped() {
        let mut book = AddressBook {
            addresses: vec![Address {
                id: AddressId(2),
                ..Address::default()
            }],
            default_billing: Some(AddressId(1)),
            default_shipping: Some(AddressId(2)),
        };
        book.forget_missing_defaults();
        assert_eq!(book.default_billing, None);
        assert_eq!(book.default_shipping, Some(AddressId(2)));
    }
}
