//! A software passkey for the passkey tests: webauthn-authenticator-rs's `SoftPasskey`
//! (kanidm's test authenticator: a real P-256 key, real attestation and assertion bytes, a
//! counter that moves on every use), driven with the JSON the server sends and answering with
//! the JSON a browser's `toJSON()` would post.
//!
//! `SoftPasskey` keeps no resident keys and names no user in its assertions, where a platform
//! authenticator does both. So, as the browser would: it is told not to make the key resident
//! (what the server verifies is unchanged: the requirement is in the options, not the
//! response), it is pointed at its own credential when the options list none (the browser's
//! discovery), and its assertion carries the user handle it registered under (WebAuthn puts the
//! handle beside the signature, not under it).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::{json, Value};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// The relying party the passkey tests configure (`webauthn.rp_id`, `webauthn.origins`).
pub const RP_ID: &str = "id.shop.example";
pub const ORIGIN: &str = "https://id.shop.example";

pub struct SoftAuthenticator {
    key: SoftPasskey,
    /// Where the browser says the ceremony runs (clientDataJSON's `origin`).
    pub origin: Url,
    /// The user handle and credential id of the last registration.
    pub handle: Option<Vec<u8>>,
    pub credential_id: Option<Vec<u8>>,
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftAuthenticator {
    pub fn new() -> SoftAuthenticator {
        SoftAuthenticator {
            // `true`: it reports user verification (a platform authenticator's PIN or
            // biometric), which storekey requires.
            key: SoftPasskey::new(true),
            origin: Url::parse(ORIGIN).unwrap(),
            handle: None,
            credential_id: None,
        }
    }

    /// Answers creation options (`PublicKeyCredentialCreationOptionsJSON`): the registration
    /// response JSON.
    pub fn register(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        options["authenticatorSelection"]["residentKey"] = json!("discouraged");
        options["authenticatorSelection"]["requireResidentKey"] = json!(false);
        let handle = URL_SAFE_NO_PAD
            .decode(options["user"]["id"].as_str().expect("user.id"))
            .unwrap();
        let ccr: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let reg = self
            .key
            .do_registration(self.origin.clone(), ccr)
            .expect("the soft passkey registers");
        self.handle = Some(handle);
        self.credential_id = Some(reg.raw_id.to_vec());
        serde_json::to_value(&reg).unwrap()
    }

    /// Answers request options (`PublicKeyCredentialRequestOptionsJSON`): the authentication
    /// response JSON, with the user handle.
    pub fn sign_in(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        let id = self.credential_id.clone().expect("registered first");
        let empty = options["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty());
        if empty {
            options["allowCredentials"] =
                json!([{ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(&id) }]);
        }
        let rcr: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let assertion = self
            .key
            .do_authentication(self.origin.clone(), rcr)
            .expect("the soft passkey signs");
        let mut json = serde_json::to_value(&assertion).unwrap();
        json["response"]["userHandle"] =
            json!(URL_SAFE_NO_PAD.encode(self.handle.as_ref().unwrap()));
        json
    }
}
