//! A customer's passkeys on the hosted pages: add one while signed in, sign in with one
//! (discoverable: the authenticator names the account), remove one. A sign-in ends in a
//! browser session exactly as a password does (`Mint::BrowserSession`'s record), started in
//! the same commit that moves the passkey's counter.

use super::*;
use crate::auth::{audit_entry, limits, IssuedToken, Method, SignInError};
use crate::model::passkey::{Ceremony, PasskeyOwner, MAX_PASSKEYS};
use crate::model::{Account, CustomerId};
use crate::store::{Backend as _, Change, Effects, Updated, Who};
use std::net::IpAddr;
use std::time::Instant;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};

/// The creation options as JSON, asking for a discoverable credential (the sign-in page names
/// no account): webauthn-rs's passkey registration leaves the resident key to the
/// authenticator; SPEC §11 requires it. Only what the browser is asked changes; the ceremony's
/// state is webauthn-rs's own.
fn creation_options(ccr: &CreationChallengeResponse) -> Result<serde_json::Value, PasskeyError> {
    let mut options = serde_json::to_value(&ccr.public_key)
        .map_err(|e| PasskeyError::Failure(Failure::Internal(e.to_string())))?;
    if let Some(fields) = options.as_object_mut() {
        let selection = fields
            .entry("authenticatorSelection")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(selection) = selection.as_object_mut() {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
            selection.insert("userVerification".into(), "required".into());
        }
    }
    Ok(options)
}

/// What authenticators show for the account: the customer's name, else the email.
fn display_name(account: &Account) -> String {
    let p = &account.customer.profile;
    let name = [p.firstname.as_deref(), p.lastname.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        account.customer.email.clone()
    } else {
        name
    }
}

/// A new user handle unless the owner has one.
fn handle_for(auth: &Auth, existing: Option<[u8; 16]>) -> [u8; 16] {
    existing.unwrap_or_else(|| {
        let mut handle = [0u8; 16];
        auth.random.fill(&mut handle);
        handle
    })
}

/// The model's passkey for what webauthn-rs registered.
fn new_passkey(
    name: String,
    registered: webauthn_rs::prelude::Passkey,
    now: Timestamp,
) -> Result<Passkey, PasskeyError> {
    let cred: Credential = registered.into();
    let transports = cred
        .transports
        .iter()
        .flatten()
        .filter_map(|t| serde_json::to_value(t).ok()?.as_str().map(str::to_string))
        .collect();
    Ok(Passkey {
        id: cred.cred_id.clone(),
        name,
        created_at: now,
        last_used_at: None,
        counter: cred.counter,
        backup_eligible: cred.backup_eligible,
        backup_state: cred.backup_state,
        transports,
        credential: serde_json::to_string(&cred).map_err(|e| {
            PasskeyError::Failure(Failure::Internal(format!("passkey credential: {e}")))
        })?,
    })
}

/// Adds `passkey` to an owner's list under `handle`, deciding on the record at commit: the
/// handle must be the owner's (set now when they had none; another registration that raced
/// and set a different one wins), the list has room, the credential is not there already.
pub(super) fn add_to(
    handle_slot: &mut Option<[u8; 16]>,
    list: &mut Vec<Passkey>,
    handle: [u8; 16],
    passkey: Passkey,
) -> Result<(), PasskeyError> {
    match handle_slot {
        Some(h) if *h != handle => return Err(PasskeyError::Refused),
        _ => *handle_slot = Some(handle),
    }
    if list.len() >= MAX_PASSKEYS {
        return Err(PasskeyError::TooMany);
    }
    if list.iter().any(|p| p.id == passkey.id) {
        return Err(PasskeyError::Refused);
    }
    list.push(passkey);
    Ok(())
}

/// The response's parts as webauthn-rs reads them; `Refused` when it is not such JSON.
pub(super) fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(json).map_err(|e| {
        tracing::debug!(error = %e, "passkey response is not WebAuthn JSON");
        PasskeyError::Refused
    })
}

/// webauthn-rs's refusal of a response, logged (never the response) and mapped.
pub(super) fn refused(e: WebauthnError) -> PasskeyError {
    tracing::debug!(error = %e, "passkey response refused");
    if is_clone(&e) {
        PasskeyError::Cloned
    } else {
        PasskeyError::Refused
    }
}

impl Auth {
    /// Starts adding a passkey to `owner`, who has `handle` (a new one when `None`) and
    /// `existing` passkeys (excluded, so an authenticator holding one says so), named
    /// `(user name, display name)` to the authenticator: the creation options, and the
    /// ceremony kept until its answer.
    pub(super) async fn start_registration(
        &self,
        owner: PasskeyOwner,
        handle: Option<[u8; 16]>,
        existing: &[Passkey],
        (user, display): (&str, &str),
    ) -> Result<serde_json::Value, PasskeyError> {
        let rp = self.relying_party()?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(PasskeyError::TooMany);
        }
        let handle = handle_for(self, handle);
        let exclude = existing.iter().map(|p| p.id.clone()).collect();
        let (ccr, state) = rp
            .webauthn
            .start_passkey_registration(Uuid::from_bytes(handle), user, display, Some(exclude))
            .map_err(refused)?;
        let options = creation_options(&ccr)?;
        let ceremony = Ceremony::Register { owner, handle };
        self.save_challenge(&ccr.public_key.challenge, ceremony, &state)
            .await?;
        Ok(options)
    }

    /// Checks a `RegistrationResponseJSON` against the ceremony it answers, which must have
    /// been started for `owner` (taken once): the new passkey, named `name`, and the user
    /// handle it was made under. The caller stores it in the owner's record.
    pub(super) async fn finish_registration(
        &self,
        owner: &PasskeyOwner,
        name: &str,
        response: &str,
    ) -> Result<(Passkey, [u8; 16]), PasskeyError> {
        let rp = self.relying_party()?;
        let name = passkey_name(name)?;
        let reg: RegisterPublicKeyCredential = parse(response)?;
        let challenge = self.take_challenge(&reg.response.client_data_json).await?;
        let handle = match &challenge.ceremony {
            Ceremony::Register { owner: o, handle } if o == owner => *handle,
            _ => return Err(PasskeyError::Refused),
        };
        let state: PasskeyRegistration = state_of(&challenge)?;
        let registered = rp
            .webauthn
            .finish_passkey_registration(&reg, &state)
            .map_err(refused)?;
        Ok((new_passkey(name, registered, self.now())?, handle))
    }

    /// Options for adding a passkey to a signed-in customer (`PublicKeyCredentialCreationOptionsJSON`).
    pub async fn passkey_registration_options(
        &self,
        customer: CustomerId,
    ) -> Result<serde_json::Value, PasskeyError> {
        let Some(account) = self.store.customer(customer).await? else {
            return Err(PasskeyError::NotFound);
        };
        let k = &account.credentials;
        let display = display_name(&account);
        let who = (account.customer.email.as_str(), display.as_str());
        let options = self
            .start_registration(
                PasskeyOwner::Customer(customer),
                k.passkey_handle,
                &k.passkeys,
                who,
            )
            .await?;
        self.metrics.passkey("register_options", "success");
        Ok(options)
    }

    /// Adds the passkey a `RegistrationResponseJSON` carries to the signed-in customer, named
    /// `name`. Audited in the same commit.
    pub async fn register_passkey(
        &self,
        customer: CustomerId,
        name: &str,
        response: &str,
    ) -> Result<Passkey, PasskeyError> {
        let result = self.register_passkey_now(customer, name, response).await;
        self.counted("register", result)
    }

    async fn register_passkey_now(
        &self,
        customer: CustomerId,
        name: &str,
        response: &str,
    ) -> Result<Passkey, PasskeyError> {
        let owner = PasskeyOwner::Customer(customer);
        let (passkey, handle) = self.finish_registration(&owner, name, response).await?;
        let now = passkey.created_at;
        let detail = passkey.name.clone();
        let added = passkey.clone();
        let outcome = self
            .store
            .update_customer(Who::Id(customer), move |a| {
                let k = &mut a.credentials;
                match add_to(
                    &mut k.passkey_handle,
                    &mut k.passkeys,
                    handle,
                    added.clone(),
                ) {
                    Err(e) => Change::Refuse(Err(e)),
                    Ok(()) => Change::Save(
                        Ok(()),
                        Effects {
                            audit: vec![audit_entry(
                                now,
                                "customer",
                                "passkey_added",
                                Some(customer),
                                Some(detail.clone()),
                            )],
                            ..Effects::default()
                        },
                    ),
                }
            })
            .await?;
        match outcome {
            Updated::Saved(_, Ok(())) => Ok(passkey),
            Updated::Saved(_, Err(e)) | Updated::Refused(Err(e)) => Err(e),
            Updated::Refused(Ok(())) | Updated::NotFound | Updated::EmailTaken => {
                Err(PasskeyError::NotFound)
            }
        }
    }

    /// Options for signing in with any customer's passkey (`PublicKeyCredentialRequestOptionsJSON`,
    /// empty `allowCredentials`). Each call keeps a challenge in the store, so it counts toward
    /// the client's sign-in budget.
    pub async fn passkey_sign_in_options(
        &self,
        ip: Option<IpAddr>,
    ) -> Result<serde_json::Value, PasskeyError> {
        let rp = self.relying_party()?;
        if let Some(ip) = ip.map(limits::ip_key) {
            if !self.sign_ins.login_throttle.allow(&ip, self.now()) {
                self.metrics.passkey("sign_in_options", "throttled");
                return Err(PasskeyError::Throttled);
            }
        }
        let (rcr, state) = rp
            .webauthn
            .start_discoverable_authentication()
            .map_err(refused)?;
        self.save_challenge(&rcr.public_key.challenge, Ceremony::CustomerSignIn, &state)
            .await?;
        self.metrics.passkey("sign_in_options", "success");
        serde_json::to_value(&rcr.public_key)
            .map_err(|e| PasskeyError::Failure(Failure::Internal(e.to_string())))
    }

    /// Signs in with the passkey an `AuthenticationResponseJSON` carries, into a new browser
    /// session (`amr` `hwk`). Every refusal is `WrongSecret` to the page (a cloned key is
    /// audited first) and waits for the sign-in refusal floor, as a wrong password does.
    pub async fn sign_in_with_passkey(
        &self,
        response: &str,
        ip: Option<IpAddr>,
    ) -> Result<IssuedToken, SignInError> {
        let started = Instant::now();
        let result = self.sign_in_with_passkey_now(response, ip).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(e) => {
                self.pad_failure(started).await;
                tracing::debug!(reason = e.label(), "passkey sign-in refused");
                match e {
                    PasskeyError::Failure(Failure::Busy) => "busy",
                    PasskeyError::Failure(_) => "error",
                    PasskeyError::Cloned => "cloned",
                    PasskeyError::Throttled => "throttled",
                    _ => "failure",
                }
            }
        };
        self.metrics.login(Method::Passkey.label(), outcome);
        result.map_err(|e| match e {
            PasskeyError::Failure(f) => SignInError::Failure(f),
            PasskeyError::Throttled => SignInError::Throttled,
            // Passkeys off included: one refusal for every answer that signs no one in.
            _ => SignInError::WrongSecret,
        })
    }

    async fn sign_in_with_passkey_now(
        &self,
        response: &str,
        ip: Option<IpAddr>,
    ) -> Result<IssuedToken, PasskeyError> {
        let rp = self.relying_party()?;
        if let Some(ip) = ip.map(limits::ip_key) {
            if !self.sign_ins.login_throttle.allow(&ip, self.now()) {
                return Err(PasskeyError::Throttled);
            }
        }
        let assertion: PublicKeyCredential = parse(response)?;
        let challenge = self
            .take_challenge(&assertion.response.client_data_json)
            .await?;
        if challenge.ceremony != Ceremony::CustomerSignIn {
            return Err(PasskeyError::Refused);
        }
        let state: DiscoverableAuthentication = state_of(&challenge)?;
        let handle: [u8; 16] = assertion
            .get_user_unique_id()
            .and_then(|h| h.try_into().ok())
            .ok_or(PasskeyError::Refused)?;
        let Some(id) = self.store.customer_id_by_passkey_handle(&handle).await? else {
            return Err(PasskeyError::Refused);
        };
        let Some(account) = self.store.customer(id).await? else {
            return Err(PasskeyError::Refused);
        };
        let cred_id = assertion.get_credential_id().to_vec();
        let stored = account
            .credentials
            .passkeys
            .iter()
            .find(|p| p.id == cred_id)
            .filter(|_| account.credentials.passkey_handle == Some(handle))
            .ok_or(PasskeyError::Refused)?;
        let cred = credential_of(stored)?;
        let now = self.now();
        let verified = rp
            .webauthn
            .finish_discoverable_authentication_v2(&assertion, state, &cred);
        let result = match verified {
            Ok(result) => result,
            Err(e) => {
                let e = refused(e);
                if e == PasskeyError::Cloned {
                    self.audit_clone(id, &stored.name, now).await?;
                }
                return Err(e);
            }
        };
        let (cookie, cookie_digest, session) = self.mint_browser_session(id, Method::Passkey, now);
        let expires_at = session.expires_at;
        let started = Box::new((cookie_digest, session));
        let outcome = self
            .store
            .update_customer(Who::Id(id), move |a| {
                let Some(passkey) = a.credentials.passkeys.iter_mut().find(|p| p.id == cred_id)
                else {
                    return Change::Refuse(Err(PasskeyError::Refused));
                };
                let name = passkey.name.clone();
                if let Err(e) = apply_use(passkey, &result, now) {
                    // Nothing changes but the audit entry, in this same commit.
                    let entry = clone_entry(id, &name, now);
                    return Change::Save(
                        Err(e),
                        Effects {
                            audit: vec![entry],
                            ..Effects::default()
                        },
                    );
                }
                if a.customer.disabled {
                    return Change::Refuse(Err(PasskeyError::Refused));
                }
                Change::Save(
                    Ok(()),
                    Effects {
                        browser_session: Some(started.clone()),
                        audit: vec![audit_entry(
                            now,
                            "customer",
                            "passkey_sign_in",
                            Some(id),
                            Some(name),
                        )],
                        ..Effects::default()
                    },
                )
            })
            .await?;
        match outcome {
            Updated::Saved(after, Ok(())) => Ok(IssuedToken {
                customer: after.customer,
                token: cookie,
                expires_at,
                method: Method::Passkey,
            }),
            Updated::Saved(_, Err(e)) | Updated::Refused(Err(e)) => Err(e),
            Updated::Refused(Ok(())) | Updated::NotFound | Updated::EmailTaken => {
                Err(PasskeyError::Refused)
            }
        }
    }

    /// Records a refused clone on its own (webauthn-rs refused it before any write).
    async fn audit_clone(
        &self,
        id: CustomerId,
        name: &str,
        now: Timestamp,
    ) -> Result<(), PasskeyError> {
        self.store.append_audit(clone_entry(id, name, now)).await?;
        Ok(())
    }

    /// Removes one of a signed-in customer's passkeys, unless it is the last and they have no
    /// password (they could still sign in with a mailed code, but a passkey-only customer
    /// keeps one). Audited in the same commit.
    pub async fn remove_passkey(
        &self,
        customer: CustomerId,
        id: Vec<u8>,
    ) -> Result<(), PasskeyError> {
        let now = self.now();
        let outcome = self
            .store
            .update_customer(Who::Id(customer), move |a| {
                let k = &mut a.credentials;
                let Some(at) = k.passkeys.iter().position(|p| p.id == id) else {
                    return Change::Refuse(Err(PasskeyError::NotFound));
                };
                if k.passkeys.len() == 1 && k.password_hash.is_none() {
                    return Change::Refuse(Err(PasskeyError::LastWayIn));
                }
                let gone = k.passkeys.remove(at);
                Change::Save(
                    Ok(()),
                    Effects {
                        audit: vec![audit_entry(
                            now,
                            "customer",
                            "passkey_removed",
                            Some(customer),
                            Some(gone.name),
                        )],
                        ..Effects::default()
                    },
                )
            })
            .await?;
        let result = match outcome {
            Updated::Saved(_, r) | Updated::Refused(r) => r,
            Updated::NotFound | Updated::EmailTaken => Err(PasskeyError::NotFound),
        };
        self.counted("remove", result)
    }
}

fn clone_entry(id: CustomerId, name: &str, now: Timestamp) -> crate::model::AuditEntry {
    audit_entry(
        now,
        "customer",
        "passkey_clone_refused",
        Some(id),
        Some(format!(
            "{name}: the authenticator's counter did not move forward"
        )),
    )
}
