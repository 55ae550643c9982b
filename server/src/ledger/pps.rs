//! The PPS crediter (a leader singleton): every PPS share is worth its expected value, credited at
//! once, exactly once, from the pool's `pps_fund`.
//!
//! * The share writer puts each newly inserted `scheme = 'pps'` share in `pps_queue` with its own
//!   share and network difficulty (a spool replay inserts nothing twice).
//! * A run takes the queue oldest first, `blocks.pps_credit_batch` rows per transaction. Each
//!   share is valued with [`pps_value`]`(d, D, expected reward, rewards.pps_fee)` and added to its
//!   miner's [`PpsAccumulator`], which carries the fraction (stored in `pps_carry` as `r/m`). In one
//!   transaction: the queue rows are deleted (all of them, or the transaction is abandoned), the
//!   carries written, each miner's whole units credited to `balances.balance` with one audit row,
//!   and the total taken from the `pps_fund` pool account (which blocks' PPS portions refill; it may
//!   go negative: the pool carries the luck).
//! * **The expected block reward is the node's `get_info.miner_reward`** at the time of the run —
//!   what the pool's address is paid for a normal block, before transaction fees (which cannot be
//!   known in advance), the same figure §3.6 says to read. A run waits every few seconds, so a
//!   share is valued within seconds of being found. When no node answers or it reports no
//!   `miner_reward`, nothing is credited and the queue waits.

use super::Ledger;
use super::accounts::{self, BalanceChange, DbTx};
use super::best_node::best_node;
use super::leader::LeaderTask;
use crate::node::Upstreams;
use futures::future::BoxFuture;
use pool_core::Difficulty;
use pool_core::Network;
use pool_core::reward::{FeeBp, PpsAccumulator, pps_value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A run stops taking new batches after this long (the leader's other tasks are waiting).
const RUN_BUDGET: Duration = Duration::from_secs(5);

/// The PPS crediter's settings.
#[derive(Clone, Copy, Debug)]
pub struct PpsRules {
    pub every: Duration,
    pub batch: u64,
    pub fee: FeeBp,
    pub network: Network,
}

impl PpsRules {
    pub fn from_config(cfg: &crate::config::Checked) -> Self {
        PpsRules {
            every: Duration::from_millis(cfg.raw.blocks.pps_credit_interval_ms),
            batch: cfg.raw.blocks.pps_credit_batch,
            fee: cfg.rewards.pps_fee,
            network: cfg.network,
        }
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PpsRun {
    pub shares: u64,
    /// Atomic units credited (= taken from the fund).
    pub credited: u64,
    /// Balance changes written.
    pub changes: u64,
    /// The expected reward used (None: none known, nothing credited).
    pub reward: Option<u64>,
}

pub struct PpsCrediter {
    ledger: Arc<Ledger>,
    upstreams: Upstreams,
    rules: PpsRules,
    interrupt: AtomicBool,
}

struct Queued {
    share_id: Vec<u8>,
    miner_id: i64,
    difficulty: Difficulty,
    network_difficulty: Difficulty,
}

impl PpsCrediter {
    pub fn new(ledger: Arc<Ledger>, upstreams: Upstreams, rules: PpsRules) -> Self {
        PpsCrediter { ledger, upstreams, rules, interrupt: AtomicBool::new(false) }
    }

    /// For crash tests: the next batch is abandoned just before its commit.
    #[doc(hidden)]
    pub fn interrupt_next_commit(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }

    async fn queued(&self) -> anyhow::Result<Vec<Queued>> {
        let q = "SELECT share_id, miner_id, CAST(difficulty AS TEXT), CAST(network_difficulty AS TEXT) FROM pps_queue \
                 ORDER BY created_ms, share_id LIMIT $1";
        let limit = i64::try_from(self.rules.batch).unwrap_or(i64::MAX);
        let rows: Vec<(Vec<u8>, i64, String, String)> =
            crate::on_db!(self.ledger.db(), |p| sqlx::query_as(q).bind(limit).fetch_all(p).await)?;
        rows.into_iter()
            .map(|(share_id, miner_id, d, n)| {
                let parse = |s: &str| {
                    Difficulty::from_dec_str(s)
                        .map_err(|e| anyhow::anyhow!("pps_queue difficulty {s:?}: {e}"))
                };
                Ok(Queued { difficulty: parse(&d)?, network_difficulty: parse(&n)?, share_id, miner_id })
            })
            .collect()
    }

    /// Credits the queue (batches until it is empty or the run's time is up).
    pub async fn run_once(&self) -> anyhow::Result<PpsRun> {
        let started = Instant::now();
        let mut run = PpsRun::default();
        let mut batch = self.queued().await?;
        if batch.is_empty() {
            return Ok(run);
        }
        let reward = match best_node(&self.upstreams, self.rules.network).await {
            Ok(n) => n.info.miner_reward,
            Err(e) => {
                tracing::warn!(error = %e, queued = batch.len(), "PPS shares wait: no node tells the expected block reward");
                return Ok(run);
            }
        };
        let Some(reward) = reward else {
            tracing::warn!(
                queued = batch.len(),
                "PPS shares wait: the node's get_info reports no miner_reward"
            );
            return Ok(run);
        };
        run.reward = Some(reward);
        loop {
            let full = batch.len() as u64 >= self.rules.batch;
            let (credited, changes) = self.credit(&batch, reward).await?;
            run.shares += batch.len() as u64;
            run.credited += credited;
            run.changes += changes;
            if !full || started.elapsed() >= RUN_BUDGET {
                break;
            }
            batch = self.queued().await?;
            if batch.is_empty() {
                break;
            }
        }
        tracing::info!(
            shares = run.shares,
            credited = run.credited,
            miners = run.changes,
            reward,
            "PPS shares credited"
        );
        Ok(run)
    }

    /// One batch in one transaction: (units credited, balance changes).
    async fn credit(&self, batch: &[Queued], reward: u64) -> anyhow::Result<(u64, u64)> {
        let db = self.ledger.db();
        let mut tx = DbTx::begin(db).await?;
        // The deletes first: they take the write lock, and a row already gone means another writer
        // credited it — abandon the whole batch.
        let deleted = delete_queued(&mut tx, batch).await?;
        if deleted != batch.len() as u64 {
            anyhow::bail!(
                "{} of {} queued PPS shares were already gone (credited by another writer?); batch abandoned, retried next run",
                batch.len() as u64 - deleted,
                batch.len()
            );
        }
        let mut per_miner: BTreeMap<i64, (PpsAccumulator, u64, u64)> = BTreeMap::new();
        for s in batch {
            if let std::collections::btree_map::Entry::Vacant(e) = per_miner.entry(s.miner_id) {
                e.insert((load_carry(&mut tx, s.miner_id).await?, 0, 0));
            }
            let value =
                pps_value(s.difficulty, s.network_difficulty, reward, self.rules.fee).map_err(|e| {
                    anyhow::anyhow!(
                        "PPS share {} (difficulty {} at network difficulty {}): {e}",
                        hex::encode(&s.share_id),
                        s.difficulty,
                        s.network_difficulty
                    )
                })?;
            let e = per_miner.get_mut(&s.miner_id).expect("inserted above");
            e.1 += e.0.credit(&value);
            e.2 += 1;
        }
        let mut changes = Vec::new();
        let mut total: u64 = 0;
        for (&miner_id, (acc, units, shares)) in &per_miner {
            store_carry(&mut tx, miner_id, acc).await?;
            if *units > 0 {
                total += units;
                changes.push(BalanceChange {
                    miner_id,
                    reason: "pps",
                    d_balance: super::db::to_i64(*units),
                    note: Some(format!("{shares} PPS shares at block reward {reward}")),
                    ..BalanceChange::default()
                });
            }
        }
        accounts::apply(&mut tx, &changes).await?;
        if total > 0 {
            accounts::pool_account(&mut tx, "pps_fund", -super::db::to_i64(total)).await?;
        }
        crate::failpoint::hit("pps_before_commit");
        if self.interrupt.swap(false, Ordering::SeqCst) {
            anyhow::bail!("interrupted before commit");
        }
        tx.commit().await?;
        Ok((total, changes.len() as u64))
    }
}

async fn delete_queued(tx: &mut DbTx, batch: &[Queued]) -> anyhow::Result<u64> {
    Ok(match tx {
        DbTx::Pg(t) => {
            let ids: Vec<Vec<u8>> = batch.iter().map(|s| s.share_id.clone()).collect();
            sqlx::query("DELETE FROM pps_queue WHERE share_id = ANY($1)")
                .bind(ids)
                .execute(&mut **t)
                .await?
                .rows_affected()
        }
        DbTx::Sqlite(t) => {
            let mut n = 0;
            for s in batch {
                n += sqlx::query("DELETE FROM pps_queue WHERE share_id = $1")
                    .bind(&s.share_id)
                    .execute(&mut **t)
                    .await?
                    .rows_affected();
            }
            n
        }
    })
}

async fn load_carry(tx: &mut DbTx, miner_id: i64) -> anyhow::Result<PpsAccumulator> {
    let q = "SELECT carry FROM pps_carry WHERE miner_id = $1";
    let s: Option<String> =
        crate::on_tx!(tx, |conn| sqlx::query_scalar(q).bind(miner_id).fetch_optional(&mut *conn).await)?;
    match s {
        None => Ok(PpsAccumulator::default()),
        Some(s) => s.parse().map_err(|e| {
            anyhow::anyhow!("pps_carry of miner {miner_id} is {s:?}: {e}; fix the row (\"0/1\" resets it) to resume PPS crediting")
        }),
    }
}

async fn store_carry(tx: &mut DbTx, miner_id: i64, acc: &PpsAccumulator) -> anyhow::Result<()> {
    let q = "INSERT INTO pps_carry (miner_id, carry) VALUES ($1, $2) \
             ON CONFLICT (miner_id) DO UPDATE SET carry = EXCLUDED.carry";
    let carry = acc.to_string();
    crate::on_tx!(tx, |conn| sqlx::query(q)
        .bind(miner_id)
        .bind(&carry)
        .execute(&mut *conn)
        .await
        .map(|_| ()))?;
    Ok(())
}

impl LeaderTask for PpsCrediter {
    fn name(&self) -> &'static str {
        "pps"
    }

    fn every(&self) -> Duration {
        self.rules.every
    }

    fn run(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { self.run_once().await.map(|_| ()) })
    }
}
