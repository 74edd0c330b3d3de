//! The Login as Customer log: code issues and uses, filtered, a bounded page at a time (the
//! core's `lac_log`, typed fields, newest first) and as CSV.

use super::errors::internal;
use super::frame::{render, Frame};
use super::html;
use super::{AppState, HttpResponse, Signed};
use crate::auth::one_time::url_encode;
use crate::auth::Failure;
use crate::model::{CustomerId, LacAction, LacEntry, LacFilter};
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
    next: Option<String>,
}

/// Lines per read while writing the CSV.
const CSV_PAGE: usize = 1000;

fn day_start(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// Lines of the log page.
const PAGE_SIZE: usize = 50;

/// A query parameter, trimmed ("" when absent).
fn param(q: &HashMap<String, String>, k: &str) -> String {
    q.get(k).map(|v| v.trim().to_string()).unwrap_or_default()
}

/// The filter as asked: `None` when it names a customer email no account has (no lines).
async fn filter(
    state: &AppState,
    q: &HashMap<String, String>,
) -> Result<Option<LacFilter>, Failure> {
    let get = |k: &str| param(q, k);
    let (f_admin, f_customer) = (get("admin"), get("customer"));
    let customer = if f_customer.is_empty() {
        None
    } else if let Ok(id) = f_customer.parse::<u64>() {
        Some(CustomerId(id))
    } else {
        match state.auth.customer_by_email(&f_customer).await? {
            Some(c) => Some(c.id),
            None => return Ok(None),
        }
    };
    Ok(Some(LacFilter {
        customer,
        issued_by: Some(f_admin).filter(|a| !a.is_empty()),
        action: None,
        from: day_start(&get("from")),
        until: day_start(&get("to")).map(|t| t + 86_400),
    }))
}

fn row(e: LacEntry) -> LogRow {
    LogRow {
        time: crate::model::rfc3339(e.at),
        admin: e.issued_by,
        customer_id: e.customer.0,
        email: e.customer_email.unwrap_or_default(),
        action: match e.action {
            LacAction::Issued => "Code issued",
            LacAction::Used => "Code used",
        },
        reason: e.reason,
    }
}

/// One page of code issues and uses below `before`, newest first, that `filter` admits (none
/// for `None`): one bounded read. With it, where the next (older) page starts.
async fn log_page(
    state: &AppState,
    filter: Option<&LacFilter>,
    before: Option<u64>,
    limit: usize,
) -> Result<(Vec<LogRow>, Option<u64>), Failure> {
    let Some(filter) = filter else {
        return Ok((Vec::new(), None));
    };
    let page = state.auth.lac_log(filter, before, limit).await?;
    Ok((page.found.into_iter().map(row).collect(), page.resume))
}

/// The filters as a query string, for the CSV link and the next page.
fn filter_query(q: &HashMap<String, String>) -> String {
    let get = |k: &str| param(q, k);
    format!(
        "admin={}&customer={}&from={}&to={}",
        url_encode(&get("admin")),
        url_encode(&get("customer")),
        url_encode(&get("from")),
        url_encode(&get("to"))
    )
}

/// `GET /admin/log`.
pub(super) async fn page(
    state: &AppState,
    s: &Signed,
    q: &HashMap<String, String>,
) -> HttpResponse {
    let before = q.get("before").and_then(|b| b.trim().parse::<u64>().ok());
    let page = match filter(state, q).await {
        Ok(f) => log_page(state, f.as_ref(), before, PAGE_SIZE).await,
        Err(e) => Err(e),
    };
    let (rows, resume) = match page {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let get = |k: &str| param(q, k);
    let page = LogPage {
        frame: Frame::new("Login as Customer log", Some(s)),
        f_admin: get("admin"),
        f_customer: get("customer"),
        f_from: get("from"),
        f_to: get("to"),
        csv: format!("/admin/log.csv?{}", filter_query(q)),
        rows,
        next: resume.map(|b| format!("/admin/log?{}&before={b}", filter_query(q))),
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
    // The whole filtered log, as before: an export, read a bounded page at a time.
    // The filter is read once (a customer named by email is one lookup, not one per page).
    let filter = match filter(state, q).await {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let mut rows = Vec::new();
    let mut before = None;
    loop {
        match log_page(state, filter.as_ref(), before, CSV_PAGE).await {
            Ok((page, resume)) => {
                rows.extend(page);
                match resume {
                    Some(b) => before = Some(b),
                    None => break,
                }
            }
            Err(e) => return internal(e),
        }
    }
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
