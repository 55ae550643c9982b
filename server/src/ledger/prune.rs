//! Pruning (a leader singleton), so the share table never grows forever.
//!
//! **Raw shares** are deleted once no reward scheme needs them: a share is kept if it is newer than
//! any of
//! * the retention, `retention.share_days` (default 7: recent blocks can still be audited);
//! * the **open round**: every share after the newest shared block (the next block's PROP and
//!   PPS portions, and the group work of its round);
//! * every **unsettled block** (`candidate`, `immature`): its round (after the previous block of its
//!   kind) and its PPLNS window (the oldest share the window walk reads);
//! * the **current PPLNS window**: the newest PPLNS shares worth `factor ×` the node's current
//!   difficulty — the next block's window, unless the difficulty rises by more than the retention
//!   covers. With no node answering, no share is pruned this run.
//!
//! A settled (mature or orphaned) block older than the retention can no longer be audited; its
//! credits, settlement and audit rows are kept forever.
//!
//! **Worker statistics** (rolled up per minute by the share writer) are deleted after
//! `retention.worker_stats_days` (default 30).
//!
//! Deletes go in chunks of `retention.prune_chunk_rows` rows, each its own statement (no long lock,
//! on either database), oldest first, until nothing is left or the run's time is up; the counts are
//! logged.

use super::Ledger;
use super::best_node::best_node;
use super::blocks;
use super::db::Db;
use super::leader::LeaderTask;
use super::split::read_window;
use crate::node::Upstreams;
use futures::future::BoxFuture;
use pool_core::reward::Ratio;
use pool_core::{Difficulty, Network};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A run stops deleting after this long per table (the leader's other tasks are waiting); the next
/// run continues.
const RUN_BUDGET: Duration = Duration::from_secs(10);
const DAY_MS: u64 = 86_400_000;

#[derive(Clone, Copy, Debug)]
pub struct PruneRules {
    pub every: Duration,
    pub share_retention_ms: u64,
    pub stats_retention_ms: u64,
    pub chunk_rows: u64,
    pub pplns_factor: Ratio,
    pub network: Network,
}

impl PruneRules {
    pub fn from_config(cfg: &crate::config::Checked) -> Self {
        let r = &cfg.raw.retention;
        PruneRules {
            every: Duration::from_millis(r.prune_interval_ms),
            share_retention_ms: r.share_days.saturating_mul(DAY_MS),
            stats_retention_ms: r.worker_stats_days.saturating_mul(DAY_MS),
            chunk_rows: r.prune_chunk_rows,
            pplns_factor: cfg.rewards.pplns_factor,
            network: cfg.network,
        }
    }
}

/// The oldest share still needed, and what needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Horizon {
    /// Shares with `created_ms` below this are not needed.
    pub keep_from_ms: i64,
    pub bound_by: String,
}

/// What one run deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub shares: u64,
    pub worker_stats: u64,
    /// None: no share was pruned (no node told the current difficulty).
    pub horizon: Option<Horizon>,
}

/// The share horizon at `now_ms`, with the node's current network difficulty `current`.
pub async fn share_horizon(
    db: &Db,
    rules: &PruneRules,
    current: Difficulty,
    now_ms: i64,
) -> anyhow::Result<Horizon> {
    let mut h = Horizon {
        keep_from_ms: now_ms.saturating_sub(rules.share_retention_ms as i64),
        bound_by: "the retention".into(),
    };
    let mut bound = |ms: i64, why: String| {
        if ms < h.keep_from_ms {
            h = Horizon { keep_from_ms: ms, bound_by: why };
        }
    };
    match blocks::newest_shared_found_ms(db).await? {
        Some(t) => bound(t.saturating_add(1), "the open round".into()),
        None => bound(0, "the open round (no shared block yet)".into()),
    }
    for b in blocks::unsettled(db).await? {
        let round = blocks::round_start_after(db, &b).await?.map_or(0, |t| t.saturating_add(1));
        bound(round, format!("the round of unsettled block {}", b.hash_hex()));
        if !b.is_solo()
            && let Some(w) =
                read_window(db, rules.pplns_factor, b.network_difficulty, b.found_ms).await?.start_ms
        {
            bound(w, format!("the PPLNS window of unsettled block {}", b.hash_hex()));
        }
    }
    if let Some(w) = read_window(db, rules.pplns_factor, current, i64::MAX).await?.start_ms {
        bound(w, "the current PPLNS window".into());
    }
    Ok(h)
}

/// Deletes `sql`'s chunks (`$1` the bound, `$2` the chunk size) until none is left or time is up.
async fn delete_chunks(db: &Db, sql: &'static str, bound: i64, chunk: u64) -> anyhow::Result<u64> {
    let started = Instant::now();
    let chunk = i64::try_from(chunk).unwrap_or(i64::MAX);
    let mut total = 0u64;
    loop {
        let n = crate::on_db!(db, |p| sqlx::query(sql)
            .bind(bound)
            .bind(chunk)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        total += n;
        if (n as i64) < chunk || started.elapsed() >= RUN_BUDGET {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

const DELETE_SHARES: &str = "DELETE FROM shares WHERE share_id IN \
     (SELECT share_id FROM shares WHERE created_ms < $1 ORDER BY created_ms LIMIT $2)";
const DELETE_STATS: &str = "DELETE FROM worker_stats WHERE (miner_id, worker, minute_ms, instance_id) IN \
     (SELECT miner_id, worker, minute_ms, instance_id FROM worker_stats WHERE minute_ms < $1 ORDER BY minute_ms LIMIT $2)";

/// One pruning pass at `now_ms`; `current` is the node's network difficulty (None: shares are kept).
pub async fn prune(
    db: &Db,
    rules: &PruneRules,
    current: Option<Difficulty>,
    now_ms: i64,
) -> anyhow::Result<Pruned> {
    let mut done = Pruned::default();
    if let Some(d) = current {
        let h = share_horizon(db, rules, d, now_ms).await?;
        done.shares = delete_chunks(db, DELETE_SHARES, h.keep_from_ms, rules.chunk_rows).await?;
        done.horizon = Some(h);
    }
    let stats_bound = now_ms.saturating_sub(rules.stats_retention_ms as i64);
    done.worker_stats = delete_chunks(db, DELETE_STATS, stats_bound, rules.chunk_rows).await?;
    Ok(done)
}

/// The pruning task.
pub struct Pruner {
    ledger: Arc<Ledger>,
    upstreams: Upstreams,
    rules: PruneRules,
}

impl Pruner {
    pub fn new(ledger: Arc<Ledger>, upstreams: Upstreams, rules: PruneRules) -> Self {
        Pruner { ledger, upstreams, rules }
    }

    pub async fn run_once(&self) -> anyhow::Result<Pruned> {
        let current = match best_node(&self.upstreams, self.rules.network).await {
            Ok(n) => Some(n.info.difficulty),
            Err(e) => {
                tracing::warn!(error = %e, "no share pruned this run: the current PPLNS window needs the node's difficulty");
                None
            }
        };
        let done = prune(self.ledger.db(), &self.rules, current, crate::clock::now_ms() as i64).await?;
        let (keep_from_ms, bound_by) =
            done.horizon.as_ref().map_or((None, ""), |h| (Some(h.keep_from_ms), h.bound_by.as_str()));
        if done.shares > 0 || done.worker_stats > 0 {
            tracing::info!(
                shares = done.shares,
                worker_stats = done.worker_stats,
                ?keep_from_ms,
                bound_by,
                "pruned"
            );
        } else {
            tracing::debug!(?keep_from_ms, bound_by, "nothing to prune");
        }
        Ok(done)
    }
}

impl LeaderTask for Pruner {
    fn name(&self) -> &'static str {
        "prune"
    }

    fn every(&self) -> Duration {
        self.rules.every
    }

    fn run(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { self.run_once().await.map(|_| ()) })
    }
}
