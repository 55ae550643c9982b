//! The share stage: owns the path from a submitted share to its answer.
//!
//! A connection hands in a [`SubmittedShare`] — the login, the [`Issue`] the share names (header,
//! difficulty, job), the previous issue for the job race, the nonce — and gets back a receiver for
//! its [`ShareAnswer`]. The stage then, per batch:
//!
//! 1. **batches** shares (up to `max_batch`, or after `max_wait`) and **verifies** them on the
//!    engine off the async threads; if verification fails (a panic; GPU faults and timeouts are
//!    handled inside the engine) the batch is re-verified on the CPU, so no share is left
//!    unanswered and no block is lost;
//! 2. **judges** each share with `pool_core::share::judge` against its issue and the job's
//!    freshness, and gives low-difficulty shares on a connection's newest issue one more hash on
//!    the previous issue (tosminer's job race, `share::race_retry`);
//! 3. sends every **block** to the block-submission task at once;
//! 4. answers rejections at once, and hands accepted shares and blocks to the [`ShareSink`]
//!    (several batches at once when it falls behind: a group commit); accepted shares are answered
//!    only after the sink has taken them — "not recorded" (20) if it could not.
//!
//! Verification of the next batch overlaps the sink's work on the previous one.

pub mod sink;

pub use sink::{
    AcceptedShare, BlockCandidate, BlockOutcome, MemorySink, MinerLogin, ShareBatch, ShareSink, SinkError,
};

use crate::block_submitter::BlockSubmitterHandle;
use crate::clock::now_ms;
use crate::events::{EventBus, PoolEvent};
use crate::job_dispatcher::JobFeed;
use crate::lifecycle::{Lifecycle, Phase};
use crate::stats::PoolStats;
use pool_core::issue::Issue;
use pool_core::share::{self, Accepted, ShareRejection};
use pool_core::{ShareCheck, Verdict, VerifyEngine};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// What a connection hands in.
#[derive(Clone, Debug)]
pub struct SubmittedShare {
    pub miner: Arc<MinerLogin>,
    /// The issue the share's job id names (its nonce already claimed on it).
    pub issue: Arc<Issue>,
    /// The issue sent before it, when `issue` was the connection's newest (the job race).
    pub previous: Option<Arc<Issue>>,
    pub nonce: [u8; 8],
    pub received_ms: u64,
}

/// The verdict a miner hears.
pub type ShareAnswer = Result<Accepted, ShareRejection>;

/// Settings of the stage.
#[derive(Clone, Copy, Debug)]
pub struct StageConfig {
    pub max_batch: usize,
    pub max_wait: Duration,
    /// Shares queued at most before `submit` waits (backpressure).
    pub queue: usize,
    /// How long after a new issue a low-difficulty share on it is retried on the previous one.
    pub race_window_ms: u64,
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            max_batch: 1024,
            max_wait: Duration::from_millis(2),
            queue: 65_536,
            race_window_ms: 2_000,
        }
    }
}

struct Pending {
    share: SubmittedShare,
    answer: oneshot::Sender<ShareAnswer>,
}

/// A judged batch on its way to the sink.
struct Judged {
    /// The accepted shares' answers, in the order of `batch.shares`.
    answers: Vec<(oneshot::Sender<ShareAnswer>, Accepted)>,
    batch: ShareBatch,
}

/// The stage has stopped (shutdown).
#[derive(Debug, thiserror::Error)]
#[error("the share stage has stopped")]
pub struct StageClosed;

/// Handle to the stage; cheap to clone.
#[derive(Clone)]
pub struct ShareStageHandle {
    tx: mpsc::Sender<Pending>,
}

impl ShareStageHandle {
    /// Queues a share (waiting while the queue is full); the receiver yields its answer.
    pub async fn submit(&self, share: SubmittedShare) -> Result<oneshot::Receiver<ShareAnswer>, StageClosed> {
        let (answer, rx) = oneshot::channel();
        self.tx.send(Pending { share, answer }).await.map_err(|_| StageClosed)?;
        Ok(rx)
    }

    /// Shares queued and not yet taken into a batch (for metrics).
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// What the stage's tasks share.
struct Stage {
    engine: Arc<VerifyEngine>,
    jobs: JobFeed,
    blocks: BlockSubmitterHandle,
    stats: Arc<PoolStats>,
    config: StageConfig,
}

/// Where the stage's results go: accepted shares to the sink, blocks to the submitter, counts to
/// the stats, "block found" (once recorded) to the bus.
pub struct StageOutputs {
    pub sink: Arc<dyn ShareSink>,
    pub blocks: BlockSubmitterHandle,
    pub stats: Arc<PoolStats>,
    pub bus: EventBus,
}

/// Starts the stage's two tasks (verify + judge, record + answer) under `lifecycle`.
pub fn spawn(
    lifecycle: &Lifecycle,
    engine: Arc<VerifyEngine>,
    jobs: JobFeed,
    outputs: StageOutputs,
    config: StageConfig,
) -> ShareStageHandle {
    let StageOutputs { sink, blocks, stats, bus } = outputs;
    let (tx, rx) = mpsc::channel(config.queue.max(1));
    let (to_sink, judged) = mpsc::channel(8);
    let stage = Arc::new(Stage { engine, jobs, blocks, stats: stats.clone(), config });
    lifecycle.spawn(Phase::Shares, verify_loop(stage, rx, to_sink, lifecycle.token(Phase::Shares)));
    lifecycle.spawn(Phase::Shares, record_loop(judged, sink, stats, bus));
    ShareStageHandle { tx }
}

async fn verify_loop(
    stage: Arc<Stage>,
    mut rx: mpsc::Receiver<Pending>,
    to_sink: mpsc::Sender<Judged>,
    stop: CancellationToken,
) {
    let mut stopping = false;
    loop {
        let first = if stopping {
            rx.recv().await
        } else {
            tokio::select! {
                p = rx.recv() => p,
                _ = stop.cancelled() => {
                    // Take nothing new; what is queued is still verified and answered.
                    rx.close();
                    stopping = true;
                    continue;
                }
            }
        };
        let Some(first) = first else { break };
        let mut batch = Vec::with_capacity(stage.config.max_batch.min(1024));
        batch.push(first);
        let deadline = tokio::time::Instant::now() + stage.config.max_wait;
        while batch.len() < stage.config.max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => batch.push(p),
                _ => break,
            }
        }
        let judged = stage.judge(batch).await;
        if to_sink.send(judged).await.is_err() {
            break;
        }
    }
}

impl Stage {
    /// Verdicts for `checks`: the engine, or the CPU alone if that fails; None if both fail.
    async fn verify(&self, checks: Vec<ShareCheck>) -> Option<Vec<Verdict>> {
        let n = checks.len();
        let checks = Arc::new(checks);
        let (engine, c) = (self.engine.clone(), checks.clone());
        match tokio::task::spawn_blocking(move || engine.verify(&c)).await {
            Ok(v) if v.len() == n => return Some(v),
            Ok(v) => tracing::error!(
                got = v.len(),
                expected = n,
                "the verifier returned the wrong number of verdicts; re-verifying on the CPU"
            ),
            Err(e) => {
                tracing::error!(error = %e, shares = n, "share verification failed; re-verifying the batch on the CPU")
            }
        }
        self.stats.batches_reverified.fetch_add(1, Ordering::Relaxed);
        let engine = self.engine.clone();
        match tokio::task::spawn_blocking(move || engine.verify_cpu(&checks)).await {
            Ok(v) if v.len() == n => Some(v),
            _ => {
                tracing::error!(
                    shares = n,
                    "CPU verification failed too: the batch's shares are answered 'not recorded'"
                );
                None
            }
        }
    }

    async fn judge(&self, batch: Vec<Pending>) -> Judged {
        let checks = batch.iter().map(|p| check(&p.share.issue, p.share.nonce)).collect();
        let verdicts = self.verify(checks).await;
        let now = now_ms();
        let (freshness, previous_freshness): (Vec<_>, Vec<_>) = {
            let store = self.jobs.store();
            batch
                .iter()
                .map(|p| {
                    let s = &p.share;
                    (
                        store.freshness(&s.issue.job, now),
                        s.previous.as_ref().map(|i| store.freshness(&i.job, now)),
                    )
                })
                .unzip()
        };
        let mut outcomes: Vec<ShareAnswer> = match &verdicts {
            Some(v) => batch
                .iter()
                .zip(v)
                .zip(&freshness)
                .map(|((p, v), f)| share::judge(&p.share.issue, *f, v))
                .collect(),
            None => vec![Err(ShareRejection::NotRecorded); batch.len()],
        };
        // Credited under which issue (the race retry may credit the previous one).
        let mut credited: Vec<Arc<Issue>> = batch.iter().map(|p| p.share.issue.clone()).collect();
        let retries: Vec<(usize, Arc<Issue>)> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let s = &p.share;
                let pf = previous_freshness[i]?;
                share::race_retry(
                    &outcomes[i],
                    &s.issue,
                    s.previous.as_ref(),
                    pf,
                    now,
                    self.config.race_window_ms,
                )
                .map(|prev| (i, prev.clone()))
            })
            .collect();
        if !retries.is_empty() {
            let checks = retries.iter().map(|(i, prev)| check(prev, batch[*i].share.nonce)).collect();
            if let Some(v) = self.verify(checks).await {
                for ((i, prev), v) in retries.into_iter().zip(v) {
                    let pf = previous_freshness[i].expect("retried only with a previous issue");
                    let r = share::judge_race(&prev, pf, batch[i].share.nonce, &v);
                    if r.is_ok() {
                        self.stats.race_credited.fetch_add(1, Ordering::Relaxed);
                        outcomes[i] = r;
                        credited[i] = prev;
                    } else if r == Err(ShareRejection::Duplicate) {
                        outcomes[i] = r;
                    }
                }
            }
        }
        let mut judged = Judged { answers: Vec::new(), batch: ShareBatch::default() };
        for ((p, outcome), issue) in batch.into_iter().zip(outcomes).zip(credited) {
            let s = &p.share;
            match outcome {
                Err(r) => {
                    self.stats.reject(r);
                    let _ = p.answer.send(Err(r));
                }
                Ok(a) => {
                    let header = issue.header_with(s.nonce);
                    let template = &issue.job.template;
                    if a.is_block {
                        let block = BlockCandidate {
                            block_id: header.block_id(),
                            height: template.height,
                            template_hex: template.template_hex.clone(),
                            miner_work: header,
                            finder: s.miner.clone(),
                            network_difficulty: template.network_difficulty,
                            // The clock shares are timed by: rounds are cut on it.
                            found_ms: s.received_ms,
                        };
                        tracing::info!(
                            height = block.height,
                            block = %hex::encode(block.block_id),
                            finder = %s.miner.address,
                            worker = %s.miner.worker,
                            "BLOCK FOUND; submitting to every node"
                        );
                        self.stats.blocks_found.fetch_add(1, Ordering::Relaxed);
                        self.blocks.submit(block.clone());
                        judged.batch.blocks.push(block);
                    }
                    judged.batch.shares.push(AcceptedShare {
                        share_id: header.block_id(),
                        miner: s.miner.clone(),
                        job_id: issue.id.clone(),
                        height: template.height,
                        difficulty: a.difficulty,
                        network_difficulty: template.network_difficulty,
                        hash: a.hash,
                        is_block: a.is_block,
                        submitted_ms: s.received_ms,
                    });
                    judged.answers.push((p.answer, a));
                }
            }
        }
        judged
    }
}

fn check(issue: &Issue, nonce: [u8; 8]) -> ShareCheck {
    ShareCheck {
        header: issue.header_with(nonce),
        share_target: issue.target,
        network_target: issue.job.template.network_target,
    }
}

async fn record_loop(
    mut rx: mpsc::Receiver<Judged>,
    sink: Arc<dyn ShareSink>,
    stats: Arc<PoolStats>,
    bus: EventBus,
) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        // Behind? Take every batch that is waiting in one go (a group commit).
        while let Ok(more) = rx.try_recv() {
            group.push(more);
        }
        let mut batch = ShareBatch::default();
        let mut answers = Vec::new();
        for j in group {
            batch.shares.extend(j.batch.shares);
            batch.blocks.extend(j.batch.blocks);
            answers.extend(j.answers);
        }
        if batch.shares.is_empty() && batch.blocks.is_empty() {
            continue;
        }
        let recorded = sink.record(&batch).await;
        if recorded.is_ok() {
            // The batch is durable and its miners have not heard yet: a crash here loses nothing.
            crate::failpoint::hit("shares:after_record");
            // Announced only once recorded: a listener that then asks the ledger finds the block.
            for b in &batch.blocks {
                bus.publish(PoolEvent::BlockFound {
                    hash: hex::encode(b.block_id),
                    height: b.height,
                    finder: b.finder.address.to_string(),
                    worker: b.finder.worker.clone(),
                });
            }
        }
        if let Err(e) = &recorded {
            tracing::error!(error = %e, shares = batch.shares.len(), "accepted shares could not be recorded: answered 'not recorded' (20), not credited");
        }
        for (tx, a) in answers {
            let answer = match &recorded {
                Ok(()) => {
                    stats.shares_accepted.fetch_add(1, Ordering::Relaxed);
                    Ok(a)
                }
                Err(_) => {
                    stats.reject(ShareRejection::NotRecorded);
                    Err(ShareRejection::NotRecorded)
                }
            };
            let _ = tx.send(answer); // the connection may have gone; the share is recorded anyway
        }
        if recorded.is_ok() {
            crate::failpoint::hit("shares:after_answer");
        }
    }
}
