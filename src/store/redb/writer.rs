//! The single writer thread: drains its queue, runs the closures of a batch in one
//! transaction, commits once (group commit) and answers each. After a batch that failed
//! because redb latched an I/O error (a full disk), it reopens the database and, until a
//! write commits again, answers writes at once with the failure instead of retrying each.

use super::recover::{Backoff, LAST_RETRY};
use super::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TryRecvError;

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
            .send(Box::new(Pending { op, reply }))
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
            .blocking_send(Box::new(Pending { op, reply }))
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        answer
            .blocking_recv()
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }
}

/// One queued write, answered once its batch is settled, or refused without running.
pub(super) trait WriteJob: Send {
    /// Runs the operation in the batch's transaction: whether it succeeded, and how to answer
    /// its caller once the batch has committed or failed.
    fn run(self: Box<Self>, tx: &mut Tx<'_>) -> (bool, Completion);
    /// Answers the caller with `why` without running the operation.
    fn refuse(self: Box<Self>, why: StoreError);
}

pub(super) type Job = Box<dyn WriteJob>;
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A write closure and where its answer goes.
struct Pending<T, F> {
    op: F,
    reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, tx: &mut Tx<'_>) -> (bool, Completion) {
        let Pending { op, reply } = *self;
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
    }

    fn refuse(self: Box<Self>, why: StoreError) {
        let _ = self.reply.send(Err(why));
    }
}

/// A run of failed writes, from the first latched failure to the next commit: logged once.
struct Outage {
    /// What writes are answered with meanwhile (the first failure: "the disk is full ...").
    why: StoreError,
    since: Instant,
    /// Writes before this are refused at once; the first after it is tried for real.
    next_try: Instant,
    backoff: Backoff,
}

/// How often the writer looks for writes to refuse while it waits to retry.
const REFUSE_POLL: Duration = Duration::from_millis(20);

pub(super) fn run_writer(slot: &Arc<Slot>, mut queue: mpsc::Receiver<Job>, stats: &WriterStats) {
    let mut outage: Option<Outage> = None;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Some(o) = &outage {
            if Instant::now() < o.next_try {
                refuse_all(batch, &o.why);
                continue;
            }
        }
        let outcome = slot
            .with(|db| run_batch(db, batch, stats))
            .and_then(|batch| batch);
        match outcome {
            Ok(()) => {
                if let Some(o) = outage.take() {
                    tracing::warn!(
                        "storage: writes are stored again, {:.1?} after they began to fail",
                        o.since.elapsed()
                    );
                }
            }
            Err(why) => {
                if !slot.latched() {
                    continue;
                }
                let o = outage.get_or_insert_with(|| {
                    tracing::error!(
                        "{why} (writes answer 503 until one is stored again; reopening the database file)"
                    );
                    Outage {
                        why: why.clone(),
                        since: Instant::now(),
                        next_try: Instant::now(),
                        backoff: Backoff::new(),
                    }
                });
                if !recover(slot, &mut queue, &o.why, stats) {
                    return;
                }
                o.next_try = Instant::now() + o.backoff.next_wait();
            }
        }
    }
}

/// Runs one batch in one transaction and answers every job in it: the batch's outcome.
fn run_batch(db: &Database, batch: Vec<Job>, stats: &WriterStats) -> Result<(), StoreError> {
    let n = batch.len();
    let txn = match db.begin_write() {
        Ok(t) => t,
        Err(e) => {
            // No transaction to run the batch in: refuse every request of it.
            let err = StoreError::from(e);
            refuse_all(batch, &err);
            return Err(err);
        }
    };
    let mut completions = Vec::with_capacity(n);
    let mut all_ok = true;
    {
        let mut tx = Tx::open(&txn);
        for job in batch {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&mut tx)));
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
    outcome
}

fn refuse_all(batch: Vec<Job>, why: &StoreError) {
    for job in batch {
        job.refuse(why.clone());
    }
}

/// Closes the database and opens it again, retrying with backoff until it opens, and refuses
/// with `why` the writes that arrive meanwhile. `false` when the queue closed first (the last
/// handle is gone): the writer stops.
fn recover(
    slot: &Arc<Slot>,
    queue: &mut mpsc::Receiver<Job>,
    why: &StoreError,
    stats: &WriterStats,
) -> bool {
    let started = Instant::now();
    slot.close();
    let mut backoff = Backoff::new();
    let mut warned = false;
    loop {
        match reopen_refusing(slot, queue, why) {
            None => return false,
            Some(Ok(())) => {
                stats.reopens.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "storage: reopened the database file in {:.1?}",
                    started.elapsed()
                );
                return true;
            }
            Some(Err(e)) if !warned => {
                warned = true;
                tracing::warn!(
                    "storage: the database file does not open again yet ({e}); retrying every {LAST_RETRY:?} at most"
                );
            }
            Some(Err(e)) => tracing::debug!("storage: reopen failed again: {e}"),
        }
        if !refuse_for(queue, backoff.next_wait(), why) {
            return false;
        }
    }
}

/// One reopen, on a thread of its own: redb's repair reads the whole file (about 1.8 s for
/// 100,000 customers in a debug build), and writes arriving meanwhile are refused at once
/// rather than left waiting. `None` when the queue closed meanwhile.
fn reopen_refusing(
    slot: &Arc<Slot>,
    queue: &mut mpsc::Receiver<Job>,
    why: &StoreError,
) -> Option<Result<(), StoreError>> {
    let opening = {
        let slot = slot.clone();
        std::thread::Builder::new()
            .name("storekey-reopen".into())
            .spawn(move || slot.reopen())
    };
    let Ok(opening) = opening else {
        return Some(slot.reopen());
    };
    let mut open = true;
    while open && !opening.is_finished() {
        open = refuse_for(queue, REFUSE_POLL, why);
    }
    let reopened = opening
        .join()
        .unwrap_or_else(|_| Err(StoreError::Io("reopening the database panicked".into())));
    open.then_some(reopened)
}

/// Answers with `why` every write that arrives during `wait`; `false` when the queue closed.
fn refuse_for(queue: &mut mpsc::Receiver<Job>, wait: Duration, why: &StoreError) -> bool {
    let until = Instant::now() + wait;
    loop {
        loop {
            match queue.try_recv() {
                Ok(job) => job.refuse(why.clone()),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(REFUSE_POLL));
    }
}
