//! `/rest/V1/oidc/clients`: the OpenID Connect provider's relying parties, registered (a
//! confidential client's secret is shown once, in that answer), listed and removed; and
//! `/rest/V1/oidc/keys/rotate`, the signing key's rotation while serving.

use super::errors::client_error;
use super::{ok, parse_body, Call, Reply};
use crate::api::kit::timestamp;
use crate::auth::oidc::clients::NewClient;
use crate::model::oidc::OidcClient;
use serde::Deserialize;
use serde_json::{json, Value};

/// A client as every answer shows it: never its secret, nor the secret's digest.
pub(super) fn client_json(c: &OidcClient) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "public": c.is_public(),
        "first_party": c.first_party,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "scopes": c.scopes,
        "access_token_minutes": c.access_token_minutes,
        "refresh_token_days": c.refresh_token_days,
        "created_at": timestamp(c.created_at),
    })
}

/// `POST /oidc/clients`: the body names the CLI's flags (`storekey client add`).
pub(super) async fn add(call: &Call<'_>) -> Reply {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ClientBody {
        name: String,
        // Missing lists are empty, so the core words what is wrong with them.
        #[serde(default)]
        redirect_uris: Vec<String>,
        #[serde(default)]
        post_logout_redirect_uris: Vec<String>,
        #[serde(default)]
        public: bool,
        #[serde(default)]
        first_party: bool,
        #[serde(default)]
        scopes: Vec<String>,
        access_token_minutes: Option<u32>,
        refresh_token_days: Option<u32>,
    }
    let req: ClientBody = parse_body(call.body)?;
    let created = call
        .auth
        .add_oidc_client(
            NewClient {
                name: req.name,
                redirect_uris: req.redirect_uris,
                post_logout_redirect_uris: req.post_logout_redirect_uris,
                public: req.public,
                first_party: req.first_party,
                scopes: req.scopes,
                access_token_minutes: req.access_token_minutes,
                refresh_token_days: req.refresh_token_days,
            },
            call.admin,
        )
        .await
        .map_err(|e| client_error(e, ""))?;
    let mut answer = client_json(&created.client);
    if let (Some(secret), Some(fields)) = (&created.secret, answer.as_object_mut()) {
        fields.insert("client_secret".into(), json!(secret.expose()));
    }
    ok(answer)
}

/// `GET /oidc/clients`.
pub(super) async fn list(call: &Call<'_>) -> Reply {
    let all = call
        .auth
        .oidc_clients()
        .await
        .map_err(|e| client_error(e, ""))?;
    ok(json!(all.iter().map(client_json).collect::<Vec<_>>()))
}

/// `DELETE /oidc/clients/{client_id}`: its grants end with it.
pub(super) async fn remove(call: &Call<'_>, client_id: &str) -> Reply {
    call.auth
        .remove_oidc_client(client_id, call.admin)
        .await
        .map_err(|e| client_error(e, client_id))?;
    ok(json!(true))
}

/// `POST /oidc/keys/rotate`: `storekey oidc rotate-key` for a running server (a redb file it
/// holds cannot be opened by the command): `{"kid", "signs_from"}`.
pub(super) async fn rotate_key(call: &Call<'_>) -> Reply {
    let Some(provider) = call.oidc else {
        return super::fail(
            warp::http::StatusCode::NOT_FOUND,
            "The OpenID Connect provider is off (oidc.enabled).",
        );
    };
    match provider.rotate_key(call.admin).await {
        Ok(key) => ok(json!({ "kid": key.kid, "signs_from": timestamp(key.signs_from) })),
        Err(e) => {
            tracing::error!("signing key rotation: {e}");
            super::fail(
                warp::http::StatusCode::INTERNAL_SERVER_ERROR,
                crate::api::kit::messages::INTERNAL,
            )
        }
    }
}
