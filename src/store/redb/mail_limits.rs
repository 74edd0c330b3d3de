//! Per-address mail limits in the file: one row per address key, decided and written in the
//! writer's transaction, so concurrent requests for one key are counted one after another.
//! Each new deadline goes into the expiry index; the sweep drops a row once it limits nothing.

use super::records::expiry_key;
use super::{RedbStore, Tx};
use crate::store::{Digest, Expiring, MailCount, MailLimit, StoreError, Timestamp};
use redb::{ReadableTable, TableDefinition};

/// A count as stored: window start, count, last allowed request, expiry.
pub(super) type Row = (i64, u32, i64, i64);

pub(super) const MAIL_LIMITS: TableDefinition<&[u8], Row> = TableDefinition::new("mail_limits");

impl RedbStore {
    /// Counts one mail request for `key` and says whether it is allowed (see `MailLimit`).
    pub async fn count_mail_request(
        &self,
        key: Digest,
        limit: MailLimit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| tx.count_mail_request(&key, limit, now))
            .await
    }
}

impl Tx<'_> {
    fn count_mail_request(
        &mut self,
        key: &Digest,
        limit: MailLimit,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let old = self.mail_count(key)?;
        let Some(new) = limit.decide(old, now) else {
            return Ok(false);
        };
        self.mail_limits()?.insert(
            key.as_slice(),
            (new.window_start, new.count, new.last_at, new.expires_at),
        )?;
        if old.map(|o| o.expires_at) != Some(new.expires_at) {
            let index = expiry_key(new.expires_at, Expiring::MailLimit, key);
            self.expiry()?.insert(index.as_slice(), ())?;
        }
        Ok(true)
    }

    fn mail_count(&mut self, key: &Digest) -> Result<Option<MailCount>, StoreError> {
        Ok(self.mail_limits()?.get(key.as_slice())?.map(|row| {
            let (window_start, count, last_at, expires_at) = row.value();
            MailCount {
                window_start,
                count,
                last_at,
                expires_at,
            }
        }))
    }

    /// The sweep's part: drops the count for `key` if it limits nothing at `now`.
    pub(super) fn purge_mail_count(
        &mut self,
        key: &Digest,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let spent = matches!(self.mail_count(key)?, Some(c) if c.expires_at <= now);
        if spent {
            self.mail_limits()?.remove(key.as_slice())?;
        }
        Ok(spent)
    }
}
