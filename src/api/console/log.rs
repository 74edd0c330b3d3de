//! The Login as Customer log: code issues and uses from the audit log, filtered, as a page and
//! as CSV.

use super::errors::internal;
use super::frame::{render, Frame};
use super::html;
use super::{AppState, HttpResponse, Signed};
use crate::auth::one_time::url_encode;
use crate::model::CustomerId;
use askama::Template;
use std::collections::HashMap;
use warp::http::{header, HeaderValue, StatusCode};

struct LogRow {
    time: String,
    admin: String,
    customer_id: u64,
    email: String,
    action: &'static str,
    reason: String,
}

#[derive(Template)]
#[template(path = "console/log.html")]
struct LogPage {
    frame: Frame,
    f_admin: String,
    f_customer: String,
    f_from: String,
    f_to: String,
    csv: String,
    rows: Vec<LogRow>,
}

fn day_start(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// The code issues and uses, newest first, filtered as asked.
async fn log_rows(state: &AppState, q: &HashMap<String, String>) -> Result<Vec<LogRow>, String> {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let (f_admin, f_customer) = (get("admin"), get("customer"));
    let from = day_start(&get("from"));
    let to = day_start(&get("to")).map(|t| t + 86_400);
    let customer_filter: Option<u64> = if f_customer.is_empty() {
        None
    } else if let Ok(id) = f_customer.parse::<u64>() {
        Some(id)
    } else {
        match state.auth.customer_by_email(&f_customer).await {
            Ok(c) => Some(c.map_or(0, |c| c.id.0)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let mut rows = Vec::new();
    let mut emails: HashMap<u64, String> = HashMap::new();
    let mut after = 0;
    loop {
        let page = state
            .auth
            .audit_page(after, 1000)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last().map(|(seq, _)| *seq) else {
            break;
        };
        after = last;
        for (_, e) in page {
            let (action, admin, reason) = match e.action.as_str() {
                "otc_issued" => ("Code issued", e.actor.clone(), e.detail.unwrap_or_default()),
                "otc_used" => {
                    // "issued by NAME; reason: TEXT" (sign_in.rs writes it).
                    let detail = e.detail.unwrap_or_default();
                    let rest = detail.strip_prefix("issued by ").unwrap_or(&detail);
                    let (by, reason) = rest.split_once("; reason: ").unwrap_or((rest, ""));
                    ("Code used", by.to_string(), reason.to_string())
                }
                _ => continue,
            };
            let id = e.subject.map_or(0, |c| c.0);
            if (!f_admin.is_empty() && admin != f_admin)
                || customer_filter.is_some_and(|c| c != id)
                || from.is_some_and(|t| e.at < t)
                || to.is_some_and(|t| e.at >= t)
            {
                continue;
            }
            let email = match emails.get(&id) {
                Some(m) => m.clone(),
                None => {
                    let m = state
                        .auth
                        .customer(CustomerId(id))
                        .await
                        .ok()
                        .flatten()
                        .map(|c| c.email)
                        .unwrap_or_default();
                    emails.insert(id, m.clone());
                    m
                }
            };
            rows.push(LogRow {
                time: crate::model::rfc3339(e.at),
                admin,
                customer_id: id,
                email,
                action,
                reason,
            });
        }
    }
    rows.reverse();
    Ok(rows)
}

/// `GET /admin/log`.
pub(super) async fn page(
    state: &AppState,
    s: &Signed,
    q: &HashMap<String, String>,
) -> HttpResponse {
    let rows = match log_rows(state, q).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let csv = format!(
        "/admin/log.csv?admin={}&customer={}&from={}&to={}",
        url_encode(&get("admin")),
        url_encode(&get("customer")),
        url_encode(&get("from")),
        url_encode(&get("to"))
    );
    let page = LogPage {
        frame: Frame::new("Login as Customer log", Some(s)),
        f_admin: get("admin"),
        f_customer: get("customer"),
        f_from: get("from"),
        f_to: get("to"),
        csv,
        rows,
    };
    render(StatusCode::OK, &page)
}

/// One CSV field: quoted, and a leading `=`, `+`, `-` or `@` defused so a spreadsheet does not
/// run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `GET /admin/log.csv`: the same rows, for a spreadsheet.
pub(super) async fn csv(state: &AppState, q: &HashMap<String, String>) -> HttpResponse {
    let rows = match log_rows(state, q).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut out = String::from("time,admin,customer_id,customer_email,action,reason\r\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            csv_field(&r.time),
            csv_field(&r.admin),
            r.customer_id,
            csv_field(&r.email),
            csv_field(r.action),
            csv_field(&r.reason)
        ));
    }
    let mut resp = html(StatusCode::OK, out);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"login-as-customer-log.csv\""),
    );
    resp
}
