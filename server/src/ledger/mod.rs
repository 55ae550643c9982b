//! The ledger: accepted shares, found blocks, balances and payments, stored in PostgreSQL or SQLite.
//!
//! | module | what it holds |
//! |---|---|
//! | [`db`] | the two dialects, connecting, migrations compiled in, outage detection |
//! | [`record`] | writing share batches, block candidates and submission outcomes (group commit, exactly once) |
//! | [`spool`] | the fsync'd, checksummed on-disk spool used while the database is unreachable |
//! | [`instance`] | instance registration, the leader's advisory lock (singletons run on one instance) |
//! | [`leader`] | the leader loop running the singletons |
//! | [`tasks`] | which singletons run, from the configuration |
//! | [`accounts`] | balance changes with their audit rows, in a transaction on either dialect |
//! | [`blocks`] | block rows, statuses, where a round starts |
//! | [`split`] | a block's split from the stored shares (round, PPLNS window): what is credited and audited |
//! | [`best_node`] | the node the leader's tasks ask (healthy, highest topoheight, on the pool's network) |
//! | [`unlocker`] | blocks to maturity: candidate → immature → mature / orphaned, credited in one transaction |
//! | [`pps`] | the PPS crediter: the queue valued and credited exactly once from the PPS fund |
//! | [`audit`] | `tos-pool audit block`: a block's credits recomputed and compared |
//! | [`prune`] | raw shares and minute statistics deleted once nothing needs them, in chunks |
//! | [`payer`] | the payout state machine (intent → built → submitted → confirmed / failed), reconciliation |
//! | [`queries`] | read-only queries for the web API (hashrate rollups, pages of blocks and payouts, a miner) |
//! | [`payout_store`] | payout batches and payments: compare-and-set transitions with their balance moves |
//!
//! [`Ledger`] is the share stage's [`ShareSink`]: a batch is acknowledged once it is committed to the
//! database — or, when the database is unreachable, appended and synced to the spool, which a
//! background task replays, exactly once, as soon as the database answers again.

pub mod accounts;
pub mod audit;
pub mod best_node;
pub mod blocks;
pub mod db;
pub mod instance;
pub mod leader;
pub mod payer;
pub mod payout_store;
pub mod pps;
pub mod prune;
pub mod queries;
pub mod record;
pub mod split;
pub mod spool;
pub mod tasks;
pub mod unlocker;

use crate::lifecycle::{Lifecycle, Phase};
use crate::share_stage::{BlockOutcome, ShareBatch, ShareSink, SinkError};
use db::Db;
use futures::future::BoxFuture;
use record::{MinerIds, Written};
use spool::{Spool, SpoolRecord, SpooledBlock, SpooledShare};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the ledger lives.
#[derive(Clone)]
pub struct LedgerConfig {
    /// `postgres://…` or `sqlite://path` (a secret when it carries a password: never logged).
    pub url: String,
    pub spool_dir: PathBuf,
    pub instance_id: u8,
}

impl std::fmt::Debug for LedgerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerConfig")
            .field("url", &db::redact(&self.url))
            .field("spool_dir", &self.spool_dir)
            .field("instance_id", &self.instance_id)
            .finish()
    }
}

/// Counters for the status line and metrics.
#[derive(Default, Debug)]
pub struct LedgerStats {
    pub batches: AtomicU64,
    pub shares: AtomicU64,
    pub spooled_batches: AtomicU64,
    pub replayed_records: AtomicU64,
    /// Σ and count of commit times, µs (the mean commit latency).
    pub commit_us: AtomicU64,
    pub commits: AtomicU64,
}

/// The ledger.
pub struct Ledger {
    db: Db,
    url: String,
    miners: MinerIds,
    spool: Arc<Spool>,
    instance_id: u8,
    /// The database failed a write: batches go to the spool until it is drained.
    outage: AtomicBool,
    pub stats: LedgerStats,
    _registration: instance::Registration,
}

fn share_record(batch: &ShareBatch) -> SpoolRecord {
    SpoolRecord::Batch {
        shares: batch
            .shares
            .iter()
            .map(|s| SpooledShare {
                share_id: hex::encode(s.share_id),
                address: s.miner.address.to_string(),
                worker: s.miner.worker.clone(),
                scheme: s.miner.scheme.to_string(),
                difficulty: s.difficulty.to_string(),
                network_difficulty: s.network_difficulty.to_string(),
                height: s.height,
                job_id: s.job_id.clone(),
                hash: hex::encode(s.hash),
                is_block: s.is_block,
                submitted_ms: s.submitted_ms,
            })
            .collect(),
        blocks: batch
            .blocks
            .iter()
            .map(|b| SpooledBlock {
                block_id: hex::encode(b.block_id),
                height: b.height,
                template_hex: b.template_hex.to_string(),
                miner_work_hex: b.miner_work.to_hex(),
                address: b.finder.address.to_string(),
                worker: b.finder.worker.clone(),
                scheme: b.finder.scheme.to_string(),
                network_difficulty: b.network_difficulty.to_string(),
                found_ms: b.found_ms,
            })
            .collect(),
    }
}

fn outcome_record(o: &BlockOutcome) -> SpoolRecord {
    match o {
        BlockOutcome::Accepted { block_id, nodes } => SpoolRecord::BlockOutcome {
            block_id: hex::encode(block_id),
            accepted: true,
            note: nodes.join(", "),
        },
        BlockOutcome::Failed { block_id, errors } => SpoolRecord::BlockOutcome {
            block_id: hex::encode(block_id),
            accepted: false,
            note: errors.join("; "),
        },
    }
}

impl Ledger {
    /// Connects, applies the migrations, registers the instance and opens the spool.
    pub async fn open(cfg: &LedgerConfig) -> anyhow::Result<Arc<Ledger>> {
        let db = Db::connect(&cfg.url).await?;
        db.migrate().await?;
        let registration = instance::register(&db, &cfg.url, cfg.instance_id).await?;
        let spool = Spool::open(&cfg.spool_dir)?;
        if spool.pending() > 0 {
            tracing::warn!(records = spool.pending(), dir = %cfg.spool_dir.display(), "the spool holds records from an earlier run: replaying them");
        }
        tracing::info!(database = db.kind(), url = %db::redact(&cfg.url), "ledger ready");
        Ok(Arc::new(Ledger {
            db,
            url: cfg.url.clone(),
            miners: MinerIds::default(),
            outage: AtomicBool::new(spool.pending() > 0),
            spool: Arc::new(spool),
            instance_id: cfg.instance_id,
            stats: LedgerStats::default(),
            _registration: registration,
        }))
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The database URL (with its password: for opening more connections, never for logs).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub fn instance_id(&self) -> u8 {
        self.instance_id
    }

    /// Records waiting in the spool.
    pub fn spooled(&self) -> u64 {
        self.spool.pending()
    }

    /// Whether batches are going to the spool.
    pub fn in_outage(&self) -> bool {
        self.outage.load(Ordering::SeqCst)
    }

    async fn write(&self, records: &[SpoolRecord]) -> Result<Written, sqlx::Error> {
        let started = Instant::now();
        let w = record::write(&self.db, &self.miners, i16::from(self.instance_id), records).await?;
        self.stats.commit_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        Ok(w)
    }

    async fn spool(&self, record: SpoolRecord) -> Result<(), SinkError> {
        let spool = self.spool.clone();
        let r = tokio::task::spawn_blocking(move || spool.append(&record)).await;
        match r {
            Ok(Ok(())) => {
                self.stats.spooled_batches.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(e)) => {
                Err(SinkError::Unavailable(format!("the database is unreachable and the spool failed: {e}")))
            }
            Err(e) => Err(SinkError::Unavailable(format!("spool task failed: {e}"))),
        }
    }

    /// Replays the spool into the database, oldest first; returns the records replayed. Stops at
    /// the first failure (the database went away again, or a corrupt segment, which is kept).
    pub async fn replay_spool(&self) -> Result<u64, String> {
        let segments = self.spool.take_segments().map_err(|e| e.to_string())?;
        let mut replayed = 0u64;
        for seg in segments {
            let path = seg.clone();
            let records = tokio::task::spawn_blocking(move || spool::read_segment(&path))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            for chunk in records.chunks(64) {
                let w = self.write(chunk).await.map_err(|e| format!("replaying {}: {e}", seg.display()))?;
                if w.orphan_outcomes > 0 {
                    tracing::warn!(segment = %seg.display(), "a spooled block outcome names a block the database does not have; dropped");
                }
            }
            self.spool.remove(&seg, records.len() as u64).map_err(|e| e.to_string())?;
            replayed += records.len() as u64;
            self.stats.replayed_records.fetch_add(records.len() as u64, Ordering::Relaxed);
            tracing::info!(segment = %seg.display(), records = records.len(), "spool segment replayed into the database");
        }
        Ok(replayed)
    }

    /// Replays the spool while the database answers, then sends batches to the database again.
    async fn recover(&self) {
        if !self.db.ping().await {
            return;
        }
        match self.replay_spool().await {
            Ok(_) if self.spool.pending() == 0 => {
                if self.outage.swap(false, Ordering::SeqCst) {
                    tracing::info!(
                        "the database is back and the spool is replayed: writing to the database again"
                    );
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "spool replay stopped; retrying"),
        }
    }

    /// The background tasks: spool recovery and the instance heartbeat.
    pub fn spawn_background(self: &Arc<Self>, lifecycle: &Lifecycle) {
        let this = self.clone();
        let stop = lifecycle.token(Phase::Background);
        lifecycle.spawn(Phase::Background, async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut beat = 0u32;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => return,
                }
                if this.in_outage() || this.spool.pending() > 0 {
                    this.recover().await;
                }
                beat += 1;
                if beat.is_multiple_of(5)
                    && let Err(e) =
                        instance::heartbeat(&this.db, this.instance_id, this.spool.pending()).await
                {
                    tracing::debug!(error = %e, "instance heartbeat failed");
                }
            }
        });
    }
}

impl ShareSink for Ledger {
    fn record<'a>(&'a self, batch: &'a ShareBatch) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let record = share_record(batch);
            self.stats.batches.fetch_add(1, Ordering::Relaxed);
            self.stats.shares.fetch_add(batch.shares.len() as u64, Ordering::Relaxed);
            if !self.in_outage() {
                match self.write(std::slice::from_ref(&record)).await {
                    Ok(_) => return Ok(()),
                    Err(e) => {
                        if !self.outage.swap(true, Ordering::SeqCst) {
                            tracing::error!(error = %e, outage = db::is_outage(&e), spool = %self.spool.dir().display(),
                                "DATABASE WRITE FAILED: accepted shares go to the on-disk spool until it is back");
                        }
                    }
                }
            }
            self.spool(record).await
        })
    }

    fn block_outcome<'a>(&'a self, outcome: &'a BlockOutcome) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let record = outcome_record(outcome);
            // The outcome can beat its batch's commit by a few milliseconds: wait for the row.
            for _ in 0..50 {
                if self.in_outage() {
                    break;
                }
                match self.write(std::slice::from_ref(&record)).await {
                    Ok(w) if w.orphan_outcomes == 0 => return,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    Err(_) => break,
                }
            }
            if let Err(e) = self.spool(record).await {
                tracing::error!(error = %e, "a block outcome could not be recorded");
            }
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            if self.spool.pending() > 0 {
                if self.db.ping().await {
                    self.replay_spool().await.map_err(SinkError::Unavailable)?;
                } else {
                    tracing::warn!(records = self.spool.pending(), dir = %self.spool.dir().display(),
                        "the database is unreachable at shutdown: the spool keeps the shares for the next start");
                }
            }
            Ok(())
        })
    }
}
