//! Pool-wide counters: what the status line, the summaries and (later) the metrics read.

use pool_core::share::ShareRejection;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every rejection, for counting by reason.
pub const REJECTIONS: [ShareRejection; 9] = [
    ShareRejection::Unauthorized,
    ShareRejection::RateLimited,
    ShareRejection::Malformed,
    ShareRejection::UnknownJob,
    ShareRejection::Stale,
    ShareRejection::NoLiveNode,
    ShareRejection::Duplicate,
    ShareRejection::LowDifficulty,
    ShareRejection::NotRecorded,
];

/// A short label for logs and metrics.
pub fn rejection_label(r: ShareRejection) -> &'static str {
    match r {
        ShareRejection::Unauthorized => "unauthorized",
        ShareRejection::RateLimited => "rate_limited",
        ShareRejection::Malformed => "malformed",
        ShareRejection::UnknownJob => "unknown_job",
        ShareRejection::Stale => "stale",
        ShareRejection::NoLiveNode => "no_live_node",
        ShareRejection::Duplicate => "duplicate",
        ShareRejection::LowDifficulty => "low_difficulty",
        ShareRejection::NotRecorded => "not_recorded",
    }
}

/// Pool-wide counters (monotonic, except `connections`).
#[derive(Default, Debug)]
pub struct PoolStats {
    pub shares_accepted: AtomicU64,
    rejected: [AtomicU64; 9],
    /// Block-grade shares found (each is submitted).
    pub blocks_found: AtomicU64,
    /// Blocks a node accepted (or already had).
    pub blocks_accepted: AtomicU64,
    /// Blocks every node refused or that could not be submitted.
    pub blocks_failed: AtomicU64,
    /// Shares that met the previous issue's target after tosminer's job race.
    pub race_credited: AtomicU64,
    /// Batches whose verification failed and were re-verified on the CPU by the share stage.
    pub batches_reverified: AtomicU64,
    pub connections: AtomicU64,
    pub refused_banned: AtomicU64,
    pub refused_over_cap: AtomicU64,
    pub bans: AtomicU64,
}

impl PoolStats {
    pub fn reject(&self, r: ShareRejection) {
        let i = REJECTIONS.iter().position(|x| *x == r).expect("listed");
        self.rejected[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rejected(&self, r: ShareRejection) -> u64 {
        let i = REJECTIONS.iter().position(|x| *x == r).expect("listed");
        self.rejected[i].load(Ordering::Relaxed)
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().map(|a| a.load(Ordering::Relaxed)).sum()
    }

    pub fn accepted(&self) -> u64 {
        self.shares_accepted.load(Ordering::Relaxed)
    }
}
