//! The adapter kit: what every HTTP adapter (the two GraphQL dialects, the admin REST API, the
//! console and the CLI) shares without importing one another: credentials read from headers,
//! security headers, the messages several of them answer in the same words, and (`graphql`) the
//! one turn of a gate's outcome into a GraphQL response.

pub mod graphql;
pub mod messages;

use super::{HttpResponse, RETRY_AFTER_SECONDS};
use warp::http::{header, HeaderMap, HeaderValue, StatusCode};

/// `Authorization: Bearer <token>`, scheme case-insensitive.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
        Some(token.to_string())
    } else {
        None
    }
}

/// The value of the cookie `name`, when the request carries a non-empty one.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, value)| *n == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// The headers of a page a browser renders (the console's, the explorer's): its
/// Content-Security-Policy and caching, no MIME sniffing, no referrer.
pub fn security_headers(h: &mut HeaderMap, csp: &'static str, cache_control: &'static str) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// A JSON answer to a page's script (the passkey calls of the hosted pages and the console):
/// the page's policy `csp`, never cached.
pub fn json_answer(
    status: StatusCode,
    body: &serde_json::Value,
    csp: &'static str,
) -> HttpResponse {
    let mut resp = warp::http::Response::new(warp::hyper::Body::from(body.to_string()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    security_headers(h, csp, "no-store");
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `resp` with `Retry-After`: every 503 carries it (a full hash pool, a gate timeout, the store
/// unavailable).
pub fn retry_later(mut resp: HttpResponse) -> HttpResponse {
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    resp
}

/// A timestamp as every adapter shows it (Magento's `created_at` shape, also the REST API's,
/// the CLI's and the console's): `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn timestamp(ts: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}
