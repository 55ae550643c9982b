//! The unlocker (a leader singleton): follows every found block to maturity and credits it, per
//! protocol.md §3.6 — `get_block_by_hash` compared with `stable_topoheight`, never height as
//! topoheight.
//!
//! Each run asks one node ([`best_node`]) its `get_info`, then, for every `candidate` and
//! `immature` block, `get_block_by_hash {include_txs: true}`, and decides ([`classify`]), with
//! `m = blocks.stable_margin` extra heights of safety:
//!
//! | the node says | when | the block becomes |
//! |---|---|---|
//! | not ordered (`topoheight` null, or type `Orphaned`) | height + m ≤ `stableheight` | **orphaned** (else it waits) |
//! | never heard of it (a failed submission) | height + m ≤ `stableheight` and found ≥ `orphan_unknown_after_ms` ago | **orphaned** (else it waits) |
//! | ordered, topoheight + m > `stable_topoheight` | | **immature**: the split of `miner_reward + total_fees` into `balances.immature` |
//! | ordered, topoheight + m ≤ `stable_topoheight`, type Normal / Side / Sync | | **mature**: the immature credits reversed, the split of the reward the node reports *now* (a side block pays less) into `balances.balance`, `pool_fee` and `pps_fund` to the pool accounts |
//!
//! A block the node has never heard of can no longer be accepted once its height is stable (the node
//! refuses blocks below its stable height); the extra time covers a node that is still catching up.
//!
//! Every move is **one transaction**: the guarded status update (`WHERE status = <old>`), the
//! `credits` and `settlements` rows — whose primary keys `(block, miner, stage)` and `(block, stage)`
//! make a second credit of the same stage impossible — the balances, and one audit row per balance
//! change ([`accounts::apply`]). A run cut short anywhere changes nothing; the next run does it once.
//! An `immature → orphaned` move reverses exactly the immature credits it finds in `credits`.
//!
//! No block is credited while any instance's spool holds records (their shares may belong to the
//! round or window); orphans are still recorded meanwhile.

use super::Ledger;
use super::accounts::{self, BalanceChange, DbTx};
use super::best_node::best_node;
use super::blocks::{self, BlockRow, status};
use super::leader::LeaderTask;
use super::split::{self, Computed, Terms};
use crate::config::Rewards;
use crate::events::{EventBus, PoolEvent};
use crate::node::NodeError;
use crate::node::Upstreams;
use crate::node::types::BlockInfo;
use futures::future::BoxFuture;
use pool_core::Network;
use pool_core::reward::MAX_SUPPLY_ATOMIC;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The unlocker's rules.
#[derive(Clone, Copy, Debug)]
pub struct UnlockRules {
    pub every: Duration,
    /// Heights beyond the node's stable height before a block is final.
    pub stable_margin: u64,
    pub orphan_unknown_after_ms: u64,
    /// The pool's network: a node on another one is never asked.
    pub network: Network,
}

impl UnlockRules {
    pub fn from_config(cfg: &crate::config::Checked) -> Self {
        let b = &cfg.raw.blocks;
        UnlockRules {
            every: Duration::from_millis(b.unlock_interval_ms),
            stable_margin: b.stable_margin,
            orphan_unknown_after_ms: b.orphan_unknown_after_ms,
            network: cfg.network,
        }
    }
}

/// The node's stable heights, from `get_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stable {
    pub height: u64,
    pub topoheight: u64,
}

/// What the node said about one block.
#[derive(Clone, Copy, Debug)]
pub enum NodeSays<'a> {
    Block(&'a BlockInfo),
    /// It answered that it does not have the block.
    Unknown,
}

/// What the node's answer means for the block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do yet, and why.
    Wait(String),
    Immature(Ordered),
    Mature(Ordered),
    Orphaned(String),
}

/// An ordered block as the node reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ordered {
    /// `miner_reward + total_fees`.
    pub reward: u64,
    pub topoheight: u64,
    pub block_type: String,
}

/// The rules of the module doc for one block (`height`, found at `found_ms`).
pub fn classify(
    height: u64,
    found_ms: i64,
    says: NodeSays<'_>,
    stable: Stable,
    rules: &UnlockRules,
    now_ms: i64,
) -> Verdict {
    let m = rules.stable_margin;
    let height_stable = height.saturating_add(m) <= stable.height;
    let b = match says {
        NodeSays::Unknown => {
            let old = now_ms.saturating_sub(found_ms) >= rules.orphan_unknown_after_ms as i64;
            return match (height_stable, old) {
                (true, true) => Verdict::Orphaned(format!(
                    "the node has never heard of it and its height {height} is stable (stable height {})",
                    stable.height
                )),
                _ => Verdict::Wait("the node does not know the block (yet)".into()),
            };
        }
        NodeSays::Block(b) => b,
    };
    let topo = match b.topoheight {
        Some(t) if b.block_type != "Orphaned" => t,
        _ => {
            // Judged by the block's own height as the node reports it.
            return if b.height.saturating_add(m) <= stable.height {
                Verdict::Orphaned(format!(
                    "not in the DAG order (type {}) at stable height {}",
                    b.block_type, stable.height
                ))
            } else {
                Verdict::Wait(format!("not ordered yet (type {})", b.block_type))
            };
        }
    };
    let Some(miner_reward) = b.miner_reward else {
        return Verdict::Wait("the node reports no miner_reward for an ordered block".into());
    };
    let reward = match miner_reward.checked_add(b.total_fees.unwrap_or(0)) {
        Some(r) if r <= MAX_SUPPLY_ATOMIC => r,
        _ => return Verdict::Wait(format!("implausible reward {miner_reward} + {:?}", b.total_fees)),
    };
    let ordered = Ordered { reward, topoheight: topo, block_type: b.block_type.clone() };
    if topo.saturating_add(m) > stable.topoheight {
        return Verdict::Immature(ordered);
    }
    match b.block_type.as_str() {
        "Normal" | "Side" | "Sync" => Verdict::Mature(ordered),
        other => Verdict::Wait(format!("stable but of unexpected type {other:?}")),
    }
}

/// The unlocker task.
pub struct Unlocker {
    ledger: Arc<Ledger>,
    upstreams: Upstreams,
    rewards: Rewards,
    rules: UnlockRules,
    interrupt: AtomicBool,
    /// `block_matured` / `block_orphaned` go here once committed.
    events: Option<EventBus>,
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnlockRun {
    pub immature: u64,
    pub mature: u64,
    pub orphaned: u64,
    pub waiting: u64,
    /// Credits held back because a spool holds records.
    pub held_for_spool: u64,
}

impl Unlocker {
    pub fn new(ledger: Arc<Ledger>, upstreams: Upstreams, rewards: Rewards, rules: UnlockRules) -> Self {
        Unlocker { ledger, upstreams, rewards, rules, interrupt: AtomicBool::new(false), events: None }
    }

    /// Publishes every committed maturity and orphaning on `bus`.
    pub fn with_events(mut self, bus: EventBus) -> Self {
        self.events = Some(bus);
        self
    }

    fn publish(&self, event: PoolEvent) {
        if let Some(bus) = &self.events {
            bus.publish(event);
        }
    }

    /// For crash tests: the next move is abandoned just before its commit (its transaction rolled
    /// back), exactly as a crash at that point would leave the database.
    #[doc(hidden)]
    pub fn interrupt_next_commit(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }

    fn before_commit(&self) -> anyhow::Result<()> {
        crate::failpoint::hit("unlocker_before_commit");
        if self.interrupt.swap(false, Ordering::SeqCst) {
            anyhow::bail!("interrupted before commit");
        }
        Ok(())
    }

    /// One pass over the unsettled blocks.
    pub async fn run_once(&self) -> anyhow::Result<UnlockRun> {
        let db = self.ledger.db();
        let pending = blocks::unsettled(db).await?;
        let mut done = UnlockRun::default();
        if pending.is_empty() {
            return Ok(done);
        }
        let node = best_node(&self.upstreams, self.rules.network).await?;
        let stable = Stable { height: node.info.stableheight, topoheight: node.info.stable_topoheight };
        let spooled = super::instance::spooled_anywhere(db).await?.max(self.ledger.spooled());
        let mut failures = Vec::new();
        for block in &pending {
            let answer = node.client.get_block_by_hash(&block.hash_hex()).await;
            let info = match answer {
                Ok(info) => Some(info),
                Err(e) if is_not_found(&e) => None,
                Err(e) => {
                    failures.push(format!("block {}: {e}", block.hash_hex()));
                    break; // the node went away: the rest waits for the next run
                }
            };
            let says = info.as_ref().map_or(NodeSays::Unknown, NodeSays::Block);
            let verdict = classify(
                block.height,
                block.found_ms,
                says,
                stable,
                &self.rules,
                crate::clock::now_ms() as i64,
            );
            let r = match verdict {
                Verdict::Wait(why) => {
                    tracing::debug!(block = %block.hash_hex(), height = block.height, %why, "block waits");
                    done.waiting += 1;
                    Ok(())
                }
                Verdict::Orphaned(why) => self.orphan(block, info.as_ref(), &why).await.map(|moved| {
                    done.orphaned += u64::from(moved);
                }),
                Verdict::Immature(_) if block.status != status::CANDIDATE => {
                    done.waiting += 1;
                    Ok(())
                }
                Verdict::Immature(_) | Verdict::Mature(_) if spooled > 0 => {
                    done.held_for_spool += 1;
                    Ok(())
                }
                Verdict::Immature(o) => {
                    self.credit_immature(block, &o).await.map(|moved| done.immature += u64::from(moved))
                }
                Verdict::Mature(o) => {
                    self.credit_mature(block, &o).await.map(|moved| done.mature += u64::from(moved))
                }
            };
            if let Err(e) = r {
                failures.push(format!("block {}: {e:#}", block.hash_hex()));
            }
        }
        if done.held_for_spool > 0 {
            tracing::warn!(
                blocks = done.held_for_spool,
                spooled_records = spooled,
                "blocks not credited yet: an instance's spool holds shares that may belong to their round or window; crediting resumes once it is replayed"
            );
        }
        if !failures.is_empty() {
            anyhow::bail!("{} block(s) not processed: {}", failures.len(), failures.join("; "));
        }
        Ok(done)
    }

    /// Candidate → immature: the split into `balances.immature`.
    async fn credit_immature(&self, block: &BlockRow, o: &Ordered) -> anyhow::Result<bool> {
        let db = self.ledger.db();
        let c = split::compute(db, block, o.reward, Terms::for_block(&self.rewards, block)).await?;
        let mut tx = DbTx::begin(db).await?;
        if !move_status(&mut tx, block, status::CANDIDATE, status::IMMATURE, &Landing::ordered(o), &c).await?
        {
            return Ok(false);
        }
        write_stage(&mut tx, block, "immature", o.reward, &c).await?;
        let changes: Vec<BalanceChange> = c
            .split
            .credits
            .iter()
            .map(|(&miner_id, &amount)| BalanceChange {
                miner_id,
                reason: "block_immature",
                d_immature: super::db::to_i64(amount),
                block_id: Some(block.block_id.clone()),
                note: Some(format!("height {}", block.height)),
                ..BalanceChange::default()
            })
            .collect();
        accounts::apply(&mut tx, &changes).await?;
        self.before_commit()?;
        tx.commit().await?;
        tracing::info!(
            block = %block.hash_hex(), height = block.height, topoheight = o.topoheight, block_type = %o.block_type,
            reward = o.reward, miners = changes.len(), pool_fee = c.split.pool_fee, pps_fund = c.split.pps_fund,
            effort_bp = c.effort_bp, "block immature: credited to immature balances"
        );
        Ok(true)
    }

    /// Candidate or immature → mature, in one transaction.
    async fn credit_mature(&self, block: &BlockRow, o: &Ordered) -> anyhow::Result<bool> {
        let db = self.ledger.db();
        let c = split::compute(db, block, o.reward, Terms::for_block(&self.rewards, block)).await?;
        let mut tx = DbTx::begin(db).await?;
        if !move_status(&mut tx, block, &block.status, status::MATURE, &Landing::ordered(o), &c).await? {
            return Ok(false);
        }
        let immature = stage_credits(&mut tx, &block.block_id, "immature").await?;
        write_stage(&mut tx, block, "mature", o.reward, &c).await?;
        let mut per_miner: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for (&miner, &amount) in &c.split.credits {
            per_miner.entry(miner).or_default().0 = super::db::to_i64(amount);
        }
        for (miner, amount) in immature {
            per_miner.entry(miner).or_default().1 = -amount;
        }
        let changes: Vec<BalanceChange> = per_miner
            .into_iter()
            .map(|(miner_id, (d_balance, d_immature))| BalanceChange {
                miner_id,
                reason: "block_mature",
                d_balance,
                d_immature,
                block_id: Some(block.block_id.clone()),
                note: Some(format!("height {} topoheight {} {}", block.height, o.topoheight, o.block_type)),
                ..BalanceChange::default()
            })
            .collect();
        accounts::apply(&mut tx, &changes).await?;
        if c.split.pool_fee > 0 {
            accounts::pool_account(&mut tx, "pool_fee", super::db::to_i64(c.split.pool_fee)).await?;
        }
        if c.split.pps_fund > 0 {
            accounts::pool_account(&mut tx, "pps_fund", super::db::to_i64(c.split.pps_fund)).await?;
        }
        self.before_commit()?;
        tx.commit().await?;
        tracing::info!(
            block = %block.hash_hex(), height = block.height, topoheight = o.topoheight, block_type = %o.block_type,
            reward = o.reward, miners = c.split.credits.len(), pool_fee = c.split.pool_fee, pps_fund = c.split.pps_fund,
            effort_bp = c.effort_bp, "block mature: credited to balances"
        );
        self.publish(PoolEvent::BlockMatured {
            hash: block.hash_hex(),
            height: block.height,
            reward: o.reward.to_string(),
        });
        Ok(true)
    }

    /// Candidate or immature → orphaned; immature credits reversed.
    async fn orphan(&self, block: &BlockRow, info: Option<&BlockInfo>, why: &str) -> anyhow::Result<bool> {
        let db = self.ledger.db();
        // Round work and effort are recorded for orphans too (luck statistics count them).
        let c = split::compute(db, block, 0, Terms::for_block(&self.rewards, block)).await?;
        let mut tx = DbTx::begin(db).await?;
        let landing = Landing {
            topoheight: None,
            block_type: info.map_or("Unknown", |b| b.block_type.as_str()),
            reward: 0,
        };
        if !move_status(&mut tx, block, &block.status, status::ORPHANED, &landing, &c).await? {
            return Ok(false);
        }
        let changes: Vec<BalanceChange> = stage_credits(&mut tx, &block.block_id, "immature")
            .await?
            .into_iter()
            .map(|(miner_id, amount)| BalanceChange {
                miner_id,
                reason: "block_orphaned",
                d_immature: -amount,
                block_id: Some(block.block_id.clone()),
                note: Some(format!("height {}", block.height)),
                ..BalanceChange::default()
            })
            .collect();
        accounts::apply(&mut tx, &changes).await?;
        self.before_commit()?;
        tx.commit().await?;
        tracing::warn!(
            block = %block.hash_hex(), height = block.height, was = %block.status, reversed = changes.len(),
            reason = why, "block orphaned: it earns nothing"
        );
        self.publish(PoolEvent::BlockOrphaned { hash: block.hash_hex(), height: block.height });
        Ok(true)
    }
}

/// "Block not found": the node answered and does not have the block (-32004 or a "not found"
/// message). Any other failure is the node's, and decides nothing.
fn is_not_found(e: &NodeError) -> bool {
    matches!(e, NodeError::Rpc { code, message, .. }
        if *code == -32004 || message.to_ascii_lowercase().contains("not found"))
}

/// What the block row records on arrival in its new status.
struct Landing<'a> {
    topoheight: Option<u64>,
    block_type: &'a str,
    reward: u64,
}

impl<'a> Landing<'a> {
    fn ordered(o: &'a Ordered) -> Self {
        Landing { topoheight: Some(o.topoheight), block_type: &o.block_type, reward: o.reward }
    }
}

/// The guarded status update: false when the block is no longer in `from` (another writer moved
/// it; nothing is done).
async fn move_status(
    tx: &mut DbTx,
    block: &BlockRow,
    from: &str,
    to: &str,
    landing: &Landing<'_>,
    c: &Computed,
) -> anyhow::Result<bool> {
    const PG: &str = "UPDATE blocks SET status = $2, topoheight = $3, block_type = $4, reward = $5, \
         round_work = $6::numeric, effort_bp = $7, updated_ms = $8 WHERE block_id = $1 AND status = $9";
    const SQLITE: &str = "UPDATE blocks SET status = $2, topoheight = $3, block_type = $4, reward = $5, \
         round_work = $6, effort_bp = $7, updated_ms = $8 WHERE block_id = $1 AND status = $9";
    let q = if tx.is_postgres() { PG } else { SQLITE };
    let topo = landing.topoheight.map(|t| t as i64);
    let reward = super::db::to_i64(landing.reward);
    let effort = i64::try_from(c.effort_bp).unwrap_or(i64::MAX);
    let now = crate::clock::now_ms() as i64;
    let affected = crate::on_tx!(tx, |conn| sqlx::query(q)
        .bind(&block.block_id)
        .bind(to)
        .bind(topo)
        .bind(landing.block_type)
        .bind(reward)
        .bind(c.round_work.to_string())
        .bind(effort)
        .bind(now)
        .bind(from)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    if affected == 0 {
        tracing::info!(block = %block.hash_hex(), from, to, "block already moved by another writer; nothing done");
        return Ok(false);
    }
    Ok(true)
}

/// The credits of `stage` already written for `block_id`.
async fn stage_credits(tx: &mut DbTx, block_id: &[u8], stage: &str) -> anyhow::Result<Vec<(i64, i64)>> {
    let q = "SELECT miner_id, amount FROM credits WHERE block_id = $1 AND stage = $2 ORDER BY miner_id";
    Ok(crate::on_tx!(tx, |conn| sqlx::query_as(q).bind(block_id).bind(stage).fetch_all(&mut *conn).await)?)
}

/// The `credits` rows (one per credited miner) and the `settlements` row of one stage. Their
/// primary keys refuse a second write of the same stage: the whole transaction fails.
async fn write_stage(
    tx: &mut DbTx,
    block: &BlockRow,
    stage: &str,
    reward: u64,
    c: &Computed,
) -> anyhow::Result<()> {
    const PG: &str =
        "INSERT INTO credits (block_id, miner_id, stage, amount, work) VALUES ($1, $2, $3, $4, $5::numeric)";
    const SQLITE: &str =
        "INSERT INTO credits (block_id, miner_id, stage, amount, work) VALUES ($1, $2, $3, $4, $5)";
    let credit = if tx.is_postgres() { PG } else { SQLITE };
    for (&miner, &amount) in &c.split.credits {
        let w = c.work.get(&miner).cloned().unwrap_or_default();
        let work = w.window.checked_add(w.round).unwrap_or(pool_core::U256::MAX).to_string();
        crate::on_tx!(tx, |conn| sqlx::query(credit)
            .bind(&block.block_id)
            .bind(miner)
            .bind(stage)
            .bind(super::db::to_i64(amount))
            .bind(&work)
            .execute(&mut *conn)
            .await
            .map(|_| ()))?;
    }
    let q = "INSERT INTO settlements (block_id, stage, reward, pool_fee, pps_fund, at_ms, fee_bp, pplns_factor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let now = crate::clock::now_ms() as i64;
    crate::on_tx!(tx, |conn| sqlx::query(q)
        .bind(&block.block_id)
        .bind(stage)
        .bind(super::db::to_i64(reward))
        .bind(super::db::to_i64(c.split.pool_fee))
        .bind(super::db::to_i64(c.split.pps_fund))
        .bind(now)
        .bind(i32::try_from(c.terms.fee.bp()).expect("≤ 10,000"))
        .bind(c.terms.factor_text())
        .execute(&mut *conn)
        .await
        .map(|_| ()))?;
    Ok(())
}

impl LeaderTask for Unlocker {
    fn name(&self) -> &'static str {
        "unlocker"
    }

    fn every(&self) -> Duration {
        self.rules.every
    }

    fn run(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { self.run_once().await.map(|_| ()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: UnlockRules = UnlockRules {
        every: Duration::from_secs(5),
        stable_margin: 2,
        orphan_unknown_after_ms: 600_000,
        network: Network::Devnet,
    };

    fn info(topoheight: Option<u64>, height: u64, kind: &str, miner_reward: Option<u64>) -> BlockInfo {
        BlockInfo {
            hash: "00".repeat(32),
            topoheight,
            height,
            block_type: kind.into(),
            reward: miner_reward,
            miner_reward,
            total_fees: Some(7),
            miner: "tst1…".into(),
            timestamp: 0,
        }
    }

    fn stable(height: u64, topoheight: u64) -> Stable {
        Stable { height, topoheight }
    }

    #[test]
    fn ordered_blocks_are_immature_until_their_topoheight_is_stable_with_the_margin() {
        let b = info(Some(120), 100, "Normal", Some(1_000));
        let ordered = Ordered { reward: 1_007, topoheight: 120, block_type: "Normal".into() };
        // topoheight 120 + 2 > 121: immature (fees included); at 122: mature.
        assert_eq!(
            classify(100, 0, NodeSays::Block(&b), stable(500, 121), &RULES, 0),
            Verdict::Immature(ordered.clone())
        );
        assert_eq!(
            classify(100, 0, NodeSays::Block(&b), stable(0, 122), &RULES, 0),
            Verdict::Mature(ordered)
        );
        // Height is never compared with topoheight: a stable height far above does not mature it.
        assert!(matches!(
            classify(100, 0, NodeSays::Block(&b), stable(10_000, 100), &RULES, 0),
            Verdict::Immature(_)
        ));
        for kind in ["Side", "Sync"] {
            let b = info(Some(120), 100, kind, Some(300));
            assert!(matches!(classify(100, 0, NodeSays::Block(&b), stable(0, 200), &RULES, 0),
                Verdict::Mature(o) if o.block_type == kind && o.reward == 307));
        }
        let odd = info(Some(120), 100, "Weird", Some(300));
        assert!(matches!(
            classify(100, 0, NodeSays::Block(&odd), stable(0, 200), &RULES, 0),
            Verdict::Wait(_)
        ));
        let no_reward = info(Some(120), 100, "Normal", None);
        assert!(matches!(
            classify(100, 0, NodeSays::Block(&no_reward), stable(0, 200), &RULES, 0),
            Verdict::Wait(_)
        ));
    }

    #[test]
    fn unordered_blocks_wait_until_their_height_is_stable_then_are_orphaned() {
        for b in [info(None, 100, "Normal", None), info(Some(130), 100, "Orphaned", Some(5))] {
            assert!(matches!(
                classify(100, 0, NodeSays::Block(&b), stable(101, 0), &RULES, 0),
                Verdict::Wait(_)
            ));
            assert!(matches!(
                classify(100, 0, NodeSays::Block(&b), stable(102, 0), &RULES, 0),
                Verdict::Orphaned(_)
            ));
        }
    }

    #[test]
    fn a_block_the_node_never_heard_of_is_orphaned_once_stable_and_old_enough() {
        let old = RULES.orphan_unknown_after_ms as i64;
        let unknown = NodeSays::Unknown;
        assert!(matches!(classify(100, 0, unknown, stable(102, 0), &RULES, old), Verdict::Orphaned(_)));
        assert!(matches!(classify(100, 0, unknown, stable(102, 0), &RULES, old - 1), Verdict::Wait(_)));
        assert!(matches!(classify(100, 0, unknown, stable(101, 0), &RULES, old * 10), Verdict::Wait(_)));
    }

    #[test]
    fn not_found_is_the_nodes_answer_and_nothing_else_is() {
        let rpc = |code, message: &str| NodeError::Rpc {
            url: "u".into(),
            method: "get_block_by_hash".into(),
            code,
            message: message.into(),
        };
        assert!(is_not_found(&rpc(-32004, "Block not found")));
        assert!(is_not_found(&rpc(-32603, "block 00.. NOT FOUND in storage")));
        assert!(!is_not_found(&rpc(-32602, "Invalid params")));
        assert!(!is_not_found(&NodeError::Transport { url: "u".into(), reason: "refused".into() }));
    }
}
