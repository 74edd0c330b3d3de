//! Customer addresses: the whole use cases both dialects call (read the book, create, update,
//! delete, choose the defaults). The core holds every input to the limits (field length,
//! street lines, a country from the list) before the store is asked, and the store counts the
//! addresses inside the same commit that adds one. Which fields are required, and the words
//! of every refusal, are each dialect's.

use super::*;
use crate::model::{
    country_code, AddressBook, AddressChanges, AddressId, MAX_ADDRESSES, MAX_FIELD_CHARS,
    MAX_STREET_LINES,
};
use crate::store::Backend as _;
use crate::store::{AddressOutcome, NewAddressDefaults};

/// Why an address use case refused (or failed).
#[derive(Debug)]
pub enum AddressError {
    /// The signed-in customer is gone.
    CustomerNotFound,
    /// No address of this customer has this id: none at all, or another customer's. One
    /// answer for both, so a customer cannot learn which ids are someone else's address.
    NotFound,
    /// The customer has [`MAX_ADDRESSES`] already.
    TooMany,
    /// A delete that keeps defaults, of the default billing / shipping address.
    DefaultBilling,
    DefaultShipping,
    /// A field longer than [`MAX_FIELD_CHARS`] (Magento's name of the field).
    TooLong(&'static str),
    /// More than [`MAX_STREET_LINES`] street lines.
    TooManyStreetLines,
    /// A country code that is not in the list.
    UnknownCountry(String),
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(AddressError);

/// A committed address edit: the customer's book as it now is, and the address concerned.
#[derive(Debug, Clone)]
pub struct AddressEdited {
    pub book: AddressBook,
    pub id: AddressId,
}

/// Trims every given field, turns the country code to upper case, and checks the limits.
fn checked(mut changes: AddressChanges) -> Result<AddressChanges, AddressError> {
    for slot in [
        &mut changes.firstname,
        &mut changes.lastname,
        &mut changes.company,
        &mut changes.city,
        &mut changes.region,
        &mut changes.region_code,
        &mut changes.postcode,
        &mut changes.country_code,
        &mut changes.telephone,
        &mut changes.middlename,
        &mut changes.prefix,
        &mut changes.suffix,
        &mut changes.fax,
        &mut changes.vat_id,
    ]
    .into_iter()
    .flatten()
    {
        *slot = slot.trim().to_owned();
    }
    if let Some(street) = &mut changes.street {
        if street.len() > MAX_STREET_LINES {
            return Err(AddressError::TooManyStreetLines);
        }
        for line in street.iter_mut() {
            *line = line.trim().to_owned();
            if line.chars().count() > MAX_FIELD_CHARS {
                return Err(AddressError::TooLong("street"));
            }
        }
        // Trailing empty lines are not lines (Shopify's empty `address2`).
        while street.last().is_some_and(|l| l.is_empty()) {
            street.pop();
        }
    }
    if let Some((name, _)) = changes
        .text_fields()
        .find(|(_, v)| v.chars().count() > MAX_FIELD_CHARS)
    {
        return Err(AddressError::TooLong(name));
    }
    if let Some(code) = &mut changes.country_code {
        if !code.is_empty() {
            match country_code(code).filter(|c| c.eq_ignore_ascii_case(code)) {
                Some(known) => *code = known.to_owned(),
                None => return Err(AddressError::UnknownCountry(code.clone())),
            }
        }
    }
    Ok(changes)
}

fn edited(outcome: AddressOutcome) -> Result<AddressEdited, AddressError> {
    match outcome {
        AddressOutcome::Done(book, id) => Ok(AddressEdited { book: *book, id }),
        AddressOutcome::CustomerNotFound => Err(AddressError::CustomerNotFound),
        AddressOutcome::NotFound | AddressOutcome::NotYours => Err(AddressError::NotFound),
        AddressOutcome::TooMany => Err(AddressError::TooMany),
        AddressOutcome::DefaultBilling => Err(AddressError::DefaultBilling),
        AddressOutcome::DefaultShipping => Err(AddressError::DefaultShipping),
    }
}

impl Auth {
    /// The customer's addresses; an empty book when the customer is gone.
    pub async fn addresses(&self, customer: CustomerId) -> Result<AddressBook, StoreError> {
        Ok(self
            .store
            .customer(customer)
            .await?
            .map(|a| a.addresses)
            .unwrap_or_default())
    }

    /// Adds an address to the customer's book.
    pub async fn create_address(
        &self,
        customer: CustomerId,
        fields: AddressChanges,
        defaults: NewAddressDefaults,
    ) -> Result<AddressEdited, AddressError> {
        let mut address = crate::model::Address::default();
        checked(fields)?.apply(&mut address);
        let outcome = self
            .store
            .create_address(customer, address, defaults, MAX_ADDRESSES)
            .await?;
        edited(outcome)
    }

    /// Changes the given fields of one of the customer's addresses, and with `Some` whether
    /// it is a default.
    pub async fn update_address(
        &self,
        customer: CustomerId,
        id: AddressId,
        changes: AddressChanges,
        default_billing: Option<bool>,
        default_shipping: Option<bool>,
    ) -> Result<AddressEdited, AddressError> {
        let changes = checked(changes)?;
        let outcome = self
            .store
            .update_address(customer, id, changes, default_billing, default_shipping)
            .await?;
        edited(outcome)
    }

    /// Deletes one of the customer's addresses; with `keep_defaults` (Magento) a default one
    /// is refused, without (Shopify) the default it was is cleared.
    pub async fn delete_address(
        &self,
        customer: CustomerId,
        id: AddressId,
        keep_defaults: bool,
    ) -> Result<AddressEdited, AddressError> {
        let outcome = self
            .store
            .delete_address(customer, id, keep_defaults)
            .await?;
        edited(outcome)
    }

    /// Makes one of the customer's addresses the default billing and/or shipping one.
    pub async fn set_default_address(
        &self,
        customer: CustomerId,
        id: AddressId,
        billing: bool,
        shipping: bool,
    ) -> Result<AddressEdited, AddressError> {
        let outcome = self
            .store
            .set_default_address(customer, id, billing, shipping)
            .await?;
        edited(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_and_held_to_the_limits() {
        let ok = checked(AddressChanges {
            city: Some("  Austin ".into()),
            country_code: Some("us".into()),
            street: Some(vec![" 1 Main St ".into(), "".into()]),
            ..AddressChanges::default()
        })
        .unwrap();
        assert_eq!(ok.city.as_deref(), Some("Austin"));
        assert_eq!(ok.country_code.as_deref(), Some("US"));
        assert_eq!(ok.street, Some(vec!["1 Main St".to_string()]));
        let long = "x".repeat(MAX_FIELD_CHARS + 1);
        assert!(matches!(
            checked(AddressChanges {
                company: Some(long.clone()),
                ..AddressChanges::default()
            }),
            Err(AddressError::TooLong("company"))
        ));
        assert!(matches!(
            checked(AddressChanges {
                street: Some(vec!["1".into(); MAX_STREET_LINES + 1]),
                ..AddressChanges::default()
            }),
            Err(AddressError::TooManyStreetLines)
        ));
        assert!(matches!(
            checked(AddressChanges {
                country_code: Some("Canada".into()),
                ..AddressChanges::default()
            }),
            Err(AddressError::UnknownCountry(c)) if c == "Canada"
        ));
    }
}
