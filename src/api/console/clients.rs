//! The sign-in apps page (OpenID Connect clients): the list, registering one (a confidential
//! client's secret shown once, on the answer's page) and removing one after a confirmation.

use super::errors::{client_refusal, internal};
use super::frame::{confirm_page, render, Frame};
use super::{not_found, redirect};
use super::{AppState, HttpResponse, Signed};
use crate::api::kit::timestamp;
use crate::auth::oidc::clients::{ClientError, NewClient};
use askama::Template;
use std::collections::HashMap;
use warp::http::StatusCode;

struct ClientRow {
    client_id: String,
    name: String,
    kind: &'static str,
    first_party: &'static str,
    redirect_uris: Vec<String>,
    created: String,
}

/// A client just registered: what the relying party needs, shown this once.
struct Registered {
    client_id: String,
    secret: Option<String>,
}

/// What the form holds: empty, or as sent when it was refused (so nothing is typed again).
#[derive(Default)]
struct ClientForm {
    name: String,
    redirect_uris: String,
    post_logout_uris: String,
    public: bool,
    first_party: bool,
}

#[derive(Template)]
#[template(path = "console/clients.html")]
struct ClientsPage {
    frame: Frame,
    registered: Option<Registered>,
    form: ClientForm,
    clients: Vec<ClientRow>,
}

/// What one rendering of the page shows besides the list.
struct Shown {
    registered: Option<Registered>,
    form: ClientForm,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
}

impl Shown {
    fn plain() -> Shown {
        Shown {
            registered: None,
            form: ClientForm::default(),
            notice: None,
            error: None,
            status: StatusCode::OK,
        }
    }
}

async fn clients_page(state: &AppState, s: &Signed, shown: Shown) -> HttpResponse {
    let clients = match state.auth.oidc_clients().await {
        Ok(c) => c,
        Err(e) => return client_failure(e),
    };
    let page = ClientsPage {
        frame: Frame::new("Sign-in apps", Some(s))
            .notice(shown.notice)
            .error(shown.error),
        registered: shown.registered,
        form: shown.form,
        clients: clients
            .iter()
            .map(|c| ClientRow {
                client_id: c.client_id.clone(),
                name: c.name.clone(),
                kind: if c.is_public() {
                    "public"
                } else {
                    "confidential"
                },
                first_party: if c.first_party { "yes" } else { "no" },
                redirect_uris: c.redirect_uris.clone(),
                created: timestamp(c.created_at),
            })
            .collect(),
    };
    render(shown.status, &page)
}

/// A listing or a removal that failed: nothing to show on the form.
fn client_failure(e: ClientError) -> HttpResponse {
    match e {
        ClientError::NotFound => not_found(),
        ClientError::Invalid(why) => internal(format!("a console action was refused: {why}")),
        ClientError::Failure(f) => internal(f),
    }
}

/// `GET /admin/clients`.
pub(super) async fn page(
    state: &AppState,
    s: &Signed,
    q: &HashMap<String, String>,
) -> HttpResponse {
    let notice = match q.get("notice").map(String::as_str) {
        Some("removed") => Some(REMOVED.to_string()),
        _ => None,
    };
    clients_page(
        state,
        s,
        Shown {
            notice,
            ..Shown::plain()
        },
    )
    .await
}

const REMOVED: &str = "The app is removed: it signs nobody in, and its sign-ins have ended.";

/// The URIs of a textarea: one per line, blank lines skipped.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `POST /admin/clients`: the new client's secret is shown once, on the page answering it.
pub(super) async fn create(
    state: &AppState,
    s: &Signed,
    f: &HashMap<String, String>,
) -> HttpResponse {
    let text = |name: &str| f.get(name).cloned().unwrap_or_default();
    let form = ClientForm {
        name: text("name"),
        redirect_uris: text("redirect_uris"),
        post_logout_uris: text("post_logout_uris"),
        public: f.contains_key("public"),
        first_party: f.contains_key("first_party"),
    };
    let new = NewClient {
        name: form.name.clone(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_uris),
        public: form.public,
        first_party: form.first_party,
        ..NewClient::default()
    };
    let shown = match state.auth.add_oidc_client(new, &s.admin).await {
        Ok(created) => Shown {
            registered: Some(Registered {
                client_id: created.client.client_id,
                secret: created.secret.map(|s| s.expose().to_string()),
            }),
            ..Shown::plain()
        },
        Err(e) => match client_refusal(e) {
            Ok(message) => Shown {
                form,
                error: Some(message),
                status: StatusCode::BAD_REQUEST,
                ..Shown::plain()
            },
            Err(resp) => return *resp,
        },
    };
    clients_page(state, s, shown).await
}

/// `GET /admin/clients/{id}/remove`: the confirmation.
pub(super) async fn confirm_remove(state: &AppState, s: &Signed, id: &str) -> HttpResponse {
    let client = match state.auth.oidc_client(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    confirm_page(
        s,
        "Remove sign-in app",
        format!(
            "Remove {} (client ID {})? It will sign nobody in, and the sign-ins made through it end. This cannot be undone.",
            client.name, client.client_id
        ),
        format!("/admin/clients/{}/remove", client.client_id),
        false,
        "Remove app",
        "/admin/clients".into(),
    )
}

/// `POST /admin/clients/{id}/remove`.
pub(super) async fn remove(state: &AppState, s: &Signed, id: &str) -> HttpResponse {
    match state.auth.remove_oidc_client(id, &s.admin).await {
        Ok(()) => redirect("/admin/clients?notice=removed"),
        Err(e) => client_failure(e),
    }
}
