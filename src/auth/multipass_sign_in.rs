//! Multipass sign-in: turns a verified Multipass token into a customer and a Storefront access
//! token. Decoding is `multipass::decode`; this module owns what happens after it (the replay
//! record, the customer upsert by identifier or email, the token) in one write, so exactly one
//! of many concurrent uses of a token wins.

use super::failure::failure_variant;
use super::multipass::{self, MultipassClaims, MultipassError};
use super::Failure;
use super::{valid_email, Auth, IssuedToken, Method};
use crate::model::{Account, Customer, CustomerId};
use crate::store::Backend as _;
use crate::store::{MultipassOutcome, StoreError, Timestamp, TokenKind, Upsert};
use time::{Duration, OffsetDateTime};

/// What a client may learn about a refused Multipass token: that it was refused (`Invalid`),
/// or that its email belongs to a customer bound to another identifier (`Taken`, which
/// Shopify reports separately). The precise reason goes to the debug log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipassSignInError {
    Invalid,
    Taken,
    /// What no client can mend (see `Failure`).
    Failure(Failure),
}

failure_variant!(MultipassSignInError);

/// Why a token was refused; for metrics and the debug log, never for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Off,
    Decode(MultipassError),
    BadClock,
    InvalidEmail,
    Replayed,
    Taken,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Off => "off",
            Refusal::Decode(e) => match e {
                MultipassError::NotBase64 => "not_base64",
                MultipassError::BadLength => "bad_length",
                MultipassError::BadSignature => "bad_signature",
                MultipassError::BadPadding => "bad_padding",
                MultipassError::BadJson => "bad_json",
                MultipassError::MissingEmail => "missing_email",
                MultipassError::MissingCreatedAt => "missing_created_at",
                MultipassError::BadCreatedAt => "bad_created_at",
                MultipassError::Expired => "expired",
                MultipassError::FromTheFuture => "from_the_future",
            },
            Refusal::BadClock => "bad_clock",
            Refusal::InvalidEmail => "invalid_email",
            Refusal::Replayed => "replayed",
            Refusal::Taken => "taken",
        }
    }
}

impl Auth {
    /// Signs a customer in with a Shopify Multipass token and mints a Storefront access token.
    ///
    /// The customer is found by the token's `identifier`, else by its email (case-insensitive);
    /// created when there is none; re-enabled when disabled; its names and tags follow the
    /// token. Every refusal but an identifier conflict is the same `Invalid` to the caller.
    pub async fn sign_in_multipass(
        &self,
        token: &str,
    ) -> Result<IssuedToken, MultipassSignInError> {
        let result = self.sign_in_multipass_inner(token).await;
        match &result {
            Ok(Attempt::SignedIn(issued)) => {
                self.metrics.login(Method::Multipass.label(), "success");
                tracing::debug!(customer = issued.customer.id.0, "multipass sign-in");
            }
            Ok(Attempt::Refused(refusal)) => {
                self.metrics
                    .login(Method::Multipass.label(), refusal.label());
                tracing::debug!(reason = refusal.label(), "multipass sign-in refused");
            }
            Err(e) => {
                self.metrics.login(Method::Multipass.label(), "error");
                tracing::error!("multipass sign-in failed: {e}");
            }
        }
        match result {
            Ok(Attempt::SignedIn(issued)) => Ok(*issued),
            Ok(Attempt::Refused(Refusal::Taken)) => Err(MultipassSignInError::Taken),
            Ok(Attempt::Refused(_)) => Err(MultipassSignInError::Invalid),
            Err(e) => Err(e.into()),
        }
    }

    async fn sign_in_multipass_inner(&self, token: &str) -> Result<Attempt, StoreError> {
        use Attempt::Refused;
        // Derived once from the configuration (`Policy`); `None` when Multipass is off.
        let Some(key) = self.policy.multipass_key.as_ref() else {
            return Ok(Refused(Refusal::Off));
        };
        let now = self.now();
        let Ok(now_dt) = OffsetDateTime::from_unix_timestamp(now) else {
            return Ok(Refused(Refusal::BadClock));
        };
        let max_age = self.policy.multipass_max_age;
        let max_skew = self.policy.multipass_max_skew;
        let claims = match multipass::decode(
            key,
            token,
            now_dt,
            Duration::seconds(max_age),
            Duration::seconds(max_skew),
        ) {
            Ok(c) => c,
            Err(e) => return Ok(Refused(Refusal::Decode(e))),
        };
        if !valid_email(&claims.email) {
            return Ok(Refused(Refusal::InvalidEmail));
        }
        // Cheap refusal of a replay without queueing a write; the write checks again.
        if self.store.replay_seen(&claims.digest).await? {
            return Ok(Refused(Refusal::Replayed));
        }
        // The record must outlive the token's acceptance window: `created_at` may be up to
        // `max_skew` ahead, and its fraction of a second is floored here, hence the extra one.
        let replay_until = claims.created_at.unix_timestamp() + max_age + max_skew + 1;
        // The customer's id is known only inside the write, which fills it into the token.
        let (token, new_token) = self.mint(CustomerId(0), TokenKind::Storefront, now);
        let expires_at = new_token.record.expires_at;
        let outcome = self
            .store
            .multipass_sign_in(
                claims.digest,
                replay_until,
                claims.identifier.clone(),
                claims.email.clone(),
                move |by_identifier, by_email| {
                    upsert_decision(&claims, by_identifier, by_email, now)
                },
                new_token,
            )
            .await?;
        Ok(match outcome {
            MultipassOutcome::Replayed => Refused(Refusal::Replayed),
            MultipassOutcome::Refused(refusal) => Refused(refusal),
            MultipassOutcome::SignedIn(customer) => Attempt::SignedIn(Box::new(IssuedToken {
                customer: customer.customer,
                token,
                expires_at,
                method: Method::Multipass,
            })),
        })
    }
}

/// How a Multipass attempt ended, short of a storage failure.
enum Attempt {
    SignedIn(Box<IssuedToken>),
    Refused(Refusal),
}

/// Decides, as a pure function of the customers the token's identifier and email name, whom
/// the token signs in.
///
/// Matching follows Shopify: by `identifier` when the token has one, else by email. An email
/// that belongs to a customer bound to another identifier (or to one, when the token has
/// none) is refused as taken; a customer found by email without an identifier adopts the
/// token's.
fn upsert_decision(
    claims: &MultipassClaims,
    by_identifier: Option<&Account>,
    by_email: Option<&Account>,
    now: Timestamp,
) -> Result<Upsert, Refusal> {
    let existing = match (by_identifier, by_email) {
        // The identifier's customer changed its email to one someone else already has.
        (Some(mine), Some(owner)) if mine.customer.id != owner.customer.id => {
            return Err(Refusal::Taken)
        }
        (Some(mine), _) => Some(mine),
        (None, Some(found)) => {
            let bound = found
                .customer
                .multipass_identifier
                .as_deref()
                .filter(|i| !i.is_empty());
            if bound.is_some() && bound != claims.identifier.as_deref() {
                return Err(Refusal::Taken);
            }
            Some(found)
        }
        (None, None) => None,
    };

    let Some(before) = existing else {
        let mut customer = Customer {
            email: claims.email.clone(),
            multipass_identifier: claims.identifier.clone(),
            tags: claims
                .tag_string
                .as_deref()
                .map(split_tags)
                .unwrap_or_default(),
            created_at: now,
            updated_at: now,
            // The shop's own sign-in vouched for the address.
            confirmed: true,
            email_verified: true,
            ..Customer::default()
        };
        customer.profile.firstname = non_empty(claims.first_name.as_deref());
        customer.profile.lastname = non_empty(claims.last_name.as_deref());
        return Ok(Upsert::Create(Account {
            customer,
            ..Account::default()
        }));
    };

    let mut account = before.clone();
    let after = &mut account.customer;
    after.email = claims.email.clone();
    if claims.identifier.is_some() {
        after.multipass_identifier = claims.identifier.clone();
    }
    if let Some(first) = &claims.first_name {
        after.profile.firstname = non_empty(Some(first));
    }
    if let Some(last) = &claims.last_name {
        after.profile.lastname = non_empty(Some(last));
    }
    if let Some(tags) = &claims.tag_string {
        after.tags = split_tags(tags);
    }
    after.disabled = false;
    after.confirmed = true;
    after.email_verified = true;
    if *after != before.customer {
        after.updated_at = now;
    }
    Ok(Upsert::Update(account))
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Shopify's `tag_string`: comma-separated, each tag trimmed, empty ones dropped.
fn split_tags(tag_string: &str) -> Vec<String> {
    tag_string
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(email: &str, identifier: Option<&str>) -> MultipassClaims {
        MultipassClaims {
            email: email.into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            first_name: None,
            last_name: None,
            tag_string: None,
            identifier: identifier.map(str::to_owned),
            digest: [0; 32],
        }
    }

    fn record(id: u64, email: &str, identifier: Option<&str>) -> Account {
        let mut a = Account::default();
        a.customer.id = CustomerId(id);
        a.customer.email = email.into();
        a.customer.multipass_identifier = identifier.map(str::to_owned);
        a
    }

    #[test]
    fn an_unknown_token_creates_a_confirmed_customer() {
        let decision = upsert_decision(&claims("a@x.io", Some("i1")), None, None, 9);
        let Ok(Upsert::Create(Account { customer: c, .. })) = decision else {
            panic!("expected a create, got {decision:?}");
        };
        assert_eq!(
            (
                c.email.as_str(),
                c.confirmed,
                c.email_verified,
                c.created_at
            ),
            ("a@x.io", true, true, 9)
        );
        assert_eq!(c.multipass_identifier.as_deref(), Some("i1"));
    }

    #[test]
    fn an_email_bound_to_another_identifier_is_taken() {
        let owner = record(1, "a@x.io", Some("other"));
        assert_eq!(
            upsert_decision(&claims("a@x.io", Some("i1")), None, Some(&owner), 9),
            Err(Refusal::Taken)
        );
        let mine = record(2, "old@x.io", Some("i1"));
        assert_eq!(
            upsert_decision(&claims("a@x.io", Some("i1")), Some(&mine), Some(&owner), 9),
            Err(Refusal::Taken)
        );
    }

    #[test]
    fn a_customer_found_by_email_adopts_the_identifier_and_is_enabled() {
        let mut found = record(3, "a@x.io", None);
        found.customer.disabled = true;
        let decision = upsert_decision(&claims("a@x.io", Some("i1")), None, Some(&found), 9);
        let Ok(Upsert::Update(Account { customer: c, .. })) = decision else {
            panic!("expected an update, got {decision:?}");
        };
        assert_eq!((c.id, c.disabled, c.updated_at), (CustomerId(3), false, 9));
        assert_eq!(c.multipass_identifier.as_deref(), Some("i1"));
    }

    #[test]
    fn tags_are_split_trimmed_and_empties_dropped() {
        assert_eq!(
            split_tags(" canadian, premium ,, ,vip"),
            vec!["canadian", "premium", "vip"]
        );
        assert!(split_tags("").is_empty());
        assert!(split_tags(" , ").is_empty());
    }

    #[test]
    fn blank_names_are_absent() {
        assert_eq!(non_empty(Some("  ")), None);
        assert_eq!(non_empty(Some(" Nic ")), Some("Nic".to_string()));
        assert_eq!(non_empty(None), None);
    }
}
