//! `/rest/V1/storefront-tokens`: the Storefront dialect's access tokens, created (the secret is
//! shown once), listed and deleted.

use super::errors::{internal, storefront_token_error};
use super::{fail, ok, parse_body, Call, Reply};
use crate::auth::storefront_tokens::StorefrontTokenKind;
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;

/// `POST /storefront-tokens`.
pub(super) async fn create(call: &Call<'_>) -> Reply {
    #[derive(Deserialize)]
    struct TokenBody {
        title: String,
        #[serde(default)]
        scopes: Vec<String>,
        kind: Option<String>,
    }
    let req: TokenBody = parse_body(call.body)?;
    let kind = match req.kind.as_deref() {
        None => StorefrontTokenKind::default(),
        Some(name) => match StorefrontTokenKind::from_name(name) {
            Some(kind) => kind,
            None => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Unknown kind \"{name}\". Known kinds: {}.",
                        StorefrontTokenKind::NAMES.join(", ")
                    ),
                )
            }
        },
    };
    let (record, token) = call
        .auth
        .create_storefront_token(call.admin, &req.title, req.scopes, kind)
        .await
        .map_err(storefront_token_error)?;
    ok(json!({
        "id": record.id,
        "title": record.title,
        "scopes": record.scopes,
        "kind": record.kind.name(),
        "access_token": token.expose(),
    }))
}

/// `GET /storefront-tokens`: without their secrets.
pub(super) async fn list(call: &Call<'_>) -> Reply {
    let all = call.auth.storefront_tokens().await.map_err(internal)?;
    ok(json!(all
        .iter()
        .map(|t| json!({"id": t.id, "title": t.title, "scopes": t.scopes, "kind": t.kind.name()}))
        .collect::<Vec<_>>()))
}

/// `DELETE /storefront-tokens/{id}`.
pub(super) async fn delete(call: &Call<'_>, id: u64) -> Reply {
    let deleted = call
        .auth
        .delete_storefront_token(call.admin, id)
        .await
        .map_err(internal)?;
    if !deleted {
        return fail(
            StatusCode::NOT_FOUND,
            format!("No storefront token with id = {id}"),
        );
    }
    ok(json!(true))
}
