//! The background purge: every `sweeper.interval_seconds` it removes expired access tokens,
//! one-time codes, reset tokens, confirmation keys, activation tokens, Multipass replay records
//! and stale lockouts, found through the expiry-ordered index. Each batch of `sweeper.batch` is its own short write,
//! so requests are never stalled behind a long purge. Expiry is also checked on every use, so
//! the sweeper only reclaims space; correctness never waits for it.

use crate::auth::Auth;
use crate::metrics::KindLabels;
use crate::store::{StoreError, SweepReport};
use std::sync::Arc;
use tokio::sync::watch;

/// Runs until `stop` turns true. With several instances on one database, each tick first takes
/// the `sweeper` lease (database time, three intervals long, renewed by its holder each tick):
/// one instance sweeps. A clean stop (SIGTERM, shutdown) gives the lease up, so another
/// instance takes over at its next tick, within one interval; a holder that dies without
/// stopping is replaced once its lease expires, within three.
pub async fn run(auth: Arc<Auth>, mut stop: watch::Receiver<bool>) {
    let interval = auth.policy.sweep_interval;
    let holder = crate::store::pg::new_holder_id();
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopping {
            // Held or not: the release only deletes a lease this holder has.
            if let Err(e) = auth.release_sweep_lease(&holder).await {
                tracing::warn!("sweeper lease not released: {e}");
            }
            return;
        }
        match auth.sweep_lease(&holder, interval * 3).await {
            Ok(true) => {
                if let Err(e) = sweep_now(&auth).await {
                    tracing::warn!("sweeper: {e}");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("sweeper lease: {e}"),
        }
    }
}

/// One full pass: batches until nothing due is left. Returns the total purged.
pub async fn sweep_now(auth: &Auth) -> Result<SweepReport, StoreError> {
    let mut total = SweepReport::default();
    loop {
        let started = std::time::Instant::now();
        let report = auth.sweep_expired().await?;
        let took = started.elapsed();
        for (kind, n) in report.by_kind() {
            if n > 0 {
                auth.metrics
                    .sweeper_purged
                    .get_or_create(&KindLabels { kind: kind.label() })
                    .inc_by(n);
            }
        }
        total.access_tokens += report.access_tokens;
        total.reset_tokens += report.reset_tokens;
        total.otcs += report.otcs;
        total.confirmations += report.confirmations;
        total.activations += report.activations;
        total.multipass_replays += report.multipass_replays;
        total.lockouts += report.lockouts;
        total.mail_limits += report.mail_limits;
        if !report.more {
            break;
        }
        // Rest as long as the batch took: a large purge then uses at most about half a core,
        // so the requests sharing the machine keep their latency (a million expired rows take
        // twice as long to go, which nobody notices).
        tokio::time::sleep(took).await;
    }
    auth.metrics.sweeper_runs.inc();
    Ok(total)
}
