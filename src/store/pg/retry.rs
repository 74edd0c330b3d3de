//! The one way to run a multi-statement transaction: the body is re-runnable (`Fn`), and an
//! attempt the engine asks to be retried runs again after a bounded, jittered backoff. SQLSTATE
//! 40001 (serialization failure: CockroachDB's every-day restart, PostgreSQL's SERIALIZABLE) and
//! 40P01 (deadlock victim) are always retried; 23505 (unique violation) only where the caller says
//! a fresh attempt can decide differently (it read before inserting). Anything else fails at once.

use super::{PgError, Postgres};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// What a transaction body returns: a boxed future borrowing the transaction.
pub type TxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PgError>> + Send + 'a>>;

/// Which failures besides 40001 and 40P01 start another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retry {
    /// Retry on 23505: the body checks before it inserts, so a concurrent insert that won the
    /// race is seen by the next attempt.
    pub unique_violation: bool,
}

impl Retry {
    /// 40001 and 40P01 only.
    pub const CONFLICTS: Retry = Retry {
        unique_violation: false,
    };
    /// 40001, 40P01 and 23505.
    pub const CONFLICTS_AND_UNIQUE: Retry = Retry {
        unique_violation: true,
    };

    fn allows(self, error: &PgError) -> bool {
        match error.code() {
            Some(code) => {
                *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
                    || (self.unique_violation && *code == SqlState::UNIQUE_VIOLATION)
            }
            None => false,
        }
    }
}

/// Attempts per transaction (Kratos uses 10), and the backoff's first and largest step.
pub const MAX_ATTEMPTS: u32 = 10;
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The test hook's statement: a real error from the server with SQLSTATE 40001, raised after
/// the body and before COMMIT, where CockroachDB reports its restarts.
const INJECTED_FAILURE: &str = "DO $$ BEGIN RAISE EXCEPTION 'storekey test hook: injected serialization failure' USING ERRCODE = '40001'; END $$";

impl Postgres {
    /// Runs `body` in a transaction and commits it, retrying as [`Retry`] and the module doc
    /// say, at most [`MAX_ATTEMPTS`] times. Side effects outside the database belong after it
    /// returns: the body may run more than once. The body owns what it uses (a `move` closure
    /// that clones its inputs into each attempt's future).
    pub async fn transaction<T, F>(&self, retry: Retry, body: F) -> Result<T, PgError>
    where
        F: for<'a> Fn(&'a deadpool_postgres::Transaction<'a>) -> TxFuture<'a, T>,
    {
        let mut client = self.client().await?;
        let mut attempt = 1;
        loop {
            let inject = self
                .injected_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            match run_once(&mut client, &body, inject).await {
                Ok(value) => return Ok(value),
                Err(error) if attempt < MAX_ATTEMPTS && retry.allows(&error) => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        attempt,
                        code = error.code().map(|c| c.code()).unwrap_or(""),
                        "transaction conflict; retrying"
                    );
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Test hook: the next `n` transaction attempts fail with a real SQLSTATE 40001 just before
    /// COMMIT, the path every transaction takes on CockroachDB under contention (its own
    /// `inject_retry_errors_enabled` is the analogue). A running server never calls it.
    pub fn inject_serialization_failures(&self, n: u32) {
        self.injected_failures.store(n, Ordering::SeqCst);
    }
}

async fn run_once<T, F>(
    client: &mut deadpool_postgres::Object,
    body: &F,
    inject: bool,
) -> Result<T, PgError>
where
    F: for<'a> Fn(&'a deadpool_postgres::Transaction<'a>) -> TxFuture<'a, T>,
{
    let tx = client.transaction().await?;
    let outcome = match body(&tx).await {
        Ok(value) if inject => tx
            .batch_execute(INJECTED_FAILURE)
            .await
            .map(|()| value)
            .map_err(PgError::from),
        other => other,
    };
    match outcome {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            // The transaction is already aborted; a failed ROLLBACK changes nothing.
            let _ = tx.rollback().await;
            Err(error)
        }
    }
}

/// Exponential from 5 ms, capped at 500 ms, each step drawn from its upper half so racing
/// instances do not retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    use ring::rand::SecureRandom;
    let step = FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let _ = ring::rand::SystemRandom::new().fill(&mut byte);
    step / 2 + step / 2 * u32::from(byte[0]) / 255
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) <= FIRST_BACKOFF && backoff(1) >= FIRST_BACKOFF / 2);
        assert!(backoff(4) >= FIRST_BACKOFF * 4);
        for attempt in 1..=MAX_ATTEMPTS + 40 {
            assert!(backoff(attempt) <= MAX_BACKOFF, "attempt {attempt}");
        }
    }
}
