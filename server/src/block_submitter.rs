//! The block-submission task: every block-grade share arrives here over a channel (never a
//! detached spawn) and is submitted to every usable node at once.
//!
//! * The template hex and the solved MinerWork are kept until a node accepts the block ("already in
//!   chain" counts), retried with backoff while any node fails to answer, for up to
//!   `give_up_after`; a block every node **refuses** is not retried (the nodes said why).
//! * A block no node accepted is logged in full — template and MinerWork hex, and the exact
//!   `submit_block` call — so an operator can resubmit it by hand.
//! * Shutdown finishes every submission in progress (one last attempt each) before it completes.
//! * Each outcome goes to the [`ShareSink`] (the ledger tracks the block from there) and triggers
//!   an immediate template refresh.
//! * `block_found` is published on the [`EventBus`] as a block arrives, `block_refused` when no node
//!   accepted it.

use crate::events::{EventBus, PoolEvent};
use crate::lifecycle::{Lifecycle, Phase};
use crate::node::Upstreams;
use crate::share_stage::{BlockCandidate, BlockOutcome, ShareSink};
use crate::stats::PoolStats;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How hard to try.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// A block is still worth submitting this long (it may be accepted as a side block until it is
    /// below the stable height: 24 s at 1-s blocks; a minute covers slow networks).
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            give_up_after: Duration::from_secs(60),
        }
    }
}

/// Hands blocks to the task.
#[derive(Clone)]
pub struct BlockSubmitterHandle {
    tx: mpsc::UnboundedSender<BlockCandidate>,
}

impl BlockSubmitterHandle {
    /// Queues a block for submission (never waits; blocks are rare and must never be dropped).
    pub fn submit(&self, block: BlockCandidate) {
        if let Err(e) = self.tx.send(block) {
            let b = e.0;
            log_unsubmitted(&b, &["the pool is shutting down".to_owned()]);
        }
    }
}

struct Submitter {
    upstreams: Upstreams,
    sink: Arc<dyn ShareSink>,
    stats: Arc<PoolStats>,
    refresh: Arc<Notify>,
    policy: RetryPolicy,
    bus: EventBus,
}

/// Starts the task under `lifecycle` ([`Phase::Blocks`]).
pub fn spawn(
    lifecycle: &Lifecycle,
    upstreams: Upstreams,
    sink: Arc<dyn ShareSink>,
    stats: Arc<PoolStats>,
    refresh: Arc<Notify>,
    policy: RetryPolicy,
    bus: EventBus,
) -> BlockSubmitterHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let submitter = Arc::new(Submitter { upstreams, sink, stats, refresh, policy, bus });
    lifecycle.spawn(Phase::Blocks, run(submitter, rx, lifecycle.token(Phase::Blocks)));
    BlockSubmitterHandle { tx }
}

async fn run(s: Arc<Submitter>, mut rx: mpsc::UnboundedReceiver<BlockCandidate>, stop: CancellationToken) {
    let mut in_progress = JoinSet::new();
    loop {
        tokio::select! {
            b = rx.recv() => match b {
                Some(b) => { in_progress.spawn(s.clone().submit(b, stop.clone())); }
                None => break,
            },
            Some(_) = in_progress.join_next(), if !in_progress.is_empty() => {}
            _ = stop.cancelled() => {
                rx.close();
                while let Some(b) = rx.recv().await {
                    in_progress.spawn(s.clone().submit(b, stop.clone()));
                }
                break;
            }
        }
    }
    while in_progress.join_next().await.is_some() {}
}

impl Submitter {
    async fn submit(self: Arc<Self>, b: BlockCandidate, stop: CancellationToken) {
        let work_hex = b.miner_work.to_hex();
        let started = tokio::time::Instant::now();
        let mut backoff = self.policy.first_backoff;
        let mut attempts = 0u32;
        let errors = loop {
            attempts += 1;
            let verdicts = self.upstreams.submit_block(&b.template_hex, &work_hex).await;
            let accepted: Vec<String> =
                verdicts.iter().filter(|v| v.result.is_ok()).map(|v| v.url.clone()).collect();
            if !accepted.is_empty() {
                let refused: Vec<String> =
                    verdicts.iter().filter_map(|v| v.result.as_ref().err().map(|e| e.to_string())).collect();
                tracing::info!(block = %hex::encode(b.block_id), height = b.height, nodes = ?accepted, attempts, others = ?refused, "block accepted");
                self.stats.blocks_accepted.fetch_add(1, Ordering::Relaxed);
                self.refresh.notify_one();
                self.sink
                    .block_outcome(&BlockOutcome::Accepted { block_id: b.block_id, nodes: accepted })
                    .await;
                return;
            }
            let errors: Vec<String> = if verdicts.is_empty() {
                vec!["no usable node (every configured node is refused or none is configured)".into()]
            } else {
                verdicts.iter().filter_map(|v| v.result.as_ref().err().map(|e| e.to_string())).collect()
            };
            let all_refused = !verdicts.is_empty()
                && verdicts.iter().all(|v| v.result.as_ref().is_err_and(|e| e.is_refusal()));
            if all_refused || started.elapsed() >= self.policy.give_up_after || stop.is_cancelled() {
                break errors;
            }
            tracing::warn!(block = %hex::encode(b.block_id), attempts, errors = ?errors, "block not submitted yet; retrying");
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.cancelled() => {} // shutting down: one last attempt now
            }
            backoff = (backoff * 2).min(self.policy.max_backoff);
        };
        self.stats.blocks_failed.fetch_add(1, Ordering::Relaxed);
        log_unsubmitted(&b, &errors);
        self.refresh.notify_one();
        self.sink.block_outcome(&BlockOutcome::Failed { block_id: b.block_id, errors }).await;
        // After the outcome is recorded, so a listener asking the ledger sees it refused.
        self.bus.publish(PoolEvent::BlockRefused { hash: hex::encode(b.block_id), height: b.height });
    }
}

/// Everything an operator needs to resubmit a block by hand.
fn log_unsubmitted(b: &BlockCandidate, errors: &[String]) {
    let call = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "submit_block",
        "params": { "block_template": &*b.template_hex, "miner_work": b.miner_work.to_hex() }
    });
    tracing::error!(
        block = %hex::encode(b.block_id),
        height = b.height,
        finder = %b.finder.address,
        worker = %b.finder.worker,
        errors = ?errors,
        resubmit = %call,
        "BLOCK NOT ACCEPTED BY ANY NODE: POST the `resubmit` JSON to a node's /json_rpc to try again"
    );
}
