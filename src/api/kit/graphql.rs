//! The one turn of a gate's outcome into an HTTP response, for both GraphQL dialects. What
//! differs between them (the metrics label, an error's `extensions`, the status of an executed
//! response) is asked of their [`Dialect`].

use super::retry_later;
use crate::api::gate::{self, Gate, Outcome, Refusal};
use crate::api::{graphql_response, json_response, HttpResponse};
use crate::auth::Auth;
use crate::store::StoreError;
use serde_json::{json, Value};
use std::time::Instant;
use warp::http::StatusCode;

/// Why a request is answered with an error before (or instead of) executing.
pub enum Unexecuted<'a> {
    /// The gate refused the document; answered with HTTP 200, like async-graphql's own depth
    /// refusal.
    Refused(&'a Refusal),
    /// The gate stopped the request after `server.request_timeout_seconds`.
    TimedOut,
    /// A credential could not be looked up (the store failed).
    LookupFailed,
}

/// What a GraphQL dialect decides for itself when its answers are written.
pub trait Dialect {
    /// The dialect's metrics label.
    const NAME: &'static str;
    /// The message of an internal error.
    const INTERNAL: &'static str;
    /// The `extensions` of an error answered without executing.
    fn extensions(why: Unexecuted<'_>) -> Value;
    /// The HTTP status of an executed response (an error's typed source may ask for 401 or 503).
    fn status(response: &async_graphql::Response) -> StatusCode;
}

/// `{"errors": [{"message", "extensions"}]}` with `status`: an answer nothing was executed for.
pub fn error_response(status: StatusCode, message: &str, extensions: Value) -> HttpResponse {
    json_response(
        status,
        &json!({"errors": [{"message": message, "extensions": extensions}]}),
    )
}

/// The response to what the gate made of a request, counted in the metrics under `D::NAME`.
/// Every 503 carries `Retry-After`.
pub fn finish<D: Dialect>(
    auth: &Auth,
    gate: &Gate,
    outcome: Outcome,
    started: Instant,
) -> HttpResponse {
    match outcome {
        Outcome::Refused(refusal) => {
            auth.metrics.request(D::NAME, gate::OTHER, "refused");
            let extensions = D::extensions(Unexecuted::Refused(&refusal));
            error_response(StatusCode::OK, &refusal.message(), extensions)
        }
        Outcome::TimedOut => {
            auth.metrics.request(D::NAME, gate::OTHER, "timeout");
            retry_later(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &gate.timeout_message(),
                D::extensions(Unexecuted::TimedOut),
            ))
        }
        Outcome::Executed { response, label } => {
            let status = D::status(&response);
            auth.metrics.graphql(D::NAME, label, &response, started);
            let resp = graphql_response(status, &response);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                retry_later(resp)
            } else {
                resp
            }
        }
    }
}

/// A failed credential lookup, answered before anything runs: the dialect's internal error as a
/// whole response (503 with `Retry-After` while the store is unavailable, else 500).
pub fn lookup_failed<D: Dialect>(e: &StoreError) -> HttpResponse {
    let extensions = D::extensions(Unexecuted::LookupFailed);
    if e.is_unavailable() {
        tracing::warn!("{} token lookup failed, storage unavailable: {e}", D::NAME);
        return retry_later(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            D::INTERNAL,
            extensions,
        ));
    }
    tracing::error!("{} token lookup failed: {e}", D::NAME);
    error_response(StatusCode::INTERNAL_SERVER_ERROR, D::INTERNAL, extensions)
}
