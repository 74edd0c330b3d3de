//! The Storefront dialect's HTTP side: its versioned routes, the storefront-token headers that
//! decide who is calling (Shopify's 401 otherwise), and the hand-off to the gate and the kit.

use super::{Storefront, StorefrontCaller};
use crate::api::kit::graphql::{finish, lookup_failed, Dialect};
use crate::api::{client_ip, parse_graphql_body, HttpResponse};
use crate::auth::storefront_tokens::{StorefrontToken, StorefrontTokenKind};
use crate::auth::StoreError;
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use warp::http::{HeaderMap, StatusCode};
use warp::Filter;

pub const PUBLIC_TOKEN_HEADER: &str = "x-shopify-storefront-access-token";
pub const PRIVATE_TOKEN_HEADER: &str = "shopify-storefront-private-token";
/// With a private token (a server-to-server context) the buyer's IP may be passed along, as
/// Shopify allows, so per-IP throttles see the shopper rather than the storefront server.
/// Ignored with a public token.
pub const BUYER_IP_HEADER: &str = "shopify-storefront-buyer-ip";

/// `YYYY-MM` (any month) or `unstable`, as in Shopify's versioned endpoint.
pub fn valid_version(version: &str) -> bool {
    if version == "unstable" {
        return true;
    }
    let b = version.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(version[5..].parse::<u8>(), Ok(1..=12))
}

/// The routes of this dialect: POST runs operations, GET shows the explorer. An unknown
/// version is a 404 whatever the method.
pub fn routes(
    state: Arc<crate::api::AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    let limit = crate::api::BodyLimits::of(&state.config.server);
    let graphiql = state.config.server.graphiql;
    let with_state = warp::any().map(move || state.clone());
    let versioned = warp::path!("api" / String / "graphql.json").and_then(|v: String| async move {
        if valid_version(&v) {
            Ok(v)
        } else {
            Err(warp::reject::not_found())
        }
    });
    let post = versioned
        .and(warp::post())
        .and(with_state)
        .and(warp::header::headers_cloned())
        .and(crate::api::remote())
        .and(warp::body::stream())
        .then(
            move |_version: String,
                  state: Arc<crate::api::AppState>,
                  headers: HeaderMap,
                  remote: Option<SocketAddr>,
                  body| {
                crate::api::boxed(async move {
                    match crate::api::read_body(body, limit).await {
                        Ok(bytes) => handle(&state, &headers, remote, bytes).await,
                        Err(e) => e.graphql(),
                    }
                })
            },
        );
    let get = versioned.and(warp::get()).map(move |v: String| {
        let endpoint = format!("/api/{v}/graphql.json");
        crate::api::explorer::page(
            graphiql,
            crate::api::explorer::Dialect::Storefront,
            &endpoint,
        )
    });
    post.or(get).unify()
}

/// Shopify's answer to a missing or unknown storefront token, byte for byte (key order
/// included, which a `serde_json::Value` would sort).
pub const UNAUTHORIZED_BODY: &str =
    r#"{"errors":[{"message":"","extensions":{"code":"UNAUTHORIZED"}}]}"#;

fn unauthorized() -> HttpResponse {
    let mut resp = warp::http::Response::new(warp::hyper::Body::from(UNAUTHORIZED_BODY));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    resp.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Why a request gets no further than its headers.
#[derive(Debug)]
pub(super) enum Refusal {
    /// Shopify's 401: no token, an unknown one, or one sent in the other kind's header.
    Unauthorized,
    Lookup(StoreError),
}

/// The token a header presents, which must exist and be of `kind`; `None` when the header is
/// absent or blank. A present value that is not text is refused like an unknown token.
async fn presented_token<F, L>(
    headers: &HeaderMap,
    name: &str,
    kind: StorefrontTokenKind,
    lookup: &F,
) -> Result<Option<StorefrontToken>, Refusal>
where
    F: Fn(String) -> L,
    L: std::future::Future<Output = Result<Option<StorefrontToken>, StoreError>>,
{
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let presented = value.to_str().map_err(|_| Refusal::Unauthorized)?.trim();
    if presented.is_empty() {
        return Ok(None);
    }
    match lookup(presented.to_string())
        .await
        .map_err(Refusal::Lookup)?
    {
        Some(token) if token.kind == kind => Ok(Some(token)),
        _ => Err(Refusal::Unauthorized),
    }
}

/// Who a request's headers say is calling. A token counts only in its own kind's header, and
/// answers the same 401 as an unknown one in the other. When both headers are sent, each must
/// hold a valid token of its kind, and the private one is the caller (its scopes, and the
/// `Shopify-Storefront-Buyer-IP` it may carry). Only a private token's Buyer-IP is believed: a
/// public token sits in browsers, so anyone may send it with any IP. Without a (readable)
/// Buyer-IP the TCP peer is the client.
pub(super) async fn caller_from_headers<F, L>(
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    lookup: F,
) -> Result<StorefrontCaller, Refusal>
where
    F: Fn(String) -> L,
    L: std::future::Future<Output = Result<Option<StorefrontToken>, StoreError>>,
{
    let public = presented_token(
        headers,
        PUBLIC_TOKEN_HEADER,
        StorefrontTokenKind::Public,
        &lookup,
    )
    .await?;
    let private = presented_token(
        headers,
        PRIVATE_TOKEN_HEADER,
        StorefrontTokenKind::Private,
        &lookup,
    )
    .await?;
    let (token, buyer_ip) = match (private, public) {
        (Some(token), _) => {
            let buyer_ip = header(headers, BUYER_IP_HEADER).and_then(|v| v.parse::<IpAddr>().ok());
            (token, buyer_ip)
        }
        (None, Some(token)) => (token, None),
        (None, None) => return Err(Refusal::Unauthorized),
    };
    Ok(StorefrontCaller {
        token,
        ip: buyer_ip.or_else(|| client_ip(remote)),
    })
}

pub async fn handle(
    state: &crate::api::AppState,
    headers: &HeaderMap,
    remote: Option<SocketAddr>,
    body: Bytes,
) -> HttpResponse {
    let started = std::time::Instant::now();
    let auth = &state.auth;
    let lookup = |t: String| async move { auth.storefront_token(&t).await };
    let caller = match caller_from_headers(headers, remote, lookup).await {
        Ok(caller) => caller,
        Err(Refusal::Unauthorized) => {
            auth.metrics
                .request(Storefront::NAME, "", "unauthenticated");
            return unauthorized();
        }
        Err(Refusal::Lookup(e)) => return lookup_failed::<Storefront>(&e),
    };
    let request = match parse_graphql_body(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let gate = &state.storefront_gate;
    let outcome = gate
        .run(request, |r| state.storefront.execute(r.data(caller)))
        .await;
    finish::<Storefront>(auth, gate, outcome, started)
}
