//! The pool's public numbers, recomputed every few seconds by one task and shared through a
//! `watch` channel: the REST stats endpoints answer from it and the WebSocket pushes it, so the
//! database load does not grow with the number of visitors.

use super::PoolView;
use super::hashrate::{self, HashratePoint, HashrateWindows};
use super::incremental::{MinuteCache, RoundTracker};
use crate::ledger::queries;
use pool_core::Difficulty;
use pool_core::reward::effort_bp;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The verifier as the public sees it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifierView {
    /// `auto` | `gpu` | `cpu`.
    pub mode: String,
    pub using_gpu: bool,
    pub gpu: Option<String>,
    pub cpu: String,
    pub gpu_out_of_service: Option<String>,
    /// Shares verified per second since the previous snapshot.
    pub shares_per_second: u64,
    pub gpu_shares: u64,
    pub cpu_shares: u64,
}

/// The open round.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RoundView {
    /// Σ difficulty of the round's shares.
    pub work: String,
    /// Effort so far in basis points (10000 = 100 %: one network difficulty of work).
    pub effort_bp: Option<u64>,
    /// The round began after this block's `found_ms` (null: at the first share).
    pub started_after_ms: Option<i64>,
}

/// The chain, from the nodes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NetworkView {
    pub network: String,
    pub height: Option<u64>,
    pub topoheight: Option<u64>,
    pub difficulty: Option<String>,
    /// difficulty / block time, H/s.
    pub hashrate: Option<String>,
    pub block_time_ms: Option<u64>,
    pub nodes: u32,
    pub nodes_healthy: u32,
}

/// `/api/v1/pool/stats` (also the WebSocket `stats` message).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PoolStatsView {
    pub updated_ms: u64,
    pub hashrate: HashrateWindows,
    /// With a share in the last 10 minutes.
    pub miners: u64,
    pub workers: u64,
    pub round: RoundView,
    pub shares_accepted: u64,
    pub shares_rejected: u64,
    pub connections: u64,
    pub blocks_found: u64,
    pub verifier: VerifierView,
    pub database: Option<DatabaseView>,
    pub network: NetworkView,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct DatabaseView {
    pub kind: String,
    pub in_outage: bool,
    pub spooled: u64,
}

/// What the refresher publishes.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub stats: PoolStatsView,
    /// The last hour, per minute (the live chart's start).
    pub recent: Vec<HashratePoint>,
}

async fn network(view: &PoolView) -> NetworkView {
    let status = view.upstreams.status();
    let mut n = NetworkView {
        network: view.network.clone(),
        nodes: status.len() as u32,
        nodes_healthy: status.iter().filter(|s| s.healthy && s.refused.is_none()).count() as u32,
        ..NetworkView::default()
    };
    let job = view.jobs.latest.borrow().clone();
    if let Some(j) = job {
        n.height = Some(j.template.height);
        n.difficulty = Some(j.template.network_difficulty.to_string());
    }
    // Topoheight and block time from the first healthy node that answers quickly.
    for (node, s) in view.upstreams.nodes().iter().zip(&status) {
        if !s.healthy || s.refused.is_some() {
            continue;
        }
        if let Ok(Ok(info)) = tokio::time::timeout(Duration::from_secs(2), node.client.get_info()).await {
            n.topoheight = Some(info.topoheight);
            if n.height.is_none() {
                n.height = Some(info.height);
                n.difficulty = Some(info.difficulty.to_string());
            }
            if info.block_time_target > 0 {
                n.block_time_ms = Some(info.block_time_target);
            }
            break;
        }
    }
    if let (Some(d), Some(bt)) = (n.difficulty.as_deref(), n.block_time_ms)
        && let Ok(d) = Difficulty::from_dec_str(d)
    {
        let h = d.value().checked_mul_u64(1000).and_then(|v| v.div_rem_u64(bt)).map(|(q, _)| q);
        n.hashrate = h.map(|h| h.to_string());
    }
    n
}

/// What the refresher keeps between snapshots.
pub struct Reads {
    minutes: MinuteCache,
    round: RoundTracker,
}

impl Default for Reads {
    fn default() -> Self {
        Reads { minutes: MinuteCache::new(hashrate::WINDOWS_MS[2]), round: RoundTracker::default() }
    }
}

/// Computes one snapshot; `prev` gives the verifier's rate.
pub async fn compute(view: &PoolView, prev: &Snapshot, reads: &mut Reads) -> anyhow::Result<Snapshot> {
    let now = crate::clock::now_ms();
    let now_i = now as i64;
    let status = view.engine.status();
    let verified = status.stats.cpu_shares + status.stats.gpu_shares;
    let prev_verified = prev.stats.verifier.cpu_shares + prev.stats.verifier.gpu_shares;
    let elapsed_s = now.saturating_sub(prev.stats.updated_ms) / 1000;
    let s = &view.stats;
    let mut stats = PoolStatsView {
        updated_ms: now,
        shares_accepted: s.accepted(),
        shares_rejected: s.rejected_total(),
        connections: s.connections.load(Ordering::Relaxed),
        blocks_found: s.blocks_found.load(Ordering::Relaxed),
        verifier: VerifierView {
            mode: status.mode.to_string(),
            using_gpu: status.using_gpu,
            gpu: status.gpu.clone(),
            cpu: status.cpu.clone(),
            gpu_out_of_service: status.gpu_out_of_service.clone(),
            shares_per_second: if prev.stats.updated_ms == 0 || elapsed_s == 0 {
                0
            } else {
                verified.saturating_sub(prev_verified) / elapsed_s
            },
            gpu_shares: status.stats.gpu_shares,
            cpu_shares: status.stats.cpu_shares,
        },
        network: network(view).await,
        ..PoolStatsView::default()
    };
    let mut recent = Vec::new();
    if let Some(ledger) = &view.ledger {
        let db = ledger.db();
        stats.database = Some(DatabaseView {
            kind: db.kind().into(),
            in_outage: ledger.in_outage(),
            spooled: ledger.spooled(),
        });
        let minutes = reads.minutes.refresh(db, now_i).await?;
        stats.hashrate = hashrate::windows(minutes, now_i);
        recent = hashrate::history(minutes, now_i, 1);
        let (m, w) = queries::active_counts(db, now_i - hashrate::WINDOWS_MS[0]).await?;
        (stats.miners, stats.workers) = (m, w);
        let (after, work) = reads.round.refresh(db, now_i).await?;
        let d = view.jobs.latest.borrow().as_ref().map(|j| j.template.network_difficulty);
        stats.round = RoundView {
            work: work.to_string(),
            effort_bp: d.map(|d| effort_bp(work, d)),
            started_after_ms: after,
        };
    } else {
        stats.hashrate = HashrateWindows { m10: "0".into(), h1: "0".into(), h24: "0".into() };
        stats.round.work = "0".into();
    }
    Ok(Snapshot { stats, recent })
}

/// The refresher: a snapshot now and every `every` until `stop`.
pub fn spawn_refresher(
    view: PoolView,
    every: Duration,
    stop: CancellationToken,
) -> (watch::Receiver<Arc<Snapshot>>, impl std::future::Future<Output = ()> + Send + 'static) {
    let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
    let task = async move {
        let mut reads = Reads::default();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            let prev = tx.borrow().clone();
            match compute(&view, &prev, &mut reads).await {
                Ok(s) => {
                    let _ = tx.send(Arc::new(s));
                }
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "pool statistics could not be computed"),
            }
        }
    };
    (rx, task)
}
