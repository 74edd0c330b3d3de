//! Typed reads over any readable table: shared by [`Reader`](super::Reader) (a snapshot) and
//! [`Tx`](super::Tx) (inside a write, where the tables are opened once per batch).

use super::*;

pub fn customer(
    t: &impl ReadableTable<u64, &'static [u8]>,
    id: CustomerId,
) -> Result<Option<Account>, StoreError> {
    let found = t.get(id.0)?;
    found.map(|v| decode_customer(v.value())).transpose()
}

pub fn id_by(
    t: &impl ReadableTable<&'static str, u64>,
    key: &str,
) -> Result<Option<CustomerId>, StoreError> {
    Ok(t.get(key)?.map(|v| CustomerId(v.value())))
}

pub fn access_token(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    digest: &Digest,
) -> Result<Option<AccessTokenRecord>, StoreError> {
    let found = t.get(digest.as_slice())?;
    found
        .map(|v| AccessTokenRecord::decode(v.value()))
        .transpose()
}

pub fn customers(
    t: &impl ReadableTable<u64, &'static [u8]>,
    after: CustomerId,
    limit: usize,
) -> Result<Vec<Account>, StoreError> {
    let mut out = Vec::new();
    for entry in t.range((after.0 + 1)..)? {
        if out.len() >= limit {
            break;
        }
        let (_, v) = entry?;
        out.push(decode_customer(v.value())?);
    }
    Ok(out)
}

pub fn storefront_tokens(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
) -> Result<Vec<(Digest, StorefrontToken)>, StoreError> {
    let mut out = Vec::new();
    for entry in t.iter()? {
        let (k, v) = entry?;
        let mut d = [0u8; 32];
        // A record this build cannot read is skipped: it grants nothing.
        if let (32, Some(token)) = (
            k.value().len(),
            super::records::decode_storefront_token(v.value()),
        ) {
            d.copy_from_slice(k.value());
            out.push((d, token));
        }
    }
    Ok(out)
}

pub fn audit(
    t: &impl ReadableTable<u64, &'static [u8]>,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
    let mut out = Vec::new();
    for entry in t.range((after + 1)..)? {
        if out.len() >= limit {
            break;
        }
        let (k, v) = entry?;
        out.push((k.value(), super::records::decode_audit(v.value())?));
    }
    Ok(out)
}

/// `Backend::search_customers` over a snapshot: walks at most `examine` customers.
pub fn search_customers(
    t: &impl ReadableTable<u64, &'static [u8]>,
    term: &str,
    after: CustomerId,
    limit: usize,
    examine: usize,
) -> Result<Scanned<Account, CustomerId>, StoreError> {
    let term = term.to_lowercase();
    let (mut found, mut examined, mut edge) = (Vec::new(), 0, None);
    for entry in t.range((after.0.saturating_add(1))..)? {
        if examined >= examine || found.len() >= limit {
            break;
        }
        let (k, v) = entry?;
        examined += 1;
        edge = Some(CustomerId(k.value()));
        let account = decode_customer(v.value())?;
        if crate::model::customer_matches(&account.customer, &term) {
            found.push(account);
        }
    }
    Ok(Scanned::of(found, limit, examined, examine, edge, |a| {
        a.customer.id
    }))
}

/// `Backend::lac_log` over a snapshot: walks at most `examine` audit entries, newest first.
pub fn lac_log(
    audit: &impl ReadableTable<u64, &'static [u8]>,
    customers: &impl ReadableTable<u64, &'static [u8]>,
    filter: &crate::model::LacFilter,
    before: Option<u64>,
    limit: usize,
    examine: usize,
) -> Result<Scanned<crate::model::LacEntry, u64>, StoreError> {
    let (mut found, mut examined, mut edge) = (Vec::new(), 0, None);
    for entry in audit.range(..before.unwrap_or(u64::MAX))?.rev() {
        if examined >= examine || found.len() >= limit {
            break;
        }
        let (k, v) = entry?;
        examined += 1;
        edge = Some(k.value());
        let e = super::records::decode_audit(v.value())?;
        let (Some(action), Some(otc)) = (crate::model::LacAction::from_audit(&e.action), e.otc)
        else {
            continue;
        };
        let mut line = crate::model::LacEntry {
            seq: k.value(),
            at: e.at,
            action,
            customer: e.subject.unwrap_or(CustomerId(0)),
            customer_email: None,
            issued_by: otc.issued_by,
            reason: otc.reason,
        };
        if filter.admits(&line) {
            line.customer_email = customer(customers, line.customer)?.map(|a| a.customer.email);
            found.push(line);
        }
    }
    Ok(Scanned::of(found, limit, examined, examine, edge, |e| {
        e.seq
    }))
}
