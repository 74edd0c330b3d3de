//! An admin's passkeys on the console: added while signed in, used as the second factor after
//! the password (beside TOTP), or as the whole sign-in with `admin.passkey_only`. Each use is
//! decided in one write of the admin's record (`update_admin_user`), which checks the counter
//! again and opens the session.

use super::customer::{add_to, parse, refused};
use super::*;
use crate::auth::audit_entry;
use crate::model::passkey::{Ceremony, PasskeyOwner};
use crate::model::{AdminSession, AdminUser};
use crate::store::{AdminEdit, Backend as _};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PublicKeyCredential,
};

/// What an admin's passkey sign-in asks of the store: for whom (the second factor of a named
/// admin, or whoever's passkey answers), and the session it opens.
pub struct AdminPasskeySignIn {
    /// The session to open; its `admin` is set to whoever's passkey answered.
    pub session: (Digest, AdminSession),
    /// Sessions idle this long are dropped when one opens (`update_admin_user`).
    pub idle_seconds: i64,
}

impl Auth {
    /// Options for adding a passkey to a signed-in admin.
    pub async fn admin_passkey_registration_options(
        &self,
        admin: &str,
    ) -> Result<serde_json::Value, PasskeyError> {
        let Some(user) = self.store.admin_user(admin).await? else {
            return Err(PasskeyError::NotFound);
        };
        let owner = PasskeyOwner::Admin(admin.to_string());
        let who = (admin, admin);
        let options = self
            .start_registration(owner, user.passkey_handle, &user.passkeys, who)
            .await?;
        self.metrics.passkey("admin_register_options", "success");
        Ok(options)
    }

    /// Adds the passkey a `RegistrationResponseJSON` carries to the signed-in admin.
    pub async fn admin_register_passkey(
        &self,
        admin: &str,
        name: &str,
        response: &str,
    ) -> Result<Passkey, PasskeyError> {
        let result = self.admin_register_passkey_now(admin, name, response).await;
        self.counted("admin_register", result)
    }

    async fn admin_register_passkey_now(
        &self,
        admin: &str,
        name: &str,
        response: &str,
    ) -> Result<Passkey, PasskeyError> {
        let owner = PasskeyOwner::Admin(admin.to_string());
        let (passkey, handle) = self.finish_registration(&owner, name, response).await?;
        let now = passkey.created_at;
        let added = passkey.clone();
        let actor = admin.to_string();
        let outcome = self
            .store
            .update_admin_user(admin.to_string(), i64::MAX, move |u| {
                let detail = format!("{}: {}", u.name, added.name);
                match add_to(&mut u.passkey_handle, &mut u.passkeys, handle, added) {
                    Err(e) => AdminEdit::refuse(Err(e)),
                    Ok(()) => AdminEdit::save(
                        Ok(()),
                        None,
                        audit_entry(now, actor, "admin_passkey_added", None, Some(detail)),
                    ),
                }
            })
            .await?;
        match outcome {
            Some(Ok(())) => Ok(passkey),
            Some(Err(e)) => Err(e),
            None => Err(PasskeyError::NotFound),
        }
    }

    /// Removes one of an admin's passkeys; with `admin.passkey_only` the last one stays (it is
    /// the admin's only way in).
    pub async fn admin_remove_passkey(&self, admin: &str, id: Vec<u8>) -> Result<(), PasskeyError> {
        let now = self.now();
        let keep_last = self.admin.policy.passkey_only;
        let actor = admin.to_string();
        let outcome = self
            .store
            .update_admin_user(admin.to_string(), i64::MAX, move |u| {
                let Some(at) = u.passkeys.iter().position(|p| p.id == id) else {
                    return AdminEdit::refuse(Err(PasskeyError::NotFound));
                };
                if keep_last && u.passkeys.len() == 1 {
                    return AdminEdit::refuse(Err(PasskeyError::LastWayIn));
                }
                let gone = u.passkeys.remove(at);
                let detail = format!("{}: {}", u.name, gone.name);
                AdminEdit::save(
                    Ok(()),
                    None,
                    audit_entry(now, actor, "admin_passkey_removed", None, Some(detail)),
                )
            })
            .await?;
        let result = outcome.unwrap_or(Err(PasskeyError::NotFound));
        self.counted("admin_remove", result)
    }

    /// Options for an admin's passkey sign-in: the second factor of `admin` (its passkeys in
    /// `allowCredentials`), or with `None` (`admin.passkey_only`) any admin's passkey. An
    /// admin with no passkey gets options no authenticator can answer, so the answer does not
    /// tell which names have passkeys.
    pub async fn admin_passkey_sign_in_options(
        &self,
        admin: Option<&str>,
    ) -> Result<serde_json::Value, PasskeyError> {
        let rp = self.relying_party()?;
        let ceremony = Ceremony::AdminSignIn {
            admin: admin.map(str::to_string),
        };
        let (rcr, challenge, state) = match admin {
            None => {
                let (rcr, state) = rp
                    .webauthn
                    .start_discoverable_authentication()
                    .map_err(refused)?;
                let challenge = rcr.public_key.challenge.clone();
                (rcr, challenge, serde_json::to_value(&state))
            }
            Some(name) => {
                let user = self.store.admin_user(name).await?;
                let creds = user
                    .iter()
                    .flat_map(|u| &u.passkeys)
                    .map(|p| credential_of(p).map(webauthn_rs::prelude::Passkey::from))
                    .collect::<Result<Vec<_>, _>>()?;
                if creds.is_empty() {
                    return Err(PasskeyError::NotFound);
                }
                let (rcr, state) = rp
                    .webauthn
                    .start_passkey_authentication(&creds)
                    .map_err(refused)?;
                let challenge = rcr.public_key.challenge.clone();
                (rcr, challenge, serde_json::to_value(&state))
            }
        };
        let state = state.map_err(|e| PasskeyError::Failure(Failure::Internal(e.to_string())))?;
        self.save_challenge(&challenge, ceremony, &state).await?;
        self.metrics.passkey("admin_sign_in_options", "success");
        serde_json::to_value(&rcr.public_key)
            .map_err(|e| PasskeyError::Failure(Failure::Internal(e.to_string())))
    }

    /// Verifies an admin's passkey answer: the second factor of `expected` (when given, the
    /// passkey must be theirs), or the whole sign-in. On success the session in `sign_in`
    /// opens in the same write that moves the counter; the admin's name is returned.
    pub async fn admin_sign_in_with_passkey(
        &self,
        expected: Option<&str>,
        response: &str,
        sign_in: AdminPasskeySignIn,
    ) -> Result<String, PasskeyError> {
        let result = self
            .admin_sign_in_with_passkey_now(expected, response, sign_in)
            .await;
        self.counted("admin_sign_in", result)
    }

    async fn admin_sign_in_with_passkey_now(
        &self,
        expected: Option<&str>,
        response: &str,
        sign_in: AdminPasskeySignIn,
    ) -> Result<String, PasskeyError> {
        let rp = self.relying_party()?;
        let assertion: PublicKeyCredential = parse(response)?;
        let challenge = self
            .take_challenge(&assertion.response.client_data_json)
            .await?;
        let Ceremony::AdminSignIn { admin: asked } = &challenge.ceremony else {
            return Err(PasskeyError::Refused);
        };
        if asked.as_deref() != expected {
            return Err(PasskeyError::Refused);
        }
        let cred_id = assertion.get_credential_id().to_vec();
        let user = match expected {
            Some(name) => self.store.admin_user(name).await?,
            None => {
                let handle = assertion
                    .get_user_unique_id()
                    .ok_or(PasskeyError::Refused)?;
                self.store
                    .admin_users()
                    .await?
                    .into_iter()
                    .find(|u| u.passkey_handle.is_some_and(|h| h.as_slice() == handle))
            }
        };
        let user: AdminUser = user.ok_or(PasskeyError::Refused)?;
        let stored = user
            .passkeys
            .iter()
            .find(|p| p.id == cred_id)
            .ok_or(PasskeyError::Refused)?;
        let cred = credential_of(stored)?;
        let verified = match asked {
            None => {
                let state: DiscoverableAuthentication = state_of(&challenge)?;
                rp.webauthn
                    .finish_discoverable_authentication_v2(&assertion, state, &cred)
            }
            Some(_) => {
                let state: PasskeyAuthentication = state_of(&challenge)?;
                rp.webauthn
                    .finish_passkey_authentication(&assertion, &state)
            }
        };
        let now = self.now();
        let name = user.name.clone();
        let result = match verified {
            Ok(result) => result,
            Err(e) => {
                let e = refused(e);
                if e == PasskeyError::Cloned {
                    self.store
                        .append_audit(admin_clone_entry(&name, &stored.name, now))
                        .await?;
                }
                return Err(e);
            }
        };
        let outcome = self
            .store
            .update_admin_user(name.clone(), sign_in.idle_seconds, move |u| {
                let Some(passkey) = u.passkeys.iter_mut().find(|p| p.id == cred_id) else {
                    return AdminEdit::refuse(Err(PasskeyError::Refused));
                };
                let key_name = passkey.name.clone();
                if let Err(e) = apply_use(passkey, &result, now) {
                    return AdminEdit {
                        outcome: Err(e),
                        save: false,
                        session: None,
                        audit: Some(admin_clone_entry(&u.name, &key_name, now)),
                    };
                }
                // The session is whoever's passkey answered (with `None` the caller could
                // not name them).
                let (digest, mut session) = sign_in.session;
                session.admin = u.name.clone();
                AdminEdit::save(
                    Ok(()),
                    Some((digest, session)),
                    audit_entry(
                        now,
                        u.name.clone(),
                        "admin_passkey_sign_in",
                        None,
                        Some(key_name),
                    ),
                )
            })
            .await?;
        match outcome {
            Some(Ok(())) => Ok(name),
            Some(Err(e)) => Err(e),
            None => Err(PasskeyError::Refused),
        }
    }
}

fn admin_clone_entry(admin: &str, key: &str, now: Timestamp) -> crate::model::AuditEntry {
    audit_entry(
        now,
        admin.to_string(),
        "admin_passkey_clone_refused",
        None,
        Some(format!(
            "{key}: the authenticator's counter did not move forward"
        )),
    )
}
