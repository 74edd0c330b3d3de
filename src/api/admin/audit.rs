//! `GET /rest/V1/audit`: the audit log, a page at a time after a sequence number.

use super::errors::internal;
use super::{number, ok, Call, Reply};
use serde_json::{json, Value};

/// `GET /audit?after=…&limit=…` (limit 1 to 1000, default 100).
pub(super) async fn page(call: &Call<'_>) -> Reply {
    let after = number(&call.query, "after", 0)?;
    let limit = number(&call.query, "limit", 100)?.clamp(1, 1000) as usize;
    let entries = call.auth.audit_page(after, limit).await.map_err(internal)?;
    let list: Vec<Value> = entries
        .into_iter()
        .map(|(seq, e)| {
            json!({
                "at": crate::model::rfc3339(e.at),
                "actor": e.actor,
                "action": e.action,
                "customer_id": e.subject.map_or(0, |id| id.0),
                "detail": e.detail,
                "id": seq,
            })
        })
        .collect();
    ok(json!(list))
}
