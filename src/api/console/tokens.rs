//! The storefront tokens page: the list, creating one (its secret shown once) and deleting.

use super::customers::notice;
use super::errors::{internal, token_refusal};
use super::frame::{render, Frame};
use super::{not_found, redirect};
use super::{AppState, HttpResponse, Signed};
use crate::api::kit::timestamp;
use crate::auth::storefront_tokens::{StorefrontTokenKind, KNOWN_SCOPES};
use askama::Template;
use std::collections::HashMap;
use warp::http::StatusCode;

struct TokenRow {
    id: u64,
    title: String,
    kind: &'static str,
    scopes: String,
    created: String,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    frame: Frame,
    created: Option<String>,
    scopes: Vec<&'static str>,
    tokens: Vec<TokenRow>,
}

async fn tokens_page(
    state: &AppState,
    s: &Signed,
    created: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let tokens = match state.auth.storefront_tokens().await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let page = TokensPage {
        frame: Frame::new("Storefront tokens", Some(s))
            .notice(notice)
            .error(error),
        created,
        scopes: KNOWN_SCOPES.to_vec(),
        tokens: tokens
            .iter()
            .map(|t| TokenRow {
                id: t.id,
                title: t.title.clone(),
                kind: t.kind.name(),
                scopes: t.scopes.join(", "),
                created: timestamp(t.created_at),
            })
            .collect(),
    };
    render(status, &page)
}

/// `GET /admin/tokens`.
pub(super) async fn page(
    state: &AppState,
    s: &Signed,
    q: &HashMap<String, String>,
) -> HttpResponse {
    tokens_page(state, s, None, notice(q), None, StatusCode::OK).await
}

/// `POST /admin/tokens`: the new token's secret is shown once, on the page.
pub(super) async fn create(
    state: &AppState,
    s: &Signed,
    f: &HashMap<String, String>,
) -> HttpResponse {
    // One `scope` per ticked box, joined by `form`.
    let scopes: Vec<String> = f
        .get("scope")
        .map(|l| l.split('\n').map(str::to_string).collect())
        .unwrap_or_default();
    let kind = f
        .get("kind")
        .and_then(|k| StorefrontTokenKind::from_name(k))
        .unwrap_or_default();
    let title = f.get("title").map(String::as_str).unwrap_or("");
    let (created, error, status) = match state
        .auth
        .create_storefront_token(&s.admin, title, scopes, kind)
        .await
    {
        Ok((_, token)) => (Some(token.expose().to_string()), None, StatusCode::OK),
        Err(e) => match token_refusal(e) {
            Ok(message) => (None, Some(message), StatusCode::BAD_REQUEST),
            Err(resp) => return *resp,
        },
    };
    tokens_page(state, s, created, None, error, status).await
}

/// `POST /admin/tokens/{id}/delete`.
pub(super) async fn delete(state: &AppState, s: &Signed, id: &str) -> HttpResponse {
    let Ok(id) = id.parse::<u64>() else {
        return not_found();
    };
    match state.auth.delete_storefront_token(&s.admin, id).await {
        Ok(_) => redirect("/admin/tokens?notice=deleted"),
        Err(e) => internal(e),
    }
}
