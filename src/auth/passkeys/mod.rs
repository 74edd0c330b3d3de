//! Passkeys (WebAuthn, SPEC §11): the relying party built from `[webauthn]`, and the ceremonies
//! of customers (`customer.rs`: the hosted pages) and admins (`admin.rs`: the console).
//!
//! Every ceremony is two calls. The first asks webauthn-rs for options and keeps its state in
//! the store under the digest of the challenge (`save_passkey_challenge`); the second finds
//! that challenge in the response's `clientDataJSON`, takes the state in one atomic write
//! (`take_passkey_challenge`: of N racing answers to one challenge, on any instance, one gets
//! it), lets webauthn-rs verify the response against it (origin, RP id hash, signature, user
//! verification, counter), and commits the outcome in one write of the owner's record, where
//! the counter is checked again so two uses racing with one cloned key cannot both pass.
//!
//! The JSON spoken is WebAuthn Level 3's (`parseCreationOptionsFromJSON`, `toJSON()`): the
//! options are webauthn-rs's `publicKey` member, responses its credential types.

mod admin;
mod customer;

pub use admin::AdminPasskeySignIn;

use super::{secret, Auth, Failure};
use crate::config::WebauthnConfig;
use crate::model::passkey::{Passkey, PasskeyChallenge, MAX_NAME_CHARS};
use crate::model::{Digest, Timestamp};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Deserialize;
use webauthn_rs::prelude::{
    AuthenticationResult, Credential, Url, Webauthn, WebauthnBuilder, WebauthnError,
};

/// Why a passkey ceremony or edit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyError {
    /// Passkeys are off (`webauthn.rp_id` is empty).
    Off,
    /// The response does not verify: malformed, another origin or RP id, a challenge unknown,
    /// used or expired, an unknown or removed credential, no user verification, a bad
    /// signature. One answer for all (the reason goes to the debug log).
    Refused,
    /// The authenticator's counter did not move forward: a cloned key (audited).
    Cloned,
    /// The owner has `MAX_PASSKEYS` already.
    TooMany,
    /// A name that is empty or over `MAX_NAME_CHARS` characters.
    BadName,
    /// The owner's last passkey, and they have no password: removing it would lock them out.
    LastWayIn,
    /// No such passkey (of this owner).
    NotFound,
    /// The client has spent its sign-in budget (`throttle.login_per_ip_per_minute`).
    Throttled,
    Failure(Failure),
}

super::failure_variant!(PasskeyError);

impl PasskeyError {
    pub fn label(&self) -> &'static str {
        match self {
            PasskeyError::Off => "off",
            PasskeyError::Refused => "refused",
            PasskeyError::Cloned => "cloned",
            PasskeyError::TooMany => "too_many",
            PasskeyError::BadName => "bad_name",
            PasskeyError::LastWayIn => "last_way_in",
            PasskeyError::NotFound => "not_found",
            PasskeyError::Throttled => "throttled",
            PasskeyError::Failure(Failure::Busy) => "busy",
            PasskeyError::Failure(_) => "error",
        }
    }
}

/// The relying party: webauthn-rs configured from `[webauthn]`, and the challenge lifetime.
pub struct RelyingParty {
    webauthn: Webauthn,
    challenge_seconds: i64,
}

impl RelyingParty {
    /// `None` when passkeys are off. The origins are exact: no other port, no subdomain.
    pub fn from_config(c: &WebauthnConfig) -> Result<Option<RelyingParty>, String> {
        if !c.enabled() {
            return Ok(None);
        }
        let origins = c
            .origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| format!("webauthn.origins: {o}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let Some((first, rest)) = origins.split_first() else {
            return Err("webauthn.origins: empty".into());
        };
        let mut builder = WebauthnBuilder::new(&c.rp_id, first)
            .map_err(|e| format!("webauthn: {e}"))?
            .rp_name(&c.rp_name)
            .allow_subdomains(false)
            .allow_any_port(false)
            .timeout(std::time::Duration::from_secs(u64::from(
                c.challenge_seconds,
            )));
        for origin in rest {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder.build().map_err(|e| format!("webauthn: {e}"))?;
        Ok(Some(RelyingParty {
            webauthn,
            challenge_seconds: i64::from(c.challenge_seconds),
        }))
    }
}

/// The key a challenge is kept under: the digest of its base64url text, which is what a
/// response's `clientDataJSON` carries.
fn challenge_key(challenge: &[u8]) -> Digest {
    secret::digest(&URL_SAFE_NO_PAD.encode(challenge))
}

/// The key of the challenge a response answers, from its `clientDataJSON`; `None` when that is
/// not JSON with a string `challenge`.
fn answered_challenge(client_data_json: &[u8]) -> Option<Digest> {
    #[derive(Deserialize)]
    struct ClientData {
        challenge: String,
    }
    let data: ClientData = serde_json::from_slice(client_data_json).ok()?;
    Some(secret::digest(&data.challenge))
}

/// A name as given, trimmed; refused when empty or too long, or holding control characters.
fn passkey_name(name: &str) -> Result<String, PasskeyError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(PasskeyError::BadName);
    }
    Ok(name.to_string())
}

/// The stored passkey as webauthn-rs's credential, with the stored counter and backup flags
/// (the truth) over what the credential JSON held at registration.
fn credential_of(passkey: &Passkey) -> Result<Credential, PasskeyError> {
    let mut cred: Credential = serde_json::from_str(&passkey.credential).map_err(|e| {
        PasskeyError::Failure(Failure::Internal(format!("passkey credential: {e}")))
    })?;
    cred.counter = passkey.counter;
    cred.backup_eligible = passkey.backup_eligible;
    cred.backup_state = passkey.backup_state;
    Ok(cred)
}

/// What a verified use changes in the stored passkey, decided on the record as it is at commit:
/// the counter must move forward (unless the authenticator keeps none: both 0), else the key
/// was cloned.
fn apply_use(
    passkey: &mut Passkey,
    result: &AuthenticationResult,
    now: Timestamp,
) -> Result<(), PasskeyError> {
    let counter = result.counter();
    if (counter > 0 || passkey.counter > 0) && counter <= passkey.counter {
        return Err(PasskeyError::Cloned);
    }
    passkey.counter = counter;
    passkey.backup_state = result.backup_state();
    // Eligibility may only ever turn on (webauthn-rs refuses the reverse).
    passkey.backup_eligible |= result.backup_eligible();
    passkey.last_used_at = Some(now);
    Ok(())
}

/// Whether webauthn-rs refused a response for its counter (a cloned key).
fn is_clone(e: &WebauthnError) -> bool {
    matches!(e, WebauthnError::CredentialPossibleCompromise)
}

impl Auth {
    fn relying_party(&self) -> Result<&RelyingParty, PasskeyError> {
        self.passkeys.as_ref().ok_or(PasskeyError::Off)
    }

    /// `result`, counted in `storekey_passkey_total` under `ceremony`.
    fn counted<T>(
        &self,
        ceremony: &'static str,
        result: Result<T, PasskeyError>,
    ) -> Result<T, PasskeyError> {
        let outcome = result.as_ref().map_or_else(|e| e.label(), |_| "success");
        self.metrics.passkey(ceremony, outcome);
        result
    }

    /// Whether passkeys are on.
    pub fn passkeys_enabled(&self) -> bool {
        self.passkeys.is_some()
    }

    /// Keeps a started ceremony until it is answered or expires.
    async fn save_challenge(
        &self,
        challenge: &[u8],
        ceremony: crate::model::passkey::Ceremony,
        state: &impl serde::Serialize,
    ) -> Result<(), PasskeyError> {
        use crate::store::Backend as _;
        let rp = self.relying_party()?;
        let state = serde_json::to_string(state).map_err(|e| {
            PasskeyError::Failure(Failure::Internal(format!("ceremony state: {e}")))
        })?;
        let record = PasskeyChallenge {
            ceremony,
            state,
            expires_at: self.now() + rp.challenge_seconds,
        };
        self.store
            .save_passkey_challenge(challenge_key(challenge), record)
            .await?;
        Ok(())
    }

    /// Takes the ceremony a response answers, once; `Refused` when there is none (unknown,
    /// answered already, expired).
    async fn take_challenge(
        &self,
        client_data_json: &[u8],
    ) -> Result<PasskeyChallenge, PasskeyError> {
        use crate::store::Backend as _;
        let Some(key) = answered_challenge(client_data_json) else {
            return Err(PasskeyError::Refused);
        };
        self.store
            .take_passkey_challenge(key, self.now())
            .await?
            .ok_or(PasskeyError::Refused)
    }
}

/// The ceremony state webauthn-rs wrote, read back.
fn state_of<T: serde::de::DeserializeOwned>(
    challenge: &PasskeyChallenge,
) -> Result<T, PasskeyError> {
    serde_json::from_str(&challenge.state)
        .map_err(|e| PasskeyError::Failure(Failure::Internal(format!("ceremony state: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_found_by_the_text_client_data_carries() {
        let challenge = [0xfbu8, 0xff, 0x01, 0x02];
        let text = URL_SAFE_NO_PAD.encode(challenge);
        let client_data = format!(r#"{{"type":"webauthn.get","challenge":"{text}","origin":"x"}}"#);
        assert_eq!(
            answered_challenge(client_data.as_bytes()),
            Some(challenge_key(&challenge))
        );
        assert_eq!(answered_challenge(b"not json"), None);
        assert_eq!(answered_challenge(br#"{"challenge":7}"#), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(passkey_name("  Phone ").unwrap(), "Phone");
        assert_eq!(passkey_name(" "), Err(PasskeyError::BadName));
        assert_eq!(passkey_name("a\u{7}b"), Err(PasskeyError::BadName));
        assert!(passkey_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(
            passkey_name(&"é".repeat(MAX_NAME_CHARS + 1)),
            Err(PasskeyError::BadName)
        );
    }

    #[test]
    fn the_config_builds_a_relying_party_only_when_set() {
        let mut c = WebauthnConfig::default();
        assert!(RelyingParty::from_config(&c).unwrap().is_none());
        c.rp_id = "shop.example".into();
        c.origins = vec!["https://id.shop.example".into()];
        assert!(RelyingParty::from_config(&c).unwrap().is_some());
    }
}
