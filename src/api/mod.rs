//! HTTP surface: warp routes, request limits, the explorer page, health and metrics. The
//! dialect modules turn GraphQL fields into calls on the sign-in core; this module only moves
//! bytes and enforces the transport rules of SPEC §4 (POST only, body limit, no batches).

pub mod account;
pub mod admin;
pub mod commerce;
pub mod console;
pub mod explorer;
pub mod gate;
pub mod kit;
pub mod oidc;
pub mod storefront;

use crate::auth::Auth;
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use warp::http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use warp::hyper::Body;
use warp::Filter;

pub type HttpResponse = Response<Body>;

/// Everything a request handler needs; one per server.
pub struct AppState {
    pub auth: Arc<Auth>,
    /// The HTTP layer's own settings (limits, explorer, cookie, backups directory).
    pub config: Arc<crate::config::Config>,
    pub commerce: commerce::CommerceSchema,
    /// The Commerce schema with graphql-php's validation wording, for requests that failed
    /// validation on `commerce` (see `commerce::build_wording_schema`).
    pub commerce_wording: commerce::CommerceSchema,
    pub storefront: storefront::StorefrontSchema,
    pub commerce_gate: Arc<gate::Gate>,
    pub storefront_gate: Arc<gate::Gate>,
    /// The OpenID Connect provider; `None` when `oidc.enabled` is off (its paths answer 404).
    pub oidc: Option<Arc<crate::auth::oidc::Provider>>,
}

impl AppState {
    /// The HTTP layer reads its own settings from `config`; the core keeps its rules as
    /// `auth.policy`.
    pub fn new(auth: Arc<Auth>, config: Arc<crate::config::Config>) -> Arc<AppState> {
        Self::with_oidc(auth, config, None)
    }

    /// The state with the OpenID Connect provider (`server::start` opens it once the listener
    /// is bound: its issuer defaults to the bound address).
    pub fn with_oidc(
        auth: Arc<Auth>,
        config: Arc<crate::config::Config>,
        oidc: Option<Arc<crate::auth::oidc::Provider>>,
    ) -> Arc<AppState> {
        let server = &config.server;
        let commerce = commerce::build_schema(&auth, server);
        let commerce_wording = commerce::build_wording_schema(&auth, server);
        let storefront = storefront::build_schema(&auth, server);
        let commerce_gate = Arc::new(gate::Gate::new(server, &commerce.sdl()));
        let storefront_gate = Arc::new(gate::Gate::new(server, &storefront.sdl()));
        Arc::new(AppState {
            auth,
            config,
            commerce,
            commerce_wording,
            storefront,
            commerce_gate,
            storefront_gate,
            oidc,
        })
    }
}

/// All routes of the service, without CORS.
pub fn routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = Infallible> + Clone {
    let graphql = graphql_routes(state.clone());
    assemble(state, graphql)
}

/// All routes of the service, with CORS for `server.cors_origins` on the GraphQL endpoints
/// only: the console, the REST API, metrics and health never answer a cross-origin request
/// (preflight included) with an allowance, so a script on a storefront origin cannot use an
/// admin's console cookie.
pub fn routes_with_cors(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = Infallible> + Clone {
    let cors = graphql_cors(&state.config.server.cors_origins);
    // warp's CORS filter answers a preflight before the filter it wraps looks at the path, so
    // the path is checked first (without consuming it).
    let graphql_path = warp::path::peek()
        .and_then(|path: warp::path::Peek| async move {
            if is_graphql_path(path.as_str()) {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        })
        .untuple_one();
    let graphql = graphql_path
        .and(graphql_routes(state.clone()).with(cors))
        .map(warp::Reply::into_response);
    assemble(state, graphql)
}

/// The headers Magento storefronts (Venia, Alokai, Adobe's drop-ins) and Shopify clients
/// send, and credentials (the session cookie, `credentials: 'include'`) for `origins` only; a
/// request from any other origin gets no allowance (403).
fn graphql_cors(origins: &[String]) -> warp::cors::Builder {
    warp::cors()
        .allow_origins(origins.iter().map(String::as_str))
        .allow_methods(["GET", "POST", "OPTIONS"])
        .allow_headers([
            "accept",
            "authorization",
            "content-type",
            "content-currency",
            "store",
            "x-magento-cache-id",
            "x-recaptcha",
            "x-requested-with",
            "apollo-require-preflight",
            "x-apollo-operation-name",
            "x-shopify-storefront-access-token",
        ])
        .allow_credentials(true)
}

/// Whether `path` (the request path without its leading `/`) is one of the GraphQL endpoints:
/// Commerce's `graphql` or the Storefront's `api/{version}/graphql.json`.
fn is_graphql_path(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["graphql"] => true,
        ["api", version, "graphql.json"] => storefront::valid_version(version),
        _ => false,
    }
}

/// The GraphQL endpoints of both dialects (POST and GET), the only routes CORS may cover.
fn graphql_routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    let with_state = with_state(state.clone());
    let limit = BodyLimits::of(&state.config.server);
    let graphiql = state.config.server.graphiql;

    let commerce_post = warp::path("graphql")
        .and(warp::path::end())
        .and(warp::post())
        .and(with_state.clone())
        .and(warp::header::headers_cloned())
        .and(remote())
        .and(warp::body::stream())
        .then(
            move |state: Arc<AppState>, headers: HeaderMap, remote: Option<SocketAddr>, body| {
                boxed(async move {
                    match read_body(body, limit).await {
                        Ok(bytes) => commerce::handle(&state, &headers, remote, bytes).await,
                        Err(e) => e.graphql(),
                    }
                })
            },
        );
    let commerce_get = warp::path("graphql")
        .and(warp::path::end())
        .and(warp::get())
        .and(with_state.clone())
        .and(warp::header::headers_cloned())
        .and(remote())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .then(
            move |state: Arc<AppState>,
                  headers: HeaderMap,
                  remote: Option<SocketAddr>,
                  query: String| {
                boxed(async move {
                    match parse_graphql_query_string(&query, limit.bytes) {
                        Ok(Some(request)) => {
                            commerce::handle_get(&state, &headers, remote, request).await
                        }
                        Ok(None) => {
                            explorer::page(graphiql, explorer::Dialect::Commerce, "/graphql")
                        }
                        Err(resp) => *resp,
                    }
                })
            },
        );
    commerce_post
        .or(commerce_get)
        .unify()
        .or(storefront::routes(state))
        .unify()
}

/// `graphql` (the GraphQL endpoints, with or without CORS) and every other route.
fn assemble<G>(
    state: Arc<AppState>,
    graphql: G,
) -> impl Filter<Extract = (HttpResponse,), Error = Infallible> + Clone
where
    G: Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone + Send + Sync + 'static,
{
    let graphiql = state.config.server.graphiql;
    let routes = graphql
        .or(admin_route(state.clone()))
        .unify()
        .or(console_route(state.clone()))
        .unify()
        .or(oidc_route(state.clone()))
        .unify()
        .or(healthz(state.clone()))
        .unify()
        .or(metrics(state))
        .unify()
        .or(explorer::assets(graphiql))
        .unify();
    routes.recover(handle_rejection).unify()
}

/// The filter handing every request the server's state.
fn with_state(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Arc<AppState>,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// The admin REST API under `/rest/V1/`.
fn admin_route(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    let limit = BodyLimits::of(&state.config.server);
    warp::path("rest")
        .and(warp::path("V1"))
        .and(warp::path::tail())
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(with_state(state))
        .and(warp::body::stream())
        .then(
            move |tail: warp::path::Tail,
                  method: warp::http::Method,
                  query: String,
                  headers: HeaderMap,
                  state: Arc<AppState>,
                  body| {
                boxed(async move {
                    match read_body(body, limit).await {
                        Ok(bytes) => {
                            admin::handle(&state, method, tail.as_str(), &query, &headers, &bytes)
                                .await
                        }
                        Err(e) => e.rest(),
                    }
                })
            },
        )
}

/// The admin console under `/admin`.
fn console_route(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    let limit = BodyLimits::of(&state.config.server);
    warp::path("admin")
        .and(warp::path::tail())
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(remote())
        .and(with_state(state))
        .and(warp::body::stream())
        .then(
            move |tail: warp::path::Tail,
                  method: warp::http::Method,
                  query: String,
                  headers: HeaderMap,
                  remote: Option<SocketAddr>,
                  state: Arc<AppState>,
                  body| {
                boxed(async move {
                    match read_body(body, limit).await {
                        Ok(bytes) => {
                            console::handle(
                                &state,
                                method,
                                tail.as_str(),
                                &query,
                                &headers,
                                remote,
                                bytes,
                            )
                            .await
                        }
                        Err(e) => e.rest(),
                    }
                })
            },
        )
}

/// The OpenID Connect provider (`/.well-known/…`, `/oauth/…`) and the hosted pages
/// (`/account/…`).
fn oidc_route(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    let limit = BodyLimits::of(&state.config.server);
    warp::path::full()
        .and_then(|path: warp::path::FullPath| async move {
            if oidc::serves(path.as_str()) {
                Ok(path)
            } else {
                Err(warp::reject::not_found())
            }
        })
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(remote())
        .and(with_state(state))
        .and(warp::body::stream())
        .then(
            move |path: warp::path::FullPath,
                  method: warp::http::Method,
                  query: String,
                  headers: HeaderMap,
                  remote: Option<SocketAddr>,
                  state: Arc<AppState>,
                  body| {
                boxed(async move {
                    match read_body(body, limit).await {
                        Ok(bytes) => {
                            oidc::handle(
                                &state,
                                method,
                                path.as_str(),
                                &query,
                                &headers,
                                remote,
                                bytes,
                            )
                            .await
                        }
                        Err(e) => e.rest(),
                    }
                })
            },
        )
}

/// 404 in the shape of every other unknown path.
pub fn rest_not_found() -> HttpResponse {
    json_response(StatusCode::NOT_FOUND, &json!({ "message": "Not found." }))
}

/// `GET /healthz`: 200 while the store answers, else 503.
fn healthz(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    warp::path("healthz")
        .and(warp::path::end())
        .and(warp::get())
        .and(with_state(state))
        .then(|state: Arc<AppState>| {
            boxed(async move {
                match state.auth.healthy().await {
                    true => text_response(StatusCode::OK, "ok", "text/plain; charset=utf-8"),
                    false => text_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "database unavailable",
                        "text/plain; charset=utf-8",
                    ),
                }
            })
        })
}

/// `GET /metrics`, for an admin key.
fn metrics(
    state: Arc<AppState>,
) -> impl Filter<Extract = (HttpResponse,), Error = warp::Rejection> + Clone {
    warp::path("metrics")
        .and(warp::path::end())
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::headers_cloned())
        .map(|state: Arc<AppState>, headers: HeaderMap| {
            // Admin-only: counters move with what customers do, and an anonymous reader could
            // learn from them which emails have accounts. Prometheus sends the key with
            // `authorization: { credentials: <admin key> }`.
            if kit::bearer(&headers)
                .and_then(|k| state.auth.admin_key_name(&k))
                .is_none()
            {
                return admin::unauthorized();
            }
            state.auth.refresh_gauges();
            text_response(
                StatusCode::OK,
                &state.auth.metrics.encode(),
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
        })
}

/// A route handler's future, boxed: the route futures stay a pointer wide, so hyper and warp
/// move a pointer instead of copying a state machine of many kilobytes several times per
/// request (callgrind showed memcpy as the largest single cost of an authenticated query).
fn boxed(
    handler: impl std::future::Future<Output = HttpResponse> + Send + 'static,
) -> futures_util::future::BoxFuture<'static, HttpResponse> {
    Box::pin(handler)
}

/// The client's TCP peer, which `server.rs` puts in each request's extensions (hyper's own
/// server builder is used for its header timeout, and warp's `addr::remote` only works under
/// `warp::serve`).
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// The filter giving the client's address, when known.
pub fn remote() -> impl Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Clone {
    warp::ext::optional::<PeerAddr>().map(|p: Option<PeerAddr>| p.map(|p| p.0))
}

/// How much body a request may send, and how long it may take to send it.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub bytes: usize,
    pub timeout: Duration,
}

impl BodyLimits {
    pub fn of(server: &crate::config::ServerConfig) -> BodyLimits {
        BodyLimits {
            bytes: server.body_limit_bytes,
            timeout: Duration::from_secs(server.request_timeout_seconds),
        }
    }
}

/// Why a request body was not read; each API answers it in its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge(usize),
    Unreadable,
    TimedOut(Duration),
}

impl BodyError {
    fn status(self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable => StatusCode::BAD_REQUEST,
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn message(self) -> String {
        match self {
            BodyError::TooLarge(limit) => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            BodyError::Unreadable => "The request body could not be read.".to_string(),
            BodyError::TimedOut(t) => format!(
                "The request body was not received within {} seconds.",
                t.as_secs()
            ),
        }
    }

    /// A slow body leaves unread bytes on the connection: close it rather than read on.
    fn finish(self, mut resp: HttpResponse) -> HttpResponse {
        if matches!(self, BodyError::TimedOut(_)) {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }

    /// The GraphQL endpoints' shape.
    pub fn graphql(self) -> HttpResponse {
        self.finish(graphql_error_response(self.status(), &self.message()))
    }

    /// The admin REST API's shape (SPEC §7): `{"message": "..."}`.
    pub fn rest(self) -> HttpResponse {
        self.finish(json_response(
            self.status(),
            &json!({ "message": self.message() }),
        ))
    }
}

/// Reads a request body, refusing it once it passes `limits.bytes`, whether or not the client
/// sent a Content-Length, or once it has taken longer than `limits.timeout`.
pub async fn read_body<S, B>(body: S, limits: BodyLimits) -> Result<Bytes, BodyError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    tokio::time::timeout(limits.timeout, read_body_within(body, limits.bytes))
        .await
        .unwrap_or(Err(BodyError::TimedOut(limits.timeout)))
}

async fn read_body_within<S, B>(body: S, limit: usize) -> Result<Bytes, BodyError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut body = body;
    let mut out = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if out.len() + chunk.remaining() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            out.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(out.freeze())
}

async fn handle_rejection(rejection: warp::Rejection) -> Result<HttpResponse, Infallible> {
    let (status, message) = if rejection.find::<warp::cors::CorsForbidden>().is_some() {
        (
            StatusCode::FORBIDDEN,
            "Cross-origin request refused: the origin, method or a header is not allowed.",
        )
    } else if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "Not found.")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed: GraphQL operations run over POST.",
        )
    } else {
        (StatusCode::BAD_REQUEST, "Bad request.")
    };
    Ok(json_response(status, &json!({ "message": message })))
}

pub fn json_response(status: StatusCode, value: &impl serde::Serialize) -> HttpResponse {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `Retry-After` of every 503 (a full hash pool, a gate timeout, the store unavailable): a
/// database outage is over when PostgreSQL accepts connections again, and the pool reconnects
/// on the next request.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// A GraphQL-shaped error for failures before execution (bad JSON, too large, batches).
pub fn graphql_error_response(status: StatusCode, message: &str) -> HttpResponse {
    json_response(
        status,
        &json!({ "errors": [{ "message": message, "extensions": { "category": "graphql-input" } }] }),
    )
}

fn text_response(status: StatusCode, body: &str, content_type: &'static str) -> HttpResponse {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Parses a GraphQL-over-HTTP body: one JSON object. Arrays (batches) and non-JSON are refused
/// with a 400 before anything runs.
pub fn parse_graphql_body(bytes: &[u8]) -> Result<async_graphql::Request, Box<HttpResponse>> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| {
        Box::new(graphql_error_response(
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON.",
        ))
    })?;
    if value.is_array() {
        return Err(Box::new(graphql_error_response(
            StatusCode::BAD_REQUEST,
            "Batched requests are not supported: send one operation per request.",
        )));
    }
    serde_json::from_value::<async_graphql::Request>(value).map_err(|_| {
        Box::new(graphql_error_response(
            StatusCode::BAD_REQUEST,
            "The request body must be a JSON object with a \"query\" string.",
        ))
    })
}

/// Parses a GraphQL-over-HTTP GET: `query`, `operationName`, and `variables` / `extensions` as
/// JSON, form-encoded (`+` is a space: Venia's fetch re-encodes the URL with `URLSearchParams`,
/// and Apollo's `encodeURIComponent` sends a literal `+` as `%2B`, so both decode alike).
/// `Ok(None)` when there is no `query` (the explorer is served instead). A query string longer
/// than the body limit is refused with 414: the GET carries its document where a POST's body
/// would, so the same bound applies.
pub fn parse_graphql_query_string(
    raw: &str,
    limit: usize,
) -> Result<Option<async_graphql::Request>, Box<HttpResponse>> {
    let refuse =
        |status: StatusCode, message: &str| Box::new(graphql_error_response(status, message));
    if raw.len() > limit {
        return Err(refuse(
            StatusCode::URI_TOO_LONG,
            &format!(
                "The query string is longer than the limit of {limit} bytes (server.body_limit_bytes)."
            ),
        ));
    }
    const NAMES: [&str; 4] = ["query", "operationName", "variables", "extensions"];
    let mut found: [Option<String>; 4] = Default::default();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        let (Some(key), Some(value)) = (decode(key), decode(value)) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "The query string is not valid percent-encoded UTF-8.",
            ));
        };
        let Some(i) = NAMES.iter().position(|n| *n == key) else {
            continue;
        };
        if found[i].replace(value).is_some() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                &format!("The \"{key}\" parameter is given more than once."),
            ));
        }
    }
    let [query, operation_name, variables, extensions] = found;
    let Some(query) = query else {
        return Ok(None);
    };
    let mut body = serde_json::Map::new();
    body.insert("query".into(), query.into());
    if let Some(name) = operation_name.filter(|n| !n.is_empty()) {
        body.insert("operationName".into(), name.into());
    }
    for (name, text) in [("variables", variables), ("extensions", extensions)] {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Null)) => {
                body.insert(name.into(), v);
            }
            _ => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("The \"{name}\" parameter is not a JSON object."),
                ))
            }
        }
    }
    serde_json::from_value::<async_graphql::Request>(serde_json::Value::Object(body))
        .map(Some)
        .map_err(|_| {
            refuse(
                StatusCode::BAD_REQUEST,
                "The query string does not hold a GraphQL request.",
            )
        })
}

/// The session cookie's name (SPEC §5.1, `tokens.session_cookie`).
pub const SESSION_COOKIE: &str = "storekey_session";

/// How the session cookie is written, when `tokens.session_cookie` is on.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookie {
    pub secure: bool,
    pub max_age_seconds: u64,
}

impl SessionCookie {
    pub fn of(config: &crate::config::Config) -> Option<SessionCookie> {
        config.tokens.session_cookie.then(|| SessionCookie {
            secure: cookie_is_secure(&config.server.listen),
            max_age_seconds: u64::from(config.tokens.commerce_ttl_minutes) * 60,
        })
    }

    /// The `Set-Cookie` value carrying `token`.
    pub fn set(&self, token: &str) -> String {
        self.value(token, self.max_age_seconds)
    }

    /// The `Set-Cookie` value that deletes the cookie.
    pub fn clear(&self) -> String {
        self.value("", 0)
    }

    fn value(&self, token: &str, max_age: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        )
    }
}

/// `Secure` unless the listener is a loopback address: storekey speaks plain HTTP, so a listener
/// other clients can reach sits behind a TLS-terminating proxy, while on loopback it is a
/// developer's http://localhost, where a `Secure` cookie would never be sent back.
pub fn cookie_is_secure(listen: &str) -> bool {
    listen
        .parse::<SocketAddr>()
        .map(|a| !a.ip().is_loopback())
        .unwrap_or(true)
}

/// The session cookie's token, when the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    kit::cookie(headers, SESSION_COOKIE)
}

/// The CSRF rule for cookie-authenticated requests (Apollo Server's): a browser sends a
/// cross-site request without a CORS preflight only with a "simple" content type and no custom
/// header, so a request is trusted when its Content-Type is not one of the simple ones or it
/// carries `X-Requested-With`, `apollo-require-preflight` or `x-apollo-operation-name`.
pub fn preflighted(headers: &HeaderMap) -> bool {
    let present = |name: &str| {
        headers
            .get(name)
            .is_some_and(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace))
    };
    let non_simple_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            !matches!(
                essence.as_str(),
                "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
            )
        })
        .unwrap_or(false);
    non_simple_type
        || present("x-requested-with")
        || present("apollo-require-preflight")
        || present("x-apollo-operation-name")
}

/// RFC 3986 percent-decoding of a URL component (`+` stays `+`: email addresses carry it);
/// `None` for a malformed escape (percent_encoding would pass it through) or non-UTF-8 bytes.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|v| v.into_owned())
}

/// The client's address for throttling: the TCP peer. (Behind a proxy, put the proxy's own
/// rate limiting in front; forwarded headers are not trusted by default.)
pub fn client_ip(remote: Option<SocketAddr>) -> Option<std::net::IpAddr> {
    remote.map(|a| a.ip())
}

/// Serializes an executed GraphQL response with the given status.
/// A root field whose resolver failed keeps its key with `null` in `data` (as Adobe Commerce and
/// Shopify answer), which async-graphql leaves out.
/// Headers a resolver set (`ctx.append_http_header`, e.g. the session cookie) are copied on.
pub fn graphql_response(status: StatusCode, resp: &async_graphql::Response) -> HttpResponse {
    let mut out = graphql_body(status, resp);
    for (name, value) in resp.http_headers.iter() {
        // async-graphql uses http 1, warp http 0.2: the same bytes, different types.
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

fn graphql_body(status: StatusCode, resp: &async_graphql::Response) -> HttpResponse {
    let executed = resp.errors.iter().any(|e| !e.path.is_empty());
    if !executed {
        // The common case: serialize once, straight to bytes.
        return json_response(status, resp);
    }
    let mut value = serde_json::to_value(resp).unwrap_or_else(|_| json!({}));
    {
        let roots: Vec<String> = resp
            .errors
            .iter()
            .filter_map(|e| match e.path.first() {
                Some(async_graphql::PathSegment::Field(name)) => Some(name.clone()),
                _ => None,
            })
            .collect();
        if let Some(obj) = value.as_object_mut() {
            let data = obj.entry("data").or_insert(serde_json::Value::Null);
            if data.is_null() {
                *data = json!({});
            }
            if let Some(data) = data.as_object_mut() {
                for root in roots {
                    data.entry(root).or_insert(serde_json::Value::Null);
                }
            }
        }
    }
    json_response(status, &value)
}

/// The admin/CLI JSON shape of a customer (SPEC §7).
pub fn customer_json(c: &crate::model::Customer) -> serde_json::Value {
    json!({
        "id": c.id.0,
        "email": c.email,
        "firstname": c.profile.firstname,
        "lastname": c.profile.lastname,
        "created_at": kit::timestamp(c.created_at),
        "confirmed": c.confirmed,
        "disabled": c.disabled,
        "allow_remote_shopping_assistance": c.allow_remote_shopping_assistance,
        "multipass_identifier": c.multipass_identifier,
        "tags": c.tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_secure_unless_the_listener_is_loopback() {
        assert!(!cookie_is_secure("127.0.0.1:8080"));
        assert!(!cookie_is_secure("[::1]:8080"));
        assert!(cookie_is_secure("0.0.0.0:8080"));
        assert!(cookie_is_secure("10.0.0.5:8080"));
        assert!(cookie_is_secure("not an address"));
    }

    #[test]
    fn a_get_query_string_decodes_plus_as_a_space_and_percent_2b_as_a_plus() {
        let request = parse_graphql_query_string(
            "query=query+Q%7Bx%7D&operationName=Q&variables=%7B%22e%22%3A%22a%2Bb%40x.y%22%7D&other=1",
            1024,
        )
        .ok()
        .flatten()
        .map(|r| (r.query, r.operation_name, r.variables.into_value().into_json().ok()));
        assert_eq!(
            request,
            Some((
                "query Q{x}".to_string(),
                Some("Q".to_string()),
                Some(serde_json::json!({"e": "a+b@x.y"}))
            ))
        );
    }

    #[test]
    fn a_get_without_query_is_no_request_and_a_repeated_parameter_is_refused() {
        assert!(matches!(parse_graphql_query_string("", 1024), Ok(None)));
        assert!(matches!(
            parse_graphql_query_string("operationName=Q", 1024),
            Ok(None)
        ));
        let repeated = parse_graphql_query_string("query=%7Ba%7D&query=%7Bb%7D", 1024);
        assert_eq!(
            repeated.err().map(|r| r.status()),
            Some(StatusCode::BAD_REQUEST)
        );
    }
}
