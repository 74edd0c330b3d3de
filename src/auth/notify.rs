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
}

impl Notice<'_> {
    fn mail(&self) -> Mail {
        let (customer, subject, body) = match self {
            Notice::Reset {
                customer,
                link,
                ttl_hours,
            } => (
                customer,
                "Reset your password",
                format!(
                    "Hello{},\n\nThere was recently a request to change the password for your account.\n\nIf you requested this change, set a new password here:\n\n{link}\n\nThe link works once and expires in {ttl_hours} hour(s).\nIf you did not make this request, you can ignore this email and your password will stay the same.\n",
                    greeting_name(customer),
                ),
            ),
            Notice::Confirmation { customer, key } => (
                customer,
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
                customer,
                "Activate your customer account",
                format!(
                    "Hello{},\n\nYou have been invited to create a customer account. Set your password here to activate it:\n\n{link}\n\nThe link works once and expires in {ttl_days} day(s).\nIf you did not expect this invitation, you can ignore this email.\n",
                    greeting_name(customer),
                ),
            ),
        };
        Mail {
            to: customer.email.clone(),
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
