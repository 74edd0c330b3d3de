//! What an ID token and userinfo say about a customer (OIDC Core §5.1, §5.4): `sub` always,
//! then by scope: `email` → `email`, `email_verified`; `profile` → `given_name`,
//! `family_name`, `name`; `phone` → `phone_number`; `address` → `address` (the default
//! billing address, else the default shipping one, else the first). Shopify imports these
//! (claim import: name, phone, address).

use crate::model::{Account, Address};
use serde_json::{json, Map, Value};

/// `claims_supported` in discovery.
pub const SUPPORTED: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "amr",
    "email",
    "email_verified",
    "given_name",
    "family_name",
    "name",
    "phone_number",
    "address",
];

/// `sub`: the customer's number, stable for the life of the account (never the email, which
/// may change).
pub fn subject(account: &Account) -> String {
    account.customer.id.0.to_string()
}

fn has(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// The customer's claims a grant of `scope` may read, `sub` first.
pub fn customer_claims(account: &Account, scope: &str) -> Map<String, Value> {
    let c = &account.customer;
    let mut out = Map::new();
    out.insert("sub".into(), json!(subject(account)));
    if has(scope, "email") {
        out.insert("email".into(), json!(c.email));
        // Its own fact, not `confirmed` (which every self-registration gets by default and an
        // email change keeps): a relying party matches accounts by a verified email.
        out.insert("email_verified".into(), json!(c.email_verified));
    }
    if has(scope, "profile") {
        let p = &c.profile;
        if let Some(v) = &p.firstname {
            out.insert("given_name".into(), json!(v));
        }
        if let Some(v) = &p.lastname {
            out.insert("family_name".into(), json!(v));
        }
        let name: Vec<&str> = [&p.firstname, &p.lastname]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !name.is_empty() {
            out.insert("name".into(), json!(name.join(" ")));
        }
    }
    if has(scope, "phone") {
        let phone = c
            .profile
            .phone
            .as_ref()
            .or_else(|| main_address(account).and_then(|a| a.telephone.as_ref()));
        if let Some(v) = phone {
            out.insert("phone_number".into(), json!(v));
        }
    }
    if has(scope, "address") {
        if let Some(a) = main_address(account) {
            out.insert("address".into(), address_claim(a));
        }
    }
    out
}

fn main_address(account: &Account) -> Option<&Address> {
    let book = &account.addresses;
    book.default_billing
        .or(book.default_shipping)
        .and_then(|id| book.get(id))
        .or_else(|| book.addresses.first())
}

/// OIDC Core §5.1.1's address claim.
fn address_claim(a: &Address) -> Value {
    let street = a.street.join("\n");
    let mut lines: Vec<String> = Vec::new();
    if !street.is_empty() {
        lines.push(street.clone());
    }
    let city_line: Vec<&str> = [&a.postcode, &a.city]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if !city_line.is_empty() {
        lines.push(city_line.join(" "));
    }
    for part in [&a.region, &a.country_code].into_iter().flatten() {
        lines.push(part.clone());
    }
    let mut out = Map::new();
    out.insert("formatted".into(), json!(lines.join("\n")));
    if !street.is_empty() {
        out.insert("street_address".into(), json!(street));
    }
    for (key, value) in [
        ("locality", &a.city),
        (
            "region",
            &a.region_code.clone().or_else(|| a.region.clone()),
        ),
        ("postal_code", &a.postcode),
        ("country", &a.country_code),
    ] {
        if let Some(v) = value {
            out.insert(key.into(), json!(v));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AddressId, CustomerId};

    fn ann() -> Account {
        let mut a = Account::default();
        a.customer.id = CustomerId(7);
        a.customer.email = "ann@example.com".into();
        a.customer.confirmed = true;
        a.customer.email_verified = true;
        a.customer.profile.firstname = Some("Ann".into());
        a.customer.profile.lastname = Some("Lee".into());
        a.addresses.addresses.push(Address {
            id: AddressId(3),
            street: vec!["1 Main St".into(), "Apt 2".into()],
            city: Some("Austin".into()),
            region: Some("Texas".into()),
            region_code: Some("TX".into()),
            postcode: Some("78701".into()),
            country_code: Some("US".into()),
            telephone: Some("+1 512 555 0100".into()),
            ..Address::default()
        });
        a.addresses.default_billing = Some(AddressId(3));
        a
    }

    #[test]
    fn claims_follow_the_scope() {
        let a = ann();
        assert_eq!(
            Value::Object(customer_claims(&a, "openid")),
            json!({"sub": "7"})
        );
        assert_eq!(
            Value::Object(customer_claims(&a, "openid email profile phone address")),
            json!({
                "sub": "7",
                "email": "ann@example.com",
                "email_verified": true,
                "given_name": "Ann",
                "family_name": "Lee",
                "name": "Ann Lee",
                "phone_number": "+1 512 555 0100",
                "address": {
                    "formatted": "1 Main St\nApt 2\n78701 Austin\nTexas\nUS",
                    "street_address": "1 Main St\nApt 2",
                    "locality": "Austin",
                    "region": "TX",
                    "postal_code": "78701",
                    "country": "US",
                },
            })
        );
    }

    #[test]
    fn email_verified_is_its_own_fact_not_confirmed() {
        let mut a = ann();
        a.customer.email_verified = false;
        assert_eq!(
            customer_claims(&a, "openid email").get("email_verified"),
            Some(&json!(false))
        );
        a.customer.confirmed = false;
        a.customer.email_verified = true;
        assert_eq!(
            customer_claims(&a, "openid email").get("email_verified"),
            Some(&json!(true))
        );
    }
}

/// Why userinfo refuses a token (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoError {
    /// No token, or one this provider did not issue, or expired, or revoked: 401
    /// `invalid_token`.
    InvalidToken,
    Failure(crate::auth::Failure),
}

crate::auth::failure::failure_variant!(UserinfoError);

impl super::Provider {
    /// OIDC Core §5.3: the claims the token's grant may read.
    pub async fn userinfo(&self, token: &str) -> Result<Value, UserinfoError> {
        use crate::store::Backend as _;
        let result = async {
            let digest =
                crate::auth::secret::access_token_key(token).ok_or(UserinfoError::InvalidToken)?;
            let found = self.auth.store.oidc_access(&digest).await?;
            let Some((record, grant, account)) = found else {
                return Err(UserinfoError::InvalidToken);
            };
            if record.expires_at <= self.auth.now() || account.customer.disabled {
                return Err(UserinfoError::InvalidToken);
            }
            Ok(Value::Object(customer_claims(&account, &grant.scope)))
        }
        .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(UserinfoError::InvalidToken) => "invalid_token",
            Err(UserinfoError::Failure(_)) => "error",
        };
        self.auth.metrics.oidc("userinfo", outcome);
        result
    }
}
