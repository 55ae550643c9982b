//! Where accepted shares and found blocks go: the [`ShareSink`]. The share stage answers a miner's
//! accepted share only after the sink has taken the batch it belongs to (the ledger makes it
//! durable first). [`MemorySink`] keeps them in memory: counts for the status line, recent shares
//! for tests; nothing survives a restart.

use futures::future::BoxFuture;
use pool_core::address::Address;
use pool_core::hash::Hash;
use pool_core::{Difficulty, MinerWork, U256};
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Who a share belongs to: the connection's login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinerLogin {
    pub address: Address,
    pub worker: String,
    /// How this login's shares are rewarded (chosen by port or at login).
    pub scheme: pool_core::reward::Scheme,
    /// The connection number within this process.
    pub connection: u64,
    pub ip: IpAddr,
}

/// One accepted share, ready to be credited.
#[derive(Clone, Debug)]
pub struct AcceptedShare {
    /// BLAKE3 of the solved header: unique per (connection, issue, nonce) across restarts and
    /// instances, so replaying a share twice can be made a no-op.
    pub share_id: Hash,
    pub miner: Arc<MinerLogin>,
    /// The job id the share was credited under (the issue's).
    pub job_id: String,
    pub height: u64,
    /// The exact credited difficulty.
    pub difficulty: Difficulty,
    pub network_difficulty: Difficulty,
    pub hash: Hash,
    pub is_block: bool,
    pub submitted_ms: u64,
}

/// A block-grade share: everything needed to submit it again by hand.
#[derive(Clone, Debug)]
pub struct BlockCandidate {
    /// BLAKE3 of the solved header: the id the node knows the block by.
    pub block_id: Hash,
    pub height: u64,
    /// The original template, unmodified (what `submit_block` needs).
    pub template_hex: Arc<str>,
    /// The solved 112-byte header.
    pub miner_work: MinerWork,
    pub finder: Arc<MinerLogin>,
    pub network_difficulty: Difficulty,
    pub found_ms: u64,
}

/// One batch of the share stage's accepted shares and found blocks.
#[derive(Clone, Debug, Default)]
pub struct ShareBatch {
    pub shares: Vec<AcceptedShare>,
    pub blocks: Vec<BlockCandidate>,
}

/// What became of a block submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockOutcome {
    /// At least one node accepted it (or already had it).
    Accepted { block_id: Hash, nodes: Vec<String> },
    /// No node accepted it: refused by all, or none reachable before giving up.
    Failed { block_id: Hash, errors: Vec<String> },
}

/// The sink could not take a batch: its shares are answered "not recorded" (20), never "accepted".
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    #[error("share storage unavailable: {0}")]
    Unavailable(String),
}

/// Takes accepted shares and blocks.
pub trait ShareSink: Send + Sync + 'static {
    /// Takes `batch`; returns once it is kept (for the ledger: durable).
    fn record<'a>(&'a self, batch: &'a ShareBatch) -> BoxFuture<'a, Result<(), SinkError>>;
    /// A block submission finished.
    fn block_outcome<'a>(&'a self, outcome: &'a BlockOutcome) -> BoxFuture<'a, ()>;
    /// Everything taken so far is kept (called at shutdown, after the share stage has drained).
    fn flush(&self) -> BoxFuture<'_, Result<(), SinkError>>;
}

/// Recent shares kept by [`MemorySink`].
const RECENT: usize = 100_000;

#[derive(Default)]
struct Memory {
    shares: u64,
    difficulty: U256,
    recent: VecDeque<AcceptedShare>,
    blocks: Vec<BlockCandidate>,
    outcomes: Vec<BlockOutcome>,
    flushed: u64,
}

/// An in-memory sink: counts, the most recent shares, every block and outcome.
#[derive(Default)]
pub struct MemorySink {
    inner: Mutex<Memory>,
    /// While set, `record` fails (tests of an unavailable sink).
    failing: AtomicBool,
}

impl MemorySink {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn share_count(&self) -> u64 {
        self.lock().shares
    }

    /// Σ credited difficulty.
    pub fn total_difficulty(&self) -> U256 {
        self.lock().difficulty
    }

    pub fn recent_shares(&self) -> Vec<AcceptedShare> {
        self.lock().recent.iter().cloned().collect()
    }

    pub fn blocks(&self) -> Vec<BlockCandidate> {
        self.lock().blocks.clone()
    }

    pub fn outcomes(&self) -> Vec<BlockOutcome> {
        self.lock().outcomes.clone()
    }

    pub fn flushes(&self) -> u64 {
        self.lock().flushed
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl ShareSink for MemorySink {
    fn record<'a>(&'a self, batch: &'a ShareBatch) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            if self.failing.load(Ordering::SeqCst) {
                return Err(SinkError::Unavailable("the in-memory sink is set to fail".into()));
            }
            let mut m = self.lock();
            for s in &batch.shares {
                m.shares += 1;
                m.difficulty = m.difficulty.checked_add(s.difficulty.value()).unwrap_or(U256::MAX);
                if m.recent.len() == RECENT {
                    m.recent.pop_front();
                }
                m.recent.push_back(s.clone());
            }
            m.blocks.extend(batch.blocks.iter().cloned());
            Ok(())
        })
    }

    fn block_outcome<'a>(&'a self, outcome: &'a BlockOutcome) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.lock().outcomes.push(outcome.clone()) })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            self.lock().flushed += 1;
            Ok(())
        })
    }
}
