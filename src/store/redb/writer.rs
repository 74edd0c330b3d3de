//! The single writer thread: drains its queue, runs the closures of a batch in one
//! transaction, commits once (group commit) and answers each.

use super::*;

impl RedbStore {
    /// Runs `op` on the writer thread inside a batch and returns once its batch is durable.
    /// `op` must decide before writing: return `Ok` with a domain outcome (even a refusal), and
    /// `Err` only for storage failures, which abort the batch.
    pub async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(job(op, reply))
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    /// The same, for callers without an async runtime (the offline CLI). Never call it on a
    /// runtime thread: it blocks while the queue is full.
    pub fn write_blocking<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .blocking_send(job(op, reply))
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        answer
            .blocking_recv()
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }
}

/// Wraps a write closure as a writer job that answers on `reply` once its batch is settled.
fn job<T, F>(op: F, reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    Box::new(move |tx: &mut Tx<'_>| {
        let outcome = op(tx);
        let ok = outcome.is_ok();
        let complete: Completion = Box::new(move |commit: Result<(), StoreError>| {
            let result = match (outcome, commit) {
                (Err(e), _) => Err(e),
                (Ok(_), Err(e)) => Err(e),
                (Ok(v), Ok(())) => Ok(v),
            };
            let _ = reply.send(result);
        });
        (ok, complete)
    })
}

pub(super) fn run_writer(db: &Database, mut queue: mpsc::Receiver<Job>, stats: &WriterStats) {
    use std::sync::atomic::Ordering;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let n = batch.len();
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => {
                // No transaction to run the batch in: fail every request of it.
                let err = StoreError::Io(e.to_string());
                fail_all(batch, &err);
                continue;
            }
        };
        let mut completions = Vec::with_capacity(n);
        let mut all_ok = true;
        {
            let mut tx = Tx::open(&txn);
            for job in batch {
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
                match ran {
                    Ok((ok, complete)) => {
                        all_ok &= ok;
                        completions.push(complete);
                    }
                    Err(_) => {
                        // The job's reply sender was dropped with it: its caller sees
                        // "writer stopped". The batch must not commit.
                        tracing::error!("a write operation panicked; aborting its batch");
                        all_ok = false;
                    }
                }
            }
        }
        let outcome = if all_ok {
            txn.commit().map_err(StoreError::from)
        } else {
            let _ = txn.abort();
            Err(StoreError::Unavailable(
                "another write in the same batch failed; nothing was written".into(),
            ))
        };
        if outcome.is_ok() {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.writes.fetch_add(n as u64, Ordering::Relaxed);
        }
        for complete in completions {
            complete(outcome.clone());
        }
    }
}

fn fail_all(batch: Vec<Job>, err: &StoreError) {
    // Jobs can only be answered through their completion, which needs a transaction; dropping
    // them drops their reply senders, which their callers see as an error.
    drop(batch);
    tracing::error!("write batch failed before it started: {err}");
}
