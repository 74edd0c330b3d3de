//! Notifications: every mail the core sends, its words in one place, and the hand-off to the
//! transport (never waited for: an answer and its timing never depend on delivery).

use super::secret::Secret;
use super::Auth;
use crate::mail::Mail;
use crate::model::Customer;

/// A mail the core sends to a customer.
pub(super) enum Notice<'a> {
    /// A reset link (`requestPasswordResetEmail`, `customerRecover`).
    Reset {
        customer: &'a Customer,
        link: &'a str,
        ttl_hours: u32,
    },
    /// The confirmation key of a new account that must be confirmed.
    Confirmation {
        customer: &'a Customer,
        key: &'a Secret,
    },
    /// An admin's invite to set the first password.
    Invite {
        customer: &'a Customer,
        link: &'a str,
        ttl_days: u32,
    },
    /// A six-digit sign-in code (the hosted pages' "email me a code").
    LoginCode {
        customer: &'a Customer,
        code: &'a Secret,
        minutes: u32,
    },
    /// The code that verifies a new account's address (the hosted pages' "create account"):
    /// there is no customer yet, only the address.
    RegistrationCode {
        to: &'a str,
        code: &'a Secret,
        minutes: u32,
    },
    /// A "create account" for an address that has one: where to sign in or reset instead (the
    /// page said the same as for a new address).
    AlreadyRegistered {
        customer: &'a Customer,
        sign_in: &'a str,
        forgot: &'a str,
    },
}

impl Notice<'_> {
    fn mail(&self) -> Mail {
        let (to, subject, body) = match self {
            Notice::Reset {
                customer,
                link,
                ttl_hours,
            } => (
                customer.email.as_str(),
                "Reset your password",
                format!(
                    "Hello{},\n\nThere was recently a request to change the password for your account.\n\nIf you requested this change, set a new password here:\n\n{link}\n\nThe link works once and expires in {ttl_hours} hour(s).\nIf you did not make this request, you can ignore this email and your password will stay the same.\n",
                    greeting_name(customer),
                ),
            ),
            Notice::Confirmation { customer, key } => (
                customer.email.as_str(),
                "Please confirm your account",
                format!(
                    "Hello{},\n\nPlease confirm your email address to start signing in.\n\nEmail: {}\nConfirmation key: {}\n\nThe key works once and expires in 7 days.\n",
                    greeting_name(customer),
                    customer.email,
                    key.expose()
                ),
            ),
            Notice::Invite {
                customer,
                link,
                ttl_days,
            } => (
                customer.email.as_str(),
                "Activate your customer account",
                format!(
                    "Hello{},\n\nYou have been invited to create a customer account. Set your password here to activate it:\n\n{link}\n\nThe link works once and expires in {ttl_days} day(s).\nIf you did not expect this invitation, you can ignore this email.\n",
                    greeting_name(customer),
                ),
            ),
            Notice::LoginCode {
                customer,
                code,
                minutes,
            } => (
                customer.email.as_str(),
                "Your sign-in code",
                format!(
                    "Hello{},\n\nYour sign-in code is:\n\n{}\n\nThe code works once and expires in {minutes} minute(s).\nIf you did not ask for it, you can ignore this email: nobody can sign in without it.\n",
                    greeting_name(customer),
                    code.expose()
                ),
            ),
            Notice::RegistrationCode { to, code, minutes } => (
                *to,
                "Verify your email address",
                format!(
                    "Hello,\n\nYour code to create your account is:\n\n{}\n\nThe code expires in {minutes} minute(s).\nIf you did not ask to create an account, you can ignore this email.\n",
                    code.expose()
                ),
            ),
            Notice::AlreadyRegistered {
                customer,
                sign_in,
                forgot,
            } => (
                customer.email.as_str(),
                "You already have an account",
                format!(
                    "Hello{},\n\nSomeone asked to create an account with this email address, and you already have one.\n\nSign in here:\n\n{sign_in}\n\nForgot your password? Set a new one here:\n\n{forgot}\n\nIf this was not you, you can ignore this email.\n",
                    greeting_name(customer),
                ),
            ),
        };
        Mail {
            to: to.to_string(),
            subject: subject.into(),
            body,
        }
    }
}

/// " Ann" for a customer with a first name, else nothing ("Hello," then).
fn greeting_name(c: &Customer) -> String {
    match &c.profile.firstname {
        Some(n) if !n.is_empty() => format!(" {n}"),
        _ => String::new(),
    }
}

impl Auth {
    /// Sends `notice` to its customer (see `send_mail`).
    pub(super) fn notify(&self, notice: Notice<'_>) {
        self.send_mail(notice.mail());
    }

    /// Hands a message to the transport on a blocking thread and returns at once: the caller's
    /// answer (and its timing) never depends on delivery. Failures are logged without the body.
    pub fn send_mail(&self, mail: Mail) {
        let transport = self.mailer.clone();
        let to_domain = mail.to.rsplit('@').next().unwrap_or("").to_string();
        let subject = mail.subject.clone();
        let sent = self.metrics.clone();
        let task = tokio::task::spawn_blocking(move || transport.send(&mail));
        tokio::spawn(async move {
            match task.await {
                Ok(Ok(())) => {
                    sent.mail("sent");
                    tracing::debug!(%subject, "mail sent");
                }
                Ok(Err(e)) => {
                    sent.mail("failed");
                    tracing::warn!(%subject, recipient_domain = %to_domain, "mail delivery failed: {e}");
                }
                Err(_) => sent.mail("failed"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_notice_greets_by_first_name_and_carries_its_link_or_key() {
        let mut ann = Customer {
            email: "ann@example.com".into(),
            ..Customer::default()
        };
        let invite = Notice::Invite {
            customer: &ann,
            link: "https://shop.test/activate?t=x",
            ttl_days: 30,
        }
        .mail();
        assert_eq!(invite.to, "ann@example.com");
        assert_eq!(invite.subject, "Activate your customer account");
        assert!(invite.body.starts_with("Hello,\n\n"), "{}", invite.body);
        assert!(invite
            .body
            .contains("\n\nhttps://shop.test/activate?t=x\n\n"));
        assert!(invite.body.contains("expires in 30 day(s)."));
        ann.profile.firstname = Some("Ann".into());
        let reset = Notice::Reset {
            customer: &ann,
            link: "https://shop.test/reset",
            ttl_hours: 24,
        }
        .mail();
        assert!(reset.body.starts_with("Hello Ann,\n\n"), "{}", reset.body);
        assert!(reset.body.contains("expires in 24 hour(s)."));
        let key = Secret::new("k3y");
        let confirm = Notice::Confirmation {
            customer: &ann,
            key: &key,
        }
        .mail();
        assert_eq!(confirm.subject, "Please confirm your account");
        assert!(confirm
            .body
            .contains("Email: ann@example.com\nConfirmation key: k3y\n"));
    }
}
