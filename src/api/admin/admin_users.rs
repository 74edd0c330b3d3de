//! `/rest/V1/admin-users`: adding a console user (answered with their setup link) and setting
//! their permission to change customers' remote-assistance consent.

use super::errors::{add_admin_error, internal};
use super::{fail, ok, parse_body, Call, Reply};
use crate::api::console::setup_path;
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;

/// `POST /admin-users`.
pub(super) async fn add(call: &Call<'_>) -> Reply {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AdminUserBody {
        name: String,
        #[serde(default)]
        assistance_consent: bool,
    }
    let req: AdminUserBody = parse_body(call.body)?;
    let code = call
        .auth
        .add_admin(&req.name, call.admin, req.assistance_consent)
        .await
        .map_err(|e| add_admin_error(e, &req.name))?;
    ok(json!({
        "name": req.name.trim(),
        "setup_path": setup_path(code.expose()),
    }))
}

/// `PUT /admin-users/{name}`.
pub(super) async fn set_permissions(call: &Call<'_>, name: &str) -> Reply {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PermissionsBody {
        assistance_consent: bool,
    }
    let req: PermissionsBody = parse_body(call.body)?;
    let changed = call
        .auth
        .set_admin_assistance_consent(name, req.assistance_consent, call.admin)
        .await
        .map_err(internal)?;
    match changed {
        Some(()) => ok(json!({
            "name": name,
            "assistance_consent": req.assistance_consent,
        })),
        None => fail(
            StatusCode::NOT_FOUND,
            format!("No admin user is named \"{name}\"."),
        ),
    }
}
