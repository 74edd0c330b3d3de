//! `storekey export`: every customer as one JSON object per line, in the field names the JSON
//! Lines reader takes, with the password hash in its stored form and the passkeys with their
//! WebAuthn credentials, so an export imported into another store keeps every password and
//! passkey. Read in keyset pages from one snapshot.

use crate::model::{rfc3339, Account, CustomerId};
use crate::store::Backend as _;
use crate::store::{Store, StoreError};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};
use std::io::Write;

/// Customers read per page.
const PAGE: usize = 1000;

/// One customer's line (without the newline). `addresses` only when there are some, and
/// `passkey_handle` with `passkeys` only when there are passkeys, so the lines of customers
/// without any read as they did before addresses and passkeys existed.
pub fn line(account: &Account) -> Value {
    let c = &account.customer;
    let p = &c.profile;
    let mut line = json!({
        "id": c.id.0,
        "email": c.email,
        "firstname": p.firstname,
        "lastname": p.lastname,
        "middlename": p.middlename,
        "prefix": p.prefix,
        "suffix": p.suffix,
        "date_of_birth": p.date_of_birth,
        "gender": p.gender,
        "taxvat": p.taxvat,
        "phone": p.phone,
        "is_subscribed": p.is_subscribed,
        "confirmed": c.confirmed,
        "email_verified": c.email_verified,
        "disabled": c.disabled,
        "allow_remote_shopping_assistance": c.allow_remote_shopping_assistance,
        "tags": c.tags,
        "multipass_identifier": c.multipass_identifier,
        "created_at": rfc3339(c.created_at),
        "password_hash": account.credentials.password_hash,
    });
    let book = &account.addresses;
    if let (false, Value::Object(fields)) = (book.is_empty(), &mut line) {
        let addresses = book
            .addresses
            .iter()
            .map(|a| {
                json!({
                    "id": a.id.0,
                    "firstname": a.firstname,
                    "lastname": a.lastname,
                    "company": a.company,
                    "street": a.street,
                    "city": a.city,
                    "region": a.region,
                    "region_code": a.region_code,
                    "postcode": a.postcode,
                    "country_code": a.country_code,
                    "telephone": a.telephone,
                    "middlename": a.middlename,
                    "prefix": a.prefix,
                    "suffix": a.suffix,
                    "fax": a.fax,
                    "vat_id": a.vat_id,
                    "default_billing": book.default_billing == Some(a.id),
                    "default_shipping": book.default_shipping == Some(a.id),
                })
            })
            .collect();
        fields.insert("addresses".into(), Value::Array(addresses));
    }
    let k = &account.credentials;
    if let (false, Value::Object(fields)) = (k.passkeys.is_empty(), &mut line) {
        let handle = k.passkey_handle.map(|h| URL_SAFE_NO_PAD.encode(h));
        let passkeys = k
            .passkeys
            .iter()
            .map(|p| {
                json!({
                    "id": URL_SAFE_NO_PAD.encode(&p.id),
                    "name": p.name,
                    "created_at": rfc3339(p.created_at),
                    "last_used_at": p.last_used_at.map(rfc3339),
                    "counter": p.counter,
                    "backup_eligible": p.backup_eligible,
                    "backup_state": p.backup_state,
                    "transports": p.transports,
                    "credential": p.credential,
                })
            })
            .collect();
        fields.insert("passkey_handle".into(), json!(handle));
        fields.insert("passkeys".into(), Value::Array(passkeys));
    }
    line
}

#[derive(Debug)]
pub enum ExportError {
    Store(StoreError),
    Write(std::io::Error),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Store(e) => e.fmt(f),
            ExportError::Write(e) => write!(f, "cannot write the export: {e}"),
        }
    }
}

/// Writes every customer to `out`, in keyset pages (each page one read; a customer created
/// during the export after the last page read is not in it); `progress` is called after each
/// page with the count so far. Returns how many were written.
pub async fn export(
    store: &Store,
    out: &mut dyn Write,
    mut progress: impl FnMut(u64),
) -> Result<u64, ExportError> {
    let mut after = CustomerId(0);
    let mut written = 0u64;
    loop {
        let page = store
            .customers(after, PAGE)
            .await
            .map_err(ExportError::Store)?;
        let Some(last) = page.last() else { break };
        after = last.customer.id;
        for account in &page {
            serde_json::to_writer(&mut *out, &line(account))
                .map_err(|e| ExportError::Write(e.into()))?;
            out.write_all(b"\n").map_err(ExportError::Write)?;
            written += 1;
        }
        progress(written);
    }
    out.flush().map_err(ExportError::Write)?;
    Ok(written)
}
