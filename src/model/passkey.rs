//! Passkeys: WebAuthn credentials a customer or an admin signs in with. A passkey lives in its
//! owner's record (a customer's `Credentials`, an `AdminUser`), so a sign-in's counter check,
//! a removal's "not the last way in" check and a deletion are each one write of that record.
//! The ceremony in between (options sent, response awaited) is a [`PasskeyChallenge`], kept
//! in the store under its challenge's digest until it is taken once or expires.

use super::{CustomerId, Timestamp};
use serde::{Deserialize, Serialize};

/// Most passkeys one customer or admin may hold (a record stays small; a person has a few
/// devices).
pub const MAX_PASSKEYS: usize = 10;

/// The longest name a passkey may have, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// An opaque user handle (WebAuthn's `user.id`): 16 random bytes given to an owner at their
/// first passkey and kept for every later one, never derived from the email.
pub type UserHandle = [u8; 16];

/// One registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passkey {
    /// The credential id the authenticator chose (WebAuthn `rawId`).
    #[serde(with = "base64url")]
    pub id: Vec<u8>,
    /// What its owner called it ("Work laptop").
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// The authenticator's signature counter at the last accepted use (0 for authenticators
    /// that keep none): a later use must show a larger one, or the key was cloned.
    pub counter: u32,
    /// Whether the authenticator may sync the key to other devices (the `BE` flag) and whether
    /// it is backed up now (`BS`), as the last use reported them.
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// How the browser reached the authenticator at registration (`internal`, `hybrid`, `usb`…).
    pub transports: Vec<String>,
    /// The public key and the policy it was registered under, as the WebAuthn library writes
    /// its credential (JSON). Only `auth::passkeys` reads it; `counter` and the backup flags
    /// above are the stored truth and override what this holds.
    pub credential: String,
}

/// Whose passkeys: a customer's (hosted pages) or an admin's (console).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasskeyOwner {
    Customer(CustomerId),
    Admin(String),
}

/// What a ceremony was started for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ceremony {
    /// Adding a passkey to `owner`, whose handle is `handle` (new when it had none).
    Register {
        owner: PasskeyOwner,
        #[serde(with = "base64url_handle")]
        handle: UserHandle,
    },
    /// A customer's sign-in on the hosted pages (discoverable: any customer's passkey).
    CustomerSignIn,
    /// An admin's sign-in on the console: the second factor of `admin`, or (with `None`) the
    /// whole sign-in of whichever admin's passkey answers.
    AdminSignIn { admin: Option<String> },
}

/// A started ceremony, kept under the digest of its challenge until it is taken (once) or
/// expires. `state` is the WebAuthn library's own record of what it asked (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    pub ceremony: Ceremony,
    pub state: String,
    pub expires_at: Timestamp,
}

/// Bytes as unpadded base64url in JSON, as WebAuthn writes them.
mod base64url {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

mod base64url_handle {
    use super::UserHandle;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(handle: &UserHandle, s: S) -> Result<S::Ok, S::Error> {
        super::base64url::serialize(handle, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UserHandle, D::Error> {
        let bytes = super::base64url::deserialize(d)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a user handle is 16 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_round_trips_through_json() {
        let c = PasskeyChallenge {
            ceremony: Ceremony::Register {
                owner: PasskeyOwner::Customer(CustomerId(7)),
                handle: [3; 16],
            },
            state: "{}".into(),
            expires_at: 99,
        };
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"AwMDAwMDAwMDAwMDAwMDAw\""), "{text}");
        assert_eq!(serde_json::from_str::<PasskeyChallenge>(&text).unwrap(), c);
    }
}
