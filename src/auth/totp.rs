//! Time-based one-time passwords (RFC 6238), the second factor of an admin's sign-in, computed
//! as authenticator apps do by default: HMAC-SHA1 over the 30-second step count, 6 digits. The
//! secret is shown once at enrolment, as a QR code of its `otpauth://` URI and as base32 text.

use super::secret::RandomSource;
use data_encoding::BASE32_NOPAD;
use ring::hmac;
use subtle::ConstantTimeEq;

/// Seconds per step (RFC 6238's default, and the only one common apps accept).
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Steps either side of now that still count: a code typed at the end of its window, or on a
/// phone whose clock is a little off, is accepted (RFC 6238 §5.2 recommends one step).
pub const WINDOW: i64 = 1;

/// A TOTP secret: 160 random bits, the length RFC 4226 recommends for HMAC-SHA1.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; 20]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub fn generate(random: &dyn RandomSource) -> TotpSecret {
        let mut bytes = [0u8; 20];
        random.fill(&mut bytes);
        TotpSecret(bytes)
    }

    pub fn from_bytes(bytes: [u8; 20]) -> TotpSecret {
        TotpSecret(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The secret as people type it into an app: base32, no padding (32 characters).
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The enrolment URI authenticator apps read from a QR code (Google's Key Uri Format):
    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            enc(issuer),
            enc(account),
            self.to_base32(),
            enc(issuer)
        )
    }

    /// The code for the step that contains `unix_time`.
    pub fn code_at(&self, unix_time: i64) -> String {
        self.code_for_step(unix_time.div_euclid(STEP_SECONDS))
    }

    fn code_for_step(&self, step: i64) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        // RFC 4226 §5.3 dynamic truncation.
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let word = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        format!(
            "{:0width$}",
            word % 10u32.pow(DIGITS as u32),
            width = DIGITS
        )
    }

    /// Checks `code` at `now`: the step it matches, within `WINDOW` steps of now and after
    /// `last_used` (a code, once accepted, never signs in again: RFC 6238 §5.2). The caller
    /// stores the returned step in the same write that accepts the sign-in.
    pub fn verify(&self, code: &str, now: i64, last_used: Option<i64>) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.div_euclid(STEP_SECONDS);
        let mut found = None;
        // Every candidate is computed and compared, so the time taken does not say which
        // step matched.
        for step in current - WINDOW..=current + WINDOW {
            let expected = self.code_for_step(step);
            let same: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if same && last_used.is_none_or(|used| step > used) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::secret::SeededRandom;

    /// RFC 6238 Appendix B, SHA-1 rows (seed "12345678901234567890"); the 8-digit values there,
    /// of which a 6-digit code is the last six digits.
    #[test]
    fn rfc_6238_vectors() {
        let secret = TotpSecret::from_bytes(*b"12345678901234567890");
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at(time), eight[2..], "T = {time}");
        }
    }

    #[test]
    fn a_code_counts_one_step_either_side_and_only_once() {
        let secret = TotpSecret::generate(&SeededRandom::new(7));
        let now = 1_700_000_015;
        let code = secret.code_at(now);
        let step = now / STEP_SECONDS;
        assert_eq!(secret.verify(&code, now, None), Some(step));
        assert_eq!(secret.verify(&code, now + STEP_SECONDS, None), Some(step));
        assert_eq!(secret.verify(&code, now - STEP_SECONDS, None), Some(step));
        assert_eq!(secret.verify(&code, now + 2 * STEP_SECONDS, None), None);
        // Used once: the same code (or an older one) is refused.
        assert_eq!(secret.verify(&code, now, Some(step)), None);
        let next = secret.code_at(now + STEP_SECONDS);
        assert_eq!(
            secret.verify(&next, now + STEP_SECONDS, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = TotpSecret::generate(&SeededRandom::new(1));
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(secret.verify(bad, 1_700_000_000, None), None, "{bad:?}");
        }
    }

    #[test]
    fn the_enrolment_uri_carries_the_base32_secret() {
        let secret = TotpSecret::from_bytes(*b"12345678901234567890");
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            secret.otpauth_uri("storekey shop", "ops@example.com"),
            "otpauth://totp/storekey%20shop:ops%40example%2Ecom?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=storekey%20shop&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
    }
}
