//! The leader's singletons: the tasks that must run on exactly one instance (crediting PPS shares,
//! unlocking blocks, paying out, pruning). Every instance runs this loop; the one holding the
//! leader lock (`instance::Leadership`) runs the tasks, each at its own interval, and checks every
//! second that it still holds the lock. When the leader dies, another instance's next attempt (every
//! 2 s) takes over.
//!
//! A task is interrupted only between runs: shutdown waits for the run in progress.

use super::Ledger;
use super::instance::Leadership;
use crate::lifecycle::{Lifecycle, Phase};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One singleton.
pub trait LeaderTask: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// How often it runs.
    fn every(&self) -> Duration;
    /// One run (idempotent: a run cut short by a crash is simply run again by the next leader).
    fn run(&self) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// Starts the leader loop with `tasks` under `lifecycle`.
pub fn spawn(lifecycle: &Lifecycle, ledger: Arc<Ledger>, tasks: Vec<Arc<dyn LeaderTask>>) {
    let stop = lifecycle.token(Phase::Background);
    lifecycle.spawn(Phase::Background, async move {
        loop {
            let lead = tokio::select! {
                l = Leadership::try_acquire(ledger.db(), ledger.url()) => l,
                _ = stop.cancelled() => return,
            };
            match lead {
                Ok(Some(mut lead)) => {
                    tracing::info!(
                        instance = ledger.instance_id(),
                        "this instance is the leader: running the unlocker, payer and pruning"
                    );
                    lead_while_held(&mut lead, &tasks, &stop).await;
                    if stop.is_cancelled() {
                        return;
                    }
                    tracing::warn!(
                        instance = ledger.instance_id(),
                        "leadership lost (its database connection dropped); another instance takes over"
                    );
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "cannot try for leadership yet"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = stop.cancelled() => return,
            }
        }
    });
}

async fn lead_while_held(
    lead: &mut Leadership,
    tasks: &[Arc<dyn LeaderTask>],
    stop: &tokio_util::sync::CancellationToken,
) {
    let mut due: Vec<Instant> = tasks.iter().map(|_| Instant::now()).collect();
    loop {
        for (task, at) in tasks.iter().zip(due.iter_mut()) {
            if Instant::now() >= *at && !stop.is_cancelled() {
                if let Err(e) = task.run().await {
                    tracing::error!(
                        task = task.name(),
                        error = format!("{e:#}"),
                        "leader task failed; it runs again at its next interval"
                    );
                }
                *at = Instant::now() + task.every();
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => return,
        }
        if !lead.still_held().await {
            return;
        }
    }
}
