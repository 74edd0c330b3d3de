//! Expiry: the sweep of expired tokens, codes, replay records and ended locks.

use super::*;

impl Tx<'_> {
    /// Purges up to `batch` expiry-index entries due at or before `now`. Each entry is checked
    /// against the live record first: a renewed token or a replaced code stays.
    pub fn sweep(&mut self, now: Timestamp, batch: usize) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        let due: Vec<Vec<u8>> = {
            let upper = expiry_key_bound(now + 1);
            let mut keys = Vec::new();
            for entry in self.expiry()?.range::<&[u8]>(..upper.as_slice())? {
                if keys.len() >= batch {
                    report.more = true;
                    break;
                }
                keys.push(entry?.0.value().to_vec());
            }
            keys
        };
        for key in &due {
            if let Some((_, kind, subject)) = parse_expiry_key(key) {
                if self.purge_one(kind, &subject, now)? {
                    report.count(kind);
                }
            }
            self.expiry()?.remove(key.as_slice())?;
        }
        Ok(report)
    }

    fn purge_one(
        &mut self,
        kind: Expiring,
        subject: &Digest,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        match kind {
            Expiring::AccessToken => match self.access_token(subject)? {
                Some(t) if t.expires_at <= now => self.delete_access_token(subject),
                _ => Ok(false),
            },
            Expiring::MultipassReplay => {
                let expired = matches!(self.replay()?.get(subject.as_slice())?.map(|v| v.value()), Some(at) if at <= now);
                if expired {
                    self.replay()?.remove(subject.as_slice())?;
                }
                Ok(expired)
            }
            Expiring::MailLimit => self.purge_mail_count(subject, now),
            Expiring::PasskeyChallenge => self.purge_passkey_challenge(subject, now),
            Expiring::OidcCode | Expiring::BrowserSession | Expiring::OidcGrant => {
                self.purge_oidc(kind, subject, now)
            }
            Expiring::ResetToken
            | Expiring::Otc
            | Expiring::Confirmation
            | Expiring::Activation
            | Expiring::LoginCode
            | Expiring::Lockout => {
                let id = subject_customer(subject);
                let Some(mut record) = self.customer(id)? else {
                    return Ok(false);
                };
                let slot = match kind {
                    Expiring::ResetToken => Some(&mut record.credentials.reset_token),
                    Expiring::Otc => Some(&mut record.credentials.otc),
                    Expiring::Confirmation => Some(&mut record.credentials.confirmation),
                    Expiring::Activation => Some(&mut record.credentials.activation),
                    _ => None,
                };
                let purged = match slot {
                    None if kind == Expiring::LoginCode => {
                        let code = &mut record.credentials.login_code;
                        let expired = code.as_ref().is_some_and(|c| c.secret.expires_at <= now);
                        if expired {
                            *code = None;
                        }
                        expired
                    }
                    Some(slot) => match slot {
                        Some(s) if s.expires_at <= now => {
                            *slot = None;
                            true
                        }
                        _ => false,
                    },
                    None => match record.credentials.lockout.lock_expires {
                        Some(until) if until <= now => {
                            record.credentials.lockout = Lockout::default();
                            true
                        }
                        _ => false,
                    },
                };
                if purged {
                    self.customers()?
                        .insert(id.0, encode_customer(&record).as_slice())?;
                }
                Ok(purged)
            }
        }
    }
}
