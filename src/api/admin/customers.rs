//! `/rest/V1/customers` and `/rest/V1/customer/{id}/otp`: customers by id or email, created,
//! changed and deleted by an admin, account invites, and Login-as-Customer codes.

use super::errors::{account_error, internal, invite_error, not_found, otc_error};
use super::{fail, ok, parse_body, Call, Reply};
use crate::api::customer_json;
use crate::auth::secret::Secret;
use crate::auth::{CustomerChanges, NewCustomer};
use crate::model::{CustomerId, Profile, ProfileChanges};
use serde::Deserialize;
use serde_json::json;
use warp::http::StatusCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerFields {
    email: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    confirmed: Option<bool>,
    disabled: Option<bool>,
    allow_remote_shopping_assistance: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerBody {
    customer: CustomerFields,
    password: Option<String>,
}

/// `POST /customers`.
pub(super) async fn create(call: &Call<'_>) -> Reply {
    let req: CustomerBody = parse_body(call.body)?;
    let c = req.customer;
    let email = c.email.clone().unwrap_or_default();
    if email.trim().is_empty() {
        return fail(StatusCode::BAD_REQUEST, "\"customer.email\" is required.");
    }
    let record = call
        .auth
        .create_customer(NewCustomer {
            email: email.clone(),
            password: req.password.filter(|p| !p.is_empty()).map(Secret::new),
            profile: Profile {
                firstname: c.firstname,
                lastname: c.lastname,
                ..Profile::default()
            },
            allow_remote_shopping_assistance: c.allow_remote_shopping_assistance.unwrap_or(false),
            confirmed: Some(c.confirmed.unwrap_or(true)),
            disabled: c.disabled.unwrap_or(false),
            audit_by: Some(call.admin.to_string()),
            ..NewCustomer::default()
        })
        .await
        .map_err(|e| account_error(e, &email))?;
    ok(customer_json(&record))
}

/// `GET /customers?email=…`.
pub(super) async fn find_by_email(call: &Call<'_>) -> Reply {
    let Some(email) = call.query.get("email") else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The \"email\" query parameter is required.",
        );
    };
    match call.auth.customer_by_email(email).await.map_err(internal)? {
        Some(c) => ok(customer_json(&c)),
        None => fail(
            StatusCode::NOT_FOUND,
            format!("No such entity with email = {email}"),
        ),
    }
}

/// `GET /customers/{id}`.
pub(super) async fn get(call: &Call<'_>, id: CustomerId) -> Reply {
    match call.auth.customer(id).await.map_err(internal)? {
        Some(c) => ok(customer_json(&c)),
        None => Err(not_found(id)),
    }
}

/// `PUT /customers/{id}`.
pub(super) async fn update(call: &Call<'_>, id: CustomerId) -> Reply {
    let req: CustomerBody = parse_body(call.body)?;
    let c = req.customer;
    let email = c.email.clone().unwrap_or_default();
    let update = call
        .auth
        .update_account(
            id,
            CustomerChanges {
                email: c.email,
                profile: ProfileChanges {
                    firstname: c.firstname,
                    lastname: c.lastname,
                    ..ProfileChanges::default()
                },
                confirmed: c.confirmed,
                disabled: c.disabled,
                allow_remote_shopping_assistance: c.allow_remote_shopping_assistance,
                audit_by: Some(call.admin.to_string()),
            },
            req.password.filter(|p| !p.is_empty()).map(Secret::new),
            None,
        )
        .await
        .map_err(|e| account_error(e, &email))?;
    ok(customer_json(&update.customer))
}

/// `DELETE /customers/{id}`.
pub(super) async fn delete(call: &Call<'_>, id: CustomerId) -> Reply {
    let deleted = call
        .auth
        .delete_customer(id, Some(call.admin.to_string()))
        .await
        .map_err(internal)?;
    if !deleted {
        return Err(not_found(id));
    }
    ok(json!(true))
}

/// `POST /customers/{id}/invite`.
pub(super) async fn invite(call: &Call<'_>, id: CustomerId) -> Reply {
    call.auth
        .invite(id, call.admin)
        .await
        .map_err(|e| invite_error(e, id))?;
    ok(json!(true))
}

/// `POST /customer/{id}/otp`: a Login-as-Customer code, with an optional reason.
pub(super) async fn issue_code(call: &Call<'_>, id: CustomerId) -> Reply {
    #[derive(Deserialize, Default)]
    struct OtpBody {
        #[serde(default)]
        reason: String,
    }
    let req: OtpBody = if call.body.is_empty() {
        OtpBody::default()
    } else {
        parse_body(call.body)?
    };
    match call.auth.issue_otc(id, call.admin, req.reason.trim()).await {
        Ok(code) => ok(json!({ "otp": code.expose() })),
        Err(e) => Err(otc_error(e, id)),
    }
}
